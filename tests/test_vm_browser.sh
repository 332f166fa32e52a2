#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM display's page in a browser: the test VM (tests/test_vm.sh) with
# the presentation channel (tests/test_vm_display.sh), the render server
# given --http 127.0.0.1:0 --input through VENUS_SERVER_OPTIONS as QEMU
# starts it. In the guest (tests/vm/init, workload display-apps):
# vs-guest-present, then Debian's vkcube on its Wayland display until it
# quits. Once the guest says vkcube is starting, Chromium opens the page
# the server logged (tests/display/cdp_view.py latency-escape: the
# WebCodecs page, its commit->drawn figures over 20 s), then presses
# Escape in the page, on which vkcube quits.
# Checks: Chromium drew frames; vkcube ended of itself (the page's key
# reached it through the channel and the guest's seat); the recording
# holds vkcube's frames (not blank, changing); they were read from the
# server's own memory. VM_TEST=0 skips this test.
# Figures (notes, not checks): first the same vkcube at the same size
# through vtest on a server with the same page, then the VM; for each
# Chromium's commit->drawn and the server's commit->encoded.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"

require_tools python3 ffmpeg ffprobe
[ -x "$BUILD_DIR/guest/present/vs-guest-present" ] || { skip "no vs-guest-present: a build without the display, or a sanitizer build"; finish; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  skip "chromium is not installed (Debian package chromium; run scripts/setup.sh)"
  finish
fi
vm_image
size=640x480
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"

# The vtest path, for comparison: the same app, size and page.
server_start --display vs-vm-browser-vtest --http 127.0.0.1:0 || finish
venus_run 300 env WAYLAND_DISPLAY=vs-vm-browser-vtest vkcube-wayland --width "${size%x*}" --height "${size#*x}" \
  >"$TEST_TMP/vtest-cube.out" 2>&1 &
cube_pid=$!
BG_PIDS+=("$cube_pid")
sleep 2
vtest_page=$(timeout -k 5 240 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile-vtest" "$(viewer_url)" \
  latency 20 5 "$TEST_TMP/vtest-cube.png" 2>&1 | grep -E '^browser: [0-9]+ s after' | head -n1 || true)
kill "$cube_pid" 2>/dev/null || true
wait "$cube_pid" 2>/dev/null || true
server_stop || true
vtest_stream=$(grep -E 'display stream:' "$SERVER_LOG" | tail -n1)
vtest_commits=$(grep -oE 'display: [0-9]+ commits, [0-9]+ shown' "$SERVER_LOG" | tail -n1)
if [ -n "$vtest_page" ]; then pass "Chromium drew vkcube through vtest live (the comparison)"; else
  fail "Chromium drew nothing of vkcube through vtest"; show_tail "$TEST_TMP/vtest-cube.out"; fi

# The browser, on the guest's cue (vm-run.sh's OUT_DIR/live: the logs as
# they are written).
dir=$TEST_TMP/vm
mkdir -p "$dir"
(
  live=$dir/live deadline=$((SECONDS + 400)) url=""
  until grep -aq '^VMTEST cube starting' "$live/guest.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  url=$(grep -aohE 'http://[^ ]+token=[^ ]+' "$live/qemu.log" 2>/dev/null | head -n1)
  [ -n "$url" ] || { echo "no viewer URL in the server's log" >"$TEST_TMP/browser.out"; exit 0; }
  timeout -k 5 240 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile" "$url" latency-escape 20 5 \
    "$TEST_TMP/cube.png" >"$TEST_TMP/browser.out" 2>&1 || echo "cdp_view status $?" >>"$TEST_TMP/browser.out"
) &
browser=$!
BG_PIDS+=("$browser")
VENUS_SERVER_OPTIONS="--http 127.0.0.1:0 --input" vm_boot display-apps "$dir" 480 --vm-display --guest-size "$size"
wait "$browser" 2>/dev/null || true
qlog=$dir/qemu.log

check "the guest compositor connected to the host over the channel" grep -q '^VMTEST present connected' "$log"
page=$(grep -E '^browser: [0-9]+ s after' "$TEST_TMP/browser.out" 2>/dev/null || true)
if [ -n "$page" ] && grep -q '^pressed Escape' "$TEST_TMP/browser.out"; then
  pass "Chromium drew the VM's vkcube live: ${page#browser: }"
else
  fail "the browser view of the VM: $(tr '\n' ' ' <"$TEST_TMP/browser.out" 2>/dev/null | tail -c 400)"
fi
vm_step_check cube "vkcube ran on the VM display until the page's Escape key reached it"
size=$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0:s=x "$dir/vm.h264" 2>/dev/null |
  head -n1)
out=""
if [ -n "$size" ] &&
   out=$(python3 "$TESTS_DIR/display/check_stream.py" cube "$dir/vm.h264" "${size%x*}" "${size#*x}" 30 2>&1); then
  pass "the recording of vkcube ($size): $out"
else
  fail "the recording of vkcube: ${out:-no vm.h264}"
fi
vm_from_server_memory "vkcube's frames" "$qlog"
note "vtest $size: ${vtest_page:-no browser figures}"
note "vtest $size: ${vtest_commits:-no commits}; ${vtest_stream#*info: }"
note "VM $size: ${page:-no browser figures}"
note "VM $size: $(grep -E 'display stream:' "$qlog" | tail -n1 | sed 's/.*info: //')"
errors=$(grep -E '^(worker process [0-9]+: )?venus-server: error:' "$qlog" || true)
if [ -z "$errors" ]; then pass "the render server logged no error line"; else
  fail "the render server logged:"; printf '%s\n' "$errors" | head -5 | sed 's/^/         | /'; fi
check "the guest finished its workload and powered off (QEMU status $rc)" grep -q '^VMTEST done' "$log"
if [ "$N_FAIL" -gt 0 ]; then
  grep '^  present|' "$log" | tail -n 8 || true
  show_tail "$qlog" 15
fi
finish

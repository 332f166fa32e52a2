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
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"

require_tools python3 ffmpeg ffprobe
[ -x "$BUILD_DIR/guest/present/vs-guest-present" ] || { skip "no vs-guest-present: a build without the display"; finish; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  skip "chromium is not installed (Debian package chromium; run scripts/setup.sh)"
  finish
fi
vm_image

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
VENUS_SERVER_OPTIONS="--http 127.0.0.1:0 --input" vm_boot display-apps "$dir" 480 --vm-display
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
errors=$(grep -E '^venus-server: error:' "$qlog" || true)
if [ -z "$errors" ]; then pass "the render server logged no error line"; else
  fail "the render server logged:"; printf '%s\n' "$errors" | head -5 | sed 's/^/         | /'; fi
check "the guest finished its workload and powered off (QEMU status $rc)" grep -q '^VMTEST done' "$log"
if [ "$N_FAIL" -gt 0 ]; then
  grep '^  present|' "$log" | tail -n 8 || true
  show_tail "$qlog" 15
fi
finish

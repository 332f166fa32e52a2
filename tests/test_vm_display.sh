#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM display: a VM guest's Vulkan window on venus-server's display
# through the presentation channel (docs/vm-display.md). The test VM of
# tests/test_vm.sh (Debian 13 guest, stock QEMU 10, this build's server as
# the render server; scripts/vm-run.sh --vm-display gives QEMU the
# virtio-serial port org.venus-server.display.0 on the Unix socket the
# server's --vm-channel connects to, and the server --display vm-0
# --record vm.h264). In the guest (tests/vm/init, workload display):
# vs-guest-present serves WAYLAND_DISPLAY; wl_frames presents numbered
# frames 1..N with Mesa's default present, then N+1..2N with
# venus_implicit_fencing=true; then vmch_hostile, on the port itself,
# attaches a resource that does not exist, a real Venus blob with
# stride x height past its end, and a blob of a context that ended.
# Checks: the guest compositor connected; both wl_frames runs passed; the
# recording decodes to whole frames in strictly increasing order, at least
# MIN of each run; the server's exit figures count frames from its own
# memory; each hostile message got one
# refusal line and the server logged no other error. Then a second boot
# (workload display-apps) with --http --input: vkcube runs on the VM's
# display, Chromium draws the page live (commit->drawn figures) and
# presses Escape, and vkcube must quit on that key. The first run builds
# the guest image (tests/test_vm.sh); VM_TEST=0 skips this test.
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
FRAMES=300 MIN=10 MISSING_RES_ID=2147483632  # tests/vm/init, tests/vm/vmch_hostile.c
[ "${VM_TEST:-1}" != 0 ] || { skip "VM_TEST=0"; finish; }
require_tools python3 ffmpeg
for c in guest/present/vs-guest-present guest/present/vmch_hostile tests/display/wl_frames; do
  [ -x "$BUILD_DIR/$c" ] || { skip "no $c: a build without the display"; finish; }
done
if grep -q '"name": "os", "value": "posix"' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null; then
  skip "-Dos=posix build: its blobs are POSIX shm, which QEMU's Linux proxy cannot seal"
  finish
fi
if ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip "sanitizer build: its runtime is the host's, not the trixie root's"
  finish
fi

t0=$SECONDS
if ! image=$("$top/scripts/vm-image.sh" "$BUILD_DIR" 2>"$TEST_TMP/image.log"); then
  fail "building the guest image failed"
  show_tail "$TEST_TMP/image.log"
  finish
fi
note "guest image $image ($((SECONDS - t0)) s to build or find)"

accel=${VM_ACCEL:-}
if [ -z "$accel" ]; then accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; fi
run_vm() { # ACCEL [WORKLOAD OUT_DIR]
  "$top/scripts/vm-run.sh" --server "$SERVER_BIN" --accel "$1" --workload "${2:-display}" --vm-display --timeout 480 \
    "${3:-$TEST_TMP/vm}" "$image" >"$TEST_TMP/vm-run${2:+-$2}.out" 2>&1
}
t1=$SECONDS
rc=0
run_vm "$accel" || rc=$?
log=$TEST_TMP/vm/guest.log
if [ "$rc" -ne 0 ] && [ -z "${VM_ACCEL:-}" ] && [ "$accel" = kvm ] && ! grep -q '^VMTEST step' "$log" 2>/dev/null; then
  note "KVM did not start the guest (QEMU status $rc); again under TCG"
  rm -rf "$TEST_TMP/vm"
  accel=tcg; t1=$SECONDS; rc=0
  run_vm "$accel" || rc=$?
fi
note "VM ($accel): $((SECONDS - t1)) s from power-on to power-off, QEMU status $rc"
[ -f "$log" ] || { fail "no guest console log: $(describe_rc "$rc")"; show_tail "$TEST_TMP/vm-run.out"; finish; }
qlog=$TEST_TMP/vm/qemu.log

check "the guest compositor connected to the host over the channel" grep -q '^VMTEST present connected' "$log"
step_check() { # step_check NAME WHAT
  if grep -q "^VMTEST step $1 rc 0 " "$log"; then
    pass "guest $1: $2 ($(sed -n "s/^VMTEST step $1 rc 0 secs \([0-9]*\)/\1 s/p" "$log"))"
  else
    fail "guest $1: $2: $(grep "^VMTEST step $1 " "$log" || echo 'never ran')"
    grep -B12 "^VMTEST step $1 " "$log" | grep '^  |' | tail -n 10 | sed 's/^/         /' || true
  fi
}
from_server_memory() { # WHAT: the server's exit figures (in $qlog) count frames shown from its memory
  local figures
  figures=$(grep -E 'display: vm channel: [0-9]+ commits' "$qlog" || true)
  if printf '%s\n' "$figures" | grep -qE 'vm channel: [0-9]+ commits, [1-9][0-9]* shown from server memory'; then
    pass "$1 were read from the server's own memory: ${figures#*display: }"
  else
    fail "$1: none came from server memory: ${figures:-no vm channel figures in the server log}"
  fi
}
step_check frames-default "wl_frames presented frames 1..$FRAMES (Mesa's default present)"
step_check frames-implicit "wl_frames presented frames $((FRAMES + 1))..$((2 * FRAMES)) (venus_implicit_fencing=true)"
if [ -s "$TEST_TMP/vm/vm.h264" ] &&
   out=$(python3 "$TESTS_DIR/display/check_stream.py" numbers "$TEST_TMP/vm/vm.h264" 320 240 $MIN $FRAMES 2>&1); then
  pass "the recording: $out"
else
  fail "the recording: ${out:-no vm.h264}"
fi
from_server_memory "frames"

step_check hostile "the hostile guest sent its three messages"
real_id=$(sed -nE 's/^  \| vmch_hostile: sent ATTACH of resource ([0-9]+) \(.*/\1/p' "$log")
ended_id=$(sed -nE 's/^  \| vmch_hostile: sent ATTACH of resource ([0-9]+), of a context that ended.*/\1/p' "$log")
errors=$(grep -E '^venus-server: (error|warn):' "$qlog" || true)
missing=$(printf '%s\n' "$errors" | grep -cE "\b($MISSING_RES_ID|0x7ffffff0)\b" || true)
check "one refusal line for the ATTACH of missing resource $MISSING_RES_ID (got $missing)" test "$missing" -eq 1
overrun=0
[ -z "$real_id" ] || overrun=$(printf '%s\n' "$errors" | grep -vE "\b($MISSING_RES_ID|0x7ffffff0)\b" | grep -cE "\b$real_id\b" || true)
check "one refusal line for the ATTACH past the end of resource ${real_id:-?} (got $overrun)" test "$overrun" -eq 1
ended=0
[ -z "$ended_id" ] || ended=$(printf '%s\n' "$errors" | grep -cE "ATTACH of resource $ended_id, which the VM does not have" || true)
check "one refusal line for the ATTACH of resource ${ended_id:-?}, whose context ended (got $ended)" test "$ended" -eq 1
others=$(printf '%s\n' "$errors" | grep -vE "\b($MISSING_RES_ID|0x7ffffff0${real_id:+|$real_id}${ended_id:+|$ended_id})\b" | grep -E 'error:' || true)
if [ -z "$others" ]; then pass "the render server logged no other error line"; else
  fail "the render server logged:"; printf '%s\n' "$others" | head -5 | sed 's/^/         | /'; fi
check "the guest finished its workload and powered off (QEMU status $rc)" grep -q '^VMTEST done' "$log"
if [ "$N_FAIL" -gt 0 ]; then
  grep '^  present|' "$log" | tail -n 8 || true
  printf '%s\n' "$errors" | head -n 8 | sed 's/^/     server| /'
  show_tail "$qlog" 15
fi

# --- The page in a browser: vkcube live, and the page's keys reach it ---------
# A second boot (vmtest=display-apps), the server with --http --input:
# once the guest says vkcube is starting, Chromium opens the page the
# server logged, watches it (commit->drawn figures), then presses Escape;
# vkcube quits on it, which ends the guest's cube step.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  skip "the browser view: chromium is not installed (Debian package chromium; run scripts/setup.sh)"
  finish
fi
apps=$TEST_TMP/apps
mkdir -p "$apps"
(
  live=$apps/live deadline=$((SECONDS + 420)) url=""
  until grep -aq '^VMTEST cube starting' "$live/guest.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  url=$(grep -aohE 'http://[^ ]+token=[^ ]+' "$live/qemu.log" 2>/dev/null | head -n1)
  [ -n "$url" ] || { echo "no viewer URL in the server's log" >"$apps/browser.out"; exit 0; }
  timeout -k 5 240 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$apps/profile" "$url" latency-escape 20 5 \
    "$apps/cube.png" >"$apps/browser.out" 2>&1 || echo "cdp_view status $?" >>"$apps/browser.out"
) &
BG_PIDS+=("$!")
t1=$SECONDS rc=0
VENUS_SERVER_OPTIONS="--http 127.0.0.1:0 --input" run_vm "$accel" display-apps "$apps" || rc=$?
wait "${BG_PIDS[-1]}" 2>/dev/null || true
note "VM ($accel, display-apps): $((SECONDS - t1)) s from power-on to power-off, QEMU status $rc"
log=$apps/guest.log qlog=$apps/qemu.log
if [ ! -f "$log" ]; then
  fail "display-apps: no guest console log: $(describe_rc "$rc")"; show_tail "$TEST_TMP/vm-run-display-apps.out"; finish
fi
page=$(grep -E '^browser: [0-9]+ s after' "$apps/browser.out" || true)
if [ -n "$page" ] && grep -q '^pressed Escape' "$apps/browser.out"; then
  pass "Chromium drew the VM's vkcube live: ${page#browser: }"
else
  fail "the browser view of the VM: $(tr '\n' ' ' <"$apps/browser.out" 2>/dev/null | tail -c 400)"
fi
step_check cube "vkcube-wayland ran on the VM display until the page's Escape key reached it"
size=$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0:s=x "$apps/vm.h264" 2>/dev/null | head -n1)
if [ -n "$size" ] && out=$(python3 "$TESTS_DIR/display/check_stream.py" cube "$apps/vm.h264" "${size%x*}" "${size#*x}" 30 2>&1); then
  pass "the recording of vkcube ($size): $out"
else
  fail "the recording of vkcube: ${out:-no vm.h264}"
fi
from_server_memory "vkcube's frames"
check "the display-apps guest powered off (QEMU status $rc)" grep -q '^VMTEST done' "$log"
if [ "$N_FAIL" -gt 0 ]; then
  grep '^  present|' "$log" | tail -n 8 || true
  show_tail "$qlog" 15
fi
finish

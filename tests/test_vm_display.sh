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
# A resource gone while the guest's message was on its way (the
# compositor's last ATTACH and COMMIT of a client that just quit) is not
# hostile: one warn line, no refusal. Checks: the guest compositor connected; both wl_frames runs passed; the
# recording decodes to whole frames in strictly increasing order, at least
# MIN of each run; the server's exit figures count frames from its own
# memory; each hostile message got one
# refusal line and the server logged no other error. The first run builds
# the guest image (tests/test_vm.sh); VM_TEST=0 skips this test.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"

FRAMES=300 MIN=10 MISSING_RES_ID=2147483632  # tests/vm/init, tests/vm/vmch_hostile.c
require_tools python3 ffmpeg
for c in guest/present/vs-guest-present guest/present/vmch_hostile tests/display/wl_frames; do
  [ -x "$BUILD_DIR/$c" ] || { skip "no $c: a build without the display, or a sanitizer build"; finish; }
done
vm_image
vm_boot display "$TEST_TMP/vm" 480 --vm-display
qlog=$TEST_TMP/vm/qemu.log

check "the guest compositor connected to the host over the channel" grep -q '^VMTEST present connected' "$log"
step_check() { vm_step_check "$@"; }
step_check frames-default "wl_frames presented frames 1..$FRAMES (Mesa's default present)"
step_check frames-implicit "wl_frames presented frames $((FRAMES + 1))..$((2 * FRAMES)) (venus_implicit_fencing=true)"
if [ -s "$TEST_TMP/vm/vm.h264" ] &&
   out=$(python3 "$TESTS_DIR/display/check_stream.py" numbers "$TEST_TMP/vm/vm.h264" 320 240 $MIN $FRAMES 2>&1); then
  pass "the recording: $out"
else
  fail "the recording: ${out:-no vm.h264}"
fi
vm_from_server_memory "frames" "$qlog"

step_check hostile "the hostile guest sent its three messages"
real_id=$(sed -nE 's/^  \| vmch_hostile: sent ATTACH of resource ([0-9]+) \(.*/\1/p' "$log")
ended_id=$(sed -nE 's/^  \| vmch_hostile: sent ATTACH of resource ([0-9]+), of a context that ended.*/\1/p' "$log")
errors=$(grep -E '^(worker process [0-9]+: )?venus-server: (error|warn):' "$qlog" || true)
missing=$(printf '%s\n' "$errors" | grep -cE "\b($MISSING_RES_ID|0x7ffffff0)\b" || true)
check "one refusal line for the ATTACH of missing resource $MISSING_RES_ID (got $missing)" test "$missing" -eq 1
overrun=0
[ -z "$real_id" ] || overrun=$(printf '%s\n' "$errors" | grep -vE "\b($MISSING_RES_ID|0x7ffffff0)\b" | grep -cE "\b$real_id\b" || true)
check "one refusal line for the ATTACH past the end of resource ${real_id:-?} (got $overrun)" test "$overrun" -eq 1
ended=0
[ -z "$ended_id" ] || ended=$(printf '%s\n' "$errors" | grep -cE "warn: vm channel: resource $ended_id is gone \(destroyed, or its context ended\)" || true)
check "one line, not a refusal, for the ATTACH of resource ${ended_id:-?}, whose context ended (got $ended)" test "$ended" -eq 1
others=$(printf '%s\n' "$errors" | grep -vE "\b($MISSING_RES_ID|0x7ffffff0${real_id:+|$real_id}${ended_id:+|$ended_id})\b" | grep -E 'error:' || true)
if [ -z "$others" ]; then pass "the render server logged no other error line"; else
  fail "the render server logged:"; printf '%s\n' "$others" | head -5 | sed 's/^/         | /'; fi
check "the guest finished its workload and powered off (QEMU status $rc)" grep -q '^VMTEST done' "$log"
if [ "$N_FAIL" -gt 0 ]; then
  grep '^  present|' "$log" | tail -n 8 || true
  printf '%s\n' "$errors" | head -n 8 | sed 's/^/     server| /'
  show_tail "$qlog" 15
fi
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A stock compositor on the vhost-user device's KMS output: the desktop
# guest (scripts/vm-image.sh --desktop: the test guest plus weston 14 and
# Mesa's GL) under the sid root's QEMU 11.1 (tests/lib_vhost_user.sh) on
# `venus-server --vhost-user ... --vm-size 1024x768 --log-level debug
# --display --record`. In the guest (tests/vm/init, workload desktop)
# weston's DRM backend renders with its GL renderer on Zink on Mesa's
# Venus and scans out what it renders (host blobs); vkcube draws 300
# frames in its kiosk shell.
# Checks: the guest's cube step ended 0; weston's log names Zink on Venus
# as its GL renderer; the device answered SET_SCANOUT_BLOB and showed host
# blobs in place; the recording holds vkcube's frames (the console's and
# the empty desktop's blank frames around them left out); the device
# refused nothing. Skips where test_vhost_user_qemu.sh does (VM_TEST=0, no
# QEMU 11.1 in the sid root, no guest image) and without the display.
# DESKTOP_CUBE_ENV: vkcube's environment in the guest (VAR=VALUE[,...]),
# default MESA_VK_WSI_DEBUG=sw (Mesa's software WSI: shm buffers); empty
# for Mesa's default WSI (dma-bufs weston imports).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

require_tools python3 ffmpeg ffprobe
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then skip "a build without the display"; finish; fi
# The guest and the page, not the OS layer: test_vhost_user_qemu covers
# the device on the -Dos=posix build.
if grep -q '"name": "os", "value": "posix"' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null; then
  skip "-Dos=posix build: test_vhost_user_qemu runs the device there"
  finish
fi
vu_prepare --desktop
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
record=$TEST_TMP/desktop.h264
cube_env=${DESKTOP_CUBE_ENV-MESA_VK_WSI_DEBUG=sw}
desktop_run() {
  vu_server_start --vm-size 1024x768 --log-level debug --display vs-vhost-desktop --record "$record"
  vu_boot 180 vmtest=desktop "cubeenv=$cube_env"
  vu_server_stop
}
vu_run_twice_on_stall desktop_run '^VMTEST step cube rc 0 ' "$record"
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "QEMU ran the guest to power-off (status $rc)" test "$rc" -eq 0
check "the guest's init finished" grep -q '^VMTEST done' "$log"
check "weston came up on the device's KMS output ($(sed -n 's/^VMTEST weston //p' "$log"))" grep -q '^VMTEST weston up' "$log"
renderer=$(sed -n 's/^  weston| .*GL renderer: //p' "$log" | head -n 1)
check "weston rendered with Zink on Venus (${renderer:-no GL renderer in its log})" \
  grep -qE '^  weston\| .*GL renderer: zink .*Venus' "$log"
vm_step_check cube "vkcube's 300 frames in weston's kiosk shell (WSI: ${cube_env:-the default})"
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
# Weston's page flips: SET_SCANOUT_BLOB of the Vulkan memory it rendered
# into, each flip's frame read from its host blob, not copied.
scanouts=$(grep -cE 'virtio-gpu 1: SET_SCANOUT_BLOB: response 0x1100' "$dlog" || true)
check "the device answered SET_SCANOUT_BLOB ($scanouts times)" test "$scanouts" -gt 0
blobs=$(sed -nE 's/.*virtio-gpu 1: scanout 0 shows host blob ([0-9]+) .*in place.*/\1/p' "$dlog" | sort -u | tr '\n' ' ')
check "weston's frames were shown in place from host blobs (${blobs:-none})" test -n "$blobs"
# Before weston's first frame the console is blank, so is the kiosk
# shell's desktop around vkcube's run: left out.
if out=$(CHECK_STREAM_TRIM=1 python3 "$TESTS_DIR/display/check_stream.py" cube "$record" 1024 768 150 2>&1); then
  pass "the recording holds vkcube's frames: $out"
else
  fail "the recording holds vkcube's frames: ${out:-no recording}"
fi
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" || true)
if [ -z "$refused" ]; then pass "the device refused nothing"; else
  fail "the device logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/qemu.log" 10
  grep -E '^  weston\| ' "$log" | tail -n 20 | sed 's/^/         /' || true
  show_tail "$dlog" 15
fi
finish

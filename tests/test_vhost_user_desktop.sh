#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A stock compositor on the vhost-user device's KMS output: the desktop
# guest (scripts/vm-image.sh --desktop: sid's kernel, Mesa and weston 16)
# under the sid root's QEMU 11.1 (tests/lib_vhost_user.sh) on
# `venus-server --vhost-user ... --vm-size 1024x768 --log-level debug
# --display --record`. In the guest (tests/vm/init, workload desktop)
# weston's DRM backend renders with its GL renderer on Zink on Mesa's
# Venus, then with its Vulkan renderer on Venus, importing the screen
# buffers Zink's GBM exported, then cage (a wlroots kiosk) with wlroots'
# Vulkan renderer; each scans out what it renders (host blobs), and
# vkcube draws 300 frames in it.
# Checks: the three cube steps ended 0; weston's logs name Zink on Venus as its
# GL renderer and Venus as its Vulkan device; the device answered
# SET_SCANOUT_BLOB and showed host blobs in place, some of them imported
# by another context (the Vulkan renderers'); the guest's blob maps
# and unmaps are counted against the frames; the recording holds vkcube's
# frames in three runs, one per compositor (the console's and the empty
# desktop's blank frames around them left out); the device refused
# nothing. Skips where test_vhost_user_qemu.sh does (VM_TEST=0, no QEMU
# 11.1 in the sid root, no guest image) and without the display.
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
if posix_build; then
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
  vu_boot 360 vmtest=desktop "cubeenv=$cube_env"
  vu_server_stop
}
vu_run_twice_on_stall desktop_run '^VMTEST step cube-(gl|vulkan|cage) rc 0 ' "$record" 3
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "QEMU ran the guest to power-off (status $rc)" test "$rc" -eq 0
check "the guest's init finished" grep -q '^VMTEST done' "$log"
for r in gl vulkan; do
  check "weston --renderer=$r came up on the device's KMS output ($(sed -n "s/^VMTEST weston $r //p" "$log"))" \
    grep -q "^VMTEST weston $r up" "$log"
done
renderer=$(sed -n 's/^  weston-gl| .*GL renderer: //p' "$log" | head -n 1)
check "weston rendered with Zink on Venus (${renderer:-no GL renderer in its log})" \
  grep -qE '^  weston-gl\| .*GL renderer: zink .*Venus' "$log"
vk_device=$(grep -E '^  weston-vulkan\| .*Venus' "$log" | head -n 1 | sed 's/^  weston-vulkan| *//')
check "weston's Vulkan renderer ran on Venus (${vk_device:-no Venus device in its log})" test -n "$vk_device"
vm_step_check cube-gl "vkcube's 300 frames in weston's kiosk shell, GL renderer (WSI: ${cube_env:-the default})"
vm_step_check cube-vulkan "vkcube's 300 frames in weston's kiosk shell, Vulkan renderer (WSI: ${cube_env:-the default})"
vm_step_check cube-cage "vkcube's 300 frames in cage, wlroots' Vulkan renderer (WSI: ${cube_env:-the default})"
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
# The compositors' page flips: SET_SCANOUT_BLOB of the Vulkan memory they
# rendered into, each flip's frame read from its host blob, not copied.
scanouts=$(grep -cE 'virtio-gpu 1: SET_SCANOUT_BLOB: response 0x1100' "$dlog" || true)
check "the device answered SET_SCANOUT_BLOB ($scanouts times)" test "$scanouts" -gt 0
blobs=$(sed -nE 's/.*virtio-gpu 1: scanout 0 shows host blob ([0-9]+) .*in place.*/\1/p' "$dlog" | sort -u | tr '\n' ' ')
check "the compositors' frames were shown in place from host blobs (${blobs:-none})" test -n "$blobs"
# The Vulkan renderers' screen buffers: GBM's (Zink's context) exports,
# imported into the compositor's own Venus context.
imported=$(for b in $blobs; do grep -qE "ctx [0-9]+: resource $b: imported fd" "$dlog" && printf '%s ' "$b"; done)
check "the Vulkan renderers imported the screen buffers they showed (${imported:-none})" test -n "$imported"
# Each map and unmap of a blob into the host-visible region is a round
# trip to QEMU (and, under KVM, a memory slot change): the desktop keeps
# them to its buffers' start-up, not its frames.
maps=$(grep -c 'virtio-gpu 1: RESOURCE_MAP_BLOB: response' "$dlog" || true)
unmaps=$(grep -c 'virtio-gpu 1: RESOURCE_UNMAP_BLOB: response' "$dlog" || true)
flips=$(grep -cE 'virtio-gpu 1: (SET_SCANOUT_BLOB|RESOURCE_FLUSH): response 0x1100' "$dlog" || true)
check "blob maps and unmaps are not per frame ($maps maps, $unmaps unmaps, $flips scanout and flush commands)" \
  test $((maps + unmaps)) -lt $((flips / 4 + 8))
# Before weston's first frame the console is blank, so is the kiosk
# shells' desktop around vkcube's runs: left out; between the
# compositors the console is blank again: three runs of vkcube's frames.
if out=$(CHECK_STREAM_TRIM=1 python3 "$TESTS_DIR/display/check_stream.py" cube "$record" 1024 768 150 3 2>&1); then
  pass "the recording holds vkcube's frames: $out"
else
  fail "the recording holds vkcube's frames: ${out:-no recording}"
fi
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" || true)
if [ -z "$refused" ]; then pass "the device refused nothing"; else
  fail "the device logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/qemu.log" 10
  grep -E '^  weston-(gl|vulkan)\| ' "$log" | tail -n 40 | sed 's/^/         /' || true
  show_tail "$dlog" 15
fi
finish

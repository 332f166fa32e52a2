#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live upgrade (docs/deployment.md "Live upgrade") of `venus-server
# --vhost-user` under a running VM: the desktop guest
# (scripts/vm-image.sh --desktop) under the sid root's QEMU 11.1
# (tests/lib_vhost_user.sh) on `venus-server --vhost-user ... --vm-size
# 1024x768 --log-level debug`, with the display where built (--display
# --http: a viewer of the VM's output, tests/display/ws_viewer.py
# reconnect, watches it throughout). In
# the guest (tests/vm/init, workload upgrade) cage (a wlroots kiosk, on
# wlroots' Vulkan renderer) scans out vkcube's 900 frames on the device's
# KMS output; once its frames reach the device, the host sends the server
# SIGUSR2 and, once it has taken over, a second one while the frames go on.
# Checks: the guest's init finished and vkcube drew all its frames (its
# step ended 0); each signal was answered by an in-place take-over of the
# VM device ("upgrade: took over ... in place"), none refused; the guest's
# scanout commands reached the device after the last upgrade; the
# device's worker process is the one that served it from the start, and
# its end is logged under that pid; the device served until the front end
# closed the connection; the server stopped on SIGTERM; the device refused
# nothing; the viewer reconnected by itself after each upgrade, with the
# URL it had, each connection's first frame a key frame of the guest's
# screen. The take-over lines' figures are printed as notes. Skips where
# test_vhost_user_desktop.sh does (VM_TEST=0, no QEMU 11.1 in the sid
# root, no guest image, the -Dos=posix build) and on a build without
# --vhost-user.
# DESKTOP_CUBE_ENV: vkcube's environment in the guest, as for
# test_vhost_user_desktop.sh (default MESA_VK_WSI_DEBUG=sw).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

if ! "$SERVER_BIN" --help 2>/dev/null | grep -c -- '--vhost-user' >/dev/null; then
  skip "a build without --vhost-user"
  finish
fi
# The upgrade of the device, not the OS layer: test_vhost_user_qemu covers
# the device on the -Dos=posix build.
if posix_build; then
  skip "-Dos=posix build: test_vhost_user_qemu runs the device there"
  finish
fi
vu_prepare --desktop
cube_env=${DESKTOP_CUBE_ENV-MESA_VK_WSI_DEBUG=sw}
frames=900
watch=$TEST_TMP/watch.log viewer=$TEST_TMP/viewer.out
display=()
if "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -m 700 -p "$XDG_RUNTIME_DIR"
  display=(--display "vs-vhost-upgrade-$$" --http 127.0.0.1:0)
fi

# flips: cage's page flips the device has answered so far (the console's
# framebuffer is flushed, not flipped).
flips() { grep -c 'virtio-gpu 1: SET_SCANOUT_BLOB: response 0x1100' "$TEST_TMP/device.log" || true; }
# wait_flips N: until N more than now, at most 60 s.
wait_flips() {
  local until=$(($(flips) + $1))
  for _ in $(seq 600); do [ "$(flips)" -ge "$until" ] && return 0; sleep 0.1; done
  return 1
}
# upgrade_watch: in the background while the guest runs; its lines go to
# $watch. At the guest's cue, once vkcube's frames flow, SIGUSR2 to the
# server; once it has taken over, a second one while they go on.
upgrade_watch() {
  local i
  for _ in $(seq 3000); do grep -q '^VMTEST cube starting' "$work/hvc.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '^VMTEST cube starting' "$work/hvc.log" 2>/dev/null || { echo "no cue from the guest" >>"$watch"; return 0; }
  if [ "${#display[@]}" -gt 0 ]; then
    local url
    url=$(sed -nE "s|.*display: output vm-1 \(VM device 1's scanout\): viewer page at (http://[^ ]+)\$|\1|p" \
      "$TEST_TMP/device.log" | head -n 1)
    [ -n "$url" ] || { echo "no viewer page for the VM's output" >>"$watch"; return 0; }
    python3 "$TESTS_DIR/display/ws_viewer.py" reconnect "$url" 3 >"$viewer" 2>&1 &
    for _ in $(seq 300); do grep -q '^connection 1:' "$viewer" && break; sleep 0.1; done
  fi
  for i in 1 2; do
    wait_flips 60 || { echo "no frames before signal $i" >>"$watch"; return 0; }
    echo "signal $i after $(flips) scanout commands" >>"$watch"
    kill -USR2 "$device_pid" || return 0
    for _ in $(seq 600); do
      [ "$(grep -cE 'upgrade: took over|upgrade refused' "$TEST_TMP/device.log" || true)" -ge "$i" ] && break
      sleep 0.1
    done
    grep -qE 'upgrade: took over .* in place' "$TEST_TMP/device.log" && ! grep -q 'upgrade refused' "$TEST_TMP/device.log" ||
      return 0
  done
}
upgrade_run() {
  rm -f "$work/hvc.log" "$watch" "$viewer"
  vu_server_start --vm-size 1024x768 --log-level debug "${display[@]}"
  upgrade_watch &
  watcher=$!
  BG_PIDS+=("$watcher")
  vu_boot 300 vmtest=upgrade "cubeenv=$cube_env"
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" || true
  vu_server_stop
}
vu_run_twice_on_stall upgrade_run '^VMTEST step cube rc 0 ' "$watch"
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "QEMU ran the guest to power-off (status $rc)" test "$rc" -eq 0
check "the guest's init finished" grep -q '^VMTEST done' "$log"
vm_step_check cube "vkcube's $frames frames in cage on the device's KMS output, across the upgrade (WSI: ${cube_env:-the default})"
signals=$(grep -c '^signal ' "$watch" 2>/dev/null || true) signals=${signals:-0}
check "the server was signalled while vkcube's frames reached the device (signals: $signals$(grep -v '^signal ' "$watch" 2>/dev/null | sed 's/^/; /' | tr -d '\n'))" \
  test "$signals" -gt 0
# The take-over: one line per signal, none refused.
taken=$(grep -cE 'upgrade: took over .* in place' "$dlog" || true)
refusal=$(grep -m1 'upgrade refused' "$dlog" | sed 's/.*upgrade refused/upgrade refused/' || true)
if [ -z "$refusal" ] && [ "$taken" -gt 0 ] && [ "$taken" -eq "$signals" ]; then
  pass "the server took over the VM device in place at each signal ($taken take-overs)"
else
  fail "the server took over the VM device in place at each signal ($taken take-overs of $signals signals): ${refusal:-no refusal line}"
fi
grep -E 'upgrade: took over' "$dlog" | sed 's/.*upgrade: /upgrade: /' | while read -r line; do note "$line"; done || true
# cage's flips after the last upgrade: the device went on answering.
after=$(awk '/upgrade: took over|upgrade refused/ { n = 0; seen = 1; next }
  /virtio-gpu 1: SET_SCANOUT_BLOB: response 0x1100/ { n++ } END { print seen ? n : 0 }' "$dlog")
check "the device answered cage's page flips after the last upgrade ($after)" test "$after" -gt 0
# The same worker process all along: the device's only one, its end logged
# under its pid by the server that took it over.
worker=$(sed -nE 's/.*vhost-user device 1: a virtio-gpu device of VMM pid [0-9]+, .*served by worker process ([0-9]+).*/\1/p' "$dlog" |
  sort -u | paste -sd ' ')
ended=$(sed -nE 's/.*vhost-user device 1: its worker \(pid ([0-9]+)\) ended$/\1/p' "$dlog" | paste -sd ' ')
check "the device's worker process served it throughout (pid ${worker:-none}, its end logged for pid ${ended:-none})" \
  test -n "$worker" -a "$worker" = "$ended"
check "the device served until the front end closed the connection" \
  grep -q 'vhost-user device 1: the front end closed the connection' "$dlog"
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
# A refused upgrade is the take-over check's.
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" | grep -v 'upgrade refused' || true)
if [ -z "$refused" ]; then pass "the device refused nothing"; else
  fail "the device logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "${#display[@]}" -gt 0 ]; then
  check "the viewer reconnected by itself after each upgrade, a key frame first each time ($(grep -E '^connection' "$viewer" 2>/dev/null | tr '\n' ' '))" \
    [ "$(grep -cE '^connection [0-9]: [0-9]+x[0-9]+( \(|$)' "$viewer" 2>/dev/null)" = 3 ]
fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/qemu.log" 10
  grep -E 'upgrade' "$dlog" | head -n 5 | sed 's/^/         | /' || true
  show_tail "$dlog" 8
fi
finish

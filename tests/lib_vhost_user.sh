# SPDX-License-Identifier: MIT
# Sourced by the tests of the vhost-user device under a real QEMU
# (test_vhost_user_qemu.sh, test_vhost_user_browser.sh,
# test_vhost_user_desktop.sh, test_vhost_user_upgrade.sh), after lib.sh and
# lib_vm.sh: the project's test guest booted under the sid root's QEMU
# 11.1 (TCG) whose vhost-user-test-device-pci (virtio-id 16) and
# vhost-user-input-pci are served by `venus-server --vhost-user`.
#
#   vu_prepare [--desktop]
#                        skips (VM_TEST=0, no QEMU 11.1 in the sid root, no
#                        guest image) or sets $qemu_version, $image and
#                        $work (a directory inside the sid root, removed at
#                        exit) holding the guest's kernel and initramfs;
#                        --desktop: the desktop image (scripts/vm-image.sh
#                        --desktop: the guest plus weston and Mesa's GL)
#   vu_server_start [server options...]
#                        starts the server on $work/gpu.sock and
#                        $work/input.sock ($device_pid; its log
#                        $TEST_TMP/device.log, its stdout device.out)
#   vu_boot LIMIT_S KERNEL_ARGS...
#                        boots the guest with the init's KERNEL_ARGS
#                        (vmtest=...); sets $rc (QEMU's status); the
#                        kernel's log is $TEST_TMP/serial.log, the init's
#                        $TEST_TMP/guest.log ($work/hvc.log while it runs)
#   vu_server_stop       waits for device 1's worker to end, then stops
#                        the server with SIGTERM; sets $device_rc
#
# VU_QEMU_BUNDLE=DIR: QEMU from an unpacked vm-vhost.tar.xz
# (scripts/vm-bundle.sh: sid's QEMU on sid's own ld-linux, its libraries
# and firmware) on the host as it is, no sid root (then $work is under
# /tmp). VU_IMAGE=DIR: the guest's vmlinuz and initrd.img from DIR, not
# scripts/vm-image.sh (a GPU host runs both from scripts/gpu-bundle.sh's
# bundle).

vu_sid=${SID_ROOT:-$vm_top/.deps/sid-root}
# How QEMU runs: vu_in_root (the sid root's in-root.sh, or nothing), then
# vu_qemu; vu_tmp: where $work goes (QEMU must see its files).
vu_in_root=("$vm_top/scripts/in-root.sh" "$vu_sid") vu_qemu=(qemu-system-x86_64) vu_tmp=$vu_sid/tmp
if [ -n "${VU_QEMU_BUNDLE:-}" ]; then
  vu_in_root=() vu_tmp=${TMPDIR:-/tmp}
  vu_qemu=("$VU_QEMU_BUNDLE/ld-linux-x86-64.so.2" --library-path "$VU_QEMU_BUNDLE/lib"
           "$VU_QEMU_BUNDLE/bin/qemu-system-x86_64" -L "$VU_QEMU_BUNDLE/share/qemu")
fi

vu_prepare() {
  [ "${VM_TEST:-1}" != 0 ] || { skip "VM_TEST=0"; finish; }
  [ -x "$SERVER_BIN" ] || { fail "no server binary at $SERVER_BIN (run make)"; finish; }
  if [ -z "${VU_QEMU_BUNDLE:-}" ] && [ ! -x "$vu_sid/usr/bin/qemu-system-x86_64" ]; then
    skip "no QEMU in the sid root (ROOTS=1 make roots adds qemu-system-x86 and qemu-system-data)"
    finish
  fi
  qemu_version=$("${vu_in_root[@]}" "${vu_qemu[@]}" --version 2>/dev/null |
    sed -nE 's/^QEMU emulator version ([0-9]+\.[0-9]+).*/\1/p')
  # 11.1 is the first whose vhost-user-test-device-pci maps the back end's
  # shared memory (sort -C -V: 11.1 sorts first).
  if [ -z "$qemu_version" ] || ! printf '11.1\n%s\n' "$qemu_version" | sort -C -V; then
    skip "the sid root's QEMU is ${qemu_version:-unusable}; the device needs 11.1 or later (ROOTS=1 make roots)"
    finish
  fi
  local t0=$SECONDS
  if [ -n "${VU_IMAGE:-}" ]; then
    image=$VU_IMAGE
  elif ! image=$("$vm_top/scripts/vm-image.sh" "$BUILD_DIR" "$@" 2>"$TEST_TMP/image.log"); then
    skip "no test guest image: scripts/vm-image.sh failed ($(tail -n 1 "$TEST_TMP/image.log"))"
    finish
  fi
  note "QEMU $qemu_version, guest image $image ($((SECONDS - t0)) s to build or find)"
  work=$(mktemp -d "$vu_tmp/vs-vhost-qemu.XXXXXX")
  trap 'lib_cleanup; rm -rf --one-file-system "$work"' EXIT
  cp "$image/vmlinuz" "$image/initrd.img" "$work/"
}

vu_server_start() {
  env --default-signal=PIPE "$SERVER_BIN" --vhost-user "$work/gpu.sock" --vhost-user-input "$work/input.sock" \
    "$@" >"$TEST_TMP/device.out" 2>"$TEST_TMP/device.log" &
  device_pid=$!
  BG_PIDS+=("$device_pid")
  for _ in $(seq 200); do [ -S "$work/gpu.sock" ] && [ -S "$work/input.sock" ] && break; sleep 0.05; done
  [ -S "$work/input.sock" ] || { fail "the devices did not listen"; show_tail "$TEST_TMP/device.log"; finish; }
}

vu_boot() {
  local limit=$1 in=${work#"$vu_sid"} t1=$SECONDS
  shift
  rc=0
  # The kernel's console on the serial port at loglevel 7 (the driver's
  # [drm] lines are info); the init's VMTEST lines on the virtio console.
  "${vu_in_root[@]}" timeout -k 5 "$limit" "${vu_qemu[@]}" \
    -machine q35,memory-backend=m0 -m 1G -object memory-backend-memfd,id=m0,size=1G,share=on \
    -accel tcg -cpu max -smp 2 -nodefaults -no-reboot \
    -kernel "$in/vmlinuz" -initrd "$in/initrd.img" \
    -append "console=ttyS0 loglevel=7 panic=-1 rdinit=/init $*" \
    -chardev socket,id=g,path="$in/gpu.sock" \
    -device vhost-user-test-device-pci,chardev=g,virtio-id=16,num_vqs=2,vq_size=256,config_size=16 \
    -chardev socket,id=in,path="$in/input.sock" -device vhost-user-input-pci,chardev=in \
    -device virtio-serial-pci -chardev file,id=hvc,path="$in/hvc.log" -device virtconsole,chardev=hvc \
    -vga none -display none -net none -serial file:"$in/serial.log" >"$TEST_TMP/qemu.log" 2>&1 || rc=$?
  note "VM (tcg): $((SECONDS - t1)) s from power-on to power-off, QEMU status $rc"
  cp "$work/serial.log" "$TEST_TMP/serial.log" 2>/dev/null || : >"$TEST_TMP/serial.log"
  # The virtio console ends its lines with CR LF.
  tr -d '\r' <"$work/hvc.log" >"$TEST_TMP/guest.log" 2>/dev/null || : >"$TEST_TMP/guest.log"
}

vu_server_stop() {
  # The device ends when the front end closes its socket; the server, which
  # then flushes the recording, at SIGTERM.
  for _ in $(seq 100); do grep -q 'vhost-user device 1: its worker .* ended' "$TEST_TMP/device.log" && break; sleep 0.1; done
  kill -TERM "$device_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$device_pid" 2>/dev/null || break; sleep 0.1; done
  device_rc=0
  if kill -0 "$device_pid" 2>/dev/null; then
    kill_tree "$device_pid"
    device_rc=timeout
  else
    wait "$device_pid" || device_rc=$?
  fi
}

# vu_run_twice_on_stall RUN DONE_RE RECORDING [COUNT]: runs RUN (a function:
# server, boot, stop); where the guest stalled in a fence wait (the known
# intermittent stall, docs/vhost-user.md#a-stock-compositor) and its log
# has fewer than COUNT (1) lines matching DONE_RE (an ERE), that boot's
# logs and RECORDING go to first/ and RUN runs once more.
vu_run_twice_on_stall() {
  local f
  "$1"
  grep -q 'stuck in fence wait' "$TEST_TMP/guest.log" &&
    [ "$(grep -cE "$2" "$TEST_TMP/guest.log")" -lt "${4:-1}" ] || return 0
  note "a guest client stalled in a fence wait; its logs are in first/; booting once more"
  mkdir -p "$TEST_TMP/first"
  for f in device.log device.out guest.log serial.log qemu.log "$(basename "$3")"; do
    mv "$TEST_TMP/$f" "$TEST_TMP/first/" 2>/dev/null || true
  done
  "$1"
}

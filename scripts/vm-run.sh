#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots the test VM (scripts/vm-image.sh) under Debian 13's stock QEMU 10
# with a virtio-gpu whose Venus contexts run on a render server: this
# checkout's venus-server (RENDER_SERVER_EXEC_PATH) or the stock
# virgl_render_server. QEMU, libvirglrenderer 1.1 and the server run in the
# trixie root (scripts/in-root.sh); QEMU's GL display is SDL on a private
# Xvfb (llvmpipe EGL: no render node needed). With --host-bundle DIR
# (scripts/vm-bundle.sh: QEMU, Xvfb and Mesa's EGL with their trixie
# libraries) they run from DIR through trixie's own ld-linux instead, on
# any glibc (a GPU host with an older or newer distribution), and the server
# runs on the host as it is.
#
#   scripts/vm-run.sh [--server PATH|stock] [--accel tcg|kvm] [--workload short|bench|display|display-apps]
#                     [--timeout SECONDS] [--host-icd JSON] [--host-bundle DIR] [--vm-display [--guest-size WxH]]
#                     OUT_DIR IMAGE_DIR
#
# OUT_DIR gets guest.log (the guest's console: VMTEST lines, tests/vm/init),
# qemu.log (QEMU's and the render server's stderr), serial.log (the kernel's
# console), command.txt (the QEMU command line); while the VM runs,
# OUT_DIR/live links to the directory they are written to (a test that
# acts on the guest's cues reads guest.log and qemu.log there). Exit status: QEMU's (124:
# the timeout stopped it; 3: KVM could not run the guest). --host-icd: the host Vulkan driver the server
# uses, a path inside the root (default: lavapipe). --vm-display: the guest
# gets the presentation channel's virtio-serial port
# (org.venus-server.display.0, docs/vm-display.md), whose host end is the
# Unix socket vsd.sock QEMU listens on, and the server gets (appended to
# VENUS_SERVER_OPTIONS) its display vm-0 recorded into OUT_DIR/vm.h264 and
# that socket as its --vm-channel. --guest-size: the size the guest's
# windows are asked for (the server's --vm-size) and display-apps' vkcube
# is started at (default 640x480).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
die() { printf 'vm-run: %s\n' "$*" >&2; exit 2; }

if [ "${1:-}" = --inside ]; then
  # Second stage, inside the root: Xvfb, then QEMU until the guest powers off.
  dir=$2 accel=$3 workload=$4 limit=$5 server=$6 icd=$7 hb=${8:-} vm_display=${9:-0} guest_size=${10:-}
  qemu=(qemu-system-x86_64) xvfb=(Xvfb)
  if [ -n "$hb" ]; then
    # The bundle's programs on its own loader and libraries; QEMU's
    # modules, firmware and Mesa's EGL from the bundle too.
    ld=("$hb/ld-linux-x86-64.so.2" --library-path "$hb/lib")
    qemu=("${ld[@]}" "$hb/bin/qemu-system-x86_64" -L "$hb/share/qemu")
    xvfb=("${ld[@]}" "$hb/bin/Xvfb" -xkbdir "$hb/share/X11/xkb")
    # The server inherits QEMU's environment: it gets back the EGL set-up
    # it had (the host's Vulkan driver may need the host's EGL, as NVIDIA's
    # does), not the bundle's, and the library path it was given (where
    # the host's Vulkan loader may be).
    restore="" unset_vars=""  # env takes its -u options before any assignment
    for v in __EGL_VENDOR_LIBRARY_FILENAMES __EGL_VENDOR_LIBRARY_DIRS LIBGL_DRIVERS_PATH QEMU_MODULE_DIR LD_LIBRARY_PATH; do
      if [ -n "${!v+set}" ]; then restore+=" $v=$(printf %q "${!v}")"; else unset_vars+=" -u $v"; fi
    done
    restore=$unset_vars$restore
    printf '#!/bin/sh\nexec env%s %q "$@"\n' "$restore" "$server" >"$dir/render-server"
    chmod +x "$dir/render-server"
    server=$dir/render-server
    export QEMU_MODULE_DIR=$hb/lib/qemu __EGL_VENDOR_LIBRARY_FILENAMES=$hb/share/glvnd/egl_vendor.d/50_mesa.json \
      LIBGL_DRIVERS_PATH=$hb/lib/dri
    unset __EGL_VENDOR_LIBRARY_DIRS
  fi
  # -displayfd: a display number nobody else uses (the abstract X socket
  # namespace is the host's, shared with every other Xvfb on the machine).
  "${xvfb[@]}" -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$dir/xvfb.display" 2>"$dir/xvfb.log" &
  xvfb_pid=$!
  for _ in $(seq 100); do [ -s "$dir/xvfb.display" ] && break; sleep 0.1; done
  [ -s "$dir/xvfb.display" ] || { echo "vm-run: Xvfb did not start" >&2; kill "$xvfb_pid"; exit 2; }
  export DISPLAY=:$(cat "$dir/xvfb.display")
  if [ "$server" != stock ]; then export RENDER_SERVER_EXEC_PATH=$server LD_LIBRARY_PATH=$dir/lib; fi
  # VM_CPU overrides the CPU model (scripts/gpu-check.sh: nested KVM).
  cpu=max; [ "$accel" = kvm ] && cpu=host
  cpu=${VM_CPU:-$cpu}
  # event_idx=off: with it on, QEMU 10 under TCG now and then misses the
  # guest's control-queue notifications (reference notes).
  cmd=("${qemu[@]}" -machine q35 -accel "$accel" -cpu "$cpu" -m 2G -smp 2 -nodefaults -no-reboot
       -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img"
       -append "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init vmtest=$workload${guest_size:+ vmsize=$guest_size}"
       -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=1G,event_idx=off
       -display sdl,gl=on
       -serial "file:$dir/serial.log" -monitor none -d guest_errors
       -device virtio-serial-pci -chardev "file,id=guestlog,path=$dir/guest.log" -device virtconsole,chardev=guestlog)
  if [ "$vm_display" = 1 ]; then
    # QEMU listens (wait=off: it boots without a client); the server
    # connects when it starts and again whenever it loses the socket.
    cmd+=(-chardev "socket,id=vsd,path=$dir/vsd.sock,server=on,wait=off"
          -device virtserialport,chardev=vsd,name=org.venus-server.display.0)
    export VENUS_SERVER_OPTIONS="${VENUS_SERVER_OPTIONS:+$VENUS_SERVER_OPTIONS }--display vm-0 --record $dir/vm.h264 --vm-channel $dir/vsd.sock${guest_size:+ --vm-size $guest_size}"
    export XDG_RUNTIME_DIR=$dir
  fi
  printf '%s\n' "RENDER_SERVER_EXEC_PATH=${RENDER_SERVER_EXEC_PATH:-} VENUS_SERVER_OPTIONS=${VENUS_SERVER_OPTIONS:-} VK_ICD_FILENAMES=$icd ${cmd[*]}" >"$dir/command.txt"
  rc=0
  VK_ICD_FILENAMES=$icd timeout -k 5 "$limit" "${cmd[@]}" >"$dir/qemu.log" 2>&1 </dev/null &
  qemu_pid=$!
  # A KVM that cannot run the guest (an emulation failure: nested or
  # paravirtual KVM) stops the VM, not QEMU: end it now, not at the limit.
  kvm_failed=0
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ "$accel" = kvm ] && grep -q '^KVM internal error' "$dir/qemu.log" 2>/dev/null; then
      echo "vm-run: KVM could not run the guest (qemu.log: KVM internal error); stopping QEMU" >&2
      kill "$qemu_pid" 2>/dev/null || true
      kvm_failed=1
      break
    fi
    sleep 1
  done
  wait "$qemu_pid" || rc=$?
  # QEMU ends 0 on SIGTERM: the status must still say the guest did not run.
  [ "$kvm_failed" = 0 ] || rc=3
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  exit "$rc"
fi

server="" accel=tcg workload=short limit=300 icd=/usr/share/vulkan/icd.d/lvp_icd.json bundle="" vm_display=0 guest_size=""
while [ $# -gt 2 ]; do
  case $1 in
    --server) server=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --host-icd) icd=$2; shift 2 ;;
    --host-bundle) bundle=$(cd "$2" && pwd); shift 2 ;;
    --vm-display) vm_display=1; shift ;;
    --guest-size) guest_size=$2; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ $# -eq 2 ] || die "usage: $0 [--server PATH|stock] [--accel tcg|kvm] [--workload short|bench] [--timeout S] [--host-icd JSON] [--host-bundle DIR] [--vm-display [--guest-size WxH]] OUT_DIR IMAGE_DIR"
out=$1 image=$(cd "$2" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -n "$server" ] || server=$top/build/venus-server
if [ -n "$bundle" ]; then
  [ "$server" != stock ] || die "--server stock needs the trixie root, not a bundle"
  server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")
  work=$(mktemp -d /tmp/vm-run.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cp "$image/vmlinuz" "$image/initrd.img" "$work/"
  ln -sfn "$work" "$out/live"
  rc=0
  bash "$0" --inside "$work" "$accel" "$workload" "$limit" "$server" "$icd" "$bundle" "$vm_display" "$guest_size" || rc=$?
  for f in guest.log qemu.log serial.log command.txt xvfb.log vm.h264; do
    if [ -f "$work/$f" ]; then cp "$work/$f" "$out/$f"; fi
  done
  rm -f "$out/live"
  # The console's tty wrote CRLF.
  [ ! -f "$out/guest.log" ] || sed -i 's/\r$//' "$out/guest.log"
  exit "$rc"
fi
root=$("$top/scripts/trixie-root.sh" --include qemu-system-x86,qemu-system-modules-opengl,qemu-system-gui,seabios,libvirglrenderer1,virgl-server,xvfb,xauth,libgl1-mesa-dri,libegl-mesa0)

work=$(mktemp -d "$root/tmp/vm-run.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
inner=${work#"$root"}
cp "$image/vmlinuz" "$image/initrd.img" "$work/"
if [ "$server" = stock ]; then
  inner_server=stock
else
  [ -x "$server" ] || die "no server at $server"
  # With the host's copies of the libraries the root lacks (the display's).
  "$top/scripts/into-root.sh" "$root" "$work" "$server"
  # The display loads libx264 at run time (ldd does not name it): the
  # host's copy, where the root has none.
  x264=$(ldconfig -p | sed -n 's/^[[:space:]]*libx264\.so\.16[45] .*=> //p' | head -n 1)
  if [ "$vm_display" = 1 ] && [ -n "$x264" ] && ! ls "$root"/usr/lib/x86_64-linux-gnu/libx264.so.* >/dev/null 2>&1; then
    mkdir -p "$work/lib"
    cp -L "$x264" "$work/lib/"
  fi
  inner_server=$inner/$(basename "$server")
fi
cp "$0" "$work/vm-run.sh"
ln -sfn "$work" "$out/live"
rc=0
"$top/scripts/in-root.sh" "$root" bash "$inner/vm-run.sh" --inside "$inner" "$accel" "$workload" "$limit" \
  "$inner_server" "$icd" "" "$vm_display" "$guest_size" || rc=$?
for f in guest.log qemu.log serial.log command.txt xvfb.log vm.h264; do
  if [ -f "$work/$f" ]; then cp "$work/$f" "$out/$f"; fi
done
rm -f "$out/live"
[ ! -f "$out/guest.log" ] || sed -i 's/\r$//' "$out/guest.log"
exit "$rc"

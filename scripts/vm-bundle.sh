#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes what scripts/gpu-check.sh's vm, vm-live and vm-paths parts need on a GPU
# host without a package registry and with an older glibc than trixie's
# (scripts/gpu-bundle.sh with VM=1 calls it):
#   DEST/vm-guest.tar   the guest (scripts/vm-image.sh: kernel and
#                       initramfs; about 22 MB);
#   DEST/vm-host.tar.xz.N  (parts 0, 1, ... of at most 56 MiB) trixie's QEMU 10 (with its SDL and OpenGL modules
#                       and the firmware a -kernel boot reads),
#                       libvirglrenderer 1.1, Xvfb with xkbcomp and the XKB
#                       data, Mesa's EGL and GLX (llvmpipe, for QEMU's GL display),
#                       the libraries they link and trixie's
#                       ld-linux-x86-64.so.2, which runs them on any glibc
#                       (scripts/vm-run.sh --host-bundle);
#   DEST/vm-vhost.tar.xz  (at most 56 MiB) sid's QEMU 11.1 for the vhost-user
#                       device path (venus-server --vhost-user as the VM's
#                       whole virtio-gpu): qemu-system-x86_64, the libraries
#                       it links, the firmware a q35 -kernel boot with
#                       -nodefaults -vga none reads (SeaBIOS's bios-256k.bin,
#                       kvmvapic.bin, linuxboot_dma.bin) and sid's
#                       ld-linux-x86-64.so.2, which runs it on any glibc
#                       (unpacked, tests/lib_vhost_user.sh's VU_QEMU_BUNDLE;
#                       from the sid root of `ROOTS=1 make roots`).
# Each file is at most 56 MiB (about 110 MB in all: the guest 22 MB, QEMU 10
# and its display 70 MB, QEMU 11.1 15 MB), for hosts that take
# files of a bounded size at a time.
#
# Usage: scripts/vm-bundle.sh BUILD_DIR [DEST]   (DEST default: .deps/gpu-bundle)
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [DEST]}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${2:-$top/.deps/gpu-bundle}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

# root_libs ROOT DIR ELF...: every library the ELFs (paths inside ROOT)
# link, as ROOT resolves them, copied into DIR.
root_libs() {
  local root=$1 dir=$2 f lib
  shift 2
  for lib in $(for f in "$@"; do chroot "$root" ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
    cp -L "$root$lib" "$dir/"
  done
}

image=$("$top/scripts/vm-image.sh" "$build")
root=$("$top/scripts/trixie-root.sh" --include qemu-system-x86,qemu-system-modules-opengl,qemu-system-gui,seabios,libvirglrenderer1,xvfb,xauth,libgl1-mesa-dri,libegl-mesa0)
tar -C "$image" -cf "$dest/vm-guest.tar" vmlinuz initrd.img

stage=$(mktemp -d "$root/tmp/vm-bundle.XXXXXX")
trap 'rm -rf --one-file-system "$stage"' EXIT
h=$stage/vm-host
mkdir -p "$h/bin" "$h/lib/qemu" "$h/lib/dri" "$h/share/qemu" "$h/share/X11" "$h/share/glvnd/egl_vendor.d"
multi=usr/lib/x86_64-linux-gnu
cp "$root/usr/bin/qemu-system-x86_64" "$root/usr/bin/Xvfb" "$root/usr/bin/xkbcomp" "$h/bin/"
# QEMU's modules for this VM: the SDL display with OpenGL, the GL virtio-gpu.
for m in ui-sdl ui-opengl hw-display-virtio-gpu hw-display-virtio-gpu-gl hw-display-virtio-gpu-pci \
         hw-display-virtio-gpu-pci-gl audio-sdl; do
  [ -f "$root/$multi/qemu/$m.so" ] && cp "$root/$multi/qemu/$m.so" "$h/lib/qemu/"
done
# Firmware a q35 -kernel boot reads.
for f in seabios/bios-256k.bin qemu/kvmvapic.bin qemu/linuxboot_dma.bin; do cp -L "$root/usr/share/$f" "$h/share/qemu/"; done
cp -rL "$root/usr/share/X11/xkb" "$h/share/X11/"
cp "$root/usr/share/glvnd/egl_vendor.d/50_mesa.json" "$h/share/glvnd/egl_vendor.d/"
cp -L "$root/$multi/dri/swrast_dri.so" "$h/lib/dri/"
cp -L "$root/lib64/ld-linux-x86-64.so.2" "$h/"
# Every library those link, as the root resolves them (glvnd's vendors
# are loaded by name, so they are named here too: SDL makes QEMU's GL
# context through GLX on X11, and glvnd picks libGLX_mesa for Xvfb's
# screen; without it QEMU aborts in libepoxy with no current context).
elves=(/usr/bin/qemu-system-x86_64 /usr/bin/Xvfb /usr/bin/xkbcomp "/$multi/dri/swrast_dri.so"
       "/$multi/libEGL_mesa.so.0" "/$multi/libEGL.so.1" "/$multi/libGL.so.1" "/$multi/libGLX_mesa.so.0")
for f in "$h"/lib/qemu/*.so; do elves+=("/$multi/qemu/$(basename "$f")"); done
root_libs "$root" "$h/lib" "${elves[@]}"
for lib in "/$multi/libEGL_mesa.so.0" "/$multi/libEGL.so.1" "/$multi/libGL.so.1" "/$multi/libGLX_mesa.so.0"; do
  cp -L "$root$lib" "$h/lib/"
done
# In parts of at most 56 MiB (LLVM alone makes it larger than that).
rm -f "$dest"/vm-host.tar.xz*
tar -C "$stage" -cf - vm-host | xz -T0 -6 | split -b 56M -d -a 1 - "$dest/vm-host.tar.xz."
echo "$dest: vm-guest.tar $(du -h "$dest/vm-guest.tar" | cut -f1), $(ls "$dest" | grep -c '^vm-host.tar.xz\.') parts of vm-host.tar.xz, $(cat "$dest"/vm-host.tar.xz.* | wc -c) bytes"

# sid's QEMU 11.1, the vhost-user device's front end: the program alone (the
# device and vhost-user-input are built in; no display, no modules).
sid=$("$top/scripts/debian-root.sh" sid --include qemu-system-x86,qemu-system-data)
v=$stage/vm-vhost
mkdir -p "$v/bin" "$v/lib" "$v/share/qemu"
cp "$sid/usr/bin/qemu-system-x86_64" "$v/bin/"
cp -L "$sid/lib64/ld-linux-x86-64.so.2" "$v/"
root_libs "$sid" "$v/lib" /usr/bin/qemu-system-x86_64
for f in seabios/bios-256k.bin qemu/kvmvapic.bin qemu/linuxboot_dma.bin; do cp -L "$sid/usr/share/$f" "$v/share/qemu/"; done
tar -C "$stage" -cf - vm-vhost | xz -T0 -6 >"$dest/vm-vhost.tar.xz"
bytes=$(wc -c <"$dest/vm-vhost.tar.xz")
[ "$bytes" -le $((56 * 1024 * 1024)) ] || { echo "vm-bundle: vm-vhost.tar.xz is $bytes bytes, over 56 MiB" >&2; exit 1; }
echo "$dest: vm-vhost.tar.xz (QEMU $(chroot "$sid" qemu-system-x86_64 --version | sed -nE 's/^QEMU emulator version ([^ ]+).*/\1/p')), $bytes bytes"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes what scripts/gpu-check.sh's vm and vm-live parts need on a GPU
# host without a package registry and with an older glibc than trixie's
# (scripts/gpu-bundle.sh with VM=1 calls it):
#   DEST/vm-guest.tar   the guest (scripts/vm-image.sh: kernel and
#                       initramfs; about 45 MB);
#   DEST/vm-host.tar.xz.N  (parts 0, 1, ... of at most 56 MiB) trixie's QEMU 10 (with its SDL and OpenGL modules
#                       and the firmware a -kernel boot reads),
#                       libvirglrenderer 1.1, Xvfb with xkbcomp and the XKB
#                       data, Mesa's EGL and GLX (llvmpipe, for QEMU's GL display),
#                       the libraries they link and trixie's
#                       ld-linux-x86-64.so.2, which runs them on any glibc
#                       (scripts/vm-run.sh --host-bundle).
# Each file is at most 56 MiB (about 110 MB in all), for hosts that take
# files of a bounded size at a time.
#
# Usage: scripts/vm-bundle.sh BUILD_DIR [DEST]   (DEST default: .deps/gpu-bundle)
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [DEST]}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${2:-$top/.deps/gpu-bundle}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

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
for lib in $(for f in "${elves[@]}"; do chroot "$root" ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u) \
           "/$multi/libEGL_mesa.so.0" "/$multi/libEGL.so.1" "/$multi/libGL.so.1" "/$multi/libGLX_mesa.so.0"; do
  cp -L "$root$lib" "$h/lib/"
done
# In parts of at most 56 MiB (LLVM alone makes it larger than that).
rm -f "$dest"/vm-host.tar.xz*
tar -C "$stage" -cf - vm-host | xz -T0 -6 | split -b 56M -d -a 1 - "$dest/vm-host.tar.xz."
echo "$dest: vm-guest.tar $(du -h "$dest/vm-guest.tar" | cut -f1), $(ls "$dest" | grep -c '^vm-host.tar.xz\.') parts of vm-host.tar.xz, $(cat "$dest"/vm-host.tar.xz.* | wc -c) bytes"

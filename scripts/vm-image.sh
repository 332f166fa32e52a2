#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the test VM's guest: a Debian 13 kernel and a compressed initramfs
# holding just what the guest workload needs (busybox, the virtio modules,
# Mesa's Venus driver 25.0.7, the Vulkan loader, vulkaninfo, vkmark with its
# data, vkcube, and this checkout's test clients and guest compositor), all taken from the Debian
# packages installed in the trixie root (scripts/trixie-root.sh). Prints
# the directory holding `vmlinuz` and `initrd.img`; everything else goes to
# stderr.
#
#   scripts/vm-image.sh BUILD_DIR [--desktop]
#
# --desktop: a second image, cached apart, of the same guest taken from the
# sid root instead (sid's kernel and Mesa) plus stock compositors on the
# device's KMS output: weston 16 (DRM backend, GL and Vulkan renderers,
# kiosk shell) and cage (a wlroots kiosk), Mesa's EGL, GBM and Gallium
# drivers (Zink among them) and the data they read. That stack (libgallium with LLVM) makes the
# initramfs about 60 MB against the default's 10 MB: the other VM tests
# boot the default.
#
# The trixie root gets scripts/vm-run.sh's packages too (QEMU, Xvfb).
# Cached under .deps/vm/ (git-ignored), keyed by the packages' versions,
# the guest init (tests/vm/init) and the test clients: a second call with
# the same inputs only prints the directory. Needs root (sudo otherwise).
# Environment: TRIXIE_ROOT and SID_ROOT as for scripts/debian-root.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'vm-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Guest packages (installed in the host's trixie root, from which the
# guest's files are copied; nothing of them runs on the host).
guest_pkgs=linux-image-amd64,busybox-static,mesa-vulkan-drivers,libvulkan1,vulkan-tools,vkmark,xz-utils,cpio,zstd
# What scripts/vm-run.sh runs in the root, installed here too so that the
# first `make test` does its downloading before the tests start.
host_pkgs=qemu-system-x86,qemu-system-modules-opengl,qemu-system-gui,seabios,libvirglrenderer1,virgl-server,xvfb,xauth,libgl1-mesa-dri,libegl-mesa0
# Modules the guest loads (with their dependencies): the PCI transport, the
# console its output goes to (hvc0: the 8250 serial stalls under TCG), the
# GPU and the input device (virtio-input, as vhost-user-input-pci, with
# evdev for its /dev/input/event node), and the ACPI power button (what
# `virsh shutdown` presses).
guest_modules="virtio_pci virtio_console virtio_gpu virtio_input evdev button"
# The desktop image's packages (--desktop), on top of the guest's: weston
# (its library follows), cage (wlroots follows), glvnd's libEGL and libGLESv2 with Mesa's vendor
# library, GBM, the Gallium drivers, and the xkb keymaps.
desktop_pkgs=weston,cage,libegl1,libgles2,libegl-mesa0,libgbm1,mesa-libgallium,xkb-data

# desktop_elves: the desktop image's ELFs that nothing links, so ldd of
# weston alone misses them: what libweston loads by path (the DRM backend,
# the GL and Vulkan renderers, the kiosk shell), glvnd's Mesa vendor
# library and GBM's backend. libgallium (with LLVM), libEGL, libgbm and
# the Vulkan loader follow by ldd.
desktop_elves() {
  local l=/usr/lib/x86_64-linux-gnu lw
  lw=$(ls -d "$l"/libweston-[0-9]*/ | sort -V | tail -n 1)
  printf '%s\n' /usr/bin/weston /usr/bin/cage "$l"/weston/kiosk-shell.so "$lw"drm-backend.so "$lw"gl-renderer.so \
    "$lw"vulkan-renderer.so "$l"/libEGL_mesa.so.0 "$l"/gbm/dri_gbm.so
}

# desktop_data STAGE: the files weston's stack reads besides ELFs: glvnd's
# vendor file (how libEGL finds Mesa) and the xkb keymaps (weston compiles
# one at start).
desktop_data() {
  mkdir -p "$1"/usr/share/glvnd/egl_vendor.d "$1"/usr/share/X11
  cp /usr/share/glvnd/egl_vendor.d/50_mesa.json "$1"/usr/share/glvnd/egl_vendor.d/
  cp -rL /usr/share/X11/xkb "$1"/usr/share/X11/
}

if [ "${1:-}" = --inside ]; then
  # Second stage, inside the root: assemble STAGE from the root's files.
  stage=$2 kver=$3
  shift 3
  mkdir -p "$stage"/usr/bin "$stage"/usr/lib/x86_64-linux-gnu "$stage"/usr/lib64 "$stage"/usr/share \
    "$stage"/proc "$stage"/sys "$stage"/dev "$stage"/tmp "$stage"/lib/modules
  for d in bin sbin lib64; do ln -sfn usr/"${d/sbin/bin}" "$stage/$d"; done
  ln -sfn ../usr/lib/x86_64-linux-gnu "$stage"/lib/x86_64-linux-gnu
  cp /usr/bin/busybox "$stage"/usr/bin/busybox
  # Every ELF the workload runs or loads, with the libraries it needs.
  icd=$(ls /usr/share/vulkan/icd.d/virtio_icd*.json | head -n 1)
  virtio_lib=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd")
  case $virtio_lib in /*) ;; *) virtio_lib=/usr/lib/x86_64-linux-gnu/$virtio_lib ;; esac
  elves=(/usr/bin/vulkaninfo /usr/bin/vkmark "$virtio_lib" /usr/lib/x86_64-linux-gnu/vkmark/headless.so "$@")
  # vkcube on the VM display (vmtest=display-apps): Debian ships it with a
  # Wayland build of its own or a --wsi switch, depending on the release.
  for f in /usr/bin/vkcube-wayland /usr/bin/vkcube; do if [ -x "$f" ]; then elves+=("$f"); fi; done
  if [ "$GUEST_DESKTOP" = 1 ]; then mapfile -t -O ${#elves[@]} elves < <(desktop_elves); fi
  for f in "${elves[@]}"; do
    case $f in /tmp/*) cp "$f" "$stage/usr/bin/" ;; *) mkdir -p "$stage$(dirname "$f")"; cp -L "$f" "$stage$f" ;; esac
    ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u | while read -r lib; do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
  mkdir -p "$stage"/usr/share/vulkan/icd.d
  cp "$icd" "$stage"/usr/share/vulkan/icd.d/
  cp -r /usr/share/vkmark "$stage"/usr/share/
  if [ "$GUEST_DESKTOP" = 1 ]; then desktop_data "$stage"; fi
  # The modules, dependencies first, uncompressed (busybox's insmod).
  mods=/usr/lib/modules/$kver
  : >"$stage"/modules.load
  want() { # want NAME: its modules.dep line's path, after its dependencies
    local path
    path=$(awk -F: -v n="/${1//_/[-_]}.ko" '$1 ~ n"(.xz|.zst|.gz)?$" { print $0; exit }' "$mods/modules.dep")
    [ -n "$path" ] || { grep -q "/${1}.ko" "$mods/modules.builtin" && return 0; echo "no module $1" >&2; exit 1; }
    local self=${path%%:*} dep
    for dep in ${path#*:}; do want "$(basename "${dep%%.ko*}")"; done
    grep -qx "$(basename "${self%%.ko*}").ko" "$stage"/modules.load && return 0
    case $self in
      *.xz) xz -dc "$mods/$self" ;; *.zst) zstd -dcq "$mods/$self" ;; *.gz) gzip -dc "$mods/$self" ;; *) cat "$mods/$self" ;;
    esac >"$stage/lib/modules/$(basename "${self%%.ko*}").ko"
    echo "$(basename "${self%%.ko*}").ko" >>"$stage"/modules.load
  }
  for m in $GUEST_MODULES; do want "$m"; done
  exit 0
fi

build=$(cd "${1:?usage: $0 BUILD_DIR [--desktop]}" && pwd)
case ${2:-} in
  '') desktop=0 what=guest ;;
  --desktop) desktop=1 what="desktop guest" ;;
  *) die "unknown argument '$2' (usage: $0 BUILD_DIR [--desktop])" ;;
esac
clients=("$build/tests/vk_compute" "$build/tests/vk_render" "$build/tests/vk_peek" "$build/tests/kms_frames" "$build/bench/exec_bench"
  "$build/bench/render_bench")
for c in "${clients[@]}"; do [ -x "$c" ] || die "no $c (run make)"; done
# The guest side of the VM display (vmtest=display), where the build has
# the display: the guest compositor, the numbered-frames client and the
# channel's hostile guest.
for c in "$build/guest/present/vs-guest-present" "$build/guest/present/vmch_hostile" "$build/tests/display/wl_frames"; do
  if [ -x "$c" ]; then clients+=("$c"); fi
done
if [ "$desktop" = 1 ]; then
  root=$("$top/scripts/debian-root.sh" sid --include "$guest_pkgs,$desktop_pkgs")
else
  root=$("$top/scripts/trixie-root.sh" --include "$guest_pkgs,$host_pkgs")
fi
kver=$(cd "$root/usr/lib/modules" && ls | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "no kernel in $root (linux-image-amd64)"

# package_versions PKG...: "NAME VERSION" lines of the root's packages.
package_versions() { "$top/scripts/in-root.sh" "$root" dpkg-query -W -f '${Package} ${Version}\n' "$@"; }

# The cache key: what the guest is made of. The desktop image's package
# versions make its key differ from the default's, and its directory is
# named for it.
versions=$(package_versions "linux-image-$kver" busybox-static mesa-vulkan-drivers libvulkan1 vulkan-tools vkmark)
if [ "$desktop" = 1 ]; then versions+=$'\n'$(package_versions ${desktop_pkgs//,/ }); fi
key=$( { echo "$versions"; echo "$guest_modules"; cat "$0" "$top/tests/vm/init" "${clients[@]}"; } | sha256sum | cut -c1-16)
out=$top/.deps/vm/$key
if [ "$desktop" = 1 ]; then out=$top/.deps/vm/desktop-$key; fi
if [ -f "$out/initrd.img" ] && [ -f "$out/vmlinuz" ]; then
  echo "$out"
  exit 0
fi

log "building the $what (kernel $kver) in $out"
work=$(mktemp -d "$root/tmp/vm-image.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
inner=${work#"$root"}
cp "$0" "$work/vm-image.sh"
for c in "${clients[@]}"; do cp "$c" "$work/"; done
"$top/scripts/in-root.sh" "$root" env GUEST_MODULES="$guest_modules" GUEST_DESKTOP="$desktop" bash "$inner/vm-image.sh" --inside \
  "$inner/stage" "$kver" "${clients[@]/#*\//$inner/}" >&2
install -m 0755 "$top/tests/vm/init" "$work/stage/init"
"$top/scripts/in-root.sh" "$root" sh -c "cd $inner/stage && find . -print0 | sort -z |
  cpio --null -o -H newc --quiet | xz --check=crc32 -T0 -6 >$inner/initrd.img"
mkdir -p "$out.partial"
mv "$work/initrd.img" "$out.partial/initrd.img"
cp "$root/boot/vmlinuz-$kver" "$out.partial/vmlinuz"
echo "$versions" >"$out.partial/versions"
rm -rf "$out"
mv "$out.partial" "$out"
log "guest: $(du -h "$out/vmlinuz" | cut -f1) kernel, $(du -h "$out/initrd.img" | cut -f1) initramfs ($kver)"
echo "$out"

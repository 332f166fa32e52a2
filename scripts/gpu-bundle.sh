#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the bundle that scripts/gpu-check.sh needs to run the suite on a GPU
# host without a package registry: built here (Debian 12, with its package
# registry), copied to the GPU host, everything the runner uses is in it:
#   DEST/build/      venus-server, bench/exec_bench, bench/render_bench and
#                    the tests/vk_* clients of BUILD_DIR (built here on
#                    Debian 12; they run on newer glibc);
#   DEST/root-debs/  bookworm's Vulkan loader and glvnd libraries (libvulkan1
#                    libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2):
#                    NVIDIA's headless Vulkan driver needs the EGL dispatch
#                    library, and the GPU image has none; gpu-check.sh
#                    unpacks these few self-contained libraries over / (and
#                    runs ldconfig);
#   DEST/debs/       the Venus client (Mesa 25.0.7 from bookworm-backports),
#                    vulkaninfo, vkcube-wayland and the libraries they need,
#                    openh264 (check_stream.py decodes recordings with it
#                    where the host has no ffmpeg),
#                    and the libraries the server's display links (ldd:
#                    wayland-server, libyuv, libjpeg, GnuTLS; and the x264 it loads;
#                    libffi, libstdc++
#                    and libgcc_s are the GPU image's, as for vulkaninfo,
#                    which links them too): gpu-check.sh unpacks them into a
#                    private prefix, never over /;
#   DEST/vkmark/     trixie's vkmark with its headless plugin, its data, the
#                    libraries it links (trixie's glibc and libstdc++ among
#                    them) and trixie's ld-linux-x86-64.so.2, which runs it
#                    without installing anything (from the trixie root of
#                    scripts/trixie-root.sh; left out with VKMARK=0);
#   DEST/guest26/    the newest Mesa's Venus guest (sid's Mesa 26: Vulkan 1.4)
#                    with sid's vulkaninfo, Vulkan loader and stock vtest
#                    front end (virgl_test_server), every library
#                    they link and sid's ld-linux-x86-64.so.2, which runs them
#                    on the GPU image's older glibc (from the sid root of
#                    scripts/debian-root.sh; left out with GUEST26=0; about
#                    25 MB);
#   DEST/scripts/, DEST/bench/, DEST/tests/  the scripts gpu-check.sh runs
#                    (its parts in scripts/gpu-check/, bench/display.sh and
#                    its WebSocket viewer, bench/vm-paths.sh with the test
#                    library it runs on, and scripts/vm-run.sh and
#                    scripts/ext-diff.sh, among them), so that the bundle
#                    alone is enough;
#   DEST/vm-guest.tar, DEST/vm-host.tar.xz.N, DEST/vm-vhost.tar.xz  with
#                    VM=1: the test VM for gpu-check.sh's vm, vm-live and
#                    vm-paths parts, and sid's QEMU 11.1 for the vhost-user
#                    device path (scripts/vm-bundle.sh; each file at most
#                    56 MiB).
# The binaries and scripts are refreshed on every run; .debs already in
# DEST/debs and DEST/root-debs are kept.
#
# With CHROMIUM=1, also DEST/../gpu-chromium/1, 2, ...: Debian's chromium,
# chromium-common and every library package the browser links (ldd, less
# libc6, libgcc-s1 and libstdc++6, which the GPU image has newer), as one
# tar of .debs cut into parts of at most CHROMIUM_PART_MIB (58) MiB, each
# in its own directory, for hosts that take files of a bounded size at a
# time (gpu-check.sh's live and vm-live parts join and unpack them).
#
# With LLAMA=1, also DEST/../gpu-llama/llama.tar.xz: sid's llama.cpp with
# ggml's Vulkan backend for gpu-check.sh's llama part (see below; about 15 MB).
#
# Usage: scripts/gpu-bundle.sh BUILD_DIR [DEST]   (DEST default: .deps/gpu-bundle)
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [DEST]}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${2:-$top/.deps/gpu-bundle}

# Packages: name[/suite]. libdrm must match the backported Mesa.
debs=(mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-common/bookworm-backports
      vulkan-tools libwayland-client0 libx11-6 libx11-xcb1 libxau6 libxdmcp6 libbsd0 libmd0
      libxcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1
      libopenh264-7)
root_debs=(libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
programs=(venus-server bench/exec_bench bench/ipc_floor bench/render_bench bench/startup_bench tests/vk_compute tests/vk_sync tests/vk_oom
          tests/vk_render tests/vk_modifier tests/vk_stale_mapping tests/vk_robust tests/vk_hold tests/vk_stuck tests/rs_vmm tests/display/wl_frames
          tests/vk14 tests/vk_raytrace tests/vk_mesh tests/vk_coopmat tests/vk_allocs tests/vk_hostile tests/vk_device_local tests/vk_device_image)

for f in "${programs[@]}"; do
  [ -x "$build/$f" ] || { echo "gpu-bundle: missing $build/$f (run make)" >&2; exit 1; }
done
# The display's libraries. x264 is loaded at run time (found through
# gpu-check.sh's LD_LIBRARY_PATH): the runtime package of the x264.h the
# server was built with.
# (the help read whole first: grep -q leaving early is a SIGPIPE under pipefail)
server_help=$("$build/venus-server" --help)
grep -q -- '--display' <<<"$server_help" \
  || { echo "gpu-bundle: $build/venus-server has no display (see meson -Ddisplay)" >&2; exit 1; }
x264=libx264-$(sed -nE 's/^#define X264_BUILD ([0-9]+).*/\1/p' /usr/include/x264.h)
[ "$x264" != libx264- ] || { echo "gpu-bundle: no X264_BUILD in /usr/include/x264.h (libx264-dev)" >&2; exit 1; }
debs+=(libwayland-server0 "$x264" libyuv0 libjpeg62-turbo)
# The viewers' TLS: GnuTLS and what it links.
debs+=(libgnutls30 libp11-kit0 libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10 libffi8)
rm -rf "$dest/build" "$dest/scripts" "$dest/bench" "$dest/tests"
mkdir -p "$dest/build/bench" "$dest/build/tests/display" "$dest/debs" "$dest/root-debs" \
  "$dest/scripts" "$dest/bench" "$dest/tests/display"
# Without debug info (the server is 15 MB with it): the bundle stays small.
for f in "${programs[@]}"; do cp "$build/$f" "$dest/build/$f"; strip --strip-debug "$dest/build/$f"; done
cp "$top/scripts/gpu-check.sh" "$top/scripts/vm-run.sh" "$top/scripts/ext-diff.sh" "$dest/scripts/"
cp -r "$top/scripts/gpu-check" "$dest/scripts/"
cp "$top/bench/run.sh" "$top/bench/display.sh" "$top/bench/tenants.sh" "$top/bench/llama.sh" "$top/bench/gguf_model.py" \
  "$top/bench/vm-paths.sh" "$dest/bench/"
# bench/vm-paths.sh runs on the test library.
cp "$top/tests/vkinfo.py" "$top/tests/lib.sh" "$top/tests/lib_vm.sh" "$top/tests/lib_vhost_user.sh" "$dest/tests/"
# gpu-check.sh's upgrade part runs a fake VMM.
mkdir -p "$dest/tests/vhost_user"
cp "$top/tests/vhost_user/fake_vmm.py" "$dest/tests/vhost_user/"
cp "$top/tests/display/ws_viewer.py" "$top/tests/display/cdp_view.py" "$top/tests/display/check_stream.py" \
  "$top/tests/display/openh264_frames.py" "$dest/tests/display/"

# download DIR SPEC...: apt-get download the packages DIR lacks, in one call
# (apt's start-up is the slow part).
download() {
  local dir=$1 spec name missing=()
  shift
  for spec in "$@"; do
    name=${spec%%/*}
    compgen -G "$dir/${name}_*.deb" >/dev/null || missing+=("$spec")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  # As root apt would warn that its _apt user cannot write to DIR.
  (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}") \
    || { echo "gpu-bundle: apt-get download ${missing[*]} failed" >&2; exit 1; }
}
download "$dest/debs" "${debs[@]}"
download "$dest/root-debs" "${root_debs[@]}"
# An older bundle had the loader among the private debs.
rm -f "$dest"/debs/libvulkan1_*.deb

if [ "${VKMARK:-1}" = 1 ]; then
  root=$("$top/scripts/trixie-root.sh")
  vk=$dest/vkmark
  rm -rf "$vk"
  mkdir -p "$vk/lib" "$vk/plugins"
  cp "$root/usr/bin/vkmark" "$vk/"
  cp "$root/usr/lib/x86_64-linux-gnu/vkmark/headless.so" "$vk/plugins/"
  cp -r "$root/usr/share/vkmark" "$vk/share"
  cp -L "$root/lib64/ld-linux-x86-64.so.2" "$vk/"
  # Every library the program and its plugin link, as the root resolves
  # them, except the Vulkan loader (the machine's or the bundle's).
  for lib in $( (chroot "$root" ldd /usr/bin/vkmark; chroot "$root" ldd /usr/lib/x86_64-linux-gnu/vkmark/headless.so) \
                | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
    case $(basename "$lib") in libvulkan.so*) continue ;; esac
    cp -L "$root$lib" "$vk/lib/"
  done
fi
if [ "${GUEST26:-1}" = 1 ]; then
  root=$("$top/scripts/debian-root.sh" sid)
  g=$dest/guest26
  rm -rf "$g"
  mkdir -p "$g/lib" "$g/bin"
  cp "$root/usr/bin/vulkaninfo" "$root/usr/bin/virgl_test_server" "$root/usr/libexec/virgl_render_server" "$g/bin/"
  cp -L "$root/lib64/ld-linux-x86-64.so.2" "$g/lib/"
  driver=/usr/lib/x86_64-linux-gnu/libvulkan_virtio.so
  cp -L "$root$driver" "$root/usr/lib/x86_64-linux-gnu/libvulkan.so.1" "$g/lib/"
  for lib in $( (chroot "$root" ldd /usr/bin/vulkaninfo; chroot "$root" ldd "$driver"
                 chroot "$root" ldd /usr/bin/virgl_test_server; chroot "$root" ldd /usr/libexec/virgl_render_server) \
                | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
    cp -L "$root$lib" "$g/lib/"
  done
fi
if [ "${LLAMA:-0}" = 1 ]; then
  # llama.cpp for gpu-check.sh's llama part, as one xz tar in a directory of
  # its own (about 15 MB):
  # DEST/../gpu-llama/llama.tar.xz holds llama/ with sid's llama-bench and
  # test-backend-ops, ggml's Vulkan backend and two CPU backends (next to
  # sid's ld-linux-x86-64.so.2, which runs them: ggml looks for its backends
  # beside the executable, and that is the loader), every library they link.
  root=$("$top/scripts/debian-root.sh" sid --include llama.cpp-tools,llama.cpp-tests,libggml0-backend-vulkan)
  ldest=$(dirname "$dest")/gpu-llama
  stage=$(mktemp -d)
  l=$stage/llama
  mkdir -p "$l/lib" "$l/bin"
  backends=/usr/lib/x86_64-linux-gnu/ggml/backends0
  cp "$root/usr/bin/llama-bench" "$root/usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops" "$l/bin/"
  cp -L "$root/lib64/ld-linux-x86-64.so.2" "$root$backends/libggml-vulkan.so" "$root$backends/libggml-cpu-x64.so" \
    "$root$backends/libggml-cpu-haswell.so" "$l/lib/"
  for lib in $( (for f in /usr/bin/llama-bench /usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops \
                   "$backends/libggml-vulkan.so" "$backends/libggml-cpu-x64.so"; do chroot "$root" ldd "$f"; done) \
                | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
    cp -L "$root$lib" "$l/lib/"
  done
  mkdir -p "$ldest"
  tar -C "$stage" -cf - llama | xz -T2 -6 >"$ldest/llama.tar.xz"
  rm -rf "$stage"
  echo "$ldest: $(du -sh "$ldest/llama.tar.xz" | cut -f1)"
fi
if [ "${VM:-0}" = 1 ]; then
  "$top/scripts/vm-bundle.sh" "$build" "$dest"
fi
echo "$dest: $(du -sh "$dest" | cut -f1)"

if [ "${CHROMIUM:-0}" = 1 ]; then
  chromium=/usr/lib/chromium/chromium
  [ -x "$chromium" ] || { echo "gpu-bundle: $chromium is missing (Debian package chromium)" >&2; exit 1; }
  cdest=$(dirname "$dest")/gpu-chromium
  cdebs=$cdest/debs
  mkdir -p "$cdebs"
  pkgs=$(for f in "$chromium" /usr/lib/chromium/*.so; do ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    while read -r l; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null; done |
    cut -d: -f1 | sort -u | grep -vxE 'libc6|libgcc-s1|libstdc\+\+6|chromium(-common)?')
  # shellcheck disable=SC2086
  download "$cdebs" chromium chromium-common $pkgs
  rm -rf "$cdest"/[0-9]*
  (cd "$cdebs" && tar -cf - ./*.deb) | split -d -b "$((${CHROMIUM_PART_MIB:-58} * 1024 * 1024))" - "$cdest/debs.tar."
  n=0
  for part in "$cdest"/debs.tar.*; do
    n=$((n + 1))
    mkdir -p "$cdest/$n"
    mv "$part" "$cdest/$n/"
  done
  echo "$cdest: $(du -sh "$cdebs" | cut -f1) of .debs ($(ls "$cdebs" | wc -l) packages) in $n parts: $(cd "$cdest" && du -sh [0-9]* | tr '\t\n' '  ')"
fi

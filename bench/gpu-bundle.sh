#!/usr/bin/env bash
# Makes the bundle that scripts/gpu-check.sh (execution checks and the
# native and venus-server columns of bench/run.sh) needs on a GPU machine
# that has no package registry:
#   DEST/build/  venus-server, bench/exec_bench and the tests/vk_* clients of
#                BUILD_DIR (built here on Debian 12; they run on newer glibc);
#   DEST/debs/   the Venus client (Mesa 25.0.7 from bookworm-backports), the
#                Vulkan loader, vulkaninfo and the libraries they need that
#                such a machine may lack; gpu-check.sh unpacks them into a
#                private prefix, never over /.
# The binaries are refreshed on every run; .debs already in DEST/debs are kept.
#
# Usage: bench/gpu-bundle.sh BUILD_DIR [DEST]   (DEST default: .deps/gpu-bundle)
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [DEST]}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${2:-$top/.deps/gpu-bundle}

# Packages: name[/suite]. libdrm must match the backported Mesa.
debs=(mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-common/bookworm-backports
      libvulkan1 vulkan-tools libwayland-client0 libx11-6 libx11-xcb1 libxau6 libxdmcp6 libbsd0 libmd0
      libxcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1)

for f in venus-server bench/exec_bench tests/vk_compute tests/vk_sync tests/vk_oom; do
  [ -x "$build/$f" ] || { echo "gpu-bundle: missing $build/$f (run make)" >&2; exit 1; }
done
rm -rf "$dest/build"
mkdir -p "$dest/build/bench" "$dest/build/tests" "$dest/debs"
cp "$build/venus-server" "$dest/build/"
cp "$build/bench/exec_bench" "$dest/build/bench/"
cp "$build/tests/vk_compute" "$build/tests/vk_sync" "$build/tests/vk_oom" "$dest/build/tests/"

for spec in "${debs[@]}"; do
  name=${spec%%/*}
  compgen -G "$dest/debs/${name}_*.deb" >/dev/null && continue
  # As root apt would warn that its _apt user cannot write to DEST.
  (cd "$dest/debs" && apt-get download -qq -o APT::Sandbox::User=root "$spec") \
    || { echo "gpu-bundle: apt-get download $spec failed" >&2; exit 1; }
done
echo "$dest: $(du -sh "$dest" | cut -f1)"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything venus-server needs from Debian and unpacks the Vulkan
# registry (vk.xml) and 1.4 headers from the newest libvulkan-dev Debian has
# (sid's) into .deps/: the protocol the generated decoder speaks.
# Idempotent: each step is skipped when its result is already present.
# Registry addresses are derived from the machine's own apt sources.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps="$top/.deps"
stamp="$deps/.setup-done-v5"
[ -f "$stamp" ] && [ "${1:-}" != "--force" ] && exit 0

log() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

src_file=/etc/apt/sources.list.d/debian.sources
uri=$("$top/scripts/debian-mirror.sh")

# 1. bookworm-backports: Mesa 25.0.7 (the Venus guest driver and lavapipe).
bp=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$bp" ]; then
  log "adding bookworm-backports (same mirror as the system sources)"
  if [ -f "$src_file" ]; then
    awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src_file" \
      | sed 's/^Suites:.*/Suites: bookworm-backports/' | as_root tee "$bp" >/dev/null
  else
    echo "deb $uri bookworm-backports main" | as_root tee /etc/apt/sources.list.d/backports.list >/dev/null
  fi
  as_root apt-get update -qq
fi

need_pkgs=()
for p in meson ninja-build pkg-config python3 clang libclang-rt-14-dev llvm \
         vulkan-tools libvulkan1 libvulkan-dev glslang-tools xz-utils procps \
         xvfb x11-apps mesa-utils debhelper lintian \
         libwayland-dev libwayland-bin wayland-protocols libx264-dev libyuv-dev libxkbcommon-dev libgnutls28-dev openssl ffmpeg weston chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null; }
fi
mesa_ver=$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$mesa_ver" in
  25.*) ;;
  *) log "installing mesa-vulkan-drivers from bookworm-backports"
     as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null ;;
esac

# 2. vk.xml and Vulkan 1.4 headers from sid's libvulkan-dev (data only; the
# newest registry Debian has, so that the decoder speaks what the newest
# Mesa guests do). .deps/vulkan/SUITE says where the unpacked one came from.
vk_suite=sid
if [ ! -f "$deps/vulkan/usr/share/vulkan/registry/vk.xml" ] ||
   [ "$(cat "$deps/vulkan/SUITE" 2>/dev/null)" != "$vk_suite" ]; then
  log "unpacking $vk_suite libvulkan-dev (vk.xml + headers) into .deps/vulkan"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial"
  echo "deb $uri $vk_suite main" > "$tmp/$vk_suite.list"
  o=(-o Dir::Etc::SourceList="$tmp/$vk_suite.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$tmp/lists" -o Dir::Cache::archives="$tmp")
  as_root apt-get "${o[@]}" -qq update
  (cd "$tmp" && apt-get "${o[@]}" -qq download libvulkan-dev)
  rm -rf "$deps/vulkan"
  mkdir -p "$deps/vulkan"
  dpkg -x "$tmp"/libvulkan-dev_*.deb "$deps/vulkan"
  echo "$vk_suite" >"$deps/vulkan/SUITE"
  rm -rf "$tmp"
fi

mkdir -p "$deps"
touch "$stamp"
log "done"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The device-extension diff of the newest Mesa's Venus guest: what the host
# driver offers natively, what the guest is offered through venus-server,
# and what it is offered through the peer (virglrenderer's
# virgl_test_server --venus with its virgl_render_server), each read from
# vulkaninfo's "Device Extensions" of the first device.
#
#   scripts/ext-diff.sh [--root ROOT | --guest26 DIR] [--server BIN] [--host-icd JSON] [--out DIR]
#
# --root ROOT (default: the sid root, scripts/debian-root.sh sid): every
#   side runs in ROOT on ROOT's own driver (in the sid root, lavapipe 26:
#   Mesa 26's host driver under Mesa 26's guest), venus-server copied in.
# --guest26 DIR (gpu-check's checks part on a GPU host: BUNDLE/guest26 of
#   scripts/gpu-bundle.sh): the guest's vulkaninfo and the peer from DIR
#   under DIR's ld-linux, the host driver --host-icd (required), the
#   server run here.
# --server BIN  venus-server (default build/venus-server).
# --out DIR     where the lists (host.txt, ours.txt, peer.txt) and the logs
#               go (default: a temporary directory, removed).
#
# Prints the counts, then "peer offers, we do not:", "we offer, the peer
# does not:" and "host has, the guest is not offered through us:", one
# extension a line. Exits 1 if the peer offers an extension we do not (or
# a side that must run produced no list), 0 otherwise; a peer that cannot
# start is noted and skipped.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
root="" g26="" server=$top/build/venus-server host_icd="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --guest26) g26=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    --host-icd) host_icd=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--root ROOT | --guest26 DIR] [--server BIN] [--host-icd JSON] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ -x "$server" ] || { echo "ext-diff: no server at $server" >&2; exit 2; }
if [ -z "$g26" ] && [ -z "$root" ]; then
  root=$("$top/scripts/debian-root.sh" sid) || { echo "ext-diff: no sid root" >&2; exit 2; }
fi
if [ -n "$g26" ] && [ -z "$host_icd" ]; then echo "ext-diff: --guest26 needs --host-icd" >&2; exit 2; fi

keep=1
[ -n "$out" ] || { out=$(mktemp -d); keep=0; }
mkdir -p "$out"
pids=()
work=""
cleanup() {
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -z "$work" ] || rm -rf --one-file-system "$work"
  [ $keep = 1 ] || rm -rf "$out"
}
trap cleanup EXIT

# Where each side runs. In a root, host paths under it are seen without
# the root's prefix; sockets live in $work.
if [ -n "$root" ]; then
  work=$(mktemp -d "$root/tmp/vs-extdiff.XXXXXX")
  inner=${work#"$root"}
  "$top/scripts/into-root.sh" "$root" "$work" "$server" || exit 2
  icd=/usr/share/vulkan/icd.d/lvp_icd.json
  virtio=/usr/share/vulkan/icd.d/virtio_icd.json
  at() { echo "$inner/${1#"$work/"}"; }
  run() { "$top/scripts/in-root.sh" "$root" env LD_LIBRARY_PATH="$inner/lib" "$@"; }
  vulkaninfo=(vulkaninfo)
  host_vulkaninfo=("$top/scripts/in-root.sh" "$root" vulkaninfo)
  our_server=("$inner/venus-server")
  peer=(virgl_test_server)
  render_server=/usr/libexec/virgl_render_server
else
  work=$(mktemp -d)
  icd=$host_icd
  printf '{"file_format_version": "1.0.1", "ICD": {"library_path": "%s", "api_version": "1.4.0"}}\n' \
    "$g26/lib/libvulkan_virtio.so" >"$work/virtio_icd.json"
  virtio=$work/virtio_icd.json
  at() { echo "$1"; }
  run() { env -u LD_LIBRARY_PATH "$@"; }
  vulkaninfo=("$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$g26/bin/vulkaninfo")
  host_vulkaninfo=(vulkaninfo)
  # The server links the display's libraries from the caller's prefix
  # (gpu-check.sh's LD_LIBRARY_PATH); the guest's programs must not.
  our_server=(env LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}" "$server")
  peer=("$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$g26/bin/virgl_test_server")
  # The peer execs its render server: sid's, under sid's ld-linux too.
  render_server=$work/virgl_render_server
  printf '#!/bin/sh\nexec "%s" --library-path "%s" "%s" "$@"\n' "$g26/lib/ld-linux-x86-64.so.2" "$g26/lib" \
    "$g26/bin/virgl_render_server" >"$render_server"
  chmod +x "$render_server"
  [ -x "$g26/bin/virgl_render_server" ] || rm -f "$render_server"
fi

# device_extensions: vulkaninfo's text on stdin -> the first device's
# extension names, sorted.
device_extensions() {
  awk '/^Device Extensions/ { n++; on = (n == 1); next }
       on && /^[ \t]*$/ && seen { on = 0 }
       on && /^\t[A-Za-z0-9_]+ *: extension revision/ { sub(/^\t/, ""); sub(/ *:.*/, ""); print; seen = 1 }' | sort -u
}
wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
guest_info() { # SOCKET LIST
  run VN_DEBUG=vtest VTEST_SOCKET_NAME="$(at "$1")" VK_DRIVER_FILES="$virtio" VK_ICD_FILENAMES="$virtio" \
    timeout -k 5 120 "${vulkaninfo[@]}" >"$2.vulkaninfo" 2>&1
  device_extensions <"$2.vulkaninfo" >"$2"
}

status=0
# The host's own vulkaninfo in a bundle (the machine's libraries).
VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd" timeout -k 5 120 "${host_vulkaninfo[@]}" >"$out/host.txt.vulkaninfo" 2>&1
device_extensions <"$out/host.txt.vulkaninfo" >"$out/host.txt"

run VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd" "${our_server[@]}" --socket "$(at "$work/ours.sock")" \
  >"$out/ours-server.log" 2>&1 &
pids+=($!)
if wait_socket "$work/ours.sock"; then guest_info "$work/ours.sock" "$out/ours.txt"; else : >"$out/ours.txt"; fi

peer_ran=0
if run test -x "$render_server" 2>/dev/null; then
  run RENDER_SERVER_EXEC_PATH="$render_server" VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd" "${peer[@]}" \
    --venus --no-virgl --multi-clients --socket-path "$(at "$work/peer.sock")" >"$out/peer-server.log" 2>&1 &
  pids+=($!)
  if wait_socket "$work/peer.sock"; then guest_info "$work/peer.sock" "$out/peer.txt"; peer_ran=1; fi
fi
[ $peer_ran = 1 ] || : >"$out/peer.txt"

echo "device extensions: host $(wc -l <"$out/host.txt"), guest through venus-server $(wc -l <"$out/ours.txt"), guest through the peer $([ $peer_ran = 1 ] && wc -l <"$out/peer.txt" || echo "not run: no virgl_render_server or it did not start")"
for side in host ours; do
  if [ ! -s "$out/$side.txt" ]; then
    echo "no device extensions from $side: $(tail -n 3 "$out/$side.txt.vulkaninfo" 2>/dev/null | tr '\n' ' ')"
    status=1
  fi
done
if [ $peer_ran = 1 ] && [ ! -s "$out/peer.txt" ]; then
  echo "no device extensions through the peer: $(tail -n 3 "$out/peer.txt.vulkaninfo" 2>/dev/null | tr '\n' ' ')"
fi
missing=$(comm -23 "$out/peer.txt" "$out/ours.txt")
echo "peer offers, we do not:${missing:+$'\n'}$missing"
[ -z "$missing" ] || status=1
extra=$(comm -13 "$out/peer.txt" "$out/ours.txt")
[ $peer_ran = 1 ] && echo "we offer, the peer does not:${extra:+$'\n'}$extra"
echo "host has, the guest is not offered through us:"
comm -23 "$out/host.txt" "$out/ours.txt" | tr '\n' ' ' | fold -s -w 100
echo
exit $status

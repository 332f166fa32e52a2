#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What object lifetimes (recorded command buffers hold what they
# name; a server fence after each submission that runs command buffers)
# cost, on lavapipe: exec_bench's round trips (submit: an empty submit and
# its fence; record-submit: a command buffer re-recorded with one small
# fill, submitted, its fence waited for) and vkmark's vertex, cube and
# phong scenes,
# through two servers in alternating rounds. A benchmark: it prints
# figures (medians over the rounds) and fails only when it cannot measure.
#
# Usage: bench/lifetimes.sh SERVER_BEFORE SERVER_AFTER [ROUNDS]
#   (e.g. a venus-server built from the commit before the lifetimes, and
#   build/venus-server). vkmark runs in the trixie root (TRIXIE_ROOT, else
#   .deps/trixie-root; skipped without it); exec_bench from build/bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
before=$(realpath "${1:?usage: $0 SERVER_BEFORE SERVER_AFTER [ROUNDS]}")
after=$(realpath "${2:?usage: $0 SERVER_BEFORE SERVER_AFTER [ROUNDS]}")
rounds=${3:-3}
exec_bench=$top/build/bench/exec_bench
root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
virtio_icd=/usr/share/vulkan/icd.d/virtio_icd.json
[ -x "$exec_bench" ] || { echo "lifetimes: no $exec_bench (run make)" >&2; exit 1; }
have_vkmark=0
[ -x "$root/usr/bin/vkmark" ] && have_vkmark=1
if [ "$have_vkmark" = 1 ]; then
  root=$(cd "$root" && pwd)
  tmp=$(mktemp -d "$root/tmp/vs-lifetimes.XXXXXX")
else
  tmp=$(mktemp -d)
fi
server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

start_server() { # SERVER SOCKET LOG
  VK_ICD_FILENAMES=$host_icd "$1" --socket "$2" >"$3.out" 2>"$3" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q 'listening on' "$3.out" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "lifetimes: $1 did not start" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "n/a"}'; }

for r in $(seq "$rounds"); do
  for side in before after; do
    server=$before; [ "$side" = after ] && server=$after
    sock=$tmp/$side.sock
    start_server "$server" "$sock" "$tmp/$side-$r.log"
    VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_ICD_FILENAMES=$virtio_icd timeout 300 "$exec_bench" submit record-submit \
      >>"$tmp/$side-submit.out" 2>>"$tmp/$side-submit.err" || echo "lifetimes: $side exec_bench submit failed" >&2
    if [ "$have_vkmark" = 1 ]; then
      "$top/scripts/in-root.sh" "$root" env VN_DEBUG=vtest VTEST_SOCKET_NAME="${sock#"$root"}" \
        VK_ICD_FILENAMES=$virtio_icd timeout -k 5 120 vkmark --winsys headless -s 320x240 \
        -b vertex:duration=3 -b cube:duration=3 -b shading:shading=phong:duration=3 \
        >>"$tmp/$side-vkmark.out" 2>&1 || echo "lifetimes: $side vkmark failed" >&2
    fi
    stop_server
  done
done

printf '%-28s %12s %12s\n' figure before after
for fig in $(awk '$1 !~ /^#/ {print $1}' "$tmp/after-submit.out" | sort -u); do
  b=$(awk -v f="$fig" '$1 == f {print $2}' "$tmp/before-submit.out" | median)
  a=$(awk -v f="$fig" '$1 == f {print $2}' "$tmp/after-submit.out" | median)
  printf '%-28s %12s %12s\n' "exec_bench $fig" "$b" "$a"
done
if [ "$have_vkmark" = 1 ]; then
  for scene in vertex cube shading; do
    b=$(sed -nE "s/^\[$scene\].*FPS: ([0-9]+).*/\1/p" "$tmp/before-vkmark.out" | median)
    a=$(sed -nE "s/^\[$scene\].*FPS: ([0-9]+).*/\1/p" "$tmp/after-vkmark.out" | median)
    printf '%-28s %12s %12s\n' "vkmark $scene fps" "$b" "$a"
  done
else
  echo "vkmark: skipped (no trixie root with vkmark at $root)"
fi

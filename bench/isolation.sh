#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Start-up latency and memory per client of the two isolation modes on
# lavapipe (the default is chosen from these figures).
#
#   bench/isolation.sh [BUILD_DIR] [CLIENTS]   (default build, 8)
#
# For each of --isolate thread and --isolate process: the wall time of
# `vulkaninfo --summary` through the server (median of 5: connect, instance,
# device, every query, exit) and of vk_hold up to "holding objects" (median
# of 5: a device and a few objects); then CLIENTS vk_hold clients at once,
# and what they cost: the server's RSS growth in thread mode, the server's
# growth plus every worker's PSS (shared pages split between them) in
# process mode, per client.
set -euo pipefail
BUILD=${1:-build}
N=${2:-8}
TOP=$(cd "$(dirname "$0")/.." && pwd)
LVP_ICD=${LVP_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
VIRTIO_ICD=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
HOLD=$TOP/$BUILD/tests/vk_hold
dir=$(mktemp -d "${TMPDIR:-/tmp}/venus-isolation.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "$2" 2>/dev/null || echo 0; }
client() { VN_DEBUG=vtest VTEST_SOCKET_NAME=$dir/s VK_ICD_FILENAMES=$VIRTIO_ICD "$@"; }
median_ms() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ms() { date +%s%3N; }

for mode in thread process; do
  rm -f "$dir/s"
  VK_ICD_FILENAMES=$LVP_ICD "$TOP/$BUILD/venus-server" --socket "$dir/s" --isolate "$mode" --log-level warn \
    >"$dir/out" 2>"$dir/log" &
  server=$!; pids+=("$server")
  until grep -q listening "$dir/out" 2>/dev/null; do sleep 0.05; done
  client vulkaninfo --summary >/dev/null 2>&1 # warm the page cache
  info=$(for i in 1 2 3 4 5; do t0=$(now_ms); client vulkaninfo --summary >/dev/null 2>&1; echo $(($(now_ms) - t0)); done | median_ms)
  hold=$(for i in 1 2 3 4 5; do
    t0=$(now_ms); client "$HOLD" >"$dir/h" 2>&1 & h=$!
    until grep -q "holding objects" "$dir/h" 2>/dev/null; do sleep 0.005; done
    echo $(($(now_ms) - t0)); kill "$h"; wait "$h" 2>/dev/null || true
  done | median_ms)
  sleep 0.5
  base=$(kib VmRSS "/proc/$server/status")
  holders=()
  for i in $(seq "$N"); do client "$HOLD" >"$dir/h$i" 2>&1 & holders+=("$!"); done
  for i in $(seq "$N"); do until grep -q "holding objects" "$dir/h$i" 2>/dev/null; do sleep 0.05; done; done
  sleep 0.5
  grown=$(( $(kib VmRSS "/proc/$server/status") - base ))
  workers=0
  # Workers are the children of the server's forker, its child.
  for w in $(pgrep -P "$server" || true) $(for c in $(pgrep -P "$server" || true); do pgrep -P "$c" || true; done); do
    workers=$((workers + $(kib Pss "/proc/$w/smaps_rollup")))
  done
  per=$(( (grown + workers) / N ))
  printf '%-8s vulkaninfo --summary %5d ms  vk_hold ready %5d ms  memory per client %6d KiB (server RSS +%d KiB, workers PSS %d KiB, %d clients)\n' \
    "$mode" "$info" "$hold" "$per" "$grown" "$workers" "$N"
  for h in "${holders[@]}"; do kill "$h" 2>/dev/null || true; done
  wait "${holders[@]}" 2>/dev/null || true
  kill "$server"; wait "$server" 2>/dev/null || true
done

#!/usr/bin/env bash
# Start-up cost and idle cost of venus-server (benchmark, not a test):
#   - full vulkaninfo wall time, native lavapipe vs through venus-server
#     (median of RUNS, default 5);
#   - server RSS with no client, and with one idle client holding a device;
#   - server thread wakeups per second and CPU use with that idle client.
# Usage: bench/startup.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
runs=${RUNS:-5}
lvp=/usr/share/vulkan/icd.d/lvp_icd.json
virtio=/usr/share/vulkan/icd.d/virtio_icd.json
tmp=$(mktemp -d)
sock=$tmp/venus.sock
trap 'kill "$server" "$holder" 2>/dev/null || true; rm -rf "$tmp"' EXIT
holder=

VK_ICD_FILENAMES=$lvp "$build/venus-server" --socket "$sock" --log-level warn >"$tmp/out" 2>"$tmp/err" &
server=$!
until grep -q "listening on" "$tmp/out" 2>/dev/null; do sleep 0.05; done

rss() { awk '/VmRSS/{print $2}' /proc/"$server"/status; }
echo "server RSS, fresh (no client yet): $(rss) KiB"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
time_ms() {
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
native=$(for _ in $(seq "$runs"); do time_ms env VK_ICD_FILENAMES=$lvp vulkaninfo; done | median)
venus=$(for _ in $(seq "$runs"); do
  time_ms env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES=$virtio timeout 60 vulkaninfo
done | median)
echo "vulkaninfo (full) median of $runs: native ${native} ms, venus-server ${venus} ms, ratio $(awk -v a="$venus" -v b="$native" 'BEGIN{printf "%.2f", a/b}')x"

echo "server RSS, no client (host driver loaded by earlier clients): $(rss) KiB"

VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES=$virtio timeout 120 "$build/tests/vk_hold" >"$tmp/hold" 2>&1 &
holder=$!
until grep -q "holding objects" "$tmp/hold" 2>/dev/null; do sleep 0.05; done
sleep 2
switches() { cat /proc/"$server"/task/*/status | awk '/ctxt_switches/{s+=$2} END{print s}'; }
ticks() { awk '{print $14 + $15}' /proc/"$server"/stat; }
s0=$(switches); c0=$(ticks); sleep 20; s1=$(switches); c1=$(ticks)
hz=$(getconf CLK_TCK)
echo "one idle client holding a device: $(awk -v d=$((s1 - s0)) 'BEGIN{printf "%.2f", d/20}') wakeups/s, $(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN{printf "%.2f", 100*t/hz/20}') % of a core, server RSS $(rss) KiB"

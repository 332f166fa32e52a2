#!/usr/bin/env bash
# Runs the execution checks and the execution benchmark on a machine whose
# host Vulkan driver is a real GPU (used on the NVIDIA test machines, which
# have no package registry):
#
#   scripts/gpu-check.sh BUNDLE
#
# BUNDLE (made by bench/gpu-bundle.sh) holds build/ (venus-server, tests/vk_*,
# bench/exec_bench, built on Debian) and debs/ (the bookworm-backports Venus
# guest driver, vulkaninfo and the libraries they and the loader need). They
# are unpacked into a private prefix, never over /. Set HOST_ICD to the host
# driver's ICD json (default: the first nvidia*_icd.json found).
set -uo pipefail

bundle=$(cd "${1:?usage: $0 BUNDLE}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d /tmp/venus-gpu.XXXXXX)
for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib/libvulkan_virtio.so\"#" \
  "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio_icd.json"
HOST_ICD=${HOST_ICD:-$(ls /usr/share/vulkan/icd.d/nvidia*_icd.json /etc/vulkan/icd.d/nvidia*_icd.json \
  /usr/local/nvidia/share/vulkan/icd.d/nvidia*_icd.json 2>/dev/null | head -n1)}
[ -n "$HOST_ICD" ] || { echo "no host ICD found; set HOST_ICD" >&2; exit 1; }
# The loader comes from the bundle when the machine has none, and so does
# vulkaninfo (bench/run.sh's start-up figure).
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$prefix/usr/bin:$PATH
build=$bundle/build
failures=0

echo "== host: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown), $(nproc) CPUs, ICD $HOST_ICD"

# run_server ARGS...: (re)start the server on a private socket.
sock=$prefix/venus.sock
server_pid=""
server_n=0
run_server() {
  server_n=$((server_n + 1))
  server_log=$prefix/server-$server_n.log
  [ -n "$server_pid" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null; }
  rm -f "$sock"
  VK_ICD_FILENAMES=$HOST_ICD "$build/venus-server" --socket "$sock" "$@" 2>"$server_log" &
  server_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
  echo "server did not start" >&2; cat "$server_log" >&2; return 1
}
client() {
  timeout -k 5 120 env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES="$prefix/virtio_icd.json" "$@"
}

for mode in "--memory auto" "--memory host-pointer" "--memory opaque-fd" "--memory dmabuf" \
            "--memory host-pointer --page-size 16384"; do
  # shellcheck disable=SC2086
  run_server $mode || { failures=$((failures + 1)); continue; }
  out=$(client "$build/tests/vk_compute" --mib 64 2>&1); rc=$?
  verdict=PASS
  if [ $rc -ne 0 ]; then
    verdict=FAIL
    reason=$(grep -o 'memory strategy .* is not available.*' "$server_log" | tail -n1)
    [ -n "$reason" ] && verdict="UNAVAILABLE ($reason)" || failures=$((failures + 1))
  fi
  echo "== vk_compute --mib 64, server $mode: $verdict"
  echo "$out" | grep -E '^(info|error):' | sed 's/^/   /'
  grep 'device .* created' "$server_log" | tail -n1 | sed 's/^/   server: /'
done

run_server --memory auto
for prog in vk_sync vk_oom; do
  if [ $prog = vk_oom ]; then out=$(VN_PERF=no_async_mem_alloc client "$build/tests/$prog" 2>&1); rc=$?
  else out=$(client "$build/tests/$prog" 2>&1); rc=$?; fi
  echo "== $prog: $([ $rc -eq 0 ] && echo PASS || echo FAIL) ($(echo "$out" | grep -c '^ok:') ok, $(echo "$out" | grep -c '^error:') errors)"
  echo "$out" | grep -E '^(info|error):' | sed 's/^/   /'
  [ $rc -eq 0 ] || failures=$((failures + 1))
done
kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""

# The native and venus-server columns of `make bench` (no virglrenderer
# peer and no gnuplot here: bench/chart.sh draws the chart from the fetched
# bench/out/latest on a Debian machine).
echo "== bench/run.sh"
PEER=0 CHART=0 HOST_ICD=$HOST_ICD VIRTIO_ICD=$prefix/virtio_icd.json CLIENT_LD_LIBRARY_PATH=$lib \
  "$top/bench/run.sh" "$build" || failures=$((failures + 1))
echo "== failures: $failures"
exit $((failures > 0))

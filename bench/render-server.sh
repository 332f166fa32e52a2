#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The render-server column (make bench-render): submit round trip and
# allocate+map+free 1 MiB (bench/exec_bench) through
#   native        lavapipe directly
#   vtest         Mesa Venus -> venus-server (vtest)
#   rs-ours       Mesa Venus -> stock virgl_test_server (virglrenderer 1.1,
#                 trixie root) -> venus-server as its render server
#   rs-stock      the same with the stock virgl_render_server
# as medians and ratios to native. Needs the trixie root with virgl-server
# (scripts/trixie-root.sh --include virgl-server).
#   bench/render-server.sh [BUILD_DIR]      QUICK=1: exec_bench --quick
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
lvp=/usr/share/vulkan/icd.d/lvp_icd.json
virtio=/usr/share/vulkan/icd.d/virtio_icd.json
exe=$build/bench/exec_bench
quick=(); [ "${QUICK:-0}" = 1 ] && quick=(--quick)
[ -x "$root/usr/bin/virgl_test_server" ] || { echo "no trixie root with virgl-server at $root" >&2; exit 1; }
dir=$(mktemp -d "$root/tmp/vs-bench.XXXXXX"); inner=${dir#"$root"}
"$top/scripts/into-root.sh" "$root" "$dir" "$build/venus-server"
pids=()
trap 'for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done; sleep 0.5; rm -rf --one-file-system "$dir"' EXIT

declare -A res
run() { # run SIDE SOCK
  local side=$1 sock=${2:-} line
  for w in submit alloc-map-free; do
    if [ -z "$sock" ]; then
      out=$(VK_ICD_FILENAMES=$lvp timeout 120 "$exe" "${quick[@]}" "$w" 2>/dev/null || true)
    else
      out=$(VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_ICD_FILENAMES=$virtio timeout 120 "$exe" "${quick[@]}" "$w" 2>/dev/null || true)
    fi
    # samples "figure value": the median of this workload's figure
    line=$(echo "$out" | awk '!/^#/ && NF == 2 {print $1, $2}' | sort -k1,1 -k2,2g |
      awk '{v[$1] = v[$1] " " $2; n[$1]++} END {for (f in v) {split(substr(v[f], 2), a, " "); print f, a[int((n[f] + 1) / 2)]}}')
    while read -r f m; do if [ -n "$f" ]; then res[$side/$f]=$m; fi; done <<<"$line"
  done
}
front() { # front LABEL RENDER_SERVER
  rm -f "$dir/$1.sock"
  "$top/scripts/in-root.sh" "$root" env RENDER_SERVER_EXEC_PATH="$2" LD_LIBRARY_PATH="$inner/lib" VK_ICD_FILENAMES=$lvp \
    virgl_test_server --venus --no-virgl --multi-clients --socket-path "$inner/$1.sock" >"$dir/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$dir/$1.sock" ] && return 0; sleep 0.1; done
  return 1
}
run native
VK_ICD_FILENAMES=$lvp "$build/venus-server" --socket "$dir/vtest.sock" >/dev/null 2>"$dir/vtest.log" & pids+=($!)
for _ in $(seq 100); do [ -S "$dir/vtest.sock" ] && break; sleep 0.1; done
run vtest "$dir/vtest.sock"
front ours "$inner/venus-server" && run rs-ours "$dir/ours.sock"
front stock /usr/libexec/virgl_render_server && run rs-stock "$dir/stock.sock"

printf '| figure | native | vtest (ours) | stock front end + venus-server | stock front end + stock server |\n|---|---:|---:|---:|---:|\n'
for f in $(printf '%s\n' "${!res[@]}" | sed 's|.*/||' | sort -u); do
  n=${res[native/$f]:-}
  cell() { local v=${res[$1/$f]:-}; if [ -z "$v" ]; then echo "fails"; elif [ -n "$n" ]; then awk -v v="$v" -v n="$n" 'BEGIN{printf "%.3g (%.2fx)", v, v/n}'; else echo "$v"; fi; }
  printf '| %s | %s | %s | %s | %s |\n' "$f" "${n:-fails}" "$(cell vtest)" "$(cell rs-ours)" "$(cell rs-stock)"
done

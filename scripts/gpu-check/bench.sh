# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "bench" of scripts/gpu-check.sh (sourced after the set-up):
#   bench            bench/run.sh (native and venus-server columns; its table
#                    and the server's log into the logs)

# --- the execution benchmark ------------------------------------------------------------
echo "== bench/run.sh"
PEER=0 CHART=0 HOST_ICD=$HOST_ICD VIRTIO_ICD=$VIRTIO_ICD CLIENT_LD_LIBRARY_PATH=$lib \
  "$top/bench/run.sh" "$build" 2>"$logs/bench.err"; rc=$?
if [ -d "$top/bench/out/latest" ]; then
  cp "$top"/bench/out/latest/table.md "$logs/bench-table.md" 2>/dev/null
  cp "$top"/bench/out/latest/table.csv "$logs/bench-table.csv" 2>/dev/null
  cp "$top"/bench/out/latest/logs/ours-server.log "$logs/bench-server.log" 2>/dev/null
  grep -l . "$top"/bench/out/latest/logs/ours-*.err 2>/dev/null | head -n 5 | xargs -r cp -t "$logs/" 2>/dev/null
fi
result bench "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" "$(grep -c 'fails' "$logs/bench.err") failing cells"
grep 'fails' "$logs/bench.err" | sed 's/^/   /'

# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "latency" of scripts/gpu-check.sh (sourced after the set-up):
#   latency          a submission's round trip (bench/exec_bench --quick:
#                    a fill recorded, submitted and waited for (what
#                    llama's staging reads do), empty submit +
#                    vkWaitForFences, submit + spin on
#                    vkGetFenceStatus, vkGetFenceStatus alone) natively and
#                    through a --submit-stats server with Mesa 25's and Mesa
#                    26's guests, process and thread workers, as a table;
#                    under it the floor of a synchronous vtest call
#                    (bench/ipc_floor: the same round trip against a
#                    process that only answers it, spinning or blocking)

# --- a submission's round trip: what a chain of small submissions pays (llama's tokens) ----
lat_row() { # LABEL RUNNER...: the medians of exec_bench --quick record-submit submit submit-spin fence-status
  local out=$logs/latency-$1.txt
  "${@:2}" "$build/bench/exec_bench" --quick record-submit submit submit-spin fence-status >"$out" 2>&1
  echo "   | $1 | $(median record_submit_us <"$out") | $(median submit_roundtrip_us <"$out") | $(median submit_spin_us <"$out") | $(median fence_status_us <"$out") |"
}
{
  echo "   | client | record, submit, wait (us) | empty submit + vkWaitForFences (us) | empty submit + spin on vkGetFenceStatus (us) | vkGetFenceStatus (us) |"
  echo "   | --- | ---: | ---: | ---: | ---: |"
  lat_row native native
  for mode in process thread; do
    run_server --log-level info --submit-stats --isolate $mode
    lat_row "mesa25-$mode" client
    [ $have_g26 = 1 ] && lat_row "mesa26-$mode" guest26
    stop_server
    grep -o 'submit stats: .*' "$server_log" | tail -n1 | sed "s/^/   $mode server: /"
  done
  "$build/bench/ipc_floor" --quick >"$logs/latency-ipc-floor.txt" 2>&1
  echo
  echo "   IPC floor of a synchronous vtest call (bench/ipc_floor): $(median ipc_floor_spin_us <"$logs/latency-ipc-floor.txt") us against a spinning responder, $(median ipc_floor_block_us <"$logs/latency-ipc-floor.txt") us against a blocking one"
} | tee "$logs/latency.md"
lat_bad=$(grep -c '| - |' "$logs/latency.md")
result latency "$([ "$lat_bad" = 0 ] && echo PASS || echo FAIL)" \
  "$(grep -E '^   (\| (native|mesa2[56]-process) |IPC floor)' "$logs/latency.md" | tr -s ' ' | tr '\n' ';')"

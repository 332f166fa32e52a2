# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "restore" of scripts/gpu-check.sh (sourced after the set-up):
#   restore          a context rebuilt from its journal in a fresh renderer
#                    (the test switch VENUS_SERVER_TEST_RESTORE=2,
#                    docs/architecture.md "Snapshot and restore"): vk_compute
#                    at 8 MiB and RESTORE_MIB (1024) a round, 6 rounds each,
#                    render_bench at 320x240 (its last frame's hash against
#                    a run without), vk_sync, and vk_device_local at 8 MiB
#                    and RESTORE_MIB (a buffer in memory without host
#                    access, copied through the GPU at each restore) and
#                    vk_device_image (optimal images there, of levels,
#                    layers, depth and stencil, in the layouts the client
#                    left) across restores; per client
#                    its rebuilds (median time, the wait for a quiet point
#                    apart) and its refusals, with their reasons; then
#                    vk_compute and render_bench moved to the next GPU of
#                    the same model at each restore (2:move; refused with
#                    one line where the host has one); then vk_compute,
#                    vk_device_local at RESTORE_MIB, vk_device_image and
#                    render_bench with each restore's state carried as a
#                    snapshot across a socket (2:snapshot): its size,
#                    fds and time, and the same picture; then the same
#                    four handed to a fresh worker process at each restore
#                    (2:worker): the hand-overs, the pause each client saw
#                    (median and most, from the quiet point in the worker
#                    before to its rings running in the next), and the
#                    same picture; then vk_compute and render_bench
#                    handed to a fresh worker on the next GPU of the same
#                    model at each hand-over (2:worker:move; where the host
#                    has one GPU, each stays with one line)

rs_mib=${RESTORE_MIB:-1024}
rs_hash() { sed -nE 's/.* hash: ([0-9a-fx]+).*/\1/p' "$1" | head -n1; }
rs_copied_re='([1-9][0-9]* allocations and [0-9]+|[0-9]+ allocations and [1-9][0-9]*) images copied through the GPU'
rs_median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
# rs_client NAME: "R rebuilt (median X ms, T of them tearing down; C
# copying through the GPU, median Y ms out and back), F refused" for the
# context of the last client named NAME in the server.
rs_client() {
  local ctx rebuilt refused ms down copied copy_ms
  ctx=$(sed -nE "s/.*ctx ([0-9]+): context created for \"$1\".*/\\1/p" "$rs_log" | tail -n1)
  rebuilt=$(grep -c "ctx $ctx: restore: rebuilt" "$rs_log")
  copied=$(grep -cE "ctx $ctx: restore: rebuilt .* $rs_copied_re" "$rs_log")
  copy_ms=$(grep -E "ctx $ctx: restore: rebuilt .* $rs_copied_re" "$rs_log" |
    sed -nE 's/.* bytes, ([0-9.]+) ms out and back.*/\1/p' | rs_median)
  refused=$(grep -c "ctx $ctx: restore refused" "$rs_log")
  ms=$(sed -nE "s/.*ctx $ctx: restore: rebuilt .* in ([0-9.]+) ms \\(.*/\\1/p" "$rs_log" | rs_median)
  down=$(sed -nE "s/.*ctx $ctx: restore: rebuilt .* ms \\(([0-9.]+) of them tearing down.*/\\1/p" "$rs_log" | rs_median)
  echo "$rebuilt rebuilt (median $ms ms, $down of them tearing down; $copied copying through the GPU, median $copy_ms ms out and back), $refused refused"
}
rs_ok=1
run_server --memory auto || rs_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 >"$logs/restore-rb-plain.txt" 2>&1 || rs_ok=0
stop_server || rs_ok=0
VENUS_SERVER_TEST_RESTORE=2 run_server --memory auto --log-level info || rs_ok=0
rs_log=$server_log
LIMIT=300 client "$build/tests/vk_compute" --mib 8 --rounds 6 >"$logs/restore-compute-8.txt" 2>&1 || rs_ok=0
rs_small=$(rs_client vk_compute)
LIMIT=300 client "$build/tests/vk_compute" --mib "$rs_mib" --rounds 6 >"$logs/restore-compute.txt" 2>&1 || rs_ok=0
rs_big=$(rs_client vk_compute)
LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/restore-rb.txt" 2>&1 || rs_ok=0
rs_rb=$(rs_client render_bench)
LIMIT=120 client "$build/tests/vk_sync" >"$logs/restore-sync.txt" 2>&1 || rs_ok=0
rs_sync=$(rs_client vk_sync)
LIMIT=300 client "$build/tests/vk_device_local" --mib 8 --rounds 6 >"$logs/restore-local-8.txt" 2>&1 || rs_ok=0
rs_local_small=$(rs_client vk_device_local)
LIMIT=300 client "$build/tests/vk_device_local" --mib "$rs_mib" --rounds 6 >"$logs/restore-local.txt" 2>&1 || rs_ok=0
rs_local_big=$(rs_client vk_device_local)
LIMIT=300 client "$build/tests/vk_device_image" --rounds 8 >"$logs/restore-image.txt" 2>&1 || rs_ok=0
rs_image=$(rs_client vk_device_image)
stop_server || rs_ok=0
# Moved: each restore onto the host's next GPU of the same model.
VENUS_SERVER_TEST_RESTORE=2:move run_server --memory auto --log-level info || rs_ok=0
rs_move_log=$server_log
LIMIT=300 client "$build/tests/vk_compute" --mib 8 --rounds 6 >"$logs/restore-move-compute.txt" 2>&1 || rs_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/restore-move-rb.txt" 2>&1 || rs_ok=0
stop_server || rs_ok=0
# Through a snapshot: bytes and fds across a socket, mapped again.
VENUS_SERVER_TEST_RESTORE=2:snapshot run_server --memory auto --log-level info || rs_ok=0
rs_snap_log=$server_log
rs_main_log=$rs_log
rs_log=$rs_snap_log
LIMIT=300 client "$build/tests/vk_compute" --mib 8 --rounds 6 >"$logs/restore-snap-compute.txt" 2>&1 || rs_ok=0
rs_snap_compute=$(rs_client vk_compute)
LIMIT=300 client "$build/tests/vk_device_local" --mib "$rs_mib" --rounds 6 >"$logs/restore-snap-local.txt" 2>&1 || rs_ok=0
rs_snap_local=$(rs_client vk_device_local)
LIMIT=300 client "$build/tests/vk_device_image" --rounds 8 >"$logs/restore-snap-image.txt" 2>&1 || rs_ok=0
rs_snap_image=$(rs_client vk_device_image)
LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/restore-snap-rb.txt" 2>&1 || rs_ok=0
stop_server || rs_ok=0
# Into a fresh worker: the whole state handed over, the old worker ends.
VENUS_SERVER_TEST_RESTORE=2:worker run_server --memory auto --log-level info || rs_ok=0
rs_fresh_log=$server_log
LIMIT=300 client "$build/tests/vk_compute" --mib 8 --rounds 6 >"$logs/restore-fresh-compute.txt" 2>&1 || rs_ok=0
LIMIT=300 client "$build/tests/vk_device_local" --mib "$rs_mib" --rounds 6 >"$logs/restore-fresh-local.txt" 2>&1 || rs_ok=0
LIMIT=300 client "$build/tests/vk_device_image" --rounds 8 >"$logs/restore-fresh-image.txt" 2>&1 || rs_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/restore-fresh-rb.txt" 2>&1 || rs_ok=0
stop_server || rs_ok=0
# Into a fresh worker on the next GPU of the same model.
VENUS_SERVER_TEST_RESTORE=2:worker:move run_server --memory auto --log-level info || rs_ok=0
rs_fmove_log=$server_log
LIMIT=300 client "$build/tests/vk_compute" --mib 8 --rounds 6 >"$logs/restore-fmove-compute.txt" 2>&1 || rs_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/restore-fmove-rb.txt" 2>&1 || rs_ok=0
stop_server || rs_ok=0
rs_fmoves=$(grep -c 'hand-over: the client moves from GPU' "$rs_fmove_log")
rs_fmove_stayed=$(grep -c 'hand-over: no other GPU' "$rs_fmove_log")
rs_fmove_sent=$(grep -c "hand-over: the client's state went to a fresh worker" "$rs_fmove_log")
rs_fmove_made=$(grep -c 'restore: made from a snapshot' "$rs_fmove_log")
rs_fmove_same=no
[ "$(rs_hash "$logs/restore-fmove-rb.txt")" = "$(rs_hash "$logs/restore-rb-plain.txt")" ] && rs_fmove_same=yes
rs_fresh_sent=$(grep -c "hand-over: the client's state went to a fresh worker" "$rs_fresh_log")
rs_fresh_made=$(grep -c 'restore: made from a snapshot' "$rs_fresh_log")
rs_fresh_pauses=$(sed -nE 's/.* ([0-9.]+) ms after its quiet point in the worker before.*/\1/p' "$rs_fresh_log")
rs_fresh_pause="median $(echo "$rs_fresh_pauses" | rs_median) ms, at most $(echo "$rs_fresh_pauses" | sort -g | tail -n1) ms"
rs_fresh_local=$(sed -nE 's/.*restore: made from a snapshot .* ([1-9][0-9]*) host copies.*/\1/p' "$rs_fresh_log" | wc -l)
rs_fresh_fallback=$(grep -c 'rebuilt here from the state as taken' "$rs_fresh_log")
rs_fresh_same=no
[ "$(rs_hash "$logs/restore-fresh-rb.txt")" = "$(rs_hash "$logs/restore-rb-plain.txt")" ] && rs_fresh_same=yes
rs_log=$rs_main_log
rs_snaps=$(grep -c 'its state crossed as a snapshot' "$rs_snap_log")
rs_snap_fallback=$(grep -c 'rebuilt from the state as taken' "$rs_snap_log")
rs_snap_biggest=$(sed -nE 's/.*its state crossed as a snapshot of ([0-9]+) bytes and ([0-9]+) fds.*/\2 fds, \1 bytes/p' "$rs_snap_log" |
  sort -n | tail -n1)
rs_snap_same=no
[ "$(rs_hash "$logs/restore-snap-rb.txt")" = "$(rs_hash "$logs/restore-rb-plain.txt")" ] && rs_snap_same=yes
rs_moves=$(grep -c 'restore: rebuilt on GPU' "$rs_move_log")
rs_move_same=no
[ "$(rs_hash "$logs/restore-move-rb.txt")" = "$(rs_hash "$logs/restore-rb-plain.txt")" ] && rs_move_same=yes
echo "   refusals, by reason:"
sed -nE 's/.*(restore|hand-over) refused: (.*); the context goes on as it was/\2/p' "$rs_log" "$rs_move_log" "$rs_snap_log" "$rs_fresh_log" |
  sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 6
rs_dropped=$(cat "$rs_log" "$rs_move_log" "$rs_snap_log" "$rs_fresh_log" "$rs_fmove_log" | grep -c 'dropping client')
rs_same=no
[ -n "$(rs_hash "$logs/restore-rb.txt")" ] && [ "$(rs_hash "$logs/restore-rb.txt")" = "$(rs_hash "$logs/restore-rb-plain.txt")" ] &&
  rs_same=yes
rs_line="vk_compute 8 MiB x6: $rs_small, $(tail -n1 "$logs/restore-compute-8.txt"); ${rs_mib} MiB x6: $rs_big, $(tail -n1 "$logs/restore-compute.txt"); render_bench: $rs_rb, same picture: $rs_same; vk_sync: $rs_sync, $(tail -n1 "$logs/restore-sync.txt"); vk_device_local 8 MiB x6: $rs_local_small, $(tail -n1 "$logs/restore-local-8.txt"); ${rs_mib} MiB x6: $rs_local_big, $(tail -n1 "$logs/restore-local.txt"); vk_device_image x8: $rs_image, $(tail -n1 "$logs/restore-image.txt"); moved between GPUs $rs_moves times: vk_compute $(tail -n1 "$logs/restore-move-compute.txt"), render_bench same picture: $rs_move_same; through snapshots ($rs_snaps, the biggest $rs_snap_biggest; $rs_snap_fallback fell back): vk_compute 8 MiB x6: $rs_snap_compute, $(tail -n1 "$logs/restore-snap-compute.txt"); vk_device_local ${rs_mib} MiB x6: $rs_snap_local, $(tail -n1 "$logs/restore-snap-local.txt"); vk_device_image x8: $rs_snap_image, $(tail -n1 "$logs/restore-snap-image.txt"); render_bench same picture: $rs_snap_same; into fresh workers ($rs_fresh_sent handed over, $rs_fresh_made made there, $rs_fresh_local with host copies of device-local memory, $rs_fresh_fallback rebuilt in place; pause $rs_fresh_pause): vk_compute 8 MiB x6: $(tail -n1 "$logs/restore-fresh-compute.txt"); vk_device_local ${rs_mib} MiB x6: $(tail -n1 "$logs/restore-fresh-local.txt"); vk_device_image x8: $(tail -n1 "$logs/restore-fresh-image.txt"); render_bench same picture: $rs_fresh_same; into fresh workers on the next GPU ($rs_fmove_sent handed over, $rs_fmove_made made there, $rs_fmoves moved, $rs_fmove_stayed stayed for want of another GPU): vk_compute 8 MiB x6: $(tail -n1 "$logs/restore-fmove-compute.txt"); render_bench same picture: $rs_fmove_same; $rs_dropped clients dropped"
if [ $rs_ok = 1 ] && [ "$rs_dropped" -eq 0 ] && [ $rs_same = yes ] && [ $rs_move_same = yes ] && [ $rs_snap_same = yes ] &&
  [ "$rs_snaps" -gt 0 ] && [ "$rs_snap_fallback" -eq 0 ] && [ $rs_fresh_same = yes ] && [ "$rs_fresh_sent" -gt 0 ] &&
  [ "$rs_fresh_made" -eq "$rs_fresh_sent" ] && [ "$rs_fresh_fallback" -eq 0 ] && [ "$rs_fresh_local" -gt 0 ] &&
  [ $rs_fmove_same = yes ] && [ "$rs_fmove_sent" -gt 0 ] && [ "$rs_fmove_made" -eq "$rs_fmove_sent" ] &&
  [ $((rs_fmoves + rs_fmove_stayed)) -eq "$rs_fmove_sent" ]; then
  result restore PASS "$rs_line"
else
  result restore FAIL "$rs_line; see restore-*.txt"
fi

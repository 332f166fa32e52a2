# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "journal" of scripts/gpu-check.sh (sourced after the set-up):
#   journal          what the journal of lasting commands (the test switch
#                    VENUS_SERVER_TEST_JOURNAL=1, docs/architecture.md
#                    "Snapshot and restore") costs through the server:
#                    render_bench at 320x240 and vkmark's default scenes at
#                    320x240 (score), JOURNAL_ROUNDS (3) interleaved rounds
#                    with and without it, medians and their ratio

jr_rounds=${JOURNAL_ROUNDS:-3}
jr_vk=$bundle/vkmark
jr_fps() { awk '$1 == "render" && $2 == "320x240:" {print $4}' "$1" | head -n1; }
jr_score() { sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$1" | head -n1; }
jr_median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
jr_ok=1
for r in $(seq "$jr_rounds"); do
  for mode in off on; do
    if [ $mode = on ]; then VENUS_SERVER_TEST_JOURNAL=1 run_server --memory auto || jr_ok=0
    else run_server --memory auto || jr_ok=0; fi
    [ $mode = on ] && jr_log=$server_log
    LIMIT=120 client "$build/bench/render_bench" --seconds 3 320x240 >"$logs/journal-rb-$mode-$r.txt" 2>&1 || jr_ok=0
    if [ -x "$jr_vk/vkmark" ]; then
      LIMIT=200 client "$jr_vk/ld-linux-x86-64.so.2" --library-path "$jr_vk/lib:$lib:/usr/lib/x86_64-linux-gnu" \
        "$jr_vk/vkmark" --winsys headless --winsys-dir "$jr_vk/plugins" --data-dir "$jr_vk/share" -s 320x240 \
        -b :duration=1 >"$logs/journal-vkmark-$mode-$r.txt" 2>&1 || jr_ok=0
    fi
    stop_server || jr_ok=0
  done
done
# What the journal kept, per context, in the last round's server.
grep -hE 'journal: ' "${jr_log:-/dev/null}" | sed -E 's/.*(journal: )/   \1/' | sort | uniq -c | head -n 8
jr_line=""
for mode in off on; do
  rb=$(for r in $(seq "$jr_rounds"); do jr_fps "$logs/journal-rb-$mode-$r.txt"; done | jr_median)
  vs=$(for r in $(seq "$jr_rounds"); do jr_score "$logs/journal-vkmark-$mode-$r.txt"; done | jr_median)
  eval "jr_rb_$mode=\$rb jr_vs_$mode=\$vs"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", b / a; else print "-" }'; }
jr_line="render_bench 320x240 FPS $jr_rb_off without, $jr_rb_on with ($(ratio "$jr_rb_off" "$jr_rb_on")x); vkmark 320x240 score $jr_vs_off without, $jr_vs_on with ($(ratio "$jr_vs_off" "$jr_vs_on")x); medians of $jr_rounds"
if [ $jr_ok = 1 ] && [ "$jr_rb_on" != - ] && [ "$jr_rb_off" != - ]; then
  result journal PASS "$jr_line"
else
  result journal FAIL "$jr_line; see journal-*.txt"
fi

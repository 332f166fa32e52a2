#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each tenant's shader cache (worker/shader_cache.h): a uid's first client
# leaves its driver's cache (Mesa's multi-file cache: compiled pipelines)
# in the uid's directory under --shader-cache; the uid's second client is
# lent those files and finds its pipelines there: it writes nothing new
# and the cache does not grow. Each worker's own directory goes when it ends.
# A running worker whose directory holds more than twice the uid's bound
# (--limit shader-cache-mib=4; the test writes there, as a worker may) is
# ended with one line; under it, it runs on.
# With --shader-cache none there is no cache. (That a worker reaches
# neither another tenant's cache nor another worker's directory:
# test_compromised_worker.)
. "$(dirname "$0")/lib.sh"

COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }
cache=$TEST_TMP/cache
tenant=$cache/tenants/$(id -u)
bytes() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

# run N [nowait]: one client; waits for its worker's files to be back.
run() {
  local rc=0 before
  before=$(grep -c 'new files$' "$SERVER_LOG" || true)
  venus_run "$COMPUTE" >"$TEST_TMP/compute-$1.out" 2>&1 || rc=$?
  check "client $1 computed ($(describe_rc "$rc"))" test "$rc" -eq 0
  [ "${2:-}" = nowait ] && return 0
  local deadline=$((SECONDS + 30))
  while [ "$(grep -c 'new files$' "$SERVER_LOG" || true)" -le "$before" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
}

server_start --log-level debug --shader-cache "$cache" || finish
check "the server names the cache's place and bound" \
  grep -qF "shader cache: each tenant's (uid's) its own under $cache/tenants, at most 1024 MiB each" "$SERVER_LOG"
run 1
first=$(sed -n 's/.*shader cache: worker process [0-9]* gave uid [0-9]* \([0-9]*\) new files$/\1/p' "$SERVER_LOG" | head -n 1)
size1=$(bytes "$tenant")
check "the first client left ${first:-no} files, $size1 bytes, in its uid's cache" \
  test "${first:-0}" -gt 0 -a "$size1" -gt 0
run 2
lent=$(sed -n 's/.*shader cache: worker process [0-9]* serves uid [0-9]*: \([0-9]*\) of its files lent$/\1/p' "$SERVER_LOG" | tail -n 1)
second=$(sed -n 's/.*shader cache: worker process [0-9]* gave uid [0-9]* \([0-9]*\) new files$/\1/p' "$SERVER_LOG" | tail -n 1)
size2=$(bytes "$tenant")
check "the second client was lent the uid's files ($lent; the warm-up made the rest again)" test "${lent:-0}" -gt 0
check "the second client found its pipelines there: no new file ($second), the cache did not grow ($size1 -> $size2 bytes)" \
  test "${second:-1}" -eq 0 -a "$size2" -eq "$size1"
served=$(sed -n 's/.*shader cache: worker process \([0-9]*\) gave uid.*/\1/p' "$SERVER_LOG" | tr '\n' ' ')
left=$(for pid in $served; do if [ -e "$cache/workers/$SERVER_PID/$pid" ]; then echo "$pid"; fi; done)
check "the served workers' directories went with them (${served:-none served}; left: ${left:-none})" \
  test -n "$served" -a -z "$left"
server_pid=$SERVER_PID
server_stop
check "the server's workers' directories went with it" test ! -e "$cache/workers/$server_pid"

# While a worker runs its directory is watched: writes into it (what a
# worker its guest owns may do there) past twice the uid's bound end that
# worker alone, with one line; under it, nothing happens.
HOLD=$BUILD_DIR/tests/vk_hold
[ -x "$HOLD" ] || { fail "no $HOLD (built by make)"; finish; }
cache=$TEST_TMP/cache-bound
server_start --log-level info --shader-cache "$cache" --limit shader-cache-mib=4 || finish
if grep -q 'shader cache: no watch of workers' "$SERVER_LOG"; then
  skip "no directory watch on this OS layer: $(sed -n 's/.*shader cache: no watch of workers. directories here //p' "$SERVER_LOG")"
else
  venus_run "$HOLD" >"$TEST_TMP/hold.out" 2>"$TEST_TMP/hold.err" &
  holder=$!
  BG_PIDS+=("$holder")
  deadline=$((SECONDS + 60))
  until grep -q "holding objects" "$TEST_TMP/hold.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
  worker=$(sed -nE 's/.*client served by worker process ([0-9]+)$/\1/p' "$SERVER_LOG" | tail -n 1)
  dir=$cache/workers/$SERVER_PID/${worker:-none}
  check "a holding client's worker ($worker) has its directory" test -d "$dir"
  # 4 MiB of the 8 MiB it may hold while it runs (the warm-up's own
  # entries beside it: lavapipe's, about 1.3 MB), in a directory of its own.
  mkdir -p "$dir/sub"
  head -c $((4096 * 1024)) /dev/zero >"$dir/sub/under"
  sleep 1
  check "4 MiB more in its directory ($(du -sk "$dir" | cut -f1) KiB): the worker runs on, no line" \
    test "$(grep -c 'in its cache directory' "$SERVER_LOG")" -eq 0 -a -d "/proc/$worker"
  head -c $((4096 * 1024)) /dev/zero >"$dir/sub/over"
  deadline=$((SECONDS + 10))
  until grep -q 'in its cache directory' "$SERVER_LOG" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
  check "4 MiB more: the worker is ended with one line ($(grep -o 'shader cache: worker process .* ending it' "$SERVER_LOG" || echo none))" \
    test "$(grep -cE "^venus-server: warn: shader cache: worker process $worker of uid [0-9]+ holds (8|9|10) MiB in its cache directory, more than twice the uid's 4 MiB \(limit shader-cache-mib\): ending it$" "$SERVER_LOG")" -eq 1
  deadline=$((SECONDS + 10))
  until grep -q "client worker process $worker killed" "$SERVER_LOG" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
  check "its client alone is gone with it" grep -qE "client worker process $worker killed by signal 9; only this client is gone$" \
    "$SERVER_LOG"
  kill "$holder" 2>/dev/null || true
  run 4 nowait
fi
server_stop

server_start --log-level info --shader-cache none || finish
run 3 nowait
check "--shader-cache none: no cache" bash -c "! grep -q 'shader cache: each tenant' '$SERVER_LOG'"
server_stop
finish

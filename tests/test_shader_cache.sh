#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each tenant's shader cache (worker/shader_cache.h): a uid's first client
# leaves its driver's cache (Mesa's multi-file cache: compiled pipelines)
# in the uid's directory under --shader-cache; the uid's second client is
# lent those files and finds its pipelines there: it writes nothing new
# and the cache does not grow. Each worker's own directory goes when it ends.
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

server_start --log-level info --shader-cache none || finish
run 3 nowait
check "--shader-cache none: no cache" bash -c "! grep -q 'shader cache: each tenant' '$SERVER_LOG'"
server_stop
finish

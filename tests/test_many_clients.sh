#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 16 full vulkaninfo clients at once through one server: every one exits 0 and
# names the Venus device; the server logs 16 contexts destroyed, has 0 host
# objects live once they are all gone, and logs no error.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo

N=${MANY_CLIENTS:-16}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT_MANY:-180}

server_start --log-level info || finish

pids=()
for i in $(seq 1 "$N"); do
  venus_run vulkaninfo >"$TEST_TMP/client-$i.out" 2>"$TEST_TMP/client-$i.err" &
  pids+=("$!")
  BG_PIDS+=("$!")
done

n_ok=0 n_bad=0
for i in $(seq 1 "$N"); do
  rc=0; wait "${pids[$((i - 1))]}" || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "client $i: $(describe_rc $rc)"
    n_bad=$((n_bad + 1))
    [ "$n_bad" -gt 2 ] || show_tail "$TEST_TMP/client-$i.err" 5
  elif ! grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/client-$i.out"; then
    fail "client $i: exit 0 but no 'Virtio-GPU Venus (llvmpipe' device in its output"
  else
    n_ok=$((n_ok + 1))
  fi
done
if [ "$n_ok" -eq "$N" ]; then
  pass "all $N concurrent vulkaninfo clients exited 0 and named the Venus device"
fi

if ! server_alive; then
  fail "server died"
  show_tail "$SERVER_LOG"
  finish
fi

if wait_log_count 'context destroyed:' "$N" 10; then
  pass "$(log_count 'context destroyed:') contexts destroyed for $N clients"
else
  fail "only $(log_count 'context destroyed:') 'context destroyed:' lines for $N clients"
fi
max_live=$(destroyed_lines | awk 'BEGIN{m=0} {if ($3 > m) m = $3} END{print m}')
note "info: at most $max_live host objects were live in the server when a context was destroyed"
# One more client on its own: when its context goes, nothing may be left from
# the 16 (the last line's order is deterministic only without concurrency).
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "vulkaninfo --summary after the $N clients: $(describe_rc $rc)"
wait_log_count 'context destroyed:' $((N + 1)) 10 || true
last=$(destroyed_lines | tail -n1)
if [ "$(destroyed_lines | wc -l)" -gt "$N" ] && [ "$(echo "$last" | cut -d' ' -f3)" = 0 ]; then
  pass "0 host objects live in server once all clients were gone"
else
  fail "after all clients: '$(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)' (want '... 0 live in server')"
fi

check_no_errors

server_stop || true
finish

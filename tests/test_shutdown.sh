#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Clean shutdown: SIGTERM while a client sits connected and idle (a Python
# vtest client after the handshake, holding a blob) -> the server closes that
# client, logs its context destroyed, removes the socket and exits 0 within a
# few seconds. Then SIGINT with no client at all, same checks; a second server
# on a live socket refuses to start; a stale socket (SIGKILLed server) is
# replaced.
. "$(dirname "$0")/lib.sh"

require_tools python3

export SERVER_STOP_TIMEOUT=5

# 1. SIGTERM with an idle connected client.
server_start --log-level info || finish
idle_out=$TEST_TMP/idle.out
timeout -k 2 30 python3 "$TESTS_DIR/vtest_garbage.py" "$SERVER_SOCK" idle --timeout 20 \
  >"$idle_out" 2>&1 </dev/null &
idle_pid=$!
BG_PIDS+=("$idle_pid")

deadline=$((SECONDS + 10))
while ! grep -q '^ready' "$idle_out" && kill -0 "$idle_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
  sleep 0.05
done
if grep -q '^ready' "$idle_out"; then
  pass "idle client connected (handshake, CONTEXT_INIT, one blob)"
else
  fail "idle client did not get through the handshake: $(tr '\n' ' ' <"$idle_out")"
fi

destroyed_before=$(log_count 'context destroyed:')
t0=$(date +%s.%N)
server_stop TERM || true
t1=$(date +%s.%N)
note "info: shutdown took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"

rc=0
for _ in $(seq 1 50); do kill -0 "$idle_pid" 2>/dev/null || break; sleep 0.1; done
wait "$idle_pid" || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^closed by server' "$idle_out"; then
  pass "the idle client saw its connection closed by the server"
else
  fail "idle client: $(describe_rc $rc): $(tr '\n' ' ' <"$idle_out")"
fi

if [ "$(log_count 'context destroyed:')" -gt "$destroyed_before" ]; then
  pass "log shows the idle client's context destroyed: $(grep 'context destroyed:' "$SERVER_LOG" | tail -n1 | sed 's/^venus-server: //')"
else
  fail "no 'context destroyed:' line for the idle client at shutdown"
  show_tail "$SERVER_LOG"
fi
last=$(destroyed_lines | tail -n1)
if [ -n "$last" ] && [ "$(echo "$last" | cut -d' ' -f3)" = 0 ]; then
  pass "0 host objects live in server after the last context went"
elif [ -n "$last" ]; then
  fail "after shutdown: '$(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)' (want 0 live)"
fi

# 2. SIGINT, no clients.
server_start --log-level info || finish
server_stop INT || true

# 3. A second server on a live socket must refuse to start and must leave the
# first one's socket alone.
server_start --log-level info || finish
first_pid=$SERVER_PID first_sock=$SERVER_SOCK
rc=0
env VK_ICD_FILENAMES="$LVP_ICD" timeout -k 2 10 "$SERVER_BIN" --socket "$first_sock" \
  >"$TEST_TMP/second.out" 2>"$TEST_TMP/second.log" </dev/null || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
  pass "a second server on the same live socket refused to start (exit $rc)"
else
  fail "a second server on the same live socket: $(describe_rc $rc) (want a non-zero exit)"
fi
if [ -S "$first_sock" ] && timeout 10 python3 "$TESTS_DIR/vtest_garbage.py" "$first_sock" clean >/dev/null 2>&1; then
  pass "the first server's socket still exists and still answers a handshake"
else
  fail "the first server's socket is gone or dead after the second server tried"
fi

# 4. A socket file left by a SIGKILLed server is stale: a new server replaces it.
kill -KILL "$first_pid"; wait "$first_pid" 2>/dev/null || true
SERVER_PID=""
if [ -S "$first_sock" ]; then
  if server_start_at "$first_sock" --log-level info; then
    pass "a new server started on the stale socket left by a SIGKILLed one"
    server_stop || true
  fi
else
  skip "stale-socket check: the SIGKILLed server left no socket file behind"
fi

finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A context whose teardown is stuck counts against no one's slot, and is
# reported once. A client holding a device is killed
# while its worker process is stopped (SIGSTOP: a teardown that never
# ends, as in a host driver stuck in a destroy). With clients-per-peer=1
# its uid's next client is refused at first; past teardown-timeout-ms the
# server logs one line, ends the worker and serves the uid again.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo
HOLD=$BUILD_DIR/tests/vk_hold
[ -x "$HOLD" ] || { fail "no $HOLD (built by make)"; finish; }
STUCK_RE='still tearing its context down \(limit teardown-timeout-ms=2000\); ending the process, its slot is free'

server_start --log-level info --limit clients-per-peer=1 --limit teardown-timeout-ms=2000 || finish
hold_start || finish
ctx=$(sed -nE 's/^venus-server: info: ctx ([0-9]+): client served by worker process [0-9]+$/\1/p' "$SERVER_LOG" | tail -n1)
worker=$(sed -nE 's/^venus-server: info: ctx [0-9]+: client served by worker process ([0-9]+)$/\1/p' "$SERVER_LOG" | tail -n1)
if [ -z "$worker" ]; then
  skip "no 'client served by worker process' line (the server runs without workers: $SERVER_EXTRA_ARGS)"
  server_stop || true
  finish
fi

kill -STOP "$worker"
client_pid=$(sed -nE 's/^holding objects \(pid ([0-9]+)\)$/\1/p' "$TEST_TMP/hold.out")
kill -KILL "$client_pid"
wait "$HOLD_PID" 2>/dev/null || true

# Before the limit: the gone client's teardown still holds the uid's slot.
rc=0; venus_run 30 vulkaninfo --summary >"$TEST_TMP/early.out" 2>&1 || rc=$?
check "while the teardown is young, the uid's slot is held: a newcomer is refused ($(describe_rc $rc))" \
  test "$(log_count 'refusing client: uid [0-9]+ holds 1 connections \(limit clients-per-peer=1\)')" -ge 1

if wait_log_count "$STUCK_RE" 1 30; then
  pass "one line past the limit: $(grep -E "$STUCK_RE" "$SERVER_LOG" | head -n1 | sed 's/^venus-server: //')"
else
  fail "no '... still tearing its context down ...' line 30 s after the client was killed"
  show_tail "$SERVER_LOG" 8
fi
deadline=$((SECONDS + 30))
while kill -0 "$worker" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
check "the stuck worker process $worker was ended" bash -c "! kill -0 $worker 2>/dev/null"

rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
check "the uid's next client is served ($(describe_rc $rc))" grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/after.out"
check "the stuck teardown is reported once, and its worker's end adds no line" \
  test "$(grep -cE "^(worker process [0-9]+: )?venus-server: [a-z]+: ctx $ctx: .*(teardown|killed by signal)" "$SERVER_LOG")" -eq 1
check "the server is up" server_alive
server_stop || true
finish

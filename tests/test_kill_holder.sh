#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A client holding a device and a dozen objects under it is SIGKILLed: the
# server logs its context destroyed with those objects released (R > 0, and
# L == 0 live afterwards), and keeps serving: a new client succeeds. (Not
# all a dozen: what its rings still held when it died is never created,
# since a context whose client hung up stops running its rings.)
. "$(dirname "$0")/lib.sh"

HOLD=$BUILD_DIR/tests/vk_hold
[ -x "$HOLD" ] || { fail "no $HOLD (built by make)"; finish; }

server_start --log-level info || finish

hold_start || finish
# venus_run wraps vk_hold in timeout(1): SIGKILL the client process itself.
client_pid=$(sed -nE 's/^holding objects \(pid ([0-9]+)\)$/\1/p' "$TEST_TMP/hold.out")
kill -KILL "$client_pid"
wait "$HOLD_PID" 2>/dev/null || true

if wait_log_count 'context destroyed' 1 10; then
  read -r ctx released live < <(destroyed_lines | head -n1)
  check "killed client's context destroyed with its objects released (ctx $ctx: $released released)" \
    [ "${released:-0}" -gt 0 ]
  check "no host objects left live after the kill ($live)" [ "${live:-1}" -eq 0 ]
else
  fail "no 'context destroyed' line after the kill"
fi

check "server still running after the kill" server_alive
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
check "a new client succeeds after the kill ($(describe_rc $rc))" \
  grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/after.out"
check "server logged no error line" [ -z "$(log_errors)" ]
server_stop
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A client leaves its queue blocked behind a timeline wait nobody will
# signal, then exits (and another is SIGKILLed in the same state). The
# server must tear the device down without hanging: it signals the device's
# timeline semaphores, logs that, destroys the context with no objects left
# live, and keeps serving.
. "$(dirname "$0")/lib.sh"

STUCK=$BUILD_DIR/tests/vk_stuck
COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$STUCK" ] || { fail "no $STUCK (built by make)"; finish; }

server_start --log-level info || finish

rc=0; venus_run "$STUCK" --exit >"$TEST_TMP/exit.out" 2>"$TEST_TMP/exit.err" || rc=$?
check "client left its queue blocked and exited ($(describe_rc $rc))" \
  grep -q '^stuck: queue blocked' "$TEST_TMP/exit.out"
check "its context is destroyed within 15 s" wait_log_count 'context destroyed' 1 15
check "the server unblocked the queue by signalling timeline semaphores" \
  [ "$(log_count 'is blocked; signalling the device.s timeline semaphores')" -ge 1 ]

venus_run "$STUCK" >"$TEST_TMP/kill.out" 2>"$TEST_TMP/kill.err" &
stuck_pid=$!
BG_PIDS+=("$stuck_pid")
deadline=$((SECONDS + 60))
until grep -q '^stuck: queue blocked' "$TEST_TMP/kill.out" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$stuck_pid" 2>/dev/null; then
    fail "vk_stuck never reported a blocked queue"; show_tail "$TEST_TMP/kill.err" 5; finish
  fi
  sleep 0.05
done
client_pid=$(sed -nE 's/^stuck: queue blocked \(pid ([0-9]+)\)$/\1/p' "$TEST_TMP/kill.out")
kill -KILL "$client_pid"
wait "$stuck_pid" 2>/dev/null || true
check "the SIGKILLed client's context is destroyed within 15 s" wait_log_count 'context destroyed' 2 15
while read -r ctx released live; do
  check "ctx $ctx: no host objects left live ($live)" [ "$live" -eq 0 ]
done < <(destroyed_lines)

check "server still running" server_alive
rc=0; venus_run "$COMPUTE" --mib 4 >"$TEST_TMP/after.out" 2>"$TEST_TMP/after.err" || rc=$?
client_check "a compute client afterwards" "$TEST_TMP/after.out" "$rc"
check "no client was dropped for bad input" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host waits a client causes have a way out, in both
# isolation modes. tests/vk_stuck --wait MODE enters a wait that never ends
# and is SIGKILLed in it:
#   queue-wait-idle, device-wait-idle  behind a timeline wait nobody signals
#   fence-never-submitted              vkWaitForFences(UINT64_MAX), with
#                                      VN_PERF=no_fence_feedback so that the
#                                      wait reaches the server
# Each time its context must be destroyed, and the server's threads (or,
# with --isolate process, its processes) come back to what they were;
# 26 such clients in a row must not lock their uid out of its 24 slots
# (a client after them is served). binary-submit, a submission waiting on
# a binary semaphore nothing signals, is refused with one 'dropping
# client:' line naming the VUID, and a compute client is served after it.
. "$(dirname "$0")/lib.sh"

STUCK=$BUILD_DIR/tests/vk_stuck
COMPUTE=$BUILD_DIR/tests/vk_compute
for bin in "$STUCK" "$COMPUTE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done

# What a client can leave behind: the server's threads and its forker's,
# and with --isolate process one process per worker (a warm worker's own
# thread count is its host driver's business, and varies as it warms up).
server_threads() {
  local n c pid
  n=$(ls "/proc/$SERVER_PID/task" 2>/dev/null | wc -l)
  # Workers are the children of the server's forker, its child.
  for c in $(pgrep -P "$SERVER_PID" 2>/dev/null); do
    n=$((n + $(ls "/proc/$c/task" 2>/dev/null | wc -l)))
    for pid in $(pgrep -P "$c" 2>/dev/null); do
      n=$((n + 1))
    done
  done
  echo "$n"
}

# wait_threads N SECONDS: until the server is back to N threads.
wait_threads() {
  local deadline=$((SECONDS + $2))
  while [ "$(server_threads)" -gt "$1" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# kill_in_wait TAG MODE: starts vk_stuck --wait MODE, SIGKILLs it once it
# is in the wait; false if it never got there.
kill_in_wait() {
  local tag=$1 mode=$2 pid client_pid deadline
  VN_PERF=no_fence_feedback venus_run 120 "$STUCK" --wait "$mode" >"$TEST_TMP/$tag.out" 2>"$TEST_TMP/$tag.err" &
  pid=$!
  BG_PIDS+=("$pid")
  deadline=$((SECONDS + 60))
  until grep -q '^stuck: waiting' "$TEST_TMP/$tag.out" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$TEST_TMP/$tag.err" 5
      return 1
    fi
    sleep 0.05
  done
  sleep 0.5 # into the server's wait
  client_pid=$(sed -nE 's/^stuck: waiting in [a-z-]+ \(pid ([0-9]+)\)$/\1/p' "$TEST_TMP/$tag.out")
  kill -KILL "$client_pid"
  wait "$pid" 2>/dev/null || true
}

if [ "$(uname -s)" != Linux ]; then
  skip "thread counts are read from /proc"
  finish
fi

for iso in thread process; do
  server_start --log-level info --isolate "$iso" || break
  # A first client brings up what stays (the host driver's threads).
  rc=0; venus_run "$COMPUTE" --mib 4 >"$TEST_TMP/$iso-first.out" 2>"$TEST_TMP/$iso-first.err" || rc=$?
  client_check "$iso: a compute client first" "$TEST_TMP/$iso-first.out" "$rc" || true
  sleep 0.5
  baseline=$(server_threads)
  for mode in queue-wait-idle device-wait-idle fence-never-submitted; do
    destroyed=$(log_count 'context destroyed')
    if ! kill_in_wait "$iso-$mode" "$mode"; then
      fail "$iso: $mode: the client never reached its wait"
      continue
    fi
    check "$iso: $mode: killed in its wait, its context is destroyed within 30 s" \
      wait_log_count 'context destroyed' $((destroyed + 1)) 30
    if wait_threads "$baseline" 30; then
      pass "$iso: $mode: the server is back to $baseline threads and workers"
    else
      fail "$iso: $mode: the server has $(server_threads) threads and workers, $baseline before"
    fi
  done

  stuck_ok=0
  for i in $(seq 1 26); do
    kill_in_wait "$iso-row-$i" queue-wait-idle && stuck_ok=$((stuck_ok + 1))
  done
  check "$iso: 26 clients killed in vkQueueWaitIdle in a row each reached the wait ($stuck_ok)" [ "$stuck_ok" -eq 26 ]
  wait_threads "$baseline" 60 || true
  rc=0; venus_run "$COMPUTE" --mib 4 >"$TEST_TMP/$iso-after-row.out" 2>"$TEST_TMP/$iso-after-row.err" || rc=$?
  client_check "$iso: a compute client of the same uid after them is served" "$TEST_TMP/$iso-after-row.out" "$rc" || true
  check "$iso: no client was refused for its uid's slots" [ "$(log_count 'refusing client')" -eq 0 ]

  before=$(log_count 'dropping client:')
  rc=0; venus_run 60 "$STUCK" --wait binary-submit >"$TEST_TMP/$iso-binary.out" 2>"$TEST_TMP/$iso-binary.err" || rc=$?
  wait_log_count 'dropping client:' $((before + 1)) 10 || true
  got=$(( $(log_count 'dropping client:') - before ))
  line=$(grep -E 'dropping client:' "$SERVER_LOG" | tail -n1 || true)
  if [ "$got" -eq 1 ] && grep -q 'VUID-vkQueueSubmit-pWaitSemaphores-03238' <<<"$line"; then
    pass "$iso: binary-submit refused once (${line#venus-server: })"
  else
    fail "$iso: binary-submit: $got 'dropping client:' line(s), client $(describe_rc $rc): $line"
  fi
  rc=0; venus_run "$COMPUTE" --mib 4 >"$TEST_TMP/$iso-after.out" 2>"$TEST_TMP/$iso-after.err" || rc=$?
  client_check "$iso: a compute client afterwards" "$TEST_TMP/$iso-after.out" "$rc" || true
  check "$iso: server still running" server_alive
  server_stop || true
done
finish

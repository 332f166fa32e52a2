#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The worker pool's warm-up against hostile tenants (--isolate process):
# - a first device with a protected queue and no protectedMemory feature
#   (vk_hostile protected-queue) is refused with one line; its create info
#   never reaches the device snapshot the workers warm up from (before, each
#   warm-up got no queue and died of SIGSEGV, replaced at once: tens of
#   crashes a second for as long as the server ran), and later clients work;
# - connections closed before a whole first message cost no worker: the
#   worker goes back to the pool (no 'served by worker process' line);
# - one uid's clients take at most worker-starts-per-min workers (a burst of
#   a quarter of it): the others wait, one line each.
. "$(dirname "$0")/lib.sh"

require_tools python3 timeout
COMPUTE=$BUILD_DIR/tests/vk_compute
HOSTILE=$BUILD_DIR/tests/vk_hostile
for bin in "$COMPUTE" "$HOSTILE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done
CHURN="python3 $TESTS_DIR/vtest_churn.py"
DROP_RE='dropping client:'
DEATH_RE='killed by signal|before it had a tenant|warm-up: the last tenant'
SERVED_RE='client served by worker process'

# --- a protected queue without the feature ---------------------------------------
server_start --log-level info --isolate process || finish
# A prepared worker's tenant leaves its first device in the slot (one started
# cold for a tenant that found none ready does not): let the workers warm up.
sleep 3
rc=0; venus_run 20 "$HOSTILE" protected-queue >"$TEST_TMP/protected.out" 2>&1 || rc=$?
wait_log_count "$DROP_RE" 1 5 || true
line=$(grep -E "$DROP_RE" "$SERVER_LOG" | tail -n1 || true)
if [ "$(log_count "$DROP_RE")" -eq 1 ] && grep -q 'protectedMemory' <<<"$line"; then
  pass "protected queue without protectedMemory: dropped once (${line#venus-server: })"
elif [ "$(log_count "$DROP_RE")" -eq 0 ] && grep -q '^ok: .*refused' "$TEST_TMP/protected.out"; then
  pass "protected queue without protectedMemory: refused by the guest driver ($(grep -m1 '^ok:' "$TEST_TMP/protected.out"))"
else
  fail "protected queue without protectedMemory: $(log_count "$DROP_RE") 'dropping client:' line(s), client $(describe_rc $rc)"
  show_tail "$TEST_TMP/protected.out" 5
fi
# Workers warm up after it (three clients that send one message each take
# a worker each, and create no device that would take the snapshot slot
# over): none may die of what it left.
$CHURN "$SERVER_SOCK" message 3 1 >"$TEST_TMP/after-message.out" 2>&1 || true
sleep 4
check "no worker died warming up in 4 s after it ($(log_count "$DEATH_RE") lines)" test "$(log_count "$DEATH_RE")" -eq 0
for i in 1 2; do
  rc=0; venus_run "$COMPUTE" --mib 4 --rounds 2 >"$TEST_TMP/after-$i.out" 2>&1 || rc=$?
  client_check "compute client $i after it" "$TEST_TMP/after-$i.out" "$rc" || true
done
check "still no worker died warming up ($(log_count "$DEATH_RE") lines)" test "$(log_count "$DEATH_RE")" -eq 0
check "the server is up" server_alive
server_stop || true

# --- connections that send nothing cost no worker --------------------------------
server_start --log-level info --isolate process || finish
out=$($CHURN "$SERVER_SOCK" close 20)
LEFT_RE='client left before its first message'
wait_log_count "$LEFT_RE" 20 10 || true
check "20 connect+close: no worker served them ($(log_count "$SERVED_RE") 'served by' lines; $out)" \
  test "$(log_count "$SERVED_RE")" -eq 0
check "20 connect+close: each left its worker to the pool ($(log_count "$LEFT_RE") lines)" \
  test "$(log_count "$LEFT_RE")" -eq 20
rc=0; venus_run "$COMPUTE" --mib 4 --rounds 2 >"$TEST_TMP/churn-after.out" 2>&1 || rc=$?
client_check "a compute client after the churn" "$TEST_TMP/churn-after.out" "$rc" || true
server_stop || true

# --- one uid's worker starts are rationed ------------------------------------------
# 8 a minute: a burst of 2, then one every 7.5 s.
server_start --log-level info --isolate process --limit worker-starts-per-min=8 || finish
$CHURN "$SERVER_SOCK" message 6 4 >"$TEST_TMP/message.out" 2>&1 &
churn_pid=$!; BG_PIDS+=("$churn_pid")
WAIT_RE='has taken its worker processes for now \(limit worker-starts-per-min=8\)'
wait_log_count "$WAIT_RE" 4 5 || true
sleep 1
served=$(log_count "$SERVED_RE")
check "6 clients with one message each at 8 a minute: at most 3 served within seconds ($served)" test "$served" -le 3
check "the others wait, one line each ($(log_count "$WAIT_RE"))" test "$(log_count "$WAIT_RE")" -ge 3
wait "$churn_pid" 2>/dev/null || true
check "the server is up" server_alive
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile clients (tests/vtest_garbage.py): random bytes, oversized and
# truncated messages, bad SUBMIT_CMD2 batches, bad Venus commands. For each the
# server must log exactly one 'dropping client:' error line (none for the
# control scenario), close that client, and stay up; real vulkaninfo clients
# run through the same server all along and afterwards.
. "$(dirname "$0")/lib.sh"
covered_on_posix_by test_hostile_vulkan "a hostile client's bytes"

require_tools vulkaninfo python3

garbage() { python3 "$TESTS_DIR/vtest_garbage.py" "$@" </dev/null; }
DROP_RE='dropping client:'

server_start --log-level info || finish
# SigIgn is a hex mask; SIGPIPE (13) is bit 12.
if (( 0x$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$SERVER_PID/status") & 0x1000 )); then
  fail "the server ignores SIGPIPE process-wide: the hostile clients below would not show per-socket safety"
else
  pass "SIGPIPE is not ignored by the server: vanishing clients below exercise per-socket SIGPIPE safety"
fi

# Real clients in a loop for as long as the hostile ones run (until the first
# failure).
stop_flag=$TEST_TMP/stop-background
bg_results=$TEST_TMP/background-results
: >"$bg_results"
background_clients() {
  local i=0 rc
  while [ ! -e "$stop_flag" ]; do
    i=$((i + 1))
    rc=0
    venus_run vulkaninfo --summary >"$TEST_TMP/bg-$i.out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/bg-$i.out"; then
      echo "ok $i" >>"$bg_results"
    else
      echo "bad $i $(describe_rc $rc)" >>"$bg_results"
      return 0  # one failure says it; stop adding noise to the log
    fi
  done
}
background_clients &
BG_PIDS+=("$!")
bg_pid=$!

# Wait for the first background client to finish so the two really overlap.
deadline=$((SECONDS + CLIENT_TIMEOUT))
while [ ! -s "$bg_results" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done

while read -r name expect desc; do
  before=$(log_count "$DROP_RE")
  rc=0
  out=$(garbage "$SERVER_SOCK" "$name" --timeout 10 2>&1) || rc=$?
  want=$expect
  [ "$want" = any ] && want=0
  # Give the server time to log, then make sure no second line follows.
  wait_log_count "$DROP_RE" $((before + want)) 5 || true
  sleep 0.3
  got=$(( $(log_count "$DROP_RE") - before ))
  if ! server_alive; then
    fail "$name: the server died ($desc)"
    show_tail "$SERVER_LOG"
    break
  fi
  if [ "$rc" -ne 0 ]; then
    fail "$name: $out"
    continue
  fi
  if [ "$expect" = any ]; then
    if [ "$got" -le 1 ]; then
      pass "$name: server survived, $got 'dropping client:' line(s): $desc"
    else
      fail "$name: $got 'dropping client:' lines (want at most 1): $desc"
      grep -E "$DROP_RE" "$SERVER_LOG" | tail -n +$((before + 1)) | sed 's/^/         | /' || true
    fi
  elif [ "$got" -eq "$expect" ]; then
    line=$(grep -E "$DROP_RE" "$SERVER_LOG" | tail -n1 || true)
    if [ "$expect" -eq 1 ]; then
      pass "$name: dropped once (${line#venus-server: })"
    else
      pass "$name: not dropped ($desc)"
    fi
  else
    fail "$name: $got 'dropping client:' lines, want $expect: $desc"
    grep -E "$DROP_RE" "$SERVER_LOG" | tail -n +$((before + 1)) | sed 's/^/         | /' || true
  fi
done < <(garbage --list)

touch "$stop_flag"
rc=0; wait "$bg_pid" || rc=$?
n_ok=$(grep -c '^ok' "$bg_results" || true)
n_bad=$(grep -c '^bad' "$bg_results" || true)
if [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 0 ]; then
  pass "$n_ok vulkaninfo --summary clients ran alongside the hostile ones, all fine"
else
  fail "concurrent vulkaninfo --summary clients: $n_ok fine, $n_bad failed"
  grep '^bad' "$bg_results" | head -n 5 | sed 's/^/         | /' || true
fi

rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/after.out"; then
  pass "vulkaninfo --summary after all hostile clients: exit 0, Venus device listed"
else
  fail "vulkaninfo --summary after the hostile clients: $(describe_rc $rc)"
  show_tail "$TEST_TMP/after.out"
fi

# Only 'dropping client:' errors are expected: list any other error line.
others=$(log_errors | grep -vE "$DROP_RE" || true)
if [ -n "$others" ]; then
  note "info: other error lines logged (allowed):"
  printf '%s\n' "$others" | head -n 10 | sed 's/^/         | /'
fi

server_stop || true
finish

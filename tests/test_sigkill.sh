#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A client killed with SIGKILL while it holds host objects: the server must
# notice, destroy that context's host objects (logged: "context destroyed: R
# host objects released, L live in server" with R > 0), get back to 0 live
# objects, and keep serving: later clients still succeed.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo

# start_victim: full vulkaninfo in the background, without `timeout` or a
# shell function in between so that $! is vulkaninfo itself (env execs it).
# It is always killed below, and the EXIT trap kills it if the test dies first.
start_victim() {
  env -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES VN_DEBUG=vtest VTEST_SOCKET_NAME="$SERVER_SOCK" \
    VK_ICD_FILENAMES="$VIRTIO_ICD" vulkaninfo >"$TEST_TMP/victim-$1.out" 2>&1 </dev/null &
  VICTIM=$!
  BG_PIDS+=("$VICTIM")
}

server_start --log-level debug || finish

# 1. Deterministic: vulkaninfo creates its instance and device before it prints
# anything about them; with stdout on a full 4 KiB pipe it stalls in write()
# while holding them (tests/stall_client.py). Then SIGKILL it.
destroyed_before=$(log_count 'context destroyed:')
venus_env python3 "$TESTS_DIR/stall_client.py" "$TEST_TMP/stalled.err" "$CLIENT_TIMEOUT" \
  vulkaninfo >"$TEST_TMP/stall.out" 2>&1 </dev/null &
stall_pid=$!
BG_PIDS+=("$stall_pid")
deadline=$((SECONDS + CLIENT_TIMEOUT))
while ! grep -qE '^(stalled|not-stalled|timeout)' "$TEST_TMP/stall.out" && [ $SECONDS -lt $deadline ]; do
  sleep 0.05
done
victim=$(sed -nE 's/^stalled ([0-9]+)$/\1/p' "$TEST_TMP/stall.out")
if [ -z "$victim" ]; then
  fail "vulkaninfo did not stall on its output pipe: $(tr '\n' ' ' <"$TEST_TMP/stall.out")"
  show_tail "$TEST_TMP/stalled.err"
else
  objs=$(log_count "ctx [0-9]+: object [0-9]+ created")
  kill -KILL "$victim"
  wait "$stall_pid" 2>/dev/null || true
  if grep -q '^exit -9$' "$TEST_TMP/stall.out"; then
    pass "vulkaninfo SIGKILLed while stalled mid-output (the server had logged $objs object creations)"
  else
    fail "victim did not die of SIGKILL: $(tr '\n' ' ' <"$TEST_TMP/stall.out")"
  fi
  if wait_log_count 'context destroyed:' $((destroyed_before + 1)) 10; then
    line=$(destroyed_lines | sed -n "$((destroyed_before + 1))p")
    read -r ctx released live <<<"$line"
    if [ -z "$line" ]; then
      fail "'context destroyed:' line is not in the expected form: $(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)"
    else
      # At least the VkInstance and the VkDevice were still alive.
      if [ "$released" -ge 2 ]; then
        pass "ctx $ctx destroyed after the kill: $released host objects released"
      else
        fail "ctx $ctx destroyed after the kill released $released host objects (want >= 2: instance and device)"
      fi
      if [ "$live" -eq 0 ]; then
        pass "0 host objects live in server after ctx $ctx went"
      else
        fail "$live host objects still live in server after the killed client's context went"
      fi
    fi
  else
    fail "no 'context destroyed:' line within 10 s of the SIGKILL"
    show_tail "$SERVER_LOG"
  fi
fi

# 2. Kills at fixed short delays (some before, some during device creation):
# the server must just survive each.
for delay in 0.02 0.1 0.25 0.5; do
  start_victim "d$delay"
  sleep "$delay"
  kill -KILL "$VICTIM" 2>/dev/null || true
  wait "$VICTIM" 2>/dev/null || true
done
if server_alive; then
  pass "server survived clients killed 0.02/0.1/0.25/0.5 s into their run"
else
  fail "server died while clients were being killed"
  show_tail "$SERVER_LOG"
  finish
fi

# 3. A new client still works, and afterwards nothing is left.
n_before=$(log_count 'context destroyed:')
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/after.out"; then
  pass "vulkaninfo --summary after the kills: exit 0, Venus device listed"
else
  fail "vulkaninfo --summary after the kills: $(describe_rc $rc)"
  show_tail "$TEST_TMP/after.out"
fi
if wait_log_count 'context destroyed:' $((n_before + 1)) 10; then
  last=$(destroyed_lines | tail -n1)
  if [ "$(echo "$last" | cut -d' ' -f3)" = 0 ]; then
    pass "0 host objects live in server after all clients"
  else
    fail "after all clients: '$(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)' (want 0 live)"
  fi
else
  fail "no 'context destroyed:' line for the last client"
fi

server_stop || true
finish

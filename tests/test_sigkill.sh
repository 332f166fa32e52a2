#!/usr/bin/env bash
# A client killed with SIGKILL while it holds host objects: the server must
# notice, destroy that context's host objects (logged: "context destroyed: R
# host objects released, L live in server" with R > 0), get back to 0 live
# objects, and keep serving: later clients still succeed.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo

# Kill the victim once the debug log shows it created a VkDevice (debug lines
# "ctx N: object I created (type 3)", 3 = VK_OBJECT_TYPE_DEVICE).
KILL_AFTER_RE=${KILL_AFTER_RE:-'ctx [0-9]+: (.*vkCreateDevice|object [0-9]+ created \(type 3\))'}

server_start --log-level debug || finish

# start_victim: full vulkaninfo in the background, without `timeout` or a
# shell function in between so that $! is vulkaninfo itself (env execs it).
# It is always killed below, and the EXIT trap kills it if the test dies first.
start_victim() {
  env -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES VN_DEBUG=vtest VTEST_SOCKET_NAME="$SERVER_SOCK" \
    VK_ICD_FILENAMES="$VIRTIO_ICD" vulkaninfo >"$TEST_TMP/victim-$1.out" 2>&1 </dev/null &
  VICTIM=$!
  BG_PIDS+=("$VICTIM")
}

# kill_victim_after_create ATTEMPT: kill -9 as soon as KILL_AFTER_RE shows up
# in the log (fallback: 0.2 s after the first line of a new context).
# Returns the victim's exit status in VICTIM_RC.
kill_victim_after_create() {
  local before_create before_any deadline seen_any=""
  before_create=$(log_count "$KILL_AFTER_RE")
  before_any=$(log_count 'ctx [0-9]+:')
  start_victim "$1"
  deadline=$((SECONDS + 20))
  KILL_REASON="timeout"
  while [ $SECONDS -lt $deadline ] && kill -0 "$VICTIM" 2>/dev/null; do
    if [ "$(log_count "$KILL_AFTER_RE")" -gt "$before_create" ]; then
      KILL_REASON="after the log showed /$KILL_AFTER_RE/"
      break
    fi
    if [ -z "$seen_any" ] && [ "$(log_count 'ctx [0-9]+:')" -gt "$before_any" ]; then
      seen_any=$(date +%s%N)
    fi
    if [ -n "$seen_any" ] && [ $(( ($(date +%s%N) - seen_any) / 1000000 )) -ge 200 ] \
       && [ "$(log_count "$KILL_AFTER_RE")" -eq "$before_create" ] && [ "$1" -gt 1 ]; then
      KILL_REASON="0.2 s after its context's first log line (no /$KILL_AFTER_RE/ line seen)"
      break
    fi
    sleep 0.01
  done
  kill -KILL "$VICTIM" 2>/dev/null || true
  VICTIM_RC=0; wait "$VICTIM" 2>/dev/null || VICTIM_RC=$?
}

# 1. Deterministic kill while the client holds a device. If it managed to
# finish first (exit 0), try again; later attempts fall back to a timed kill.
destroyed_before=0
killed=""
for attempt in 1 2 3 4 5; do
  destroyed_before=$(log_count 'context destroyed:')
  kill_victim_after_create "$attempt"
  if [ "$VICTIM_RC" -eq 137 ]; then killed=$attempt; break; fi
  note "attempt $attempt: the client ended by itself ($(describe_rc $VICTIM_RC)) before the kill; retrying"
done

if [ -z "$killed" ]; then
  fail "could not SIGKILL a vulkaninfo client mid-run in 5 attempts"
  show_tail "$SERVER_LOG"
else
  pass "vulkaninfo killed with SIGKILL $KILL_REASON (attempt $killed)"
  if wait_log_count 'context destroyed:' $((destroyed_before + 1)) 10; then
    line=$(destroyed_lines | sed -n "$((destroyed_before + 1))p")
    read -r ctx released live <<<"$line"
    if [ -z "$line" ]; then
      fail "'context destroyed:' line is not in the expected form: $(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)"
    else
      if [ "$released" -gt 0 ]; then
        pass "ctx $ctx destroyed after the kill: $released host objects released"
      else
        fail "ctx $ctx destroyed after the kill released 0 host objects (it held an instance at least)"
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

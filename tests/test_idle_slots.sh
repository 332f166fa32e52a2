#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No slot is held forever: connections that sent Venus work and
# then idle hold their uid's slots only until a newcomer of that uid needs
# one. Then the uid's client idle longest past idle-timeout-ms is dropped
# (one 'dropping client: idle ...' line) and the newcomer is served. Before
# that, nobody is dropped: a newcomer over clients-per-peer is refused.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo python3
FLOOD="python3 $TESTS_DIR/vtest_flood.py"
DROP_RE="dropping client: idle for [0-9]+ s while uid [0-9]+'s slots are full \(limit clients-per-peer=24\)"
PEER_RE='refusing client: uid [0-9]+ holds 24 connections'

# wait_line FILE REGEX: until FILE has a line matching REGEX (120 s: a hang).
wait_line() {
  local deadline=$((SECONDS + 120))
  until grep -qE "$2" "$1" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
}

# --- nobody idle long enough: the 25th is refused, nobody dropped ---------------
server_start --limit clients-per-peer=24 --limit idle-timeout-ms=600000 || finish
$FLOOD "$SERVER_SOCK" idle 25 0 >"$TEST_TMP/busy.out" 2>&1 || true
check "25 connections of one uid, none idle for 600 s: $(head -1 "$TEST_TMP/busy.out")" \
  grep -q '^served 24 refused 1' "$TEST_TMP/busy.out"
check "one 'refusing client: uid ... holds 24' line" test "$(log_count "$PEER_RE")" -eq 1
check "no client dropped for being idle" test "$(log_count "dropping client: idle")" -eq 0
server_stop || true

# --- 24 idle connections: a 25th real client of the uid is served -------------------
server_start --limit clients-per-peer=24 --limit idle-timeout-ms=2000 || finish
$FLOOD "$SERVER_SOCK" idle 24 300 >"$TEST_TMP/idle.out" 2>&1 &
flood_pid=$!; BG_PIDS+=("$flood_pid")
wait_line "$TEST_TMP/idle.out" '^served'
check "24 connections that each sent one command hold the uid's slots ($(head -1 "$TEST_TMP/idle.out"))" \
  grep -q '^served 24 refused 0' "$TEST_TMP/idle.out"
# Past the idle timeout (2 s), with margin.
sleep 3
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/vi.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/vi.out"; then
  pass "vulkaninfo --summary as the uid's 25th client, while 24 idle ones are still connected, sees the Venus device"
else
  fail "vulkaninfo --summary as the uid's 25th client: $(describe_rc "$rc")"
  show_tail "$TEST_TMP/vi.out" 5; show_tail "$SERVER_LOG" 5
fi
n_drop=$(log_count "$DROP_RE")
check "an idle client was dropped for each of vulkaninfo's connections ($n_drop 'dropping client: idle' lines)" \
  test "$n_drop" -ge 1 -a "$n_drop" -le 2
grep -E "$DROP_RE" "$SERVER_LOG" | head -1 | sed 's/^/     /' || true
check "no refusal" test "$(log_count 'refusing client')" -eq 0
check "the server is up" server_alive
kill "$flood_pid" 2>/dev/null || true; wait "$flood_pid" 2>/dev/null || true
server_stop || true
finish

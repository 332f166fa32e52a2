#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Client slots are shared fairly: connections that only did the
# handshake free their slots once the work timeout passes without a
# SUBMIT_CMD2 (one 'dropping client:' line each), so a real client gets in
# while they are still connected; and one uid (SO_PEERCRED) holds at most
# clients-per-peer of the slots, so another user still gets one.
. "$(dirname "$0")/lib.sh"

require_tools python3
COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }
FLOOD="python3 $TESTS_DIR/vtest_flood.py"
IDLE_RE='no Venus work within 2000 ms of connecting'

# --- idle connections free their slots ------------------------------------------
server_start --limit clients=8 --limit work-timeout-ms=2000 --limit clients-per-peer=0 || finish
$FLOOD "$SERVER_SOCK" flood 8 12 >"$TEST_TMP/idle.out" 2>&1 &
flood_pid=$!; BG_PIDS+=("$flood_pid")
deadline=$((SECONDS + 120))
until grep -q '^served' "$TEST_TMP/idle.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
check "8 idle connections hold every slot ($(cat "$TEST_TMP/idle.out"))" grep -q '^served 8 refused 0' "$TEST_TMP/idle.out"
wait_log_count "$IDLE_RE" 8 120 || true
check "each idle connection was dropped once for sending no work within 2 s ($(log_count "$IDLE_RE") lines)" \
  test "$(log_count "$IDLE_RE")" -eq 8
# The idle clients are still connected (they hold 12 s): their slots are free.
rc=0; venus_run "$COMPUTE" --mib 4 --rounds 2 >"$TEST_TMP/compute.out" 2>&1 || rc=$?
client_check "a compute client while the 8 idle ones are still connected" "$TEST_TMP/compute.out" "$rc" || true
check "the server is up" server_alive
kill "$flood_pid" 2>/dev/null || true; wait "$flood_pid" 2>/dev/null || true
server_stop || true

# --- one uid cannot take every slot ---------------------------------------------
# In a directory another uid can reach, with the clients' scripts beside it.
peer_dir=$(mktemp -d "${TMPDIR:-/tmp}/venus-peer.XXXXXX")
chmod 755 "$peer_dir"
cp "$TESTS_DIR/vtest_flood.py" "$TESTS_DIR/vtest_garbage.py" "$peer_dir/"
server_start_at "$peer_dir/venus.sock" --limit clients=4 --limit clients-per-peer=2 || finish
PEER_RE='refusing client: uid [0-9]+ holds 2 connections'
$FLOOD "$SERVER_SOCK" flood 3 8 >"$TEST_TMP/peer.out" 2>&1 &
flood_pid=$!; BG_PIDS+=("$flood_pid")
deadline=$((SECONDS + 120))
until grep -q '^served' "$TEST_TMP/peer.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
check "3 connections of one uid against clients-per-peer=2: $(cat "$TEST_TMP/peer.out")" \
  grep -q '^served 2 refused 1' "$TEST_TMP/peer.out"
check "one 'refusing client: uid ... holds 2' line" test "$(log_count "$PEER_RE")" -eq 1
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
  chmod o+rw "$SERVER_SOCK"
  out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$peer_dir/vtest_flood.py" \
    "$SERVER_SOCK" flood 1 0 2>&1 || true)
  check "a client of another uid still gets a slot ($out)" grep -q '^served 1 refused 0' <<<"$out"
else
  skip "another uid's client (needs root, setpriv and /usr/bin/python3)"
fi
kill "$flood_pid" 2>/dev/null || true; wait "$flood_pid" 2>/dev/null || true
check "the server is up" server_alive
server_stop || true
rm -rf "$peer_dir"
finish

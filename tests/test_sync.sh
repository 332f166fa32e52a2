#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vk_sync natively (sanity), then through the server: fences (wait, poll,
# reset), timeline semaphores (queue waits on host signals, host waits with a
# timeout, signals passed on between queues), 10,000 small submits, a batch
# stuck on a never-signalled semaphore that must not block the device, events
# and timestamp queries. The server must drop no client and stay up. Then
# once against a --submit-stats server (the bench's per-frame timeline):
# its two lines per client must count the submissions and name the commands.
. "$(dirname "$0")/lib.sh"

require_tools timeout

SYNC=$BUILD_DIR/tests/vk_sync
[ -x "$SYNC" ] || { fail "no $SYNC (built by make)"; finish; }

rc=0; native_run "$SYNC" >"$TEST_TMP/native.out" 2>"$TEST_TMP/native.err" || rc=$?
client_check "native lavapipe: vk_sync" "$TEST_TMP/native.out" "$rc" || true

server_start || finish
rc=0; venus_run "$SYNC" >"$TEST_TMP/venus.out" 2>"$TEST_TMP/venus.err" || rc=$?
client_check "vk_sync through the server" "$TEST_TMP/venus.out" "$rc" || true
grep -h '^info: .*submits retired' "$TEST_TMP/native.out" "$TEST_TMP/venus.out" 2>/dev/null |
  sed "s/^info: /     $TEST_NAME: native, then server: /" || true
# Without fence feedback Mesa's vkQueueWaitIdle and vkDeviceWaitIdle are a
# fence-only vkQueueSubmit (no batches) and polls of that fence: a server
# that drops such a submit leaves them spinning until the client timeout.
rc=0; VN_PERF=no_fence_feedback venus_run "$SYNC" >"$TEST_TMP/nofb.out" 2>"$TEST_TMP/nofb.err" || rc=$?
client_check "vk_sync without fence feedback (VN_PERF=no_fence_feedback)" "$TEST_TMP/nofb.out" "$rc" || true
check_no_drops
check "server still running after the client" server_alive
server_stop || true

server_start --submit-stats || finish
rc=0; venus_run "$SYNC" >"$TEST_TMP/stats.out" 2>"$TEST_TMP/stats.err" || rc=$?
client_check "vk_sync through a --submit-stats server" "$TEST_TMP/stats.out" "$rc" || true
server_stop || true
stats=$(grep -o 'submit stats: .*' "$SERVER_LOG" | head -n1)
commands=$(grep -o 'command stats: .*' "$SERVER_LOG" | head -n1)
submits=$(sed -nE 's/.* submit ([0-9]+) x .*/\1/p' <<<"$stats")
check "--submit-stats: a submit stage counting vk_sync's 10,000 small submits (${submits:-none})" \
  test "${submits:-0}" -ge 10000
check "--submit-stats: the commands that took the most time, vkQueueSubmit among them" \
  grep -qE 'command stats: .*vkQueueSubmit [0-9]+ x [0-9.]+ us' <<<"$commands"
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Device loss reaches the guest the way Mesa's Venus driver reads it: as
# VK_ERROR_DEVICE_LOST in the replies of later calls on that device (a
# ring's FATAL bit would make the guest abort instead). The server loses
# vk_lost's device at its 3rd submission (the test-only
# $VENUS_SERVER_TEST_DEVICE_LOST=NAME:N, read once at start):
#   sync    VN_PERF=no_async_queue_submit,no_fence_feedback: the 3rd
#           vkQueueSubmit itself returns VK_ERROR_DEVICE_LOST, and so does
#           every later wait and vkDeviceWaitIdle;
#   async   VN_PERF=no_fence_feedback (Mesa's asynchronous submissions): the
#           3rd submission's fence wait returns VK_ERROR_DEVICE_LOST, and
#           every later one;
# each while a compute client runs beside it, unaffected; one log line per
# loss, naming the context, the device and the object.
# (With fence feedback, Mesa's default, a guest polls its feedback slot,
# which a lost device never writes: its waits time out; docs/security.md
# "Device loss".)
. "$(dirname "$0")/lib.sh"

LOST=$BUILD_DIR/tests/vk_lost
COMPUTE=$BUILD_DIR/tests/vk_compute
for bin in "$LOST" "$COMPUTE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done

VENUS_SERVER_TEST_DEVICE_LOST=vk_lost:3 server_start --log-level info || finish

run_mode() {
  local mode=$1 perf=$2 want=$3 n=$4 rc=0 beside_pid line
  local devices
  devices=$(log_count 'device [0-9]+ created')
  venus_run "$COMPUTE" --mib 8 --rounds 40 --pause-ms 100 >"$TEST_TMP/$mode-beside.out" 2>"$TEST_TMP/$mode-beside.err" &
  beside_pid=$!; BG_PIDS+=("$beside_pid")
  # Its device first: the Vulkan loader crashes on vkCreateDevice racing
  # another thread's vkDestroyDevice (Vulkan-Loader bug #2018), which the
  # lost client's short life would invite.
  wait_log_count 'device [0-9]+ created' $((devices + 1)) 30 || true
  venus_run env VN_PERF="$perf" "$LOST" >"$TEST_TMP/$mode.out" 2>"$TEST_TMP/$mode.err" || rc=$?
  client_check "$mode: every wait after the loss and vkDeviceWaitIdle return VK_ERROR_DEVICE_LOST" \
    "$TEST_TMP/$mode.out" "$rc" || true
  if grep -qx "first loss: round 3 $want" "$TEST_TMP/$mode.out"; then
    pass "$mode: the guest learns of the loss from round 3's $want"
  else
    fail "$mode: want 'first loss: round 3 $want', got '$(grep -m1 '^first loss' "$TEST_TMP/$mode.out" || echo none)'"
    grep '^info: round' "$TEST_TMP/$mode.out" | sed 's/^/         | /' || true
  fi
  rc=0; wait "$beside_pid" || rc=$?
  client_check "$mode: a compute client beside it is unaffected" "$TEST_TMP/$mode-beside.out" "$rc" || true
  wait_log_count 'device [0-9]+ lost:' "$n" 5 || true
  line=$(grep -E 'device [0-9]+ lost:' "$SERVER_LOG" | sed -n "${n}p")
  if [[ $line == *"ctx "*": device "*" lost: vkQueueSubmit on object "*" returned VK_ERROR_DEVICE_LOST"* ]]; then
    pass "$mode: one log line: ${line#venus-server: }"
  else
    fail "$mode: log line $n for the loss: '${line#venus-server: }'"
  fi
}

run_mode sync no_async_queue_submit,no_fence_feedback vkQueueSubmit 1
run_mode async no_fence_feedback vkWaitForFences 2
check "one loss line per lost device ($(log_count 'device [0-9]+ lost:'))" [ "$(log_count 'device [0-9]+ lost:')" -eq 2 ]
check_no_drops
check "server still running" server_alive
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host-visible allocations are bounded by bytes and by what the kernel lets
# the server process hold (fds, mappings: shared fairly between clients),
# not by a fixed per-client count:
#   many     vk_allocs holds 4000 host-visible allocations, each mapped,
#            written by the host and filled by the device, every one read
#            back, while a compute client runs beside it; natively first;
#   budget   under --limit memory-mib=64, 4 MiB allocations past 64 MiB fail
#            with VK_ERROR_OUT_OF_DEVICE_MEMORY (VN_PERF=no_async_mem_alloc)
#            and the client carries on; sent asynchronously (Mesa's
#            default), the refused allocation's first use drops that client
#            with a line naming the refusal, not an unknown id;
#   count    how many 16 KiB allocations one client can hold, natively and
#            through the server (printed; at least 4000), and a second client
#            after it as many (what the first held went back).
. "$(dirname "$0")/lib.sh"

require_tools timeout

ALLOCS=$BUILD_DIR/tests/vk_allocs
COMPUTE=$BUILD_DIR/tests/vk_compute
for bin in "$ALLOCS" "$COMPUTE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done
CLIENT_TIMEOUT=300

rc=0; native_run "$ALLOCS" --count 4000 >"$TEST_TMP/native.out" 2>"$TEST_TMP/native.err" || rc=$?
client_check "natively: 4000 host-visible allocations held, mapped, written and read back" "$TEST_TMP/native.out" "$rc" || true

# --- many, beside another client -------------------------------------------------
server_start || finish
grep -q 'fd limit' "$SERVER_LOG" && note "$(grep -m1 'fd limit' "$SERVER_LOG" | sed 's/^venus-server: //')"
venus_run "$COMPUTE" --mib 8 --rounds 20 --pause-ms 300 >"$TEST_TMP/beside.out" 2>"$TEST_TMP/beside.err" &
beside_pid=$!; BG_PIDS+=("$beside_pid")
rc=0; venus_run "$ALLOCS" --count 4000 >"$TEST_TMP/many.out" 2>"$TEST_TMP/many.err" || rc=$?
client_check "through the server: 4000 host-visible allocations held, mapped, written and read back" \
  "$TEST_TMP/many.out" "$rc" || true
rc=0; wait "$beside_pid" || rc=$?
client_check "a compute client running beside them" "$TEST_TMP/beside.out" "$rc" || true
check_no_drops
check_no_errors
server_stop || true

# --- the byte budget ---------------------------------------------------------------
server_start --limit memory-mib=64 || finish
rc=0; venus_run env VN_PERF=no_async_mem_alloc "$ALLOCS" --until-fail 1000 --size 4194304 \
  >"$TEST_TMP/budget.out" 2>"$TEST_TMP/budget.err" || rc=$?
client_check "memory-mib=64: the 17th 4 MiB allocation fails, one freed makes room again" "$TEST_TMP/budget.out" "$rc" || true
if grep -q '^info: held 16 allocations of 4194304 bytes; the next failed at vkAllocateMemory: VK_ERROR_OUT_OF_DEVICE_MEMORY' \
  "$TEST_TMP/budget.out"; then
  pass "budget: 16 x 4 MiB held, the next refused with VK_ERROR_OUT_OF_DEVICE_MEMORY"
else
  fail "budget: $(grep -m1 '^info: held' "$TEST_TMP/budget.out" || echo 'no result line')"
fi
if grep -q 'exceed its 67108864 (limit memory-mib=64): VK_ERROR_OUT_OF_DEVICE_MEMORY' "$SERVER_LOG"; then
  pass "budget: one line: $(grep -m1 'limit memory-mib' "$SERVER_LOG" | sed 's/^venus-server: //')"
else
  fail "budget: no 'limit memory-mib=64' line in the server log"
fi
check_no_drops "budget, synchronous"
# Mesa's default: the guest never hears of the refusal, and binds the memory.
# The client must end once dropped (Mesa aborts when the socket is reset; a
# drop after its request was read would leave it spinning on the end of
# file, waiting for a reply): 60 s is far beyond the fraction of a second
# this takes.
rc=0; venus_run 60 "$ALLOCS" --count 20 --size 4194304 >"$TEST_TMP/async.out" 2>"$TEST_TMP/async.err" || rc=$?
wait_log_count 'dropping client:' 1 5 || true
line=$(grep -m1 'dropping client:' "$SERVER_LOG" || true)
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  fail "budget, asynchronous: the dropped client did not end within 60 s ($(describe_rc "$rc")): left waiting for a reply"
elif [ "$rc" -ne 0 ] && [[ $line == *"was never created: vkAllocateMemory of 4194304 bytes failed with VK_ERROR_OUT_OF_DEVICE_MEMORY"* ]]; then
  pass "budget, asynchronous: the client is dropped at the refused memory's first use, saying so (${line#venus-server: })"
else
  fail "budget, asynchronous: client $(describe_rc "$rc"), drop line: '${line#venus-server: }'"
fi
check "server still running" server_alive
server_stop || true

# --- how many one client can hold ----------------------------------------------------
rc=0; native_run "$ALLOCS" --until-fail 8000 >"$TEST_TMP/count-native.out" 2>&1 || rc=$?
native=$(sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' "$TEST_TMP/count-native.out")
server_start || finish
rc=0; venus_run env VN_PERF=no_async_mem_alloc "$ALLOCS" --until-fail 8000 >"$TEST_TMP/count.out" 2>&1 || rc=$?
served=$(sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' "$TEST_TMP/count.out")
note "info: 16 KiB host-visible allocations one client holds (at most 8000 asked): native ${native:-?}, through the server ${served:-?} ($(grep -m1 '^info: held' "$TEST_TMP/count.out" | sed 's/^info: //'))"
if [ "$rc" -eq 0 ] && [ -n "$served" ] && [ "$served" -ge 4000 ]; then
  pass "one client alone holds $served host-visible allocations through the server, and carries on when refused"
else
  fail "one client alone: $(describe_rc "$rc"), held '${served:-?}' (want >= 4000)"
  show_tail "$TEST_TMP/count.out" 5
fi
# Everything the first client held went back to the server-wide pools.
rc=0; venus_run env VN_PERF=no_async_mem_alloc "$ALLOCS" --until-fail 8000 >"$TEST_TMP/count2.out" 2>&1 || rc=$?
again=$(sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' "$TEST_TMP/count2.out")
check "a second client after it holds as many ($again, first $served): nothing stays charged" \
  test "$rc" -eq 0 -a -n "$again" -a "$again" = "$served"
check_no_drops "count"
server_stop || true
finish

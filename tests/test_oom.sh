#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vk_oom through the server with synchronous allocations
# (VN_PERF=no_async_mem_alloc): a 2^58-byte vkAllocateMemory must fail with
# VK_ERROR_OUT_OF_DEVICE_MEMORY or VK_ERROR_OUT_OF_HOST_MEMORY, and the same
# device must then still run a mapped compute round trip. The server must not
# drop the client, and a normal vk_compute afterwards must pass.
. "$(dirname "$0")/lib.sh"

require_tools timeout

OOM=$BUILD_DIR/tests/vk_oom
COMPUTE=$BUILD_DIR/tests/vk_compute
for bin in "$OOM" "$COMPUTE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done

# Context only: lavapipe itself may accept sizes no memory can back.
rc=0; native_run "$OOM" >"$TEST_TMP/native.out" 2>"$TEST_TMP/native.err" || rc=$?
if grep -q '^error: 2^58 bytes.*got VK_SUCCESS' "$TEST_TMP/native.out"; then
  note "info: native lavapipe accepts the 2^58-byte allocation itself; the server must refuse it"
fi

server_start || finish
rc=0; venus_run env VN_PERF=no_async_mem_alloc "$OOM" >"$TEST_TMP/oom.out" 2>"$TEST_TMP/oom.err" || rc=$?
client_check "vk_oom through the server (VN_PERF=no_async_mem_alloc)" "$TEST_TMP/oom.out" "$rc" || true
check "server still running after vk_oom" server_alive

rc=0; venus_run "$COMPUTE" --mib 8 >"$TEST_TMP/compute.out" 2>"$TEST_TMP/compute.err" || rc=$?
client_check "vk_compute --mib 8 on the same server afterwards" "$TEST_TMP/compute.out" "$rc" || true
check_no_drops
check "server still running at the end" server_alive
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host-visible memory types the server cannot share with the guest
# (src/renderer/memory/shareable_types.h) are reported without host access; a type
# the guest would then be left without any HOST_VISIBLE|HOST_COHERENT type
# for stays host-visible (Vulkan requires one). lavapipe has one memory
# type, host-visible coherent: the test-only
# $VENUS_SERVER_TEST_UNSHAREABLE_TYPES (read once at start) marks it
# unshareable, the server keeps it host-visible with one warning naming it,
# and vulkaninfo and vk_compute through the server are what they are
# without the option. Without the option no type is hidden and nothing is
# logged about it; a bad value stops the server at start. (Hiding itself,
# on a host with more types: tests/unit/test_shareable_types.c; NVIDIA's
# BAR type through tests/vk14 in scripts/gpu-check.sh's guest26 part.)
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo python3 timeout

COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }

flags() { # FILE: memoryTypes[0]'s propertyFlags value, as vulkaninfo prints it
  python3 "$TESTS_DIR/vkinfo.py" get "$1" \
    'VkPhysicalDeviceMemoryProperties/memoryTypes/memoryTypes[[]0]/propertyFlags/value' 2>/dev/null | head -n1 || true
}

rc=0; native_run vulkaninfo >"$TEST_TMP/native.txt" 2>"$TEST_TMP/native.err" || rc=$?
if [ "$rc" -ne 0 ]; then
  skip "native lavapipe vulkaninfo fails ($(describe_rc $rc)): the host has no working lavapipe"
  finish
fi
native_flags=$(flags "$TEST_TMP/native.txt")

# run LABEL: vulkaninfo and vk_compute through the running server.
run() {
  local label=$1 rc=0 got
  venus_run vulkaninfo >"$TEST_TMP/$label.txt" 2>"$TEST_TMP/$label.err" || rc=$?
  got=$(flags "$TEST_TMP/$label.txt")
  if [ "$rc" -eq 0 ] && [ -n "$got" ] && [ "$got" = "$native_flags" ]; then
    pass "$label: vulkaninfo through the server: memory type 0 flags ${got#*= } as native"
  else
    fail "$label: vulkaninfo $(describe_rc "$rc"), memory type 0 flags '${got#*= }' (native '${native_flags#*= }')"
  fi
  rc=0; venus_run "$COMPUTE" --mib 8 >"$TEST_TMP/$label-compute.out" 2>"$TEST_TMP/$label-compute.err" || rc=$?
  client_check "$label: vk_compute --mib 8 through the server" "$TEST_TMP/$label-compute.out" "$rc" || true
  check_no_drops "$label"
}

server_start --log-level info || finish
run off
n=$(log_count 'cannot be shared with the guest')
check "off: nothing logged about unshareable memory types ($n lines)" [ "$n" -eq 0 ]
server_stop || true

VENUS_SERVER_TEST_UNSHAREABLE_TYPES=0x1 server_start --log-level info || finish
run only-coherent-type
line=$(grep -m1 'memory types 0x1 cannot be shared with the guest but stay host-visible' "$SERVER_LOG" || true)
if [ -n "$line" ]; then
  pass "only-coherent-type: one warning: ${line#*: }"
else
  fail "only-coherent-type: no 'memory types 0x1 ... stay host-visible' line"
  show_tail "$SERVER_LOG"
fi
check "only-coherent-type: nothing hidden" [ "$(log_count 'reported without host access')" -eq 0 ]
server_stop || true

rc=0
VENUS_SERVER_TEST_UNSHAREABLE_TYPES=nonsense timeout -k 5 10 "$SERVER_BIN" --socket "$TEST_TMP/bad.sock" \
  >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err" || rc=$?
if [ "$rc" -eq 2 ] && grep -q 'invalid \$VENUS_SERVER_TEST_UNSHAREABLE_TYPES' "$TEST_TMP/bad.err"; then
  pass "a bad VENUS_SERVER_TEST_UNSHAREABLE_TYPES stops the server at start (exit 2)"
else
  fail "a bad VENUS_SERVER_TEST_UNSHAREABLE_TYPES: $(describe_rc "$rc"): $(head -c 200 "$TEST_TMP/bad.err")"
fi
finish

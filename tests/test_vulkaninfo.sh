#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Full vulkaninfo (every query it makes, not --summary) through venus-server
# with lavapipe as the host driver: it must succeed, name the Venus device,
# agree with native lavapipe on key limits and the memory layout, and the
# server must log no error.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo python3

native=$TEST_TMP/native.txt
venus=$TEST_TMP/venus.txt

rc=0; native_run vulkaninfo >"$native" 2>"$TEST_TMP/native.err" || rc=$?
if [ "$rc" -ne 0 ]; then
  skip "native lavapipe vulkaninfo fails ($(describe_rc $rc)): the host has no working lavapipe"
  finish
fi

# Without the per-uid bound on host-RAM memory, which reports lavapipe's
# heap smaller than the host's (test_shared_budgets checks that): here
# every value must be the host's own.
server_start --log-level info --limit memory-per-peer-mib=0 || finish

rc=0; venus_run vulkaninfo >"$venus" 2>"$TEST_TMP/venus.err" || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "vulkaninfo through the server: exit 0"
else
  fail "vulkaninfo through the server: $(describe_rc $rc)"
  show_tail "$TEST_TMP/venus.err"
  show_tail "$SERVER_LOG"
fi

name=$(python3 "$TESTS_DIR/vkinfo.py" get "$venus" 'VkPhysicalDeviceProperties/deviceName' 2>/dev/null | head -n1 || true)
if grep -qE "deviceName +=.*$VENUS_NAME_RE" "$venus"; then
  pass "device is named: ${name#*= }"
else
  fail "no 'Virtio-GPU Venus (llvmpipe' deviceName in the output${name:+ (got: ${name#*= })}"
fi

# Vulkan 1.3 and swapchains: lavapipe has neither DRM format modifiers nor
# sync-fd semaphores, so these come from the server's own capabilities
# (src/renderer/caps/). Mesa clamps the device to 1.2 and hides VK_KHR_swapchain
# unless the server offers them.
api=$(grep -m1 -E '^[[:space:]]*apiVersion[[:space:]]*=' "$venus" | sed -E 's/.*= *([0-9]+)\.([0-9]+)\.([0-9]+).*/\1 \2 \3/' || true)
if [ -n "$api" ] && [ "$(echo "$api" | awk '{print ($1 > 1 || ($1 == 1 && $2 >= 3)) ? 1 : 0}')" = 1 ]; then
  pass "device apiVersion $(echo "$api" | tr ' ' .) >= 1.3"
else
  fail "device apiVersion is '${api:-missing}', want >= 1.3"
fi
for ext in VK_KHR_swapchain VK_KHR_synchronization2 VK_EXT_image_drm_format_modifier \
           VK_EXT_external_memory_dma_buf VK_KHR_dynamic_rendering; do
  if grep -qE "^[[:space:]]*$ext[[:space:]]*:" "$venus"; then
    pass "$ext is listed"
  else
    fail "$ext is not listed"
  fi
done

# What must equal native lavapipe. Patterns are fnmatch globs over the paths
# tests/vkinfo.py gives each value ('[[]' is a literal '['); every pattern must
# match on both sides.
patterns=(
  'VkPhysicalDeviceLimits/maxImageDimension2D'
  'VkPhysicalDeviceLimits/maxComputeWorkGroupSize'
  'VkPhysicalDeviceLimits/maxComputeWorkGroupSize/[0-9]'
  'VkPhysicalDeviceLimits/maxComputeWorkGroupCount'
  'VkPhysicalDeviceLimits/maxComputeWorkGroupCount/[0-9]'
  'VkPhysicalDeviceLimits/maxPushConstantsSize'
  'VkPhysicalDeviceLimits/maxBoundDescriptorSets'
  'VkPhysicalDeviceMemoryProperties/memoryHeaps'
  'VkPhysicalDeviceMemoryProperties/memoryHeaps/memoryHeaps[[]*]/size'
  'VkPhysicalDeviceMemoryProperties/memoryHeaps/memoryHeaps[[]*]/flags*'
  'VkPhysicalDeviceMemoryProperties/memoryTypes'
  'VkPhysicalDeviceMemoryProperties/memoryTypes/memoryTypes[[]*]/heapIndex'
  'VkPhysicalDeviceMemoryProperties/memoryTypes/memoryTypes[[]*]/propertyFlags/value'
)

if [ -s "$venus" ]; then
  cmp_out=$TEST_TMP/compare.txt
  rc=0
  python3 "$TESTS_DIR/vkinfo.py" compare "$native" "$venus" --gpu-b 'Virtio-GPU Venus' \
    "${patterns[@]}" >"$cmp_out" 2>&1 || rc=$?
  n_same=$(grep -c '^same ' "$cmp_out" || true)
  if [ "$rc" -eq 0 ]; then
    pass "$n_same limit/memory values equal native lavapipe (maxImageDimension2D, maxComputeWorkGroupSize/Count, maxPushConstantsSize, maxBoundDescriptorSets, heaps, types)"
  else
    fail "values differ from native lavapipe (native / venus):"
    grep -vE '^same ' "$cmp_out" | sed 's/^/         | /' || true
  fi
  # Informational: how much of the whole limits block differs.
  python3 "$TESTS_DIR/vkinfo.py" compare "$native" "$venus" --gpu-b 'Virtio-GPU Venus' \
    'VkPhysicalDeviceLimits/*' >"$TEST_TMP/limits.txt" 2>&1 || true
  n_diff=$(grep -cvE '^same ' "$TEST_TMP/limits.txt" || true)
  note "info: $n_diff of $(wc -l <"$TEST_TMP/limits.txt") VkPhysicalDeviceLimits entries differ from native (native / venus):"
  grep -vE '^same ' "$TEST_TMP/limits.txt" | head -n 10 | sed 's/^/         | /' || true
else
  fail "vulkaninfo through the server printed nothing to compare"
fi

check_no_errors

# The client exited: its context must be gone with nothing left behind.
check_context_released

server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vkcube (bookworm vulkan-tools) through venus-server under Xvfb, on Mesa's
# software WSI path (MESA_VK_WSI_DEBUG=sw): the swapchain the guest driver
# can only offer because the server provides DRM modifiers, dma-buf handle
# types and sync-fd semaphores (src/renderer/caps/). 300 frames must run and exit 0,
# and the cube must reach the screen.
. "$(dirname "$0")/lib.sh"

require_tools vkcube Xvfb xwd python3

if ! xvfb_start; then
  skip "Xvfb does not start: $(tail -n1 "$TEST_TMP/xvfb.log" 2>/dev/null)"
  finish
fi
server_start --log-level info || finish

cube() { venus_run env MESA_VK_WSI_DEBUG=sw vkcube "$@"; }

rc=0; cube --c 300 >"$TEST_TMP/cube.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "vkcube --c 300 through the server: exit 0"
else
  fail "vkcube --c 300 through the server: $(describe_rc "$rc")"
  show_tail "$TEST_TMP/cube.out"
  show_tail "$SERVER_LOG"
fi

# The cube is shaded and textured: thousands of colours, where an empty
# window has one. Poll while a long run is on screen.
blank=$(screen_colors)
cube --c 1000000 >"$TEST_TMP/cube-long.out" 2>&1 &
long_pid=$!
BG_PIDS+=("$long_pid")
colors=0
for _ in $(seq 100); do
  colors=$(screen_colors)
  [ "$colors" -ge 100 ] && break
  sleep 0.2
done
kill_tree "$long_pid"
wait "$long_pid" 2>/dev/null || true
if [ "$colors" -ge 100 ]; then
  pass "the cube is on screen: $colors colours (empty screen: $blank)"
else
  fail "only $colors colours on screen (empty screen: $blank): frames do not reach X"
  show_tail "$TEST_TMP/cube-long.out"
fi

check_no_errors
check_no_drops

server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A Wayland client cannot make the display hold unbounded pools (each a
# mapping in the server): past VS_DISPLAY_MAX_SHM_POOLS (256) live
# wl_shm_pools it is disconnected with one log line; a client within the cap,
# and a vtest client, are served before and after.
. "$(dirname "$0")/lib.sh"

require_tools python3
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "built without the display"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
name=vs-limits-$$
server_start --display "$name" || finish
flood=$TESTS_DIR/display/wl_pool_flood.py

out=$(timeout 60 python3 "$flood" "$XDG_RUNTIME_DIR/$name" 16 2>&1)
check "a client with 16 pools is served ($out)" [ "$out" = done ]
out=$(timeout 60 python3 "$flood" "$XDG_RUNTIME_DIR/$name" 2000 2>&1)
case $out in
  error*|closed) pass "a client creating 2000 pools is disconnected ($out)" ;;
  *) fail "a client creating 2000 pools was not disconnected: $out" ;;
esac
check "one log line for it" [ "$(log_count 'dropping Wayland client .*more than 256 live wl_shm_pool')" = 1 ]
check "server alive after the flood" server_alive
out=$(timeout 60 python3 "$flood" "$XDG_RUNTIME_DIR/$name" 16 2>&1)
check "a client with 16 pools is served after the flood ($out)" [ "$out" = done ]
if venus_run vulkaninfo --summary > "$TEST_TMP/vi.out" 2>&1 && grep -q 'Venus' "$TEST_TMP/vi.out"; then
  pass "a vtest client after the flood sees the Venus device"
else
  fail "a vtest client after the flood failed"; show_tail "$TEST_TMP/vi.out" 5
fi
server_stop || true
finish

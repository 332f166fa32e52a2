#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vk_modifier (tests/vk_modifier.c: DRM format modifier lists, image format
# and external buffer queries, LINEAR images from a modifier list and from
# an explicit layout in dedicated exported dma-buf memory, written and read
# through their mappings and by the GPU, a dma-buf external buffer) through
# the server. lavapipe has none of these extensions: the server provides
# them (src/renderer/caps/), so there is no native run to compare with. The client
# must pass every check, the server must drop no client, log no error, log
# its refusal of the one explicit layout that is not the host's, and
# release everything when the client exits.
. "$(dirname "$0")/lib.sh"

require_tools timeout

MODIFIER=$BUILD_DIR/tests/vk_modifier
[ -x "$MODIFIER" ] || { fail "no $MODIFIER (built by make)"; finish; }

# Info level: the 'context destroyed' line is an info line.
server_start --log-level info || finish

rc=0; venus_run "$MODIFIER" >"$TEST_TMP/venus.out" 2>"$TEST_TMP/venus.err" || rc=$?
client_check "vk_modifier through the server" "$TEST_TMP/venus.out" "$rc" || true
check_no_drops

check_no_errors

# The client's foreign row pitch must have been refused by the server's
# layout check, not by anything else.
check "server refused the explicit layout that is not the host's" \
  grep -q 'explicit layout differs from the host.s linear layout' "$SERVER_LOG"

# The client exited: its context must be gone with nothing left behind.
check_context_released

server_stop || true
finish

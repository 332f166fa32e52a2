#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A guest that keeps mappings of its memory past vkFreeMemory (mapping the
# blob's file again, as a hostile guest can) sees only its own memory,
# whatever a second client allocates meanwhile (tests/vk_stale_mapping.c).
# On lavapipe every host-visible type is host-pointer memory; on NVIDIA the
# BAR type is lent through the driver's own mapping (docs/security.md):
# either way each stale view must show one of the client's own allocations.
. "$(dirname "$0")/lib.sh"

require_tools timeout
STALE=$BUILD_DIR/tests/vk_stale_mapping
[ -x "$STALE" ] || { fail "no $STALE (built by make)"; finish; }

server_start || finish
rc=0; venus_run "$STALE" --count 8 --size 1048576 >"$TEST_TMP/stale.out" 2>"$TEST_TMP/stale.err" || rc=$?
client_check "a mapping kept past vkFreeMemory shows only the client's own memory" "$TEST_TMP/stale.out" "$rc" || true
note "$(grep -m1 'stale views' "$TEST_TMP/stale.out" | sed 's/^info: //')"
check_no_drops
check_no_errors
server_stop || true
finish

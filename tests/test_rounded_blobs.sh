#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Blobs as a virtio-gpu guest sends them: its kernel rounds every blob up to
# whole pages (1344 bytes of memory arrive as a 4096-byte blob; a ring's
# 131268 bytes as 135168). Over vtest (tests/vtest_rounded.py) and as a
# VMM's render server (tests/rs_vmm.c, scenario rounded): the rounded blob
# is served, its fd covers the whole blob (exactly, for the render-server
# proxy), the tail past the allocation reads as zeros and is that blob's
# alone, also after a freed allocation's region is reused; a blob far past
# its memory still ends the client (rs_vmm's hostile blob-past-granule, run
# by test_render_server).
. "$(dirname "$0")/lib.sh"

[ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }
server_start || finish
rc=0
timeout -k 5 60 python3 "$TESTS_DIR/vtest_rounded.py" "$SERVER_SOCK" >"$TEST_TMP/vtest.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "vtest: $(grep -c '^ok:' "$TEST_TMP/vtest.out") checks ok ($(sed -n 's/^ok: //p' "$TEST_TMP/vtest.out" | head -1))"
else
  fail "vtest: $(describe_rc "$rc"): $(grep -m3 '^error:' "$TEST_TMP/vtest.out" | tr '\n' ' ')"
  show_tail "$SERVER_LOG" 8
fi
check_no_errors
server_stop || true

args=()
for a in "${SERVER_EXTRA_ARGS[@]}"; do args+=(--server-arg "$a"); done
if posix_build; then
  export RS_VMM_SEALS=0
fi
rc=0
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 120 \
  "$BUILD_DIR/tests/rs_vmm" "$SERVER_BIN" "${args[@]}" rounded >"$TEST_TMP/rs.out" 2>"$TEST_TMP/rs.log" || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/rs.out"; then
  pass "render server: $(grep -c '^ok:' "$TEST_TMP/rs.out") checks ok"
else
  fail "render server: $(describe_rc "$rc"): $(grep -m3 '^error:' "$TEST_TMP/rs.out" | tr '\n' ' ')"
  show_tail "$TEST_TMP/rs.log" 8
fi
finish

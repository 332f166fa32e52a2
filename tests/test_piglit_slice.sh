#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A slice of piglit (tests/piglit/slice.txt, ~50 tests) through Zink,
# natively on lavapipe and through the server (scripts/conformance.sh, the
# `make conformance` script): every test that passes natively passes
# through the server, and no more crash there. The tests that once found
# checks refusing valid programs are in it.
. "$(dirname "$0")/lib.sh"

require_tools Xvfb python3
rc=0
OUT_DIR=$TEST_TMP/conformance "$TESTS_DIR/../scripts/conformance.sh" "$BUILD_DIR" slice >"$TEST_TMP/conformance.out" 2>&1 || rc=$?
summary=$TEST_TMP/conformance/summary.txt
case $rc in
  0) pass "piglit slice: no regression against native ($(awk '$1 == "pass" {print $2 " native, " $3 " server passes"}' "$summary"))"
     sed 's/^/       /' "$summary" ;;
  2) skip "piglit slice: $(tail -n1 "$TEST_TMP/conformance.out")" ;;
  *) fail "piglit slice: exit $rc"
     show_tail "$TEST_TMP/conformance.out" 40
     [ -f "$TEST_TMP/conformance/server.log" ] && grep 'error:' "$TEST_TMP/conformance/server.log" | head -5 | sed 's/^/       /' ;;
esac
finish

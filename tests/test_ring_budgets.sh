#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a client's rings and command streams hold counts against its
# shared-memory limit (tests/vtest_budgets.py, --limit shmem-mib=64):
#   pinned   blobs a ring holds stay charged after their RESOURCE_UNREF: the
#            client is dropped at the limit, not given it again;
#   streams  each ring's private copy of a command stream is charged while
#            kept: two rings copying a 24 MiB stream pass 64 MiB;
#   idle     a ring whose guest asks for an endless idle timeout still goes
#            idle (its status says IDLE), so it stops polling;
#   unrefs   1000 RESOURCE_UNREFs of an unknown id cost one warning line;
# and a real client is served afterwards.
. "$(dirname "$0")/lib.sh"

require_tools python3 vulkaninfo

budgets() { python3 "$TESTS_DIR/vtest_budgets.py" "$SERVER_SOCK" "$@" </dev/null 2>&1; }
LIMIT_RE='dropping client:.*shared-memory limit'

server_start --log-level info --limit shmem-mib=64 || finish

before=$(log_count "$LIMIT_RE")
out=$(budgets pinned-blobs 16 8)
wait_log_count "$LIMIT_RE" $((before + 1)) 10 || true
if [ "$(log_count "$LIMIT_RE")" -gt "$before" ] && [[ "$out" == *"server closed: True"* ]]; then
  pass "blobs pinned by rings stay charged after unref: $out; $(grep -E "$LIMIT_RE" "$SERVER_LOG" | tail -n1 | sed 's/^venus-server: //')"
else
  fail "blobs pinned by rings and unreferenced passed the 64 MiB limit: $out"
fi

before=$(log_count "$LIMIT_RE")
out=$(budgets stream-copies 24 2)
wait_log_count "$LIMIT_RE" $((before + 1)) 10 || true
if [ "$(log_count "$LIMIT_RE")" -gt "$before" ]; then
  pass "private copies of a command stream are charged: $(grep -E "$LIMIT_RE" "$SERVER_LOG" | tail -n1 | sed 's/^venus-server: //')"
else
  fail "two rings held private copies of a 24 MiB stream past the 64 MiB limit: $out"
fi

out=$(budgets idle-ring)
if [ "$out" = idle ]; then
  pass "a ring asking for an endless idle timeout goes idle"
else
  fail "a ring asking for an endless idle timeout keeps polling: $out"
fi

before=$(log_count 'destroy of unknown resource')
out=$(budgets unknown-unrefs 1000)
sleep 0.5
got=$(( $(log_count 'destroy of unknown resource') - before ))
if [ "$got" = 1 ]; then
  pass "1000 unrefs of an unknown id: one warning line ($out)"
else
  fail "1000 unrefs of an unknown id: $got warning lines, expected 1 ($out)"
fi

if ! server_alive; then
  fail "the server died"
elif venus_run 120 vulkaninfo --summary >"$TEST_TMP/vi.out" 2>&1 && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/vi.out"; then
  pass "a real client is served afterwards"
else
  fail "vulkaninfo --summary failed afterwards"; show_tail "$TEST_TMP/vi.out"
fi
finish

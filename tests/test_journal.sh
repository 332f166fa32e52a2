#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The journal of lasting commands a restore will replay (docs/architecture.md
# "Snapshot and restore"), kept under the test-only
# $VENUS_SERVER_TEST_JOURNAL=1: vk_compute through the server passes with
# it and its context logs what it kept; render_bench draws the same
# picture (the last frame's hash) with and without it; and the journal
# stays bounded by what lives: exec_bench recording 1600 commands into a
# command buffer anew 320 times takes more than four times the commands
# of 50 times, and holds no more of them at once. Without the switch
# nothing is logged; a bad value stops the server at start.
. "$(dirname "$0")/lib.sh"

require_tools timeout
COMPUTE=$BUILD_DIR/tests/vk_compute
RENDER=$BUILD_DIR/bench/render_bench
RECORD=$BUILD_DIR/bench/exec_bench
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }
[ -x "$RENDER" ] || { fail "no $RENDER (built by make)"; finish; }
[ -x "$RECORD" ] || { fail "no $RECORD (built by make)"; finish; }

JOURNAL_RE='journal: [0-9]+ lasting commands taken, at most [0-9]+ kept at once \([0-9]+ bytes\), [0-9]+ at the end'
# journal_line N: the Nth journal line of the server's log.
journal_line() { grep -E "$JOURNAL_RE|journal: refused" "$SERVER_LOG" | sed -n "$1p"; }
# field LINE WHICH: the count taken, or the most kept at once.
field() {
  case $2 in
    taken) sed -nE 's/.*journal: ([0-9]+) lasting.*/\1/p' <<<"$1" ;;
    most) sed -nE 's/.*at most ([0-9]+) kept.*/\1/p' <<<"$1" ;;
  esac
}
# render LABEL SECONDS: render_bench at 320x240; its hash in $TEST_TMP/LABEL.out.
render() {
  local rc=0
  venus_run "$RENDER" --seconds "$2" 320x240 >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q 'hash:' "$TEST_TMP/$1.out"; then
    fail "$1: render_bench $(describe_rc "$rc")"
    show_tail "$TEST_TMP/$1.err" 5
    return 1
  fi
}
hash_of() { sed -nE 's/.* hash: ([0-9a-fx]+).*/\1/p' "$TEST_TMP/$1.out"; }

# --- without the switch: the reference picture, nothing logged ----------------
server_start --log-level info || finish
render plain 1 || true
check "without the switch no journal line (found $(log_count 'journal: '))" [ "$(log_count 'journal: ')" -eq 0 ]
server_stop || true

# --- with it -------------------------------------------------------------------
VENUS_SERVER_TEST_JOURNAL=1 server_start --log-level info || finish
rc=0; venus_run "$COMPUTE" --mib 8 >"$TEST_TMP/compute.out" 2>"$TEST_TMP/compute.err" || rc=$?
client_check "vk_compute --mib 8 with the journal" "$TEST_TMP/compute.out" "$rc" || true
wait_log_count 'journal: ' 1 20 || true
line=$(journal_line 1)
if [[ $line =~ $JOURNAL_RE ]] && [ "$(field "$line" taken)" -gt 0 ]; then
  pass "vk_compute's context: ${line#*: info: }"
else
  fail "vk_compute's context logged no journal line, or a refusal: '$line'"
fi

render short 1 || true
wait_log_count 'journal: ' 2 20 || true
same=false
[ -n "$(hash_of plain)" ] && [ "$(hash_of short)" = "$(hash_of plain)" ] && same=true
check "render_bench draws the same picture with the journal ($(hash_of short)) as without ($(hash_of plain))" $same

# exec_bench record-many records 1600 barriers into one command buffer,
# anew each time: 50 times with --quick, 320 without.
records() {
  local rc=0
  venus_run 600 "$RECORD" $1 record-many >"$TEST_TMP/$2.out" 2>"$TEST_TMP/$2.err" || rc=$?
  [ "$rc" -eq 0 ] || { fail "$2: exec_bench record-many $(describe_rc "$rc")"; show_tail "$TEST_TMP/$2.err" 5; }
}
records --quick few
wait_log_count 'journal: ' 3 20 || true
records "" many
wait_log_count 'journal: ' 4 20 || true
few=$(journal_line 3)
many=$(journal_line 4)
note "50 recordings: ${few#*: info: }"
note "320 recordings: ${many#*: info: }"
ft=$(field "$few" taken); fm=$(field "$few" most)
mt=$(field "$many" taken); mm=$(field "$many" most)
if [ -n "$ft" ] && [ -n "$mt" ] && [ "$mt" -gt $((ft * 4)) ] && [ "$mm" -le "$fm" ] && [ "$mm" -lt $((mt / 50)) ]; then
  pass "bounded by what lives: 320 recordings took $mt commands (50: $ft), held at most $mm at once (50: $fm)"
else
  fail "not bounded: 320 recordings took '$mt' commands (50: '$ft'), held at most '$mm' at once (50: '$fm')"
fi
check_no_errors
server_stop || true

# --- a bad value stops the server at start ---------------------------------------
rc=0; VENUS_SERVER_TEST_JOURNAL=yes timeout 10 "$SERVER_BIN" --socket "$TEST_TMP/bad.sock" \
  >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err" || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'invalid \$VENUS_SERVER_TEST_JOURNAL' "$TEST_TMP/bad.err"; then
  pass "a bad value stops the server: $(head -n1 "$TEST_TMP/bad.err")"
else
  fail "VENUS_SERVER_TEST_JOURNAL=yes: $(describe_rc "$rc"), '$(head -n1 "$TEST_TMP/bad.err")'"
fi
finish

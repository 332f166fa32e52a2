#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test runner behind `make test`:
#
#   tests/run.sh BUILD_DIR [NAME...]
#
# Runs the C unit tests (executables BUILD_DIR/tests/unit/test_* and
# BUILD_DIR/tests/test_*), then every scenario script tests/scenarios.txt
# lists (or only those whose name contains one of NAME...). Each
# script gets BUILD_DIR and a private temp dir and prints PASS/FAIL/SKIP
# lines. Exits 1 if anything failed. Temp dirs of failed tests are kept (their
# path is printed); set KEEP_TMP=1 to keep all of them. The summary and
# every FAIL line are also written to BUILD_DIR/test-summary.txt, which
# `make test` prints again at its end, so that the first build's failures
# are not lost above the second build's output.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: tests/run.sh BUILD_DIR [NAME...]}
shift
build=$(cd "$build" && pwd)
filters=("$@")
summary=$build/test-summary.txt
rm -f "$summary"
# Seconds one test script may take before it is stopped and failed.
TEST_TIMEOUT=${TEST_TIMEOUT:-600}

tmp_root=$(mktemp -d "${TMPDIR:-/tmp}/venus-tests.XXXXXX")
# The suite's servers keep their tenants' shader caches (and clients run
# natively keep Mesa's) under the suite's own directory, never the user's.
unset CACHE_DIRECTORY
export XDG_CACHE_HOME=$tmp_root/cache
# A sanitizer build's servers: leaks inside the host driver's library are
# not the server's (tests/lsan-host-driver.supp).
export LSAN_OPTIONS="suppressions=$top/tests/lsan-host-driver.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# Shared memory the servers' processes name (the POSIX backend's shm
# objects, its temp-file fallback): none may outlive the suite.
leftovers() { ls -d /dev/shm/vs-* "${TMPDIR:-/tmp}"/venus-server-shm.* 2>/dev/null | sort || true; }
leftovers_before=$(leftovers)
n_pass=0 n_fail=0 n_skip=0
failed=()
fail_lines=$tmp_root/fail-lines.txt
: >"$fail_lines"

# fail LINE: a FAIL line of the runner's own, printed and kept.
fail() { echo "FAIL $*" | tee -a "$fail_lines"; }
# fail_test NAME LINE: such a line, counted as a failure of NAME.
fail_test() { fail "$2"; n_fail=$((n_fail + 1)); failed+=("$1"); }

selected() {
  local f
  [ ${#filters[@]} -eq 0 ] && return 0
  for f in "${filters[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
  return 1
}

# tally NAME OUTPUT-FILE RC: count PASS/FAIL/SKIP lines; a non-zero status
# with no FAIL line (crash, timeout, set -e exit) counts as one FAIL.
tally() {
  local name=$1 out=$2 rc=$3 p f s
  p=$(grep -c '^PASS ' "$out" || true)
  f=$(grep -c '^FAIL ' "$out" || true)
  s=$(grep -c '^SKIP ' "$out" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      fail "$name: timed out after ${TEST_TIMEOUT}s"
    else
      fail "$name: exited with status $rc without a FAIL line (see output above)"
    fi
    f=1
  fi
  if [ "$rc" -eq 0 ] && [ "$f" -gt 0 ]; then
    fail "$name: printed FAIL lines but exited 0"
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    fail "$name: printed no PASS/FAIL/SKIP line"
    f=1
  fi
  grep '^FAIL ' "$out" >>"$fail_lines" || true
  n_pass=$((n_pass + p)); n_fail=$((n_fail + f)); n_skip=$((n_skip + s))
  [ "$f" -eq 0 ] || failed+=("$name")
}

run_one() {
  local name=$1; shift
  local dir=$tmp_root/$name out rc=0 t0
  mkdir -p "$dir"
  out=$dir/output.txt
  printf '=== %s\n' "$name"
  t0=$SECONDS
  # A pipe keeps the output live; PIPESTATUS[0] is the test's status.
  set +e
  timeout -k 10 "$TEST_TIMEOUT" "$@" "$dir" </dev/null 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  tally "$name" "$out" "$rc"
  printf '    (%s: %ds)\n' "$name" $((SECONDS - t0))
  # A temp dir that cannot be removed (a process of the test still
  # writing there, a mount left behind) fails the test, not the runner.
  if [ "${KEEP_TMP:-0}" != 1 ] && [[ " ${failed[*]-} " != *" $name "* ]] &&
     ! rm -rf "$dir" 2>"$tmp_root/rm.err"; then
    fail_test "$name" "$name: its temp dir outlived it: $(head -n 1 "$tmp_root/rm.err")"
  fi
}

# C unit tests (tests/unit/unit.h): each prints a PASS/FAIL/SKIP line per
# test and takes its temp dir as its working directory.
for bin in "$build"/tests/test_* "$build"/tests/unit/test_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  selected "$name" || continue
  run_one "$name" "$bin"
done

# The scenario scripts: tests/scenarios.txt lists each once (with its meson
# suite). A script missing from it would be left out of the meson suites
# unnoticed, so it fails here.
scenarios=$(awk '!/^#/ && NF { print $2 }' "$top/tests/scenarios.txt")
for script in "$top"/tests/test_*.sh; do
  name=$(basename "$script" .sh)
  selected "$name" || continue
  if ! grep -qx -- "$name" <<<"$scenarios"; then
    fail_test "$name" "$name: tests/$name.sh is not in tests/scenarios.txt (add a line: SUITE $name)"
  fi
done
for name in $scenarios; do
  selected "$name" || continue
  run_one "$name" bash "$top/tests/$name.sh" "$build"
done

left=$(comm -13 <(printf '%s\n' "$leftovers_before") <(leftovers) | grep . || true)
if [ -n "$left" ]; then
  fail_test leftovers "nothing left behind: shared memory outlived the servers: $(echo $left)"
  rm -f $left
elif [ -d /dev/shm ]; then
  echo "PASS nothing left behind: no shared memory object or file of the servers outlived them"
  n_pass=$((n_pass + 1))
fi

echo
echo "=== summary: $n_pass passed, $n_fail failed, $n_skip skipped"
{ echo "$build: $n_pass passed, $n_fail failed, $n_skip skipped"; cat "$fail_lines"; } >"$summary"
if [ "$n_fail" -gt 0 ]; then
  echo "failed: ${failed[*]}"
  echo "kept temp dirs (server logs, client output) under $tmp_root"
  exit 1
fi
if [ "${KEEP_TMP:-0}" = 1 ]; then
  echo "temp dirs kept under $tmp_root"
elif ! rm -rf "$tmp_root"; then
  echo "warning: $tmp_root could not be removed"
fi
exit 0

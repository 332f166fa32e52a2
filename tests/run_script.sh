#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one scenario script for `meson test` (tests/meson.build):
#
#   tests/run_script.sh SCRIPT BUILD_DIR
#
# gives it a fresh temp dir and exits 0 if it passed, 77 (meson's SKIP) if
# it only skipped, 1 if it failed, printed no verdict or exited non-zero.
# The temp dir (server logs, client output) is kept on failure.
set -uo pipefail
script=${1:?usage: $0 SCRIPT BUILD_DIR}
build=${2:?usage: $0 SCRIPT BUILD_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/venus-meson.XXXXXX")
out=$tmp/output.txt
bash "$script" "$build" "$tmp" </dev/null 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
p=$(grep -c '^PASS ' "$out")
f=$(grep -c '^FAIL ' "$out")
s=$(grep -c '^SKIP ' "$out")
if [ "$rc" -ne 0 ] || [ "$f" -gt 0 ] || [ $((p + s)) -eq 0 ]; then
  echo "exit status $rc, $p PASS, $f FAIL, $s SKIP lines; temp dir kept: $tmp"
  exit 1
fi
rm -rf "$tmp"
[ "$p" -eq 0 ] && exit 77
exit 0

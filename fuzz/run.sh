#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every fuzz target for SECONDS each; corpora live in build-fuzz/corpus,
# a crash's input in build-fuzz/crashes.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in ${FUZZ_TARGETS:-fuzz_decoder fuzz_vtest fuzz_render fuzz_semantics fuzz_viewer fuzz_vhost_user fuzz_scanout_import fuzz_snapshot}; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus" "$build/crashes"
  cp -n "$top"/fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: $t for ${seconds}s"
  if "$build/fuzz/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 "$corpus" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t: no crash ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz: $t: FAILED, see $build/$t.log"; tail -30 "$build/$t.log"; status=1
  fi
done
exit $status

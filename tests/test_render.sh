#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vk_render (tests/vk_render.c: a render pass with 4x color and depth
# resolved, dynamic rendering where the device offers it, vertex and index
# buffers, push constants, uniform buffers and a sampled texture through
# descriptor sets and an update template, a pipeline cache, occlusion and
# timestamp queries, clears, blits and copies) natively on lavapipe, then
# through the server on lavapipe. The same driver draws both, so every
# output (RGBA images and the occlusion count) must be the same byte for
# byte, and every image must hold enough distinct colors that a run drawing
# nothing cannot pass. The server must drop no client and log no error.
. "$(dirname "$0")/lib.sh"

require_tools timeout cmp python3

RENDER=$BUILD_DIR/tests/vk_render
[ -x "$RENDER" ] || { fail "no $RENDER (built by make)"; finish; }
# Each image shows tens of thousands (gradients, a filtered texture,
# multisampled edges); a blank or flat one shows a handful.
MIN_COLORS=1000

# render RUN: vk_render into $TEST_TMP/RUN/ (native_run or venus_run by RUN).
render() {
  local run=$1 rc=0
  mkdir -p "$TEST_TMP/$run"
  if [ "$run" = native ]; then
    native_run "$RENDER" --out-dir "$TEST_TMP/$run" >"$TEST_TMP/$run.out" 2>"$TEST_TMP/$run.err" || rc=$?
    client_check "native lavapipe: vk_render" "$TEST_TMP/$run.out" "$rc" || true
  else
    venus_run "$RENDER" --out-dir "$TEST_TMP/$run" >"$TEST_TMP/$run.out" 2>"$TEST_TMP/$run.err" || rc=$?
    client_check "vk_render through the server" "$TEST_TMP/$run.out" "$rc" || true
  fi
}

# "in the RUN: WHY" when a run skipped dynamic rendering (it then wrote no
# dynamic.pam).
dynamic_skipped() {
  local run why
  for run in native venus; do
    why=$(sed -n 's/^skip: dynamic rendering: //p' "$TEST_TMP/$run.out" | head -n1)
    if [ -n "$why" ]; then
      echo "in the $([ "$run" = native ] && echo "native run" || echo "run through the server"): $why"
      return 0
    fi
  done
  return 1
}

# distinct_colors FILE: the number of distinct RGBA pixels of a PAM image
# (0 when it is not one).
distinct_colors() {
  python3 - "$1" <<'EOF' 2>/dev/null || echo 0
import sys
data = open(sys.argv[1], 'rb').read()
pixels = data[data.index(b'ENDHDR\n') + 7:]
print(len({pixels[i:i + 4] for i in range(0, len(pixels), 4)}))
EOF
}

# compare NAME: PASS if both runs wrote NAME and the two are identical; for
# an image, also if each run's holds at least MIN_COLORS colors.
compare() {
  local name=$1 native=$TEST_TMP/native/$1 venus=$TEST_TMP/venus/$1 run n
  if [ ! -f "$native" ] || [ ! -f "$venus" ]; then
    fail "$name: missing from the $([ -f "$native" ] && echo "run through the server" || echo "native run")"
    return 0
  fi
  if cmp -s "$native" "$venus"; then
    pass "$name: identical natively and through the server ($(stat -c %s "$native") bytes)"
  else
    fail "$name: differs between native and the server: $(cmp -l "$native" "$venus" 2>/dev/null | wc -l) byte(s), $(cmp "$native" "$venus" 2>&1 | sed 's/^[^:]*: //' | head -n1)"
    [[ $name == *.txt ]] && paste "$native" "$venus" | sed 's/^/         | native, server: /'
  fi
  [[ $name == *.pam ]] || return 0
  for run in native venus; do
    n=$(distinct_colors "$TEST_TMP/$run/$name")
    if [ "$n" -ge "$MIN_COLORS" ]; then
      pass "$name ($run): $n distinct colors"
    else
      fail "$name ($run): only $n distinct colors (want at least $MIN_COLORS): nothing rendered?"
    fi
  done
}

render native
server_start || finish
render venus
check_no_drops
check "no error line in the server log" test -z "$(log_errors)"
check "server still running after the client" server_alive
server_stop || true

for name in scene.pam composite.pam queries.txt; do compare "$name"; done
if why=$(dynamic_skipped); then
  skip "dynamic.pam not compared: dynamic rendering skipped $why"
else
  compare dynamic.pam
fi
grep -h '^info: classic' "$TEST_TMP/native.out" "$TEST_TMP/venus.out" 2>/dev/null |
  sed "s/^info: /     $TEST_NAME: native, then server: /" || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# llama.cpp's Vulkan backend through the server: Debian sid's test-backend-ops
# (llama.cpp-tests, libggml0-backend-vulkan; ROOTS=1 make roots adds them to
# the sid root) on a MUL_MAT slice (f32 and q4_0 weights, matrix-vector and
# small matrix-matrix products, each against ggml's CPU backend), natively on
# sid's lavapipe and through the server (in the sid root, on the same
# lavapipe) with sid's Mesa 26 Venus guest: the same cases pass. Then a few tokens of llama-bench on a random-weight model
# (bench/gguf_model.py tiny) through the server. SKIP without the packages.
. "$(dirname "$0")/lib.sh"

require_tools python3
top=$TESTS_DIR/..
tbo=/usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops
# As make apps' bench/llama.sh: lavapipe compiles these pipelines in seconds.
slice='type_a=(f32|q4_0),type_b=f32,m=16,n=(1|2|4|8|9|16),k=256,bs=\[1,1\],nr=\[1,1\],per=\[0,1,2,3\]'

sid=${SID_ROOT:-$top/.deps/sid-root}
if posix_build; then
  skip "the -Dos=posix build: the sid root's guest runs against the Linux build"
  finish
fi
if [ ! -x "$sid$tbo" ] || [ ! -e "$sid/usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-vulkan.so" ] ||
   [ ! -x "$sid/usr/bin/llama-bench" ]; then
  skip "no llama.cpp in the sid root (ROOTS=1 make roots adds llama.cpp-tools, llama.cpp-tests, libggml0-backend-vulkan)"
  finish
fi
work=$(mktemp -d "$sid/tmp/vs-llama-test.XXXXXX")
trap 'lib_cleanup; rm -rf --one-file-system "$work"' EXIT
in=${work#"$sid"}
# The server runs in the root too, on sid's lavapipe, so that both columns
# use one driver: bookworm's lavapipe (LLVM 15) hangs in this slice's n=8
# case natively.
"$top/scripts/into-root.sh" "$sid" "$work" "$SERVER_BIN"
SERVER_N=1 SERVER_SOCK=$work/vtest.sock SERVER_LOG=$TEST_TMP/server-1.log SERVER_OUT=$TEST_TMP/server-1.out
"$top/scripts/in-root.sh" "$sid" env -u VN_DEBUG -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$LVP_ICD" \
  LD_LIBRARY_PATH="$in/lib" "$in/${SERVER_BIN##*/}" --socket "$in/vtest.sock" "${SERVER_EXTRA_ARGS[@]}" --log-level info \
  >"$SERVER_OUT" 2>"$SERVER_LOG" &
SERVER_PID=$!
for _ in $(seq 300); do [ -S "$SERVER_SOCK" ] && break; sleep 0.05; done
[ -S "$SERVER_SOCK" ] || { fail "the server did not start in the sid root"; show_tail "$SERVER_LOG"; finish; }

in_sid() { "$top/scripts/in-root.sh" "$sid" timeout -k 5 600 env GGML_VK_VISIBLE_DEVICES=0 "$@"; }
passed() { sed -nE 's/^ *([0-9]+)\/([0-9]+) tests passed.*/\1 \2/p' "$1" | head -n1; }

rc=0
in_sid VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json "$tbo" -b Vulkan0 -o MUL_MAT -p "$slice" \
  >"$TEST_TMP/native.out" 2>&1 || rc=$?
read -r n_ok n_all <<<"$(passed "$TEST_TMP/native.out")" || true
if [ $rc -ne 0 ] || [ -z "${n_all:-}" ] || [ "$n_all" = 0 ]; then
  fail "test-backend-ops natively on sid's lavapipe: $(describe_rc $rc), '${n_ok:-?}/${n_all:-?}' passed"
  show_tail "$TEST_TMP/native.out"
  finish
fi
note "natively (sid's lavapipe): $n_ok/$n_all MUL_MAT cases passed"

rc=0
in_sid VN_DEBUG=vtest VTEST_SOCKET_NAME="$in/vtest.sock" VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json \
  "$tbo" -b Vulkan0 -o MUL_MAT -p "$slice" >"$TEST_TMP/venus.out" 2>&1 || rc=$?
read -r v_ok v_all <<<"$(passed "$TEST_TMP/venus.out")" || true
device=$(sed -nE 's/^ggml_vulkan: 0 = ([^|]*[^| ]) *\|.*/\1/p' "$TEST_TMP/venus.out" | head -n1)
if [ $rc -eq 0 ] && [ "${v_ok:-}" = "$n_ok" ] && [ "${v_all:-}" = "$n_all" ]; then
  pass "test-backend-ops MUL_MAT slice through the server (Mesa 26 guest): $v_ok/$v_all passed, as natively (${device:-?})"
else
  fail "test-backend-ops through the server: $(describe_rc $rc), ${v_ok:-?}/${v_all:-?} passed against $n_ok/$n_all natively"
  grep -m5 -E 'FAIL|error' "$TEST_TMP/venus.out" | sed 's/^/         | /' || true
  show_tail "$SERVER_LOG" 10
fi

python3 "$top/bench/gguf_model.py" tiny "$work/tiny.gguf" >/dev/null
rc=0
in_sid VN_DEBUG=vtest VTEST_SOCKET_NAME="$in/vtest.sock" VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json \
  llama-bench -m "$in/tiny.gguf" -p 16 -n 4 -r 1 -ngl 99 -o csv >"$TEST_TMP/bench.out" 2>&1 || rc=$?
rows=$(grep -c '^"' "$TEST_TMP/bench.out" || true)
if [ $rc -eq 0 ] && [ "$rows" = 2 ]; then
  pass "llama-bench through the server on a random-weight model: prompt and generation ran"
else
  fail "llama-bench through the server: $(describe_rc $rc), $rows result rows of 2"
  show_tail "$TEST_TMP/bench.out"
fi

check_no_errors
check_no_drops
server_stop
finish

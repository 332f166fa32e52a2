#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cooperative matrices through the server: vk_coopmat (a float16 matrix
# multiply with VK_KHR_cooperative_matrix, checked against the CPU) natively
# and through the server with sid's Mesa 26 guest, byte for byte. The host
# driver is this machine's where it has the extension, else sid's lavapipe
# 26 in the sid root (ROOTS=1 make roots), with the server run there too;
# SKIP when neither has it. The Mesa 25.0.7 guest has no cooperative
# matrices.
. "$(dirname "$0")/lib.sh"

require_tools cmp
top=$TESTS_DIR/..

sid=""
if ! posix_build &&
   ! ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  sid=$("$top/scripts/debian-root.sh" sid 2>"$TEST_TMP/sid-root.err") || sid=""
fi
[ -n "$sid" ] || { skip "no sid root (ROOTS=1 make roots): no Mesa 26 guest"; finish; }
dir=$(mktemp -d "$sid/tmp/vs-coopmat.XXXXXX")
inner=${dir#"$sid"}
trap 'lib_cleanup; rm -rf --one-file-system "$dir"' EXIT
"$top/scripts/into-root.sh" "$sid" "$dir" "$BUILD_DIR/tests/vk_coopmat" "$SERVER_BIN"
mkdir -p "$dir/native" "$dir/venus"
in_sid() { "$top/scripts/in-root.sh" "$sid" env LD_LIBRARY_PATH="$inner/lib" "$@"; }

# The host driver: this machine's, else the sid root's lavapipe.
host=here
rc=0
env -u VN_DEBUG VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 120 "$BUILD_DIR/tests/vk_coopmat" --out-dir "$dir/native" \
  >"$TEST_TMP/native.out" 2>&1 || rc=$?
if [ $rc = 2 ]; then
  note "this machine's driver lacks it ($(tail -n1 "$TEST_TMP/native.out")): sid's lavapipe is the host"
  host=sid
  rc=0
  in_sid VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json timeout -k 5 120 "$inner/vk_coopmat" \
    --out-dir "$inner/native" >"$TEST_TMP/native.out" 2>&1 || rc=$?
fi
case $rc in
  0) pass "natively ($host): $(grep -m1 '^ok: shape' "$TEST_TMP/native.out" | sed 's/^ok: //'), $(grep -m1 '^ok: product' "$TEST_TMP/native.out" | sed 's/^ok: //')" ;;
  2) skip "the host driver lacks it: $(tail -n1 "$TEST_TMP/native.out")"; finish ;;
  *) fail "natively ($host): $(describe_rc $rc)"; show_tail "$TEST_TMP/native.out"; finish ;;
esac

if [ $host = here ]; then
  server_start_at "$dir/vtest.sock" --log-level info || finish
else
  # The server on sid's lavapipe, in the root (lib.sh's server_stop and
  # check_no_errors read SERVER_PID, SERVER_SOCK and SERVER_LOG); in-root.sh
  # becomes the server, so $! is its pid.
  SERVER_SOCK=$dir/vtest.sock SERVER_LOG=$TEST_TMP/server.log
  "$top/scripts/in-root.sh" "$sid" env LD_LIBRARY_PATH="$inner/lib" VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json "$inner/venus-server" --socket "$inner/vtest.sock" \
    --log-level info >"$TEST_TMP/server.out" 2>"$SERVER_LOG" &
  # shellcheck disable=SC2034 # lib.sh reads it
  SERVER_PID=$!
  for _ in $(seq 300); do [ -S "$SERVER_SOCK" ] && break; sleep 0.05; done
  [ -S "$SERVER_SOCK" ] || { fail "the server in the sid root did not listen"; show_tail "$SERVER_LOG"; finish; }
fi

rc=0
in_sid VN_DEBUG=vtest VTEST_SOCKET_NAME="$inner/vtest.sock" VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json \
  timeout -k 5 120 "$inner/vk_coopmat" --out-dir "$inner/venus" >"$TEST_TMP/venus.out" 2>&1 || rc=$?
case $rc in
  0) pass "through the server (Mesa 26 guest): $(grep -m1 '^ok: product' "$TEST_TMP/venus.out" | sed 's/^ok: //')"
     if cmp -s "$dir/native/coopmat.bin" "$dir/venus/coopmat.bin"; then
       pass "coopmat.bin byte-identical to native"
     else
       fail "coopmat.bin differs from native"
     fi ;;
  2) fail "the Mesa 26 guest is not offered what the host has: $(tail -n1 "$TEST_TMP/venus.out")" ;;
  *) fail "through the server: $(describe_rc $rc)"; show_tail "$TEST_TMP/venus.out"; show_tail "$SERVER_LOG" ;;
esac
check_no_errors
server_stop
finish

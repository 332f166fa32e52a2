#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vk_compute (64 MiB src and dst, persistently mapped, every word checked in
# two rounds through the same mappings) natively as a sanity check, then
# through the server with each memory strategy forced: host-pointer,
# opaque-fd, dmabuf (SKIP where the server says the strategy "is not
# available" on this host), host-pointer with a 16 KiB guest page size, and
# auto, then auto in a sandboxed worker process (--isolate process). The
# server must drop no client and stay up.
. "$(dirname "$0")/lib.sh"

require_tools timeout

COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }

rc=0; native_run "$COMPUTE" --mib 64 >"$TEST_TMP/native.out" 2>"$TEST_TMP/native.err" || rc=$?
client_check "native lavapipe: vk_compute --mib 64" "$TEST_TMP/native.out" "$rc" || true
grep -m1 '^info: compute time' "$TEST_TMP/native.out" | sed "s/^/     $TEST_NAME: native /" || true

# through LABEL SERVER_ARGS...: one server, one vk_compute --mib 64 through it.
through() {
  local label=$1; shift
  local out=$TEST_TMP/$label.out rc=0 why
  server_start "$@" || return 0
  venus_run "$COMPUTE" --mib 64 >"$out" 2>"${out%.out}.err" || rc=$?
  why=$(grep -m1 -o 'memory strategy .* is not available.*' "$SERVER_LOG" || true)
  if [ "$rc" -ne 0 ] && [ -n "$why" ]; then
    skip "$label: server says: $why"
  elif client_check "$label: vk_compute --mib 64 through the server" "$out" "$rc"; then
    grep -m1 '^info: compute time' "$out" | sed "s/^/     $TEST_NAME: $label: /" || true
  fi
  check_no_drops "$label"
  check "$label: server still running after the client" server_alive
  server_stop || true
}

for strategy in host-pointer opaque-fd dmabuf; do
  through "$strategy" --memory "$strategy"
done
through host-pointer-16k --memory host-pointer --page-size 16384
through auto --memory auto
# In a worker process of its own, in its sandbox (docs/security.md "Workers' sandbox").
through process-worker --memory auto --isolate process --log-level info
check "process-worker: the worker entered its sandbox" grep -qE 'sandbox: worker [0-9]+: .* in force' "$SERVER_LOG"
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A context imports what it exported (weston's buffers through zink on
# Venus: a guest process exports a dma-buf of its own memory and imports
# it on the same DRM fd, so vkAllocateMemory's VkImportMemoryResourceInfoMESA
# names a blob of its own context). On a VM's device (`--vhost-user`, the
# fake front end tests/vhost_user/reimport_vmm.py): the import is served,
# a GPU fill of a buffer on it is read through the exported blob's mapping,
# also after the exported memory is freed or the blob unreferenced, freed
# in either order. Over vtest (tests/vtest_reimport.py): writes through
# the exported blob and the import's blob are each other's, the pages
# outlive the exported memory and its blob; an import of a blob made
# without SHAREABLE (the server keeps no fd of it) fails with one line
# saying so, and the client carries on. Nothing else is refused or logged
# as a warning or an error.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { skip "python3 is not installed"; finish; }
[ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }

# --- a VM's device ----------------------------------------------------------
sock=$TEST_TMP/gpu.sock log=$TEST_TMP/vm-server.log
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$sock" --vm-size 64x48 \
  --vm-hostmem 16 --ready-workers 1 >"$TEST_TMP/vm-server.out" 2>"$log" &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
if [ -S "$sock" ]; then
  rc=0
  timeout -k 5 120 python3 "$TESTS_DIR/vhost_user/reimport_vmm.py" "$sock" "$TEST_TMP/vm.out" \
    >"$TEST_TMP/vm.log" 2>&1 || rc=$?
  check "VM: the front end ran to its end (status $rc)" grep -qx done "$TEST_TMP/vm.out"
  while IFS=$'\t' read -r kind name verdict seen; do
    [ "$kind" = check ] || continue
    if [ "$verdict" = ok ]; then pass "VM: $name"; else fail "VM: $name: $seen"; fi
  done <"$TEST_TMP/vm.out"
  kill -TERM "$server" 2>/dev/null || true
  rc=0
  wait "$server" || rc=$?
  check "VM: the server stopped on SIGTERM (status $rc)" test "$rc" -eq 0
  problems=$(grep -E '(^|: )venus-server: (warn|error):' "$log" || true)
  check "VM: the server logged no warn/error line${problems:+: $problems}" test -z "$problems"
  [ "$N_FAIL" -eq 0 ] || { show_tail "$TEST_TMP/vm.log"; show_tail "$log" 20; }
else
  fail "the server did not listen on $sock"
  show_tail "$log"
fi

# --- vtest --------------------------------------------------------------------
server_start || finish
rc=0
timeout -k 5 60 python3 "$TESTS_DIR/vtest_reimport.py" "$SERVER_SOCK" shareable >"$TEST_TMP/vtest.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  while read -r line; do pass "vtest: ${line#ok: }"; done < <(grep '^ok:' "$TEST_TMP/vtest.out")
else
  fail "vtest: $(describe_rc "$rc"): $(grep -m3 '^error:' "$TEST_TMP/vtest.out" | tr '\n' ' ')"
  show_tail "$SERVER_LOG" 8
fi
check_no_errors
rc=0
timeout -k 5 60 python3 "$TESTS_DIR/vtest_reimport.py" "$SERVER_SOCK" unshareable >"$TEST_TMP/unshareable.out" 2>&1 || rc=$?
check "vtest: a failed import of a blob made without SHAREABLE leaves the client served (status $rc)" test "$rc" -eq 0
lines=$(grep -E '(^|: )venus-server: (warn|error):' "$SERVER_LOG" || true)
check "vtest: the one warn/error line says why: $(printf '%s' "$lines" | tr '\n' '|')" test "$(grep -c . <<<"$lines")" -eq 1 -a \
  "$(grep -c 'warn: ctx [0-9]*: vkAllocateMemory: import of resource [0-9]* (65536 bytes, type 0): the resource has no fd to import (a blob of memory made without the SHAREABLE flag): VK_ERROR_INVALID_EXTERNAL_HANDLE$' <<<"$lines")" -eq 1
server_stop || true
finish

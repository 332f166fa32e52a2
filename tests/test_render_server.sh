#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# venus-server as a VMM's render server (--socket-fd), driven by
# tests/rs_vmm.c, which plays the VMM side of virglrenderer's render-server
# protocol without libvirglrenderer: several contexts, fences on several
# rings checked in the seqno table, a memfd imported (IMPORT_RESOURCE) and
# allocated as Vulkan memory then read back, resource and context
# destruction, hostile messages (each ends only its own context, with one
# log line), a malformed client op, SIGKILL of the server mid-work (with
# thread and with process workers: no worker may outlive it), the
# SOCK_STREAM (macOS) framings (the fork's header8 and upstream's be32,
# detected and named), --isolate process with a worker SIGKILLed, and
# upstream's spawned workers (--isolate spawn; the server started with
# --worker-context-* as such a worker), and the VM's share (contexts,
# device memory in host RAM, worker starts) with every kind of worker.
# (Page-rounded blobs: test_rounded_blobs.)
. "$(dirname "$0")/lib.sh"

[ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }
VMM=$BUILD_DIR/tests/rs_vmm
# A -Dos=posix build (the macOS path) shares POSIX shm, which has no seals.
if posix_build; then
  export RS_VMM_SEALS=0
  note "posix OS backend: blobs are POSIX shm, not sealable memfds (a Linux VMM's proxy needs the default backend)"
fi
[ -x "$VMM" ] || { fail "no $VMM (built by make)"; finish; }

# vmm NAME [rs_vmm args...]: one run; its server's stderr goes to NAME.log.
vmm() {
  local name=$1; shift
  local rc=0 args=()
  for a in "${SERVER_EXTRA_ARGS[@]}"; do args+=(--server-arg "$a"); done
  env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 240 \
    "$VMM" "$SERVER_BIN" "${args[@]}" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.log" || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$name.out"; then
    pass "$name: $(grep -c '^ok:' "$TEST_TMP/$name.out") checks ok"
  else
    fail "$name: $(describe_rc "$rc")"
    grep -m8 '^error:' "$TEST_TMP/$name.out" | sed 's/^/         | /' || true
    show_tail "$TEST_TMP/$name.log" 10
  fi
  if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$TEST_TMP/$name.log"; then
    fail "$name: sanitizer report in the server log"
  fi
  return 0
}

# Errors a well-behaved VMM must never cause.
no_errors() {
  local name=$1 errors
  errors=$(grep -E '^(worker process [0-9]+: )?venus-server: error:' "$TEST_TMP/$name.log" || true)
  if [ -z "$errors" ]; then pass "$name: the server logged no error line"; else
    fail "$name: error lines:"; printf '%s\n' "$errors" | head -5 | sed 's/^/         | /'; fi
}

# Every hostile context: exactly one error line, naming that context only.
one_line_each() {
  local name=$1 id what n bad=0 total
  total=$(grep -c '^hostile ' "$TEST_TMP/$name.out" || true)
  while read -r _ id what; do
    n=$(grep -cE "^(worker process [0-9]+: )?venus-server: error: ctx $id: " "$TEST_TMP/$name.log" || true)
    if [ "$n" -ne 1 ]; then
      fail "$name: hostile '$what' (ctx $id) logged $n error lines, want exactly 1"
      bad=1
    fi
  done < <(grep '^hostile ' "$TEST_TMP/$name.out")
  n=$(grep -E '^(worker process [0-9]+: )?venus-server: error:' "$TEST_TMP/$name.log" | grep -vcE 'ctx (1[0-9]|2[0-9]):' || true)
  [ "$n" -eq 0 ] || { fail "$name: $n error line(s) about other contexts or the server"; bad=1; }
  [ "$total" -ge 10 ] || { fail "$name: only $total hostile cases ran"; bad=1; }
  [ "$bad" -eq 1 ] || pass "$name: each of $total hostile contexts ended with exactly one log line, no other"
}

vmm work work; no_errors work
vmm work-stream --stream work; no_errors work-stream
vmm work-be32 --stream-be32 work; no_errors work-be32
vmm work-be32-named --stream-be32 --server-arg --stream-framing --server-arg be32 work; no_errors work-be32-named
vmm work-header8-named --stream --server-arg --stream-framing --server-arg header8 work; no_errors work-header8-named
for log in work-stream work-be32; do
  want=header8; [ "$log" = work-be32 ] && want=be32
  check "$log: the server detected the $want framing" grep -q "the VMM speaks the $want stream framing" "$TEST_TMP/$log.log"
done
vmm hostile hostile; one_line_each hostile
vmm hostile-stream --stream hostile; one_line_each hostile-stream
vmm hostile-be32 --stream-be32 hostile; one_line_each hostile-be32
# Upstream's spawned workers: our own (--isolate spawn) and the server
# started as one (its --worker-context-* arguments).
vmm work-spawn --server-arg --isolate --server-arg spawn work; no_errors work-spawn
vmm work-spawn-be32 --stream-be32 --server-arg --isolate --server-arg spawn work; no_errors work-spawn-be32
vmm sigkill-spawn --server-arg --isolate --server-arg spawn sigkill
vmm worker worker; no_errors worker
vmm worker-be32 --stream-be32 worker; no_errors worker-be32
vmm client-hostile client-hostile
vmm sigkill sigkill
# The default is a process per context, from a pool of ready workers;
# --isolate thread (one trusted tenant) and a pool of none still work.
vmm work-thread --server-arg --isolate --server-arg thread work; no_errors work-thread
vmm hostile-thread --server-arg --isolate --server-arg thread hostile; one_line_each hostile-thread
vmm work-unpooled --server-arg --ready-workers --server-arg 0 work; no_errors work-unpooled
# sigkill only queues work (it waits for no reply) before the SIGKILL, so
# a worker is often still between fork and tying itself to the server.
vmm sigkill-unpooled --server-arg --ready-workers --server-arg 0 sigkill
# isolate finds each context's worker as the server's newest child: no
# ready workers beside them.
vmm isolate --server-arg --ready-workers --server-arg 0 isolate
n=$(grep -c 'killed by signal 9; only this context is gone' "$TEST_TMP/isolate.log" || true)
check "isolate: the dead worker was logged exactly once ($n)" test "$n" -eq 1

# The VM's share, for each kind of worker: contexts at once, device memory
# in host RAM (one ledger for all the VM's contexts), and (process) worker
# starts: 8 a minute is a burst of 2, so the third context waits for its
# worker, nothing refused.
for iso in process spawn thread; do
  starts=(); [ "$iso" = process ] && starts=(--server-arg --limit --server-arg worker-starts-per-min=8)
  vmm "share-$iso" --server-arg --isolate --server-arg "$iso" --server-arg --limit --server-arg clients=3 \
    --server-arg --limit --server-arg memory-per-peer-mib=64 "${starts[@]}" share
  check "share-$iso: the 4th context's refusal names its limit" \
    grep -q 'refused: the VM holds 3 contexts, the most (limit clients=3)' "$TEST_TMP/share-$iso.log"
  check "share-$iso: the refused memory's line names the VM's share" \
    grep -q 'exceed their 67108864 (limit memory-per-peer-mib=64)' "$TEST_TMP/share-$iso.log"
done
check "share-process: the third context waited for its worker start" \
  grep -q 'has taken its worker processes for now (limit worker-starts-per-min=8)' "$TEST_TMP/share-process.log"

# The server must never write to stdout (it is the VMM's).
out=$(env VK_ICD_FILENAMES="$LVP_ICD" python3 - "$SERVER_BIN" <<'PY'
import os, socket, subprocess, sys, struct
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
r, w = os.pipe()
p = subprocess.Popen([sys.argv[1], "--socket-fd", str(b.fileno()), "--log-level", "debug"],
                     pass_fds=[b.fileno()], stdout=w, stderr=subprocess.DEVNULL)
os.close(w); b.close()
a.send(struct.pack("II", 1, 0x2e2)); a.send(struct.pack("I", 0)); a.close()
p.wait(timeout=20)
print(len(os.read(r, 65536)))
PY
) || out=error
check "nothing written to stdout in render-server mode (got ${out} bytes)" test "$out" = 0
finish

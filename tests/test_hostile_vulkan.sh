#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/vk_hostile.c, a Vulkan client breaking valid usage to reach memory
# that is not its own, mode by mode: each hostile client
# is dropped with one 'dropping client:' line naming the violation (a huge
# queueCount may instead be refused with a VkResult), the server survives, and
# a compute client running alongside (tests/vk_compute) finishes with every
# word right and never sees the hostile client's fill pattern (0x41414141) in
# its fresh memory. truncate-memory ftruncates the server's shared memory
# under it: sealed memfds refuse (no drop, the client finishes), memory that
# cannot be sealed (-Dos=posix) costs the server nothing but that client
# (dropped, or dead of SIGBUS on its own truncated mapping first).
# The *-first modes index the host driver's state arrays just past the
# device's limits: each is dropped before the driver sees it.
# Then the lifetime cases (see the second part), a shader that never
# ends (the third part), a client making VkDevices in a loop (the
# fourth), a host driver's allocation past the worker's memory bound
# (the fifth) and its threads past the worker's task bound (the sixth).
. "$(dirname "$0")/lib.sh"

require_tools timeout

COMPUTE=$BUILD_DIR/tests/vk_compute
HOSTILE=$BUILD_DIR/tests/vk_hostile
for bin in "$COMPUTE" "$HOSTILE"; do
  [ -x "$bin" ] || { fail "no $bin (built by make)"; finish; }
done
SECRET_MARKER=0x4141414141414141
DROP_RE='dropping client:'

server_start --log-level info || finish

# HOSTILE_MODES picks some of the modes (a quick run of a few).
for mode in ${HOSTILE_MODES:-bind-out-of-range fill-out-of-range copy-out-of-range copy-whole-size dispatch-no-pipeline \
    unbound-buffer barrier-out-of-range descriptor-write-out-of-range descriptor-copy-out-of-range huge-queue-count protected-queue \
    truncate-memory viewport-first scissor-first vertex-binding-first push-constants-outside descriptor-set-first \
    secondary-executes-itself secondaries-execute-each-other nesting-too-deep destroy-module-while-compiling}; do
  venus_run "$COMPUTE" --mib 4 --rounds 4 --pause-ms 300 --check-foreign "$SECRET_MARKER" \
    >"$TEST_TMP/$mode-compute.out" 2>"$TEST_TMP/$mode-compute.err" &
  compute_pid=$!; BG_PIDS+=("$compute_pid")
  deadline=$((SECONDS + 30))
  until grep -q '^ok:' "$TEST_TMP/$mode-compute.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done

  before=$(log_count "$DROP_RE")
  rc=0; venus_run 20 "$HOSTILE" "$mode" >"$TEST_TMP/$mode.out" 2>"$TEST_TMP/$mode.err" || rc=$?
  if ! server_alive; then
    fail "$mode: the server died"
    show_tail "$SERVER_LOG"
    break
  fi
  wait_log_count "$DROP_RE" $((before + 1)) 3 || true
  sleep 0.3
  got=$(( $(log_count "$DROP_RE") - before ))
  line=$(grep -E "$DROP_RE" "$SERVER_LOG" | tail -n1 || true)
  if [ "$got" -eq 1 ]; then
    pass "$mode: dropped once (${line#venus-server: })"
  elif [ "$mode" = truncate-memory ] && [ "$got" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$mode.out"; then
    pass "$mode: $(grep -m1 'ftruncate' "$TEST_TMP/$mode.out" | sed 's/^info: //'), the client finished"
  elif [ "$mode" = truncate-memory ] && [ "$got" -eq 0 ] && [ "$rc" -eq 135 ] && grep -q ' [1-9][0-9]* truncated' "$TEST_TMP/$mode.out"; then
    # Unsealable memory (-Dos=posix): the client may touch its own truncated
    # ring before the server reads it, and die of SIGBUS first.
    pass "$mode: $(grep -m1 'ftruncate' "$TEST_TMP/$mode.out" | sed 's/^info: //'); the client died of SIGBUS on its own mapping before the server read it"
  elif [ "$mode" = truncate-memory ] && grep -q '^SKIP' "$TEST_TMP/$mode.out"; then
    skip "$mode: $(grep -m1 '^SKIP' "$TEST_TMP/$mode.out" | sed 's/^SKIP: //')"
  elif [ "$mode" = destroy-module-while-compiling ] && [ "$got" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$mode.out"; then
    pass "$mode: every create ran before the destroy: $(grep -m1 '^ok:' "$TEST_TMP/$mode.out" | sed 's/^ok: //')"
  elif [ "$mode" = huge-queue-count ] && [ "$got" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q '^ok: .*refused' "$TEST_TMP/$mode.out"; then
    pass "$mode: refused: $(grep -m1 '^ok: .*refused' "$TEST_TMP/$mode.out" | sed 's/^ok: //')"
  else
    fail "$mode: $got 'dropping client:' line(s), client $(describe_rc $rc) (want one drop)"
    show_tail "$TEST_TMP/$mode.out" 5
  fi

  rc=0; wait "$compute_pid" || rc=$?
  client_check "$mode: compute client alongside (checks for marker $SECRET_MARKER)" \
    "$TEST_TMP/$mode-compute.out" "$rc" || true
done

check "server still running after every hostile client" server_alive
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/after.out"; then
  pass "vulkaninfo --summary after every hostile client: exit 0"
else
  fail "vulkaninfo --summary after the hostile clients: $(describe_rc $rc)"
fi
server_stop || true

# Lifetimes, in both isolation modes: work recorded, then what it
# names destroyed or freed, then submitted. The server keeps the host
# objects until the command buffer lets go: the submit runs (PASSED), no
# client is dropped, the server stays up; a set freed with its pool makes
# the submit refused with one line. Then two clients: the attacker frees
# 8 MiB under recorded work while the victim allocates 8 MiB; neither may
# see the other's bytes.
for iso in thread process; do
  server_start --log-level info --isolate "$iso" || break
  for mode in destroy-buffer-after-record free-memory-after-record destroy-event-after-record \
      destroy-query-pool-after-record destroy-image-view-after-record destroy-descriptor-target-after-record \
      free-descriptor-set-after-record; do
    tag="$iso: $mode"
    venus_run "$COMPUTE" --mib 4 --rounds 2 --pause-ms 100 --check-foreign "$SECRET_MARKER" \
      >"$TEST_TMP/$iso-$mode-compute.out" 2>"$TEST_TMP/$iso-$mode-compute.err" &
    compute_pid=$!; BG_PIDS+=("$compute_pid")
    before=$(log_count "$DROP_RE")
    rc=0; venus_run 30 "$HOSTILE" "$mode" >"$TEST_TMP/$iso-$mode.out" 2>"$TEST_TMP/$iso-$mode.err" || rc=$?
    if ! server_alive; then
      fail "$tag: the server died"
      show_tail "$SERVER_LOG"
      break 2
    fi
    if [ "$mode" = free-descriptor-set-after-record ]; then
      wait_log_count "$DROP_RE" $((before + 1)) 3 || true
      got=$(( $(log_count "$DROP_RE") - before ))
      line=$(grep -E "$DROP_RE" "$SERVER_LOG" | tail -n1 || true)
      if [ "$got" -eq 1 ] && grep -q 'freed with its pool' <<<"$line"; then
        pass "$tag: submit refused once (${line#venus-server: })"
      else
        fail "$tag: $got 'dropping client:' line(s) (want one naming the freed set): $line"
      fi
    elif [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$iso-$mode.out" &&
        [ "$(log_count "$DROP_RE")" -eq "$before" ]; then
      pass "$tag: $(grep '^ok:' "$TEST_TMP/$iso-$mode.out" | tail -n1 | sed 's/^ok: //')"
    else
      fail "$tag: client $(describe_rc $rc), $(( $(log_count "$DROP_RE") - before )) drop(s) (want PASSED, none)"
      show_tail "$TEST_TMP/$iso-$mode.out" 5
      show_tail "$SERVER_LOG" 5
    fi
    rc=0; wait "$compute_pid" || rc=$?
    client_check "$tag: compute client alongside" "$TEST_TMP/$iso-$mode-compute.out" "$rc" || true
  done

  sync_dir=$(mktemp -d "$TEST_TMP/uaf-XXXXXX")
  HOSTILE_SYNC_DIR=$sync_dir venus_run 60 "$HOSTILE" uaf-victim >"$TEST_TMP/$iso-victim.out" 2>&1 &
  victim_pid=$!; BG_PIDS+=("$victim_pid")
  arc=0; HOSTILE_SYNC_DIR=$sync_dir venus_run 60 "$HOSTILE" uaf-attacker >"$TEST_TMP/$iso-attacker.out" 2>&1 || arc=$?
  vrc=0; wait "$victim_pid" || vrc=$?
  check "$iso: cross-client use after free: server still running" server_alive
  if [ "$vrc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$iso-victim.out"; then
    pass "$iso: uaf victim: $(grep '^ok:' "$TEST_TMP/$iso-victim.out" | tail -n1 | sed 's/^ok: //')"
  else
    fail "$iso: uaf victim: $(describe_rc $vrc)"
    show_tail "$TEST_TMP/$iso-victim.out" 5
  fi
  if [ "$arc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$iso-attacker.out"; then
    pass "$iso: uaf attacker: $(grep -m1 '^ok: .*attacker' "$TEST_TMP/$iso-attacker.out" | sed 's/^ok: //')"
  else
    fail "$iso: uaf attacker: $(describe_rc $arc)"
    show_tail "$TEST_TMP/$iso-attacker.out" 5
  fi
  server_stop || true
done

# A compute shader that never ends, in both isolation
# modes, with --limit gpu-timeout-ms=2000: the client's unbounded fence
# wait returns VK_ERROR_DEVICE_LOST (it returns at all: no time is
# asserted), with one line naming the limit; a compute client beside it is
# served; with --isolate process the client's worker exits with the host
# work (lavapipe cannot stop a shader) and the parent says so.
for iso in thread process; do
  server_start --log-level info --isolate "$iso" --limit gpu-timeout-ms=2000 || break
  venus_run "$COMPUTE" --mib 4 --rounds 20 --pause-ms 300 >"$TEST_TMP/$iso-runaway-compute.out" \
    2>"$TEST_TMP/$iso-runaway-compute.err" &
  compute_pid=$!; BG_PIDS+=("$compute_pid")
  rc=0; venus_run 120 "$HOSTILE" runaway-shader >"$TEST_TMP/$iso-runaway.out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^ok: device lost' "$TEST_TMP/$iso-runaway.out"; then
    pass "$iso: runaway shader: $(grep -m1 '^ok: device lost' "$TEST_TMP/$iso-runaway.out" | sed 's/^ok: //')"
  else
    fail "$iso: runaway shader: client $(describe_rc $rc), no VK_ERROR_DEVICE_LOST"
    show_tail "$TEST_TMP/$iso-runaway.out" 5
  fi
  check "$iso: runaway shader: one line names the limit" \
    [ "$(log_count 'device lost: submission on queue [0-9]+ not finished after 2000 ms \(limit gpu-timeout-ms\)')" -eq 1 ]
  rc=0; wait "$compute_pid" || rc=$?
  client_check "$iso: runaway shader: a compute client beside it" "$TEST_TMP/$iso-runaway-compute.out" "$rc" || true
  if [ "$iso" = process ]; then
    check "process: runaway shader: its worker exited (logged)" \
      wait_log_count 'client worker process [0-9]+ exited, ending the host work' 1 60
  fi
  check "$iso: server still running" server_alive
  server_stop || true
done

# VkDevices per context, in both isolation modes (the worker's warm-up
# hands its prepared device to a client's first vkCreateDevice), with
# --limit devices=4: a client making devices in a loop is refused the
# fifth with VK_ERROR_TOO_MANY_OBJECTS, and once more, at the cost of one
# line; after destroying one it makes one again and uses it. A second such
# client, a context of its own, gets its own four and its own line; a
# compute client beside them is served; nobody is dropped.
DEVICES_RE='vkCreateDevice refused: the context holds 4 VkDevices \(limit devices=4\)'
for iso in thread process; do
  server_start --log-level info --isolate "$iso" --limit devices=4 || break
  venus_run "$COMPUTE" --mib 4 --rounds 8 --pause-ms 300 >"$TEST_TMP/$iso-flood-compute.out" \
    2>"$TEST_TMP/$iso-flood-compute.err" &
  compute_pid=$!; BG_PIDS+=("$compute_pid")
  for client in 1 2; do
    out=$TEST_TMP/$iso-device-flood-$client.out
    rc=0; venus_run 60 "$HOSTILE" device-flood >"$out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$out" &&
        grep -q '^ok: vkCreateDevice refused after 4 devices: VK_ERROR_TOO_MANY_OBJECTS$' "$out"; then
      pass "$iso: device flood, client $client: $(awk '/^ok: /{sub(/^ok: /, ""); printf "%s%s", n++ ? "; " : "", $0}' "$out")"
    else
      fail "$iso: device flood, client $client: $(describe_rc $rc)"
      show_tail "$out" 5
    fi
    wait_log_count "$DEVICES_RE" "$client" 5 || true
    check "$iso: device flood, client $client: one line names the limit" \
      [ "$(log_count "$DEVICES_RE")" -eq "$client" ]
  done
  rc=0; wait "$compute_pid" || rc=$?
  client_check "$iso: device flood: a compute client beside it" "$TEST_TMP/$iso-flood-compute.out" "$rc" || true
  check_no_drops "$iso: device flood"
  check "$iso: device flood: server still running" server_alive
  server_stop || true
done

# The kernel's bound on a worker's private memory (--limit
# worker-memory-mib, RLIMIT_DATA), beneath the server's counts: a pool of
# 2^27 queries, for which lavapipe allocates 1 GiB of pointers, is made
# under the default bound and refused by the host driver under 512 MiB;
# the client that used it is dropped with one line naming the failed
# create, and a compute client beside it is served.
server_start --log-level info || finish
rc=0; venus_run 60 "$HOSTILE" huge-query-pool >"$TEST_TMP/query-pool-default.out" 2>&1 || rc=$?
check "worker memory: under the default bound the pool of 2^27 queries is made ($(describe_rc $rc))" \
  grep -q '^PASSED' "$TEST_TMP/query-pool-default.out"
server_stop || true
server_start --log-level info --limit worker-memory-mib=512 || finish
# (a pooled worker logs it once it has entered its sandbox: waited for)
check "worker memory: the worker's sandbox line names the bound" \
  wait_log_count 'sandbox: worker [0-9]+: .*private memory at most 512 MiB \(limit worker-memory-mib\)(, [^,]*)? in force' 1 30
venus_run "$COMPUTE" --mib 4 --rounds 8 --pause-ms 300 >"$TEST_TMP/bound-compute.out" 2>"$TEST_TMP/bound-compute.err" &
compute_pid=$!; BG_PIDS+=("$compute_pid")
rc=0; venus_run 60 "$HOSTILE" huge-query-pool >"$TEST_TMP/query-pool-bound.out" 2>&1 || rc=$?
POOL_RE='dropping client: vkGetQueryPoolResults: object id [0-9]+ was never created: vkCreateQueryPool failed with VK_ERROR_OUT_OF_HOST_MEMORY'
wait_log_count "$POOL_RE" 1 10 || true
check "worker memory: under 512 MiB the pool's client is dropped with one line ($(describe_rc $rc)): $(grep -oE "$POOL_RE" "$SERVER_LOG" | head -n1)" \
  [ "$(log_count "$POOL_RE")" -eq 1 ]
rc=0; wait "$compute_pid" || rc=$?
client_check "worker memory: a compute client beside it" "$TEST_TMP/bound-compute.out" "$rc" || true
check "worker memory: server still running" server_alive
server_stop || true

# The kernel's bound on a worker's tasks (--limit worker-tasks, a pids
# cgroup per worker where the host allows one), beneath the server's
# counts: with 16 tasks and the devices limit at 32, a client making
# VkDevices in a loop is refused by the host driver once its worker holds
# 16 tasks (lavapipe: 8 after warm-up, 2 more a device), before the
# server's count, at the cost of one line; a compute client beside it is
# served.
server_start --log-level info --limit worker-tasks=16 --limit devices=32 || finish
if grep -q 'worker tasks: no kernel bound' "$SERVER_LOG"; then
  skip "worker tasks: $(sed -n 's/.*worker tasks: //p' "$SERVER_LOG" | head -n 1)"
else
  check "worker tasks: the worker's sandbox line names the bound" \
    wait_log_count 'sandbox: worker [0-9]+: .*tasks at most 16 \(limit worker-tasks\) in force' 1 30
  venus_run "$COMPUTE" --mib 4 --rounds 8 --pause-ms 300 >"$TEST_TMP/tasks-compute.out" 2>"$TEST_TMP/tasks-compute.err" &
  compute_pid=$!; BG_PIDS+=("$compute_pid")
  rc=0; venus_run 60 "$HOSTILE" device-flood >"$TEST_TMP/tasks-flood.out" 2>&1 || rc=$?
  made=$(sed -n 's/^error: vkCreateDevice after \([0-9]*\) devices: .*/\1/p' "$TEST_TMP/tasks-flood.out")
  check "worker tasks: the flood's vkCreateDevice failed after ${made:-?} devices, short of the server's 32 ($(describe_rc $rc))" \
    test "${made:-32}" -lt 32
  TASKS_RE='host vkCreateDevice failed'
  wait_log_count "$TASKS_RE" 1 10 || true
  check "worker tasks: one line: $(grep -oE "ctx [0-9]+: $TASKS_RE: [A-Z_]+" "$SERVER_LOG" | head -n1)" \
    [ "$(log_count "$TASKS_RE")" -eq 1 ]
  rc=0; wait "$compute_pid" || rc=$?
  client_check "worker tasks: a compute client beside it" "$TEST_TMP/tasks-compute.out" "$rc" || true
  check "worker tasks: server still running" server_alive
fi
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --worker-checkpoints (docs/architecture.md "Checkpoints"): the server
# keeps a checkpoint of each vtest client, taken once it was quiet for a
# second, and a client whose worker process is killed is restored from it
# in a fresh worker. vk_compute pauses between rounds; its worker is killed
# (SIGKILL) in a pause, and the next round runs in the fresh worker through
# the same mappings, every word checked. A worker killed after the client
# asked for more (a checkpoint spoiled) ends that client alone, as
# without checkpoints. A live upgrade in place carries each client's
# checkpoints to the new binary: a worker killed after it is restored
# from the checkpoint taken before it. Outside the vtest server with
# worker processes the option stops the server at start with one line.
. "$(dirname "$0")/lib.sh"

require_tools timeout
COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }

# worker_of CTX: the newest worker process serving context CTX.
worker_of() { sed -nE "s/.*ctx $1: client served by worker process ([0-9]+).*/\\1/p" "$SERVER_LOG" | tail -n 1; }

# quiet_client LABEL PAUSE_MS SEED: vk_compute (8 MiB, 2 rounds, PAUSE_MS
# between them) in the background ($client_pid), its output in
# $TEST_TMP/LABEL.out; once it took its first checkpoint, that context
# ($cp_ctx) and its worker ($cp_worker).
quiet_client() {
  local taken_before
  taken_before=$(log_count 'ctx [0-9]+: checkpoint: [0-9]+ lasting commands')
  venus_run 300 "$COMPUTE" --mib 8 --rounds 2 --pause-ms "$2" --seed "$3" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" &
  client_pid=$!
  wait_log_count 'ctx [0-9]+: checkpoint: [0-9]+ lasting commands' $((taken_before + 1)) 60
  cp_ctx=$(sed -nE 's/.*ctx ([0-9]+): checkpoint: [0-9]+ lasting commands.*/\1/p' "$SERVER_LOG" | tail -n 1)
  cp_worker=$(worker_of "$cp_ctx")
}

server_start --log-level debug --worker-checkpoints || finish

# --- a worker killed while its client is quiet --------------------------------
rc=0
# One pause of 15 s: the kill lands in it however loaded the machine is.
quiet_client killed 15000 1
ctx=$cp_ctx worker=$cp_worker
check "a checkpoint was taken in vk_compute's first pause (ctx ${ctx:-none}, worker ${worker:-none})" \
  [ -n "$worker" ]
[ -n "$worker" ] && kill -KILL "$worker"
wait "$client_pid" || rc=$?
client_check "vk_compute across its worker's kill" "$TEST_TMP/killed.out" "$rc"
check "its round after the kill was checked (2 rounds' results match)" \
  [ "$(grep -c 'host writes -> shader reads: all .* results match' "$TEST_TMP/killed.out")" -eq 2 ]
check "the server said it restores the client from its checkpoint" \
  grep -qE "ctx $ctx: client worker process $worker killed by signal 9; the client is restored from its checkpoint of [0-9.]+ s ago in a fresh worker" "$SERVER_LOG"
check "a fresh worker restored it" \
  grep -qE "ctx $ctx: restore: made from a snapshot of [0-9]+ lasting commands" "$SERVER_LOG"
check "the fresh worker is another process" [ "$(worker_of "$ctx")" != "$worker" ]
note "$(grep -E "ctx $ctx: (checkpoint:|hand-over:|restore:|client worker process)" "$SERVER_LOG" | head -n 6)"

# --- a worker killed after its client moved past its checkpoint ----------------
# The next round spoils the checkpoint before it runs (the server says so at
# debug level): a kill then ends the client alone, as without checkpoints.
rc=0
spoiled_before=$(log_count 'checkpoint: the client moved on; its checkpoint is forgotten')
# 64 MiB rounds: the kill lands in the round that spoiled the checkpoint,
# or in the second before a next one could be taken.
venus_run 300 "$COMPUTE" --mib 64 --rounds 3 --pause-ms 3000 --seed 2 >"$TEST_TMP/spoiled.out" 2>"$TEST_TMP/spoiled.err" &
client_pid=$!
wait_log_count 'checkpoint: the client moved on; its checkpoint is forgotten' $((spoiled_before + 1)) 60
busy_ctx=$(sed -nE 's/.*ctx ([0-9]+): checkpoint: the client moved on.*/\1/p' "$SERVER_LOG" | tail -n 1)
busy_worker=$(worker_of "$busy_ctx")
check "vk_compute's next round spoiled its checkpoint (ctx ${busy_ctx:-none}, worker ${busy_worker:-none})" \
  [ -n "$busy_worker" ] && [ "$busy_ctx" != "$ctx" ]
[ -n "$busy_worker" ] && kill -KILL "$busy_worker"
wait "$client_pid" || rc=$?
check "a client killed past its checkpoint is not restored (status $rc)" [ "$rc" -ne 0 ]
check "its worker's end names it alone" \
  grep -qE "ctx $busy_ctx: client worker process $busy_worker killed by signal 9; only this client is gone" "$SERVER_LOG"

# --- a worker killed after a live upgrade took its client over -----------------
# The checkpoint is taken before the upgrade; the new binary keeps it.
rc=0
quiet_client upgraded 12000 3
up_ctx=$cp_ctx up_worker=$cp_worker
upgrades_before=$(log_count 'upgrade: took over [0-9]+ tenants')
kill -USR2 "$SERVER_PID"
wait_log_count 'upgrade: took over [0-9]+ tenants' $((upgrades_before + 1)) 60
check "a live upgrade took the client over in its pause (ctx ${up_ctx:-none}, worker ${up_worker:-none})" \
  grep -qE 'upgrade: took over 1 tenants, their workers and 1 listening socket' "$SERVER_LOG"
[ -n "$up_worker" ] && kill -KILL "$up_worker"
wait "$client_pid" || rc=$?
client_check "vk_compute across the upgrade and its worker's kill" "$TEST_TMP/upgraded.out" "$rc"
check "the new binary restored it from the checkpoint taken before the upgrade" \
  grep -qE "ctx $up_ctx: client worker process $up_worker killed by signal 9; the client is restored from its checkpoint of [0-9.]+ s ago in a fresh worker" "$SERVER_LOG"

errors=$(log_errors | grep -v "ctx $busy_ctx: " || true)
check "no other error line" [ -z "$errors" ]
server_stop

# --- where it does not apply --------------------------------------------------
rc=0
env VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --socket "$TEST_TMP/thread.sock" --isolate thread \
  --worker-checkpoints >"$TEST_TMP/thread.out" 2>&1 || rc=$?
check "--worker-checkpoints with --isolate thread stops the server at start (status $rc)" [ "$rc" -eq 2 ]
check "...with one line naming the option" \
  grep -q -- '--worker-checkpoints moves vtest clients between worker processes' "$TEST_TMP/thread.out"
finish

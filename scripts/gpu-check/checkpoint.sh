# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "checkpoint" of scripts/gpu-check.sh (sourced after the set-up):
#   checkpoint       --worker-checkpoints (docs/deployment.md "A killed
#                    worker's client restored"): vk_compute at 8 MiB and
#                    vk_device_local at CHECKPOINT_MIB (1024; a buffer in
#                    memory without host access, which a checkpoint copies
#                    through the GPU) pause 8 s between rounds; in the first
#                    pause, once a checkpoint was taken, their worker is
#                    killed (SIGKILL), and the next rounds must run in the
#                    fresh worker, every word checked; vk_device_local
#                    again with a live upgrade in place (SIGUSR2) between
#                    its checkpoint and the kill, the new binary restoring
#                    it. Reported: each checkpoint's time and size, the
#                    pause from the kill to the restored rings, and the
#                    restore's time.

cp_mib=${CHECKPOINT_MIB:-1024}
cp_ok=1
cp_report=""
run_server --memory auto --log-level debug --worker-checkpoints || cp_ok=0
# cp_kill_in_pause NAME LOG CMD...: runs the client, kills its worker once
# it took a checkpoint (with CP_UPGRADE=1, once a live upgrade took the
# client over after it), and reports.
cp_kill_in_pause() {
  local name=$1 out=$2 ctx worker before after rc=0 killed_ns made_ns upgrades
  shift 2
  before=$(grep -c 'checkpoint: [0-9]* lasting commands' "$server_log")
  LIMIT=600 client "$@" >"$out" 2>&1 &
  local pid=$!
  for _ in $(seq 1200); do
    [ "$(grep -c 'checkpoint: [0-9]* lasting commands' "$server_log")" -gt "$before" ] && break
    sleep 0.05
  done
  ctx=$(sed -nE 's/.*ctx ([0-9]+): checkpoint: [0-9]+ lasting commands.*/\1/p' "$server_log" | tail -n1)
  worker=$(sed -nE "s/.*ctx $ctx: client served by worker process ([0-9]+).*/\\1/p" "$server_log" | tail -n1)
  if [ "${CP_UPGRADE:-0}" = 1 ]; then
    upgrades=$(grep -c 'upgrade: took over' "$server_log")
    kill -USR2 "$server_pid"
    for _ in $(seq 600); do [ "$(grep -c 'upgrade: took over' "$server_log")" -gt "$upgrades" ] && break; sleep 0.05; done
    [ "$(grep -c 'upgrade: took over' "$server_log")" -gt "$upgrades" ] || cp_ok=0
  fi
  killed_ns=$(date +%s%N)
  [ -n "$worker" ] && kill -KILL "$worker"
  for _ in $(seq 600); do
    grep -q "ctx $ctx: restore: made from a snapshot" "$server_log" && break
    sleep 0.01
  done
  made_ns=$(date +%s%N)
  wait "$pid" || rc=$?
  after=$(sed -nE "s/.*ctx $ctx: checkpoint: (.*)/\\1/p" "$server_log" | head -n1)
  grep -q "ctx $ctx: client worker process $worker killed by signal 9; the client is restored from its checkpoint" \
    "$server_log" || cp_ok=0
  [ $rc -eq 0 ] || cp_ok=0
  cp_report+="$name: checkpoint ${after:-none}; killed worker $worker, restored within $(((made_ns - killed_ns) / 1000000)) ms ($(sed -nE "s/.*ctx $ctx: restore: made from a snapshot of ([0-9]+ lasting commands).* in ([0-9.]+ ms),.*/\\1 in \\2/p" "$server_log" | head -n1)); $(tail -n1 "$out"); "
}
cp_kill_in_pause "vk_compute 8 MiB x3" "$logs/checkpoint-compute.txt" \
  "$build/tests/vk_compute" --mib 8 --rounds 3 --pause-ms 8000
cp_kill_in_pause "vk_device_local $cp_mib MiB x3" "$logs/checkpoint-local.txt" \
  "$build/tests/vk_device_local" --mib "$cp_mib" --rounds 3 --pause-ms 8000
CP_UPGRADE=1 cp_kill_in_pause "vk_device_local $cp_mib MiB x3, upgraded between" "$logs/checkpoint-upgraded.txt" \
  "$build/tests/vk_device_local" --mib "$cp_mib" --rounds 3 --pause-ms 8000
stop_server || cp_ok=0
cp_errors=$(grep -c 'venus-server: error:' "$server_log")
if [ $cp_ok = 1 ] && [ "$cp_errors" -eq 0 ]; then
  result checkpoint PASS "${cp_report}no error line"
else
  result checkpoint FAIL "${cp_report}$cp_errors error lines; see checkpoint-*.txt and $(basename "$server_log")"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a tenant costs in each isolation mode, and what many of them get:
#   startup  bench/startup_bench (a client's vkCreateInstance to its first
#            vkCreateDevice returning): native, --isolate thread, the default
#            (a process per client, from ready workers); median of RUNS
#            clients arriving GAP_MS apart
#   memory   HOLDERS tests/vk_hold clients (a device and a few objects, idle)
#            and then as many render_bench clients (active): the server's RSS
#            growth (thread) or its growth plus every worker's PSS (process,
#            shared pages split between them), per client
#   scaling  N render_bench clients at SIZE at once for SECONDS (each N of
#            TENANTS): natively (N processes), through --isolate thread and
#            through the default; aggregate FPS, its ratio to native, and the
#            lowest and highest client, over one span all of them start
#            together (render_bench --start-at); on a host of several GPUs,
#            how the server placed the clients (its placement lines) and
#            each GPU's utilisation meanwhile (nvidia-smi, where there is one)
#
#   bench/tenants.sh [BUILD_DIR]        (lavapipe; TENANTS="16 32" SIZE=1280x720 ...)
#   PLACEMENT=all ...                   the scaling servers' --placement (default: the server's, spread)
#   SCALING_ONLY=1 ...                  the scaling runs alone, without start-up and memory
#   NATIVE_GPUS=G ...                   the native processes on the host's first G GPUs alone
#
# scripts/gpu-check.sh's tenants part sources this file and calls tenants_main with its own
# native, client, run_server and stop_server (the host's GPU).
TENANTS=${TENANTS:-"16 32"}
PLACEMENT=${PLACEMENT:-}
SIZE=${SIZE:-1280x720}
SECONDS_EACH=${SECONDS_EACH:-10}
RUNS=${RUNS:-9}
GAP_MS=${GAP_MS:-1000}
HOLDERS=${HOLDERS:-8}

tenants_kib() { awk -v k="$1" '$1 == k":" { print $2 }' "$2" 2>/dev/null || echo 0; }

# The PSS of the server's worker processes (none in thread mode).
tenants_workers_pss() {
  local w total=0
  # Workers are the children of the server's forker, its child.
  for w in $(pgrep -P "$server_pid" || true) $(for c in $(pgrep -P "$server_pid" || true); do pgrep -P "$c" || true; done); do
    total=$((total + $(tenants_kib Pss "/proc/$w/smaps_rollup")))
  done
  echo "$total"
}

tenants_startup() { # LABEL RUNNER
  local label=$1 runner=$2 line
  line=$(LIMIT=300 $runner "$build/bench/startup_bench" --runs "$RUNS" --gap-ms "$GAP_MS" 2>&1 | grep '^startup:')
  echo "   startup $label: ${line:-failed}"
}

# memory MODE-LABEL PROGRAM...: per-client cost of HOLDERS clients running PROGRAM.
tenants_memory() {
  local label=$1; shift
  local base base_w i pids=() ready grown workers
  sleep 2 # the ready workers finish their warm-up
  base=$(tenants_kib VmRSS "/proc/$server_pid/status"); base_w=$(tenants_workers_pss)
  for i in $(seq "$HOLDERS"); do
    LIMIT=300 client "$@" >"$logs/tenants-mem-$label-$i.out" 2>&1 &
    pids+=($!)
  done
  sleep "${MEMORY_SETTLE_S:-8}"
  ready=$(grep -lE 'holding objects|^render ' "$logs"/tenants-mem-"$label"-*.out 2>/dev/null | wc -l)
  grown=$(( $(tenants_kib VmRSS "/proc/$server_pid/status") - base ))
  workers=$(( $(tenants_workers_pss) - base_w ))
  echo "   memory $label: $(( (grown + workers) / HOLDERS )) KiB per client ($HOLDERS clients, $ready ready; server RSS +$grown KiB, workers PSS +$workers KiB)"
  kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true
  rm -f "$logs"/tenants-mem-"$label"-*.out
}

# scaling LABEL N RUNNER: N render_bench at once.
# Their timed frames start together (render_bench --start-at), START_MS
# after launch (default 2 s + 250 ms a client): each client's FPS is then
# its share of the same span, whatever its start-up took.
tenants_scaling() {
  local label=$1 n=$2 runner=$3 i pids=() f fps sum=0 min="" max="" ok=0 late=0 late_max=0 l
  local start_at=$(( $(date +%s%3N) + ${START_MS:-$((2000 + 250 * n))} ))
  tenants_gpus_start "$logs/tenants-$label-$n.gpus"
  # Natively, the processes are spread over the host's GPUs the way the
  # server places its tenants (one after another, the fewest first).
  # NATIVE_GPUS=G: over the first G alone (the server given one GPU).
  local gpus=${NATIVE_GPUS:-1}
  [ "$label" != native ] || [ -n "${NATIVE_GPUS:-}" ] || ! command -v nvidia-smi >/dev/null 2>&1 ||
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
  [ "${gpus:-0}" -ge 1 ] || gpus=1
  for i in $(seq "$n"); do
    VKT_DEVICE=$(( (i - 1) % gpus )) LIMIT=600 $runner "$build/bench/render_bench" --seconds "$SECONDS_EACH" --start-at "$start_at" "$SIZE" \
      >"$logs/tenants-$label-$n-$i.out" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" 2>/dev/null || true
  tenants_gpus_stop "$logs/tenants-$label-$n.gpus" "$label" "$n"
  for i in $(seq "$n"); do
    f=$logs/tenants-$label-$n-$i.out
    fps=$(sed -nE 's/^render [0-9]+x[0-9]+: FPS: ([0-9.]+).*/\1/p' "$f")
    [ -n "$fps" ] || continue
    ok=$((ok + 1))
    l=$(sed -nE 's/.* late_ms: ([0-9.]+).*/\1/p' "$f")
    if [ -n "$l" ] && awk -v v="$l" 'BEGIN { exit !(v > 1) }'; then
      late=$((late + 1))
      late_max=$(awk -v a="$late_max" -v b="$l" 'BEGIN { print (b > a ? b : a) }')
    fi
    sum=$(awk -v a="$sum" -v b="$fps" 'BEGIN { printf "%.1f", a + b }')
    min=$(awk -v a="${min:-$fps}" -v b="$fps" 'BEGIN { print (b < a ? b : a) }')
    max=$(awk -v a="${max:-$fps}" -v b="$fps" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "$sum" >"$logs/tenants-$label-$n.sum"
  local lateness="all at the common start"
  [ "$late" = 0 ] || lateness="$late late for the common start, by up to $late_max ms"
  echo "   scaling $label N=$n: $ok of $n clients, aggregate $sum FPS, per client $min-$max ($lateness)"
}

# tenants_gpus_start FILE: each GPU's utilisation every second into FILE, where
# nvidia-smi is; tenants_gpus_stop FILE LABEL N: its mean and peak per GPU, and how
# many of the server's tenants were placed on each (worker/placement.h).
tenants_gpus_start() {
  tenants_sampler=""
  command -v nvidia-smi >/dev/null 2>&1 || return 0
  nvidia-smi --query-gpu=index,utilization.gpu --format=csv,noheader,nounits -l 1 >"$1" 2>/dev/null &
  tenants_sampler=$!
}
tenants_gpus_stop() {
  local file=$1 label=$2 n=$3 log=${server_log:-$logs/server.log} util="" placed=""
  if [ -n "$tenants_sampler" ]; then
    kill "$tenants_sampler" 2>/dev/null; wait "$tenants_sampler" 2>/dev/null
    util=$(awk -F', *' '$2 ~ /^[0-9]+$/ { s[$1] += $2; c[$1]++; if ($2 > m[$1]) m[$1] = $2 }
      END { for (g = 0; g < 64; g++) if (g in s) printf "GPU %d mean %d%% peak %d%%; ", g, s[g] / c[g], m[g] }' "$file" | sed 's/; $//')
  fi
  [ "$label" = native ] || placed=$(sed -nE 's/.*placement: [a-zA-Z ]+ [0-9]+ \(.*\) on GPU ([0-9]+) .*/\1/p' "$log" 2>/dev/null |
    sort -n | uniq -c | awk '{ printf "%sGPU %s: %s", (NR > 1 ? ", " : ""), $2, $1 }')
  [ -z "$util$placed" ] || echo "   gpus $label N=$n: ${placed:+placed $placed}${placed:+${util:+; }}${util:+utilisation $util}"
}

tenants_ratio() { # LABEL N
  local s n
  s=$(cat "$logs/tenants-$1-$2.sum" 2>/dev/null); n=$(cat "$logs/tenants-native-$2.sum" 2>/dev/null)
  awk -v a="${s:-0}" -v b="${n:-0}" 'BEGIN { printf "%.2f", b ? a / b : 0 }'
}

tenants_main() {
  echo "== tenants: $SIZE, N in {$TENANTS}, $SECONDS_EACH s each"
  # SCALING_ONLY=1: the scaling runs alone (a several-GPU host's spread).
  [ "${SCALING_ONLY:-0}" = 1 ] || tenants_startup_and_memory || return 1
  tenants_scaling_all
}

tenants_startup_and_memory() {
  tenants_startup native native
  run_server --isolate thread --log-level warn || return 1
  tenants_startup thread client
  tenants_memory thread-idle "$build/tests/vk_hold"
  tenants_memory thread-active "$build/bench/render_bench" --seconds 30 "$SIZE"
  stop_server
  run_server --log-level warn || return 1
  tenants_startup process client
  tenants_memory process-idle "$build/tests/vk_hold"
  tenants_memory process-active "$build/bench/render_bench" --seconds 30 "$SIZE"
  stop_server
}

tenants_scaling_all() {
  local n
  for n in $TENANTS; do
    tenants_scaling native "$n" native
    # At info level: the placement lines (tenants_gpus_stop).
    run_server --isolate thread --log-level info --limit clients=64 --limit clients-per-peer=64 ${PLACEMENT:+--placement "$PLACEMENT"} || return 1
    tenants_scaling thread "$n" client
    stop_server
    run_server --log-level info --limit clients=64 --limit clients-per-peer=64 ${PLACEMENT:+--placement "$PLACEMENT"} || return 1
    tenants_scaling process "$n" client
    stop_server
    # N clients arriving at once drain the default 2 ready workers: the
    # later ones start while the first already draw. With N ready, all
    # start together, as the native processes do.
    run_server --log-level info --limit clients=64 --limit clients-per-peer=64 ${PLACEMENT:+--placement "$PLACEMENT"} --ready-workers "$n" || return 1
    sleep "${READY_SETTLE_S:-10}"
    tenants_scaling process-ready "$n" client
    stop_server
    echo "   scaling N=$n against native: thread $(tenants_ratio thread "$n")x, process $(tenants_ratio process "$n")x, process with $n ready $(tenants_ratio process-ready "$n")x"
  done
}

# Standalone: lavapipe, the build's own server.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  top=$(cd "$(dirname "$0")/.." && pwd)
  case ${1:-build} in
    /*) build=$1 ;;
    *) build=$top/${1:-build} ;;
  esac
  HOST_ICD=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
  VIRTIO_ICD=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
  logs=$(mktemp -d "${TMPDIR:-/tmp}/venus-tenants.XXXXXX")
  sock=$logs/s
  server_pid=""
  native() { timeout -k 5 "${LIMIT:-120}" env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$@"; }
  client() {
    timeout -k 5 "${LIMIT:-120}" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
      VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" "$@"
  }
  run_server() {
    rm -f "$sock"
    env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$build/venus-server" --socket "$sock" "$@" \
      >"$logs/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
    return 1
  }
  stop_server() { [ -n "$server_pid" ] && kill "$server_pid" && wait "$server_pid" 2>/dev/null; server_pid=""; }
  trap 'stop_server; rm -rf "$logs"' EXIT
  tenants_main
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: the same workloads run three ways, side by side (a benchmark,
# never a test: it fails only when it cannot measure at all):
#   native         each program on the host Vulkan driver directly;
#   venus-server   the program on Mesa's Venus driver through BUILD_DIR/venus-server;
#   virglrenderer  the same through virglrenderer 1.1's virgl_test_server, the
#                  reference peer (it exists only in a Debian trixie root).
# Workloads: vulkaninfo start-up, BUILD_DIR/bench/exec_bench (submit and
# fence round trips, a synchronous call, submit throughput, allocation,
# mapped-memory bandwidth, a compute pass), vkmark scenes, and the cost to
# the server of one idle connected client. Prints one table (median, p99,
# ratios, goals), and writes it as markdown and CSV with a PNG chart
# (bench/chart.sh) into bench/out/run-DATE/ (bench/out/latest points there).
#
# By default everything runs inside the trixie root of scripts/trixie-root.sh
# (built on first use, then cached): the peer can only run there, and all
# three columns then use one and the same lavapipe (trixie's Mesa), so their
# ratios compare transports, not two builds of the driver. Each program
# enters the root through scripts/in-root.sh: its /proc and /dev mounts live
# in a private mount namespace and vanish with it, so none outlives the run.
#
# Usage: bench/run.sh BUILD_DIR
# Environment:
#   QUICK=1          one round, a tenth of the iterations, short vkmark scenes
#   ROUNDS           rounds of every workload on every side (default 5; QUICK: 1)
#   PEER=0           no virglrenderer column and no trixie root: native and
#                    venus-server run on this host as they are (a GPU host
#                    without the Debian roots)
#   HOST_ICD         host driver ICD json (default lavapipe's)
#   VIRTIO_ICD       Venus driver ICD json for the clients (default Mesa's)
#   CLIENT_LD_LIBRARY_PATH  prepended to LD_LIBRARY_PATH of Venus clients only
#                    (a client driver unpacked into a prefix; see docs/benchmarks.md)
#   SERVER_ARGS      extra venus-server arguments (word-split)
#   CLIENT_TIMEOUT   seconds one client run may take (default 120)
#   IDLE_SECONDS     length of the idle-client measurement (default 5)
#   WORKLOADS        the workloads to run, space-separated (default: all of them,
#                    from vulkaninfo to vkmark)
#   CHART=0          no chart (a machine without gnuplot or a registry to get
#                    it; bench/chart.sh OUT_DIR draws it later elsewhere)
# With PEER=1 the ICD paths are paths inside the root.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
bench_dir=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$bench_dir")
quick=${QUICK:-0}
rounds=${ROUNDS:-$([ "$quick" = 1 ] && echo 1 || echo 5)}
peer=${PEER:-1}
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
virtio_icd=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
client_timeout=${CLIENT_TIMEOUT:-120}
idle_seconds=${IDLE_SECONDS:-5}
read -ra server_args <<<"${SERVER_ARGS:-}"
quick_flag=()
scene_seconds=2
if [ "$quick" = 1 ]; then quick_flag=(--quick); scene_seconds=1; fi

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for f in "$build/venus-server" "$build/bench/exec_bench"; do
  [ -x "$f" ] || die "missing $f (run make)"
done

out=$bench_dir/out/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs"
ln -sfn "$(basename "$out")" "$bench_dir/out/latest"

# --- where the programs run ------------------------------------------------
# place: the command prefix that runs a program there; work: a private
# directory as this host sees it, work_in as the programs see it.
if [ "$peer" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "the trixie root needs root (chroot): run as root, or PEER=0 for no virglrenderer column"
  root=$("$top/scripts/trixie-root.sh")
  place=("$top/scripts/in-root.sh" "$root")
  work=$(mktemp -d "$root/tmp/venus-bench.XXXXXX")
  work_in=${work#"$root"}
  # The root cannot see the checkout; bookworm binaries run on trixie's glibc.
  "$top/scripts/into-root.sh" "$root" "$work" "$build/venus-server" "$build/bench/exec_bench"
  place+=(env LD_LIBRARY_PATH="$work_in/lib")
  server_bin=$work_in/venus-server
  exe=$work_in/exec_bench
  sides=(native ours peer)
else
  root=""
  place=()
  work=$(mktemp -d /tmp/venus-bench.XXXXXX)
  work_in=$work
  server_bin=$build/venus-server
  exe=$build/bench/exec_bench
  sides=(native ours)
fi
for f in "$host_icd" "$virtio_icd"; do
  [ -e "$root$f" ] || die "missing ${root:+$root}$f"
done

declare -A label=([native]=native [ours]=venus-server [peer]=virglrenderer)
declare -A sock=([ours]=$work_in/ours.sock [peer]=$work_in/peer.sock)
declare -A server_pid=()
declare -A server_log=([ours]=$out/logs/ours-server.log [peer]=$out/logs/peer-server.log)
# A line each server logs when it drops a client (after which Mesa's vtest
# client spins until its timeout).
declare -A drop_re=([ours]='dropping client' [peer]='VTEST_CLIENT_ERROR')
# failed[SIDE/WORKLOAD]: why that cell has no figures ("fails: ..." or
# "n/a: ..."); a workload that failed once is not run again on that side.
declare -A failed=()

# descendants PID: PID and every process below it.
descendants() {
  local child
  echo "$1"
  for child in $(pgrep -P "$1" 2>/dev/null || true); do descendants "$child"; done
}

stop_server() {
  local side=$1 pid=${server_pid[$1]:-} p
  [ -n "$pid" ] || return 0
  for p in $(descendants "$pid"); do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  server_pid[$side]=""
}

cleanup() {
  local side
  for side in ours peer; do stop_server "$side"; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_server SIDE: starts that side's server on its socket and waits for it.
start_server() {
  local side=$1 deadline=$((SECONDS + 30))
  local -a cmd
  if [ "$side" = ours ]; then
    cmd=("$server_bin" --socket "${sock[ours]}" "${server_args[@]}")
  else
    cmd=(virgl_test_server --venus --no-virgl --multi-clients --socket-path="${sock[peer]}")
  fi
  "${place[@]}" env -u VN_DEBUG -u VTEST_SOCKET_NAME -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES \
    VK_ICD_FILENAMES="$host_icd" "${cmd[@]}" >"${server_log[$side]}" 2>&1 &
  server_pid[$side]=$!
  until [ -S "$root${sock[$side]}" ]; do
    if ! kill -0 "${server_pid[$side]}" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      cat "${server_log[$side]}" >&2
      die "${label[$side]} did not start (log above)"
    fi
    sleep 0.05
  done
}

# client_env SIDE: sets envs, the environment of a SIDE client.
client_env() {
  case $1 in
    native) envs=(VK_ICD_FILENAMES="$host_icd") ;;
    *) envs=(VN_DEBUG=vtest VTEST_SOCKET_NAME="${sock[$1]}" VK_ICD_FILENAMES="$virtio_icd")
       if [ -n "${CLIENT_LD_LIBRARY_PATH:-}" ]; then
         envs+=(LD_LIBRARY_PATH="$CLIENT_LD_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
       fi ;;
  esac
}

# start_client SIDE TAG LIMIT CMD...: starts CMD as a SIDE client in the
# background (client_pid), under timeout, output in logs/SIDE-TAG.{out,err}.
start_client() {
  local side=$1 tag=$2 limit=$3
  shift 3
  local -a envs
  client_env "$side"
  client_out=$out/logs/$side-$tag.out
  client_err=$out/logs/$side-$tag.err
  log_mark=0
  [ "$side" = native ] || log_mark=$(wc -l <"${server_log[$side]}")
  timeout -k 5 "$limit" "${place[@]}" \
    env -u VN_DEBUG -u VTEST_SOCKET_NAME -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES "${envs[@]}" "$@" \
    >"$client_out" 2>"$client_err" &
  client_pid=$!
}

# new_log SIDE: what SIDE's server logged since the client started.
new_log() { tail -n +"$((log_mark + 1))" "${server_log[$1]}"; }

# watch_drop SIDE PID: stops client PID as soon as SIDE's server logs that it
# dropped it, instead of letting it spin until its timeout.
watch_drop() {
  while kill -0 "$2" 2>/dev/null; do
    if new_log "$1" | grep -qE "${drop_re[$1]}"; then
      sleep 0.2
      kill -TERM "$2" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
}

# client_reason SIDE RC: one line on why the last client failed.
client_reason() {
  local side=$1 rc=$2 line
  if [ "$side" != native ] && new_log "$side" | grep -qE "${drop_re[$side]}"; then
    line=$(new_log "$side" | grep -m1 -E 'dropping client|fail' \
      | sed -E 's/.*dropping client: //; s/^.* called //; s/ which failed/ failed/')
    echo "client dropped: ${line:-see ${server_log[$side]}}"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "timed out"
  else
    line=$(grep -v '^\s*$' "$client_err" | tail -n 1 | sed -E 's/^(exec_bench|Error): //')
    echo "${line:-exit status $rc}"
  fi
}

# run_client SIDE TAG CMD...: runs CMD as a SIDE client to the end; sets
# client_ms (wall time) and, if it failed, client_failure.
run_client() {
  local side=$1 tag=$2 rc=0 t0 t1 watcher=""
  shift 2
  client_failure=""
  [ "$side" = native ] || kill -0 "${server_pid[$side]}" 2>/dev/null \
    || { client_failure="${label[$side]} exited (see its log)"; return 0; }
  t0=$(date +%s%N)
  start_client "$side" "$tag" "$client_timeout" "$@"
  if [ "$side" != native ]; then
    watch_drop "$side" "$client_pid" &
    watcher=$!
  fi
  wait "$client_pid" || rc=$?
  t1=$(date +%s%N)
  if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true; fi
  client_ms=$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1e6}')
  [ "$rc" = 0 ] || client_failure=$(client_reason "$side" "$rc")
}

# sample SIDE FIGURE VALUE: one measurement into samples.csv.
sample() { echo "$1,$2,$3" >>"$out/samples.csv"; }
echo "side,figure,value" >"$out/samples.csv"

# Table cells hold no commas (CSV) or bars (markdown).
mark_failed() {
  failed[$1/$2]=$(echo "fails: $3" | tr ',|' ';/')
  log "${label[$1]} $2: ${failed[$1/$2]}"
}

vkmark_scenes=(vertex cube shading:shading=phong)
vkmark_figures=(vkmark_vertex_fps vkmark_cube_fps vkmark_phong_fps)

# run_workload SIDE WORKLOAD ROUND: one run of WORKLOAD as a SIDE client.
run_workload() {
  local side=$1 w=$2 r=$3 k
  [ -z "${failed[$side/$w]:-}" ] || return 0
  case $w in
    vulkaninfo)
      for k in 1 2; do
        run_client "$side" "vulkaninfo-$r-$k" vulkaninfo
        [ -z "$client_failure" ] || { mark_failed "$side" "$w" "$client_failure"; return 0; }
        sample "$side" vulkaninfo_ms "$client_ms"
      done ;;
    vkmark)
      local -a args=(--winsys headless -s 320x240)
      for k in "${vkmark_scenes[@]}"; do args+=(-b "$k:duration=$scene_seconds"); done
      run_client "$side" "vkmark-$r" vkmark "${args[@]}"
      [ -z "$client_failure" ] || { mark_failed "$side" "$w" "$client_failure"; return 0; }
      # One "[scene] options: FPS: N FrameTime: ..." line per scene, in order.
      k=0
      while read -r fps; do
        sample "$side" "${vkmark_figures[$k]}" "$fps"
        k=$((k + 1))
      done < <(sed -n 's/^\[.*FPS: \([0-9.]*\).*/\1/p' "$client_out")
      [ "$k" = ${#vkmark_figures[@]} ] || mark_failed "$side" "$w" "vkmark printed $k of ${#vkmark_figures[@]} scene results" ;;
    *)
      run_client "$side" "$w-$r" "$exe" "${quick_flag[@]}" "$w"
      [ -z "$client_failure" ] || { mark_failed "$side" "$w" "$client_failure"; return 0; }
      awk -v s="$side" '!/^#/ && NF == 2 {print s "," $1 "," $2}' "$client_out" >>"$out/samples.csv" ;;
  esac
}

# Summed over every thread of every process in the list (the peer forks a
# render server per client): context switches, CPU ticks, RSS in KiB.
switches() {
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null || true; done \
    | awk '/ctxt_switches/ {s += $2} END {print s + 0}'
}
ticks() {
  local p
  # Fields after the ")" that ends the command name: utime and stime are 12 and 13.
  for p in "$@"; do sed 's/.*) //' /proc/"$p"/stat 2>/dev/null || true; done \
    | awk '{t += $12 + $13} END {print t + 0}'
}
rss_kib() {
  local p
  for p in "$@"; do cat /proc/"$p"/status 2>/dev/null || true; done \
    | awk '/^VmRSS/ {s += $2} END {print s + 0}'
}

# measure_idle SIDE: the server's wakeups/s, CPU and RSS while one client
# that created a device sleeps.
measure_idle() {
  local side=$1 deadline=$((SECONDS + 60)) s0 s1 c0 c1 rss hz
  local -a pids
  start_client "$side" idle $((idle_seconds + 90)) "$exe" idle
  until grep -q '^# idle: device created' "$client_out" 2>/dev/null; do
    if ! kill -0 "$client_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      kill -TERM "$client_pid" 2>/dev/null || true
      local rc=0
      wait "$client_pid" || rc=$?
      mark_failed "$side" idle "$(client_reason "$side" "$rc")"
      return 0
    fi
    sleep 0.05
  done
  # Let the connection's start-up activity die down first.
  sleep 1
  mapfile -t pids < <(descendants "${server_pid[$side]}")
  s0=$(switches "${pids[@]}")
  c0=$(ticks "${pids[@]}")
  sleep "$idle_seconds"
  s1=$(switches "${pids[@]}")
  c1=$(ticks "${pids[@]}")
  rss=$(rss_kib "${pids[@]}")
  hz=$(getconf CLK_TCK)
  kill -TERM "$client_pid" 2>/dev/null || true
  wait "$client_pid" 2>/dev/null || true
  if new_log "$side" | grep -qE "${drop_re[$side]}"; then
    mark_failed "$side" idle "$(client_reason "$side" 0)"
    return 0
  fi
  sample "$side" idle_rss_mib "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
  sample "$side" idle_wakeups_per_s "$(awk -v d=$((s1 - s0)) -v t="$idle_seconds" 'BEGIN {printf "%.2f", d / t}')"
  sample "$side" idle_cpu_pct "$(awk -v d=$((c1 - c0)) -v hz="$hz" -v t="$idle_seconds" 'BEGIN {printf "%.2f", 100 * d / hz / t}')"
}

# --- the runs ----------------------------------------------------------------
all_workloads="vulkaninfo submit submit-spin fence-status sync-call submit-rate record-many record-dispatch alloc-free alloc-map-free bandwidth compute vkmark"
read -r -a workloads <<<"${WORKLOADS:-$all_workloads}"
for tool in vulkaninfo vkmark; do
  "${place[@]}" sh -c "command -v $tool" >/dev/null 2>&1 \
    || for side in "${sides[@]}"; do failed[$side/$tool]="n/a: $tool not installed"; done
done
for side in "${sides[@]}"; do
  [ "$side" = native ] || start_server "$side"
done
start=$SECONDS
# Other work on the machine moves every figure; the header says how busy it was.
load_start=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq "$rounds"); do
  log "round $r of $rounds"
  # Sides alternate within each workload so that drift in the host's load
  # or clock touches all of them alike.
  for w in "${workloads[@]}"; do
    for side in "${sides[@]}"; do run_workload "$side" "$w" "$r"; done
  done
done
failed[native/idle]="n/a: no server"
for side in "${sides[@]}"; do
  [ "$side" = native ] || { log "${label[$side]}: idle client, ${idle_seconds} s"; measure_idle "$side"; }
done
log "measured in $((SECONDS - start)) s"
load_end=$(cut -d' ' -f1 /proc/loadavg)

# --- the table ---------------------------------------------------------------
# stats SIDE FIGURE BETTER: "median p99 n" of the pooled samples, or "- - 0".
# p99 is the worse end: the 99th percentile of times, the 1st of rates
# (nearest rank; with fewer than 100 samples it is the worst one).
stats() {
  awk -F, -v s="$1" -v f="$2" '$1 == s && $2 == f {print $3}' "$out/samples.csv" | sort -g \
    | awk -v better="$3" '{a[NR] = $1} END {
        if (NR == 0) { print "- - 0"; exit }
        m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        k = int(NR * 0.99); if (k < NR * 0.99) k++
        p = better == "lower" ? a[k] : a[NR + 1 - k]
        print m, p, NR }'
}

fmt() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.3g", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
as_ratio() { if [ "$1" = - ]; then echo -; else echo "$1x"; fi; }

# verdict GOAL NATIVE OURS RATIO OURS_NOTE: met/missed against a goal such
# as "<=6x" (ratio to native) or "<1" (the figure itself).
verdict() {
  local goal=$1 native=$2 ours=$3 r=$4 note=$5 v
  [ "$goal" != - ] || { echo "-"; return; }
  if [ "$ours" = - ]; then
    case $note in n/a*) echo "n/a" ;; *) echo "missed (fails)" ;; esac
    return
  fi
  v=$ours
  if [[ $goal == *x ]]; then
    [ "$native" != - ] || { echo "n/a (no native figure)"; return; }
    v=$r
  fi
  awk -v g="${goal%x}" -v v="$v" 'BEGIN {
    op = substr(g, 1, 2); n = substr(g, 3)
    if (op != "<=" && op != ">=") { op = substr(g, 1, 1); n = substr(g, 2) }
    n += 0; v += 0
    ok = op == "<=" ? v <= n : op == ">=" ? v >= n : op == "<" ? v < n : v > n
    print ok ? "met" : "missed" }'
}

goal_text() {
  case $1 in
    -) echo "-" ;;
    *x) echo "${1%x}x native" ;;
    *) echo "$1" ;;
  esac
}

machine="$(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
device=$(sed -n 's/^# device //p' "$out"/logs/native-*.out 2>/dev/null | head -n 1)
mesa=$("${place[@]}" dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || echo unknown)
peer_version="not run (PEER=0)"
if [ "$peer" = 1 ]; then peer_version=$("${place[@]}" dpkg-query -W -f '${Version}' virgl-server); fi
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $machine"
  echo "host driver: ${device:-unknown} ($(basename "$host_icd"), Mesa $mesa$([ "$peer" = 1 ] && echo ", in the trixie root"))"
  echo "$("${place[@]}" "$server_bin" --version 2>/dev/null | head -n 1)${server_args[*]:+ ${server_args[*]}}; virglrenderer: ${peer_version}; client: Mesa Venus ($(basename "$virtio_icd"))"
  echo "rounds: $rounds$([ "$quick" = 1 ] && echo " (QUICK)"); load average $load_start at the start, $load_end at the end"
  echo "median and p99 over all samples of all rounds (p99: the slowest 1% of times, the lowest 1% of rates)"
} >"$out/header.txt"

csv=$out/table.csv
echo "figure,workload,what,unit,better,goal,native_median,native_p99,native_n,native_note,ours_median,ours_p99,ours_n,ours_note,peer_median,peer_p99,peer_n,peer_note,ours_vs_native,ours_vs_peer,verdict" >"$csv"
rows=$work/rows.tsv
: >"$rows"
# Figures, in table order: name, workload, unit, which way is better, goal
# ("<=6x": ratio to native; "<=4": the figure itself), what it measures (no
# commas: it goes into the CSV).
while read -r fig w unit better goal what; do
  declare -A med=() cell=() note=()
  csv_sides=""
  for side in native ours peer; do
    read -r m p n < <(stats "$side" "$fig" "$better")
    med[$side]=$m
    note[$side]=""
    if [ "$side" = peer ] && [ "$peer" != 1 ]; then
      note[$side]="n/a: PEER=0"
    elif [ "$n" = 0 ]; then
      note[$side]=${failed[$side/$w]:-fails: no samples}
    fi
    csv_sides+=",$m,$p,$n,${note[$side]}"
    if [ -n "${note[$side]}" ]; then cell[$side]=${note[$side]}; else cell[$side]="$(fmt "$m") / $(fmt "$p")"; fi
  done
  r_native=$(ratio "${med[ours]}" "${med[native]}")
  r_peer=$(ratio "${med[ours]}" "${med[peer]}")
  v=$(verdict "$goal" "${med[native]}" "${med[ours]}" "$r_native" "${note[ours]}")
  echo "$fig,$w,$what,$unit,$better,$goal$csv_sides,$r_native,$r_peer,$v" >>"$csv"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$what" "$unit" "${cell[native]}" "${cell[ours]}" "${cell[peer]}" \
    "$(as_ratio "$r_native")" "$(as_ratio "$r_peer")" "$(goal_text "$goal")" "$v" >>"$rows"
  unset med cell note
done <<'EOF'
vulkaninfo_ms       vulkaninfo     ms   lower  -      vulkaninfo start-up (full run)
submit_roundtrip_us submit         us   lower  <=6x   empty submit + fence wait
submit_spin_us      submit-spin    us   lower  -      empty submit + spin on vkGetFenceStatus
fence_status_us     fence-status   us   lower  -      vkGetFenceStatus (signalled)
sync_call_us        sync-call      us   lower  -      synchronous call (vkGetImageSubresourceLayout)
submit_rate_kps     submit-rate    k/s  higher -      tiny submits (250 per fence)
record_many_us      record-many    us   lower  -      1600 barriers recorded, submitted, waited for
record_dispatch_us  record-dispatch us  lower  -      1600 binds, push constants, dispatches, barriers
alloc_free_us       alloc-free     us   lower  -      allocate + free 1 MiB host-visible
alloc_map_free_us   alloc-map-free us   lower  <=4x   allocate + map + free 1 MiB
write_gbps          bandwidth      GB/s higher >=0.9x mapped memory write (256 MiB)
read_gbps           bandwidth      GB/s higher >=0.9x mapped memory read (256 MiB)
compute_gbps        compute        GB/s higher >=0.95x compute pass over 64 MiB
vkmark_vertex_fps   vkmark         FPS  higher >=0.9x vkmark vertex (320x240)
vkmark_cube_fps     vkmark         FPS  higher >=0.9x vkmark cube (320x240)
vkmark_phong_fps    vkmark         FPS  higher >=0.9x vkmark shading=phong (320x240)
idle_wakeups_per_s  idle           1/s  lower  <=4    idle client: server wakeups
idle_cpu_pct        idle           %    lower  <1     idle client: server CPU (of one core)
idle_rss_mib        idle           MiB  lower  -      idle client: server RSS
EOF

# The markdown table, padded so that it also reads as plain text.
{
  sed 's/^/    /' "$out/header.txt"
  echo
  printf 'workload\tunit\tnative: median / p99\tvenus-server: median / p99\tvirglrenderer: median / p99\tours/native\tours/virgl\tgoal\tverdict\n' \
    | cat - "$rows" | awk -F'\t' '
    { r = NR; n = NF; for (i = 1; i <= NF; i++) { c[r, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    function line(k,   i, s) {
      s = "|"
      for (i = 1; i <= n; i++) s = s " " sprintf("%" (i <= 2 ? "-" : "") w[i] "s", c[k, i]) " |"
      print s
    }
    END {
      line(1)
      s = "|"
      for (i = 1; i <= n; i++) { d = ""; for (j = 1; j < w[i]; j++) d = d "-"; s = s " " (i <= 2 ? d "-" : d ":") " |" }
      print s
      for (k = 2; k <= r; k++) line(k)
    }'
} | tee "$out/table.md"

if [ "${CHART:-1}" = 0 ]; then
  log "no chart (CHART=0): bench/chart.sh $out draws it"
elif "$bench_dir/chart.sh" "$out"; then
  echo "chart: $out/chart.png"
else
  log "no chart (bench/chart.sh failed); the table and CSV are complete"
fi
echo "table: $out/table.md, CSV: $out/table.csv, samples: $out/samples.csv, logs: $out/logs/"

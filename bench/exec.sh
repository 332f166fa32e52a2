#!/usr/bin/env bash
# Execution cost through venus-server vs native (benchmark, not a test): runs
# BUILD_DIR/bench/exec_bench RUNS times natively on the host ICD and RUNS
# times through one venus-server, then prints the median of each figure per
# side, their ratio and the targets. Builds nothing.
# Usage: bench/exec.sh BUILD_DIR
# Environment:
#   RUNS                    runs per side (default 3)
#   QUICK=1                 pass --quick to exec_bench (smoke test)
#   HOST_ICD                host driver ICD (default: lavapipe)
#   VIRTIO_ICD              Venus client driver ICD (default: Mesa's virtio)
#   CLIENT_LD_LIBRARY_PATH  prepended to LD_LIBRARY_PATH for Venus client runs
#                           only (client driver unpacked into a prefix)
#   SERVER_ARGS             extra venus-server arguments (word-split)
#   CLIENT_TIMEOUT          seconds one exec_bench run may take (default 120)
# E.g. on a GPU host with the client driver unpacked into $P:
#   HOST_ICD=/usr/share/vulkan/icd.d/nvidia_icd.json \
#   VIRTIO_ICD=$P/share/vulkan/icd.d/virtio_icd.x86_64.json \
#   CLIENT_LD_LIBRARY_PATH=$P/lib/x86_64-linux-gnu bench/exec.sh build
# Raw outputs (each run, server log, the table) stay in bench/out/exec-DATE/.
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
bench_dir=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-3}
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
virtio_icd=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
client_timeout=${CLIENT_TIMEOUT:-120}
read -ra server_args <<<"${SERVER_ARGS:-}"
quick=()
[ "${QUICK:-0}" = 1 ] && quick=(--quick)

exe=$build/bench/exec_bench
for f in "$exe" "$build/venus-server" "$host_icd" "$virtio_icd"; do
  [ -e "$f" ] || { echo "exec.sh: missing $f" >&2; exit 1; }
done

out=$bench_dir/out/exec-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
# The socket lives in /tmp: a path under a deep checkout can exceed
# sun_path's 108 bytes.
tmp=$(mktemp -d)
sock=$tmp/venus.sock
server=
trap 'if [ -n "$server" ]; then kill -KILL "$server" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT

VK_ICD_FILENAMES=$host_icd "$build/venus-server" --socket "$sock" "${server_args[@]}" \
  >"$out/server.out" 2>"$out/server.log" &
server=$!
deadline=$((SECONDS + 20))
until grep -q "listening on" "$out/server.out" 2>/dev/null; do
  if ! kill -0 "$server" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "exec.sh: venus-server did not start; its log:" >&2
    cat "$out/server.out" "$out/server.log" >&2
    exit 1
  fi
  sleep 0.05
done

client_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES="$virtio_icd")
if [ -n "${CLIENT_LD_LIBRARY_PATH:-}" ]; then
  client_env+=(LD_LIBRARY_PATH="$CLIENT_LD_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi

failed=0
# run SIDE N: one exec_bench run, stdout to $out/SIDE-N.txt. Every run sits
# under timeout: Mesa's vtest client spins forever if the server drops it.
run() {
  local side=$1 n=$2 rc=0
  local -a envs=(VK_ICD_FILENAMES="$host_icd")
  [ "$side" = venus ] && envs=("${client_env[@]}")
  env "${envs[@]}" timeout -k 5 "$client_timeout" "$exe" "${quick[@]}" \
    >"$out/$side-$n.txt" 2>"$out/$side-$n.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "exec.sh: $side run $n failed (exit $rc$([ "$rc" = 124 ] && echo ", timed out")):" >&2
    sed 's/^/  /' "$out/$side-$n.err" >&2
    if [ "$side" = venus ]; then
      echo "  server log (last lines):" >&2
      tail -n 5 "$out/server.log" | sed 's/^/  /' >&2
    fi
  fi
}
# Alternate the sides so that drift in the host's load or clock affects both.
for n in $(seq "$runs"); do
  run native "$n"
  run venus "$n"
done

# Stop the server the way a service manager would, and wait for it to exit.
if ! kill -TERM "$server" 2>/dev/null; then
  echo "exec.sh: venus-server exited before the end of the runs" >&2
  failed=1
fi
for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then
  echo "exec.sh: venus-server ignored SIGTERM for 10 s; killed" >&2
  kill -KILL "$server"
  failed=1
fi
server_rc=0
wait "$server" || server_rc=$?
server=

# figure_stats SIDE FIGURE: "median min max" of FIGURE over SIDE's runs, or "- - -".
figure_stats() {
  cat "$out/$1"-*.txt | awk -v f="$2" '$1 == f {print $2}' | sort -g |
    awk '{a[NR] = $1} END {
      if (NR == 0) { print "- - -"; exit }
      m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      print m, a[1], a[NR] }'
}

device=$(sed -n 's/^# device //p' "$out"/native-*.txt | head -n1)
{
  echo "host device: ${device:-unknown} ($(basename "$host_icd"))"
  echo "venus device: $(sed -n 's/^# device //p' "$out"/venus-*.txt | head -n1)"
  echo "CPUs: $(nproc) ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "runs per side: $runs${quick:+ (--quick)}; figures are medians over runs, [min..max] in brackets"
  echo "server: venus-server${server_args[*]:+ ${server_args[*]}} (exit $server_rc after SIGTERM)"
  echo
  printf '%-21s %-4s %26s %26s %9s  %-27s %s\n' figure unit native venus ratio "ratio means (better)" target
  # figure unit kind target: kind "time" -> venus/native time (lower better),
  # "rate" -> venus/native GB/s (higher better), "speed" -> native/venus time
  # (higher better).
  while read -r fig unit kind target; do
    read -r nm nlo nhi < <(figure_stats native "$fig")
    read -r vm vlo vhi < <(figure_stats venus "$fig")
    case $kind in
      time) expr='v / n'; means='venus/native time (lower)' ;;
      rate) expr='v / n'; means='venus/native GB/s (higher)' ;;
      speed) expr='n / v'; means='native/venus time (higher)' ;;
    esac
    ratio=$(awk -v n="$nm" -v v="$vm" "BEGIN {
      if (n == \"-\" || v == \"-\" || n + 0 == 0 || v + 0 == 0) print \"-\"; else printf \"%.2fx\", $expr }")
    printf '%-21s %-4s %26s %26s %9s  %-27s %s\n' "$fig" "$unit" \
      "$nm [$nlo..$nhi]" "$vm [$vlo..$vhi]" "$ratio" "$means" "$target"
  done <<'EOF'
submit_roundtrip_us us time <=6x
protocol_roundtrip_us us time -
alloc_map_free_us us time <=4x
write_gbps GB/s rate >=0.9x
read_gbps GB/s rate >=0.9x
compute_ms ms speed >=0.95x
EOF
} | tee "$out/table.txt"
echo "raw outputs: $out"
exit "$failed"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# llama.cpp's Vulkan backend (Debian sid's llama.cpp-tools, llama.cpp-tests
# and libggml0-backend-vulkan) natively and through venus-server, on a model
# written at run time (bench/gguf_model.py: random weights, q4_0):
#   ops     test-backend-ops on a slice (LLAMA_OPS, LLAMA_PARAMS), natively
#           and through the server: its "N/M tests passed" each side
#   bench   llama-bench -p LLAMA_P -n LLAMA_N, prompt (ppP) and generation
#           (tgN) tokens per second, natively and through the server, with
#           ggml's choice of cooperative matrices (default), with
#           VK_KHR_cooperative_matrix only (GGML_VK_DISABLE_COOPMAT2=1) and
#           with none (GGML_VK_DISABLE_COOPMAT=1 too); the "matrix cores"
#           ggml reports for the device in each run
#   token   where a generated token's time goes through the server: two
#           generation-only runs (LLAMA_STATS_N and twice that many tokens)
#           against a --submit-stats server; what their "submit stats" and
#           "command stats" lines' counts grow by per extra token (model
#           load and warm-up are in both), at the longer run's mean times:
#           submissions per token, ring pickup, wake, decode and handlers,
#           host submit, host completion and waits, in us per token, and
#           the commands that come with each token; then generation
#           natively with and without host-visible video memory (the BAR
#           type ggml writes its inputs into; the server offers the guest
#           one only where it can share it) and through the server
#
#   bench/llama.sh [BUILD_DIR]     (lavapipe, in the sid root; make apps runs it)
#
# ggml lists CPU-type Vulkan devices (lavapipe) only when asked:
# GGML_VK_VISIBLE_DEVICES=0 is set for every run. Standalone, everything runs
# in the sid root (scripts/debian-root.sh; the packages are added on first
# use) with sid's lavapipe under both columns and sid's Mesa 26 Venus guest;
# scripts/gpu-check.sh's llama part sources this file and calls llama_main
# with its own native, client, run_server and stop_server (the host's GPU)
# and the programs from the llama bundle (scripts/gpu-bundle.sh, LLAMA=1).
# Exits 1 if a program fails through the server or test-backend-ops passes
# fewer cases through it than natively; the speeds are measurements, not checks.
# Environment: LLAMA_SHAPE (tiny standalone, 7b on a GPU; 1b: TinyLlama's),
# LLAMA_P, LLAMA_N, LLAMA_REPS (llama-bench -r), LLAMA_STATS_N,
# LLAMA_VARIANTS (default "default coopmat1 none"), LLAMA_OPS (MUL_MAT),
# LLAMA_PARAMS (test-backend-ops -p: a regex over the cases' parameters),
# LLAMA_SKIP_OPS=1, LLAMA_SKIP_TOKEN=1 (no token breakdown),
# LLAMA_SKIP_VIDMEM=1 (no legs with and without video memory), LLAMA_STATS_ARGS (more options for
# the token stage's server, e.g. --memory host-pointer), LLAMA_PERF (a perf
# command: the token stage's longer run is recorded system-wide, and
# llama-perf-SHAPE.txt is its report by process, object and symbol).

# Callers set: native CMD..., client CMD... (each prefixes environment
# assignments and a time limit), run_server ARGS..., stop_server, $server_log,
# $logs, the programs llama_bench=(...) and llama_tbo=(...) (command words),
# llama_model (the model's path as the programs see it) and
# llama_model_host (where this script writes it).
llama_variant_env() { # VARIANT: its environment assignments
  case $1 in
    default) echo "GGML_VK_VISIBLE_DEVICES=0" ;;
    coopmat1) echo "GGML_VK_VISIBLE_DEVICES=0 GGML_VK_DISABLE_COOPMAT2=1" ;;
    none) echo "GGML_VK_VISIBLE_DEVICES=0 GGML_VK_DISABLE_COOPMAT=1 GGML_VK_DISABLE_COOPMAT2=1" ;;
  esac
}

# llama_tbo_passed FILE: test-backend-ops' "N/M" for the Vulkan backend, or "fails"
llama_tbo_passed() { sed -nE 's/^ *([0-9]+\/[0-9]+) tests passed.*/\1/p' "$1" | head -n1 | grep . || echo fails; }

# llama_bench_ts FILE TEST: llama-bench's mean tokens per second for the
# test with n_prompt > 0 (pp) or n_gen > 0 (tg), from its CSV
llama_bench_ts() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
rows = [l for l in open(sys.argv[1], errors="replace") if l.startswith(('"', "build_commit"))]
out = "fails"
for r in csv.DictReader(rows):
    if (sys.argv[2] == "pp" and int(r["n_prompt"]) > 0) or (sys.argv[2] == "tg" and int(r["n_gen"]) > 0):
        out = "%.1f" % float(r["avg_ts"])
print(out)
PY
}

llama_cores() { sed -nE 's/.*matrix cores: ([A-Za-z0-9_]+).*/\1/p' "$1" | head -n1 | grep . || echo -; }

llama_main() {
  local shape=${LLAMA_SHAPE:-7b} p=${LLAMA_P:-512} n=${LLAMA_N:-128} reps=${LLAMA_REPS:-5}
  local variants=${LLAMA_VARIANTS:-default coopmat1 none} v side out rc=0 tn tv
  local -A pp tg cores
  echo "== llama: $shape model, llama-bench -p $p -n $n -r $reps, variants: $variants"
  python3 "$top/bench/gguf_model.py" "$shape" "$llama_model_host" || { echo "   llama: cannot write the model"; return 1; }
  run_server --log-level warn || return 1
  if [ "${LLAMA_SKIP_OPS:-0}" != 1 ]; then
    local ops=(-b Vulkan0 -o "${LLAMA_OPS:-MUL_MAT}")
    [ -n "${LLAMA_PARAMS:-}" ] && ops+=(-p "$LLAMA_PARAMS")
    LIMIT=${LLAMA_OPS_LIMIT:-1800} native GGML_VK_VISIBLE_DEVICES=0 "${llama_tbo[@]}" "${ops[@]}" >"$logs/llama-ops-native.txt" 2>&1
    LIMIT=${LLAMA_OPS_LIMIT:-1800} client GGML_VK_VISIBLE_DEVICES=0 "${llama_tbo[@]}" "${ops[@]}" >"$logs/llama-ops-venus.txt" 2>&1
    tn=$(llama_tbo_passed "$logs/llama-ops-native.txt") tv=$(llama_tbo_passed "$logs/llama-ops-venus.txt")
    echo "   test-backend-ops ${ops[*]:2}: native $tn passed, through the server $tv passed"
    if [ "$tv" = fails ] || [ "$tn" != "$tv" ]; then
      echo "   llama: FAIL: test-backend-ops passed $tv through the server against $tn natively"
      grep -E 'FAIL|error' "$logs/llama-ops-venus.txt" | head -n 5 | sed 's/^/   /'
      rc=1
    fi
  fi
  for v in $variants; do
    for side in native venus; do
      out=$logs/llama-bench-$side-$v.txt
      # shellcheck disable=SC2046 # the variant's assignments are words
      if [ $side = native ]; then
        LIMIT=${LLAMA_BENCH_LIMIT:-1800} native $(llama_variant_env "$v") "${llama_bench[@]}" -m "$llama_model" \
          -p "$p" -n "$n" -r "$reps" -ngl 99 -o csv >"$out" 2>&1
      else
        LIMIT=${LLAMA_BENCH_LIMIT:-1800} client $(llama_variant_env "$v") "${llama_bench[@]}" -m "$llama_model" \
          -p "$p" -n "$n" -r "$reps" -ngl 99 -o csv >"$out" 2>&1
      fi
      pp[$side-$v]=$(llama_bench_ts "$out" pp) tg[$side-$v]=$(llama_bench_ts "$out" tg) cores[$side-$v]=$(llama_cores "$out")
      if [ $side = venus ] && [ "${tg[$side-$v]}" = fails ]; then
        echo "   llama: FAIL: llama-bench ($v) through the server: $(grep -v '^"' "$out" | tail -n1)"
        rc=1
      fi
    done
  done
  stop_server
  echo "   | cooperative matrices | matrix cores (native / venus) | pp$p native | pp$p venus | ratio | tg$n native | tg$n venus | ratio |"
  echo "   | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for v in $variants; do
    echo "   | $v | ${cores[native-$v]} / ${cores[venus-$v]} | ${pp[native-$v]} | ${pp[venus-$v]} | $(llama_ratio "${pp[venus-$v]}" "${pp[native-$v]}") | ${tg[native-$v]} | ${tg[venus-$v]} | $(llama_ratio "${tg[venus-$v]}" "${tg[native-$v]}") |"
  done
  [ "${LLAMA_SKIP_TOKEN:-0}" = 1 ] || llama_token_time || rc=1
  [ "${LLAMA_SKIP_VIDMEM:-0}" = 1 ] || llama_vidmem_tg "$n" "$p" || rc=1
  return $rc
}

# llama_vidmem_tg N P: generation (tgN) and prompt processing (ppP)
# natively with and without ggml's use of host-visible video memory
# (GGML_VK_DISABLE_HOST_VISIBLE_VIDMEM=1), and through the server twice: by
# default, where NVIDIA's BAR type is lent through the driver's own mapping
# (src/renderer/memory/driver_mapping.h, lent_pool.h), and with --memory
# host-pointer, which offers the guest no such type. The legs take turns
# LLAMA_ROUNDS times (default 1) and each reports its medians: on the H100
# one leg's tg moves by 10 % from run to run. The default server also runs
# test-backend-ops.
llama_vidmem_tg() {
  local n=$1 p=$2 k out tn tv rc=0 round rounds=${LLAMA_ROUNDS:-1} lent=no
  local -A t pp
  local bench=("${llama_bench[@]}" -m "$llama_model" -p "$p" -n "$n" -r 3 -ngl 99 -o csv)
  for round in $(seq "$rounds"); do
    for k in native native-novidmem; do
      out=$logs/llama-vidmem-$k-$round.txt
      case $k in
        native) LIMIT=600 native GGML_VK_VISIBLE_DEVICES=0 "${bench[@]}" >"$out" 2>&1 ;;
        native-novidmem) LIMIT=600 native GGML_VK_VISIBLE_DEVICES=0 GGML_VK_DISABLE_HOST_VISIBLE_VIDMEM=1 "${bench[@]}" >"$out" 2>&1 ;;
      esac
      t[$k]+=" $(llama_bench_ts "$out" tg)" pp[$k]+=" $(llama_bench_ts "$out" pp)"
    done
    run_server --log-level warn --memory host-pointer || return 1
    out=$logs/llama-vidmem-venus-unlent-$round.txt
    LIMIT=600 client GGML_VK_VISIBLE_DEVICES=0 "${bench[@]}" >"$out" 2>&1
    t[unlent]+=" $(llama_bench_ts "$out" tg)" pp[unlent]+=" $(llama_bench_ts "$out" pp)"
    stop_server
    run_server --log-level info || return 1
    out=$logs/llama-vidmem-venus-$round.txt
    LIMIT=600 client GGML_VK_VISIBLE_DEVICES=0 "${bench[@]}" >"$out" 2>&1
    t[venus]+=" $(llama_bench_ts "$out" tg)" pp[venus]+=" $(llama_bench_ts "$out" pp)"
    if [ "$(llama_bench_ts "$out" tg)" = fails ]; then
      echo "   llama: FAIL: llama-bench through the default server: $(grep -v '^"' "$out" | tail -n1)"
      rc=1
    fi
    if [ "$round" = 1 ] && [ "${LLAMA_SKIP_OPS:-0}" != 1 ]; then
      local ops=(-b Vulkan0 -o "${LLAMA_OPS:-MUL_MAT}")
      [ -n "${LLAMA_PARAMS:-}" ] && ops+=(-p "$LLAMA_PARAMS")
      LIMIT=${LLAMA_OPS_LIMIT:-1800} client GGML_VK_VISIBLE_DEVICES=0 "${llama_tbo[@]}" "${ops[@]}" >"$logs/llama-ops-venus-lent.txt" 2>&1
      tn=$(llama_tbo_passed "$logs/llama-ops-native.txt") tv=$(llama_tbo_passed "$logs/llama-ops-venus-lent.txt")
      echo "   test-backend-ops through the default server (video memory lent): $tv passed (native $tn)"
      if [ "$tv" = fails ] || [ "$tn" != "$tv" ]; then
        echo "   llama: FAIL: test-backend-ops with video memory lent passed $tv against $tn natively"
        rc=1
      fi
    fi
    stop_server
    grep -q 'memory shared by.*driver-mapping' "$server_log" 2>/dev/null && lent=yes
  done
  for k in native native-novidmem venus unlent; do t[$k]=$(llama_median ${t[$k]:-}) pp[$k]=$(llama_median ${pp[$k]:-}); done
  echo "   tg$n, median of $rounds: natively with host-visible video memory ${t[native]}, without it ${t[native-novidmem]} ($(llama_ratio "${t[native-novidmem]}" "${t[native]}")x); through the server ${t[venus]} ($(llama_ratio "${t[venus]}" "${t[native]}")x native; a type lent: $lent); with --memory host-pointer ${t[unlent]} ($(llama_ratio "${t[unlent]}" "${t[native]}")x native, $(llama_ratio "${t[unlent]}" "${t[native-novidmem]}")x of native without it)"
  echo "   pp$p, median of $rounds: natively ${pp[native]}, without host-visible video memory ${pp[native-novidmem]}; through the server ${pp[venus]} ($(llama_ratio "${pp[venus]}" "${pp[native]}")x native); with --memory host-pointer ${pp[unlent]} ($(llama_ratio "${pp[unlent]}" "${pp[native]}")x native)"
  return $rc
}

# llama_median T...: the median of t/s figures ("fails" counts as 0).
llama_median() {
  printf '%s\n' "$@" | sed 's/^fails$/0/' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "fails" }'
}

llama_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

# llama_token_time: generation through a --submit-stats server, per token:
# the stages' and commands' counts that grow between an N- and a 2N-token
# run (load and warm-up are in both) times their mean in the longer run.
llama_token_time() {
  local n1=${LLAMA_STATS_N:-32} k perf_pid=""
  # shellcheck disable=SC2086 # LLAMA_STATS_ARGS are words
  run_server --log-level info --submit-stats ${LLAMA_STATS_ARGS:-} || return 1
  for k in 1 2; do
    if [ $k = 2 ] && [ -n "${LLAMA_PERF:-}" ]; then
      # shellcheck disable=SC2086 # LLAMA_PERF is a command's words
      $LLAMA_PERF record -a -F 2999 -o "$logs/llama-perf.data" >"$logs/llama-perf.err" 2>&1 &
      perf_pid=$!
      sleep 1
    fi
    LIMIT=${LLAMA_BENCH_LIMIT:-1800} client GGML_VK_VISIBLE_DEVICES=0 "${llama_bench[@]}" -m "$llama_model" \
      -p 0 -n $((n1 * k)) -r 1 -ngl 99 -o csv >"$logs/llama-stats-$k.txt" 2>&1
    if [ -n "$perf_pid" ]; then
      kill -INT "$perf_pid"; wait "$perf_pid"
      # shellcheck disable=SC2086
      $LLAMA_PERF report -i "$logs/llama-perf.data" --stdio --sort comm,dso,sym --percent-limit 0.3 \
        >"$logs/llama-perf-${LLAMA_SHAPE:-7b}.txt" 2>>"$logs/llama-perf.err"
      rm -f "$logs/llama-perf.data"
    fi
    sleep 0.5 # the context's lines come as the client goes
    { grep -o 'submit stats: .*' "$server_log" | tail -n1; grep -o 'command stats: .*' "$server_log" | tail -n1; } \
      >"$logs/llama-stats-$k.lines"
  done
  stop_server
  echo "   per generated token through the server (the growth from a $n1- to a $((2 * n1))-token run against a --submit-stats server; us per token; host complete overlaps the rest):"
  python3 - "$logs/llama-stats-1.lines" "$logs/llama-stats-2.lines" "$n1" "$(llama_bench_ts "$logs/llama-stats-2.txt" tg)" <<'PY'
import re, sys
def parse(path):
    text = open(path).read()
    stages = {st: (int(c), float(t)) for st, c, t in re.findall(r"(\w+) (\d+) x [0-9.]+ us \(total ([0-9.]+) us", text)}
    cmds = {}
    m = re.search(r"command stats: (.*)", text)
    for name, c, avg in re.findall(r"(\w+) (\d+) x ([0-9.]+) us", m.group(1) if m else ""):
        cmds[name] = (int(c), int(c) * float(avg))
    return stages, cmds
(a, ca), (b, cb), n, ts = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if not a or not b:
    print("   (no submit stats lines)")
    sys.exit(1)
def per_token(x, y, key):  # (count, us) per token
    (c1, _), (c2, t2) = x.get(key, (0, 0.0)), y.get(key, (0, 0.0))
    grow = max(c2 - c1, 0) / n
    return grow, grow * (t2 / c2 if c2 else 0.0)
st = {k: per_token(a, b, k) for k in ("pickup", "wake", "dispatch", "submit", "complete", "wait")}
growing = {k: per_token(ca, cb, k) for k in cb if per_token(ca, cb, k)[0] > 0}
# Recorded commands (vkCmd*) run inside vkExecuteCommandStreamsMESA: their
# time is in its time already.
nested = "vkExecuteCommandStreamsMESA" in growing
handlers = sum(us for k, (_, us) in growing.items() if not (nested and k.startswith("vkCmd"))) - st["submit"][1] - st["wait"][1]
token_us = 1e6 / float(ts) if ts not in ("fails", "") else None
print("   | token (1/tg) | submits | pickup | wake | decode+handlers | host submit | host complete | host waits |")
print("   | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print("   | %s | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
    "%.0f" % token_us if token_us else "-", st["submit"][0], st["pickup"][1], st["wake"][1], handlers,
    st["submit"][1], st["complete"][1], st["wait"][1]))
print("   commands per token: " + ", ".join("%s %.1f x %.0f us" % (k, c, us / c if c else 0)
      for k, (c, us) in sorted(growing.items(), key=lambda kv: -kv[1][1])))
PY
}

# Standalone: lavapipe in the sid root, the build's own server copied there.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  top=$(cd "$(dirname "$0")/.." && pwd)
  build=$(cd "${1:-$top/build}" && pwd)
  root=$("$top/scripts/debian-root.sh" sid --include llama.cpp-tools,llama.cpp-tests,libggml0-backend-vulkan) || exit 1
  logs=$(mktemp -d "$root/tmp/vs-llama.XXXXXX")
  in=${logs#"$root"}
  "$top/scripts/into-root.sh" "$root" "$logs" "$build/venus-server"
  lvp=/usr/share/vulkan/icd.d/lvp_icd.json
  virtio=/usr/share/vulkan/icd.d/virtio_icd.json
  sock=$logs/venus.sock
  server_pid="" server_n=0 server_log=""
  native() { timeout -k 5 "${LIMIT:-600}" "$top/scripts/in-root.sh" "$root" env VK_ICD_FILENAMES=$lvp "$@"; }
  client() {
    timeout -k 5 "${LIMIT:-600}" "$top/scripts/in-root.sh" "$root" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$in/venus.sock" \
      VK_ICD_FILENAMES=$virtio "$@"
  }
  run_server() {
    server_n=$((server_n + 1))
    server_log=$logs/server-$server_n.log
    rm -f "$sock"
    "$top/scripts/in-root.sh" "$root" env VK_ICD_FILENAMES=$lvp LD_LIBRARY_PATH="$in/lib" "$in/venus-server" \
      --socket "$in/venus.sock" "$@" >"$server_log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
    echo "   llama: venus-server did not start ($(tail -n1 "$server_log"))"
    return 1
  }
  stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
  trap 'stop_server; [ "${LLAMA_KEEP:-0}" = 1 ] || rm -rf "$logs"' EXIT
  llama_bench=(llama-bench)
  llama_tbo=(/usr/libexec/x86_64-linux-gnu/llama.cpp-tests/test-backend-ops)
  llama_model_host=$logs/model.gguf llama_model=$in/model.gguf
  # lavapipe's defaults: a few-MiB model, and a slice of MUL_MAT whose
  # pipelines compile in seconds there (f16's cooperative-matrix kernels take
  # minutes to compile on lavapipe).
  LLAMA_SHAPE=${LLAMA_SHAPE:-tiny} LLAMA_P=${LLAMA_P:-64} LLAMA_N=${LLAMA_N:-16} LLAMA_REPS=${LLAMA_REPS:-2}
  LLAMA_STATS_N=${LLAMA_STATS_N:-16}
  LLAMA_PARAMS=${LLAMA_PARAMS-'type_a=(f32|q4_0),type_b=f32,m=16,n=(1|2|4|8|9|16),k=256,bs=\[1,1\],nr=\[1,1\],per=\[0,1,2,3\]'}
  llama_main
  rc=$?
  for l in "$logs"/server-*.log; do
    if grep -qE '^(worker process [0-9]+: )?venus-server: error: ' "$l"; then
      echo "   llama: FAIL: the server logged errors ($(basename "$l")):"
      grep -E '^(worker process [0-9]+: )?venus-server: error: ' "$l" | head -n 5 | sed 's/^/   /'
      rc=1
    fi
  done
  exit $rc
fi

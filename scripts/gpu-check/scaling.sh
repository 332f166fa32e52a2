# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "scaling" of scripts/gpu-check.sh (sourced after the set-up):
#   scaling G N      N render_bench at once (each N of TENANTS, SIZE,
#                    SECONDS_EACH as in bench/tenants.sh) on G GPUs: first
#                    the host's GPU 0 alone (G=1: the native processes all
#                    on it, the server given --device 0), then all of its
#                    GPUs (the native processes spread the way the server
#                    places tenants); natively, then through the default
#                    server with N ready workers (all start together, as
#                    the native processes do). Each row: the server's
#                    aggregate FPS, its ratio to native on as many GPUs and
#                    to the server on one GPU, and the placement and
#                    utilisation ("gpus" line). On a host of several GPUs,
#                    "scaling all" runs the server once more with
#                    --placement all (every tenant sees every GPU), against
#                    the native spread over all of them.

# shellcheck source=SCRIPTDIR/../../bench/tenants.sh
. "$top/bench/tenants.sh"
declare -A scaling_native scaling_server
# scaling_rows G TAG [SERVER OPTION...]: the runs for each N; TAG all reuses
# the native runs of G GPUs.
scaling_rows() {
  local g=$1 tag=$2 n out s ok rn r1
  shift 2
  for n in $TENANTS; do
    ok=1
    if [ "$tag" = all ]; then
      scaling_native[$tag,$n]=${scaling_native[$g,$n]:-0}
    else
      out=$(NATIVE_GPUS=$g tenants_scaling native "$n" native); echo "$out"
      scaling_native[$tag,$n]=$(cat "$logs/tenants-native-$n.sum")
      grep -q " $n of $n clients" <<<"$out" || ok=0
    fi
    run_server --log-level info --limit clients=64 --limit clients-per-peer=64 --ready-workers "$n" "$@" ||
      { result "scaling $tag N=$n" FAIL "server did not start"; continue; }
    sleep "${READY_SETTLE_S:-10}"
    out=$(tenants_scaling process-ready "$n" client); echo "$out"
    stop_server
    grep -q " $n of $n clients" <<<"$out" || ok=0
    s=$(cat "$logs/tenants-process-ready-$n.sum")
    scaling_server[$tag,$n]=$s
    rn=$(awk -v a="$s" -v b="${scaling_native[$tag,$n]:-0}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    r1=$(awk -v a="$s" -v b="${scaling_server[1,$n]:-0}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    result "scaling $tag N=$n" "$([ $ok = 1 ] && echo PASS || echo FAIL)" \
      "server $s FPS, native $tag ${scaling_native[$tag,$n]} FPS: ${rn}x native, ${r1}x the server on 1 GPU; $(grep -h '^   gpus process-ready' <<<"$out" | sed 's/^   //')"
    mkdir -p "$logs/scaling-$tag"
    mv "$logs"/tenants-*-"$n"[.-]* "$logs/scaling-$tag/" 2>/dev/null
  done
}
scaling_gpus=1
command -v nvidia-smi >/dev/null 2>&1 && scaling_gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
[ "${scaling_gpus:-0}" -ge 1 ] || scaling_gpus=1
echo "== scaling: $scaling_gpus GPUs; TENANTS {$TENANTS}, $SIZE, $SECONDS_EACH s each"
scaling_rows 1 1 --device 0
if [ "$scaling_gpus" -gt 1 ]; then
  scaling_rows "$scaling_gpus" "$scaling_gpus"
  scaling_rows "$scaling_gpus" all --placement all
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the suite's checks and the benchmarks on a host whose Vulkan driver
# is a real GPU and which has no package registry, from a bundle made on a
# Debian 12 machine that has one (scripts/gpu-bundle.sh; docs/testing.md):
#
#   scripts/gpu-check.sh BUNDLE [PART...]   (as root)
#   scripts/gpu-check.sh --help             (the parts, one line each)
#
# The set-up (scripts/gpu-check/setup.sh) runs first: BUNDLE/root-debs
# (the Vulkan loader and glvnd libraries) unpacked over /, everything else
# into a private prefix. Then each PART named, in the order below whatever
# the order named; without a PART, all of them:
#   checks         vulkaninfo, compute under each memory strategy, sync,
#                  oom, modifier, render, raytrace, mesh, coopmat,
#                  extensions, many-clients, sigkill, stuck-queue, vkmark,
#                  render-bench
#   render-server  tests/rs_vmm drives the server as a VMM (--socket-fd)
#   display        the server's display: vkcube and numbered frames at
#                  1920x1080, recorded; bench/display.sh
#   live           vkcube at 1920x1080 watched in headless Chromium
#   frames         per-frame overhead in both present modes
#   vm             the test VM: vm-short and vm-bench
#   vm-live        vkcube live in Chromium through vtest and from the VM
#   vm-paths       bench/vm-paths.sh: the vhost-user device (QEMU 11.1) and
#                  the render server + VM channel (QEMU 10) side by side
#   guest26        Mesa 26's guest: Vulkan 1.4, vk14, FPS tables, sid's front end
#   latency        a submission's round trip, natively and through the server
#   tenants        bench/tenants.sh: start-up, memory, 16/32-tenant scaling
#   scaling        16/32 tenants on GPU 0 alone and on all the host's GPUs,
#                  natively and through the server
#   llama          bench/llama.sh: llama.cpp's Vulkan backend
#   bench          bench/run.sh: native and venus-server columns
# scripts/gpu-check/PART.sh runs the part and says what each of its rows
# checks; scripts/gpu-check/common.sh holds the helpers they share. Each row
# prints "== NAME: PASS|FAIL|SKIP ...", a part whose bundle files are
# missing (Chromium, the VM, llama.cpp, guest26) a SKIP row; "== summary"
# then lists every row again and the status is 1 if any failed. A client
# that hangs has its and the server's threads dumped (kernel stacks, and
# cuda-gdb or gdb backtraces where one is installed) into the logs.
#
# Environment:
#   HOST_ICD         the host driver's ICD json (default: NVIDIA's)
#   OUT_DIR          where the logs go (default: a temporary directory)
#   VKMARK_RUNS, VKMARK_DURATION, FIGURE_DURATION, VKMARK_LOG_LEVEL  checks' vkmark
#   FRAMES_DURATION  s per vkmark scene in frames and guest26 (default 2)
#   LIVE_SECONDS     how long live (60) and vm-live (20) watch the page
#   CHROMIUM_PARTS   the Chromium parts, if not in BUNDLE/../gpu-chromium
#   VM_ACCEL, VM_CPU, VM_TIMEOUT, VM_LIVE_SIZE  the test VM (vm, vm-live)
#   VM_PATHS_SIZE, VM_PATHS_SECONDS  vm-paths (1024x768, 45 s of live frames)
#   LLAMA_TAR, LLAMA_SHAPES, LLAMA_P, LLAMA_N, ...  llama (bench/llama.sh)
#   TENANTS, SIZE, SECONDS_EACH, PLACEMENT  tenants (bench/tenants.sh), scaling
set -uo pipefail

gc_dir=$(cd "$(dirname "$0")" && pwd)/gpu-check
gc_parts='checks         vulkaninfo, compute, sync, oom, modifier, render, raytrace, mesh, coopmat,
               extensions, many-clients, sigkill, stuck-queue, vkmark, render-bench
render-server  tests/rs_vmm drives the server as a VMM over --socket-fd
display        the server display: vkcube and numbered frames at 1080p, bench/display.sh
live           live-1080p: vkcube at 1080p watched in headless Chromium
frames         per-frame overhead: render_bench, vkmark, wl_frames in both present modes
vm             the test VM (scripts/vm-bundle.sh): vm-short and vm-bench
vm-live        vkcube live in Chromium through vtest and from the test VM guest
vm-paths       bench/vm-paths.sh: the vhost-user device vs the render server + VM channel
guest26        the Mesa 26 guest: Vulkan 1.4, vk14, FPS tables, the stock front end
latency        a submission round trip natively and through the server
upgrade        a live upgrade in place, twice, with two compute clients across it, and a VM server
journal        what the journal of lasting commands costs render_bench and vkmark
restore        contexts rebuilt from their journals mid-run, and moved between GPUs
checkpoint     --worker-checkpoints: a client restored after its worker is killed
tenants        bench/tenants.sh: start-up, memory and 16/32-tenant scaling
scaling        16/32 tenants on GPU 0 alone and on all GPUs, natively and through the server
llama          bench/llama.sh: llama.cpp Vulkan backend natively and through the server
bench          bench/run.sh: native and venus-server columns'
gc_all=$(sed -n 's/^\([a-z0-9-]*\) .*/\1/p' <<<"$gc_parts" | tr '\n' ' ')
usage() {
  echo "usage: $0 BUNDLE [PART...]   (as root; BUNDLE from scripts/gpu-bundle.sh)"
  echo "Runs the set-up, then each PART named (all of them without one), in this order:"
  sed 's/^/  /' <<<"$gc_parts"
  echo "Environment: HOST_ICD, OUT_DIR and each part's tuning variables (see the header of $0)."
}
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  ""|-*) usage >&2; exit 2 ;;
esac
[ -d "$1" ] || { echo "gpu-check: $1: no such bundle directory" >&2; exit 2; }
gc_run=""
for gc_part in "${@:2}"; do
  case $gc_part in -h|--help) usage; exit 0 ;; esac
  if [[ " $gc_all " != *" $gc_part "* ]]; then
    echo "gpu-check: unknown part '$gc_part'" >&2
    usage >&2
    exit 2
  fi
  gc_run+=" $gc_part"
done
# want PART: whether this run does PART (every part when none is named).
want() { [ -z "$gc_run" ] || [[ "$gc_run " == *" $1 "* ]]; }

bundle=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d /tmp/venus-gpu.XXXXXX)
logs=${OUT_DIR:-$prefix/logs}
mkdir -p "$logs"
build=$bundle/build
failures=0
results=()

# shellcheck source=SCRIPTDIR/gpu-check/common.sh
. "$gc_dir/common.sh"
# shellcheck source=SCRIPTDIR/gpu-check/setup.sh
. "$gc_dir/setup.sh"

for gc_part in $gc_all; do
  # shellcheck disable=SC1090
  want "$gc_part" && . "$gc_dir/$gc_part.sh"
done

echo "== summary"
printf '%s\n' "${results[@]}"
echo "== failures: $failures"
exit $((failures > 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every check that runs on lavapipe, and the benchmarks, on a machine
# whose host Vulkan driver is a real GPU (the NVIDIA test machines, which
# have no package registry), in one call on a fresh machine:
#
#   scripts/gpu-check.sh BUNDLE        (as root; BUNDLE from bench/gpu-bundle.sh)
#
# Set-up (environment.md section 6): BUNDLE/root-debs (bookworm's Vulkan
# loader and glvnd libraries: NVIDIA's headless Vulkan needs libEGL) are
# unpacked over / and ldconfig runs; everything else (the Venus client,
# vulkaninfo and their libraries, BUNDLE/debs) goes into a private prefix;
# vkmark runs from BUNDLE/vkmark with trixie's own ld-linux.
#
# Checks, each printed as "== NAME: PASS|FAIL|SKIP ...":
#   vulkaninfo       the Venus device names the host GPU; key limits equal native's
#   compute          vk_compute --mib 64 under every memory strategy
#   sync, oom        tests/vk_sync, tests/vk_oom
#   render           vk_render natively and through the server: same bytes
#   raytrace, mesh, coopmat  vk_raytrace / vk_mesh / vk_coopmat the same
#                    way (vk_raytrace's ray query part only where the host
#                    has VK_KHR_ray_query; rayparts.txt names the parts),
#                    with Mesa 26's guest (BUNDLE/guest26) where Mesa 25's
#                    lacks the extensions (SKIP: the host lacks them;
#                    FAIL: the host has them and Mesa 26's guest is not offered them)
#   extensions       scripts/ext-diff.sh: Mesa 26's device extensions on the
#                    host, through the server and through the peer (the
#                    bundled virgl_test_server + virgl_render_server); FAIL
#                    if the peer offers one we do not
#   modifier         vk_modifier (LINEAR DRM-modifier images) through the server
#   many-clients     16 concurrent vulkaninfo clients; 0 objects left
#   sigkill          a client holding objects SIGKILLed: all released
#   stuck-queue      a client leaving its queue blocked: torn down
#   render-server-*  tests/rs_vmm as the VMM (--socket-fd): several contexts,
#                    fences on several rings, an imported memfd used as Vulkan
#                    memory and read back, over SOCK_SEQPACKET and SOCK_STREAM;
#                    hostile messages; --isolate process with a worker killed
#   vkmark           every default scene at 320x240 and 1920x1080, VKMARK_RUNS
#                    times each (default 3), no hang; then SIGTERM stops the server
#   render-bench     bench/render_bench natively and through the server: FPS, ratio
#   display-vkcube   the server's display (--display, --record, --http):
#                    vkcube-wayland through Venus at 1920x1080, 300 frames,
#                    one WebSocket viewer reading the stream; the recorded
#                    H.264 comes back as vkcube-1080p.h264 in the logs
#   display-frames   tests/display/wl_frames: 300 numbered frames at 1920x1080
#                    behind heavy GPU work, recorded (frames-1080p.h264: check
#                    it with tests/display/check_stream.py numbers)
#   display-bench    bench/display.sh at 1280x720 and 1920x1080: presented and
#                    encoded fps, commit->send median and p99, convert and
#                    encode time, CPU and copies per frame (display-bench.md)
#   guest26-*        the newest Mesa's Venus guest (BUNDLE/guest26, Mesa 26 from
#                    sid, run by sid's ld-linux): vulkaninfo (apiVersion 1.4,
#                    the 1.4 features it sees, into guest26-vulkaninfo.txt) and
#                    tests/vk14 (Vulkan 1.4 commands: push descriptors, line
#                    stipple, uint8 indices, attachment locations, host image
#                    copy) through the server: same bytes as native; then
#                    render_bench at 2 and 3 frames in flight against
#                    native, and vkmark's 13 scenes at 320x240 natively (where
#                    the driver has VK_EXT_headless_surface) and through the
#                    server with Mesa 25's and Mesa 26's guests, default and
#                    fast present, as a table (with BUNDLE/vkmark)
#   live-1080p       the page in headless Chromium (Debian's, carried as .debs:
#                    bench/gpu-bundle.sh with CHROMIUM=1 makes the parts in
#                    .deps/gpu-chromium): vkcube-wayland through Venus at
#                    1920x1080, --fps 60, LIVE_SECONDS (60) watched;
#                    commit->decoded and commit->drawn median and p99, and
#                    the p99 of the first and the last 10 s (goal: drawn
#                    median < 50 ms); the page's screenshot is live-1080p.png
#   frames-*         per-frame overhead (ONLY_FRAMES=1 alone): render_bench at
#                    320x240 and 1280x720 natively and through the server, 3
#                    interleaved rounds, then once against a --submit-stats
#                    server (its "submit stats" line: ring pickup, decode, host
#                    submit and completion); vkmark's 13 scenes at 320x240
#                    through the server with Mesa's default present and the
#                    fast one (venus_implicit_fencing=true), 2 interleaved
#                    rounds and one --submit-stats run each; wl_frames' 300
#                    numbered frames at 320x240 on the display in both
#                    present modes, recorded (frames-320-false.h264,
#                    frames-320-true.h264: check them with check_stream.py
#                    numbers FILE 320 240 100)
#   llama            bench/llama.sh with sid's llama.cpp (gpu-check needs
#                    BUNDLE/../gpu-llama/llama.tar.xz from bench/gpu-bundle.sh
#                    LLAMA=1, or LLAMA_TAR; SKIP without it) and the Mesa 26
#                    guest: test-backend-ops -o MUL_MAT natively and through
#                    the server (same pass count), llama-bench -p 512 -n 128 on
#                    random-weight models of each LLAMA_SHAPES (default "7b
#                    1b": Llama-2-7B's and TinyLlama-1.1B's shapes, q4_0),
#                    with ggml's cooperative matrices, KHR only and none,
#                    natively and through the server, as a table; where a
#                    generated token's time goes through the server
#                    (--submit-stats)
#   latency          a submission's round trip (bench/exec_bench --quick:
#                    a fill recorded, submitted and waited for (what
#                    llama's staging reads do), empty submit +
#                    vkWaitForFences, submit + spin on
#                    vkGetFenceStatus, vkGetFenceStatus alone) natively and
#                    through a --submit-stats server with Mesa 25's and Mesa
#                    26's guests, process and thread workers, as a table
#                    (ONLY_LATENCY=1 alone)
#   vm-live          (ONLY_VM_LIVE=1; needs the VM parts and the Chromium
#                    parts) vkcube at VM_LIVE_SIZE (1920x1080) live in
#                    Chromium (LIVE_SECONDS, default 20, watched): through
#                    vtest, then from the test VM's guest on the VM display
#                    (workload display-apps, ended by the page's Escape):
#                    commit->drawn, encoded of committed, commit->encoded
#   bench            bench/run.sh (native and venus-server columns)
#   vm-*             (ONLY_VM=1; needs BUNDLE/vm-guest.tar and vm-host.tar.xz.N
#                    from bench/vm-bundle.sh) the test VM with KVM: a Debian 13
#                    guest under trixie's QEMU 10 (run from the bundle on
#                    trixie's ld-linux; SDL on Xvfb, llvmpipe EGL) whose
#                    virtio-gpu's Venus contexts run on venus-server and the
#                    host GPU: vm-short (vulkaninfo names the GPU, mapped
#                    compute, vk_render byte-identical to native, every
#                    default vkmark scene), vm-bench (submit round trip and
#                    vkmark in the guest, against vtest and native here)
# A client that hangs has its and the server's threads dumped (kernel stacks,
# and cuda-gdb or gdb backtraces where one is installed) into the logs.
#
# Environment: HOST_ICD (default NVIDIA's ICD json), OUT_DIR (logs; default
# a temporary directory), VKMARK_RUNS, VKMARK_DURATION (s per scene in the
# repeated runs, default 1), FIGURE_DURATION (s per scene for the figures,
# default 3), VKMARK_LOG_LEVEL (the server's during the repeated runs),
# SKIP_BENCH=1, SKIP_TENANTS=1, ONLY_BENCH=1 (set-up and the bench alone), ONLY_RENDER_SERVER=1
# (set-up and the render-server checks alone), ONLY_DISPLAY=1 (set-up and the
# display rows alone), ONLY_GUEST26=1 (set-up and the guest26 rows alone),
# ONLY_LIVE=1 (set-up and live-1080p alone; CHROMIUM_PARTS
# names the parts' directory if it is neither BUNDLE/../gpu-chromium nor
# .deps/gpu-chromium), ONLY_FRAMES=1 (set-up and the frames-* rows alone;
# FRAMES_DURATION s per vkmark scene there, default 2), ONLY_VM=1 (set-up
# and the VM rows alone; ONLY_VM_LIVE=1 the vm-live row; VM_ACCEL=kvm|tcg (default: KVM unless it is PVM),
# VM_CPU for another CPU model, VM_TIMEOUT seconds per boot, default 600),
# ONLY_CHECKS=1 (set-up and the checks from vulkaninfo to vkmark alone),
# ONLY_LLAMA=1 (set-up and the llama row alone; SKIP_LLAMA=1 leaves it out;
# LLAMA_SHAPES, LLAMA_P, LLAMA_N, LLAMA_PARAMS... as in bench/llama.sh),
# ONLY_TENANTS=1 (set-up and the tenants row alone: bench/tenants.sh's
# start-up, memory and 16/32-tenant scaling figures; TENANTS, SIZE,
# SECONDS_EACH as there).
set -uo pipefail

bundle=$(cd "${1:?usage: $0 BUNDLE}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d /tmp/venus-gpu.XXXXXX)
logs=${OUT_DIR:-$prefix/logs}
mkdir -p "$logs"
build=$bundle/build
failures=0
results=()
# want PART: whether this run does PART (checks, render-server, display,
# live, bench): the one part an ONLY_* names, else all (the bench unless SKIP_BENCH=1).
only=""
[ "${ONLY_BENCH:-0}" = 1 ] && only=bench
[ "${ONLY_RENDER_SERVER:-0}" = 1 ] && only=render-server
[ "${ONLY_DISPLAY:-0}" = 1 ] && only=display
[ "${ONLY_GUEST26:-0}" = 1 ] && only=guest26
[ "${ONLY_LIVE:-0}" = 1 ] && only=live
[ "${ONLY_FRAMES:-0}" = 1 ] && only=frames
[ "${ONLY_VM:-0}" = 1 ] && only=vm
[ "${ONLY_VM_LIVE:-0}" = 1 ] && only=vm-live
[ "${ONLY_TENANTS:-0}" = 1 ] && only=tenants
[ "${ONLY_CHECKS:-0}" = 1 ] && only=checks
[ "${ONLY_LLAMA:-0}" = 1 ] && only=llama
[ "${ONLY_LATENCY:-0}" = 1 ] && only=latency
want() {
  if [ -n "$only" ]; then [ "$1" = "$only" ]
  else { [ "$1" != bench ] || [ "${SKIP_BENCH:-0}" != 1 ]; } && { [ "$1" != tenants ] || [ "${SKIP_TENANTS:-0}" != 1 ]; } &&
       { [ "$1" != llama ] || [ "${SKIP_LLAMA:-0}" != 1 ]; }; fi
}

# --- set-up --------------------------------------------------------------------
if compgen -G "$bundle/root-debs/*.deb" >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    for deb in "$bundle"/root-debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  else
    echo "gpu-check: not root: $bundle/root-debs not unpacked over /" >&2
  fi
fi
for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib/libvulkan_virtio.so\"#" \
  "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio_icd.json"
VIRTIO_ICD=$prefix/virtio_icd.json
HOST_ICD=${HOST_ICD:-$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia*_icd.json /usr/share/vulkan/icd.d/nvidia*_icd.json \
  /etc/vulkan/icd.d/nvidia*_icd.json 2>/dev/null | head -n1)}
[ -n "$HOST_ICD" ] || { echo "no host ICD found; set HOST_ICD" >&2; exit 1; }
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -e "$f" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$f; fi
done
# The loader is the machine's (or the one just unpacked over /); the Venus
# client's libraries come from the prefix.
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$prefix/usr/bin:$PATH
unset VN_DEBUG VTEST_SOCKET_NAME VK_ADD_DRIVER_FILES

gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown)
echo "== host: $gpu, $(nproc) CPUs, $(uname -r), ICD $HOST_ICD, $(date -u '+%Y-%m-%d %H:%M UTC')"

# Every process names its driver both ways: VK_DRIVER_FILES wins over
# VK_ICD_FILENAMES in the loader, so neither may leak from one side to the other.
native() { timeout -k 5 "${LIMIT:-120}" env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$@"; }
client() {
  timeout -k 5 "${LIMIT:-120}" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" "$@"
}

# The newest Mesa's Venus guest (BUNDLE/guest26: sid's programs and
# libraries under sid's own ld-linux, the image's glibc being older); the
# programs built on Debian 12 run the same way.
g26=$bundle/guest26
have_g26=0
if [ -x "$g26/lib/ld-linux-x86-64.so.2" ]; then
  have_g26=1
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$g26/lib/libvulkan_virtio.so\"#" \
    "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio26_icd.json"
fi
guest26() {
  timeout -k 5 "${LIMIT:-120}" env -u LD_LIBRARY_PATH VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_DRIVER_FILES="$prefix/virtio26_icd.json" VK_ICD_FILENAMES="$prefix/virtio26_icd.json" \
    "$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$@"
}

# median FIGURE: the median of FIGURE's samples in exec_bench's output on
# stdin ("FIGURE VALUE" lines); "-" where there are none.
median() { awk -v f="$1" '$1 == f {print $2}' | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }

result() { # NAME VERDICT [DETAIL]
  local line="== $1: $2${3:+ ($3)}"
  echo "$line"
  results+=("$line")
  [ "$2" = FAIL ] && failures=$((failures + 1))
  return 0
}

# dump_threads PID LABEL: every thread's kernel stack and, with a debugger,
# its backtrace, into $logs/hang-LABEL.txt.
dump_threads() {
  local pid=$1 f=$logs/hang-$2.txt t dbg
  {
    echo "# $2: pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
    for t in /proc/"$pid"/task/*; do
      echo "## task ${t##*/} $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"
      cat "$t/stack" 2>/dev/null
    done
    dbg=$(command -v gdb || command -v cuda-gdb || ls /usr/local/cuda*/bin/cuda-gdb 2>/dev/null | head -n1)
    if [ -n "$dbg" ]; then
      timeout 120 "$dbg" -batch -nx -p "$pid" -ex 'set pagination off' -ex 'thread apply all bt' 2>&1 \
        | grep -vE '^\[New LWP|^warning: .*(debug|symbol)'
    fi
  } >>"$f" 2>&1
  echo "   thread dump of $2 (pid $pid) in $(basename "$f")"
}

# --- the server ----------------------------------------------------------------
sock=$prefix/venus.sock
server_pid=""
server_n=0
server_log=""
run_server() {
  stop_server
  server_n=$((server_n + 1))
  server_log=$logs/server-$server_n.log
  rm -f "$sock"
  env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$build/venus-server" --socket "$sock" "$@" \
    >"$server_log" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
  echo "server did not start" >&2; cat "$server_log" >&2; return 1
}
# stop_server: SIGTERM; true if it exited within 15 s (else its threads are
# dumped and it is killed).
stop_server() {
  [ -n "$server_pid" ] || return 0
  local pid=$server_pid
  server_pid=""
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  echo "   server $pid still running 15 s after SIGTERM"
  dump_threads "$pid" "server-sigterm-$server_n"
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return 1
}
trap 'stop_server' EXIT
destroyed() { # "ctx released live" per destroyed context of the current server
  sed -nE 's/^venus-server: info: ctx ([0-9]+): context destroyed: ([0-9]+) host objects released, ([0-9]+) live in server.*$/\1 \2 \3/p' "$server_log"
}

# --- vulkaninfo ----------------------------------------------------------------
if want checks; then
run_server --memory auto
LIMIT=60 native vulkaninfo >"$logs/vulkaninfo-native.txt" 2>&1; rc_n=$?
LIMIT=60 client vulkaninfo >"$logs/vulkaninfo-venus.txt" 2>&1; rc_v=$?
native_name=$(sed -nE 's/^\s*deviceName\s*=\s*//p' "$logs/vulkaninfo-native.txt" | head -n1)
venus_name=$(sed -nE 's/^\s*deviceName\s*=\s*//p' "$logs/vulkaninfo-venus.txt" | head -n1)
venus_api=$(sed -nE 's/^\s*apiVersion\s*=\s*//p' "$logs/vulkaninfo-venus.txt" | head -n1)
if [ $rc_n -ne 0 ] || [ $rc_v -ne 0 ] || [[ $venus_name != "Virtio-GPU Venus ($native_name)" ]]; then
  result vulkaninfo FAIL "native rc $rc_n '$native_name', venus rc $rc_v '$venus_name'"
else
  limits=(maxImageDimension1D maxImageDimension2D maxImageDimension3D maxImageDimensionCube maxImageArrayLayers
          maxUniformBufferRange maxStorageBufferRange maxPushConstantsSize maxBoundDescriptorSets
          maxPerStageResources maxDescriptorSetSamplers maxDescriptorSetUniformBuffers
          maxDescriptorSetStorageBuffers maxDescriptorSetSampledImages maxDescriptorSetStorageImages
          maxVertexInputAttributes maxVertexInputBindings maxFragmentOutputAttachments
          maxComputeSharedMemorySize maxComputeWorkGroupInvocations maxComputeWorkGroupCount
          maxComputeWorkGroupSize maxViewports maxViewportDimensions maxFramebufferWidth maxFramebufferHeight
          maxColorAttachments maxSamplerAnisotropy maxSamplerAllocationCount maxMemoryAllocationCount
          timestampPeriod minMemoryMapAlignment minUniformBufferOffsetAlignment minStorageBufferOffsetAlignment
          framebufferColorSampleCounts sampledImageColorSampleCounts nonCoherentAtomSize
          bufferImageGranularity maxTessellationGenerationLevel maxGeometryOutputVertices)
  pats=()
  for l in "${limits[@]}"; do pats+=("VkPhysicalDeviceLimits/$l*"); done
  python3 "$bundle/tests/vkinfo.py" compare "$logs/vulkaninfo-native.txt" "$logs/vulkaninfo-venus.txt" \
    "${pats[@]}" >"$logs/vulkaninfo-limits.txt" 2>&1; rc=$?
  same=$(grep -c '^same' "$logs/vulkaninfo-limits.txt")
  if [ $rc -eq 0 ]; then
    result vulkaninfo PASS "$venus_name, apiVersion $venus_api, $same key limits equal native's"
  else
    result vulkaninfo FAIL "$same limits equal; $(grep -vE '^same' "$logs/vulkaninfo-limits.txt" | head -n5 | tr '\n' ';')"
  fi
  grep -E '^\s*(deviceName|apiVersion|driverVersion|driverInfo)\s*=' "$logs/vulkaninfo-native.txt" | head -n4 | sed 's/^\s*/   native: /'
  echo "   venus: $(grep -c 'VK_KHR_swapchain' "$logs/vulkaninfo-venus.txt") VK_KHR_swapchain line(s), $(grep -cE '^\s+VK_[A-Z0-9_a-z]+\s+: extension revision' "$logs/vulkaninfo-venus.txt") extension lines"
fi

# --- compute under every memory strategy ----------------------------------------
for mode in "--memory auto" "--memory host-pointer" "--memory opaque-fd" "--memory dmabuf" \
            "--memory host-pointer --page-size 16384"; do
  # shellcheck disable=SC2086
  run_server $mode || { result "compute $mode" FAIL "server did not start"; continue; }
  out=$(client "$build/tests/vk_compute" --mib 64 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    result "compute, server $mode" PASS "$(grep -c '^ok:' <<<"$out") ok"
  else
    reason=$(grep -o 'memory strategy .* is not available.*' "$server_log" | tail -n1)
    if [ -n "$reason" ]; then result "compute, server $mode" UNAVAILABLE "$reason"
    else result "compute, server $mode" FAIL "rc $rc: $(grep '^error:' <<<"$out" | head -n2 | tr '\n' ' ')"; fi
  fi
done

# --- sync, oom, render, modifier -------------------------------------------------
run_server --memory auto
for prog in vk_sync vk_oom vk_modifier; do
  if [ $prog = vk_oom ]; then out=$(VN_PERF=no_async_mem_alloc client "$build/tests/$prog" 2>&1); rc=$?
  else out=$(client "$build/tests/$prog" 2>&1); rc=$?; fi
  echo "$out" >"$logs/$prog.txt"
  result "${prog#vk_}" "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" \
    "$(grep -c '^ok:' <<<"$out") ok, $(grep -c '^error:' <<<"$out") errors$([ $rc -eq 0 ] || echo ", rc $rc: $(grep '^error:' <<<"$out" | head -n2 | tr '\n' ' ')")"
done

mkdir -p "$prefix/render-native" "$prefix/render-venus"
native "$build/tests/vk_render" --out-dir "$prefix/render-native" >"$logs/render-native.txt" 2>&1; rc_n=$?
client "$build/tests/vk_render" --out-dir "$prefix/render-venus" >"$logs/render-venus.txt" 2>&1; rc_v=$?
files=0 differ=()
for f in "$prefix"/render-native/*; do
  [ -e "$f" ] || continue
  files=$((files + 1))
  cmp -s "$f" "$prefix/render-venus/$(basename "$f")" || differ+=("$(basename "$f")")
done
if [ $rc_n -eq 0 ] && [ $rc_v -eq 0 ] && [ $files -gt 0 ] && [ ${#differ[@]} -eq 0 ] \
   && [ "$(ls "$prefix/render-venus" | wc -l)" = $files ]; then
  result render PASS "$files outputs byte-identical natively and through the server: $(cd "$prefix/render-native" && ls | tr '\n' ' ')"
else
  result render FAIL "native rc $rc_n, venus rc $rc_v, $files native outputs, differing: ${differ[*]:-none}"
fi

# Ray tracing, mesh shading and cooperative matrices: as render, per
# program, through Mesa 25's guest and, where its Venus driver lacks the
# extensions (exit status 2), Mesa 26's (BUNDLE/guest26). SKIP where the
# host driver lacks them, or no guest has them and no guest26 was bundled;
# FAIL where the host has them and the Mesa 26 guest is not offered them.
for prog in vk_raytrace vk_mesh vk_coopmat; do
  [ -x "$build/tests/$prog" ] || continue
  row=${prog#vk_}
  rm -rf "$prefix/$prog-native" "$prefix/$prog-venus"
  mkdir -p "$prefix/$prog-native" "$prefix/$prog-venus"
  native "$build/tests/$prog" --out-dir "$prefix/$prog-native" >"$logs/$prog-native.txt" 2>&1; rc_n=$?
  if [ $rc_n -eq 2 ]; then
    result "$row" SKIP "the host driver lacks it: $(tail -n1 "$logs/$prog-native.txt")"
    continue
  fi
  # A guest without the ray query the host has says so (exit 2), rather
  # than running fewer parts than native.
  args=()
  [ $prog != vk_raytrace ] || [ ! -e "$prefix/$prog-native/rayquery.bin" ] || args=(--ray-query)
  client "$build/tests/$prog" "${args[@]}" --out-dir "$prefix/$prog-venus" >"$logs/$prog-venus.txt" 2>&1; rc_v=$?
  guest="Mesa 25"
  if [ $rc_v -eq 2 ] && [ $have_g26 = 1 ]; then
    echo "   $row: the Mesa 25 guest lacks it ($(tail -n1 "$logs/$prog-venus.txt")): Mesa 26's"
    guest26 "$build/tests/$prog" "${args[@]}" --out-dir "$prefix/$prog-venus" >"$logs/$prog-venus26.txt" 2>&1; rc_v=$?
    cp "$logs/$prog-venus26.txt" "$logs/$prog-venus.txt"
    guest="Mesa 26"
  fi
  files=0 differ=()
  for f in "$prefix/$prog-native"/*; do
    [ -e "$f" ] || continue
    files=$((files + 1))
    cmp -s "$f" "$prefix/$prog-venus/$(basename "$f")" || differ+=("$(basename "$f")")
  done
  if [ $rc_v -eq 2 ] && [ "$guest" = "Mesa 25" ]; then
    result "$row" SKIP "the Mesa 25 guest lacks it and no guest26 is bundled: $(tail -n1 "$logs/$prog-venus.txt")"
  elif [ $rc_v -eq 2 ]; then
    result "$row" FAIL "the host has it, the $guest guest is not offered it: $(tail -n1 "$logs/$prog-venus.txt")"
  elif [ $rc_n -eq 0 ] && [ $rc_v -eq 0 ] && [ $files -gt 0 ] && [ ${#differ[@]} -eq 0 ]; then
    result "$row" PASS "$guest guest: $files outputs byte-identical natively and through the server: $(cd "$prefix/$prog-native" && ls | tr '\n' ' ')$(sed -n 's/^ok: \(shape .*\|parts .*\)/ (\1)/p' "$logs/$prog-native.txt")"
  else
    result "$row" FAIL "$guest guest: native rc $rc_n, venus rc $rc_v, $files native outputs, differing: ${differ[*]:-none}; $(grep -m2 '^error:' "$logs/$prog-venus.txt" "$logs/$prog-native.txt" | tr '\n' ' ')"
  fi
done

# The device-extension diff of the Mesa 26 guest: the host, through us,
# through the peer (the bundled virglrenderer); FAIL if the peer offers an
# extension we do not.
if [ $have_g26 = 1 ]; then
  stop_server
  "$top/scripts/ext-diff.sh" --guest26 "$g26" --host-icd "$HOST_ICD" --server "$build/venus-server" \
    --out "$logs/ext-diff" >"$logs/extensions.txt" 2>&1; rc=$?
  sed 's/^/   /' "$logs/extensions.txt"
  result extensions "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" "$(head -n1 "$logs/extensions.txt")"
else
  result extensions SKIP "no guest26 in the bundle"
fi

# --- many clients, SIGKILL, stuck queue ---------------------------------------------
run_server --memory auto --log-level info
N=16 pids=()
for i in $(seq $N); do
  LIMIT=180 client vulkaninfo >"$prefix/many-$i.out" 2>&1 &
  pids+=($!)
done
ok=0
for i in $(seq $N); do
  wait "${pids[$((i - 1))]}" && grep -q 'Virtio-GPU Venus' "$prefix/many-$i.out" && ok=$((ok + 1))
done
for _ in $(seq 100); do [ "$(destroyed | wc -l)" -ge $N ] && break; sleep 0.1; done
last_live=$(destroyed | sort -n | tail -n1 | cut -d' ' -f3)
if [ $ok = $N ] && [ "$(destroyed | wc -l)" -ge $N ] && [ "$(destroyed | awk '{print $3}' | sort -n | head -n1)" = 0 ]; then
  result many-clients PASS "$N concurrent vulkaninfo clients ok, $(destroyed | wc -l) contexts destroyed, 0 objects live at the end"
else
  result many-clients FAIL "$ok of $N ok, $(destroyed | wc -l) contexts destroyed, live at the last: ${last_live:-?}"
fi

before=$(destroyed | wc -l)
client "$build/tests/vk_hold" >"$prefix/hold.out" 2>&1 &
hold=$!
for _ in $(seq 200); do grep -q 'holding objects' "$prefix/hold.out" && break; sleep 0.05; done
victim=$(sed -nE 's/^holding objects \(pid ([0-9]+)\)$/\1/p' "$prefix/hold.out")
if [ -n "$victim" ]; then
  kill -KILL "$victim"; wait "$hold" 2>/dev/null
  for _ in $(seq 100); do [ "$(destroyed | wc -l)" -gt "$before" ] && break; sleep 0.1; done
  read -r _ released live < <(destroyed | sed -n "$((before + 1))p")
  out=$(client "$build/tests/vk_compute" --mib 4 2>&1); rc=$?
  if [ "${released:-0}" -ge 2 ] && [ "${live:-1}" = 0 ] && [ $rc -eq 0 ]; then
    result sigkill PASS "killed client's $released host objects released, 0 live, next client ok"
  else
    result sigkill FAIL "released ${released:-none}, live ${live:-?}, next client rc $rc"
  fi
else
  kill "$hold" 2>/dev/null
  result sigkill FAIL "vk_hold never held its objects: $(tail -n2 "$prefix/hold.out" | tr '\n' ' ')"
fi

before=$(destroyed | wc -l)
LIMIT=60 client "$build/tests/vk_stuck" --exit >"$prefix/stuck.out" 2>&1; rc=$?
for _ in $(seq 200); do [ "$(destroyed | wc -l)" -gt "$before" ] && break; sleep 0.1; done
read -r _ _ live < <(destroyed | sed -n "$((before + 1))p")
if grep -q '^stuck: queue blocked' "$prefix/stuck.out" && [ "${live:-1}" = 0 ] && stop_server; then
  result stuck-queue PASS "blocked queue torn down, 0 objects live, server stopped on SIGTERM"
else
  result stuck-queue FAIL "client rc $rc, live ${live:-none}, see $(basename "$server_log")"
  stop_server
fi

fi # checks

# --- the render-server transport (--socket-fd), driven as a VMM would -------------------
# rs_vmm_run NAME ARGS...: tests/rs_vmm starts the server itself on the host driver.
rs_vmm_run() {
  local name=$1; shift
  timeout -k 5 240 env VK_ICD_FILENAMES="$HOST_ICD" VK_DRIVER_FILES="$HOST_ICD" \
    "$build/tests/rs_vmm" "$build/venus-server" "$@" >"$prefix/rs-$name.out" 2>"$prefix/rs-$name.log"
  local rc=$?
  if [ $rc -eq 0 ] && grep -q '^PASSED' "$prefix/rs-$name.out"; then
    result "render-server-$name" PASS "$(grep -c '^ok:' "$prefix/rs-$name.out") checks ok"
  else
    result "render-server-$name" FAIL "rc $rc: $(grep -m3 '^error:' "$prefix/rs-$name.out" | tr '\n' ' ')"
  fi
}
if want render-server && [ -x "$build/tests/rs_vmm" ]; then
  # rs_vmm reads no replies: give it the first host-visible, coherent,
  # not device-local memory type (one host-pointer imports accept).
  RS_VMM_MEMORY_TYPE=$(VK_ICD_FILENAMES="$HOST_ICD" VK_DRIVER_FILES="$HOST_ICD" vulkaninfo 2>/dev/null |
    awk 'function done() { if (t != "" && f ~ /HOST_VISIBLE/ && f ~ /HOST_COHERENT/ && f !~ /DEVICE_LOCAL/) { print t; exit } }
         /memoryTypes\[[0-9]+\]:/ { done(); match($0, /\[[0-9]+\]/); t = substr($0, RSTART + 1, RLENGTH - 2); f = ""; next }
         /usable for:/ { done(); t = "" }
         /MEMORY_PROPERTY_/ { f = f " " $1 }')
  export RS_VMM_MEMORY_TYPE=${RS_VMM_MEMORY_TYPE:-0}
  echo "   render server: importing with memory type $RS_VMM_MEMORY_TYPE"
  rs_vmm_run work work
  rs_vmm_run work-stream --stream work
  rs_vmm_run hostile hostile
  rs_vmm_run work-thread --server-arg --isolate --server-arg thread work
  rs_vmm_run isolate --server-arg --ready-workers --server-arg 0 isolate
fi

if want checks; then
# --- vkmark ------------------------------------------------------------------------
vk=$bundle/vkmark
# vkmark_run LOG SIZE DURATION: vkmark through the server, every default
# scene; false on failure or hang (threads dumped).
vkmark_run() {
  local log=$1 size=$2 duration=$3 limit=$4 pid waited=0 rc
  env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" \
    "$vk/ld-linux-x86-64.so.2" --library-path "$vk/lib:$lib:/usr/lib/x86_64-linux-gnu" "$vk/vkmark" \
    --winsys headless --winsys-dir "$vk/plugins" --data-dir "$vk/share" -s "$size" -b ":duration=$duration" \
    >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt $((limit * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "   vkmark $size still running after $limit s: $(tail -n1 "$log")"
    dump_threads "$pid" "vkmark-client-$size"
    dump_threads "$server_pid" "vkmark-server-$size"
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    return 1
  fi
  wait "$pid"; rc=$?
  [ $rc -eq 0 ] && [ "$(grep -c 'FPS:' "$log")" -ge 13 ]
}
if [ -x "$vk/vkmark" ]; then
  runs=${VKMARK_RUNS:-3}
  run_server --memory auto --log-level "${VKMARK_LOG_LEVEL:-info}"
  bad=0 n=0
  for r in $(seq "$runs"); do
    for size in 320x240 1920x1080; do
      n=$((n + 1))
      vkmark_run "$prefix/vkmark-$r-$size.log" "$size" "${VKMARK_DURATION:-1}" 90 \
        || { bad=$((bad + 1)); cp "$prefix/vkmark-$r-$size.log" "$logs/"; echo "   run $r $size: $(grep -c 'FPS:' "$prefix/vkmark-$r-$size.log") scenes, $(tail -n1 "$prefix/vkmark-$r-$size.log")"; }
      [ $bad -gt 1 ] && break 2
    done
  done
  blocked=$(grep -c 'is blocked' "$server_log")
  stop_server; stopped=$?
  if [ $bad = 0 ] && [ "$blocked" = 0 ] && [ $stopped = 0 ]; then
    result vkmark PASS "$n runs of all 13 default scenes (320x240, 1920x1080), no hang; server stopped on SIGTERM"
  else
    result vkmark FAIL "$bad of $n runs failed or hung, $blocked blocked-queue lines, SIGTERM $([ $stopped = 0 ] && echo ok || echo 'did not stop it')"
  fi
  # Figures: every scene, longer (not after a hang: it would only hang again).
  run_server --memory auto
  [ $bad = 0 ] && for size in 320x240 1920x1080; do
    if vkmark_run "$logs/vkmark-$size.txt" "$size" "${FIGURE_DURATION:-3}" 180; then
      echo "   vkmark through the server, $size:"
      grep -E 'FPS:|Score' "$logs/vkmark-$size.txt" | sed 's/^ */     /'
    else
      result "vkmark figures $size" FAIL "$(tail -n1 "$logs/vkmark-$size.txt")"
    fi
  done
  stop_server
else
  result vkmark SKIP "no vkmark in the bundle"
fi

# --- render benchmark ----------------------------------------------------------------
run_server --memory auto
LIMIT=180 native "$build/bench/render_bench" >"$logs/render-bench-native.txt" 2>&1; rc_n=$?
LIMIT=180 client "$build/bench/render_bench" >"$logs/render-bench-venus.txt" 2>&1; rc_v=$?
if [ $rc_n -eq 0 ] && [ $rc_v -eq 0 ]; then
  echo "   | size | native FPS | venus-server FPS | ratio | same image |"
  echo "   | --- | ---: | ---: | ---: | --- |"
  same=1
  while read -r size fps hash; do
    read -r vfps vhash < <(awk -v s="$size" '$1 == "render" && $2 == s":" {print $4, $10}' "$logs/render-bench-venus.txt")
    [ "$hash" = "$vhash" ] || same=0
    echo "   | $size | $fps | ${vfps:--} | $(awk -v a="${vfps:-0}" -v b="$fps" 'BEGIN {printf "%.2f", a / b}') | $([ "$hash" = "$vhash" ] && echo yes || echo NO) |"
  done < <(awk '$1 == "render" {sub(":", "", $2); print $2, $4, $10}' "$logs/render-bench-native.txt")
  result render-bench "$([ $same = 1 ] && echo PASS || echo FAIL)" "frames hashed equal natively and through the server: $([ $same = 1 ] && echo yes || echo no)"
else
  result render-bench FAIL "native rc $rc_n, venus rc $rc_v: $(tail -n1 "$logs/render-bench-venus.txt")"
fi
stop_server
fi # checks

# --- the display: vkcube at 1080p streamed and recorded; bench/display.sh ----------------
if want display; then
export XDG_RUNTIME_DIR=$prefix/rt
mkdir -m 700 "$XDG_RUNTIME_DIR"
rec=$logs/vkcube-1080p.h264 out=$logs/vkcube-1080p.txt
rm -f "$rec"
if run_server --memory auto --display vs-gpu --record "$rec" --http 127.0.0.1:0; then
  url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
  python3 "$bundle/tests/display/ws_viewer.py" read "${url:-http://127.0.0.1:0/}" 100 >"$prefix/viewer.out" 2>&1 &
  viewer=$!
  sleep 0.3
  t0=$(date +%s.%N)
  WAYLAND_DISPLAY=vs-gpu LIMIT=120 client vkcube-wayland --width 1920 --height 1080 --c 300 >"$out" 2>&1; rc=$?
  t1=$(date +%s.%N)
  [ $rc -ge 124 ] && dump_threads "$server_pid" display-server
  wait "$viewer"; rc_w=$?
  stop_server
  { echo "## viewer (rc $rc_w)"; cat "$prefix/viewer.out"; } >>"$out"
  stream=$(grep -m1 'display stream:' "$server_log")
  enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' <<<"$stream")
  size=$(stat -c %s "$rec" 2>/dev/null || echo 0)
  if [ $rc -eq 0 ] && [ $rc_w -eq 0 ] && [ "$size" -gt 0 ] && [ "${enc:-0}" -gt 0 ]; then
    result display-vkcube PASS "vkcube-wayland 1920x1080, 300 frames, exit 0 ($(awk -v a="$t0" -v b="$t1" \
      'BEGIN {printf "%.1f", 300 / (b - a)}') fps), $enc frames encoded, $((size / 1024)) KiB recorded; viewer: $(cat "$prefix/viewer.out")"
  else
    result display-vkcube FAIL "vkcube rc $rc, viewer rc $rc_w ($(tail -n1 "$prefix/viewer.out")), ${enc:-no} frames encoded, $size bytes recorded; see $(basename "$out") and $(basename "$server_log")"
  fi
  grep -E 'display stream:|display: [0-9]+ commits' "$server_log" | sed 's/^/   /'
else
  result display-vkcube FAIL "the server did not start: $(tail -n1 "$server_log")"
fi

# Numbered frames behind heavy GPU work (tests/display/wl_frames): the record
# comes back for tests/display/check_stream.py numbers (no ffmpeg here).
rec=$logs/frames-1080p.h264 out=$logs/frames-1080p.txt
rm -f "$rec"
if run_server --memory auto --display vs-gpu-frames --record "$rec"; then
  WAYLAND_DISPLAY=vs-gpu-frames LIMIT=120 client "$build/tests/display/wl_frames" 300 1920 1080 >"$out" 2>&1; rc=$?
  [ $rc -ge 124 ] && dump_threads "$server_pid" display-frames-server
  stop_server
  stream=$(grep -m1 'display stream:' "$server_log")
  enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' <<<"$stream")
  if [ $rc -eq 0 ] && [ "${enc:-0}" -gt 0 ]; then
    result display-frames PASS "wl_frames 300 numbered frames at 1920x1080, exit 0, $enc encoded (check the record with check_stream.py numbers)"
  else
    result display-frames FAIL "wl_frames rc $rc, ${enc:-no} frames encoded; see $(basename "$out")"
  fi
  grep -E 'display stream:' "$server_log" | sed 's/^/   /'
else
  result display-frames FAIL "the server did not start: $(tail -n1 "$server_log")"
fi

echo "== bench/display.sh"
: >"$prefix/display-bench.start"
HOST_ICD=$HOST_ICD VIRTIO_ICD=$VIRTIO_ICD SIZES="1280x720 1920x1080" BROWSER_SECONDS=0 \
  timeout -k 5 300 "$top/bench/display.sh" "$build" >"$prefix/display-bench.out" 2>&1; rc=$?
# This run's report and log (display.sh makes the log before the first run).
runlog=$(find "$top/bench/out" -maxdepth 1 -name 'display-*.log' -newer "$prefix/display-bench.start" 2>/dev/null | head -n1)
if [ -n "$runlog" ]; then
  cp "${runlog%.log}.md" "$logs/display-bench.md" 2>/dev/null && sed 's/^/   /' "$logs/display-bench.md"
  cat "$prefix/display-bench.out" "$runlog" >"$logs/display-bench.log"
fi
rows=$(grep -cE '^\| [0-9]+x[0-9]+ ' "$logs/display-bench.md" 2>/dev/null)
if [ $rc -eq 0 ] && [ "${rows:-0}" = 2 ]; then
  result display-bench PASS "$(awk -F' *\\| *' '$2 == "1920x1080" {printf "1920x1080: presented %s fps, encoded %s fps, commit->send median %s, p99 %s", $3, $4, $5, $6}' \
    "$logs/display-bench.md") (goal: 60 fps, median < 8 ms)"
else
  result display-bench FAIL "rc $rc, ${rows:-0} of 2 rows: $(tail -n1 "$prefix/display-bench.out")"
fi
fi # display

# --- live in the browser: commit->drawn at 1080p in headless Chromium -------------------
# chromium_unpack: Debian's Chromium from the carried parts into
# $prefix/chromium, started by $prefix/chromium-run; false without parts.
chromium_unpack() {
  local parts="" d croot=$prefix/chromium
  [ -x "$prefix/chromium-run" ] && return 0
  for d in "${CHROMIUM_PARTS:-}" "$bundle/../gpu-chromium" "$top/.deps/gpu-chromium"; do
    if [ -n "$d" ] && compgen -G "$d/[0-9]*/debs.tar.*" >/dev/null; then parts=$d; break; fi
  done
  [ -n "$parts" ] || return 1
  # The parts, in order (debs.tar.00, .01, ...), are one tar of .debs.
  mkdir -p "$croot/debs"
  # shellcheck disable=SC2046
  cat $(for f in "$parts"/[0-9]*/debs.tar.*; do echo "${f##*.} $f"; done | sort | cut -d' ' -f2) |
    tar -xf - -C "$croot/debs"
  for deb in "$croot"/debs/*.deb; do dpkg -x "$deb" "$croot"; done
  rm -rf "$croot/debs"
  # cdp_view.py starts this: the browser with its own libraries.
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' \
    "$croot/usr/lib/x86_64-linux-gnu:$croot/usr/lib/x86_64-linux-gnu/pulseaudio:$croot/lib/x86_64-linux-gnu" \
    "$croot/usr/lib/chromium/chromium" >"$prefix/chromium-run"
  chmod +x "$prefix/chromium-run"
}
CHROMIUM_SKIP="no Chromium here: bench/gpu-bundle.sh with CHROMIUM=1 makes .deps/gpu-chromium/1, 2, ...; carry them first"

if want live; then
if ! chromium_unpack; then
  result live-1080p SKIP "$CHROMIUM_SKIP"
else
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  if run_server --memory auto --display vs-live --http 127.0.0.1:0 --fps 60; then
    url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
    secs=${LIVE_SECONDS:-60}
    WAYLAND_DISPLAY=vs-live LIMIT=$((secs + 120)) client vkcube-wayland --width 1920 --height 1080 \
      >"$logs/live-vkcube.txt" 2>&1 &
    cube=$!
    sleep 2
    line=$(timeout -k 5 $((secs + 100)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile" "${url:-http://127.0.0.1:0/}" latency "$secs" 5 "$logs/live-1080p.png" 2>&1); rc=$?
    kill "$cube" 2>/dev/null; wait "$cube" 2>/dev/null
    stop_server
    echo "$line" >"$logs/live-1080p.txt"
    if [ $rc -eq 0 ]; then
      result live-1080p PASS "$line (goal: commit->drawn median < 50 ms)"
    else
      result live-1080p FAIL "rc $rc: $(echo "$line" | tail -n 3 | tr '\n' ' ')"
    fi
    grep -E 'display stream:|viewers served' "$server_log" | sed 's/^/   /'
  else
    result live-1080p FAIL "the server did not start: $(tail -n1 "$server_log")"
  fi
fi
fi # live

# --- per-frame overhead: both present modes ----------------------------------------------
if want frames; then
fdur=${FRAMES_DURATION:-2}
# frames_vkmark LOG ENV...: vkmark through the server at 320x240, every default scene.
frames_vkmark() {
  local log=$1; shift
  timeout -k 5 $((fdur * 13 * 3 + 60)) env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" \
    VK_ICD_FILENAMES="$VIRTIO_ICD" "$@" \
    "$bundle/vkmark/ld-linux-x86-64.so.2" --library-path "$bundle/vkmark/lib:$lib:/usr/lib/x86_64-linux-gnu" \
    "$bundle/vkmark/vkmark" --winsys headless --winsys-dir "$bundle/vkmark/plugins" --data-dir "$bundle/vkmark/share" \
    -s 320x240 -b ":duration=$fdur" >"$log" 2>&1
}
# stats_line: the current server's "submit stats" lines, after it stopped.
stats_line() { grep -o 'submit stats: .*' "$server_log" | sed 's/^/   /'; }

echo "== frames: render_bench, 3 interleaved rounds (FPS)"
run_server --memory auto
rb_ok=1
for r in 1 2 3; do
  LIMIT=120 native "$build/bench/render_bench" --seconds 2 320x240 1280x720 >"$logs/frames-rb-native-$r.txt" 2>&1 || rb_ok=0
  LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 1280x720 >"$logs/frames-rb-venus-$r.txt" 2>&1 || rb_ok=0
  for size in 320x240 1280x720; do
    n=$(awk -v s="$size:" '$1 == "render" && $2 == s {print $4}' "$logs/frames-rb-native-$r.txt")
    v=$(awk -v s="$size:" '$1 == "render" && $2 == s {print $4}' "$logs/frames-rb-venus-$r.txt")
    echo "   round $r $size: native ${n:--} venus ${v:--} ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}') (us/frame native $(awk -v b="${n:-0}" 'BEGIN {printf "%.0f", b ? 1e6 / b : 0}'), venus $(awk -v a="${v:-0}" 'BEGIN {printf "%.0f", a ? 1e6 / a : 0}'))"
  done
done
# With 3 frames in flight: the guest's fence wait (Mesa's vn_relax: 15
# yields, then sleeps of 160 us) then overlaps GPU work instead of idling it.
LIMIT=120 native "$build/bench/render_bench" --seconds 2 --frames-in-flight 3 320x240 >"$logs/frames-rb-native-fif3.txt" 2>&1 || rb_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 2 --frames-in-flight 3 320x240 >"$logs/frames-rb-venus-fif3.txt" 2>&1 || rb_ok=0
n=$(awk '$1 == "render" {print $4}' "$logs/frames-rb-native-fif3.txt") v=$(awk '$1 == "render" {print $4}' "$logs/frames-rb-venus-fif3.txt")
echo "   3 frames in flight 320x240: native ${n:--} venus ${v:--} ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
# CPU per frame at 320x240, 2 in flight: the program natively; the server
# and the guest program through it (a busy server thread is the bound, an
# idle one means the guest's fence wait is).
cpu_s() { awk '{printf "%.3f", ($14 + $15) / 100}' "/proc/$1/stat"; }
TIMEFORMAT='%U %S'
nt=$( { time LIMIT=120 native "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-native-cpu.txt" 2>&1; } 2>&1 | awk '{print $1 + $2}')
s0=$(cpu_s "$server_pid")
ct=$( { time LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-venus-cpu.txt" 2>&1; } 2>&1 | awk '{print $1 + $2}')
s1=$(cpu_s "$server_pid")
nf=$(awk '$1 == "render" {print $8}' "$logs/frames-rb-native-cpu.txt") vf=$(awk '$1 == "render" {print $8}' "$logs/frames-rb-venus-cpu.txt")
echo "   CPU per frame 320x240: native program $(awk -v t="$nt" -v f="${nf:-0}" 'BEGIN {printf "%.0f", f ? t * 1e6 / f : 0}') us; through the server: server $(awk -v a="$s0" -v b="$s1" -v f="${vf:-0}" 'BEGIN {printf "%.0f", f ? (b - a) * 1e6 / f : 0}') us, guest program $(awk -v t="$ct" -v f="${vf:-0}" 'BEGIN {printf "%.0f", f ? t * 1e6 / f : 0}') us ($nf and $vf frames)"
stop_server
run_server --memory auto --submit-stats
LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-stats.txt" 2>&1 || rb_ok=0
stop_server
echo "   with --submit-stats: $(grep '^render' "$logs/frames-rb-stats.txt")"
stats_line
result frames-render-bench "$([ $rb_ok = 1 ] && echo PASS || echo FAIL)" "render_bench 320x240 and 1280x720, 3 rounds each way"

if [ -x "$bundle/vkmark/vkmark" ]; then
  echo "== frames: vkmark 320x240 through the server, Mesa's default present vs the fast one (FPS)"
  vm_ok=1
  run_server --memory auto
  for r in 1 2; do
    frames_vkmark "$logs/frames-vkmark-default-$r.txt" || vm_ok=0
    frames_vkmark "$logs/frames-vkmark-fast-$r.txt" venus_implicit_fencing=true || vm_ok=0
  done
  stop_server
  python3 - "$logs" <<'PY' | sed 's/^/   /'
import re, sys, os
def fps(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.search(r"^(\[\w+\] .*?)(?::duration=\d+)?: FPS: (\d+)", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out
runs = {m: [fps(os.path.join(sys.argv[1], "frames-vkmark-%s-%d.txt" % (m, r))) for r in (1, 2)] for m in ("default", "fast")}
print("| scene | default FPS (runs) | fast FPS (runs) | fast/default | us/frame default | us/frame fast |")
print("| --- | --- | --- | ---: | ---: | ---: |")
for scene in runs["default"][0]:
    d = [r.get(scene) for r in runs["default"]]
    f = [r.get(scene) for r in runs["fast"]]
    dm = max(x for x in d if x) if any(d) else 0
    fm = max(x for x in f if x) if any(f) else 0
    print("| %s | %s | %s | %s | %s | %s |" % (scene, "/".join(str(x) for x in d), "/".join(str(x) for x in f),
          "%.2f" % (fm / dm) if dm and fm else "-", "%.0f" % (1e6 / dm) if dm else "-", "%.0f" % (1e6 / fm) if fm else "-"))
PY
  for mode in default fast; do
    run_server --memory auto --submit-stats
    if [ $mode = fast ]; then frames_vkmark "$logs/frames-vkmark-stats-$mode.txt" venus_implicit_fencing=true || vm_ok=0
    else frames_vkmark "$logs/frames-vkmark-stats-$mode.txt" || vm_ok=0; fi
    stop_server
    echo "   --submit-stats, $mode present: $(grep -o 'Score: [0-9]*' "$logs/frames-vkmark-stats-$mode.txt")"
    stats_line
  done
  result frames-vkmark "$([ $vm_ok = 1 ] && echo PASS || echo FAIL)" "13 scenes at 320x240 in both present modes"
fi

if [ -x "$build/tests/display/wl_frames" ]; then
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  for fast in false true; do
    rec=$logs/frames-320-$fast.h264
    rm -f "$rec"
    run_server --memory auto --display vs-gpu-order --record "$rec" || { result "frames-order-$fast" FAIL "no server"; continue; }
    WAYLAND_DISPLAY=vs-gpu-order venus_implicit_fencing=$fast LIMIT=120 client "$build/tests/display/wl_frames" 300 320 240 \
      >"$logs/frames-320-$fast.txt" 2>&1; rc=$?
    [ $rc -ge 124 ] && dump_threads "$server_pid" "frames-order-$fast"
    stop_server
    enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' "$server_log" | head -n1)
    result "frames-order-$fast" "$([ $rc -eq 0 ] && [ "${enc:-0}" -gt 0 ] && echo PASS || echo FAIL)" \
      "wl_frames 300 numbered frames at 320x240, venus_implicit_fencing=$fast: rc $rc, ${enc:-no} encoded; check $(basename "$rec") with check_stream.py numbers FILE 320 240 100"
    grep -E 'display stream:' "$server_log" | sed 's/^/   /'
  done
fi
fi # frames

# --- the test VM with KVM (bench/vm-bundle.sh) ----------------------------------------
# vm_unpack: the test VM's guest and host parts into $prefix; sets vm_host
# and vm_accel. False without them.
vm_unpack() {
  [ -f "$bundle/vm-guest.tar" ] && compgen -G "$bundle/vm-host.tar.xz.[0-9]" >/dev/null || return 1
  vm_host=$prefix/vm-host
  [ -d "$prefix/vm-guest" ] && [ -d "$vm_host" ] && return 0
  mkdir -p "$prefix/vm-guest"
  tar -C "$prefix/vm-guest" -xf "$bundle/vm-guest.tar"
  cat "$bundle"/vm-host.tar.xz.[0-9] | xz -dc | tar -C "$prefix" -xf -
  # Xvfb runs its keymap compiler as /usr/bin/xkbcomp: the bundle's, on its loader.
  if [ ! -x /usr/bin/xkbcomp ] && [ "$(id -u)" = 0 ]; then
    printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$vm_host/ld-linux-x86-64.so.2" "$vm_host/lib" \
      "$vm_host/bin/xkbcomp" >/usr/bin/xkbcomp
    chmod +x /usr/bin/xkbcomp
  fi
  vm_accel=${VM_ACCEL:-auto}
  # A KVM that is PVM (kvm_pvm: software virtualization for hosts that
  # are VMs without VMX, as many cloud GPU hosts are) runs only guest kernels
  # built for it; a stock Debian kernel stops in its instruction emulator
  # (BMI2 in the decompressor, CMPXCHG16B in SLUB, XRSTOR at FPU set-up).
  if [ "$vm_accel" = auto ]; then
    vm_accel=kvm
    if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
      echo "== vm: /dev/kvm is PVM (kvm_pvm; no VMX on this machine): a stock guest kernel cannot run on it, so the VM runs under TCG (VM_ACCEL=kvm tries anyway)"
      vm_accel=tcg
    fi
  fi
}
vm_run() { # LABEL WORKLOAD [vm-run.sh options]: one boot; its files in $logs/LABEL/
  local label=$1 workload=$2
  shift 2
  LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} timeout -k 10 $((${VM_TIMEOUT:-600} + 100)) "$top/scripts/vm-run.sh" --host-bundle "$vm_host" \
    --server "$build/venus-server" --accel "$vm_accel" --workload "$workload" --timeout "${VM_TIMEOUT:-600}" --host-icd "$HOST_ICD" \
    "$@" "$logs/$label" "$prefix/vm-guest" >"$logs/$label.out" 2>&1
}
VM_SKIP="no vm-guest.tar and vm-host.tar.xz.N in the bundle (bench/vm-bundle.sh)"

if want vm; then
if ! vm_unpack; then
  result vm-short SKIP "$VM_SKIP"
else
  t0=$SECONDS
  vm_run vm-short short; rc=$?
  glog=$logs/vm-short/guest.log
  step() { grep -q "^VMTEST step $1 rc 0 " "$glog" 2>/dev/null; }
  vm_gpu=$(sed -n 's/^  | [[:space:]]*deviceName[[:space:]]*= *//p' "$glog" 2>/dev/null | head -n1)
  scenes=$(grep -cE '^  \| \[[a-z0-9]+\].*FPS: [0-9]+' "$glog" 2>/dev/null)
  # The guest's render against the same client natively on this GPU.
  mkdir -p "$prefix/vm-render-native"
  native "$build/tests/vk_render" --out-dir "$prefix/vm-render-native" >/dev/null 2>&1
  same=0 differ=0
  for f in "$prefix"/vm-render-native/*; do
    [ -f "$f" ] || continue
    if grep -q "^VMTEST render $(basename "$f") $(sha256sum <"$f" | cut -d' ' -f1)\$" "$glog" 2>/dev/null; then
      same=$((same + 1)); else differ=$((differ + 1)); fi
  done
  if [ $rc -eq 0 ] && step vulkaninfo && [[ $vm_gpu == *Venus* ]] && step compute && step render && [ $differ -eq 0 ] &&
     [ $same -gt 0 ] && step vkmark && [ "${scenes:-0}" -ge 13 ] && grep -q '^VMTEST done' "$glog"; then
    result vm-short PASS "$vm_accel, guest sees '$vm_gpu'; compute; render $same images equal native's; vkmark $scenes scenes, score $(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$glog"); $((SECONDS - t0)) s"
  else
    result vm-short FAIL "QEMU rc $rc; device '$vm_gpu'; steps: $(grep -o 'step [a-z]* rc [0-9]*' "$glog" 2>/dev/null | tr '\n' ' '); render same $same differ $differ; $scenes scenes; see vm-short/"
  fi
  vm_run vm-bench bench; rc=$?
  glog=$logs/vm-bench/guest.log
  vm_rt=$(sed -n 's/^  | //p' "$glog" 2>/dev/null | median submit_roundtrip_us)
  vm_score=$(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$glog" 2>/dev/null)
  run_server --memory auto
  vt_rt=$(client "$build/bench/exec_bench" --quick submit 2>/dev/null | median submit_roundtrip_us)
  nat_rt=$(native "$build/bench/exec_bench" --quick submit 2>/dev/null | median submit_roundtrip_us)
  # vkmark as the guest ran it (640x480, 2 s a scene), through vtest and natively.
  vkm=(--winsys headless --winsys-dir "$bundle/vkmark/plugins" --data-dir "$bundle/vkmark/share" -s 640x480 -b :duration=2)
  vkld=("$bundle/vkmark/ld-linux-x86-64.so.2" --library-path "$bundle/vkmark/lib:$lib:/usr/lib/x86_64-linux-gnu")
  LIMIT=200 client "${vkld[@]}" "$bundle/vkmark/vkmark" "${vkm[@]}" >"$logs/vm-bench-vkmark-vtest.txt" 2>&1
  stop_server
  LIMIT=200 native "${vkld[@]}" "$bundle/vkmark/vkmark" "${vkm[@]}" >"$logs/vm-bench-vkmark-native.txt" 2>&1
  vt_score=$(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$logs/vm-bench-vkmark-vtest.txt")
  nat_score=$(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$logs/vm-bench-vkmark-native.txt")
  if [ $rc -eq 0 ] && [ "$vm_rt" != - ] && [ -n "$vm_score" ]; then
    result vm-bench PASS "submit+wait round trip median: guest ${vm_rt} us, vtest ${vt_rt:-?} us, native ${nat_rt:-?} us; vkmark 640x480 score: guest $vm_score, vtest ${vt_score:-?}, native ${nat_score:-?}"
  else
    result vm-bench FAIL "QEMU rc $rc, round trip '${vm_rt}', score '${vm_score}'; see vm-bench/"
  fi
fi
fi # vm

if want vm-live; then
if ! vm_unpack; then
  result vm-live SKIP "$VM_SKIP"
elif ! chromium_unpack; then
  result vm-live SKIP "$CHROMIUM_SKIP"
else
  # The same app, size and page, through vtest and from a VM guest.
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  secs=${LIVE_SECONDS:-20} size=${VM_LIVE_SIZE:-1920x1080}
  vtest_line="" vtest_stream=""
  if run_server --memory auto --display vs-vtest-live --http 127.0.0.1:0 --input; then
    url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
    WAYLAND_DISPLAY=vs-vtest-live LIMIT=$((secs + 120)) client vkcube-wayland --width "${size%x*}" --height "${size#*x}" \
      >"$logs/vm-live-vtest-vkcube.txt" 2>&1 &
    cube=$!
    sleep 2
    vtest_line=$(timeout -k 5 $((secs + 100)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile-vtest" "${url:-http://127.0.0.1:0/}" latency "$secs" 5 "$logs/vm-live-vtest.png" 2>&1 |
      grep -E '^browser: [0-9]+ s after' | head -n1)
    kill "$cube" 2>/dev/null; wait "$cube" 2>/dev/null
    stop_server
    vtest_stream=$(grep -E 'display stream:' "$server_log" | tail -n1)
  fi
  # The VM: Debian's vkcube in the guest on vs-guest-present; the page
  # opens once the guest says vkcube starts, and its Escape ends vkcube.
  dir=$logs/vm-live
  mkdir -p "$dir"
  (
    deadline=$((SECONDS + 500)) url=""
    until grep -aq '^VMTEST cube starting' "$dir/live/guest.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
    url=$(grep -aohE 'http://[^ ]+token=[^ ]+' "$dir/live/qemu.log" 2>/dev/null | head -n1)
    timeout -k 5 $((secs + 200)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile-vm" "${url:-http://127.0.0.1:0/}" latency-escape "$secs" 5 "$logs/vm-live.png" \
      >"$logs/vm-live-browser.txt" 2>&1
  ) &
  browser=$!
  t0=$SECONDS
  VENUS_SERVER_OPTIONS="--http 127.0.0.1:0 --input" vm_run vm-live display-apps --vm-display --guest-size "$size"; rc=$?
  wait "$browser" 2>/dev/null
  vm_line=$(grep -E '^browser: [0-9]+ s after' "$logs/vm-live-browser.txt" | head -n1)
  vm_stream=$(grep -E 'display stream:' "$dir/qemu.log" 2>/dev/null | tail -n1)
  vm_memory=$(grep -oE 'vm channel: [0-9]+ commits, [0-9]+ shown from server memory, [0-9]+ refused' "$dir/qemu.log" 2>/dev/null | tail -n1)
  echo "   vtest $size: ${vtest_line:-no browser figures}"
  echo "   vtest $size: ${vtest_stream#*info: }"
  echo "   VM $size: ${vm_line:-no browser figures}"
  echo "   VM $size: ${vm_stream#*info: }"
  echo "   VM $size: ${vm_memory:-no vm channel figures}"
  if [ $rc -eq 0 ] && [ -n "$vm_line" ] && grep -q '^pressed Escape' "$logs/vm-live-browser.txt" &&
     grep -q '^VMTEST step cube rc 0 ' "$dir/guest.log" 2>/dev/null && [[ $vm_memory =~ ,\ [1-9][0-9]*\ shown ]]; then
    result vm-live PASS "$vm_accel, guest vkcube $size on the VM display, live in Chromium, ended by the page's Escape; $vm_memory; $((SECONDS - t0)) s"
  else
    result vm-live FAIL "QEMU rc $rc; browser: $(tail -n 3 "$logs/vm-live-browser.txt" 2>/dev/null | tr '\n' ' '); steps: $(grep -o 'step [a-z]* rc [0-9]*' "$dir/guest.log" 2>/dev/null | tr '\n' ' '); see vm-live/"
  fi
fi
fi # vm-live

# --- the execution benchmark ------------------------------------------------------------
# --- the newest Mesa guest (Vulkan 1.4) -------------------------------------------
if want guest26 && [ $have_g26 = 1 ]; then
  run_server --log-level info
  rc=0; guest26 "$g26/bin/vulkaninfo" >"$logs/guest26-vulkaninfo.txt" 2>&1 || rc=$?
  api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$logs/guest26-vulkaninfo.txt" | head -n1)
  name=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*= *//p' "$logs/guest26-vulkaninfo.txt" | head -n1)
  features=$(grep -E '^\s+(hostImageCopy|pushDescriptor|maintenance5|maintenance6|indexTypeUint8|dynamicRenderingLocalRead|stippledBresenhamLines|bresenhamLines|smoothLines|rectangularLines)\s+= true' \
    "$logs/guest26-vulkaninfo.txt" | awk '{print $1}' | sort -u | tr '\n' ' ')
  verdict=FAIL; [ "$rc" = 0 ] && [[ $api == 1.4.* ]] && verdict=PASS
  result guest26-vulkaninfo $verdict "exit $rc, ${name:-no device}, apiVersion ${api:-none}; 1.4 features: ${features:-none}"
  mkdir -p "$logs/vk14-native" "$logs/vk14-venus"
  rc_n=0; native "$build/tests/vk14" --out-dir "$logs/vk14-native" >"$logs/vk14-native.out" 2>&1 || rc_n=$?
  rc=0; guest26 "$build/tests/vk14" --out-dir "$logs/vk14-venus" >"$logs/vk14-venus.out" 2>&1 || rc=$?
  # vk14_same DIR: how many of vk14's 2 outputs in DIR equal native's.
  vk14_same() {
    local f n=0
    for f in vk14.pam hostcopy.bin; do cmp -s "$logs/vk14-native/$f" "$1/$f" && n=$((n + 1)); done
    echo "$n"
  }
  same=$(vk14_same "$logs/vk14-venus")
  verdict=FAIL; [ "$rc" = 0 ] && [ "$rc_n" = 0 ] && [ "$same" = 2 ] && verdict=PASS
  # The host-visible types the server cannot share (NVIDIA's BAR type 4)
  # reach the guest without host access: its HOST_TRANSFER image lives there.
  hidden=$(grep -o 'memory types 0x[0-9a-f]* cannot be shared with the guest[^:]*' "$server_log" | head -n1)
  result guest26-vk14 $verdict "native exit $rc_n, through the server exit $rc ($(tail -n1 "$logs/vk14-venus.out")); $same of 2 outputs identical to native; server: ${hidden:-no memory type hidden}"
  # Frame rate with Mesa 26's guest driver beside Mesa 25's (the frames rows).
  for fif in 2 3; do
    native "$build/bench/render_bench" --seconds 2 --frames-in-flight $fif 320x240 >"$logs/guest26-rb-native-$fif.txt" 2>&1
    guest26 "$build/bench/render_bench" --seconds 2 --frames-in-flight $fif 320x240 >"$logs/guest26-rb-venus-$fif.txt" 2>&1
    n=$(awk '$1 == "render" {print $4}' "$logs/guest26-rb-native-$fif.txt") v=$(awk '$1 == "render" {print $4}' "$logs/guest26-rb-venus-$fif.txt")
    echo "   Mesa 26 guest, render_bench 320x240, $fif frames in flight: native ${n:--} venus ${v:--} FPS, ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
  done
  # vkmark's 13 scenes at 320x240: natively, and through the server with
  # Mesa 25's guest and with Mesa 26's, each in both present modes
  # (trixie's vkmark; Mesa 26's guest runs it on sid's ld-linux and libraries).
  if [ -x "$bundle/vkmark/vkmark" ]; then
    vdur=${FRAMES_DURATION:-2}
    vkm() { # LOG LD_LINUX LIBRARY_PATH ENV...
      local log=$1 ld=$2 libs=$3; shift 3
      timeout -k 5 $((vdur * 13 * 3 + 60)) env "$@" "$ld" --library-path "$libs" "$bundle/vkmark/vkmark" --winsys headless \
        --winsys-dir "$bundle/vkmark/plugins" --data-dir "$bundle/vkmark/share" -s 320x240 -b ":duration=$vdur" >"$log" 2>&1
    }
    v25=("$bundle/vkmark/ld-linux-x86-64.so.2" "$bundle/vkmark/lib:$lib:/usr/lib/x86_64-linux-gnu")
    v26=("$g26/lib/ld-linux-x86-64.so.2" "$g26/lib:$bundle/vkmark/lib")
    m25=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD")
    m26=(-u LD_LIBRARY_PATH VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$prefix/virtio26_icd.json"
      VK_ICD_FILENAMES="$prefix/virtio26_icd.json")
    vkm "$logs/guest26-vkmark-native.txt" "${v25[@]}" VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD"
    vkm "$logs/guest26-vkmark-m25-default.txt" "${v25[@]}" "${m25[@]}"
    vkm "$logs/guest26-vkmark-m25-fast.txt" "${v25[@]}" "${m25[@]}" venus_implicit_fencing=true
    vkm "$logs/guest26-vkmark-m26-default.txt" "${v26[@]}" "${m26[@]}"
    vkm "$logs/guest26-vkmark-m26-fast.txt" "${v26[@]}" "${m26[@]}" venus_implicit_fencing=true
    echo "   vkmark 320x240, FPS per scene (ratio to native): Mesa 25 and Mesa 26 guests, default and fast present"
    python3 - "$logs" <<'PY' | sed 's/^/   /'
import os, re, sys
runs = ("native", "m25-default", "m25-fast", "m26-default", "m26-fast")
def fps(run):
    out = {}
    path = os.path.join(sys.argv[1], "guest26-vkmark-%s.txt" % run)
    for line in open(path, errors="replace") if os.path.exists(path) else ():
        m = re.search(r"^(\[\w+\] .*?)(?::duration=\d+)?: FPS: (\d+)", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out
got = {r: fps(r) for r in runs}
scenes = list(got["native"]) or list(got["m26-default"])
print("| scene | " + " | ".join(runs) + " |")
print("| --- |" + " ---: |" * len(runs))
for sc in scenes:
    n = got["native"].get(sc)
    cells = []
    for r in runs:
        v = got[r].get(sc)
        cells.append("-" if v is None else str(v) if r == "native" or not n else "%d (%.2f)" % (v, v / n))
    print("| %s | %s |" % (sc, " | ".join(cells)))
def score(r):
    v = [got[r].get(sc) for sc in scenes]
    return sum(v) / len(v) if v and all(v) else None
n = score("native")
print("| score (mean FPS) | " + " | ".join("-" if score(r) is None else "%.0f" % score(r) if r == "native" or not n
      else "%.0f (%.2f)" % (score(r), score(r) / n) for r in runs) + " |")
PY
  fi
  stop_server
  # The same through sid's stock front end (virgl_test_server, whose
  # capset the guest then reads) with venus-server as its render server.
  if [ -x "$g26/bin/virgl_test_server" ]; then
    front_sock=$prefix/front.sock
    # (--library-path, not LD_LIBRARY_PATH, which the render server needs.)
    env RENDER_SERVER_EXEC_PATH="$build/venus-server" VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" \
      "$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$g26/bin/virgl_test_server" \
      --venus --no-virgl --multi-clients --socket-path "$front_sock" >"$logs/guest26-front.log" 2>&1 &
    front_pid=$!
    for _ in $(seq 100); do [ -S "$front_sock" ] && break; sleep 0.1; done
    rc=0; sock=$front_sock guest26 "$g26/bin/vulkaninfo" >"$logs/guest26-front-vulkaninfo.txt" 2>&1 || rc=$?
    api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$logs/guest26-front-vulkaninfo.txt" | head -n1)
    name=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*= *//p' "$logs/guest26-front-vulkaninfo.txt" | head -n1)
    mkdir -p "$logs/vk14-front"
    rc14=0; sock=$front_sock guest26 "$build/tests/vk14" --out-dir "$logs/vk14-front" >"$logs/vk14-front.out" 2>&1 || rc14=$?
    same=$(vk14_same "$logs/vk14-front")
    kill "$front_pid" 2>/dev/null; wait "$front_pid" 2>/dev/null
    verdict=FAIL; [ "$rc" = 0 ] && [[ $api == 1.4.* ]] && [ "$rc14" = 0 ] && [ "$same" = 2 ] && verdict=PASS
    result guest26-stock-front $verdict "sid's virgl_test_server + venus-server: vulkaninfo exit $rc, ${name:-no device}, apiVersion ${api:-none}; vk14 exit $rc14, $same of 2 outputs identical to native"
  fi
fi

# --- a submission's round trip: what a chain of small submissions pays (llama's tokens) ----
if want latency; then
  lat_row() { # LABEL RUNNER...: the medians of exec_bench --quick record-submit submit submit-spin fence-status
    local out=$logs/latency-$1.txt
    "${@:2}" "$build/bench/exec_bench" --quick record-submit submit submit-spin fence-status >"$out" 2>&1
    echo "   | $1 | $(median record_submit_us <"$out") | $(median submit_roundtrip_us <"$out") | $(median submit_spin_us <"$out") | $(median fence_status_us <"$out") |"
  }
  {
    echo "   | client | record, submit, wait (us) | empty submit + vkWaitForFences (us) | empty submit + spin on vkGetFenceStatus (us) | vkGetFenceStatus (us) |"
    echo "   | --- | ---: | ---: | ---: | ---: |"
    lat_row native native
    for mode in process thread; do
      run_server --log-level info --submit-stats --isolate $mode
      lat_row "mesa25-$mode" client
      [ $have_g26 = 1 ] && lat_row "mesa26-$mode" guest26
      stop_server
      grep -o 'submit stats: .*' "$server_log" | tail -n1 | sed "s/^/   $mode server: /"
    done
  } | tee "$logs/latency.md"
  lat_bad=$(grep -c '| - |' "$logs/latency.md")
  result latency "$([ "$lat_bad" = 0 ] && echo PASS || echo FAIL)" \
    "$(grep -E '^   \| (native|mesa2[56]-process) ' "$logs/latency.md" | tr -s ' ' | tr '\n' ';')"
fi

if want tenants; then
  # shellcheck source=../bench/tenants.sh
  . "$top/bench/tenants.sh"
  tenants_main >"$logs/tenants.txt" 2>&1; rc=$?
  cat "$logs/tenants.txt"
  result tenants "$([ $rc -eq 0 ] && ! grep -q failed "$logs/tenants.txt" && echo PASS || echo FAIL)" \
    "$(grep -o 'scaling N=[0-9]*: .*' "$logs/tenants.txt" | tr '\n' ';')"
fi

# --- llama.cpp's Vulkan backend (bench/llama.sh) ------------------------------------
if want llama; then
  ltar=${LLAMA_TAR:-$bundle/../gpu-llama/llama.tar.xz}
  g26=$bundle/guest26
  if [ ! -f "$ltar" ] || [ ! -x "$g26/lib/ld-linux-x86-64.so.2" ]; then
    result llama SKIP "no $ltar (bench/gpu-bundle.sh with LLAMA=1) or no guest26 in the bundle"
  else
    tar -C "$prefix" -xJf "$ltar"
    ll=$prefix/llama
    sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$g26/lib/libvulkan_virtio.so\"#" \
      "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio26_icd.json"
    # sid's programs on sid's ld-linux (ggml finds its backends beside it);
    # the Mesa 26 guest's libraries after llama's own.
    llama_bench=("$ll/lib/ld-linux-x86-64.so.2" --library-path "$ll/lib:$g26/lib" "$ll/bin/llama-bench")
    llama_tbo=("$ll/lib/ld-linux-x86-64.so.2" --library-path "$ll/lib:$g26/lib" "$ll/bin/test-backend-ops")
    # shellcheck source=../bench/llama.sh
    . "$top/bench/llama.sh"
    lrc=0 skip_ops=${LLAMA_SKIP_OPS:-0}
    # Where a token's time goes, measured where generation is fastest: with
    # NVIDIA's BAR memory lent to the guest.
    export LLAMA_STATS_ARGS=${LLAMA_STATS_ARGS---lend-driver-mappings}
    for shape in ${LLAMA_SHAPES:-7b 1b}; do
      llama_model_host=$prefix/llama-$shape.gguf llama_model=$prefix/llama-$shape.gguf
      # test-backend-ops with the first shape only; the Mesa 26 guest's ICD on the client side.
      VIRTIO_ICD=$prefix/virtio26_icd.json LLAMA_SHAPE=$shape LLAMA_SKIP_OPS=$skip_ops llama_main \
        >"$logs/llama-$shape.txt" 2>&1 || lrc=1
      skip_ops=1
      cat "$logs/llama-$shape.txt"
      rm -f "$llama_model_host"
    done
    result llama "$([ $lrc -eq 0 ] && echo PASS || echo FAIL)" \
      "$(grep -ho 'test-backend-ops.*passed' "$logs"/llama-*.txt | head -n1); $(grep -h '^   | default |' "$logs"/llama-*.txt | tr -s ' ' | tr '\n' ';')"
  fi
fi

if want bench; then
  echo "== bench/run.sh"
  PEER=0 CHART=0 HOST_ICD=$HOST_ICD VIRTIO_ICD=$VIRTIO_ICD CLIENT_LD_LIBRARY_PATH=$lib \
    "$top/bench/run.sh" "$build" 2>"$logs/bench.err"; rc=$?
  if [ -d "$top/bench/out/latest" ]; then
    cp "$top"/bench/out/latest/table.md "$logs/bench-table.md" 2>/dev/null
    cp "$top"/bench/out/latest/table.csv "$logs/bench-table.csv" 2>/dev/null
    cp "$top"/bench/out/latest/logs/ours-server.log "$logs/bench-server.log" 2>/dev/null
    grep -l . "$top"/bench/out/latest/logs/ours-*.err 2>/dev/null | head -n 5 | xargs -r cp -t "$logs/" 2>/dev/null
  fi
  result bench "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" "$(grep -c 'fails' "$logs/bench.err") failing cells"
  grep 'fails' "$logs/bench.err" | sed 's/^/   /'
fi

echo "== summary"
printf '%s\n' "${results[@]}"
echo "== failures: $failures"
exit $((failures > 0))

# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "checks" of scripts/gpu-check.sh (sourced after the set-up):
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
#   stale-mapping    vk_stale_mapping: mappings a client keeps past
#                    vkFreeMemory (of NVIDIA's BAR type, lent through the
#                    driver's mapping) show only that client's memory while
#                    a second client allocates
#   memory-shares    a server with vram-per-peer-mib=256,
#                    memory-per-peer-mib=256 and worker-memory-mib=512: the
#                    guest's heaps are no larger than their pool's share;
#                    vk_allocs --until-fail (16 MiB host-visible
#                    allocations) stops at 256 MiB with one line naming its
#                    pool's limit; so does --device-local (unmapped
#                    allocations of the GPU's own memory, where it has one); vk_hostile huge-query-pool is made or
#                    refused by the driver under the bound, and a client
#                    after it is served
#   robust-access    vk_robust (a pipeline that opts out of robust buffer
#                    access and reads past its binding) natively and with
#                    Mesa 26's guest through a default server (the opt-out
#                    stands: the same words as natively) and an --isolate
#                    thread one (raised: every word past the binding zero)
#   many-clients     16 concurrent vulkaninfo clients; 0 objects left
#   sigkill          a client holding objects SIGKILLed: all released
#   stuck-queue      a client leaving its queue blocked: torn down
#   vkmark           every default scene at 320x240 and 1920x1080, VKMARK_RUNS
#                    times each (default 3; VKMARK_DURATION s a scene, default
#                    1; the server's log level VKMARK_LOG_LEVEL), no hang; then
#                    SIGTERM stops the server; then each scene FIGURE_DURATION
#                    s (default 3) for the figures
#   render-bench     bench/render_bench natively and through the server: FPS, ratio

# --- vulkaninfo ----------------------------------------------------------------
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

out=$(client "$build/tests/vk_stale_mapping" 2>&1); rc=$?
echo "$out" >"$logs/vk_stale_mapping.txt"
result stale-mapping "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" \
  "$(grep -m1 '^info: memory type' <<<"$out" | sed 's/^info: //'); $(grep -m1 'stale views' <<<"$out" | sed 's/^info: //')$([ $rc -eq 0 ] || echo "; rc $rc: $(grep '^error:' <<<"$out" | head -n2 | tr '\n' ' ')")"

# --- memory-shares ---------------------------------------------------------------
run_server --memory auto --log-level info --limit vram-per-peer-mib=256 --limit memory-per-peer-mib=256 \
  --limit worker-memory-mib=512
heaps=$(client vulkaninfo 2>&1 | awk '/memoryHeaps\[[0-9]+\]:/{h=$1} h && /^[[:space:]]*size[[:space:]]*=/{print h " " $3; h=""}' |
  tr '\n' ' ')
shares=() verdict=PASS
for kind in system device-local; do
  [ $kind = system ] && opt=() || opt=(--device-local)
  n0=$(grep -cE 'limit (vram|memory)-per-peer-mib=256' "$server_log")
  out=$(VN_PERF=no_async_mem_alloc client "$build/tests/vk_allocs" --until-fail 64 --size $((16 << 20)) "${opt[@]}" 2>&1); rc=$?
  echo "$out" >"$logs/vk_allocs-shares-$kind.txt"
  held=$(sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' <<<"$out")
  share_line=$(grep -oE 'limit (vram|memory)-per-peer-mib=256' "$server_log" | sed -n "$((n0 + 1))p")
  { [ $rc -eq 0 ] && [ -n "$held" ] && [ "$held" -le 16 ] && [ -n "$share_line" ]; } || verdict=FAIL
  shares+=("$kind: held ${held:-?} x 16 MiB, then ${share_line:-no line}")
done
qp=$(client "$build/tests/vk_hostile" huge-query-pool 2>&1 | grep -m1 -E '^(PASSED|FAILED)')
qp=${qp:-$(grep -m1 -o 'vkCreateQueryPool failed with [A-Z_]*' "$server_log")}
after=$(client "$build/tests/vk_compute" --mib 16 2>&1 | tail -n1)
grep -q PASSED <<<"$after" || verdict=FAIL
result memory-shares "$verdict" \
  "heaps $heaps; $(IFS=';'; echo "${shares[*]}"); huge-query-pool: ${qp:-none}; after: $after; $(grep -m1 -o 'private memory at most [0-9]* MiB' "$server_log")"

# Robust access only where tenants share a process (docs/security.md).
if [ $have_g26 = 1 ]; then
  rb_native=$(native "$build/tests/vk_robust" 2>&1 | grep -m1 '^robust:')
  rb_process=$(guest26 "$build/tests/vk_robust" 2>&1 | grep -m1 '^robust:')
  run_server --isolate thread
  rb_thread=$(guest26 "$build/tests/vk_robust" 2>&1 | grep -m1 '^robust:')
  run_server --memory auto
  verdict=FAIL
  [ -n "$rb_native" ] && [ "$rb_process" = "$rb_native" ] &&
    [[ $rb_thread == *"240 of 240 words past the binding read as zero"* ]] && verdict=PASS
  result robust-access $verdict "native: ${rb_native#robust: }; default server: ${rb_process#robust: }; --isolate thread: ${rb_thread#robust: }"
else
  result robust-access SKIP "no Mesa 26 guest in the bundle (Mesa 25's has no pipeline robustness)"
fi

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

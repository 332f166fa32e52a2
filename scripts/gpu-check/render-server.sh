# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "render-server" of scripts/gpu-check.sh (sourced after the set-up):
#   render-server-*  tests/rs_vmm as the VMM (--socket-fd): several contexts,
#                    fences on several rings, an imported memfd used as Vulkan
#                    memory and read back, over SOCK_SEQPACKET and SOCK_STREAM;
#                    hostile messages; --isolate process with a worker killed

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
if [ -x "$build/tests/rs_vmm" ]; then
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
else
  result render-server SKIP "no tests/rs_vmm in the bundle"
fi

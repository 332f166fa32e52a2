# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "vm" of scripts/gpu-check.sh (sourced after the set-up; needs
# BUNDLE/vm-guest.tar and vm-host.tar.xz.N from scripts/vm-bundle.sh, SKIP
# without them):
#   vm-*             the test VM: a Debian 13 guest under trixie's QEMU 10
#                    (run from the bundle on trixie's ld-linux; SDL on Xvfb,
#                    llvmpipe EGL) whose virtio-gpu's Venus contexts run on
#                    venus-server and the host GPU: vm-short (vulkaninfo names
#                    the GPU, mapped compute, vk_render byte-identical to
#                    native, every default vkmark scene), vm-bench (submit
#                    round trip and vkmark in the guest, against vtest and
#                    native here). VM_ACCEL=kvm|tcg (default: KVM unless it is
#                    PVM), VM_CPU another CPU model, VM_TIMEOUT seconds per
#                    boot (600).

# --- the test VM with KVM (scripts/vm-bundle.sh) ----------------------------------------
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

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real VM: a Debian 13 guest (kernel 6.12, Mesa 25.0.7's Venus driver)
# under Debian 13's stock QEMU 10 and libvirglrenderer 1.1, whose
# virtio-gpu runs its Venus contexts on this build's venus-server as the
# render server (scripts/vm-image.sh builds and caches the guest,
# scripts/vm-run.sh boots it; KVM where /dev/kvm is usable, else TCG, and
# TCG again where KVM cannot start the guest). In
# the guest (tests/vm/init, workload short): vulkaninfo names the Venus
# device, vk_compute checks every element of mapped compute, vk_render's
# images must be byte-identical to the same render through vtest on the
# host, and vkmark runs every default scene. Each step must pass. The first
# run builds the trixie root and the guest (minutes, needs the Debian
# mirror); later runs reuse them. VM_TEST=0 skips this test.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"

top=$vm_top
require_tools python3
vm_image "test_render_server covers it"

# The reference render: the same client through vtest, the server in the
# trixie root as in the VM (the host driver is trixie's lavapipe there:
# another LLVM than the host's, other bits).
root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
ref=$(mktemp -d "$root/tmp/vs-vm-ref.XXXXXX")
trap 'lib_cleanup; rm -rf --one-file-system "$ref"' EXIT
"$top/scripts/into-root.sh" "$root" "$ref" "$SERVER_BIN"
"$top/scripts/in-root.sh" "$root" env LD_LIBRARY_PATH="${ref#"$root"}/lib" VK_ICD_FILENAMES="$LVP_ICD" \
  "${ref#"$root"}/venus-server" --socket "${ref#"$root"}/v.sock" >"$TEST_TMP/ref-server.log" 2>&1 &
ref_pid=$!
BG_PIDS+=("$ref_pid")
for _ in $(seq 100); do [ -S "$ref/v.sock" ] && break; sleep 0.1; done
mkdir -p "$TEST_TMP/render-vtest"
rc=0
VN_DEBUG=vtest VTEST_SOCKET_NAME="$ref/v.sock" VK_ICD_FILENAMES="$VIRTIO_ICD" timeout -k 5 "$CLIENT_TIMEOUT" \
  "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/render-vtest" >"$TEST_TMP/render-vtest.out" 2>&1 || rc=$?
kill_tree "$ref_pid"
[ "$rc" -eq 0 ] || { fail "vk_render through vtest (server in the trixie root): $(describe_rc "$rc")"; show_tail "$TEST_TMP/render-vtest.out"; show_tail "$TEST_TMP/ref-server.log"; }

vm_boot short "$TEST_TMP/vm" 420

step_check() { vm_step_check "$@"; }
device=$(sed -n 's/^  | [[:space:]]*deviceName[[:space:]]*= *//p' "$log" | head -n 1)
step_check vulkaninfo "the guest sees '$device'" grep -qE 'deviceName[[:space:]]*= Virtio-GPU Venus' "$log"
step_check compute "mapped compute, every element checked" true
step_check render "$(ls "$TEST_TMP"/render-vtest | wc -l) images byte-identical to the render through vtest" vm_same_render "$TEST_TMP/render-vtest"
scenes=$(grep -cE '^  \| \[[a-z0-9]+\].*FPS: [0-9]+' "$log" || true)
score=$(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$log")
step_check vkmark "$scenes scenes, score ${score:-none}" test "$scenes" -ge 13 -a -n "$score"
check "the guest finished its workload and powered off (QEMU status $rc)" \
  grep -q '^VMTEST done' "$log"
errors=$(grep -E '^(worker process [0-9]+: )?venus-server: error:' "$TEST_TMP/vm/qemu.log" || true)
if [ -z "$errors" ]; then pass "the render server logged no error line"; else
  fail "the render server logged:"; printf '%s\n' "$errors" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then show_tail "$TEST_TMP/vm/qemu.log" 15; show_tail "$TEST_TMP/vm/serial.log" 10; fi
finish

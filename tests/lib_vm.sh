# SPDX-License-Identifier: MIT
# Sourced by the test VM's tests (test_vm.sh, test_vm_display.sh,
# test_vm_browser.sh), after lib.sh: the guest image, and a boot that gives
# way from KVM to TCG where the machine's KVM cannot start the guest.
#
#   vm_image REASON      skips (VM_TEST=0, the -Dos=posix build, a sanitizer
#                        build: REASON says what covers them instead) or
#                        sets $image, building the guest the first time
#   vm_boot WORKLOAD DIR TIMEOUT [vm-run.sh options...]
#                        boots it (scripts/vm-run.sh) into DIR; sets $rc
#                        (QEMU's status), $accel and $log (DIR/guest.log)
#   vm_step_check NAME WHAT [CONDITION...]
#                        PASS when the guest's step NAME ended 0 (and
#                        CONDITION holds), else FAIL with its last lines
#   vm_same_render DIR   true when the guest's log ($log) names every
#                        image of DIR (a reference render) with its hash

vm_top=$(cd "$TESTS_DIR/.." && pwd)

vm_image() {
  [ "${VM_TEST:-1}" != 0 ] || { skip "VM_TEST=0"; finish; }
  if posix_build; then
    skip "-Dos=posix build: its blobs are POSIX shm, which QEMU's Linux proxy cannot seal${1:+ ($1)}"
    finish
  fi
  if ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
    skip "sanitizer build: its runtime is the host's, not the trixie root's${1:+ ($1)}"
    finish
  fi
  local t0=$SECONDS
  if ! image=$("$vm_top/scripts/vm-image.sh" "$BUILD_DIR" 2>"$TEST_TMP/image.log"); then
    fail "building the guest image failed"
    show_tail "$TEST_TMP/image.log"
    finish
  fi
  note "guest image $image ($((SECONDS - t0)) s to build or find)"
}

vm_run() {
  local workload=$1 dir=$2 limit=$3
  shift 3
  rc=0
  "$vm_top/scripts/vm-run.sh" --server "$SERVER_BIN" --accel "$accel" --workload "$workload" --timeout "$limit" "$@" \
    "$dir" "$image" >"$dir.run.out" 2>&1 || rc=$?
}

vm_boot() {
  local workload=$1 dir=$2 limit=$3 t1=$SECONDS
  accel=${VM_ACCEL:-}
  if [ -z "$accel" ]; then accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; fi
  vm_run "$@"
  log=$dir/guest.log
  # A usable-looking /dev/kvm whose QEMU cannot start the guest (nested
  # KVM that refuses -cpu host's MSRs, say) is the machine's, not the
  # server's: chosen automatically, it gives way to TCG, saying why.
  if [ "$rc" -ne 0 ] && [ -z "${VM_ACCEL:-}" ] && [ "$accel" = kvm ] && ! grep -q '^VMTEST step' "$log" 2>/dev/null; then
    note "KVM did not start the guest (QEMU status $rc: $(grep -v '^$' "$dir/qemu.log" 2>/dev/null | tail -n 1)); again under TCG"
    rm -rf "$dir"
    accel=tcg t1=$SECONDS
    vm_run "$@"
  fi
  # QEMU 10.0's multi-threaded TCG can abort in iotlb_to_section() when a
  # vCPU's MMIO access meets a TLB entry that changed under it: a race in
  # QEMU's softmmu, made likelier by the guest's blob maps, which change
  # the memory map all the time. That abort is QEMU's own; the guest gets
  # one more boot, saying so, and a second abort fails the test.
  if [ "$rc" -eq 134 ] && [ "$accel" = tcg ] && grep -q 'iotlb_to_section: Assertion' "$dir/qemu.log" 2>/dev/null; then
    note "QEMU aborted in its TCG memory dispatch ($(grep -o 'iotlb_to_section: Assertion.*' "$dir/qemu.log" | head -n 1)); booting once more"
    rm -rf "$dir"
    t1=$SECONDS
    vm_run "$@"
  fi
  note "VM ($accel, $workload): $((SECONDS - t1)) s from power-on to power-off, QEMU status $rc"
  if [ ! -f "$log" ]; then
    fail "no guest console log: $(describe_rc "$rc")"
    show_tail "$dir.run.out"
    finish
  fi
}

vm_step_check() {
  local name=$1 what=$2
  shift 2
  if grep -q "^VMTEST step $name rc 0 " "$log" && { [ $# -eq 0 ] || "$@"; }; then
    pass "guest $name: $what ($(sed -n "s/^VMTEST step $name rc 0 secs \([0-9]*\)/\1 s/p" "$log"))"
  else
    fail "guest $name: $what: $(grep "^VMTEST step $name " "$log" || echo 'never ran')"
    grep -B12 "^VMTEST step $name " "$log" | grep '^  |' | tail -n 10 | sed 's/^/         /' || true
  fi
}

vm_same_render() {
  local f h n=0 bad=0
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    h=$(sha256sum <"$f" | cut -d' ' -f1)
    grep -q "^VMTEST render $(basename "$f") $h\$" "$log" || { bad=1; note "render $(basename "$f") differs from the reference"; }
  done
  [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

# vm_from_server_memory WHAT QEMU_LOG: the server's exit figures count
# frames of the VM channel shown from its own memory.
vm_from_server_memory() {
  local figures
  figures=$(grep -E 'display: vm channel: [0-9]+ commits' "$2" || true)
  if printf '%s\n' "$figures" | grep -qE 'vm channel: [0-9]+ commits, [1-9][0-9]* shown from server memory'; then
    pass "$1 were read from the server's own memory: ${figures#*display: }"
  else
    fail "$1: none came from server memory: ${figures:-no vm channel figures in the server log}"
  fi
}

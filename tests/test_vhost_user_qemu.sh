#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The vhost-user virtio-gpu device (src/transport/vhost_user/, docs/vhost-user.md)
# as a real VM's GPU: the project's test guest (scripts/vm-image.sh; kernel
# 6.12) boots under Debian sid's QEMU 11.1 (in the sid root, TCG) whose
# vhost-user-test-device-pci (virtio-id 16) is served by `venus-server
# --vhost-user`, with a display (--display, --record) where the build has
# one. The guest's workload (vmtest=short) runs through Mesa's Venus on the
# device: vulkaninfo shows Venus, vk_compute checks every element of mapped
# compute, vk_render's images are byte-identical to the same client's
# through vtest on the same server, vkmark runs its scenes, each Venus
# context made on the device, in a worker of its own: one guest process's
# shader reads none of another's memory at its device address. Then a KMS client (tests/vm/kms_frames.c)
# flips numbered frames on the scanout, from dumb buffers (the 2D path)
# and from Venus-rendered dma-bufs (host blobs, shown in place): the
# display's recording must hold frames of both runs, each whole, in order
# and none stale.
# In the guest's kernel log the virtio-gpu driver must bind with the host
# memory window, blob, host-visible and context-init features, one scanout
# and one capset (read without timing out); where fbdev emulation sets a
# mode, the device must have created, scanned out and flushed its
# framebuffer (a 2D resource: offered VIRGL, the kernel makes no blob
# dumb buffers), and the display must have
# encoded frames of that 1024x768 console. Beside it, `--vhost-user-input`
# serves QEMU's vhost-user-input-pci: the guest's virtio-input driver must
# register it as an input device under the server's name. The devices must
# refuse nothing. Skips without QEMU 11.1 in the sid root (ROOTS=1 make roots adds
# it), without the guest image, and with VM_TEST=0.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

vu_prepare

# The reference render: the same client through vtest, this server.
"$SERVER_BIN" --socket "$TEST_TMP/ref.sock" >"$TEST_TMP/ref-server.log" 2>&1 &
ref_pid=$!
BG_PIDS+=("$ref_pid")
for _ in $(seq 100); do [ -S "$TEST_TMP/ref.sock" ] && break; sleep 0.1; done
mkdir -p "$TEST_TMP/render-vtest"
ref_rc=0
VN_DEBUG=vtest VTEST_SOCKET_NAME="$TEST_TMP/ref.sock" VK_ICD_FILENAMES="$VIRTIO_ICD" timeout -k 5 "$CLIENT_TIMEOUT" \
  "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/render-vtest" >"$TEST_TMP/render-vtest.out" 2>&1 || ref_rc=$?
kill_tree "$ref_pid"
check "vk_render through vtest, the reference ($(describe_rc "$ref_rc"))" test "$ref_rc" -eq 0

# The scanout on the server's display, recorded, where the build has one
# and ffprobe can read the recording.
display_args=() record=$TEST_TMP/vhost.h264
if "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null && command -v ffprobe >/dev/null; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -m 700 -p "$XDG_RUNTIME_DIR"
  display_args=(--display vs-vhost-test --record "$record")
else
  note "no display in this build, or no ffprobe: the scanout is not recorded"
fi
# The KMS client's frames per run (dumb, then Venus).
kms_frames=90
device_run() {
  vu_server_start --vm-size 1024x768 --log-level debug "${display_args[@]}"
  vu_boot 400 vmtest=device kmsframes=$kms_frames
  vu_server_stop
}
vu_run_twice_on_stall device_run '^VMTEST done' "$record"

klog=$TEST_TMP/serial.log dlog=$TEST_TMP/device.log log=$TEST_TMP/guest.log
check "QEMU ran the guest to power-off (status $rc)" test "$rc" -eq 0
check "the guest's init finished" grep -q '^VMTEST done' "$TEST_TMP/guest.log"
check "the device served until the front end went" grep -q 'the front end closed the connection' "$dlog"
check "its worker process ended with it" grep -qE 'vhost-user device 1: its worker \(pid [0-9]+\) ended$' "$dlog"
input_id=$(sed -nE 's/.*vhost-user device ([0-9]+): a virtio-input device .*/\1/p' "$dlog" | head -n 1)
check "the input device was connected (device ${input_id:-none})" test -n "$input_id"
check "the guest's virtio-input driver registered it" grep -qE 'input: venus-server input as ' "$klog"
check "the input device served until its front end went" \
  grep -qE "vhost-user device ${input_id:-x}: the front end closed the connection" "$dlog"
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
check "the virtio-gpu driver bound the device" grep -qE 'Initialized virtio_gpu .* on minor' "$klog"
check "the guest sees the host memory window" grep -qE '\[drm\] Host memory window: ' "$klog"
check "features +resource_blob +host_visible" grep -qE '\[drm\] features: .*\+resource_blob \+host_visible' "$klog"
check "features +context_init" grep -qE '\[drm\] features: .*\+context_init' "$klog"
check "one scanout" grep -q '\[drm\] number of scanouts: 1' "$klog"
check "one capset" grep -q '\[drm\] number of cap sets: 1' "$klog"
check "the capset was read without timing out" bash -c "! grep -q 'timed out waiting for cap set' '$klog'"
# fbdev emulation: a console framebuffer on the device's scanout.
if grep -qE 'virtio_gpudrmfb|fb0: virtio' "$klog"; then
  # Offered RESOURCE_BLOB without VIRGL, the kernel makes its dumb buffers
  # guest blobs; a 2D resource with attached backing otherwise.
  for cmd in 'RESOURCE_CREATE_(2D|BLOB)' 'SET_SCANOUT(_BLOB)?' TRANSFER_TO_HOST_2D RESOURCE_FLUSH; do
    seen=$(grep -oE "virtio-gpu 1: $cmd: response 0x1100" "$dlog" | sed -E 's/.*: ([A-Z0-9_]+): .*/\1/' | sort -u | tr '\n' ' ')
    check "the device answered the guest's $cmd (${seen:-none})" test -n "$seen"
  done
  flushes=$(sed -nE 's/.*vhost-user device 1: ended after ([0-9]+) flushes.*/\1/p' "$dlog")
  check "the scanout was flushed to the device (${flushes:-no} flushes, $(grep -o 'shows [0-9]*x[0-9]*' "$dlog" | tail -n 1))" \
    test "${flushes:-0}" -gt 0
  if [ ${#display_args[@]} -gt 0 ]; then
    if out=$(python3 "$TESTS_DIR/display/check_stream.py" size "$record" 1024 768 1 2>&1); then
      pass "the display encoded the guest's console: $out"
    else
      fail "the display encoded the guest's console: ${out:-no recording}"
    fi
  fi
else
  note "the guest set no fbdev mode: no scanout to check"
fi
# The workload through Mesa's Venus on the device.
device=$(sed -n 's/^  | [[:space:]]*deviceName[[:space:]]*= *//p' "$log" | head -n 1)
vm_step_check vulkaninfo "the guest sees '$device'" grep -qE 'deviceName[[:space:]]*= Virtio-GPU Venus' "$log"
vm_step_check compute "mapped compute, every element checked" true
vm_step_check render "$(ls "$TEST_TMP"/render-vtest | wc -l) images byte-identical to the render through vtest" vm_same_render "$TEST_TMP/render-vtest"
scenes=$(grep -cE '^  \| \[[a-z0-9]+\].*FPS: [0-9]+' "$log" || true)
vm_step_check vkmark "$scenes scenes" test "$scenes" -ge 13
# Each guest process's Venus context in a worker of its own: a shader that
# reads at another process's device address finds none of its memory (on
# lavapipe, inside one worker, it would find all of it: test_isolation's
# control).
# Where the address is not mapped in the reader's worker, the read kills
# that worker: its context alone ends (the guest's driver then aborts the
# reader), which reads nothing either.
peeked=$(sed -nE 's/^  \| peek: (read .*|the read ended the device: .*)/\1/p' "$log" | head -n 1)
peek_rc=$(sed -nE 's/^VMTEST step peek rc ([0-9]+) .*/\1/p' "$log")
peek_death=$(grep -oE 'context "vk_peek": worker process [0-9]+ killed by signal [0-9]+' "$dlog" | head -n 1 || true)
if [ "${peek_rc:-x}" = 0 ] && grep -qE '^  \| peek: (read 1024 words at 0x[0-9a-f]+: 0 hold the marker|the read ended the device: )' "$log"; then
  pass "guest peek: another guest process's memory at its device address: $peeked"
elif [ -n "$peek_rc" ] && [ "$peek_rc" != 0 ] && [ -n "$peek_death" ]; then
  pass "guest peek: another guest process's memory at its device address: nothing read, the reader's $peek_death (status $peek_rc in the guest)"
else
  fail "guest peek: another guest process's memory at its device address: ${peeked:-nothing read}, step rc ${peek_rc:-never ran}"
  grep -B12 "^VMTEST step peek " "$log" | grep '^  |' | tail -n 10 | sed 's/^/         /' || true
fi
vm_step_check kms "a KMS client's frames: $(grep -E '^  \| kms_frames: [0-9]+ (dumb|Venus) frames' "$log" | sed 's/.*kms_frames: //' | tr '\n' ';')" true
if [ ${#display_args[@]} -gt 0 ]; then
  # The console shows before and after the client's frames.
  if out=$(CHECK_STREAM_TRIM=1 python3 "$TESTS_DIR/display/check_stream.py" numbers "$record" 1024 768 5 "$kms_frames" 2>&1); then
    pass "the KMS client's dumb and Venus frames reached the stream whole and in order: $out"
  else
    fail "the KMS client's dumb and Venus frames reached the stream whole and in order: ${out:-no recording}"
  fi
  check "its Venus frames were shown in place from their host blobs" grep -qE 'virtio-gpu 1: scanout 0 shows host blob [0-9]+ .*in place' "$dlog"
fi
check "the guest's Venus contexts were made on the device" grep -qE 'virtio-gpu 1: context [0-9]+ \(".*"\) created, Venus' "$dlog"
# The reader's context may end on its read (its worker faults): its lines
# are its own.
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" | grep -vF '("vk_peek")' | grep -vF 'context "vk_peek"' || true)
if [ -z "$refused" ]; then pass "the device refused nothing"; else
  fail "the device logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/qemu.log" 10
  grep -iE 'drm|virtio' "$klog" | tail -n 20 | sed 's/^/         | /' || true
  show_tail "$dlog" 15
fi
finish

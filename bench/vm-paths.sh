#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench-vm-paths`: the two ways a VM reaches the server, side by
# side (a benchmark, not a test): the same test guest, the same size, one
# run after the other.
#   device   venus-server --vhost-user as the VM's whole virtio-gpu
#            (sid's QEMU 11.1, tests/lib_vhost_user.sh); the guest's frames
#            are Venus-rendered KMS page flips (tests/vm/kms_frames.c --for)
#   channel  venus-server as the render server of QEMU's virtio-gpu-gl
#            with the VM channel (trixie's QEMU 10, scripts/vm-run.sh
#            --vm-display); the guest's frames are wl_frames' through the
#            guest compositor (vs-guest-present)
# Both under TCG. Per path, in the guest: render_bench at SIZE offscreen
# (frame time: the Venus transport alone), then numbered frames for
# LIVE_SECONDS (heavy GPU work each) while headless Chromium watches the
# page (tests/display/cdp_view.py latency: commit->drawn after a 5 s
# warm-up over BROWSER_SECONDS). From the server: commit->encoded. From
# the recording: whether every frame is whole and in order
# (tests/display/check_stream.py numbers).
# Writes bench/out/vm-paths-DATE.md (vm-paths-latest.md points there) and
# keeps each run's logs beside it in vm-paths-DATE/.
#
# Usage: bench/vm-paths.sh BUILD_DIR    Environment: SIZE (1024x768),
# LIVE_SECONDS (45), BROWSER_SECONDS (20), CHROMIUM, HOST_ICD (the server's
# Vulkan driver, both paths; default lavapipe). From a bundle (a GPU host
# without the Debian roots, scripts/gpu-check/vm-paths.sh): VU_QEMU_BUNDLE
# (the device path's QEMU, an unpacked vm-vhost.tar.xz) and VU_IMAGE (the
# guest's vmlinuz and initrd.img, both paths; tests/lib_vhost_user.sh), and
# VM_RUN_OPTIONS, more scripts/vm-run.sh options for the channel path
# (--host-bundle DIR --host-icd JSON: QEMU 10 from vm-host.tar.xz, the
# server on HOST_ICD).
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
stamp=$(date +%Y%m%d-%H%M%S)
out=$top/bench/out
mkdir -p "$out/vm-paths-$stamp"
# The test library's helpers (server, QEMU boots); its temp dir is the
# run's log directory.
set -- "$build" "$out/vm-paths-$stamp"
. "$top/tests/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

size=${SIZE:-1024x768} live=${LIVE_SECONDS:-45} watch=${BROWSER_SECONDS:-20}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || note "no Chromium: no commit->drawn figures"
# Both ways (VK_DRIVER_FILES wins in the loader: none may leak in).
export VK_ICD_FILENAMES=${HOST_ICD:-$LVP_ICD}
export VK_DRIVER_FILES=$VK_ICD_FILENAMES
read -ra vm_run_options <<<"${VM_RUN_OPTIONS:-}"
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"

# browser_on_cue GUEST_LOG URL_FILE OUT: once the guest says its frames
# start, Chromium watches the page whose URL URL_FILE holds (background).
browser=""
browser_on_cue() {
  [ -n "$CHROMIUM" ] || return 0
  (
    deadline=$((SECONDS + 400))
    until grep -aq '^VMTEST live starting' "$1" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
    url=$(grep -aohE 'http://[^ ]+token=[^ ]+' "$2" 2>/dev/null | head -n1)
    [ -n "$url" ] || { echo "no viewer URL" >"$3"; exit 0; }
    timeout -k 5 $((watch + 120)) python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile-$$-$RANDOM" \
      "$url" latency "$watch" 5 >"$3" 2>&1
  ) &
  BG_PIDS+=("$!")
  browser=$!
}

# figures NAME GUEST_LOG SERVER_LOG BROWSER_OUT RECORDING: one table row.
figures() {
  local name=$1 glog=$2 slog=$3 bout=$4 rec=$5 render stream page frames
  render=$(sed -nE "s/^  \| render $size: FPS: ([0-9.]+) frame_ms: ([0-9.]+).*/\2 ms (\1 fps)/p" "$glog" | head -n1)
  stream=$(grep -E 'display stream:' "$slog" | tail -n1 |
    sed -nE 's/.*commit->encoded median ([0-9.]+) ms p99 ([0-9.]+) ms.*/\1 \/ \2 ms/p')
  page=$(grep -E '^browser: [0-9]+ s after' "$bout" 2>/dev/null | head -n1 |
    sed -nE 's/.*\(([0-9.]+) fps\).*commit->drawn median ([0-9.]+) ms p99 ([0-9.]+) ms.*/\2 \/ \3 ms (\1 fps drawn)/p')
  frames=$(CHECK_STREAM_TRIM=1 CHECK_STREAM_REPEATS=1000000 python3 "$TESTS_DIR/display/check_stream.py" numbers \
    "$rec" "${size%x*}" "${size#*x}" 1 2>&1 | tail -n1)
  printf '| %s | %s | %s | %s | %s |\n' "$name" "${render:--}" "${stream:--}" "${page:--}" "${frames:--}"
}

rows=()
# --- the vhost-user device
vu_prepare
vu_server_start --vm-size "$size" --display vs-paths-device --http 127.0.0.1:0 --record "$TEST_TMP/device.h264"
browser_on_cue "$work/hvc.log" "$TEST_TMP/device.out" "$TEST_TMP/device-browser.out"
vu_boot 600 vmtest=paths-device vmsize="$size" livesecs="$live"
[ -z "$browser" ] || wait "$browser" 2>/dev/null || true
vu_server_stop
note "device: QEMU status $rc; $(grep -o 'step [a-z_]* rc [0-9]*' "$TEST_TMP/guest.log" | tr '\n' ' ')"
rows+=("$(figures "vhost-user device (QEMU $qemu_version)" "$TEST_TMP/guest.log" "$TEST_TMP/device.log" \
  "$TEST_TMP/device-browser.out" "$TEST_TMP/device.h264")")

# --- the render server and the VM channel
if [ -n "${VU_IMAGE:-}" ]; then image=$VU_IMAGE; else vm_image; fi
dir=$TEST_TMP/channel
browser_on_cue "$dir/live/guest.log" "$dir/live/qemu.log" "$TEST_TMP/channel-browser.out"
VM_ACCEL=tcg VENUS_SERVER_OPTIONS="--http 127.0.0.1:0" vm_boot paths-channel "$dir" 600 --vm-display --guest-size "$size" \
  "${vm_run_options[@]}"
[ -z "$browser" ] || wait "$browser" 2>/dev/null || true
note "channel: QEMU status $rc; $(grep -o 'step [a-z_]* rc [0-9]*' "$dir/guest.log" | tr '\n' ' ')"
rows+=("$(figures "render server + VM channel (QEMU 10)" "$dir/guest.log" "$dir/qemu.log" \
  "$TEST_TMP/channel-browser.out" "$dir/vm.h264")")

report=$out/vm-paths-$stamp.md
{
  echo "# The VM paths side by side, $size"
  echo
  echo "Host driver: $(basename "$VK_ICD_FILENAMES"); guest: the test VM (TCG); frames live for $live s, Chromium watching $watch s."
  echo
  echo "| path | render_bench frame time | commit->encoded median / p99 | commit->drawn median / p99 | frames (check_stream) |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} >"$report"
ln -sfn "$(basename "$report")" "$out/vm-paths-latest.md"
cat "$report"
finish

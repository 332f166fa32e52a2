#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a VM flushing its scanout costs the server process (the display's
# side: taking frames from the device's worker, encoding them), through a
# front end of tests/vhost_user/fake_vmm.py with a 1280x800 2D resource:
#
#   bench/vm-flush.sh [BUILD_DIR] [SECONDS]   (default build, 10)
#
# Two runs: the VM flushes as fast as it can, then 60 times a second
# (TRANSFER_TO_HOST_2D and RESOURCE_FLUSH each time). Each prints the
# flushes a second the guest got through and the server process's CPU
# time (its threads, not its workers) per second of the run. The display
# runs at its default 60 fps, recording to /dev/null.
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-10}
TOP=$(cd "$(dirname "$0")/.." && pwd)
LVP_ICD=${LVP_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
dir=$(mktemp -d "${TMPDIR:-/tmp}/venus-vm-flush.XXXXXX")
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR=$dir

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

for rate in 0 60; do
  rm -f "$dir/gpu.sock"
  VK_ICD_FILENAMES=$LVP_ICD "$TOP/$BUILD/venus-server" --vhost-user "$dir/gpu.sock" --vm-size 1280x800 \
    --ready-workers 1 --display vs-bench-flush --record /dev/null --log-level warn >"$dir/out" 2>"$dir/log" &
  server=$!
  until [ -S "$dir/gpu.sock" ]; do sleep 0.05; done
  sleep 2
  before=$(cpu_ticks "$server")
  flushes=$(PYTHONPATH=$TOP/tests/vhost_user python3 - "$dir/gpu.sock" "$rate" "$SECS" <<'PY'
import struct, sys, time
import fake_vmm
fake_vmm.RAM = 8 << 20
from fake_vmm import gpu_command, hdr, show_frame
path, rate, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
w, h = 1280, 800
dev = show_frame(path, None, w, h)
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    gpu_command(dev, hdr(0x105) + struct.pack('<IIIIQII', 0, 0, w, h, 0, 1, 0))  # TRANSFER_TO_HOST_2D
    gpu_command(dev, hdr(0x104) + struct.pack('<IIIIII', 0, 0, w, h, 1, 0))      # RESOURCE_FLUSH
    n += 1
    if rate:
        time.sleep(max(0.0, t0 + n / rate - time.monotonic()))
print('%.0f' % (n / (time.monotonic() - t0)))
PY
)
  after=$(cpu_ticks "$server")
  awk -v what="$([ "$rate" = 0 ] && echo 'as fast as it can' || echo "$rate/s")" -v flushes="$flushes" \
    -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v secs="$SECS" \
    'BEGIN { printf "guest asking %s: %s flushes/s; server process CPU %.2f s per s\n", what, flushes, ticks / hz / secs }' 
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a worker per Venus context costs a VM device (--vm-contexts apart,
# the default) against one worker for all of a VM's contexts (shared), on
# lavapipe, through a front end of tests/vhost_user/fake_vmm.py:
#
#   bench/vm-contexts.sh [BUILD_DIR] [CONTEXTS]   (default build, 8)
#
# For each mode: the time from a context's CTX_CREATE to the answer of its
# first blob (median of CONTEXTS, each made 1.5 s after the one before, so
# a warmed-up worker waits: the hand-off, not a warm-up); then each of the
# CONTEXTS makes a VkInstance and a VkDevice. The PSS (shared pages split)
# of the server and every process under it, from before the first context
# (the pools' ready workers warmed up) to then, divided by CONTEXTS, is
# what a context costs (with apart, its worker and the one that replaces
# it in the pool).
set -euo pipefail
BUILD=${1:-build}
N=${2:-8}
TOP=$(cd "$(dirname "$0")/.." && pwd)
LVP_ICD=${LVP_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
dir=$(mktemp -d "${TMPDIR:-/tmp}/venus-vm-contexts.XXXXXX")
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

# tree_pss PID: KiB of PSS of PID and every process under it.
tree_pss() {
  local total=0 p
  for p in $(ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2 } END {
      for (p in parent) { q = p; while (q in parent && q != root) q = parent[q]; if (q == root) print p } }'); do
    total=$((total + $(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

for mode in apart shared; do
  rm -f "$dir/gpu.sock"
  VK_ICD_FILENAMES=$LVP_ICD "$TOP/$BUILD/venus-server" --vhost-user "$dir/gpu.sock" --vm-contexts "$mode" \
    --vm-size 64x48 --vm-hostmem 16 --ready-workers 2 --log-level warn >"$dir/out" 2>"$dir/log" &
  server=$!
  until [ -S "$dir/gpu.sock" ]; do sleep 0.05; done
  sleep 3 # the pools' workers warmed up
  base=$(tree_pss "$server")
  PYTHONPATH=$TOP/tests/vhost_user python3 - "$dir/gpu.sock" "$N" "$dir/ready" "$dir/go" <<'EOF' &
import os, statistics, struct, sys, time
from hostile_vmm import Device, Venus, ctx_create, gpu_command, gpu_request, hdr, submit_settled, HOST3D, MAPPABLE, OK, VENUS
path, n, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
dev = Device(path)
dev.start()
first = []
for i in range(n):
    ctx = 10 + i
    t0 = time.monotonic()
    gpu_command(dev, ctx_create(ctx, VENUS, 'bench'))
    got = gpu_request(dev, hdr(0x10c, ctx) + struct.pack('<IIIIQQ', 100 + i, HOST3D, MAPPABLE, 0, 0, 4096))[0]
    first.append((time.monotonic() - t0) * 1000)
    assert got == OK, hex(got)
    time.sleep(1.5)
open(ready, 'w').write('%.1f\n' % statistics.median(first))
while not os.path.exists(go):
    time.sleep(0.05)
for i in range(n):
    v = Venus()
    v.create_instance(1)
    v.enumerate_physical(1, 2)
    v.create_device(2, 3)
    # Run, and the context still running after it.
    assert submit_settled(dev, 10 + i, v) == OK
time.sleep(1)
open(ready, 'a').write('devices\n')
while os.path.exists(go):
    time.sleep(0.05)
EOF
  vmm=$!
  alive() { kill -0 "$vmm" 2>/dev/null || { echo "vm-contexts: the front end failed ($mode)" >&2; exit 1; }; }
  until [ -s "$dir/ready" ]; do alive; sleep 0.1; done
  latency=$(head -n 1 "$dir/ready")
  touch "$dir/go"
  until grep -q devices "$dir/ready"; do alive; sleep 0.1; done
  sleep 3
  grown=$(( $(tree_pss "$server") - base ))
  rm -f "$dir/go" "$dir/ready"
  wait "$vmm" || true
  printf '%-7s first blob of a context %7s ms (median of %d)  a VkInstance and VkDevice per context: %6d KiB each (PSS of the server tree +%d KiB)\n' \
    "$mode" "$latency" "$N" $((grown / N)) "$grown"
  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
done

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server's own CPU instructions per recorded Vulkan command, counted by
# callgrind on lavapipe: BUILD_DIR/venus-server (--isolate thread, so one
# process holds it all) runs under valgrind --tool=callgrind while
# exec_bench's record-many workload records 1600 vkCmdPipelineBarrier a
# command buffer, submits and waits. It runs twice, with --quick (50
# recordings) and without (320): the difference of the two counts, over
# the 270 x 1600 commands between them, leaves out start-up and teardown.
# "Own" is what executes in the venus-server binary (not libc, the loader
# or the host driver); "decoder" is its vn_dec* functions (the generated
# decoders with the primitives inlined in them).
#
# Usage: bench/callgrind.sh BUILD_DIR [OUT_DIR]   (OUT_DIR: a temp dir, kept)
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR [OUT_DIR]}" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/venus-callgrind.XXXXXX")}
mkdir -p "$out"
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
virtio_icd=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }

# profile TAG [exec_bench args]: one server under callgrind, one client.
profile() {
  local tag=$1 sock=$out/$1.sock pid
  shift
  rm -f "$sock" "$out/$tag.callgrind"
  env -u VN_DEBUG -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$host_icd" \
    valgrind --tool=callgrind --callgrind-out-file="$out/$tag.callgrind" \
    "$build/venus-server" --socket "$sock" --isolate thread --ready-workers 0 >"$out/$tag.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { cat "$out/$tag.server.log" >&2; kill "$pid"; exit 1; }
  VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES="$virtio_icd" \
    timeout 900 "$build/bench/exec_bench" "$@" record-many >"$out/$tag.client.log" 2>&1 ||
    { tail -n 5 "$out/$tag.client.log" >&2; kill "$pid"; exit 1; }
  kill -TERM "$pid"
  wait "$pid" || true
}

profile quick --quick
profile full

python3 - "$out/quick.callgrind" "$out/full.callgrind" $((270 * 1600)) <<'EOF'
import collections, re, sys

def own_cost(path):
    """Self cost (Ir) of each function of the venus-server binary."""
    names = {}
    cost = collections.Counter()
    ob = fn = None
    skip = False  # the line after calls= is the call's inclusive cost
    for line in open(path):
        if not line.strip() or line[0] == '#':
            continue
        if line[0].isdigit() or line[0] in '+-*':
            if skip:
                skip = False
            elif ob and ob.endswith('/venus-server'):
                cost[fn] += int(line.split()[1])
            continue
        key, _, rest = line.rstrip('\n').partition('=')
        if key == 'calls':
            skip = True
        space = {'ob': 'ob', 'cob': 'ob', 'fn': 'fn', 'cfn': 'fn'}.get(key)
        if not space:
            continue
        mo = re.match(r'\((\d+)\)(?: (.*))?', rest)  # names are compressed to ids
        if mo and mo.group(2) is not None:
            names[(space, mo.group(1))] = mo.group(2)
        value = names[(space, mo.group(1))] if mo else rest
        if key == 'ob':
            ob = value
        elif key == 'fn':
            fn = value.split("'")[0]  # recursion levels counted as one
    return cost

quick, full, n = own_cost(sys.argv[1]), own_cost(sys.argv[2]), int(sys.argv[3])
per = {f: (c - quick.get(f, 0)) / n for f, c in full.items()}
total = sum(per.values())
decoder = sum(v for f, v in per.items() if f.startswith('vn_dec'))
print('instructions per recorded command (vkCmdPipelineBarrier, own code of venus-server):')
print('  total   %6.0f' % total)
print('  decoder %6.0f  (vn_dec*)' % decoder)
print('top functions:')
for f, v in sorted(per.items(), key=lambda kv: -kv[1])[:12]:
    if v >= 1:
        print('  %6.1f  %s' % (v, f))
EOF
echo "profiles in $out"

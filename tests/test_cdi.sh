#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Container Device Interface spec (venus-server --cdi-spec): valid
# JSON naming the device venus-server/gpu=vtest, whose edits bind the
# vtest socket into the container at its path and set a Venus client's
# environment; refused for a path it cannot hold. Then the spec applied as
# a CDI runtime (podman, CRI-O) applies it, to the trixie root standing in
# for a container image from Debian: its bind mount made in a private
# mount namespace, its environment set, and the root's own vulkaninfo
# finds the Venus device through the server. And podman itself, in the
# sid root, runs a container given the device by the spec.
. "$(dirname "$0")/lib.sh"

require_tools python3 unshare
spec=$TEST_TMP/spec.json
rc=0; "$SERVER_BIN" --cdi-spec --socket "$TEST_TMP/cdi.sock" >"$spec" 2>"$TEST_TMP/spec.err" || rc=$?
check "--cdi-spec prints a spec (status $rc)" test "$rc" -eq 0
what=$(python3 - "$spec" "$TEST_TMP/cdi.sock" <<'PY'
import json, sys
spec, sock = json.load(open(sys.argv[1])), sys.argv[2]
dev = spec['devices'][0]
edits = dev['containerEdits']
ok = (spec['kind'] == 'venus-server/gpu' and dev['name'] == 'vtest' and 'VN_DEBUG=vtest' in edits['env']
      and 'VTEST_SOCKET_NAME=' + sock in edits['env']
      and edits['mounts'] == [{'hostPath': sock, 'containerPath': sock, 'options': ['bind']}])
print('%s %s=%s, %d env, %d mounts' % ('ok' if ok else 'bad', spec['kind'], dev['name'], len(edits['env']),
                                      len(edits['mounts'])))
PY
) || what="bad (not JSON)"
check "it is JSON for venus-server/gpu=vtest: the socket bound at its path, the Venus environment ($what)" \
  test "${what%% *}" = ok
rc=0; "$SERVER_BIN" --cdi-spec --socket 'a"b' >/dev/null 2>&1 || rc=$?
check "a socket path JSON cannot hold as is: refused (status $rc)" test "$rc" -eq 2

root=$TESTS_DIR/../.deps/trixie-root
if [ ! -x "$root/usr/bin/vulkaninfo" ] || [ ! -e "$root/usr/share/vulkan/icd.d/virtio_icd.json" ]; then
  skip "no trixie root with vulkaninfo and Mesa's Venus driver at $root (make roots)"
  finish
fi
server_start_at "$TEST_TMP/cdi.sock" || finish
# The runtime's part: the mounts (a file to bind over, in the image) and
# the environment, from the spec alone.
# (Paths and values without white space: the test's own.)
env_args=$(python3 -c 'import json, sys
print(" ".join(json.load(open(sys.argv[1]))["devices"][0]["containerEdits"]["env"]))' "$spec")
mount_args=$(python3 -c 'import json, sys
print(" ".join(m["hostPath"] + " " + m["containerPath"]
               for m in json.load(open(sys.argv[1]))["devices"][0]["containerEdits"]["mounts"]))' "$spec")
made=()
set -- $mount_args
while [ $# -ge 2 ]; do
  mkdir -p "$root$(dirname "$2")"; touch "$root$2"; made+=("$root$2"); shift 2
done
rc=0
MOUNTS=$mount_args ENVS=$env_args unshare -m --propagation private bash -c '
  root=$1 into=$2
  set -- $MOUNTS
  while [ $# -ge 2 ]; do mount --bind "$1" "$root$2"; shift 2; done
  exec "$into" "$root" env -i PATH=/usr/bin:/bin $ENVS vulkaninfo --summary' cdi "$root" "$TESTS_DIR/../scripts/in-root.sh" \
  >"$TEST_TMP/vi.out" 2>&1 </dev/null || rc=$?
check "in the root, with the spec's edits: vulkaninfo lists the Venus device (status $rc)" \
  grep -qE "$VENUS_NAME_RE" "$TEST_TMP/vi.out"
[ "$N_FAIL" -eq 0 ] || show_tail "$TEST_TMP/vi.out" 10
# What was made in the root for the bind: the suite's temporary tree there.
case $TEST_TMP in /tmp/venus-tests.*/*) rm -rf --one-file-system "$root${TEST_TMP%/*}" ;; *) rm -f "${made[@]}" ;; esac
server_stop || true

# podman itself (the sid root's, as root there): a container whose root is
# a directory (the sid root, under an overlay: no registry, no image)
# given the device by name from the spec, in a spec directory of its own.
sid=$TESTS_DIR/../.deps/sid-root
if [ ! -x "$sid/usr/bin/podman" ] || [ ! -e "$sid/usr/share/vulkan/icd.d/virtio_icd.json" ]; then
  skip "no podman in the sid root at $sid (make roots)"
  finish
fi
pod=$(mktemp -d "$sid/tmp/vs-cdi.XXXXXX")
in=${pod#"$sid"}
mkdir "$pod/cdi"
"$SERVER_BIN" --cdi-spec --socket "$in/vtest.sock" >"$pod/cdi/venus-server.json"
server_start_at "$pod/vtest.sock" || finish
# What podman wants of the root it runs in: sysfs, a cgroup2 mount (with
# --cgroups=disabled nothing is made in it), its storage on a tmpfs.
rc=0
"$TESTS_DIR/../scripts/in-root.sh" "$sid" sh -c "mount -t sysfs sysfs /sys && mount -t cgroup2 none /sys/fs/cgroup &&
  mount -t tmpfs tmpfs /var/tmp && PODMAN_IGNORE_CGROUPSV1_WARNING=1 timeout -k 5 120 podman --cdi-spec-dir $in/cdi \
  --root /var/tmp/storage --runroot /var/tmp/run --storage-driver vfs --cgroup-manager cgroupfs run --rm \
  --cgroups=disabled --network=none --device venus-server/gpu=vtest --rootfs /:O vulkaninfo --summary" \
  >"$TEST_TMP/podman.out" 2>&1 </dev/null || rc=$?
check "podman run --device venus-server/gpu=vtest: the container's vulkaninfo lists the Venus device (status $rc)" \
  grep -qE "$VENUS_NAME_RE" "$TEST_TMP/podman.out"
[ "$N_FAIL" -eq 0 ] || show_tail "$TEST_TMP/podman.out" 10
server_stop || true
rm -rf --one-file-system "$pod"
finish

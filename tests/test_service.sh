#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# venus-server as a service: started with a listening socket
# passed the systemd way (LISTEN_FDS=1, LISTEN_PID, fd 3) it serves that
# socket, not --socket's, and leaves the socket file to its owner at exit;
# a LISTEN_PID of another process is ignored; a VM's two sockets
# (venus-server-vm@.socket) are each served on their own path;
# `make install DESTDIR=...`
# installs the binary, the man page (which renders without warnings), the
# systemd units (which systemd-analyze verify accepts, where present) and
# their groups' sysusers.d file.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo python3
ACTIVATE="python3 $TESTS_DIR/socket_activate.py"

# --- socket activation ------------------------------------------------------------
# The wrapper binds the path the test would pass as --socket and hands the
# server another one: a server that ignored the passed socket would listen
# on that other path and never print the line server_start waits for.
SERVER_BIN_REAL=$SERVER_BIN
SERVER_BIN=$TEST_TMP/venus-server-activated
cat >"$SERVER_BIN" <<EOS
#!/bin/sh
# \$1 \$2: --socket PATH (lib.sh's server_start)
path=\$2; shift 2
exec $ACTIVATE "\$path" "$SERVER_BIN_REAL" --socket "\$path.unused" "\$@"
EOS
chmod +x "$SERVER_BIN"
server_start || finish
pass "the server listens on the socket passed to it (LISTEN_FDS=1)"
check "it bound no socket of its own" test ! -e "$SERVER_SOCK.unused"
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/vi.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "$VENUS_NAME_RE" "$TEST_TMP/vi.out"; then
  pass "vulkaninfo --summary through the passed socket sees the Venus device"
else
  fail "vulkaninfo --summary through the passed socket: $(describe_rc "$rc")"
  show_tail "$TEST_TMP/vi.out" 5; show_tail "$SERVER_LOG" 5
fi
kill -TERM "$SERVER_PID"
rc=0; timeout 60 tail --pid="$SERVER_PID" -f /dev/null || true
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
check "server exited 0 on SIGTERM (status $rc)" test "$rc" -eq 0
check "the passed socket's file is left to its owner" test -S "$SERVER_SOCK"
rm -f "$SERVER_SOCK"
SERVER_BIN=$SERVER_BIN_REAL

# A LISTEN_PID naming another process: not ours, the server binds --socket.
SERVER_BIN=$TEST_TMP/venus-server-other-pid
printf '#!/bin/sh\nLISTEN_FDS=1 LISTEN_PID=1 exec %q "$@"\n' "$SERVER_BIN_REAL" >"$SERVER_BIN"
chmod +x "$SERVER_BIN"
server_start || finish
pass "LISTEN_PID of another process is ignored: the server binds --socket"
server_stop || true
SERVER_BIN=$SERVER_BIN_REAL

# Two sockets passed: refused with one line (it serves one vtest socket).
rc=0; env -u VTEST_SOCKET_NAME $ACTIVATE "$TEST_TMP/two-a.sock,$TEST_TMP/two-b.sock" "$SERVER_BIN_REAL" \
  --socket "$TEST_TMP/two.sock" >/dev/null 2>"$TEST_TMP/two.log" </dev/null || rc=$?
check "LISTEN_FDS=2 for vtest: exit status 1 with one line ($(head -1 "$TEST_TMP/two.log"))" \
  test "$rc" -eq 1 -a "$(grep -c 'socket activation: LISTEN_FDS=2' "$TEST_TMP/two.log")" -eq 1
rm -f "$TEST_TMP"/two-*.sock

# --- a VM's devices, socket-activated (venus-server-vm@.socket) ---------------------
# Both of a VM's sockets passed, in the unit's order: the server serves
# each on its own path (a fake VMM's GPU device shows a frame, its input
# device is served), binds nothing, and leaves both files to their owner.
gpu=$TEST_TMP/vm-a.sock input=$TEST_TMP/vm-a-input.sock
$ACTIVATE "$gpu,$input" "$SERVER_BIN_REAL" --vhost-user "$gpu" --vhost-user-input "$input" --vm-size 64x48 \
  >"$TEST_TMP/vm.out" 2>"$TEST_TMP/vm.log" </dev/null &
vm_server=$!; BG_PIDS+=("$vm_server")
for _ in $(seq 100); do grep -q 'serving VM virtio-input devices' "$TEST_TMP/vm.log" && break; sleep 0.1; done
check "the VM's server serves both passed sockets on their paths" \
  grep -q "serving VM virtio-gpu devices on $gpu " "$TEST_TMP/vm.log"
rc=0; timeout 60 python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$gpu" "$input" "$TEST_TMP/vmm.out" 1 \
  >"$TEST_TMP/vmm.log" 2>&1 || rc=$?
check "a VMM's GPU device shows a frame and its input device is served ($(describe_rc $rc))" \
  test "$rc" -eq 0 -a "$(grep -c '^shown$\|^done$' "$TEST_TMP/vmm.out" 2>/dev/null)" -eq 2
for kind in virtio-gpu virtio-input; do
  check "a $kind device was served by a worker" grep -q "a $kind device of VMM pid [0-9]*, uid [0-9]*, served by" \
    "$TEST_TMP/vm.log"
done
kill -TERM "$vm_server"
rc=0; wait "$vm_server" || rc=$?
check "the VM's server exited 0 on SIGTERM (status $rc)" test "$rc" -eq 0
check "both passed sockets' files are left to their owner" test -S "$gpu" -a -S "$input"
rm -f "$gpu" "$input"
# A socket passed for a path the server was not given: refused, one line.
rc=0; $ACTIVATE "$gpu,$TEST_TMP/other.sock" "$SERVER_BIN_REAL" --vhost-user "$gpu" >/dev/null \
  2>"$TEST_TMP/vm-other.log" </dev/null || rc=$?
check "a passed socket of another path: exit status 1 with one line ($(grep -m1 'socket activation' "$TEST_TMP/vm-other.log" | sed 's/^venus-server: //'))" \
  test "$rc" -eq 1 -a "$(grep -c 'are neither --vhost-user' "$TEST_TMP/vm-other.log")" -eq 1
rm -f "$gpu" "$TEST_TMP/other.sock"

# --- make install -----------------------------------------------------------------
dest=$TEST_TMP/dest
prefix=$(meson introspect --buildoptions "$BUILD_DIR" 2>/dev/null |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))' ||
  echo /usr/local)
if make -C "$TESTS_DIR/.." --no-print-directory install BUILD="$BUILD_DIR" PREFIX="$prefix" DESTDIR="$dest" \
    >"$TEST_TMP/install.out" 2>&1; then
  pass "make install DESTDIR=... PREFIX=$prefix"
else
  fail "make install DESTDIR=... failed"; show_tail "$TEST_TMP/install.out" 10; finish
fi
root=$dest$prefix
for f in bin/venus-server share/man/man1/venus-server.1 lib/systemd/system/venus-server.socket \
         lib/systemd/system/venus-server.service lib/systemd/system/venus-server-vm@.socket \
         lib/systemd/system/venus-server-vm@.service lib/sysusers.d/venus-server.conf \
         etc/venus-server/venus-server.conf; do
  check "installed $f" test -s "$root/$f"
done
check "the service runs the installed binary" grep -qx "ExecStart=$prefix/bin/venus-server --isolate process" \
  "$root/lib/systemd/system/venus-server.service"
check "the VM service runs the installed binary on both of the VM's sockets" grep -qx \
  "ExecStart=$prefix/bin/venus-server --vm-name %i --vhost-user /run/venus-server/vm/%i.sock --vhost-user-input /run/venus-server/vm/%i-input.sock" \
  "$root/lib/systemd/system/venus-server-vm@.service"
check "both services' stop signals the server alone (KillMode=mixed): it ends its workers" test "$(grep -lx \
  'KillMode=mixed' "$root/lib/systemd/system/venus-server.service" "$root/lib/systemd/system/venus-server-vm@.service" |
  wc -l)" -eq 2
if grep -q '^MemoryDenyWriteExecute=' "$root/lib/systemd/system/venus-server.service"; then
  fail "the service sets MemoryDenyWriteExecute (lavapipe's LLVM JIT needs W+X memory)"
else
  pass "the service leaves MemoryDenyWriteExecute unset (lavapipe's LLVM JIT)"
fi
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$root/share/man/man1/venus-server.1" >"$TEST_TMP/groff.out" 2>&1 || true
  check "the man page renders without warnings ($(wc -l <"$TEST_TMP/groff.out") lines)" test ! -s "$TEST_TMP/groff.out"
else
  skip "man page rendering (no groff)"
fi
if command -v systemd-analyze >/dev/null; then
  # Verified where the binary it names exists.
  units=$TEST_TMP/units; mkdir -p "$units"
  cp "$root"/lib/systemd/system/venus-server.* "$units/"
  # The template as one VM's instance.
  for u in socket service; do cp "$root/lib/systemd/system/venus-server-vm@.$u" "$units/venus-server-vm@demo.$u"; done
  sed -i "s|^ExecStart=$prefix/bin/venus-server|ExecStart=$root/bin/venus-server|" "$units/venus-server.service" \
    "$units/venus-server-vm@demo.service"
  rc=0; timeout 120 systemd-analyze verify --man=no "$units/venus-server.socket" "$units/venus-server.service" \
    "$units/venus-server-vm@demo.socket" "$units/venus-server-vm@demo.service" >"$TEST_TMP/verify.out" 2>&1 || rc=$?
  check "systemd-analyze verify accepts the units (status $rc, $(wc -l <"$TEST_TMP/verify.out") lines)" \
    test "$rc" -eq 0 -a ! -s "$TEST_TMP/verify.out"
  show_tail "$TEST_TMP/verify.out" 5
else
  skip "systemd-analyze verify (not installed)"
fi
finish

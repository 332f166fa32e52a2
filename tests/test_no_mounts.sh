#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No mount outlives a command: scripts/in-root.sh, through which `make
# bench`, `make apps` and test_vkmark enter the trixie root, mounts /proc and
# /dev only in the command's private mount namespace. With a tiny root made
# here (dash and its libraries): inside, the command sees /proc and /dev; the
# host's mount table never shows them, not even while the command runs; and
# nothing is left after a normal exit, a failing command, a missing program
# or a SIGKILL. With the trixie root, when it exists: scripts/trixie-root.sh
# and a command in the root leave nothing mounted under the checkout.
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
in_root=$top/scripts/in-root.sh

for t in findmnt unshare chroot ldd; do
  command -v "$t" >/dev/null || { skip "$t is not installed (util-linux, coreutils, libc-bin)"; finish; }
done
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
  skip "needs root or password-less sudo (mount namespaces, mount, chroot), as make bench and make apps do"
  finish
fi

# Anything already mounted under the checkout (an older trixie-root.sh left
# /proc and /dev there for good) fails here.
check_no_mounts "$top" "before the test"

# --- a tiny root ------------------------------------------------------------
fake=$TEST_TMP/root
# Should a mount leak (the bug this test is for), undo it before the test
# runner deletes TEST_TMP: rm -rf must never walk the host's /proc or /dev.
unmount_leaks() {
  local m
  for m in $(mounts_under "$fake" | sort -r); do umount -l "$m" 2>/dev/null || sudo -n umount -l "$m" || true; done
}
trap 'unmount_leaks; lib_cleanup' EXIT
mkdir -p "$fake"/{bin,proc,dev,tmp}
sh_bin=$(readlink -f /bin/sh)
cp "$sh_bin" "$fake/bin/sh"
for lib in $(ldd "$sh_bin" | grep -oE '/[^ ]+'); do
  cp --parents -L "$lib" "$fake/"
done
if ! "$in_root" "$fake" /bin/sh -c 'exit 0' 2>"$TEST_TMP/smoke.err"; then
  skip "cannot run a command in a mount namespace here: $(head -n 1 "$TEST_TMP/smoke.err")"
  finish
fi

# 1. Inside, /proc and /dev are there; the exit status comes through.
rc=0
out=$("$in_root" "$fake" /bin/sh -c 'test -r /proc/self/status && test -c /dev/null && echo inside-ok; exit 3') || rc=$?
if [ "$out" = inside-ok ] && [ "$rc" = 3 ]; then
  pass "in-root.sh: the command sees /proc and /dev, its exit status (3) comes through"
else
  fail "in-root.sh: output '$out', status $rc (want 'inside-ok', 3)"
fi
check_no_mounts "$fake" "after a command that exited 3"

# 2. While a command runs, its mounts exist in its namespace only; SIGKILL
# leaves nothing behind.
mkfifo "$fake/tmp/hold"
"$in_root" "$fake" /bin/sh -c 'echo running >/tmp/state; read x </tmp/hold' &
held=$!
BG_PIDS+=("$held")
for _ in $(seq 100); do [ -s "$fake/tmp/state" ] && break; sleep 0.05; done
if [ -s "$fake/tmp/state" ]; then
  # Its mount points, as it sees them: relative to its root, $fake.
  inner=$(awk '$5 == "/proc" || $5 == "/dev" {print $5}' "/proc/$held/mountinfo" | sort | tr '\n' ' ')
  if [ "$inner" = "/dev /proc " ]; then
    pass "while it runs, the command's own namespace has $fake/proc and $fake/dev mounted"
  else
    fail "the running command's namespace shows '$inner' (want $fake/dev and $fake/proc)"
  fi
  check_no_mounts "$fake" "while the command runs (host's mount table)"
  check_no_mounts "$top" "while the command runs (host's mount table)"
else
  fail "the held command did not start within 5 s"
fi
kill -KILL "$held" 2>/dev/null || true
wait "$held" 2>/dev/null || true
check_no_mounts "$fake" "after the command was SIGKILLed"

# 3. A missing program: chroot's status 127, nothing mounted.
rc=0
"$in_root" "$fake" /bin/no-such-program 2>/dev/null || rc=$?
check "a missing program exits 127 (got $rc)" [ "$rc" = 127 ]
check_no_mounts "$fake" "after a missing program"

# --- the trixie root ----------------------------------------------------------
root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
if [ -x "$root/usr/bin/virgl_test_server" ]; then
  rc=0
  "$top/scripts/trixie-root.sh" >"$TEST_TMP/trixie-root.out" 2>"$TEST_TMP/trixie-root.err" || rc=$?
  check "scripts/trixie-root.sh succeeds on the existing root (exit $rc)" [ "$rc" = 0 ]
  [ "$rc" = 0 ] || show_tail "$TEST_TMP/trixie-root.err"
  rc=0
  "$in_root" "$root" sh -c 'test -r /proc/self/status && dpkg-query -W -f "\${Version}\n" mesa-vulkan-drivers' \
    >"$TEST_TMP/dpkg.out" 2>&1 || rc=$?
  check "a command in the trixie root sees /proc and its packages (exit $rc)" [ "$rc" = 0 ]
  check_no_mounts "$top" "after trixie-root.sh and a command in the trixie root"
  check_no_mounts "$(cd "$root" && pwd)" "after trixie-root.sh and a command in the trixie root"
else
  skip "no trixie root at $root (make apps or make bench builds it): checked scripts/in-root.sh with a tiny root only"
fi

finish

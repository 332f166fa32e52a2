#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one command chrooted into ROOT with the host's /proc and /dev, such
# that no mount outlives the command:
#
#   scripts/in-root.sh ROOT CMD [ARG...]
#
# The command gets a private mount namespace (`unshare -m --propagation
# private`, util-linux): ROOT is bind-mounted onto itself (a mount of its
# own, as a container runtime in it wants its root), /proc is bind-mounted at ROOT/proc and /dev
# (recursively, so /dev/shm and /dev/pts come along; read-only at the top) at
# ROOT/dev there, and nowhere else. The host's mount table never shows them,
# and the kernel drops them with the namespace when its last process exits,
# however it exits (status, error, SIGKILL). So a `cp -a`, `tar` or indexer
# walking ROOT never walks the host's /proc, even while the command runs.
#
# The exit status is CMD's (127 if chroot cannot run it). The process is
# replaced, not forked: `scripts/in-root.sh ROOT server &` gives the server's
# own pid in $!. A Unix socket at ROOT/tmp/x.sock on the host is /tmp/x.sock
# inside. Needs root (runs itself under sudo otherwise).
set -euo pipefail

die() { printf 'in-root: %s\n' "$*" >&2; exit 125; }

if [ "${1:-}" = --inside ]; then
  # Second stage, already in the private namespace: mount, then become CMD.
  root=$2; shift 2
  # The root a mount of its own, as container runtimes want theirs.
  mount --rbind "$root" "$root"
  mount --bind /proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -o remount,bind,ro "$root/dev"
  exec chroot "$root" "$@"
fi

[ $# -ge 2 ] || die "usage: $0 ROOT CMD [ARG...]"
root=$(cd "$1" 2>/dev/null && pwd) || die "no root directory '$1'"
shift
[ "$root" != / ] || die "refusing to use / as the root"
for d in proc dev; do
  [ -d "$root/$d" ] || die "$root/$d is not a directory (not a root?)"
done
command -v unshare >/dev/null || die "unshare (util-linux) is not installed"

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
if [ "$(id -u)" = 0 ]; then
  exec unshare -m --propagation private -- "$self" --inside "$root" "$@"
else
  exec sudo unshare -m --propagation private -- "$self" --inside "$root" "$@"
fi

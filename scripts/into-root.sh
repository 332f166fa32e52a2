#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copies host-built programs into a chroot (the trixie root of
# scripts/trixie-root.sh), with the host's copies of the libraries they
# link that the root lacks (e.g. the display's libyuv) in DIR/lib:
# run them there with LD_LIBRARY_PATH set to that lib directory as the root
# sees it.
#
#   scripts/into-root.sh ROOT DIR FILE...     (DIR is a path under ROOT)
set -euo pipefail

root=${1:?usage: $0 ROOT DIR FILE...}
dir=${2:?usage: $0 ROOT DIR FILE...}
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
inner=${dir#"$root"}
mkdir -p "$dir/lib"
for f in "$@"; do cp "$f" "$dir/"; done
# A copied library may need others the root lacks: a few rounds.
for _ in 1 2 3 4; do
  missing=""
  for f in "$@"; do
    missing+=$("$top/scripts/in-root.sh" "$root" env LD_LIBRARY_PATH="$inner/lib" ldd "$inner/$(basename "$f")" \
                 2>/dev/null | awk '/not found/ { print $1 }')$'\n'
  done
  missing=$(printf '%s' "$missing" | sort -u | sed '/^$/d')
  [ -n "$missing" ] || exit 0
  for soname in $missing; do
    # awk reads to the end: exiting early would SIGPIPE ldconfig (status 141
    # under pipefail).
    host_lib=$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ && !found { print $NF; found = 1 }')
    [ -n "$host_lib" ] || { echo "into-root: $soname: not on the host either" >&2; exit 1; }
    cp -L "$host_lib" "$dir/lib/"
  done
done

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ensures a Debian root of a newer suite for the programs this bookworm host
# cannot run itself. Prints the root's path on stdout; everything else goes
# to stderr.
#
#   scripts/debian-root.sh SUITE [--include PKG[,PKG...]]...
#
# SUITE bookworm (Debian 12, as this host): a bare root, where the package
#   is installed and purged (tests/test_deb.sh).
# SUITE trixie (Debian 13): virglrenderer 1.1's virgl_test_server (the
#   reference peer; it needs glibc 2.38), trixie's Mesa 25.0.7 (lavapipe, the
#   Venus driver) and vkmark. scripts/trixie-root.sh is this with "trixie".
# SUITE sid (Debian unstable): the newest Mesa (the Mesa 26 Venus guest of
#   the guest matrix, docs/testing.md "Guests") and virglrenderer 1.3's front end.
#
# Idempotent, and safe to run from several shells at once (one holds a lock
# while the others wait): builds the root with debootstrap the first time
# (installing debootstrap with apt-get if missing) and installs --include
# packages the root lacks. It leaves no mount behind: debootstrap and the
# package installs run in private mount namespaces, and mounts an older
# version of this script left in the root are undone. Programs then run as
# `scripts/in-root.sh ROOT CMD`, which mounts /proc and /dev for CMD alone
# (in its own mount namespace: they vanish when CMD ends); a Unix socket at
# ROOT/tmp/x.sock on the host is /tmp/x.sock inside. Delete a root with
# `rm -rf --one-file-system`.
#
# Environment: BOOKWORM_ROOT / TRIXIE_ROOT / SID_ROOT  where the root lives (default:
# .deps/SUITE-root of this checkout; never commit it). The Debian mirror is
# the one the host's own apt sources name.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
suite=${1:-}
marker=/usr/bin/virgl_test_server
case $suite in
  bookworm) root=${BOOKWORM_ROOT:-$top/.deps/bookworm-root} base_pkgs=libvulkan1 marker=/usr/bin/dpkg ;;
  trixie) root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
          base_pkgs=mesa-vulkan-drivers,vulkan-tools,virgl-server,vkmark,libegl1,libegl-mesa0,libgl1-mesa-dri ;;
  sid)    root=${SID_ROOT:-$top/.deps/sid-root}
          base_pkgs=mesa-vulkan-drivers,vulkan-tools,virgl-server,mesa-utils,libegl1,libegl-mesa0,libgl1-mesa-dri ;;
  *) printf 'debian-root: usage: %s bookworm|trixie|sid [--include PKG[,PKG...]]...\n' "$0" >&2; exit 1 ;;
esac
shift

log() { printf '%s-root: %s\n' "$suite" "$*" >&2; }
die() { log "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=$base_pkgs
while [ $# -gt 0 ]; do
  case $1 in
    --include) pkgs="$pkgs,${2:?--include needs a package list}"; shift 2 ;;
    --include=*) pkgs="$pkgs,${1#--include=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: $0 $suite [--include PKG[,PKG...]]...)" ;;
  esac
done

# unmount_binds DIR: undo mounts left in DIR by an older version of this
# script (it bind-mounted /proc and /dev into the root for good) or by an
# interrupted debootstrap from before it ran in its own namespace.
unmount_binds() {
  local d
  for d in dev/pts dev proc sys; do
    if mountpoint -q "$1/$d"; then
      log "unmounting $1/$d (left by an older trixie-root.sh or debootstrap)"
      as_root umount -R "$1/$d" || die "cannot unmount $1/$d: is a program still running in the root?"
    fi
  done
}

bootstrap() {
  local partial=$root.partial uri
  uri=$("$top/scripts/debian-mirror.sh")
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } \
      || die "cannot install debootstrap with apt-get"
  fi
  if [ -e "$partial" ]; then
    log "removing an unfinished root at $partial"
    unmount_binds "$partial"
    # --one-file-system: never descend into a mount that unmount_binds missed.
    as_root rm -rf --one-file-system "$partial"
  fi
  log "creating the $suite root in $root (a few minutes; log: $root.log)"
  # Its own mount namespace: the /proc and /sys it mounts in the target go
  # with it, even when it is interrupted.
  if ! as_root unshare -m --propagation private debootstrap --variant=minbase --include="$base_pkgs" "$suite" "$partial" "$uri" >"$root.log" 2>&1; then
    tail -n 20 "$root.log" >&2
    die "debootstrap failed; full log: $root.log"
  fi
  # Renamed only when complete, so an interrupted run is never taken for a root.
  mv "$partial" "$root"
}

# install_missing PKG,...: apt-get install, inside the root, what it lacks.
install_missing() {
  local -a want missing=()
  local p
  IFS=, read -ra want <<<"$1"
  for p in "${want[@]}"; do
    [ -n "$p" ] || continue
    "$top/scripts/in-root.sh" "$root" dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
      || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]} in the root (log: $root.log)"
  # Signatures are checked; their Valid-Until is not (debootstrap does not
  # either): a mirror that is a snapshot serves a sid Release past it.
  if ! { "$top/scripts/in-root.sh" "$root" apt-get -o Acquire::Check-Valid-Until=false update -qq &&
         "$top/scripts/in-root.sh" "$root" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >>"$root.log" 2>&1; then
    tail -n 20 "$root.log" >&2
    die "cannot install ${missing[*]} inside $root; full log: $root.log"
  fi
}

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
unmount_binds "$root"
[ -x "$root$marker" ] || bootstrap
install_missing "$pkgs"
echo "$root"

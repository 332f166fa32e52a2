#!/usr/bin/env bash
# The Debian 13 ("trixie") root: scripts/debian-root.sh trixie (see there).
#
#   scripts/trixie-root.sh [--include PKG[,PKG...]]...
exec "$(dirname "$0")/debian-root.sh" trixie "$@"

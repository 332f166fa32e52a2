#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian 13 ("trixie") root: scripts/debian-root.sh trixie (see there).
#
#   scripts/trixie-root.sh [--include PKG[,PKG...]]...
exec "$(dirname "$0")/debian-root.sh" trixie "$@"

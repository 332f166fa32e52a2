#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the Debian mirror the host's apt sources already use, so that no
# registry address is ever written into the project. Exits 1 if none.
set -euo pipefail

uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
elif [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "debian-mirror: no Debian mirror in the apt sources" >&2; exit 1; }
echo "$uri"

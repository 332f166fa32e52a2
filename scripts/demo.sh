#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: start venus-server on a temporary socket with lavapipe as the
# host driver, show what a Venus client sees through it next to what a native
# client sees, and stop the server.
#
#   scripts/demo.sh BUILD_DIR
#
# HOST_ICD=/path/to/icd.json picks another host driver (default: lavapipe).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
server=$build/venus-server
virtio_icd=/usr/share/vulkan/icd.d/virtio_icd.json
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$server" ] || die "no $server: run make first"
command -v vulkaninfo >/dev/null || die "vulkaninfo is missing: run scripts/setup.sh"
[ -f "$virtio_icd" ] || die "no Venus guest driver ($virtio_icd): run scripts/setup.sh"
[ -f "$host_icd" ] || die "no host driver manifest $host_icd"

tmp=$(mktemp -d /tmp/venus-demo.XXXXXX)
sock=$tmp/venus.sock
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# side_by_side NATIVE VENUS: the first device's summary fields in two columns.
side_by_side() {
  awk -F' *= *' '
    FNR == 1 { f++; dev = 0 }
    /^Devices:/ { dev = 1 }
    dev && /^GPU[1-9]/ { dev = 0 }
    dev && NF == 2 { k = $1; gsub(/^[ \t]+/, "", k); v[f, k] = $2; if (f == 1) keys[++n] = k }
    END {
      printf "   %-20s %-44s %s\n", "", "native", "through venus-server"
      for (i = 1; i <= n; i++) {
        k = keys[i]
        if (k ~ /UUID/) continue
        printf "   %-20s %-44s %s\n", k, v[1, k], v[2, k]
      }
    }' "$1" "$2"
}

say "starting venus-server (host driver: $(basename "$host_icd"))"
env -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$host_icd" "$server" --socket "$sock" \
  >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 1 200); do
  grep -q 'listening on' "$tmp/server.out" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "the server exited early"; }
  sleep 0.05
done
grep -q 'listening on' "$tmp/server.out" || die "the server did not start listening within 10 s"
sed 's/^/   /' "$tmp/server.out"

say "a Venus client (Mesa's guest driver) through the server:"
echo "   VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock \\"
echo "   VK_ICD_FILENAMES=$virtio_icd vulkaninfo --summary"
rc=0
# timeout: Mesa's vtest client spins forever if the server drops it.
VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES="$virtio_icd" \
  timeout -k 5 60 vulkaninfo --summary >"$tmp/venus.txt" 2>"$tmp/venus.err" || rc=$?
env -u VN_DEBUG VK_ICD_FILENAMES="$host_icd" timeout 60 vulkaninfo --summary \
  >"$tmp/native.txt" 2>/dev/null || true

say "what each side sees"
side_by_side "$tmp/native.txt" "$tmp/venus.txt"

say "server log"
sed 's/^/   /' "$tmp/server.log"

kill -TERM "$server_pid"
src=0; wait "$server_pid" || src=$?
server_pid=""

echo
if [ "$rc" -eq 0 ] && grep -q 'Virtio-GPU Venus' "$tmp/venus.txt"; then
  echo "demo: OK: the Venus client saw '$(grep -m1 -o 'Virtio-GPU Venus.*' "$tmp/venus.txt")'; server stopped (exit $src)"
else
  echo "demo: the Venus client failed (status $rc); its last lines:" >&2
  tail -n 15 "$tmp/venus.err" | sed 's/^/   /' >&2
  exit 1
fi

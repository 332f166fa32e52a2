#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make conformance`: piglit (OpenGL tests nobody here wrote) through Zink
# natively on lavapipe and through Zink on Venus on venus-server, compared:
# fails on any test that passes natively and not through the server, or on
# more crashes through the server than natively.
#
#   scripts/conformance.sh BUILD_DIR [SELECTION]
#
# SELECTION: tests/piglit/SELECTION.txt, `full` (default, ~1,650 tests of
# the quick profile) or `slice` (the ~50 that `make test` runs). Results go
# to OUT_DIR (default tests/out/conformance-SELECTION): native/, server/,
# server.log, summary.txt. The native results depend only on piglit, Mesa
# and the selection: they are kept under .deps/conformance/ and reused
# (FRESH_NATIVE=1 runs them again); REUSE_SERVER=1 compares the server
# results already in OUT_DIR instead of running them again. Tests that
# pass natively only are run once more each way (compare.py --rerun).
# JOBS (2) piglit jobs, TIMEOUT (60) s per test; every run is niced.
# SERVER_ARGS: more venus-server arguments (word-split, as in tests/lib.sh);
# SERVER_ENV: VAR=VALUE words for the server's environment only (a host
# layer, as tests/test_moltenvk_shape.sh gives it).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: scripts/conformance.sh BUILD_DIR [full|slice]}" && pwd)
selection=${2:-full}
sel_file=$top/tests/piglit/$selection.txt
[ -f "$sel_file" ] || { echo "conformance: no selection $sel_file" >&2; exit 2; }
out=${OUT_DIR:-$top/tests/out/conformance-$selection}
jobs=${JOBS:-2}
timeout=${TIMEOUT:-60}
lvp_icd=/usr/share/vulkan/icd.d/lvp_icd.json
virtio_icd=/usr/share/vulkan/icd.d/virtio_icd.json

# piglit, and wflinfo (waffle-utils) for the shader_runner tests' fast
# skip: without it they skip as "GL 0.0".
if ! command -v piglit >/dev/null || ! command -v wflinfo >/dev/null || ! command -v Xvfb >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "conformance: piglit, waffle-utils and xvfb are missing; run as root to install them" >&2
    exit 2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q piglit waffle-utils xvfb >/dev/null
fi
for f in "$lvp_icd" "$virtio_icd"; do
  [ -e "$f" ] || { echo "conformance: $f is missing (make setup)" >&2; exit 2; }
done

filter=$(grep -v '^#' "$sel_file" | grep -v '^$' | paste -sd'|')
work=$(mktemp -d "${TMPDIR:-/tmp}/vs-conformance.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# An X display of our own: -displayfd picks a free number (other engineers'
# and tests' displays may hold fixed ones).
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "conformance: Xvfb did not start: $(tail -n1 "$work/xvfb.log")" >&2; exit 1; }
export DISPLAY=":$(cat "$work/display")"

# Zink takes a CPU Vulkan device only with LIBGL_ALWAYS_SOFTWARE.
export LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink
filter_args=(-t "$filter")
piglit_run() { # RESULTS_DIR, in the caller's environment (exported)
  export VN_DEBUG VTEST_SOCKET_NAME VK_ICD_FILENAMES
  nice -n 10 piglit run quick -p glx -j "$jobs" --timeout "$timeout" -l dummy "${filter_args[@]}" "$1" -o >"$1.out" 2>&1
}

mkdir -p "$out"
key=$( { dpkg-query -W piglit mesa-vulkan-drivers libgl1-mesa-dri 2>/dev/null; echo "$filter $timeout"; } |
       sha256sum | cut -c1-16)
native_cache=$top/.deps/conformance/native-$selection-$key
if [ -n "${FRESH_NATIVE:-}" ] || { [ ! -e "$native_cache/results.json.bz2" ] && [ ! -e "$native_cache/results.json" ]; }; then
  echo "conformance: native run (Zink on lavapipe), $selection selection"
  rm -rf "$native_cache"; mkdir -p "$(dirname "$native_cache")"
  start=$SECONDS
  (unset VN_DEBUG VTEST_SOCKET_NAME VK_DRIVER_FILES; VK_ICD_FILENAMES=$lvp_icd piglit_run "$native_cache") ||
    { echo "conformance: piglit failed natively:"; tail -n5 "$native_cache.out"; exit 1; }
  echo "conformance: native run took $((SECONDS - start)) s"
else
  echo "conformance: native results reused from $native_cache (FRESH_NATIVE=1 reruns them)"
fi
rm -rf "$out/native"; cp -a "$native_cache" "$out/native"

[ -x "$build/venus-server" ] || { echo "conformance: no $build/venus-server (make)" >&2; exit 2; }
echo "conformance: server run (Zink on Venus through $build/venus-server)"
sock=$work/v.sock
read -ra server_args <<<"${SERVER_ARGS:-}"
read -ra server_env <<<"${SERVER_ENV:-}"
env -u VN_DEBUG -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$lvp_icd" "${server_env[@]}" \
  "$build/venus-server" --socket "$sock" --log-level info "${server_args[@]}" >"$work/server.out" 2>"$out/server.log" &
server=$!
pids+=("$server")
for _ in $(seq 150); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
[ -S "$sock" ] || { echo "conformance: the server did not start:"; tail -n5 "$out/server.log"; exit 1; }
server_results() { [ -e "$out/server/results.json.bz2" ] || [ -e "$out/server/results.json" ]; }
if [ -n "${REUSE_SERVER:-}" ] && server_results; then
  echo "conformance: server results reused from $out/server (REUSE_SERVER)"
else
  start=$SECONDS
  rm -rf "$out/server"
  (unset VK_DRIVER_FILES; VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_ICD_FILENAMES=$virtio_icd piglit_run "$out/server") ||
    { echo "conformance: piglit failed through the server:"; tail -n5 "$out/server.out"; exit 1; }
  echo "conformance: server run took $((SECONDS - start)) s"
fi

# Tests that pass natively only run once more each way, one at a time and
# with thrice the timeout: a loaded machine's timeouts are not regressions
# (a test that needs longer through the server still passes there).
compare=$top/tests/piglit/compare.py
rm -rf "$out/rerun-native" "$out/rerun-server"
rerun=()
if ! python3 "$compare" "$out/native" "$out/server" --list "$out/regressions.txt" >/dev/null &&
   [ -s "$out/regressions.txt" ]; then
  echo "conformance: $(wc -l <"$out/regressions.txt") test(s) passed natively only; running them again"
  jobs=1 timeout=$((timeout * 3))
  filter_args=(--test-list "$out/regressions.txt")
  (unset VN_DEBUG VTEST_SOCKET_NAME VK_DRIVER_FILES; VK_ICD_FILENAMES=$lvp_icd piglit_run "$out/rerun-native") &&
  (unset VK_DRIVER_FILES; VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_ICD_FILENAMES=$virtio_icd \
     piglit_run "$out/rerun-server") && rerun=(--rerun "$out/rerun-native" "$out/rerun-server")
fi
if ! kill -0 "$server" 2>/dev/null; then
  echo "conformance: the server died during the run:"; tail -n5 "$out/server.log"; exit 1
fi
echo "conformance: $(grep -c 'error:' "$out/server.log" || true) error line(s) in the server log ($out/server.log)"

rc=0
python3 "$compare" "$out/native" "$out/server" "${rerun[@]}" | tee "$out/summary.txt" || rc=$?
exit "$rc"

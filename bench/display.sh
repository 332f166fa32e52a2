#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench-display`: the built-in display's figures (a benchmark, not a
# test). Per resolution, vkcube-wayland presents FRAMES frames through Venus
# to the server's display while one WebSocket viewer reads the stream:
#   presented fps   commits of the shown window / their span (frame
#                   callbacks pace the client at --fps, default 60)
#   encoded fps     access units / the encoder's span (server summary)
#   commit->send    wl_surface.commit to the last byte handed to the viewer's
#                   socket: median, p99 (server summary)
#   convert/encode  libyuv and x264 time per frame (encoder thread)
#   cpu/frame       the server process's CPU time (user+sys, all threads,
#                   rendering included) over the run / frames encoded
#   copies/frame    full-frame copies before the colour conversion
#                   (0 = read from the server's own memory)
#   GPU copies      detiling copies by the GPU into the server's memory
#                   (1 where the host keeps WSI images OPTIMAL: NVIDIA)
# Then, where Chromium is installed, latency where the user sees it: vkcube
# at BROWSER_SIZE runs BROWSER_SECONDS while headless Chromium shows the
# page (tests/display/cdp_view.py latency), which reports, after a 5 s
# warm-up, commit->decoded and commit->drawn (the animation frame after
# drawImage) as median and p99, and the p99 and median of commit->drawn in
# the first and the last 10 s (no growth: the last no higher than the
# first), beside the server's commit->send for the same run.
# Writes bench/out/display-DATE.md (bench/out/display-latest.md points there)
# and, beside it, display-DATE.log: each run's server log and vkcube output.
#
# Usage: bench/display.sh BUILD_DIR    Environment: FRAMES (300), SIZES
# ("1280x720 1920x1080"), FPS (60), SERVER_ARGS, HOST_ICD, VIRTIO_ICD,
# BROWSER_SIZE (640x480), BROWSER_SECONDS (65; 0: no browser run), CHROMIUM.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
server=$build/venus-server
FRAMES=${FRAMES:-300}
SIZES=${SIZES:-1280x720 1920x1080}
FPS=${FPS:-60}
HOST_ICD=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
VIRTIO_ICD=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
grep -q -- '--display' <<<"$("$server" --help)" || { echo "bench/display.sh: this build has no display" >&2; exit 1; }
command -v vkcube-wayland >/dev/null || { echo "bench/display.sh: vkcube-wayland is missing" >&2; exit 1; }

tmp=$(mktemp -d /tmp/vs-bench-display.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR=$tmp/rt
mkdir -m 700 "$XDG_RUNTIME_DIR"
read -ra extra <<<"${SERVER_ARGS:-}"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -nE "s/.*$1.*/\\1/p" "$2" | tail -n1; }

out_dir=$top/bench/out
mkdir -p "$out_dir"
report=$out_dir/display-$(date +%Y%m%d-%H%M%S).md
runlog=${report%.md}.log
: >"$runlog"
{
  echo "# venus-server display ($(nproc) CPUs, host ICD $(basename "$HOST_ICD"), $FRAMES frames, --fps $FPS)"
  echo
  echo "| size | presented fps | encoded fps | commit->send median | p99 | convert | encode | cpu/frame | copies/frame | GPU copies/frame | KiB/frame |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$report"

n=0
for size in $SIZES; do
  w=${size%x*} h=${size#*x}
  n=$((n + 1))
  sock=$tmp/v$n.sock log=$tmp/server$n.log name=vs-bench-$n
  # Each side names its driver both ways (VK_DRIVER_FILES wins in the loader).
  env -u VN_DEBUG VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$server" --socket "$sock" --display "$name" --fps "$FPS" \
    --http 127.0.0.1:0 "${extra[@]}" >"$tmp/server$n.out" 2>"$log" &
  server_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$tmp/server$n.out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$tmp/server$n.out")
  python3 "$top/tests/display/ws_viewer.py" read "$url" 100000 >/dev/null 2>&1 &
  viewer=$!
  sleep 0.3
  c0=$(cpu_ticks "$server_pid")
  rc=0
  VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" \
    WAYLAND_DISPLAY="$name" timeout 600 vkcube-wayland --c "$FRAMES" --width "$w" --height "$h" \
    >"$tmp/cube$n.out" 2>&1 || rc=$?
  c1=$(cpu_ticks "$server_pid")
  kill "$viewer" 2>/dev/null || true
  wait "$viewer" 2>/dev/null || true
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  { echo "## $size: server"; cat "$tmp/server$n.out" "$log"; echo "## $size: vkcube-wayland (rc $rc)"
    cat "$tmp/cube$n.out"; } >>"$runlog"
  [ $rc -eq 0 ] || { echo "bench/display.sh: vkcube-wayland at $size: rc $rc (see $runlog)" >&2; exit 1; }
  line=$(grep 'display stream:' "$log" | tail -n1)
  echo "$line" >"$tmp/line"
  enc=$(field ' ([0-9]+) encoded' "$tmp/line")
  efps=$(field 'encoded \(([0-9.]+) fps' "$tmp/line")
  conv=$(field 'convert ([0-9.]+) ms' "$tmp/line")
  encms=$(field 'encode ([0-9.]+) ms' "$tmp/line")
  copies=$(field '; copies per frame ([0-9.]+)' "$tmp/line")
  gpu_copies=$(field 'GPU copies per frame ([0-9.]+)' "$tmp/line")
  smed=$(field 'commit->sent median ([0-9.]+) ms' "$tmp/line")
  sp99=$(field 'commit->sent median [0-9.]+ ms p99 ([0-9.]+) ms' "$tmp/line")
  kib=$(field '; ([0-9.]+) KiB per frame' "$tmp/line")
  pfps=$(sed -nE 's/.*presented ([0-9.]+) fps.*/\1/p' "$log" | tail -n1)
  hz=$(getconf CLK_TCK)
  row=$(python3 -c "
enc, ticks, hz = max(1, ${enc:-0}), $c1 - $c0, $hz
print('| ${w}x${h} | ${pfps} | ${efps} | ${smed} ms | ${sp99} ms | ${conv} ms | ${encms} ms | %.2f ms | ${copies} | ${gpu_copies} | ${kib} |' % (ticks * 1000.0 / hz / enc))")
  echo "$row" | tee -a "$report"
done

# --- in the browser -----------------------------------------------------------
BROWSER_SIZE=${BROWSER_SIZE:-640x480}
BROWSER_SECONDS=${BROWSER_SECONDS:-65}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ "$BROWSER_SECONDS" -gt 0 ] && [ -n "$CHROMIUM" ]; then
  w=${BROWSER_SIZE%x*} h=${BROWSER_SIZE#*x}
  sock=$tmp/vb.sock log=$tmp/server-browser.log name=vs-bench-browser
  env -u VN_DEBUG VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$server" --socket "$sock" --display "$name" --fps "$FPS" \
    --http 127.0.0.1:0 "${extra[@]}" >"$tmp/server-browser.out" 2>"$log" &
  server_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$tmp/server-browser.out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$tmp/server-browser.out")
  VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" \
    WAYLAND_DISPLAY="$name" timeout $((BROWSER_SECONDS + 120)) vkcube-wayland --width "$w" --height "$h" \
    >"$tmp/cube-browser.out" 2>&1 &
  cube=$!
  sleep 1
  rc=0
  line=$(timeout $((BROWSER_SECONDS + 90)) python3 "$top/tests/display/cdp_view.py" "$CHROMIUM" "$tmp/profile" \
    "$url" latency "$BROWSER_SECONDS" 5 "${report%.md}.png" 2>&1) || rc=$?
  kill "$cube" 2>/dev/null || true
  wait "$cube" 2>/dev/null || true
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  { echo "## browser $BROWSER_SIZE: server"; cat "$tmp/server-browser.out" "$log"; echo "## page"; echo "$line"
    echo "## vkcube-wayland"; cat "$tmp/cube-browser.out"; } >>"$runlog"
  [ $rc -eq 0 ] || { echo "bench/display.sh: the browser run failed: $line (see $runlog)" >&2; exit 1; }
  echo "$line" >"$tmp/line"
  grep 'display stream:' "$log" | tail -n1 >>"$tmp/line"
  f() { field "$1" "$tmp/line"; }
  {
    echo
    echo "In headless Chromium (Debian's, software decoding): vkcube-wayland at $BROWSER_SIZE, ${BROWSER_SECONDS} s, the figures after a 5 s warm-up:"
    echo
    echo "| size | drawn fps | commit->decoded median | p99 | commit->drawn median | p99 | drawn p99, first 10 s | last 10 s | drawn median, first 10 s | last 10 s | commit->send median (server) | p99 | skipped | key frames asked |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  } | tee -a "$report"
  echo "| $BROWSER_SIZE | $(f 'frames drawn \(([0-9.]+) fps') | $(f 'commit->decoded median ([0-9.]+) ms') ms | $(f 'commit->decoded median [0-9.]+ ms p99 ([0-9.]+) ms') ms | $(f 'commit->drawn median ([0-9.]+) ms') ms | $(f 'commit->drawn median [0-9.]+ ms p99 ([0-9.]+) ms') ms | $(f 'p99 first 10 s ([0-9.]+) ms') ms | $(f 'p99 first 10 s [0-9.]+ ms, last 10 s ([0-9.]+) ms') ms | $(f 'median first 10 s ([0-9.]+) ms') ms | $(f 'median first 10 s [0-9.]+ ms, last 10 s ([0-9.]+) ms') ms | $(f 'commit->sent median ([0-9.]+) ms') ms | $(f 'commit->sent median [0-9.]+ ms p99 ([0-9.]+) ms') ms | $(f 'skipped ([0-9]+),') | $(f 'key frames asked ([0-9]+)') |" | tee -a "$report"
  { echo; echo "Per 10 s window: $(sed -n 's/^browser: per 10 s window, //p' "$tmp/line")"; echo
    echo "(the page's screenshot: ${report%.md}.png)"; } | tee -a "$report"
fi
ln -sf "$(basename "$report")" "$out_dir/display-latest.md"
echo "bench/display.sh: wrote $report (logs: $runlog)"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench-glmark2`: glmark2-es2-wayland (OpenGL ES 2 through Zink) on
# Venus through the server against Zink on the host driver natively, each
# presenting to the server's own display (--display) and off-screen
# (--off-screen). A benchmark, not a test: it prints the scores.
#   windowed    the window is a Wayland surface of the server's display
#   off-screen  glmark2 renders to an FBO and presents nothing
# Zink takes a CPU device only with LIBGL_ALWAYS_SOFTWARE=1, and EGL then
# presents through wl_shm (copied by the display), not Venus WSI.
# Writes bench/out/glmark2-DATE.md (and .log: every run's output).
#
# Usage: bench/glmark2.sh BUILD_DIR    Environment: DURATION (5 s per
# scene), HOST_ICD, VIRTIO_ICD.
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
server=$build/venus-server
DURATION=${DURATION:-5}
HOST_ICD=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
VIRTIO_ICD=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
if ! command -v glmark2-es2-wayland >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "bench/glmark2.sh: apt-get install glmark2-es2-wayland (as root)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq glmark2-es2-wayland >/dev/null
fi
grep -q -- '--display' <<<"$("$server" --help)" || { echo "bench/glmark2.sh: this build has no display" >&2; exit 1; }

tmp=$(mktemp -d /tmp/vs-bench-glmark2.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR=$tmp/rt
mkdir -m 700 "$XDG_RUNTIME_DIR"

scenes=(-b "build:duration=$DURATION" -b "texture:duration=$DURATION"
        -b "shading:shading=phong:duration=$DURATION" -b "bump:bump-render=normals:duration=$DURATION"
        -b "effect2d:kernel=0,1,0;1,-4,1;0,1,0;:duration=$DURATION")
labels=(build texture "shading phong" "bump normals" effect2d)

out_dir=$top/bench/out
mkdir -p "$out_dir"
report=$out_dir/glmark2-$(date +%Y%m%d-%H%M%S).md
runlog=${report%.md}.log
: >"$runlog"

# One server serves every run: its display for the windowed ones, its
# socket for the Venus ones.
sock=$tmp/v.sock
env -u VN_DEBUG -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$HOST_ICD" \
  "$server" --socket "$sock" --display vs-glmark2 --log-level info >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 150); do [ -S "$sock" ] && [ -S "$XDG_RUNTIME_DIR/vs-glmark2" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "bench/glmark2.sh: the server did not start"; tail -n5 "$tmp/server.log"; exit 1; }

# run NAME (venus|native) [glmark2 args]: the FPS of each scene, then the score.
declare -A fps score
run() {
  local name=$1 how=$2 rc=0; shift 2
  local env=(LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink WAYLAND_DISPLAY=vs-glmark2)
  if [ "$how" = venus ]; then
    env+=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_ICD_FILENAMES="$VIRTIO_ICD")
  else
    env+=(VK_ICD_FILENAMES="$HOST_ICD")
  fi
  env -u VN_DEBUG -u VTEST_SOCKET_NAME -u VK_DRIVER_FILES "${env[@]}" \
    timeout -k 5 300 glmark2-es2-wayland "$@" "${scenes[@]}" >"$tmp/$name.out" 2>&1 || rc=$?
  { echo "=== $name (exit $rc)"; cat "$tmp/$name.out"; } >>"$runlog"
  local i=0
  while read -r f; do fps[$name,$i]=$f; i=$((i + 1)); done < <(sed -nE 's/.* FPS: ([0-9]+).*/\1/p' "$tmp/$name.out")
  score[$name]=$(sed -nE 's/.*glmark2 Score: ([0-9]+).*/\1/p' "$tmp/$name.out")
  [ -n "${score[$name]}" ] || score[$name]="failed (exit $rc)"
  echo "glmark2: $name: score ${score[$name]}"
}
run venus-window venus
run native-window native
run venus-offscreen venus --off-screen
run native-offscreen native --off-screen
{ echo "=== server log"; cat "$tmp/server.log"; } >>"$runlog"

renderer=$(sed -nE 's/.*GL_RENDERER: *(.*)/\1/p' "$tmp/venus-window.out" | head -n1)
{
  echo "# glmark2-es2-wayland, Zink on Venus through venus-server vs Zink natively ($(nproc) CPUs, ${DURATION} s per scene)"
  echo
  echo "Venus renderer: ${renderer:-?}"
  echo
  echo "| scene (FPS) | Venus -> server display | native -> server display | Venus --off-screen | native --off-screen |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for i in "${!labels[@]}"; do
    echo "| ${labels[$i]} | ${fps[venus-window,$i]:-} | ${fps[native-window,$i]:-} | ${fps[venus-offscreen,$i]:-} | ${fps[native-offscreen,$i]:-} |"
  done
  echo "| **score** | **${score[venus-window]}** | **${score[native-window]}** | **${score[venus-offscreen]}** | **${score[native-offscreen]}** |"
} >"$report"
ln -sf "$(basename "$report")" "$out_dir/glmark2-latest.md"
cat "$report"
echo "bench/glmark2.sh: $report (runs: $runlog)"

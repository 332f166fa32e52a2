# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "frames" of scripts/gpu-check.sh (sourced after the set-up):
#   frames-*         per-frame overhead: render_bench at 320x240 and 1280x720
#                    natively and through the server, 3 interleaved rounds,
#                    then once against a --submit-stats server (its "submit
#                    stats" line: ring pickup, decode, host submit and
#                    completion); vkmark's 13 scenes at 320x240 (FRAMES_DURATION
#                    s a scene, default 2) through the server with Mesa's
#                    default present and the fast one
#                    (venus_implicit_fencing=true), 2 interleaved rounds and
#                    one --submit-stats run each; wl_frames' 300 numbered
#                    frames at 320x240 on the display in both present modes,
#                    recorded (frames-320-false.h264, frames-320-true.h264:
#                    check them with check_stream.py numbers FILE 320 240 100)

# --- per-frame overhead: both present modes ----------------------------------------------
fdur=${FRAMES_DURATION:-2}
# frames_vkmark LOG ENV...: vkmark through the server at 320x240, every default scene.
frames_vkmark() {
  local log=$1; shift
  timeout -k 5 $((fdur * 13 * 3 + 60)) env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" \
    VK_ICD_FILENAMES="$VIRTIO_ICD" "$@" \
    "$bundle/vkmark/ld-linux-x86-64.so.2" --library-path "$bundle/vkmark/lib:$lib:/usr/lib/x86_64-linux-gnu" \
    "$bundle/vkmark/vkmark" --winsys headless --winsys-dir "$bundle/vkmark/plugins" --data-dir "$bundle/vkmark/share" \
    -s 320x240 -b ":duration=$fdur" >"$log" 2>&1
}
# stats_line: the current server's "submit stats" lines, after it stopped.
stats_line() { grep -o 'submit stats: .*' "$server_log" | sed 's/^/   /'; }

echo "== frames: render_bench, 3 interleaved rounds (FPS)"
run_server --memory auto
rb_ok=1
for r in 1 2 3; do
  LIMIT=120 native "$build/bench/render_bench" --seconds 2 320x240 1280x720 >"$logs/frames-rb-native-$r.txt" 2>&1 || rb_ok=0
  LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 1280x720 >"$logs/frames-rb-venus-$r.txt" 2>&1 || rb_ok=0
  for size in 320x240 1280x720; do
    n=$(awk -v s="$size:" '$1 == "render" && $2 == s {print $4}' "$logs/frames-rb-native-$r.txt")
    v=$(awk -v s="$size:" '$1 == "render" && $2 == s {print $4}' "$logs/frames-rb-venus-$r.txt")
    echo "   round $r $size: native ${n:--} venus ${v:--} ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}') (us/frame native $(awk -v b="${n:-0}" 'BEGIN {printf "%.0f", b ? 1e6 / b : 0}'), venus $(awk -v a="${v:-0}" 'BEGIN {printf "%.0f", a ? 1e6 / a : 0}'))"
  done
done
# With 3 frames in flight: the guest's fence wait (Mesa's vn_relax: 15
# yields, then sleeps of 160 us) then overlaps GPU work instead of idling it.
LIMIT=120 native "$build/bench/render_bench" --seconds 2 --frames-in-flight 3 320x240 >"$logs/frames-rb-native-fif3.txt" 2>&1 || rb_ok=0
LIMIT=120 client "$build/bench/render_bench" --seconds 2 --frames-in-flight 3 320x240 >"$logs/frames-rb-venus-fif3.txt" 2>&1 || rb_ok=0
n=$(awk '$1 == "render" {print $4}' "$logs/frames-rb-native-fif3.txt") v=$(awk '$1 == "render" {print $4}' "$logs/frames-rb-venus-fif3.txt")
echo "   3 frames in flight 320x240: native ${n:--} venus ${v:--} ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
# CPU per frame at 320x240, 2 in flight: the program natively; the server
# and the guest program through it (a busy server thread is the bound, an
# idle one means the guest's fence wait is).
cpu_s() { awk '{printf "%.3f", ($14 + $15) / 100}' "/proc/$1/stat"; }
TIMEFORMAT='%U %S'
nt=$( { time LIMIT=120 native "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-native-cpu.txt" 2>&1; } 2>&1 | awk '{print $1 + $2}')
s0=$(cpu_s "$server_pid")
ct=$( { time LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-venus-cpu.txt" 2>&1; } 2>&1 | awk '{print $1 + $2}')
s1=$(cpu_s "$server_pid")
nf=$(awk '$1 == "render" {print $8}' "$logs/frames-rb-native-cpu.txt") vf=$(awk '$1 == "render" {print $8}' "$logs/frames-rb-venus-cpu.txt")
echo "   CPU per frame 320x240: native program $(awk -v t="$nt" -v f="${nf:-0}" 'BEGIN {printf "%.0f", f ? t * 1e6 / f : 0}') us; through the server: server $(awk -v a="$s0" -v b="$s1" -v f="${vf:-0}" 'BEGIN {printf "%.0f", f ? (b - a) * 1e6 / f : 0}') us, guest program $(awk -v t="$ct" -v f="${vf:-0}" 'BEGIN {printf "%.0f", f ? t * 1e6 / f : 0}') us ($nf and $vf frames)"
stop_server
run_server --memory auto --submit-stats
LIMIT=120 client "$build/bench/render_bench" --seconds 2 320x240 >"$logs/frames-rb-stats.txt" 2>&1 || rb_ok=0
stop_server
echo "   with --submit-stats: $(grep '^render' "$logs/frames-rb-stats.txt")"
stats_line
result frames-render-bench "$([ $rb_ok = 1 ] && echo PASS || echo FAIL)" "render_bench 320x240 and 1280x720, 3 rounds each way"

if [ -x "$bundle/vkmark/vkmark" ]; then
  echo "== frames: vkmark 320x240 through the server, Mesa's default present vs the fast one (FPS)"
  vm_ok=1
  run_server --memory auto
  for r in 1 2; do
    frames_vkmark "$logs/frames-vkmark-default-$r.txt" || vm_ok=0
    frames_vkmark "$logs/frames-vkmark-fast-$r.txt" venus_implicit_fencing=true || vm_ok=0
  done
  stop_server
  python3 - "$logs" <<'PY' | sed 's/^/   /'
import re, sys, os
def fps(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.search(r"^(\[\w+\] .*?)(?::duration=\d+)?: FPS: (\d+)", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out
runs = {m: [fps(os.path.join(sys.argv[1], "frames-vkmark-%s-%d.txt" % (m, r))) for r in (1, 2)] for m in ("default", "fast")}
print("| scene | default FPS (runs) | fast FPS (runs) | fast/default | us/frame default | us/frame fast |")
print("| --- | --- | --- | ---: | ---: | ---: |")
for scene in runs["default"][0]:
    d = [r.get(scene) for r in runs["default"]]
    f = [r.get(scene) for r in runs["fast"]]
    dm = max(x for x in d if x) if any(d) else 0
    fm = max(x for x in f if x) if any(f) else 0
    print("| %s | %s | %s | %s | %s | %s |" % (scene, "/".join(str(x) for x in d), "/".join(str(x) for x in f),
          "%.2f" % (fm / dm) if dm and fm else "-", "%.0f" % (1e6 / dm) if dm else "-", "%.0f" % (1e6 / fm) if fm else "-"))
PY
  for mode in default fast; do
    run_server --memory auto --submit-stats
    if [ $mode = fast ]; then frames_vkmark "$logs/frames-vkmark-stats-$mode.txt" venus_implicit_fencing=true || vm_ok=0
    else frames_vkmark "$logs/frames-vkmark-stats-$mode.txt" || vm_ok=0; fi
    stop_server
    echo "   --submit-stats, $mode present: $(grep -o 'Score: [0-9]*' "$logs/frames-vkmark-stats-$mode.txt")"
    stats_line
  done
  result frames-vkmark "$([ $vm_ok = 1 ] && echo PASS || echo FAIL)" "13 scenes at 320x240 in both present modes"
fi

if [ -x "$build/tests/display/wl_frames" ]; then
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  for fast in false true; do
    rec=$logs/frames-320-$fast.h264
    rm -f "$rec"
    run_server --memory auto --display vs-gpu-order --record "$rec" || { result "frames-order-$fast" FAIL "no server"; continue; }
    WAYLAND_DISPLAY=vs-gpu-order venus_implicit_fencing=$fast LIMIT=120 client "$build/tests/display/wl_frames" 300 320 240 \
      >"$logs/frames-320-$fast.txt" 2>&1; rc=$?
    [ $rc -ge 124 ] && dump_threads "$server_pid" "frames-order-$fast"
    stop_server
    enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' "$server_log" | head -n1)
    result "frames-order-$fast" "$([ $rc -eq 0 ] && [ "${enc:-0}" -gt 0 ] && echo PASS || echo FAIL)" \
      "wl_frames 300 numbered frames at 320x240, venus_implicit_fencing=$fast: rc $rc, ${enc:-no} encoded; check $(basename "$rec") with check_stream.py numbers FILE 320 240 100"
    grep -E 'display stream:' "$server_log" | sed 's/^/   /'
  done
fi

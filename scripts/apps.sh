#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real applications through venus-server, each next to the same program on
# the same host driver natively, with their figures:
#
#   scripts/apps.sh BUILD_DIR          (make apps)
#
#   vkmark --winsys headless  every default scene, one vkmark per scene.
#                             vkmark exists only in trixie, so it runs in the
#                             trixie root (scripts/trixie-root.sh, built on
#                             first use, entered with scripts/in-root.sh so
#                             no mount outlives a run), and so does the
#                             server: both columns then use trixie's lavapipe.
#   vkcube                    300 frames under Xvfb (MESA_VK_WSI_DEBUG=sw).
#   glxgears on Zink          OpenGL on Vulkan under Xvfb, frame rate.
#   ffmpeg -vf libplacebo     (sid) a 160x90 test pattern upscaled to 480x270
#                             with ewa_lanczos on ffmpeg's Vulkan device,
#                             PLACEBO_FRAMES (30) frames; PLACEBO_RUNS (20) runs
#                             through the server must all finish with native's
#                             frames (framecrc).
#   mpv                       (sid) --vo=gpu-next --gpu-api=vulkan on Xvfb, a
#                             MPV_FRAMES (240) frame 320x240 clip untimed.
#   vkd3d-gears               (sid) Direct3D 12 through vkd3d on Xvfb,
#                             GEARS_SECONDS (6), frame rate from Mesa's
#                             overlay layer.
#   The sid rows run in the sid root (packages added on first use) with the
#   server there too: sid's lavapipe under both columns, sid's Mesa 26 Venus
#   guest; APPS_SID=0 leaves them out. make apps then runs bench/llama.sh.
#
# Each program runs natively, through the server with Mesa's default present
# (the client waits for its queue to go idle before every present), and
# with the fast present (venus_implicit_fencing=true), interleaved per
# scene. The per-frame timeline prints each one's time per frame in
# microseconds, the difference to native, and where the server's share of a
# frame goes: one more run per present mode against a server started with
# --submit-stats (its "submit stats" log line per client: ring pickup, wake
# from idle, decoding, host submit, host completion, host waits; see
# src/renderer/sync/submit_stats.h), divided by the frames of that run.
# Where a frame's time goes on lavapipe (vkmark, glxgears on Zink,
# vkd3d-gears): CPU time sampled from /proc every 0.5 s while each runs
# (cpu_watch), per frame over the timed run less its first second: natively
# the program's (lavapipe in it); through the server the guest program's,
# and its worker process's threads by name, vs-* the server's and the rest
# lavapipe's (bench/out/apps-cpu.csv).
#
# Exits 1 if an application fails through the server, or the server logs an
# error (a client hanging up mid-message, as one ended at the close of its
# timed run does, is a warning and only counted). Figures are printed
# and written to bench/out/apps.csv; they are measurements, not checks.
# Environment: VKMARK_DURATION seconds per scene (default 5), VKMARK_SIZE
# (default 320x240), VKMARK_SCENES (default: vkmark's 13), APPS_STATS=0 skips
# the --submit-stats runs, STATS_DURATION seconds per scene in them (2).
# APPS_GUEST=sid runs the vkmark rows in the sid root instead (the newest
# Mesa: its Venus guest, and its lavapipe under both columns; vkmark is
# added to that root on first use) and leaves out vkcube and glxgears, whose
# guest is this host's Mesa.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: scripts/apps.sh BUILD_DIR}" && pwd)
duration=${VKMARK_DURATION:-5}
size=${VKMARK_SIZE:-320x240}
out=$top/bench/out
mkdir -p "$out"
csv=$out/apps.csv
lvp=/usr/share/vulkan/icd.d/lvp_icd.json
virtio=/usr/share/vulkan/icd.d/virtio_icd.json
failed=0

log() { printf 'apps: %s\n' "$*" >&2; }
fail() { printf 'FAIL apps: %s\n' "$*"; failed=1; }

guest=${APPS_GUEST:-trixie}
case $guest in
  trixie) root=$("$top/scripts/trixie-root.sh") ;;
  sid) root=$("$top/scripts/debian-root.sh" sid --include vkmark) ;;
  *) echo "apps: APPS_GUEST is trixie (default) or sid, not '$guest'" >&2; exit 2 ;;
esac
in_root=("$top/scripts/in-root.sh" "$root")
work=$(mktemp -d "$root/tmp/vs-apps.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  [ -z "${swork:-}" ] || rm -rf "$swork"
}
trap cleanup EXIT

# start_server ROOT_OR_EMPTY SOCKET LOG: venus-server on lavapipe, inside the
# root when one is given (the binary is copied there: trixie's glibc runs it);
# $SERVER_ARGS are added to its command line.
start_server() {
  local r=$1 sock=$2 logf=$3
  if [ -n "$r" ]; then
    [ -x "$work/venus-server" ] || "$top/scripts/into-root.sh" "$r" "$work" "$build/venus-server"
    "$top/scripts/in-root.sh" "$r" env VK_ICD_FILENAMES=$lvp LD_LIBRARY_PATH="${work#"$r"}/lib" \
      "${work#"$r"}/venus-server" --socket "${sock#"$r"}" ${SERVER_ARGS:-} \
      >"$logf.out" 2>"$logf" &
  else
    env VK_ICD_FILENAMES=$lvp "$build/venus-server" --socket "$sock" ${SERVER_ARGS:-} >"$logf.out" 2>"$logf" &
  fi
  pids+=($!)
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "venus-server did not start (see $logf)"
  return 1
}

echo "app,scene,native_fps,venus_fps,fast_fps,native_us,venus_us,fast_us,venus_ratio,fast_ratio" >"$csv"
stats=${APPS_STATS:-1}
stats_duration=${STATS_DURATION:-2}
fast_env=(venus_implicit_fencing=true)
timeline=$work/timeline.txt   # app|scene|mode|fps|frames|submit stats line
: >"$timeline"

# stats_since LOG LINES: the "submit stats" lines LOG got after its first
# LINES lines (one per client that ended), joined by " | ".
stats_since() {
  tail -n +"$(($2 + 1))" "$1" | grep -o 'submit stats: .*' | paste -sd'|' - || true
}
lines() { wc -l <"$1"; }

# --- where a frame's CPU time goes -----------------------------------------------
# cpu_watch OUT PID [LOG LINES]: every 0.5 s while PID runs, a line to OUT:
# "SECONDS GUEST DRIVER SERVER", clock ticks of CPU time (utime + stime) of
# PID's process tree (the program: natively, lavapipe in it) and of the
# threads of the worker processes the server's LOG named after its first
# LINES lines ("client served by worker process N"), by name: the server's
# own (vs-*, the worker's main thread among them) and the host driver's
# (every other: llvmpipe-N, lavapipe's). Sums of the last value seen per
# process or thread, so one that ended still counts; read before the worker
# exits, as the client still runs.
cpu_watch() {
  local o=$1 p=$2 logf=${3:-} from=${4:-0} s c t x i
  local -A guest=() driver=() server=()
  local -a tree f workers
  : >"$o"
  while { read -r s <"/proc/$p/stat"; } 2>/dev/null && [[ ${s##*) } != Z* ]]; do
    tree=("$p") i=0
    while [ $i -lt ${#tree[@]} ]; do
      for t in /proc/"${tree[$i]}"/task/*/children; do
        f=(); { read -r -a f <"$t"; } 2>/dev/null || true  # (no newline at its end)
        tree+=("${f[@]}")
      done
      i=$((i + 1))
    done
    for x in "${tree[@]}"; do
      { read -r s <"/proc/$x/stat"; } 2>/dev/null || continue
      read -r -a f <<<"${s##*) }"
      guest[$x]=$((f[11] + f[12]))
    done
    workers=()
    [ -z "$logf" ] ||
      workers=($(tail -n +"$((from + 1))" "$logf" 2>/dev/null | sed -nE 's/.*client served by worker process ([0-9]+).*/\1/p' || true))
    for x in "${workers[@]}"; do
      for t in /proc/"$x"/task/*; do
        { read -r c <"$t/comm" && read -r s <"$t/stat"; } 2>/dev/null || continue
        read -r -a f <<<"${s##*) }"
        if [[ $c == vs-* ]]; then server[${t##*/}]=$((f[11] + f[12])); else driver[${t##*/}]=$((f[11] + f[12])); fi
      done
    done
    s=0; for x in "${guest[@]}"; do s=$((s + x)); done; c=0; for x in "${driver[@]}"; do c=$((c + x)); done
    t=0; for x in "${server[@]}"; do t=$((t + x)); done
    echo "$EPOCHREALTIME $s $c $t" >>"$o"
    sleep 0.5
  done
}
# watched CMD...: runs CMD; with $cpu set, cpu_watch samples it into $cpu,
# with the workers $cpu_log (a server's log) names from now on. CMD's status.
watched() {
  [ -n "${cpu:-}" ] || { "$@"; return; }
  local from=0 p w rc=0
  [ -z "${cpu_log:-}" ] || from=$(lines "$cpu_log")
  "$@" &
  p=$!
  cpu_watch "$cpu" "$p" "${cpu_log:-}" "$from" &
  w=$!
  wait "$p" || rc=$?
  wait "$w" || true
  return $rc
}
# cpu_rates SAMPLES SECONDS: the CPUs that guest, driver and server kept busy
# (CPU seconds per second) over the last SECONDS - 1 s of the samples (the
# timed part of a run that took SECONDS, less its first second and setup),
# and the seconds that covers: "GUEST DRIVER SERVER SECONDS".
cpu_rates() {
  awk -v tck="$(getconf CLK_TCK)" -v span="$2" '
    { t[NR] = $1; g[NR] = $2; d[NR] = $3; s[NR] = $4 }
    END {
      if (NR < 2) { print "- - - -"; exit }
      a = 1; while (a < NR - 1 && t[NR] - t[a] > span - 1) a++
      dt = (t[NR] - t[a]) * tck
      if (dt <= 0) { print "- - - -"; exit }
      printf "%.3f %.3f %.3f %.2f\n", (g[NR] - g[a]) / dt, (d[NR] - d[a]) / dt, (s[NR] - s[a]) / dt, dt / tck
    }' "$1" 2>/dev/null || echo "- - - -"
}
cpus=$work/cpus.txt   # app|scene|mode|guest driver server seconds (cpu_rates)
: >"$cpus"

# --- vkmark ------------------------------------------------------------------
scenes=(${VKMARK_SCENES:-vertex:device-local=true vertex:device-local=false texture:anisotropy=0
  texture:anisotropy=16 shading:shading=gouraud shading:shading=blinn-phong-inf shading:shading=phong
  shading:shading=cel effect2d:kernel=edge effect2d:kernel=blur desktop cube clear})
vkmark_fps() { # SCENE SECONDS OUT ENV...: the scene's FPS (or "fails"); vkmark's output in OUT
  local scene=$1 secs=$2 o=$3; shift 3
  watched "${in_root[@]}" env "$@" timeout -k 5 $((secs * 3 + 60)) \
    vkmark --winsys headless -s "$size" -b "$scene:duration=$secs" >"$o" 2>&1 || { echo fails; return; }
  sed -nE 's/^\[[a-z0-9]+\] .*: FPS: ([0-9]+).*/\1/p' "$o" | head -1 | grep . || echo fails
}
start_server "$root" "$work/venus.sock" "$work/server.log"
[ "$stats" = 1 ] && SERVER_ARGS=--submit-stats start_server "$root" "$work/stats.sock" "$work/stats.log"
venus_root_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="${work#"$root"}/venus.sock" VK_ICD_FILENAMES=$virtio)
stats_root_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="${work#"$root"}/stats.sock" VK_ICD_FILENAMES=$virtio)
log "vkmark: ${#scenes[@]} scenes, $duration s each, natively and through venus-server in both present modes"
for scene in "${scenes[@]}"; do
  n=$(cpu=$work/cpu-native vkmark_fps "$scene" "$duration" "$work/vkmark.txt" VK_ICD_FILENAMES=$lvp)
  # vkmark's own name of the scene, without the duration option
  name=$(grep -oE '^\[[a-z0-9]+\] [^:]*' "$work/vkmark.txt" | head -1 | sed -E 's/:?duration=[0-9]+//; s/ $//' || true)
  name=${name:-$scene}
  v=$(cpu=$work/cpu-venus cpu_log=$work/server.log vkmark_fps "$scene" "$duration" "$work/vkmark.txt" "${venus_root_env[@]}")
  [ "$v" = fails ] && fail "vkmark $scene through venus-server (default present): $(tail -1 "$work/vkmark.txt")"
  f=$(cpu=$work/cpu-fast cpu_log=$work/server.log vkmark_fps "$scene" "$duration" "$work/vkmark.txt" \
    "${venus_root_env[@]}" "${fast_env[@]}")
  [ "$f" = fails ] && fail "vkmark $scene through venus-server (fast present): $(tail -1 "$work/vkmark.txt")"
  echo "vkmark|$name|native|$n|$((duration))|" >>"$timeline"
  echo "vkmark|$name|venus|$v|$((duration))|" >>"$timeline"
  echo "vkmark|$name|fast|$f|$((duration))|" >>"$timeline"
  for mode in native venus fast; do echo "vkmark|$name|$mode|$(cpu_rates "$work/cpu-$mode" "$duration")" >>"$cpus"; done
  if [ "$stats" = 1 ]; then
    for mode in venus fast; do
      extra=(); [ $mode = fast ] && extra=("${fast_env[@]}")
      before=$(lines "$work/stats.log")
      fps=$(vkmark_fps "$scene" "$stats_duration" "$work/vkmark.txt" "${stats_root_env[@]}" "${extra[@]}")
      sleep 0.2 # the context's line comes as the client goes
      echo "vkmark|$name|$mode-stats|$fps|$stats_duration|$(stats_since "$work/stats.log" "$before")" >>"$timeline"
    done
  fi
  log "  $name: native $n, venus $v, fast $f FPS"
done

# --- vkcube and Zink under Xvfb --------------------------------------------------
if [ "$guest" = trixie ]; then
display=""
for n in $(seq 90 120); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
  Xvfb ":$n" -screen 0 640x480x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && display=":$n" && break; sleep 0.1; done
  break
done
[ -n "$display" ] || { fail "Xvfb did not start"; exit 1; }
export DISPLAY=$display
start_server "" "$work/host.sock" "$work/host-server.log"
[ "$stats" = 1 ] && SERVER_ARGS=--submit-stats start_server "" "$work/host-stats.sock" "$work/host-stats.log"
venus_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$work/host.sock" VK_ICD_FILENAMES=$virtio)
stats_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$work/host-stats.sock" VK_ICD_FILENAMES=$virtio)

cube_fps() { # ENV...: frames per second of 300 vkcube frames, or "fails"
  local t0 t1
  t0=$(date +%s%N)
  env "$@" MESA_VK_WSI_DEBUG=sw timeout -k 5 60 vkcube --c 300 >/dev/null 2>&1 || { echo fails; return; }
  t1=$(date +%s%N)
  echo $((300 * 1000000000 / (t1 - t0)))
}
gears_fps() { # ENV...: glxgears' last 5-second frame rate on Zink (of two at most), or "fails"
  watched env "$@" LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink timeout 12 glxgears >"$work/gears.txt" 2>&1 || true
  sed -nE 's/.*= ([0-9]+)\.[0-9]+ FPS/\1/p' "$work/gears.txt" | sed -n 1,2p | tail -1 | grep . || echo fails
}
# gears_frames: every frame glxgears counted in its reports (for the stats runs)
gears_frames() { awk '/ frames in /{n+=$1} END{print n+0}' "$work/gears.txt"; }
for app in vkcube glxgears-zink; do
  log "$app: natively and through venus-server in both present modes"
  run=cube_fps; [ $app = glxgears-zink ] && run=gears_fps
  # glxgears' CPU time per frame too (cpu_watch): natively, and its worker's
  rm -f "$work"/cpu-*; [ $app = glxgears-zink ] && w=$work/cpu- || w=
  n=$(cpu=${w:+${w}native} $run VK_ICD_FILENAMES=$lvp)
  v=$(cpu=${w:+${w}venus} cpu_log=$work/host-server.log $run "${venus_env[@]}")
  f=$(cpu=${w:+${w}fast} cpu_log=$work/host-server.log $run "${venus_env[@]}" "${fast_env[@]}")
  [ -z "$w" ] || for mode in native venus fast; do echo "$app|frames|$mode|$(cpu_rates "$w$mode" 12)" >>"$cpus"; done
  [ "$v" = fails ] && fail "$app through venus-server (default present)"
  [ "$f" = fails ] && fail "$app through venus-server (fast present)"
  for mode in native:$n venus:$v fast:$f; do echo "$app|frames|${mode%%:*}|${mode#*:}|0|" >>"$timeline"; done
  if [ "$stats" = 1 ]; then
    for mode in venus fast; do
      extra=(); [ $mode = fast ] && extra=("${fast_env[@]}")
      before=$(lines "$work/host-stats.log")
      fps=$($run "${stats_env[@]}" "${extra[@]}")
      frames=300; [ $app = glxgears-zink ] && frames=$(gears_frames || echo 0)
      sleep 0.2
      echo "$app|frames|$mode-stats|$fps|=$frames|$(stats_since "$work/host-stats.log" "$before")" >>"$timeline"
    done
  fi
done
fi

# --- sid's programs: ffmpeg's libplacebo filter, mpv, vkd3d ------------------------
# In the sid root, with the server there too (sid's lavapipe under both
# columns, sid's Mesa 26 Venus guest), each natively and through the server.
if [ "${APPS_SID:-1}" = 1 ]; then
sid=$("$top/scripts/debian-root.sh" sid --include ffmpeg,mpv,vkd3d-demos,xvfb,xauth,mesa-vulkan-drivers)
swork=$(mktemp -d "$sid/tmp/vs-apps.XXXXXX")
sin=${swork#"$sid"}
"$top/scripts/into-root.sh" "$sid" "$swork" "$build/venus-server"
"$top/scripts/in-root.sh" "$sid" env VK_ICD_FILENAMES=$lvp LD_LIBRARY_PATH="$sin/lib" "$sin/venus-server" \
  --socket "$sin/venus.sock" ${SERVER_ARGS:-} >"$swork/server.log.out" 2>"$swork/server.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$swork/venus.sock" ] && break; sleep 0.1; done
[ -S "$swork/venus.sock" ] || fail "venus-server did not start in the sid root (see $swork/server.log)"
# Xvfb picks a free display itself (-displayfd): its abstract socket is
# shared with the host's X servers, which the root's /tmp does not show.
"$top/scripts/in-root.sh" "$sid" Xvfb -displayfd 1 -screen 0 640x480x24 -nolisten tcp >"$swork/display" 2>"$swork/xvfb.log" &
pids+=($!)
sid_display=""
for _ in $(seq 100); do
  n=$(head -n1 "$swork/display" 2>/dev/null)
  [ -n "$n" ] && sid_display=":$n" && break
  sleep 0.1
done
[ -n "$sid_display" ] || fail "Xvfb did not start in the sid root"
sid_native=(VK_ICD_FILENAMES=$lvp)
sid_venus=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$sin/venus.sock" VK_ICD_FILENAMES=$virtio)
in_sid() { "$top/scripts/in-root.sh" "$sid" timeout -k 5 "${LIMIT:-120}" env DISPLAY="$sid_display" MESA_VK_WSI_DEBUG=sw "$@"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# ffmpeg: a 160x90 test pattern upscaled to 480x270 with ewa_lanczos by
# libplacebo on a Vulkan device of ffmpeg's own (libplacebo alone skips
# software devices), PLACEBO_FRAMES frames; PLACEBO_RUNS runs through the
# server, each of which must finish (SYNC_WAIT waiters).
pframes=${PLACEBO_FRAMES:-30}
placebo() { # OUT ENV...: frames per second of one run, or "fails"
  local o=$1 t0 t1; shift
  t0=$(ms)
  in_sid "$@" ffmpeg -hide_banner -nostdin -nostats -loglevel error -init_hw_device vulkan=vk:0 -filter_hw_device vk \
    -f lavfi -i "testsrc2=size=160x90:rate=30" -frames:v "$pframes" \
    -vf "format=yuv420p,hwupload,libplacebo=w=480:h=270:upscaler=ewa_lanczos:format=yuv420p,hwdownload,format=yuv420p" \
    -f framecrc "${swork#"$sid"}/$o.crc" >"$swork/$o.txt" 2>&1 || { echo fails; return; }
  t1=$(ms)
  [ "$(grep -c '^0,' "$swork/$o.crc" 2>/dev/null)" = "$pframes" ] || { echo fails; return; }
  echo $((pframes * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}
log "ffmpeg -vf libplacebo (ewa_lanczos): natively, then ${PLACEBO_RUNS:-20} runs through venus-server"
n=$(placebo placebo-native "${sid_native[@]}")
[ "$n" = fails ] && fail "ffmpeg libplacebo natively: $(tail -n1 "$swork/placebo-native.txt")"
ok=0 runs=${PLACEBO_RUNS:-20} v=fails
for i in $(seq "$runs"); do
  r=$(placebo "placebo-venus-$i" "${sid_venus[@]}")
  if [ "$r" = fails ]; then
    fail "ffmpeg libplacebo through venus-server, run $i of $runs: $(tail -n1 "$swork/placebo-venus-$i.txt")"
  else
    ok=$((ok + 1)); v=$r
    # The same frames as natively (the filter is deterministic on one driver).
    cmp -s "$swork/placebo-native.crc" "$swork/placebo-venus-$i.crc" ||
      fail "ffmpeg libplacebo through venus-server, run $i: frames differ from native's"
  fi
done
log "  libplacebo: $ok of $runs runs through the server finished; native $n, venus $v fps"
echo "ffmpeg-libplacebo|frames|native|$n|=$pframes|" >>"$timeline"
echo "ffmpeg-libplacebo|frames|venus|$v|=$pframes|" >>"$timeline"

# mpv: Vulkan output (gpu-next, X11 on Xvfb), a clip of MPV_FRAMES 320x240
# frames played untimed; frames per second of the whole run.
mframes=${MPV_FRAMES:-240}
in_sid ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v "$mframes" \
  -c:v ffv1 "$sin/clip.mkv" >"$swork/clip.txt" 2>&1 || fail "ffmpeg could not write mpv's clip"
mpv_fps() { # OUT ENV...
  local o=$1 t0 t1 dev; shift
  # libplacebo skips software devices unless mpv names one.
  dev=$(in_sid "$@" DISPLAY= vulkaninfo --summary 2>/dev/null | sed -nE 's/^\s*deviceName\s*=\s*//p' | head -n1)
  t0=$(ms)
  in_sid "$@" mpv --no-config --really-quiet --vo=gpu-next --gpu-api=vulkan --gpu-context=x11vk --vulkan-device="$dev" \
    --untimed --no-audio "$sin/clip.mkv" >"$swork/$o.txt" 2>&1 || { echo fails; return; }
  t1=$(ms)
  echo $((mframes * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}
log "mpv --vo=gpu-next --gpu-api=vulkan: natively and through venus-server"
n=$(mpv_fps mpv-native "${sid_native[@]}")
v=$(mpv_fps mpv-venus "${sid_venus[@]}")
[ "$n" = fails ] && fail "mpv natively: $(tail -n1 "$swork/mpv-native.txt")"
[ "$v" = fails ] && fail "mpv through venus-server: $(tail -n1 "$swork/mpv-venus.txt")"
echo "mpv-gpu-next|frames|native|$n|=$mframes|" >>"$timeline"
echo "mpv-gpu-next|frames|venus|$v|=$mframes|" >>"$timeline"

# vkd3d-gears: Direct3D 12 on Vulkan (vkd3d), GEARS_SECONDS on Xvfb; its
# frame rate from Mesa's overlay layer (no display, one line a second),
# the mean after the first second. Natively it presents through lavapipe's
# own X11 path (it fails to start on the software one); Mesa's Venus guest
# needs the software one on Xvfb (no DRI3).
gears_fps() { # OUT ENV...
  local o=$1; shift
  rm -f "$swork/$o.csv"
  watched in_sid "$@" VK_INSTANCE_LAYERS=VK_LAYER_MESA_overlay \
    VK_LAYER_MESA_OVERLAY_CONFIG="no_display,fps,output_file=$sin/$o.csv,fps_sampling_period=1000" \
    timeout -s INT "${GEARS_SECONDS:-6}" vkd3d-gears >"$swork/$o.txt" 2>&1
  awk -F', *' 'NR > 2 && $3 + 0 > 0 { s += $3; n++ } END { if (n) printf "%d\n", s / n; else print "fails" }' \
    "$swork/$o.csv" 2>/dev/null || echo fails
}
log "vkd3d-gears (Direct3D 12): natively and through venus-server"
n=$(cpu=$swork/cpu-native gears_fps gears-native "${sid_native[@]}" MESA_VK_WSI_DEBUG=)
v=$(cpu=$swork/cpu-venus cpu_log=$swork/server.log gears_fps gears-venus "${sid_venus[@]}")
[ "$n" = fails ] && fail "vkd3d-gears natively: $(grep -v fixme "$swork/gears-native.txt" | tail -n1)"
[ "$v" = fails ] && fail "vkd3d-gears through venus-server: $(grep -v fixme "$swork/gears-venus.txt" | tail -n1)"
echo "vkd3d-gears|frames|native|$n|0|" >>"$timeline"
echo "vkd3d-gears|frames|venus|$v|0|" >>"$timeline"
for mode in native venus; do echo "vkd3d-gears|frames|$mode|$(cpu_rates "$swork/cpu-$mode" "${GEARS_SECONDS:-6}")" >>"$cpus"; done
fi

# --- the per-frame timeline -----------------------------------------------------
mesa=$("${in_root[@]}" dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || echo unknown)
python3 - "$timeline" "$csv" "$size" "$duration" "$guest root, Mesa $mesa" "$cpus" "$out/apps-cpu.csv" <<'PY'
import re, sys
timeline, csv_path, size, duration, where, cpus_path, cpu_csv_path = sys.argv[1:8]
rows = {}   # (app, scene) -> {mode: (fps, frames, stats)}
order = []
STAGES = ("pickup", "wake", "dispatch", "submit", "complete", "wait")
for line in open(timeline):
    app, scene, mode, fps, secs, stats = line.rstrip("\n").split("|", 5)
    key = (app, scene)
    if key not in rows:
        rows[key] = {}
        order.append(key)
    fps = int(fps) if fps.isdigit() else None
    # frames: "=N" when counted, else FPS x seconds (vkmark)
    frames = int(secs[1:]) if secs.startswith("=") else (fps * int(secs) if fps else None)
    totals = {s: [0, 0.0] for s in STAGES}   # count, total us over every client of the run
    for part in filter(None, stats.split("|")):
        for st, count, total in re.findall(r"(\w+) (\d+) x [0-9.]+ us \(total ([0-9.]+) us", part):
            if st in totals:
                totals[st][0] += int(count)
                totals[st][1] += float(total)
    rows[key][mode] = (fps, frames, totals if stats else None)

def us(fps):
    return 1e6 / fps if fps else None
def fmt(x, spec="%.0f"):
    return spec % x if x is not None else "-"

print("\nPer-frame timeline at %s, vkmark in the %s (us per frame; diff = through the server - native;\n"
      "venus: Mesa's default present, fast: venus_implicit_fencing=true)" % (size, where))
print("%-36s %8s %8s %8s %6s %8s %8s %6s" % ("app / scene", "native", "venus", "diff", "ratio", "fast", "diff", "ratio"))
sums = {"native": [], "venus": [], "fast": []}
with open(csv_path, "a") as csv:
    for key in order:
        m = rows[key]
        f = {k: (m.get(k) or (None,))[0] for k in ("native", "venus", "fast")}
        t = {k: us(v) for k, v in f.items()}
        def diff(k):
            return t[k] - t["native"] if t[k] is not None and t["native"] is not None else None
        def ratio(k):
            return "%.2f" % (f[k] / f["native"]) if f[k] and f["native"] else "-"
        label = key[1] if key[0] == "vkmark" else key[0]
        print("%-36s %8s %8s %8s %6s %8s %8s %6s" % (label[:36], fmt(t["native"]), fmt(t["venus"]), fmt(diff("venus"), "%+.0f"),
              ratio("venus"), fmt(t["fast"]), fmt(diff("fast"), "%+.0f"), ratio("fast")))
        csv.write('%s,"%s",%s,%s,%s,%s,%s,%s,%s,%s\n' % (key[0], key[1], f["native"] or "", f["venus"] or "", f["fast"] or "",
                  fmt(t["native"], "%.1f"), fmt(t["venus"], "%.1f"), fmt(t["fast"], "%.1f"), ratio("venus"), ratio("fast")))
        if key[0] == "vkmark":
            for k in sums:
                sums[k].append(f[k])
if sums["native"]:
    def score(k):  # vkmark's score: the mean of the scenes' FPS
        v = sums[k]
        return sum(v) / len(v) if all(v) else None
    n, v, fa = score("native"), score("venus"), score("fast")
    print("%-36s %8s %8s %8s %6s %8s %8s %6s" % ("vkmark score (mean FPS)", fmt(n), fmt(v), "", "%.2f" % (v / n) if n and v else "-",
          fmt(fa), "", "%.2f" % (fa / n) if n and fa else "-"))
    with open(csv_path, "a") as csv:
        csv.write('vkmark,score,%s,%s,%s,,,,,\n' % (fmt(n), fmt(v), fmt(fa)))

if any(m.get("venus-stats") or m.get("fast-stats") for m in rows.values()):
    print("\nWhere the server's share of a frame goes (us per frame, from --submit-stats runs:\n"
          "pickup = ring polling gaps before work was seen, wake = notify->pickup after an idle sleep,\n"
          "decode = dispatch minus host submit and waits, submit = host vkQueueSubmit, complete = host\n"
          "submit return -> host queue done (the guest's fence feedback lands then), wait = host fence waits;\n"
          "sub/f = submissions per frame; fps of the stats run itself, slowed by one extra fence per submit)")
    print("%-36s %-5s %6s %5s %7s %7s %7s %7s %8s %6s" % ("app / scene", "mode", "fps", "sub/f", "pickup", "wake", "decode",
          "submit", "complete", "wait"))
    for key in order:
        for mode in ("venus-stats", "fast-stats"):
            r = rows[key].get(mode)
            if not r or not r[2] or not r[1]:
                continue
            fps, frames, tot = r
            per = lambda st: tot[st][1] / frames
            decode = per("dispatch") - per("submit") - per("wait")
            label = key[1] if key[0] == "vkmark" else key[0]
            print("%-36s %-5s %6s %5.1f %7.1f %7.1f %7.1f %7.1f %8.1f %6.1f" % (label[:36], mode[:-6], fps or "-",
                  tot["submit"][0] / frames, per("pickup"), per("wake"), decode, per("submit"), per("complete"), per("wait")))

cpu = {}   # (app, scene, mode) -> CPUs busy: guest, driver, server; seconds sampled
for line in open(cpus_path):
    app, scene, mode, vals = line.rstrip("\n").split("|", 3)
    try:
        cpu[(app, scene, mode)] = [float(v) for v in vals.split()]
    except ValueError:
        pass
if cpu:
    print("\nWhere a frame's time goes on lavapipe (us per frame; CPU time over the timed run less its first second,\n"
          "sampled every 0.5 s. native: the program, lavapipe in it; through the server: guest = the program with\n"
          "Mesa's Venus driver, lavapipe = the worker's threads not named vs-* (llvmpipe-N ...), server = its vs-*\n"
          "threads, which also run the part of lavapipe called on them (vkQueueSubmit's commands); +cpu = cpu -\n"
          "native's, CPUs = cpu / wall: the CPUs kept busy, of the host's %s)" % (__import__("os").cpu_count() or "?"))
    print("%-36s %-6s %6s %7s %7s %7s %8s %7s %7s %7s %5s" % ("app / scene", "mode", "frames", "wall", "+wall", "guest",
          "lavapipe", "server", "cpu", "+cpu", "CPUs"))
    with open(cpu_csv_path, "w") as out:
        out.write("app,scene,mode,fps,frames,wall_us,guest_us,lavapipe_us,server_us,cpu_us\n")
        for key in order:
            base = None
            for mode in ("native", "venus", "fast"):
                c = cpu.get(key + (mode,))
                fps = (rows[key].get(mode) or (None,))[0]
                if not c or not fps:
                    continue
                g, d, sv = (x * 1e6 / fps for x in c[:3])
                secs = c[3]
                wall, total = 1e6 / fps, g + d + sv
                if mode == "native":
                    base = (wall, total)
                label = key[1] if key[0] == "vkmark" else key[0]
                nat = mode == "native"
                print("%-36s %-6s %6.0f %7.0f %7s %7.0f %8s %7s %7.0f %7s %5.2f" % (label[:36], mode, fps * secs, wall,
                      "" if nat or not base else "%+.0f" % (wall - base[0]), g, "-" if nat else "%.0f" % d,
                      "-" if nat else "%.0f" % sv, total, "" if nat or not base else "%+.0f" % (total - base[1]), total / wall))
                out.write('%s,"%s",%s,%d,%.0f,%.1f,%.1f,%s,%s,%.1f\n' % (key[0], key[1], mode, fps, fps * secs, wall, g,
                          "" if nat else "%.1f" % d, "" if nat else "%.1f" % sv, total))
PY

printf '\nCSV: %s, %s\n' "$csv" "$out/apps-cpu.csv"
# Errors only: a client that hangs up mid-message (one ended at the close of
# its timed run) is logged as a warning, and counted here.
for l in "$work/server.log" "$work/host-server.log" "$work/stats.log" "$work/host-stats.log" "${swork:-/nonexistent}/server.log"; do
  [ -f "$l" ] || continue
  if grep -qE '^(worker process [0-9]+: )?venus-server: error: ' "$l"; then
    fail "the server logged errors ($l):"
    grep -hE '^(worker process [0-9]+: )?venus-server: error: ' "$l" | head -5
  fi
  w=$(grep -cE '^(worker process [0-9]+: )?venus-server: warn: .*disconnected (after|mid)' "$l" || true)
  [ "$w" = 0 ] || log "$(basename "$l"): $w client(s) hung up mid-message (warnings, not errors)"
done
exit $failed

#!/usr/bin/env bash
# Real applications through venus-server, each next to the same program on
# the same host driver natively, with their figures:
#
#   scripts/apps.sh BUILD_DIR          (make apps)
#
#   vkmark --winsys headless  every default scene, per-scene FPS and score.
#                             vkmark exists only in trixie, so it runs in the
#                             trixie root (scripts/trixie-root.sh, built on
#                             first use, entered with scripts/in-root.sh so
#                             no mount outlives a run), and so does the
#                             server: both columns then use trixie's lavapipe.
#   vkcube                    300 frames under Xvfb (MESA_VK_WSI_DEBUG=sw).
#   glxgears on Zink          OpenGL on Vulkan under Xvfb, frame rate.
#
# Exits 1 if an application fails through the server. Figures are printed
# and written to bench/out/apps.csv; they are measurements, not checks.
# Environment: VKMARK_DURATION seconds per scene (default 5), VKMARK_SIZE
# (default 320x240).
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

root=$("$top/scripts/trixie-root.sh")
in_root=("$top/scripts/in-root.sh" "$root")
work=$(mktemp -d "$root/tmp/vs-apps.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_server ROOT_OR_EMPTY SOCKET LOG: venus-server on lavapipe, inside the
# root when one is given (the binary is copied there: trixie's glibc runs it).
start_server() {
  local r=$1 sock=$2 logf=$3
  if [ -n "$r" ]; then
    "$top/scripts/into-root.sh" "$r" "$work" "$build/venus-server"
    "$top/scripts/in-root.sh" "$r" env VK_ICD_FILENAMES=$lvp LD_LIBRARY_PATH="${work#"$r"}/lib" \
      "${work#"$r"}/venus-server" --socket "${sock#"$r"}" \
      >"$logf.out" 2>"$logf" &
  else
    env VK_ICD_FILENAMES=$lvp "$build/venus-server" --socket "$sock" >"$logf.out" 2>"$logf" &
  fi
  pids+=($!)
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "venus-server did not start (see $logf)"
  return 1
}

echo "app,scene,native,venus,ratio" >"$csv"

# --- vkmark ------------------------------------------------------------------
vkmark_run() { # NAME ENV...: run vkmark in the root, output to $work/NAME.txt
  local name=$1; shift
  "${in_root[@]}" env "$@" timeout -k 5 $((duration * 14 + 60)) \
    vkmark --winsys headless -s "$size" -b ":duration=$duration" >"$work/$name.txt" 2>&1
}
log "vkmark: native lavapipe (trixie), $duration s per scene"
vkmark_run native VK_ICD_FILENAMES=$lvp || fail "vkmark natively: exit $?"
start_server "$root" "$work/venus.sock" "$work/server.log"
log "vkmark: through venus-server (on the same lavapipe)"
vkmark_run venus VN_DEBUG=vtest VTEST_SOCKET_NAME="${work#"$root"}/venus.sock" VK_ICD_FILENAMES=$virtio \
  || fail "vkmark through venus-server: exit $? (see $work/venus.txt)"

printf '\nvkmark --winsys headless -s %s, %s s per scene (FPS)\n' "$size" "$duration"
printf '%-34s %9s %9s %7s\n' scene native venus ratio
python3 - "$work/native.txt" "$work/venus.txt" "$csv" <<'PY'
import re, sys
def scenes(path):
    rows, score = [], None
    for line in open(path, errors="replace"):
        m = re.search(r"^(\[\w+\] \S.*?): FPS: (\d+)", line)
        if m:
            rows.append((m.group(1), int(m.group(2))))
        m = re.search(r"vkmark Score: (\d+)", line)
        if m:
            score = int(m.group(1))
    return rows, score
native, nscore = scenes(sys.argv[1])
venus, vscore = scenes(sys.argv[2])
vmap = dict(venus)
with open(sys.argv[3], "a") as csv:
    for name, fps in native + [("score", nscore)]:
        v = vmap.get(name) if name != "score" else vscore
        ratio = "%.2f" % (v / fps) if v and fps else "-"
        print("%-34s %9s %9s %7s" % (name, fps if fps is not None else "-", v if v is not None else "fails", ratio))
        csv.write('vkmark,"%s",%s,%s,%s\n' % (name, fps or "", v or "", ratio))
PY

# --- vkcube and Zink under Xvfb --------------------------------------------------
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
venus_env=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$work/host.sock" VK_ICD_FILENAMES=$virtio)

cube_fps() { # ENV...: frames per second of 300 vkcube frames, or "fails"
  local t0 t1
  t0=$(date +%s%N)
  env "$@" MESA_VK_WSI_DEBUG=sw timeout -k 5 60 vkcube --c 300 >/dev/null 2>&1 || { echo fails; return; }
  t1=$(date +%s%N)
  echo $((300 * 1000000000 / (t1 - t0)))
}
gears_fps() { # ENV...: glxgears' second 5-second frame rate on Zink, or "fails"
  env "$@" LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink timeout 11 glxgears >"$work/gears.txt" 2>&1 || true
  sed -nE 's/.*= ([0-9]+)\.[0-9]+ FPS/\1/p' "$work/gears.txt" | sed -n 2p | grep . || echo fails
}
printf '\n%-34s %9s %9s %7s\n' "application (FPS)" native venus ratio
for app in vkcube glxgears-zink; do
  case $app in
    vkcube) n=$(cube_fps VK_ICD_FILENAMES=$lvp); v=$(cube_fps "${venus_env[@]}") ;;
    glxgears-zink) n=$(gears_fps VK_ICD_FILENAMES=$lvp); v=$(gears_fps "${venus_env[@]}") ;;
  esac
  ratio=-
  [[ $n =~ ^[0-9]+$ && $v =~ ^[0-9]+$ && $n -gt 0 ]] && ratio=$(awk -v a="$v" -v b="$n" 'BEGIN{printf "%.2f", a/b}')
  printf '%-34s %9s %9s %7s\n' "$app" "$n" "$v" "$ratio"
  echo "$app,frames,$n,$v,$ratio" >>"$csv"
  [ "$v" = fails ] && fail "$app through venus-server"
done

printf '\nCSV: %s\n' "$csv"
if grep -q 'error:' "$work/server.log" "$work/host-server.log"; then
  fail "the server logged errors:"
  grep -h 'error:' "$work/server.log" "$work/host-server.log" | head -5
fi
exit $failed

# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "guest26" of scripts/gpu-check.sh (sourced after the set-up; SKIP
# without BUNDLE/guest26):
#   guest26-*        the newest Mesa's Venus guest (BUNDLE/guest26, Mesa 26 from
#                    sid, run by sid's ld-linux): vulkaninfo (apiVersion 1.4,
#                    the 1.4 features it sees, into guest26-vulkaninfo.txt) and
#                    tests/vk14 (Vulkan 1.4 commands: push descriptors, line
#                    stipple, uint8 indices, attachment locations, host image
#                    copy) through the server: same bytes as native; then
#                    render_bench at 2 and 3 frames in flight against
#                    native, and vkmark's 13 scenes at 320x240 natively (where
#                    the driver has VK_EXT_headless_surface) and through the
#                    server with Mesa 25's and Mesa 26's guests, default and
#                    fast present, as a table (with BUNDLE/vkmark); then
#                    vulkaninfo and vk14 through sid's stock front end
#                    (virgl_test_server) with venus-server as its render server

# --- the newest Mesa guest (Vulkan 1.4) -------------------------------------------
if [ $have_g26 = 1 ]; then
  run_server --log-level info
  rc=0; guest26 "$g26/bin/vulkaninfo" >"$logs/guest26-vulkaninfo.txt" 2>&1 || rc=$?
  api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$logs/guest26-vulkaninfo.txt" | head -n1)
  name=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*= *//p' "$logs/guest26-vulkaninfo.txt" | head -n1)
  features=$(grep -E '^\s+(hostImageCopy|pushDescriptor|maintenance5|maintenance6|indexTypeUint8|dynamicRenderingLocalRead|stippledBresenhamLines|bresenhamLines|smoothLines|rectangularLines)\s+= true' \
    "$logs/guest26-vulkaninfo.txt" | awk '{print $1}' | sort -u | tr '\n' ' ')
  verdict=FAIL; [ "$rc" = 0 ] && [[ $api == 1.4.* ]] && verdict=PASS
  result guest26-vulkaninfo $verdict "exit $rc, ${name:-no device}, apiVersion ${api:-none}; 1.4 features: ${features:-none}"
  mkdir -p "$logs/vk14-native" "$logs/vk14-venus"
  rc_n=0; native "$build/tests/vk14" --out-dir "$logs/vk14-native" >"$logs/vk14-native.out" 2>&1 || rc_n=$?
  rc=0; guest26 "$build/tests/vk14" --out-dir "$logs/vk14-venus" >"$logs/vk14-venus.out" 2>&1 || rc=$?
  # vk14_same DIR: how many of vk14's 2 outputs in DIR equal native's.
  vk14_same() {
    local f n=0
    for f in vk14.pam hostcopy.bin; do cmp -s "$logs/vk14-native/$f" "$1/$f" && n=$((n + 1)); done
    echo "$n"
  }
  same=$(vk14_same "$logs/vk14-venus")
  verdict=FAIL; [ "$rc" = 0 ] && [ "$rc_n" = 0 ] && [ "$same" = 2 ] && verdict=PASS
  # The host-visible types the server cannot share (NVIDIA's BAR type 4)
  # reach the guest without host access: its HOST_TRANSFER image lives there.
  hidden=$(grep -o 'memory types 0x[0-9a-f]* cannot be shared with the guest[^:]*' "$server_log" | head -n1)
  result guest26-vk14 $verdict "native exit $rc_n, through the server exit $rc ($(tail -n1 "$logs/vk14-venus.out")); $same of 2 outputs identical to native; server: ${hidden:-no memory type hidden}"
  # Frame rate with Mesa 26's guest driver beside Mesa 25's (the frames rows).
  for fif in 2 3; do
    native "$build/bench/render_bench" --seconds 2 --frames-in-flight $fif 320x240 >"$logs/guest26-rb-native-$fif.txt" 2>&1
    guest26 "$build/bench/render_bench" --seconds 2 --frames-in-flight $fif 320x240 >"$logs/guest26-rb-venus-$fif.txt" 2>&1
    n=$(awk '$1 == "render" {print $4}' "$logs/guest26-rb-native-$fif.txt") v=$(awk '$1 == "render" {print $4}' "$logs/guest26-rb-venus-$fif.txt")
    echo "   Mesa 26 guest, render_bench 320x240, $fif frames in flight: native ${n:--} venus ${v:--} FPS, ratio $(awk -v a="${v:-0}" -v b="${n:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
  done
  # vkmark's 13 scenes at 320x240: natively, and through the server with
  # Mesa 25's guest and with Mesa 26's, each in both present modes
  # (trixie's vkmark; Mesa 26's guest runs it on sid's ld-linux and libraries).
  if [ -x "$bundle/vkmark/vkmark" ]; then
    vdur=${FRAMES_DURATION:-2}
    vkm() { # LOG LD_LINUX LIBRARY_PATH ENV...
      local log=$1 ld=$2 libs=$3; shift 3
      timeout -k 5 $((vdur * 13 * 3 + 60)) env "$@" "$ld" --library-path "$libs" "$bundle/vkmark/vkmark" --winsys headless \
        --winsys-dir "$bundle/vkmark/plugins" --data-dir "$bundle/vkmark/share" -s 320x240 -b ":duration=$vdur" >"$log" 2>&1
    }
    v25=("$bundle/vkmark/ld-linux-x86-64.so.2" "$bundle/vkmark/lib:$lib:/usr/lib/x86_64-linux-gnu")
    v26=("$g26/lib/ld-linux-x86-64.so.2" "$g26/lib:$bundle/vkmark/lib")
    m25=(VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD")
    m26=(-u LD_LIBRARY_PATH VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$prefix/virtio26_icd.json"
      VK_ICD_FILENAMES="$prefix/virtio26_icd.json")
    vkm "$logs/guest26-vkmark-native.txt" "${v25[@]}" VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD"
    vkm "$logs/guest26-vkmark-m25-default.txt" "${v25[@]}" "${m25[@]}"
    vkm "$logs/guest26-vkmark-m25-fast.txt" "${v25[@]}" "${m25[@]}" venus_implicit_fencing=true
    vkm "$logs/guest26-vkmark-m26-default.txt" "${v26[@]}" "${m26[@]}"
    vkm "$logs/guest26-vkmark-m26-fast.txt" "${v26[@]}" "${m26[@]}" venus_implicit_fencing=true
    echo "   vkmark 320x240, FPS per scene (ratio to native): Mesa 25 and Mesa 26 guests, default and fast present"
    python3 - "$logs" <<'PY' | sed 's/^/   /'
import os, re, sys
runs = ("native", "m25-default", "m25-fast", "m26-default", "m26-fast")
def fps(run):
    out = {}
    path = os.path.join(sys.argv[1], "guest26-vkmark-%s.txt" % run)
    for line in open(path, errors="replace") if os.path.exists(path) else ():
        m = re.search(r"^(\[\w+\] .*?)(?::duration=\d+)?: FPS: (\d+)", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return out
got = {r: fps(r) for r in runs}
scenes = list(got["native"]) or list(got["m26-default"])
print("| scene | " + " | ".join(runs) + " |")
print("| --- |" + " ---: |" * len(runs))
for sc in scenes:
    n = got["native"].get(sc)
    cells = []
    for r in runs:
        v = got[r].get(sc)
        cells.append("-" if v is None else str(v) if r == "native" or not n else "%d (%.2f)" % (v, v / n))
    print("| %s | %s |" % (sc, " | ".join(cells)))
def score(r):
    v = [got[r].get(sc) for sc in scenes]
    return sum(v) / len(v) if v and all(v) else None
n = score("native")
print("| score (mean FPS) | " + " | ".join("-" if score(r) is None else "%.0f" % score(r) if r == "native" or not n
      else "%.0f (%.2f)" % (score(r), score(r) / n) for r in runs) + " |")
PY
  fi
  stop_server
  # The same through sid's stock front end (virgl_test_server, whose
  # capset the guest then reads) with venus-server as its render server.
  if [ -x "$g26/bin/virgl_test_server" ]; then
    front_sock=$prefix/front.sock
    # (--library-path, not LD_LIBRARY_PATH, which the render server needs.)
    env RENDER_SERVER_EXEC_PATH="$build/venus-server" VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" \
      "$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$g26/bin/virgl_test_server" \
      --venus --no-virgl --multi-clients --socket-path "$front_sock" >"$logs/guest26-front.log" 2>&1 &
    front_pid=$!
    for _ in $(seq 100); do [ -S "$front_sock" ] && break; sleep 0.1; done
    rc=0; sock=$front_sock guest26 "$g26/bin/vulkaninfo" >"$logs/guest26-front-vulkaninfo.txt" 2>&1 || rc=$?
    api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$logs/guest26-front-vulkaninfo.txt" | head -n1)
    name=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*= *//p' "$logs/guest26-front-vulkaninfo.txt" | head -n1)
    mkdir -p "$logs/vk14-front"
    rc14=0; sock=$front_sock guest26 "$build/tests/vk14" --out-dir "$logs/vk14-front" >"$logs/vk14-front.out" 2>&1 || rc14=$?
    same=$(vk14_same "$logs/vk14-front")
    kill "$front_pid" 2>/dev/null; wait "$front_pid" 2>/dev/null
    verdict=FAIL; [ "$rc" = 0 ] && [[ $api == 1.4.* ]] && [ "$rc14" = 0 ] && [ "$same" = 2 ] && verdict=PASS
    result guest26-stock-front $verdict "sid's virgl_test_server + venus-server: vulkaninfo exit $rc, ${name:-no device}, apiVersion ${api:-none}; vk14 exit $rc14, $same of 2 outputs identical to native"
  fi
else
  result guest26 SKIP "no guest26 in the bundle"
fi

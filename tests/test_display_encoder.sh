#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The display's H.264 encoder is loaded at run time (README "Display").
# With another distribution's x264: this (Debian 12) build, whose header is
# build 164, records vkcube's frames as H.264 in the sid root
# (scripts/debian-root.sh) with sid's libx264-165; the vkcube there is sid's,
# through sid's Mesa 26 Venus driver. Without a usable one: a
# server asked for --display/--http where no usable libx264 is found still
# starts, says in one log line that the display is unavailable and why,
# serves no Wayland socket and no HTTP endpoint, and serves Vulkan. Two ways
# for the library to be unusable, by LD_LIBRARY_PATH (searched before the
# system's libraries) naming a directory with:
#   1. files that are no libraries under every name the server tries
#      (libx264.so.164, libx264.so.165, libx264.so): none loads;
#   2. a library of another x264 build (163: another ABI) under those names:
#      it loads, and is refused by its versioned x264_encoder_open_163.
# The host's own libx264 streaming is test_display.
. "$(dirname "$0")/lib.sh"

require_tools ffprobe
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "this build has no display (meson -Ddisplay: libwayland-dev, wayland-protocols, libx264-dev, libyuv-dev)"
  finish
fi
STUB=$BUILD_DIR/tests/display/libx264_build163.so
[ -f "$STUB" ] || { fail "no $STUB (built with the display's tests)"; finish; }
COMPUTE=$BUILD_DIR/tests/vk_compute
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"

# without_encoder LABEL DIR WHY_RE: one server with LD_LIBRARY_PATH=DIR.
without_encoder() {
  local label=$1 dir=$2 why_re=$3 name=vs-nox264-$SERVER_N out rc lines
  LD_LIBRARY_PATH=$dir server_start --display "$name" --http 127.0.0.1:0 --log-level info || return 0
  lines=$(log_count '^venus-server: warn: display: unavailable')
  if [ "$lines" = 1 ] && grep -E '^venus-server: warn: display: unavailable' "$SERVER_LOG" | grep -qE "$why_re"; then
    pass "$label: one log line: $(grep -m1 'display: unavailable' "$SERVER_LOG" | cut -c1-240)"
  else
    fail "$label: want one 'display: unavailable' line matching '$why_re', got $lines"
    show_tail "$SERVER_LOG"
  fi
  if [ -e "$XDG_RUNTIME_DIR/$name" ] || grep -qE '^venus-server: (display|http) ' "$SERVER_OUT"; then
    fail "$label: a Wayland socket or HTTP endpoint was served without an encoder"
  else
    pass "$label: no Wayland socket, no HTTP endpoint"
  fi
  out=$TEST_TMP/compute-$SERVER_N.out
  rc=0; venus_run "$COMPUTE" --mib 16 >"$out" 2>"${out%.out}.err" || rc=$?
  client_check "$label: vk_compute through the server" "$out" "$rc" || true
  check_no_errors
  server_stop || true
}

junk=$TEST_TMP/junk
other=$TEST_TMP/other-build
mkdir -p "$junk" "$other"
for soname in libx264.so.164 libx264.so.165 libx264.so; do
  : >"$junk/$soname"
  ln -s "$STUB" "$other/$soname"
done
without_encoder "no loadable libx264" "$junk" 'libx264\.so\.16[45]: .*libx264\.so\.16[45]: .*libx264\.so: '
without_encoder "libx264 of build 163" "$other" 'is x264 build 163'

# --- sid's libx264-165 -------------------------------------------------------
if ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip "sid's libx264-165: sanitizer build (its runtime is the host's, not the root's; the plain build runs it)"
  finish
fi
sid=$("$TESTS_DIR/../scripts/debian-root.sh" sid --include libx264-165 2>"$TEST_TMP/sid-root.err") || {
  skip "sid's libx264-165: no sid root: $(tail -n1 "$TEST_TMP/sid-root.err")"; finish; }
d=$(mktemp -d "$sid/tmp/vs-x264.XXXXXX")
trap 'lib_cleanup; rm -rf --one-file-system "$d"' EXIT
"$TESTS_DIR/../scripts/into-root.sh" "$sid" "$d" "$SERVER_BIN"
in=${d#"$sid"}
mkdir -m 700 "$d/rt"
SERVER_SOCK=$d/vs.sock SERVER_LOG=$TEST_TMP/sid-server.log SERVER_OUT=$TEST_TMP/sid-server.out
"$TESTS_DIR/../scripts/in-root.sh" "$sid" env LD_LIBRARY_PATH="$in/lib" XDG_RUNTIME_DIR="$in/rt" \
  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json \
  "$in/venus-server" --socket "$in/vs.sock" --display wl-sid --record "$in/cube.h264" --log-level info \
  >"$SERVER_OUT" 2>"$SERVER_LOG" &
SERVER_PID=$!
deadline=$((SECONDS + 15))
until grep -q '^venus-server: listening on' "$SERVER_OUT" || [ $SECONDS -ge $deadline ] || ! server_alive; do sleep 0.1; done
if grep -q '^venus-server: listening on' "$SERVER_OUT" && [ -S "$d/rt/wl-sid" ]; then
  pass "sid root: the server starts with its display: $(grep -o 'display: H.264 encoder.*' "$SERVER_LOG" || echo 'no encoder line')"
else
  fail "sid root: the server did not start with its display"
  show_tail "$SERVER_LOG"
  finish
fi
check "sid root: the encoder is sid's libx264.so.165" grep -q 'display: H.264 encoder libx264.so.165 (x264 build 165)' "$SERVER_LOG"
rc=0; timeout -k 5 "$CLIENT_TIMEOUT" "$TESTS_DIR/../scripts/in-root.sh" "$sid" env XDG_RUNTIME_DIR="$in/rt" \
  WAYLAND_DISPLAY=wl-sid VN_DEBUG=vtest VTEST_SOCKET_NAME="$in/vs.sock" \
  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json vkcube --wsi wayland --c 60 \
  >"$TEST_TMP/sid-cube.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then pass "sid root: vkcube --wsi wayland --c 60 on the display: exit 0"
else fail "sid root: vkcube --wsi wayland --c 60: $(describe_rc "$rc")"; show_tail "$TEST_TMP/sid-cube.out"; fi
server_stop || true
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=codec_name,nb_read_frames \
           -of csv=p=0 "$d/cube.h264" 2>/dev/null || true)
if [[ $frames =~ ^h264,([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 10 ]; then
  pass "sid root: the recording is H.264 with ${BASH_REMATCH[1]} frames"
else
  fail "sid root: the recording is not H.264 with 10 frames or more (ffprobe: '${frames:-nothing}')"
fi
finish

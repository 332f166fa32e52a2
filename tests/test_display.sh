#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built-in display (--display, --record, --http; README "Display"):
#   1. vkcube-wayland through Venus presents 300 frames to the server's own
#      Wayland display; the recorded H.264 decodes (ffmpeg) to frames that
#      show the cube (not blank, changing); meanwhile viewers read the
#      WebSocket stream (key frame with SPS/PPS first), one vanishes
#      mid-stream and one never reads, and neither slows the client;
#   2. wl_frames presents numbered frames behind heavy GPU work: the decoded
#      stream shows only whole frames, in order, none torn or stale; in both
#      of Mesa's present modes: the default (the client waits for its queue
#      to go idle before the commit) and the fast one
#      (venus_implicit_fencing=true: the commit can arrive before the ring
#      has even submitted the frame's work to the host);
#   3. hostile Wayland clients (bad fds, short fds, bad strides/offsets, huge
#      sizes, unknown formats, short wl_shm pools) get protocol errors while
#      vkcube carries on, and weston-simple-shm (wl_shm) is shown;
#   4. NVIDIA's case, forced here (VENUS_SERVER_MODIFIER_COLOR=optimal): the
#      WSI images are OPTIMAL on the host, and each frame reaches the display
#      through its linear mirror (one GPU copy, after the client's work):
#      vkcube shows the cube, and wl_frames' numbered frames are whole and
#      in order.
. "$(dirname "$0")/lib.sh"

require_tools vkcube-wayland ffmpeg ffprobe python3
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "this build has no display (meson -Ddisplay: libwayland-dev, wayland-protocols, libx264-dev, libyuv-dev)"
  finish
fi
D=$TESTS_DIR/display
HOSTILE=$BUILD_DIR/tests/display/wl_hostile
FRAMES=$BUILD_DIR/tests/display/wl_frames
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
W=320 H=240

# display_start NAME RECORD [more args]: a server with a display; sets HTTP_URL
# (the page's, with its token) when --http is among the args.
display_start() {
  local name=$1 rec=$2; shift 2
  server_start --display "$name" --record "$rec" "$@" || return 1
  HTTP_URL=$(viewer_url)
  [ -S "$XDG_RUNTIME_DIR/$name" ] || { fail "no Wayland socket $XDG_RUNTIME_DIR/$name"; return 1; }
}
wl_run() { venus_run env WAYLAND_DISPLAY="$DISPLAY_NAME" "$@"; }

# --- 1. vkcube, recorded and streamed --------------------------------------
DISPLAY_NAME=vs-display-1
display_start "$DISPLAY_NAME" "$TEST_TMP/cube.h264" --http 127.0.0.1:0 || finish
if [ -n "${HTTP_URL:-}" ]; then
  check "GET / serves the WebCodecs page" python3 "$D/ws_viewer.py" page "$HTTP_URL"
  python3 "$D/ws_viewer.py" read "$HTTP_URL" 100 >"$TEST_TMP/viewer-read.out" 2>&1 &
  v_read=$!
  python3 "$D/ws_viewer.py" drop "$HTTP_URL" 20 >"$TEST_TMP/viewer-drop.out" 2>&1 &
  v_drop=$!
  python3 "$D/ws_viewer.py" stall "$HTTP_URL" 15 >"$TEST_TMP/viewer-stall.out" 2>&1 &
  v_stall=$!
  BG_PIDS+=("$v_read" "$v_drop" "$v_stall")
  sleep 0.3
else
  fail "no 'venus-server: viewer page at' line"
fi
t0=$(date +%s.%N)
rc=0; wl_run vkcube-wayland --c 300 --width $W --height $H >"$TEST_TMP/cube.out" 2>&1 || rc=$?
t1=$(date +%s.%N)
if [ "$rc" -eq 0 ]; then
  pass "vkcube-wayland --c 300 on the server's display: exit 0 ($(python3 -c "print('%.1f' % (300 / ($t1 - $t0)))") fps with three viewers, one stalled)"
else
  fail "vkcube-wayland --c 300 on the server's display: $(describe_rc "$rc")"
  show_tail "$TEST_TMP/cube.out"
fi
if [ -n "${HTTP_URL:-}" ]; then
  if wait "$v_read"; then pass "viewer: $(cat "$TEST_TMP/viewer-read.out")"; else fail "viewer: $(cat "$TEST_TMP/viewer-read.out")"; fi
  if wait "$v_drop"; then pass "a viewer vanishing mid-stream: $(cat "$TEST_TMP/viewer-drop.out")"; else fail "dropping viewer: $(cat "$TEST_TMP/viewer-drop.out")"; fi
  kill_tree "$v_stall"; wait "$v_stall" 2>/dev/null || true
fi
check "server alive after the viewers" server_alive
server_stop || true
if out=$(python3 "$D/check_stream.py" cube "$TEST_TMP/cube.h264" $W $H 250 2>&1); then
  pass "recorded stream decodes to the cube: $out"
else
  fail "recorded stream: $out"
fi
grep -E 'display stream:|display: [0-9]+ commits' "$SERVER_LOG" | sed 's/^/     /' || true

# display_run NAME LABEL CLIENT...: CLIENT on a fresh display NAME recorded
# into $TEST_TMP/NAME.h264 (the server inherits the caller's environment);
# passes or fails LABEL on the client's exit status.
display_run() {
  local name=$1 label=$2 rc=0; shift 2
  DISPLAY_NAME=$name
  display_start "$name" "$TEST_TMP/$name.h264" || finish
  wl_run "$@" >"$TEST_TMP/$name.out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then pass "$label: exit 0"; else
    fail "$label: $(describe_rc "$rc")"; show_tail "$TEST_TMP/$name.out"; fi
  server_stop || true
}

# --- 2. numbered frames: whole, in order, in both present modes -------------
# The encoder takes the latest frame: on a loaded machine newer commits
# replace unencoded ones (the fast mode's client does not even wait for its
# frames), so how many of the 300 reach the stream is a speed, not a
# correctness figure (CI saw 27 of 300 in the fast mode, a loaded run 2).
# What is asserted: every decoded frame whole, in order, none stale, and
# frames flowing: ten where the client waits for its frames, one where it
# does not.
for fast in false true; do
  name=vs-display-2-$fast
  min=10
  [ $fast = true ] && min=1
  venus_implicit_fencing=$fast display_run $name \
    "wl_frames presented 300 numbered frames (venus_implicit_fencing=$fast)" "$FRAMES" 300 $W $H
  if out=$(python3 "$D/check_stream.py" numbers "$TEST_TMP/$name.h264" $W $H $min 2>&1); then
    pass "numbered frames (venus_implicit_fencing=$fast): $out"
  else
    fail "numbered frames (venus_implicit_fencing=$fast): $out"
  fi
  if grep -qE 'display: [0-9]+ commits, [0-9]+ shown \(([1-9][0-9]*) from server memory' "$SERVER_LOG"; then
    pass "frames were read from the server's own memory: $(grep -oE '[0-9]+ shown \([^)]*\)' "$SERVER_LOG")"
  else
    fail "no frame came from server memory: $(grep -E 'display: [0-9]+ commits' "$SERVER_LOG")"
  fi
done

# --- 3. hostile clients and wl_shm beside a running vkcube ---------------------
DISPLAY_NAME=vs-display-3
display_start "$DISPLAY_NAME" "$TEST_TMP/mixed.h264" || finish
wl_run vkcube-wayland --c 600 --width $W --height $H >"$TEST_TMP/cube3.out" 2>&1 &
cube_pid=$!
BG_PIDS+=("$cube_pid")
sleep 1
rc=0; env WAYLAND_DISPLAY= timeout 60 "$HOSTILE" "$DISPLAY_NAME" >"$TEST_TMP/hostile.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "hostile Wayland clients: each got its protocol error ($(grep -c '^ok ' "$TEST_TMP/hostile.out") cases)"
else
  fail "hostile Wayland clients: $(grep -v '^ok ' "$TEST_TMP/hostile.out" | head -5 | tr '\n' ';')"
fi
if command -v weston-simple-shm >/dev/null; then
  rc=0; env WAYLAND_DISPLAY="$DISPLAY_NAME" timeout 6 weston-simple-shm >"$TEST_TMP/shm.out" 2>&1 || rc=$?
  if [ "$rc" -eq 124 ]; then pass "weston-simple-shm ran 6 s on the display"; else
    fail "weston-simple-shm: $(describe_rc "$rc")"; show_tail "$TEST_TMP/shm.out"; fi
else
  skip "weston-simple-shm is not installed (Debian package weston; run scripts/setup.sh)"
fi
rc=0; wait "$cube_pid" || rc=$?
if [ "$rc" -eq 0 ]; then pass "vkcube beside the hostile clients: 600 frames, exit 0"; else
  fail "vkcube beside the hostile clients: $(describe_rc "$rc")"; show_tail "$TEST_TMP/cube3.out"; fi
check "server alive after the hostile clients" server_alive
server_stop || true
if command -v weston-simple-shm >/dev/null; then
  if out=$(python3 "$D/check_stream.py" size "$TEST_TMP/mixed.h264" 250 250 10 2>&1); then
    pass "the wl_shm window is in the stream: $out"
  else
    fail "the wl_shm window is not in the stream: $out"
  fi
fi
# --- 4. OPTIMAL host images, read through linear mirrors ----------------------
VENUS_SERVER_MODIFIER_COLOR=optimal display_run vs-display-4 "vkcube, 120 frames, on OPTIMAL host images" \
  vkcube-wayland --c 120 --width $W --height $H
if out=$(python3 "$D/check_stream.py" cube "$TEST_TMP/vs-display-4.h264" $W $H 100 2>&1); then
  pass "through linear mirrors, the stream decodes to the cube: $out"
else
  fail "linear mirrors, cube: $out"
fi
if grep -qE 'GPU copies per frame 1\.00' "$SERVER_LOG"; then
  pass "one GPU copy per frame: $(grep -oE 'copies per frame [^;]*' "$SERVER_LOG")"
else
  fail "not one GPU copy per frame: $(grep -E 'display stream:' "$SERVER_LOG")"
fi
VENUS_SERVER_MODIFIER_COLOR=optimal display_run vs-display-5 "wl_frames, 300 numbered frames, on OPTIMAL host images" \
  "$FRAMES" 300 $W $H
if out=$(python3 "$D/check_stream.py" numbers "$TEST_TMP/vs-display-5.h264" $W $H 100 2>&1); then
  pass "through linear mirrors, numbered frames: $out"
else
  fail "linear mirrors, numbered frames: $out"
fi

check_no_errors
finish

#!/usr/bin/env bash
# The display in a browser: headless Chromium (Debian's, with its H.264
# decoder) opens the page --http serves while vkcube presents to the
# server's display; the page decodes the WebSocket stream with WebCodecs
# (30 frames, no decoder error) and draws it, and the screenshot must show
# the cube (the teal logo and many colours on the canvas, where an
# undecoded page is one grey).
. "$(dirname "$0")/lib.sh"

require_tools vkcube-wayland ffmpeg python3
if ! "$SERVER_BIN" --help | grep -q -- '--display'; then
  skip "this build has no display (meson -Ddisplay: libwayland-dev, wayland-protocols, libx264-dev, libyuv-dev)"
  finish
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  skip "chromium is not installed (Debian package chromium; run scripts/setup.sh)"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
name=vs-display-browser

server_start --display "$name" --http 127.0.0.1:0 || finish
port=$(sed -nE 's|^venus-server: http http://127.0.0.1:([0-9]+)/$|\1|p' "$SERVER_OUT")
[ -n "$port" ] || { fail "no 'venus-server: http' line"; server_stop || true; finish; }

venus_run 120 env WAYLAND_DISPLAY="$name" vkcube-wayland --c 100000 --width 320 --height 240 \
  >"$TEST_TMP/cube.out" 2>&1 &
cube_pid=$!
BG_PIDS+=("$cube_pid")
sleep 1

shot=$TEST_TMP/shot.png
# Driven over the DevTools protocol: the screenshot is taken once the page
# has decoded 30 frames (window.vsStats), not after a guessed delay.
rc=0
page=$(timeout -k 5 120 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile" \
  "http://127.0.0.1:$port/" 30 "$shot" 2>&1) || rc=$?
if [ "$rc" -eq 0 ]; then pass "Chromium's WebCodecs decoder: $page"; else fail "Chromium: $page ($(describe_rc "$rc"))"; fi
if [ ! -s "$shot" ]; then
  fail "no screenshot"
else
  # The canvas is the top-left 320x240; skip the status line at its top.
  sw=$(ffprobe -v error -select_streams v -show_entries stream=width -of csv=p=0 "$shot")
  verdict=$(ffmpeg -v error -i "$shot" -f rawvideo -pix_fmt rgb24 - | python3 -c '
import sys
data = sys.stdin.buffer.read()
W = int(sys.argv[1])
colours, teal = set(), 0
for y in range(40, 240):
    for x in range(0, 320):
        r, g, b = data[3 * (y * W + x): 3 * (y * W + x) + 3]
        colours.add((r >> 3, g >> 3, b >> 3))
        if g > r + 30 and b > r + 30:
            teal += 1
print("%d colours, %d teal pixels" % (len(colours), teal))
sys.exit(0 if len(colours) >= 100 and teal >= 200 else 1)
' "$sw" 2>&1) && ok=1 || ok=0
  if [ "$ok" = 1 ]; then pass "Chromium decoded the stream and shows the cube: $verdict"; else
    fail "the screenshot does not show the cube: $verdict"; fi
fi
if grep -q 'display: viewer connected' "$SERVER_LOG"; then pass "the page connected to the stream"; else
  fail "the page never connected to the stream"; fi
kill_tree "$cube_pid"; wait "$cube_pid" 2>/dev/null || true
check "server alive after the browser" server_alive
server_stop || true
finish

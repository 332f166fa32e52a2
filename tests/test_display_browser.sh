#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The display in a browser: headless Chromium (Debian's, with its H.264
# decoder), driven over the DevTools protocol (tests/display/cdp_view.py),
# opens the page --http serves:
#   1. vkcube presents to the server's display; the page decodes the
#      WebSocket stream with WebCodecs (30 frames, no decoder error) and the
#      screenshot shows the cube (the teal logo and many colours where an
#      undecoded page is one grey);
#   2. a viewer whose page stalls 5 s, then resumes, draws a frame committed
#      after the stall (how soon, against one key-frame interval, is noted,
#      not asserted; 120 s only catches a page that never recovers) (it skips the stale
#      ones and asks for a key frame; the server sent it only what it
#      acknowledged meanwhile);
#   3. the server is view-only by default: a viewer's input is ignored and
#      the stream says so; a malformed viewer message closes that viewer;
#   4. with --input, a page of another site (another origin) that knows the
#      viewer URL, token and all, opens the stream with and without the
#      token: both are refused (the Origin check, one log line each), and
#      no key reaches the client; then the page clicks at a point and types a string; the
#      Wayland client (tests/display/wl_input, libxkbcommon on the keymap
#      the seat sends) receives the button at the point mapped through the
#      page's scaling and the same text; then a window of another size
#      appears and the page follows the resolution change.
. "$(dirname "$0")/lib.sh"

require_tools vkcube-wayland ffmpeg python3
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "this build has no display (meson -Ddisplay: libwayland-dev, wayland-protocols, libx264-dev, libyuv-dev)"
  finish
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  skip "chromium is not installed (Debian package chromium; run scripts/setup.sh)"
  finish
fi
D=$TESTS_DIR/display
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
cdp() { timeout -k 5 180 python3 "$D/cdp_view.py" "$CHROMIUM" "$(mktemp -d "$TEST_TMP/profile.XXXXXX")" "$@"; }

# --- 1. vkcube in the page ----------------------------------------------------
name=vs-display-browser
server_start --display "$name" --http 127.0.0.1:0 || finish
url=$(viewer_url)
[ -n "$url" ] || { fail "no 'venus-server: viewer page at' line"; server_stop || true; finish; }

venus_run 300 env WAYLAND_DISPLAY="$name" vkcube-wayland --c 100000 --width 320 --height 240 \
  >"$TEST_TMP/cube.out" 2>&1 &
cube_pid=$!
BG_PIDS+=("$cube_pid")
sleep 1

shot=$TEST_TMP/shot.png
rc=0
page=$(cdp "$url" shot 30 "$shot" 2>&1) || rc=$?
if [ "$rc" -eq 0 ]; then pass "Chromium's WebCodecs decoder: $page"; else fail "Chromium: $page ($(describe_rc "$rc"))"; fi
if [ ! -s "$shot" ]; then
  fail "no screenshot"
else
  # The window is 400x300 and the 320x240 picture is scaled to fill it;
  # look at its upper part, away from the status line at the bottom.
  sw=$(ffprobe -v error -select_streams v -show_entries stream=width -of csv=p=0 "$shot")
  verdict=$(ffmpeg -v error -i "$shot" -f rawvideo -pix_fmt rgb24 - | python3 -c '
import sys
data = sys.stdin.buffer.read()
W = int(sys.argv[1])
colours, teal = set(), 0
for y in range(40, 260):
    for x in range(0, 400):
        r, g, b = data[3 * (y * W + x): 3 * (y * W + x) + 3]
        colours.add((r >> 3, g >> 3, b >> 3))
        if g > r + 30 and b > r + 30:
            teal += 1
print("%d colours, %d teal pixels" % (len(colours), teal))
sys.exit(0 if len(colours) >= 100 and teal >= 200 else 1)
' "$sw" 2>&1) && ok=1 || ok=0
  if [ "$ok" = 1 ]; then pass "Chromium decoded the stream and shows the cube: $verdict (screenshot $shot)"; else
    fail "the screenshot does not show the cube: $verdict"; fi
fi
if grep -q 'display: viewer [0-9]* connected' "$SERVER_LOG"; then pass "the page connected to the stream"; else
  fail "the page never connected to the stream"; fi

# --- 2. a stalled page comes back live ----------------------------------------
# The stream has no periodic key frames: the page asks for one after the
# stall, and the server encodes the next frame as one.
rc=0
out=$(cdp "$url" stall 5 2 2>&1) || rc=$?
if [ "$rc" -eq 0 ]; then pass "stalled viewer: $out"; else fail "stalled viewer: $out ($(describe_rc "$rc"))"; fi

# --- 3. view only, malformed messages -------------------------------------------
out=$(python3 "$D/ws_viewer.py" input "$url" 2>&1) || true
if [ "$out" = "input not allowed" ] && wait_log_count 'display: viewer [0-9]+: input ignored \(view only' 1; then
  pass "without --input the stream says view only and a viewer's pointer motion is ignored"
else
  fail "view only: viewer says '$out'; $(grep -c 'input ignored' "$SERVER_LOG") 'input ignored' lines"
fi
if out=$(python3 "$D/ws_viewer.py" bad "$url" 2>&1) &&
   grep -qE 'display: viewer [0-9]+ sent a message of type 99 and 8 bytes \(no such message\); closed' "$SERVER_LOG"; then
  pass "a malformed viewer message closes that viewer, with one log line: $out"
else
  fail "malformed viewer message: $out"
fi
kill_tree "$cube_pid"; wait "$cube_pid" 2>/dev/null || true
check "server alive after the browser" server_alive
server_stop || true

# --- 4. input back to the guest ---------------------------------------------------
INPUT=$BUILD_DIR/tests/display/wl_input
if [ ! -x "$INPUT" ]; then
  skip "input: tests/display/wl_input was not built (it needs libxkbcommon-dev; run scripts/setup.sh)"
  finish
fi
name=vs-display-input
server_start --display "$name" --http 127.0.0.1:0 --input || finish
url=$(viewer_url)
WAYLAND_DISPLAY=$name "$INPUT" 320 240 120 >"$TEST_TMP/input.out" 2>&1 &
input_pid=$!
BG_PIDS+=("$input_pid")
for _ in $(seq 100); do grep -q '^ready' "$TEST_TMP/input.out" && break; sleep 0.1; done
rc=0
out=$(cdp "$url" foreign 2>&1) || rc=$?
refusals=$(log_count "display: refusing viewer from 127\.0\.0\.1 \(the stream\): Origin 'http://127\.0\.0\.1:[0-9]+' is not this server's")
if [ "$rc" -eq 0 ] && [ "$refusals" -eq 2 ] && ! grep -q '^key ' "$TEST_TMP/input.out"; then
  pass "a page of another site is refused the stream, with the token and without, one line each; no key reached the client: $out"
else
  fail "a page of another site: $out ($(describe_rc "$rc")); $refusals Origin refusals; $(grep -c '^key ' "$TEST_TMP/input.out") keys reached the client"
fi
rc=0
out=$(cdp "$url" input "$TEST_TMP/input.png" \
  env WAYLAND_DISPLAY="$name" "$INPUT" 256 128 60 2>&1) || rc=$?
kill "$input_pid" 2>/dev/null; wait "$input_pid" 2>/dev/null || true
note "$(echo "$out" | tr '\n' ';')"
if grep -q '^keymap ok' "$TEST_TMP/input.out"; then pass "the seat's keymap compiles with libxkbcommon"; else
  fail "keymap: $(head -n 3 "$TEST_TMP/input.out")"; fi
want=$(echo "$out" | sed -nE 's/^clicked page [0-9]+,[0-9]+ -> surface ([0-9.]+),([0-9.]+)$/\1 \2/p')
got=$(sed -nE 's/^button 0x110 1 ([0-9.]+) ([0-9.]+)$/\1 \2/p' "$TEST_TMP/input.out" | head -n1)
if [ -n "$want" ] && [ -n "$got" ] && python3 -c '
import sys
w = [float(v) for v in sys.argv[1].split()]; g = [float(v) for v in sys.argv[2].split()]
sys.exit(0 if all(abs(a - b) <= 0.5 for a, b in zip(w, g)) else 1)' "$want" "$got"; then
  pass "a click in the page reaches the client as BTN_LEFT at the mapped surface point ($got; expected $want)"
else
  fail "click: the client got '${got:-no button}', expected '${want:-?}'"
fi
typed=$(echo "$out" | sed -n 's/^typed //p')
text=$(sed -n 's/^text //p' "$TEST_TMP/input.out" | tail -n1)
if [ -n "$typed" ] && [ "$text" = "$typed" ]; then
  pass "the keys typed in the page reach the client as the same text: '$text'"
else
  fail "typing: the page typed '$typed', the client made '$text'"
fi
if echo "$out" | grep -q '^resolution change 320x240 -> 256x128: decoded'; then
  pass "the page follows a resolution change mid-stream: $(echo "$out" | grep '^resolution change')"
else
  fail "resolution change: $(echo "$out" | tail -n1) ($(describe_rc "$rc"))"
fi
check "server alive after input" server_alive
server_stop || true
grep -E 'seat:|viewers served' "$SERVER_LOG" | sed 's/^/     /' || true
finish

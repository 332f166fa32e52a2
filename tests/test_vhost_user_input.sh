#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Viewer input to a VM's virtio-input device, and each VM's scanout an
# output of its own (docs/vhost-user.md, "The input device";
# docs/display.md, "Outputs"): `venus-server --vhost-user
# --vhost-user-input --display --http --input`, and two fake VMMs
# (tests/vhost_user/fake_vmm.py, each a process with vhost-user front ends
# and guest RAM in a memfd), each with a GPU device and an input device.
# VMM A's scanout shows a 64x48 frame; a viewer (tests/display/ws_viewer.py
# vm-input) opens the server's URL, which watches the newest output: A's.
# Then VMM B connects and shows a 32x24 frame (R8G8B8A8, red 200, green
# 40, blue 20; its recording, rec-vm-N.h264 by --record's %o, must show
# that colour: the device puts other byte orders right). The viewer still watches
# A (a key frame it asks for is 64x48), moves the pointer to the frame's
# middle, clicks, types KEY_A and turns the wheel. A's eventq must get
# them as evdev events (ABS_X/ABS_Y at the middle of 0..32767, BTN_LEFT,
# KEY_A, REL_WHEEL -1, each report ended by SYN_REPORT); B's nothing. A's
# cursor (fake_vmm.py's show_cursor) reaches the viewer as its own
# message, its pixels in R G B A order and its hotspot. B's
# own URL (logged with a token of its own) shows B's frame; A's token does
# not open B's output nor the operator's list of outputs, which the
# server's token lists. The devices end when their VMM goes, and the
# server logs no refusal but the ones asked for. With --vm-name, a VM's
# output has its name. With --vm-scanouts 2, each scanout is an output of
# its own (NAME, NAME.1; see the last part). Skips without the display
# (build or libx264).
. "$(dirname "$0")/lib.sh"
covered_on_posix_by test_vhost_user_qemu "viewer input to a VM"

require_tools python3 ffmpeg
D=$TESTS_DIR/display
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "a build without the display"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
log=$TEST_TMP/server.log out=$TEST_TMP/server.out
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/gpu.sock" \
  --vhost-user-input "$TEST_TMP/input.sock" --vm-size 64x48 --ready-workers 1 \
  --display vs-vhost-input --http 127.0.0.1:0 --input --record "$TEST_TMP/rec-%o.h264" >"$out" 2>"$log" &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do [ -S "$TEST_TMP/input.sock" ] && break; sleep 0.05; done
[ -S "$TEST_TMP/input.sock" ] || { fail "the server did not listen"; show_tail "$log"; finish; }
if grep -q 'display: unavailable' "$log"; then
  skip "no display at run time: $(grep -m1 'display: unavailable' "$log")"
  finish
fi
url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$out" | head -n 1)
[ -n "$url" ] || { fail "no viewer page line"; show_tail "$log"; finish; }

python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu.sock" "$TEST_TMP/input.sock" "$TEST_TMP/vmm-a.out" 20 \
  >"$TEST_TMP/vmm-a.log" 2>&1 &
vmm_a=$!
BG_PIDS+=("$vmm_a")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/vmm-a.out" 2>/dev/null && break; sleep 0.1; done
check "VMM A's scanout shows a frame" grep -q shown "$TEST_TMP/vmm-a.out"
fails() { ! "$@" >/dev/null 2>&1; }
cue=$TEST_TMP/cue
python3 "$D/ws_viewer.py" vm-input "$url" "$cue" >"$TEST_TMP/viewer.out" 2>&1 &
viewer=$!
BG_PIDS+=("$viewer")
for _ in $(seq 200); do [ -e "$cue.viewer" ] && break; sleep 0.1; done
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu.sock" "$TEST_TMP/input.sock" "$TEST_TMP/vmm-b.out" 14 32x24 \
  >"$TEST_TMP/vmm-b.log" 2>&1 &
vmm_b=$!
BG_PIDS+=("$vmm_b")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/vmm-b.out" 2>/dev/null && break; sleep 0.1; done
check "VMM B's scanout shows a frame while the viewer watches A's" grep -q shown "$TEST_TMP/vmm-b.out"
# Each VM device's output: its page's URL with a token of its own, logged.
for _ in $(seq 50); do [ "$(grep -c 'display: output vm-' "$log")" -ge 2 ] && break; sleep 0.1; done
url_a=$(sed -nE 's|.*display: output vm-[0-9]+ \(.*\): viewer page at (http://[^ ]+)$|\1|p' "$log" | sed -n 1p)
url_b=$(sed -nE 's|.*display: output vm-[0-9]+ \(.*\): viewer page at (http://[^ ]+)$|\1|p' "$log" | sed -n 2p)
check "each VM's output has a URL of its own (${url_a##*\?}, ${url_b##*\?})" \
  test -n "$url_a" -a -n "$url_b" -a "${url_a#*token=}" != "${url_b#*token=}"
size_b=$(timeout 20 python3 "$D/ws_viewer.py" size "$url_b" 2>&1 | tail -n1)
check "a viewer of B's URL sees B's frame ($size_b)" test "$size_b" = 32x24
output_b=$(sed -nE 's/.*output=([^&]+).*/\1/p' <<<"$url_b")
crossed=$(sed -E "s/output=[^&]+/output=$output_b/" <<<"$url_a")
check "A's token does not open B's output" fails python3 "$D/ws_viewer.py" page "$crossed"
check "  ... refused with one line" grep -q "refusing viewer from 127.0.0.1 (the page of output $output_b): wrong token" "$log"
list=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "$(sed 's|/?|/outputs?|' <<<"$url")" 2>&1 || true)
check "the server's token lists the outputs: $(awk '{print $1}' <<<"$list" | tr '\n' ' ')" \
  test "$(grep -cE '^(desktop|vm-[0-9]+) http://' <<<"$list")" -eq 3
# A VM's scanout 0's token is the VM's: it lists that VM's outputs alone.
list_a=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "$(sed 's|/?|/outputs?|' <<<"$url_a")" 2>&1 || true)
check "A's token lists A's output alone: $(awk '{print $1}' <<<"$list_a" | tr '\n' ' ')" \
  test "$(awk '{print $1}' <<<"$list_a" | tr '\n' ' ')" = "$(sed -nE 's/.*output=([^&]+).*/\1/p' <<<"$url_a") "
check "A's token does not list B's" \
  fails python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1])' "$(sed 's|/?|/outputs?|' <<<"$crossed")"
check "  ... refused with one line" \
  test "$(grep -c "refusing viewer from 127.0.0.1 (the outputs of output $output_b): wrong token" "$log")" -eq 1
touch "$cue"
wait "$viewer" && rc_v=0 || rc_v=$?
out_v=$(cat "$TEST_TMP/viewer.out")
output_a=$(sed -nE 's/.*output=([^&]+).*/\1/p' <<<"$url_a")
check "the viewer still watches A after B came, named for it: $out_v" \
  test "$rc_v" -eq 0 -a -n "$(grep -E "input allowed\) to output $output_a; frames 64x48 64x48;" <<<"$out_v")"
check "the guest's cursor reached the viewer: 64x64, hotspot 5,7, R G B A 48.32.16.255" \
  grep -q 'cursors 64x64@5,7:48.32.16.255$' <<<"$out_v"
rc_a=0 rc_b=0
wait "$vmm_a" || rc_a=$?
wait "$vmm_b" || rc_b=$?
check "VMM A ran to its end (status $rc_a)" test "$rc_a" -eq 0
check "VMM B ran to its end (status $rc_b)" test "$rc_b" -eq 0
events=$(grep -E '^[0-9]+ [0-9]+ [0-9]+$' "$TEST_TMP/vmm-a.out" | tr '\n' ',')
note "VMM A's eventq: $events"
abs_x=$(sed -nE 's/^3 0 ([0-9]+)$/\1/p' "$TEST_TMP/vmm-a.out" | tail -n 1)
abs_y=$(sed -nE 's/^3 1 ([0-9]+)$/\1/p' "$TEST_TMP/vmm-a.out" | tail -n 1)
check "the pointer at the frame's middle: ABS_X ${abs_x:-none}, ABS_Y ${abs_y:-none} of 0..32767" \
  test "${abs_x:-0}" -ge 16000 -a "${abs_x:-0}" -le 16800 -a "${abs_y:-0}" -ge 16000 -a "${abs_y:-0}" -le 16800
check "the click: BTN_LEFT down and up, each reported" grep -qE '(^|,)1 272 1,0 0 0,1 272 0,0 0 0(,|$)' <<<"$events"
check "KEY_A down and up, each reported" grep -qE '(^|,)1 30 1,0 0 0,1 30 0,0 0 0(,|$)' <<<"$events"
check "the wheel towards the user: REL_WHEEL -1" grep -qE '(^|,)2 8 4294967295,0 0 0(,|$)' <<<"$events"
check "VMM B's input device got nothing (another VM's output)" \
  test "$(grep -cE '^[0-9]+ [0-9]+ [0-9]+$' "$TEST_TMP/vmm-b.out")" -eq 0
check "both input devices ended with their VMM" \
  test "$(grep -cE 'vhost-user device [0-9]+: ended after [0-9]+ input events' "$log")" -eq 2
kill -TERM "$server" 2>/dev/null || true
rc=0
wait "$server" || rc=$?
check "the server stopped on SIGTERM (status $rc)" test "$rc" -eq 0
# B's recording: its frame's middle pixel, decoded, is the colour it wrote.
rgb=$(ffmpeg -v error -i "$TEST_TMP/rec-$output_b.h264" -frames:v 1 -f rawvideo -pix_fmt rgb24 - 2>/dev/null |
  python3 -c 'import sys; d = sys.stdin.buffer.read(); o = (12 * 32 + 16) * 3; print(*d[o:o + 3]) if len(d) >= 32 * 24 * 3 else print("none")')
read -r red green blue <<<"$rgb"
check "B's R8G8B8A8 frame is recorded as its colour (red green blue $rgb, written 200 40 20)" \
  test "${red:-0}" -ge 180 -a "${red:-0}" -le 220 -a "${green:-0}" -ge 20 -a "${green:-0}" -le 60 -a \
  "${blue:-255}" -ge 0 -a "${blue:-255}" -le 45
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$log" |
  grep -vE 'refusing viewer from 127.0.0.1 \(the (page|outputs) of output vm-[0-9]+\): wrong token' || true)
if [ -z "$refused" ]; then pass "the server logged no refusal but the ones asked for"; else
  fail "the server logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
[ "$N_FAIL" -eq 0 ] || { show_tail "$log" 20; show_tail "$TEST_TMP/vmm-a.log"; }

# --vm-name: the VM's output is named after it; a second device on the
# same socket gets NAME-N.
named_log=$TEST_TMP/named.log
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/gpu2.sock" \
  --vhost-user-input "$TEST_TMP/input2.sock" --vm-size 64x48 --ready-workers 1 --vm-name web1 \
  --display vs-vhost-named --http 127.0.0.1:0 >/dev/null 2>"$named_log" &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do [ -S "$TEST_TMP/input2.sock" ] && break; sleep 0.05; done
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu2.sock" "$TEST_TMP/input2.sock" "$TEST_TMP/named-a.out" 3 \
  >"$TEST_TMP/named-a.log" 2>&1
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu2.sock" "$TEST_TMP/input2.sock" "$TEST_TMP/named-b.out" 3 \
  >"$TEST_TMP/named-b.log" 2>&1 &
vmm_b=$!
BG_PIDS+=("$vmm_b")
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu2.sock" "$TEST_TMP/input2.sock" "$TEST_TMP/named-c.out" 3 \
  >"$TEST_TMP/named-c.log" 2>&1 || true
wait "$vmm_b" || true
names=$(sed -nE 's/.*display: output ([^ ]+) \(VM device [0-9]+.s scanout\).*/\1/p' "$named_log" | tr '\n' ' ')
check "--vm-name web1: the VM's output is web1, again once it ended; one beside it web1-N ($names)" \
  grep -qE '^web1 web1 web1-[0-9]+ $|^web1 web1-[0-9]+ web1 $' <<<"$names"
# A VM still connected when the server stops: its worker is ended with an
# info line, no warning (the server ended it; nothing went wrong).
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu2.sock" "$TEST_TMP/input2.sock" "$TEST_TMP/named-d.out" 60 \
  >"$TEST_TMP/named-d.log" 2>&1 &
vmm_d=$!
BG_PIDS+=("$vmm_d")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/named-d.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$server" 2>/dev/null || true
rc=0
wait "$server" || rc=$?
kill "$vmm_d" 2>/dev/null || true
wait "$vmm_d" 2>/dev/null || true
check "a VM still connected at SIGTERM: the server stopped (status $rc)" test "$rc" -eq 0
check "  ... its two devices' workers ended, an info line each" test "$(grep -cE \
  '^venus-server: info: vhost-user device [0-9]+: its worker \(pid [0-9]+\) was ended as the server stopped$' \
  "$named_log")" -eq 2
check "  ... and nothing was logged as a warning or an error ($(grep -cE 'venus-server: (warn|error):' "$named_log"))" \
  test "$(grep -cE 'venus-server: (warn|error):' "$named_log")" -eq 0

# A viewer's window size becomes the VM's mode (with --input): the device
# raises the display event, its display info and EDID answer the new mode,
# and the stream follows the guest's modeset without a reconnect. A mode
# larger than the device's framebuffer keeps the asked shape. With
# --vm-fixed-size, the mode stays.
modes_run() {  # NAME [SERVER OPTION...]: the server, the --modes VMM and a viewer asking WxH...
  local name=$1 asks
  shift
  asks=$1
  shift
  env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/$name.sock" \
    --vm-size 64x48 --ready-workers 1 --display "vs-vhost-$name" --http 127.0.0.1:0 --input "$@" \
    >"$TEST_TMP/$name.server.out" 2>"$TEST_TMP/$name.log" &
  server=$!
  BG_PIDS+=("$server")
  for _ in $(seq 200); do [ -S "$TEST_TMP/$name.sock" ] && break; sleep 0.05; done
  python3 "$TESTS_DIR/vhost_user/fake_vmm.py" --modes "$TEST_TMP/$name.sock" "$TEST_TMP/$name.out" 6 \
    >"$TEST_TMP/$name.vmm.log" 2>&1 &
  local vmm=$!
  BG_PIDS+=("$vmm")
  for _ in $(seq 100); do grep -q shown "$TEST_TMP/$name.out" 2>/dev/null && break; sleep 0.1; done
  local url
  url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$TEST_TMP/$name.server.out" | head -n 1)
  # shellcheck disable=SC2086
  timeout 60 python3 "$D/ws_viewer.py" resize "$url" $asks >"$TEST_TMP/$name.viewer" 2>&1 || true
  wait "$vmm" || true
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" || true
}
modes_run modes "96x64 80x60 8000x6000!"
check "the VM's start line says viewers set its mode" \
  grep -q 'serving VM virtio-gpu devices on .* (scanout 64x48, or the size a viewer asks for,' "$TEST_TMP/modes.log"
check "the stream followed each mode the viewer asked for: $(cat "$TEST_TMP/modes.viewer")" \
  grep -qx '64x48 96x64 80x60' "$TEST_TMP/modes.viewer"
modes=$(grep '^mode ' "$TEST_TMP/modes.out" | tr '\n' ',')
check "the guest saw the display event, display info and EDID of each ($modes)" \
  test "$modes" = "mode 96x64 events 1 edid 96x64,mode 80x60 events 1 edid 80x60,mode 3325x2493 events 1 edid 3325x2493,"
check "one line per mode, the asked size beside it" test "$(grep -cE \
  "vhost-user device [0-9]+: scanout 0's mode is (96x64|80x60|3325x2493), as a viewer asked \((96x64|80x60|8000x6000)\)$" \
  "$TEST_TMP/modes.log")" -eq 3
check "no refusal" test "$(grep -cE 'venus-server: (warn|error):' "$TEST_TMP/modes.log")" -eq 0
modes_run fixed "96x64!" --vm-fixed-size
check "--vm-fixed-size: the mode stayed ($(cat "$TEST_TMP/fixed.viewer"); $(grep -c '^mode ' "$TEST_TMP/fixed.out") changes)" \
  test "$(cat "$TEST_TMP/fixed.viewer")" = 64x48 -a "$(grep -c '^mode ' "$TEST_TMP/fixed.out")" -eq 0
# --vm-scanouts 2: the device's config and display info say 2 scanouts,
# each enabled at the mode, scanout 1's EDID answers, and SET_SCANOUT of
# scanout 2 is refused (VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID) with one
# line. Scanout 1 (a 32x24 frame of its own colour and the cursor) is an
# output of its own, web1.1, beside scanout 0's web1: each with its URL
# and token, its viewer, its recording; a viewer's size on web1.1 becomes
# scanout 1's mode alone.
multi() { sed -n "s/^$1 //p" "$TEST_TMP/multi.out"; }
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/multi.sock" \
  --vm-size 64x48 --vm-scanouts 2 --vm-name web1 --ready-workers 1 --display vs-vhost-multi --http 127.0.0.1:0 \
  --input --record "$TEST_TMP/multi-%o.h264" >/dev/null 2>"$TEST_TMP/multi.log" &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do [ -S "$TEST_TMP/multi.sock" ] && break; sleep 0.05; done
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" --scanouts "$TEST_TMP/multi.sock" "$TEST_TMP/multi.out" 12 \
  >"$TEST_TMP/multi.vmm.log" 2>&1 &
vmm=$!
BG_PIDS+=("$vmm")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/multi.out" 2>/dev/null && break; sleep 0.1; done
check "the device's config says 2 scanouts ($(multi num_scanouts))" test "$(multi num_scanouts)" = 2
check "its display info: 2 scanouts enabled at 64x48, no third ($(multi info))" \
  test "$(multi info)" = "64x48:1 64x48:1 0x0:0"
check "scanout 1's EDID answers its mode ($(multi edid1))" test "$(multi edid1)" = 64x48
check "SET_SCANOUT of scanout 2 is refused as an invalid scanout ($(multi scanout2))" test "$(multi scanout2)" = 0x1202
check "  ... with one line" test "$(grep -c 'SET_SCANOUT of scanout 2 (the device has 2)$' "$TEST_TMP/multi.log")" -eq 1
for _ in $(seq 50); do grep -q 'display: output web1.1 ' "$TEST_TMP/multi.log" && break; sleep 0.1; done
url0=$(sed -nE 's|.*display: output web1 \(.*\): viewer page at (http://[^ ]+)$|\1|p' "$TEST_TMP/multi.log")
url1=$(sed -nE "s|.*display: output web1\\.1 \\(VM device [0-9]+'s scanout 1\\): viewer page at (http://[^ ]+)$|\\1|p" \
  "$TEST_TMP/multi.log")
check "scanout 1 is output web1.1, its URL and token its own (${url1##*\?})" \
  test -n "$url0" -a -n "$url1" -a "${url0#*token=}" != "${url1#*token=}"
size1=$(timeout 20 python3 "$D/ws_viewer.py" size "$url1" 2>&1 | tail -n1)
size0=$(timeout 20 python3 "$D/ws_viewer.py" size "$url0" 2>&1 | tail -n1)
check "web1.1's viewer gets scanout 1's 32x24 frame ($size1), web1's scanout 0's 64x48 ($size0)" \
  test "$size1" = 32x24 -a "$size0" = 64x48
cursor1=$(timeout 20 python3 "$D/ws_viewer.py" vm-input "$url1" 2>&1 | tail -n1)
check "scanout 1's cursor reaches web1.1's viewer ($cursor1)" grep -q 'cursors 64x64@5,7:48.32.16.255$' <<<"$cursor1"
resized=$(timeout 60 python3 "$D/ws_viewer.py" resize "$url1" 96x64 2>&1 | tail -n1)
check "a viewer's size on web1.1 becomes scanout 1's mode, and its stream follows ($resized)" test "$resized" = "32x24 96x64"
wait "$vmm" || true
check "the guest saw scanout 1's new mode alone ($(multi mode | tr '\n' ','))" \
  grep -qx '64x48:1 96x64:1 0x0:0 events 1' <(multi mode)
check "  ... said in one line of scanout 1" \
  test "$(grep -cE "vhost-user device [0-9]+: scanout 1's mode is 96x64, as a viewer asked \(96x64\)$" \
    "$TEST_TMP/multi.log")" -eq 1
kill -TERM "$server" 2>/dev/null || true
wait "$server" || true
middle() {  # FILE W H: the first frame's middle pixel, decoded, as R G B
  ffmpeg -v error -i "$1" -frames:v 1 -f rawvideo -pix_fmt rgb24 - 2>/dev/null | python3 -c 'import sys
w, h = int(sys.argv[1]), int(sys.argv[2]); d = sys.stdin.buffer.read(); o = (h // 2 * w + w // 2) * 3
print(*d[o:o + 3]) if len(d) >= w * h * 3 else print("none")' "$2" "$3"
}
rgb1=$(middle "$TEST_TMP/multi-web1.1.h264" 32 24)
rgb0=$(middle "$TEST_TMP/multi-web1.h264" 64 48)
read -r red green blue <<<"$rgb1"
check "web1.1's recording shows scanout 1's colour (red green blue $rgb1, written 40 200 20)" \
  test "${red:-0}" -ge 20 -a "${red:-0}" -le 60 -a "${green:-0}" -ge 180 -a "${green:-0}" -le 220 -a \
  "${blue:-255}" -ge 0 -a "${blue:-255}" -le 45
read -r red green blue <<<"$rgb0"
check "web1's recording shows scanout 0's grey (red green blue $rgb0, written 128 128 128)" \
  test "${red:-0}" -ge 110 -a "${red:-0}" -le 146 -a "${green:-0}" -ge 110 -a "${green:-0}" -le 146 -a \
  "${blue:-0}" -ge 110 -a "${blue:-0}" -le 146
refused=$(grep -E 'venus-server: (warn|error):' "$TEST_TMP/multi.log" | grep -v 'SET_SCANOUT of scanout 2 ' || true)
check "no other refusal (${refused:-none})" test -z "$refused"
[ "$N_FAIL" -eq 0 ] || { show_tail "$TEST_TMP/multi.log" 20; show_tail "$TEST_TMP/multi.vmm.log"; }
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Viewer input to a VM's virtio-input device (docs/vhost-user.md, "The
# input device"): `venus-server --vhost-user --vhost-user-input --display
# --http --input`, and two fake VMMs (tests/vhost_user/fake_vmm.py, each a
# process with vhost-user front ends and guest RAM in a memfd). VMM A has
# a GPU device whose scanout shows a 64x48 frame and an input device; VMM
# B only an input device. A viewer (tests/display/ws_viewer.py vm-input)
# moves the pointer to the frame's middle, clicks, types KEY_A and turns
# the wheel. A's eventq must get them as evdev events (ABS_X/ABS_Y at
# the middle of 0..32767, BTN_LEFT, KEY_A, REL_WHEEL -1, each report ended
# by SYN_REPORT); B's nothing: input goes only to the VMM of the shown
# scanout. Both devices end when their VMM goes, and the server logs no
# refusal. Skips without the display (build or libx264).
. "$(dirname "$0")/lib.sh"

require_tools python3
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
  --display vs-vhost-input --http 127.0.0.1:0 --input >"$out" 2>"$log" &
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

python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu.sock" "$TEST_TMP/input.sock" "$TEST_TMP/vmm-a.out" 8 \
  >"$TEST_TMP/vmm-a.log" 2>&1 &
vmm_a=$!
python3 "$TESTS_DIR/vhost_user/fake_vmm.py" - "$TEST_TMP/input.sock" "$TEST_TMP/vmm-b.out" 8 \
  >"$TEST_TMP/vmm-b.log" 2>&1 &
vmm_b=$!
BG_PIDS+=("$vmm_a" "$vmm_b")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/vmm-a.out" 2>/dev/null && break; sleep 0.1; done
check "VMM A's scanout shows a frame" grep -q shown "$TEST_TMP/vmm-a.out"
if out_v=$(python3 "$D/ws_viewer.py" vm-input "$url" 2>&1); then pass "the viewer: $out_v"; else fail "the viewer: $out_v"; fi
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
check "VMM B's input device got nothing (another VMM's)" \
  test "$(grep -cE '^[0-9]+ [0-9]+ [0-9]+$' "$TEST_TMP/vmm-b.out")" -eq 0
check "both input devices ended with their VMM" \
  test "$(grep -cE 'vhost-user device [0-9]+: ended after [0-9]+ input events' "$log")" -eq 2
kill -TERM "$server" 2>/dev/null || true
rc=0
wait "$server" || rc=$?
check "the server stopped on SIGTERM (status $rc)" test "$rc" -eq 0
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$log" || true)
if [ -z "$refused" ]; then pass "the server logged no refusal"; else
  fail "the server logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
[ "$N_FAIL" -eq 0 ] || { show_tail "$log" 20; show_tail "$TEST_TMP/vmm-a.log"; }
finish

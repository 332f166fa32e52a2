#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM presentation channel without a VM: venus-server as a render server
# (--socket-fd, driven by tests/rs_vmm.c as the VMM) with its display and
# --vm-channel; rs_vmm also plays the guest's compositor on the channel's
# socket (listening, as QEMU's `-chardev socket,server=on` does). A context
# makes two SHAREABLE blobs of LINEAR XRGB8888 device memory; the guest
# shows numbered frames through ATTACH/COMMIT, waiting for RELEASE and
# FRAME. Checks: the recording decodes to whole frames whose numbers only
# grow (tests/display/check_stream.py), every frame shown came from server
# memory, each hostile message got exactly one log line, the connection
# survived the first bad message of a session and closed at the second (or
# at a size that cannot be framed, or at a flood of ATTACHes or of HELLOs),
# and the server connected again.
# With worker processes, the page (--http --input, tests/display/ws_viewer.py)
# moves the pointer, and the guest must get it as POINTER_MOTION.
# The options come through $VENUS_SERVER_OPTIONS, as under QEMU. Run with
# the contexts in worker processes (the default) and as threads, and once
# with the server listening (--vm-channel listen:PATH) and the guest
# connecting.
. "$(dirname "$0")/lib.sh"

require_tools ffmpeg python3
[ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }
if ! "$SERVER_BIN" --help | grep -c -- '--vm-channel' >/dev/null; then
  skip "this build has no display (meson -Ddisplay: libwayland-dev, wayland-protocols, libx264-dev, libyuv-dev)"
  finish
fi
VMM=$BUILD_DIR/tests/rs_vmm
[ -x "$VMM" ] || { fail "no $VMM (built by make)"; finish; }
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
# run_mode LABEL ISOLATE: the whole check with the contexts in worker
# processes (the default; the display reads their memory through each
# worker's link) or as threads of the server.
run_mode() {
  local label=$1 isolate=$2 listen=${3:-} input=${4:-} rc a args res line figures vm_figures others total sessions
  CHANNEL=$TEST_TMP/vsd-$label.sock
  REC=$TEST_TMP/vm-$label.h264
  OUT=$TEST_TMP/vmm-$label.out LOG=$TEST_TMP/server-$label.log

  rc=0 args=()
  for a in "${SERVER_EXTRA_ARGS[@]}"; do args+=(--server-arg "$a"); done
  : >"$OUT"
  if [ -n "$input" ]; then
    # The page's pointer, moved (tests/display/ws_viewer.py input) until
    # the fake guest says it arrived.
    (
      deadline=$((SECONDS + 120)) url=""
      until grep -q 'waiting for the page' "$OUT" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
      until grep -qE 'pointer motion (reached|from the page)' "$OUT" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
        [ -n "$url" ] || url=$(grep -hoE 'http://[^ ]+token=[^ ]+' "$OUT" "$LOG" 2>/dev/null | head -n1)
        [ -z "$url" ] || python3 "$TESTS_DIR/display/ws_viewer.py" input "$url" >>"$TEST_TMP/input-$label.out" 2>&1 || true
        sleep 0.5
      done
    ) &
    BG_PIDS+=("$!")
  fi
  RS_VMM_CHANNEL=$CHANNEL RS_VMM_CHANNEL_CONNECT=${listen:+1} RS_VMM_CHANNEL_INPUT=$input \
  VENUS_SERVER_OPTIONS="$isolate--display vm-0 --record $REC --fps 30 --vm-channel $listen$CHANNEL${input:+ --http 127.0.0.1:0 --input}" \
    env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 300 \
    "$VMM" "$SERVER_BIN" "${args[@]}" vmchannel >>"$OUT" 2>"$LOG" || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$OUT"; then
    pass "$label: the fake VMM and guest: $(grep -c '^ok:' "$OUT") checks ok"
  else
    fail "$label: the fake VMM and guest: $(describe_rc "$rc")"
    grep -m8 '^error:' "$OUT" | sed 's/^/         | /' || true
    show_tail "$LOG" 15
  fi

  if [ -n "$input" ]; then
    if line=$(grep -m1 "pointer motion reached the guest" "$OUT"); then pass "$label: input: ${line#ok: vmchannel: }"; else
      fail "$label: input: the page's pointer motion never reached the guest"; fi
  fi
  if [ -s "$REC" ]; then
    # Each page that joined (the input run's) got the shown frame again.
    if res=$(CHECK_STREAM_REPEATS=$(grep -c . "$TEST_TMP/input-$label.out" 2>/dev/null || echo 0) \
             python3 "$TESTS_DIR/display/check_stream.py" numbers "$REC" 256 64 10); then
      pass "$label: recording: $res"
    else
      fail "$label: recording: $res"
    fi
  else
    fail "$label: no recording at $REC"
  fi

  # Every shown frame from server memory, nothing copied or foreign.
  figures=$(grep -E 'display: [0-9]+ commits' "$LOG" || true)
  vm_figures=$(grep -E 'display: vm channel: ' "$LOG" || true)
  if [[ $figures =~ \(([0-9]+)\ from\ server\ memory,\ 0\ foreign\ dma-buf,\ 0\ wl_shm\) ]] && [ "${BASH_REMATCH[1]}" -ge 10 ] &&
     [[ $vm_figures =~ ,\ ([0-9]+)\ shown\ from\ server\ memory,\ 0\ refused ]] && [ "${BASH_REMATCH[1]}" -ge 10 ]; then
    pass "$label: figures: ${figures#*display: }; ${vm_figures#*display: }"
  else
    fail "$label: figures: '${figures:-none}' / '${vm_figures:-none}'"
  fi

  # One line per hostile message, and no other error line.
  expect_line() {
    local what=$1 re=$2 n
    n=$(grep -cE "^venus-server: error: vm channel: $re" "$LOG" || true)
    if [ "$n" -eq 1 ]; then pass "$label: $what: one line"; else fail "$label: $what: $n lines matching '$re'"; fi
  }
  expect_line "unknown resource (refused)" "refusing a guest message: ATTACH of resource 999, which the VM does not have$"
  expect_line "past the blob (second: closed)" "closing the guest's connection: ATTACH of resource 10: offset 0 \+ stride 1024 x height 65 = 66560 bytes, the blob has 65536 \(its second bad message\)$"
  expect_line "not SHAREABLE (refused)" "refusing a guest message: ATTACH of resource 12, not a SHAREABLE blob \(flags 0x1\)$"
  expect_line "unframeable size (closed)" "closing the guest's connection: a message of type 2 claims 4096 bytes"
  expect_line "unknown type (refused)" "refusing a guest message: unknown message type 99 \(16 bytes\)$"
  expect_line "a flood of ATTACHes (closed)" "closing the guest's connection: a flood: more than [0-9]+ messages within a second$"
  expect_line "a flood of HELLOs (closed)" "closing the guest's connection: a flood: more than [0-9]+ HELLOs within a second$"
  others=$(grep -E '^(worker process [0-9]+: )?venus-server: error:' "$LOG" | grep -v 'vm channel: ' || true)
  total=$(grep -cE '^venus-server: error: vm channel: ' "$LOG" || true)
  if [ -z "$others" ] && [ "$total" -eq 7 ]; then pass "$label: no other error line"; else
    fail "$label: $total vm channel error lines (want 7); others: ${others:-none}"; fi
  # One HELLO on each of the four other connections; on the HELLO flood's,
  # 16 (its first and 15 of the flood) before the 17th closes it.
  sessions=$(grep -cE 'vm channel: guest session [0-9]+' "$LOG" || true)
  check "$label: the guest's sessions: $sessions (want 4 + 16)" [ "$sessions" -eq 20 ]
  if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$LOG"; then
    fail "$label: sanitizer report in the server log"
  fi
}

run_mode process "" "" 1
run_mode thread "--isolate thread "
# The server listening, the guest connecting (QEMU's chardev with
# server=off,reconnect=1), and connecting again after each close.
run_mode listen "" listen:
finish

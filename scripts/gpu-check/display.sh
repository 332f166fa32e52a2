# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "display" of scripts/gpu-check.sh (sourced after the set-up):
#   display-vkcube   the server's display (--display, --record, --http):
#                    vkcube-wayland through Venus at 1920x1080, 300 frames,
#                    one WebSocket viewer reading the stream; the recorded
#                    H.264 comes back as vkcube-1080p.h264 in the logs
#   display-frames   tests/display/wl_frames: 300 numbered frames at 1920x1080
#                    behind heavy GPU work, recorded (frames-1080p.h264: check
#                    it with tests/display/check_stream.py numbers)
#   display-bench    bench/display.sh at 1280x720 and 1920x1080: presented and
#                    encoded fps, commit->send median and p99, convert and
#                    encode time, CPU and copies per frame (display-bench.md)

# --- the display: vkcube at 1080p streamed and recorded; bench/display.sh ----------------
export XDG_RUNTIME_DIR=$prefix/rt
mkdir -m 700 "$XDG_RUNTIME_DIR"
rec=$logs/vkcube-1080p.h264 out=$logs/vkcube-1080p.txt
rm -f "$rec"
if run_server --memory auto --display vs-gpu --record "$rec" --http 127.0.0.1:0; then
  url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
  python3 "$bundle/tests/display/ws_viewer.py" read "${url:-http://127.0.0.1:0/}" 100 >"$prefix/viewer.out" 2>&1 &
  viewer=$!
  sleep 0.3
  t0=$(date +%s.%N)
  WAYLAND_DISPLAY=vs-gpu LIMIT=120 client vkcube-wayland --width 1920 --height 1080 --c 300 >"$out" 2>&1; rc=$?
  t1=$(date +%s.%N)
  [ $rc -ge 124 ] && dump_threads "$server_pid" display-server
  wait "$viewer"; rc_w=$?
  stop_server
  { echo "## viewer (rc $rc_w)"; cat "$prefix/viewer.out"; } >>"$out"
  stream=$(grep -m1 'display stream:' "$server_log")
  enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' <<<"$stream")
  size=$(stat -c %s "$rec" 2>/dev/null || echo 0)
  if [ $rc -eq 0 ] && [ $rc_w -eq 0 ] && [ "$size" -gt 0 ] && [ "${enc:-0}" -gt 0 ]; then
    result display-vkcube PASS "vkcube-wayland 1920x1080, 300 frames, exit 0 ($(awk -v a="$t0" -v b="$t1" \
      'BEGIN {printf "%.1f", 300 / (b - a)}') fps), $enc frames encoded, $((size / 1024)) KiB recorded; viewer: $(cat "$prefix/viewer.out")"
  else
    result display-vkcube FAIL "vkcube rc $rc, viewer rc $rc_w ($(tail -n1 "$prefix/viewer.out")), ${enc:-no} frames encoded, $size bytes recorded; see $(basename "$out") and $(basename "$server_log")"
  fi
  grep -E 'display stream:|display: [0-9]+ commits' "$server_log" | sed 's/^/   /'
else
  result display-vkcube FAIL "the server did not start: $(tail -n1 "$server_log")"
fi

# Numbered frames behind heavy GPU work (tests/display/wl_frames): the record
# comes back for tests/display/check_stream.py numbers (no ffmpeg here).
rec=$logs/frames-1080p.h264 out=$logs/frames-1080p.txt
rm -f "$rec"
if run_server --memory auto --display vs-gpu-frames --record "$rec"; then
  WAYLAND_DISPLAY=vs-gpu-frames LIMIT=120 client "$build/tests/display/wl_frames" 300 1920 1080 >"$out" 2>&1; rc=$?
  [ $rc -ge 124 ] && dump_threads "$server_pid" display-frames-server
  stop_server
  stream=$(grep -m1 'display stream:' "$server_log")
  enc=$(sed -nE 's/.*display stream: ([0-9]+) encoded.*/\1/p' <<<"$stream")
  if [ $rc -eq 0 ] && [ "${enc:-0}" -gt 0 ]; then
    result display-frames PASS "wl_frames 300 numbered frames at 1920x1080, exit 0, $enc encoded (check the record with check_stream.py numbers)"
  else
    result display-frames FAIL "wl_frames rc $rc, ${enc:-no} frames encoded; see $(basename "$out")"
  fi
  grep -E 'display stream:' "$server_log" | sed 's/^/   /'
else
  result display-frames FAIL "the server did not start: $(tail -n1 "$server_log")"
fi

echo "== bench/display.sh"
: >"$prefix/display-bench.start"
HOST_ICD=$HOST_ICD VIRTIO_ICD=$VIRTIO_ICD SIZES="1280x720 1920x1080" BROWSER_SECONDS=0 \
  timeout -k 5 300 "$top/bench/display.sh" "$build" >"$prefix/display-bench.out" 2>&1; rc=$?
# This run's report and log (display.sh makes the log before the first run).
runlog=$(find "$top/bench/out" -maxdepth 1 -name 'display-*.log' -newer "$prefix/display-bench.start" 2>/dev/null | head -n1)
if [ -n "$runlog" ]; then
  cp "${runlog%.log}.md" "$logs/display-bench.md" 2>/dev/null && sed 's/^/   /' "$logs/display-bench.md"
  cat "$prefix/display-bench.out" "$runlog" >"$logs/display-bench.log"
fi
rows=$(grep -cE '^\| [0-9]+x[0-9]+ ' "$logs/display-bench.md" 2>/dev/null)
if [ $rc -eq 0 ] && [ "${rows:-0}" = 2 ]; then
  result display-bench PASS "$(awk -F' *\\| *' '$2 == "1920x1080" {printf "1920x1080: presented %s fps, encoded %s fps, commit->send median %s, p99 %s", $3, $4, $5, $6}' \
    "$logs/display-bench.md") (goal: 60 fps, median < 8 ms)"
else
  result display-bench FAIL "rc $rc, ${rows:-0} of 2 rows: $(tail -n1 "$prefix/display-bench.out")"
fi

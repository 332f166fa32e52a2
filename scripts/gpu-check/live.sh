# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "live" of scripts/gpu-check.sh (sourced after the set-up):
#   live-1080p       the page in headless Chromium (Debian's, carried as .debs:
#                    scripts/gpu-bundle.sh with CHROMIUM=1 makes the parts in
#                    BUNDLE/../gpu-chromium; CHROMIUM_PARTS names another
#                    directory): vkcube-wayland through Venus at 1920x1080,
#                    --fps 60, LIVE_SECONDS (60) watched; commit->decoded and
#                    commit->drawn median and p99, and the p99 of the first
#                    and the last 10 s (goal: drawn median < 50 ms); the page's
#                    screenshot is live-1080p.png

# --- live in the browser: commit->drawn at 1080p in headless Chromium -------------------
if ! chromium_unpack; then
  result live-1080p SKIP "$CHROMIUM_SKIP"
else
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  if run_server --memory auto --display vs-live --http 127.0.0.1:0 --fps 60; then
    url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
    secs=${LIVE_SECONDS:-60}
    WAYLAND_DISPLAY=vs-live LIMIT=$((secs + 120)) client vkcube-wayland --width 1920 --height 1080 \
      >"$logs/live-vkcube.txt" 2>&1 &
    cube=$!
    sleep 2
    line=$(timeout -k 5 $((secs + 100)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile" "${url:-http://127.0.0.1:0/}" latency "$secs" 5 "$logs/live-1080p.png" 2>&1); rc=$?
    kill "$cube" 2>/dev/null; wait "$cube" 2>/dev/null
    stop_server
    echo "$line" >"$logs/live-1080p.txt"
    if [ $rc -eq 0 ]; then
      result live-1080p PASS "$line (goal: commit->drawn median < 50 ms)"
    else
      result live-1080p FAIL "rc $rc: $(echo "$line" | tail -n 3 | tr '\n' ' ')"
    fi
    grep -E 'display stream:|viewers served' "$server_log" | sed 's/^/   /'
  else
    result live-1080p FAIL "the server did not start: $(tail -n1 "$server_log")"
  fi
fi

# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "vm-live" of scripts/gpu-check.sh (sourced after the set-up; needs
# the VM parts and the Chromium parts, SKIP without them):
#   vm-live          vkcube at VM_LIVE_SIZE (1920x1080) live in Chromium
#                    (LIVE_SECONDS, default 20, watched): through vtest, then
#                    from the test VM's guest on the VM display (workload
#                    display-apps, ended by the page's Escape): commit->drawn,
#                    encoded of committed, commit->encoded

if ! vm_unpack; then
  result vm-live SKIP "$VM_SKIP"
elif ! chromium_unpack; then
  result vm-live SKIP "$CHROMIUM_SKIP"
else
  # The same app, size and page, through vtest and from a VM guest.
  export XDG_RUNTIME_DIR=$prefix/rt
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  secs=${LIVE_SECONDS:-20} size=${VM_LIVE_SIZE:-1920x1080}
  vtest_line="" vtest_stream=""
  if run_server --memory auto --display vs-vtest-live --http 127.0.0.1:0 --input; then
    url=$(sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$server_log")
    WAYLAND_DISPLAY=vs-vtest-live LIMIT=$((secs + 120)) client vkcube-wayland --width "${size%x*}" --height "${size#*x}" \
      >"$logs/vm-live-vtest-vkcube.txt" 2>&1 &
    cube=$!
    sleep 2
    vtest_line=$(timeout -k 5 $((secs + 100)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile-vtest" "${url:-http://127.0.0.1:0/}" latency "$secs" 5 "$logs/vm-live-vtest.png" 2>&1 |
      grep -E '^browser: [0-9]+ s after' | head -n1)
    kill "$cube" 2>/dev/null; wait "$cube" 2>/dev/null
    stop_server
    vtest_stream=$(grep -E 'display stream:' "$server_log" | tail -n1)
  fi
  # The VM: Debian's vkcube in the guest on vs-guest-present; the page
  # opens once the guest says vkcube starts, and its Escape ends vkcube.
  dir=$logs/vm-live
  mkdir -p "$dir"
  (
    deadline=$((SECONDS + 500)) url=""
    until grep -aq '^VMTEST cube starting' "$dir/live/guest.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
    url=$(grep -aohE 'http://[^ ]+token=[^ ]+' "$dir/live/qemu.log" 2>/dev/null | head -n1)
    timeout -k 5 $((secs + 200)) python3 "$bundle/tests/display/cdp_view.py" "$prefix/chromium-run" \
      "$prefix/chromium-profile-vm" "${url:-http://127.0.0.1:0/}" latency-escape "$secs" 5 "$logs/vm-live.png" \
      >"$logs/vm-live-browser.txt" 2>&1
  ) &
  browser=$!
  t0=$SECONDS
  VENUS_SERVER_OPTIONS="--http 127.0.0.1:0 --input" vm_run vm-live display-apps --vm-display --guest-size "$size"; rc=$?
  wait "$browser" 2>/dev/null
  vm_line=$(grep -E '^browser: [0-9]+ s after' "$logs/vm-live-browser.txt" | head -n1)
  vm_stream=$(grep -E 'display stream:' "$dir/qemu.log" 2>/dev/null | tail -n1)
  vm_memory=$(grep -oE 'vm channel: [0-9]+ commits, [0-9]+ shown from server memory, [0-9]+ refused' "$dir/qemu.log" 2>/dev/null | tail -n1)
  echo "   vtest $size: ${vtest_line:-no browser figures}"
  echo "   vtest $size: ${vtest_stream#*info: }"
  echo "   VM $size: ${vm_line:-no browser figures}"
  echo "   VM $size: ${vm_stream#*info: }"
  echo "   VM $size: ${vm_memory:-no vm channel figures}"
  if [ $rc -eq 0 ] && [ -n "$vm_line" ] && grep -q '^pressed Escape' "$logs/vm-live-browser.txt" &&
     grep -q '^VMTEST step cube rc 0 ' "$dir/guest.log" 2>/dev/null && [[ $vm_memory =~ ,\ [1-9][0-9]*\ shown ]]; then
    result vm-live PASS "$vm_accel, guest vkcube $size on the VM display, live in Chromium, ended by the page's Escape; $vm_memory; $((SECONDS - t0)) s"
  else
    result vm-live FAIL "QEMU rc $rc; browser: $(tail -n 3 "$logs/vm-live-browser.txt" 2>/dev/null | tr '\n' ' '); steps: $(grep -o 'step [a-z]* rc [0-9]*' "$dir/guest.log" 2>/dev/null | tr '\n' ' '); see vm-live/"
  fi
fi

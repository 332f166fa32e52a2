# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "upgrade" of scripts/gpu-check.sh (sourced after the set-up):
#   upgrade          a live upgrade in place (SIGUSR2), twice, with two
#                    vk_compute clients (64 MiB, every word checked)
#                    computing across both: the take-over lines, how long
#                    the tenants' charges waited, both clients' results
#   upgrade-move     an upgrade in place whose new binary moves each
#                    client to a fresh worker of its own
#                    (--upgrade-workers: contexts that keep a journal and
#                    can be handed over when asked): vk_compute (64
#                    MiB) and vk_device_local (1 GiB without host access,
#                    copied through the GPU) across it, the hand-overs and
#                    the pause each client saw
#   upgrade-vm       the same of a VM devices' server (--vhost-user,
#                    --vhost-user-input) while a fake VMM
#                    (tests/vhost_user/fake_vmm.py --vm) flushes its GPU
#                    device's two scanouts: both devices taken over with
#                    their workers each time, the VMM served throughout;
#                    with the display (--display --http), a viewer of
#                    each scanout's output back after each upgrade, and
#                    how long it went without a frame

# upgrade_twice PID LOG PATTERN: SIGUSR2 to PID twice, each time waiting
# up to 30 s for another line of LOG matching PATTERN (a take-over), then
# a second; prints how many there are.
upgrade_twice() {
  local n lines=0
  for n in 1 2; do
    kill -USR2 "$1"
    for _ in $(seq 600); do
      lines=$(grep -c "$3" "$2")
      [ "$lines" -ge "$n" ] && break
      sleep 0.05
    done
    sleep 1
  done
  echo "$lines"
}

# --- a live upgrade in place with clients computing across it ----------------------
if ! run_server --log-level info; then
  result upgrade FAIL "server did not start"
else
  up_out=$logs/upgrade
  mkdir -p "$up_out"
  LIMIT=300 client "$build/tests/vk_compute" --mib 64 --rounds 60 --pause-ms 150 >"$up_out/a.out" 2>&1 &
  up_a=$!
  LIMIT=300 client "$build/tests/vk_compute" --mib 64 --rounds 60 --pause-ms 150 >"$up_out/b.out" 2>&1 &
  up_b=$!
  for f in a b; do
    for _ in $(seq 600); do grep -q '^info: rounds begin' "$up_out/$f.out" 2>/dev/null && break; sleep 0.05; done
  done
  up_lines=$(upgrade_twice "$server_pid" "$server_log" 'upgrade: took over 2 tenants, their workers')
  up_rc=0
  wait "$up_a" || up_rc=$?
  wait "$up_b" || up_rc=$?
  pauses=$(sed -nE 's/.*in place in ([0-9]+) ms; their charges waited ([0-9]+) ms.*/\2/p' "$server_log" | tr '\n' ' ')
  if [ "$up_lines" -ge 2 ] && [ "$up_rc" -eq 0 ] && grep -q '^PASSED' "$up_out/a.out" && grep -q '^PASSED' "$up_out/b.out"; then
    result upgrade PASS "2 upgrades in place, 2 clients correct across both; charges waited ${pauses}ms"
  else
    result upgrade FAIL "take-over lines $up_lines, clients rc $up_rc: $(grep -h -m2 -E '^(error|FAIL)' "$up_out"/*.out | tr '\n' ' ')"
    grep -E 'upgrade|killed' "$server_log" | tail -n 8
  fi
  stop_server || true
fi

# --- clients moved to workers of the new binary -----------------------------------
if ! run_server --upgrade-workers --log-level info; then
  result upgrade-move FAIL "server did not start"
else
  mv_out=$logs/upgrade-move
  mkdir -p "$mv_out"
  LIMIT=300 client "$build/tests/vk_compute" --mib 64 --rounds 40 --pause-ms 150 >"$mv_out/compute.out" 2>&1 &
  mv_a=$!
  LIMIT=300 client "$build/tests/vk_device_local" --mib 1024 --rounds 30 >"$mv_out/local.out" 2>&1 &
  mv_b=$!
  for _ in $(seq 600); do grep -q '^info: rounds begin' "$mv_out/compute.out" 2>/dev/null && break; sleep 0.05; done
  sleep 2
  kill -USR2 "$server_pid"
  for _ in $(seq 600); do [ "$(grep -c 'restore: made from a snapshot' "$server_log")" -ge 2 ] && break; sleep 0.05; done
  mv_rc=0
  wait "$mv_a" || mv_rc=$?
  wait "$mv_b" || mv_rc=$?
  mv_asked=$(grep -c 'asked to hand the client to a worker of the new binary' "$server_log")
  mv_made=$(grep -c 'restore: made from a snapshot' "$server_log")
  mv_pauses=$(sed -nE 's/.* ([0-9.]+) ms after its quiet point in the worker before.*/\1/p' "$server_log" | tr '\n' ' ')
  mv_copies=$(sed -nE 's/.*restore: made from a snapshot .* ([0-9]+) host copies.*/\1/p' "$server_log" | tr '\n' ' ')
  if [ "$mv_asked" -eq 2 ] && [ "$mv_made" -eq 2 ] && [ "$mv_rc" -eq 0 ] && grep -q '^PASSED' "$mv_out/compute.out" &&
     grep -q '^PASSED' "$mv_out/local.out" && ! grep -q 'dropping client' "$server_log"; then
    result upgrade-move PASS "2 clients moved to workers of the new binary, both correct; pauses ${mv_pauses}ms, host copies ${mv_copies}"
  else
    result upgrade-move FAIL "asked $mv_asked, made $mv_made, clients rc $mv_rc: $(grep -h -m2 -E '^(error|FAIL)' "$mv_out"/*.out | tr '\n' ' ')"
    grep -E 'upgrade|hand-over|made from|dropping' "$server_log" | tail -n 8
  fi
  stop_server || true
fi

# --- the VM devices' server, upgraded twice while a VMM flushes its scanouts -------------
vu_dir=$prefix/upgrade-vm
rm -rf "$vu_dir"
mkdir -p "$vu_dir"
vu_log=$logs/upgrade-vm.log
# With the display: a viewer of each scanout's output reconnects after each
# upgrade (scanout 1, flushed once, is shown again by its worker).
mkdir -m 700 "$vu_dir/rt"
XDG_RUNTIME_DIR=$vu_dir/rt env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$build/venus-server" \
  --vhost-user "$vu_dir/gpu.sock" --vhost-user-input "$vu_dir/input.sock" --vm-scanouts 2 \
  --display vs-gpu-upgrade --http 127.0.0.1:0 --log-level info >"$vu_log" 2>&1 &
vu_pid=$!
for _ in $(seq 200); do [ -S "$vu_dir/input.sock" ] && break; sleep 0.05; done
FAKE_VMM_STILL=1 python3 "$top/tests/vhost_user/fake_vmm.py" --vm "$vu_dir/gpu.sock" "$vu_dir/input.sock" \
  "$vu_dir/vm.out" 8 64x48 >"$logs/upgrade-vm-vmm.log" 2>&1 &
vmm_pid=$!
for _ in $(seq 200); do grep -q '^scanout1$' "$vu_dir/vm.out" 2>/dev/null && break; sleep 0.05; done
for _ in $(seq 200); do grep -qE 'display: output vm-[0-9]+\.1 ' "$vu_log" && break; sleep 0.05; done
viewers=()
k=0
for url in $(sed -nE 's|.*display: output vm-[0-9.]+ \(.*\): viewer page at (http://[^ ]+)$|\1|p' "$vu_log"); do
  k=$((k + 1))
  python3 "$top/tests/display/ws_viewer.py" reconnect "$url" 3 >"$logs/upgrade-vm-viewer-$k.log" 2>&1 &
  viewers+=("$!")
done
for _ in $(seq 200); do [ "$(cat "$logs"/upgrade-vm-viewer-*.log 2>/dev/null | grep -c '^connection 1:')" = "$k" ] && break; sleep 0.05; done
vu_lines=$(upgrade_twice "$vu_pid" "$vu_log" 'upgrade: took over 2 tenants, their workers and 2 listening sockets')
vmm_rc=0
wait "$vmm_pid" || vmm_rc=$?
viewers_back=0
for v in "${viewers[@]}"; do wait "$v" && viewers_back=$((viewers_back + 1)); done
viewer_gaps=$(grep -hoE '[0-9]+ ms without a frame' "$logs"/upgrade-vm-viewer-*.log 2>/dev/null | sed 's/ without a frame//' | tr '\n' ' ')
taken=$(grep -c 'served by worker process [0-9]*, taken over' "$vu_log")
kill -TERM "$vu_pid" 2>/dev/null
wait "$vu_pid" 2>/dev/null
vu_pauses=$(sed -nE 's/.*in place in ([0-9]+) ms; their charges waited ([0-9]+) ms.*/\2/p' "$vu_log" | tr '\n' ' ')
if [ "$vu_lines" -ge 2 ] && [ "$taken" -eq 4 ] && [ "$vmm_rc" -eq 0 ] && grep -q '^done$' "$vu_dir/vm.out" &&
   [ "$k" = 2 ] && [ "$viewers_back" = 2 ] && ! grep -qE 'upgrade refused|venus-server: (warn|error):' "$vu_log"; then
  result upgrade-vm PASS "2 upgrades in place, a GPU and an input device taken over with their workers each time, the VMM served throughout; charges waited ${vu_pauses}ms; both scanouts' viewers back after each (${viewer_gaps}without a frame)"
else
  result upgrade-vm FAIL "take-over lines $vu_lines, devices taken over $taken, VMM rc $vmm_rc, viewers back $viewers_back of $k; see upgrade-vm.log"
  grep -E 'upgrade|warn|error' "$vu_log" | tail -n 8
fi

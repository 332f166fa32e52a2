#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tenants placed on one GPU each (worker/placement.h), on a host of two
# GPUs: lavapipe given to the Vulkan loader twice (a second ICD file naming
# a copy of its library). With --placement spread (the default), in
# process and thread mode:
# - 4 clients held at once are spread 2/2, one placement line each;
# - each client sees one physical device;
# - a tenant on GPU 1 gets the device its worker's warm-up prepared from
#   GPU 1's snapshot, and no warm-up drops a snapshot that "names another
#   physical device".
# A uid pinned to GPU 1 (--placement-pin) always goes there, and a pin to
# a GPU the host lacks is refused at start.
# A GPU whose warm-ups get no device (a test fault) is lost: one line, new
# clients go to the other, and it comes back with one line once a warm-up
# gets its device.
# --device 1 and --placement all: no placement; one device and both, and
# no warm-up drops a snapshot.
. "$(dirname "$0")/lib.sh"
covered_on_posix_by test_live_upgrade "which GPU a tenant is placed on"

require_tools vulkaninfo python3
COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }
CHURN="python3 $TESTS_DIR/vtest_churn.py"

# The second lavapipe: the loader lists a library once per path.
lvp_lib=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ICD"]["library_path"])' "$LVP_ICD")
if [ "${lvp_lib#/}" = "$lvp_lib" ]; then
  lvp_lib=$(for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
              [ -f "$d/$lvp_lib" ] && echo "$d/$lvp_lib" && break; done || true)
fi
[ -f "$lvp_lib" ] || { skip "lavapipe's library not found for a second copy"; finish; }
cp "$lvp_lib" "$TEST_TMP/libvulkan_lvp_second.so"
python3 - "$LVP_ICD" "$TEST_TMP/lvp_second.json" "$TEST_TMP/libvulkan_lvp_second.so" <<'EOF'
import json, sys
icd = json.load(open(sys.argv[1]))
icd["ICD"]["library_path"] = sys.argv[3]
json.dump(icd, open(sys.argv[2], "w"))
EOF
LVP_ICD="$LVP_ICD:$TEST_TMP/lvp_second.json"
native_run vulkaninfo --summary >"$TEST_TMP/native.txt" 2>&1 || true
native_gpus=$(grep -cE '^GPU[0-9]+:' "$TEST_TMP/native.txt" || true)
if [ "$native_gpus" -ne 2 ]; then
  skip "the loader lists $native_gpus physical devices with lavapipe given twice, not 2"
  finish
fi
pass "the host has 2 physical devices (lavapipe twice)"

PLACED_RE='placement: client [0-9]+ \(uid [0-9]+, process [0-9]+\) on GPU [01] '
DROP_RE='names another physical device'

# gpus_seen NAME: vulkaninfo --summary through the server; the number of
# physical devices the guest sees.
gpus_seen() {
  local rc=0
  venus_run vulkaninfo --summary >"$TEST_TMP/$1.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { echo "vulkaninfo $(describe_rc $rc)"; return; }
  grep -cE '^GPU[0-9]+:' "$TEST_TMP/$1.out" || true
}

spread_checks() {
  local mode=$1
  server_start --log-level info --isolate "$mode" || return 0
  check "$mode: one line names both GPUs ($(grep -m1 'placement: 2 GPUs' "$SERVER_LOG" | sed 's/^.*: placement/placement/'))" \
    grep -q 'placement: 2 GPUs' "$SERVER_LOG"
  $CHURN "$SERVER_SOCK" message 4 6 >"$TEST_TMP/held-$mode.out" 2>&1 &
  local churn=$!; BG_PIDS+=("$churn")
  wait_log_count "$PLACED_RE" 4 10 || true
  local on0 on1
  on0=$(log_count "${PLACED_RE/GPU \[01\]/GPU 0}")
  on1=$(log_count "${PLACED_RE/GPU \[01\]/GPU 1}")
  check "$mode: 4 clients at once spread 2/2 ($on0 on GPU 0, $on1 on GPU 1)" test "$on0" -eq 2 -a "$on1" -eq 2
  # Each line counts the tenants when it is written, so lines of clients
  # placed at once may come in any order: one of them saw 2 on each.
  check "$mode: a placement line counts 2 tenants on each GPU ($(grep -E "$PLACED_RE" "$SERVER_LOG" | grep -c 'tenants per GPU: 2 2)') lines)" \
    bash -c "grep -E '$PLACED_RE' '$SERVER_LOG' | grep -q 'tenants per GPU: 2 2)'"
  wait "$churn" 2>/dev/null || true
  local n
  n=$(gpus_seen "$mode-one")
  check "$mode: a client sees one physical device ($n)" test "$n" = 1
  # Four at once: each sees one.
  local pids=() i ok=0
  for i in 1 2 3 4; do
    venus_run vulkaninfo --summary >"$TEST_TMP/$mode-four-$i.out" 2>&1 &
    pids+=("$!"); BG_PIDS+=("$!")
  done
  for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" 2>/dev/null && [ "$(grep -cE '^GPU[0-9]+:' "$TEST_TMP/$mode-four-$i.out")" -eq 1 ] &&
      ok=$((ok + 1))
  done
  check "$mode: 4 clients at once each see one physical device ($ok of 4)" test "$ok" -eq 4
  check "$mode: no error line ($(log_errors | wc -l))" test -z "$(log_errors)"
  server_stop || true
}

spread_checks process
spread_checks thread

# GPU 1's snapshot, with the test's uid pinned to GPU 1: one client held
# there, the compute clients after it are placed on GPU 1 too, one after
# another, and later ones get the device their worker prepared from what
# an earlier one left.
server_start --log-level debug --ready-workers 2 --placement-pin "$(id -u)=1" || finish
check "the start line names the pin ($(log_count "placement: 2 GPUs.*\(pins: uid $(id -u) on GPU 1\)"))" \
  test "$(log_count "placement: 2 GPUs.*\(pins: uid $(id -u) on GPU 1\)")" -eq 1
sleep 2 # the prepared workers, one per GPU
$CHURN "$SERVER_SOCK" message 1 30 >"$TEST_TMP/held-snapshot.out" 2>&1 &
churn=$!; BG_PIDS+=("$churn")
wait_log_count "$PLACED_RE" 1 10 || true
ok=0
for i in 1 2 3 4; do
  rc=0; venus_run "$COMPUTE" >"$TEST_TMP/compute-$i.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] && ok=$((ok + 1))
  sleep 1.5 # the next worker's warm-up reads what this one left
done
kill "$churn" 2>/dev/null || true
wait "$churn" 2>/dev/null || true
check "4 compute clients one after another finished correctly ($ok of 4)" test "$ok" -eq 4
on1=$(log_count "${PLACED_RE/GPU \[01\]/GPU 1}'[^']*' \(pinned; ")
check "pinned: the held client and the 4 after it were placed on GPU 1 ($on1 on GPU 1)" test "$on1" -eq 5
handed=$(log_count 'host device handed over by the warm-up')
check "a later one got the device its worker prepared on GPU 1 ($handed handed over)" test "$handed" -ge 1
check "no warm-up dropped a snapshot that names another physical device ($(log_count "$DROP_RE"))" \
  test "$(log_count "$DROP_RE")" -eq 0
check "no error line with snapshots per GPU ($(log_errors | wc -l))" test -z "$(log_errors)"
server_stop || true

# A lost GPU: warm-ups on GPU 1 get no device there for the server's
# first 10 s (a test fault). One line; clients go to GPU 0 meanwhile; a
# later warm-up that gets one brings GPU 1 back, with one line.
VENUS_SERVER_TEST_LOSE_GPU=1:10000 server_start --log-level info --ready-workers 2 || finish
LOST_RE="placement: GPU 1 '[^']*' lost \(a worker prepared for it got no device there\); new tenants go to the others"
BACK_RE="placement: GPU 1 '[^']*' works again"
wait_log_count "$LOST_RE" 1 15 || true
check "GPU 1 lost, one line ($(grep -m1 -E "$LOST_RE" "$SERVER_LOG" | sed 's/^.*: placement/placement/'))" \
  test "$(log_count "$LOST_RE")" -eq 1
$CHURN "$SERVER_SOCK" message 2 2 >"$TEST_TMP/held-lost.out" 2>&1 || true
on0=$(log_count "${PLACED_RE/GPU \[01\]/GPU 0}")
on1=$(log_count "${PLACED_RE/GPU \[01\]/GPU 1}")
check "2 clients held at once while GPU 1 is lost went to GPU 0 ($on0 on GPU 0, $on1 on GPU 1)" \
  test "$on0" -eq 2 -a "$on1" -eq 0
wait_log_count "$BACK_RE" 1 40 || true
check "a later warm-up brought GPU 1 back, one line ($(log_count "$BACK_RE"))" test "$(log_count "$BACK_RE")" -eq 1
$CHURN "$SERVER_SOCK" message 2 2 >"$TEST_TMP/held-back.out" 2>&1 || true
on1=$(log_count "${PLACED_RE/GPU \[01\]/GPU 1}")
check "2 clients held at once after it came back: one on GPU 1 ($on1)" test "$on1" -eq 1
check "GPU 1 lost once, no error line ($(log_count "$LOST_RE") lost, $(log_errors | wc -l) errors)" \
  test "$(log_count "$LOST_RE")" -eq 1 -a -z "$(log_errors)"
server_stop || true

# A pin to a GPU the host does not have: refused at start, one line.
rc=0
env VK_ICD_FILENAMES="$LVP_ICD" timeout 30 "$SERVER_BIN" --socket "$TEST_TMP/pin7.sock" --placement-pin "$(id -u)=7" \
  >/dev/null 2>"$TEST_TMP/pin7.log" || rc=$?
check "a pin to GPU 7 is refused at start ($(describe_rc $rc): $(grep -m1 'placement-pin' "$TEST_TMP/pin7.log"))" \
  test "$rc" -ne 0 -a "$rc" -ne 124 -a "$(grep -c "placement: --placement-pin $(id -u)=7 names no GPU" "$TEST_TMP/pin7.log")" -eq 1

# --device 1: everyone on GPU 1, no placement.
server_start --log-level info --device 1 || finish
n=$(gpus_seen device1)
check "--device 1: a client sees one physical device ($n)" test "$n" = 1
check "--device 1: no placement line ($(log_count 'placement:'))" test "$(log_count 'placement:')" -eq 0
server_stop || true

# --placement all: every client sees both; the workers warm up on both,
# each from its own GPU's snapshot.
server_start --log-level info --placement all || finish
n=$(gpus_seen all)
check "--placement all: a client sees both physical devices ($n)" test "$n" = 2
for i in 1 2 3; do
  rc=0; venus_run "$COMPUTE" >"$TEST_TMP/all-compute-$i.out" 2>&1 || rc=$?
  check "--placement all: compute client $i ($(describe_rc $rc))" test "$rc" -eq 0
  sleep 1.5
done
check "--placement all: no placement line ($(log_count 'placement:'))" test "$(log_count 'placement:')" -eq 0
check "--placement all: no warm-up dropped a snapshot ($(log_count "$DROP_RE"))" test "$(log_count "$DROP_RE")" -eq 0
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What clients share is counted by the server process (base/ledger.h), and
# what a worker held is back when it ends, however it ends:
#   default  without --limit, device memory in host RAM is bounded per uid
#            at half of the RAM: one line at start, and the guest's heap
#            is no larger;
#   crash    2 clients inside 60 MiB SUBMIT_CMD2 payloads (partial-total-mib
#            150) have their worker processes killed: 2 more such clients
#            are then buffered, none dropped over partial-total-mib;
#   uid      two clients of one uid together hold no more than
#            memory-per-peer-mib (256): the second one's allocation past it
#            fails with VK_ERROR_OUT_OF_DEVICE_MEMORY and one line, the
#            client carries on; the guest's heap is 256 MiB;
#   memory   a client's worker killed while it holds 192 MiB: the next
#            client of its uid gets the whole bound.
#   thread   with --isolate thread the bound holds too;
#   peer     one uid's clients buffer no more than partial-per-peer-mib
#            (64) together, whatever partial-total-mib leaves: of 2 clients
#            inside 60 MiB payloads, one is buffered and one dropped with
#            one line naming the limit;
#   vram     on a discrete GPU (lavapipe shaped as one by
#            VK_LAYER_VENUS_moltenvk_shape, VENUS_MVK_SHAPE_GPU=discrete)
#            the DEVICE_LOCAL heap is the GPU's own memory: one uid holds
#            no more than vram-per-peer-mib (128) there, whatever
#            memory-per-peer-mib (64) says, with one line naming the limit;
#            the guest's heap is 128 MiB.
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo python3

FLOOD="python3 $TESTS_DIR/vtest_flood.py"
ALLOCS=$BUILD_DIR/tests/vk_allocs
[ -x "$ALLOCS" ] || { fail "no $ALLOCS (built by make)"; finish; }
MIB=$((1024 * 1024))

# heap_mib: the size of the guest's first heap, in MiB (empty on failure).
heap_mib() {
  venus_run 120 vulkaninfo >"$TEST_TMP/vi.out" 2>&1 || true
  local bytes
  bytes=$(grep -A1 'memoryHeaps\[0\]' "$TEST_TMP/vi.out" | sed -n 's/^[[:space:]]*size[[:space:]]*= \([0-9]*\).*/\1/p' | head -n1 || true)
  [ -n "$bytes" ] && echo $((bytes / MIB))
}
# worker_pids: the worker processes of the clients served so far.
worker_pids() { sed -n 's/.*client served by worker process \([0-9]*\)$/\1/p' "$SERVER_LOG"; }
# held_allocs OUT: N of vk_allocs --until-fail's "held N allocations".
held_allocs() { sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' "$1"; }
# until_fail NAME WHAT: 16 MiB allocations until one fails (TEST_TMP/NAME.out),
# checked as WHAT (the failure is clean, the client carries on); sets $held.
until_fail() {
  local rc=0
  venus_run env VN_PERF=no_async_mem_alloc "$ALLOCS" --until-fail 64 --size $((16 * MIB)) \
    >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" || rc=$?
  client_check "$2" "$TEST_TMP/$1.out" "$rc" || true
  held=$(held_allocs "$TEST_TMP/$1.out")
}

# --- default ---------------------------------------------------------------------
server_start || finish
ram_mib=$(($(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/meminfo) / 1024))
line=$(grep -m1 'memory: device memory in host RAM' "$SERVER_LOG" | sed 's/^venus-server: //' || true)
bound=$(echo "$line" | sed -n 's/.*bounded at \([0-9]*\) MiB per uid.*/\1/p')
if [ -n "$bound" ] && [ $((bound * 2)) -le "$ram_mib" ] && [ $((bound * 2)) -ge $((ram_mib - 2)) ]; then
  pass "default: half of the RAM ($ram_mib MiB) per uid: $line"
else
  fail "default: '$line' (want a bound of half of $ram_mib MiB)"
fi
heap=$(heap_mib)
check "default: the guest's heap is no larger than the bound (${heap:-?} MiB, bound ${bound:-?} MiB)" \
  test -n "$heap" -a -n "$bound" -a "${heap:-1}" -le "${bound:-0}"
server_stop || true

# One uid's share of partial-total-mib is not what is tested here: all
# these clients are one uid (see "peer" below).
server_start --limit partial-total-mib=150 --limit partial-per-peer-mib=0 --limit message-timeout-ms=60000 \
  --limit memory-per-peer-mib=256 || finish

# --- crash -------------------------------------------------------------------------
$FLOOD "$SERVER_SOCK" stall 2 60 30 120 >"$TEST_TMP/stall1.out" 2>&1 &
stall_pid=$!; BG_PIDS+=("$stall_pid")
deadline=$((SECONDS + 60))
until grep -q '^stalling' "$TEST_TMP/stall1.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
wait_log_count 'client served by worker process' 2 30 || true
sleep 1 # the workers take the messages' headers
pids=$(worker_pids)
for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
wait_log_count 'killed by signal 9' 2 30 || true
check "crash: 2 workers killed inside their clients' messages ($(echo $pids))" \
  test "$(log_count 'killed by signal 9')" -eq 2
$FLOOD "$SERVER_SOCK" stall 2 60 30 3 >"$TEST_TMP/stall2.out" 2>&1 || true
over=$(log_count 'limit partial-total-mib')
if grep -q '^closed 0 of 2' "$TEST_TMP/stall2.out" && [ "$over" -eq 0 ]; then
  pass "crash: 2 more clients' 60 MiB messages buffered after the crashed workers' were given back"
else
  fail "crash: later clients: '$(tail -n1 "$TEST_TMP/stall2.out")', $over line(s) over partial-total-mib (want none)"
  grep -m2 'partial-total-mib' "$SERVER_LOG" | sed 's/^/         | /' || true
fi
wait "$stall_pid" 2>/dev/null || true

# --- uid ---------------------------------------------------------------------------
heap=$(heap_mib)
check "uid: the guest's heap is memory-per-peer-mib (${heap:-?} MiB, want 256)" test "${heap:-0}" = 256
venus_run "$ALLOCS" --count 12 --size $((16 * MIB)) --hold-ms 15000 >"$TEST_TMP/holder.out" 2>"$TEST_TMP/holder.err" &
holder_pid=$!; BG_PIDS+=("$holder_pid")
deadline=$((SECONDS + 60))
until grep -q '^ok: all 12 allocations' "$TEST_TMP/holder.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
before=$(log_count 'limit memory-per-peer-mib=256')
until_fail second "uid: the second client's allocation past the bound fails, the client carries on"
check "uid: the two clients hold $((12 * 16)) + $((${held:-99} * 16)) MiB, no more than 256 MiB" \
  test -n "$held" -a $((192 + ${held:-99} * 16)) -le 256
lines=$(( $(log_count 'limit memory-per-peer-mib=256') - before ))
if [ "$lines" -eq 1 ]; then
  pass "uid: one line: $(grep 'limit memory-per-peer-mib=256' "$SERVER_LOG" | tail -n1 | sed 's/^venus-server: //')"
else
  fail "uid: $lines 'limit memory-per-peer-mib=256' lines (want 1)"
fi
rc=0; wait "$holder_pid" || rc=$?
client_check "uid: the first client kept its 192 MiB" "$TEST_TMP/holder.out" "$rc" || true

# --- memory --------------------------------------------------------------------------
n=$(log_count 'client served by worker process')
venus_run "$ALLOCS" --count 12 --size $((16 * MIB)) --hold-ms 60000 >"$TEST_TMP/victim.out" 2>&1 &
victim_pid=$!; BG_PIDS+=("$victim_pid")
deadline=$((SECONDS + 60))
until grep -q '^ok: all 12 allocations' "$TEST_TMP/victim.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
pid=$(worker_pids | sed -n "$((n + 1))p")
kills=$(log_count 'killed by signal 9')
[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
wait_log_count 'killed by signal 9' $((kills + 1)) 30 || true
wait "$victim_pid" 2>/dev/null || true
rc=0; venus_run env VN_PERF=no_async_mem_alloc "$ALLOCS" --until-fail 64 --size $((16 * MIB)) \
  >"$TEST_TMP/after.out" 2>"$TEST_TMP/after.err" || rc=$?
held=$(held_allocs "$TEST_TMP/after.out")
check "memory: after a worker holding 192 MiB was killed, the next client holds ${held:-?} x 16 MiB (14 to 16)" \
  test -n "$held" -a "${held:-0}" -ge 14 -a "${held:-99}" -le 16
check "server still running" server_alive
server_stop || true

# --- thread ------------------------------------------------------------------------
# --isolate thread: the clients' threads charge the same ledger directly.
server_start --isolate thread --limit memory-per-peer-mib=128 || finish
until_fail thread "thread: the allocation past memory-per-peer-mib=128 fails, the client carries on"
check "thread: the client holds ${held:-?} x 16 MiB (7 or 8)" test -n "$held" -a "${held:-0}" -ge 7 -a "${held:-99}" -le 8
server_stop || true

# --- peer ----------------------------------------------------------------------------
server_start --limit partial-per-peer-mib=64 --limit message-timeout-ms=60000 || finish
$FLOOD "$SERVER_SOCK" stall 2 60 30 5 >"$TEST_TMP/peer.out" 2>&1 || true
over=$(log_count 'limit partial-per-peer-mib: 67108864 bytes')
if grep -q '^closed 1 of 2' "$TEST_TMP/peer.out" && [ "$over" -eq 1 ]; then
  pass "peer: of 2 clients of one uid inside 60 MiB messages, one buffered, one dropped over partial-per-peer-mib"
else
  fail "peer: '$(tail -n1 "$TEST_TMP/peer.out")', $over line(s) over partial-per-peer-mib (want 'closed 1 of 2', 1)"
  grep -m2 'dropping client' "$SERVER_LOG" | sed 's/^/         | /' || true
fi
check "server still running" server_alive
server_stop || true

# --- vram ----------------------------------------------------------------------------
LAYER_DIR=$BUILD_DIR/tests/mvk_layer
if [ -f "$LAYER_DIR/VkLayer_venus_moltenvk_shape.json" ]; then
  VK_LAYER_PATH=$LAYER_DIR VK_INSTANCE_LAYERS=VK_LAYER_VENUS_moltenvk_shape VENUS_MVK_SHAPE_GPU=discrete \
    server_start --page-size 16384 --limit vram-per-peer-mib=128 --limit memory-per-peer-mib=64 || finish
  line=$(grep -m1 'memory: device memory in host RAM' "$SERVER_LOG" | sed 's/^venus-server: //' || true)
  check "vram: the bound is logged at start: $line" grep -q 'in a GPU.s own memory (its DEVICE_LOCAL heaps) bounded at 128 MiB per uid' <<<"$line"
  heap=$(heap_mib)
  check "vram: the guest's heap is vram-per-peer-mib (${heap:-?} MiB, want 128)" test "${heap:-0}" = 128
  until_fail vram "vram: the allocation past vram-per-peer-mib=128 fails, the client carries on"
  check "vram: the client holds ${held:-?} x 16 MiB (7 or 8), past memory-per-peer-mib" \
    test -n "$held" -a "${held:-0}" -ge 7 -a "${held:-99}" -le 8
  lines=$(log_count 'limit vram-per-peer-mib=128')
  if [ "$lines" -eq 1 ]; then
    pass "vram: one line: $(grep 'limit vram-per-peer-mib=128' "$SERVER_LOG" | sed 's/^venus-server: //')"
  else
    fail "vram: $lines 'limit vram-per-peer-mib=128' lines (want 1)"
  fi
  check "vram: no line over memory-per-peer-mib" test "$(log_count 'limit memory-per-peer-mib=')" -eq 0
  server_stop || true
else
  skip "vram: no VK_LAYER_VENUS_moltenvk_shape in $LAYER_DIR"
fi
finish

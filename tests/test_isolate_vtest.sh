#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --isolate process for vtest clients: each client is served by its own
# worker process, which enters its sandbox once it holds its device. A
# worker that crashes (provoked here with SIGSEGV, or
# SIGABRT under ASan, while its client holds a device and objects) takes
# only its client: one log
# line, the server and a concurrent compute client carry on, and a new
# client works. A server SIGKILLed with clients just connected takes every
# worker with it. Also notes what isolation costs per client (start-up of
# vulkaninfo, RSS of a worker), against thread workers.
. "$(dirname "$0")/lib.sh"

HOLD=$BUILD_DIR/tests/vk_hold
COMPUTE=$BUILD_DIR/tests/vk_compute
for b in "$HOLD" "$COMPUTE"; do [ -x "$b" ] || { fail "no $b (built by make)"; finish; }; done

# startup_ms: the faster of two vulkaninfo --summary runs, in ms.
startup_ms() {
  local best=999999 t0 t1 ms
  for _ in 1 2; do
    t0=$(date +%s%N)
    venus_run vulkaninfo --summary >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    [ "$ms" -lt "$best" ] && best=$ms
  done
  echo "$best"
}

server_start --log-level info || finish
thread_ms=$(startup_ms)
server_stop || true

server_start --log-level info --isolate process || finish
process_ms=$(startup_ms)
note "vulkaninfo --summary start-up: $thread_ms ms with thread workers, $process_ms ms with process workers"

hold_start || finish
# The server also keeps workers ready for the next clients: the holder's
# is the one its log names.
worker=$(grep -oE 'served by worker process [0-9]+' "$SERVER_LOG" | tail -n1 | awk '{ print $NF }')
# Its parent is the server's forker (src/worker/forker.h), the server's child.
parent=$(ps -o ppid= -p "${worker:-0}" 2>/dev/null | tr -d ' ')
grandparent=$(ps -o ppid= -p "${parent:-0}" 2>/dev/null | tr -d ' ')
check "the holding client is served by a worker process of its own (pid ${worker:-none}, forked by the server's forker ${parent:-none})" \
  [ -n "$worker" ] && [ "$grandparent" = "$SERVER_PID" ]
note "a worker holding a device: $(ps -o rss= -p "$worker" | tr -d ' ') KiB RSS (server process: $(ps -o rss= -p "$SERVER_PID" | tr -d ' ') KiB)"
# Holding a device, the worker is in its sandbox (docs/security.md
# "Workers' sandbox"); on Linux every thread of it has the seccomp filter.
if wait_log_count 'sandbox: worker [0-9]+: .* in force' 1 10; then
  pass "the worker entered its sandbox: $(grep -m1 -oE 'sandbox: worker .*' "$SERVER_LOG")"
else
  fail "no 'sandbox: worker PID: ... in force' line"
  show_tail "$SERVER_LOG" 8
fi
if grep -q 'sandbox: worker [0-9]*: seccomp filter' "$SERVER_LOG"; then
  threads=$(ls /proc/"$worker"/task | wc -l)
  unfiltered=$(grep -L 'Seccomp:[[:space:]]*2' /proc/"$worker"/task/*/status 2>/dev/null | wc -l)
  check "all $threads threads of the worker have the seccomp filter ($unfiltered without)" [ "$unfiltered" -eq 0 ]
fi

# A concurrent, well-behaved client, then the crash.
venus_run "$COMPUTE" --mib 16 >"$TEST_TMP/compute.out" 2>&1 &
compute_pid=$!
BG_PIDS+=("$compute_pid")
sleep 0.5
# SIGSEGV as a driver crash would raise it; a sanitizer build catches
# SIGSEGV itself (and reports), so there the crash is an abort.
crash=SEGV
ldd "$SERVER_BIN" 2>/dev/null | grep -q libasan && crash=ABRT
kill -"$crash" "$worker"
if wait_log_count 'killed by signal [0-9]+; only this client is gone' 1 10; then
  pass "the crashed worker (SIG$crash) is logged once: $(grep -m1 'killed by signal' "$SERVER_LOG" | sed 's/^venus-server: //')"
else
  fail "no log line for the crashed worker"
  show_tail "$SERVER_LOG" 8
fi
rc=0; wait "$compute_pid" || rc=$?
check "the concurrent compute client finished correctly ($(describe_rc $rc))" [ "$rc" -eq 0 ]
# Mesa's vtest client never notices a closed connection: end it here.
kill_tree "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null || true

check "server still running after the worker crashed" server_alive
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/after.out" 2>&1 || rc=$?
check "a new client succeeds afterwards ($(describe_rc $rc))" \
  grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/after.out"
errors=$(log_errors | grep -vc 'killed by signal' || true)
check "no error line other than the crash's ($errors)" [ "$errors" -eq 0 ]
server_stop || fail "server did not stop cleanly"

# A worker prepares the device the last tenant created first
# (renderer/device_snapshot.h) and hands it over when the next tenant asks
# for the same; a tenant asking for another device gets one created.
server_start --log-level debug --ready-workers 1 || finish
handed_ok=0
for i in 1 2 3 4; do
  rc=0; venus_run "$COMPUTE" >"$TEST_TMP/compute-$i.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] && handed_ok=$((handed_ok + 1))
  sleep 1 # the next worker's warm-up reads what this one left
done
check "4 compute clients one after another all finished correctly ($handed_ok of 4)" [ "$handed_ok" -eq 4 ]
handed=$(grep -c 'host device handed over by the warm-up' "$SERVER_LOG" || true)
check "a later compute client got the device its worker had prepared ($handed handed over)" [ "$handed" -ge 1 ]
rc=0; venus_run vulkaninfo --summary >"$TEST_TMP/other.out" 2>&1 || rc=$?
check "a client asking for another device is served too ($(describe_rc $rc))" \
  grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/other.out"
errors=$(log_errors | wc -l)
check "no error line with prepared devices handed over ($errors)" [ "$errors" -eq 0 ]
server_stop || fail "server did not stop cleanly"

# The server SIGKILLed with clients just connected, their workers often
# still starting: every worker goes with it, so every connection ends.
server_start --log-level info --isolate process || finish
left=$(python3 - "$SERVER_SOCK" "$SERVER_PID" <<'PY'
import os, select, signal, socket, sys, time
socks = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
os.kill(int(sys.argv[2]), signal.SIGKILL)
deadline = time.monotonic() + 10
left = 0
for s in socks:
    while True:
        ready, _, _ = select.select([s], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            left += 1
            break
        try:
            if not s.recv(64):
                break
        except ConnectionResetError:
            break
print(left)
PY
) || left=error
server_kill
check "SIGKILL of the server with 3 clients just connected: no worker outlived it ($left connection(s) left open)" \
  test "$left" = 0
finish

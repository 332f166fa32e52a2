#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live upgrade (docs/deployment.md "Live upgrade"): SIGUSR2 makes the server
# start the binary it was started from, as it is on disk now, and hand it
# the listening socket. A client computing across the upgrade (vk_compute,
# every word checked) finishes with correct results in the old process,
# which then exits 0 and leaves the socket file; a client after that is
# served by the new process, which the service manager is told is the main
# pid (MAINPID=); the same with --isolate thread. A new binary
# that exits 1, or one that is not there, leaves the serving process
# serving, with one line each; so does an upgrade of a vtest server with
# the display, where built. The new process, stopped, removes the socket
# file it took over. The VM devices (--vhost-user, --vhost-user-input) of a
# fake VMM flushing its scanouts keep their workers across two upgrades;
# with the display (where built), each scanout's viewer reconnects by
# itself after each upgrade, with the URL it had, and its first frame is a
# key frame, also on a scanout the guest no longer flushes; each output's
# recording goes on in its file; the server holds as many fds but sockets
# after each upgrade; an upgrade while a Wayland client is connected to
# the display is refused with one line.
# With --upgrade-workers a client computing across an upgrade goes on in a
# worker of the new binary; --upgrade-workers with thread workers stops
# the server at start with one line.
# A new binary's check says which hand-over versions it reads, and a
# record that is none is refused with one line. Printed as notes: the
# time from the signal to the take-over, and the compute time per round of
# the client across it against one before.
. "$(dirname "$0")/lib.sh"

require_tools timeout python3
COMPUTE=$BUILD_DIR/tests/vk_compute
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }

# The binary the server runs from, replaced on disk as a package upgrade does.
BIN_DIR=$TEST_TMP/bin
mkdir -p "$BIN_DIR"
install_binary() { cp "$BUILD_DIR/venus-server" "$BIN_DIR/venus-server.new" && mv -f "$BIN_DIR/venus-server.new" "$BIN_DIR/venus-server"; }
install_binary
SERVER_BIN=$BIN_DIR/venus-server

# compute LABEL ROUNDS: vk_compute through the server; its output in $TEST_TMP/LABEL.out
# (its time limit long enough for 20 rounds and two upgrades under the sanitizers).
compute() { venus_run 240 "$COMPUTE" --mib 8 --rounds "$2" --pause-ms 400 >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"; }
# rounds_begun LABEL: waits (up to 60 s) until LABEL's client has begun its rounds.
rounds_begun() {
  for _ in $(seq 1200); do grep -q '^info: rounds begin' "$TEST_TMP/$1.out" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
# expect_line WHAT PATTERN SECS: passes WHAT once the server's log has a line
# matching PATTERN within SECS s; else fails, with the log's tail.
expect_line() {
  if wait_log_count "$2" 1 "$3"; then
    pass "$1"
  else
    fail "$1: no line within $3 s"; show_tail "$SERVER_LOG" 10
  fi
}
# last_worker: the worker process that last took a client.
last_worker() { sed -nE 's/.*client served by worker process ([0-9]+).*/\1/p' "$SERVER_LOG" | tail -n 1; }
# taken_pid: the pid the last hand-over went to, from the old process's line.
taken_pid() { sed -nE 's/^venus-server: info: upgrade: pid ([0-9]+) \(.*\) took over the socket in [0-9]+ ms.*/\1/p' "$SERVER_LOG" | tail -1; }

# A service manager's notification socket: each datagram, a line of $NOTIFIED.
NOTIFIED=$TEST_TMP/notified
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    d = s.recv(4096)
    with open(sys.argv[2], "ab") as f:
        f.write(d + b"\n")
' "$TEST_TMP/notify.sock" "$NOTIFIED" &
BG_PIDS+=("$!")
for _ in $(seq 100); do [ -e "$NOTIFIED" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$TEST_TMP/notify.sock server_start --log-level info || finish
OLD_PID=$SERVER_PID
rc=0; compute before 12 || rc=$?
client_check "a client before the upgrade" "$TEST_TMP/before.out" "$rc" || true

# --- the upgrade in place, with clients computing across it ----------------------
# Worker processes keep serving their clients while the server process
# execs the new binary; a second upgrade takes over the forker the first
# one adopted.
served=$(log_count 'client served by worker process')
compute across 20 &
ACROSS=$!
compute across2 20 &
ACROSS2=$!
BG_PIDS+=("$ACROSS" "$ACROSS2")
wait_log_count 'client served by worker process' $((served + 2)) 30 || fail "the long clients were never served"
# The signal comes once their rounds have begun, however slow the start.
for out in across across2; do
  rounds_begun "$out" || true
done
install_binary
asked_ms=$(python3 -c 'import time; print(int(time.monotonic() * 1000))')
kill -USR2 "$OLD_PID"
expect_line "the new binary says it took over the running tenants in place" \
  'upgrade: took over [0-9]+ tenants, their workers' 60
check "it took over both clients, their workers and the socket" \
  grep -qE "upgrade: took over 2 tenants, their workers and 1 listening socket \\($SERVER_SOCK\\) in place in [0-9]+ ms" "$SERVER_LOG"
ms=$(sed -nE 's/.*upgrade: took over .* in place in ([0-9]+) ms; their charges waited ([0-9]+) ms.*/\1 \2/p' "$SERVER_LOG" | tail -1)
note "from the tenants' freeze to the new binary serving, and how long their charges waited: ${ms:-?} ms"
check "the server is the same process ($OLD_PID)" kill -0 "$OLD_PID"
NEW_PID=$OLD_PID
served=$(log_count 'client served by worker process')
rc=0; compute during 1 || rc=$?
client_check "a client of the new binary while the others run" "$TEST_TMP/during.out" "$rc" || true
# The second upgrade must find the two long clients alone: the short one's
# worker gone (and a moment for the server to see it), the long ones still
# computing.
during_worker=$(grep -E 'client served by worker process' "$SERVER_LOG" | sed -n "$((served + 1))s/.*worker process //p")
for _ in $(seq 200); do
  if [ -z "$during_worker" ] || ! kill -0 "$during_worker" 2>/dev/null; then break; fi
  sleep 0.05
done
sleep 0.3
if ! kill -0 "$ACROSS" || ! kill -0 "$ACROSS2"; then
  fail "a long client ended before the second upgrade (a slow host: its rounds are too few)"
fi
kill -USR2 "$OLD_PID"
wait_log_count 'upgrade: took over [0-9]+ tenants, their workers' 2 60 || fail "no second in-place take-over line"
check "a second upgrade takes over the same two tenants" \
  [ "$(grep -cE 'upgrade: took over 2 tenants, their workers' "$SERVER_LOG")" = 2 ]
for out in across across2; do
  pid=$ACROSS; [ $out = across2 ] && pid=$ACROSS2
  rc=0; wait "$pid" || rc=$?
  client_check "the client computing across both upgrades ($out)" "$TEST_TMP/$out.out" "$rc" || true
done
# Its rounds' span (CLOCK_MONOTONIC, as the signal's time above) holds the signal.
read -r from to < <(sed -nE 's/^info: rounds ran from ([0-9]+) to ([0-9]+) ms.*/\1 \2/p' "$TEST_TMP/across.out")
check "its rounds ran from before the signal to after it ($from < $asked_ms < $to)" \
  test "${from:-0}" -lt "$asked_ms" -a "$asked_ms" -lt "${to:-0}"
# What it saw: its compute time per round against a client's before the upgrade.
per_round() { sed -nE 's/^info: compute time ([0-9.]+) ms for ([0-9]+) round.*/\1 \2/p' "$1" | awk '{ printf "%.1f", $1 / $2 }'; }
note "compute time per round: $(per_round "$TEST_TMP/across.out") ms across the upgrades, $(per_round "$TEST_TMP/before.out") ms before them"
check "the forkers of the binaries before end once their workers have" \
  wait_log_count 'the forker [0-9]+ of the binary before the upgrade has no worker left' 2 20
check "no worker of theirs was killed" bash -c "! grep -q 'killed by signal' '$SERVER_LOG'"
check "the service manager was told of no other main pid" bash -c "! grep -q MAINPID '$NOTIFIED'"
rc=0; compute after 1 || rc=$?
client_check "a client after the upgrades" "$TEST_TMP/after.out" "$rc" || true

# --- new binaries that do not take over ------------------------------------------
# refused_upgrade LABEL REGEX: SIGUSR2 to the new process; one refusal line
# matching REGEX, and it goes on serving.
refused_upgrade() {
  local before
  before=$(log_count 'upgrade refused')
  kill -USR2 "$NEW_PID"
  if wait_log_count 'upgrade refused' $((before + 1)) 30; then
    check "$1: one line says why" [ "$(log_count "upgrade refused: $2")" = 1 ]
  else
    fail "$1: no refusal line"; show_tail "$SERVER_LOG" 5
  fi
  check "$1: the serving process goes on" kill -0 "$NEW_PID"
  local rc=0; compute "refused-$1" 1 || rc=$?
  client_check "$1: a client after the refused upgrade" "$TEST_TMP/refused-$1.out" "$rc" || true
}
printf '#!/bin/sh\nexit 1\n' >"$BIN_DIR/venus-server.new"
chmod +x "$BIN_DIR/venus-server.new"
mv -f "$BIN_DIR/venus-server.new" "$BIN_DIR/venus-server"
refused_upgrade "a binary that exits 1" "the new binary .* cannot take running clients \\(its check exited with status 1\\); this process goes on serving"
rm -f "$BIN_DIR/venus-server"
refused_upgrade "no binary" "cannot start .*: No such file or directory; this process goes on serving"
install_binary

# stop_new LABEL: the new process, no child of this shell, stopped by hand:
# it removes the socket file it took over; no error line, no sanitizer report.
stop_new() {
  kill -TERM "$NEW_PID"
  local deadline=$((SECONDS + 15))
  while kill -0 "$NEW_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  check "$1: the new process stops on SIGTERM" bash -c "! kill -0 $NEW_PID 2>/dev/null"
  check "$1: it removed the socket file it took over" test ! -e "$SERVER_SOCK"
  check "$1: no error line in the log" test -z "$(log_errors)"
  if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$SERVER_LOG"; then
    fail "$1: sanitizer report in the server log"
    grep -m5 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$SERVER_LOG" || true
  fi
}
server_stop || true

# --- workers moved to the new binary: each client handed to a fresh worker --------
# With --upgrade-workers (contexts that keep a journal and can be handed
# over), the new binary asks each worker it took over to hand its client
# to a fresh worker of its own pool, whose forker runs the new binary: the
# client computes on, in a process of the new binary.
server_start --upgrade-workers --log-level info || finish
MOVE_PID=$SERVER_PID
served=$(log_count 'client served by worker process')
compute moved 16 &
MOVED=$!
BG_PIDS+=("$MOVED")
wait_log_count 'client served by worker process' $((served + 1)) 30 || fail "the moving client was never served"
rounds_begun moved || true
old_worker=$(last_worker)
install_binary
kill -USR2 "$MOVE_PID"
wait_log_count 'upgrade: took over [0-9]+ tenants, their workers' 1 60 || fail "no take-over of the moving client"
expect_line "the client's state was made again in a fresh worker" 'restore: made from a snapshot' 60
check "worker process $old_worker was asked to hand the client to the new binary" \
  grep -q "upgrade: worker process $old_worker asked to hand the client to a worker of the new binary" "$SERVER_LOG"
check "it handed the client over and ended" grep -q "client worker process $old_worker handed the client over" "$SERVER_LOG"
new_worker=$(last_worker)
exe=$(readlink "/proc/$new_worker/exe" 2>/dev/null || true)
check "the fresh worker $new_worker runs the binary on disk now ($exe)" \
  test -n "$exe" -a "$exe" = "$(readlink -f "$SERVER_BIN")"
pause=$(sed -nE 's/.*restore: made from a snapshot .* ([0-9.]+) ms after its quiet point in the worker before.*/\1/p' "$SERVER_LOG" | tail -n 1)
note "the pause the moved client saw: ${pause:-?} ms"
rc=0; wait "$MOVED" || rc=$?
client_check "the client computing across its move to the new binary" "$TEST_TMP/moved.out" "$rc" || true
check "no client was dropped (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop || true
rc=0
out=$(timeout 10 "$SERVER_BIN" --upgrade-workers --isolate thread --socket "$TEST_TMP/bad.sock" 2>&1) || rc=$?
stopped=false
[ "$rc" -eq 2 ] && grep -q -- '--upgrade-workers moves vtest clients between worker processes' <<<"$out" && stopped=true
check "--upgrade-workers with thread workers stops the server at start (status $rc: ${out#venus-server: })" $stopped

# --- thread mode: the clients stay in the old process, a new one takes the socket --
server_start --isolate thread --log-level info || finish
OLD_PID=$SERVER_PID
connected=$(log_count 'client connected')
compute thread-across 8 &
ACROSS=$!
BG_PIDS+=("$ACROSS")
wait_log_count 'client connected' $((connected + 1)) 30 || fail "thread mode: the long client never connected"
sleep 1
kill -USR2 "$OLD_PID"
wait_log_count 'upgrade: pid [0-9]+ .* took over the socket' 1 60 || fail "thread mode: no take-over line within 60 s"
check "thread mode: the new process says what it took over, from which pid" \
  grep -qE "upgrade: took over 0 tenants, 1 listening socket \\($SERVER_SOCK\\) from pid $OLD_PID in [0-9]+ ms" "$SERVER_LOG"
NEW_PID=$(taken_pid)
[ -n "$NEW_PID" ] && BG_PIDS+=("$NEW_PID")
rc=0; wait "$ACROSS" || rc=$?
client_check "thread mode: the client computing across the upgrade" "$TEST_TMP/thread-across.out" "$rc" || true
rc=0; timeout 20 tail --pid="$OLD_PID" -f /dev/null || rc=$?
check "thread mode: the old process ended after its last client" test "$rc" -eq 0
rc=0; wait "$OLD_PID" || rc=$?
SERVER_PID=""
check "thread mode: it exited 0 (status $rc)" test "$rc" -eq 0
rc=0; compute thread-after 1 || rc=$?
client_check "thread mode: a client of the new process" "$TEST_TMP/thread-after.out" "$rc" || true
stop_new "thread mode"

# --- the VM devices: a VM's GPU and input devices across two upgrades ----------------
# A fake VMM (tests/vhost_user/fake_vmm.py --vm) flushes its GPU device's
# two scanouts every 0.2 s for 8 s while the server execs itself twice;
# both devices keep their workers, and the VMM sees no error: with each
# Venus context in a worker of its own (the default), and with a VM's
# contexts in its device's worker, which then charges an account of its
# own. With the display (LABEL display), the guest flushes scanout 1 once
# only: its frame after an upgrade is the one the worker shows again.
# unsocketed PID: how many fds PID holds that are no socket (those vary with
# the forkers an upgrade adopts).
unsocketed() { find "/proc/$1/fd" -mindepth 1 -printf '%l\n' | grep -vc '^socket:'; }
# vm_devices_across LABEL [SERVER OPTION...]
vm_devices_across() {
  local VU_SOCK VU_INPUT VM_OUT vu_log VU_PID VM before rc dev urls url k fds=() viewers=()
  VU_SOCK=$TEST_TMP/vu.sock VU_INPUT=$TEST_TMP/vu-input.sock VM_OUT=$TEST_TMP/vm-$1.out vu_log=$TEST_TMP/vu-$1.log
  env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$VU_SOCK" \
    --vhost-user-input "$VU_INPUT" --vm-scanouts 2 --log-level info "${@:2}" >"$TEST_TMP/vu-$1.out" 2>"$vu_log" &
  VU_PID=$!
  BG_PIDS+=("$VU_PID")
  for _ in $(seq 300); do [ -S "$VU_SOCK" ] && [ -S "$VU_INPUT" ] && break; sleep 0.05; done
  vu_count() { grep -cE "$1" "$vu_log" || true; }
  vu_wait() { for _ in $(seq $((${3:-30} * 20))); do [ "$(vu_count "$1")" -ge "$2" ] && return 0; sleep 0.05; done; return 1; }
  if [ -S "$VU_INPUT" ]; then
    FAKE_VMM_STILL=$([ "$1" = display ] && echo 1 || echo 0) \
      python3 "$TESTS_DIR/vhost_user/fake_vmm.py" --vm "$VU_SOCK" "$VU_INPUT" "$VM_OUT" 8 64x48 >"$TEST_TMP/vm-$1.log" 2>&1 &
    VM=$!
    BG_PIDS+=("$VM")
    for _ in $(seq 300); do grep -q '^scanout1$' "$VM_OUT" 2>/dev/null && break; sleep 0.05; done
    if [ "$1" = display ]; then
      # A viewer of each scanout's output, at the URL the server logged.
      vu_wait 'display: output vm-[0-9]+\.1 ' 1 30 || true
      urls=$(sed -nE 's|.*display: output vm-[0-9.]+ \(.*\): viewer page at (http://[^ ]+)$|\1|p' "$vu_log")
      k=0
      for url in $urls; do
        k=$((k + 1))
        python3 "$TESTS_DIR/display/ws_viewer.py" reconnect "$url" 3 >"$TEST_TMP/viewer-$k.out" 2>&1 &
        viewers+=("$!")
        BG_PIDS+=("$!")
      done
      check "the VM devices ($1): each scanout is an output with its viewer page ($k)" test "$k" = 2
      for _ in $(seq 300); do [ "$(cat "$TEST_TMP"/viewer-*.out 2>/dev/null | grep -c '^connection 1:')" = "$k" ] && break; sleep 0.05; done
      sleep 0.3
      fds+=("$(unsocketed "$VU_PID")")
      for k in "$TEST_TMP"/rec-vm-*.h264; do cp "$k" "${k%.h264}.before"; done
    fi
    served() { sed -nE 's/.*vhost-user device ([0-9]+): a (virtio-[a-z]+) device of VMM pid [0-9]+, uid [0-9]+, served by worker process ([0-9]+).*/\1 \2 \3/p' "$vu_log" | sort -u; }
    before=$(served)
    for n in 1 2; do
      kill -USR2 "$VU_PID"
      vu_wait 'upgrade: took over [0-9]+ tenants' "$n" 60 || fail "the VM devices ($1): no take-over line within 60 s of upgrade $n"
      sleep 1
      if [ "$1" = display ]; then
        # Counted once both viewers are back.
        for _ in $(seq 300); do [ "$(cat "$TEST_TMP"/viewer-*.out | grep -c "^connection $((n + 1)):")" = 2 ] && break; sleep 0.05; done
        sleep 0.3
        fds+=("$(unsocketed "$VU_PID")")
      fi
    done
    if [ "$1" = display ]; then
      for k in "${!viewers[@]}"; do
        rc=0; wait "${viewers[$k]}" || rc=$?
        check "the VM devices ($1): scanout $k's viewer reconnected after each upgrade, with the same URL, a key frame first ($(tail -n 1 "$TEST_TMP/viewer-$((k + 1)).out"))" \
          bash -c "[ $rc = 0 ] && [ \"\$(grep -cE '^connection [0-9]: [0-9]+x[0-9]+( \\(|\$)' '$TEST_TMP/viewer-$((k + 1)).out')\" = 3 ]"
        note "scanout $k's viewer: $(grep -oE 'connection [23]: .*' "$TEST_TMP/viewer-$((k + 1)).out" | tr '\n' ' ')"
      done
      check "the VM devices ($1): each output kept its URL ($(vu_count 'display: output vm-[0-9.]+ .*viewer page at') lines, $(sed -nE 's/.*display: output (vm-[0-9.]+) .*viewer page at (.*)/\1 \2/p' "$vu_log" | sort -u | wc -l) distinct)" \
        bash -c "[ \"\$(sed -nE 's/.*display: output (vm-[0-9.]+) .*viewer page at (.*)/\\1 \\2/p' '$vu_log' | sort -u | wc -l)\" = 2 ] && [ '$(vu_count 'display: output vm-[0-9.]+ .*viewer page at')' = 6 ]"
      for k in "$TEST_TMP"/rec-vm-*.before; do
        check "the VM devices ($1): recording ${k##*/rec-} went on in its file ($(stat -c %s "$k") bytes before, $(stat -c %s "${k%.before}.h264") after)" \
          bash -c "[ \$(stat -c %s '${k%.before}.h264') -gt \$(stat -c %s '$k') ] && cmp -s -n \$(stat -c %s '$k') '$k' '${k%.before}.h264'"
      done
      # Before the first upgrade, no forker of an earlier binary (with the
      # POSIX backend, each has a pipe).
      check "the VM devices ($1): the server holds as many fds but sockets after each upgrade (${fds[*]})" \
        bash -c "[ '${fds[1]:-x}' = '${fds[2]:-y}' ]"
    fi
    rc=0; wait "$VM" || rc=$?
    check "the VM devices ($1): the fake VMM flushed its scanouts across both upgrades (status $rc, $(tr '\n' ' ' <"$VM_OUT"))" \
      bash -c "[ $rc = 0 ] && grep -q '^done$' '$VM_OUT'"
    check "the VM devices ($1): each upgrade took over both devices, their workers and both sockets" \
      [ "$(vu_count "upgrade: took over 2 tenants, their workers and 2 listening sockets \\($VU_SOCK, $VU_INPUT\\) in place in [0-9]+ ms")" = 2 ]
    check "the VM devices ($1): the same workers serve them ($(echo $before | tr '\n' ' '))" \
      bash -c "[ '$(echo "$before" | wc -l)' = 2 ] && [ \"\$(grep -cE 'served by worker process [0-9]+, taken over' '$vu_log')\" = 4 ]"
    for dev in $(echo "$before" | awk '{print $1 ":" $3}'); do
      vu_wait "vhost-user device ${dev%:*}: its worker \\(pid ${dev#*:}\\) ended" 1 10 || true
      check "the VM devices ($1): device ${dev%:*}'s worker ${dev#*:} served until its VMM left" \
        grep -qE "vhost-user device ${dev%:*}: its worker \\(pid ${dev#*:}\\) ended$" "$vu_log"
    done
    if [ "$1" = display ]; then
      # Its frame, then a reset and the frame again at each upgrade.
      check "the VM devices ($1): scanout 1, shown once, was shown again after each upgrade" \
        grep -qE "its worker closed scanout 1's frames after 5; it leaves the display" "$vu_log"
    fi
    check "the VM devices ($1): nothing refused" bash -c "! grep -qE 'upgrade refused|venus-server: (warn|error):' '$vu_log'"
    check "the VM devices ($1): the server is the same process" kill -0 "$VU_PID"
    kill -TERM "$VU_PID"
    rc=0; wait "$VU_PID" || rc=$?
    check "the VM devices ($1): the server then stops on SIGTERM, status 0 ($rc)" test "$rc" -eq 0
    check "the VM devices ($1): it removed both socket files it took over" bash -c "[ ! -e '$VU_SOCK' ] && [ ! -e '$VU_INPUT' ]"
  else
    fail "the VM device server did not listen"; show_tail "$vu_log" 5
  fi
}
vm_devices_across apart
vm_devices_across shared --vm-contexts shared
if "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -m 700 -p "$XDG_RUNTIME_DIR"
  vm_devices_across display --display "vs-vm-upgrade-$$" --http 127.0.0.1:0 --record "$TEST_TMP/rec-%o.h264"
else
  skip "built without the display: a VM server's display across an upgrade is not tried"
fi

# --- what a new binary reads: the check, and records that are none ----------------
# The check an old process runs: a binary that reads hand-over version 4
# (and the earlier releases' 3 and 2) says so with status 0, another
# version with 1; a record that is not one is refused with one line and
# status 1, before the binary serves anything.
probe() { VENUS_SERVER_UPGRADE=probe-$1 "$SERVER_BIN" --socket "$TEST_TMP/probe.sock" >/dev/null 2>&1; }
for v in 4 3 2; do
  rc=0; probe $v || rc=$?
  check "the check of version $v passes (status $rc)" test "$rc" -eq 0
done
rc=0; probe 9 || rc=$?
check "the check of an unknown version 9 fails (status $rc)" test "$rc" -eq 1
# refused_record LABEL REGEX: the new binary started with the record in
# $TEST_TMP/record as fd 7 exits 1 with one line matching REGEX.
refused_record() {
  local rc=0 out=$TEST_TMP/record.log
  VENUS_SERVER_UPGRADE=7 "$SERVER_BIN" --socket "$TEST_TMP/record.sock" 7<"$TEST_TMP/record" >/dev/null 2>"$out" || rc=$?
  local ok=0
  [ "$rc" = 1 ] && [ "$(grep -c 'upgrade: refusing the hand-over' "$out")" = 1 ] && grep -qE "$2" "$out" &&
    [ ! -e "$TEST_TMP/record.sock" ] && ok=1
  check "a record that is $1: refused with one line, status 1 ($rc: $(head -c 160 "$out"))" test "$ok" = 1
}
# record MAGIC VERSION SIZE LENGTH: a record's first fields, then zeros to LENGTH bytes.
record() { python3 -c 'import struct, sys; m, v, z, n = map(int, sys.argv[1:]); sys.stdout.buffer.write(struct.pack("<III", m, v, z).ljust(n, b"\0"))' "$@" >"$TEST_TMP/record"; }
VSUP=$((0x50555356))
record 0 1 0 8
refused_record "too short" "it is not one record of this binary's size"
record 1234 3 4096 4096
refused_record "no hand-over" "it is no hand-over"
record $VSUP 7 4096 4096
refused_record "of an unknown version" "its format is version 7 \\(4096 bytes\\); this binary reads versions 1 to 4"
record $VSUP 4 4096 4096
refused_record "of version 4 whose size is not its own" "its format is version 4 \\(4096 bytes\\)"
record $VSUP 3 4096 4096
refused_record "of version 3 whose size is not its own" "its format is version 3 \\(4096 bytes\\)"
record $VSUP 2 100000 4096
refused_record "of version 2 whose size is not its own" "its format is version 2 \\(100000 bytes\\)"

# --- what is not handed over: a vtest server's display, a Wayland client ---------------
if "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -m 700 -p "$XDG_RUNTIME_DIR"
  server_start --display "vs-upgrade-$$" || finish
  NEW_PID=$SERVER_PID
  refused_upgrade "with a vtest server's display" "a vtest server's display \\(--display\\) is not handed over; this process goes on serving"
  check "no process was started for it" bash -c "! grep -q 'upgrade: started' '$SERVER_LOG'"
  server_stop || true
  # A VM server's display with a Wayland client connected: one that asks
  # for a wl_display.sync and holds on once it is answered.
  wl_log=$TEST_TMP/vu-wayland.log
  env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/vu-wl.sock" \
    --display "vs-vm-wl-$$" --log-level info >/dev/null 2>"$wl_log" &
  WL_PID=$!
  BG_PIDS+=("$WL_PID")
  for _ in $(seq 300); do [ -S "$TEST_TMP/vu-wl.sock" ] && [ -S "$XDG_RUNTIME_DIR/vs-vm-wl-$$" ] && break; sleep 0.05; done
  python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(struct.pack("<III", 1, 12 << 16, 2))  # wl_display.sync, callback id 2
s.recv(12)                                     # wl_callback.done
open(sys.argv[2], "w").close()
time.sleep(60)' "$XDG_RUNTIME_DIR/vs-vm-wl-$$" "$TEST_TMP/wl-connected" &
  WL_CLIENT=$!
  BG_PIDS+=("$WL_CLIENT")
  for _ in $(seq 300); do [ -e "$TEST_TMP/wl-connected" ] && break; sleep 0.05; done
  kill -USR2 "$WL_PID"
  for _ in $(seq 300); do grep -q 'upgrade refused' "$wl_log" && break; sleep 0.05; done
  check "a VM server's display with a Wayland client connected: one line refuses the upgrade" \
    [ "$(grep -c 'upgrade refused: 1 Wayland client is connected to the display, and a Wayland connection cannot be handed over; this process goes on serving' "$wl_log")" = 1 ]
  kill "$WL_CLIENT" 2>/dev/null; wait "$WL_CLIENT" 2>/dev/null || true
  sleep 0.5
  kill -USR2 "$WL_PID"
  for _ in $(seq 300); do grep -q 'upgrade: took over' "$wl_log" && break; sleep 0.05; done
  check "  ... once it left, the upgrade takes over" grep -q 'upgrade: took over 0 tenants' "$wl_log"
  kill -TERM "$WL_PID"
  rc=0; wait "$WL_PID" || rc=$?
  check "  ... and the server then stops on SIGTERM, status 0 ($rc)" test "$rc" -eq 0
else
  skip "built without the display: its refusals are not tried"
fi
finish

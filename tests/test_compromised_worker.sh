#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A guest that owns its worker process (on lavapipe a device address is a
# pointer into it) gains nothing else: from every thread of its worker
# (the host driver's, the server's own, the main one), tests/worker_inject
# runs the system calls such a guest would, in the default mode:
# - open another tenant's worker's, the server's and the forker's memory
#   (/proc/PID/mem): refused;
# - TIOCSTI keystrokes into the terminal on its stderr and stdin: refused,
#   and the worker holds no terminal (stdin /dev/null, its log a pipe to
#   the server, no controlling terminal, a process group of its own);
# - no writable memory it shares with another worker holds a count that
#   others depend on: the only writable mapping two workers share is the
#   device snapshot slot, which every reader checks as guest input;
# - another tenant's shader cache, and another worker's directory under
#   the cache's root: refused; its own directory there it may write;
# and, as a control that the injection works, opening its own status.
. "$(dirname "$0")/lib.sh"

HOLD=$BUILD_DIR/tests/vk_hold
INJECT=$BUILD_DIR/tests/worker_inject
[ -x "$HOLD" ] && [ -x "$INJECT" ] || { fail "no $HOLD or $INJECT (built by make)"; finish; }
[ "$(uname -m)" = x86_64 ] || { skip "the injector is for x86-64"; finish; }
# Workers are not dumpable: attaching needs CAP_SYS_PTRACE (bit 19), which
# root in a container may lack.
cap_eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
(( (16#${cap_eff:-0} >> 19) & 1 )) || { skip "the injector needs CAP_SYS_PTRACE: workers are not dumpable"; finish; }

cache=$TEST_TMP/cache
server_start --log-level info --shader-cache "$cache" || finish
if grep -q 'this build has no seccomp or Landlock backend' "$SERVER_LOG"; then
  skip "the -Dos=posix build has only the portable sandbox (docs/security.md)"; server_stop; finish
fi

# Two tenants, each holding a device in its own worker.
start_holder() {
  venus_run "$HOLD" >"$TEST_TMP/hold-$1.out" 2>"$TEST_TMP/hold-$1.err" &
  BG_PIDS+=("$!")
  local deadline=$((SECONDS + 60))
  until grep -q "holding objects" "$TEST_TMP/hold-$1.out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { fail "vk_hold $1 never reported holding objects"; return 1; }
    sleep 0.05
  done
}
start_holder victim || finish
start_holder attacker || finish
mapfile -t served < <(sed -nE 's/.*client served by worker process ([0-9]+)$/\1/p' "$SERVER_LOG")
[ "${#served[@]}" -ge 2 ] || { fail "no two 'client served by worker process' lines"; finish; }
victim=${served[0]} attacker=${served[1]}
forker=$(awk '{print $4}' "/proc/$victim/stat")
note "server $SERVER_PID, forker $forker, victim's worker $victim, attacker's worker $attacker"

# Another tenant's cache (uid 65534's), made as the server would.
mkdir -p -m 700 "$cache/tenants/65534" && echo entry >"$cache/tenants/65534/entry"
own_dir=$cache/workers/$SERVER_PID/$attacker victim_dir=$cache/workers/$SERVER_PID/$victim
O_RDONLY=0 O_RDWR=2 O_CREAT_RDWR=66 TIOCSTI=0x5412
created=0
threads=0 refused=0 reached=() control=0
for task in /proc/"$attacker"/task/*; do
  tid=${task##*/}
  own=$("$INJECT" "$tid" open "/proc/self/status" $O_RDONLY 2>/dev/null) || continue
  threads=$((threads + 1))
  [ "$own" -ge 0 ] && control=$((control + 1))
  r=$("$INJECT" "$tid" open "$own_dir/probe-$tid" $O_CREAT_RDWR 2>/dev/null) || r=-1
  [ "$r" -ge 0 ] && created=$((created + 1))
  for probe in "/proc/$SERVER_PID/mem $O_RDWR" "/proc/$victim/mem $O_RDWR" "/proc/$victim/mem $O_RDONLY" \
               "/proc/$forker/mem $O_RDWR" "/proc/$SERVER_PID/environ $O_RDONLY" \
               "$cache/tenants/65534/entry $O_RDONLY" "$cache/tenants/65534/new $O_CREAT_RDWR" \
               "$victim_dir/probe $O_CREAT_RDWR" "$cache/tenants/0/new $O_CREAT_RDWR"; do
    set -- $probe
    r=$("$INJECT" "$tid" open "$1" "$2" 2>/dev/null) || r=unknown
    if [ "$r" = unknown ] || [ "$r" -ge 0 ]; then reached+=("thread $tid opened $1 ($2): $r"); else refused=$((refused + 1)); fi
  done
  for fd in 0 2; do
    r=$("$INJECT" "$tid" ioctl $fd $TIOCSTI 2>/dev/null) || r=unknown
    if [ "$r" = unknown ] || [ "$r" -ge 0 ]; then reached+=("thread $tid: TIOCSTI on fd $fd: $r"); else refused=$((refused + 1)); fi
  done
done
note "$threads thread(s) of the attacker's worker ran the probes ($(ls /proc/$attacker/task | wc -l) in all)"
check "the injection works: every probed thread opened its own /proc/self/status ($control of $threads)" \
  [ "$threads" -ge 2 -a "$control" -eq "$threads" ]
check "no thread of the attacker's worker reached the server, the forker, another tenant (its memory, its shader cache, its worker's cache directory) or a terminal ($refused refused${reached:+; ${reached[*]}})" \
  [ "${#reached[@]}" -eq 0 -a "$refused" -gt 0 ]
check "every probed thread may write in its worker's own cache directory ($created of $threads)" \
  [ "$created" -eq "$threads" ]

# Nothing of the operator's terminal.
check "the worker's stdin is /dev/null ($(readlink /proc/$attacker/fd/0))" [ "$(readlink /proc/$attacker/fd/0)" = /dev/null ]
check "the worker's stderr is a pipe to the server's log relay ($(readlink /proc/$attacker/fd/2))" \
  bash -c "readlink /proc/$attacker/fd/2 | grep -q '^pipe:'"
stat_field() { awk -v f="$2" '{sub(/^.*\) /, ""); print $(f - 2)}' "/proc/$1/stat"; }
check "the worker has no controlling terminal (tty $(stat_field "$attacker" 7)) and a process group of its own ($(stat_field "$attacker" 5))" \
  [ "$(stat_field "$attacker" 7)" = 0 -a "$(stat_field "$attacker" 5)" = "$attacker" ]
check "the worker has no capabilities" \
  grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$attacker/status"

# Writable memory two workers share: only the device snapshot slot.
shared_writable() { awk '$2 ~ /^rw.s$/ {print $5}' "/proc/$1/maps" | sort -u; }
common=$(comm -12 <(shared_writable "$victim") <(shared_writable "$attacker") | wc -l)
check "two workers share at most one writable mapping, the device snapshot slot ($common)" [ "$common" -le 1 ]

# The victim still works, and the server logged each worker's sandbox.
check "the victim's worker is alive" kill -0 "$victim"
if grep -q 'sandbox: each worker process enters it .*Landlock ABI v' "$SERVER_LOG"; then
  check "the worker logged its sandbox, Landlock on all its threads" \
    grep -qE "sandbox: worker $attacker: seccomp filter .*Landlock ABI v[0-9]+ on all threads" "$SERVER_LOG"
else
  check "the worker logged its sandbox" grep -qE "sandbox: worker $attacker: seccomp filter" "$SERVER_LOG"
fi
server_stop
finish

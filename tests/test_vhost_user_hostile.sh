#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile VM beside honest ones on `venus-server --vhost-user`
# (docs/vhost-user.md): fake VMM front ends (tests/vhost_user/hostile_vmm.py,
# on fake_vmm.py's Device: guest RAM in a memfd). Honest VM A shows a frame
# (GET_DISPLAY_INFO, RESOURCE_CREATE_2D, backing, SET_SCANOUT, transfer,
# flush). Hostile VM B then sends, one at a time, bad commands on the
# control queue (2D resources, backing, transfers, scanouts, flushes,
# unrefs, short and unknown commands, contexts, host blobs and their maps
# in the host-visible region, beside valid Venus contexts, blobs and one
# map over the back end's channel), a chain that loops, an available index
# running ahead (the queue stops) and a ring of 3 entries, which ends its
# device. Each bad command must get its VIRTIO_GPU_RESP_ERR_* and the log
# exactly one line of B's device naming it (a context a blob request ends
# adds its own line), and nothing else. Then A gets its display info and
# flushes a frame again and a third VM C is served. Then front ends of
# hostile_vmm.py's other modes, one at a time: kicks and a new backend
# channel while a map waits for its reply (reentry), a /dev/zero kick fd
# (zero_kick), a host-blob scanout larger than the mode (scanout), a loop
# of contexts (log_flood: lines counted), backing lists past the device's
# bytes (budget), fenced requests on a ring that never advances past the
# most a context keeps waiting (fence_flood), VkDevices past --limit
# devices=4 and a second VkInstance (device_flood), a context whose worker
# stops reading (stalled_context), a GET_CONFIG pending beside
# a map's kick (pending_with_map), 14 half headers from forked children
# (half_header: a uid's share, one of them silent), 20 connections
# opened and closed (churn); then, on a second server, two VMs sharing
# their uid's host RAM (memory_share), a scanout changing size at every
# flush (size_flood) and a uid's slots held by devices that start no
# queue (unstarted). Each costs its own device alone, with the
# lines its check names; the server
# stops on SIGTERM with status 0. The server logs at debug level: the
# barrier is a debug line.
. "$(dirname "$0")/lib.sh"
covered_on_posix_by test_vhost_user_qemu "a hostile VMM's messages"

command -v python3 >/dev/null || { skip "python3 is not installed"; finish; }
[ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }
[ -x "$SERVER_BIN" ] || { fail "no server binary at $SERVER_BIN (run make)"; finish; }
VMM=$TESTS_DIR/vhost_user/hostile_vmm.py
sock=$TEST_TMP/gpu.sock log=$TEST_TMP/server.log
# Each VM's lines come from its worker process, led by "worker process
# PID: " (the relay's, test_log_relay): the checks below read the lines
# as the device wrote them.
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$sock" --vm-size 64x48 \
  --vm-hostmem 16 --ready-workers 1 --log-level debug --limit devices=4 >"$TEST_TMP/server.out" \
  2> >(sed -u -E 's/^worker process [0-9]+: //' >"$log") &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { fail "the server did not listen on $sock"; show_tail "$log"; finish; }

# wait_grep FILE PATTERN: until a line of FILE matches (ERE), at most 60 s.
wait_grep() {
  local deadline=$((SECONDS + 60))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}
# device_of OUT_FILE: the device number the server gave the VMM whose pid
# OUT_FILE's 'pid P' line names.
device_of() {
  local pid re
  pid=$(sed -n 's/^pid //p' "$1")
  re="^venus-server: info: vhost-user device ([0-9]+): a virtio-gpu device of VMM pid ${pid:-x},"
  wait_grep "$log" "$re" || return 0
  sed -nE "s/$re.*/\1/p" "$log"
}

timeout -k 5 180 python3 "$VMM" honest "$sock" "$TEST_TMP/a.out" "$TEST_TMP/a.go" >"$TEST_TMP/a.log" 2>&1 &
vm_a=$!
BG_PIDS+=("$vm_a")
wait_grep "$TEST_TMP/a.out" '^before' || true
check "VM A: GET_DISPLAY_INFO answered (64x48), a frame flushed" grep -qx 'before: display 64x48, a frame flushed' "$TEST_TMP/a.out"
dev_a=$(device_of "$TEST_TMP/a.out")

rc=0
timeout -k 5 120 python3 "$VMM" hostile "$sock" "$TEST_TMP/b.out" "$log" 16 >"$TEST_TMP/b.log" 2>&1 || rc=$?
check "hostile VM B sent all its requests (status $rc)" grep -qx done "$TEST_TMP/b.out"
dev_b=$(sed -n 's/^device //p' "$TEST_TMP/b.out")

declare -A resp_name=([0x1100]=OK_NODATA [0x1106]=OK_MAP_INFO [0x1200]=ERR_UNSPEC [0x1201]=ERR_OUT_OF_MEMORY
  [0x1202]=ERR_INVALID_SCANOUT_ID [0x1203]=ERR_INVALID_RESOURCE_ID [0x1204]=ERR_INVALID_CONTEXT_ID
  [0x1205]=ERR_INVALID_PARAMETER [none]="no response")
n_cases=0 n_lines=0
while IFS=$'\t' read -r kind name want got written expect expect_other n_ours ours n_others others; do
  [ "$kind" = case ] || continue
  n_cases=$((n_cases + 1))
  why=()
  if [ "$got" != "$want" ]; then why+=("answered ${resp_name[$got]:-$got} ($got), not ${resp_name[$want]:-$want}"); fi
  if [ "$want" = none ] && [ "$written" != 0 ]; then why+=("$written bytes or used entries returned, not 0"); fi
  if [[ $want == 0x12* ]] && [ "$written" != 24 ]; then why+=("$written bytes written, not a 24-byte header"); fi
  if [ "$expect" = - ]; then
    [ "$n_ours" = 0 ] || why+=("$n_ours line(s) of its device, none wanted: $ours")
  else
    n_lines=$((n_lines + 1))
    if [ "$n_ours" != 1 ] || [[ $ours != *"$expect"* ]]; then why+=("$n_ours line(s) of its device, one wanted holding '$expect': $ours"); fi
  fi
  if [ "$expect_other" = - ]; then
    [ "$n_others" = 0 ] || why+=("other lines: $others")
  else
    n_lines=$((n_lines + 1))
    if [ "$n_others" != 1 ] || [[ $others != *"$expect_other"* ]]; then why+=("$n_others other line(s), one wanted holding '$expect_other': $others"); fi
  fi
  said=${resp_name[$got]:-$got}
  [ "$got" = none ] || said="$said ($got)"
  [ "$ours" = - ] || said="$said; ${ours#venus-server: }"
  [ "$others" = - ] || said="$said; ${others#venus-server: }"
  if [ ${#why[@]} -eq 0 ]; then pass "VM B: $name: $said"; else fail "VM B: $name: ${why[*]}"; fi
done <"$TEST_TMP/b.out"
check "VM B's 44 requests were all checked ($n_cases)" test "$n_cases" -eq 44
check "VM B's device closed its connection after the ring of 3 entries" grep -qx 'socket closed' "$TEST_TMP/b.out"
check "the valid map answered map_info 1 (cached)" grep -qx 'map_info	1' "$TEST_TMP/b.out"
backend=$(grep '^backend' "$TEST_TMP/b.out" | cut -f2 | tr '\n' ';' || true)
check "the device asked VM B's front end to map blob 20 (its fd, writable, at 0), then to unmap it: $backend" \
  test "$backend" = "SHMEM_MAP shmid 1 fd_offset 0 shm_offset 0x0 len 4096 flags 1 fds 1;SHMEM_UNMAP shmid 1 fd_offset 0 shm_offset 0x0 len 4096 flags 0 fds 0;"
wait_grep "$log" "^venus-server: info: vhost-user device ${dev_b:-x}: its worker \(pid [0-9]+\) ended$" || true
check "VM B's device ended, its worker with status 0" \
  grep -qE "^venus-server: info: vhost-user device ${dev_b:-x}: its worker \(pid [0-9]+\) ended$" "$log"
problems=$(grep -E '^venus-server: (warn|error):' "$log" | grep -vE "^venus-server: (warn|error): (virtio-gpu ${dev_b:-x}|vhost-user device ${dev_b:-x}|ctx [34]): " || true)
check "every warn/error line of the server is one of VM B's refusals ($(grep -cE '^venus-server: (warn|error):' "$log") lines, $n_lines expected)${problems:+: $problems}" \
  test -z "$problems" -a "$(grep -cE '^venus-server: (warn|error):' "$log")" -eq "$n_lines"
check "the server is running" kill -0 "$server"

# VM A again, after B's device ended; then a third VM.
touch "$TEST_TMP/a.go"
rc=0
wait "$vm_a" || rc=$?
check "VM A: GET_DISPLAY_INFO answered and a frame flushed after VM B's device ended (status $rc)" \
  grep -qx 'after: display 64x48, a frame flushed' "$TEST_TMP/a.out"
wait_grep "$log" "^venus-server: info: vhost-user device ${dev_a:-x}: ended after" || true
check "VM A's device counted its 2 flushes" \
  grep -qx "venus-server: info: vhost-user device ${dev_a:-x}: ended after 2 flushes of its scanout" "$log"
rc=0
timeout -k 5 60 python3 "$VMM" honest "$sock" "$TEST_TMP/c.out" - >"$TEST_TMP/c.log" 2>&1 || rc=$?
check "VM C, connected after, is served: GET_DISPLAY_INFO answered, a frame flushed (status $rc)" \
  grep -qx 'before: display 64x48, a frame flushed' "$TEST_TMP/c.out"
dev_c=$(device_of "$TEST_TMP/c.out")
wait_grep "$log" "^venus-server: info: vhost-user device ${dev_c:-x}: ended after" || true
check "VM C's device (device ${dev_c:-none}) counted its flush" \
  grep -qx "venus-server: info: vhost-user device ${dev_c:-x}: ended after 1 flushes of its scanout" "$log"
check "devices A and C logged no warn/error line" \
  test "$(grep -cE "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) (${dev_a:-x}|${dev_c:-x}):" "$log")" -eq 0

# run_checks MODE: a front end of hostile_vmm.py MODE; each 'check' line of
# its OUT_FILE passes or fails. Sets dev_mode to its device's number.
run_checks() {
  local mode=$1 out=$TEST_TMP/$1.out rc=0 kind name verdict seen
  shift
  timeout -k 5 120 python3 "$VMM" "$mode" "$sock" "$out" "$@" >"$TEST_TMP/$mode.log" 2>&1 || rc=$?
  check "$mode: the front end ran to its end (status $rc)" grep -qx done "$out"
  while IFS=$'\t' read -r kind name verdict seen; do
    [ "$kind" = check ] || continue
    if [ "$verdict" = ok ]; then pass "$mode: $name"; else fail "$mode: $name: $seen"; fi
  done <"$out"
  dev_mode=$(device_of "$out")
}

# A front end that sends kicks and a new backend channel while a map waits
# for its reply: the queue runs after the map, each chain answered once.
run_checks reentry
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "reentry: the device refused SET_BACKEND_REQ_FD with one line" test "$(grep -cF \
  "vhost-user device ${dev_mode:-x}: refused SET_BACKEND_REQ_FD: a new backend channel while a request waits for its reply on the old one; the connection ends" "$log")" -eq 1
check "reentry: its worker ended with status 0" \
  grep -qE "^venus-server: info: vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended$" "$log"

# A kick fd that never empties: refused with one line, and the worker,
# which would spin reading it, ends.
run_checks zero_kick
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "zero_kick: the device refused the kick fd with one line" test "$(grep -cF \
  "vhost-user device ${dev_mode:-x}: refused SET_VRING_KICK: queue 0: its fd is no event fd (an eventfd, or where there is none a FIFO); the connection ends" "$log")" -eq 1
check "zero_kick: its worker ended with status 0" \
  grep -qE "^venus-server: info: vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended$" "$log"
check "zero_kick: no other warn/error line of its device" test "$(grep -cE \
  "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) ${dev_mode:-x}:" "$log")" -eq 1

# A front end that hands maps back as memory regions (QEMU 11.1): a map is
# answered once echoed; echoes take no region slot; plain regions past
# the slots are left out with one line; no echo waits out its 2 s.
run_checks echo
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "echo: one line for the regions left out" test "$(grep -cF \
  "vhost-user device ${dev_mode:-x}: the front end's memory passes the device's 256 regions" "$log")" -eq 1
check "echo: no warn/error line of its device" test "$(grep -cE \
  "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) ${dev_mode:-x}:" "$log")" -eq 0

# A host blob on the scanout larger than the device's mode: refused with
# one line, as the display would copy each of its frames whole.
run_checks scanout
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "scanout: the device refused the 512x512 scanout with its one warn/error line" test "$(grep -E \
  "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) ${dev_mode:-x}:" "$log")" = \
  "venus-server: warn: virtio-gpu ${dev_mode:-x}: SET_SCANOUT_BLOB of 512x512 of host blob 20: more than the scanout's 3072 pixels"
check "scanout: the blob's 64x48 frame was flushed" \
  grep -qx "venus-server: info: vhost-user device ${dev_mode:-x}: scanout 0 shows 64x48" "$log"

# Contexts made and ended in a loop: their creation and end are debug
# lines; their refusals and the reasons contexts were dropped stop after
# the device's limits (32 each, and a last line that says so).
run_checks log_flood
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
above_debug=$(grep -E '^venus-server: (info|warn|error): ' "$log" || true)
check "log_flood: no context's creation or end above debug level" test "$(grep -cE \
  '(ctx [78][0-9][0-9]: context (created|destroyed)|context [78][0-9][0-9] \(".*"\) (created|destroyed))' <<<"$above_debug")" -eq 0
check "log_flood: 33 refusal lines of its device (32, then one saying no more are logged)" test "$(grep -cE \
  "^venus-server: warn: virtio-gpu ${dev_mode:-x}: " <<<"$above_debug")" -eq 33
check "log_flood: 32 lines of contexts dropped (the last saying no more are logged above debug)" test "$(grep -cE \
  '^venus-server: error: ctx 8[0-9][0-9]: dropping client: ' <<<"$above_debug")" -eq 32
check "log_flood: nothing else above debug level of its contexts" test "$(grep -cE \
  '^venus-server: (info|warn|error): ctx [78][0-9][0-9]: ' <<<"$above_debug")" -eq 32

# Backing entry lists count toward the device's bytes of resources.
run_checks budget
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "budget: the 16th list refused with the device's one warn/error line" test "$(grep -E \
  "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) ${dev_mode:-x}:" "$log")" = \
  "venus-server: warn: virtio-gpu ${dev_mode:-x}: RESOURCE_ATTACH_BACKING of 262144 entries (4194304 bytes) to resource 16: the device holds 62914624 bytes of resources and backing (at most 67108864)"

# A ring whose fences never retire (its queue waits for a semaphore), its
# fenced requests re-offered on one chain: past 1024 waiting (a ring's
# most entries) the next is answered at once with one line; the device
# goes on, and answers all 1024 once the semaphore is signalled.
mark=$(wc -l <"$log")
run_checks fence_flood
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "fence_flood: the request past the most refused with the one warn/error line logged meanwhile" test \
  "$(tail -n +$((mark + 1)) "$log" | grep -E '^venus-server: (warn|error): ')" = \
  "venus-server: warn: virtio-gpu ${dev_mode:-x}: queue 0: chain 4: a fence on ring 1 of context 2, which has 1024 requests waiting for fences (at most 1024): answered at once"
check "fence_flood: its worker ended with status 0" \
  grep -qE "^venus-server: info: vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended$" "$log"
check "fence_flood: the server is running" kill -0 "$server"

# VkDevices made in a loop on one Venus context, past --limit devices=4:
# the refusals cost one line and the context goes on; a second
# vkCreateInstance ends its context with its line and its device's.
mark=$(wc -l <"$log")
run_checks device_flood
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
# Each context in a worker of its own: the device learns of the end after
# answering, and refuses the context's next request.
check "device_flood: one line for the refused VkDevices, two for the context of the second VkInstance" test \
  "$(tail -n +$((mark + 1)) "$log" | grep -E '^venus-server: (warn|error): ' | sort)" = \
  "venus-server: error: ctx 3: dropping client: vkCreateInstance: the context already has an instance
venus-server: warn: ctx 2: vkCreateDevice refused: the context holds 4 VkDevices (limit devices=4): VK_ERROR_TOO_MANY_OBJECTS (further refusals are debug lines)
venus-server: warn: virtio-gpu ${dev_mode:-x}: SUBMIT_3D: SUBMIT_3D in context 3 (\"second-instance\"), which ended"
check "device_flood: its worker ended with status 0" \
  grep -qE "^venus-server: info: vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended$" "$log"

# A context whose worker stops reading (a worker its guest owns could): the
# device's sends to it wait at most 10 s, then that context alone ends,
# with one line, and the VM's other context is served.
mark=$(wc -l <"$log")
run_checks stalled_context "$log"
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "stalled_context: one line, for the request the stalled context ended on" test \
  "$(tail -n +$((mark + 1)) "$log" | grep -E '^venus-server: (warn|error): ')" = \
  "venus-server: warn: virtio-gpu ${dev_mode:-x}: SUBMIT_3D: SUBMIT_3D of 44000 bytes: context 2 (\"stalled\") ended on it: its worker took no message for 10 s"

# A whole GET_CONFIG pending beside the kick of a MAP_BLOB: served inside
# the map's wait, and the device then waits on no read: GET_DISPLAY_INFO
# after it is answered at once.
run_checks pending_with_map "$log"
wait_grep "$log" "vhost-user device ${dev_mode:-x}: its worker \(pid [0-9]+\) ended" || true
check "pending_with_map: no warn/error line of its device" test "$(grep -cE \
  "^venus-server: (warn|error): (ctx [0-9]+: )?(virtio-gpu|vhost-user device) ${dev_mode:-x}:" "$log")" -eq 0

# Connections each made by a child process that exits at once, each
# sending 5 bytes (the first nothing): the uid holds at most 12 of the 16 devices (forks do not
# multiply its share), the rest are refused with a line each; a VM of
# another uid is served meanwhile; each half header is ended within the
# first message's deadline, without a worker serving it.
mark=$(wc -l <"$log")
# The VM of uid 65534 reaches the socket.
chmod o+x "$TEST_TMP"
chmod o+rw "$sock"
run_checks half_header 14
chmod o-x "$TEST_TMP"
held=$(sed -n 's/^held\t//p' "$TEST_TMP/half_header.out")
check "half_header: 12 connections held (the uid's share), not ${held:-?}" test "${held:-0}" -eq 12
check "half_header: the 2 past the share refused with a line each" test "$(tail -n +$((mark + 1)) "$log" | grep -cE \
  "^venus-server: warn: vhost-user: refusing VM device [0-9]+ of VMM pid [0-9]+: uid $(id -u) holds 12 virtio-gpu devices, the most one uid may \(the rest are other uids'\)$")" -eq 2
check "half_header: each held one ended by the first message's deadline with a line" test "$(tail -n +$((mark + 1)) "$log" | grep -cE \
  '^venus-server: warn: vhost-user device [0-9]+: VMM pid [0-9]+ sent no whole message within 10 s of connecting; the connection ends, no worker served it$')" -eq 12
check "half_header: no worker served a half header" test "$(tail -n +$((mark + 1)) "$log" | grep -cE \
  "a virtio-gpu device of VMM pid [0-9]+, uid $(id -u), served by")" -eq 0

# Connection churn: each connection that closes before its first message
# takes no worker (none is warmed up to replace it) and at most a line.
mark=$(wc -l <"$log")
run_checks churn 20
check "churn: only the honest VM after it was served by a worker" test "$(tail -n +$((mark + 1)) "$log" | grep -cE \
  'a virtio-gpu device of VMM pid [0-9]+, uid [0-9]+, served by worker process')" -eq 1
check "churn: one line per churned connection at most" test "$(tail -n +$((mark + 1)) "$log" | grep -cE \
  'left before its first message; no worker served it$')" -le 20

# A second server, at info level (at debug level no line is held back),
# with a small share of host RAM per uid and a short wait for a device
# that starts no queue.
sock2=$TEST_TMP/gpu2.sock log2=$TEST_TMP/server2.log
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$sock2" --vm-size 64x48 \
  --vm-hostmem 16 --ready-workers 1 --limit memory-per-peer-mib=64 --limit idle-timeout-ms=3000 >/dev/null \
  2> >(sed -u -E 's/^worker process [0-9]+: //' >"$log2") &
server2=$!
BG_PIDS+=("$server2")
for _ in $(seq 200); do [ -S "$sock2" ] && break; sleep 0.05; done

# Two VMs of one uid: their device memory in host RAM is charged to the
# uid's share through the server's ledger, as vtest clients' is.
bound_line="venus-server: info: vhost-user: VMs' device memory in host RAM (a CPU driver's heaps, other devices' system-memory heaps) bounded at 64 MiB per uid (limit memory-per-peer-mib;"
# The line may follow the socket (a sanitizer build starts slowly).
for _ in $(seq 100); do grep -qF "$bound_line" "$log2" && break; sleep 0.1; done
check "memory_share: the bound logged at start" grep -qF "$bound_line" "$log2"
rc=0
timeout -k 5 120 python3 "$VMM" memory_share "$sock2" "$TEST_TMP/memory_share.out" "$log2" \
  >"$TEST_TMP/memory_share.log" 2>&1 || rc=$?
check "memory_share: the front end ran to its end (status $rc)" grep -qx done "$TEST_TMP/memory_share.out"
while IFS=$'\t' read -r kind name verdict seen; do
  [ "$kind" = check ] || continue
  if [ "$verdict" = ok ]; then pass "memory_share: $name"; else fail "memory_share: $name: $seen"; fi
done <"$TEST_TMP/memory_share.out"

# A scanout whose size changes at every flush: 16 size lines at once,
# then 2 a second; the line after the flood counts those held back.
rc=0
timeout -k 5 120 python3 "$VMM" size_flood "$sock2" "$TEST_TMP/size_flood.out" >"$TEST_TMP/size_flood.log" 2>&1 || rc=$?
check "size_flood: the front end ran to its end (status $rc)" grep -qx done "$TEST_TMP/size_flood.out"
# A uid's slots held by devices whose queues never start: a newcomer of
# the uid takes the slot of the one that waited longest, past
# idle-timeout-ms, with one line; not before.
# The cases before end their devices first: a slot counts until then.
for _ in $(seq 300); do
  served=$(grep -cE "vhost-user device [0-9]+: a virtio-gpu device of VMM pid [0-9]+, uid [0-9]+, served by worker process" "$log2" || true)
  ended=$(grep -cE "vhost-user device [0-9]+: its worker \(pid [0-9]+\) (ended|was killed)" "$log2" || true)
  [ "$served" -le "$ended" ] && break
  sleep 0.1
done
rc=0
timeout -k 5 120 python3 "$VMM" unstarted "$sock2" "$TEST_TMP/unstarted.out" 3 >"$TEST_TMP/unstarted.log" 2>&1 || rc=$?
check "unstarted: the front end ran to its end (status $rc)" grep -qx done "$TEST_TMP/unstarted.out"
while IFS=$'\t' read -r kind name verdict seen; do
  [ "$kind" = check ] || continue
  if [ "$verdict" = ok ]; then pass "unstarted: $name"; else fail "unstarted: $name: $seen"; fi
done <"$TEST_TMP/unstarted.out"
kill -TERM "$server2" 2>/dev/null || true
wait "$server2" 2>/dev/null || true
check "unstarted: one line for the device that gave its slot up" test "$(grep -cE \
  "^venus-server: warn: vhost-user device [0-9]+: VMM pid [0-9]+ started no queue in [0-9]+ s while uid [0-9]+'s virtio-gpu slots are full \(limit idle-timeout-ms=3000\); the device ends, its slot is a newcomer's$" "$log2")" -eq 1
# The flood's device is the one that showed 16x12 last; its lines plus
# the size changes they count are all 202 sizes (whichever line the
# count rode on: the flood outlasts a second on a slow machine).
flood_dev=$(sed -n 's/^venus-server: info: vhost-user device \([0-9]*\): scanout 0 shows 16x12.*/\1/p' "$log2" | tail -n 1)
size_lines=$(grep -cE "^venus-server: info: vhost-user device ${flood_dev:-none}: scanout 0 shows " "$log2" || true)
size_counted=$(sed -n "s/^venus-server: info: vhost-user device ${flood_dev:-none}: scanout 0 shows [0-9]*x[0-9]* (\([0-9]*\) size changes before it not logged: more than 16 at once or 2 a second)\$/\1/p" "$log2" |
  awk '{ n += $1 } END { print n + 0 }')
secs=$(sed -n 's/^seconds\t//p' "$TEST_TMP/size_flood.out")
check "size_flood: 202 sizes in ${secs:-?} s, $size_lines size lines (16, then at most 2 a second)" \
  test "$size_lines" -ge 17 -a "$size_lines" -le $((16 + 2 * ${secs:-0} + 1))
check "size_flood: lines count the size changes not logged ($size_lines lines + $size_counted counted = 202)" \
  test "$size_counted" -gt 0 -a $((size_lines + size_counted)) -eq 202

kill -TERM "$server" 2>/dev/null || true
rc=0
wait "$server" || rc=$?
check "the server stopped on SIGTERM (status $rc)" test "$rc" -eq 0
check "no sanitizer report in the server log" test "$(grep -cE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log")" -eq 0
[ "$N_FAIL" -eq 0 ] || { show_tail "$log" 30; show_tail "$TEST_TMP/b.log"; show_tail "$TEST_TMP/a.log"; }
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A context's restore (docs/architecture.md "Snapshot and restore"): its
# renderer torn down and rebuilt from its journal at a quiet point, the
# client connected throughout. The test-only $VENUS_SERVER_TEST_RESTORE=N
# restores each context at every Nth context-side stream where it can.
# Across restores: vk_compute's 12 rounds of 8 MiB check every word,
# render_bench draws the same picture as without them (rebuilt mid-run,
# with its memory and fences), and vk_sync (fences, semaphores, events),
# vk_render and vk_stale_mapping pass. What cannot be rebuilt is refused
# with one line and the client goes on (vk_render's query pools).
# wl_frames presents numbered frames to the display across restores, and
# across hand-overs to fresh workers: each decoded frame whole and in
# order, read from server memory. With N:copy,
# memory the guest has no blob of is copied through the GPU as a discrete
# GPU's device-local memory is: vk_device_local's buffer keeps its words
# across restores, vk_device_image's images their texels and layouts, and
# render_bench draws the same picture; a copy past the uid's host memory
# is refused with one line. With N:copy:snapshot the taken
# state crosses a socket as a snapshot and is read back: the same clients
# pass through it. With N:copy:worker each client (vk_sync too) is handed
# to fresh worker processes. With
# lavapipe given to the loader twice and N:move, contexts move between the
# two GPUs at each restore, and with N:worker:move at each hand-over to a
# fresh worker: vk_compute passes and render_bench draws the same picture;
# on one GPU the move is refused with one line, and a fresh worker's
# client stays with one line. A bad value stops the server at start.
. "$(dirname "$0")/lib.sh"

require_tools timeout
COMPUTE=$BUILD_DIR/tests/vk_compute
RENDER=$BUILD_DIR/bench/render_bench
[ -x "$COMPUTE" ] || { fail "no $COMPUTE (built by make)"; finish; }
[ -x "$RENDER" ] || { fail "no $RENDER (built by make)"; finish; }

REBUILT_RE='restore: rebuilt from [0-9]+ lasting commands \([0-9]+ bytes\) in [0-9.]+ ms \([0-9.]+ of them tearing down\) after [0-9.]+ ms waiting for a quiet point; ([0-9]+) memory regions imported again, [0-9]+ allocations and [0-9]+ images copied through the GPU \([0-9]+ bytes, [0-9.]+ ms out and back\), ([0-9]+) sync objects set as they were'
# rebuilt_with CTX: the most memory regions and sync objects one restore
# of context CTX carried ("REGIONS SYNCS"), "0 0" if none.
rebuilt_with() {
  local regions=0 syncs=0 line
  while IFS= read -r line; do
    if [[ $line =~ $REBUILT_RE ]]; then
      [ "${BASH_REMATCH[1]}" -gt "$regions" ] && regions=${BASH_REMATCH[1]}
      [ "${BASH_REMATCH[2]}" -gt "$syncs" ] && syncs=${BASH_REMATCH[2]}
    fi
  done < <(grep -E "ctx $1: restore: rebuilt" "$SERVER_LOG")
  echo "$regions $syncs"
}
ctx_of() { sed -nE "s/.*ctx ([0-9]+): context created for \"$1\".*/\\1/p" "$SERVER_LOG" | tail -n 1; }
# client LABEL COMMAND...: runs a client through the server; its output in $TEST_TMP/LABEL.out.
client() {
  local label=$1 rc=0
  shift
  venus_run 300 "$@" >"$TEST_TMP/$label.out" 2>"$TEST_TMP/$label.err" || rc=$?
  client_check "$label across restores" "$TEST_TMP/$label.out" "$rc"
}

# --- the reference picture, without restores ---------------------------------
server_start --log-level info || finish
rc=0; venus_run "$RENDER" --seconds 1 320x240 >"$TEST_TMP/plain.out" 2>"$TEST_TMP/plain.err" || rc=$?
[ "$rc" -eq 0 ] || fail "render_bench without restores $(describe_rc "$rc")"
check "without the switch no restore line (found $(log_count 'restore'))" [ "$(log_count 'restore')" -eq 0 ]
server_stop || true

# --- with them ------------------------------------------------------------------
VENUS_SERVER_TEST_RESTORE=2 server_start --log-level info || finish
client compute "$COMPUTE" --mib 8 --rounds 12 || true
read -r regions syncs <<<"$(rebuilt_with "$(ctx_of vk_compute)")"
check "vk_compute's context was rebuilt with its memory ($regions regions at most)" [ "$regions" -gt 0 ]

rc=0; venus_run "$RENDER" --seconds 2 320x240 >"$TEST_TMP/restored.out" 2>"$TEST_TMP/restored.err" || rc=$?
[ "$rc" -eq 0 ] || { fail "render_bench across restores $(describe_rc "$rc")"; show_tail "$TEST_TMP/restored.err" 5; }
hash_of() { sed -nE 's/.* hash: ([0-9a-fx]+).*/\1/p' "$TEST_TMP/$1.out"; }
same=false
[ -n "$(hash_of plain)" ] && [ "$(hash_of restored)" = "$(hash_of plain)" ] && same=true
check "render_bench draws the same picture across restores ($(hash_of restored)) as without ($(hash_of plain))" $same
read -r regions syncs <<<"$(rebuilt_with "$(ctx_of render_bench)")"
mid_run=false
[ "$regions" -gt 0 ] && [ "$syncs" -gt 0 ] && mid_run=true
check "render_bench's context was rebuilt mid-run: its memory ($regions regions) and signalled fences ($syncs)" $mid_run

client sync "$BUILD_DIR/tests/vk_sync" || true
client render "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP" || true
client stale "$BUILD_DIR/tests/vk_stale_mapping" || true
refusal=$(grep -m1 -E "ctx $(ctx_of vk_render): restore refused: query pool [0-9]+: its results cannot be read back yet; the context goes on as it was" "$SERVER_LOG" || true)
check "vk_render's query pools are refused with one line: '${refusal#*: info: }'" [ -n "$refusal" ]
check "no client was dropped (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop || true

# --- a client presenting numbered frames to the display --------------------------
# Its swapchain's memory stays server memory across each restore (the
# display's entry is parked meanwhile, a frame committed then not shown):
# every decoded frame whole and in order, none stale, none read as a
# foreign buffer. With :worker each fresh worker gets a link of its own
# and tells the display of the same memory again.
# numbered_frames HOW LABEL
numbered_frames() {
  VENUS_SERVER_TEST_RESTORE=$1 server_start --log-level info --display vs-restore --record "$TEST_TMP/frames-$2.h264" \
    || finish
  local rc=0 ctx regions syncs moved=false sent made
  venus_run env WAYLAND_DISPLAY=vs-restore WL_FRAMES_ALLOC_EVERY=10 "$BUILD_DIR/tests/display/wl_frames" 120 320 240 \
    >"$TEST_TMP/frames-$2.out" 2>&1 || rc=$?
  check "wl_frames presented its frames $2: $(grep -m1 -o 'presented [0-9]* frames' "$TEST_TMP/frames-$2.out") ($(describe_rc "$rc"))" \
    grep -q 'presented 120 frames' "$TEST_TMP/frames-$2.out"
  server_stop || true
  ctx=$(ctx_of wl_frames)
  if [[ $1 == *:worker ]]; then
    sent=$(grep -cE "ctx $ctx: hand-over: the client's state went to a fresh worker as a snapshot" "$SERVER_LOG" || true)
    made=$(grep -cE "ctx $ctx: restore: made from a snapshot of " "$SERVER_LOG" || true)
    regions=$(grep -cE "ctx $ctx: restore: made from a snapshot of .*, [1-9][0-9]* memory regions, [0-9]+ host copies, [1-9][0-9]* sync objects" \
      "$SERVER_LOG" || true)
    [ "$regions" -gt 0 ] && [ "$made" -eq "$sent" ] && moved=true
    check "wl_frames went to a fresh worker $sent times, made there $made times, $regions of them with its swapchain" $moved
  else
    read -r regions syncs <<<"$(rebuilt_with "$ctx")"
    [ "$regions" -gt 0 ] && [ "$syncs" -gt 0 ] && moved=true
    check "wl_frames' context was rebuilt with its swapchain ($regions regions, $syncs sync objects)" $moved
  fi
  if out=$(python3 "$TESTS_DIR/display/check_stream.py" numbers "$TEST_TMP/frames-$2.h264" 320 240 10 2>&1); then
    pass "its frames $2: $out"
  else
    fail "its frames $2: $out"
  fi
  local shown from_server=false
  shown=$(grep -oE 'display: [0-9]+ commits, [0-9]+ shown \([0-9]+ from server memory, [0-9]+ foreign' "$SERVER_LOG" | tail -n 1)
  [[ $shown =~ \(([1-9][0-9]*)\ from\ server\ memory,\ 0\ foreign ]] && from_server=true
  check "every frame shown $2 was read from server memory (${shown#display: })" $from_server
  check "no client was dropped $2 (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
}
if grep -q -- '--display' <<<"$("$SERVER_BIN" --help)"; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  numbered_frames 5 "across restores"
  numbered_frames 5:worker "across fresh workers"
else
  skip "this build has no display: no numbered frames across restores"
fi

# --- device-local memory, copied through the GPU ---------------------------------
# lavapipe's one memory type is host-visible: with N:copy a restore copies
# host-pointer memory the guest has no blob of through the GPU, as it does
# a discrete GPU's device-local memory, and each image in it apart, out of
# the layouts the submitted work left it in and back into them.
VENUS_SERVER_TEST_RESTORE=2:copy server_start --log-level info || finish
client device-local "$BUILD_DIR/tests/vk_device_local" --mib 8 --rounds 10 || true
copied=$(grep -cE "ctx $(ctx_of vk_device_local): restore: rebuilt .* [1-9][0-9]* allocations and [0-9]+ images copied through the GPU \([1-9][0-9]* bytes, " \
  "$SERVER_LOG" || true)
check "vk_device_local's buffer was copied out and back through the GPU at $copied restores" [ "$copied" -gt 0 ]
client device-image "$BUILD_DIR/tests/vk_device_image" --rounds 10 || true
copied=$(grep -cE "ctx $(ctx_of vk_device_image): restore: rebuilt .* [1-9][0-9]* allocations and [3-9] images copied through the GPU \([1-9][0-9]* bytes, " \
  "$SERVER_LOG" || true)
check "vk_device_image's three images (levels, layers, depth and stencil, a render pass's final layout) were copied out and back at $copied restores" \
  [ "$copied" -gt 0 ]
# (A quiet point not reached in time on a loaded machine is no refusal of its state.)
refused=$(grep "ctx $(ctx_of vk_device_image): restore refused" "$SERVER_LOG" |
  grep -cv 'a ring has commands not run yet\|has work in flight' || true)
check "  ... between rounds, its binary semaphore signalled and not yet waited for: no restore refused ($refused)" \
  [ "$refused" -eq 0 ]
rc=0; venus_run "$RENDER" --seconds 1 320x240 >"$TEST_TMP/copied.out" 2>"$TEST_TMP/copied.err" || rc=$?
[ "$rc" -eq 0 ] || { fail "render_bench with device-local images $(describe_rc "$rc")"; show_tail "$TEST_TMP/copied.err" 5; }
copied=$(grep -cE "ctx $(ctx_of render_bench): restore: rebuilt .* [0-9]+ allocations and [1-9][0-9]* images copied through the GPU" \
  "$SERVER_LOG" || true)
same=false
[ -n "$(hash_of plain)" ] && [ "$(hash_of copied)" = "$(hash_of plain)" ] && same=true
check "render_bench's images were copied at $copied restores, and it draws the same picture ($(hash_of copied))" \
  bash -c "[ $copied -gt 0 ] && $same"
check "no client was dropped (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop || true

# The host copies count against the uid's host memory: a copy that does
# not fit refuses the restore with one line, and the client goes on. The
# client's own memory takes one 32 MiB chunk of its share; 36 MiB leave
# no room for a copy of its 8 MiB.
VENUS_SERVER_TEST_RESTORE=2:copy server_start --log-level info --limit memory-per-peer-mib=36 || finish
client short-of-memory "$BUILD_DIR/tests/vk_device_local" --mib 8 --rounds 4 || true
refusal=$(grep -m1 -E "ctx $(ctx_of vk_device_local): restore refused: its copy of [0-9]+ more bytes in host memory does not fit: .*limit memory-per-peer-mib=36\)" \
  "$SERVER_LOG" || true)
check "a copy past the uid's host memory is refused with one line: '${refusal#*: info: }'" [ -n "$refusal" ]
check "  ... and nothing was copied (found $(grep -cE 'restore: rebuilt .* [1-9][0-9]* allocations and' "$SERVER_LOG"))" \
  [ "$(grep -cE 'restore: rebuilt .* [1-9][0-9]* allocations and' "$SERVER_LOG")" -eq 0 ]
server_stop || true

# same_picture LABEL HOW SECONDS: render_bench through the server as
# started; its last frame against the one without restores.
same_picture() {
  local rc=0 same=false
  venus_run "$RENDER" --seconds "$3" 320x240 >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" || rc=$?
  [ "$rc" -eq 0 ] || { fail "render_bench $2 $(describe_rc "$rc")"; show_tail "$TEST_TMP/$1.err" 5; }
  [ -n "$(hash_of plain)" ] && [ "$(hash_of "$1")" = "$(hash_of plain)" ] && same=true
  check "render_bench draws the same picture $2 ($(hash_of "$1")) as without them" $same
}
# three_clients LABEL HOW ROUNDS: vk_compute (ROUNDS of 8 MiB), vk_device_image
# and render_bench through the server as started; render_bench's last frame
# against the one without restores.
three_clients() {
  client "$1-compute" "$COMPUTE" --mib 8 --rounds "$3" || true
  client "$1-image" "$BUILD_DIR/tests/vk_device_image" --rounds 6 || true
  same_picture "$1" "$2" 1
}

# --- through a snapshot -------------------------------------------------------------
# With :snapshot the state a restore takes crosses a socket as bytes and
# fds (no pointer) and is read back, as a fresh worker reads it: each
# region and host copy mapped again from its fd.
VENUS_SERVER_TEST_RESTORE=2:copy:snapshot server_start --log-level info || finish
three_clients snapshot "through snapshots" 6
for c in vk_compute vk_device_image render_bench; do
  n=$(grep -cE "ctx $(ctx_of $c): restore: rebuilt .*; its state crossed as a snapshot of [1-9][0-9]* bytes and [1-9][0-9]* fds" \
    "$SERVER_LOG" || true)
  check "$c's state crossed as a snapshot with its fds at $n restores" [ "$n" -gt 0 ]
done
check "no snapshot fell back on the state as taken (found $(log_count 'rebuilt from the state as taken'))" \
  [ "$(log_count 'rebuilt from the state as taken')" -eq 0 ]
check "no client was dropped (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop || true

# --- into a fresh worker -------------------------------------------------------------
# With :worker the client's worker hands its whole state (resources, rings,
# the replay and the renderer's, its sync objects) to a fresh worker the
# server starts, and ends: the client stays connected to its socket. With
# :copy, host-pointer memory crosses as host copies too.
VENUS_SERVER_TEST_RESTORE=3:copy:worker server_start --log-level info || finish
three_clients fresh "across fresh workers" 9
client fresh-sync "$BUILD_DIR/tests/vk_sync" || true
for c in vk_compute vk_device_image render_bench vk_sync; do
  ctx=$(ctx_of "$c")
  sent=$(grep -cE "ctx $ctx: hand-over: the client's state went to a fresh worker as a snapshot of [1-9][0-9]* bytes and [1-9][0-9]* fds" "$SERVER_LOG" || true)
  made=$(grep -cE "ctx $ctx: restore: made from a snapshot of [0-9]+ lasting commands .* ms after its quiet point in the worker before" "$SERVER_LOG" || true)
  moved=false
  [ "$sent" -gt 0 ] && [ "$made" -eq "$sent" ] && moved=true
  check "$c went to a fresh worker $sent times, made there $made times" $moved
done
check "no hand-over was rebuilt in place (found $(log_count 'rebuilt here from the state as taken'))" \
  [ "$(log_count 'rebuilt here from the state as taken')" -eq 0 ]
check "no client was dropped (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
server_stop || true

# --- moved between two GPUs: lavapipe given to the loader twice ----------------------
# (a second ICD file naming a copy of its library, as test_placement does)
lvp_lib=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ICD"]["library_path"])' "$LVP_ICD")
if [ "${lvp_lib#/}" = "$lvp_lib" ]; then
  lvp_lib=$(for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
              [ -f "$d/$lvp_lib" ] && echo "$d/$lvp_lib" && break; done || true)
fi
if [ -f "$lvp_lib" ]; then
  cp "$lvp_lib" "$TEST_TMP/libvulkan_lvp_second.so"
  python3 - "$LVP_ICD" "$TEST_TMP/lvp_second.json" "$TEST_TMP/libvulkan_lvp_second.so" <<'PY'
import json, sys
icd = json.load(open(sys.argv[1]))
icd["ICD"]["library_path"] = sys.argv[3]
json.dump(icd, open(sys.argv[2], "w"))
PY
  one_gpu_icd=$LVP_ICD
  LVP_ICD="$LVP_ICD:$TEST_TMP/lvp_second.json"
  VENUS_SERVER_TEST_RESTORE=2:move server_start --log-level info || finish
  client moved-compute "$COMPUTE" --mib 8 --rounds 12 || true
  same_picture moved "moved between GPUs" 2
  for dir in "1, moved from GPU 0" "0, moved from GPU 1"; do
    check "contexts were rebuilt on GPU $dir ($(log_count "restore: rebuilt on GPU $dir") times)" \
      [ "$(log_count "restore: rebuilt on GPU $dir")" -gt 0 ]
  done
  check "no client was dropped moving (found $(log_count 'dropping client'))" [ "$(log_count 'dropping client')" -eq 0 ]
  server_stop || true
  # Into a fresh worker on the other GPU at each hand-over.
  VENUS_SERVER_TEST_RESTORE=3:worker:move server_start --log-level info || finish
  client fresh-moved-compute "$COMPUTE" --mib 8 --rounds 9 || true
  same_picture fresh-moved "moved by fresh workers" 1
  for dir in "0 to GPU 1" "1 to GPU 0"; do
    check "clients moved from GPU $dir ($(log_count "hand-over: the client moves from GPU $dir") times)" \
      [ "$(log_count "hand-over: the client moves from GPU $dir")" -gt 0 ]
  done
  made=$(log_count 'restore: made from a snapshot of')
  sent=$(log_count "hand-over: the client's state went to a fresh worker")
  all_made=false
  [ "$sent" -gt 0 ] && [ "$made" -eq "$sent" ] && all_made=true
  check "each hand-over was made in the next worker ($made of $sent)" $all_made
  check "no client was dropped moving by fresh workers (found $(log_count 'dropping client'))" \
    [ "$(log_count 'dropping client')" -eq 0 ]
  server_stop || true
  LVP_ICD=$one_gpu_icd
  # On one GPU there is nowhere to move to: refused with one line.
  VENUS_SERVER_TEST_RESTORE=2:move server_start --log-level info || finish
  client lone-compute "$COMPUTE" --mib 8 --rounds 2 || true
  check "on one GPU a move is refused with one line ($(grep -m1 -o 'restore refused: it sees every GPU of the host\|restore refused: the host has no other GPU[^;]*' "$SERVER_LOG"))" \
    grep -q 'restore refused: \(it sees every GPU of the host\|the host has no other GPU\)' "$SERVER_LOG"
  server_stop || true
  VENUS_SERVER_TEST_RESTORE=2:worker:move server_start --log-level info || finish
  client lone-fresh-compute "$COMPUTE" --mib 8 --rounds 2 || true
  check "on one GPU a fresh worker's client stays there with one line ($(log_count 'hand-over: no other GPU of its GPU.s model to move to; the client stays on it') times)" \
    [ "$(log_count 'hand-over: no other GPU of its GPU.s model to move to; the client stays on it')" -gt 0 ]
  server_stop || true
else
  skip "lavapipe's library not found for a second copy: no move between GPUs"
fi

# --- a bad value -------------------------------------------------------------------
rc=0
VENUS_SERVER_TEST_RESTORE=often timeout 10 "$BUILD_DIR/venus-server" --socket "$TEST_TMP/bad.sock" \
  >"$TEST_TMP/bad.log" 2>&1 || rc=$?
stopped=false
[ "$rc" -ne 0 ] && grep -q "invalid \$VENUS_SERVER_TEST_RESTORE" "$TEST_TMP/bad.log" && stopped=true
check "a bad \$VENUS_SERVER_TEST_RESTORE stops the server at start (status $rc)" $stopped
finish

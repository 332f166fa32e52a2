#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The stock front end with venus-server behind it: virglrenderer 1.1's
# virgl_test_server --venus --no-virgl (Debian trixie, run in the trixie
# root of scripts/trixie-root.sh) starts build/venus-server as its render
# server through RENDER_SERVER_EXEC_PATH, exactly as a VMM's
# libvirglrenderer does. Through that chain: vulkaninfo (>= 1.3,
# VK_KHR_swapchain), compute, sync, the offscreen render compared with
# native lavapipe, the modifier test and Zink; the tenant's bounds
# (VkDevices per context, device memory per VM) set through
# $VENUS_SERVER_OPTIONS, each refusal one line. Then the same clients with the
# stock virgl_render_server in the same place, whose results are only
# reported (the peer's known failures, docs/vmm.md).
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo
root=${TRIXIE_ROOT:-$TESTS_DIR/../.deps/trixie-root}
if [ ! -x "$root/usr/bin/virgl_test_server" ] || [ ! -x "$root/usr/libexec/virgl_render_server" ]; then
  skip "no trixie root with virgl-server at $root (build it: scripts/trixie-root.sh --include virgl-server,mesa-vulkan-drivers)"
  finish
fi
if posix_build; then
  skip "-Dos=posix build: its blobs are POSIX shm, which the stock Linux front end cannot seal (test_render_server covers this backend)"
  finish
fi
if ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip "sanitizer build: its runtime is the host's, not the trixie root's (the render-server protocol is covered by test_render_server)"
  finish
fi

dir=$(mktemp -d "$root/tmp/vs-stock.XXXXXX")
inner=${dir#"$root"}
# With the host's copies of libraries the root lacks (the display's).
"$TESTS_DIR/../scripts/into-root.sh" "$root" "$dir" "$SERVER_BIN"
cleanup_dir() { rm -rf --one-file-system "$dir"; }
trap 'lib_cleanup; cleanup_dir' EXIT

# front_start LABEL RENDER_SERVER_PATH(inside the root): start the stock front end.
front_start() {
  local label=$1 rs=$2
  SERVER_SOCK=$dir/$label.sock
  SERVER_LOG=$TEST_TMP/$label.log
  rm -f "$SERVER_SOCK"
  "$TESTS_DIR/../scripts/in-root.sh" "$root" env "${FRONT_ENV[@]}" RENDER_SERVER_EXEC_PATH="$rs" LD_LIBRARY_PATH="$inner/lib" \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json \
    virgl_test_server --venus --no-virgl --multi-clients --socket-path "$inner/$label.sock" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  BG_PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 100); do [ -S "$SERVER_SOCK" ] && return 0; sleep 0.1; done
  fail "$label: virgl_test_server did not create its socket"
  show_tail "$SERVER_LOG"
  return 1
}
front_stop() { kill_tree "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

FRONT_ENV=()
# run_clients LABEL MODE: MODE=check (PASS/FAIL) or report (notes only).
results=()
run_clients() {
  local label=$1 mode=$2 rc name ok
  result() { # result NAME OK DETAIL
    if [ "$mode" = check ]; then
      if [ "$2" = 1 ]; then pass "$label: $1: $3"; else fail "$label: $1: $3"; show_tail "$SERVER_LOG" 8; fi
    else
      note "$label: $1: $([ "$2" = 1 ] && echo works || echo FAILS) ($3)"
    fi
    results+=("$label,$1,$2")
  }
  # Without DISPLAY: vulkaninfo would also make an XCB surface on Xvfb
  # (started for Zink), which fails now and then under load.
  rc=0; venus_run env -u DISPLAY vulkaninfo >"$TEST_TMP/$label-vi.out" 2>&1 || rc=$?
  api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$TEST_TMP/$label-vi.out" | head -n1)
  ok=0
  if [ "$rc" -eq 0 ] && [[ $api == 1.[3-9]* ]] && grep -q 'VK_KHR_swapchain' "$TEST_TMP/$label-vi.out"; then ok=1; fi
  result vulkaninfo $ok "$(describe_rc $rc), apiVersion ${api:-none}, VK_KHR_swapchain $(grep -q VK_KHR_swapchain "$TEST_TMP/$label-vi.out" && echo yes || echo no)"
  local cmdline
  for cmdline in "vk_compute --mib 16" vk_sync vk_modifier; do
    read -ra argv <<<"$cmdline"
    name=${argv[0]}
    rc=0; venus_run "$BUILD_DIR/tests/$name" "${argv[@]:1}" >"$TEST_TMP/$label-$name.out" 2>&1 || rc=$?
    ok=0; [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$label-$name.out" && ok=1
    result "$name" $ok "$(describe_rc $rc), $(grep -c '^ok:' "$TEST_TMP/$label-$name.out" || true) checks ok"
  done
  mkdir -p "$TEST_TMP/$label-render"
  rc=0; venus_run "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/$label-render" >"$TEST_TMP/$label-render.out" 2>&1 || rc=$?
  ok=0; local same=0 f
  if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$TEST_TMP/$label-render.out"; then
    ok=1
    for f in "$TEST_TMP/native-render"/*; do
      if cmp -s "$f" "$TEST_TMP/$label-render/$(basename "$f")"; then same=$((same + 1)); else ok=0; fi
    done
  fi
  result vk_render $ok "$(describe_rc $rc), $same of $(ls "$TEST_TMP/native-render" | wc -l) outputs identical to native"
  if [ -n "${DISPLAY:-}" ]; then
    rc=0; LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink venus_run glxinfo -B >"$TEST_TMP/$label-zink.out" 2>&1 || rc=$?
    r=$(grep -m1 'OpenGL renderer string' "$TEST_TMP/$label-zink.out" | sed 's/.*: //' || true)
    ok=0; [ "$rc" -eq 0 ] && [[ $r == zink*Venus* ]] && ok=1
    result zink $ok "$(describe_rc $rc), renderer '${r:-none}'"
  fi
}

mkdir -p "$TEST_TMP/native-render"
rc=0; native_run "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/native-render" >"$TEST_TMP/native-render.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || note "native vk_render failed ($(describe_rc $rc)); render comparison will fail"
if command -v Xvfb >/dev/null && command -v glxinfo >/dev/null; then xvfb_start || note "no Xvfb: Zink not run"; fi

if front_start ours "$inner/venus-server"; then
  run_clients ours check
  if grep -q 'venus-server: error:' "$SERVER_LOG"; then
    fail "ours: venus-server logged errors:"; grep 'venus-server: error:' "$SERVER_LOG" | head -5 | sed 's/^/         | /'
  else
    pass "ours: venus-server logged no error line behind the stock front end"
  fi
  front_stop
fi
# The tenant's bounds hold through this door too, set as the operator of a
# stock VMM sets them ($VENUS_SERVER_OPTIONS): a context making VkDevices
# in a loop is refused the fifth, and a client allocating until it fails
# is refused at the VM's share of host RAM, each with one line, while a
# compute client beside them is served.
FRONT_ENV=(VENUS_SERVER_OPTIONS="--limit devices=4 --limit memory-per-peer-mib=64")
if front_start bounds "$inner/venus-server"; then
  venus_run "$BUILD_DIR/tests/vk_compute" --mib 4 --rounds 8 --pause-ms 300 >"$TEST_TMP/bounds-compute.out" 2>&1 &
  compute_pid=$!; BG_PIDS+=("$compute_pid")
  rc=0; venus_run 60 "$BUILD_DIR/tests/vk_hostile" device-flood >"$TEST_TMP/bounds-flood.out" 2>&1 || rc=$?
  check "bounds: a VkDevice flood is refused after 4 ($(describe_rc $rc))" \
    grep -q '^ok: vkCreateDevice refused after 4 devices: VK_ERROR_TOO_MANY_OBJECTS$' "$TEST_TMP/bounds-flood.out"
  rc=0; venus_run env VN_PERF=no_async_mem_alloc "$BUILD_DIR/tests/vk_allocs" --until-fail 64 --size $((16 << 20)) \
    >"$TEST_TMP/bounds-allocs.out" 2>&1 || rc=$?
  held=$(sed -n 's/^info: held \([0-9]*\) allocations.*/\1/p' "$TEST_TMP/bounds-allocs.out")
  check "bounds: 16 MiB allocations refused within the 64 MiB share (held ${held:-none}; $(describe_rc $rc))" \
    test "$rc" -eq 0 -a -n "$held" -a "${held:-99}" -le 4
  rc=0; wait "$compute_pid" || rc=$?
  client_check "bounds: a compute client beside them" "$TEST_TMP/bounds-compute.out" "$rc" || true
  sleep 1
  check "bounds: one line for the refused VkDevice" \
    test "$(grep -c 'vkCreateDevice refused: the context holds 4 VkDevices (limit devices=4)' "$SERVER_LOG")" -eq 1
  check "bounds: one line for the refused memory" \
    test "$(grep -c 'exceed their 67108864 (limit memory-per-peer-mib=64)' "$SERVER_LOG")" -eq 1
  front_stop
fi
FRONT_ENV=()

# The stock render server in the same place: reported, never failed.
CLIENT_TIMEOUT=20
if front_start stock /usr/libexec/virgl_render_server; then
  run_clients stock report
  front_stop
fi
printf '%s\n' "${results[@]}" >"$TEST_TMP/results.csv"
[ -n "${STOCK_RESULTS_OUT:-}" ] && cp "$TEST_TMP/results.csv" "$STOCK_RESULTS_OUT"
finish

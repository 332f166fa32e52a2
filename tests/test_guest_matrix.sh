#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guest matrix (docs/testing.md "Guests"): the end-to-end checks with every guest
# driver a user runs today, each through venus-server's vtest socket and
# through the stock front end of the guest's own distribution with
# venus-server as its render server (RENDER_SERVER_EXEC_PATH):
#
#   guest Mesa                      stock front end
#   25.0.7 (bookworm-backports)     virgl_test_server 1.1 (trixie root)
#   newest of Debian (sid root)     virgl_test_server 1.3 (sid root)
#
# Per cell: vulkaninfo (apiVersion: 1.3.269 for Mesa 25, whose protocol
# stops there; 1.4 for Mesa 26 on a 1.4 host), compute, sync, the offscreen
# render and the Vulkan 1.4 client vk14 compared byte for byte with native
# lavapipe (vk14 must find no 1.4 device with Mesa 25: the guest is told
# the truth), Zink (glxinfo on Xvfb) and vkcube. The roots are built on
# first use (scripts/debian-root.sh, a few minutes each) and cached.
#
# Hook for more per-cell checks (the piglit slice, say): every executable
# tests/guest_matrix.d/*.sh runs per cell as `HOOK LABEL RUN...`, where
# RUN... runs a command as that cell's Venus client; its PASS/FAIL lines
# count like this test's.
. "$(dirname "$0")/lib.sh"

require_tools python3
top=$TESTS_DIR/..
if posix_build; then
  skip "-Dos=posix build: the stock Linux front ends cannot seal its POSIX shm blobs (the -Dos=auto run has the matrix)"
  finish
fi
if ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip "sanitizer build: its runtime is the host's, not the roots' (the plain build runs the matrix)"
  finish
fi
sid=$("$top/scripts/debian-root.sh" sid 2>"$TEST_TMP/sid-root.err") || {
  skip "no sid root: $(tail -n1 "$TEST_TMP/sid-root.err")"; finish; }
trixie=$("$top/scripts/debian-root.sh" trixie 2>"$TEST_TMP/trixie-root.err") || {
  skip "no trixie root: $(tail -n1 "$TEST_TMP/trixie-root.err")"; finish; }

# A directory in each root with venus-server (and the libraries the root
# lacks) and the test clients; sockets live in the sid one, which host
# clients reach by its host path.
dirs=()
for r in "$sid" "$trixie"; do
  d=$(mktemp -d "$r/tmp/vs-matrix.XXXXXX"); dirs+=("$d")
  "$top/scripts/into-root.sh" "$r" "$d" "$SERVER_BIN" "$BUILD_DIR"/tests/{vk_compute,vk_sync,vk_render,vk14}
done
sid_dir=${dirs[0]} trixie_dir=${dirs[1]}
cleanup_dirs() { local d; for d in "${dirs[@]}"; do rm -rf --one-file-system "$d"; done; }
trap 'lib_cleanup; cleanup_dirs' EXIT

# Native outputs to compare with: the host's lavapipe for the cells whose
# render server runs on the host or in the trixie root (the same Mesa
# 25.0.7), the sid root's lavapipe for the sid front end's cell (its render
# server runs there, on sid's Mesa).
native_host=$TEST_TMP/native-host native_sid=$sid_dir/native-sid
mkdir -p "$native_host" "$native_sid"
for client in vk_render vk14; do
  native_run "$BUILD_DIR/tests/$client" --out-dir "$native_host" >"$TEST_TMP/native-$client.out" 2>&1 ||
    note "native $client: $(tail -n1 "$TEST_TMP/native-$client.out")"
  "$top/scripts/in-root.sh" "$sid" env VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json \
    timeout -k 5 "$CLIENT_TIMEOUT" "${sid_dir#"$sid"}/$client" --out-dir "${native_sid#"$sid"}" \
    >"$TEST_TMP/native-sid-$client.out" 2>&1 || note "native $client in the sid root: $(tail -n1 "$TEST_TMP/native-sid-$client.out")"
done
native_dir=$native_host
if command -v Xvfb >/dev/null; then xvfb_start || note "no Xvfb: Zink and vkcube are not run"; fi

# The guests: GUEST_RUN... runs a command as the guest's client on socket
# $CELL_SOCK (a host path); GUEST_BIN is where the test clients are for it.
guest25() {
  env -u VN_DEBUG VN_DEBUG=vtest VTEST_SOCKET_NAME="$CELL_SOCK" VK_ICD_FILENAMES="$VIRTIO_ICD" \
    timeout -k 5 "$CLIENT_TIMEOUT" "$@"
}
guest26() {
  local sock=${CELL_SOCK#"$sid"} bin=$1; shift
  [[ $bin == "$sid_dir"/* ]] && bin=${bin#"$sid"}
  "$top/scripts/in-root.sh" "$sid" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json ${DISPLAY:+DISPLAY=$DISPLAY} \
    timeout -k 5 "$CLIENT_TIMEOUT" "$bin" "$@"
}
# Output directories the guest writes: host paths, seen inside the sid root
# for guest26.
guest_path() { if [ "$GUEST" = guest26 ]; then echo "${1#"$sid"}"; else echo "$1"; fi; }

results=()
cell_result() { # NAME OK DETAIL
  if [ "$2" = 1 ]; then pass "$CELL: $1: $3"; else fail "$CELL: $1: $3"; show_tail "$CELL_LOG" 6; fi
  results+=("$CELL,$1,$2,$3")
}

# same_as_native DIR FILE...: how many of the files equal native's.
same_as_native() {
  local dir=$1 f n=0; shift
  for f in "$@"; do cmp -s "$native_dir/$f" "$dir/$f" && n=$((n + 1)); done
  echo "$n"
}

run_cell() {
  local out=$sid_dir/$CELL rc api ok want_api name
  mkdir -p "$out"
  # Without DISPLAY: vulkaninfo would also make a surface on Xvfb.
  rc=0; (unset DISPLAY; "$GUEST" vulkaninfo) >"$out/vi.txt" 2>&1 || rc=$?
  api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*= *\([0-9.]*\).*/\1/p' "$out/vi.txt" | head -n1)
  want_api='1.3.269'; [ "$GUEST" = guest26 ] && want_api='1.4.*'
  ok=0; [ "$rc" -eq 0 ] && [[ $api == $want_api ]] && ok=1
  cell_result vulkaninfo $ok "$(describe_rc $rc), apiVersion ${api:-none} (want $want_api)"
  CELL_API=${api:-none}
  for name in vk_compute vk_sync; do
    local args=(); [ $name = vk_compute ] && args=(--mib 16)
    rc=0; "$GUEST" "$sid_dir/$name" "${args[@]}" >"$out/$name.out" 2>&1 || rc=$?
    ok=0; [ "$rc" -eq 0 ] && grep -q '^PASSED' "$out/$name.out" && ok=1
    cell_result $name $ok "$(describe_rc $rc)"
  done
  mkdir -p "$out/render"
  rc=0; "$GUEST" "$sid_dir/vk_render" --out-dir "$(guest_path "$out/render")" >"$out/render.out" 2>&1 || rc=$?
  local files=(composite.pam dynamic.pam queries.txt scene.pam) same
  same=$(same_as_native "$out/render" "${files[@]}")
  ok=0; [ "$rc" -eq 0 ] && [ "$same" = ${#files[@]} ] && ok=1
  cell_result vk_render $ok "$(describe_rc $rc), $same of ${#files[@]} outputs identical to native"
  mkdir -p "$out/vk14"
  rc=0; "$GUEST" "$sid_dir/vk14" --out-dir "$(guest_path "$out/vk14")" >"$out/vk14.out" 2>&1 || rc=$?
  if [ "$GUEST" = guest26 ]; then
    same=$(same_as_native "$out/vk14" vk14.pam hostcopy.bin)
    ok=0; [ "$rc" -eq 0 ] && [ "$same" = 2 ] && ok=1
    cell_result vk14 $ok "$(describe_rc $rc), $same of 2 outputs (1.4 render, host image copy) identical to native"
  else
    ok=0; [ "$rc" -eq 2 ] && grep -q '^UNSUPPORTED' "$out/vk14.out" && ok=1
    cell_result vk14 $ok "Vulkan 1.4 client finds no 1.4 device ($(describe_rc $rc))"
  fi
  if [ -n "${DISPLAY:-}" ]; then
    # Mesa 26 takes Zink through the loader (its drisw path fails on Xvfb).
    local zink_env=(LIBGL_ALWAYS_SOFTWARE=1 GALLIUM_DRIVER=zink)
    [ "$GUEST" = guest26 ] && zink_env+=(MESA_LOADER_DRIVER_OVERRIDE=zink)
    rc=0; "$GUEST" env "${zink_env[@]}" glxinfo -B >"$out/zink.out" 2>&1 || rc=$?
    local r; r=$(grep -m1 'OpenGL renderer string' "$out/zink.out" | sed 's/.*: //' || true)
    ok=0; [ "$rc" -eq 0 ] && [[ $r == zink*Venus* ]] && ok=1
    cell_result zink $ok "$(describe_rc $rc), renderer '${r:-none}'"
    rc=0; "$GUEST" env MESA_VK_WSI_DEBUG=sw vkcube --c 100 >"$out/vkcube.out" 2>&1 || rc=$?
    ok=0; [ "$rc" -eq 0 ] && ok=1
    cell_result vkcube $ok "vkcube --c 100: $(describe_rc $rc)"
  fi
  local hook
  for hook in "$TESTS_DIR"/guest_matrix.d/*.sh; do
    [ -x "$hook" ] && "$hook" "$CELL" "$GUEST"
  done
  return 0
}

# front_start ROOT DIR: the root's stock virgl_test_server with venus-server
# as its render server; CELL_SOCK is its socket (under the sid root).
front_start() {
  local root=$1 dir=$2 inner=${2#"$1"} sock_inner
  CELL_SOCK=$sid_dir/$CELL.sock
  if [ "$root" = "$sid" ]; then sock_inner=${CELL_SOCK#"$sid"}; else
    # The trixie front end listens in its own root; a link in the sid
    # directory would not reach it from the sid root, so host clients only.
    CELL_SOCK=$dir/$CELL.sock; sock_inner=${CELL_SOCK#"$root"}; fi
  CELL_LOG=$TEST_TMP/$CELL.log
  "$top/scripts/in-root.sh" "$root" env RENDER_SERVER_EXEC_PATH="$inner/venus-server" LD_LIBRARY_PATH="$inner/lib" \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json \
    virgl_test_server --venus --no-virgl --multi-clients --socket-path "$sock_inner" >"$CELL_LOG" 2>&1 &
  CELL_PID=$!; BG_PIDS+=("$CELL_PID")
  local i; for i in $(seq 100); do [ -S "$CELL_SOCK" ] && return 0; sleep 0.1; done
  fail "$CELL: virgl_test_server did not create its socket"; show_tail "$CELL_LOG"; return 1
}
cell_stop() { kill_tree "$CELL_PID"; wait "$CELL_PID" 2>/dev/null || true; }

# Through venus-server's own vtest socket: one server, both guests.
server_start_at "$sid_dir/vtest.sock" --log-level info || finish
CELL_SOCK=$SERVER_SOCK CELL_LOG=$SERVER_LOG
for GUEST in guest25 guest26; do
  CELL="mesa${GUEST#guest}-vtest"; run_cell
done
server_stop

GUEST=guest25 CELL=mesa25-trixie-virgl_test_server
front_start "$trixie" "$trixie_dir" && { run_cell; cell_stop; }
GUEST=guest26 CELL=mesa26-sid-virgl_test_server native_dir=$native_sid
front_start "$sid" "$sid_dir" && { run_cell; cell_stop; }

printf '%s\n' "${results[@]}" >"$TEST_TMP/matrix.csv"
[ -n "${MATRIX_OUT:-}" ] && cp "$TEST_TMP/matrix.csv" "$MATRIX_OUT"
finish

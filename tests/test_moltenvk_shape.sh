#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guest suite against a host shaped like MoltenVK on an Apple Silicon
# Mac: lavapipe under VK_LAYER_VENUS_moltenvk_shape (tests/mvk_layer/: no
# fd or dma-buf memory, no DRM modifiers, no sync fds, no device without
# portability enumeration, VK_KHR_portability_subset required at
# vkCreateDevice, MoltenVK's missing features masked and their use refused,
# host-pointer imports at 16 KiB), the layer in the server process only.
# The server is the -Dos=posix build where there is one (BUILD-posix, as
# `make test-posix` builds it; else BUILD's own), at --page-size 16384,
# as on the Mac. Through it: vulkaninfo, vk_compute, vk_render (byte for
# byte against native lavapipe), vk_sync, vkcube under Xvfb, vkcube-wayland
# on the built-in display, and the Zink piglit slice. The layer refuses
# nothing, and the server drops no client and logs no error.
. "$(dirname "$0")/lib.sh"

require_tools timeout vulkaninfo cmp python3

# The server: the posix build's where there is one. The -Dos=auto pass
# beside it has run this test with this build's server already.
if [[ $BUILD_DIR == *-posix ]] && [ -x "${BUILD_DIR%-posix}/venus-server" ]; then
  skip "the ${BUILD_DIR%-posix} pass ran it with this build's server"
  finish
fi
server_build=$BUILD_DIR
if [[ $BUILD_DIR != *-posix ]] && [ -x "$BUILD_DIR-posix/venus-server" ]; then
  server_build=$BUILD_DIR-posix
fi
SERVER_BIN=$server_build/venus-server
os=$(python3 -c 'import json, sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "os"))' \
     "$server_build/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)
note "server: $SERVER_BIN (-Dos=$os)"
[ "$os" = posix ] || note "no -Dos=posix build next to $BUILD_DIR (make test-posix builds one): the server is the $os build"
LAYER_DIR=$server_build/tests/mvk_layer
[ -f "$LAYER_DIR/VkLayer_venus_moltenvk_shape.json" ] || { fail "no layer manifest in $LAYER_DIR (built by make)"; finish; }
for t in vk_compute vk_render vk_sync; do
  [ -x "$BUILD_DIR/tests/$t" ] || { fail "no $BUILD_DIR/tests/$t (built by make)"; finish; }
done
LAYER_ENV=(VK_LAYER_PATH="$LAYER_DIR" VK_INSTANCE_LAYERS=VK_LAYER_VENUS_moltenvk_shape)
SERVER_ARGS_MAC=(--page-size 16384 --log-level info)
REFUSED_RE='venus-mvk-shape: refused'
LOGS=()

# --- the layer on its own ------------------------------------------------------
# Like the loader with MoltenVK: an instance that does not enumerate
# portability drivers (vk_compute's) is listed no device. (Without Mesa's
# device-select layer, which crashes on an empty list: Mesa 25.0.7.)
rc=0
native_run env "${LAYER_ENV[@]}" NODEVICE_SELECT=1 "$BUILD_DIR/tests/vk_compute" --mib 1 \
  >"$TEST_TMP/noport.out" 2>"$TEST_TMP/noport.err" || rc=$?
if [ "$rc" -eq 1 ] && grep -q '^error: no physical device' "$TEST_TMP/noport.out" &&
   grep -q 'venus-mvk-shape: an instance created without VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR' "$TEST_TMP/noport.err"; then
  pass "the layer lists no device to an instance without portability enumeration ($(describe_rc "$rc"))"
else
  fail "an instance without portability enumeration was listed a device through the layer ($(describe_rc "$rc"))"
  show_tail "$TEST_TMP/noport.err" 5
fi

# --- the server on the MoltenVK-shaped host --------------------------------------
# server_up [args]: a server with the layer in its environment only.
server_up() {
  VK_LAYER_PATH=$LAYER_DIR VK_INSTANCE_LAYERS=VK_LAYER_VENUS_moltenvk_shape \
    server_start "${SERVER_ARGS_MAC[@]}" "$@" || return 1
  LOGS+=("$SERVER_LOG")
}
server_down() {
  check_no_drops "$1"
  check "$1: no error line in the server log" test -z "$(log_errors)"
  server_stop || true
}

server_up || finish

rc=0; venus_run env -u DISPLAY vulkaninfo >"$TEST_TMP/vulkaninfo.out" 2>"$TEST_TMP/vulkaninfo.err" || rc=$?
if [ "$rc" -eq 0 ] && grep -qE "deviceName +=.*$VENUS_NAME_RE" "$TEST_TMP/vulkaninfo.out"; then
  pass "vulkaninfo through the server: exit 0, the Venus device is listed"
else
  fail "vulkaninfo through the server: $(describe_rc "$rc"), Venus device $(grep -qE "$VENUS_NAME_RE" "$TEST_TMP/vulkaninfo.out" && echo listed || echo missing)"
  show_tail "$TEST_TMP/vulkaninfo.err" 5
  show_tail "$SERVER_LOG" 10
fi
check "the server's host instance enumerates portability drivers (it is listed the device)" \
  bash -c "! grep -q 'venus-mvk-shape: an instance created without' '$SERVER_LOG'"
# What Mesa's guest needs and the host lacks, the server provides.
for ext in VK_KHR_swapchain VK_EXT_external_memory_dma_buf VK_EXT_image_drm_format_modifier VK_KHR_dynamic_rendering; do
  check "the guest is offered $ext" grep -qE "^[[:space:]]*$ext[[:space:]]*:" "$TEST_TMP/vulkaninfo.out"
done
for feature in geometryShader pipelineStatisticsQuery shaderFloat64 wideLines; do
  check "the guest sees $feature = false, as on MoltenVK" \
    grep -qE "^[[:space:]]*$feature[[:space:]]*= false" "$TEST_TMP/vulkaninfo.out"
done

rc=0; venus_run "$BUILD_DIR/tests/vk_compute" --mib 64 >"$TEST_TMP/compute.out" 2>"$TEST_TMP/compute.err" || rc=$?
client_check "vk_compute --mib 64 through the server" "$TEST_TMP/compute.out" "$rc" || true
rc=0; venus_run "$BUILD_DIR/tests/vk_sync" >"$TEST_TMP/sync.out" 2>"$TEST_TMP/sync.err" || rc=$?
client_check "vk_sync through the server" "$TEST_TMP/sync.out" "$rc" || true

# vk_render: natively on lavapipe (no layer), then through the server.
mkdir -p "$TEST_TMP/native" "$TEST_TMP/venus"
rc=0; native_run "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/native" >"$TEST_TMP/render-native.out" 2>&1 || rc=$?
client_check "native lavapipe: vk_render" "$TEST_TMP/render-native.out" "$rc" || true
rc=0; venus_run "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP/venus" >"$TEST_TMP/render.out" 2>"$TEST_TMP/render.err" || rc=$?
client_check "vk_render through the server" "$TEST_TMP/render.out" "$rc" || true
for name in scene.pam composite.pam dynamic.pam queries.txt; do
  [ -f "$TEST_TMP/native/$name" ] || continue
  if cmp -s "$TEST_TMP/native/$name" "$TEST_TMP/venus/$name"; then
    pass "vk_render $name: identical natively and through the server"
  else
    fail "vk_render $name: differs between native lavapipe and the server (or missing there)"
  fi
done

# vkcube under Xvfb, on Mesa's software WSI (as test_vkcube).
if command -v vkcube >/dev/null && command -v Xvfb >/dev/null && xvfb_start; then
  rc=0; venus_run env MESA_VK_WSI_DEBUG=sw vkcube --c 100 >"$TEST_TMP/vkcube.out" 2>&1 || rc=$?
  check "vkcube --c 100 through the server under Xvfb: $(describe_rc "$rc")" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || show_tail "$TEST_TMP/vkcube.out" 5
else
  skip "vkcube: no vkcube or Xvfb"
fi
server_down "vulkaninfo, compute, sync, render, vkcube"

# vkcube-wayland on the built-in display.
if "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null && command -v vkcube-wayland >/dev/null; then
  export XDG_RUNTIME_DIR=$TEST_TMP/rt
  mkdir -m 700 -p "$XDG_RUNTIME_DIR"
  if server_up --display vs-mvk; then
    rc=0
    venus_run env WAYLAND_DISPLAY=vs-mvk vkcube-wayland --c 100 --width 320 --height 240 >"$TEST_TMP/wl.out" 2>&1 || rc=$?
    check "vkcube-wayland --c 100 on the server's display: $(describe_rc "$rc")" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || show_tail "$TEST_TMP/wl.out" 5
    server_down "display"
  fi
else
  skip "display: this build has no --display, or no vkcube-wayland"
fi

# The Zink piglit slice (tests/test_piglit_slice.sh), the layer in its server.
rc=0
SERVER_ENV="${LAYER_ENV[*]}" SERVER_ARGS="${SERVER_ARGS_MAC[*]}" OUT_DIR=$TEST_TMP/conformance \
  "$TESTS_DIR/../scripts/conformance.sh" "$server_build" slice >"$TEST_TMP/conformance.out" 2>&1 || rc=$?
# Zink offers OpenGL 2.1 only on this host (no transform feedback, logicOp
# nor custom border colours, as on MoltenVK): a test that needs more
# skips there, which is the guest seeing the host as it is. Any other
# outcome that passed natively is a regression.
summary=$TEST_TMP/conformance/summary.txt
# Only the regressions' own lines: a "flaky" list may follow them.
regressions=$(awk '/^regressions/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  /' "$summary" 2>/dev/null || true)
not_skips=$(grep -v ': skip$' <<<"$regressions" || true)
case $rc in
  0) pass "Zink piglit slice: no regression against native" ;;
  2) skip "Zink piglit slice: $(tail -n1 "$TEST_TMP/conformance.out")" ;;
  1) if [ -n "$regressions" ] && [ -z "$not_skips" ]; then
       pass "Zink piglit slice: $(wc -l <<<"$regressions") test(s) skip for the OpenGL that Zink offers on this host, none fails"
       sed 's/^/       /' <<<"$regressions"
     else
       fail "Zink piglit slice: exit $rc"; show_tail "$TEST_TMP/conformance.out" 20
     fi ;;
  *) fail "Zink piglit slice: exit $rc"; show_tail "$TEST_TMP/conformance.out" 20 ;;
esac
[ -f "$TEST_TMP/conformance/server.log" ] && LOGS+=("$TEST_TMP/conformance/server.log")

# Nothing the servers did asked the host for what MoltenVK lacks.
refused=$(cat "${LOGS[@]}" | grep -E "$REFUSED_RE" | sort | uniq -c | sort -rn || true)
if [ -z "$refused" ]; then
  pass "the layer refused nothing the server asked of the host ($(printf '%s\n' "${LOGS[@]}" | wc -l) server log(s))"
else
  fail "the layer refused what the server asked of the host:"
  printf '%s\n' "$refused" | head -n 10 | sed 's/^/         | /'
fi
finish

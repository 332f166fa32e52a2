#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Robust access where tenants share a process (docs/security.md): a
# compute pipeline that opts out of robust buffer access
# (VK_EXT_pipeline_robustness DISABLED) and reads past its binding
# (tests/vk_robust.c), natively and through the server with sid's Mesa 26
# guest (Mesa 25.0.7's has no pipeline robustness). With a worker process
# per tenant (the default) the opt-out stands and the device is created as
# the guest asked, as natively; with --isolate thread the device is created
# with robust access and the opt-out is raised, each said in the log, and
# every word past the binding reads as zero. lavapipe bounds-checks storage
# buffers even without robustness, so here those words read as zero in
# every run; on a GPU that does not (NVIDIA), the gpu-check row
# robust-access shows the opt-out natively and through the default server.
. "$(dirname "$0")/lib.sh"

top=$TESTS_DIR/..
if posix_build ||
   ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  skip "-Dos=posix or sanitizer build: the sid root's guest runs against the plain build"
  finish
fi
sid=$("$top/scripts/debian-root.sh" sid 2>"$TEST_TMP/sid-root.err") || sid=""
[ -n "$sid" ] || { skip "no sid root (ROOTS=1 make roots): no Mesa 26 guest"; finish; }
dir=$(mktemp -d "$sid/tmp/vs-robust.XXXXXX")
inner=${dir#"$sid"}
trap 'lib_cleanup; rm -rf --one-file-system "$dir"' EXIT
"$top/scripts/into-root.sh" "$sid" "$dir" "$BUILD_DIR/tests/vk_robust"

rc=0; native_run "$BUILD_DIR/tests/vk_robust" >"$TEST_TMP/native.out" 2>&1 || rc=$?
if [ "$rc" = 77 ]; then
  skip "$(grep -m1 '^robust:' "$TEST_TMP/native.out")"
  finish
fi
client_check "natively: the pipeline with the opt-out runs" "$TEST_TMP/native.out" "$rc" || true
native=$(grep -m1 '^robust:' "$TEST_TMP/native.out")

for mode in process thread; do
  server_start_at "$dir/vtest-$mode.sock" --isolate "$mode" --log-level debug || finish
  rc=0
  "$top/scripts/in-root.sh" "$sid" env LD_LIBRARY_PATH="$inner/lib" VN_DEBUG=vtest \
    VTEST_SOCKET_NAME="$inner/vtest-$mode.sock" VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json \
    timeout -k 5 "$CLIENT_TIMEOUT" "$inner/vk_robust" >"$TEST_TMP/$mode.out" 2>&1 || rc=$?
  client_check "--isolate $mode (Mesa 26 guest): the pipeline with the opt-out runs" "$TEST_TMP/$mode.out" "$rc" || true
  got=$(grep -m1 '^robust:' "$TEST_TMP/$mode.out" || true)
  forced=$(grep -c 'robust access forced (tenants share this process)' "$SERVER_LOG" || true)
  raised=$(grep -c 'vkCreateComputePipelines: create info 0: 8 robustness opt-out(s) raised' "$SERVER_LOG" || true)
  if [ $mode = process ]; then
    if [ "$forced" = 0 ] && [ "$raised" = 0 ] && [ "$got" = "$native" ]; then
      pass "--isolate process: the device as the guest asked, the opt-out standing, as natively (${got#robust: })"
    else
      fail "--isolate process: robust access forced $forced times, opt-outs raised $raised times; '$got' against native '$native'"
    fi
  elif [ "$forced" -ge 1 ] && [ "$raised" = 1 ] && [[ $got == *"240 of 240 words past the binding read as zero"* ]]; then
    pass "--isolate thread: robust access forced, the opt-out raised, the words past the binding zero"
  else
    fail "--isolate thread: robust access forced $forced times, opt-outs raised $raised times; '$got'"
  fi
  check_no_drops
  server_stop || true
done
finish

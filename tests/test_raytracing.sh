#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ray tracing and mesh shading through the server, byte for byte against
# native: vk_raytrace (acceleration structures built on the device, a ray
# tracing pipeline with a shader binding table, a ray query where the host
# has VK_KHR_ray_query: rayparts.txt names the parts run) and vk_mesh
# (mesh task draws, direct and indirect). Each runs where the host driver
# has its extensions (SKIP otherwise), with the Mesa 25.0.7 guest where its
# Venus driver offers them, else with sid's Mesa 26 guest (a sid root:
# ROOTS=1 make roots). Notes the host's device extensions the guest is not
# offered through the server (the extension diff).
. "$(dirname "$0")/lib.sh"

require_tools python3 cmp
top=$TESTS_DIR/..
native_dir=$TEST_TMP/native
mkdir -p "$native_dir"

# Natively first: what the host driver has decides what runs.
clients=()
for client in vk_raytrace vk_mesh; do
  rc=0
  env -u VN_DEBUG VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 120 "$BUILD_DIR/tests/$client" --out-dir "$native_dir" \
    >"$TEST_TMP/native-$client.out" 2>&1 || rc=$?
  case $rc in
    0) clients+=("$client")
       parts=$(sed -n 's/^ok: \(parts .*\)/\1/p' "$TEST_TMP/native-$client.out")
       [ -z "$parts" ] || note "$client natively: $parts" ;;
    2) skip "$client: the host driver lacks it: $(tail -n1 "$TEST_TMP/native-$client.out")" ;;
    *) fail "$client natively: $(describe_rc $rc)"; show_tail "$TEST_TMP/native-$client.out" ;;
  esac
done
[ ${#clients[@]} -gt 0 ] || finish

# The sid root, for the Mesa 26 guest (and the server's socket, which host
# clients reach by its host path).
sid=""
if ! posix_build &&
   ! ldd "$SERVER_BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
  sid=$("$top/scripts/debian-root.sh" sid 2>"$TEST_TMP/sid-root.err") || sid=""
fi
if [ -n "$sid" ]; then
  sid_dir=$(mktemp -d "$sid/tmp/vs-rt.XXXXXX")
  trap 'lib_cleanup; rm -rf --one-file-system "$sid_dir"' EXIT
  "$top/scripts/into-root.sh" "$sid" "$sid_dir" "$BUILD_DIR"/tests/{vk_raytrace,vk_mesh}
  server_start_at "$sid_dir/vtest.sock" --log-level info || finish
else
  note "no sid root (ROOTS=1 make roots builds it): only the Mesa 25.0.7 guest runs"
  server_start --log-level info || finish
fi

guest26() {
  local out=$1; shift
  "$top/scripts/in-root.sh" "$sid" env VN_DEBUG=vtest VTEST_SOCKET_NAME="${SERVER_SOCK#"$sid"}" \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json timeout -k 5 120 "$@" --out-dir "${out#"$sid"}"
}

for client in "${clients[@]}"; do
  out=$TEST_TMP/venus25-$client
  mkdir -p "$out"
  # A guest without the ray query the host has says so (exit 2) and the
  # next guest is tried, rather than running fewer parts than native.
  args=()
  [ "$client" != vk_raytrace ] || [ ! -e "$native_dir/rayquery.bin" ] || args=(--ray-query)
  rc=0
  venus_run timeout -k 5 120 "$BUILD_DIR/tests/$client" "${args[@]}" --out-dir "$out" >"$out.log" 2>&1 || rc=$?
  guest="Mesa 25.0.7"
  if [ $rc = 2 ]; then
    note "$client: the Mesa 25.0.7 guest does not offer it ($(tail -n1 "$out.log"))"
    if [ -z "$sid" ]; then skip "$client: no Mesa 26 guest (no sid root)"; continue; fi
    out=$sid_dir/venus26-$client
    mkdir -p "$out"
    rc=0
    guest26 "$out" "${sid_dir#"$sid"}/$client" "${args[@]}" >"$out.log" 2>&1 || rc=$?
    guest="Mesa 26"
  fi
  if [ $rc != 0 ]; then
    fail "$client through the server ($guest guest): $(describe_rc $rc)"
    show_tail "$out.log"
    show_tail "$SERVER_LOG"
    continue
  fi
  for f in $(cd "$native_dir" && ls); do
    case "$client:$f" in vk_raytrace:ray*|vk_mesh:mesh*) ;; *) continue ;; esac
    if cmp -s "$native_dir/$f" "$out/$f"; then
      pass "$client ($guest guest): $f byte-identical to native"
    else
      fail "$client ($guest guest): $f differs from native"
    fi
  done
done

# The extension diff: the host's device extensions against what the Mesa 26
# guest is offered through the server.
if [ -n "$sid" ]; then
  VK_ICD_FILENAMES="$LVP_ICD" vulkaninfo 2>/dev/null | sed -n 's/^\t\(VK_[A-Za-z0-9_]*\) *: extension revision.*/\1/p' \
    | sort -u >"$TEST_TMP/host-exts" || true
  "$top/scripts/in-root.sh" "$sid" env VN_DEBUG=vtest VTEST_SOCKET_NAME="${SERVER_SOCK#"$sid"}" \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json timeout -k 5 120 vulkaninfo 2>/dev/null \
    | sed -n 's/^\t\(VK_[A-Za-z0-9_]*\) *: extension revision.*/\1/p' | sort -u >"$TEST_TMP/guest-exts" || true
  if [ -s "$TEST_TMP/host-exts" ] && [ -s "$TEST_TMP/guest-exts" ]; then
    note "extension diff: host $(wc -l <"$TEST_TMP/host-exts"), Mesa 26 guest through the server $(wc -l <"$TEST_TMP/guest-exts") (instance and device)"
    note "host only: $(comm -23 "$TEST_TMP/host-exts" "$TEST_TMP/guest-exts" | tr '\n' ' ')"
    note "guest only: $(comm -13 "$TEST_TMP/host-exts" "$TEST_TMP/guest-exts" | tr '\n' ' ')"
  fi
fi
check_no_errors
server_stop
finish

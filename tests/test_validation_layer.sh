#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server's own host calls are valid Vulkan: the Khronos validation
# layer (Debian vulkan-validationlayers) runs inside the server, on every
# host call it makes, while vulkaninfo, vkcube, vk_render, vk_compute,
# vk_sync and vk_modifier run through it one at a time. Any VUID the layer
# reports fails the test, unless tests/validation_false_positives.txt
# lists it as the layer's own mistake (with why).
. "$(dirname "$0")/lib.sh"

require_tools vulkaninfo vkcube Xvfb python3
layer_json=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
if [ ! -f "$layer_json" ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vulkan-validationlayers >"$TEST_TMP/apt.out" 2>&1 || true
fi
[ -f "$layer_json" ] || { skip "no Khronos validation layer (apt-get install vulkan-validationlayers)"; finish; }
for t in vk_render vk_compute vk_sync vk_modifier; do
  [ -x "$BUILD_DIR/tests/$t" ] || { fail "no $BUILD_DIR/tests/$t (built by make)"; finish; }
done
xvfb_start || { skip "Xvfb does not start"; finish; }

# Messages go to the server's stdout: a log_filename would be reopened,
# truncated, at each client's vkCreateInstance (layer 1.3.239).
mkdir -p "$TEST_TMP/vl"
cat >"$TEST_TMP/vl/vk_layer_settings.txt" <<'EOF'
khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG
khronos_validation.report_flags = error,warn
khronos_validation.enable_message_limit = false
EOF
VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation VK_LAYER_SETTINGS_PATH="$TEST_TMP/vl" \
  server_start --log-level info || finish

# run NAME CMD...: one client through the server; its messages are the
# bytes the server's stdout grew by meanwhile.
: >"$TEST_TMP/spans"
run() {
  local name=$1 rc=0; shift
  local from; from=$(stat -c %s "$SERVER_OUT")
  venus_run 120 -- "$@" >"$TEST_TMP/$name.out" 2>&1 || rc=$?
  sleep 0.5 # the context's teardown calls
  echo "$name $from $(stat -c %s "$SERVER_OUT")" >>"$TEST_TMP/spans"
  if [[ $name == vk_* ]]; then
    client_check "$name through the validated server" "$TEST_TMP/$name.out" "$rc" || true
  else
    check "$name through the validated server: $(describe_rc "$rc")" [ "$rc" -eq 0 ]
  fi
}
run vulkaninfo env -u DISPLAY vulkaninfo # as test_vulkaninfo: no X display to be refused
run vkcube env MESA_VK_WSI_DEBUG=sw vkcube --c 100
run vk_render "$BUILD_DIR/tests/vk_render" --out-dir "$TEST_TMP"
run vk_compute "$BUILD_DIR/tests/vk_compute" --mib 16
run vk_sync "$BUILD_DIR/tests/vk_sync"
run vk_modifier "$BUILD_DIR/tests/vk_modifier"

# The VUIDs per client, the known false positives apart.
python3 - "$SERVER_OUT" "$TEST_TMP/spans" "$TESTS_DIR/validation_false_positives.txt" >"$TEST_TMP/vuids" <<'EOF'
import collections, re, sys
out = open(sys.argv[1], 'rb').read()
known = []
for line in open(sys.argv[3]):
    if line.strip() and not line.startswith('#'):
        vuid, text, _why = line.rstrip('\n').split('\t')
        known.append((vuid, text))
vuid_re = re.compile(r'Validation Error: \[ ([^ \]]+) \]')
for line in open(sys.argv[2]):
    name, a, b = line.split()
    found = collections.Counter()
    for msg in out[int(a):int(b)].decode('utf-8', 'replace').splitlines():
        m = vuid_re.search(msg)
        if m:
            vuid = m.group(1)
            found[(vuid, any(v == vuid and t in msg for v, t in known))] += 1
    for (vuid, is_known), n in sorted(found.items()):
        print('%s %s %d %s' % (name, 'known' if is_known else 'server', n, vuid))
    if all(is_known for _, is_known in found):
        print('%s none 0 -' % name)
EOF
while read -r name kind n vuid; do
  case $kind in
    none) pass "$name: no VUID from the server's host calls" ;;
    known) note "$name: $vuid x$n (the layer's false positive: tests/validation_false_positives.txt)" ;;
    server) fail "$name: $vuid x$n from the server's host calls"
            grep -m1 -F "[ $vuid ]" "$SERVER_OUT" | cut -c1-600 | sed 's/^/       /' ;;
  esac
done <"$TEST_TMP/vuids"
grep -q ' server ' "$TEST_TMP/vuids" && show_tail "$TEST_TMP/vuids" 40
total=$(grep -c 'Validation Error' "$SERVER_OUT" || true)
note "$total layer message(s) in all, $(grep -c ' known ' "$TEST_TMP/vuids" || true) known false positive(s)"

check_no_errors
server_stop || true
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Venus capset read over vtest as a guest reads it: it must announce no
# more than the generated decoder was built from (a guest speaks the lower
# of its own and the announced versions, so an announcement above the
# decoder's makes it send what the server cannot decode): the
# VK_MESA_venus_protocol and VK_EXT_command_serialization spec versions of
# protocol/venus.xml, the vk.xml version of the registry the build used,
# and extension mask bits that name extensions of that registry.
. "$(dirname "$0")/lib.sh"

require_tools python3

top=$TESTS_DIR/..
prefix=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "vulkan_prefix": print(o["value"])' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null || true)
vk_xml=${prefix:+$prefix/share/vulkan/registry/vk.xml}
vk_xml=${vk_xml:-$top/.deps/vulkan/usr/share/vulkan/registry/vk.xml}
[ -f "$vk_xml" ] || { fail "no vk.xml at $vk_xml"; finish; }

# What the decoder was generated from (the generator's inputs, read here
# independently of it).
read -r built_xml built_venus built_ser known_exts < <(python3 - "$vk_xml" "$top/protocol/venus.xml" <<'PY'
import re, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
patch = major_minor = None
for t in root.find('types'):
    if 'vulkan' not in (t.get('api') or 'vulkan').split(','):
        continue
    text = ''.join(t.itertext())
    if t.findtext('name') == 'VK_HEADER_VERSION':
        patch = int(text.split()[-1])
    if t.findtext('name') == 'VK_HEADER_VERSION_COMPLETE':
        m = re.search(r'VK_MAKE_API_VERSION\(\s*0\s*,\s*(\d+)\s*,\s*(\d+)', text)
        major_minor = (int(m.group(1)), int(m.group(2)))
exts = {int(e.get('number')) for e in root.find('extensions')}
spec = {e.get('name'): int(e.get('spec_version')) for e in ET.parse(sys.argv[2]).getroot().find('extensions')}
exts |= {384, 385, 0}
print('%d.%d.%d' % (major_minor + (patch,)), spec['VK_MESA_venus_protocol'],
      spec['VK_EXT_command_serialization'], ','.join(str(n) for n in sorted(exts)))
PY
)
note "decoder built from vk.xml $built_xml, VK_MESA_venus_protocol spec version $built_venus"

server_start --log-level info || finish
rc=0; python3 "$TESTS_DIR/vtest_capset.py" "$SERVER_SOCK" >"$TEST_TMP/capset.txt" 2>&1 </dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "reading the capset over vtest: $(describe_rc $rc)"; show_tail "$TEST_TMP/capset.txt"; finish
fi
field() { awk -v k="$1" '$1 == k { print $2 }' "$TEST_TMP/capset.txt"; }
ver_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

xml=$(field vk_xml_version) venus=$(field vk_mesa_venus_protocol_spec_version) ser=$(field vk_ext_command_serialization_spec_version)
note "announced: vk.xml $xml, VK_MESA_venus_protocol $venus, VK_EXT_command_serialization $ser, $(field mask_words) mask words"
check "wire format version 1 (Mesa's only one)" [ "$(field wire_format_version)" = 1 ]
if ver_le "$xml" "$built_xml"; then
  pass "announced vk.xml $xml <= the decoder's $built_xml"
else
  fail "announced vk.xml $xml exceeds the decoder's $built_xml"
fi
check "announced VK_MESA_venus_protocol $venus <= the decoder's $built_venus" [ "$venus" -le "$built_venus" ]
check "announced VK_EXT_command_serialization $ser <= the decoder's $built_ser" [ "$ser" -le "$built_ser" ]
# Announcing less than the decoder handles would cost guests features.
check "announced versions are the decoder's exactly" [ "$xml" = "$built_xml" ] && [ "$venus" = "$built_venus" ]
unknown=$(comm -23 <(field mask_bits | tr , '\n' | sort) <(tr , '\n' <<<"$known_exts" | sort) | tr '\n' ' ')
check "every extension mask bit names an extension of vk.xml or Venus${unknown:+ (unknown: $unknown)}" [ -z "$unknown" ]
check "mask bit 0 (the mask is meaningful) is set" grep -qE '^mask_bits 0(,|$)' "$TEST_TMP/capset.txt"
check "supports_multiple_timelines (Mesa asserts it)" [ "$(field supports_multiple_timelines)" = 1 ]
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Golden test of gen/venus_gen.py (as wayland-scanner's): the generator runs
# on a tiny fixture registry (tests/generator/vk.xml, venus.xml, semantics.txt)
# and every file it writes must equal tests/generator/expected/ (the same set of
# files, byte for byte; the diff is printed). Then the generator's --report
# on the real vk.xml (the one meson was configured with) must refuse
# exactly the commands in tests/generator/unsupported.txt, so a vk.xml update
# that changes what can cross the wire fails loudly with the difference.
#
#   bash tests/test_generator.sh BUILD_DIR [TMP_DIR]
#   UPDATE_GOLDEN=1 bash tests/test_generator.sh BUILD_DIR   # regenerate both
#
# Review the regenerated files with `git diff tests/generator` before committing.
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$TESTS_DIR/.." && pwd)
GEN=$TOP/gen/venus_gen.py
FIX=$TESTS_DIR/generator
EXPECTED=$FIX/expected
UNSUPPORTED=$FIX/unsupported.txt
UPDATE=${UPDATE_GOLDEN:-0}

command -v python3 >/dev/null || { skip "python3 is not installed"; finish; }

# --- 1. the fixture's output against the golden files -------------------------
out=$TEST_TMP/generated
rm -rf "$out"
mkdir -p "$out"
if ! python3 "$GEN" --vk-xml "$FIX/vk.xml" --venus-xml "$FIX/venus.xml" \
     --semantics "$FIX/semantics.txt" --checks "$FIX/checks.txt" --units 2 --out-dir "$out" 2>"$TEST_TMP/fixture.err"; then
  fail "the generator failed on the fixture"
  show_tail "$TEST_TMP/fixture.err" 40
elif [ -z "$(ls -A "$out")" ]; then
  fail "the generator wrote nothing on the fixture"
elif [ "$UPDATE" = 1 ]; then
  rm -rf "$EXPECTED"
  mkdir -p "$EXPECTED"
  cp -R "$out"/. "$EXPECTED"/
  pass "golden files regenerated in tests/generator/expected ($(find "$EXPECTED" -type f | wc -l) files)"
elif [ ! -d "$EXPECTED" ]; then
  fail "no tests/generator/expected (make it with UPDATE_GOLDEN=1 $0 BUILD_DIR)"
else
  # diff -r reports files only on one side too ("Only in ..."), so a file
  # the generator starts or stops writing fails as well.
  if diff -r -u "$EXPECTED" "$out" >"$TEST_TMP/golden.diff" 2>&1; then
    pass "the generator's output on the fixture matches tests/generator/expected ($(find "$out" -type f | wc -l) files)"
  else
    fail "the generator's output on the fixture differs from tests/generator/expected (- expected, + generated; UPDATE_GOLDEN=1 to accept):"
    sed -n '1,300p' "$TEST_TMP/golden.diff" | sed 's/^/         | /'
    n=$(wc -l <"$TEST_TMP/golden.diff")
    [ "$n" -le 300 ] || note "... $n diff lines in all: $TEST_TMP/golden.diff"
  fi
fi

# --- 2. the commands the real registry cannot put on the wire ----------------
# The vk.xml meson was configured with (see meson.build: vulkan_prefix), as
# the venus-wire target's command line names it; else the one setup.sh
# unpacks.
vk_xml=
if [ -f "$BUILD_DIR/build.ninja" ]; then
  rel=$(grep -o -- '--vk-xml [^ ]*' "$BUILD_DIR/build.ninja" | head -n 1 | cut -d' ' -f2 || true)
  if [ -n "$rel" ]; then
    case $rel in
      /*) vk_xml=$rel ;;
      *) vk_xml=$BUILD_DIR/$rel ;;
    esac
  fi
fi
[ -n "$vk_xml" ] && [ -f "$vk_xml" ] || vk_xml=$TOP/.deps/vulkan/usr/share/vulkan/registry/vk.xml
if [ ! -f "$vk_xml" ]; then
  skip "no vk.xml (run scripts/setup.sh)"
  finish
fi

# Names only: the reasons after '#' in unsupported.txt are for the reader.
names() { sed 's/#.*//' "$1" | awk 'NF { print $1 }' | LC_ALL=C sort; }

if ! python3 "$GEN" --vk-xml "$vk_xml" --venus-xml "$TOP/protocol/venus.xml" \
     --semantics "$TOP/protocol/semantics.txt" --out-dir "$TEST_TMP/real" --report \
     2>"$TEST_TMP/report.txt"; then
  fail "the generator failed on $vk_xml"
  show_tail "$TEST_TMP/report.txt" 40
  finish
fi
# "unsupported NUMBER NAME: REASON" lines.
sed -n 's/^unsupported \([0-9]*\) \([A-Za-z0-9_]*\): \(.*\)$/\2  # \1: \3/p' "$TEST_TMP/report.txt" \
  >"$TEST_TMP/unsupported.now"

if [ "$UPDATE" = 1 ]; then
  {
    echo "# SPDX-License-Identifier: MIT"
    echo "# Commands with a Venus number that gen/venus_gen.py cannot put on the wire"
    echo "# (its --report on the vk.xml of the build), checked by tests/test_generator.sh."
    echo "# Regenerate: UPDATE_GOLDEN=1 bash tests/test_generator.sh build"
    cat "$TEST_TMP/unsupported.now"
  } >"$UNSUPPORTED"
  pass "tests/generator/unsupported.txt regenerated ($(names "$UNSUPPORTED" | wc -l) commands)"
  finish
fi
if [ ! -f "$UNSUPPORTED" ]; then
  fail "no tests/generator/unsupported.txt (make it with UPDATE_GOLDEN=1 $0 BUILD_DIR)"
  finish
fi
# --- 3. every index the host uses is checked ----------------------------------
INDICES=$FIX/unchecked-indices.txt
if ! python3 "$GEN" --vk-xml "$vk_xml" --venus-xml "$TOP/protocol/venus.xml" \
     --semantics "$TOP/protocol/semantics.txt" --checks "$TOP/protocol/checks.txt" \
     --out-dir "$TEST_TMP/index" --index-report >"$TEST_TMP/index.txt" 2>"$TEST_TMP/index.err"; then
  fail "the generator's --index-report failed on $vk_xml"
  show_tail "$TEST_TMP/index.err" 20
else
  awk '$1 == "unchecked" { print $2 " " $3 }' "$TEST_TMP/index.txt" | LC_ALL=C sort >"$TEST_TMP/index.got"
  sed 's/#.*//' "$INDICES" | awk 'NF { print $1 " " $2 }' | LC_ALL=C sort >"$TEST_TMP/index.want"
  checked=$(grep -c '^checked ' "$TEST_TMP/index.txt" || true)
  if cmp -s "$TEST_TMP/index.want" "$TEST_TMP/index.got"; then
    pass "every index-shaped parameter is checked ($checked) or excused in unchecked-indices.txt ($(wc -l <"$TEST_TMP/index.got"))"
  else
    fail "index-shaped parameters without a check in protocol/checks.txt (add one, or a justified line to tests/generator/unchecked-indices.txt):"
    comm -13 "$TEST_TMP/index.want" "$TEST_TMP/index.got" | sed 's/^/         | unchecked: /'
    comm -23 "$TEST_TMP/index.want" "$TEST_TMP/index.got" | sed 's/^/         | excused but checked or gone: /'
  fi
fi

names "$UNSUPPORTED" >"$TEST_TMP/unsupported.want"
names "$TEST_TMP/unsupported.now" >"$TEST_TMP/unsupported.got"
if cmp -s "$TEST_TMP/unsupported.want" "$TEST_TMP/unsupported.got"; then
  pass "the generator refuses exactly the $(wc -l <"$TEST_TMP/unsupported.got") commands of tests/generator/unsupported.txt ($vk_xml)"
else
  fail "the commands without a wire form changed ($vk_xml; UPDATE_GOLDEN=1 to accept):"
  comm -13 "$TEST_TMP/unsupported.want" "$TEST_TMP/unsupported.got" | sed 's/^/         | newly unsupported: /'
  comm -23 "$TEST_TMP/unsupported.want" "$TEST_TMP/unsupported.got" | sed 's/^/         | no longer unsupported: /'
  grep -v '^unsupported ' "$TEST_TMP/report.txt" | head -n 20 | sed 's/^/         | generator: /' || true
fi
finish

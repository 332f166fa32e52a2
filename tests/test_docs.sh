#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The documentation holds together and speaks of the product only
# (tests/check_docs.py says what it checks). The checker first runs on a
# small tree with one fault of each kind, so that it is known to fail.
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
checker=$TESTS_DIR/check_docs.py

# --- 1. the checker finds each kind of fault ----------------------------------
fx=$TEST_TMP/fixture
mkdir -p "$fx/docs" "$fx/src" "$fx/tests" "$fx/scripts"
{
  echo '# Title'
  echo '## A heading, with `code`'
  echo 'Good: [x](docs/page.md#the-page), [y](#a-heading-with-code), [z](https://example.invalid/).'
  echo 'Broken: [file](docs/missing.md), [anchor](docs/page.md#no-such-heading).'
  echo '    [in a code block](nowhere.md) is not a link'
} >"$fx/README.md"
printf '# The page\nSee [back](../README.md#title) and finding D4.\nAs session 3 found,\nsee 2026-01-01-notes.md.\n' >"$fx/docs/page.md"
printf '#!/bin/sh\n# SPDX-License-Identifier: MIT\n# The drop (issue 12).\n' >"$fx/tests/test_plant.sh"
printf '#!/bin/sh\n# SPDX-License-Identifier: MIT\n# Fits one device call on our GPU machines.\n' >"$fx/scripts/plant.sh"
printf '/* SPDX-License-Identifier: MIT */\nint a;\n' >"$fx/src/good.c"
printf 'int b;\n' >"$fx/src/bad.c"
# The source table: room/two.c is built but not in its row, hall/ has no
# row, the row of room/ names a file that is not there, and the page names
# a path of src/ that does not exist.
mkdir -p "$fx/src/room" "$fx/src/hall"
for f in room/one.c room/two.c hall/three.c; do printf '/* SPDX-License-Identifier: MIT */\n' >"$fx/src/$f"; done
printf "# SPDX-License-Identifier: MIT\nsrc = 'src'\nstatic_library('x', 'src/good.c', 'src/bad.c', files('src/room/one.c'),\n  src / 'room/two.c', 'src/hall/three.c')\n" >"$fx/meson.build"
table() {
  printf '# Architecture\n\nIt starts in `%s`.\n\n## Source layout\n\n| path | what |\n| --- | --- |\n' "$1"
  printf '| `src/good.c` | good |\n| `src/bad.c` | bad |\n| `src/room/` | `one.c`, `%s` |\n' "$2"
  [ -z "${3-}" ] || printf '| `src/hall/` | `three.c` |\n'
}
table src/nowhere.c gone.c >"$fx/docs/architecture.md"
rc=0
python3 "$checker" "$fx" >"$TEST_TMP/fixture.out" 2>&1 || rc=$?
want=("docs/missing.md: no such file" "#no-such-heading" "internal finding id D4" "src/bad.c: no \"SPDX"
      "docs/page.md:3: a work session" "docs/page.md:4: a dated diary" "tests/test_plant.sh:3: an issue number"
      "scripts/plant.sh:3: the machines the project is built on" "the row of src/room/ does not name two.c"
      "no row for src/hall/" "the row of src/room/ names gone.c, which is not in that folder"
      "docs/architecture.md:3: names src/nowhere.c, which does not exist")
missing=0
for w in "${want[@]}"; do grep -qF -- "$w" "$TEST_TMP/fixture.out" || { missing=1; note "not reported: $w"; }; done
if [ "$rc" -ne 0 ] && [ "$missing" = 0 ] && [ "$(wc -l <"$TEST_TMP/fixture.out")" -eq 12 ]; then
  pass "the checker reports a broken link, a broken anchor, a finding id, a file without SPDX, a work session, a dated diary, an issue number, the build machines, a built file and a folder missing from the source table, a file it names that is not there and a path of src/ that does not exist, nothing else"
else
  fail "the checker on a tree with twelve faults (status $rc):"
  sed 's/^/         | /' "$TEST_TMP/fixture.out"
fi
for i in $(seq 250); do echo "line $i"; done >"$fx/README.md"
printf '/* SPDX-License-Identifier: MIT */\nint b;\n' >"$fx/src/bad.c"
printf '# The page\n' >"$fx/docs/page.md"
table src/room/one.c two.c hall >"$fx/docs/architecture.md"
rm "$fx/tests/test_plant.sh" "$fx/scripts/plant.sh"
python3 "$checker" "$fx" >"$TEST_TMP/fixture250.out" 2>&1 || true
if ! grep -q 'README.md has 250 lines' "$TEST_TMP/fixture250.out"; then
  fail "the checker accepts a README of 250 lines"
elif [ "$(wc -l <"$TEST_TMP/fixture250.out")" -ne 1 ]; then
  fail "the checker on a tree whose only fault is a README of 250 lines:"
  sed 's/^/         | /' "$TEST_TMP/fixture250.out"
else
  pass "the checker refuses a README of 250 lines, and accepts a source table naming every built file and folder"
fi

# --- 2. the real tree ---------------------------------------------------------
if python3 "$checker" "$top" >"$TEST_TMP/tree.out" 2>&1; then
  pass "README.md has $(wc -l <"$top/README.md") lines; every link in README.md and docs/ resolves; every source file has its SPDX line; the source table names every file meson.build builds"
else
  fail "the documentation or the SPDX lines ($(wc -l <"$TEST_TMP/tree.out") problems):"
  sed 's/^/         | /' "$TEST_TMP/tree.out"
fi
finish

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The documentation holds together: README.md stays under 250 lines; every
# relative link (and image) in README.md and docs/**/*.md points at a file
# or folder that exists, and every #anchor at a heading of its page; the
# pages cite no internal finding ids (D4); every source file starts with
# an SPDX-License-Identifier line. The checker first runs on a small tree
# with one fault of each kind, so that it is known to fail.
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
checker=$TEST_TMP/check_docs.py
cat >"$checker" <<'EOF'
import os, re, subprocess, sys

root = sys.argv[1]
README_MAX = 250
SPDX = 'SPDX-License-Identifier: MIT'
problems = []

def source_files():
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files'], capture_output=True, text=True, check=True).stdout
        files = [f for f in out.split('\n') if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
    if not files:
        for d, subdirs, names in os.walk(root):
            subdirs[:] = [s for s in subdirs if not s.startswith('.') and not s.startswith('build')] \
                if d == root else [s for s in subdirs if not s.startswith('.')]
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
        files += ['.ci/run'] if os.path.exists(os.path.join(root, '.ci/run')) else []
    for f in files:
        base = os.path.basename(f)
        if f.startswith(('tests/generator/expected/', 'fuzz/seeds/', 'fuzz/repro/', 'docs/')):
            continue  # generated golden files, fuzz inputs, documentation
        if (re.search(r'\.(c|h|py|sh|comp|vert|frag|xml|html)$', f)
                or base in ('meson.build', 'Makefile', 'meson_options.txt')
                or f in ('.ci/run', 'tests/vm/init')
                or (f.endswith('.txt') and f.startswith(('protocol/', 'tests/generator/', 'tests/piglit/')))
                or f == 'tests/validation_false_positives.txt'):
            yield f

def slug(heading, seen):
    s = re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
    n = seen.get(s, 0)
    seen[s] = n + 1
    return s if n == 0 else '%s-%d' % (s, n)

def prose(text, keep_code=False):
    """The lines of a page outside code blocks, inline code removed
    (kept, without its backticks, for headings)."""
    out, fenced = [], False
    for line in text.split('\n'):
        if line.lstrip().startswith('```'):
            fenced = not fenced
            continue
        if fenced or line.startswith('    ') or line.startswith('\t'):
            continue
        out.append(line.replace('`', '') if keep_code else re.sub(r'`[^`]*`', '', line))
    return out

anchors_cache = {}
def anchors(path):
    if path not in anchors_cache:
        seen = {}
        anchors_cache[path] = set(slug(l.lstrip('#'), seen) for l in prose(open(path, encoding='utf-8').read(), True)
                                  if re.match(r'#{1,6} ', l))
    return anchors_cache[path]

pages = ['README.md']
for d, _, names in os.walk(os.path.join(root, 'docs')):
    pages += [os.path.relpath(os.path.join(d, n), root) for n in sorted(names) if n.endswith('.md')]

readme = os.path.join(root, 'README.md')
n = len(open(readme, encoding='utf-8').read().rstrip('\n').split('\n'))
if n >= README_MAX:
    problems.append('README.md has %d lines (at most %d)' % (n, README_MAX - 1))

link_re = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
for page in pages:
    path = os.path.join(root, page)
    text = open(path, encoding='utf-8').read()
    for i, line in enumerate(prose(text), 1):
        for m in re.finditer(r'\bD[0-9]+\b', line):
            problems.append('%s: internal finding id %s: say what it was instead' % (page, m.group(0)))
        for target in link_re.findall(line):
            if re.match(r'[a-z][a-z0-9+.-]*:', target):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(dest):
                problems.append('%s: link to %s: no such file' % (page, target))
                continue
            if anchor and dest.endswith('.md') and anchor not in anchors(dest):
                problems.append('%s: link to %s: no heading with anchor #%s' % (page, target, anchor))

for f in source_files():
    try:
        head = open(os.path.join(root, f), encoding='utf-8', errors='replace').read().split('\n')[:3]
    except OSError:
        continue
    if not any(SPDX in l for l in head):
        problems.append('%s: no "%s" line at its top' % (f, SPDX))

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF

# --- 1. the checker finds each kind of fault ----------------------------------
fx=$TEST_TMP/fixture
mkdir -p "$fx/docs" "$fx/src"
{
  echo '# Title'
  echo '## A heading, with `code`'
  echo 'Good: [x](docs/page.md#the-page), [y](#a-heading-with-code), [z](https://example.invalid/).'
  echo 'Broken: [file](docs/missing.md), [anchor](docs/page.md#no-such-heading).'
  echo '    [in a code block](nowhere.md) is not a link'
} >"$fx/README.md"
printf '# The page\nSee [back](../README.md#title) and finding D4.\n' >"$fx/docs/page.md"
printf '/* SPDX-License-Identifier: MIT */\nint a;\n' >"$fx/src/good.c"
printf 'int b;\n' >"$fx/src/bad.c"
rc=0
python3 "$checker" "$fx" >"$TEST_TMP/fixture.out" 2>&1 || rc=$?
want=("docs/missing.md: no such file" "#no-such-heading" "internal finding id D4" "src/bad.c: no \"SPDX")
missing=0
for w in "${want[@]}"; do grep -qF -- "$w" "$TEST_TMP/fixture.out" || { missing=1; note "not reported: $w"; }; done
if [ "$rc" -ne 0 ] && [ "$missing" = 0 ] && [ "$(wc -l <"$TEST_TMP/fixture.out")" -eq 4 ]; then
  pass "the checker reports a broken link, a broken anchor, a finding id and a file without SPDX, nothing else"
else
  fail "the checker on a tree with four faults (status $rc):"
  sed 's/^/         | /' "$TEST_TMP/fixture.out"
fi
for i in $(seq 250); do echo "line $i"; done >"$fx/README.md"
printf '/* SPDX-License-Identifier: MIT */\nint b;\n' >"$fx/src/bad.c"
printf '# The page\n' >"$fx/docs/page.md"
python3 "$checker" "$fx" >"$TEST_TMP/fixture250.out" 2>&1 || true
if ! grep -q 'README.md has 250 lines' "$TEST_TMP/fixture250.out"; then
  fail "the checker accepts a README of 250 lines"
else
  pass "the checker refuses a README of 250 lines"
fi

# --- 2. the real tree ---------------------------------------------------------
if python3 "$checker" "$top" >"$TEST_TMP/tree.out" 2>&1; then
  pass "README.md has $(wc -l <"$top/README.md") lines; every link in README.md and docs/ resolves; every source file has its SPDX line"
else
  fail "the documentation or the SPDX lines ($(wc -l <"$TEST_TMP/tree.out") problems):"
  sed 's/^/         | /' "$TEST_TMP/tree.out"
fi
finish

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The documentation holds together and speaks of the product only.

    check_docs.py ROOT

Prints one line per problem and exits 1 if there is any:
- README.md has fewer than 250 lines;
- every relative link (and image) in README.md and docs/**/*.md points at
  a file or folder that exists, and every #anchor at a heading of its page;
- no page, test, script, benchmark or protocol file narrates how the
  project was built: no internal finding ids (D4), issue numbers, work
  sessions, dated diaries, or descriptions of the machines it is built on
  rather than a user's;
- every source file starts with an SPDX-License-Identifier line;
- docs/architecture.md's source table ("Source layout") is true to the
  build: every src/ file a meson.build compiles is named in the row of its
  folder (or has a row of its own), every folder of src/ holding sources
  has a row, and every file a folder's row names is in that folder;
- every `src/...` path README.md and docs/ name in code spans exists.
"""
import os, re, subprocess, sys

root = sys.argv[1]
README_MAX = 250
SPDX = 'SPDX-License-Identifier: MIT'
problems = []

def source_files(include_docs=False):
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
        if include_docs and (f.endswith('.md') or f.startswith('docs/')):
            yield f
            continue
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

# How the work was done is no fact about the product: the tracker keeps it.
NARRATION = [
    (re.compile(r'\b[Ii]ssues? #?[0-9]+|\([Ii]ssue "'), 'an issue number'),
    (re.compile(r'\b[Ss]essions?[- ][0-9]+'), 'a work session'),
    (re.compile(r'\b20[0-9]{2}-[0-9]{2}-[0-9]{2}-[a-z0-9-]+\.(md|txt)\b'), 'a dated diary'),
    (re.compile(r'\b(our|the) (GPU |build |test )?machines\b|\bGPU machines?\b|\bdevice calls?\b'),
     'the machines the project is built on'),
]
NARRATION_DIRS = ('docs/', 'tests/', 'scripts/', 'bench/', 'protocol/')

def narration_files():
    for f in source_files(include_docs=True):
        if f == 'README.md' or (f.startswith(NARRATION_DIRS) and f not in ('tests/check_docs.py', 'tests/test_docs.sh')):
            yield f

for f in narration_files():
    try:
        lines = open(os.path.join(root, f), encoding='utf-8', errors='replace').read().split('\n')
    except OSError:
        continue
    for i, line in enumerate(lines, 1):
        for pattern, what in NARRATION:
            m = pattern.search(line)
            if m:
                problems.append('%s:%d: %s ("%s"): say what the product does instead' % (f, i, what, m.group(0)))

for f in source_files():
    try:
        head = open(os.path.join(root, f), encoding='utf-8', errors='replace').read().split('\n')[:3]
    except OSError:
        continue
    if not any(SPDX in l for l in head):
        problems.append('%s: no "%s" line at its top' % (f, SPDX))

def built_sources():
    """The src/ files the build compiles: every quoted name ending in .c in a
    meson.build, as a path from that file's folder, from the root or from
    src/ (meson.build's `src / 'x.c'`), whichever exists under src/."""
    found = set()
    for f in source_files():
        if os.path.basename(f) != 'meson.build':
            continue
        text = open(os.path.join(root, f), encoding='utf-8', errors='replace').read()
        for name in re.findall(r"'([^'\n]+\.c)'", text):
            for base in (os.path.dirname(f), '', 'src'):
                rel = os.path.normpath(os.path.join(base, name))
                if rel.startswith('src/') and os.path.isfile(os.path.join(root, rel)):
                    found.add(rel)
                    break
    return found

def source_table():
    """docs/architecture.md's "Source layout" table: {path: names in code
    spans of its row}, for the rows whose path is under src/."""
    rows, inside = {}, False
    for line in open(os.path.join(root, 'docs/architecture.md'), encoding='utf-8').read().split('\n'):
        if line.startswith('#'):
            inside = line.strip() == '## Source layout'
        elif inside and line.startswith('|'):
            cells = line.strip().strip('|').split('|')
            paths = re.findall(r'`([^`]+)`', cells[0])
            names = set(re.findall(r'`([^`]+)`', '|'.join(cells[1:])))
            for path in paths:
                if path.startswith('src/'):
                    rows[path] = names
    return rows

TABLE = 'docs/architecture.md, "Source layout"'
if os.path.exists(os.path.join(root, 'docs/architecture.md')):
    rows = source_table()
    for f in sorted(built_sources()):
        folder = os.path.dirname(f) + '/'
        if f in rows:
            continue
        if folder not in rows:
            continue  # reported below, once for the folder
        if os.path.basename(f) not in rows[folder]:
            problems.append('%s: the row of %s does not name %s, which meson.build builds' % (TABLE, folder, os.path.basename(f)))
    folders = sorted({os.path.dirname(f) + '/' for f in source_files() if f.startswith('src/') and f.count('/') > 1})
    for folder in folders:
        if folder not in rows:
            problems.append('%s: no row for %s' % (TABLE, folder))
    for path, names in sorted(rows.items()):
        for name in sorted(names):
            if re.fullmatch(r'[\w.-]+\.[ch]', name) and not os.path.isfile(os.path.join(root, path, name)) \
                    and path.endswith('/'):
                problems.append('%s: the row of %s names %s, which is not in that folder' % (TABLE, path, name))
        if not os.path.exists(os.path.join(root, path)):
            problems.append('%s: a row for %s, which does not exist' % (TABLE, path))

for page in pages:
    for i, line in enumerate(open(os.path.join(root, page), encoding='utf-8').read().split('\n'), 1):
        for span in re.findall(r'`([^`]*)`', line):
            for path in re.findall(r'(?<![\w/.])src/[\w./-]*', span):
                path = path.rstrip('.')
                if not os.path.exists(os.path.join(root, path)):
                    problems.append('%s:%d: names %s, which does not exist' % (page, i, path))

for p in problems:
    print(p)
sys.exit(1 if problems else 0)

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layers of src/ hold: every #include "..." of a project header points
# at the file's own layer or one below it (docs/architecture.md, "The layers"); no circle of
# includes joins units of different folders; and every layer links whole
# against only the layers below it (the layer_check_* executables of
# tests/meson.build, built with the server).
. "$(dirname "$0")/lib.sh"

src=$TESTS_DIR/../src
# Layer of a path relative to src/ (or of a generated header).
layer_of() {
  case $1 in
    os/*|base/*|vn_vk.h) echo 0 ;;
    wire/*|vn_wire.h|vn_wire_codec.h) echo 1 ;;
    renderer/*) echo 2 ;;
    context/*|worker/*|vm/*|compositor/*|*-server-protocol.h) echo 3 ;;
    transport/*) echo 4 ;;
    server/*) echo 5 ;;
    main.c) echo 6 ;;
    *) echo "?" ;;
  esac
}
names=(base wire renderer context transport server main)

bad=0 checked=0
while IFS= read -r file; do
  rel=${file#"$src"/}
  from=$(layer_of "$rel")
  if [ "$from" = "?" ]; then
    fail "$rel is in no layer (add its directory to tests/test_layers.sh and docs/architecture.md)"
    bad=$((bad + 1))
    continue
  fi
  while IFS= read -r inc; do
    to=$(layer_of "$inc")
    checked=$((checked + 1))
    if [ "$to" = "?" ] || [ "$to" -gt "$from" ]; then
      fail "$rel (${names[$from]}) includes $inc (${names[$to]-unknown}): an upward include"
      bad=$((bad + 1))
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find "$src" -name '*.[ch]' | sort)
[ "$bad" -eq 0 ] && pass "no upward include among $checked project includes of src/"

# No circle between folders: a unit is a file of src/ without its .c/.h
# (x.c and x.h are one unit: the header declares what the .c defines, so a
# call into x.c goes through an include of x.h); an include is an edge.
# Every strongly connected set of units must lie in one folder (a circle
# of calls across folders is a circle of includes here).
if cycles=$(python3 - "$src" <<'PY'
import os, re, sys
src = sys.argv[1]
edges = {}
for d, _, files in os.walk(src):
    for f in files:
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(d, f)
        unit = os.path.relpath(path, src)[:-2]
        out = edges.setdefault(unit, set())
        with open(path, errors="replace") as fh:
            for line in fh:
                m = re.match(r'#include "([^"]+)"', line)
                if m and os.path.exists(os.path.join(src, m.group(1))):
                    target = m.group(1).rsplit(".", 1)[0]
                    if target != unit:
                        out.add(target)
                        edges.setdefault(target, set())
# Tarjan's strongly connected components, iteratively.
index, low, on, stack, sccs, n = {}, {}, set(), [], [], 0
for root in sorted(edges):
    if root in index:
        continue
    work = [(root, iter(sorted(edges[root])))]
    index[root] = low[root] = n; n += 1; stack.append(root); on.add(root)
    while work:
        v, it = work[-1]
        w = next(it, None)
        if w is None:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    u = stack.pop(); on.discard(u); comp.append(u)
                    if u == v:
                        break
                sccs.append(sorted(comp))
        elif w not in index:
            index[w] = low[w] = n; n += 1; stack.append(w); on.add(w)
            work.append((w, iter(sorted(edges[w]))))
        elif w in on:
            low[v] = min(low[v], index[w])
bad = [c for c in sccs if len({os.path.dirname(u) for u in c}) > 1]
for c in bad:
    print(" ".join(c))
sys.exit(1 if bad else 0)
PY
); then
  pass "no circle of includes between units of different folders of src/"
else
  while IFS= read -r circle; do
    [ -n "$circle" ] && fail "a circle of includes across folders: $circle"
  done <<< "$cycles"
  [ -n "$cycles" ] || fail "the include-circle check could not run"
fi

layer_names=(base wire renderer context vtest render vhost_user)
[ -d "$BUILD_DIR/libvs-display.a.p" ] && layer_names+=(compositor vmchannel display)
layer_names+=(server)
for name in "${layer_names[@]}"; do
  check "layer $name links on its own with only the layers below it" test -x "$BUILD_DIR/tests/layer_check_$name"
done
finish

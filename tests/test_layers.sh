#!/usr/bin/env bash
# The layers of src/ hold: every #include "..." of a project header points
# at the file's own layer or one below it (README, "Layers"), and every
# layer links whole against only the layers below it (the layer_check_*
# executables of tests/meson.build, built with the server).
. "$(dirname "$0")/lib.sh"

src=$TESTS_DIR/../src
# Layer of a path relative to src/ (or of a generated header).
layer_of() {
  case $1 in
    os/*|util/*|vn_vk.h) echo 0 ;;
    venus/*|vn_wire.h|vn_wire_codec.h) echo 1 ;;
    dispatch/*|memory/*|caps/*|sync/*) echo 2 ;;
    context/*) echo 3 ;;
    vtest/*|render/*|display/*|*-server-protocol.h) echo 4 ;;
    main.c) echo 5 ;;
    *) echo "?" ;;
  esac
}
names=(base wire renderer context transport main)

bad=0 checked=0
while IFS= read -r file; do
  rel=${file#"$src"/}
  from=$(layer_of "$rel")
  if [ "$from" = "?" ]; then
    fail "$rel is in no layer (add its directory to tests/test_layers.sh and the README)"
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

layer_names=(base wire renderer context vtest render)
[ -d "$BUILD_DIR/libvs-display.a.p" ] && layer_names+=(display)
for name in "${layer_names[@]}"; do
  check "layer $name links on its own with only the layers below it" test -x "$BUILD_DIR/tests/layer_check_$name"
done
finish

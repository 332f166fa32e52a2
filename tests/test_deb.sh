#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package: `make deb` builds it from debian/ (dpkg-buildpackage,
# this tree), lintian finds no error in it, and in the bookworm, trixie
# and sid roots (Debian 12, 13 and unstable) it installs with its
# dependencies from the root's suite, runs, and purges leaving none of its
# files, no configuration and no cache behind. No user is made (the services'
# users are systemd's DynamicUser).
. "$(dirname "$0")/lib.sh"

require_tools dpkg-buildpackage lintian
if posix_build; then
  skip "-Dos=posix build: the package is the default build's"
  finish
fi
top=$TESTS_DIR/..
# Kept in the build directory: test_libvirt installs it in a booted root.
out=$BUILD_DIR/deb
rm -rf "$out"
if make -C "$top" --no-print-directory deb DEB_OUT="$out" >"$TEST_TMP/build.log" 2>&1; then
  pass "make deb: $(cd "$out" && ls -- *.deb | tr '\n' ' ')"
else
  fail "make deb failed"; show_tail "$TEST_TMP/build.log" 15; finish
fi
deb=$(ls "$out"/venus-server_*.deb)
note "Depends: $(dpkg-deb -f "$deb" Depends); Recommends: $(dpkg-deb -f "$deb" Recommends)"
rc=0; lintian --fail-on error "$deb" >"$TEST_TMP/lintian.out" 2>&1 || rc=$?
check "lintian: no error (status $rc; $(grep -c '^E:' "$TEST_TMP/lintian.out" || true) errors, $(grep -c '^W:' "$TEST_TMP/lintian.out" || true) warnings)" \
  test "$rc" -eq 0
grep '^[EW]:' "$TEST_TMP/lintian.out" | head -5 | sed 's/^/         | /' || true
check "its units, their groups (sysusers.d), configuration file, CDI spec and manual page are in it" test "$(dpkg-deb -c "$deb" | grep -cE \
  '/(venus-server(-vm@)?\.(socket|service)|(venus-server|sysusers\.d)/venus-server\.conf|cdi/venus-server\.json|venus-server\.1\.gz)$')" -eq 8
# What it installs: its files (not the directories it shares with others).
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }')
# The package names of its Depends, for the roots' apt.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[[:space:]]*\([^ (]*\).*/\1/' | grep -v '^$' | paste -sd,)

for suite in bookworm trixie sid; do
  root=$top/.deps/$suite-root
  if [ ! -x "$root/usr/bin/dpkg" ]; then skip "$suite: no root at $root (make roots)"; continue; fi
  if ! "$top/scripts/debian-root.sh" "$suite" --include "$deps" >"$TEST_TMP/$suite-deps.log" 2>&1; then
    fail "$suite: its dependencies ($deps) could not be installed in the root"
    show_tail "$TEST_TMP/$suite-deps.log" 5; continue
  fi
  cp "$deb" "$root/tmp/venus-server.deb"
  rc=0; "$top/scripts/in-root.sh" "$root" dpkg -i /tmp/venus-server.deb >"$TEST_TMP/$suite-install.log" 2>&1 || rc=$?
  check "$suite: dpkg -i installs it (status $rc)" test "$rc" -eq 0
  [ "$rc" -eq 0 ] || show_tail "$TEST_TMP/$suite-install.log" 5
  version=$("$top/scripts/in-root.sh" "$root" venus-server --version 2>&1 || true)
  check "$suite: the installed server runs ($version)" test "${version#venus-server }" != "$version"
  # What its services leave at run time, which purge takes too.
  mkdir -p "$root/var/cache/private/venus-server/0"
  rc=0; "$top/scripts/in-root.sh" "$root" dpkg --purge venus-server >"$TEST_TMP/$suite-purge.log" 2>&1 || rc=$?
  check "$suite: dpkg --purge removes it (status $rc)" test "$rc" -eq 0
  left=$(for f in $files /etc/venus-server /var/cache/private/venus-server; do
    if [ -e "$root$f" ]; then echo "$f"; fi; done | head -3 | tr '\n' ' ')
  check "$suite: purge left none of its files, configuration or cache (${left:-none})" test -z "$left"
  check "$suite: dpkg no longer knows it" \
    test -z "$("$top/scripts/in-root.sh" "$root" dpkg-query -W -f '${Status}' venus-server 2>/dev/null)"
  rm -f "$root/tmp/venus-server.deb"
done
finish

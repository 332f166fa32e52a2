#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The viewer over TLS (--http-cert, --http-key): with a certificate a test
# CA signed (openssl), the server logs an https URL; a client that trusts
# that CA gets the page and a VM device's frames over wss (a fake VMM's
# 64x48 scanout), and so does headless Chromium (trusting the server's
# key, as a test CA's), one that does not trust it fails the handshake, a plain
# HTTP request gets no page, and a page of another site is still refused.
# Without TLS an address off loopback is refused with one line, unless
# --http-plain says otherwise. Skips without the display.
. "$(dirname "$0")/lib.sh"

require_tools python3 openssl
D=$TESTS_DIR/display
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "a build without the display"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"

# A test CA and a certificate for 127.0.0.1 it signed.
c=$TEST_TMP/certs
test_certs "$c" || finish

log=$TEST_TMP/server.log out=$TEST_TMP/server.out
env --default-signal=PIPE VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --vhost-user "$TEST_TMP/gpu.sock" \
  --vhost-user-input "$TEST_TMP/input.sock" --vm-size 64x48 --ready-workers 1 --display vs-tls \
  --http 127.0.0.1:0 --http-cert "$c/server.pem" --http-key "$c/server.key" >"$out" 2>"$log" &
server=$!
BG_PIDS+=("$server")
for _ in $(seq 200); do grep -q 'viewer page at' "$out" 2>/dev/null && break; sleep 0.05; done
if grep -q 'display: unavailable' "$log"; then
  skip "no display at run time: $(grep -m1 'display: unavailable' "$log")"
  finish
fi
url=$(sed -nE 's|^venus-server: viewer page at (https?://[^ ]+)$|\1|p' "$out" | head -n 1)
check "the viewer page's URL is https (${url%%\?*})" test "${url#https://127.0.0.1:}" != "$url"
[ -n "$url" ] || { show_tail "$log"; finish; }
page=$(WS_VIEWER_CA=$c/ca.pem timeout 20 python3 "$D/ws_viewer.py" page "$url" 2>&1 | tail -n1 || true)
check "a client trusting the test CA gets the page over TLS ($page)" grep -q 'WebCodecs page' <<<"$page"
untrusted=$(WS_VIEWER_CA=$c/server.pem timeout 20 python3 "$D/ws_viewer.py" page "$url" 2>&1 | tail -n1 || true)
check "a client not trusting it fails the handshake (${untrusted:0:80})" grep -q 'CERTIFICATE_VERIFY_FAILED' <<<"$untrusted"
port=${url#https://127.0.0.1:}; port=${port%%/*}
plain=$(timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    print(repr(s.recv(64)[:12]))
except OSError as e:
    print(type(e).__name__)' "$port" 2>&1 | tail -n1 || true)
check "a plain HTTP request gets no page ($plain)" test "${plain#b\'HTTP/1.1 200}" = "$plain"

python3 "$TESTS_DIR/vhost_user/fake_vmm.py" "$TEST_TMP/gpu.sock" "$TEST_TMP/input.sock" "$TEST_TMP/vmm.out" 40 \
  >"$TEST_TMP/vmm.log" 2>&1 &
vmm=$!
BG_PIDS+=("$vmm")
for _ in $(seq 100); do grep -q shown "$TEST_TMP/vmm.out" 2>/dev/null && break; sleep 0.1; done
size=$(WS_VIEWER_CA=$c/ca.pem timeout 20 python3 "$D/ws_viewer.py" size "$url" 2>&1 | tail -n1 || true)
check "a viewer over wss gets the VM's frame ($size)" test "$size" = 64x48
# Chromium, trusting the server's key as a test CA's (its SPKI hash): the
# page decodes the VM's frames over https and wss.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  CDP_CHROMIUM_ARGS="--ignore-certificate-errors-spki-list=$TEST_SPKI" timeout -k 5 120 python3 "$D/cdp_view.py" \
    "$CHROMIUM" "$TEST_TMP/profile" "$url" shot 1 "$TEST_TMP/tls.png" >"$TEST_TMP/browser.out" 2>&1 || true
  check "Chromium decodes the VM's frames over https ($(tail -n1 "$TEST_TMP/browser.out" | cut -c1-100))" \
    grep -qE '^page: decoded [1-9][0-9]* frames .* 0 errors' "$TEST_TMP/browser.out"
else
  skip "Chromium over https: chromium is not installed"
fi
foreign=$(WS_VIEWER_CA=$c/ca.pem timeout 20 python3 "$D/ws_viewer.py" foreign "$url" https://elsewhere.example 2>&1 |
  tail -n1)
check "a page of another site is refused over TLS too ($foreign)" grep -q ' 403 ' <<<"$foreign"
wait "$vmm" || true
kill -TERM "$server" 2>/dev/null || true
rc=0; wait "$server" || rc=$?
check "the server stopped on SIGTERM (status $rc)" test "$rc" -eq 0

# Plain HTTP off loopback: refused, unless the operator says so.
rc=0; env VK_ICD_FILENAMES="$LVP_ICD" timeout 20 "$SERVER_BIN" --socket "$TEST_TMP/v.sock" --display vs-tls2 \
  --http 0.0.0.0:0 >/dev/null 2>"$TEST_TMP/open.log" </dev/null || rc=$?
check "--http 0.0.0.0:0 without TLS: refused with one line (status $rc; $(grep -m1 'loopback' "$TEST_TMP/open.log" | sed 's/^venus-server: //'))" \
  test "$rc" -ne 0 -a "$(grep -c 'is not a loopback address' "$TEST_TMP/open.log")" -eq 1
env VK_ICD_FILENAMES="$LVP_ICD" "$SERVER_BIN" --socket "$TEST_TMP/v2.sock" --display vs-tls3 --http 0.0.0.0:0 \
  --http-plain >"$TEST_TMP/plain.out" 2>"$TEST_TMP/plain.log" </dev/null &
plain_server=$!
BG_PIDS+=("$plain_server")
for _ in $(seq 100); do grep -q 'viewer page at' "$TEST_TMP/plain.out" 2>/dev/null && break; sleep 0.1; done
check "with --http-plain it serves plain HTTP there ($(sed -nE 's|.*viewer page at (http://[^/?]+).*|\1|p' "$TEST_TMP/plain.out"))" \
  grep -q 'viewer page at http://0.0.0.0:' "$TEST_TMP/plain.out"
kill -TERM "$plain_server" 2>/dev/null || true
wait "$plain_server" || true
finish

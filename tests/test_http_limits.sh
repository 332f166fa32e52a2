#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The display's HTTP endpoint under idle and greedy viewers (issue 18): one
# address holds at most 4 connections (a 5th is refused with one line);
# connections that never send their request are closed after 10 s (one
# line each); the page is served to a well-behaved client all along.
. "$(dirname "$0")/lib.sh"

require_tools python3
if ! "$SERVER_BIN" --help | grep -q -- '--display'; then
  skip "built without the display"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
server_start --display "vs-http-$$" --http 127.0.0.1:0 || finish
port=$(sed -nE 's|^venus-server: http http://127.0.0.1:([0-9]+)/$|\1|p' "$SERVER_OUT")
[ -n "$port" ] || { fail "no 'venus-server: http' line"; server_stop || true; finish; }

# 4 idle connections (one with half a request), then a 5th; report what the
# server did with each, then fetch the page once the idle ones are gone.
out=$(python3 - "$port" <<'PY' 2>&1
import socket, sys, time
port = int(sys.argv[1])
idle = []
for i in range(4):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    if i == 0:
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')  # never finished
    idle.append(s)
time.sleep(0.5)
fifth = socket.create_connection(('127.0.0.1', port), timeout=5)
try:
    print('fifth:', 'refused' if fifth.recv(1) == b'' else 'served')
except socket.timeout:
    print('fifth: served')
start = time.monotonic()
closed = 0
for s in idle:
    s.settimeout(20)
    try:
        if s.recv(1) == b'':
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print('idle closed %d of 4 after %.0f s' % (closed, time.monotonic() - start))
page = socket.create_connection(('127.0.0.1', port), timeout=5)
page.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
print('page:', page.recv(64).split(b'\r\n')[0].decode())
PY
)
note "info: $(tr '\n' ';' <<<"$out")"
check "a 5th connection from one address is refused" grep -q '^fifth: refused' <<<"$out"
check "one 'refusing an HTTP connection' line" test "$(log_count 'refusing an HTTP connection: its address holds 4')" -eq 1
check "the 4 idle connections were closed" grep -q '^idle closed 4 of 4' <<<"$out"
check "one line per idle connection" test "$(log_count 'sent no request or read no reply')" -eq 4
check "the page is served afterwards" grep -q '^page: HTTP/1.1 200' <<<"$out"
check "the server is up" server_alive
server_stop || true
finish

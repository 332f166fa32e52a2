#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The display's HTTP endpoint under hostile and greedy clients:
#   1. the page and the stream want the token the server printed: none or a
#      wrong one is a 403 with one line; a request whose Origin is another
#      site's is refused even with the token (a page elsewhere in the
#      viewer's browser); the server's own origin, or none, is let in;
#   2. 8 addresses (127.0.0.2-9) holding 4 idle viewers each, every viewer
#      slot, do not lock out another address: 127.0.0.10 gets the page and
#      a viewer (the least recently heard of an address holding the most
#      makes room, with one line); a 5th viewer of one address gets a 503
#      and one line;
#   3. one address holds at most 4 unanswered connections (a 5th gets a 503
#      and one line); connections that never send their request are closed
#      after 10 s (one line each); the page is served to a well-behaved
#      client all along;
#   4. viewers that answer nothing (no acknowledgement, no pong to the
#      server's pings) are closed after 30 s, one line each;
#   5. $VENUS_SERVER_HTTP_TOKEN sets the token; a short one stops the server.
. "$(dirname "$0")/lib.sh"

require_tools python3
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then
  skip "built without the display"
  finish
fi
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
server_start --display "vs-http-$$" --http 127.0.0.1:0 || finish
url=$(viewer_url)
[ -n "$url" ] || { fail "no 'venus-server: viewer page at' line"; server_stop || true; finish; }
check "the printed URL carries a token of 128 bits or more" grep -qE '[?]token=[0-9a-f]{32,}$' <<<"$url"

out=$(python3 - "$url" <<'PY' 2>&1
import socket, sys, time
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
port, token = u.port, u.query.split('=', 1)[1]
UPGRADE = ('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
           'Sec-WebSocket-Version: 13\r\n')

def request(target, src='127.0.0.1', headers=''):
    """Sends GET target from address src; the socket and the answer's status line."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(src, 0))
    s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n' % (target, port, headers)).encode())
    head = b''
    try:
        while b'\r\n' not in head:
            c = s.recv(4096)
            if not c:
                return s, 'closed'
            head += c
    except (ConnectionResetError, socket.timeout) as e:
        return s, type(e).__name__
    return s, head.split(b'\r\n')[0].decode()

def status(name, target, src='127.0.0.1', headers=''):
    s, line = request(target, src, headers)
    print('%s: %s' % (name, line))
    return s

# 1. credentials and origins
status('page without token', '/')
status('page with a wrong token', '/?token=' + '0' * len(token))
status('page with the token', '/?token=' + token).close()
status('stream without token', '/stream', headers=UPGRADE)
status('stream with a wrong token', '/stream?token=x' + token, headers=UPGRADE)
status('stream from another site', '/stream?token=' + token, headers=UPGRADE + 'Origin: https://evil.example\r\n')
status('stream from this server', '/stream?token=' + token,
       headers=UPGRADE + 'Origin: http://127.0.0.1:%d\r\n' % port).close()

# 2. 8 addresses x 4 idle viewers: every viewer slot
start = time.monotonic()
idle_viewers = []
for a in range(2, 10):
    for i in range(4):
        s, line = request('/stream?token=' + token, '127.0.0.%d' % a, UPGRADE)
        if ' 101 ' in line:
            idle_viewers.append(s)
print('idle viewers: %d' % len(idle_viewers))
status('page from another address', '/?token=' + token, '127.0.0.10').close()
status('a 5th viewer from 127.0.0.2', '/stream?token=' + token, '127.0.0.2', UPGRADE)
idle_viewers.append(status('a viewer from another address', '/stream?token=' + token, '127.0.0.10', UPGRADE))

# 3. unanswered connections of one address
idle = []
for i in range(4):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    if i == 0:
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')  # never finished
    idle.append(s)
time.sleep(0.5)
status('a 5th connection', '/?token=' + token)
t = time.monotonic()
closed = 0
for s in idle:
    s.settimeout(20)
    try:
        if s.recv(1) == b'':
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print('idle closed %d of 4 after %.0f s' % (closed, time.monotonic() - t))
status('page', '/?token=' + token).close()

# 4. the idle viewers (pings unanswered) are closed
closed = 0
for s in idle_viewers:
    try:
        while True:
            s.settimeout(max(1, start + 90 - time.monotonic()))
            if s.recv(4096) == b'':
                closed += 1
                break
    except (socket.timeout, ConnectionResetError):
        pass
print('idle viewers closed %d of %d after %.0f s' % (closed, len(idle_viewers), time.monotonic() - start))
PY
)
note "info: $(tr '\n' ';' <<<"$out")"
has() { grep -qxF "$1" <<<"$out"; }
check "the page without a token: 403" has 'page without token: HTTP/1.1 403 Forbidden'
check "the page with a wrong token: 403" has 'page with a wrong token: HTTP/1.1 403 Forbidden'
check "the page with the token: 200" has 'page with the token: HTTP/1.1 200 OK'
check "the stream without a token: 403" has 'stream without token: HTTP/1.1 403 Forbidden'
check "the stream with a wrong token: 403" has 'stream with a wrong token: HTTP/1.1 403 Forbidden'
check "the stream from another site's page, token and all: 403" has 'stream from another site: HTTP/1.1 403 Forbidden'
check "the stream from the server's own origin: 101" has 'stream from this server: HTTP/1.1 101 Switching Protocols'
check "one line for the missing token" \
  test "$(log_count 'refusing viewer from 127\.0\.0\.1 \((the page|the stream)\): no token')" -eq 2
check "one line per wrong token" test "$(log_count 'refusing viewer from 127\.0\.0\.1 \((the page|the stream)\): wrong token$')" -eq 2
check "one line for the foreign Origin" \
  test "$(log_count "refusing viewer from 127\.0\.0\.1 \(the stream\): Origin 'https://evil\.example' is not this server's")" -eq 1
check "8 addresses hold 4 idle viewers each" has 'idle viewers: 32'
check "another address still gets the page" has 'page from another address: HTTP/1.1 200 OK'
check "a 5th viewer from one address: 503" has 'a 5th viewer from 127.0.0.2: HTTP/1.1 503 Service Unavailable'
check "one line for it" test "$(log_count 'refusing viewer from 127\.0\.0\.2: its address holds 4 viewers \(limit 4\)')" -eq 1
check "another address still gets a viewer slot" has 'a viewer from another address: HTTP/1.1 101 Switching Protocols'
check "one line for the viewer that made room" \
  test "$(log_count 'viewer [0-9]+ \(127\.0\.0\.[2-9], whose address holds the most\) closed to make room for a viewer from 127\.0\.0\.10')" -eq 1
check "a 5th unanswered connection from one address: 503" has 'a 5th connection: HTTP/1.1 503 Service Unavailable'
check "one 'refusing an HTTP connection' line" \
  test "$(log_count 'refusing an HTTP connection from 127\.0\.0\.1: its address holds 4 unanswered ones')" -eq 1
check "the 4 idle connections were closed" grep -q '^idle closed 4 of 4' <<<"$out"
check "one line per idle connection" test "$(log_count 'sent no request or read no reply')" -eq 4
check "the page is served afterwards" has 'page: HTTP/1.1 200 OK'
# 33: the 32 silent ones, and the one that made room.
check "the viewers that answer nothing were closed" grep -q '^idle viewers closed 33 of 33' <<<"$out"
check "one line per silent viewer" test "$(log_count 'sent nothing for 30 s \(no acknowledgement, no pong\); closed')" -eq 32
check "the server is up" server_alive
server_stop || true

# 5. a configured token ($VENUS_SERVER_HTTP_TOKEN), and one too short to be one
tok=configured-token-0123456789abcdef.~_
VENUS_SERVER_HTTP_TOKEN=$tok server_start --display "vs-http2-$$" --http 127.0.0.1:0 || finish
url=$(viewer_url)
check "the printed URL carries the configured token" test "${url#*\?}" = "token=$tok"
check "the page is served with it" python3 "$TESTS_DIR/display/ws_viewer.py" page "$url"
server_stop || true
rc=0
VENUS_SERVER_HTTP_TOKEN=short timeout 30 "$SERVER_BIN" --socket "$TEST_TMP/short.sock" --display "vs-http3-$$" \
  --http 127.0.0.1:0 >"$TEST_TMP/short.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'bad \$VENUS_SERVER_HTTP_TOKEN' "$TEST_TMP/short.out"; then
  pass "a token too short to be one stops the server with one line"
else
  fail "a short \$VENUS_SERVER_HTTP_TOKEN: $(describe_rc "$rc"): $(tail -n 2 "$TEST_TMP/short.out" | tr '\n' ';')"
fi
finish

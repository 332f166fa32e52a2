#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A viewer of the display's WebSocket stream, for tests/test_display.sh.
URL is the page's, as the server prints it (http://HOST:PORT/?token=...):
the stream is asked for with the same token.

  ws_viewer.py page URL                  GET / serves the WebCodecs page
  ws_viewer.py read URL N                reads N access units: the first is a key
                                         frame with SPS and PPS; prints figures
  ws_viewer.py drop URL N                reads N, then vanishes mid-message (RST)
  ws_viewer.py stall URL SECONDS         connects and never reads (a slow viewer)
  ws_viewer.py input URL                 sends a pointer motion (and an acknowledgement)
                                         and prints whether the stream says input is allowed
  ws_viewer.py vm-input URL [CUE]        once a frame came: the pointer to the middle of a
                                         64x48 surface, a left click, KEY_A typed, a wheel
                                         click towards the user; with CUE, writes 'watching'
                                         to CUE.viewer after the first frame and sends the
                                         input once CUE exists, after a key frame it asks
                                         for; prints the size of every frame it got
  ws_viewer.py size URL                  prints the first frame's size (WxH)
  ws_viewer.py reconnect URL N           watches the stream over N connections: whenever one
                                         ends (a live upgrade), connects again with the same
                                         URL (for up to 60 s); prints 'connection K: WxH' with
                                         each one's first frame (', no key frame' unless it
                                         was one with its IDR; then how long since the one
                                         before ended), then the list of them
  ws_viewer.py resize URL WxH...         after the first frame, asks for each mode in turn
                                         (its window's size) and waits for a frame of it
                                         (not for one of a WxH ending in '!'); prints the
                                         size of every frame that came
  ws_viewer.py bad URL                   sends a message of an unknown type: the server
                                         must close the connection
  ws_viewer.py foreign URL ORIGIN        what a page of another site can do: asks for the
                                         stream with Origin: ORIGIN; prints the answer's
                                         status line, and if it was let in, types 'pwned'

Pings from the server are answered (as browsers do). An https URL is
spoken over TLS, the server's certificate checked against the CA file
$WS_VIEWER_CA (else the system's).
"""
import base64, os, socket, ssl, struct, sys, time
from urllib.parse import urlsplit

# Set by main() for an https URL.
TLS = None


def open_socket(host, port, rcvbuf=None):
    """A connected socket, over TLS where the URL says https."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(20)
    s.connect((host, port))
    return TLS.wrap_socket(s, server_hostname=host) if TLS else s


def upgrade(host, port, query, origin=None, rcvbuf=None):
    """Sends the upgrade request; returns the socket and the answer's head."""
    s = open_socket(host, port, rcvbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET /stream%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               '%sSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % (
                   '?' + query if query else '', host, port, 'Origin: %s\r\n' % origin if origin else '',
                   key)).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = s.recv(1)
        if not chunk:
            raise SystemExit('handshake: connection closed')
        buf += chunk
    return s, key, buf


def connect(host, port, query, rcvbuf=None):
    s, key, buf = upgrade(host, port, query, rcvbuf=rcvbuf)
    if b' 101 ' not in buf.split(b'\r\n')[0]:
        raise SystemExit('handshake refused: %r' % buf[:80])
    import hashlib
    want = base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest())
    if b'Sec-WebSocket-Accept: ' + want not in buf:
        raise SystemExit('bad Sec-WebSocket-Accept')
    return s


def recv_exact(s, n):
    out = b''
    while len(out) < n:
        c = s.recv(n - len(out))
        if not c:
            raise SystemExit('stream closed after %d of %d bytes' % (len(out), n))
        out += c
    return out


def send_frame(s, opcode, body):
    mask = os.urandom(4)
    s.sendall(bytes([0x80 | opcode, 0x80 | len(body)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(body)))


CURSORS = []  # the cursor messages message() passed over: (w, h, hot_x, hot_y, first pixel R G B A)
OUTPUT = []   # the output the server says the viewer watches


def message(s):
    """The next access unit's message (cursor messages noted in CURSORS,
    the output's name in OUTPUT; news that the VM's outputs changed passed
    over)."""
    while True:
        b0, b1 = recv_exact(s, 2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('>H', recv_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack('>Q', recv_exact(s, 8))[0]
        body = recv_exact(s, n)
        if b0 == 0x89:
            send_frame(s, 0xA, body)  # pong
            continue
        if b0 != 0x82:
            raise SystemExit('unexpected frame opcode 0x%02x' % b0)
        if body[1] & 2:
            hx, hy, _, w, h = struct.unpack_from('<IIIII', body, 4)
            CURSORS.append((w, h, hx, hy, tuple(body[24:28])))
            continue
        if body[1] & 4:
            OUTPUT.append(body[24:].decode())
            continue
        if body[1] & 8:
            continue  # the VM's outputs changed: the page lists them again
        return body


def nal_types(au):
    types, i = [], 0
    while True:
        i = au.find(b'\x00\x00\x01', i)
        if i < 0 or i + 3 >= len(au):
            return types
        types.append(au[i + 3] & 31)
        i += 3


def main():
    global TLS
    mode, url = sys.argv[1], urlsplit(sys.argv[2])
    host, port, query = url.hostname, url.port, url.query
    if url.scheme == 'https':
        TLS = ssl.create_default_context(cafile=os.environ.get('WS_VIEWER_CA'))
    if mode == 'page':
        s = open_socket(host, port)
        s.sendall(('GET /?%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n' % (query, host, port)).encode())
        data = b''
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        ok = b'200 OK' in data.split(b'\r\n')[0] and b'VideoDecoder' in data
        print('page: %d bytes, %s' % (len(data), 'WebCodecs page' if ok else 'unexpected'))
        return 0 if ok else 1
    if mode == 'foreign':
        s, _, head = upgrade(host, port, query, origin=sys.argv[3])
        status = head.split(b'\r\n')[0].decode()
        if ' 101 ' not in status:
            print(status)
            return 0
        for code in (25, 17, 49, 18, 32):  # p w n e d
            for state in (1, 0):
                send_frame(s, 2, struct.pack('<BxxxII', 6, code, state))
        time.sleep(0.5)
        print('%s: let in, typed pwned' % status)
        return 1
    if mode == 'stall':
        s = connect(host, port, query, rcvbuf=4096)
        time.sleep(float(sys.argv[3]))
        print('stalled viewer: done')
        return 0
    if mode == 'size':
        s = connect(host, port, query)
        first = message(s)
        print('%dx%d' % struct.unpack('<II', first[16:24]))
        return 0
    if mode == 'reconnect':
        want, seen, ended = int(sys.argv[3]), [], None
        deadline = time.time() + 60
        while len(seen) < want and time.time() < deadline:
            try:
                s = connect(host, port, query)
                first = message(s)
            except (OSError, SystemExit):
                time.sleep(0.02)
                continue
            w, h = struct.unpack('<II', first[16:24])
            seen.append('%dx%d%s' % (w, h, '' if first[0] and 5 in nal_types(first[24:]) else ', no key frame'))
            print('connection %d: %s%s' % (len(seen), seen[-1], ' (%d ms without a frame)' % (
                (time.time() - ended) * 1000) if ended else ''), flush=True)
            deadline = time.time() + 60
            try:
                while len(seen) < want:
                    message(s)
            except (OSError, SystemExit):
                ended = time.time()
        print('connections: %s' % ' '.join(seen))
        return 0 if len(seen) == want else 1
    if mode == 'resize':
        s = connect(host, port, query)
        sizes = ['%dx%d' % struct.unpack('<II', message(s)[16:24])]
        for want in sys.argv[3:]:
            w, h = (int(v) for v in want.rstrip('!').split('x'))
            send_frame(s, 2, struct.pack('<BxxxII', 7, w, h))
            if want.endswith('!'):
                time.sleep(1)
                continue
            deadline = time.time() + 20
            while sizes[-1] != want and time.time() < deadline:
                size = '%dx%d' % struct.unpack('<II', message(s)[16:24])
                if size != sizes[-1]:
                    sizes.append(size)
        print(' '.join(sizes))
        return 0
    if mode == 'vm-input':
        s = connect(host, port, query)
        first = message(s)
        sizes = ['%dx%d' % struct.unpack('<II', first[16:24])]
        if len(sys.argv) > 3:
            cue = sys.argv[3]
            with open(cue + '.viewer', 'w') as f:
                f.write('watching\n')
            deadline = time.time() + 30
            while not os.path.exists(cue) and time.time() < deadline:
                time.sleep(0.1)
            send_frame(s, 2, struct.pack('<Bxxx', 2))  # a key frame: what the output shows now
            sizes.append('%dx%d' % struct.unpack('<II', message(s)[16:24]))
        for body in (struct.pack('<Bxxxii', 3, 32 * 256, 24 * 256), struct.pack('<BxxxII', 4, 0x110, 1),
                     struct.pack('<BxxxII', 4, 0x110, 0), struct.pack('<BxxxII', 6, 30, 1),
                     struct.pack('<BxxxII', 6, 30, 0), struct.pack('<BxxxIi', 5, 0, 100 * 256)):
            send_frame(s, 2, body)
        print('sent input (input %s) to output %s; frames %s; cursors %s' % (
            'allowed' if first[1] & 1 else 'not allowed', ''.join(OUTPUT) or 'unnamed', ' '.join(sizes),
            ' '.join('%dx%d@%d,%d:%s' % (c[0], c[1], c[2], c[3], '.'.join('%d' % v for v in c[4])) for c in CURSORS)
            or 'none'))
        time.sleep(0.5)
        return 0
    if mode in ('input', 'bad'):
        s = connect(host, port, query)
        first = message(s)
        body = struct.pack('<Bxxxii', 3, 10 * 256, 10 * 256) if mode == 'input' else struct.pack('<Bxxxi', 99, 0)
        send_frame(s, 2, body)
        if mode == 'input':
            print('input %s' % ('allowed' if first[1] & 1 else 'not allowed'))
            time.sleep(0.5)
            return 0
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            print('the server kept the connection after a bad message')
            return 1
        print('closed after a bad message')
        return 0
    n = int(sys.argv[3])
    s = connect(host, port, query)
    t0 = time.time()
    first = message(s)
    key, seq = first[0], struct.unpack('<I', first[4:8])[0]
    w, h = struct.unpack('<II', first[16:24])
    types = nal_types(first[24:])
    if not key or 7 not in types or 8 not in types or 5 not in types:
        print('first message: key=%d NAL types %s: want a key frame with SPS (7), PPS (8), IDR (5)' % (key, types))
        return 1
    got, last = 1, seq
    while got < n:
        m = message(s)
        got += 1
        if mode == 'drop' and got == n:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()
            print('dropped after %d messages' % got)
            return 0
        last = struct.unpack('<I', m[4:8])[0]
    dt = time.time() - t0
    print('read %d access units (%dx%d, key first with SPS/PPS), seq %d..%d, %.1f per second' % (
        got, w, h, seq, last, got / dt if dt > 0 else 0))
    return 0


sys.exit(main())

#!/usr/bin/env python3
"""Drives a headless Chromium over its DevTools protocol (no timing guesses):
waits until the display's page has decoded MIN frames (window.vsStats),
then saves a screenshot.

  cdp_view.py CHROMIUM_BINARY USER_DATA_DIR URL MIN_DECODED SCREENSHOT.png

Prints the page's figures; exit 1 if it never decoded MIN frames."""
import base64, json, os, socket, struct, subprocess, sys, time


class WS:
    """A minimal RFC 6455 client (masked text frames out, frames in)."""

    def __init__(self, url):
        assert url.startswith('ws://')
        hostport, path = url[5:].split('/', 1)
        host, port = hostport.split(':')
        self.s = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(('GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                        'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % (path, hostport, key)).encode())
        buf = b''
        while b'\r\n\r\n' not in buf:
            buf += self.s.recv(1)
        self.next_id = 0

    def _recv_exact(self, n):
        out = b''
        while len(out) < n:
            c = self.s.recv(n - len(out))
            if not c:
                raise SystemExit('DevTools connection closed')
            out += c
        return out

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack('>H', n)
                               if n < 65536 else bytes([0x80 | 127]) + struct.pack('>Q', n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        b0, b1 = self._recv_exact(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('>H', self._recv_exact(2))[0]
        elif n == 127:
            n = struct.unpack('>Q', self._recv_exact(8))[0]
        return self._recv_exact(n)

    def call(self, method, **params):
        self.next_id += 1
        self.send({'id': self.next_id, 'method': method, 'params': params})
        while True:
            msg = json.loads(self.recv())
            if msg.get('id') == self.next_id:
                return msg.get('result', {})


def main():
    chromium, profile, url, need, shot = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    proc = subprocess.Popen([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                             '--no-first-run', '--disable-background-networking', '--disable-component-update',
                             '--disable-sync', '--user-data-dir=' + profile, '--window-size=400,300',
                             '--remote-debugging-port=0', url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, 'DevToolsActivePort')
        deadline = time.time() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or proc.poll() is not None:
                print('chromium did not open its DevTools port')
                return 1
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = []
        while not any(t.get('type') == 'page' for t in targets):
            s = socket.create_connection(('127.0.0.1', port), timeout=10)
            s.sendall(b'GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
            data = b''
            while b'\r\n\r\n' not in data or len(data.split(b'\r\n\r\n', 1)[1]) < int(
                    [l for l in data.split(b'\r\n') if l.lower().startswith(b'content-length:')][0].split(b':')[1]):
                c = s.recv(65536)
                if not c:
                    break
                data += c
            targets = json.loads(data.split(b'\r\n\r\n', 1)[1])
            if time.time() > deadline:
                print('no page target')
                return 1
        page = [t for t in targets if t.get('type') == 'page'][0]
        ws = WS('ws://127.0.0.1:%d/%s' % (port, page['webSocketDebuggerUrl'].split('/', 3)[3]))
        ws.call('Emulation.setDeviceMetricsOverride', width=400, height=300, deviceScaleFactor=1, mobile=False)
        stats = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            r = ws.call('Runtime.evaluate', expression='JSON.stringify(window.vsStats || null)', returnByValue=True)
            stats = json.loads(r.get('result', {}).get('value') or 'null') or {}
            if stats.get('decoded', 0) >= need:
                break
            time.sleep(0.2)
        png = base64.b64decode(ws.call('Page.captureScreenshot', format='png')['data'])
        open(shot, 'wb').write(png)
        print('page: decoded %s frames (%s key), %s fps, latency %s ms, %sx%s, %s errors %s' % (
            stats.get('decoded'), stats.get('keys'), stats.get('fps'), stats.get('latencyMs'), stats.get('width'),
            stats.get('height'), stats.get('errors'), stats.get('last', '')))
        return 0 if stats.get('decoded', 0) >= need and not stats.get('errors') else 1
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


sys.exit(main())

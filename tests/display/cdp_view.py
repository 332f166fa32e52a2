#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Drives a headless Chromium over its DevTools protocol (no timing guesses:
it waits on the page's window.vsStats) on the display's page.

  cdp_view.py CHROMIUM USER_DATA_DIR URL shot MIN_DECODED SHOT.png
      waits until the page has decoded MIN frames, saves a screenshot
      (window 400x300); prints the page's figures; exit 1 if it never did
  cdp_view.py CHROMIUM USER_DATA_DIR URL input SHOT.png [COMMAND...]
      window 800x450: clicks at page point (250, 100) and types TEXT below
      (Shift for capitals and '!'); prints the surface point the click maps
      to by the page's layout rule (scaled to fit, centred) and the text.
      Then, with a COMMAND (a client showing a window of another size), runs
      it and waits for the page to decode the new size without an error:
      a resolution change mid-stream
  cdp_view.py CHROMIUM USER_DATA_DIR URL stall SECONDS KEYINT_S
      blocks the page's main thread SECONDS, then reports how soon a frame
      committed after the stall is drawn (against KEYINT_S, one key-frame
      interval: informational) and its latency; exit 1 if none is drawn
      within 120 s (only a page that never comes back misses that)
  cdp_view.py CHROMIUM USER_DATA_DIR URL latency SECONDS WARMUP_S [SHOT.png]
      watches SECONDS (window 800x600), then prints commit->decoded and
      commit->drawn (median, p99) after WARMUP_S, and the p99 of commit->drawn
      in the first and the last 10 s of that span (growth check)
  cdp_view.py CHROMIUM USER_DATA_DIR URL latency-escape SECONDS WARMUP_S [SHOT.png]
      as latency, then clicks "size VM" (prints the size the page asked
      for: a VM's mode follows) and presses Escape in the page (vkcube
      quits on it: a guest app's proof that the page's keys reach it)
  cdp_view.py CHROMIUM USER_DATA_DIR URL all CUE SHOT.png
      URL: a page of all a VM's outputs (&all=1, window 800x300). Waits
      until it shows one output with frames decoded, creates the file CUE
      (the VM then shows a second scanout), waits until it shows two, with
      frames decoded in each; clicks in the first and presses Escape there.
      Prints each output's size and frames, how often the page read the
      list; exit 1 if it never showed both
  cdp_view.py CHROMIUM USER_DATA_DIR URL foreign
      a hostile site: serves a page of its own (another origin,
      http://127.0.0.1:OTHER_PORT) that opens URL's stream, token and all,
      then without the token, and types 'pwned' where it is let in; prints
      what the browser saw; exit 1 if the stream opened
$CDP_CHROMIUM_ARGS: more Chromium switches, split at white space."""
import base64, json, os, socket, struct, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

TEXT = 'Hello, venus 42!'


class WS:
    """A minimal RFC 6455 client (masked text frames out, frames in)."""

    def __init__(self, url):
        assert url.startswith('ws://')
        hostport, path = url[5:].split('/', 1)
        host, port = hostport.split(':')
        self.s = socket.create_connection((host, int(port)), timeout=60)
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

    def eval(self, expression):
        r = self.call('Runtime.evaluate', expression=expression, returnByValue=True)
        return r.get('result', {}).get('value')

    def stats(self, fields='decoded keys fps width height errors last input skipped keyRequests drawn'):
        keys = ','.join("'%s'" % f for f in fields.split())
        return json.loads(self.eval('JSON.stringify(window.vsStats ? Object.fromEntries([%s].map(k => '
                                    '[k, vsStats[k]])) : null)' % keys) or 'null') or {}

    def outputs(self):
        """A page of all outputs: each frame's output and figures, in order."""
        return json.loads(self.eval(
            'JSON.stringify([...document.querySelectorAll("iframe")].map(f => {'
            ' const s = f.contentWindow && f.contentWindow.vsStats; return [f.title, s ? s.decoded : 0,'
            ' s ? s.width : 0, s ? s.height : 0, s ? s.errors : 0]; }))') or '[]')

    def wait_outputs(self, count, timeout=60):
        """outputs(), once `count` frames have decoded a frame each."""
        deadline = time.time() + timeout
        shown = []
        while time.time() < deadline:
            shown = self.outputs()
            if len(shown) == count and all(o[1] > 0 for o in shown):
                break
            time.sleep(0.2)
        return shown

    def wait_decoded(self, need, timeout=60, extra=lambda s: True):
        deadline = time.time() + timeout
        stats = {}
        while time.time() < deadline:
            stats = self.stats()
            if stats.get('decoded', 0) >= need and extra(stats):
                break
            time.sleep(0.2)
        return stats


def open_page(chromium, profile, url, width, height):
    # $CDP_CHROMIUM_ARGS: more switches (a test CA's certificate, trusted).
    extra = os.environ.get('CDP_CHROMIUM_ARGS', '').split()
    proc = subprocess.Popen([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                             '--no-first-run', '--disable-background-networking', '--disable-component-update',
                             '--disable-sync', '--disable-dev-shm-usage', '--user-data-dir=' + profile,
                             '--window-size=%d,%d' % (width, height)] + extra +
                            ['--remote-debugging-port=0', url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(profile, 'DevToolsActivePort')
    deadline = time.time() + 30
    while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit('chromium did not open its DevTools port')
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
            raise SystemExit('no page target')
    page = [t for t in targets if t.get('type') == 'page'][0]
    ws = WS('ws://127.0.0.1:%d/%s' % (port, page['webSocketDebuggerUrl'].split('/', 3)[3]))
    ws.call('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1, mobile=False)
    return proc, ws


def figures(stats):
    return 'decoded %s frames (%s key), %s fps, %sx%s, %s errors %s' % (
        stats.get('decoded'), stats.get('keys'), stats.get('fps'), stats.get('width'), stats.get('height'),
        stats.get('errors'), stats.get('last', ''))


def screenshot(ws, path):
    open(path, 'wb').write(base64.b64decode(ws.call('Page.captureScreenshot', format='png')['data']))


def key_event(ws, kind, code, key, vk, modifiers=0, text=None):
    params = dict(type=kind, code=code, key=key, windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk,
                  modifiers=modifiers)
    if text is not None:
        params['text'] = text
    ws.call('Input.dispatchKeyEvent', **params)


def type_text(ws, text):
    shifted = {'!': ('Digit1', 0x31)}
    for ch in text:
        shift = ch.isupper() or ch in shifted
        if ch.isalpha():
            code, vk = 'Key' + ch.upper(), ord(ch.upper())
        elif ch.isdigit():
            code, vk = 'Digit' + ch, ord(ch)
        elif ch == ' ':
            code, vk = 'Space', 0x20
        elif ch == ',':
            code, vk = 'Comma', 0xbc
        elif ch in shifted:
            code, vk = shifted[ch]
        else:
            raise SystemExit('cannot type %r' % ch)
        if shift:
            key_event(ws, 'rawKeyDown', 'ShiftLeft', 'Shift', 0x10, 8)
        key_event(ws, 'keyDown', code, ch, vk, 8 if shift else 0, ch)
        key_event(ws, 'keyUp', code, ch, vk, 8 if shift else 0)
        if shift:
            key_event(ws, 'keyUp', 'ShiftLeft', 'Shift', 0x10, 0)


def click(ws, x, y):
    ws.call('Input.dispatchMouseEvent', type='mouseMoved', x=x, y=y)
    ws.call('Input.dispatchMouseEvent', type='mousePressed', x=x, y=y, button='left', clickCount=1)
    ws.call('Input.dispatchMouseEvent', type='mouseReleased', x=x, y=y, button='left', clickCount=1)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))] if v else float('nan')


# What a page of another site does with a viewer URL it got hold of.
FOREIGN_PAGE = '''<!doctype html><html><body><script>
const urls = %s, results = [];
function attempt(i) {
  if (i == urls.length) { window.result = results.join('; '); return; }
  const ws = new WebSocket(urls[i]);
  ws.binaryType = 'arraybuffer';
  let opened = false;
  ws.onopen = () => {
    opened = true;
    for (const code of [25, 17, 49, 18, 32])
      for (const state of [1, 0]) {
        const v = new DataView(new ArrayBuffer(12));
        v.setUint8(0, 6); v.setUint32(4, code, true); v.setUint32(8, state, true);
        ws.send(v.buffer);
      }
    setTimeout(() => ws.close(), 500);
  };
  ws.onclose = e => {
    results.push(urls[i].replace(/token=[^&]*/, 'token=...') + (opened ? ' open: typed pwned' : ' refused'));
    attempt(i + 1);
  };
}
attempt(0);
</script></body></html>'''


def foreign_site(viewer_url):
    """Serves FOREIGN_PAGE from 127.0.0.1 on a port of its own; its URL."""
    u = urlsplit(viewer_url)
    urls = ['ws://%s/stream?%s' % (u.netloc, u.query), 'ws://%s/stream' % u.netloc]
    page = (FOREIGN_PAGE % json.dumps(urls)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = HTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return 'http://127.0.0.1:%d/' % server.server_address[1]


def main():
    chromium, profile, url, mode = sys.argv[1:5]
    args = sys.argv[5:]
    size = {'input': (800, 450), 'latency': (800, 600), 'latency-escape': (800, 600), 'all': (800, 300)}.get(
        mode, (400, 300))
    if mode == 'foreign':
        url = foreign_site(url)
    proc, ws = open_page(chromium, profile, url, *size)
    try:
        if mode == 'foreign':
            deadline = time.time() + 30
            result = None
            while result is None and time.time() < deadline:
                time.sleep(0.1)
                result = ws.eval('window.result')
            print('a page of %s: %s' % (url, result or 'no answer in 30 s'))
            return 0 if result and 'open' not in result else 1
        if mode == 'all':
            cue, shot = args
            one = ws.wait_outputs(1)
            print('all, first: %s' % ' '.join('%s %dx%d (%d frames)' % (o[0], o[2], o[3], o[1]) for o in one))
            open(cue, 'w').close()
            two = ws.wait_outputs(2)
            screenshot(ws, shot)
            a = json.loads(ws.eval('JSON.stringify(window.vsAll)') or '{}')
            print('all, then: %s; list read %s times, %s errors %s' % (
                ' '.join('%s %dx%d (%d frames, %d errors)' % (o[0], o[2], o[3], o[1], o[4]) for o in two),
                a.get('reads'), a.get('errors'), a.get('last', '')))
            if len(one) != 1 or len(two) != 2 or not all(o[1] > 0 for o in two):
                return 1
            # Keys go to the frame that has the focus: the one clicked.
            click(ws, size[0] // 4, size[1] // 2)
            key_event(ws, 'rawKeyDown', 'Escape', 'Escape', 0x1b)
            key_event(ws, 'keyUp', 'Escape', 'Escape', 0x1b)
            print('pressed Escape in %s' % two[0][0])
            return 0
        if mode == 'shot':
            need, shot = int(args[0]), args[1]
            stats = ws.wait_decoded(need)
            screenshot(ws, shot)
            print('page: ' + figures(stats))
            return 0 if stats.get('decoded', 0) >= need and not stats.get('errors') else 1
        if mode == 'input':
            shot = args[0]
            stats = ws.wait_decoded(3, extra=lambda s: s.get('input'))
            if not stats.get('input'):
                print('the page says input is not allowed: ' + figures(stats))
                return 1
            w, h = stats['width'], stats['height']
            k = min(size[0] / w, size[1] / h)
            left, top = (size[0] - w * k) / 2, (size[1] - h * k) / 2
            cx, cy = 250, 100
            click(ws, cx, cy)
            type_text(ws, TEXT)
            # The page draws the cross where the click went once the client redrew.
            time.sleep(1.0)
            screenshot(ws, shot)
            print('clicked page %d,%d -> surface %.2f,%.2f' % (cx, cy, (cx - left) / k, (cy - top) / k))
            print('typed %s' % TEXT)
            if len(args) < 2:
                return 0
            other = subprocess.Popen(args[1:])
            try:
                stats = ws.wait_decoded(0, extra=lambda s: (s['width'], s['height']) != (w, h))
                at_change = stats['decoded']
                stats = ws.wait_decoded(at_change + 10)
            finally:
                other.terminate()
                other.wait()
            changed = (stats['width'], stats['height']) != (w, h) and stats['decoded'] >= at_change + 10
            print('resolution change %dx%d -> %dx%d: %s' % (w, h, stats['width'], stats['height'], figures(stats)))
            return 0 if changed and not stats.get('errors') else 1
        if mode == 'stall':
            seconds, keyint = float(args[0]), float(args[1])
            stats = ws.wait_decoded(60)
            t_stall = ws.eval('performance.timeOrigin + performance.now()')
            ws.eval('(() => { const t = Date.now(); while (Date.now() - t < %d) {} })()' % int(seconds * 1000))
            t_resume = ws.eval('performance.timeOrigin + performance.now()')
            deadline = time.time() + 120
            fresh = None
            while time.time() < deadline and fresh is None:
                time.sleep(0.1)
                log = ws.eval('JSON.stringify(vsStats.log.slice(-400))')
                for t, dec, drawn in json.loads(log):
                    if t > t_resume and t - drawn >= t_resume:
                        fresh = (t, drawn)
                        break
            stats = ws.stats()
            if fresh is None:
                print('no frame committed after the %.0f s stall was drawn in 120 s; %s' % (
                    seconds, figures(stats)))
                return 1
            after = [r[2] for r in json.loads(ws.eval('JSON.stringify(vsStats.log)'))
                     if r[0] - r[2] >= t_resume and r[0] <= fresh[0] + 1000]
            stale = [r for r in json.loads(ws.eval('JSON.stringify(vsStats.log)'))
                     if r[0] > t_resume and r[0] - r[2] < t_stall]
            back = (fresh[0] - t_resume) / 1000
            print('after a %.0f s stall the first frame committed after it was drawn %.2f s after the resume '
                  '(key-frame interval %.0f s); commit->drawn %.1f ms then, median %.1f ms over the next second; '
                  '%d frames from before the stall drawn after it; skipped %s, key frames asked %s' % (
                      seconds, back, keyint, fresh[1], pct(after, 0.5), len(stale), stats.get('skipped'),
                      stats.get('keyRequests')))
            return 0
        if mode in ('latency', 'latency-escape'):
            seconds, warmup = float(args[0]), float(args[1])
            stats = ws.wait_decoded(1)
            t0 = ws.eval('performance.timeOrigin + performance.now()')
            time.sleep(seconds)
            stats = ws.stats()
            # The log is read before the screenshot, which stalls the page:
            # frames drawn during it would count in the last window.
            log = [r for r in json.loads(ws.eval('JSON.stringify(vsStats.log)')) if r[0] >= t0 + warmup * 1000]
            if len(args) > 2:
                screenshot(ws, args[2])
            if not log:
                print('no frames drawn: ' + figures(stats))
                return 1
            end = log[-1][0]
            first = [r[2] for r in log if r[0] < log[0][0] + 10000]
            last = [r[2] for r in log if r[0] > end - 10000]
            span = (end - log[0][0]) / 1000
            print('browser: %.0f s after %.0f s warm-up, %d frames drawn (%.1f fps): commit->decoded median %.1f ms '
                  'p99 %.1f ms; commit->drawn median %.1f ms p99 %.1f ms; commit->drawn p99 first 10 s %.1f ms, '
                  'last 10 s %.1f ms; median first 10 s %.1f ms, last 10 s %.1f ms; skipped %s, key frames asked %s, '
                  'errors %s' % (
                      span, warmup, len(log), len(log) / span if span else 0, pct([r[1] for r in log], 0.5),
                      pct([r[1] for r in log], 0.99), pct([r[2] for r in log], 0.5), pct([r[2] for r in log], 0.99),
                      pct(first, 0.99), pct(last, 0.99), pct(first, 0.5), pct(last, 0.5), stats.get('skipped'),
                      stats.get('keyRequests'), stats.get('errors')))
            # Each 10 s window on its own: a steady climb is growth, a lone
            # high window is a spike.
            windows = [[r for r in log if log[0][0] + k * 10000 <= r[0] < log[0][0] + (k + 1) * 10000]
                       for k in range(int(span // 10))]
            print('browser: per 10 s window, commit->drawn p99 %s ms; commit->decoded p99 %s ms' % (
                ' '.join('%.1f' % pct([r[2] for r in w], 0.99) for w in windows if w),
                ' '.join('%.1f' % pct([r[1] for r in w], 0.99) for w in windows if w)))
            if mode == 'latency-escape':
                cursor = ws.stats('cursor cursors output')
                print('page cursor: %s (%s cursor messages)' % (cursor.get('cursor'), cursor.get('cursors')))
                print('page output: %s, its URL %s' % (cursor.get('output'), ws.eval('location.search.replace(/token=[^&]*/, "token=...")')))
                if not ws.stats().get('input'):
                    print('the page says input is not allowed')
                    return 1
                # "size VM": the guest's mode becomes the window's size.
                ws.eval("document.getElementById('r').click()")
                time.sleep(3)
                print('page asked the VM for %s' % ws.stats('askedSize').get('askedSize'))
                key_event(ws, 'rawKeyDown', 'Escape', 'Escape', 0x1b)
                key_event(ws, 'keyUp', 'Escape', 'Escape', 0x1b)
                print('pressed Escape in the page')
            return 0
        raise SystemExit('unknown mode ' + mode)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


sys.exit(main())

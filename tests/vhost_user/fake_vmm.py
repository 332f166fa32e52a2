#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A VMM's two vhost-user front ends in one process, for
tests/test_vhost_user_input.sh: a virtio-gpu device whose scanout shows a
64x48 frame (2D resource, backing, scanout, transfer, flush), and a
virtio-input device with eventq buffers. Guest RAM is a memfd of each.

  fake_vmm.py GPU_SOCK INPUT_SOCK OUT_FILE SECONDS [WxH]
      shows the frame (64x48 grey B8G8R8X8, or WxH R8G8B8A8 of red 200,
      green 40, blue 20) and a cursor
      (show_cursor), writes 'shown' to OUT_FILE, then for SECONDS collects the input device's events;
      writes them as lines 'TYPE CODE VALUE' (decimal) and ends with
      'done'.
  fake_vmm.py - INPUT_SOCK OUT_FILE SECONDS
      the input device alone (another VMM, with no GPU device).
  fake_vmm.py --modes GPU_SOCK OUT_FILE SECONDS
      a GPU device with a backend channel shows its 64x48 frame, writes
      'shown', then for SECONDS answers each config change the device
      sends as a guest's driver does: reads the config space, the display
      info and the EDID, clears the events, and shows a frame of the new
      mode (the modeset); writes 'mode WxH events E edid WxH' for each.
  fake_vmm.py --scanouts GPU_SOCK OUT_FILE SECONDS
      a GPU device of 2 scanouts (--vm-scanouts 2) with a backend
      channel: writes 'num_scanouts N' (its config), 'info' and the first
      3 scanouts of its display info ('WxH:ENABLED' each), 'edid1 WxH'
      (scanout 1's EDID's preferred mode); shows the 64x48 grey frame on
      scanout 0, a 32x24 B8G8R8X8 frame of blue 20, green 200, red 40 on
      scanout 1 and the cursor on scanout 1; writes 'scanout2 0xTYPE'
      (the answer to a SET_SCANOUT of scanout 2), 'shown', then for SECONDS
      answers each config change as --modes does, showing a frame of the
      new mode on the scanout whose mode changed; writes 'mode INFO events
      E' for each.
  fake_vmm.py --vm GPU_SOCK INPUT_SOCK OUT_FILE SECONDS WxH [CUE]
      a VM of a GPU device of 2 scanouts (--vm-scanouts 2) and an input
      device: shows a WxH grey B8G8R8X8 frame on scanout 0 and the 32x24
      frame of --scanouts on scanout 1 (once the file CUE exists, if one
      is given), writes 'shown' (and 'scanout1' when it shows scanout 1);
      for SECONDS flushes both again every 0.2 s (scanout 1 never again
      with FAKE_VMM_STILL=1 in the environment) and collects the input
      device's events as the first form does, ending with 'done'.

Importable: tests/vhost_user/hostile_vmm.py builds on Device (the front
end: guest RAM, mem table, queues, descriptors), hdr, gpu_request,
gpu_command and show_frame.
"""
import mmap, os, select, socket, struct, sys, time

RAM = 1 << 20
QSIZE = 16
DESC = lambda q: 0x1000 + q * 0x1000
AVAIL = lambda q: 0x3000 + q * 0x1000
USED = lambda q: 0x5000 + q * 0x1000
USER = 0x7f0000000000


class Device:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.fd = os.memfd_create('guest-ram')
        os.ftruncate(self.fd, RAM)
        self.ram = mmap.mmap(self.fd, RAM)
        self.kick = [os.eventfd(0) for _ in range(2)]
        self.call = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(2)]
        self.avail = [0, 0]
        self.used_seen = [0, 0]

    def send(self, req, payload=b'', fds=(), reply=None):
        data = struct.pack('<III', req, 1, len(payload)) + payload
        if fds:
            socket.send_fds(self.s, [data], list(fds))
        else:
            self.s.sendall(data)
        if reply is not None:
            head = self.recv(12)
            r, flags, size = struct.unpack('<III', head)
            assert r == req and size == reply, (r, req, size)
            return self.recv(size)

    def recv(self, n):
        out = b''
        while len(out) < n:
            c = self.s.recv(n - len(out))
            if not c:
                raise SystemExit('front end: the device closed its socket')
            out += c
        return out

    def ended(self, seconds=30):
        """Whether the device closes the connection within `seconds`."""
        self.s.settimeout(seconds)
        try:
            return self.s.recv(1) == b''
        except ConnectionResetError:
            return True
        except OSError:
            return False

    def start(self, protocol_mask=1 << 9, backend=None):
        """The handshake, mem table and both queues. protocol_mask: the
        protocol features taken of those offered (CONFIG alone unless
        told); backend: a socket whose peer end becomes the back end's
        channel (SET_BACKEND_REQ_FD)."""
        features = struct.unpack('<Q', self.send(1, reply=8))[0]
        protocol = struct.unpack('<Q', self.send(15, reply=8))[0] & protocol_mask
        self.send(16, struct.pack('<Q', protocol))
        if backend is not None:
            self.send(21, b'', [backend.fileno()])
        self.send(3)
        self.send(2, struct.pack('<Q', features & ((1 << 32) | (1 << 30) | 0x1f)))
        self.send(5, struct.pack('<II', 1, 0) + struct.pack('<QQQQ', 0, RAM, USER, 0), [self.fd])
        for q in range(2):
            self.send(8, struct.pack('<II', q, QSIZE))
            self.send(10, struct.pack('<II', q, 0))
            self.send(9, struct.pack('<IIQQQQ', q, 0, USER + DESC(q), USER + USED(q), USER + AVAIL(q), 0))
            self.send(12, struct.pack('<Q', q), [self.kick[q]])
            self.send(13, struct.pack('<Q', q), [self.call[q]])
            self.send(18, struct.pack('<II', q, 1))

    def desc(self, q, i, addr, length, flags, nxt=0):
        struct.pack_into('<QIHH', self.ram, DESC(q) + 16 * i, addr, length, flags, nxt)

    def offer(self, q, head, kick=True):
        struct.pack_into('<H', self.ram, AVAIL(q) + 4 + 2 * (self.avail[q] % QSIZE), head)
        self.avail[q] += 1
        struct.pack_into('<H', self.ram, AVAIL(q) + 2, self.avail[q] & 0xffff)
        if kick:
            os.eventfd_write(self.kick[q], 1)

    def used(self, q):
        """The used elements not read yet: (id, len) each."""
        idx = struct.unpack_from('<H', self.ram, USED(q) + 2)[0]
        out = []
        while self.used_seen[q] != idx:
            out.append(struct.unpack_from('<II', self.ram, USED(q) + 4 + 8 * (self.used_seen[q] % QSIZE)))
            self.used_seen[q] = (self.used_seen[q] + 1) & 0xffff
        return out


def hdr(t, ctx=0, flags=0, fence=0):
    """A control command's header: type, flags, fence id, context."""
    return struct.pack('<IIQIB3x', t, flags, fence, ctx, 0)


def wait_used(dev, q, what):
    """The used elements the device returns next on queue q, waited for."""
    deadline = time.time() + 30
    while True:
        used = dev.used(q)
        if used:
            return used
        if time.time() > deadline:
            raise SystemExit('front end: no answer to %s' % what)
        time.sleep(0.01)


def gpu_request(dev, cmd, resp_len=64):
    """One control command: its bytes at 0x10000, a response buffer of
    resp_len bytes (zeroed) at 0x20000. Returns the response's type, the
    bytes the device says it wrote and the response buffer."""
    dev.ram[0x10000:0x10000 + len(cmd)] = cmd
    dev.ram[0x20000:0x20000 + resp_len] = bytes(resp_len)
    dev.desc(0, 0, 0x10000, len(cmd), 1, 1)
    dev.desc(0, 1, 0x20000, resp_len, 2)
    dev.offer(0, 0)
    used = wait_used(dev, 0, 'command 0x%x' % struct.unpack_from('<I', cmd)[0])
    resp = bytes(dev.ram[0x20000:0x20000 + resp_len])
    return struct.unpack_from('<I', resp)[0], used[-1][1], resp


def gpu_command(dev, cmd, resp_len=64, want=0x1100):
    """gpu_request, which must be answered with `want`: the response."""
    resp_type, _, resp = gpu_request(dev, cmd, resp_len)
    if resp_type != want:
        raise SystemExit('front end: command 0x%x answered 0x%x' % (struct.unpack_from('<I', cmd)[0], resp_type))
    return resp


def show_frame(path, gpu=None, w=64, h=48, pixel=b'\x80\x80\x80\x80', fmt=2, res=1, scanout=0, at=0x40000):
    """A 64x48 frame (or w x h) of one pixel's bytes, in virtio-gpu format
    fmt (2: B8G8R8X8), on scanout 0 (or `scanout`) of a new device on path
    (or of gpu): resource res, its backing at 0x40000 (or `at`), scanned
    out, transferred, flushed."""
    if gpu is None:
        gpu = Device(path)
        gpu.start()
    gpu.ram[at:at + w * h * 4] = pixel * (w * h)
    gpu_command(gpu, hdr(0x101) + struct.pack('<IIII', res, fmt, w, h))                  # RESOURCE_CREATE_2D
    gpu_command(gpu, hdr(0x106) + struct.pack('<II', res, 1) + struct.pack('<QII', at, w * h * 4, 0))
    gpu_command(gpu, hdr(0x103) + struct.pack('<IIIIII', 0, 0, w, h, scanout, res))      # SET_SCANOUT
    gpu_command(gpu, hdr(0x105) + struct.pack('<IIIIQII', 0, 0, w, h, 0, res, 0))        # TRANSFER_TO_HOST_2D
    gpu_command(gpu, hdr(0x104) + struct.pack('<IIIIII', 0, 0, w, h, res, 0))            # RESOURCE_FLUSH
    return gpu


def config_changes(ours, gpu, seconds, say):
    """Until `seconds` pass, each config change the back end announces on
    `ours` (CONFIG_CHANGE_MSG): the config's events_read, read with
    GET_CONFIG. Any other back-end request is said and skipped."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not select.select([ours], [], [], 0.2)[0]:
            continue
        req, _, size = struct.unpack('<III', ours.recv(12))
        if size:
            ours.recv(size)
        if req != 2:                                                  # CONFIG_CHANGE_MSG
            say('backend request %d' % req)
            continue
        config = gpu.send(24, struct.pack('<III', 0, 16, 0) + bytes(16), reply=12 + 16)   # GET_CONFIG
        yield struct.unpack_from('<I', config, 12)[0]


def follow_modes(gpu_path, out_path, seconds):
    """--modes: a guest driver's answer to each config change (see the
    module's doc)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    gpu = Device(gpu_path)
    gpu.start(protocol_mask=(1 << 9) | (1 << 5), backend=theirs)   # CONFIG, BACKEND_REQ
    theirs.close()
    show_frame(None, gpu)
    out = open(out_path, 'w')

    def say(line):
        out.write(line + '\n')
        out.flush()
    say('shown')
    res = 2
    for events in config_changes(ours, gpu, seconds, say):
        info = gpu_command(gpu, hdr(0x100), 24 + 16 * 24, want=0x1101)          # GET_DISPLAY_INFO
        w, h = struct.unpack_from('<II', info, 24 + 8)
        edid = gpu_command(gpu, hdr(0x10a) + struct.pack('<II', 0, 0), 32 + 1024, want=0x1104)[32:]
        dtd = edid[54:72]                                             # the preferred timing
        ew, eh = dtd[2] | (dtd[4] >> 4) << 8, dtd[5] | (dtd[7] >> 4) << 8
        gpu.send(25, struct.pack('<III', 4, 4, 0) + struct.pack('<I', events))   # SET_CONFIG: events_clear
        if w * h * 4 <= 0x40000:
            show_frame(None, gpu, w, h, res=res)
            res += 1
        say('mode %dx%d events %d edid %dx%d' % (w, h, events, ew, eh))
    say('done')
    out.close()


def show_cursor(gpu, hot_x=5, hot_y=7, scanout=0):
    """A 64x64 B8G8R8A8 cursor (resource 2, its backing at 0x80000; every
    pixel B=0x10 G=0x20 R=0x30 A=0xff) set with UPDATE_CURSOR on the cursor
    queue on scanout 0 (or `scanout`), its hotspot at hot_x, hot_y."""
    w = h = 64
    gpu.ram[0x80000:0x80000 + w * h * 4] = bytes([0x10, 0x20, 0x30, 0xff]) * (w * h)
    gpu_command(gpu, hdr(0x101) + struct.pack('<IIII', 2, 1, w, h))                      # RESOURCE_CREATE_2D
    gpu_command(gpu, hdr(0x106) + struct.pack('<II', 2, 1) + struct.pack('<QII', 0x80000, w * h * 4, 0))
    gpu_command(gpu, hdr(0x105) + struct.pack('<IIIIQII', 0, 0, w, h, 0, 2, 0))          # TRANSFER_TO_HOST_2D
    cmd = hdr(0x300) + struct.pack('<IIIIIIII', scanout, 10, 10, 0, 2, hot_x, hot_y, 0)  # UPDATE_CURSOR
    gpu.ram[0x30000:0x30000 + len(cmd)] = cmd
    gpu.desc(1, 0, 0x30000, len(cmd), 0)
    gpu.offer(1, 0)
    wait_used(gpu, 1, 'UPDATE_CURSOR')


def display_info(gpu):
    """GET_DISPLAY_INFO's first 3 scanouts, as 'WxH:ENABLED' each."""
    info = gpu_command(gpu, hdr(0x100), 24 + 16 * 24, want=0x1101)
    modes = [struct.unpack_from('<IIIIII', info, 24 + 24 * k) for k in range(3)]
    return [(m[2], m[3]) for m in modes], ' '.join('%dx%d:%d' % (m[2], m[3], m[4]) for m in modes)


def two_scanouts(gpu_path, out_path, seconds):
    """--scanouts: see the module's doc."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    gpu = Device(gpu_path)
    gpu.start(protocol_mask=(1 << 9) | (1 << 5), backend=theirs)   # CONFIG, BACKEND_REQ
    theirs.close()
    out = open(out_path, 'w')

    def say(line):
        out.write(line + '\n')
        out.flush()
    config = gpu.send(24, struct.pack('<III', 0, 16, 0) + bytes(16), reply=12 + 16)   # GET_CONFIG
    say('num_scanouts %d' % struct.unpack_from('<I', config, 12 + 8)[0])
    modes, line = display_info(gpu)
    say('info ' + line)
    edid = gpu_command(gpu, hdr(0x10a) + struct.pack('<II', 1, 0), 32 + 1024, want=0x1104)[32:]
    dtd = edid[54:72]
    say('edid1 %dx%d' % (dtd[2] | (dtd[4] >> 4) << 8, dtd[5] | (dtd[7] >> 4) << 8))
    show_frame(None, gpu)
    show_frame(None, gpu, 32, 24, bytes([20, 200, 40, 255]), 2, res=3, scanout=1, at=0x60000)
    show_cursor(gpu, scanout=1)
    resp_type = gpu_request(gpu, hdr(0x103) + struct.pack('<IIIIII', 0, 0, 64, 48, 2, 1))[0]   # SET_SCANOUT 2
    say('scanout2 0x%x' % resp_type)
    say('shown')
    res = 10
    for events in config_changes(ours, gpu, seconds, say):
        new, line = display_info(gpu)
        gpu.send(25, struct.pack('<III', 4, 4, 0) + struct.pack('<I', events))   # SET_CONFIG: events_clear
        for k in (0, 1):
            w, h = new[k]
            if new[k] != modes[k] and w * h * 4 <= 0x20000:
                show_frame(None, gpu, w, h, bytes([20, 200, 40, 255]), 2, res=res, scanout=k, at=0x60000)
                res += 1
        modes = new
        say('mode %s events %d' % (line, events))
    say('done')
    out.close()


def input_device(path):
    """A virtio-input device on path, its eventq full of 8-byte buffers."""
    inp = Device(path)
    inp.start()
    for i in range(QSIZE):
        inp.desc(0, i, 0x10000 + 16 * i, 8, 2)
        inp.offer(0, i, kick=i == QSIZE - 1)
    return inp


def input_events(inp, out):
    """The input device's events since the last call, written to out as
    'TYPE CODE VALUE' lines; their buffers go back to the eventq."""
    if select.select([inp.call[0]], [], [], 0.2)[0]:
        os.eventfd_read(inp.call[0])
    for head, length in inp.used(0):
        t, c, v = struct.unpack_from('<HHI', inp.ram, 0x10000 + 16 * head)
        out.write('%d %d %d\n' % (t, c, v))
        inp.desc(0, head, 0x10000 + 16 * head, 8, 2)
        inp.offer(0, head)
    out.flush()


def flush(gpu, res, w, h):
    """Resource res (w x h, on a scanout) transferred and flushed again."""
    gpu_command(gpu, hdr(0x105) + struct.pack('<IIIIQII', 0, 0, w, h, 0, res, 0))        # TRANSFER_TO_HOST_2D
    gpu_command(gpu, hdr(0x104) + struct.pack('<IIIIII', 0, 0, w, h, res, 0))            # RESOURCE_FLUSH


def two_scanouts_vm(gpu_path, input_path, out_path, seconds, size, cue):
    """--vm: see the module's doc."""
    inp = input_device(input_path)
    w, h = size
    gpu = show_frame(gpu_path, None, w, h)
    out = open(out_path, 'w')
    out.write('shown\n')
    out.flush()
    shown1 = False
    still1 = os.environ.get('FAKE_VMM_STILL') == '1'
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not shown1 and (cue is None or os.path.exists(cue)):
            show_frame(None, gpu, 32, 24, bytes([20, 200, 40, 255]), 2, res=3, scanout=1, at=0x60000)
            out.write('scanout1\n')
            shown1 = True
        flush(gpu, 1, w, h)
        if shown1 and not still1:
            flush(gpu, 3, 32, 24)
        input_events(inp, out)
    out.write('done\n')
    out.close()


def main():
    if sys.argv[1] == '--vm':
        size = [int(v) for v in sys.argv[6].split('x')]
        return two_scanouts_vm(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), size,
                               sys.argv[7] if len(sys.argv) > 7 else None)
    if sys.argv[1] == '--modes':
        return follow_modes(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    if sys.argv[1] == '--scanouts':
        return two_scanouts(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    gpu_path, input_path, out_path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    inp = input_device(input_path)
    size = [int(v) for v in sys.argv[5].split('x')] if len(sys.argv) > 5 else None
    gpu = None
    if gpu_path != '-':
        gpu = (show_frame(gpu_path, None, size[0], size[1], bytes([200, 40, 20, 255]), 67) if size
               else show_frame(gpu_path))
        show_cursor(gpu)
    out = open(out_path, 'w')
    out.write('shown\n' if gpu else 'no gpu\n')
    out.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        input_events(inp, out)
    out.write('done\n')
    out.close()


if __name__ == '__main__':
    main()

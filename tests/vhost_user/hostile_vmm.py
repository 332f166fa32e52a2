#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fake VMM front ends of the virtio-gpu device for
tests/test_vhost_user_hostile.sh, built on fake_vmm.py's Device (guest
RAM in a memfd, mem table, queues, descriptors).

  hostile_vmm.py honest SOCK OUT_FILE GO_FILE
      a VM that behaves: 'pid P' in OUT_FILE, GET_DISPLAY_INFO and a 64x48
      frame flushed, 'before ...'; once GO_FILE exists, the display info
      and a flush again, 'after ...'; then 'done', and it closes its
      device. GO_FILE '-': the first round alone.
  hostile_vmm.py hostile SOCK OUT_FILE SERVER_LOG REGION_MIB
      a VM that sends hostile requests, one at a time, each after the
      device answered the one before: bad commands on the control queue
      (each must get its VIRTIO_GPU_RESP_ERR_*), a looping chain, an
      available index running ahead, and a malformed vhost-user message,
      which ends its device. REGION_MIB: the host-visible region's size
      (--vm-hostmem). OUT_FILE: 'device N' first; per request a line of
      tab-separated fields: 'case', its name, the response type wanted
      and got ('none': no response written), the bytes the used entry
      says were written (with no response: the used entries returned),
      the text the device's line must hold ('-': no
      line), that of a context's own line ('-': none), then the count and
      text (joined by ' || ', '-': none) of the warn/error lines that
      SERVER_LOG got meanwhile naming this device ('virtio-gpu N:',
      'vhost-user device N:'), and of the other warn/error lines;
      'map_info M' of the valid map; 'socket closed' (or 'open') once
      the device was to end; a 'backend' line per request on the back
      end's channel; 'done' last.
  hostile_vmm.py reentry SOCK OUT_FILE
      a front end that does not answer a SHMEM_MAP at once: while the
      device waits for the reply, it offers more chains and sends
      SET_VRING_KICK and SET_VRING_ENABLE; then it answers, and later
      sends SET_BACKEND_REQ_FD while a map waits, which ends its device.
      OUT_FILE: 'pid P', then a line 'check', name, 'ok' or 'bad',
      what was seen (tab-separated) per check; 'done' last.
  hostile_vmm.py zero_kick SOCK OUT_FILE
      SET_VRING_KICK with /dev/zero, a file that never empties, as the
      kick fd: its device must end at once. OUT_FILE as reentry's.
  hostile_vmm.py scanout SOCK OUT_FILE
      a host blob of 1 MiB on the scanout at 512x512, more than the
      device's 64x48 mode (refused), then at 64x48 and flushed.
      OUT_FILE as reentry's.
  hostile_vmm.py log_flood SOCK OUT_FILE
      contexts made and destroyed in a loop: 200 of the default capset
      (700), then 40 Venus ones (800..839), each ended by a blob it never
      made. OUT_FILE as reentry's.
  hostile_vmm.py budget SOCK OUT_FILE
      1x1 resources, each given 262144 backing entries (4 MiB of list):
      the device's 64 MiB of resources take 15; the 16th is refused until
      one is detached. OUT_FILE as reentry's.
  hostile_vmm.py fence_flood SOCK OUT_FILE
      a Venus context whose queue, bound to ring 1, waits for a timeline
      semaphore nobody signals; fenced requests on that ring offered again
      and again on one chain, never given back, until 1024 wait (the most
      a context keeps: a ring's most entries), then one more, which must
      be answered at once, and GET_DISPLAY_INFO after it; then the
      semaphore is signalled and each waiting request must be answered
      once. OUT_FILE as reentry's.
  hostile_vmm.py device_flood SOCK OUT_FILE
      a Venus context makes 8 VkDevices, past the server's 4 (run with
      --limit devices=4): its SUBMIT_3D is answered, as are its next
      (a queue of the 4th device; one destroyed, one made again, its
      queue). A context sending a second vkCreateInstance is ended; one
      making its instance again after destroying it is served, and so is
      the first context after. OUT_FILE as reentry's.
  hostile_vmm.py stalled_context SOCK OUT_FILE LOG_FILE
      two Venus contexts; the worker of the first is stopped (SIGSTOP)
      and the context sent 44 KiB submissions until the device refuses
      one: it must be ended within 30 s, the second context and
      GET_DISPLAY_INFO served after. LOG_FILE: the server's (at debug
      level: the contexts' workers). OUT_FILE as reentry's.
  hostile_vmm.py pending_with_map SOCK OUT_FILE LOG_FILE
      a whole GET_CONFIG and the kick of a MAP_BLOB pending together when
      the device wakes (its worker, found in LOG_FILE, is stopped while
      both are sent): GET_CONFIG is answered inside the map's wait, and
      GET_DISPLAY_INFO after it at once. OUT_FILE as reentry's.
  hostile_vmm.py half_header SOCK OUT_FILE COUNT
      COUNT connections, each made by a child process that exits at once
      after sending 5 bytes, the first nothing at all (the parent keeps
      the socket): the uid's share
      is taken, the rest refused; a VM of another uid (root only) is
      served meanwhile, and the device ends each half header in time.
      OUT_FILE as reentry's.
  hostile_vmm.py churn SOCK OUT_FILE COUNT
      COUNT connections opened and closed at once, then an honest VM.
      OUT_FILE as reentry's.
  hostile_vmm.py size_flood SOCK OUT_FILE
      a scanout whose size changes at every flush, 200 times, then once
      more a second later. OUT_FILE as reentry's.
  hostile_vmm.py memory_share SOCK OUT_FILE LOG_FILE
      two VMs of one uid on a server run with --limit
      memory-per-peer-mib=64 allocate 40 MiB each: the second is refused
      while the first holds its share. OUT_FILE as reentry's.
  hostile_vmm.py echo SOCK OUT_FILE
      a front end that adds memory regions one at a time and hands each
      map back as one, after its answer, as QEMU 11.1 does: the first
      map is answered to the guest only once its echo came (200 ms
      later); 256 plain regions more fill the device's 256 and pass them
      (left out, the device serving on); then 200 maps, each echoed, are
      all answered at once (echoes take no region); an unmapped blob's
      echo is taken out. OUT_FILE as reentry's.
"""
import os, signal, socket, struct, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_vmm import Device, RAM, QSIZE, USED, hdr, wait_used, gpu_request, gpu_command, show_frame  # noqa: E402

# Protocol features: REPLY_ACK, BACKEND_REQ, CONFIG, BACKEND_SEND_FD, SHMEM.
PROTOCOL = (1 << 3) | (1 << 5) | (1 << 9) | (1 << 10) | (1 << 22)
OK, OK_DISPLAY_INFO, OK_MAP_INFO = 0x1100, 0x1101, 0x1106
ERR_UNSPEC, ERR_OOM, ERR_SCANOUT, ERR_RESOURCE, ERR_CONTEXT, ERR_PARAMETER = range(0x1200, 0x1206)
VENUS = 4
MAPPABLE = 1
HOST3D = 2
W, H = 64, 48


def ctx_create(ctx, context_init, name):
    """CTX_CREATE of context ctx: context_init's low byte is the capset."""
    return hdr(0x200, ctx) + struct.pack('<II', len(name), context_init) + name.encode().ljust(64, b'\0')


def display_info(dev):
    """GET_DISPLAY_INFO: scanout 0's mode, which must be enabled."""
    resp = gpu_command(dev, hdr(0x100), 408, OK_DISPLAY_INFO)
    x, y, w, h, enabled = struct.unpack_from('<IIIII', resp, 24)
    if not enabled:
        raise SystemExit('front end: scanout 0 is not enabled')
    return '%dx%d' % (w, h)


def flush(dev):
    gpu_command(dev, hdr(0x105) + struct.pack('<IIIIQII', 0, 0, W, H, 0, 1, 0))          # TRANSFER_TO_HOST_2D
    gpu_command(dev, hdr(0x104) + struct.pack('<IIIIII', 0, 0, W, H, 1, 0))              # RESOURCE_FLUSH


def honest(path, out_path, go):
    out = open(out_path, 'w')
    out.write('pid %d\n' % os.getpid())
    dev = show_frame(path)
    out.write('before: display %s, a frame flushed\n' % display_info(dev))
    out.flush()
    if go != '-':
        deadline = time.time() + 60
        while not os.path.exists(go):
            if time.time() > deadline:
                raise SystemExit('front end: no go after 60 s')
            time.sleep(0.05)
        size = display_info(dev)
        dev.ram[0x40000:0x40000 + W * H * 4] = bytes([0x40]) * (W * H * 4)
        flush(dev)
        out.write('after: display %s, a frame flushed\n' % size)
    out.write('done\n')
    out.close()
    dev.s.close()


class Backend(threading.Thread):
    """The front end's end of the back end's channel: every SHMEM_MAP and
    SHMEM_UNMAP is recorded and acknowledged (REPLY_ACK, status 0)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.requests = []

    def run(self):
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.ours, 12 + 40, 4, socket.MSG_WAITALL)
            except OSError:
                return
            if len(data) < 12:
                return
            req, flags, size = struct.unpack_from('<III', data)
            shmid, fd_offset, shm_offset, length, map_flags = struct.unpack_from('<B7xQQQQ', data, 12)
            for fd in fds:
                os.close(fd)
            self.requests.append('backend\t%s shmid %d fd_offset %d shm_offset 0x%x len %d flags %d fds %d' % (
                {9: 'SHMEM_MAP', 10: 'SHMEM_UNMAP'}.get(req, 'request %d' % req), shmid, fd_offset, shm_offset,
                length, map_flags, len(fds)))
            if flags & 0x8:
                self.ours.sendall(struct.pack('<IIIQ', req, 0x1 | 0x4, 8, 0))


class Hostile:
    def __init__(self, path, out_path, log_path, region_mib):
        self.region = int(region_mib) << 20
        self.backend = Backend()
        self.backend.start()
        self.dev = Device(path)
        self.dev.start(PROTOCOL, self.backend.theirs)
        self.backend.theirs.close()
        self.out = open(out_path, 'w')
        self.log = open(log_path, 'rb')
        self.pending = ''
        self.marks = 0
        self.id = int(self.wait_for(': a virtio-gpu device of VMM pid %d,' % os.getpid())
                      .split('vhost-user device ')[1].split(':')[0])
        self.out.write('device %d\n' % self.id)
        self.pending = ''  # what came before is not ours to count

    def wait_for(self, needle):
        """Reads the server's log until a line holds needle: that line."""
        deadline = time.time() + 30
        while True:
            self.pending += self.log.read().decode(errors='replace')
            for line in self.pending.split('\n')[:-1]:
                if needle in line:
                    return line
            if time.time() > deadline:
                raise SystemExit('front end: no line in the server log holds %r' % needle)
            time.sleep(0.02)

    def barrier(self):
        """The device's worker logs through a pipe that the server relays:
        a line may reach the log after the answer reaches us. A context of
        the default capset made and destroyed under a new name is a marker:
        once its line is in the log, every line logged before it is."""
        self.marks += 1
        name = 'mark-%d' % self.marks
        gpu_command(self.dev, ctx_create(900, 0, name))
        gpu_command(self.dev, hdr(0x201, 900))
        self.wait_for('virtio-gpu %d: context 900 ("%s") destroyed' % (self.id, name))

    def new_lines(self):
        """The warn/error lines logged since the last call: ours (naming
        this device) and the others."""
        ours, others = [], []
        self.pending += self.log.read().decode(errors='replace')
        lines = self.pending.split('\n')
        self.pending = lines.pop()
        for line in lines:
            if not line.startswith(('venus-server: warn: ', 'venus-server: error: ')):
                continue
            if 'virtio-gpu %d: ' % self.id in line or 'vhost-user device %d: ' % self.id in line:
                ours.append(line)
            else:
                others.append(line)
        return ours, others

    def record(self, name, want, got, written, expect, expect_other='-', barrier=True):
        """One request's outcome and the lines logged since the last one's
        (after a barrier: all of them, unless the queue no longer answers)."""
        if barrier:
            self.barrier()
        ours, others = self.new_lines()
        hexa = lambda t: 'none' if t is None else '0x%x' % t
        self.out.write('\t'.join(['case', name, hexa(want), hexa(got), str(written), expect, expect_other,
                                  str(len(ours)), ' || '.join(ours) or '-', str(len(others)),
                                  ' || '.join(others) or '-']) + '\n')
        self.out.flush()

    def command(self, name, cmd, want, expect, expect_other='-', resp_len=64):
        """A control command; its response type and line are recorded."""
        got, written, resp = gpu_request(self.dev, cmd, resp_len)
        self.record(name, want, got, written, expect, expect_other)
        return resp

    def ok(self, name, cmd, want=OK, resp_len=64):
        """A command that must succeed and log nothing."""
        return self.command(name, cmd, want, '-', resp_len=resp_len)

    def run(self):
        """The requests. The device logs its first 32 refusals of commands
        and chains in full: these are 32."""
        dev = self.dev
        create_2d = lambda res, fmt, w, h: hdr(0x101) + struct.pack('<IIII', res, fmt, w, h)
        attach = lambda res, n, entries: hdr(0x106) + struct.pack('<II', res, n) + b''.join(
            struct.pack('<QII', a, l, 0) for a, l in entries)
        transfer = lambda res, x, y, w, h, off: hdr(0x105) + struct.pack('<IIIIQII', x, y, w, h, off, res, 0)
        scanout = lambda sid, res, x, y, w, h: hdr(0x103) + struct.pack('<IIIIII', x, y, w, h, sid, res)
        submit = lambda ctx: hdr(0x207, ctx) + struct.pack('<II', 8, 0) + bytes(8)
        blob = lambda ctx, res, mem, blob_id, size: hdr(0x10c, ctx) + struct.pack(
            '<IIIIQQ', res, mem, MAPPABLE, 0, blob_id, size)
        map_blob = lambda res, offset: hdr(0x208) + struct.pack('<IIQ', res, 0, offset)

        # RESOURCE_CREATE_2D: a bad format, a zero or huge size, beyond the
        # device's bytes for host copies, the invalid id 0.
        self.command('CREATE_2D bad format', create_2d(5, 99, W, H), ERR_PARAMETER,
                     'RESOURCE_CREATE_2D of format 99, 64x48')
        self.command('CREATE_2D zero width', create_2d(5, 2, 0, H), ERR_PARAMETER,
                     'RESOURCE_CREATE_2D of format 2, 0x48')
        self.command('CREATE_2D huge', create_2d(5, 2, 20000, 20000), ERR_PARAMETER,
                     'RESOURCE_CREATE_2D of format 2, 20000x20000')
        self.command('CREATE_2D beyond the bytes limit', create_2d(5, 2, 16384, 16384), ERR_OOM,
                     'RESOURCE_CREATE_2D of 1073741824 bytes')
        self.command('CREATE_2D resource 0', create_2d(0, 2, W, H), ERR_RESOURCE,
                     'RESOURCE_CREATE_2D of resource 0, an invalid id')

        # A frame of our own (resource 1, backing at 0x40000), and
        # resource 2 without backing.
        show_frame(None, dev)
        self.record('a frame shown (create, attach, scanout, transfer, flush)', OK, OK, 24, '-')
        self.ok('CREATE_2D resource 2', create_2d(2, 2, 16, 16))

        # RESOURCE_ATTACH_BACKING: entries outside guest RAM, wrapping,
        # more than the command holds, an unknown resource.
        self.command('ATTACH_BACKING past the end of guest RAM', attach(2, 1, [(RAM - 0x800, 0x1000)]),
                     ERR_PARAMETER, 'RESOURCE_ATTACH_BACKING to resource 2: entry 0 of 4096 bytes at guest '
                     '0x%x is outside guest RAM' % (RAM - 0x800))
        self.command('ATTACH_BACKING wrapping', attach(2, 2, [(0x40000, 0x1000), (2**64 - 0x1000, 0x2000)]),
                     ERR_PARAMETER, 'RESOURCE_ATTACH_BACKING to resource 2: entry 1 of 8192 bytes at guest '
                     '0xfffffffffffff000 is outside guest RAM')
        self.command('ATTACH_BACKING of more entries than sent', attach(2, 1000, [(0x40000, 0x1000)]),
                     ERR_PARAMETER, 'RESOURCE_ATTACH_BACKING of 1000 entries')
        self.command('ATTACH_BACKING to an unknown resource', attach(99, 1, [(0x40000, 0x1000)]), ERR_RESOURCE,
                     'RESOURCE_ATTACH_BACKING of resource 99, which does not exist')

        # TRANSFER_TO_HOST_2D: a rectangle outside the resource, rows
        # beyond the backing, a resource without backing.
        self.command('TRANSFER_TO_HOST_2D outside the resource', transfer(1, 60, 0, 8, 8, 0), ERR_PARAMETER,
                     'TRANSFER_TO_HOST_2D of 8x8 at 60,0 to resource 1 of 64x48')
        self.command('TRANSFER_TO_HOST_2D past the backing', transfer(1, 0, 0, W, H, 4096), ERR_PARAMETER,
                     'TRANSFER_TO_HOST_2D of 12288 bytes at offset 4096 of resource 1')
        self.command('TRANSFER_TO_HOST_2D without backing', transfer(2, 0, 0, 16, 16, 0), ERR_PARAMETER,
                     'TRANSFER_TO_HOST_2D of 16x16 at 0,0 to resource 2 of 16x16 without backing')

        # SET_SCANOUT: a missing resource, a rectangle outside, a scanout
        # the device does not have.
        self.command('SET_SCANOUT of a missing resource', scanout(0, 77, 0, 0, W, H), ERR_RESOURCE,
                     'SET_SCANOUT of resource 77, which does not exist')
        self.command('SET_SCANOUT outside the resource', scanout(0, 1, 0, 0, W + 1, H), ERR_PARAMETER,
                     'SET_SCANOUT of 65x48 at 0,0 of resource 1 of 64x48')
        self.command('SET_SCANOUT of scanout 3', scanout(3, 1, 0, 0, W, H), ERR_SCANOUT,
                     'SET_SCANOUT of scanout 3 (the device has 1)')

        # RESOURCE_FLUSH and RESOURCE_UNREF of unknown ids.
        self.command('RESOURCE_FLUSH of an unknown resource', hdr(0x104) + struct.pack('<IIIIII', 0, 0, W, H, 78, 0),
                     ERR_RESOURCE, 'RESOURCE_FLUSH of resource 78, which does not exist')
        self.command('RESOURCE_UNREF of an unknown resource', hdr(0x102) + struct.pack('<II', 79, 0), ERR_RESOURCE,
                     'RESOURCE_UNREF of resource 79, which does not exist')

        # Commands shorter than a header, than their type, of no type.
        self.command('a command shorter than its header', hdr(0x100)[:16], ERR_UNSPEC,
                     'a control command of 16 bytes (a header is 24)')
        self.command('a command shorter than its type', hdr(0x101), ERR_PARAMETER,
                     'RESOURCE_CREATE_2D of 24 bytes (40 expected)')
        self.command('a command of an unknown type', hdr(0x999) + bytes(16), ERR_UNSPEC,
                     'control command 0x999 is not served')

        # Contexts: a capset the device does not have, an unknown context.
        self.command('CTX_CREATE of capset 7', ctx_create(1, 7, 'bad'), ERR_PARAMETER,
                     'CTX_CREATE: context 1 with context_init 0x7')
        self.command('SUBMIT_3D to an unknown context', submit(42), ERR_CONTEXT,
                     'SUBMIT_3D: SUBMIT_3D in context 42, which does not exist')

        # RESOURCE_CREATE_BLOB: an unknown blob_mem, an unknown context; a
        # blob_id the context never made and a size beyond its limits each
        # end their context (with its own line): it refuses what follows.
        self.ok('CTX_CREATE of Venus context 2', ctx_create(2, VENUS, 'hostile'))
        self.command('CREATE_BLOB of blob_mem 9', blob(2, 10, 9, 0, 4096), ERR_PARAMETER,
                     'RESOURCE_CREATE_BLOB: resource 10: a blob of blob_mem 9')
        self.command('CREATE_BLOB in an unknown context', blob(43, 10, HOST3D, 0, 4096), ERR_CONTEXT,
                     'RESOURCE_CREATE_BLOB: RESOURCE_CREATE_BLOB in context 43, which does not exist')
        self.ok('CTX_CREATE of Venus context 3', ctx_create(3, VENUS, 'victim-3'))
        self.command('CREATE_BLOB of a blob_id never made', blob(3, 10, HOST3D, 12345, 4096), ERR_PARAMETER,
                     'RESOURCE_CREATE_BLOB: resource 10: context 3 ("victim-3") refused blob 12345 of 4096 bytes '
                     'and ended', 'ctx 3: dropping client')
        self.command('SUBMIT_3D to the context that ended', submit(3), ERR_UNSPEC,
                     'SUBMIT_3D: SUBMIT_3D in context 3 ("victim-3"), which ended')
        self.ok('CTX_CREATE of Venus context 4', ctx_create(4, VENUS, 'victim-4'))
        self.command('CREATE_BLOB beyond the size limit', blob(4, 11, HOST3D, 0, 1 << 33), ERR_PARAMETER,
                     'RESOURCE_CREATE_BLOB: resource 11: context 4 ("victim-4") refused blob 0 of 8589934592 bytes '
                     'and ended', 'ctx 4: dropping client: shared-memory blob of 8589934592 bytes is out of range')

        # RESOURCE_MAP_BLOB: blob 20 mapped at 0 (SHMEM_MAP on the back
        # end's channel), then blob 21 outside the region, unaligned, over
        # blob 20's mapping; a resource that is no host blob.
        self.ok('CREATE_BLOB of shared memory (resource 20)', blob(2, 20, HOST3D, 0, 4096))
        self.ok('CREATE_BLOB of shared memory (resource 21)', blob(2, 21, HOST3D, 0, 8192))
        resp = self.ok('MAP_BLOB of resource 20 at 0', map_blob(20, 0), OK_MAP_INFO)
        self.out.write('map_info\t%d\n' % struct.unpack_from('<I', resp, 24)[0])
        region = self.region
        self.command('MAP_BLOB outside the host-visible region', map_blob(21, region), ERR_PARAMETER,
                     'RESOURCE_MAP_BLOB: resource 21: 8192 bytes at offset 0x%x of the host-visible region' % region)
        self.command('MAP_BLOB at an unaligned offset', map_blob(21, 0x1800), ERR_PARAMETER,
                     'RESOURCE_MAP_BLOB: resource 21: 8192 bytes at offset 0x1800')
        self.command('MAP_BLOB over another mapping', map_blob(21, 0), ERR_PARAMETER,
                     "RESOURCE_MAP_BLOB: resource 21: 8192 bytes at offset 0x0 overlap another blob's mapping")
        self.command('MAP_BLOB of a resource that is no host blob', map_blob(1, 0x10000), ERR_RESOURCE,
                     'RESOURCE_MAP_BLOB: resource 1 is not a host blob')
        self.ok('UNMAP_BLOB of resource 20', hdr(0x209) + struct.pack('<II', 20, 0))

        # A chain that loops: refused, returned with nothing written.
        dev.ram[0x10000:0x10000 + 24] = hdr(0x100)
        dev.ram[0x20000:0x20000 + 64] = bytes(64)
        dev.desc(0, 0, 0x10000, 24, 1, 1)
        dev.desc(0, 1, 0x10000, 24, 1, 0)
        dev.offer(0, 0)
        written = wait_used(dev, 0, 'the looping chain')[-1][1]
        got = struct.unpack_from('<I', dev.ram, 0x20000)[0]
        self.record('a chain that loops', None, got or None, written,
                    'queue 0: chain 0 refused: the chain loops (more than %d descriptors)' % QSIZE)

        # The available index 100 entries ahead: the control queue stops.
        # A reply to a request sent after the kick means the kick was
        # served: the device serves kicks before its socket. No barrier
        # from here on (the queue answers nothing): the line is waited for,
        # and a line logged late lands in the next request's count.
        before = struct.unpack_from('<H', dev.ram, USED(0) + 2)[0]
        dev.avail[0] += 100 - 1
        dev.offer(0, 0)
        dev.send(17, reply=8)  # GET_QUEUE_NUM
        after = struct.unpack_from('<H', dev.ram, USED(0) + 2)[0]
        stops = 'queue 0 stops: the available index moved 100 entries ahead of a ring of %d' % QSIZE
        self.wait_for(stops)
        self.record('an available index 100 entries ahead', None, None, after - before, stops, barrier=False)
        # The stopped queue answers nothing more.
        dev.ram[0x10000:0x10000 + 24] = hdr(0x100)
        dev.desc(0, 0, 0x10000, 24, 1, 1)
        dev.desc(0, 1, 0x20000, 408, 2)
        dev.offer(0, 0)
        num = struct.unpack('<Q', dev.send(17, reply=8))[0]
        after = struct.unpack_from('<H', dev.ram, USED(0) + 2)[0]
        self.record('GET_DISPLAY_INFO on the stopped queue (%d queues)' % num, None, None, after - before, '-',
                    barrier=False)

        # A ring of 3 entries (not a power of two): the device ends. Its
        # worker's last line ('ended after') is the barrier.
        dev.send(8, struct.pack('<II', 0, 3))  # SET_VRING_NUM
        ended = dev.ended()
        self.out.write('socket %s\n' % ('closed' if ended else 'open'))
        if ended:
            self.wait_for('vhost-user device %d: ended after ' % self.id)
        self.record('SET_VRING_NUM of 3 entries', None, None, 0, 'vhost-user device %d: refused SET_VRING_NUM: a ring '
                    'of 3 entries (a power of two up to 1024); the connection ends' % self.id, barrier=False)
        for line in self.backend.requests:
            self.out.write(line + '\n')
        self.out.write('done\n')
        self.out.close()


class Checks:
    """'check' lines of OUT_FILE: a name, ok or bad, what was seen."""

    def __init__(self, out_path):
        self.out = open(out_path, 'w')
        self.out.write('pid %d\n' % os.getpid())
        self.out.flush()

    def check(self, name, ok, seen):
        self.out.write('check\t%s\t%s\t%s\n' % (name, 'ok' if ok else 'bad', seen))
        self.out.flush()

    def done(self):
        self.out.write('done\n')
        self.out.close()


def chain(dev, head, cmd_addr, cmd, resp_addr, resp_len):
    """A control command at cmd_addr, its response buffer (zeroed) at
    resp_addr: descriptors head and head + 1."""
    dev.ram[cmd_addr:cmd_addr + len(cmd)] = cmd
    dev.ram[resp_addr:resp_addr + resp_len] = bytes(resp_len)
    dev.desc(0, head, cmd_addr, len(cmd), 1, head + 1)
    dev.desc(0, head + 1, resp_addr, resp_len, 2)


def used_entries(dev, count):
    """The next `count` used elements of the control queue (or fewer,
    when the device gives no more within 30 s)."""
    got = []
    deadline = time.time() + 30
    while len(got) < count and time.time() < deadline:
        got += dev.used(0)
        time.sleep(0.01)
    return got


def used_entries_until(dev, head):
    """The used elements of the control queue returned until one of chain
    `head` is (or, when none is within 30 s, those returned meanwhile)."""
    got = []
    deadline = time.time() + 30
    while not any(h == head for h, _ in got) and time.time() < deadline:
        got += dev.used(0)
        time.sleep(0.01)
    return got


def reentry(path, out_path):
    checks = Checks(out_path)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dev = Device(path)
    dev.start(PROTOCOL, theirs)
    theirs.close()
    gpu_command(dev, ctx_create(2, VENUS, 'reentry'))
    blob = lambda res: hdr(0x10c, 2) + struct.pack('<IIIIQQ', res, HOST3D, MAPPABLE, 0, 0, 4096)
    map_blob = lambda res, offset: hdr(0x208) + struct.pack('<IIQ', res, 0, offset)
    gpu_command(dev, blob(20))
    gpu_command(dev, blob(21))

    def backend_request():
        ours.settimeout(30)
        data, fds, _, _ = socket.recv_fds(ours, 12 + 40, 4, socket.MSG_WAITALL)
        for fd in fds:
            os.close(fd)
        return struct.unpack_from('<I', data)[0] if len(data) >= 12 else None

    # Chain 0: MAP_BLOB of blob 20; the device asks to map it and waits.
    chain(dev, 0, 0x10000, map_blob(20, 0), 0x20000, 64)
    dev.offer(0, 0)
    checks.check('MAP_BLOB asks the front end to map the blob', backend_request() == 9, 'a SHMEM_MAP')
    # Meanwhile: chain 2 (GET_DISPLAY_INFO) and chain 4 (MAP_BLOB of the
    # same blob again) are offered, and the ring is kicked through the
    # socket, twice. GET_QUEUE_NUM's reply says all of it was served.
    chain(dev, 2, 0x11000, hdr(0x100), 0x30000, 408)
    dev.offer(0, 2, kick=False)
    chain(dev, 4, 0x12000, map_blob(20, 0x1000), 0x31000, 64)
    dev.offer(0, 4, kick=False)
    dev.send(12, struct.pack('<Q', 0), [dev.kick[0]])      # SET_VRING_KICK
    dev.send(18, struct.pack('<II', 0, 1))                  # SET_VRING_ENABLE
    dev.send(17, reply=8)                                   # GET_QUEUE_NUM
    early = dev.used(0)
    checks.check('no chain is answered while the map waits', early == [], 'used %s' % early)
    ours.setblocking(False)
    try:
        nested = ours.recv(64)
    except BlockingIOError:
        nested = b''
    ours.setblocking(True)
    checks.check('no second map is asked while the first waits', nested == b'', '%d bytes' % len(nested))
    ours.sendall(struct.pack('<IIIQ', 9, 0x1 | 0x4, 8, 0))  # the map's reply: done
    used = used_entries(dev, 3)
    resp = lambda addr: struct.unpack_from('<I', dev.ram, addr)[0]
    want = [(0, 32), (2, 408), (4, 24)]
    checks.check('each chain answered once, in order, with its own response size', used == want,
                 'used %s, want %s' % (used, want))
    checks.check('the map answered in its own buffer (OK_MAP_INFO)', resp(0x20000) == OK_MAP_INFO,
                 '0x%x' % resp(0x20000))
    checks.check('the display info in its own buffer (OK_DISPLAY_INFO)', resp(0x30000) == OK_DISPLAY_INFO,
                 '0x%x' % resp(0x30000))
    checks.check('the second map of the mapped blob refused after the first (ERR_INVALID_PARAMETER)',
                 resp(0x31000) == ERR_PARAMETER, '0x%x' % resp(0x31000))
    dev.send(17, reply=8)  # GET_QUEUE_NUM: the kicks recorded meanwhile were served
    more = dev.used(0)
    checks.check('no entry is returned twice', more == [], 'then used %s' % more)

    # A new backend channel while a map waits on the old one: refused, the
    # device ends.
    chain(dev, 0, 0x10000, map_blob(21, 0x2000), 0x20000, 64)
    dev.offer(0, 0)
    checks.check('MAP_BLOB of blob 21 asks to map it', backend_request() == 9, 'a SHMEM_MAP')
    other, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dev.send(21, b'', [other.fileno()])
    ended = dev.ended()
    checks.check('SET_BACKEND_REQ_FD while a map waits ends the device', ended, 'closed' if ended else 'open')
    checks.done()


def zero_kick(path, out_path):
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    zero = os.open('/dev/zero', os.O_RDONLY)
    dev.send(12, struct.pack('<Q', 0), [zero])  # SET_VRING_KICK
    os.close(zero)
    ended = dev.ended()
    checks.check('a /dev/zero kick fd ends its device', ended, 'closed' if ended else 'open')
    checks.done()


def scanout(path, out_path):
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    gpu_command(dev, ctx_create(2, VENUS, 'scanout'))
    gpu_command(dev, hdr(0x10c, 2) + struct.pack('<IIIIQQ', 20, HOST3D, MAPPABLE, 0, 0, 1 << 20))
    scanout_blob = lambda w, h: hdr(0x10d) + struct.pack('<IIIIIIIIII', 0, 0, w, h, 0, 20, w, h, 2, 0) + \
        struct.pack('<4I', w * 4, 0, 0, 0) + bytes(16)
    got = gpu_request(dev, scanout_blob(512, 512))[0]
    checks.check('SET_SCANOUT_BLOB of 512x512 refused (ERR_INVALID_PARAMETER)', got == ERR_PARAMETER, '0x%x' % got)
    got = gpu_request(dev, scanout_blob(W, H))[0]
    checks.check('SET_SCANOUT_BLOB of %dx%d accepted' % (W, H), got == OK, '0x%x' % got)
    got = gpu_request(dev, hdr(0x104) + struct.pack('<IIIIII', 0, 0, W, H, 20, 0))[0]
    checks.check('RESOURCE_FLUSH of the blob accepted', got == OK, '0x%x' % got)
    checks.done()
    dev.s.close()


def log_flood(path, out_path):
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    for _ in range(200):
        gpu_command(dev, ctx_create(700, 0, 'flood'))
        gpu_command(dev, hdr(0x201, 700))
    refused = 0
    for ctx in range(800, 840):
        gpu_command(dev, ctx_create(ctx, VENUS, 'flood'))
        blob = hdr(0x10c, ctx) + struct.pack('<IIIIQQ', 30, HOST3D, MAPPABLE, 0, 12345, 4096)
        refused += gpu_request(dev, blob)[0] == ERR_PARAMETER
        gpu_command(dev, hdr(0x201, ctx))
    checks.check('each Venus context refused the blob it never made', refused == 40, '%d of 40' % refused)
    checks.done()
    dev.s.close()


def budget(path, out_path):
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    # 512 KiB of entries (each a page at 0x40000), sent 8 times: 262144.
    entries, part = 262144, 0x80000
    dev.ram[0x80000:0x80000 + part] = struct.pack('<QII', 0x40000, 4096, 0) * (part // 16)

    def attach(res):
        cmd = hdr(0x106) + struct.pack('<II', res, entries)
        dev.ram[0x10000:0x10000 + len(cmd)] = cmd
        dev.ram[0x20000:0x20000 + 64] = bytes(64)
        dev.desc(0, 0, 0x10000, len(cmd), 1, 1)
        for i in range(1, 9):
            dev.desc(0, i, 0x80000, part, 1, i + 1)
        dev.desc(0, 9, 0x20000, 64, 2)
        dev.offer(0, 0)
        wait_used(dev, 0, 'RESOURCE_ATTACH_BACKING')
        return struct.unpack_from('<I', dev.ram, 0x20000)[0]

    answers = []
    for res in range(1, 17):
        gpu_command(dev, hdr(0x101) + struct.pack('<IIII', res, 2, 1, 1))
        answers.append(attach(res))
    checks.check('15 lists of 4 MiB taken', answers[:15] == [OK] * 15, ' '.join('0x%x' % a for a in answers[:15]))
    checks.check('the 16th refused (ERR_OUT_OF_MEMORY)', answers[15] == ERR_OOM, '0x%x' % answers[15])
    gpu_command(dev, hdr(0x107) + struct.pack('<II', 1, 0))  # RESOURCE_DETACH_BACKING
    got = attach(16)
    checks.check('the 16th taken once one list was detached', got == OK, '0x%x' % got)
    checks.done()
    dev.s.close()


class Venus:
    """A Venus command stream, encoded by hand as Mesa encodes it: u32 and
    u64 words, a u64 marker before each pointer (1: present) and a u64
    count before each array. Object ids are the guest's."""

    def __init__(self):
        self.words = b''

    def u32(self, *vs):
        self.words += b''.join(struct.pack('<I', v) for v in vs)

    def u64(self, *vs):
        self.words += b''.join(struct.pack('<Q', v) for v in vs)

    def cmd(self, t):
        self.u32(t, 0)

    def create_instance(self, instance):
        self.cmd(0)  # vkCreateInstance: apiVersion 1.3
        self.u64(1); self.u32(1); self.u64(0); self.u32(0); self.u64(1)
        self.u32(0); self.u64(0); self.u64(0); self.u32(1); self.u64(0); self.u32(1, (1 << 22) | (3 << 12))
        self.u32(0); self.u64(0); self.u32(0); self.u64(0)
        self.u64(0, 1, instance)

    def destroy_instance(self, instance):
        self.cmd(1)
        self.u64(instance, 0)

    def enumerate_physical(self, instance, physical):
        self.cmd(2)  # vkEnumeratePhysicalDevices: the first
        self.u64(instance, 1); self.u32(1); self.u64(1, physical)

    def create_device(self, physical, device):
        self.cmd(11)  # vkCreateDevice: one queue of family 0
        self.u64(physical, 1); self.u32(3); self.u64(0); self.u32(0); self.u32(1); self.u64(1)
        self.u32(2); self.u64(0); self.u32(0, 0, 1); self.u64(1); self.words += struct.pack('<f', 1.0)
        self.u32(0); self.u64(0); self.u32(0); self.u64(0, 0)
        self.u64(0, 1, device)

    def allocate_memory(self, device, memory, size, type_index=0):
        self.cmd(21)  # vkAllocateMemory
        self.u64(device, 1); self.u32(5); self.u64(0, size); self.u32(type_index)
        self.u64(0, 1, memory)

    def destroy_device(self, device):
        self.cmd(12)
        self.u64(device, 0)

    def get_queue(self, device, ring, queue):
        self.cmd(155)  # vkGetDeviceQueue2 with VkDeviceQueueTimelineInfoMESA: the queue is ring `ring`'s
        self.u64(device, 1); self.u32(1000145003); self.u64(1); self.u32(1000384005); self.u64(0)
        self.u32(ring, 0, 0, 0)
        self.u64(1, queue)


def submit_3d(dev, ctx, v):
    """SUBMIT_3D of v's commands on context ctx: the response type."""
    return gpu_request(dev, hdr(0x207, ctx) + struct.pack('<II', len(v.words), 0) + v.words)[0]


def submit_settled(dev, ctx, v):
    """SUBMIT_3D of v's commands on context ctx, then a fence on its CPU
    ring (0), which retires once the context has run what came before it
    (a context in a worker of its own runs its streams after the device
    answered them): OK when the context still runs then, ERR_UNSPEC when
    the stream ended it, else the first response's refusal."""
    got = submit_3d(dev, ctx, v)
    if got != OK:
        return got
    gpu_request(dev, struct.pack('<IIQIB3x', 0x207, 1 | 2, 1, ctx, 0) + struct.pack('<II', 0, 0))
    return submit_3d(dev, ctx, Venus())


def fenced_submit(ctx, ring, fence):
    """An empty SUBMIT_3D that only carries its fence, on ring `ring` of
    context `ctx` (VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX)."""
    return struct.pack('<IIQIB3x', 0x207, 1 | 2, fence, ctx, ring) + struct.pack('<II', 0, 0)


def fence_flood(path, out_path):
    """A Venus context whose ring 1 waits on a timeline semaphore nobody
    signals, so no fence on it retires; fenced requests on that ring
    re-offered on the same chain until the context holds the most the
    device keeps waiting (a ring's entries at most, 1024: more than any
    driver can have, each holding its chain), then one more."""
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    ctx, ring, most = 2, 1, 1024
    gpu_command(dev, ctx_create(ctx, VENUS, 'fence-flood'))
    instance, physical, device, queue, semaphore = 1, 2, 3, 4, 5
    v = Venus()
    v.create_instance(instance)
    v.enumerate_physical(instance, physical)
    v.create_device(physical, device)
    v.get_queue(device, ring, queue)
    v.cmd(40)  # vkCreateSemaphore: a timeline semaphore at 0
    v.u64(device, 1); v.u32(9); v.u64(1); v.u32(1000207002); v.u64(0); v.u32(1); v.u64(0); v.u32(0)
    v.u64(0, 1, semaphore)
    v.cmd(18)  # vkQueueSubmit: a batch that waits for the semaphore to reach 1
    v.u64(queue); v.u32(1); v.u64(1)
    v.u32(4); v.u64(1); v.u32(1000207003); v.u64(0); v.u32(1); v.u64(1, 1); v.u32(0); v.u64(0)
    v.u32(1); v.u64(1, semaphore); v.u64(1); v.u32(0x10000)
    v.u32(0); v.u64(0); v.u32(0); v.u64(0)
    v.u64(0)
    got = submit_3d(dev, ctx, v)
    checks.check('a device whose queue on ring %d waits for a semaphore (SUBMIT_3D answered OK_NODATA)' % ring,
                 got == OK, '0x%x' % got)

    # Chain 0: the fenced request, offered again and again without being
    # given back; chain 2: GET_DISPLAY_INFO, which the device answers at
    # once, after those before it in the ring: its answer says they were
    # all taken. Chain 4: the fenced request past the most; chain 8: one
    # once the ring ran.
    chain(dev, 0, 0x10000, fenced_submit(ctx, ring, 1), 0x20000, 64)
    chain(dev, 2, 0x11000, hdr(0x100), 0x30000, 408)
    chain(dev, 4, 0x12000, fenced_submit(ctx, ring, 2), 0x31000, 64)
    chain(dev, 8, 0x14000, fenced_submit(ctx, ring, 3), 0x33000, 64)
    used_idx = lambda: struct.unpack_from('<H', dev.ram, USED(0) + 2)[0]
    offered, answered = 0, []
    while offered < most:
        n = min(QSIZE - 1, most - offered)
        for _ in range(n):
            dev.offer(0, 0, kick=False)
        dev.offer(0, 2)
        offered += n
        got = used_entries_until(dev, 2)
        answered += [u for u in got if u[0] != 2]
        if (2, 408) not in got:
            break
    checks.check('%d fenced requests on ring %d taken, none answered (each waits for the ring)' % (most, ring),
                 offered == most and answered == [], '%d offered, answered %s' % (offered, answered[:8]))

    # One more, then GET_DISPLAY_INFO: the fenced one is answered at once
    # with its response, the next as ever.
    dev.ram[0x31000:0x31000 + 64] = b'\xff' * 64
    dev.offer(0, 4, kick=False)
    dev.offer(0, 2)
    got = used_entries_until(dev, 2)
    want = [(4, 24), (2, 408)]
    checks.check('the fenced request past %d answered at once, then GET_DISPLAY_INFO' % most, got == want,
                 'used %s, want %s' % (got, want))
    t, flags, fence, c, r = struct.unpack_from('<IIQIB', dev.ram, 0x31000)
    checks.check('its response: OK_NODATA with its fence (flags 0x3, fence 2, context %d, ring %d)' % (ctx, ring),
                 (t, flags, fence, c, r) == (OK, 3, 2, ctx, ring),
                 'type 0x%x flags 0x%x fence %d context %d ring %d' % (t, flags, fence, c, r))
    t = struct.unpack_from('<I', dev.ram, 0x30000)[0]
    checks.check('the display info after it (OK_DISPLAY_INFO)', t == OK_DISPLAY_INFO, '0x%x' % t)

    # The semaphore signalled: the ring runs and each waiting request is
    # answered once. Once they all are (the device has 1024 + 1 used
    # entries more: the ring of 16 holds the last ones alone, so they are
    # counted), a fenced request is taken again; its ring retires fences
    # in order, so its answer comes after every one before it.
    v = Venus()
    v.cmd(174)  # vkSignalSemaphore to 1
    v.u64(device, 1); v.u32(1000207005); v.u64(0); v.u64(semaphore, 1)
    last = lambda: struct.unpack_from('<II', dev.ram, USED(0) + 4 + 8 * ((used_idx() - 1) % QSIZE))
    before = used_idx()
    chain(dev, 6, 0x13000, hdr(0x207, ctx) + struct.pack('<II', len(v.words), 0) + v.words, 0x32000, 64)
    dev.offer(0, 6)
    deadline = time.time() + 30
    while (used_idx() - before) & 0xffff < most + 1 and time.time() < deadline:
        time.sleep(0.01)
    dev.offer(0, 8)
    deadline = time.time() + 30
    while last() != (8, 24) and time.time() < deadline:
        time.sleep(0.01)
    n = (used_idx() - before) & 0xffff
    dev.used_seen[0] = used_idx()
    checks.check('the semaphore signalled: the %d waiting requests answered once each' % most, n == most + 2,
                 '%d used entries up to the next fenced request (%d wanted: the %d, the signal, it)' % (
                     n, most + 2, most))
    t = struct.unpack_from('<I', dev.ram, 0x33000)[0]
    checks.check('a fenced request on the ring that runs again answered after them (OK_NODATA)',
                 last() == (8, 24) and t == OK, 'last used %s, type 0x%x' % (last(), t))
    checks.done()
    dev.s.close()


def device_flood(path, out_path):
    """VkDevices made in a loop on one Venus context, past the server's
    --limit devices=4: a refused create is a VkResult, so the context goes
    on; one destroyed, one made again. Then a context that sends a second
    vkCreateInstance, which ends it, and one that makes its instance again
    after destroying it."""
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    instance, physical, first, limit, tries = 1, 2, 10, 4, 8
    gpu_command(dev, ctx_create(2, VENUS, 'device-flood'))
    v = Venus()
    v.create_instance(instance)
    v.enumerate_physical(instance, physical)
    for i in range(tries):
        v.create_device(physical, first + i)
    got = submit_settled(dev, 2, v)
    checks.check('%d vkCreateDevice in one SUBMIT_3D, %d past the limit (answered OK_NODATA)' % (tries, tries - limit),
                 got == OK, '0x%x' % got)
    # A queue of the last device made and of the one made after a destroy:
    # naming a device the context does not hold would end it.
    v = Venus()
    v.get_queue(first + limit - 1, 1, 30)
    v.destroy_device(first)
    v.create_device(physical, 20)
    v.get_queue(20, 2, 31)
    got = submit_settled(dev, 2, v)
    checks.check('device %d made after device %d was destroyed, its queue bound (OK_NODATA)' % (20, first),
                 got == OK, '0x%x' % got)

    gpu_command(dev, ctx_create(3, VENUS, 'second-instance'))
    v = Venus()
    v.create_instance(instance)
    v.create_instance(instance + 1)
    got = submit_settled(dev, 3, v)
    checks.check('a second vkCreateInstance ends its context (ERR_INVALID_PARAMETER at once, or ERR_UNSPEC once run)',
                 got in (ERR_PARAMETER, ERR_UNSPEC), '0x%x' % got)
    gpu_command(dev, ctx_create(4, VENUS, 'instance-again'))
    v = Venus()
    v.create_instance(instance)
    v.destroy_instance(instance)
    v.create_instance(5)
    v.enumerate_physical(5, physical)
    v.create_device(physical, first)
    got = submit_settled(dev, 4, v)
    checks.check('an instance made again after its destroy, and a device of it (OK_NODATA)', got == OK, '0x%x' % got)
    v = Venus()
    v.get_queue(first + 1, 3, 32)
    got = submit_settled(dev, 2, v)
    checks.check('the flooding context served after (OK_NODATA)', got == OK, '0x%x' % got)
    checks.done()
    dev.s.close()


def context_worker(log_path, name, timeout=30):
    """The worker process of the Venus context named `name`, as the
    server's log says (at debug level)."""
    pattern = 'context "%s" served by worker process ' % name
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log_path, errors='replace') as f:
            for line in f:
                if pattern in line:
                    return int(line.rsplit(' ', 1)[1])
        time.sleep(0.05)
    return None


def stalled_context(path, out_path, log_path):
    """A Venus context whose worker stops reading (SIGSTOP, as a worker its
    guest owns could): the device's sends to it fill the socket between
    them, and within the send timeout the context alone is ended with one
    line; the VM's other context and its display info are served after."""
    checks = Checks(out_path)
    dev = Device(path)
    dev.start()
    for ctx, name in ((2, 'stalled'), (3, 'beside')):
        gpu_command(dev, ctx_create(ctx, VENUS, name))
        v = Venus()
        v.create_instance(1)
        got = submit_settled(dev, ctx, v)
        checks.check('context %d ("%s") runs (OK_NODATA)' % (ctx, name), got == OK, '0x%x' % got)
    pid = context_worker(log_path, 'stalled')
    checks.check('the stalled context\'s worker is known', pid is not None, str(pid))
    if pid is None:
        checks.done()
        return
    os.kill(pid, signal.SIGSTOP)
    try:
        # 44 KiB of commands a submission, until the device refuses one
        # (the context ended): far more than a socket holds.
        filler = Venus()
        for _ in range(1000):
            filler.enumerate_physical(1, 2)
        start, answers, got = time.time(), 0, OK
        while got == OK and answers < 400:
            got = submit_3d(dev, 2, filler)
            answers += 1
        took = time.time() - start
        checks.check('the stalled context is refused once ended (ERR_INVALID_PARAMETER), within 30 s',
                     got == ERR_PARAMETER and took < 30, '0x%x after %d submissions, %.1f s' % (got, answers, took))
        v = Venus()
        v.enumerate_physical(1, 2)
        got = submit_settled(dev, 3, v)
        checks.check('the context beside it is served after (OK_NODATA)', got == OK, '0x%x' % got)
        size = display_info(dev)
        checks.check('GET_DISPLAY_INFO answered after (%s)' % size, bool(size), size)
    finally:
        # The server may have reaped the worker already, even between
        # these two signals.
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    checks.done()
    dev.s.close()


def worker_of(log_path, pid, timeout=30):
    """The worker process serving the virtio-gpu device of VMM `pid`, as
    the server's log says."""
    pattern = 'a virtio-gpu device of VMM pid %d,' % pid
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log_path, errors='replace') as f:
            for line in f:
                if pattern in line and 'served by worker process ' in line:
                    return int(line.rsplit(' ', 1)[1])
        time.sleep(0.05)
    return None


def pending_with_map(path, out_path, log_path):
    checks = Checks(out_path)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dev = Device(path)
    dev.start(PROTOCOL, theirs)
    theirs.close()
    gpu_command(dev, ctx_create(2, VENUS, 'pending'))
    gpu_command(dev, hdr(0x10c, 2) + struct.pack('<IIIIQQ', 20, HOST3D, MAPPABLE, 0, 0, 4096))
    worker = worker_of(log_path, os.getpid())
    checks.check('the device\'s worker is named in the log', worker is not None, str(worker))
    if worker is None:
        checks.done()
        return
    # With the worker stopped, a whole GET_CONFIG and the kick of a
    # MAP_BLOB are both pending when it wakes.
    os.kill(worker, signal.SIGSTOP)
    chain(dev, 0, 0x10000, hdr(0x208) + struct.pack('<IIQ', 20, 0, 0), 0x20000, 64)
    dev.offer(0, 0)
    dev.s.sendall(struct.pack('<IIIIII', 24, 1, 12 + 16, 0, 16, 0) + bytes(16))  # GET_CONFIG, 16 bytes
    os.kill(worker, signal.SIGCONT)
    ours.settimeout(30)
    data, fds, _, _ = socket.recv_fds(ours, 12 + 40, 4, socket.MSG_WAITALL)
    for fd in fds:
        os.close(fd)
    checks.check('the map is asked of the front end', len(data) >= 12 and struct.unpack_from('<I', data)[0] == 9,
                 '%d bytes' % len(data))
    # GET_CONFIG is answered while the map waits; then the map's reply.
    dev.s.settimeout(10)
    try:
        request, _, size = struct.unpack('<III', dev.recv(12))
        dev.recv(size)
        config = request == 24 and size == 12 + 16
    except (OSError, SystemExit):
        config = False
    checks.check('GET_CONFIG answered while the map waits', config, 'answered' if config else 'no reply')
    ours.sendall(struct.pack('<IIIQ', 9, 0x1 | 0x4, 8, 0))
    used = used_entries(dev, 1)
    checks.check('the map answered', used == [(0, 32)], 'used %s' % used)
    start = time.time()
    chain(dev, 2, 0x11000, hdr(0x100), 0x30000, 408)
    dev.offer(0, 2)
    used = used_entries(dev, 1)
    took = time.time() - start
    checks.check('GET_DISPLAY_INFO after it answered within 2 s', used == [(2, 408)] and took < 2,
                 'used %s after %.1f s' % (used, took))
    checks.done()
    dev.s.close()


def half_header(path, out_path, count):
    checks = Checks(out_path)
    socks = []
    for i in range(int(count)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        child = os.fork()
        if child == 0:
            s.connect(path)
            if i:
                s.send(struct.pack('<III', 1, 1, 0)[:5])
            os._exit(0)
        os.waitpid(child, 0)
        socks.append(s)
    started = time.time()
    # Refused connections are closed at once; the uid's share is held.
    time.sleep(2)
    closed = []
    for s in socks:
        s.setblocking(False)
        try:
            closed.append(s.recv(1) == b'')
        except BlockingIOError:
            closed.append(False)
        except ConnectionResetError:
            closed.append(True)
    checks.check('held %d, refused %d' % (closed.count(False), closed.count(True)), True, str(closed))
    out = checks.out
    out.write('held\t%d\n' % closed.count(False))
    out.flush()
    if os.geteuid() == 0:
        # A VM of another uid is served while the share is held.
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(r)
            try:
                # The socket's directory, reached without searching its
                # parents (which may be root's alone).
                where = os.open(os.path.dirname(os.path.abspath(path)), os.O_PATH)
                os.setgid(65534)
                os.setuid(65534)
                dev = show_frame('/proc/self/fd/%d/%s' % (where, os.path.basename(path)))
                os.write(w, display_info(dev).encode())
            except BaseException:
                pass
            os._exit(0)
        os.close(w)
        got = b''
        while True:
            chunk = os.read(r, 64)
            if not chunk:
                break
            got += chunk
        os.waitpid(child, 0)
        checks.check('a VM of uid 65534 is served while uid %d holds its share' % os.geteuid(),
                     got == b'%dx%d' % (W, H), got.decode() or 'not served')
    # Each held connection is ended within the first message's deadline.
    ended = []
    for s, was_closed in zip(socks, closed):
        if was_closed:
            continue
        s.settimeout(max(1, 20 - (time.time() - started)))
        try:
            ended.append(s.recv(1) == b'')
        except ConnectionResetError:
            ended.append(True)
        except OSError:
            ended.append(False)
    checks.check('every held half header ended within 20 s', all(ended), str(ended))
    for s in socks:
        s.close()
    checks.done()


def churn(path, out_path, count):
    checks = Checks(out_path)
    for _ in range(int(count)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.close()
    dev = show_frame(path)
    size = display_info(dev)
    checks.check('a VM after the churn is served', size == '%dx%d' % (W, H), size)
    dev.s.close()
    checks.done()


def size_flood(path, out_path):
    checks = Checks(out_path)
    dev = show_frame(path)
    start = time.time()
    for i in range(200):
        w, h = (W, H) if i % 2 else (W // 2, H // 2)
        gpu_command(dev, hdr(0x103) + struct.pack('<IIIIII', 0, 0, w, h, 0, 1))      # SET_SCANOUT
        gpu_command(dev, hdr(0x104) + struct.pack('<IIIIII', 0, 0, w, h, 1, 0))      # RESOURCE_FLUSH
    # Past the rate's second: the next size's line counts those held back.
    time.sleep(1.2)
    gpu_command(dev, hdr(0x103) + struct.pack('<IIIIII', 0, 0, W // 4, H // 4, 0, 1))
    gpu_command(dev, hdr(0x104) + struct.pack('<IIIIII', 0, 0, W // 4, H // 4, 1, 0))
    checks.out.write('seconds\t%d\n' % (int(time.time() - start) + 1))
    checks.check('201 size changes flushed', True, '')
    dev.s.close()
    checks.done()


def memory_share(path, out_path, log_path):
    """Two VMs of one uid under --limit memory-per-peer-mib=64: A holds
    40 MiB; B's 40 MiB are refused (one line) while A holds its share, and
    granted once A's device has ended."""
    checks = Checks(out_path)
    mark = os.path.getsize(log_path)

    def refusals():
        with open(log_path, errors='replace') as f:
            f.seek(mark)
            return [l for l in f if 'limit memory-per-peer-mib=64' in l]

    def vm(memory):
        dev = Device(path)
        dev.start()
        gpu_command(dev, ctx_create(2, VENUS, 'memory'))
        v = Venus()
        v.create_instance(1)
        v.enumerate_physical(1, 2)
        v.create_device(2, 3)
        v.allocate_memory(3, memory, 40 << 20)
        got = submit_settled(dev, 2, v)
        return dev, got

    a, got = vm(50)
    checks.check('VM A: 40 MiB allocated (OK_NODATA, no refusal line)', got == OK and not refusals(),
                 '0x%x, %d lines' % (got, len(refusals())))
    worker_a = worker_of(log_path, os.getpid())
    b, got = vm(51)
    # The worker's line reaches the log through the server's relay.
    deadline = time.time() + 10
    while not refusals() and time.time() < deadline:
        time.sleep(0.05)
    lines = refusals()
    checks.check('VM B of the same uid: 40 MiB more refused with one line', len(lines) == 1,
                 ''.join(lines).strip() or 'no line')
    checks.out.write('refusal\t%s\n' % (lines[0].strip() if lines else '-'))
    a.s.close()
    deadline = time.time() + 30
    while worker_a and time.time() < deadline:
        try:
            os.kill(worker_a, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    v = Venus()
    v.allocate_memory(3, 52, 40 << 20)
    got = submit_3d(b, 2, v)
    checks.check('VM B: 40 MiB granted once VM A ended (no new line)', got == OK and len(refusals()) == 1,
                 '0x%x, %d lines' % (got, len(refusals())))
    b.s.close()
    checks.done()


def echo(path, out_path):
    checks = Checks(out_path)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dev = Device(path)
    dev.start(PROTOCOL | (1 << 15), theirs)  # and CONFIGURE_MEM_SLOTS
    theirs.close()
    ours.settimeout(30)
    gpu_command(dev, ctx_create(2, VENUS, 'echo'))
    bar = 0xe0000000
    region = lambda addr, size, offset: struct.pack('<QQQQQ', 0, addr, size, 0x7e0000000000 + addr, offset)

    def map_request():
        """The device's next back-end request, answered: (request, fd)."""
        data, fds, _, _ = socket.recv_fds(ours, 12 + 40, 4, socket.MSG_WAITALL)
        req = struct.unpack_from('<I', data)[0]
        ours.sendall(struct.pack('<IIIQ', req, 0x1 | 0x4, 8, 0))
        return req, (fds[0] if fds else -1)

    def mapped(res, offset, echo_after):
        gpu_command(dev, hdr(0x10c, 2) + struct.pack('<IIIIQQ', res, HOST3D, MAPPABLE, 0, 0, 4096))
        chain(dev, 0, 0x10000, hdr(0x208) + struct.pack('<IIQ', res, 0, offset), 0x20000, 64)
        dev.offer(0, 0)
        req, fd = map_request()
        early = []
        if echo_after:
            time.sleep(echo_after)
            early = dev.used(0)
        dev.send(37, region(bar + offset, 4096, 0), [fd])  # ADD_MEM_REG: the echo
        os.close(fd)
        used = early + used_entries(dev, 1 - len(early))
        return req, early, used, struct.unpack_from('<I', dev.ram, 0x20000)[0]

    req, early, used, resp = mapped(20, 0, 0.2)
    checks.check('MAP_BLOB asks the front end to map the blob', req == 9, 'request %d' % req)
    checks.check('the map is not answered before its echo', early == [], 'used %s' % early)
    checks.check('the map is answered once echoed (OK_MAP_INFO)', used == [(0, 32)] and resp == OK_MAP_INFO,
                 'used %s, 0x%x' % (used, resp))
    plain = []
    for i in range(256):  # with guest RAM, one past the device's 256
        fd = os.memfd_create('more-ram')
        os.ftruncate(fd, 4096)
        dev.send(37, region(0x100000000 + 0x1000 * i, 4096, 0), [fd])
        plain.append(fd)
    num = dev.send(17, reply=8)  # GET_QUEUE_NUM: every message before it was served
    for fd in plain:
        os.close(fd)
    gpu_command(dev, hdr(0x100), 408, OK_DISPLAY_INFO)
    checks.check('256 plain regions more, past the 256, are answered; the device serves on', len(num) == 8,
                 'GET_QUEUE_NUM answered')
    answered, start = 0, time.time()
    for i in range(200):
        _, _, used, resp = mapped(21 + i, 0x1000 * (i + 1), 0)
        answered += used == [(0, 32)] and resp == OK_MAP_INFO
    checks.check('200 maps more, each echoed, all answered with the region table full', answered == 200,
                 '%d answered in %.1f s' % (answered, time.time() - start))
    chain(dev, 0, 0x10000, hdr(0x209) + struct.pack('<II', 20, 0), 0x20000, 64)
    dev.offer(0, 0)
    req, _ = map_request()
    used = used_entries(dev, 1)
    dev.send(38, region(bar, 4096, 0))  # REM_MEM_REG of its echo
    gpu_command(dev, hdr(0x100), 408, OK_DISPLAY_INFO)
    checks.check('UNMAP_BLOB asks to unmap and is answered; its echo is taken out', req == 10 and used == [(0, 24)],
                 'request %d, used %s' % (req, used))
    checks.done()
    dev.s.close()


def unstarted(path, out_path, wait_s):
    """A uid's 12 device slots held by connections that sent SET_OWNER and
    nothing more (no queue ever runs): a newcomer of the uid is refused
    before they have waited idle-timeout-ms (`wait_s`), and served after,
    one of them ending for it."""
    checks = Checks(out_path)
    held = []
    for _ in range(12):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(struct.pack('<III', 3, 1, 0))
        held.append(s)
    connected = time.time()
    time.sleep(1)

    def newcomer():
        try:
            return display_info(show_frame(path))
        except (SystemExit, OSError) as e:
            return 'refused (%s)' % e

    early = newcomer()
    checks.check('a newcomer before the held devices waited %s s is refused' % wait_s, early.startswith('refused'),
                 early)
    time.sleep(max(0.0, connected + float(wait_s) + 0.5 - time.time()))
    late = newcomer()
    checks.check('a newcomer after they waited %s s is served' % wait_s, late == '%dx%d' % (W, H), late)
    ended = 0
    for s in held:
        s.setblocking(False)
        try:
            ended += s.recv(1) == b''
        except BlockingIOError:
            pass
        except ConnectionResetError:
            ended += 1
    checks.check('one held device ended for it', ended == 1, '%d ended' % ended)
    checks.done()
    for s in held:
        s.close()


def main():
    mode = sys.argv[1]
    if mode == 'honest':
        honest(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'hostile':
        Hostile(*sys.argv[2:6]).run()
    elif mode == 'reentry':
        reentry(sys.argv[2], sys.argv[3])
    elif mode == 'zero_kick':
        zero_kick(sys.argv[2], sys.argv[3])
    elif mode == 'scanout':
        scanout(sys.argv[2], sys.argv[3])
    elif mode == 'log_flood':
        log_flood(sys.argv[2], sys.argv[3])
    elif mode == 'budget':
        budget(sys.argv[2], sys.argv[3])
    elif mode == 'fence_flood':
        fence_flood(sys.argv[2], sys.argv[3])
    elif mode == 'device_flood':
        device_flood(sys.argv[2], sys.argv[3])
    elif mode == 'stalled_context':
        stalled_context(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'pending_with_map':
        pending_with_map(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'half_header':
        half_header(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'churn':
        churn(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'size_flood':
        size_flood(sys.argv[2], sys.argv[3])
    elif mode == 'memory_share':
        memory_share(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'unstarted':
        unstarted(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == 'echo':
        echo(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit('usage: hostile_vmm.py honest|hostile|reentry|zero_kick|scanout|log_flood|budget|fence_flood|'
                         'device_flood|stalled_context|pending_with_map|half_header|churn|size_flood|memory_share ...')


if __name__ == '__main__':
    main()

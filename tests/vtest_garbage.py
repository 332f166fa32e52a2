#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile vtest clients for venus-server (python3 standard library only).

    vtest_garbage.py --list
        one line per scenario: NAME EXPECTED_DROPS DESCRIPTION
        (EXPECTED_DROPS: how many 'dropping client:' lines the server must log
        for it: 0, 1, or 'any' when either is acceptable)
    vtest_garbage.py SOCKET NAME [--timeout S]
        run one scenario; prints what happened; exit 0 if the server behaved
        (closed the connection where it must), 1 if not, 2 on a usage error
    vtest_garbage.py SOCKET idle [--timeout S]
        handshake + CONTEXT_INIT + one shmem blob, print 'ready', then wait for
        the server to close the connection (exit 0) or time out (exit 1)

Wire format (little-endian): 8-byte header {u32 length, u32 cmd}; length in
32-bit words except for cmd 8 (CREATE_RENDERER), where it is in bytes.
"""
import os
import random
import socket
import struct
import sys
import time

VCMD_RESOURCE_UNREF = 3
VCMD_RESOURCE_BUSY_WAIT = 7
VCMD_CREATE_RENDERER = 8
VCMD_PING_PROTOCOL_VERSION = 10
VCMD_PROTOCOL_VERSION = 11
VCMD_GET_PARAM = 15
VCMD_GET_CAPSET = 16
VCMD_CONTEXT_INIT = 17
VCMD_RESOURCE_CREATE_BLOB = 18
VCMD_SYNC_CREATE = 19
VCMD_SYNC_WAIT = 23
VCMD_SUBMIT_CMD2 = 24
CAPSET_VENUS = 4

VK_CMD_CREATE_RING_MESA = 188
VK_CMD_NOTIFY_RING_MESA = 190
VK_CMD_WAIT_RING_SEQNO_MESA = 253
STYPE_RING_CREATE_INFO = 1000384000
STYPE_RING_MONITOR_INFO = 1000384006


class ProtocolError(Exception):
    pass


def u32(*vals):
    return struct.pack('<%dI' % len(vals), *vals)


def u64(*vals):
    return struct.pack('<%dQ' % len(vals), *vals)


def hdr(length, cmd):
    return u32(length, cmd)


class Client:
    def __init__(self, path, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.timeout = timeout

    def send(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ProtocolError('server closed the connection after %d of %d reply bytes'
                                    % (len(buf), n))
            buf += chunk
        return buf

    def expect(self, length, cmd):
        got = struct.unpack('<2I', self.recv_exact(8))
        if got != (length, cmd):
            raise ProtocolError('reply header %r, expected %r' % (got, (length, cmd)))
        return self.recv_exact(4 * length)

    def handshake(self, name=b'vtest-garbage', upto='context'):
        """Mesa's handshake; upto='param' stops before GET_CAPSET."""
        self.send(hdr(len(name) + 1, VCMD_CREATE_RENDERER) + name + b'\0')
        # Mesa sends the ping and a busy-wait probe back to back.
        self.send(hdr(0, VCMD_PING_PROTOCOL_VERSION) + hdr(2, VCMD_RESOURCE_BUSY_WAIT) + u32(0, 0))
        self.expect(0, VCMD_PING_PROTOCOL_VERSION)
        self.expect(1, VCMD_RESOURCE_BUSY_WAIT)
        self.send(hdr(1, VCMD_PROTOCOL_VERSION) + u32(3))
        (ver,) = struct.unpack('<I', self.expect(1, VCMD_PROTOCOL_VERSION))
        if ver < 3:
            raise ProtocolError('protocol version %d < 3' % ver)
        self.send(hdr(1, VCMD_GET_PARAM) + u32(1))
        valid, value = struct.unpack('<2I', self.expect(2, VCMD_GET_PARAM))
        if not valid or not value:
            raise ProtocolError('GET_PARAM(max timeline count) = valid %d value %d' % (valid, value))
        if upto == 'param':
            return
        self.send(hdr(2, VCMD_GET_CAPSET) + u32(CAPSET_VENUS, 0))
        body = self.expect(41, VCMD_GET_CAPSET)
        valid, wire, xml = struct.unpack('<3I', body[:12])
        if valid != 1 or wire != 1 or xml < (1 << 22 | 1 << 12):
            raise ProtocolError('capset: valid %d wire_format_version %d vk_xml_version %#x'
                                % (valid, wire, xml))
        self.send(hdr(1, VCMD_CONTEXT_INIT) + u32(CAPSET_VENUS))

    def create_shmem_blob(self, size):
        """RESOURCE_CREATE_BLOB of a plain shmem blob; returns (res_id, fd)."""
        self.send(hdr(6, VCMD_RESOURCE_CREATE_BLOB) + u32(2, 1, size & 0xffffffff, size >> 32, 0, 0))
        return self.expect_blob()

    def expect_blob(self):
        """The reply to RESOURCE_CREATE_BLOB: (res_id, fd)."""
        (res_id,) = struct.unpack('<I', self.expect(1, VCMD_RESOURCE_CREATE_BLOB))
        if res_id == 0:
            raise ProtocolError('RESOURCE_CREATE_BLOB returned res_id 0')
        msg, fds, _flags, _addr = socket.recv_fds(self.s, 1, 1)
        if not fds:
            raise ProtocolError('RESOURCE_CREATE_BLOB sent no fd')
        return res_id, fds[0]

    def wait_server_close(self, seconds):
        """True if the server closes the connection within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not data:
                return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def submit_cmd2(cmds, batch=None, extra=b''):
    """A SUBMIT_CMD2 with one batch (Mesa's 6-word batch header)."""
    assert len(cmds) % 4 == 0
    n = len(cmds) // 4
    if batch is None:
        batch = (1, 7, n, 7 + n, 0, 0)  # flags RING_IDX, cmd_offset, cmd_size, sync_offset, sync_count, ring_idx
    payload = u32(1) + u32(*batch) + cmds + extra
    return hdr(len(payload) // 4, VCMD_SUBMIT_CMD2) + payload


def create_ring_cmd(ring_id, res_id, buffer_size=131072, offset=0, size=131268):
    """vkCreateRingMESA exactly as Mesa 25.0.7 lays it out (140 bytes)."""
    cmd = u32(VK_CMD_CREATE_RING_MESA, 0) + u64(ring_id, 1)
    cmd += u32(STYPE_RING_CREATE_INFO) + u64(1) + u32(STYPE_RING_MONITOR_INFO) + u64(0)
    cmd += u32(3000000)                  # maxReportingPeriodMicroseconds
    cmd += u32(0, res_id)                # flags, resourceId
    cmd += u64(offset, size, 1000000)    # offset, size, idleTimeout
    cmd += u64(0, 64, 128, 192, buffer_size, 192 + buffer_size, 4)
    assert len(cmd) == 140, len(cmd)
    return cmd


# --- scenarios -----------------------------------------------------------------
# Each returns 'server' if it expects the server to close the connection on
# its own, or 'self' when the client closes (e.g. after a truncated message).

def random_bytes(seed, n):
    rng = random.Random(seed)
    while True:
        data = bytes(rng.getrandbits(8) for _ in range(n))
        # Make sure the first header is not accidentally a valid command.
        if struct.unpack('<I', data[4:8])[0] > 64:
            return data


def sc_random_pre(c):
    c.send(random_bytes(1, 4096))
    return 'self'


def sc_random_post(c):
    c.handshake()
    c.send(random_bytes(2, 4096))
    return 'self'


def sc_huge_create_renderer(c):
    c.send(hdr(0x7fffffff, VCMD_CREATE_RENDERER) + b'x' * 64)
    return 'server'


def sc_huge_length(c):
    c.handshake()
    c.send(hdr(0x7fffffff, VCMD_SUBMIT_CMD2) + u32(1) * 16)
    return 'server'


def sc_truncated(c):
    c.handshake()
    c.send(hdr(35, VCMD_SUBMIT_CMD2) + b'\x01' * 10)
    time.sleep(0.2)
    return 'self'


def sc_truncated_header(c):
    c.handshake()
    c.send(b'\x01\x00\x00')  # 3 bytes of a header, then EOF
    time.sleep(0.2)
    return 'self'


def sc_submit_bad_offset(c):
    c.handshake()
    cmds = u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x1122) + u32(1, 0)
    c.send(submit_cmd2(cmds, batch=(1, 1000, 6, 1006, 0, 0)))
    return 'server'


def sc_submit_bad_size(c):
    c.handshake()
    cmds = u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x1122) + u32(1, 0)
    # cmd_offset + cmd_size = 0x100000003: wraps to 3 in 32 bits.
    c.send(submit_cmd2(cmds, batch=(1, 7, 0xfffffffc, 13, 0, 0)))
    return 'server'


def sc_submit_huge_batch_count(c):
    c.handshake()
    c.send(hdr(7, VCMD_SUBMIT_CMD2) + u32(0xffffffff, 1, 7, 0, 7, 0, 0))
    return 'server'


def sc_submit_bad_syncs(c):
    c.handshake()
    cmds = u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x1122) + u32(1, 0)
    # 3 words per sync: 11 + 3 * 0x55555555 = 0x10000000a wraps to 10 (inside).
    c.send(submit_cmd2(cmds, batch=(1, 7, 6, 11, 0x55555555, 0)))
    return 'server'


def sc_capset_wrong_length(c):
    c.handshake(upto='param')
    c.send(hdr(1, VCMD_GET_CAPSET) + u32(CAPSET_VENUS))
    return 'server'


def sc_unknown_cmd(c):
    c.handshake()
    c.send(hdr(0, 999))
    return 'server'


def sc_venus_unknown_command(c):
    c.handshake()
    c.send(submit_cmd2(u32(99999, 0) + u32(0, 0)))
    return 'server'


def sc_venus_truncated_command(c):
    c.handshake()
    c.send(submit_cmd2(u32(VK_CMD_CREATE_RING_MESA, 0) + u32(0x1234)))
    return 'server'


def sc_ring_missing_resource(c):
    c.handshake()
    c.send(submit_cmd2(create_ring_cmd(0x5566778899aabbcc, 12345)))
    return 'server'


def sc_ring_bad_layout(c):
    c.handshake()
    res, fd = c.create_shmem_blob(131268)
    os.close(fd)
    # bufferSize not a power of two.
    c.send(submit_cmd2(create_ring_cmd(0x77, res, buffer_size=100000)))
    return 'server'


def sc_ring_outside_resource(c):
    c.handshake()
    res, fd = c.create_shmem_blob(4096)
    os.close(fd)
    c.send(submit_cmd2(create_ring_cmd(0x78, res)))  # a 131268-byte ring in 4 KiB
    return 'server'


def sc_truncate_blob(c):
    """ftruncate(fd, 0) on a ring's blob, then use the ring: a sealed memfd
    refuses the truncation; an unsealable one (-Dos=posix) must cost the
    server nothing but this client (a SIGBUS would take the server)."""
    c.handshake()
    res, fd = c.create_shmem_blob(131268)
    try:
        os.ftruncate(fd, 0)
    except PermissionError:
        print('truncate-blob: ftruncate refused (sealed against shrinking)')
        os.close(fd)
        return 'self'
    os.close(fd)
    c.send(submit_cmd2(create_ring_cmd(0x79, res)))
    time.sleep(0.3)
    c.send(submit_cmd2(u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x79) + u32(1, 0)))
    return 'server'


def sc_ring_wait_deferred(c):
    """A SUBMIT_CMD2 that only waits for a ring seqno the client never
    writes: the server defers such a wait (Mesa's present sends one per
    frame) to the context side's next step, which must then fail it."""
    c.handshake()
    res, fd = c.create_shmem_blob(131268)
    os.close(fd)
    c.send(submit_cmd2(create_ring_cmd(0x7a, res)))
    c.send(submit_cmd2(u32(VK_CMD_WAIT_RING_SEQNO_MESA, 0) + u64(0x7a, 64)))
    time.sleep(0.3)
    c.send(submit_cmd2(u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x7a) + u32(0, 0)))
    return 'server'


def sc_blob_huge(c):
    c.handshake()
    size = 1 << 62
    c.send(hdr(6, VCMD_RESOURCE_CREATE_BLOB) + u32(2, 1, size & 0xffffffff, size >> 32, 0, 0))
    time.sleep(0.5)
    return 'self'


def sc_sync_waits_flood(c):
    c.handshake()
    c.send(hdr(2, VCMD_SYNC_CREATE) + u32(0, 0))
    (sync,) = struct.unpack('<I', c.expect(1, VCMD_SYNC_CREATE))
    # Each waits, without end, for a value the sync never reaches: the 65th
    # is one pending SYNC_WAIT more than a client may have.
    fds = []
    try:
        for _ in range(65):
            c.send(hdr(5, VCMD_SYNC_WAIT) + u32(0, 0xffffffff, sync, 1, 0))
            c.expect(0, VCMD_SYNC_WAIT)
            # The fd follows in a message of its own, as Mesa reads it.
            _msg, got, _flags, _addr = socket.recv_fds(c.s, 1, 1)
            fds += got
    except ProtocolError:
        pass  # the server closed the connection: what the scenario wants
    finally:
        for fd in fds:
            os.close(fd)
    return 'server'


def sc_clean(c):
    c.handshake()
    res, fd = c.create_shmem_blob(65536)
    os.close(fd)
    c.send(hdr(1, VCMD_RESOURCE_UNREF) + u32(res))
    time.sleep(0.1)
    return 'self'


# name: (function, expected 'dropping client:' lines, description)
SCENARIOS = {
    'clean': (sc_clean, '0', 'valid handshake, a blob, unref, close (control: no drop)'),
    'random-pre': (sc_random_pre, '1', '4 KiB of random bytes instead of a handshake'),
    'random-post': (sc_random_post, '1', 'valid handshake, then 4 KiB of random bytes'),
    'huge-create-renderer': (sc_huge_create_renderer, '1', 'CREATE_RENDERER with a 2 GiB name length'),
    'huge-length': (sc_huge_length, '1', 'SUBMIT_CMD2 header with length 0x7fffffff words'),
    'truncated': (sc_truncated, '0', 'SUBMIT_CMD2 with 10 of 140 payload bytes, then close (a disconnect, not a drop)'),
    'truncated-header': (sc_truncated_header, '0', '3 bytes of a header, then close (a disconnect, not a drop)'),
    'submit-bad-offset': (sc_submit_bad_offset, '1', 'SUBMIT_CMD2 batch cmd_offset far past the payload'),
    'submit-bad-size': (sc_submit_bad_size, '1', 'SUBMIT_CMD2 batch cmd_size 0xfffffffc (offset+size wraps 32 bits)'),
    'submit-huge-batch-count': (sc_submit_huge_batch_count, '1', 'SUBMIT_CMD2 batch_count 0xffffffff'),
    'submit-bad-syncs': (sc_submit_bad_syncs, '1', 'SUBMIT_CMD2 sync_count 0x55555555 (3*count wraps 32 bits)'),
    'capset-wrong-length': (sc_capset_wrong_length, '1', 'GET_CAPSET with 1 payload word instead of 2 (after ping/version/param)'),
    'unknown-cmd': (sc_unknown_cmd, '1', 'unknown vtest command id 999'),
    'venus-unknown-command': (sc_venus_unknown_command, '1', 'Venus command type 99999 in SUBMIT_CMD2'),
    'venus-truncated-command': (sc_venus_truncated_command, '1', 'vkCreateRingMESA cut off after 12 bytes'),
    'ring-missing-resource': (sc_ring_missing_resource, '1', 'vkCreateRingMESA on nonexistent resource 12345'),
    'ring-bad-layout': (sc_ring_bad_layout, '1', 'vkCreateRingMESA with a non-power-of-two buffer'),
    'ring-outside-resource': (sc_ring_outside_resource, '1', 'vkCreateRingMESA larger than its 4 KiB blob'),
    'ring-wait-deferred': (sc_ring_wait_deferred, '1', 'vkWaitRingSeqnoMESA alone for an unwritten seqno, then a notify (the deferred wait fails there)'),
    'truncate-blob': (sc_truncate_blob, 'any', 'ftruncate(fd, 0) on a blob, then a ring on it (refused by seals, or the client dropped)'),
    'sync-waits-flood': (sc_sync_waits_flood, '1', '65 SYNC_WAITs that never end, one past the per-client limit'),
    'blob-huge': (sc_blob_huge, 'any', 'RESOURCE_CREATE_BLOB of 2^62 bytes (refuse or drop, never die)'),
}


def run_scenario(path, name, timeout):
    fn, _drops, desc = SCENARIOS[name]
    c = Client(path, timeout)
    try:
        try:
            who = fn(c)
        except ProtocolError as e:
            print('%s: FAILED before the hostile part: %s' % (name, e))
            return 1
        except (BrokenPipeError, ConnectionResetError):
            print('%s: server closed the connection while we were still sending (%s)' % (name, desc))
            return 0
        except socket.timeout:
            print('%s: FAILED: server did not answer within %ss during the handshake' % (name, timeout))
            return 1
        if who == 'server':
            if c.wait_server_close(timeout):
                print('%s: server closed the connection (%s)' % (name, desc))
                return 0
            print('%s: FAILED: server kept the connection open %ss after: %s' % (name, timeout, desc))
            return 1
        # The client ends it; give the server a moment to close first.
        closed = c.wait_server_close(0.5)
        print('%s: %s (%s)' % (name, 'server closed the connection' if closed else 'client closed', desc))
        return 0
    finally:
        c.close()


def run_idle(path, timeout):
    c = Client(path, timeout)
    try:
        c.handshake(b'vtest-idle')
        res, fd = c.create_shmem_blob(65536)
        os.close(fd)
        print('ready', flush=True)
        if c.wait_server_close(timeout):
            print('closed by server', flush=True)
            return 0
        print('FAILED: still connected after %ss' % timeout, flush=True)
        return 1
    except (ProtocolError, OSError) as e:
        print('FAILED: %s' % e, flush=True)
        return 1
    finally:
        c.close()


def main(argv):
    timeout = 10.0
    if '--timeout' in argv:
        i = argv.index('--timeout')
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    if argv[1:] == ['--list']:
        for name, (_fn, drops, desc) in SCENARIOS.items():
            print('%s %s %s' % (name, drops, desc))
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    path, name = argv[1], argv[2]
    if name == 'idle':
        return run_idle(path, timeout)
    if name not in SCENARIOS:
        sys.stderr.write('unknown scenario %r (see --list)\n' % name)
        return 2
    return run_scenario(path, name, timeout)


if __name__ == '__main__':
    sys.exit(main(sys.argv))

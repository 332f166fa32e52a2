#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients that try to hold more than a vtest client's budgets allow
(python3 standard library only; the client of tests/vtest_garbage.py).

    vtest_budgets.py SOCKET NAME [ARG...]
        pinned-blobs MIB COUNT   COUNT blobs of MIB MiB, each pinned by a ring
                                 and then unreferenced; prints how many were
                                 made before the server closed the connection
        stream-copies MIB RINGS  one MIB MiB command stream that waits forever
                                 at its start, executed by RINGS rings at once
        idle-ring                a ring whose idleTimeout is 2^64-1 ns: prints
                                 'idle' once the ring's status says IDLE
        unknown-unrefs COUNT     COUNT RESOURCE_UNREFs of an id never made
Exit 0 when the scenario ran to its end (the server's verdict is in its
log and in what is printed), 1 on a protocol error.
"""
import mmap
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import (Client, ProtocolError, hdr, submit_cmd2, u32, u64,  # noqa: E402
                           VCMD_RESOURCE_UNREF, VK_CMD_CREATE_RING_MESA, VK_CMD_NOTIFY_RING_MESA,
                           STYPE_RING_CREATE_INFO, STYPE_RING_MONITOR_INFO)

RING_BYTES = 131268       # Mesa 25's ring: control words, a 128 KiB buffer, extra
VK_CMD_EXECUTE_COMMAND_STREAMS_MESA = 180
VK_CMD_WAIT_VIRTQUEUE_SEQNO_MESA = 252
RING_STATUS_IDLE = 0x1


def ring_cmd(ring_id, res_id, idle_ns=1000000):
    """vkCreateRingMESA as Mesa 25.0.7 lays it out, with a chosen idleTimeout."""
    cmd = u32(VK_CMD_CREATE_RING_MESA, 0) + u64(ring_id, 1)
    cmd += u32(STYPE_RING_CREATE_INFO) + u64(1) + u32(STYPE_RING_MONITOR_INFO) + u64(0)
    cmd += u32(3000000)
    cmd += u32(0, res_id)
    cmd += u64(0, RING_BYTES, idle_ns)
    cmd += u64(0, 64, 128, 192, 131072, 192 + 131072, 4)
    return cmd


def closed(c):
    return c.wait_server_close(0.5)


def sc_pinned_blobs(c, mib, count):
    c.handshake()
    made = 0
    try:
        for i in range(count):
            res, fd = c.create_shmem_blob(mib << 20)
            os.close(fd)
            c.send(submit_cmd2(ring_cmd(0x2000 + i, res)))
            c.send(hdr(1, VCMD_RESOURCE_UNREF) + u32(res))
            made += 1
    except (ProtocolError, OSError):
        pass
    print('pinned %d of %d blobs; server closed: %s' % (made, count, closed(c)))


def sc_stream_copies(c, mib, rings):
    c.handshake()
    res, fd = c.create_shmem_blob(mib << 20)
    m = mmap.mmap(fd, mib << 20)
    m[0:16] = u32(VK_CMD_WAIT_VIRTQUEUE_SEQNO_MESA, 0) + u64(1 << 40)
    m.close()
    os.close(fd)
    try:
        for i in range(rings):
            r, f = c.create_shmem_blob(RING_BYTES)
            ring = mmap.mmap(f, RING_BYTES)
            os.close(f)
            c.send(submit_cmd2(ring_cmd(0x3000 + i, r)))
            execute = (u32(VK_CMD_EXECUTE_COMMAND_STREAMS_MESA, 0) + u32(1) + u64(1) + u32(res) +
                       u64(0, mib << 20) + u64(0) + u32(0) + u64(0) + u32(0))
            ring[192:192 + len(execute)] = execute
            ring[64:68] = u32(len(execute))  # the tail
            ring.close()
            c.send(submit_cmd2(u32(VK_CMD_NOTIFY_RING_MESA, 0) + u64(0x3000 + i) + u32(0, 0)))
            time.sleep(0.2)
    except (ProtocolError, OSError):
        pass
    print('server closed: %s' % closed(c))


def sc_idle_ring(c):
    c.handshake()
    res, fd = c.create_shmem_blob(RING_BYTES)
    ring = mmap.mmap(fd, RING_BYTES)
    os.close(fd)
    c.send(submit_cmd2(ring_cmd(0x4000, res, idle_ns=(1 << 64) - 1)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (status,) = struct.unpack('<I', ring[128:132])
        if status & RING_STATUS_IDLE:
            print('idle')
            return
        time.sleep(0.05)
    print('still polling after 20 s')


def sc_unknown_unrefs(c, count):
    c.handshake()
    res, fd = c.create_shmem_blob(4096)
    os.close(fd)
    c.send((hdr(1, VCMD_RESOURCE_UNREF) + u32(0xdead0)) * count)
    c.send(hdr(1, VCMD_RESOURCE_UNREF) + u32(res))
    time.sleep(0.5)
    print('sent %d; server closed: %s' % (count, closed(c)))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    fn = globals().get('sc_' + argv[2].replace('-', '_'))
    if not fn:
        sys.stderr.write('unknown scenario %r\n' % argv[2])
        return 2
    c = Client(argv[1], 30)
    try:
        fn(c, *[int(a, 0) for a in argv[3:]])
    except ProtocolError as e:
        print('protocol error: %s' % e)
        return 1
    finally:
        c.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

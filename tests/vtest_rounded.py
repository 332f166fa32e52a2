#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Page-rounded blobs over vtest (python3 standard library only):

    vtest_rounded.py SOCKET [MEMORY_TYPE]

A virtio-gpu guest's kernel rounds every blob up to whole pages, so a
1344-byte VkDeviceMemory arrives as a 4096-byte blob. Over vtest the same
request must work: the client creates a device and two 1344-byte host-visible
allocations (hand-encoded Venus commands, as Mesa encodes them), asks for
4096-byte blobs of them and checks that each fd maps 4096 bytes, the tail past
the allocation reads as zeros, writing all of one blob leaves the other
untouched, and after a free a new allocation's blob has a zeroed tail again
(the server reuses regions of freed allocations). Prints 'ok: ...' lines and
exits 0, or prints 'error: ...' and exits 1.
"""
import mmap
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import (Client, ProtocolError, hdr, submit_cmd2, u32,  # noqa: E402
                           VCMD_RESOURCE_CREATE_BLOB, VCMD_RESOURCE_UNREF)

ALLOC = 1344
BLOB = 4096


class Enc:
    """Venus command words, little-endian, as rs_vmm.c writes them."""

    def __init__(self):
        self.b = b''

    def u32(self, *v):
        self.b += struct.pack('<%dI' % len(v), *v)

    def u64(self, *v):
        self.b += struct.pack('<%dQ' % len(v), *v)

    def f32(self, v):
        self.b += struct.pack('<f', v)

    def cmd(self, t):
        self.u32(t, 0)


def device_cmds(e, instance, physical, device):
    e.cmd(0)  # vkCreateInstance
    e.u64(1)
    e.u32(1); e.u64(0); e.u32(0)
    e.u64(1)
    e.u32(0); e.u64(0)
    e.u64(0); e.u32(1); e.u64(0); e.u32(1); e.u32((1 << 22) | (3 << 12))
    e.u32(0); e.u64(0); e.u32(0); e.u64(0)
    e.u64(0)
    e.u64(1); e.u64(instance)
    e.cmd(2)  # vkEnumeratePhysicalDevices
    e.u64(instance); e.u64(1); e.u32(1); e.u64(1); e.u64(physical)
    e.cmd(11)  # vkCreateDevice, one queue
    e.u64(physical); e.u64(1)
    e.u32(3); e.u64(0); e.u32(0)
    e.u32(1); e.u64(1)
    e.u32(2); e.u64(0); e.u32(0); e.u32(0); e.u32(1); e.u64(1); e.f32(1.0)
    e.u32(0); e.u64(0); e.u32(0); e.u64(0); e.u64(0)
    e.u64(0); e.u64(1); e.u64(device)


def allocate_cmd(e, device, mem, size, mem_type):
    e.cmd(21)  # vkAllocateMemory
    e.u64(device); e.u64(1); e.u32(5); e.u64(0); e.u64(size); e.u32(mem_type)
    e.u64(0); e.u64(1); e.u64(mem)


def free_cmd(e, device, mem):
    e.cmd(22)  # vkFreeMemory
    e.u64(device, mem, 0)


def blob_map(c, mem, label):
    c.send(hdr(6, VCMD_RESOURCE_CREATE_BLOB) + u32(2, 1, BLOB, 0, mem & 0xffffffff, mem >> 32))
    try:
        res, fd = c.expect_blob()
    except (ProtocolError, OSError) as e:
        raise ProtocolError('%s: RESOURCE_CREATE_BLOB of %d bytes for %d bytes of memory failed: %s'
                            % (label, BLOB, ALLOC, e))
    size = os.fstat(fd).st_size
    if size < BLOB:
        raise ProtocolError('%s: the blob fd has %d bytes, fewer than the %d asked' % (label, size, BLOB))
    m = mmap.mmap(fd, BLOB)
    os.close(fd)
    return res, m


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    mem_type = int(argv[2]) if len(argv) > 2 else 0
    c = Client(argv[1], 30)
    c.handshake(b'vtest-rounded')
    e = Enc()
    instance, physical, device, a, b, a2 = 1, 2, 3, 4, 5, 6
    device_cmds(e, instance, physical, device)
    allocate_cmd(e, device, a, ALLOC, mem_type)
    allocate_cmd(e, device, b, ALLOC, mem_type)
    c.send(submit_cmd2(e.b))
    res_a, ma = blob_map(c, a, 'memory A')
    _res_b, mb = blob_map(c, b, 'memory B')
    print('ok: %d bytes of device memory as %d-byte blobs over vtest' % (ALLOC, BLOB))
    errors = 0
    if ma[ALLOC:] == bytes(BLOB - ALLOC) and mb[ALLOC:] == bytes(BLOB - ALLOC):
        print('ok: the tail past the allocation reads as zeros')
    else:
        print('error: the tail past the allocation is not zeroed')
        errors += 1
    ma[:] = b'\xa5' * BLOB
    if mb[:] == bytes(BLOB):
        print('ok: writing all of blob A (tail included) leaves blob B untouched')
    else:
        print('error: writing blob A changed blob B: the tail is another object\'s memory')
        errors += 1
    ma.close()
    c.send(hdr(1, VCMD_RESOURCE_UNREF) + u32(res_a))
    e = Enc()
    free_cmd(e, device, a)
    allocate_cmd(e, device, a2, ALLOC, mem_type)
    c.send(submit_cmd2(e.b))
    _res, ma2 = blob_map(c, a2, 'memory A again')
    if ma2[ALLOC:] == bytes(BLOB - ALLOC):
        print('ok: a new allocation after a free: its blob\'s tail is zeroed again')
    else:
        print('error: a new allocation after a free: its blob\'s tail shows the old allocation\'s bytes')
        errors += 1
    c.close()
    return 1 if errors else 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except (ProtocolError, OSError) as e:
        print('error: %s' % e)
        sys.exit(1)

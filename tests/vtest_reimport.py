#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A vtest client that imports back what it exported (python3 standard
library only):

    vtest_reimport.py SOCKET shareable
        memory A (64 KiB, exported), its blob (MAPPABLE | SHAREABLE), memory
        B imported from that blob (VkImportMemoryResourceInfoMESA naming
        the client's own resource) and B's blob: bytes written through
        either blob's mapping are read through the other. Then A is freed
        and its blob unreferenced, and memory E imported from B's blob
        still holds the bytes; B's blob unreferenced before B and E are
        freed; a shared-memory blob made last proves the client is served.
    vtest_reimport.py SOCKET unshareable
        the same import of a blob made MAPPABLE only: the server keeps no
        fd of such a blob, so the import fails (one line says why) and the
        client carries on: a shared-memory blob made after it is served.

Prints 'ok: ...' lines and exits 0, or prints 'error: ...' and exits 1.
"""
import mmap
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import Client, ProtocolError, hdr, submit_cmd2, u32, VCMD_RESOURCE_CREATE_BLOB, \
    VCMD_RESOURCE_UNREF  # noqa: E402
from vtest_rounded import Enc, device_cmds, free_cmd  # noqa: E402

SIZE = 65536
MAPPABLE, SHAREABLE = 1, 2
STYPE_EXPORT_MEMORY_ALLOCATE_INFO = 1000072002
STYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA = 1000384002
DMA_BUF_BIT = 0x200


def allocate(e, device, mem, resource=None):
    """vkAllocateMemory of SIZE bytes of type 0: exported as a dma-buf, or
    imported from `resource`."""
    e.cmd(21)
    e.u64(device); e.u64(1); e.u32(5); e.u64(1)
    if resource is None:
        e.u32(STYPE_EXPORT_MEMORY_ALLOCATE_INFO); e.u64(0); e.u32(DMA_BUF_BIT)
    else:
        e.u32(STYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA); e.u64(0); e.u32(resource)
    e.u64(SIZE); e.u32(0)
    e.u64(0); e.u64(1); e.u64(mem)


def blob(c, mem, flags, what):
    """A blob of mem's SIZE bytes: (res_id, its mapping)."""
    c.send(hdr(6, VCMD_RESOURCE_CREATE_BLOB) + u32(2, flags, SIZE, 0, mem & 0xffffffff, mem >> 32))
    try:
        res, fd = c.expect_blob()
    except (ProtocolError, OSError) as e:
        raise ProtocolError('the blob of %s was not made (the server ended the client?): %s' % (what, e))
    view = mmap.mmap(fd, SIZE)
    os.close(fd)
    return res, view


def shmem_blob(c):
    """A shared-memory blob of 4096 bytes: None once made, else why not."""
    c.send(hdr(6, VCMD_RESOURCE_CREATE_BLOB) + u32(2, MAPPABLE, 4096, 0, 0, 0))
    try:
        _res, fd = c.expect_blob()
    except (ProtocolError, OSError) as e:
        return str(e)
    os.close(fd)
    return None


def shareable(c, device):
    a, b, e_mem = 10, 11, 12
    e = Enc()
    allocate(e, device, a)
    c.send(submit_cmd2(e.b))
    res_a, view_a = blob(c, a, MAPPABLE | SHAREABLE, 'memory A')
    e = Enc()
    allocate(e, device, b, res_a)
    c.send(submit_cmd2(e.b))
    res_b, view_b = blob(c, b, MAPPABLE | SHAREABLE, 'memory B, imported from the blob of A')
    print('ok: memory B imported from the client\'s own blob of memory A (resource %d)' % res_a)
    errors = 0
    words = lambda w: struct.pack('<I', w) * (SIZE // 4)
    view_a[:] = words(0xa11a5ed1)
    seen_b = view_b[:]
    view_b[:] = words(0xb0b0b0b0)
    if seen_b == words(0xa11a5ed1) and view_a[:] == words(0xb0b0b0b0):
        print('ok: what is written through either blob is read through the other')
    else:
        print('error: the blobs of A and of B, imported from it, are not the same bytes')
        errors += 1

    # A freed and its blob gone: its pages live on in B.
    view_a.close()
    e = Enc()
    free_cmd(e, device, a)
    c.send(submit_cmd2(e.b) + hdr(1, VCMD_RESOURCE_UNREF) + u32(res_a))
    e = Enc()
    allocate(e, device, e_mem, res_b)
    c.send(submit_cmd2(e.b))
    _res_e, view_e = blob(c, e_mem, MAPPABLE | SHAREABLE, 'memory E, imported from the blob of B')
    if view_e[:] == words(0xb0b0b0b0):
        print('ok: after A was freed and its blob unreferenced, memory E imported from B\'s blob holds the bytes')
    else:
        print('error: memory E imported from B\'s blob does not hold the bytes written before A was freed')
        errors += 1

    # The other order: B's blob first, then the memories.
    view_b.close()
    view_e.close()
    e = Enc()
    free_cmd(e, device, e_mem)
    free_cmd(e, device, b)
    c.send(hdr(1, VCMD_RESOURCE_UNREF) + u32(res_b) + submit_cmd2(e.b))
    served = shmem_blob(c)
    if served is None:
        print('ok: B\'s blob unreferenced, then E and B freed: the client is still served')
    else:
        print('error: after B\'s blob and the memories went, the client is not served: %s' % served)
        errors += 1
    return errors


def unshareable(c, device):
    e = Enc()
    allocate(e, device, 10)
    c.send(submit_cmd2(e.b))
    res, view = blob(c, 10, MAPPABLE, 'memory A')
    view.close()
    e = Enc()
    allocate(e, device, 11, res)
    c.send(submit_cmd2(e.b))
    served = shmem_blob(c)
    print('%s: after a failed import of a blob made without SHAREABLE the client is %s' % (
        'ok' if served is None else 'error', 'still served' if served is None else 'not served: %s' % served))
    return 0 if served is None else 1


def main(argv):
    if len(argv) != 3 or argv[2] not in ('shareable', 'unshareable'):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    c = Client(argv[1], 30)
    c.handshake(b'vtest-reimport')
    e = Enc()
    instance, physical, device = 1, 2, 3
    device_cmds(e, instance, physical, device)
    c.send(submit_cmd2(e.b))
    errors = shareable(c, device) if argv[2] == 'shareable' else unshareable(c, device)
    c.close()
    return 1 if errors else 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except (ProtocolError, OSError) as e:
        print('error: %s' % e)
        sys.exit(1)

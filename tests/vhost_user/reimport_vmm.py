#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A VM front end whose guest imports back what it exported, for
tests/test_reimport.sh (on fake_vmm.py's Device and hostile_vmm.py's
encoders). Weston's buffers through zink on Venus go this way: a guest
process exports a dma-buf of its own memory (a shareable host blob) and
imports it on the same DRM fd, so Venus allocates memory with
VkImportMemoryResourceInfoMESA naming its own context's resource.

  reimport_vmm.py SOCK OUT_FILE
      one Venus context, a device whose queue is ring 1's. Memory A
      (64 KiB, exported), its blob (MAPPABLE | SHAREABLE | CROSS_DEVICE)
      mapped by the front end, memory B imported from that blob: a GPU
      fill of a buffer on B must be read through A's blob mapping, also
      after A is freed and after the blob is unmapped and unreferenced.
      Then memory C, its blob and its import D freed the other way round
      (D first, then the blob, then C), a fill on C read through the
      blob's mapping at each step. OUT_FILE: 'pid P', then a line
      'check', name, 'ok' or 'bad', what was seen (tab-separated) per
      check; 'done' last.
"""
import mmap, os, socket, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_vmm import Device, hdr, gpu_request, wait_used  # noqa: E402
from hostile_vmm import (PROTOCOL, OK, OK_MAP_INFO, VENUS, HOST3D, MAPPABLE, Checks, Venus,  # noqa: E402
                         chain, ctx_create, fenced_submit)

SHAREABLE, CROSS_DEVICE = 2, 4
SIZE = 65536
CTX, RING = 2, 1
INSTANCE, PHYSICAL, DEVICE, QUEUE, POOL, CMD = 1, 2, 3, 4, 5, 6
STYPE_EXPORT_MEMORY_ALLOCATE_INFO = 1000072002
STYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA = 1000384002
DMA_BUF_BIT = 0x200


class Guest:
    def __init__(self, path, out_path):
        self.checks = Checks(out_path)
        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.dev = Device(path)
        self.dev.start(PROTOCOL, theirs)
        theirs.close()
        self.fence = 0

    def submit(self, v):
        """SUBMIT_3D of a Venus stream: its response type."""
        return gpu_request(self.dev, hdr(0x207, CTX) + struct.pack('<II', len(v.words), 0) + v.words)[0]

    def backend_request(self):
        """The device's next request on the back end's channel, acknowledged
        when it asks for a reply: (type, fd_offset, length, fds)."""
        self.ours.settimeout(30)
        data, fds, _, _ = socket.recv_fds(self.ours, 12 + 40, 4, socket.MSG_WAITALL)
        req, flags, _ = struct.unpack_from('<III', data)
        _, fd_offset, _, length, _ = struct.unpack_from('<B7xQQQQ', data, 12)
        if flags & 0x8:
            self.ours.sendall(struct.pack('<IIIQ', req, 0x1 | 0x4, 8, 0))
        return req, fd_offset, length, fds

    def via_backend(self, cmd):
        """A command the device answers only after a request on the back
        end's channel: (its response type, that request)."""
        chain(self.dev, 0, 0x10000, cmd, 0x20000, 64)
        self.dev.offer(0, 0)
        request = self.backend_request()
        wait_used(self.dev, 0, 'command 0x%x' % struct.unpack_from('<I', cmd)[0])
        return struct.unpack_from('<I', self.dev.ram, 0x20000)[0], request

    def map_blob(self, res):
        """MAP_BLOB of res at the region's start: the pages the guest sees
        (the fd the device asked the front end to map), or None."""
        got, (req, fd_offset, length, fds) = self.via_backend(hdr(0x208, CTX) + struct.pack('<IIQ', res, 0, 0))
        view = mmap.mmap(fds[0], length, offset=fd_offset) if req == 9 and len(fds) == 1 else None
        for fd in fds:
            os.close(fd)
        return view if got == OK_MAP_INFO else None

    def drop_blob(self, res):
        """UNMAP_BLOB and RESOURCE_UNREF of res: whether both were answered OK."""
        unmapped, _ = self.via_backend(hdr(0x209, CTX) + struct.pack('<II', res, 0))
        return unmapped == OK and gpu_request(self.dev, hdr(0x102, CTX) + struct.pack('<II', res, 0))[0] == OK

    def fill(self, buffer, value):
        """A GPU fill of the buffer, then a fence on its ring, answered once
        the fill ran: whether both were answered OK."""
        v = Venus()
        v.cmd(90)  # vkBeginCommandBuffer
        v.u64(CMD, 1); v.u32(42); v.u64(0); v.u32(1); v.u64(0)
        v.cmd(118)  # vkCmdFillBuffer
        v.u64(CMD, buffer, 0, SIZE); v.u32(value)
        v.cmd(91)  # vkEndCommandBuffer
        v.u64(CMD)
        v.cmd(18)  # vkQueueSubmit
        v.u64(QUEUE); v.u32(1); v.u64(1)
        v.u32(4); v.u64(0); v.u32(0); v.u64(0, 0); v.u32(1); v.u64(1, CMD); v.u32(0); v.u64(0)
        v.u64(0)
        self.fence += 1
        return self.submit(v) == OK and gpu_request(self.dev, fenced_submit(CTX, RING, self.fence))[0] == OK

    def check_fill(self, name, buffer, value, view, before=True):
        """A fill of the buffer with value must be what the view reads;
        before: whether the step before it was answered OK."""
        filled = self.fill(buffer, value)
        words = set(struct.unpack_from('<%dI' % (SIZE // 4), view))
        self.checks.check(name, before and filled and words == {value},
                          'step before %s, fill %s, the mapping holds %s' % (
                              'OK' if before else 'refused', 'answered' if filled else 'refused',
                              ', '.join('0x%x' % w for w in sorted(words)[:4])))


def device_stream(v):
    """Instance, device (one queue, ring 1's), a command pool and buffer."""
    v.cmd(0)  # vkCreateInstance: apiVersion 1.3
    v.u64(1); v.u32(1); v.u64(0); v.u32(0); v.u64(1)
    v.u32(0); v.u64(0); v.u64(0); v.u32(1); v.u64(0); v.u32(1, (1 << 22) | (3 << 12))
    v.u32(0); v.u64(0); v.u32(0); v.u64(0)
    v.u64(0, 1, INSTANCE)
    v.cmd(2)  # vkEnumeratePhysicalDevices
    v.u64(INSTANCE, 1); v.u32(1); v.u64(1, PHYSICAL)
    v.cmd(11)  # vkCreateDevice: one queue of family 0
    v.u64(PHYSICAL, 1); v.u32(3); v.u64(0); v.u32(0); v.u32(1); v.u64(1)
    v.u32(2); v.u64(0); v.u32(0, 0, 1); v.u64(1); v.words += struct.pack('<f', 1.0)
    v.u32(0); v.u64(0); v.u32(0); v.u64(0, 0)
    v.u64(0, 1, DEVICE)
    v.cmd(155)  # vkGetDeviceQueue2 with VkDeviceQueueTimelineInfoMESA
    v.u64(DEVICE, 1); v.u32(1000145003); v.u64(1); v.u32(1000384005); v.u64(0); v.u32(RING, 0, 0, 0)
    v.u64(1, QUEUE)
    v.cmd(85)  # vkCreateCommandPool, its buffers resettable
    v.u64(DEVICE, 1); v.u32(39); v.u64(0); v.u32(2, 0); v.u64(0, 1, POOL)
    v.cmd(88)  # vkAllocateCommandBuffers: one primary
    v.u64(DEVICE, 1); v.u32(40); v.u64(0); v.u64(POOL); v.u32(0, 1); v.u64(1, CMD)


def allocate(v, memory, resource=None):
    """vkAllocateMemory of SIZE bytes of type 0: exported as a dma-buf, or
    imported from `resource`."""
    v.cmd(21)
    v.u64(DEVICE, 1); v.u32(5); v.u64(1)
    if resource is None:
        v.u32(STYPE_EXPORT_MEMORY_ALLOCATE_INFO); v.u64(0); v.u32(DMA_BUF_BIT)
    else:
        v.u32(STYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA); v.u64(0); v.u32(resource)
    v.u64(SIZE); v.u32(0)
    v.u64(0, 1, memory)


def buffer_on(v, buffer, memory):
    """A transfer-destination buffer of SIZE bytes bound to memory."""
    v.cmd(50)  # vkCreateBuffer
    v.u64(DEVICE, 1); v.u32(12); v.u64(0); v.u32(0); v.u64(SIZE); v.u32(0x2, 0, 0); v.u64(0)
    v.u64(0, 1, buffer)
    v.cmd(28)  # vkBindBufferMemory
    v.u64(DEVICE, buffer, memory, 0)


def free(v, buffer=None, memory=None):
    """vkDestroyBuffer of buffer, then vkFreeMemory of memory (either)."""
    if buffer:
        v.cmd(51)  # vkDestroyBuffer
        v.u64(DEVICE, buffer, 0)
    if memory:
        v.cmd(22)  # vkFreeMemory
        v.u64(DEVICE, memory, 0)


def blob(res, memory):
    """RESOURCE_CREATE_BLOB of memory's SIZE bytes, as Venus makes one for
    exported memory."""
    return hdr(0x10c, CTX) + struct.pack('<IIIIQQ', res, HOST3D, MAPPABLE | SHAREABLE | CROSS_DEVICE, 0, memory,
                                         SIZE)


def reimport(path, out_path):
    g = Guest(path, out_path)
    check = g.checks.check
    gpu_request(g.dev, ctx_create(CTX, VENUS, 'reimport'))
    v = Venus()
    device_stream(v)
    allocate(v, 10)
    got = g.submit(v)
    check('a device and memory A, exported (SUBMIT_3D answered OK_NODATA)', got == OK, '0x%x' % got)
    got = gpu_request(g.dev, blob(30, 10))[0]
    check('memory A as shareable host blob 30 (OK_NODATA)', got == OK, '0x%x' % got)
    view = g.map_blob(30)
    check('blob 30 mapped by the front end', view is not None, 'mapped' if view else 'not mapped')

    # The guest imports its own export: memory B on resource 30.
    v = Venus()
    allocate(v, 11, resource=30)
    buffer_on(v, 12, 11)
    got = g.submit(v)
    check('memory B imported from the context\'s own blob 30, a buffer on it (OK_NODATA)', got == OK, '0x%x' % got)
    if got != OK or view is None:
        g.checks.done()
        return
    g.check_fill('a GPU fill of the buffer on B is read through blob 30\'s mapping', 12, 0x5a5a0001, view)
    v = Venus()
    free(v, memory=10)
    g.check_fill('memory A freed: B still fills the blob\'s pages', 12, 0x5a5a0002, view, g.submit(v) == OK)
    g.check_fill('blob 30 unmapped and unreferenced: B still fills its pages', 12, 0x5a5a0003, view,
                 g.drop_blob(30))
    v = Venus()
    free(v, buffer=12, memory=11)
    got = g.submit(v)
    check('the buffer and memory B freed last (OK_NODATA)', got == OK, '0x%x' % got)

    # The other order: the import first, then the blob, then the memory.
    v = Venus()
    allocate(v, 20)
    buffer_on(v, 23, 20)
    got = g.submit(v)
    got_blob = gpu_request(g.dev, blob(31, 20))[0]
    view = g.map_blob(31)
    v = Venus()
    allocate(v, 21, resource=31)
    buffer_on(v, 22, 21)
    got_import = g.submit(v)
    check('memory C exported as blob 31, mapped; memory D imported from it (OK_NODATA each)',
          (got, got_blob, got_import) == (OK, OK, OK) and view is not None,
          '0x%x 0x%x 0x%x, %s' % (got, got_blob, got_import, 'mapped' if view else 'not mapped'))
    if view is None:
        g.checks.done()
        return
    g.check_fill('a GPU fill of the buffer on D is read through blob 31\'s mapping', 22, 0x6b6b0001, view)
    v = Venus()
    free(v, buffer=22, memory=21)
    g.check_fill('memory D freed first: a fill of C is read through the blob\'s mapping', 23, 0x6b6b0002, view,
                 g.submit(v) == OK)
    g.check_fill('blob 31 unmapped and unreferenced: C still fills its pages', 23, 0x6b6b0003, view,
                 g.drop_blob(31))
    v = Venus()
    free(v, buffer=23, memory=20)
    got = g.submit(v)
    check('the buffer and memory C freed last (OK_NODATA)', got == OK, '0x%x' % got)
    g.checks.done()
    g.dev.s.close()


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit('usage: reimport_vmm.py SOCK OUT_FILE')
    reimport(sys.argv[1], sys.argv[2])

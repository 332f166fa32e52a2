/* SPDX-License-Identifier: MIT */
/* Where a ring lives in its shared memory, as the guest describes it in
 * vkCreateRingMESA, and the check that makes it safe to use. */
#ifndef VS_RING_LAYOUT_H
#define VS_RING_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

struct vs_ring_layout {
   uint64_t offset, size;
   uint64_t head_offset, tail_offset, status_offset;
   uint64_t buffer_offset, buffer_size;
   uint64_t extra_offset, extra_size;
   uint64_t idle_timeout_ns;
};

/* NULL if the layout is usable in a resource of `resource_size` bytes,
 * else why not: every region inside the ring and the ring inside the
 * resource, 4-byte aligned, no overlaps, a power-of-two buffer. */
const char *vs_ring_layout_check(const struct vs_ring_layout *l, size_t resource_size);

#endif

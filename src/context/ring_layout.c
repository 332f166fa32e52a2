/* SPDX-License-Identifier: MIT */
#include "context/ring_layout.h"

#include <stdbool.h>

/* Largest ring buffer accepted (Mesa uses 128 KiB and 16 KiB). */
#define RING_BUFFER_MAX (16u << 20)

static bool
region_ok(const struct vs_ring_layout *l, uint64_t off, uint64_t size)
{
   return off % 4 == 0 && off <= l->size && size <= l->size - off;
}

static bool
regions_disjoint(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
   return a + as <= b || b + bs <= a;
}

const char *
vs_ring_layout_check(const struct vs_ring_layout *l, size_t resource_size)
{
   if (l->offset > resource_size || l->size > resource_size - l->offset)
      return "ring does not fit its resource";
   /* The regions' own offsets are checked below; the ring's must be
    * aligned too, or head, tail and status are misaligned atomics. */
   if (l->offset % 4 != 0)
      return "ring offset misaligned";
   if (!region_ok(l, l->head_offset, 4) || !region_ok(l, l->tail_offset, 4) ||
       !region_ok(l, l->status_offset, 4) || !region_ok(l, l->buffer_offset, l->buffer_size) ||
       !region_ok(l, l->extra_offset, l->extra_size))
      return "ring region outside the ring or misaligned";
   if (l->buffer_size == 0 || l->buffer_size > RING_BUFFER_MAX ||
       (l->buffer_size & (l->buffer_size - 1)))
      return "ring buffer size is not a power of two up to 16 MiB";
   const uint64_t off[5] = { l->head_offset, l->tail_offset, l->status_offset, l->buffer_offset,
                             l->extra_offset };
   const uint64_t sz[5] = { 4, 4, 4, l->buffer_size, l->extra_size };
   for (int i = 0; i < 5; i++) {
      for (int j = i + 1; j < 5; j++) {
         if (sz[i] && sz[j] && !regions_disjoint(off[i], sz[i], off[j], sz[j]))
            return "ring regions overlap";
      }
   }
   return NULL;
}


/* SPDX-License-Identifier: MIT */
/* wire/ring.c's layout check (vs_ring_layout_check): what a guest's
 * vkCreateRingMESA may lay out in a shared-memory resource. */
#include <string.h>

#include "unit.h"
#include "context/ring_layout.h"

/* Mesa's layout: head, tail and status on their own cache lines, then the
 * buffer, then the extra region; at offset 64 in a 1 MiB resource. */
static struct vs_ring_layout
good(void)
{
   return (struct vs_ring_layout){
      .offset = 64,
      .size = 192 + 4096 + 256,
      .head_offset = 0,
      .tail_offset = 64,
      .status_offset = 128,
      .buffer_offset = 192,
      .buffer_size = 4096,
      .extra_offset = 192 + 4096,
      .extra_size = 256,
      .idle_timeout_ns = 1000000,
   };
}

#define RES (1u << 20)

/* The layout is refused, with a reason containing `why`. */
#define REFUSED(l, res_size, why)                                                          \
   do {                                                                                    \
      struct vs_ring_layout l_ = (l);                                                      \
      const char *r_ = vs_ring_layout_check(&l_, (res_size));                              \
      CHECK_NOT_NULL(r_);                                                                  \
      CHECK_STR_CONTAINS(r_, why);                                                         \
   } while (0)

#define ACCEPTED(l, res_size)                                                              \
   do {                                                                                    \
      struct vs_ring_layout l_ = (l);                                                      \
      CHECK_STR_EQ(vs_ring_layout_check(&l_, (res_size)), NULL);                           \
   } while (0)

TEST(ring_layout_valid)
{
   ACCEPTED(good(), RES);
   struct vs_ring_layout l = good();
   /* Exactly filling the resource. */
   ACCEPTED(l, l.offset + l.size);
   l.offset = 0;
   ACCEPTED(l, l.size);
   /* Regions in any order; no extra region; the largest buffer. */
   l = (struct vs_ring_layout){ .size = 16 + (16u << 20), .buffer_offset = 0,
                                .buffer_size = 16u << 20, .head_offset = (16u << 20) + 8,
                                .tail_offset = (16u << 20) + 4, .status_offset = 16u << 20 };
   ACCEPTED(l, l.size);
   /* Adjacent regions touch without overlapping; the smallest buffer. */
   l = (struct vs_ring_layout){ .size = 16, .head_offset = 0, .tail_offset = 4,
                                .status_offset = 8, .buffer_offset = 12, .buffer_size = 4 };
   ACCEPTED(l, 16);
   l.buffer_size = 1;
   l.size = 13;
   ACCEPTED(l, 13);
   /* An empty extra region may sit anywhere aligned in the ring. */
   l = good();
   l.extra_offset = 0;
   l.extra_size = 0;
   ACCEPTED(l, RES);
}

TEST(ring_layout_outside_resource)
{
   struct vs_ring_layout l = good();
   REFUSED(l, l.offset + l.size - 1, "does not fit its resource");
   REFUSED(l, 0, "does not fit");
   l.offset = RES;
   REFUSED(l, RES, "does not fit");
   l.offset = RES + 64;
   REFUSED(l, RES, "does not fit");
   /* 64-bit overflow of offset + size. */
   l = good();
   l.offset = UINT64_MAX - 63;
   REFUSED(l, SIZE_MAX, "does not fit");
   l = good();
   l.size = UINT64_MAX - 32;
   REFUSED(l, RES, "does not fit");
   l.offset = 64;
   l.size = UINT64_MAX;
   REFUSED(l, SIZE_MAX, "does not fit");
}

TEST(ring_layout_outside_ring)
{
   const uint64_t size = good().size;
   struct vs_ring_layout l;
   l = good(), l.head_offset = size;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.head_offset = size - 2;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.tail_offset = UINT64_MAX - 3;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.status_offset = UINT64_MAX;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.buffer_offset = size - 2048;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.extra_size = 260;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.extra_offset = size + 4, l.extra_size = 0;
   REFUSED(l, RES, "outside the ring");
   /* offset + size wrapping around 2^64. */
   l = good(), l.buffer_offset = 4096, l.buffer_size = UINT64_MAX - 4095;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.extra_offset = 4096, l.extra_size = UINT64_MAX - 4000;
   REFUSED(l, RES, "outside the ring");
   l = good(), l.extra_offset = UINT64_MAX - 3, l.extra_size = 8;
   REFUSED(l, RES, "outside the ring");
}

TEST(ring_layout_misaligned)
{
   struct vs_ring_layout l;
   l = good(), l.head_offset = 2;
   REFUSED(l, RES, "misaligned");
   l = good(), l.tail_offset = 65;
   REFUSED(l, RES, "misaligned");
   l = good(), l.status_offset = 131;
   REFUSED(l, RES, "misaligned");
   l = good(), l.buffer_offset = 194;
   REFUSED(l, RES, "misaligned");
   l = good(), l.extra_offset = 192 + 4096 + 1, l.extra_size = 200;
   REFUSED(l, RES, "misaligned");
   /* The ring's own offset too: otherwise head, tail and status are
    * misaligned atomics however their offsets are aligned. */
   for (uint64_t off = 65; off < 68; off++) {
      l = good(), l.offset = off;
      REFUSED(l, RES, "misaligned");
   }
}

TEST(ring_layout_buffer_size)
{
   struct vs_ring_layout l;
   const uint64_t bad[] = { 0, 3, 12, 4095, 4097, 3000, 6144 };
   for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      l = good(), l.buffer_size = bad[i];
      /* keep it inside the ring, so only the size itself is wrong */
      l.extra_offset = 192 + 8192, l.size = 192 + 8192 + 256;
      REFUSED(l, RES, "power of two");
   }
   /* Larger than 16 MiB, even when it fits. */
   l = (struct vs_ring_layout){ .size = 64 + (32u << 20), .head_offset = 0, .tail_offset = 4,
                                .status_offset = 8, .buffer_offset = 64,
                                .buffer_size = 32u << 20 };
   REFUSED(l, 64 + (32u << 20), "power of two up to 16 MiB");
   l.buffer_size = 16u << 20;
   ACCEPTED(l, 64 + (32u << 20));
}

TEST(ring_layout_overlaps)
{
   struct vs_ring_layout l;
   l = good(), l.tail_offset = l.head_offset;
   REFUSED(l, RES, "overlap");
   l = good(), l.status_offset = l.tail_offset;
   REFUSED(l, RES, "overlap");
   l = good(), l.status_offset = l.head_offset;
   REFUSED(l, RES, "overlap");
   l = good(), l.head_offset = 192 + 100; /* inside the buffer */
   REFUSED(l, RES, "overlap");
   l = good(), l.tail_offset = 192 + 4092; /* the buffer's last word */
   REFUSED(l, RES, "overlap");
   l = good(), l.status_offset = 192 + 4096 + 252; /* the extra region's last word */
   REFUSED(l, RES, "overlap");
   l = good(), l.extra_offset = 192 + 4092; /* extra starts in the buffer */
   REFUSED(l, RES, "overlap");
   l = good(), l.extra_offset = 0, l.extra_size = l.size; /* extra covers everything */
   REFUSED(l, RES, "overlap");
   l = good(), l.buffer_offset = 0, l.head_offset = 4096 + 192; /* buffer over head/tail/status */
   REFUSED(l, RES, "overlap");
}

UNIT_MAIN(UNIT(ring_layout_valid), UNIT(ring_layout_outside_resource),
          UNIT(ring_layout_outside_ring), UNIT(ring_layout_misaligned),
          UNIT(ring_layout_buffer_size), UNIT(ring_layout_overlaps))

/* SPDX-License-Identifier: MIT */
/* base/arena.c: the per-command bump allocator. */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "base/arena.h"

TEST(arena_cap_enforced)
{
   struct vs_arena a;
   vs_arena_init(&a, 1024);
   void *p = vs_arena_alloc(&a, 1000); /* rounded up to 1008 */
   CHECK_NOT_NULL(p);
   CHECK_EQ(a.used_total, (size_t)1008);
   CHECK_NOT_NULL(vs_arena_alloc(&a, 16)); /* exactly at the cap */
   CHECK_EQ(a.used_total, (size_t)1024);
   CHECK_NULL(vs_arena_alloc(&a, 1));
   CHECK_NULL(vs_arena_alloc(&a, 0)); /* a zero-size request still takes 16 */
   CHECK_EQ(a.used_total, (size_t)1024);
   vs_arena_fini(&a);

   vs_arena_init(&a, 1024);
   CHECK_NULL(vs_arena_alloc(&a, 1025));
   CHECK_NULL(vs_arena_alloc(&a, 1024 + 16));
   CHECK_NOT_NULL(vs_arena_alloc(&a, 1024));
   vs_arena_fini(&a);

   /* A cap of 0 allows nothing. */
   vs_arena_init(&a, 0);
   CHECK_NULL(vs_arena_alloc(&a, 1));
   vs_arena_fini(&a);
}

TEST(arena_zero_filled)
{
   struct vs_arena a;
   vs_arena_init(&a, 1 << 20);
   for (int round = 0; round < 3; round++) {
      unsigned char *p = vs_arena_alloc(&a, 4000);
      CHECK_NOT_NULL(p);
      for (size_t i = 0; i < 4000; i++)
         CHECK_EQ(p[i], 0);
      memset(p, 0xa5, 4000);
      /* A block larger than the minimum, then one that reuses the kept
       * block after a reset. */
      unsigned char *q = vs_arena_alloc(&a, 100000);
      CHECK_NOT_NULL(q);
      for (size_t i = 0; i < 100000; i++)
         CHECK_EQ(q[i], 0);
      memset(q, 0x5a, 100000);
      vs_arena_reset(&a);
   }
   vs_arena_fini(&a);
}

TEST(arena_aligned_16)
{
   struct vs_arena a;
   vs_arena_init(&a, 64 << 20);
   const size_t sizes[] = { 1, 3, 15, 16, 17, 31, 33, 100, 4095, 65535, 65536, 65537, 7, 1 };
   unsigned char *prev = NULL;
   size_t prev_size = 0;
   for (int round = 0; round < 50; round++) {
      for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
         unsigned char *p = vs_arena_alloc(&a, sizes[i]);
         CHECK_NOT_NULL(p);
         CHECK_EQ((uintptr_t)p % 16, 0u);
         /* Allocations never overlap the previous one. */
         if (prev)
            CHECK(p >= prev + prev_size || p + sizes[i] <= prev);
         memset(p, 0xff, sizes[i]);
         prev = p;
         prev_size = sizes[i];
      }
   }
   vs_arena_fini(&a);
}

TEST(arena_reset_keeps_working)
{
   struct vs_arena a;
   vs_arena_init(&a, 300000);
   for (int round = 0; round < 20; round++) {
      /* Fill up to the cap through several blocks, then reset. */
      size_t total = 0;
      void *p;
      while ((p = vs_arena_alloc(&a, 40000)) != NULL)
         total += 40000;
      CHECK_EQ(total, (size_t)280000);
      CHECK_LE(a.used_total, a.cap);
      vs_arena_reset(&a);
      CHECK_EQ(a.used_total, (size_t)0);
      CHECK_NOT_NULL(a.blocks); /* one block is kept */
   }
   vs_arena_reset(&a);
   vs_arena_reset(&a); /* twice in a row is fine */
   CHECK_NOT_NULL(vs_arena_alloc(&a, 300000));
   vs_arena_fini(&a);
   CHECK_NULL(a.blocks);

   /* Reset and fini of an arena that never allocated. */
   vs_arena_init(&a, 100);
   vs_arena_reset(&a);
   vs_arena_fini(&a);
}

TEST(arena_huge_sizes_refused)
{
   struct vs_arena a;
   /* No cap: only the size checks stand between these sizes and a
    * wrapped (tiny) allocation or a malloc that cannot succeed (which ASan
    * aborts on instead of returning NULL). */
   vs_arena_init(&a, SIZE_MAX);
   const size_t huge[] = { SIZE_MAX,      SIZE_MAX - 1,  SIZE_MAX - 14,      SIZE_MAX - 15,
                           SIZE_MAX - 16, SIZE_MAX - 20, SIZE_MAX - 31,      (size_t)PTRDIFF_MAX + 1,
                           PTRDIFF_MAX,   PTRDIFF_MAX - 63 };
   for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
      CHECK_MSG(vs_arena_alloc(&a, huge[i]) == NULL, "size %zu", huge[i]);
   /* Still usable afterwards. */
   unsigned char *p = vs_arena_alloc(&a, 64);
   CHECK_NOT_NULL(p);
   CHECK_EQ(a.used_total, (size_t)64);
   vs_arena_fini(&a);

   /* With a cap, huge sizes never reach malloc. */
   vs_arena_init(&a, 1u << 30);
   CHECK_NULL(vs_arena_alloc(&a, SIZE_MAX / 2 + 1));
   CHECK_NULL(vs_arena_alloc(&a, (1u << 30) + 1));
   vs_arena_fini(&a);

   /* Near-cap sizes that round past it are refused too. */
   vs_arena_init(&a, 1000);
   CHECK_NULL(vs_arena_alloc(&a, 999)); /* rounds to 1008 > 1000 */
   CHECK_NOT_NULL(vs_arena_alloc(&a, 992));
   vs_arena_fini(&a);
}

UNIT_MAIN(UNIT(arena_cap_enforced), UNIT(arena_zero_filled), UNIT(arena_aligned_16),
          UNIT(arena_reset_keeps_working), UNIT(arena_huge_sizes_refused))

/* SPDX-License-Identifier: MIT */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN (64 * 1024)

struct vs_arena_block {
   struct vs_arena_block *next;
   size_t size;
   _Alignas(16) unsigned char data[];
};

void
vs_arena_init(struct vs_arena *arena, size_t cap)
{
   arena->blocks = NULL;
   arena->cur = arena->end = NULL;
   arena->used_total = 0;
   arena->cap = cap;
   arena->spilled = false;
}

void *
vs_arena_alloc_slow(struct vs_arena *arena, size_t size)
{
   /* Refused before rounding: a size within 15 of SIZE_MAX would wrap to
    * a 16-byte allocation. No object may exceed PTRDIFF_MAX (the block's
    * room is a pointer difference): with the header and the rounding added
    * a size below that cannot wrap, and larger ones never reach malloc. */
   if (size > arena->cap || size > PTRDIFF_MAX - 64)
      return NULL;
   size = (size + 15) & ~(size_t)15;
   if (size == 0)
      size = 16;
   if (size > arena->cap || arena->used_total > arena->cap - size)
      return NULL;

   struct vs_arena_block *b = arena->blocks;
   if (!b || (size_t)(arena->end - arena->cur) < size) {
      /* No bigger than the cap leaves, so that vs_arena_alloc needs
       * only the block's room. */
      size_t block_size = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
      if (block_size > arena->cap - arena->used_total)
         block_size = arena->cap - arena->used_total;
      b = calloc(1, sizeof(*b) + block_size);
      if (!b)
         return NULL;
      b->size = block_size;
      arena->spilled = arena->blocks != NULL;
      b->next = arena->blocks;
      arena->blocks = b;
      arena->cur = b->data;
      arena->end = b->data + b->size;
   }
   void *p = arena->cur;
   arena->cur += size;
   arena->used_total += size;
   return p;
}

void
vs_arena_reset_spilled(struct vs_arena *arena)
{
   struct vs_arena_block *b = arena->blocks;
   /* Keep the oldest (first-allocated, usually minimum-sized) block. */
   while (b->next) {
      struct vs_arena_block *next = b->next;
      free(b);
      b = next;
   }
   /* How much of it was taken before the spill is not known: all of it
    * is zeroed, as much as the spilled command decoded at least. */
   memset(b->data, 0, b->size);
   arena->blocks = b;
   arena->cur = b->data;
   arena->end = b->data + b->size;
   arena->used_total = 0;
   arena->spilled = false;
}

void
vs_arena_fini(struct vs_arena *arena)
{
   vs_arena_reset(arena);
   free(arena->blocks);
   arena->blocks = NULL;
   arena->cur = arena->end = NULL;
}

/* SPDX-License-Identifier: MIT */
/* A bump allocator for the decoded form of one command. Everything a
 * decoder allocates is released at once by vs_arena_reset; the total is
 * capped so a hostile count cannot make the server allocate without bound. */
#ifndef VS_ARENA_H
#define VS_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct vs_arena_block;

struct vs_arena {
   struct vs_arena_block *blocks;
   unsigned char *cur, *end; /* the free part of the newest block */
   size_t used_total;
   size_t cap;
   bool spilled; /* blocks has more than the first one */
};

/* Requests up to this size take the inline path below. */
#define VS_ARENA_FAST_MAX 4096u

void vs_arena_init(struct vs_arena *arena, size_t cap);
/* Any request: vs_arena_alloc's way when the newest block has no room. */
void *vs_arena_alloc_slow(struct vs_arena *arena, size_t size);

/* Zero-filled, 16-byte aligned; NULL when the cap would be exceeded.
 * Inline for the small requests of every decoded command. The free part
 * of a block is kept zero (blocks start zeroed, vs_arena_reset zeroes
 * what was taken): one memset per command rather than one per request. */
static inline void *
vs_arena_alloc(struct vs_arena *arena, size_t size)
{
   size_t rounded = (size + 15) & ~(size_t)15; /* used only when size is small */
   /* No block holds more than the cap leaves (vs_arena_alloc_slow). */
   if (size - 1 < VS_ARENA_FAST_MAX && rounded <= (size_t)(arena->end - arena->cur)) {
      void *p = arena->cur;
      arena->cur += rounded;
      arena->used_total += rounded;
      return p;
   }
   return vs_arena_alloc_slow(arena, size);
}
/* vs_arena_reset's way when more than one block was needed. */
void vs_arena_reset_spilled(struct vs_arena *arena);

/* Frees all blocks but the first, which is kept for the next command.
 * Inline for the usual command, which fits the first: all it took is the
 * used_total bytes below cur. */
static inline void
vs_arena_reset(struct vs_arena *arena)
{
   if (__builtin_expect(arena->spilled, 0)) {
      vs_arena_reset_spilled(arena);
      return;
   }
   if (arena->used_total) { /* none taken: cur may be NULL, no block yet */
      arena->cur -= arena->used_total;
      memset(arena->cur, 0, arena->used_total);
      arena->used_total = 0;
   }
}
void vs_arena_fini(struct vs_arena *arena);

#endif

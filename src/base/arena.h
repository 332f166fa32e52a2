/* SPDX-License-Identifier: MIT */
/* A bump allocator for the decoded form of one command. Everything a
 * decoder allocates is released at once by vs_arena_reset; the total is
 * capped so a hostile count cannot make the server allocate without bound. */
#ifndef VS_ARENA_H
#define VS_ARENA_H

#include <stddef.h>

struct vs_arena_block;

struct vs_arena {
   struct vs_arena_block *blocks;
   size_t used_total;
   size_t cap;
};

void vs_arena_init(struct vs_arena *arena, size_t cap);
/* Zero-filled, 16-byte aligned; NULL when the cap would be exceeded. */
void *vs_arena_alloc(struct vs_arena *arena, size_t size);
/* Frees all blocks but the first, which is kept for the next command. */
void vs_arena_reset(struct vs_arena *arena);
void vs_arena_fini(struct vs_arena *arena);

#endif

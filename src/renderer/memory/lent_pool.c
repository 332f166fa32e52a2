/* SPDX-License-Identifier: MIT */
/* The pool of lent video memory a client freed (lent_pool.h). */
#include "renderer/memory/lent_pool.h"

#include "renderer/memory/device_memory.h"

struct vs_lent_key
vs_lent_key_of(const VkMemoryAllocateInfo *info)
{
   struct vs_lent_key key = {
      .type_index = info->memoryTypeIndex,
      .size = info->allocationSize,
      .reusable = true,
   };
   for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO)
         key.flags = ((const VkMemoryAllocateFlagsInfo *)s)->flags;
      else if (s->sType != VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT)
         key.reusable = false; /* dedicated, a capture address: this request's alone */
   }
   return key;
}

void
vs_lent_pool_init(struct vs_lent_pool *pool)
{
   pthread_mutex_init(&pool->lock, NULL);
   pool->first = NULL;
   pool->count = 0;
}

static bool
same_key(const struct vs_lent_key *a, const struct vs_lent_key *b)
{
   return a->type_index == b->type_index && a->size == b->size && a->flags == b->flags;
}

struct vs_device_memory *
vs_lent_pool_take(struct vs_lent_pool *pool, const struct vs_lent_key *key)
{
   if (!key->reusable)
      return NULL;
   pthread_mutex_lock(&pool->lock);
   struct vs_device_memory **link = &pool->first;
   while (*link && !((*link)->lent.reusable && same_key(&(*link)->lent, key)))
      link = &(*link)->next_lent;
   struct vs_device_memory *mem = *link;
   if (mem) {
      *link = mem->next_lent;
      mem->next_lent = NULL;
      pool->count--;
   }
   pthread_mutex_unlock(&pool->lock);
   return mem;
}

void
vs_lent_pool_put(struct vs_lent_pool *pool, struct vs_device_memory *mem)
{
   pthread_mutex_lock(&pool->lock);
   mem->next_lent = pool->first;
   pool->first = mem;
   pool->count++;
   pthread_mutex_unlock(&pool->lock);
}

uint32_t
vs_lent_pool_count(struct vs_lent_pool *pool)
{
   pthread_mutex_lock(&pool->lock);
   uint32_t count = pool->count;
   pthread_mutex_unlock(&pool->lock);
   return count;
}

/* SPDX-License-Identifier: MIT */
/* pNext chains as the decoder leaves them: structs in the arena of the
 * command being executed, so a handler may unlink and relink them freely.
 * A struct cut from a chain can be put back at the same place, which
 * matters for output chains: the guest matches reply structs in order. */
#ifndef VS_UTIL_CHAIN_H
#define VS_UTIL_CHAIN_H

#include <stddef.h>
#include <vulkan/vulkan.h>

struct vs_chain_cut {
   VkBaseOutStructure **link; /* the pNext that pointed at the struct */
   VkBaseOutStructure *s;     /* NULL when nothing was cut */
};

/* The first struct of type `type` in the chain after `head`, or NULL.
 * `type` is an int because the MESA sTypes are not in VkStructureType. */
static inline void *
vs_chain_find(const void *head, int type)
{
   for (const VkBaseOutStructure *s = ((const VkBaseOutStructure *)head)->pNext; s; s = s->pNext) {
      if ((int)s->sType == type)
         return (void *)s;
   }
   return NULL;
}

/* Unlinks the first struct of `type` after `head`. */
static inline struct vs_chain_cut
vs_chain_cut(const void *head, int type)
{
   VkBaseOutStructure **link = &((VkBaseOutStructure *)head)->pNext;
   for (; *link; link = &(*link)->pNext) {
      if ((int)(*link)->sType == type) {
         struct vs_chain_cut cut = { link, *link };
         *link = cut.s->pNext;
         return cut;
      }
   }
   return (struct vs_chain_cut){ NULL, NULL };
}

/* Puts a cut struct back; cuts are restored in the reverse order. */
static inline void
vs_chain_restore(struct vs_chain_cut cut)
{
   if (cut.s) {
      cut.s->pNext = *cut.link;
      *cut.link = cut.s;
   }
}

#endif

/* SPDX-License-Identifier: MIT */
/* The VM's resources by id (vm/resource_table.h): an open-addressing
 * hash under one mutex. Writers are the contexts' CREATE/DESTROY_RESOURCE
 * (rare next to their Vulkan work), the reader the VM channel's ATTACH:
 * nothing here is hot enough for anything finer. */
#include "vm/resource_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RETIRED_IDS 256u

struct vs_vm_resource_table {
   pthread_mutex_t lock;
   struct vs_resource_info *slots; /* res_id 0: empty (virtio-gpu ids start at 1) */
   bool *tombstone;
   uint32_t capacity;              /* a power of two */
   uint32_t count, used;           /* live entries; live + tombstones */
   /* The ids most recently removed, oldest overwritten first: a guest's
    * message in flight when its resource went names one (not hostile). */
   struct retired {
      uint32_t res_id;
      bool named; /* vs_vm_resources_retired said so once */
   } retired[RETIRED_IDS];
   uint32_t retired_next;
};

#define INITIAL_CAPACITY 64u

struct vs_vm_resource_table *
vs_vm_resources_create(void)
{
   struct vs_vm_resource_table *t = calloc(1, sizeof(*t));
   if (!t)
      return NULL;
   t->slots = calloc(INITIAL_CAPACITY, sizeof(*t->slots));
   t->tombstone = calloc(INITIAL_CAPACITY, sizeof(*t->tombstone));
   if (!t->slots || !t->tombstone) {
      free(t->slots);
      free(t->tombstone);
      free(t);
      return NULL;
   }
   t->capacity = INITIAL_CAPACITY;
   pthread_mutex_init(&t->lock, NULL);
   return t;
}

void
vs_vm_resources_destroy(struct vs_vm_resource_table *t)
{
   if (!t)
      return;
   pthread_mutex_destroy(&t->lock);
   free(t->slots);
   free(t->tombstone);
   free(t);
}

static uint32_t
hash(uint32_t id)
{
   id ^= id >> 16;
   id *= 0x7feb352du;
   id ^= id >> 15;
   return id;
}

/* The slot holding res_id, or UINT32_MAX. */
static uint32_t
lookup(const struct vs_vm_resource_table *t, uint32_t res_id)
{
   uint32_t mask = t->capacity - 1;
   for (uint32_t i = hash(res_id) & mask, n = 0; n < t->capacity; i = (i + 1) & mask, n++) {
      if (t->slots[i].res_id == res_id)
         return i;
      if (t->slots[i].res_id == 0 && !t->tombstone[i])
         return UINT32_MAX;
   }
   return UINT32_MAX;
}

static void
put(struct vs_vm_resource_table *t, const struct vs_resource_info *info)
{
   uint32_t mask = t->capacity - 1;
   uint32_t i = hash(info->res_id) & mask;
   while (t->slots[i].res_id != 0)
      i = (i + 1) & mask;
   if (!t->tombstone[i])
      t->used++;
   t->tombstone[i] = false;
   t->slots[i] = *info;
   t->count++;
}

/* Rehashes into `capacity` slots (dropping tombstones); false when out of
 * memory (the table is unchanged). */
static bool
resize(struct vs_vm_resource_table *t, uint32_t capacity)
{
   struct vs_resource_info *slots = calloc(capacity, sizeof(*slots));
   bool *tombstone = calloc(capacity, sizeof(*tombstone));
   if (!slots || !tombstone) {
      free(slots);
      free(tombstone);
      return false;
   }
   struct vs_resource_info *old = t->slots;
   uint32_t old_capacity = t->capacity;
   free(t->tombstone);
   t->slots = slots;
   t->tombstone = tombstone;
   t->capacity = capacity;
   t->count = t->used = 0;
   for (uint32_t i = 0; i < old_capacity; i++)
      if (old[i].res_id)
         put(t, &old[i]);
   free(old);
   return true;
}

uint64_t
vs_vm_resources_new_owner(void)
{
   static atomic_uint_fast64_t next_owner = 1;
   return atomic_fetch_add(&next_owner, 1);
}

static void remove_slot(struct vs_vm_resource_table *t, uint32_t i);

bool
vs_vm_resources_add(struct vs_vm_resource_table *t, const struct vs_resource_info *info)
{
   if (info->res_id == 0)
      return false;
   pthread_mutex_lock(&t->lock);
   uint32_t existing = lookup(t, info->res_id);
   bool ok = existing == UINT32_MAX || t->slots[existing].owner != info->owner;
   if (ok && existing != UINT32_MAX)
      remove_slot(t, existing);
   /* Live + tombstones under 3/4: probes stay short and always end. */
   if (ok && (uint64_t)(t->used + 1) * 4 > (uint64_t)t->capacity * 3) {
      /* Mostly tombstones: rehashed at the same size; else twice the size. */
      bool grow = (uint64_t)(t->count + 1) * 4 > t->capacity;
      ok = (!grow || t->capacity < (1u << 30)) && resize(t, grow ? t->capacity * 2 : t->capacity);
   }
   if (ok)
      put(t, info);
   pthread_mutex_unlock(&t->lock);
   return ok;
}

static void
remove_slot(struct vs_vm_resource_table *t, uint32_t i)
{
   t->retired[t->retired_next++ % RETIRED_IDS] = (struct retired){ t->slots[i].res_id, false };
   memset(&t->slots[i], 0, sizeof(t->slots[i]));
   t->tombstone[i] = true;
   t->count--;
}

bool
vs_vm_resources_remove(struct vs_vm_resource_table *t, uint64_t owner, uint32_t res_id)
{
   if (res_id == 0)
      return false;
   pthread_mutex_lock(&t->lock);
   uint32_t i = lookup(t, res_id);
   const bool removed = i != UINT32_MAX && t->slots[i].owner == owner;
   if (removed)
      remove_slot(t, i);
   pthread_mutex_unlock(&t->lock);
   return removed;
}

void
vs_vm_resources_remove_owner(struct vs_vm_resource_table *t, uint64_t owner)
{
   pthread_mutex_lock(&t->lock);
   for (uint32_t i = 0; i < t->capacity; i++)
      if (t->slots[i].res_id && t->slots[i].owner == owner)
         remove_slot(t, i);
   pthread_mutex_unlock(&t->lock);
}

bool
vs_vm_resources_find(struct vs_vm_resource_table *t, uint32_t res_id, struct vs_resource_info *out)
{
   if (res_id == 0)
      return false;
   pthread_mutex_lock(&t->lock);
   uint32_t i = lookup(t, res_id);
   if (i != UINT32_MAX)
      *out = t->slots[i];
   pthread_mutex_unlock(&t->lock);
   return i != UINT32_MAX;
}

enum vs_vm_retired
vs_vm_resources_retired(struct vs_vm_resource_table *t, uint32_t res_id)
{
   enum vs_vm_retired r = VS_VM_NOT_RETIRED;
   pthread_mutex_lock(&t->lock);
   if (res_id && lookup(t, res_id) == UINT32_MAX) {
      for (uint32_t i = 0; i < RETIRED_IDS && r == VS_VM_NOT_RETIRED; i++) {
         if (t->retired[i].res_id == res_id) {
            r = t->retired[i].named ? VS_VM_RETIRED_NAMED_BEFORE : VS_VM_RETIRED;
            t->retired[i].named = true;
         }
      }
   }
   pthread_mutex_unlock(&t->lock);
   return r;
}

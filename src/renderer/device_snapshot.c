/* SPDX-License-Identifier: MIT */
/* Flat host device create infos (device_snapshot.h). The layout, all
 * 32-bit little words in the host's byte order (the bytes never leave the
 * host):
 *   magic, physical index, flags,
 *   queue count, per queue: flags, family, count, count priorities (float),
 *   extension count, per name: length, the name's bytes padded to 4,
 *   has features, then VkPhysicalDeviceFeatures when it has,
 *   chain count, per struct: sType, size, the struct past sType/pNext. */
#include "renderer/device_snapshot.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vn_wire.h"

#define SNAPSHOT_MAGIC 0x31445356u /* "VSD1" */
#define MAX_QUEUE_INFOS 64
#define MAX_QUEUES_PER_INFO 64
#define MAX_EXTENSIONS 256
#define MAX_CHAIN 64
#define HEADER_SIZE sizeof(VkBaseInStructure)

/* One entry per host physical device: a tenant's device is only ever
 * warmed up on the physical device it was made on. */
struct vs_device_snapshot_slot {
   struct {
      _Atomic uint32_t sequence; /* odd while a worker writes */
      struct vs_device_snapshot snapshot;
   } gpu[VS_DEVICE_SNAPSHOT_GPUS];
};

struct writer {
   struct vs_device_snapshot *s;
   bool overflow;
};

static void
put(struct writer *w, const void *data, size_t size)
{
   size_t padded = (size + 3) & ~(size_t)3;
   if (w->overflow || padded > sizeof(w->s->bytes) - w->s->size) {
      w->overflow = true;
      return;
   }
   memcpy(w->s->bytes + w->s->size, data, size);
   memset(w->s->bytes + w->s->size + size, 0, padded - size);
   w->s->size += (uint32_t)padded;
}

static void
put_u32(struct writer *w, uint32_t v)
{
   put(w, &v, sizeof(v));
}

bool
vs_device_snapshot_flatten(const VkDeviceCreateInfo *ci, uint32_t physical_index, struct vs_device_snapshot *out)
{
   out->size = 0;
   struct writer w = { .s = out };
   if (ci->enabledLayerCount || ci->queueCreateInfoCount > MAX_QUEUE_INFOS ||
       ci->enabledExtensionCount > MAX_EXTENSIONS)
      return false;
   put_u32(&w, SNAPSHOT_MAGIC);
   put_u32(&w, physical_index);
   put_u32(&w, ci->flags);
   put_u32(&w, ci->queueCreateInfoCount);
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      if (q->pNext || q->queueCount > MAX_QUEUES_PER_INFO)
         return false;
      put_u32(&w, q->flags);
      put_u32(&w, q->queueFamilyIndex);
      put_u32(&w, q->queueCount);
      put(&w, q->pQueuePriorities, q->queueCount * sizeof(float));
   }
   put_u32(&w, ci->enabledExtensionCount);
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      size_t len = strnlen(ci->ppEnabledExtensionNames[i], VK_MAX_EXTENSION_NAME_SIZE);
      if (len == 0 || len >= VK_MAX_EXTENSION_NAME_SIZE)
         return false;
      put_u32(&w, (uint32_t)len);
      put(&w, ci->ppEnabledExtensionNames[i], len);
   }
   put_u32(&w, ci->pEnabledFeatures != NULL);
   if (ci->pEnabledFeatures)
      put(&w, ci->pEnabledFeatures, sizeof(*ci->pEnabledFeatures));
   uint32_t chain_count = 0;
   for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext)
      chain_count++;
   if (chain_count > MAX_CHAIN)
      return false;
   put_u32(&w, chain_count);
   for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext) {
      size_t size = vn_feature_struct_size(p->sType);
      if (!size)
         return false;
      put_u32(&w, (uint32_t)p->sType);
      put_u32(&w, (uint32_t)size);
      put(&w, (const uint8_t *)p + HEADER_SIZE, size - HEADER_SIZE);
   }
   return !w.overflow;
}

struct reader {
   const struct vs_device_snapshot *s;
   uint32_t at;
   bool bad;
};

static const void *
take(struct reader *r, size_t size)
{
   size_t padded = (size + 3) & ~(size_t)3;
   if (r->bad || size > VS_DEVICE_SNAPSHOT_MAX || padded > r->s->size - r->at) {
      r->bad = true;
      return NULL;
   }
   const void *p = r->s->bytes + r->at;
   r->at += (uint32_t)padded;
   return p;
}

static uint32_t
take_u32(struct reader *r)
{
   const void *p = take(r, sizeof(uint32_t));
   uint32_t v = 0;
   if (p)
      memcpy(&v, p, sizeof(v));
   return v;
}

/* Bump allocation inside the rebuilt info's storage. */
struct bump {
   uint8_t *base;
   size_t used, size;
};

static void *
bump_alloc(struct bump *b, size_t size)
{
   size_t at = (b->used + 7) & ~(size_t)7;
   if (at > b->size || size > b->size - at)
      return NULL;
   b->used = at + size;
   return b->base + at;
}

/* VkBool32 members hold VK_TRUE or VK_FALSE, nothing else. */
static bool
booleans(const void *data, size_t size)
{
   for (size_t i = 0; i + sizeof(VkBool32) <= size; i += sizeof(VkBool32)) {
      VkBool32 v;
      memcpy(&v, (const uint8_t *)data + i, sizeof(v));
      if (v > VK_TRUE)
         return false;
   }
   return true;
}

bool
vs_device_snapshot_unflatten(const struct vs_device_snapshot *s, struct vs_device_snapshot_info *out)
{
   memset(out, 0, sizeof(*out));
   if (s->size > VS_DEVICE_SNAPSHOT_MAX)
      return false;
   /* Every rebuilt byte comes from at least as many flat bytes, but the
    * pointers and headers do not: room for those at the limits. */
   const size_t room = 2 * (size_t)s->size + MAX_QUEUE_INFOS * sizeof(VkDeviceQueueCreateInfo) +
                       MAX_EXTENSIONS * (sizeof(char *) + 8) + MAX_CHAIN * (HEADER_SIZE + 8) +
                       sizeof(VkPhysicalDeviceFeatures) + 64;
   struct bump b = { .base = calloc(1, room), .size = room };
   struct reader r = { .s = s };
   if (!b.base)
      return false;
   VkDeviceCreateInfo *ci = &out->ci;
   ci->sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
   if (take_u32(&r) != SNAPSHOT_MAGIC)
      goto bad;
   out->physical_index = take_u32(&r);
   ci->flags = take_u32(&r);
   ci->queueCreateInfoCount = take_u32(&r);
   if (ci->queueCreateInfoCount > MAX_QUEUE_INFOS)
      goto bad;
   VkDeviceQueueCreateInfo *queues = bump_alloc(&b, ci->queueCreateInfoCount * sizeof(*queues));
   for (uint32_t i = 0; !r.bad && queues && i < ci->queueCreateInfoCount; i++) {
      VkDeviceQueueCreateInfo *q = &queues[i];
      q->sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
      q->flags = take_u32(&r);
      q->queueFamilyIndex = take_u32(&r);
      q->queueCount = take_u32(&r);
      if (q->queueCount == 0 || q->queueCount > MAX_QUEUES_PER_INFO)
         goto bad;
      const float *priorities = take(&r, q->queueCount * sizeof(float));
      float *copy = bump_alloc(&b, q->queueCount * sizeof(float));
      if (!priorities || !copy)
         goto bad;
      memcpy(copy, priorities, q->queueCount * sizeof(float));
      for (uint32_t j = 0; j < q->queueCount; j++) {
         if (!(copy[j] >= 0.0f && copy[j] <= 1.0f))
            goto bad;
      }
      q->pQueuePriorities = copy;
   }
   if (!queues && ci->queueCreateInfoCount)
      goto bad;
   ci->pQueueCreateInfos = queues;
   ci->enabledExtensionCount = take_u32(&r);
   if (ci->enabledExtensionCount > MAX_EXTENSIONS)
      goto bad;
   const char **names = bump_alloc(&b, ci->enabledExtensionCount * sizeof(*names));
   for (uint32_t i = 0; !r.bad && names && i < ci->enabledExtensionCount; i++) {
      uint32_t len = take_u32(&r);
      const char *name = len && len < VK_MAX_EXTENSION_NAME_SIZE ? take(&r, len) : NULL;
      char *copy = bump_alloc(&b, (size_t)len + 1);
      if (!name || !copy || memchr(name, '\0', len))
         goto bad;
      memcpy(copy, name, len);
      copy[len] = '\0';
      names[i] = copy;
   }
   if (!names && ci->enabledExtensionCount)
      goto bad;
   ci->ppEnabledExtensionNames = names;
   if (take_u32(&r)) {
      const void *features = take(&r, sizeof(VkPhysicalDeviceFeatures));
      VkPhysicalDeviceFeatures *copy = bump_alloc(&b, sizeof(*copy));
      if (!features || !copy || !booleans(features, sizeof(*copy)))
         goto bad;
      memcpy(copy, features, sizeof(*copy));
      ci->pEnabledFeatures = copy;
   }
   uint32_t chain_count = take_u32(&r);
   if (chain_count > MAX_CHAIN)
      goto bad;
   VkBaseInStructure **link = (VkBaseInStructure **)&ci->pNext;
   for (uint32_t i = 0; !r.bad && i < chain_count; i++) {
      VkStructureType type = (VkStructureType)take_u32(&r);
      uint32_t size = take_u32(&r);
      if (r.bad || size != vn_feature_struct_size(type) || size < HEADER_SIZE)
         goto bad;
      for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext) {
         if (p->sType == type)
            goto bad;
      }
      const void *payload = take(&r, size - HEADER_SIZE);
      VkBaseInStructure *copy = bump_alloc(&b, size);
      if (!payload || !copy || !booleans(payload, size - HEADER_SIZE))
         goto bad;
      copy->sType = type;
      memcpy((uint8_t *)copy + HEADER_SIZE, payload, size - HEADER_SIZE);
      *link = copy;
      link = (VkBaseInStructure **)&copy->pNext;
   }
   if (r.bad || r.at != s->size)
      goto bad;
   out->storage = b.base;
   return true;
bad:
   free(b.base);
   memset(out, 0, sizeof(*out));
   return false;
}

void
vs_device_snapshot_info_free(struct vs_device_snapshot_info *info)
{
   free(info->storage);
   memset(info, 0, sizeof(*info));
}

bool
vs_device_snapshot_equal(const struct vs_device_snapshot *a, const struct vs_device_snapshot *b)
{
   return a->size == b->size && a->size <= VS_DEVICE_SNAPSHOT_MAX && memcmp(a->bytes, b->bytes, a->size) == 0;
}

struct vs_device_snapshot_slot *
vs_device_snapshot_slot_create(void)
{
   void *p = mmap(NULL, sizeof(struct vs_device_snapshot_slot), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
   if (p == MAP_FAILED)
      return NULL;
   struct vs_device_snapshot_slot *slot = p;
   for (unsigned g = 0; g < VS_DEVICE_SNAPSHOT_GPUS; g++)
      atomic_init(&slot->gpu[g].sequence, 0);
   return slot;
}

void
vs_device_snapshot_slot_destroy(struct vs_device_snapshot_slot *slot)
{
   if (slot)
      munmap(slot, sizeof(*slot));
}

void
vs_device_snapshot_publish(struct vs_device_snapshot_slot *slot, uint32_t gpu, const struct vs_device_snapshot *s)
{
   if (gpu >= VS_DEVICE_SNAPSHOT_GPUS)
      return;
   uint32_t seq = atomic_load(&slot->gpu[gpu].sequence);
   if ((seq & 1) || !atomic_compare_exchange_strong(&slot->gpu[gpu].sequence, &seq, seq + 1))
      return;
   slot->gpu[gpu].snapshot.size = s->size;
   memcpy(slot->gpu[gpu].snapshot.bytes, s->bytes, s->size);
   atomic_store(&slot->gpu[gpu].sequence, seq + 2);
}

bool
vs_device_snapshot_read(struct vs_device_snapshot_slot *slot, uint32_t gpu, struct vs_device_snapshot *out)
{
   if (gpu >= VS_DEVICE_SNAPSHOT_GPUS)
      return false;
   uint32_t seq = atomic_load(&slot->gpu[gpu].sequence);
   if (seq == 0 || (seq & 1))
      return false;
   out->size = slot->gpu[gpu].snapshot.size;
   if (out->size == 0 || out->size > VS_DEVICE_SNAPSHOT_MAX)
      return false;
   memcpy(out->bytes, slot->gpu[gpu].snapshot.bytes, out->size);
   atomic_thread_fence(memory_order_acquire);
   return atomic_load(&slot->gpu[gpu].sequence) == seq;
}

void
vs_device_snapshot_drop(struct vs_device_snapshot_slot *slot, int gpu)
{
   const struct vs_device_snapshot empty = { .size = 0 };
   for (uint32_t g = 0; g < VS_DEVICE_SNAPSHOT_GPUS; g++) {
      if (gpu < 0 || (uint32_t)gpu == g)
         vs_device_snapshot_publish(slot, g, &empty);
   }
}

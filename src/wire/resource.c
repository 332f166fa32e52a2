/* SPDX-License-Identifier: MIT */
#include "wire/resource.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

#define RESOURCE_BUCKETS_MIN 64u /* power of two */

static uint32_t
hash_id(uint32_t id)
{
   id ^= id >> 16;
   id *= 0x7feb352du;
   id ^= id >> 15;
   id *= 0x846ca68bu;
   id ^= id >> 16;
   return id;
}

void
vs_resource_table_init(struct vs_resource_table *t)
{
   pthread_mutex_init(&t->lock, NULL);
   t->buckets = NULL; /* allocated by the first add */
   t->bucket_count = 0;
   t->count = 0;
}

static void
resource_free(struct vs_resource *res)
{
   if (res->map && res->guarded)
      os_unmap_guarded(res->map, res->map_size, 0);
   else if (res->map)
      munmap(res->map, res->map_size);
   if (res->fd >= 0)
      close(res->fd);
   if (res->fd_account)
      vs_fair_give(res->fd_account, 1);
   if (res->mapping_account)
      vs_fair_give(res->mapping_account, res->charged_mappings);
   if (res->bytes_account)
      vs_fair_give(res->bytes_account, res->charged_bytes);
   free(res);
}

void
vs_resource_table_fini(struct vs_resource_table *t)
{
   pthread_mutex_lock(&t->lock);
   struct vs_resource **buckets = t->buckets;
   uint32_t bucket_count = t->bucket_count;
   t->buckets = NULL;
   t->bucket_count = 0;
   t->count = 0;
   pthread_mutex_unlock(&t->lock);
   for (uint32_t i = 0; i < bucket_count; i++) {
      struct vs_resource *res = buckets[i];
      while (res) {
         struct vs_resource *next = res->hash_next;
         vs_resource_put(t, res);
         res = next;
      }
   }
   free(buckets);
   pthread_mutex_destroy(&t->lock);
}

static struct vs_resource **
find_slot_locked(struct vs_resource_table *t, uint32_t id)
{
   if (!t->buckets)
      return NULL;
   struct vs_resource **p = &t->buckets[hash_id(id) & (t->bucket_count - 1)];
   while (*p && (*p)->id != id)
      p = &(*p)->hash_next;
   return p;
}

static struct vs_resource *
find_locked(struct vs_resource_table *t, uint32_t id)
{
   struct vs_resource **p = find_slot_locked(t, id);
   return p ? *p : NULL;
}

/* Doubles the index (or creates it). False only if there is no index at
 * all afterwards; a failed growth keeps the longer chains. */
static bool
grow_locked(struct vs_resource_table *t)
{
   uint32_t new_count = t->bucket_count ? t->bucket_count * 2 : RESOURCE_BUCKETS_MIN;
   struct vs_resource **nb = calloc(new_count, sizeof(*nb));
   if (!nb)
      return t->buckets != NULL;
   for (uint32_t i = 0; i < t->bucket_count; i++) {
      struct vs_resource *res = t->buckets[i];
      while (res) {
         struct vs_resource *next = res->hash_next;
         uint32_t b = hash_id(res->id) & (new_count - 1);
         res->hash_next = nb[b];
         nb[b] = res;
         res = next;
      }
   }
   free(t->buckets);
   t->buckets = nb;
   t->bucket_count = new_count;
   return true;
}

/* Every field is set before the entry is published: other threads find it
 * by id as soon as the lock is dropped. */
static struct vs_resource *
add_resource(struct vs_resource_table *t, uint32_t id, int fd, void *map, size_t size,
             size_t map_size, bool guarded, bool is_shmem)
{
   if (id == 0)
      return NULL;
   struct vs_resource *res = calloc(1, sizeof(*res));
   if (!res)
      return NULL;
   res->id = id;
   res->fd = fd;
   res->map = map;
   res->size = size;
   res->map_size = map_size;
   res->refcount = 1;
   res->is_shmem = is_shmem;
   res->guarded = guarded;
   pthread_mutex_lock(&t->lock);
   if (find_locked(t, id) ||
       ((!t->buckets || t->count >= t->bucket_count * 2) && !grow_locked(t))) {
      pthread_mutex_unlock(&t->lock);
      free(res); /* the caller keeps fd and map */
      return NULL;
   }
   uint32_t b = hash_id(id) & (t->bucket_count - 1);
   res->hash_next = t->buckets[b];
   t->buckets[b] = res;
   t->count++;
   pthread_mutex_unlock(&t->lock);
   return res;
}

struct vs_resource *
vs_resource_add(struct vs_resource_table *t, uint32_t id, int fd, void *map, size_t size,
                size_t map_size, bool guarded)
{
   return add_resource(t, id, fd, map, size, map_size, guarded, false);
}

struct vs_resource *
vs_resource_create_shmem(struct vs_resource_table *t, uint32_t id, size_t size)
{
   if (size == 0 || id == 0 || vs_resource_contains(t, id))
      return NULL;
   size_t page = os_page_size();
   if (size > SIZE_MAX - (page - 1))
      return NULL;
   size_t map_size = (size + page - 1) & ~(page - 1);
   /* Exactly `size` bytes: a VMM's proxy checks a blob's fd size. */
   int fd = os_shm_create("venus-shmem", size);
   if (fd < 0)
      return NULL;
   os_shm_seal_size(fd);
   void *map = os_map_guarded(fd, map_size, 0);
   if (!map) {
      close(fd);
      return NULL;
   }
   /* The add still refuses an id taken meanwhile. */
   struct vs_resource *res = add_resource(t, id, fd, map, size, map_size, true, true);
   if (!res) {
      os_unmap_guarded(map, map_size, 0);
      close(fd);
      return NULL;
   }
   return res;
}

uint32_t
vs_resource_table_faulted(struct vs_resource_table *t)
{
   uint32_t id = 0;
   pthread_mutex_lock(&t->lock);
   for (uint32_t b = 0; b < t->bucket_count && !id; b++) {
      for (struct vs_resource *res = t->buckets[b]; res && !id; res = res->hash_next) {
         const void *map = res->map ? res->map : res->watch;
         if (map && os_map_faulted(map))
            id = res->id;
      }
   }
   pthread_mutex_unlock(&t->lock);
   return id;
}

bool
vs_resource_table_each(struct vs_resource_table *t, bool (*fn)(void *data, struct vs_resource *res), void *data)
{
   bool ok = true;
   pthread_mutex_lock(&t->lock);
   for (uint32_t b = 0; b < t->bucket_count && ok; b++) {
      for (struct vs_resource *res = t->buckets[b]; res && ok; res = res->hash_next)
         ok = fn(data, res);
   }
   pthread_mutex_unlock(&t->lock);
   return ok;
}

bool
vs_resource_contains(struct vs_resource_table *t, uint32_t id)
{
   pthread_mutex_lock(&t->lock);
   bool found = find_locked(t, id) != NULL;
   pthread_mutex_unlock(&t->lock);
   return found;
}

struct vs_resource *
vs_resource_get(struct vs_resource_table *t, uint32_t id)
{
   pthread_mutex_lock(&t->lock);
   struct vs_resource *res = find_locked(t, id);
   if (res)
      res->refcount++;
   pthread_mutex_unlock(&t->lock);
   return res;
}

void
vs_resource_put(struct vs_resource_table *t, struct vs_resource *res)
{
   pthread_mutex_lock(&t->lock);
   bool last = --res->refcount == 0;
   pthread_mutex_unlock(&t->lock);
   if (last)
      resource_free(res);
}

bool
vs_resource_remove(struct vs_resource_table *t, uint32_t id)
{
   pthread_mutex_lock(&t->lock);
   struct vs_resource **p = find_slot_locked(t, id);
   struct vs_resource *res = p ? *p : NULL;
   if (res) {
      *p = res->hash_next;
      res->hash_next = NULL;
      t->count--;
   }
   pthread_mutex_unlock(&t->lock);
   if (res)
      vs_resource_put(t, res);
   return res != NULL;
}

bool
vs_resource_range_ok(const struct vs_resource *res, uint64_t offset, uint64_t size)
{
   return offset <= res->size && size <= res->size - offset;
}

#include "venus/resource.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

void
vs_resource_table_init(struct vs_resource_table *t)
{
   pthread_mutex_init(&t->lock, NULL);
   t->list = NULL;
   t->count = 0;
}

static void
resource_free(struct vs_resource *res)
{
   if (res->map)
      munmap(res->map, res->map_size);
   if (res->fd >= 0)
      close(res->fd);
   free(res);
}

void
vs_resource_table_fini(struct vs_resource_table *t)
{
   pthread_mutex_lock(&t->lock);
   struct vs_resource *res = t->list;
   t->list = NULL;
   pthread_mutex_unlock(&t->lock);
   while (res) {
      struct vs_resource *next = res->next;
      vs_resource_put(t, res);
      res = next;
   }
   pthread_mutex_destroy(&t->lock);
}

static struct vs_resource *
find_locked(struct vs_resource_table *t, uint32_t id)
{
   struct vs_resource *res = t->list;
   while (res && res->id != id)
      res = res->next;
   return res;
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
vs_resource_add(struct vs_resource_table *t, uint32_t id, int fd, void *map, size_t size, size_t map_size)
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
   pthread_mutex_lock(&t->lock);
   if (find_locked(t, id)) {
      pthread_mutex_unlock(&t->lock);
      free(res);
      return NULL;
   }
   res->next = t->list;
   t->list = res;
   t->count++;
   pthread_mutex_unlock(&t->lock);
   return res;
}

struct vs_resource *
vs_resource_create_shmem(struct vs_resource_table *t, uint32_t id, size_t size)
{
   if (size == 0 || id == 0 || vs_resource_contains(t, id))
      return NULL;
   size_t page = os_page_size();
   size_t map_size = (size + page - 1) & ~(page - 1);
   int fd = os_shm_create("venus-shmem", map_size);
   if (fd < 0)
      return NULL;
   void *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   if (map == MAP_FAILED) {
      close(fd);
      return NULL;
   }
   struct vs_resource *res = vs_resource_add(t, id, fd, map, size, map_size);
   if (!res) {
      munmap(map, map_size);
      close(fd);
      return NULL;
   }
   res->is_shmem = true;
   return res;
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
   struct vs_resource **p = &t->list;
   while (*p && (*p)->id != id)
      p = &(*p)->next;
   struct vs_resource *res = *p;
   if (res) {
      *p = res->next;
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

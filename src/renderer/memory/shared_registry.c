/* SPDX-License-Identifier: MIT */
#include "renderer/memory/shared_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "renderer/renderer_state.h"
#include "os/os.h"
#include "base/log.h"

struct vs_shared_entry {
   struct vs_shared_registry *registry;
   struct vs_shared_entry *prev, *next;
   struct vs_device *dev;
   uint32_t ctx_id;
   uint64_t st_dev, st_ino;
   void *map;
   size_t size;
   vs_shared_refresh_fn refresh;
   void *refresh_data;
   uint32_t pins;
   bool going;  /* unregistering: its GONE may be out, so it is found no more */
   bool parked; /* a restore's: acquire finds it no more, vs_shared_known does */
   uint64_t id; /* as the publisher was told */
   /* A worker's entry, in the server: */
   const struct vs_shared_remote_ops *remote_ops;
   void *remote;
   bool listed; /* false once unregister_remote hid it */
};

struct vs_shared_registry {
   pthread_mutex_t lock;
   pthread_cond_t unpinned;
   struct vs_shared_entry *head;
   uint32_t count;
   uint64_t next_id;
   struct vs_shared_publisher publisher;
};

struct vs_shared_registry *
vs_shared_registry_create(void)
{
   struct vs_shared_registry *reg = calloc(1, sizeof(*reg));
   if (!reg)
      return NULL;
   pthread_mutex_init(&reg->lock, NULL);
   pthread_cond_init(&reg->unpinned, NULL);
   return reg;
}

void
vs_shared_registry_publish(struct vs_shared_registry *reg, const struct vs_shared_publisher *publisher)
{
   reg->publisher = *publisher;
}

void
vs_shared_registry_destroy(struct vs_shared_registry *reg)
{
   if (!reg)
      return;
   pthread_cond_destroy(&reg->unpinned);
   pthread_mutex_destroy(&reg->lock);
   free(reg);
}

static void
link_entry(struct vs_shared_registry *reg, struct vs_shared_entry *e)
{
   pthread_mutex_lock(&reg->lock);
   if (!e->id)
      e->id = ++reg->next_id;
   e->listed = true;
   e->next = reg->head;
   if (reg->head)
      reg->head->prev = e;
   reg->head = e;
   reg->count++;
   pthread_mutex_unlock(&reg->lock);
}

/* Under the lock. */
static void
unlink_entry(struct vs_shared_registry *reg, struct vs_shared_entry *e)
{
   if (e->prev)
      e->prev->next = e->next;
   else
      reg->head = e->next;
   if (e->next)
      e->next->prev = e->prev;
   e->listed = false;
   reg->count--;
}

struct vs_shared_entry *
vs_shared_register(struct vs_shared_registry *reg, struct vs_device *dev, uint32_t ctx_id, int fd, void *map,
                   size_t size, vs_shared_refresh_fn refresh, void *refresh_data)
{
   struct stat st;
   if (!reg || fd < 0 || !map || fstat(fd, &st) != 0)
      return NULL;
   struct vs_shared_entry *e = calloc(1, sizeof(*e));
   if (!e)
      return NULL;
   *e = (struct vs_shared_entry){ .registry = reg, .dev = dev, .ctx_id = ctx_id, .st_dev = (uint64_t)st.st_dev,
                                  .st_ino = (uint64_t)st.st_ino, .map = map, .size = size,
                                  .refresh = refresh, .refresh_data = refresh_data };
   /* Announced before it can be found: a thread that finds it may tell
    * the server of it (a VM resource on it), which must come after. */
   pthread_mutex_lock(&reg->lock);
   e->id = ++reg->next_id;
   pthread_mutex_unlock(&reg->lock);
   if (reg->publisher.born)
      reg->publisher.born(reg->publisher.data, e->id, fd, size < (uint64_t)st.st_size ? size : (size_t)st.st_size);
   link_entry(reg, e);
   return e;
}

struct vs_shared_entry *
vs_shared_register_remote(struct vs_shared_registry *reg, uint32_t ctx_id, uint64_t st_dev, uint64_t st_ino,
                          void *map, size_t size, uint64_t entry_id, const struct vs_shared_remote_ops *ops,
                          void *remote)
{
   struct vs_shared_entry *e = calloc(1, sizeof(*e));
   if (!e)
      return NULL;
   *e = (struct vs_shared_entry){ .registry = reg, .ctx_id = ctx_id, .st_dev = st_dev, .st_ino = st_ino,
                                  .map = map, .size = size, .remote_ops = ops, .remote = remote,
                                  .id = entry_id /* the worker's, which requests to it name */ };
   link_entry(reg, e);
   return e;
}

void
vs_shared_unregister(struct vs_shared_entry *e)
{
   if (!e)
      return;
   struct vs_shared_registry *reg = e->registry;
   /* First, so that the server drops its readers' pins (their release
    * comes back as requests to this process). */
   pthread_mutex_lock(&reg->lock);
   e->going = true;
   pthread_mutex_unlock(&reg->lock);
   if (reg->publisher.gone)
      reg->publisher.gone(reg->publisher.data, e->id);
   pthread_mutex_lock(&reg->lock);
   while (e->pins)
      pthread_cond_wait(&reg->unpinned, &reg->lock);
   unlink_entry(reg, e);
   pthread_mutex_unlock(&reg->lock);
   free(e);
}

void
vs_shared_park(struct vs_shared_entry *e)
{
   if (!e)
      return;
   struct vs_shared_registry *reg = e->registry;
   pthread_mutex_lock(&reg->lock);
   e->parked = true;
   while (e->pins)
      pthread_cond_wait(&reg->unpinned, &reg->lock);
   pthread_mutex_unlock(&reg->lock);
}

void
vs_shared_resume(struct vs_shared_entry *e, struct vs_device *dev)
{
   if (!e)
      return;
   struct vs_shared_registry *reg = e->registry;
   pthread_mutex_lock(&reg->lock);
   e->dev = dev;
   e->parked = false;
   pthread_mutex_unlock(&reg->lock);
}

void
vs_shared_unregister_remote(struct vs_shared_entry *e)
{
   struct vs_shared_registry *reg = e->registry;
   pthread_mutex_lock(&reg->lock);
   unlink_entry(reg, e);
   bool unpinned = !e->pins;
   pthread_mutex_unlock(&reg->lock);
   if (unpinned) {
      e->remote_ops->free(e->remote, e->map, e->size);
      free(e);
   }
}

uint32_t
vs_shared_registry_count(struct vs_shared_registry *reg)
{
   pthread_mutex_lock(&reg->lock);
   uint32_t n = reg->count;
   pthread_mutex_unlock(&reg->lock);
   return n;
}

/* Under the lock. */
static void
pin(struct vs_shared_entry *e, struct vs_shared_view *out)
{
   if (!e)
      return;
   e->pins++;
   out->entry = e;
   out->map = e->map;
   out->size = e->size;
   out->ctx_id = e->ctx_id;
}

bool
vs_shared_acquire(struct vs_shared_registry *reg, uint64_t st_dev, uint64_t st_ino, struct vs_shared_view *out)
{
   *out = (struct vs_shared_view){ 0 };
   pthread_mutex_lock(&reg->lock);
   struct vs_shared_entry *e = reg->head;
   while (e && (e->going || e->parked || !(e->st_dev == st_dev && e->st_ino == st_ino)))
      e = e->next;
   pin(e, out);
   pthread_mutex_unlock(&reg->lock);
   return e != NULL;
}

bool
vs_shared_known(struct vs_shared_registry *reg, uint64_t st_dev, uint64_t st_ino, size_t *size)
{
   pthread_mutex_lock(&reg->lock);
   struct vs_shared_entry *e = reg->head;
   while (e && (e->going || !(e->st_dev == st_dev && e->st_ino == st_ino)))
      e = e->next;
   if (e)
      *size = e->size;
   pthread_mutex_unlock(&reg->lock);
   return e != NULL;
}

bool
vs_shared_acquire_id(struct vs_shared_registry *reg, uint64_t entry_id, struct vs_shared_view *out)
{
   *out = (struct vs_shared_view){ 0 };
   pthread_mutex_lock(&reg->lock);
   struct vs_shared_entry *e = reg->head;
   while (e && (e->going || e->parked || e->id != entry_id))
      e = e->next;
   pin(e, out);
   pthread_mutex_unlock(&reg->lock);
   return e != NULL;
}

static bool fence_queues(struct vs_shared_view *view);

void
vs_shared_mark(struct vs_shared_view *view)
{
   struct vs_shared_entry *e = view->entry;
   if (e->remote_ops) {
      /* Marked even when the request failed (remote_view stays 0): then
       * fence_wait fails, and the frame is not shown. */
      view->marked = true;
      if (!e->remote_ops->mark(e->remote, e->id, &view->remote_view))
         view->remote_view = 0;
      return;
   }
   const struct vs_work_hooks *work = &view->entry->dev->renderer->work;
   view->work.count = 0;
   if (work->mark)
      work->mark(work->data, &view->work);
   view->marked = true;
   /* Already there (Mesa's default present waited for its queue): fence
    * now, so the fences cover no later work of the client. */
   if (!work->reached || work->reached(work->data, &view->work))
      view->fenced = fence_queues(view);
}

static bool
parked(struct vs_shared_entry *e)
{
   pthread_mutex_lock(&e->registry->lock);
   const bool parked = e->parked;
   pthread_mutex_unlock(&e->registry->lock);
   return parked;
}

/* The rings usually reach the marks within microseconds of the commit (the
 * client wrote its submissions just before): poll, with short sleeps. A
 * restore that parks the entry meanwhile holds the rings still: false at
 * once. */
static bool
wait_for_marks(struct vs_shared_view *view, uint64_t timeout_ns)
{
   const struct vs_work_hooks *work = &view->entry->dev->renderer->work;
   if (!work->reached || !view->work.count)
      return true;
   uint64_t start = os_now_ns();
   uint64_t sleep_ns = 2000;
   while (!work->reached(work->data, &view->work)) {
      if (os_now_ns() - start >= timeout_ns || parked(view->entry))
         return false;
      struct timespec ts = { 0, (long)sleep_ns };
      nanosleep(&ts, NULL);
      if (sleep_ns < 200000)
         sleep_ns *= 2;
   }
   return true;
}

/* Fences every queue of the owning device now. False on a host error. */
static bool
fence_queues(struct vs_shared_view *view)
{
   struct vs_device *dev = view->entry->dev;
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   for (uint32_t i = 0; i < dev->queue_count && view->fence_count < VS_SHARED_MAX_FENCES; i++) {
      VkFence fence;
      if (dev->dt.CreateFence(dev->host, &fence_info, NULL, &fence) != VK_SUCCESS)
         return false;
      /* Under the queue's lock, like the rings' submits: this one lands
       * after every batch the rings have submitted so far. */
      if (vs_queue_submit(&dev->queues[i], 0, NULL, fence) != VK_SUCCESS) {
         dev->dt.DestroyFence(dev->host, fence, NULL);
         return false;
      }
      view->fences[view->fence_count++] = (uint64_t)fence;
   }
   return dev->queue_count <= VS_SHARED_MAX_FENCES;
}

bool
vs_shared_fence_wait(struct vs_shared_view *view, uint64_t timeout_ns)
{
   struct vs_shared_entry *e = view->entry;
   if (e->remote_ops) {
      if (view->marked && !view->remote_view)
         return false;
      return e->remote_ops->fence_wait(e->remote, e->id, view->remote_view, timeout_ns, &view->refreshed);
   }
   if (view->marked && !view->fenced) {
      if (!wait_for_marks(view, timeout_ns)) {
         if (!parked(e))
            vs_warn(view->ctx_id, "display: the client's rings did not reach its commit within %llu ms",
                    (unsigned long long)(timeout_ns / 1000000));
         return false;
      }
      if (!fence_queues(view))
         return false;
   }
   if (view->fence_count) {
      VkFence fences[VS_SHARED_MAX_FENCES];
      for (uint32_t i = 0; i < view->fence_count; i++)
         fences[i] = (VkFence)view->fences[i];
      if (e->dev->dt.WaitForFences(e->dev->host, view->fence_count, fences, VK_TRUE, timeout_ns) != VK_SUCCESS)
         return false;
   }
   if (!e->refresh)
      return true;
   view->refreshed = true;
   return e->refresh(e->refresh_data, timeout_ns);
}

void
vs_shared_release(struct vs_shared_view *view)
{
   if (!view->entry)
      return;
   struct vs_shared_entry *e = view->entry;
   if (e->remote_ops) {
      if (view->remote_view)
         e->remote_ops->release(e->remote, view->remote_view);
      struct vs_shared_registry *reg = e->registry;
      pthread_mutex_lock(&reg->lock);
      bool last = --e->pins == 0 && !e->listed;
      pthread_mutex_unlock(&reg->lock);
      if (last) {
         e->remote_ops->free(e->remote, e->map, e->size);
         free(e);
      }
      view->entry = NULL;
      return;
   }
   struct vs_device *dev = view->entry->dev;
   for (uint32_t i = 0; i < view->fence_count; i++) {
      VkFence fence = (VkFence)view->fences[i];
      /* Destroying a pending fence is undefined; one still pending after a
       * second more is left to the device (a queue blocked for good). */
      if (dev->dt.WaitForFences(dev->host, 1, &fence, VK_TRUE, 1000000000ull) == VK_SUCCESS)
         dev->dt.DestroyFence(dev->host, fence, NULL);
      else
         vs_warn(view->ctx_id, "display: a queue stays blocked; leaking one host fence");
   }
   view->fence_count = 0;
   struct vs_shared_registry *reg = view->entry->registry;
   pthread_mutex_lock(&reg->lock);
   view->entry->pins--;
   pthread_cond_broadcast(&reg->unpinned);
   pthread_mutex_unlock(&reg->lock);
   view->entry = NULL;
}

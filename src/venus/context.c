#include "venus/context_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch/instance.h"
#include "memory/memory.h"
#include "os/os.h"
#include "util/log.h"
#include "venus/ring.h"

struct vs_context *
vs_context_create(uint32_t ctx_id, const char *debug_name)
{
   struct vs_context *ctx = calloc(1, sizeof(*ctx));
   if (!ctx)
      return NULL;
   ctx->id = ctx_id;
   snprintf(ctx->name, sizeof(ctx->name), "%s", debug_name ? debug_name : "");
   atomic_init(&ctx->fatal, false);
   vs_object_table_init(&ctx->objects);
   vs_resource_table_init(&ctx->resources);
   vs_dispatch_init(&ctx->dispatch, ctx, NULL);
   pthread_mutex_init(&ctx->rings_lock, NULL);
   pthread_mutex_init(&ctx->monitor_lock, NULL);
   os_cond_init(&ctx->monitor_cond);
   pthread_mutex_init(&ctx->timeline_lock, NULL);
   pthread_mutex_init(&ctx->memory_lock, NULL);
   vs_info(ctx_id, "context created for \"%s\"", ctx->name);
   return ctx;
}

uint32_t
vs_context_id(const struct vs_context *ctx)
{
   return ctx->id;
}

bool
vs_context_is_fatal(const struct vs_context *ctx)
{
   return atomic_load(&ctx->fatal);
}

void
vs_context_set_fatal(struct vs_context *ctx, const char *reason)
{
   bool was = atomic_exchange(&ctx->fatal, true);
   if (was)
      return;
   vs_error(ctx->id, "dropping client: %s", reason);
   pthread_mutex_lock(&ctx->rings_lock);
   for (struct vs_ring *r = ctx->rings; r; r = r->next)
      vs_ring_set_fatal(r);
   pthread_mutex_unlock(&ctx->rings_lock);
}

static void
stop_monitor(struct vs_context *ctx)
{
   pthread_mutex_lock(&ctx->monitor_lock);
   bool running = ctx->monitor_running;
   ctx->monitor_stop = true;
   pthread_cond_broadcast(&ctx->monitor_cond);
   pthread_mutex_unlock(&ctx->monitor_lock);
   if (running)
      pthread_join(ctx->monitor_thread, NULL);
}

void
vs_context_destroy(struct vs_context *ctx)
{
   if (!ctx)
      return;
   /* Rings first: nothing may run guest commands while objects go away. */
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring *rings = ctx->rings;
   ctx->rings = NULL;
   pthread_mutex_unlock(&ctx->rings_lock);
   while (rings) {
      struct vs_ring *next = rings->next;
      vs_ring_destroy(rings);
      rings = next;
   }
   stop_monitor(ctx);

   uint32_t held = ctx->objects.count;
   vs_instance_destroy_all(ctx);
   vs_dispatch_fini(&ctx->dispatch);
   vs_object_table_fini(&ctx->objects);
   vs_resource_table_fini(&ctx->resources);
   pthread_mutex_destroy(&ctx->timeline_lock);
   pthread_mutex_destroy(&ctx->memory_lock);
   pthread_cond_destroy(&ctx->monitor_cond);
   pthread_mutex_destroy(&ctx->monitor_lock);
   pthread_mutex_destroy(&ctx->rings_lock);
   vs_info(ctx->id, "context destroyed: %u host objects released, %llu live in server", held,
           (unsigned long long)vs_object_live_count());
   free(ctx);
}

bool
vs_context_create_blob(struct vs_context *ctx, uint32_t type, uint32_t flags, uint64_t size,
                       uint64_t blob_id, uint32_t *res_id, int *fd)
{
   if (type != VS_BLOB_TYPE_HOST3D) {
      vs_context_set_fatal(ctx, "blob type other than HOST3D requested");
      return false;
   }
   if (blob_id == 0 && flags == VS_BLOB_FLAG_MAPPABLE) {
      /* Rings, reply streams and command-buffer pools: bounded so one client
       * cannot take all host memory in one request. */
      if (size == 0 || size > (1ull << 32)) {
         vs_context_set_fatal(ctx, "shared-memory blob size out of range");
         return false;
      }
      struct vs_resource *res = vs_resource_create_shmem(&ctx->resources, (size_t)size);
      if (!res) {
         vs_context_set_fatal(ctx, "cannot create shared memory for a blob");
         return false;
      }
      *fd = dup(res->fd);
      if (*fd < 0) {
         vs_resource_remove(&ctx->resources, res->id);
         vs_context_set_fatal(ctx, "cannot duplicate a blob fd");
         return false;
      }
      *res_id = res->id;
      vs_debug(ctx->id, "resource %u: %llu bytes of shared memory", res->id, (unsigned long long)size);
      return true;
   }
   return vs_memory_export_blob(ctx, flags, size, blob_id, res_id, fd);
}

void
vs_context_unref_resource(struct vs_context *ctx, uint32_t res_id)
{
   if (!vs_resource_remove(&ctx->resources, res_id))
      vs_warn(ctx->id, "unref of unknown resource %u ignored", res_id);
}

bool
vs_context_submit(struct vs_context *ctx, const void *cmds, size_t size)
{
   return vs_dispatch_stream(&ctx->dispatch, cmds, size, NULL, NULL);
}

bool
vs_context_submit_fence(struct vs_context *ctx, uint32_t ring_idx, vs_retire_fn retire, void *data)
{
   if (ring_idx >= VS_MAX_TIMELINES) {
      vs_context_set_fatal(ctx, "fence on a timeline out of range");
      return false;
   }
   if (ring_idx == 0) {
      retire(data);
      return true;
   }
   pthread_mutex_lock(&ctx->timeline_lock);
   struct vs_object *queue = ctx->timeline_queue[ring_idx];
   pthread_mutex_unlock(&ctx->timeline_lock);
   if (!queue) {
      vs_context_set_fatal(ctx, "fence on a timeline with no queue bound");
      return false;
   }
   return vs_queue_submit_fence(ctx, queue, retire, data);
}

struct vs_ring *
vs_context_find_ring(struct vs_context *ctx, uint64_t ring_id)
{
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring *r = ctx->rings;
   while (r && r->id != ring_id)
      r = r->next;
   pthread_mutex_unlock(&ctx->rings_lock);
   return r;
}

void
vs_context_add_ring(struct vs_context *ctx, struct vs_ring *ring)
{
   pthread_mutex_lock(&ctx->rings_lock);
   ring->next = ctx->rings;
   ctx->rings = ring;
   pthread_mutex_unlock(&ctx->rings_lock);
}

struct vs_ring *
vs_context_remove_ring(struct vs_context *ctx, uint64_t ring_id)
{
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring **p = &ctx->rings;
   while (*p && (*p)->id != ring_id)
      p = &(*p)->next;
   struct vs_ring *r = *p;
   if (r)
      *p = r->next;
   pthread_mutex_unlock(&ctx->rings_lock);
   return r;
}

static void *
monitor_thread(void *arg)
{
   struct vs_context *ctx = arg;
   os_thread_set_name("vs-monitor");
   pthread_mutex_lock(&ctx->monitor_lock);
   while (!ctx->monitor_stop) {
      pthread_mutex_lock(&ctx->rings_lock);
      for (struct vs_ring *r = ctx->rings; r; r = r->next) {
         if (r->monitor_period_us)
            vs_ring_set_alive(r);
      }
      pthread_mutex_unlock(&ctx->rings_lock);
      os_cond_timedwait_ns(&ctx->monitor_cond, &ctx->monitor_lock,
                           (uint64_t)ctx->monitor_period_us * 1000u);
   }
   pthread_mutex_unlock(&ctx->monitor_lock);
   return NULL;
}

void
vs_context_monitor_rings(struct vs_context *ctx, uint32_t period_us)
{
   /* Report at twice the rate asked for: the guest's check is not aligned
    * with our timer. */
   uint32_t want = period_us / 2 ? period_us / 2 : 1;
   pthread_mutex_lock(&ctx->monitor_lock);
   if (!ctx->monitor_running) {
      ctx->monitor_period_us = want;
      ctx->monitor_running = pthread_create(&ctx->monitor_thread, NULL, monitor_thread, ctx) == 0;
   } else if (want < ctx->monitor_period_us) {
      ctx->monitor_period_us = want;
      pthread_cond_broadcast(&ctx->monitor_cond);
   }
   pthread_mutex_unlock(&ctx->monitor_lock);
}

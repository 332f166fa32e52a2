/* SPDX-License-Identifier: MIT */
/* A context's own part of a snapshot (context_state.h): what a fresh
 * worker needs besides the replay and the renderer's state to serve the
 * same guest. Its resources by their fds (the guest maps the same pages),
 * its rings by their layouts and the heads they reached, and the reply
 * window of each dispatcher. Read back, every id, size and offset is
 * checked again as when the guest first gave it: the writer may be a
 * worker its guest owns. */
#include "context/context_state.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/parcel.h"
#include "context/ring.h"
#include "renderer/memory/memory_state.h"

#define SNAPSHOT_RESOURCE_SHMEM 0x1u
#define SNAPSHOT_RESOURCE_FD 0x2u
/* id, flags, size, memory id (and an fd's index) */
#define SNAPSHOT_RESOURCE_BYTES 24
/* id, resource, monitor period, layout, head, virtqueue seqno, reply window */
#define SNAPSHOT_RING_BYTES (8 + 4 + 4 + 10 * 8 + 4 + 8 + 28)
#define SNAPSHOT_REPLY_BYTES 28

static bool
put_resource(void *data, struct vs_resource *res)
{
   struct vs_parcel *out = data;
   const bool has_fd = res->fd >= 0;
   vs_parcel_put_u32(out, res->id);
   vs_parcel_put_u32(out, (res->is_shmem ? SNAPSHOT_RESOURCE_SHMEM : 0) | (has_fd ? SNAPSHOT_RESOURCE_FD : 0));
   vs_parcel_put_u64(out, res->size);
   vs_parcel_put_u64(out, res->memory_id);
   if (has_fd)
      vs_parcel_put_fd(out, res->fd);
   return !out->failed;
}

bool
vs_context_write_resources(struct vs_context *ctx, struct vs_parcel *out, char *why, size_t why_size)
{
   vs_parcel_put_u32(out, ctx->resources.count);
   if (!vs_resource_table_each(&ctx->resources, put_resource, out) || out->failed) {
      snprintf(why, why_size, "out of memory for its resources");
      return false;
   }
   return true;
}

bool
vs_context_read_resources(struct vs_context *ctx, struct vs_parcel *in, char *why, size_t why_size)
{
   uint32_t count;
   if (!vs_parcel_take_count(in, &count, SNAPSHOT_RESOURCE_BYTES)) {
      snprintf(why, why_size, "its snapshot is bad: its resources");
      return false;
   }
   for (uint32_t i = 0; i < count; i++) {
      uint32_t id = 0, flags = 0;
      uint64_t size = 0, memory_id = 0;
      vs_parcel_take_u32(in, &id);
      vs_parcel_take_u32(in, &flags);
      vs_parcel_take_u64(in, &size);
      vs_parcel_take_u64(in, &memory_id);
      const int fd = flags & SNAPSHOT_RESOURCE_FD ? vs_parcel_take_fd(in) : -1;
      if (in->failed || (flags & ~(SNAPSHOT_RESOURCE_SHMEM | SNAPSHOT_RESOURCE_FD)) ||
          ((flags & SNAPSHOT_RESOURCE_FD) && fd < 0) || ((flags & SNAPSHOT_RESOURCE_SHMEM) && memory_id)) {
         if (fd >= 0)
            close(fd);
         snprintf(why, why_size, "its snapshot is bad: resource %u", id);
         return false;
      }
      char reason[160];
      if (!vs_context_adopt_resource(ctx, id, fd, size, memory_id, flags & SNAPSHOT_RESOURCE_SHMEM, reason,
                                     sizeof(reason))) {
         snprintf(why, why_size, "its snapshot is bad: %s", reason);
         return false;
      }
   }
   return true;
}

static bool
watch_region(void *data, struct vs_resource *res)
{
   const struct vs_kept_regions *regions = data;
   for (uint32_t i = 0; res->memory_id && i < regions->count; i++) {
      if (regions->items[i].memory_id == res->memory_id)
         res->watch = regions->items[i].map;
   }
   return true;
}

void
vs_context_watch_regions(struct vs_context *ctx, const struct vs_kept_regions *regions)
{
   vs_resource_table_each(&ctx->resources, watch_region, (void *)regions);
}

static void
put_reply(struct vs_parcel *out, const struct vs_runner *runner)
{
   vs_parcel_put_u32(out, runner->reply_res ? runner->reply_res->id : 0);
   vs_parcel_put_u64(out, runner->reply_offset);
   vs_parcel_put_u64(out, runner->reply_size);
   vs_parcel_put_u64(out, runner->reply_pos);
}

bool
vs_context_write_rings(struct vs_context *ctx, struct vs_parcel *out, char *why, size_t why_size)
{
   put_reply(out, &ctx->dispatch);
   pthread_mutex_lock(&ctx->rings_lock);
   vs_parcel_put_u32(out, ctx->ring_count);
   for (const struct vs_ring *r = ctx->rings; r; r = r->next) {
      const struct vs_ring_layout *l = &r->layout;
      vs_parcel_put_u64(out, r->id);
      vs_parcel_put_u32(out, r->res->id);
      vs_parcel_put_u32(out, r->monitor_period_us);
      const uint64_t layout[10] = { l->offset, l->size, l->head_offset, l->tail_offset, l->status_offset,
                                    l->buffer_offset, l->buffer_size, l->extra_offset, l->extra_size,
                                    l->idle_timeout_ns };
      for (unsigned i = 0; i < 10; i++)
         vs_parcel_put_u64(out, layout[i]);
      /* What it ran, and its reply window as that left it: a command
       * (or window change) its thread copied meanwhile waits on the
       * dispatch lock, which the hand-over holds, and is run by the next
       * worker; a transport command that takes no lock (an extra's write,
       * a seqno wait) is run again there, to the same effect. */
      vs_parcel_put_u32(out, atomic_load(&r->published_head));
      vs_parcel_put_u64(out, atomic_load(&r->virtqueue_seqno));
      put_reply(out, &r->dispatch);
   }
   pthread_mutex_unlock(&ctx->rings_lock);
   if (out->failed)
      snprintf(why, why_size, "out of memory for its rings");
   return !out->failed;
}

/* A reply window as vkSetReplyCommandStreamMESA and a seek would set it. */
static bool
take_reply(struct vs_context *ctx, struct vs_parcel *in, struct vs_runner *runner)
{
   uint32_t res_id = 0;
   uint64_t offset = 0, size = 0, pos = 0;
   vs_parcel_take_u32(in, &res_id);
   vs_parcel_take_u64(in, &offset);
   vs_parcel_take_u64(in, &size);
   vs_parcel_take_u64(in, &pos);
   if (in->failed)
      return false;
   if (!res_id)
      return true;
   struct vs_resource *res = vs_resource_get(&ctx->resources, res_id);
   if (!res || !res->is_shmem || !vs_resource_range_ok(res, offset, size) || pos > size) {
      if (res)
         vs_resource_put(&ctx->resources, res);
      return false;
   }
   runner->reply_res = res;
   runner->reply_offset = (size_t)offset;
   runner->reply_size = (size_t)size;
   runner->reply_pos = (size_t)pos;
   return true;
}

bool
vs_context_read_rings(struct vs_context *ctx, struct vs_parcel *in, char *why, size_t why_size)
{
   uint32_t count;
   if (!take_reply(ctx, in, &ctx->dispatch) || !vs_parcel_take_count(in, &count, SNAPSHOT_RING_BYTES)) {
      snprintf(why, why_size, "its snapshot is bad: its reply window or rings");
      return false;
   }
   for (uint32_t i = 0; i < count; i++) {
      uint64_t id = 0, layout[10] = { 0 }, seqno = 0;
      uint32_t res_id = 0, monitor_us = 0, head = 0;
      vs_parcel_take_u64(in, &id);
      vs_parcel_take_u32(in, &res_id);
      vs_parcel_take_u32(in, &monitor_us);
      for (unsigned j = 0; j < 10; j++)
         vs_parcel_take_u64(in, &layout[j]);
      vs_parcel_take_u32(in, &head);
      vs_parcel_take_u64(in, &seqno);
      const struct vs_ring_layout l = {
         .offset = layout[0], .size = layout[1], .head_offset = layout[2], .tail_offset = layout[3],
         .status_offset = layout[4], .buffer_offset = layout[5], .buffer_size = layout[6],
         .extra_offset = layout[7], .extra_size = layout[8], .idle_timeout_ns = layout[9],
      };
      struct vs_resource *res = in->failed || vs_context_find_ring(ctx, id) ? NULL
                                                                            : vs_resource_get(&ctx->resources, res_id);
      const char *bad = res ? NULL : "no such resource, or named twice";
      struct vs_ring *ring = res ? vs_ring_create(ctx, id, res, &l, monitor_us, head, &bad) : NULL;
      if (res && !ring)
         vs_resource_put(&ctx->resources, res);
      if (ring && !vs_context_add_ring(ctx, ring)) {
         vs_ring_destroy(ring);
         ring = NULL;
         bad = "past the ring limit";
      }
      if (!ring) {
         snprintf(why, why_size, "its snapshot is bad: ring 0x%llx: %s", (unsigned long long)id, bad);
         return false;
      }
      vs_ring_submit_virtqueue_seqno(ring, seqno);
      if (monitor_us)
         vs_context_monitor_rings(ctx, monitor_us);
      if (!take_reply(ctx, in, &ring->dispatch)) {
         snprintf(why, why_size, "its snapshot is bad: ring 0x%llx: its reply window", (unsigned long long)id);
         return false;
      }
   }
   return true;
}

/* SPDX-License-Identifier: MIT */
/* The transport commands of VK_MESA_venus_protocol: rings, reply streams,
 * indirect command streams and the seqnos that order the two channels.
 * They act on the context's own state, so they live in this layer and
 * register into the same handler table as the Vulkan families. */
#include <stdio.h>
#include <stdlib.h>

#include "context/context_state.h"
#include "context/ring.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/resource.h"
#include "vn_wire.h"

/* The context a dispatcher belongs to, and its ring (NULL on the context
 * side). */
static struct vs_context *
context_of(struct vs_runner *runner)
{
   return runner->on_ring ? ((struct vs_ring *)runner->owner)->ctx : runner->owner;
}

static struct vs_ring *
ring_of(struct vs_runner *runner)
{
   return runner->on_ring ? runner->owner : NULL;
}

/* Ring management arrives on the context side only; waits on a ring only
 * inside a ring (as Mesa sends them). */
static bool
require_context_side(struct vs_runner *runner, const char *cmd)
{
   if (runner->on_ring) {
      vs_runner_fail(runner, "%s is only valid outside a ring", cmd);
      return false;
   }
   return true;
}

static struct vs_ring *
lookup_ring(struct vs_runner *runner, uint64_t id, const char *cmd)
{
   struct vs_ring *ring = vs_context_find_ring(context_of(runner), id);
   if (!ring)
      vs_runner_fail(runner, "%s: unknown ring 0x%llx", cmd, (unsigned long long)id);
   return ring;
}

static void
vs_exec_vkSetReplyCommandStreamMESA(struct vs_runner *runner,
                                    struct vn_args_vkSetReplyCommandStreamMESA *a)
{
   const VkCommandStreamDescriptionMESA *s = a->pStream;
   if (!s) {
      vs_runner_fail(runner, "vkSetReplyCommandStreamMESA: no stream");
      return;
   }
   struct vs_resource *res = vs_resource_get(runner->resources, s->resourceId);
   if (!res || !res->is_shmem || !vs_resource_range_ok(res, s->offset, s->size)) {
      if (res)
         vs_resource_put(runner->resources, res);
      vs_runner_fail(runner, "vkSetReplyCommandStreamMESA: resource %u range [%zu, +%zu) invalid",
                       s->resourceId, s->offset, s->size);
      return;
   }
   if (runner->reply_res)
      vs_resource_put(runner->resources, runner->reply_res);
   runner->reply_res = res;
   runner->reply_offset = s->offset;
   runner->reply_size = s->size;
   runner->reply_pos = 0;
}

static void
vs_exec_vkSeekReplyCommandStreamMESA(struct vs_runner *runner,
                                     struct vn_args_vkSeekReplyCommandStreamMESA *a)
{
   if (!runner->reply_res || a->position > runner->reply_size) {
      vs_runner_fail(runner, "vkSeekReplyCommandStreamMESA: position %zu outside the window", a->position);
      return;
   }
   runner->reply_pos = a->position;
}

/* The largest stream copy a dispatcher keeps between calls. */
#define STREAM_COPY_KEEP (4u << 20)

/* The dispatcher's stream copy buffer, at least size bytes; NULL (why
 * says why) past the client's shared-memory limit or out of memory. The
 * copy is charged to that limit while kept: every ring may hold one, and
 * a stream can be as large as its resource. */
static void *
stream_copy(struct vs_runner *runner, size_t size, char *why, size_t why_size)
{
   if (size <= runner->stream_copy_cap)
      return runner->stream_copy;
   vs_runner_release_stream_copy(runner);
   struct vs_context *ctx = context_of(runner);
   if (!vs_fair_take(&ctx->shmem, size, NULL, 0)) {
      snprintf(why, why_size, "its private copy would pass the shared-memory limit (%llu bytes held, limit %llu)",
               (unsigned long long)atomic_load(&ctx->shmem.held), (unsigned long long)ctx->limits.shmem_bytes);
      return NULL;
   }
   runner->stream_copy = malloc(size);
   if (!runner->stream_copy) {
      vs_fair_give(&ctx->shmem, size);
      snprintf(why, why_size, "out of memory for its private copy");
      return NULL;
   }
   runner->stream_copy_cap = size;
   runner->stream_copy_account = &ctx->shmem;
   return runner->stream_copy;
}

static void
vs_exec_vkExecuteCommandStreamsMESA(struct vs_runner *runner,
                                    struct vn_args_vkExecuteCommandStreamsMESA *a)
{
   if (runner->in_execute_streams || a->streamCount == 0 || !a->pStreams) {
      vs_runner_fail(runner, "vkExecuteCommandStreamsMESA: nested or empty");
      return;
   }
   /* The nested streams decode into an arena of their own, so the
    * arguments stay where they are meanwhile. */
   const VkCommandStreamDescriptionMESA *streams = a->pStreams;
   const size_t *positions = a->pReplyPositions;
   runner->in_execute_streams = true;
   struct vs_arena outer = runner->arena;
   runner->arena = runner->stream_arena;
   for (uint32_t i = 0; i < a->streamCount && !runner->failed; i++) {
      if (positions) {
         if (!runner->reply_res || positions[i] > runner->reply_size) {
            vs_runner_fail(runner, "vkExecuteCommandStreamsMESA: bad reply position");
            break;
         }
         runner->reply_pos = positions[i];
      }
      if (streams[i].size == 0)
         continue;
      struct vs_resource *res = vs_resource_get(runner->resources, streams[i].resourceId);
      if (!res || !res->is_shmem || !vs_resource_range_ok(res, streams[i].offset, streams[i].size)) {
         if (res)
            vs_resource_put(runner->resources, res);
         vs_runner_fail(runner, "vkExecuteCommandStreamsMESA: stream %u (resource %u) invalid", i,
                          streams[i].resourceId);
         break;
      }
      /* A private copy: the guest must not change commands under the decoder. */
      char why[160];
      void *copy = stream_copy(runner, streams[i].size, why, sizeof(why));
      if (copy) {
         memcpy(copy, res->map + streams[i].offset, streams[i].size);
         vs_runner_stream(runner, copy, streams[i].size, NULL, NULL);
      } else {
         vs_runner_fail(runner, "vkExecuteCommandStreamsMESA: stream %u of %zu bytes (resource %u): %s", i,
                        streams[i].size, streams[i].resourceId, why);
      }
      vs_resource_put(runner->resources, res);
   }
   runner->stream_arena = runner->arena;
   runner->arena = outer;
   runner->in_execute_streams = false;
   /* A rare huge stream's copy goes; the usual ones keep theirs. */
   if (runner->stream_copy_cap > STREAM_COPY_KEEP)
      vs_runner_release_stream_copy(runner);
}

static void
vs_exec_vkCreateRingMESA(struct vs_runner *runner, struct vn_args_vkCreateRingMESA *a)
{
   if (!require_context_side(runner, "vkCreateRingMESA"))
      return;
   const VkRingCreateInfoMESA *info = a->pCreateInfo;
   if (!info) {
      vs_runner_fail(runner, "vkCreateRingMESA: no create info");
      return;
   }
   if (vs_context_find_ring(context_of(runner), a->ring)) {
      vs_runner_fail(runner, "vkCreateRingMESA: ring 0x%llx exists", (unsigned long long)a->ring);
      return;
   }
   uint32_t monitor_us = 0;
   for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA) {
         monitor_us = ((const VkRingMonitorInfoMESA *)s)->maxReportingPeriodMicroseconds;
         if (!monitor_us) {
            vs_runner_fail(runner, "vkCreateRingMESA: monitor period 0");
            return;
         }
      }
      /* VkRingPriorityInfoMESA is a hint; ring threads keep default priority. */
   }
   struct vs_resource *res = vs_resource_get(runner->resources, info->resourceId);
   if (!res) {
      vs_runner_fail(runner, "vkCreateRingMESA: unknown resource %u", info->resourceId);
      return;
   }
   const struct vs_ring_layout layout = {
      .offset = info->offset, .size = info->size,
      .head_offset = info->headOffset, .tail_offset = info->tailOffset,
      .status_offset = info->statusOffset, .buffer_offset = info->bufferOffset,
      .buffer_size = info->bufferSize, .extra_offset = info->extraOffset,
      .extra_size = info->extraSize, .idle_timeout_ns = info->idleTimeout,
   };
   const char *why = NULL;
   struct vs_ring *ring = vs_ring_create(context_of(runner), a->ring, res, &layout, monitor_us, 0, &why);
   if (!ring) {
      vs_resource_put(runner->resources, res);
      vs_runner_fail(runner, "vkCreateRingMESA: %s", why);
      return;
   }
   if (!vs_context_add_ring(context_of(runner), ring)) {
      vs_ring_destroy(ring);
      vs_runner_fail(runner, "vkCreateRingMESA: ring limit reached (%u rings)", context_of(runner)->limits.rings);
      return;
   }
   if (monitor_us)
      vs_context_monitor_rings(context_of(runner), monitor_us);
   vs_debug(runner->ctx_id, "ring 0x%llx created on resource %u (%u-byte buffer)",
            (unsigned long long)a->ring, info->resourceId, ring->buffer_size);
}

static void
vs_exec_vkDestroyRingMESA(struct vs_runner *runner, struct vn_args_vkDestroyRingMESA *a)
{
   if (!require_context_side(runner, "vkDestroyRingMESA"))
      return;
   struct vs_ring *ring = vs_context_remove_ring(context_of(runner), a->ring);
   if (!ring) {
      vs_runner_fail(runner, "vkDestroyRingMESA: unknown ring 0x%llx", (unsigned long long)a->ring);
      return;
   }
   vs_ring_destroy(ring);
}

static void
vs_exec_vkNotifyRingMESA(struct vs_runner *runner, struct vn_args_vkNotifyRingMESA *a)
{
   if (!require_context_side(runner, "vkNotifyRingMESA"))
      return;
   struct vs_ring *ring = lookup_ring(runner, a->ring, "vkNotifyRingMESA");
   if (ring)
      vs_ring_notify(ring);
}

static void
vs_exec_vkWriteRingExtraMESA(struct vs_runner *runner, struct vn_args_vkWriteRingExtraMESA *a)
{
   if (!require_context_side(runner, "vkWriteRingExtraMESA"))
      return;
   struct vs_ring *ring = lookup_ring(runner, a->ring, "vkWriteRingExtraMESA");
   if (ring && !vs_ring_write_extra(ring, a->offset, a->value))
      vs_runner_fail(runner, "vkWriteRingExtraMESA: offset %zu outside the extra region", a->offset);
}

static void
vs_exec_vkSubmitVirtqueueSeqnoMESA(struct vs_runner *runner,
                                   struct vn_args_vkSubmitVirtqueueSeqnoMESA *a)
{
   if (!require_context_side(runner, "vkSubmitVirtqueueSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(runner, a->ring, "vkSubmitVirtqueueSeqnoMESA");
   if (ring)
      vs_ring_submit_virtqueue_seqno(ring, a->seqno);
}

static void
vs_exec_vkWaitVirtqueueSeqnoMESA(struct vs_runner *runner,
                                 struct vn_args_vkWaitVirtqueueSeqnoMESA *a)
{
   if (!runner->on_ring) {
      vs_runner_fail(runner, "vkWaitVirtqueueSeqnoMESA is only valid inside a ring");
      return;
   }
   if (!vs_ring_wait_virtqueue_seqno(ring_of(runner), a->seqno))
      vs_runner_fail(runner, "vkWaitVirtqueueSeqnoMESA: ring stopped while waiting");
}

static void
vs_exec_vkWaitRingSeqnoMESA(struct vs_runner *runner, struct vn_args_vkWaitRingSeqnoMESA *a)
{
   if (!require_context_side(runner, "vkWaitRingSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(runner, a->ring, "vkWaitRingSeqnoMESA");
   if (!ring)
      return;
   if (vs_runner_at_stream_end(runner)) {
      if (!vs_context_defer_ring_wait(context_of(runner), a->ring, (uint32_t)a->seqno))
         vs_runner_fail(runner, "vkWaitRingSeqnoMESA: an earlier ring wait failed");
      return;
   }
   if (!vs_ring_wait_seqno(ring, (uint32_t)a->seqno))
      vs_runner_fail(runner, "vkWaitRingSeqnoMESA: ring 0x%llx can never reach seqno %llu",
                       (unsigned long long)a->ring, (unsigned long long)a->seqno);
}

void
vs_ring_commands_register(struct vn_exec_table *t)
{
   t->vkSetReplyCommandStreamMESA = vs_exec_vkSetReplyCommandStreamMESA;
   t->vkSeekReplyCommandStreamMESA = vs_exec_vkSeekReplyCommandStreamMESA;
   t->vkExecuteCommandStreamsMESA = vs_exec_vkExecuteCommandStreamsMESA;
   t->vkCreateRingMESA = vs_exec_vkCreateRingMESA;
   t->vkDestroyRingMESA = vs_exec_vkDestroyRingMESA;
   t->vkNotifyRingMESA = vs_exec_vkNotifyRingMESA;
   t->vkWriteRingExtraMESA = vs_exec_vkWriteRingExtraMESA;
   t->vkSubmitVirtqueueSeqnoMESA = vs_exec_vkSubmitVirtqueueSeqnoMESA;
   t->vkWaitVirtqueueSeqnoMESA = vs_exec_vkWaitVirtqueueSeqnoMESA;
   t->vkWaitRingSeqnoMESA = vs_exec_vkWaitRingSeqnoMESA;
}

/* SPDX-License-Identifier: MIT */
/* The transport commands of VK_MESA_venus_protocol: rings, reply streams,
 * indirect command streams and the seqnos that order the two channels.
 * They act on the context's own state, so they live in this layer and
 * register into the same handler table as the Vulkan families. */
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
context_of(struct vs_runner *disp)
{
   return disp->on_ring ? ((struct vs_ring *)disp->owner)->ctx : disp->owner;
}

static struct vs_ring *
ring_of(struct vs_runner *disp)
{
   return disp->on_ring ? disp->owner : NULL;
}

/* Ring management arrives on the context side only; waits on a ring only
 * inside a ring (as Mesa sends them). */
static bool
require_context_side(struct vs_runner *disp, const char *cmd)
{
   if (disp->on_ring) {
      vs_runner_fail(disp, "%s is only valid outside a ring", cmd);
      return false;
   }
   return true;
}

static struct vs_ring *
lookup_ring(struct vs_runner *disp, uint64_t id, const char *cmd)
{
   struct vs_ring *ring = vs_context_find_ring(context_of(disp), id);
   if (!ring)
      vs_runner_fail(disp, "%s: unknown ring 0x%llx", cmd, (unsigned long long)id);
   return ring;
}

static void
vs_exec_vkSetReplyCommandStreamMESA(struct vs_runner *disp,
                                    struct vn_args_vkSetReplyCommandStreamMESA *a)
{
   const VkCommandStreamDescriptionMESA *s = a->pStream;
   if (!s) {
      vs_runner_fail(disp, "vkSetReplyCommandStreamMESA: no stream");
      return;
   }
   struct vs_resource *res = vs_resource_get(disp->resources, s->resourceId);
   if (!res || !res->is_shmem || !vs_resource_range_ok(res, s->offset, s->size)) {
      if (res)
         vs_resource_put(disp->resources, res);
      vs_runner_fail(disp, "vkSetReplyCommandStreamMESA: resource %u range [%zu, +%zu) invalid",
                       s->resourceId, s->offset, s->size);
      return;
   }
   if (disp->reply_res)
      vs_resource_put(disp->resources, disp->reply_res);
   disp->reply_res = res;
   disp->reply_offset = s->offset;
   disp->reply_size = s->size;
   disp->reply_pos = 0;
}

static void
vs_exec_vkSeekReplyCommandStreamMESA(struct vs_runner *disp,
                                     struct vn_args_vkSeekReplyCommandStreamMESA *a)
{
   if (!disp->reply_res || a->position > disp->reply_size) {
      vs_runner_fail(disp, "vkSeekReplyCommandStreamMESA: position %zu outside the window", a->position);
      return;
   }
   disp->reply_pos = a->position;
}

/* The largest stream copy a dispatcher keeps between calls. */
#define STREAM_COPY_KEEP (4u << 20)

/* The dispatcher's stream copy buffer, at least size bytes; NULL when out
 * of memory. */
static void *
stream_copy(struct vs_runner *disp, size_t size)
{
   if (size > disp->stream_copy_cap) {
      free(disp->stream_copy);
      disp->stream_copy = malloc(size);
      disp->stream_copy_cap = disp->stream_copy ? size : 0;
   }
   return disp->stream_copy;
}

static void
vs_exec_vkExecuteCommandStreamsMESA(struct vs_runner *disp,
                                    struct vn_args_vkExecuteCommandStreamsMESA *a)
{
   if (disp->in_execute_streams || a->streamCount == 0 || !a->pStreams) {
      vs_runner_fail(disp, "vkExecuteCommandStreamsMESA: nested or empty");
      return;
   }
   /* The nested streams decode into an arena of their own, so the
    * arguments stay where they are meanwhile. */
   const VkCommandStreamDescriptionMESA *streams = a->pStreams;
   const size_t *positions = a->pReplyPositions;
   disp->in_execute_streams = true;
   struct vs_arena outer = disp->arena;
   disp->arena = disp->stream_arena;
   for (uint32_t i = 0; i < a->streamCount && !disp->failed; i++) {
      if (positions) {
         if (!disp->reply_res || positions[i] > disp->reply_size) {
            vs_runner_fail(disp, "vkExecuteCommandStreamsMESA: bad reply position");
            break;
         }
         disp->reply_pos = positions[i];
      }
      if (streams[i].size == 0)
         continue;
      struct vs_resource *res = vs_resource_get(disp->resources, streams[i].resourceId);
      if (!res || !res->is_shmem || !vs_resource_range_ok(res, streams[i].offset, streams[i].size)) {
         if (res)
            vs_resource_put(disp->resources, res);
         vs_runner_fail(disp, "vkExecuteCommandStreamsMESA: stream %u (resource %u) invalid", i,
                          streams[i].resourceId);
         break;
      }
      /* A private copy: the guest must not change commands under the decoder. */
      void *copy = stream_copy(disp, streams[i].size);
      if (copy) {
         memcpy(copy, res->map + streams[i].offset, streams[i].size);
         vs_runner_stream(disp, copy, streams[i].size, NULL, NULL);
      } else {
         vs_runner_fail(disp, "vkExecuteCommandStreamsMESA: out of memory");
      }
      vs_resource_put(disp->resources, res);
   }
   disp->stream_arena = disp->arena;
   disp->arena = outer;
   disp->in_execute_streams = false;
   /* A rare huge stream's copy goes; the usual ones keep theirs. */
   if (disp->stream_copy_cap > STREAM_COPY_KEEP) {
      free(disp->stream_copy);
      disp->stream_copy = NULL;
      disp->stream_copy_cap = 0;
   }
}

static void
vs_exec_vkCreateRingMESA(struct vs_runner *disp, struct vn_args_vkCreateRingMESA *a)
{
   if (!require_context_side(disp, "vkCreateRingMESA"))
      return;
   const VkRingCreateInfoMESA *info = a->pCreateInfo;
   if (!info) {
      vs_runner_fail(disp, "vkCreateRingMESA: no create info");
      return;
   }
   if (vs_context_find_ring(context_of(disp), a->ring)) {
      vs_runner_fail(disp, "vkCreateRingMESA: ring 0x%llx exists", (unsigned long long)a->ring);
      return;
   }
   uint32_t monitor_us = 0;
   for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA) {
         monitor_us = ((const VkRingMonitorInfoMESA *)s)->maxReportingPeriodMicroseconds;
         if (!monitor_us) {
            vs_runner_fail(disp, "vkCreateRingMESA: monitor period 0");
            return;
         }
      }
      /* VkRingPriorityInfoMESA is a hint; ring threads keep default priority. */
   }
   struct vs_resource *res = vs_resource_get(disp->resources, info->resourceId);
   if (!res) {
      vs_runner_fail(disp, "vkCreateRingMESA: unknown resource %u", info->resourceId);
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
   struct vs_ring *ring = vs_ring_create(context_of(disp), a->ring, res, &layout, monitor_us, &why);
   if (!ring) {
      vs_resource_put(disp->resources, res);
      vs_runner_fail(disp, "vkCreateRingMESA: %s", why);
      return;
   }
   if (!vs_context_add_ring(context_of(disp), ring)) {
      vs_ring_destroy(ring);
      vs_runner_fail(disp, "vkCreateRingMESA: ring limit reached (%u rings)", context_of(disp)->limits.rings);
      return;
   }
   if (monitor_us)
      vs_context_monitor_rings(context_of(disp), monitor_us);
   vs_debug(disp->ctx_id, "ring 0x%llx created on resource %u (%u-byte buffer)",
            (unsigned long long)a->ring, info->resourceId, ring->buffer_size);
}

static void
vs_exec_vkDestroyRingMESA(struct vs_runner *disp, struct vn_args_vkDestroyRingMESA *a)
{
   if (!require_context_side(disp, "vkDestroyRingMESA"))
      return;
   struct vs_ring *ring = vs_context_remove_ring(context_of(disp), a->ring);
   if (!ring) {
      vs_runner_fail(disp, "vkDestroyRingMESA: unknown ring 0x%llx", (unsigned long long)a->ring);
      return;
   }
   vs_ring_destroy(ring);
}

static void
vs_exec_vkNotifyRingMESA(struct vs_runner *disp, struct vn_args_vkNotifyRingMESA *a)
{
   if (!require_context_side(disp, "vkNotifyRingMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkNotifyRingMESA");
   if (ring)
      vs_ring_notify(ring);
}

static void
vs_exec_vkWriteRingExtraMESA(struct vs_runner *disp, struct vn_args_vkWriteRingExtraMESA *a)
{
   if (!require_context_side(disp, "vkWriteRingExtraMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkWriteRingExtraMESA");
   if (ring && !vs_ring_write_extra(ring, a->offset, a->value))
      vs_runner_fail(disp, "vkWriteRingExtraMESA: offset %zu outside the extra region", a->offset);
}

static void
vs_exec_vkSubmitVirtqueueSeqnoMESA(struct vs_runner *disp,
                                   struct vn_args_vkSubmitVirtqueueSeqnoMESA *a)
{
   if (!require_context_side(disp, "vkSubmitVirtqueueSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkSubmitVirtqueueSeqnoMESA");
   if (ring)
      vs_ring_submit_virtqueue_seqno(ring, a->seqno);
}

static void
vs_exec_vkWaitVirtqueueSeqnoMESA(struct vs_runner *disp,
                                 struct vn_args_vkWaitVirtqueueSeqnoMESA *a)
{
   if (!disp->on_ring) {
      vs_runner_fail(disp, "vkWaitVirtqueueSeqnoMESA is only valid inside a ring");
      return;
   }
   if (!vs_ring_wait_virtqueue_seqno(ring_of(disp), a->seqno))
      vs_runner_fail(disp, "vkWaitVirtqueueSeqnoMESA: ring stopped while waiting");
}

static void
vs_exec_vkWaitRingSeqnoMESA(struct vs_runner *disp, struct vn_args_vkWaitRingSeqnoMESA *a)
{
   if (!require_context_side(disp, "vkWaitRingSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkWaitRingSeqnoMESA");
   if (!ring)
      return;
   if (vs_runner_at_stream_end(disp)) {
      if (!vs_context_defer_ring_wait(context_of(disp), a->ring, (uint32_t)a->seqno))
         vs_runner_fail(disp, "vkWaitRingSeqnoMESA: an earlier ring wait failed");
      return;
   }
   if (!vs_ring_wait_seqno(ring, (uint32_t)a->seqno))
      vs_runner_fail(disp, "vkWaitRingSeqnoMESA: ring 0x%llx can never reach seqno %llu",
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

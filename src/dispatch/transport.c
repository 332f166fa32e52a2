/* VK_MESA_venus_protocol transport commands: rings, reply streams,
 * indirect command streams and the seqnos that order the two channels. */
#include "dispatch/dispatch.h"

#include <stdlib.h>

#include "sync/sync_fd.h"
#include "util/log.h"
#include "venus/context_state.h"
#include "venus/resource.h"
#include "venus/ring.h"
#include "vn_wire.h"

/* Ring management arrives on the context side only; waits on a ring only
 * inside a ring (as Mesa sends them). */
static bool
require_context_side(struct vs_dispatch *disp, const char *cmd)
{
   if (disp->ring) {
      vs_dispatch_fail(disp, "%s is only valid outside a ring", cmd);
      return false;
   }
   return true;
}

static struct vs_ring *
lookup_ring(struct vs_dispatch *disp, uint64_t id, const char *cmd)
{
   struct vs_ring *ring = vs_context_find_ring(disp->ctx, id);
   if (!ring)
      vs_dispatch_fail(disp, "%s: unknown ring 0x%llx", cmd, (unsigned long long)id);
   return ring;
}

void
vs_exec_vkSetReplyCommandStreamMESA(struct vs_dispatch *disp,
                                    struct vn_args_vkSetReplyCommandStreamMESA *a)
{
   const VkCommandStreamDescriptionMESA *s = a->pStream;
   if (!s) {
      vs_dispatch_fail(disp, "vkSetReplyCommandStreamMESA: no stream");
      return;
   }
   struct vs_resource *res = vs_resource_get(&disp->ctx->resources, s->resourceId);
   if (!res || !res->is_shmem || !vs_resource_range_ok(res, s->offset, s->size)) {
      if (res)
         vs_resource_put(&disp->ctx->resources, res);
      vs_dispatch_fail(disp, "vkSetReplyCommandStreamMESA: resource %u range [%zu, +%zu) invalid",
                       s->resourceId, s->offset, s->size);
      return;
   }
   if (disp->reply_res)
      vs_resource_put(&disp->ctx->resources, disp->reply_res);
   disp->reply_res = res;
   disp->reply_offset = s->offset;
   disp->reply_size = s->size;
   disp->reply_pos = 0;
}

void
vs_exec_vkSeekReplyCommandStreamMESA(struct vs_dispatch *disp,
                                     struct vn_args_vkSeekReplyCommandStreamMESA *a)
{
   if (!disp->reply_res || a->position > disp->reply_size) {
      vs_dispatch_fail(disp, "vkSeekReplyCommandStreamMESA: position %zu outside the window", a->position);
      return;
   }
   disp->reply_pos = a->position;
}

void
vs_exec_vkExecuteCommandStreamsMESA(struct vs_dispatch *disp,
                                    struct vn_args_vkExecuteCommandStreamsMESA *a)
{
   if (disp->in_execute_streams || a->streamCount == 0 || !a->pStreams) {
      vs_dispatch_fail(disp, "vkExecuteCommandStreamsMESA: nested or empty");
      return;
   }
   /* The decoded arguments live in the dispatcher's arena, which the nested
    * streams reuse: take what we need first. */
   uint32_t count = a->streamCount;
   VkCommandStreamDescriptionMESA *streams = malloc(sizeof(*streams) * count);
   size_t *positions = a->pReplyPositions ? malloc(sizeof(size_t) * count) : NULL;
   if (!streams || (a->pReplyPositions && !positions)) {
      free(streams);
      free(positions);
      vs_dispatch_fail(disp, "vkExecuteCommandStreamsMESA: out of memory");
      return;
   }
   memcpy(streams, a->pStreams, sizeof(*streams) * count);
   if (positions)
      memcpy(positions, a->pReplyPositions, sizeof(size_t) * count);

   disp->in_execute_streams = true;
   struct vs_arena outer = disp->arena;
   vs_arena_init(&disp->arena, outer.cap);
   for (uint32_t i = 0; i < count && !disp->failed; i++) {
      if (positions) {
         if (!disp->reply_res || positions[i] > disp->reply_size) {
            vs_dispatch_fail(disp, "vkExecuteCommandStreamsMESA: bad reply position");
            break;
         }
         disp->reply_pos = positions[i];
      }
      if (streams[i].size == 0)
         continue;
      struct vs_resource *res = vs_resource_get(&disp->ctx->resources, streams[i].resourceId);
      if (!res || !res->is_shmem || !vs_resource_range_ok(res, streams[i].offset, streams[i].size)) {
         if (res)
            vs_resource_put(&disp->ctx->resources, res);
         vs_dispatch_fail(disp, "vkExecuteCommandStreamsMESA: stream %u (resource %u) invalid", i,
                          streams[i].resourceId);
         break;
      }
      /* A private copy: the guest must not change commands under the decoder. */
      void *copy = malloc(streams[i].size);
      if (copy) {
         memcpy(copy, res->map + streams[i].offset, streams[i].size);
         vs_dispatch_stream(disp, copy, streams[i].size, NULL, NULL);
         free(copy);
      } else {
         vs_dispatch_fail(disp, "vkExecuteCommandStreamsMESA: out of memory");
      }
      vs_resource_put(&disp->ctx->resources, res);
   }
   vs_arena_fini(&disp->arena);
   disp->arena = outer;
   disp->in_execute_streams = false;
   free(streams);
   free(positions);
}

void
vs_exec_vkCreateRingMESA(struct vs_dispatch *disp, struct vn_args_vkCreateRingMESA *a)
{
   if (!require_context_side(disp, "vkCreateRingMESA"))
      return;
   const VkRingCreateInfoMESA *info = a->pCreateInfo;
   if (!info) {
      vs_dispatch_fail(disp, "vkCreateRingMESA: no create info");
      return;
   }
   if (vs_context_find_ring(disp->ctx, a->ring)) {
      vs_dispatch_fail(disp, "vkCreateRingMESA: ring 0x%llx exists", (unsigned long long)a->ring);
      return;
   }
   uint32_t monitor_us = 0;
   for (const VkBaseInStructure *s = info->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_RING_MONITOR_INFO_MESA) {
         monitor_us = ((const VkRingMonitorInfoMESA *)s)->maxReportingPeriodMicroseconds;
         if (!monitor_us) {
            vs_dispatch_fail(disp, "vkCreateRingMESA: monitor period 0");
            return;
         }
      }
      /* VkRingPriorityInfoMESA is a hint; ring threads keep default priority. */
   }
   struct vs_resource *res = vs_resource_get(&disp->ctx->resources, info->resourceId);
   if (!res) {
      vs_dispatch_fail(disp, "vkCreateRingMESA: unknown resource %u", info->resourceId);
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
   struct vs_ring *ring = vs_ring_create(disp->ctx, a->ring, res, &layout, monitor_us, &why);
   if (!ring) {
      vs_resource_put(&disp->ctx->resources, res);
      vs_dispatch_fail(disp, "vkCreateRingMESA: %s", why);
      return;
   }
   vs_context_add_ring(disp->ctx, ring);
   if (monitor_us)
      vs_context_monitor_rings(disp->ctx, monitor_us);
   vs_debug(disp->ctx->id, "ring 0x%llx created on resource %u (%u-byte buffer)",
            (unsigned long long)a->ring, info->resourceId, ring->buffer_size);
}

void
vs_exec_vkDestroyRingMESA(struct vs_dispatch *disp, struct vn_args_vkDestroyRingMESA *a)
{
   if (!require_context_side(disp, "vkDestroyRingMESA"))
      return;
   struct vs_ring *ring = vs_context_remove_ring(disp->ctx, a->ring);
   if (!ring) {
      vs_dispatch_fail(disp, "vkDestroyRingMESA: unknown ring 0x%llx", (unsigned long long)a->ring);
      return;
   }
   vs_ring_destroy(ring);
}

void
vs_exec_vkNotifyRingMESA(struct vs_dispatch *disp, struct vn_args_vkNotifyRingMESA *a)
{
   if (!require_context_side(disp, "vkNotifyRingMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkNotifyRingMESA");
   if (ring)
      vs_ring_notify(ring);
}

void
vs_exec_vkWriteRingExtraMESA(struct vs_dispatch *disp, struct vn_args_vkWriteRingExtraMESA *a)
{
   if (!require_context_side(disp, "vkWriteRingExtraMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkWriteRingExtraMESA");
   if (ring && !vs_ring_write_extra(ring, a->offset, a->value))
      vs_dispatch_fail(disp, "vkWriteRingExtraMESA: offset %zu outside the extra region", a->offset);
}

void
vs_exec_vkSubmitVirtqueueSeqnoMESA(struct vs_dispatch *disp,
                                   struct vn_args_vkSubmitVirtqueueSeqnoMESA *a)
{
   if (!require_context_side(disp, "vkSubmitVirtqueueSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkSubmitVirtqueueSeqnoMESA");
   if (ring)
      vs_ring_submit_virtqueue_seqno(ring, a->seqno);
}

void
vs_exec_vkWaitVirtqueueSeqnoMESA(struct vs_dispatch *disp,
                                 struct vn_args_vkWaitVirtqueueSeqnoMESA *a)
{
   if (!disp->ring) {
      vs_dispatch_fail(disp, "vkWaitVirtqueueSeqnoMESA is only valid inside a ring");
      return;
   }
   if (!vs_ring_wait_virtqueue_seqno(disp->ring, a->seqno))
      vs_dispatch_fail(disp, "vkWaitVirtqueueSeqnoMESA: ring stopped while waiting");
}

void
vs_exec_vkWaitRingSeqnoMESA(struct vs_dispatch *disp, struct vn_args_vkWaitRingSeqnoMESA *a)
{
   if (!require_context_side(disp, "vkWaitRingSeqnoMESA"))
      return;
   struct vs_ring *ring = lookup_ring(disp, a->ring, "vkWaitRingSeqnoMESA");
   if (ring && !vs_ring_wait_seqno(ring, (uint32_t)a->seqno))
      vs_dispatch_fail(disp, "vkWaitRingSeqnoMESA: ring 0x%llx can never reach seqno %llu",
                       (unsigned long long)a->ring, (unsigned long long)a->seqno);
}

void
vs_exec_vkGetMemoryResourcePropertiesMESA(struct vs_dispatch *disp,
                                          struct vn_args_vkGetMemoryResourcePropertiesMESA *a)
{
   /* Only reachable from dma-buf imports, which vtest clients cannot make. */
   a->ret = VK_ERROR_INVALID_EXTERNAL_HANDLE;
}

void
vs_exec_vkResetFenceResourceMESA(struct vs_dispatch *disp, struct vn_args_vkResetFenceResourceMESA *a)
{
   /* The host fence payload never left the server; nothing to consume. */
}

/* The host semaphore behind a guest WSI semaphore (sync/sync_fd.h):
 * binary, and of this device. */
static struct vs_device *
wsi_semaphore_device(struct vs_dispatch *disp, const char *cmd, struct vs_object *device_obj,
                     struct vs_object *sem_obj)
{
   if (!sem_obj || sem_obj->parent != device_obj) {
      vs_dispatch_fail(disp, "%s: semaphore is not of this device", cmd);
      return NULL;
   }
   if (sem_obj->flags & VS_OBJECT_TIMELINE_SEMAPHORE) {
      vs_dispatch_fail(disp, "%s: semaphore %llu is a timeline semaphore", cmd, (unsigned long long)sem_obj->id);
      return NULL;
   }
   return device_obj->data;
}

void
vs_exec_vkWaitSemaphoreResourceMESA(struct vs_dispatch *disp,
                                    struct vn_args_vkWaitSemaphoreResourceMESA *a)
{
   struct vs_device *dev =
      wsi_semaphore_device(disp, "vkWaitSemaphoreResourceMESA", a->device_obj, a->semaphore_obj);
   VkResult r = dev ? vs_sync_fd_consume(dev, a->semaphore) : VK_SUCCESS;
   if (r != VK_SUCCESS)
      vs_warn(disp->ctx->id, "semaphore %llu: consuming the signal failed: %s",
              (unsigned long long)a->semaphore_obj->id, vn_result_name(r));
}

void
vs_exec_vkImportSemaphoreResourceMESA(struct vs_dispatch *disp,
                                      struct vn_args_vkImportSemaphoreResourceMESA *a)
{
   const VkImportSemaphoreResourceInfoMESA *info = a->pImportSemaphoreResourceInfo;
   if (!info) {
      vs_dispatch_fail(disp, "vkImportSemaphoreResourceMESA: no info");
      return;
   }
   /* Resource 0 is an already signalled sync fd; vtest has no others. */
   if (info->resourceId != 0) {
      vs_dispatch_fail(disp, "vkImportSemaphoreResourceMESA: resource %u: only resource 0 is supported",
                       info->resourceId);
      return;
   }
   struct vs_object *sem_obj = vs_object_find_handle(&disp->ctx->objects, VK_OBJECT_TYPE_SEMAPHORE,
                                                     (uint64_t)info->semaphore);
   struct vs_device *dev =
      wsi_semaphore_device(disp, "vkImportSemaphoreResourceMESA", a->device_obj, sem_obj);
   VkResult r = dev ? vs_sync_fd_signal(dev, info->semaphore) : VK_SUCCESS;
   if (r != VK_SUCCESS)
      vs_warn(disp->ctx->id, "semaphore %llu: signalling failed: %s", (unsigned long long)sem_obj->id,
              vn_result_name(r));
}

/* SPDX-License-Identifier: MIT */
/* Sync-fd semaphores without host support: see sync_fd.h. */
#include "renderer/sync/sync_fd.h"

#include "renderer/renderer_state.h"
#include "base/log.h"
#include "wire/object_table.h"

void
vs_sync_fd_semaphore_properties(VkExternalSemaphoreHandleTypeFlagBits type, VkExternalSemaphoreProperties *out)
{
   if (type == VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT) {
      out->exportFromImportedHandleTypes = type;
      out->compatibleHandleTypes = type;
      out->externalSemaphoreFeatures =
         VK_EXTERNAL_SEMAPHORE_FEATURE_EXPORTABLE_BIT | VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT;
   } else {
      out->exportFromImportedHandleTypes = 0;
      out->compatibleHandleTypes = 0;
      out->externalSemaphoreFeatures = 0;
   }
}

static VkResult
submit_on_first_queue(struct vs_device *dev, const VkSubmitInfo *submit)
{
   if (!dev->queue_count)
      return VK_ERROR_DEVICE_LOST;
   struct vs_queue *queue = &dev->queues[0];
   vs_debug(0, "sync fd: empty submit on host queue %u.%u %s semaphore %llx", queue->family, queue->index,
            submit->waitSemaphoreCount ? "waiting on" : "signalling",
            (unsigned long long)(uint64_t)(submit->waitSemaphoreCount ? submit->pWaitSemaphores[0]
                                                                      : submit->pSignalSemaphores[0]));
   return vs_queue_submit(queue, 1, submit, VK_NULL_HANDLE);
}

VkResult
vs_sync_fd_signal(struct vs_device *dev, VkSemaphore semaphore)
{
   const VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .signalSemaphoreCount = 1,
      .pSignalSemaphores = &semaphore,
   };
   return submit_on_first_queue(dev, &submit);
}

VkResult
vs_sync_fd_consume(struct vs_device *dev, VkSemaphore semaphore)
{
   const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
   const VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .waitSemaphoreCount = 1,
      .pWaitSemaphores = &semaphore,
      .pWaitDstStageMask = &stage,
   };
   return submit_on_first_queue(dev, &submit);
}

/* Atomic: the object is shared by the context's dispatchers. */
void
vs_sync_fd_mark_signalled(struct vs_object *semaphore)
{
   __atomic_fetch_or(&semaphore->flags, VS_OBJECT_CPU_SIGNALLED, __ATOMIC_ACQ_REL);
}

bool
vs_sync_fd_take_mark(struct vs_object *semaphore)
{
   /* Every wait of every submission asks: a plain load first, the
    * read-modify-write only for a marked semaphore. */
   if (!(__atomic_load_n(&semaphore->flags, __ATOMIC_ACQUIRE) & VS_OBJECT_CPU_SIGNALLED))
      return false;
   return __atomic_fetch_and(&semaphore->flags, ~VS_OBJECT_CPU_SIGNALLED, __ATOMIC_ACQ_REL) & VS_OBJECT_CPU_SIGNALLED;
}

void
vs_semaphore_set_pending(struct vs_object *semaphore)
{
   __atomic_fetch_or(&semaphore->flags, VS_OBJECT_SIGNAL_PENDING, __ATOMIC_ACQ_REL);
}

bool
vs_semaphore_take_pending(struct vs_object *semaphore)
{
   return __atomic_fetch_and(&semaphore->flags, ~VS_OBJECT_SIGNAL_PENDING, __ATOMIC_ACQ_REL) &
          VS_OBJECT_SIGNAL_PENDING;
}

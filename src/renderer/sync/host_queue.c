/* SPDX-License-Identifier: MIT */
#include "renderer/sync/host_queue.h"

#include "renderer/host_lifecycle.h"
#include "vn_vk.h"

void
vs_queue_init(struct vs_queue *queue, VkDevice device, const struct vn_device_table *dt, uint32_t family,
              uint32_t index, VkDeviceQueueCreateFlags flags)
{
   *queue = (struct vs_queue){ .flags = flags, .family = family, .index = index, .device = device, .dt = dt };
   pthread_mutex_init(&queue->lock, NULL);
}

void
vs_queue_fini(struct vs_queue *queue)
{
   pthread_mutex_destroy(&queue->lock);
}

void
vs_queue_lock(struct vs_queue *queue)
{
   pthread_mutex_lock(&queue->lock);
}

void
vs_queue_unlock(struct vs_queue *queue)
{
   pthread_mutex_unlock(&queue->lock);
}

void
vs_queues_lock_all(struct vs_queue *queues, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++)
      pthread_mutex_lock(&queues[i].lock);
}

void
vs_queues_unlock_all(struct vs_queue *queues, uint32_t count)
{
   for (uint32_t i = count; i-- > 0;)
      pthread_mutex_unlock(&queues[i].lock);
}

VkResult
vs_queue_submit(struct vs_queue *queue, uint32_t count, const VkSubmitInfo *submits, VkFence fence)
{
   pthread_mutex_lock(&queue->lock);
   VkResult r;
   if (count == 1 && queue->serial_timeline) {
      /* The batch, then the next serial: the serial timeline keeps
       * covering all work, so guest fences after this keep retiring on it
       * (a host fence instead costs hundreds of microseconds on NVIDIA). */
      const uint64_t serial = queue->serial_submitted + 1;
      const VkTimelineSemaphoreSubmitInfo value = {
         .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
         .signalSemaphoreValueCount = 1,
         .pSignalSemaphoreValues = &serial,
      };
      const VkSubmitInfo batches[2] = {
         submits[0],
         {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .pNext = &value,
            .signalSemaphoreCount = 1,
            .pSignalSemaphores = &queue->serial_timeline,
         },
      };
      vs_host_lifecycle_lock_shared();
      r = queue->dt->QueueSubmit(queue->host, 2, batches, fence);
      vs_host_lifecycle_unlock_shared();
      if (r == VK_SUCCESS) {
         vs_queue_set_serial_submitted(queue, serial);
         queue->serial_covers_all = true;
      }
   } else {
      vs_host_lifecycle_lock_shared();
      r = queue->dt->QueueSubmit(queue->host, count, submits, fence);
      vs_host_lifecycle_unlock_shared();
      if (count)
         queue->serial_covers_all = false;
   }
   pthread_mutex_unlock(&queue->lock);
   return r;
}

uint64_t
vs_queue_serial_for_idle_locked(struct vs_queue *queue, VkResult *result)
{
   *result = VK_SUCCESS;
   if (!queue->serial_timeline)
      return 0;
   if (queue->serial_covers_all)
      return queue->serial_submitted;
   const uint64_t serial = queue->serial_submitted + 1;
   const VkTimelineSemaphoreSubmitInfo value = {
      .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
      .signalSemaphoreValueCount = 1,
      .pSignalSemaphoreValues = &serial,
   };
   const VkSubmitInfo batch = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .pNext = &value,
      .signalSemaphoreCount = 1,
      .pSignalSemaphores = &queue->serial_timeline,
   };
   vs_host_lifecycle_lock_shared();
   *result = queue->dt->QueueSubmit(queue->host, 1, &batch, VK_NULL_HANDLE);
   vs_host_lifecycle_unlock_shared();
   if (*result != VK_SUCCESS)
      return 0;
   vs_queue_set_serial_submitted(queue, serial);
   queue->serial_covers_all = true;
   return serial;
}

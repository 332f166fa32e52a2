/* SPDX-License-Identifier: MIT */
/* A host queue and the one rule for reaching it: Vulkan wants host access
 * to a queue externally synchronized, so every submit, bind and wait on
 * it, from the rings, the retire path, vkDeviceWaitIdle, the display's
 * fences and linear-mirror copies alike, goes through these functions and
 * the queue's lock. */
#ifndef VS_RENDERER_SYNC_HOST_QUEUE_H
#define VS_RENDERER_SYNC_HOST_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vn_device_table;
struct vs_object;
struct vs_retire_queue;
struct vs_serial_fence;

struct vs_queue {
   VkDeviceQueueCreateFlags flags;
   uint32_t family;
   uint32_t index;
   VkQueue host;
   VkDevice device;                  /* the host device it belongs to */
   const struct vn_device_table *dt; /* that device's */
   pthread_mutex_t lock;             /* vs_queue_lock */
   struct vs_object *obj;            /* bound by vkGetDeviceQueue2 */
   uint32_t ring_idx;
   struct vs_retire_queue *retire;   /* started on first timeline fence */
   /* What tells that a command buffer is no longer pending: each
    * submission of batches signals the next serial on
    * serial_timeline (a host timeline semaphore), or, where the host device
    * has none, is followed by a host fence (renderer/lifetime.c). Under
    * `lock`. */
   VkSemaphore serial_timeline;
   /* serial_submitted is also read atomically, without `lock`, by the GPU
    * watchdog: it is written only through vs_queue_set_serial_submitted. */
   uint64_t serial_submitted, serial_done;
   /* The last host submission signalled serial_submitted: reaching it
    * means all work submitted so far has finished. Under `lock`. */
   bool serial_covers_all;
   /* The last serial whose submission waits on a semaphore: it and what
    * is behind it are not timed (renderer/sync/gpu_watchdog.h). Written under
    * `lock`, read atomically. */
   uint64_t serial_waiting;
   struct vs_serial_fence *serial_head, *serial_tail, *serial_free;
};

/* Under `lock`. */
static inline void
vs_queue_set_serial_submitted(struct vs_queue *queue, uint64_t serial)
{
   __atomic_store_n(&queue->serial_submitted, serial, __ATOMIC_RELEASE);
}

void vs_queue_init(struct vs_queue *queue, VkDevice device, const struct vn_device_table *dt, uint32_t family,
                   uint32_t index, VkDeviceQueueCreateFlags flags);
void vs_queue_fini(struct vs_queue *queue);

/* For work that must happen in the same critical section as the host call
 * (bookkeeping of what was submitted, a wait on the queue's own fences). */
void vs_queue_lock(struct vs_queue *queue);
void vs_queue_unlock(struct vs_queue *queue);
/* Every queue of a device, in order (vkDeviceWaitIdle). */
void vs_queues_lock_all(struct vs_queue *queues, uint32_t count);
void vs_queues_unlock_all(struct vs_queue *queues, uint32_t count);

/* vkQueueSubmit under the lock, for the server's own work (sync-fd
 * semaphores, the display's copies); a single batch is followed by the
 * next serial on serial_timeline, where the queue has one. */
VkResult vs_queue_submit(struct vs_queue *queue, uint32_t count, const VkSubmitInfo *submits, VkFence fence);

/* The serial on serial_timeline whose signal means that everything
 * submitted to the queue so far has finished: the last one, or one more
 * after an empty batch when the last submission did not signal it. 0 where
 * the queue has no serial timeline, or that batch failed (*result says
 * why). Under the queue's lock. vkQueueWaitIdle and vkDeviceWaitIdle
 * wait for it in slices instead of the driver's unbounded idle wait. */
uint64_t vs_queue_serial_for_idle_locked(struct vs_queue *queue, VkResult *result);

#endif

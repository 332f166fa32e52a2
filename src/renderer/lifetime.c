/* SPDX-License-Identifier: MIT */
/* The host side of object lifetimes (wire/lifetime.h): destroying a
 * zombie's host object once its last holder lets go, and knowing when a
 * command buffer is no longer pending, so that letting go of what it
 * holds (reset, free) never pulls an object from under the host queue.
 *
 * Each submission that runs command buffers is numbered per queue: its
 * last batch also signals that serial on the queue's host timeline
 * semaphore (or, where the host device has no timeline semaphores, an
 * empty submission with a server fence follows it). The command buffers
 * remember the number. A reset or free of a command buffer whose number
 * has not retired waits for it (a guest that waited for its own fence
 * first never waits here). */
#include <stdlib.h>

#include "renderer/host_lifecycle.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

/* A wait for a command buffer is re-issued this often, so that a stopping
 * context or a client that hung up is noticed. */
#define LIFETIME_WAIT_SLICE_NS 100000000ull

struct vs_serial_fence {
   VkFence fence;
   uint64_t serial;
   struct vs_serial_fence *next;
};

static void
release_object(void *data, struct vs_object *obj)
{
   struct vs_renderer *r = data;
   vs_debug(r->ctx_id, "object %llu (type %d): last holder gone, %s", (unsigned long long)obj->id, obj->type,
            obj->state == VS_OBJECT_ZOMBIE ? "destroying the host object" : "forgetting it");
   if (obj->state == VS_OBJECT_ZOMBIE) {
      if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY) {
         vs_memory_release(r, obj, true);
         return;
      }
      struct vs_device *dev = vs_device_of(obj);
      if (!vn_destroy_device_object(&dev->dt, dev->host, obj->type, obj->handle))
         vs_warn(r->ctx_id, "no way to destroy object %llu of type %d", (unsigned long long)obj->id, obj->type);
   }
   vs_object_remove(r->objects, obj);
}

void
vs_lifetime_init(struct vs_renderer *r)
{
   r->objects->release = release_object;
   r->objects->release_data = r;
}

/* Reads the serial timeline's value; on device loss nothing runs any
 * more, so everything submitted has retired. */
static void
timeline_done_locked(struct vs_device *dev, struct vs_queue *queue)
{
   uint64_t value = 0;
   if (dev->dt.GetSemaphoreCounterValue(dev->host, queue->serial_timeline, &value) != VK_SUCCESS)
      value = queue->serial_submitted;
   if (value > queue->serial_done)
      queue->serial_done = value < queue->serial_submitted ? value : queue->serial_submitted;
}

/* Retires the fences that have signalled; true once `serial` has
 * (the queue's lock held). */
static bool
serial_done_locked(struct vs_device *dev, struct vs_queue *queue, uint64_t serial)
{
   if (queue->serial_done >= serial)
      return true;
   if (queue->serial_timeline) {
      timeline_done_locked(dev, queue);
      return queue->serial_done >= serial;
   }
   while (queue->serial_done < serial && queue->serial_head) {
      struct vs_serial_fence *e = queue->serial_head;
      VkResult r = dev->dt.GetFenceStatus(dev->host, e->fence);
      if (r == VK_NOT_READY)
         break;
      /* Signalled, or the device is lost: nothing runs any more. */
      queue->serial_head = e->next;
      if (!queue->serial_head)
         queue->serial_tail = NULL;
      queue->serial_done = e->serial;
      if (r == VK_SUCCESS && dev->dt.ResetFences(dev->host, 1, &e->fence) == VK_SUCCESS) {
         e->next = queue->serial_free;
         queue->serial_free = e;
      } else {
         dev->dt.DestroyFence(dev->host, e->fence, NULL);
         free(e);
      }
   }
   return queue->serial_done >= serial;
}

uint64_t
vs_queue_next_serial(struct vs_queue *queue)
{
   return queue->serial_timeline ? queue->serial_submitted + 1 : 0;
}

static void
remember_serial(struct vs_queue *queue, struct vs_object *const *cbs, uint32_t count, uint64_t serial)
{
   for (uint32_t i = 0; i < count; i++) {
      struct vs_command_buffer *cb = vs_command_buffer_from(cbs[i]);
      cb->many_queues |= cb->queue && cb->queue != queue;
      cb->queue = queue;
      cb->serial = serial;
   }
}

void
vs_queue_mark_submitted(struct vs_device *dev, struct vs_queue *queue, struct vs_object *const *cbs, uint32_t count)
{
   if (queue->serial_timeline) {
      const uint64_t serial = queue->serial_submitted + 1;
      vs_queue_set_serial_submitted(queue, serial);
      remember_serial(queue, cbs, count, serial);
      return;
   }
   /* Fences that signalled are recycled here too: a command buffer that is
    * resubmitted and never reset would otherwise pile them up. */
   serial_done_locked(dev, queue, UINT64_MAX);
   struct vs_serial_fence *e = queue->serial_free;
   if (e) {
      queue->serial_free = e->next;
   } else {
      const VkFenceCreateInfo info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
      e = calloc(1, sizeof(*e));
      if (e && dev->dt.CreateFence(dev->host, &info, NULL, &e->fence) != VK_SUCCESS) {
         free(e);
         e = NULL;
      }
   }
   VkResult r = VK_ERROR_OUT_OF_HOST_MEMORY;
   if (e) {
      vs_host_lifecycle_lock_shared();
      r = dev->dt.QueueSubmit(queue->host, 0, NULL, e->fence);
      vs_host_lifecycle_unlock_shared();
   }
   uint64_t serial = queue->serial_submitted + 1;
   vs_queue_set_serial_submitted(queue, serial);
   if (r == VK_SUCCESS) {
      e->serial = serial;
      e->next = NULL;
      if (queue->serial_tail)
         queue->serial_tail->next = e;
      else
         queue->serial_head = e;
      queue->serial_tail = e;
   } else {
      /* No fence to tell the end by: everything before it must finish
       * now (device loss or no memory; the queue is ours, under lock). */
      if (e) {
         dev->dt.DestroyFence(dev->host, e->fence, NULL);
         free(e);
      }
      dev->dt.QueueWaitIdle(queue->host);
      queue->serial_done = serial;
   }
   remember_serial(queue, cbs, count, serial);
}

/* One slice of a wait for `serial` (queue's lock held). */
static void
wait_serial_slice(struct vs_device *dev, struct vs_queue *queue, uint64_t serial)
{
   if (!queue->serial_timeline) {
      dev->dt.WaitForFences(dev->host, 1, &queue->serial_head->fence, VK_TRUE, LIFETIME_WAIT_SLICE_NS);
      return;
   }
   const VkSemaphoreWaitInfo info = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
      .semaphoreCount = 1,
      .pSemaphores = &queue->serial_timeline,
      .pValues = &serial,
   };
   VkResult r = dev->dt.WaitSemaphores(dev->host, &info, LIFETIME_WAIT_SLICE_NS);
   if (r != VK_SUCCESS && r != VK_TIMEOUT)
      queue->serial_done = queue->serial_submitted; /* device lost: nothing runs any more */
}

/* Waits until `serial` of `queue` has retired. The queue stays locked for
 * each slice (the fence cannot be recycled under it), not between two,
 * where a destroy on another dispatcher may run (it may need the queue). */
static bool
wait_serial(struct vs_runner *runner, struct vs_device *dev, struct vs_queue *queue, uint64_t serial)
{
   bool done;
   vs_queue_lock(queue);
   while (!(done = serial_done_locked(dev, queue, serial))) {
      if (vs_runner_wait_abandoned(runner))
         break;
      wait_serial_slice(dev, queue, serial);
      vs_queue_unlock(queue);
      if (!vs_runner_wait_yield(runner))
         return false; /* the queue may be gone with its device */
      vs_queue_lock(queue);
   }
   vs_queue_unlock(queue);
   return done;
}

bool
vs_device_wait_submitted(struct vs_runner *runner, struct vs_object *device_obj)
{
   struct vs_device *dev = vs_device_from(device_obj);
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      struct vs_queue *queue = &dev->queues[i];
      vs_queue_lock(queue);
      uint64_t serial = queue->serial_submitted;
      vs_queue_unlock(queue);
      if (!wait_serial(runner, dev, queue, serial))
         return false;
   }
   return true;
}

bool
vs_command_buffer_wait_idle(struct vs_runner *runner, struct vs_object *cb_obj)
{
   struct vs_command_buffer *cb = vs_command_buffer_from(cb_obj);
   struct vs_object *device_obj = vs_object_ancestor(cb_obj, VK_OBJECT_TYPE_DEVICE);
   /* A secondary runs when its primaries do: held by one, wait for all. */
   if (vs_object_held(runner->objects, cb_obj) && !vs_device_wait_submitted(runner, device_obj))
      return false;
   if (!cb->queue)
      return true;
   bool idle = cb->many_queues ? vs_device_wait_submitted(runner, device_obj)
                               : wait_serial(runner, vs_device_from(device_obj), cb->queue, cb->serial);
   if (idle) {
      cb->queue = NULL;
      cb->many_queues = false;
   }
   return idle;
}

/* On a device with nested command buffers: how deep what cb runs goes. */
static bool
check_nesting(struct vs_runner *runner, const char *cmd, struct vs_object *cb_obj, uint32_t nesting)
{
   struct vs_command_walk walk;
   /* A primary runs secondaries nesting at most `nesting` more levels. */
   vs_object_walk_commands(runner->objects, cb_obj, NULL, nesting + 1, &walk);
   if (walk.out_of_memory) {
      vs_runner_fail(runner, "%s: command buffer %llu: out of memory walking its secondaries", cmd,
                     (unsigned long long)cb_obj->id);
      return false;
   }
   if (walk.cycle || walk.too_deep) {
      vs_runner_fail(runner, "%s: command buffer %llu runs secondary command buffers %s%s (the device allows "
                     "%u levels below a secondary)", cmd, (unsigned long long)cb_obj->id,
                     walk.cycle ? "that execute themselves" : "nested deeper than its limit",
                     walk.cycle ? "" : " (re-recorded after they were executed)", nesting);
      return false;
   }
   return true;
}

bool
vs_command_buffer_check_submit(struct vs_runner *runner, const char *cmd, struct vs_object *cb_obj)
{
   struct vs_command_buffer *cb = vs_command_buffer_from(cb_obj);
   if (cb->secondary) {
      vs_runner_fail(runner, "%s: command buffer %llu is a secondary command buffer", cmd,
                     (unsigned long long)cb_obj->id);
      return false;
   }
   uint32_t nesting = vs_device_from(vs_object_ancestor(cb_obj, VK_OBJECT_TYPE_DEVICE))->command_buffer_nesting;
   if (nesting && !check_nesting(runner, cmd, cb_obj, nesting))
      return false;
   struct vs_object *gone = vs_object_find_gone(runner->objects, cb_obj, &cb->gone_checked);
   if (!gone)
      return true;
   vs_runner_fail(runner, "%s: command buffer %llu uses object %llu (type %d), freed with its pool since it "
                          "was recorded", cmd, (unsigned long long)cb_obj->id, (unsigned long long)gone->id,
                    gone->type);
   return false;
}

void
vs_queue_serials_fini(struct vs_device *dev, struct vs_queue *queue)
{
   for (int list = 0; list < 2; list++) {
      struct vs_serial_fence *e = list ? queue->serial_free : queue->serial_head;
      while (e) {
         struct vs_serial_fence *next = e->next;
         dev->dt.DestroyFence(dev->host, e->fence, NULL);
         free(e);
         e = next;
      }
   }
   queue->serial_head = queue->serial_tail = queue->serial_free = NULL;
   if (queue->serial_timeline)
      dev->dt.DestroySemaphore(dev->host, queue->serial_timeline, NULL);
   queue->serial_timeline = VK_NULL_HANDLE;
}

/* Devices and queues: vkCreateDevice (with the guest's extension list
 * checked against what we advertise), queue binding to timelines through
 * vkGetDeviceQueue2, and teardown of everything a device owns. */
#include "dispatch/instance.h"

#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "util/log.h"
#include "venus/context_state.h"

void
vs_exec_vkCreateDevice(struct vs_dispatch *disp, struct vn_args_vkCreateDevice *a)
{
   const VkDeviceCreateInfo *ci = a->pCreateInfo;
   struct vs_instance *inst = vs_instance_of(a->physicalDevice_obj);
   if (!ci || !inst) {
      vs_dispatch_fail(disp, "vkCreateDevice: no create info");
      return;
   }
   if (ci->enabledLayerCount) {
      a->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return;
   }
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      if (!ci->ppEnabledExtensionNames || !vs_device_extension_allowed(ci->ppEnabledExtensionNames[i])) {
         vs_warn(disp->ctx->id, "vkCreateDevice: extension %s not offered",
                 ci->ppEnabledExtensionNames ? ci->ppEnabledExtensionNames[i] : "(null)");
         a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
         return;
      }
   }
   uint32_t queue_count = 0;
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++)
      queue_count += ci->pQueueCreateInfos ? ci->pQueueCreateInfos[i].queueCount : 0;

   struct vs_device *dev = calloc(1, sizeof(*dev));
   struct vs_queue_slot *slots = calloc(queue_count ? queue_count : 1, sizeof(*slots));
   if (!dev || !slots) {
      free(dev);
      free(slots);
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   a->ret = a->physicalDevice_obj->it->CreateDevice(a->physicalDevice, ci, NULL, &dev->host);
   if (a->ret != VK_SUCCESS) {
      vs_warn(disp->ctx->id, "host vkCreateDevice failed: %s", vn_result_name(a->ret));
      free(dev);
      free(slots);
      return;
   }
   vn_load_device_table(dev->host, vkGetDeviceProcAddr, &dev->dt);
   dev->physical = a->physicalDevice_obj;
   dev->queues = slots;
   for (uint32_t i = 0, s = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      for (uint32_t j = 0; j < q->queueCount; j++, s++) {
         const VkDeviceQueueInfo2 qi = {
            .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2,
            .flags = q->flags,
            .queueFamilyIndex = q->queueFamilyIndex,
            .queueIndex = j,
         };
         slots[s] = (struct vs_queue_slot){ .flags = q->flags, .family = q->queueFamilyIndex, .index = j };
         dev->dt.GetDeviceQueue2(dev->host, &qi, &slots[s].host);
      }
   }
   dev->queue_count = queue_count;

   struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_DEVICE, a->pDevice_id,
                                                  (uint64_t)(uintptr_t)dev->host, a->physicalDevice_obj);
   if (!obj) {
      dev->dt.DestroyDevice(dev->host, NULL);
      free(slots);
      free(dev);
      return;
   }
   obj->dt = &dev->dt;
   obj->data = dev;
   *a->pDevice = dev->host;
   vs_info(disp->ctx->id, "device %llu created (%u queue(s), %u extension(s))",
           (unsigned long long)obj->id, queue_count, ci->enabledExtensionCount);
}

void
vs_exec_vkGetDeviceQueue(struct vs_dispatch *disp, struct vn_args_vkGetDeviceQueue *a)
{
   vs_dispatch_fail(disp, "vkGetDeviceQueue is not supported: Venus clients bind queues to "
                          "timelines with vkGetDeviceQueue2 + VkDeviceQueueTimelineInfoMESA");
}

void
vs_exec_vkGetDeviceQueue2(struct vs_dispatch *disp, struct vn_args_vkGetDeviceQueue2 *a)
{
   struct vs_device *dev = a->device_obj->data;
   const VkDeviceQueueInfo2 *qi = a->pQueueInfo;
   const VkDeviceQueueTimelineInfoMESA *timeline = NULL;
   for (const VkBaseInStructure *s = qi ? qi->pNext : NULL; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA)
         timeline = (const VkDeviceQueueTimelineInfoMESA *)s;
   }
   if (!qi || !timeline || timeline->ringIdx == 0 || timeline->ringIdx >= VS_MAX_TIMELINES) {
      vs_dispatch_fail(disp, "vkGetDeviceQueue2: missing or invalid VkDeviceQueueTimelineInfoMESA");
      return;
   }
   struct vs_queue_slot *slot = NULL;
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      struct vs_queue_slot *s = &dev->queues[i];
      if (s->flags == qi->flags && s->family == qi->queueFamilyIndex && s->index == qi->queueIndex)
         slot = s;
   }
   if (!slot || slot->obj) {
      vs_dispatch_fail(disp, "vkGetDeviceQueue2: queue (family %u, index %u) %s", qi->queueFamilyIndex,
                       qi->queueIndex, slot ? "already bound" : "was not created");
      return;
   }
   struct vs_context *ctx = disp->ctx;
   pthread_mutex_lock(&ctx->timeline_lock);
   bool taken = ctx->timeline_queue[timeline->ringIdx] != NULL;
   pthread_mutex_unlock(&ctx->timeline_lock);
   if (taken) {
      vs_dispatch_fail(disp, "vkGetDeviceQueue2: timeline %u already bound", timeline->ringIdx);
      return;
   }
   struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_QUEUE, a->pQueue_id,
                                                  (uint64_t)(uintptr_t)slot->host, a->device_obj);
   if (!obj)
      return;
   slot->obj = obj;
   slot->ring_idx = timeline->ringIdx;
   obj->data = slot;
   pthread_mutex_lock(&ctx->timeline_lock);
   ctx->timeline_queue[timeline->ringIdx] = obj;
   pthread_mutex_unlock(&ctx->timeline_lock);
   *a->pQueue = slot->host;
}

struct teardown {
   struct vs_context *ctx;
   struct vs_device *dev;
};

static void
destroy_child_cb(struct vs_object *obj, void *data)
{
   struct teardown *t = data;
   switch (obj->type) {
   case VK_OBJECT_TYPE_COMMAND_BUFFER:
   case VK_OBJECT_TYPE_DESCRIPTOR_SET:
   case VK_OBJECT_TYPE_QUEUE:
      break; /* freed with their pool or device */
   default:
      if (!vn_destroy_device_object(&t->dev->dt, t->dev->host, obj->type, obj->handle))
         vs_warn(t->ctx->id, "no way to destroy leftover object %llu of type %d",
                 (unsigned long long)obj->id, obj->type);
      break;
   }
   vs_object_foreach_child(&t->ctx->objects, obj, VK_OBJECT_TYPE_UNKNOWN, destroy_child_cb, t);
   vs_object_remove(&t->ctx->objects, obj);
}

void
vs_device_destroy(struct vs_context *ctx, struct vs_object *device_obj)
{
   struct vs_device *dev = device_obj->data;
   dev->dt.DeviceWaitIdle(dev->host);
   struct teardown t = { .ctx = ctx, .dev = dev };
   vs_object_foreach_child(&ctx->objects, device_obj, VK_OBJECT_TYPE_UNKNOWN, destroy_child_cb, &t);
   pthread_mutex_lock(&ctx->timeline_lock);
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      if (dev->queues[i].obj)
         ctx->timeline_queue[dev->queues[i].ring_idx] = NULL;
   }
   pthread_mutex_unlock(&ctx->timeline_lock);
   dev->dt.DestroyDevice(dev->host, NULL);
   vs_object_remove(&ctx->objects, device_obj);
   free(dev->queues);
   free(dev);
}

void
vs_exec_vkDestroyDevice(struct vs_dispatch *disp, struct vn_args_vkDestroyDevice *a)
{
   if (a->device_obj)
      vs_device_destroy(disp->ctx, a->device_obj);
}

bool
vs_queue_submit_fence(struct vs_context *ctx, struct vs_object *queue, vs_retire_fn retire, void *data)
{
   /* A host fence on an empty submit retires after all earlier work. */
   struct vs_queue_slot *slot = queue->data;
   const struct vn_device_table *dt = queue->dt;
   VkDevice device = (VkDevice)(uintptr_t)queue->parent->handle;
   VkFence fence;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   if (dt->CreateFence(device, &fci, NULL, &fence) != VK_SUCCESS)
      return false;
   VkResult r = dt->QueueSubmit(slot->host, 0, NULL, fence);
   if (r == VK_SUCCESS)
      r = dt->WaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX);
   if (r != VK_SUCCESS)
      vs_warn(ctx->id, "timeline %u fence: %s; retiring it anyway", slot->ring_idx, vn_result_name(r));
   dt->DestroyFence(device, fence, NULL);
   /* Retire even on device loss: a guest must never wait forever. */
   retire(data);
   return true;
}

/* Devices and queues: vkCreateDevice (with the guest's extension list
 * checked against what we advertise), queue binding to timelines through
 * vkGetDeviceQueue2, and teardown of everything a device owns. */
#include "dispatch/instance.h"

#include <stdlib.h>
#include <string.h>

#include "caps/caps.h"
#include "dispatch/dispatch.h"
#include "sync/retire.h"
#include "util/log.h"
#include "venus/context_state.h"

/* Destroys the host device and frees the server's state for it. */
static void
device_free(struct vs_device *dev)
{
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      vs_retire_queue_destroy(dev->queues[i].retire);
      pthread_mutex_destroy(&dev->queues[i].lock);
   }
   dev->dt.DestroyDevice(dev->host, NULL);
   vs_region_cache_fini(&dev->regions);
   free(dev->queues);
   free(dev);
}

/* Whether guest LINEAR-modifier color attachments become OPTIMAL host images
 * (see struct vs_device). $VENUS_SERVER_MODIFIER_COLOR: "optimal" or
 * "linear" overrides the choice by vendor (tests use it on lavapipe). */
static bool
modifier_color_optimal(struct vs_object *phys_obj, VkPhysicalDevice phys)
{
   const char *env = getenv("VENUS_SERVER_MODIFIER_COLOR");
   if (env && strcmp(env, "optimal") == 0)
      return true;
   if (env && strcmp(env, "linear") == 0)
      return false;
   VkPhysicalDeviceProperties props;
   phys_obj->it->GetPhysicalDeviceProperties(phys, &props);
   return props.vendorID == 0x10de; /* NVIDIA */
}

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
   if (ci->enabledExtensionCount && !ci->ppEnabledExtensionNames) {
      vs_dispatch_fail(disp, "vkCreateDevice: extension count without names");
      return;
   }
   const bool host_has_foreign = vs_caps_host_has_extension(
      a->physicalDevice_obj->it, a->physicalDevice, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME);
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      const char *name = ci->ppEnabledExtensionNames[i];
      if (!vs_caps_provides(name, host_has_foreign) && !vs_device_extension_allowed(name)) {
         vs_warn(disp->ctx->id, "vkCreateDevice: extension %s not offered: %s", name,
                 vn_result_name(VK_ERROR_EXTENSION_NOT_PRESENT));
         a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
         return;
      }
   }
   uint32_t queue_count = 0;
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++)
      queue_count += ci->pQueueCreateInfos ? ci->pQueueCreateInfos[i].queueCount : 0;

   struct vs_device *dev = calloc(1, sizeof(*dev));
   struct vs_queue_slot *slots = calloc(queue_count ? queue_count : 1, sizeof(*slots));
   /* The guest's extensions plus those the server needs to share memory. */
   const char **ext_names = calloc(ci->enabledExtensionCount + 3, sizeof(*ext_names));
   if (!dev || !slots || !ext_names) {
      free(dev);
      free(slots);
      free(ext_names);
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   /* The server's own extensions (caps/caps.h) stay out of the host's list. */
   uint32_t ext_count = 0;
   bool foreign_by_server = false;
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      const char *name = ci->ppEnabledExtensionNames[i];
      if (!vs_caps_provides(name, host_has_foreign))
         ext_names[ext_count++] = name;
      else if (strcmp(name, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME) == 0)
         foreign_by_server = true;
   }
   VkDeviceCreateInfo host_ci = *ci;
   host_ci.ppEnabledExtensionNames = ext_names;
   host_ci.enabledExtensionCount =
      vs_memory_add_device_extensions(a->physicalDevice_obj->it, a->physicalDevice, ext_names, ext_count);
   a->ret = a->physicalDevice_obj->it->CreateDevice(a->physicalDevice, &host_ci, NULL, &dev->host);
   if (a->ret != VK_SUCCESS) {
      vs_warn(disp->ctx->id, "host vkCreateDevice failed: %s", vn_result_name(a->ret));
      free(dev);
      free(slots);
      free(ext_names);
      return;
   }
   for (uint32_t i = 0; i < host_ci.enabledExtensionCount; i++) {
      dev->has_external_memory_host |= strcmp(ext_names[i], VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
      dev->has_external_memory_fd |= strcmp(ext_names[i], VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME) == 0;
      dev->has_external_memory_dma_buf |= strcmp(ext_names[i], VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME) == 0;
   }
   free(ext_names);
   vn_load_device_table(dev->host, vkGetDeviceProcAddr, &dev->dt);
   dev->foreign_by_server = foreign_by_server;
   dev->modifier_color_optimal = modifier_color_optimal(a->physicalDevice_obj, a->physicalDevice);
   vs_region_cache_init(&dev->regions);
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
         pthread_mutex_init(&slots[s].lock, NULL);
         dev->dt.GetDeviceQueue2(dev->host, &qi, &slots[s].host);
      }
   }
   dev->queue_count = queue_count;

   const char *why = NULL;
   if (!vs_memory_device_init(disp->ctx, dev, &why)) {
      vs_warn(disp->ctx->id, "memory strategy %s is not available on device %llu: %s",
              vs_memory_strategy_name(dev->mem.forced), (unsigned long long)a->pDevice_id, why);
      device_free(dev);
      a->ret = VK_ERROR_INITIALIZATION_FAILED;
      return;
   }

   struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_DEVICE, a->pDevice_id,
                                                  (uint64_t)(uintptr_t)dev->host, a->physicalDevice_obj);
   if (!obj) {
      device_free(dev);
      return;
   }
   obj->dt = &dev->dt;
   obj->data = dev;
   *a->pDevice = dev->host;
   vs_info(disp->ctx->id, "device %llu created (%u queue(s), %u extension(s)); memory shared by %s%s%s%s, "
           "granule %zu", (unsigned long long)obj->id, queue_count, ci->enabledExtensionCount,
           dev->mem.forced != VS_MEMORY_AUTO ? vs_memory_strategy_name(dev->mem.forced) : "auto:",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.host_pointer ? " host-pointer" : "",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.dmabuf ? " dmabuf" : "",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.opaque_fd ? " opaque-fd" : "", dev->mem.granule);
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
   bool host_safe; /* the queues are idle: host objects may be destroyed */
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
   case VK_OBJECT_TYPE_DEVICE_MEMORY:
      if (t->host_safe)
         vs_memory_free(t->ctx, t->dev, obj->data);
      break;
   default:
      if (obj->type == VK_OBJECT_TYPE_IMAGE)
         free(obj->data); /* dispatch/image.c: a linear layout, or NULL */
      if (!t->host_safe)
         break;
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
   pthread_mutex_lock(&ctx->timeline_lock);
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      if (dev->queues[i].obj)
         ctx->timeline_queue[dev->queues[i].ring_idx] = NULL;
   }
   pthread_mutex_unlock(&ctx->timeline_lock);
   struct teardown t = { .ctx = ctx, .dev = dev, .host_safe = vs_device_drain_queues(ctx, device_obj) };
   if (t.host_safe)
      dev->dt.DeviceWaitIdle(dev->host);
   vs_object_foreach_child(&ctx->objects, device_obj, VK_OBJECT_TYPE_UNKNOWN, destroy_child_cb, &t);
   vs_object_remove(&ctx->objects, device_obj);
   if (t.host_safe)
      device_free(dev);
}

void
vs_exec_vkDestroyDevice(struct vs_dispatch *disp, struct vn_args_vkDestroyDevice *a)
{
   if (a->device_obj)
      vs_device_destroy(disp->ctx, a->device_obj);
}

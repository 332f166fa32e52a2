/* SPDX-License-Identifier: MIT */
/* Devices and queues: vkCreateDevice (with the guest's extension list
 * checked against what we advertise), queue binding to timelines through
 * vkGetDeviceQueue2, and teardown of everything a device owns. */
#include "renderer/families.h"
#include "renderer/objects.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renderer/caps/caps.h"
#include "renderer/device_extensions.h"
#include "renderer/host_lifecycle.h"
#include "renderer/renderer.h"
#include "renderer/robust_access.h"
#include "renderer/validate.h"
#include "renderer/sync/gpu_watchdog.h"
#include "renderer/sync/retire.h"
#include "base/chain.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

/* Devices torn down with work that never ends cannot be destroyed: they
 * stay listed for the life of the process, so that a leak checker sees
 * them (and what the host driver hangs off them) as kept, not lost. */
static pthread_mutex_t kept_devices_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_device *kept_devices;

/* Destroys the host device and frees the server's state for it; its
 * context's slot goes back. */
static void
device_free(struct vs_device *dev)
{
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      vs_retire_queue_destroy(dev->queues[i].retire);
      vs_queue_serials_fini(dev, &dev->queues[i]);
      vs_queue_fini(&dev->queues[i]);
   }
   vs_host_lifecycle_lock();
   dev->dt.DestroyDevice(dev->host, NULL);
   vs_host_lifecycle_unlock();
   vs_region_cache_fini(&dev->regions);
   atomic_fetch_sub(&dev->renderer->devices, 1);
   free(dev->queues);
   free(dev);
}

/* One of the context's slots for a host device (--limit devices); false,
 * logged, when it holds them all. A device kept on the host after the
 * guest destroyed it (work that never ends, lent memory) keeps its slot:
 * its host device and the driver's threads for it live on. */
static bool
device_slot_take(struct vs_renderer *r)
{
   if (vs_slot_take(&r->devices, r->options.devices))
      return true;
   const bool first = atomic_fetch_add(&r->device_refusals, 1) == 0;
   vs_log(first ? VS_LOG_WARN : VS_LOG_DEBUG, r->ctx_id,
          "vkCreateDevice refused: the context holds %u VkDevices (limit devices=%u): %s%s", r->options.devices,
          r->options.devices, vn_result_name(VK_ERROR_TOO_MANY_OBJECTS),
          first ? " (further refusals are debug lines)" : "");
   return false;
}

/* Whether guest LINEAR-modifier color attachments become OPTIMAL host
 * images (see struct vs_device): the options' choice (*forced when
 * "optimal"), or by vendor. */
static bool
modifier_color_optimal(const struct vs_physical_device *phys, enum vs_modifier_color choice, bool *forced)
{
   *forced = choice == VS_MODIFIER_COLOR_OPTIMAL;
   if (choice != VS_MODIFIER_COLOR_AUTO)
      return *forced;
   return phys->props.vendorID == 0x10de; /* NVIDIA */
}

static bool
has_extension_name(const char *const *names, uint32_t count, const char *name)
{
   for (uint32_t i = 0; i < count; i++) {
      if (strcmp(names[i], name) == 0)
         return true;
   }
   return false;
}

/* How deep the device lets secondaries execute secondaries (struct
 * vs_device): 0 unless the guest enabled nestedCommandBuffer. */
static uint32_t
command_buffer_nesting(struct vs_object *phys_obj, const VkDeviceCreateInfo *ci)
{
   const VkPhysicalDeviceNestedCommandBufferFeaturesEXT *features =
      vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_FEATURES_EXT);
   if (!features || !features->nestedCommandBuffer || !phys_obj->it->GetPhysicalDeviceProperties2)
      return 0;
   VkPhysicalDeviceNestedCommandBufferPropertiesEXT nested = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_PROPERTIES_EXT,
   };
   VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &nested };
   phys_obj->it->GetPhysicalDeviceProperties2(vs_physical_device_from(phys_obj)->host, &props);
   return nested.maxCommandBufferNestingLevel < VS_NESTING_LIMIT ? nested.maxCommandBufferNestingLevel
                                                                 : VS_NESTING_LIMIT;
}

/* Timeline semaphores on every device whose host has them: the queues'
 * serial semaphores need them. The guest's feature structs are decoded
 * copies, changed in place; `timeline` provides one where the guest gave
 * none. True when they are on. */
static bool
force_timeline_semaphore(const struct vs_physical_device *phys, VkDeviceCreateInfo *ci,
                         VkPhysicalDeviceTimelineSemaphoreFeatures *timeline)
{
   if (!phys->timeline_semaphore)
      return false;
   VkPhysicalDeviceVulkan12Features *v12 = vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES);
   VkPhysicalDeviceTimelineSemaphoreFeatures *t =
      vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES);
   if (v12)
      v12->timelineSemaphore = VK_TRUE;
   if (t)
      t->timelineSemaphore = VK_TRUE;
   if (!v12 && !t) {
      *timeline = (VkPhysicalDeviceTimelineSemaphoreFeatures){
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
         .pNext = (void *)ci->pNext,
         .timelineSemaphore = VK_TRUE,
      };
      ci->pNext = timeline;
   }
   return true;
}

/* Each queue's serial semaphore (struct vs_queue); none where the host
 * device has no timeline semaphores, or cannot make one (the fence
 * fallback then). A new queue has no work: serial 0, the semaphore's
 * initial value, covers it, so a fence behind nothing (an empty submit's)
 * retires at once rather than on a host fence. */
static void
create_serial_timelines(struct vs_renderer *r, struct vs_device *dev)
{
   const VkSemaphoreTypeCreateInfo type = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
      .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
   };
   const VkSemaphoreCreateInfo info = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type };
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      VkResult res = dev->dt.CreateSemaphore(dev->host, &info, NULL, &dev->queues[i].serial_timeline);
      dev->queues[i].serial_covers_all = res == VK_SUCCESS;
      if (res != VK_SUCCESS) {
         vs_warn(r->ctx_id, "queue %u of family %u: serial timeline semaphore: %s; fences instead",
                 dev->queues[i].index, dev->queues[i].family, vn_result_name(res));
         dev->queues[i].serial_timeline = VK_NULL_HANDLE;
      }
   }
}

/* The guest's create info against what the server offers and the host
 * has: false after failing the context or setting a->ret; else the number
 * of queues it creates in *queue_count. */
static bool
create_info_accepted(struct vs_runner *runner, struct vn_args_vkCreateDevice *a,
                     const struct vs_physical_device *phys, uint32_t *queue_count)
{
   const VkDeviceCreateInfo *ci = a->pCreateInfo;
   struct vs_renderer *r = runner->renderer;
   if (!ci) {
      vs_runner_fail(runner, "vkCreateDevice: no create info");
      return false;
   }
   if (ci->enabledLayerCount) {
      a->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return false;
   }
   if (ci->enabledExtensionCount && !ci->ppEnabledExtensionNames) {
      vs_runner_fail(runner, "vkCreateDevice: extension count without names");
      return false;
   }
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      const char *name = ci->ppEnabledExtensionNames[i];
      if (!vs_caps_provides(name, phys->has_foreign_queue) &&
          !vs_device_extension_offered(phys->extensions, phys->extension_count, name)) {
         vs_warn(r->ctx_id, "vkCreateDevice: extension %s not offered: %s", name,
                 vn_result_name(VK_ERROR_EXTENSION_NOT_PRESENT));
         a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
         return false;
      }
   }
   /* The host may accept what its own limits forbid (and crash later):
    * queue families and counts are checked here. */
   *queue_count = 0;
   if (ci->queueCreateInfoCount && !ci->pQueueCreateInfos) {
      vs_runner_fail(runner, "vkCreateDevice: queue create info count without infos");
      return false;
   }
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      if (q->queueFamilyIndex >= phys->queue_family_count || q->queueCount == 0 ||
          q->queueCount > phys->queue_families[q->queueFamilyIndex].queueCount) {
         vs_runner_fail(runner, "vkCreateDevice: %u queue(s) of family %u (the host has %u famil%s)",
                          q->queueCount, q->queueFamilyIndex, phys->queue_family_count,
                          phys->queue_family_count == 1 ? "y" : "ies");
         return false;
      }
      for (uint32_t j = 0; j < i; j++) {
         if (ci->pQueueCreateInfos[j].queueFamilyIndex == q->queueFamilyIndex &&
             ci->pQueueCreateInfos[j].flags == q->flags) {
            vs_runner_fail(runner, "vkCreateDevice: queue family %u named twice", q->queueFamilyIndex);
            return false;
         }
      }
      *queue_count += q->queueCount;
   }
   char flags_error[192];
   if (vs_device_queue_flags_error(ci, phys->queue_families, flags_error, sizeof(flags_error))) {
      vs_runner_fail(runner, "vkCreateDevice: %s", flags_error);
      return false;
   }
   return true;
}

/* The host's create info for a guest's. It points into itself: it stays
 * where host_device_info_init filled it in. */
struct host_device_info {
   VkDeviceCreateInfo ci;
   const char **names; /* its extensions */
   struct vs_robust_device_features robust;
   VkPhysicalDeviceTimelineSemaphoreFeatures timeline_features;
   bool timeline;          /* timeline semaphores are on */
   bool foreign_by_server; /* the guest's VK_EXT_queue_family_foreign is the server's */
};

/* False when out of memory. */
static bool
host_device_info_init(struct host_device_info *h, const struct vs_physical_device *phys,
                      const VkDeviceCreateInfo *ci, bool robust_access)
{
   /* The guest's extensions plus those the server needs to share memory
    * and, on a portability driver, VK_KHR_portability_subset. */
   h->names = calloc(ci->enabledExtensionCount + 5, sizeof(*h->names));
   if (!h->names)
      return false;
   /* The server's own extensions (renderer/caps/caps.h) stay out of the host's list. */
   uint32_t count = 0;
   h->foreign_by_server = false;
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      const char *name = ci->ppEnabledExtensionNames[i];
      if (!vs_caps_provides(name, phys->has_foreign_queue))
         h->names[count++] = name;
      else if (strcmp(name, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME) == 0)
         h->foreign_by_server = true;
   }
   /* A device that lists VK_KHR_portability_subset must be created with it
    * (MoltenVK); its limits reach the guest through the core queries. */
   if (phys->portability_subset)
      h->names[count++] = "VK_KHR_portability_subset";
   h->ci = *ci;
   h->timeline = force_timeline_semaphore(phys, &h->ci, &h->timeline_features);
   if (robust_access && vs_robust_access_force_device(phys, &h->ci, &h->robust) &&
       !has_extension_name(h->names, count, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME))
      h->names[count++] = VK_EXT_ROBUSTNESS_2_EXTENSION_NAME;
   h->ci.ppEnabledExtensionNames = h->names;
   h->ci.enabledExtensionCount = vs_memory_add_device_extensions(phys, h->names, count);
   return true;
}

/* The host device and its entry points: the one the worker's hook hands
 * over (options->device_hook), else a new one. */
static VkResult
create_host_device(struct vs_renderer *r, struct vn_args_vkCreateDevice *a, struct vs_device *dev,
                   const VkDeviceCreateInfo *host_ci)
{
   const struct vs_device_hook *hook = r->options.device_hook;
   /* A worker may hold this very device already (the last tenant's). */
   dev->host = hook ? hook->take(&r->options, a->physicalDevice, host_ci) : VK_NULL_HANDLE;
   const bool warm = dev->host != VK_NULL_HANDLE;
   vs_host_lifecycle_lock();
   VkResult ret = dev->host ? VK_SUCCESS
                            : a->physicalDevice_obj->it->CreateDevice(a->physicalDevice, host_ci, NULL, &dev->host);
   if (ret == VK_SUCCESS)
      vn_load_device_table(dev->host, vkGetDeviceProcAddr, &dev->dt);
   vs_host_lifecycle_unlock();
   if (ret != VK_SUCCESS) {
      vs_warn(r->ctx_id, "host vkCreateDevice failed: %s", vn_result_name(ret));
      return ret;
   }
   if (hook)
      hook->created(&r->options, a->physicalDevice, host_ci);
   if (dev->host)
      vs_debug(r->ctx_id, "vkCreateDevice: host device %s", warm ? "handed over by the warm-up" : "created");
   return ret;
}

/* What the server enabled on the host device for itself. */
static void
note_host_extensions(struct vs_device *dev, const VkDeviceCreateInfo *host_ci)
{
   for (uint32_t i = 0; i < host_ci->enabledExtensionCount; i++) {
      const char *name = host_ci->ppEnabledExtensionNames[i];
      dev->has_external_memory_host |= strcmp(name, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
      dev->has_external_memory_fd |= strcmp(name, VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME) == 0;
      dev->has_external_memory_dma_buf |= strcmp(name, VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME) == 0;
      dev->host_queue_family_foreign |= strcmp(name, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME) == 0;
   }
}

/* The device's queues (dev->queues, `queue_count` of them), as the guest
 * created them; false, logged, when the host gave one of them none. */
static bool
init_queues(struct vs_renderer *r, struct vs_device *dev, const VkDeviceCreateInfo *ci, uint32_t queue_count)
{
   for (uint32_t i = 0, s = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      for (uint32_t j = 0; j < q->queueCount; j++, s++) {
         const VkDeviceQueueInfo2 qi = {
            .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2,
            .flags = q->flags,
            .queueFamilyIndex = q->queueFamilyIndex,
            .queueIndex = j,
         };
         vs_queue_init(&dev->queues[s], dev->host, &dev->dt, q->queueFamilyIndex, j, q->flags);
         dev->dt.GetDeviceQueue2(dev->host, &qi, &dev->queues[s].host);
      }
   }
   dev->queue_count = queue_count;
   for (uint32_t i = 0; i < queue_count; i++) {
      if (!dev->queues[i].host) {
         vs_warn(r->ctx_id, "host vkGetDeviceQueue2 gave no queue %u of family %u: %s", dev->queues[i].index,
                 dev->queues[i].family, vn_result_name(VK_ERROR_INITIALIZATION_FAILED));
         return false;
      }
   }
   return true;
}

/* The device's memory sharing and its object: false, logged, with a->ret
 * set, when its memory strategy cannot work. */
static bool
publish_device(struct vs_runner *runner, struct vn_args_vkCreateDevice *a, struct vs_device *dev)
{
   struct vs_renderer *r = runner->renderer;
   const char *why = NULL;
   if (!vs_memory_device_init(r, dev, &why)) {
      vs_warn(r->ctx_id, "memory strategy %s is not available on device %llu: %s",
              vs_memory_strategy_name(dev->mem.forced), (unsigned long long)a->pDevice_id, why);
      a->ret = VK_ERROR_INITIALIZATION_FAILED;
      return false;
   }
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_DEVICE, a->pDevice_id,
                                                  (uint64_t)(uintptr_t)dev->host, a->physicalDevice_obj);
   if (!obj)
      return false;
   obj->dt = &dev->dt;
   obj->data = dev;
   *a->pDevice = dev->host;
   dev->watchdog = vs_gpu_watchdog_start(dev, obj, r->options.gpu_timeout_ms);
   vs_log(r->kept_regions ? VS_LOG_DEBUG : VS_LOG_INFO, r->ctx_id, "device %llu created (%u queue(s), %u extension(s)); memory shared by %s%s%s%s%s, "
           "granule %zu%s", (unsigned long long)obj->id, dev->queue_count, a->pCreateInfo->enabledExtensionCount,
           dev->mem.forced != VS_MEMORY_AUTO ? vs_memory_strategy_name(dev->mem.forced) : "auto:",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.host_pointer ? " host-pointer" : "",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.dmabuf ? " dmabuf" : "",
           dev->mem.forced != VS_MEMORY_AUTO ? "" : dev->mem.opaque_fd ? " opaque-fd" : "",
           dev->mem.lent_types ? " driver-mapping" : "", dev->mem.granule,
           r->options.robust_access ? "; robust access forced (tenants share this process)" : "");
   return true;
}

static void
vs_exec_vkCreateDevice(struct vs_runner *runner, struct vn_args_vkCreateDevice *a)
{
   const VkDeviceCreateInfo *ci = a->pCreateInfo;
   const struct vs_physical_device *phys = vs_physical_device_from(a->physicalDevice_obj);
   struct vs_renderer *r = runner->renderer;
   uint32_t queue_count;
   if (!create_info_accepted(runner, a, phys, &queue_count))
      return;
   /* Mesa's Venus passes this result to the guest's vkCreateDevice as is. */
   if (!device_slot_take(r)) {
      a->ret = VK_ERROR_TOO_MANY_OBJECTS;
      return;
   }
   struct vs_device *dev = calloc(1, sizeof(*dev));
   struct vs_queue *queues = calloc(queue_count ? queue_count : 1, sizeof(*queues));
   struct host_device_info host = { .names = NULL };
   if (!dev || !queues || !host_device_info_init(&host, phys, ci, r->options.robust_access)) {
      free(dev);
      free(queues);
      atomic_fetch_sub(&r->devices, 1);
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   /* A device the warm-up prepared, handed over here, takes this slot too. */
   a->ret = create_host_device(r, a, dev, &host.ci);
   if (a->ret != VK_SUCCESS) {
      free(dev);
      free(queues);
      free(host.names);
      atomic_fetch_sub(&r->devices, 1);
      return;
   }
   note_host_extensions(dev, &host.ci);
   free(host.names);
   dev->foreign_by_server = host.foreign_by_server;
   dev->command_buffer_nesting = command_buffer_nesting(a->physicalDevice_obj, ci);
   dev->modifier_color_optimal = modifier_color_optimal(phys, r->options.modifier_color, &dev->modifier_color_forced);
   vs_region_cache_init(&dev->regions, &r->memory_usage);
   vs_lent_pool_init(&dev->lent);
   dev->physical = a->physicalDevice_obj;
   dev->renderer = r;
   dev->queues = queues;
   if (!init_queues(r, dev, ci, queue_count)) {
      device_free(dev);
      a->ret = VK_ERROR_INITIALIZATION_FAILED;
      return;
   }
   if (host.timeline)
      create_serial_timelines(r, dev);
   if (!publish_device(runner, a, dev)) {
      device_free(dev);
      return;
   }
   /* The context has a device of its own: the worker's prepared ones go. */
   if (r->options.device_hook)
      r->options.device_hook->ready(&r->options);
}

static void
vs_exec_vkGetDeviceQueue(struct vs_runner *runner, struct vn_args_vkGetDeviceQueue *a)
{
   vs_runner_fail(runner, "vkGetDeviceQueue is not supported: Venus clients bind queues to "
                          "timelines with vkGetDeviceQueue2 + VkDeviceQueueTimelineInfoMESA");
}

static void
vs_exec_vkGetDeviceQueue2(struct vs_runner *runner, struct vn_args_vkGetDeviceQueue2 *a)
{
   struct vs_device *dev = vs_device_from(a->device_obj);
   const VkDeviceQueueInfo2 *qi = a->pQueueInfo;
   const VkDeviceQueueTimelineInfoMESA *timeline = NULL;
   for (const VkBaseInStructure *s = qi ? qi->pNext : NULL; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA)
         timeline = (const VkDeviceQueueTimelineInfoMESA *)s;
   }
   if (!qi || !timeline || timeline->ringIdx == 0 || timeline->ringIdx >= VS_MAX_TIMELINES) {
      vs_runner_fail(runner, "vkGetDeviceQueue2: missing or invalid VkDeviceQueueTimelineInfoMESA");
      return;
   }
   struct vs_queue *queue = NULL;
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      struct vs_queue *s = &dev->queues[i];
      if (s->flags == qi->flags && s->family == qi->queueFamilyIndex && s->index == qi->queueIndex)
         queue = s;
   }
   if (!queue || queue->obj) {
      vs_runner_fail(runner, "vkGetDeviceQueue2: queue (family %u, index %u) %s", qi->queueFamilyIndex,
                       qi->queueIndex, queue ? "already bound" : "was not created");
      return;
   }
   struct vs_renderer *r = runner->renderer;
   pthread_mutex_lock(&r->timeline_lock);
   bool taken = r->timeline_queue[timeline->ringIdx] != NULL;
   pthread_mutex_unlock(&r->timeline_lock);
   if (taken) {
      vs_runner_fail(runner, "vkGetDeviceQueue2: timeline %u already bound", timeline->ringIdx);
      return;
   }
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_QUEUE, a->pQueue_id,
                                                  (uint64_t)(uintptr_t)queue->host, a->device_obj);
   if (!obj)
      return;
   queue->obj = obj;
   queue->ring_idx = timeline->ringIdx;
   obj->data = queue;
   pthread_mutex_lock(&r->timeline_lock);
   r->timeline_queue[timeline->ringIdx] = obj;
   pthread_mutex_unlock(&r->timeline_lock);
   *a->pQueue = queue->host;
}

struct teardown {
   struct vs_renderer *r;
   struct vs_device *dev;
   bool host_safe; /* the queues are idle: host objects may be destroyed */
};

/* What a kept device owned is kept by value: its host handle and state. */
static void
keep_child(struct vs_device *dev, const struct vs_object *obj)
{
   if (dev->kept_count + 2 > dev->kept_cap) {
      uint32_t cap = dev->kept_cap ? dev->kept_cap * 2 : 64;
      uintptr_t *grown = realloc(dev->kept, cap * sizeof(*grown));
      if (!grown)
         return; /* out of memory: a leak checker reports it, nothing worse */
      dev->kept = grown;
      dev->kept_cap = cap;
   }
   dev->kept[dev->kept_count++] = (uintptr_t)obj->handle;
   dev->kept[dev->kept_count++] = (uintptr_t)obj->data;
}

static void
destroy_child_cb(struct vs_object *obj, void *data)
{
   struct teardown *t = data;
   if (!t->host_safe)
      keep_child(t->dev, obj);
   switch (obj->type) {
   case VK_OBJECT_TYPE_COMMAND_BUFFER:
   case VK_OBJECT_TYPE_DESCRIPTOR_SET:
   case VK_OBJECT_TYPE_QUEUE:
      break; /* freed with their pool or device */
   case VK_OBJECT_TYPE_DEVICE_MEMORY:
      vs_memory_release(t->r, obj, t->host_safe);
      return;
   default:
      if (!t->host_safe)
         break;
      if (!vn_destroy_device_object(&t->dev->dt, t->dev->host, obj->type, obj->handle))
         vs_warn(t->r->ctx_id, "no way to destroy leftover object %llu of type %d",
                 (unsigned long long)obj->id, obj->type);
      break;
   }
   vs_object_foreach_child(t->r->objects, obj, VK_OBJECT_TYPE_UNKNOWN, destroy_child_cb, t);
   vs_object_remove(t->r->objects, obj);
}

/* Everything of the device goes at once: holds are forgotten first, so
 * that no entry lets go of one already freed (wire/lifetime.h). */
static void
forget_holds_cb(struct vs_object *obj, void *data)
{
   struct vs_renderer *r = data;
   vs_object_forget_holds(r->objects, obj);
   vs_object_foreach_child(r->objects, obj, VK_OBJECT_TYPE_UNKNOWN, forget_holds_cb, r);
}

void
vs_device_destroy(struct vs_renderer *r, struct vs_object *device_obj)
{
   struct vs_device *dev = vs_device_from(device_obj);
   vs_gpu_watchdog_stop(dev->watchdog);
   dev->watchdog = NULL;
   pthread_mutex_lock(&r->timeline_lock);
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      if (dev->queues[i].obj)
         r->timeline_queue[dev->queues[i].ring_idx] = NULL;
   }
   pthread_mutex_unlock(&r->timeline_lock);
   struct teardown t = { .r = r, .dev = dev, .host_safe = vs_device_drain_queues(r, device_obj) };
   if (t.host_safe)
      dev->dt.DeviceWaitIdle(dev->host);
   vs_object_foreach_child(r->objects, device_obj, VK_OBJECT_TYPE_UNKNOWN, forget_holds_cb, r);
   vs_object_foreach_child(r->objects, device_obj, VK_OBJECT_TYPE_UNKNOWN, destroy_child_cb, &t);
   const uint32_t lent = vs_lent_pool_count(&dev->lent);
   if (lent)
      vs_debug(r->ctx_id, "device %llu: kept with %u lent allocations until the worker ends",
               (unsigned long long)device_obj->id, lent);
   vs_object_remove(r->objects, device_obj);
   if (t.host_safe && !lent) {
      device_free(dev);
      return;
   }
   /* The host device is kept with work that never ends, or with lent
    * memory, which stays the client's until its worker ends
    * (renderer/memory/lent_pool.h); the server's threads for it end all
    * the same. */
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      vs_retire_queue_destroy(dev->queues[i].retire);
      dev->queues[i].retire = NULL;
   }
   pthread_mutex_lock(&kept_devices_lock);
   dev->next_kept = kept_devices;
   kept_devices = dev;
   pthread_mutex_unlock(&kept_devices_lock);
}

static void
vs_exec_vkDestroyDevice(struct vs_runner *runner, struct vn_args_vkDestroyDevice *a)
{
   if (a->device_obj)
      vs_device_destroy(runner->renderer, a->device_obj);
}

void
vs_device_register(struct vn_exec_table *t)
{
   t->vkCreateDevice = vs_exec_vkCreateDevice;
   t->vkGetDeviceQueue = vs_exec_vkGetDeviceQueue;
   t->vkGetDeviceQueue2 = vs_exec_vkGetDeviceQueue2;
   t->vkDestroyDevice = vs_exec_vkDestroyDevice;
}

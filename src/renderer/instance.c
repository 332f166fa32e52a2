/* SPDX-License-Identifier: MIT */
/* vkCreateInstance and the physical-device queries that need more than a
 * pass-through: one instance per context, physical devices bound to the
 * guest's ids, and the device extensions the server can honour. */
#include "renderer/families.h"
#include "renderer/objects.h"

#include <stdlib.h>
#include <string.h>

#include "renderer/caps/caps.h"
#include "renderer/device_extensions.h"
#include "renderer/instance_pool.h"
#include "renderer/renderer.h"
#include "renderer/memory/device_memory.h"
#include "base/log.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkEnumerateInstanceVersion(struct vs_runner *runner, struct vn_args_vkEnumerateInstanceVersion *a)
{
   uint32_t version = VK_API_VERSION_1_0;
   a->ret = vkEnumerateInstanceVersion(&version);
   if (a->pApiVersion)
      *a->pApiVersion = version;
}

static void
vs_exec_vkEnumerateInstanceExtensionProperties(struct vs_runner *runner,
                                               struct vn_args_vkEnumerateInstanceExtensionProperties *a)
{
   /* The guest implements every instance extension itself. */
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = a->pLayerName ? VK_ERROR_LAYER_NOT_PRESENT : VK_SUCCESS;
}

static void
vs_exec_vkEnumerateInstanceLayerProperties(struct vs_runner *runner,
                                           struct vn_args_vkEnumerateInstanceLayerProperties *a)
{
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = VK_SUCCESS;
}

static void
vs_exec_vkCreateInstance(struct vs_runner *runner, struct vn_args_vkCreateInstance *a)
{
   struct vs_renderer *r = runner->renderer;
   const VkInstanceCreateInfo *ci = a->pCreateInfo;
   if (!ci) {
      vs_runner_fail(runner, "vkCreateInstance: no create info");
      return;
   }
   if (ci->enabledLayerCount) {
      a->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return;
   }
   if (ci->enabledExtensionCount) {
      a->ret = VK_ERROR_EXTENSION_NOT_PRESENT;
      return;
   }
   VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "venus-server",
      .apiVersion = vs_host_instance_floor_version(),
   };
   if (ci->pApplicationInfo) {
      app = *ci->pApplicationInfo;
      app.pNext = NULL;
      if (app.apiVersion < vs_host_instance_floor_version())
         app.apiVersion = vs_host_instance_floor_version();
   }
   /* Mesa's Venus makes a context for each guest VkInstance: a second one
    * is no guest's, even one sent on another ring at the same time. */
   if (!vs_slot_take(&r->instances, 1)) {
      vs_runner_fail(runner, "vkCreateInstance: the context already has an instance");
      return;
   }
   struct vs_instance *inst = vs_instance_pool_take(app.apiVersion, r->options.device_index);
   if (!inst) {
      inst = vs_host_instance_create(&app, r->options.device_index, &a->ret);
      if (!inst) {
         vs_warn(r->ctx_id, "host vkCreateInstance failed: %s", vn_result_name(a->ret));
         atomic_fetch_sub(&r->instances, 1);
         return;
      }
   }
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_INSTANCE, a->pInstance_id,
                                                  (uint64_t)(uintptr_t)inst->host, NULL);
   if (!obj) {
      vs_instance_pool_put(inst);
      atomic_fetch_sub(&r->instances, 1);
      return;
   }
   obj->it = &inst->it;
   obj->data = inst;
   r->instance = obj;
   *a->pInstance = inst->host;
   vs_log(r->kept_regions ? VS_LOG_DEBUG : VS_LOG_INFO, r->ctx_id, "instance %llu created (API %u.%u, %u host physical device(s) exposed)",
           (unsigned long long)obj->id, VK_API_VERSION_MAJOR(app.apiVersion),
           VK_API_VERSION_MINOR(app.apiVersion), inst->physical_count);
}

static void
destroy_device_cb(struct vs_object *obj, void *data)
{
   vs_device_destroy(data, obj);
}

static void
remove_object_cb(struct vs_object *obj, void *data)
{
   struct vs_renderer *r = data;
   vs_object_remove(r->objects, obj);
}

static void
instance_destroy(struct vs_renderer *r, struct vs_object *inst_obj)
{
   struct vs_instance *inst = vs_instance_from(inst_obj);
   for (struct vs_object *phys = inst_obj->first_child; phys; phys = phys->next_sibling) {
      if (phys->type == VK_OBJECT_TYPE_PHYSICAL_DEVICE)
         vs_object_foreach_child(r->objects, phys, VK_OBJECT_TYPE_DEVICE, destroy_device_cb, r);
   }
   vs_object_foreach_child(r->objects, inst_obj, VK_OBJECT_TYPE_UNKNOWN, remove_object_cb, r);
   vs_object_remove(r->objects, inst_obj);
   r->instance = NULL;
   vs_instance_pool_put(inst);
   atomic_fetch_sub(&r->instances, 1);
}

void
vs_instance_destroy_all(struct vs_renderer *r)
{
   if (r->instance)
      instance_destroy(r, r->instance);
}

static void
vs_exec_vkDestroyInstance(struct vs_runner *runner, struct vn_args_vkDestroyInstance *a)
{
   if (!a->instance_obj)
      return;
   instance_destroy(runner->renderer, a->instance_obj);
}

void
vs_physical_device_free(void *data)
{
   struct vs_physical_device *phys = data;
   free(phys->extensions);
   free(phys->queue_families);
   free(phys);
}

struct vs_physical_device *
vs_physical_device_create(const struct vs_instance *inst, VkPhysicalDevice host)
{
   struct vs_physical_device *phys = calloc(1, sizeof(*phys));
   if (!phys)
      return NULL;
   phys->host = host;
   VkPhysicalDeviceProperties2 props2 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
      .pNext = &phys->id_props,
   };
   phys->id_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
   VkPhysicalDeviceTransformFeedbackPropertiesEXT xfb = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TRANSFORM_FEEDBACK_PROPERTIES_EXT,
   };
   inst->it.GetPhysicalDeviceProperties2(host, &props2);
   phys->props = props2.properties;
   phys->id_props.pNext = NULL;
   uint32_t count = 0;
   if (inst->it.EnumerateDeviceExtensionProperties(host, NULL, &count, NULL) == VK_SUCCESS && count) {
      phys->extensions = calloc(count, sizeof(*phys->extensions));
      if (!phys->extensions ||
          inst->it.EnumerateDeviceExtensionProperties(host, NULL, &count, phys->extensions) < VK_SUCCESS) {
         vs_physical_device_free(phys);
         return NULL;
      }
      phys->extension_count = count;
   }
   inst->it.GetPhysicalDeviceQueueFamilyProperties(host, &count, NULL);
   phys->queue_families = calloc(count ? count : 1, sizeof(*phys->queue_families));
   if (!phys->queue_families) {
      vs_physical_device_free(phys);
      return NULL;
   }
   inst->it.GetPhysicalDeviceQueueFamilyProperties(host, &count, phys->queue_families);
   phys->queue_family_count = count;
   phys->has_foreign_queue = vs_physical_device_has_extension(phys, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME);
   phys->portability_subset = vs_physical_device_has_extension(phys, "VK_KHR_portability_subset");
   if (vs_physical_device_has_extension(phys, VK_EXT_TRANSFORM_FEEDBACK_EXTENSION_NAME)) {
      props2.pNext = &xfb;
      inst->it.GetPhysicalDeviceProperties2(host, &props2);
   }
   const VkPhysicalDeviceLimits *l = &phys->props.limits;
   phys->index_limits = (struct vs_index_limits){
      .maxViewports = l->maxViewports,
      .maxVertexInputBindings = l->maxVertexInputBindings,
      .maxVertexInputAttributes = l->maxVertexInputAttributes,
      .maxColorAttachments = l->maxColorAttachments,
      .maxFramebufferLayers = l->maxFramebufferLayers,
      .maxTransformFeedbackBuffers = xfb.maxTransformFeedbackBuffers,
   };
   if (vs_physical_device_has_extension(phys, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME)) {
      VkPhysicalDeviceRobustness2FeaturesEXT robustness2 = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT,
      };
      VkPhysicalDeviceFeatures2 features = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                             .pNext = &robustness2 };
      inst->it.GetPhysicalDeviceFeatures2(host, &features);
      phys->robustness2 = robustness2.robustBufferAccess2 && robustness2.robustImageAccess2;
   }
   if (inst->api_version >= VK_API_VERSION_1_2 && phys->props.apiVersion >= VK_API_VERSION_1_2) {
      VkPhysicalDeviceTimelineSemaphoreFeatures timeline = {
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
      };
      VkPhysicalDeviceFeatures2 features = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                             .pNext = &timeline };
      inst->it.GetPhysicalDeviceFeatures2(host, &features);
      phys->timeline_semaphore = timeline.timelineSemaphore;
   }
   return phys;
}

static void
vs_exec_vkEnumeratePhysicalDevices(struct vs_runner *runner,
                                   struct vn_args_vkEnumeratePhysicalDevices *a)
{
   struct vs_instance *inst = vs_instance_from(a->instance_obj);
   if (!a->pPhysicalDeviceCount) {
      vs_runner_fail(runner, "vkEnumeratePhysicalDevices: no count");
      return;
   }
   if (!a->pPhysicalDevices) {
      *a->pPhysicalDeviceCount = inst->physical_count;
      a->ret = VK_SUCCESS;
      return;
   }
   uint32_t n = a->pPhysicalDevices_count < inst->physical_count ? a->pPhysicalDevices_count
                                                                  : inst->physical_count;
   for (uint32_t i = 0; i < n; i++) {
      uint64_t id = a->pPhysicalDevices_ids[i];
      struct vs_object *obj = vs_object_lookup(runner->objects, id, VK_OBJECT_TYPE_PHYSICAL_DEVICE);
      if (obj) {
         /* A repeated call must name the same devices in the same order. */
         if (obj->handle != (uint64_t)(uintptr_t)inst->physical[i]) {
            vs_runner_fail(runner, "vkEnumeratePhysicalDevices: id %llu rebound", (unsigned long long)id);
            return;
         }
      } else {
         struct vs_physical_device *phys = vs_physical_device_create(inst, inst->physical[i]);
         if (!phys) {
            a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
            return;
         }
         /* A guest may bind the same host device under new ids: its
          * memory probe (a host device) runs once. */
         const struct vs_object *twin = vs_object_find_handle(runner->objects, VK_OBJECT_TYPE_PHYSICAL_DEVICE,
                                                              (uint64_t)(uintptr_t)inst->physical[i]);
         obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_PHYSICAL_DEVICE, id,
                                      (uint64_t)(uintptr_t)inst->physical[i], a->instance_obj);
         if (!obj) {
            vs_physical_device_free(phys);
            return;
         }
         obj->data = phys;
         obj->data_free = vs_physical_device_free;
         if (twin) {
            phys->unshareable_types = vs_physical_device_from(twin)->unshareable_types;
         } else if (inst->memory_probe[i].known) {
            phys->unshareable_types = inst->memory_probe[i].unshareable_types;
            phys->kept_types = inst->memory_probe[i].kept_types;
            vs_memory_report_unshareable(runner->renderer, obj);
         } else {
            vs_memory_physical_init(runner->renderer, obj);
            inst->memory_probe[i] = (struct vs_memory_probe_result){ true, phys->unshareable_types, phys->kept_types };
         }
      }
      a->pPhysicalDevices[i] = inst->physical[i];
   }
   inst->physical_bound = true;
   *a->pPhysicalDeviceCount = n;
   a->pPhysicalDevices_count = n;
   a->ret = n < inst->physical_count ? VK_INCOMPLETE : VK_SUCCESS;
}

static void
vs_exec_vkEnumeratePhysicalDeviceGroups(struct vs_runner *runner,
                                        struct vn_args_vkEnumeratePhysicalDeviceGroups *a)
{
   struct vs_instance *inst = vs_instance_from(a->instance_obj);
   if (!a->pPhysicalDeviceGroupCount) {
      vs_runner_fail(runner, "vkEnumeratePhysicalDeviceGroups: no count");
      return;
   }
   if (!inst->physical_bound) {
      vs_runner_fail(runner, "vkEnumeratePhysicalDeviceGroups before vkEnumeratePhysicalDevices");
      return;
   }
   /* One group per exposed device: what --device filtering can honour. */
   if (!a->pPhysicalDeviceGroupProperties) {
      *a->pPhysicalDeviceGroupCount = inst->physical_count;
      a->ret = VK_SUCCESS;
      return;
   }
   uint32_t n = *a->pPhysicalDeviceGroupCount < inst->physical_count ? *a->pPhysicalDeviceGroupCount
                                                                      : inst->physical_count;
   for (uint32_t i = 0; i < n; i++) {
      VkPhysicalDeviceGroupProperties *g = &a->pPhysicalDeviceGroupProperties[i];
      g->physicalDeviceCount = 1;
      memset(g->physicalDevices, 0, sizeof(g->physicalDevices));
      g->physicalDevices[0] = inst->physical[i];
      g->subsetAllocation = VK_FALSE;
   }
   *a->pPhysicalDeviceGroupCount = n;
   a->ret = n < inst->physical_count ? VK_INCOMPLETE : VK_SUCCESS;
}

static void
vs_exec_vkEnumerateDeviceExtensionProperties(struct vs_runner *runner,
                                             struct vn_args_vkEnumerateDeviceExtensionProperties *a)
{
   if (a->pLayerName) {
      a->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return;
   }
   if (!a->pPropertyCount) {
      vs_runner_fail(runner, "vkEnumerateDeviceExtensionProperties: no count");
      return;
   }
   const struct vs_physical_device *phys = vs_physical_device_from(a->physicalDevice_obj);
   VkExtensionProperties *host = calloc(phys->extension_count + VS_CAPS_PROVIDED_MAX, sizeof(*host));
   if (!host) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   uint32_t allowed = 0;
   for (uint32_t i = 0; i < phys->extension_count; i++) {
      if (vs_device_extension_offered(phys->extensions, phys->extension_count, phys->extensions[i].extensionName))
         host[allowed++] = phys->extensions[i];
   }
   allowed = vs_caps_merge_extensions(host, allowed, phys->has_foreign_queue);
   a->ret = VK_SUCCESS;
   if (!a->pProperties) {
      *a->pPropertyCount = allowed;
   } else {
      uint32_t n = *a->pPropertyCount < allowed ? *a->pPropertyCount : allowed;
      memcpy(a->pProperties, host, n * sizeof(*host));
      *a->pPropertyCount = n;
      a->ret = n < allowed ? VK_INCOMPLETE : VK_SUCCESS;
   }
   free(host);
}

static void
vs_exec_vkEnumerateDeviceLayerProperties(struct vs_runner *runner,
                                         struct vn_args_vkEnumerateDeviceLayerProperties *a)
{
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = VK_SUCCESS;
}

void
vs_instance_register(struct vn_exec_table *t)
{
   t->vkEnumerateInstanceVersion = vs_exec_vkEnumerateInstanceVersion;
   t->vkEnumerateInstanceExtensionProperties = vs_exec_vkEnumerateInstanceExtensionProperties;
   t->vkEnumerateInstanceLayerProperties = vs_exec_vkEnumerateInstanceLayerProperties;
   t->vkCreateInstance = vs_exec_vkCreateInstance;
   t->vkDestroyInstance = vs_exec_vkDestroyInstance;
   t->vkEnumeratePhysicalDevices = vs_exec_vkEnumeratePhysicalDevices;
   t->vkEnumeratePhysicalDeviceGroups = vs_exec_vkEnumeratePhysicalDeviceGroups;
   t->vkEnumerateDeviceExtensionProperties = vs_exec_vkEnumerateDeviceExtensionProperties;
   t->vkEnumerateDeviceLayerProperties = vs_exec_vkEnumerateDeviceLayerProperties;
}

/* vkCreateInstance and the physical-device queries that need more than a
 * pass-through: one instance per context, physical devices bound to the
 * guest's ids, and the device extensions the server can honour. */
#include "dispatch/instance.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "caps/caps.h"
#include "config.h"
#include "dispatch/dispatch.h"
#include "util/log.h"
#include "venus/context_state.h"

/* Extensions a guest cannot use through this server even though the host
 * has them and their structs would decode: they hand host pointers or
 * platform objects across, which cannot cross the wire. */
static const char *const device_extension_denylist[] = {
   "VK_EXT_external_memory_host",
   "VK_EXT_device_memory_report",
   "VK_EXT_debug_marker",
   "VK_EXT_tooling_info",
};

static bool
device_extension_allowed(const char *name)
{
   for (size_t i = 0; i < sizeof(device_extension_denylist) / sizeof(device_extension_denylist[0]); i++) {
      if (strcmp(name, device_extension_denylist[i]) == 0)
         return false;
   }
   return vn_extension_decodable(name);
}

static struct vs_instance *
instance_of(struct vs_object *obj)
{
   while (obj && obj->type != VK_OBJECT_TYPE_INSTANCE)
      obj = obj->parent;
   return obj ? obj->data : NULL;
}

void
vs_exec_vkEnumerateInstanceVersion(struct vs_dispatch *disp, struct vn_args_vkEnumerateInstanceVersion *a)
{
   uint32_t version = VK_API_VERSION_1_0;
   a->ret = vkEnumerateInstanceVersion(&version);
   if (a->pApiVersion)
      *a->pApiVersion = version;
}

void
vs_exec_vkEnumerateInstanceExtensionProperties(struct vs_dispatch *disp,
                                               struct vn_args_vkEnumerateInstanceExtensionProperties *a)
{
   /* The guest implements every instance extension itself. */
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = a->pLayerName ? VK_ERROR_LAYER_NOT_PRESENT : VK_SUCCESS;
}

void
vs_exec_vkEnumerateInstanceLayerProperties(struct vs_dispatch *disp,
                                           struct vn_args_vkEnumerateInstanceLayerProperties *a)
{
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = VK_SUCCESS;
}

/* Host instances outlive their contexts: a context's instance goes back to
 * this pool and the next vkCreateInstance with the same API version takes
 * it. NVIDIA's driver (580.159.04) refuses every vkCreateInstance with
 * VK_ERROR_INCOMPATIBLE_DRIVER once a process has created and destroyed
 * about 30 instances, which a server outlives after 30 clients. A host
 * instance carries no guest state: the server enables no instance
 * extensions or layers on it, and contexts share nothing else through it. */
#define INSTANCE_POOL_SIZE 8

static struct {
   pthread_mutex_t lock;
   struct vs_instance *idle[INSTANCE_POOL_SIZE];
   unsigned count;
} instance_pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct vs_instance *
instance_pool_take(uint32_t api_version)
{
   struct vs_instance *inst = NULL;
   pthread_mutex_lock(&instance_pool.lock);
   for (unsigned i = 0; i < instance_pool.count; i++) {
      if (instance_pool.idle[i]->api_version == api_version) {
         inst = instance_pool.idle[i];
         instance_pool.idle[i] = instance_pool.idle[--instance_pool.count];
         break;
      }
   }
   pthread_mutex_unlock(&instance_pool.lock);
   return inst;
}

static void
instance_destroy_host(struct vs_instance *inst)
{
   if (inst->host) {
      PFN_vkDestroyInstance destroy =
         (PFN_vkDestroyInstance)vkGetInstanceProcAddr(inst->host, "vkDestroyInstance");
      destroy(inst->host, NULL);
   }
   free(inst->physical);
   free(inst);
}

/* Back to the pool (ready for another context), or destroyed when full. */
static void
instance_free(struct vs_instance *inst)
{
   if (inst->host && inst->physical) {
      inst->physical_bound = false;
      pthread_mutex_lock(&instance_pool.lock);
      bool pooled = instance_pool.count < INSTANCE_POOL_SIZE;
      if (pooled)
         instance_pool.idle[instance_pool.count++] = inst;
      pthread_mutex_unlock(&instance_pool.lock);
      if (pooled)
         return;
   }
   instance_destroy_host(inst);
}

static bool
instance_init_physical_devices(struct vs_instance *inst)
{
   uint32_t count = 0;
   if (inst->it.EnumeratePhysicalDevices(inst->host, &count, NULL) != VK_SUCCESS)
      return false;
   VkPhysicalDevice *all = calloc(count ? count : 1, sizeof(*all));
   if (!all || inst->it.EnumeratePhysicalDevices(inst->host, &count, all) < VK_SUCCESS) {
      free(all);
      return false;
   }
   if (vs_config.device_index >= 0) {
      /* --device N exposes only the N-th host device. */
      if ((uint32_t)vs_config.device_index < count) {
         all[0] = all[vs_config.device_index];
         count = 1;
      } else {
         count = 0;
      }
   }
   inst->physical = all;
   inst->physical_count = count;
   return true;
}

void
vs_exec_vkCreateInstance(struct vs_dispatch *disp, struct vn_args_vkCreateInstance *a)
{
   struct vs_context *ctx = disp->ctx;
   if (ctx->instance) {
      vs_dispatch_fail(disp, "vkCreateInstance: the context already has an instance");
      return;
   }
   const VkInstanceCreateInfo *ci = a->pCreateInfo;
   if (!ci) {
      vs_dispatch_fail(disp, "vkCreateInstance: no create info");
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
      .apiVersion = VK_API_VERSION_1_1,
   };
   if (ci->pApplicationInfo) {
      app = *ci->pApplicationInfo;
      app.pNext = NULL;
      if (app.apiVersion < VK_API_VERSION_1_1)
         app.apiVersion = VK_API_VERSION_1_1;
   }
   VkInstanceCreateInfo host_ci = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app,
   };
   struct vs_instance *inst = instance_pool_take(app.apiVersion);
   if (!inst) {
      inst = calloc(1, sizeof(*inst));
      if (!inst) {
         a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
         return;
      }
      inst->api_version = app.apiVersion;
      a->ret = vkCreateInstance(&host_ci, NULL, &inst->host);
      if (a->ret != VK_SUCCESS) {
         vs_warn(ctx->id, "host vkCreateInstance failed: %s", vn_result_name(a->ret));
         free(inst);
         return;
      }
      vn_load_instance_table(inst->host, vkGetInstanceProcAddr, &inst->it);
      if (!instance_init_physical_devices(inst)) {
         instance_destroy_host(inst);
         a->ret = VK_ERROR_INITIALIZATION_FAILED;
         return;
      }
   }
   struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_INSTANCE, a->pInstance_id,
                                                  (uint64_t)(uintptr_t)inst->host, NULL);
   if (!obj) {
      instance_free(inst);
      return;
   }
   obj->it = &inst->it;
   obj->data = inst;
   ctx->instance = obj;
   *a->pInstance = inst->host;
   vs_info(ctx->id, "instance %llu created (API %u.%u, %u host physical device(s) exposed)",
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
   struct vs_context *ctx = data;
   vs_object_remove(&ctx->objects, obj);
}

static void
instance_destroy(struct vs_context *ctx, struct vs_object *inst_obj)
{
   struct vs_instance *inst = inst_obj->data;
   for (uint32_t i = 0; i < inst->physical_count; i++) {
      struct vs_object *phys = vs_object_find_handle(&ctx->objects, VK_OBJECT_TYPE_PHYSICAL_DEVICE,
                                                     (uint64_t)(uintptr_t)inst->physical[i]);
      if (!phys)
         continue;
      vs_object_foreach_child(&ctx->objects, phys, VK_OBJECT_TYPE_DEVICE, destroy_device_cb, ctx);
   }
   vs_object_foreach_child(&ctx->objects, inst_obj, VK_OBJECT_TYPE_UNKNOWN, remove_object_cb, ctx);
   vs_object_remove(&ctx->objects, inst_obj);
   ctx->instance = NULL;
   instance_free(inst);
}

void
vs_instance_destroy_all(struct vs_context *ctx)
{
   if (ctx->instance)
      instance_destroy(ctx, ctx->instance);
}

void
vs_exec_vkDestroyInstance(struct vs_dispatch *disp, struct vn_args_vkDestroyInstance *a)
{
   if (!a->instance_obj)
      return;
   instance_destroy(disp->ctx, a->instance_obj);
}

void
vs_exec_vkEnumeratePhysicalDevices(struct vs_dispatch *disp,
                                   struct vn_args_vkEnumeratePhysicalDevices *a)
{
   struct vs_instance *inst = a->instance_obj->data;
   if (!a->pPhysicalDeviceCount) {
      vs_dispatch_fail(disp, "vkEnumeratePhysicalDevices: no count");
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
      struct vs_object *obj = vs_object_lookup(&disp->ctx->objects, id, VK_OBJECT_TYPE_PHYSICAL_DEVICE);
      if (obj) {
         /* A repeated call must name the same devices in the same order. */
         if (obj->handle != (uint64_t)(uintptr_t)inst->physical[i]) {
            vs_dispatch_fail(disp, "vkEnumeratePhysicalDevices: id %llu rebound", (unsigned long long)id);
            return;
         }
      } else if (!vs_dispatch_add_object(disp, VK_OBJECT_TYPE_PHYSICAL_DEVICE, id,
                                         (uint64_t)(uintptr_t)inst->physical[i], a->instance_obj)) {
         return;
      }
      a->pPhysicalDevices[i] = inst->physical[i];
   }
   inst->physical_bound = true;
   *a->pPhysicalDeviceCount = n;
   a->pPhysicalDevices_count = n;
   a->ret = n < inst->physical_count ? VK_INCOMPLETE : VK_SUCCESS;
}

void
vs_exec_vkEnumeratePhysicalDeviceGroups(struct vs_dispatch *disp,
                                        struct vn_args_vkEnumeratePhysicalDeviceGroups *a)
{
   struct vs_instance *inst = a->instance_obj->data;
   if (!a->pPhysicalDeviceGroupCount) {
      vs_dispatch_fail(disp, "vkEnumeratePhysicalDeviceGroups: no count");
      return;
   }
   if (!inst->physical_bound) {
      vs_dispatch_fail(disp, "vkEnumeratePhysicalDeviceGroups before vkEnumeratePhysicalDevices");
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

void
vs_exec_vkEnumerateDeviceExtensionProperties(struct vs_dispatch *disp,
                                             struct vn_args_vkEnumerateDeviceExtensionProperties *a)
{
   if (a->pLayerName) {
      a->ret = VK_ERROR_LAYER_NOT_PRESENT;
      return;
   }
   if (!a->pPropertyCount) {
      vs_dispatch_fail(disp, "vkEnumerateDeviceExtensionProperties: no count");
      return;
   }
   const struct vn_instance_table *it = a->physicalDevice_obj->it;
   uint32_t host_count = 0;
   a->ret = it->EnumerateDeviceExtensionProperties(a->physicalDevice, NULL, &host_count, NULL);
   if (a->ret != VK_SUCCESS)
      return;
   VkExtensionProperties *host = calloc(host_count + VS_CAPS_PROVIDED_MAX, sizeof(*host));
   if (!host) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   a->ret = it->EnumerateDeviceExtensionProperties(a->physicalDevice, NULL, &host_count, host);
   uint32_t allowed = 0;
   bool host_has_foreign = false;
   for (uint32_t i = 0; i < host_count; i++) {
      host_has_foreign |= strcmp(host[i].extensionName, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME) == 0;
      if (device_extension_allowed(host[i].extensionName))
         host[allowed++] = host[i];
   }
   allowed = vs_caps_merge_extensions(host, allowed, host_has_foreign);
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

void
vs_exec_vkEnumerateDeviceLayerProperties(struct vs_dispatch *disp,
                                         struct vn_args_vkEnumerateDeviceLayerProperties *a)
{
   if (a->pPropertyCount)
      *a->pPropertyCount = 0;
   a->ret = VK_SUCCESS;
}

bool
vs_device_extension_allowed(const char *name)
{
   return device_extension_allowed(name);
}

struct vs_instance *
vs_instance_of(struct vs_object *obj)
{
   return instance_of(obj);
}

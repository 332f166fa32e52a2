/* SPDX-License-Identifier: MIT */
/* Host instances outlive their contexts: a context's instance goes back to
 * this pool and the next vkCreateInstance with the same API version and
 * device choice takes it. NVIDIA's driver (580.159.04) refuses every
 * vkCreateInstance with VK_ERROR_INCOMPATIBLE_DRIVER once a process has
 * created and destroyed about 30 instances, which a server outlives after
 * 30 clients. A host instance carries no guest state: the server enables
 * no instance extensions or layers a guest chose, and contexts share
 * nothing else through it. */
#include "renderer/instance_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/host_lifecycle.h"
#include "renderer/renderer_state.h"
#include "renderer/warm_up.h"
#include "vn_wire.h"

#define INSTANCE_POOL_SIZE 8

static struct {
   pthread_mutex_t lock;
   struct vs_instance *idle[INSTANCE_POOL_SIZE];
   unsigned count;
} instance_pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct vs_instance *
vs_instance_pool_take(uint32_t api_version, int device_index)
{
   struct vs_instance *inst = NULL;
   pthread_mutex_lock(&instance_pool.lock);
   /* The same version, else the closest newer one: a host instance of a
    * newer version only lets the server use more of the host, never the
    * guest, whose own instance sets what it may use. */
   unsigned best = instance_pool.count;
   for (unsigned i = 0; i < instance_pool.count; i++) {
      const struct vs_instance *idle = instance_pool.idle[i];
      if (idle->device_index == device_index && idle->api_version >= api_version &&
          (best == instance_pool.count || idle->api_version < instance_pool.idle[best]->api_version))
         best = i;
   }
   if (best < instance_pool.count) {
      inst = instance_pool.idle[best];
      instance_pool.idle[best] = instance_pool.idle[--instance_pool.count];
   }
   pthread_mutex_unlock(&instance_pool.lock);
   return inst;
}

static void
instance_destroy_host(struct vs_instance *inst)
{
   /* The warm-up's devices may be this instance's. */
   vs_warm_up_finish();
   if (inst->host) {
      PFN_vkDestroyInstance destroy =
         (PFN_vkDestroyInstance)vkGetInstanceProcAddr(inst->host, "vkDestroyInstance");
      vs_host_lifecycle_lock();
      destroy(inst->host, NULL);
      vs_host_lifecycle_unlock();
   }
   free(inst->physical);
   free(inst->memory_probe);
   free(inst);
}

void
vs_instance_pool_put(struct vs_instance *inst)
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
instance_init_physical_devices(struct vs_instance *inst, int device_index)
{
   uint32_t count = 0;
   if (inst->it.EnumeratePhysicalDevices(inst->host, &count, NULL) != VK_SUCCESS)
      return false;
   VkPhysicalDevice *all = calloc(count ? count : 1, sizeof(*all));
   if (!all || inst->it.EnumeratePhysicalDevices(inst->host, &count, all) < VK_SUCCESS) {
      free(all);
      return false;
   }
   if (device_index >= 0) {
      /* --device N exposes only the N-th host device. */
      if ((uint32_t)device_index < count) {
         all[0] = all[device_index];
         count = 1;
      } else {
         count = 0;
      }
   }
   inst->physical = all;
   inst->physical_count = count;
   inst->memory_probe = calloc(count ? count : 1, sizeof(*inst->memory_probe));
   return inst->memory_probe != NULL;
}

static bool
loader_has_portability_enumeration(void)
{
   uint32_t count = 0;
   if (vkEnumerateInstanceExtensionProperties(NULL, &count, NULL) != VK_SUCCESS || !count)
      return false;
   VkExtensionProperties *props = calloc(count, sizeof(*props));
   bool found = false;
   if (props && vkEnumerateInstanceExtensionProperties(NULL, &count, props) >= VK_SUCCESS) {
      for (uint32_t i = 0; i < count && !found; i++)
         found = strcmp(props[i].extensionName, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME) == 0;
   }
   free(props);
   return found;
}

uint32_t
vs_host_instance_loader_version(void)
{
   uint32_t version = VK_API_VERSION_1_1;
   if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS)
      version = VK_API_VERSION_1_1;
   return version;
}

/* The host instance is at least 1.2 where the loader is: the queues'
 * serial timeline semaphores are core there, and without them every
 * fence the guest asks of the server (Mesa 26 asks one per submit)
 * needs a host fence of its own (renderer/lifetime.c). 1.1 at least
 * otherwise. Guests that asked for less use none of what this adds. */
uint32_t
vs_host_instance_floor_version(void)
{
   return vs_host_instance_loader_version() >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_1;
}

struct vs_instance *
vs_host_instance_create(const VkApplicationInfo *app, int device_index, VkResult *ret)
{
   /* MoltenVK is a portability driver: a loader lists it only to an
    * instance that enumerates portability drivers. */
   static const char *const portability[] = { VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME };
   VkInstanceCreateInfo host_ci = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = app,
   };
   if (loader_has_portability_enumeration()) {
      host_ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
      host_ci.enabledExtensionCount = 1;
      host_ci.ppEnabledExtensionNames = portability;
   }
   struct vs_instance *inst = calloc(1, sizeof(*inst));
   if (!inst) {
      *ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return NULL;
   }
   inst->api_version = app->apiVersion;
   inst->device_index = device_index;
   vs_host_lifecycle_lock();
   *ret = vkCreateInstance(&host_ci, NULL, &inst->host);
   vs_host_lifecycle_unlock();
   if (*ret != VK_SUCCESS) {
      free(inst);
      return NULL;
   }
   vn_load_instance_table(inst->host, vkGetInstanceProcAddr, &inst->it);
   if (!instance_init_physical_devices(inst, device_index)) {
      instance_destroy_host(inst);
      *ret = VK_ERROR_INITIALIZATION_FAILED;
      return NULL;
   }
   return inst;
}

int
vs_host_physical_device_names(char (*names)[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE], VkPhysicalDeviceType *types,
                              unsigned max)
{
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "venus-server",
      .apiVersion = vs_host_instance_floor_version(),
   };
   VkResult ret;
   struct vs_instance *inst = vs_host_instance_create(&app, -1, &ret);
   if (!inst)
      return -1;
   unsigned count = inst->physical_count < max ? inst->physical_count : max;
   for (unsigned i = 0; i < count; i++) {
      VkPhysicalDeviceProperties props;
      inst->it.GetPhysicalDeviceProperties(inst->physical[i], &props);
      memcpy(names[i], props.deviceName, sizeof(names[i]));
      names[i][sizeof(names[i]) - 1] = '\0';
      types[i] = props.deviceType;
   }
   instance_destroy_host(inst);
   return (int)count;
}

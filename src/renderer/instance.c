/* SPDX-License-Identifier: MIT */
/* vkCreateInstance and the physical-device queries that need more than a
 * pass-through: one instance per context, physical devices bound to the
 * guest's ids, and the device extensions the server can honour. */
#include "renderer/families.h"
#include "renderer/objects.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/caps/caps.h"
#include "renderer/device_extensions.h"
#include "renderer/device_snapshot.h"
#include "renderer/host_lifecycle.h"
#include "renderer/renderer.h"
#include "renderer/validate.h"
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

/* Host instances outlive their contexts: a context's instance goes back to
 * this pool and the next vkCreateInstance with the same API version and
 * device choice takes it. NVIDIA's driver (580.159.04) refuses every
 * vkCreateInstance with VK_ERROR_INCOMPATIBLE_DRIVER once a process has
 * created and destroyed about 30 instances, which a server outlives after
 * 30 clients. A host instance carries no guest state: the server enables
 * no instance extensions or layers a guest chose, and contexts share
 * nothing else through it. */
#define INSTANCE_POOL_SIZE 8

static struct {
   pthread_mutex_t lock;
   struct vs_instance *idle[INSTANCE_POOL_SIZE];
   unsigned count;
} instance_pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct vs_instance *
instance_pool_take(uint32_t api_version, int device_index)
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

static void finish_warm_up(void);

static void
instance_destroy_host(struct vs_instance *inst)
{
   /* The warm-up's devices may be this instance's. */
   finish_warm_up();
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

/* The host instance is at least 1.2 where the loader is: the queues'
 * serial timeline semaphores are core there, and without them every
 * fence the guest asks of the server (Mesa 26 asks one per submit)
 * needs a host fence of its own (renderer/lifetime.c). 1.1 at least
 * otherwise. Guests that asked for less use none of what this adds. */
static uint32_t
loader_version(void)
{
   uint32_t version = VK_API_VERSION_1_1;
   if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS)
      version = VK_API_VERSION_1_1;
   return version;
}

static uint32_t
host_instance_floor_version(void)
{
   return loader_version() >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_1;
}

/* A host instance with its physical devices, not yet any context's; NULL
 * with *ret set on failure. */
static struct vs_instance *
instance_create_host(const VkApplicationInfo *app, int device_index, VkResult *ret)
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

/* The warm-up's devices, kept until the tenant's first device exists: a
 * driver may tear its per-process GPU state down with a process's last
 * device and set it up again for the next one. One per physical device:
 * the last tenant's first device when the snapshot slot had one
 * (device_snapshot.h), handed over if the tenant asks for the same. */
static struct {
   pthread_mutex_t lock;
   VkDevice devices[8];
   VkPhysicalDevice physical[8];
   struct vs_device_snapshot *snapshots[8]; /* NULL: a plain warm-up device */
   unsigned count;
   PFN_vkDestroyDevice destroy;
   pthread_t releaser; /* destroys them off the tenant's path */
   bool releasing;
   bool remembered;    /* this worker's first device went to the slot */
} warm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *
release_warm_devices(void *arg)
{
   (void)arg;
   pthread_mutex_lock(&warm.lock);
   for (unsigned i = 0; i < warm.count; i++) {
      if (warm.devices[i])
         warm.destroy(warm.devices[i], NULL);
      free(warm.snapshots[i]);
      warm.snapshots[i] = NULL;
   }
   warm.count = 0;
   pthread_mutex_unlock(&warm.lock);
   return NULL;
}

void
vs_renderer_end_warm_up(void)
{
   pthread_mutex_lock(&warm.lock);
   bool start = warm.count && !warm.releasing;
   warm.releasing |= start;
   pthread_mutex_unlock(&warm.lock);
   /* A device's destruction takes NVIDIA's driver 20 ms or more: not on
    * the way to the tenant's reply. */
   if (start && pthread_create(&warm.releaser, NULL, release_warm_devices, NULL) != 0) {
      warm.releasing = false;
      release_warm_devices(NULL);
   }
}

/* The index of a warm-up physical device; -1 for one of another instance. */
static int
warm_physical_index(VkPhysicalDevice physical)
{
   for (unsigned i = 0; i < warm.count; i++) {
      if (warm.physical[i] == physical)
         return (int)i;
   }
   return -1;
}

VkDevice
vs_renderer_take_warm_device(VkPhysicalDevice physical, const VkDeviceCreateInfo *host_ci)
{
   VkDevice dev = VK_NULL_HANDLE;
   pthread_mutex_lock(&warm.lock);
   int i = warm.releasing ? -1 : warm_physical_index(physical);
   if (i >= 0 && warm.snapshots[i]) {
      struct vs_device_snapshot *wanted = malloc(sizeof(*wanted));
      if (wanted && vs_device_snapshot_flatten(host_ci, (uint32_t)i, wanted) &&
          vs_device_snapshot_equal(wanted, warm.snapshots[i])) {
         dev = warm.devices[i];
         warm.devices[i] = VK_NULL_HANDLE;
         free(warm.snapshots[i]);
         warm.snapshots[i] = NULL;
      }
      free(wanted);
   }
   pthread_mutex_unlock(&warm.lock);
   return dev;
}

void
vs_renderer_remember_device(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                            const VkDeviceCreateInfo *host_ci)
{
   if (!options->device_snapshots)
      return;
   pthread_mutex_lock(&warm.lock);
   int i = warm.remembered ? -1 : warm_physical_index(physical);
   warm.remembered = true;
   pthread_mutex_unlock(&warm.lock);
   struct vs_device_snapshot *s = i >= 0 ? malloc(sizeof(*s)) : NULL;
   if (s && vs_device_snapshot_flatten(host_ci, (uint32_t)i, s))
      vs_device_snapshot_publish(options->device_snapshots, s);
   free(s);
}

/* Before a host instance goes: none of the warm-up's devices is left. */
static void
finish_warm_up(void)
{
   vs_renderer_end_warm_up();
   if (warm.releasing) {
      pthread_join(warm.releaser, NULL);
      warm.releasing = false;
   }
}

/* What a tenant's device does first, once: a driver sets some of it up
 * per process (an import of host memory, a submission and its fence), on
 * the first unprotected queue of `ci`. NULL when it all went well, else
 * what failed: the device is then not one to keep. */
static const char *
warm_up_device_work(struct vs_instance *inst, VkDevice dev, const VkDeviceCreateInfo *ci, bool host_memory)
{
   PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)vkGetInstanceProcAddr(inst->host, "vkGetDeviceProcAddr");
   if (!gdpa)
      return "no vkGetDeviceProcAddr";
   PFN_vkGetDeviceQueue get_queue = (PFN_vkGetDeviceQueue)gdpa(dev, "vkGetDeviceQueue");
   PFN_vkCreateFence create_fence = (PFN_vkCreateFence)gdpa(dev, "vkCreateFence");
   PFN_vkDestroyFence destroy_fence = (PFN_vkDestroyFence)gdpa(dev, "vkDestroyFence");
   PFN_vkQueueSubmit submit = (PFN_vkQueueSubmit)gdpa(dev, "vkQueueSubmit");
   PFN_vkWaitForFences wait = (PFN_vkWaitForFences)gdpa(dev, "vkWaitForFences");
   if (!get_queue || !create_fence || !destroy_fence || !submit || !wait)
      return "the device has no queue or fence entry points";
   const VkDeviceQueueCreateInfo *qi = NULL;
   for (uint32_t i = 0; !qi && i < ci->queueCreateInfoCount; i++)
      qi = ci->pQueueCreateInfos[i].flags ? NULL : &ci->pQueueCreateInfos[i];
   if (qi) {
      VkQueue queue = VK_NULL_HANDLE;
      VkFence fence;
      const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
      get_queue(dev, qi->queueFamilyIndex, 0, &queue);
      if (!queue)
         return "vkGetDeviceQueue gave no queue";
      if (create_fence(dev, &fci, NULL, &fence) != VK_SUCCESS)
         return "vkCreateFence failed";
      VkResult res = submit(queue, 0, NULL, fence);
      if (res == VK_SUCCESS)
         res = wait(dev, 1, &fence, VK_TRUE, 10ull * 1000000000ull);
      destroy_fence(dev, fence, NULL);
      if (res != VK_SUCCESS)
         return "the submission or its fence failed";
   }
   if (!host_memory)
      return NULL;
   PFN_vkGetMemoryHostPointerPropertiesEXT host_props =
      (PFN_vkGetMemoryHostPointerPropertiesEXT)gdpa(dev, "vkGetMemoryHostPointerPropertiesEXT");
   PFN_vkAllocateMemory allocate = (PFN_vkAllocateMemory)gdpa(dev, "vkAllocateMemory");
   PFN_vkFreeMemory free_memory = (PFN_vkFreeMemory)gdpa(dev, "vkFreeMemory");
   const size_t size = 64 * 1024;
   int fd;
   void *map;
   if (!host_props || !allocate || !free_memory)
      return "the device has no host memory import entry points";
   /* The server's own shortage, not the device's. */
   if (!vs_host_region_create(size, size, size, &fd, &map))
      return NULL;
   VkMemoryHostPointerPropertiesEXT props = { .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT };
   if (host_props(dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, map, &props) == VK_SUCCESS &&
       props.memoryTypeBits) {
      const VkImportMemoryHostPointerInfoEXT import = {
         .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
         .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
         .pHostPointer = map,
      };
      const VkMemoryAllocateInfo ai = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .pNext = &import,
         .allocationSize = size,
         .memoryTypeIndex = (uint32_t)__builtin_ctz(props.memoryTypeBits),
      };
      VkDeviceMemory mem;
      if (allocate(dev, &ai, NULL, &mem) == VK_SUCCESS)
         free_memory(dev, mem, NULL);
   }
   vs_host_region_destroy(fd, map, size, size);
   return NULL;
}

/* Whether a rebuilt snapshot is a create info a guest could have had
 * accepted on physical device `index` (vkCreateDevice's checks in
 * device.c); why not, in `buf`. */
static const char *
snapshot_error(struct vs_instance *inst, const struct vs_device_snapshot_info *info, uint32_t index, char *buf,
               size_t size, bool *host_memory)
{
   if (info->physical_index != index)
      return "it names another physical device";
   VkQueueFamilyProperties families[64];
   uint32_t family_count = 64;
   inst->it.GetPhysicalDeviceQueueFamilyProperties(inst->physical[index], &family_count, families);
   for (uint32_t q = 0; q < info->ci.queueCreateInfoCount; q++) {
      const VkDeviceQueueCreateInfo *qi = &info->ci.pQueueCreateInfos[q];
      if (qi->queueFamilyIndex >= family_count || qi->queueCount > families[qi->queueFamilyIndex].queueCount)
         return "its queues are not the host's";
      for (uint32_t p = 0; p < q; p++) {
         if (info->ci.pQueueCreateInfos[p].queueFamilyIndex == qi->queueFamilyIndex &&
             info->ci.pQueueCreateInfos[p].flags == qi->flags)
            return "it names a queue family twice";
      }
   }
   const char *why = vs_device_queue_flags_error(&info->ci, families, buf, size);
   if (why)
      return why;
   *host_memory = false;
   for (uint32_t e = 0; e < info->ci.enabledExtensionCount; e++) {
      const char *name = info->ci.ppEnabledExtensionNames[e];
      if (!vs_caps_host_has_extension(&inst->it, inst->physical[index], name))
         return "it enables an extension the host does not list";
      *host_memory |= strcmp(name, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
   }
   return NULL;
}

/* The last tenant's first device (device_snapshot.h) on physical device
 * `index`, if the slot has one for it that this host can create and
 * that warms up: the device, and the snapshot the next tenant's create
 * info must equal. A snapshot that fails any of it is dropped from the
 * slot, with one line: later workers warm up without it. */
static VkDevice
warm_up_snapshot_device(struct vs_instance *inst, PFN_vkCreateDevice create, PFN_vkDestroyDevice destroy,
                        struct vs_device_snapshot_slot *slot, uint32_t index, struct vs_device_snapshot **snapshot)
{
   struct vs_device_snapshot *s = slot ? malloc(sizeof(*s)) : NULL;
   struct vs_device_snapshot_info info;
   VkDevice dev = VK_NULL_HANDLE;
   if (!s || !vs_device_snapshot_read(slot, s)) {
      free(s);
      return VK_NULL_HANDLE;
   }
   /* Only what a guest could have asked for itself: the slot is written
    * by workers, and a worker may be its guest's. */
   char buf[192];
   bool host_memory = false;
   const char *why = NULL;
   if (!vs_device_snapshot_unflatten(s, &info))
      why = "it is malformed";
   else
      why = snapshot_error(inst, &info, index, buf, sizeof(buf), &host_memory);
   /* Kept in the form the tenant's create info is compared in. */
   if (!why && !vs_device_snapshot_flatten(&info.ci, index, s))
      why = "it does not flatten again";
   VkResult res = VK_SUCCESS;
   if (!why && (res = create(inst->physical[index], &info.ci, NULL, &dev)) != VK_SUCCESS)
      why = vn_result_name(res);
   if (!why && (why = warm_up_device_work(inst, dev, &info.ci, host_memory)) != NULL) {
      destroy(dev, NULL);
      dev = VK_NULL_HANDLE;
   }
   if (why) {
      /* One worker says it; later ones find the slot empty. */
      vs_warn(0, "warm-up: the last tenant's device on physical device %u failed (%s); dropping it, warming up "
                 "without it", index, why);
      vs_device_snapshot_drop(slot);
      dev = VK_NULL_HANDLE;
   } else {
      *snapshot = s;
      s = NULL;
   }
   if (info.storage)
      vs_device_snapshot_info_free(&info);
   free(s);
   return dev;
}

/* Creates a device on each physical device: the host driver's first device
 * pays for what it sets up once per process (lavapipe: about 45 ms of a
 * first vkCreateDevice, 20 ms later). */
static void
warm_up_devices(struct vs_instance *inst, struct vs_device_snapshot_slot *slot)
{
   PFN_vkCreateDevice create = (PFN_vkCreateDevice)vkGetInstanceProcAddr(inst->host, "vkCreateDevice");
   PFN_vkDestroyDevice destroy = (PFN_vkDestroyDevice)vkGetInstanceProcAddr(inst->host, "vkDestroyDevice");
   if (!create || !destroy)
      return;
   pthread_mutex_lock(&warm.lock);
   warm.destroy = destroy;
   for (uint32_t i = 0; i < inst->physical_count && warm.count < 8; i++) {
      struct vs_device_snapshot *snapshot = NULL;
      VkDevice dev = warm_up_snapshot_device(inst, create, destroy, slot, i, &snapshot);
      if (!dev) {
         const float priority = 1.0f;
         const VkDeviceQueueCreateInfo queue = {
            .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
            .queueFamilyIndex = 0,
            .queueCount = 1,
            .pQueuePriorities = &priority,
         };
         /* A device that lists VK_KHR_portability_subset must be created
          * with it (MoltenVK): without it the warm-up is invalid usage. */
         const char *names[2];
         uint32_t count = 0;
         if (vs_caps_host_has_extension(&inst->it, inst->physical[i], "VK_KHR_portability_subset"))
            names[count++] = "VK_KHR_portability_subset";
         const bool host_memory =
            vs_caps_host_has_extension(&inst->it, inst->physical[i], VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
         if (host_memory)
            names[count++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
         const VkDeviceCreateInfo ci = {
            .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
            .queueCreateInfoCount = 1,
            .pQueueCreateInfos = &queue,
            .enabledExtensionCount = count,
            .ppEnabledExtensionNames = names,
         };
         VkResult res = create(inst->physical[i], &ci, NULL, &dev);
         const char *why = res != VK_SUCCESS ? vn_result_name(res) : warm_up_device_work(inst, dev, &ci, host_memory);
         if (why) {
            vs_warn(0, "warm-up: a device on physical device %u failed (%s); its tenant creates its own", i, why);
            if (res == VK_SUCCESS)
               destroy(dev, NULL);
            dev = VK_NULL_HANDLE;
         }
      }
      /* The slot keeps indices: one entry per physical device, even
       * without a device. */
      warm.physical[warm.count] = inst->physical[i];
      warm.snapshots[warm.count] = snapshot;
      warm.devices[warm.count++] = dev;
   }
   pthread_mutex_unlock(&warm.lock);
}

static struct vs_physical_device *physical_device_create(const struct vs_instance *inst, VkPhysicalDevice host);
static void physical_device_free(void *data);

/* The memory probe the tenant's vkEnumeratePhysicalDevices would run (a
 * host device of its own), run ahead: its result waits in the instance. */
static void
warm_up_memory_probe(struct vs_instance *inst, const struct vs_renderer_options *options)
{
   struct vs_renderer *r = calloc(1, sizeof(*r));
   if (!r)
      return;
   r->options = *options;
   for (uint32_t i = 0; i < inst->physical_count; i++) {
      struct vs_physical_device *phys = physical_device_create(inst, inst->physical[i]);
      if (!phys)
         break;
      struct vs_object obj = {
         .type = VK_OBJECT_TYPE_PHYSICAL_DEVICE,
         .handle = (uint64_t)(uintptr_t)inst->physical[i],
         .it = &inst->it,
         .data = phys,
      };
      vs_memory_physical_probe(r, &obj);
      inst->memory_probe[i] = (struct vs_memory_probe_result){ true, phys->unshareable_types, phys->kept_types };
      physical_device_free(phys);
   }
   free(r);
}

void
vs_renderer_prewarm(const struct vs_renderer_options *options)
{
   /* At the loader's version: the pool serves guests asking for that or
    * less (instance_pool_take). */
   uint32_t version = loader_version();
   version = VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version), 0);
   if (version < host_instance_floor_version())
      version = host_instance_floor_version();
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "venus-server",
      .apiVersion = version,
   };
   VkResult ret;
   struct vs_instance *inst = instance_create_host(&app, options->device_index, &ret);
   if (!inst) {
      vs_warn(0, "warm-up: host vkCreateInstance failed: %s (each context creates its own)", vn_result_name(ret));
      return;
   }
   warm_up_devices(inst, options->device_snapshots);
   warm_up_memory_probe(inst, options);
   instance_free(inst);
}

static void
vs_exec_vkCreateInstance(struct vs_runner *runner, struct vn_args_vkCreateInstance *a)
{
   struct vs_renderer *r = runner->renderer;
   if (r->instance) {
      vs_runner_fail(runner, "vkCreateInstance: the context already has an instance");
      return;
   }
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
      .apiVersion = host_instance_floor_version(),
   };
   if (ci->pApplicationInfo) {
      app = *ci->pApplicationInfo;
      app.pNext = NULL;
      if (app.apiVersion < host_instance_floor_version())
         app.apiVersion = host_instance_floor_version();
   }
   struct vs_instance *inst = instance_pool_take(app.apiVersion, r->options.device_index);
   if (!inst) {
      inst = instance_create_host(&app, r->options.device_index, &a->ret);
      if (!inst) {
         vs_warn(r->ctx_id, "host vkCreateInstance failed: %s", vn_result_name(a->ret));
         return;
      }
   }
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_INSTANCE, a->pInstance_id,
                                                  (uint64_t)(uintptr_t)inst->host, NULL);
   if (!obj) {
      instance_free(inst);
      return;
   }
   obj->it = &inst->it;
   obj->data = inst;
   r->instance = obj;
   *a->pInstance = inst->host;
   vs_info(r->ctx_id, "instance %llu created (API %u.%u, %u host physical device(s) exposed)",
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
   instance_free(inst);
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

static void
physical_device_free(void *data)
{
   struct vs_physical_device *phys = data;
   free(phys->extensions);
   free(phys->queue_families);
   free(phys);
}

/* What the server keeps of a host physical device: read once. */
static struct vs_physical_device *
physical_device_create(const struct vs_instance *inst, VkPhysicalDevice host)
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
         physical_device_free(phys);
         return NULL;
      }
      phys->extension_count = count;
   }
   inst->it.GetPhysicalDeviceQueueFamilyProperties(host, &count, NULL);
   phys->queue_families = calloc(count ? count : 1, sizeof(*phys->queue_families));
   if (!phys->queue_families) {
      physical_device_free(phys);
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
         struct vs_physical_device *phys = physical_device_create(inst, inst->physical[i]);
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
            physical_device_free(phys);
            return;
         }
         obj->data = phys;
         obj->data_free = physical_device_free;
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

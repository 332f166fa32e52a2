/* SPDX-License-Identifier: MIT */
/* A pooled worker's warm-up (warm_up.h), and its hand-over to the tenant's
 * first vkCreateDevice. */
#include "renderer/warm_up.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/caps/caps.h"
#include "renderer/device_snapshot.h"
#include "renderer/instance_pool.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "renderer/validate.h"
#include "renderer/memory/device_memory.h"
#include "base/log.h"
#include "base/test_faults.h"
#include "os/os.h"
#include "vn_wire.h"

/* The warm-up's devices, kept until the tenant's first device exists: a
 * driver may tear its per-process GPU state down with a process's last
 * device and set it up again for the next one. One per physical device:
 * the last tenant's first device when the snapshot slot had one
 * (device_snapshot.h), handed over if the tenant asks for the same. */
static struct {
   pthread_mutex_t lock;
   VkDevice devices[8];
   VkPhysicalDevice physical[8];
   uint32_t host_index[8]; /* among all the host's (--device's count): its snapshot's */
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

/* Once the tenant has a device of its own: the warm-up's go. */
static void
end_warm_up(void)
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

/* The warm-up's device on `physical` if it was created as `host_ci` asks
 * (device_snapshot.h), now the caller's; VK_NULL_HANDLE if none. */
static VkDevice
take_warm_device(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                 const VkDeviceCreateInfo *host_ci)
{
   VkDevice dev = VK_NULL_HANDLE;
   pthread_mutex_lock(&warm.lock);
   int i = warm.releasing ? -1 : warm_physical_index(physical);
   if (i >= 0 && warm.snapshots[i]) {
      struct vs_device_snapshot *wanted = malloc(sizeof(*wanted));
      if (wanted && vs_device_snapshot_flatten(host_ci, warm.host_index[i], wanted) &&
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

/* After the worker's first device: leaves its create info for the next
 * workers' warm-up (options->device_snapshots). */
static void
remember_device(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                const VkDeviceCreateInfo *host_ci)
{
   if (!options->device_snapshots)
      return;
   pthread_mutex_lock(&warm.lock);
   int i = warm.remembered ? -1 : warm_physical_index(physical);
   const uint32_t host_index = i >= 0 ? warm.host_index[i] : 0;
   warm.remembered = true;
   pthread_mutex_unlock(&warm.lock);
   struct vs_device_snapshot *s = i >= 0 ? malloc(sizeof(*s)) : NULL;
   if (s && vs_device_snapshot_flatten(host_ci, host_index, s))
      vs_device_snapshot_publish(options->device_snapshots, host_index, s);
   free(s);
}

static void
device_ready(const struct vs_renderer_options *options)
{
   end_warm_up();
}

const struct vs_device_hook vs_warm_up_device_hook = {
   .take = take_warm_device,
   .created = remember_device,
   .ready = device_ready,
};

void
vs_warm_up_finish(void)
{
   end_warm_up();
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
 * accepted on physical device `index` of `inst`, the host's `host_index`
 * (vkCreateDevice's checks in device.c); why not, in `buf`. */
static const char *
snapshot_error(struct vs_instance *inst, const struct vs_device_snapshot_info *info, uint32_t index,
               uint32_t host_index, char *buf, size_t size, bool *host_memory)
{
   if (info->physical_index != host_index)
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
 * `index` of `inst` (the host's `host_index`), if the slot has one for it
 * that this host can create and
 * that warms up: the device, and the snapshot the next tenant's create
 * info must equal. A snapshot that fails any of it is dropped from the
 * slot, with one line: later workers warm up without it. */
static VkDevice
warm_up_snapshot_device(struct vs_instance *inst, PFN_vkCreateDevice create, PFN_vkDestroyDevice destroy,
                        struct vs_device_snapshot_slot *slot, uint32_t index, uint32_t host_index,
                        struct vs_device_snapshot **snapshot)
{
   struct vs_device_snapshot *s = slot ? malloc(sizeof(*s)) : NULL;
   struct vs_device_snapshot_info info;
   VkDevice dev = VK_NULL_HANDLE;
   if (!s || !vs_device_snapshot_read(slot, host_index, s)) {
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
      why = snapshot_error(inst, &info, index, host_index, buf, sizeof(buf), &host_memory);
   /* Kept in the form the tenant's create info is compared in. */
   if (!why && !vs_device_snapshot_flatten(&info.ci, host_index, s))
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
                 "without it", host_index, why);
      vs_device_snapshot_drop(slot, (int)host_index);
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
 * first vkCreateDevice, 20 ms later). The physical devices that gave none:
 * their driver could not make one now. */
static unsigned
warm_up_devices(struct vs_instance *inst, struct vs_device_snapshot_slot *slot)
{
   PFN_vkCreateDevice create = (PFN_vkCreateDevice)vkGetInstanceProcAddr(inst->host, "vkCreateDevice");
   PFN_vkDestroyDevice destroy = (PFN_vkDestroyDevice)vkGetInstanceProcAddr(inst->host, "vkDestroyDevice");
   if (!create || !destroy)
      return 0;
   unsigned failed = 0;
   pthread_mutex_lock(&warm.lock);
   warm.destroy = destroy;
   for (uint32_t i = 0; i < inst->physical_count && warm.count < 8; i++) {
      /* An instance of one physical device (--device, or the GPU the
       * worker is placed on) lists only that one. */
      const uint32_t host_index = inst->device_index >= 0 ? (uint32_t)inst->device_index : i;
      struct vs_device_snapshot *snapshot = NULL;
      const bool faulted = vs_test_faults_gpu_lost(host_index, os_now_ns());
      VkDevice dev =
         faulted ? VK_NULL_HANDLE : warm_up_snapshot_device(inst, create, destroy, slot, i, host_index, &snapshot);
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
         VkResult res = faulted ? VK_ERROR_INITIALIZATION_FAILED : create(inst->physical[i], &ci, NULL, &dev);
         const char *why = res != VK_SUCCESS ? vn_result_name(res) : warm_up_device_work(inst, dev, &ci, host_memory);
         if (why) {
            vs_warn(0, "warm-up: a device on physical device %u failed (%s)%s", host_index, why,
                    faulted ? " (test fault)" : "; its tenant creates its own");
            if (res == VK_SUCCESS)
               destroy(dev, NULL);
            dev = VK_NULL_HANDLE;
            failed++;
         }
      }
      /* The slot keeps indices: one entry per physical device, even
       * without a device. */
      warm.physical[warm.count] = inst->physical[i];
      warm.host_index[warm.count] = host_index;
      warm.snapshots[warm.count] = snapshot;
      warm.devices[warm.count++] = dev;
   }
   pthread_mutex_unlock(&warm.lock);
   return failed;
}


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
      struct vs_physical_device *phys = vs_physical_device_create(inst, inst->physical[i]);
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
      vs_physical_device_free(phys);
   }
   free(r);
}

bool
vs_renderer_prewarm(const struct vs_renderer_options *options)
{
   /* At the loader's version: the pool serves guests asking for that or
    * less (vs_instance_pool_take). */
   uint32_t version = vs_host_instance_loader_version();
   version = VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version), 0);
   if (version < vs_host_instance_floor_version())
      version = vs_host_instance_floor_version();
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "venus-server",
      .apiVersion = version,
   };
   VkResult ret;
   struct vs_instance *inst = vs_host_instance_create(&app, options->device_index, &ret);
   if (!inst) {
      vs_warn(0, "warm-up: host vkCreateInstance failed: %s (each context creates its own)", vn_result_name(ret));
      return true;
   }
   /* An instance of a GPU the loader no longer lists has none. */
   const bool devices = inst->physical_count > 0 && warm_up_devices(inst, options->device_snapshots) == 0;
   warm_up_memory_probe(inst, options);
   vs_instance_pool_put(inst);
   return devices;
}


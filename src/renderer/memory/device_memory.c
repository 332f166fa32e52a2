/* SPDX-License-Identifier: MIT */
/* Shareable device memory: strategy probing, allocation and blob export.
 * See memory.h for the three strategies. */
#include "renderer/memory/device_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renderer/host_lifecycle.h"
#include "renderer/renderer_state.h"
#include "renderer/memory/driver_mapping.h"
#include "renderer/memory/linear_mirror.h"
#include "renderer/memory/memory_plan.h"
#include "renderer/memory/memory_share.h"
#include "renderer/memory/shareable_types.h"
#include "renderer/memory/shared_registry.h"
#include "os/os.h"
#include "base/chain.h"
#include "base/log.h"
#include "base/test_faults.h"

static const char *const strategy_names[] = {
   [VS_MEMORY_AUTO] = "auto",
   [VS_MEMORY_HOST_POINTER] = "host-pointer",
   [VS_MEMORY_DMABUF] = "dmabuf",
   [VS_MEMORY_OPAQUE_FD] = "opaque-fd",
   [VS_MEMORY_DRIVER_MAPPING] = "driver-mapping",
};

const char *
vs_memory_strategy_name(enum vs_memory_strategy s)
{
   return s <= VS_MEMORY_DRIVER_MAPPING ? strategy_names[s] : "?";
}

bool
vs_memory_strategy_parse(const char *name, enum vs_memory_strategy *out)
{
   for (int s = VS_MEMORY_AUTO; s <= VS_MEMORY_OPAQUE_FD; s++) {
      if (strcmp(name, strategy_names[s]) == 0) {
         *out = (enum vs_memory_strategy)s;
         return true;
      }
   }
   return false;
}

static VkPhysicalDevice
physical_of(const struct vs_device *dev)
{
   return (VkPhysicalDevice)(uintptr_t)dev->physical->handle;
}

static bool
has_name(const char *const *names, uint32_t count, const char *name)
{
   for (uint32_t i = 0; i < count; i++) {
      if (strcmp(names[i], name) == 0)
         return true;
   }
   return false;
}

static const char *const sharing_extensions[] = {
   VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
   VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,
   VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME,
};

uint32_t
vs_memory_add_device_extensions(const struct vs_physical_device *phys, const char **names, uint32_t count)
{
   for (size_t w = 0; w < sizeof(sharing_extensions) / sizeof(sharing_extensions[0]); w++) {
      if (vs_physical_device_has_extension(phys, sharing_extensions[w]) &&
          !has_name(names, count, sharing_extensions[w]))
         names[count++] = sharing_extensions[w];
   }
   return count;
}

/* Shared memory mapped at an `align`-aligned address, so that --page-size
 * 16384 behaves like a host with 16 KiB pages even on a 4 KiB kernel;
 * between PROT_NONE guards of `align` bytes, so that a host access running
 * off one client's memory faults instead of reaching another client's.
 * Its fd is `fd_size` bytes long (at most `size`): the mapping's tail past
 * the end is never touched, as nothing uses more than the allocation. */
bool
vs_host_region_create(size_t size, size_t fd_size, size_t align, int *fd_out, void **map_out)
{
   int fd = os_shm_create("venus-device-memory", fd_size);
   if (fd < 0)
      return false;
   void *map = os_map_guarded(fd, size, align);
   if (!map) {
      int err = errno;
      close(fd);
      errno = err;
      return false;
   }
   *fd_out = fd;
   *map_out = map;
   return true;
}

void
vs_host_region_destroy(int fd, void *map, size_t size, size_t align)
{
   os_unmap_guarded(map, size, align);
   if (fd >= 0)
      close(fd);
}

void
vs_region_cache_init(struct vs_region_cache *cache, struct vs_memory_usage *usage)
{
   pthread_mutex_init(&cache->lock, NULL);
   cache->usage = usage;
   cache->count = 0;
}

void
vs_region_cache_fini(struct vs_region_cache *cache)
{
   for (uint32_t i = 0; i < cache->count; i++)
      vs_host_region_destroy(cache->slots[i].fd, cache->slots[i].map, cache->slots[i].size,
                          cache->slots[i].align);
   vs_memory_usage_give(cache->usage, cache->count, cache->count * VS_GUARDED_MAPPINGS);
   cache->count = 0;
   pthread_mutex_destroy(&cache->lock);
}

static bool
region_cache_take(struct vs_region_cache *cache, size_t size, int *fd, void **map)
{
   bool found = false;
   pthread_mutex_lock(&cache->lock);
   for (uint32_t i = 0; i < cache->count; i++) {
      if (cache->slots[i].size == size) {
         *fd = cache->slots[i].fd;
         *map = cache->slots[i].map;
         cache->slots[i] = cache->slots[--cache->count];
         found = true;
         break;
      }
   }
   pthread_mutex_unlock(&cache->lock);
   return found;
}

/* Keeps a region whose fd the guest never got (and its charge: one fd,
 * one guarded mapping), else destroys it. False if destroyed: the caller
 * gives back the region's charge. */
static bool
region_cache_put(struct vs_region_cache *cache, int fd, void *map, size_t size, size_t align)
{
   bool kept = false;
   pthread_mutex_lock(&cache->lock);
   /* A truncated region reads zeros from now on (os_map_faulted): gone. */
   if (fd >= 0 && size <= VS_REGION_CACHE_MAX_SIZE && cache->count < VS_REGION_CACHE_SLOTS && !os_map_faulted(map)) {
      cache->slots[cache->count++] =
         (struct vs_region){ .fd = fd, .map = map, .size = size, .align = align };
      kept = true;
   }
   pthread_mutex_unlock(&cache->lock);
   if (!kept)
      vs_host_region_destroy(fd, map, size, align);
   return kept;
}

static void
probe_host_pointer(struct vs_device *dev)
{
   struct vs_memory_caps *caps = &dev->mem;
   const struct vn_instance_table *it = dev->physical->it;
   VkPhysicalDeviceExternalMemoryHostPropertiesEXT host_props = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT,
   };
   VkPhysicalDeviceProperties2 props2 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
      .pNext = &host_props,
   };
   it->GetPhysicalDeviceProperties2(physical_of(dev), &props2);
   size_t align = host_props.minImportedHostPointerAlignment;
   if (align > caps->granule && (align & (align - 1)) == 0)
      caps->granule = align;

   int fd;
   void *map;
   if (!vs_host_region_create(caps->granule, caps->granule, caps->granule, &fd, &map))
      return;
   VkMemoryHostPointerPropertiesEXT ptr_props = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
   };
   if (dev->dt.GetMemoryHostPointerPropertiesEXT &&
       dev->dt.GetMemoryHostPointerPropertiesEXT(dev->host,
                                                 VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
                                                 map, &ptr_props) == VK_SUCCESS)
      caps->host_pointer_types = ptr_props.memoryTypeBits & vs_memory_host_visible_types(&caps->props);
   caps->host_pointer = caps->host_pointer_types != 0;
   vs_host_region_destroy(fd, map, caps->granule, caps->granule);
}

static int
first_type_with(const VkPhysicalDeviceMemoryProperties *props, VkMemoryPropertyFlags flags)
{
   for (uint32_t i = 0; i < props->memoryTypeCount; i++) {
      if ((props->memoryTypes[i].propertyFlags & flags) == flags)
         return (int)i;
   }
   return -1;
}

bool
vs_memory_views_alias(volatile uint32_t *host_view, volatile uint32_t *other_view, size_t size)
{
   size_t last = size / sizeof(uint32_t) - 1;
   host_view[0] = 0x56454e55u;
   host_view[last] = 0x53ab12cdu;
   other_view[1] = 0x0badf00du;
   return other_view[0] == 0x56454e55u && other_view[last] == 0x53ab12cdu && host_view[1] == 0x0badf00du;
}

/* An exported fd is usable only if the guest's mmap at offset 0 shows the
 * memory: write through each mapping and read through the other. */
static bool
probe_export(struct vs_device *dev, VkExternalMemoryHandleTypeFlagBits handle_type, const char **why)
{
   const struct vn_device_table *dt = &dev->dt;
   int type = first_type_with(&dev->mem.props, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                  VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
   size_t size = dev->mem.granule;
   if (type < 0) {
      *why = "no host-visible coherent memory type";
      return false;
   }
   const VkExportMemoryAllocateInfo export_info = {
      .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
      .handleTypes = handle_type,
   };
   const VkMemoryAllocateInfo alloc_info = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = &export_info,
      .allocationSize = size,
      .memoryTypeIndex = (uint32_t)type,
   };
   VkDeviceMemory mem;
   if (dt->AllocateMemory(dev->host, &alloc_info, NULL, &mem) != VK_SUCCESS) {
      *why = "the host cannot allocate exportable memory";
      return false;
   }
   bool ok = false;
   volatile uint32_t *host_view = NULL;
   int fd = -1;
   const VkMemoryGetFdInfoKHR fd_info = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
      .memory = mem,
      .handleType = handle_type,
   };
   if (dt->MapMemory(dev->host, mem, 0, VK_WHOLE_SIZE, 0, (void **)&host_view) != VK_SUCCESS) {
      *why = "the host cannot map exportable memory";
   } else if (dt->GetMemoryFdKHR(dev->host, &fd_info, &fd) != VK_SUCCESS) {
      *why = "the host cannot export the memory";
   } else {
      volatile uint32_t *fd_view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (fd_view == MAP_FAILED) {
         *why = "the exported fd cannot be mapped";
      } else {
         ok = vs_memory_views_alias(host_view, fd_view, size);
         if (!ok)
            *why = "the exported fd does not map onto the memory at offset 0";
         munmap((void *)fd_view, size);
      }
      close(fd);
   }
   if (host_view)
      dt->UnmapMemory(dev->host, mem);
   dt->FreeMemory(dev->host, mem, NULL);
   return ok;
}

/* The host-visible types nothing else shares whose driver mappings can
 * be lent (vtest with worker processes; driver_mapping.h). Not for the render
 * server: its proxy wants a blob fd whose size is the blob's, which a
 * device file has not. */
static void
probe_driver_mappings(struct vs_renderer *r, struct vs_device *dev)
{
   struct vs_memory_caps *caps = &dev->mem;
   if (!r->options.lend_driver_mappings || caps->forced != VS_MEMORY_AUTO || caps->exact_shm || caps->dmabuf ||
       caps->opaque_fd)
      return;
   const uint32_t candidates = vs_memory_host_visible_types(&caps->props) & ~caps->host_pointer_types;
   for (uint32_t i = 0; i < caps->props.memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      size_t granule = 0;
      if ((candidates & (1u << i)) && vs_driver_mapping_probe(dev, i, &granule)) {
         caps->lent_types |= 1u << i;
         if (granule > caps->lent_granule)
            caps->lent_granule = granule;
      }
   }
}

/* Fills dev->mem: the device's memory types (less the host access of
 * those the guest was told it lacks) and what shares them. Sets the
 * reasons a forced export strategy would not work. */
static void
probe_sharing(struct vs_renderer *r, struct vs_device *dev, const char **dmabuf_why, const char **opaque_why)
{
   struct vs_memory_caps *caps = &dev->mem;
   dev->physical->it->GetPhysicalDeviceMemoryProperties(physical_of(dev), &caps->props);
   vs_memory_hide_host_access(&caps->props, vs_physical_device_from(dev->physical)->unshareable_types);
   caps->forced = r->options.memory;
   caps->exact_shm = r->options.exact_shm;
   caps->granule = os_page_size();
   if (r->options.page_size > caps->granule)
      caps->granule = r->options.page_size;

   if (dev->has_external_memory_host)
      probe_host_pointer(dev);
   *dmabuf_why = "the host has no VK_EXT_external_memory_dma_buf";
   *opaque_why = "the host has no VK_KHR_external_memory_fd";
   /* Export probes cost an allocation: run them only when they may be used. */
   bool need_export = caps->forced == VS_MEMORY_DMABUF || caps->forced == VS_MEMORY_OPAQUE_FD ||
                      (caps->forced == VS_MEMORY_AUTO &&
                       caps->host_pointer_types != vs_memory_host_visible_types(&caps->props));
   if (need_export && dev->has_external_memory_fd) {
      if (dev->has_external_memory_dma_buf && caps->forced != VS_MEMORY_OPAQUE_FD)
         caps->dmabuf = probe_export(dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, dmabuf_why);
      if (caps->forced != VS_MEMORY_DMABUF)
         caps->opaque_fd = probe_export(dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, opaque_why);
   }
   probe_driver_mappings(r, dev);
}

bool
vs_memory_device_init(struct vs_renderer *r, struct vs_device *dev, const char **why)
{
   struct vs_memory_caps *caps = &dev->mem;
   const char *dmabuf_why, *opaque_why;
   probe_sharing(r, dev, &dmabuf_why, &opaque_why);
   switch (caps->forced) {
   case VS_MEMORY_HOST_POINTER:
      *why = dev->has_external_memory_host ? "host-pointer imports accept no host-visible memory type"
                                           : "the host has no VK_EXT_external_memory_host";
      return caps->host_pointer;
   case VS_MEMORY_DMABUF:
      *why = dmabuf_why;
      return caps->dmabuf;
   case VS_MEMORY_OPAQUE_FD:
      *why = opaque_why;
      return caps->opaque_fd;
   case VS_MEMORY_AUTO:
   case VS_MEMORY_DRIVER_MAPPING: /* never forced */
      break;
   }
   if (!caps->host_pointer && !caps->dmabuf && !caps->opaque_fd)
      vs_warn(r->ctx_id, "no way to share host-visible memory on this device: mapping will fail");
   return true;
}

/* A device of `phys_obj` with only the memory-sharing extensions, one
 * queue, for probe_sharing; false if the host cannot create one. */
static bool
probe_device_create(struct vs_object *phys_obj, struct vs_device *dev)
{
   const struct vs_physical_device *phys = vs_physical_device_from(phys_obj);
   const char *names[4];
   uint32_t count = 0;
   if (phys->portability_subset)
      names[count++] = "VK_KHR_portability_subset";
   count = vs_memory_add_device_extensions(phys, names, count);
   const float priority = 1.0f;
   const VkDeviceQueueCreateInfo queue = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = 0,
      .queueCount = 1,
      .pQueuePriorities = &priority,
   };
   const VkDeviceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &queue,
      .enabledExtensionCount = count,
      .ppEnabledExtensionNames = names,
   };
   vs_host_lifecycle_lock();
   VkResult r = phys_obj->it->CreateDevice(phys->host, &ci, NULL, &dev->host);
   if (r == VK_SUCCESS)
      vn_load_device_table(dev->host, vkGetDeviceProcAddr, &dev->dt);
   vs_host_lifecycle_unlock();
   if (r != VK_SUCCESS)
      return false;
   for (uint32_t i = 0; i < count; i++) {
      dev->has_external_memory_host |= strcmp(names[i], VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
      dev->has_external_memory_fd |= strcmp(names[i], VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME) == 0;
      dev->has_external_memory_dma_buf |= strcmp(names[i], VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME) == 0;
   }
   dev->physical = phys_obj;
   return true;
}

/* The probe itself: sets phys->unshareable_types and phys->kept_types,
 * logs nothing. */
void
vs_memory_physical_probe(struct vs_renderer *r, struct vs_object *phys_obj)
{
   struct vs_physical_device *phys = vs_physical_device_from(phys_obj);
   phys->unshareable_types = 0;
   phys->kept_types = 0;
   struct vs_device *dev = calloc(1, sizeof(*dev));
   if (!dev)
      return;
   if (!probe_device_create(phys_obj, dev)) {
      vs_warn(r->ctx_id, "%s: no device to probe memory sharing with: memory types reported as the host's",
              phys->props.deviceName);
      free(dev);
      return;
   }
   const char *dmabuf_why, *opaque_why;
   probe_sharing(r, dev, &dmabuf_why, &opaque_why);
   phys->unshareable_types =
      vs_memory_unshareable_types(&dev->mem.props, &dev->mem, vs_test_faults.unshareable_types, &phys->kept_types);
   vs_host_lifecycle_lock();
   dev->dt.DestroyDevice(dev->host, NULL);
   vs_host_lifecycle_unlock();
   free(dev);
}

void
vs_memory_report_unshareable(struct vs_renderer *r, struct vs_object *phys_obj)
{
   const struct vs_physical_device *phys = vs_physical_device_from(phys_obj);
   if (phys->unshareable_types)
      vs_info(r->ctx_id, "%s: memory types 0x%x cannot be shared with the guest (memory %s): reported without "
              "host access, served as unshared device memory", phys->props.deviceName, phys->unshareable_types,
              vs_memory_strategy_name(r->options.memory));
   if (phys->kept_types)
      vs_warn(r->ctx_id, "%s: memory types 0x%x cannot be shared with the guest but stay host-visible: "
              "without them it would have no host-visible coherent type",
              phys->props.deviceName, phys->kept_types);
}

void
vs_memory_physical_init(struct vs_renderer *r, struct vs_object *phys_obj)
{
   vs_memory_physical_probe(r, phys_obj);
   vs_memory_report_unshareable(r, phys_obj);
}

void
vs_memory_usage_init(struct vs_memory_usage *usage)
{
   memset(usage, 0, sizeof(*usage));
   pthread_mutex_init(&usage->lock, NULL);
   vs_fair_account_init(&usage->fds, NULL);
   vs_fair_account_init(&usage->mappings, NULL);
}

void
vs_memory_usage_set_limits(struct vs_memory_usage *usage, VkDeviceSize bytes_limit, struct vs_fair_pool *fd_pool,
                           struct vs_fair_pool *mapping_pool)
{
   usage->bytes_limit = bytes_limit;
   vs_fair_account_init(&usage->fds, fd_pool);
   vs_fair_account_init(&usage->mappings, mapping_pool);
}

bool
vs_memory_usage_take(struct vs_memory_usage *usage, uint32_t fds, uint32_t mappings, char *why, size_t why_size)
{
   if (!vs_fair_take(&usage->fds, fds, why, why_size))
      return false;
   if (!vs_fair_take(&usage->mappings, mappings, why, why_size)) {
      vs_fair_give(&usage->fds, fds);
      return false;
   }
   return true;
}

void
vs_memory_usage_give(struct vs_memory_usage *usage, uint32_t fds, uint32_t mappings)
{
   vs_fair_give(&usage->fds, fds);
   vs_fair_give(&usage->mappings, mappings);
}

void
vs_memory_usage_fini(struct vs_memory_usage *usage)
{
   vs_memory_share_fini(usage);
   pthread_mutex_destroy(&usage->lock);
}

/* Counts `mem` (its size, on its heap) against what the client holds on
 * that heap of that physical device, and against its byte limit.
 * Returns the VkResult, having logged why on failure. */
static VkResult
usage_reserve(struct vs_renderer *renderer, struct vs_device *dev, struct vs_device_memory *mem)
{
   struct vs_memory_usage *usage = &renderer->memory_usage;
   uint32_t heap = dev->mem.props.memoryTypes[mem->type_index].heapIndex;
   VkDeviceSize heap_size = dev->mem.props.memoryHeaps[heap].size;
   const enum vs_ledger_pool pool =
      vs_heap_pool(vs_physical_device_from(dev->physical)->props.deviceType, &dev->mem.props.memoryHeaps[heap]);
   VkResult result = VK_SUCCESS;

   pthread_mutex_lock(&usage->lock);
   uint32_t slot = VS_MEMORY_USAGE_DEVICES, free_slot = VS_MEMORY_USAGE_DEVICES;
   for (uint32_t i = 0; i < VS_MEMORY_USAGE_DEVICES; i++) {
      if (usage->devices[i].physical == dev->physical) {
         slot = i;
         break;
      }
      if (!usage->devices[i].physical && free_slot == VS_MEMORY_USAGE_DEVICES)
         free_slot = i;
   }
   if (slot == VS_MEMORY_USAGE_DEVICES && free_slot < VS_MEMORY_USAGE_DEVICES) {
      slot = free_slot;
      usage->devices[slot].physical = dev->physical;
   }
   VkDeviceSize used = slot < VS_MEMORY_USAGE_DEVICES ? usage->devices[slot].used[heap] : 0;
   if (slot == VS_MEMORY_USAGE_DEVICES) {
      vs_warn(renderer->ctx_id, "vkAllocateMemory: memory on more than %u physical devices: %s",
              VS_MEMORY_USAGE_DEVICES, vn_result_name(VK_ERROR_OUT_OF_DEVICE_MEMORY));
      result = VK_ERROR_OUT_OF_DEVICE_MEMORY;
   } else if (mem->size > heap_size || used > heap_size - mem->size) {
      vs_warn(renderer->ctx_id,
              "vkAllocateMemory: %llu bytes on top of the %llu this client holds exceed heap %u "
              "(%llu bytes): %s", (unsigned long long)mem->size, (unsigned long long)used, heap,
              (unsigned long long)heap_size, vn_result_name(VK_ERROR_OUT_OF_DEVICE_MEMORY));
      result = VK_ERROR_OUT_OF_DEVICE_MEMORY;
   } else if (usage->bytes_limit && (mem->size > usage->bytes_limit || usage->bytes > usage->bytes_limit - mem->size)) {
      vs_warn(renderer->ctx_id,
              "vkAllocateMemory: %llu bytes on top of the %llu this client holds exceed its %llu "
              "(limit memory-mib=%llu): %s", (unsigned long long)mem->size, (unsigned long long)usage->bytes,
              (unsigned long long)usage->bytes_limit, (unsigned long long)(usage->bytes_limit >> 20),
              vn_result_name(VK_ERROR_OUT_OF_DEVICE_MEMORY));
      result = VK_ERROR_OUT_OF_DEVICE_MEMORY;
   } else if (!vs_memory_share_take(usage, renderer->ctx_id, pool, mem->size)) {
      result = VK_ERROR_OUT_OF_DEVICE_MEMORY;
   } else {
      usage->devices[slot].used[heap] = used + mem->size;
      usage->bytes += mem->size;
      mem->usage = usage;
      mem->usage_slot = slot;
      mem->heap_index = heap;
      mem->pool = pool;
   }
   pthread_mutex_unlock(&usage->lock);
   return result;
}

static void
usage_release(struct vs_device_memory *mem)
{
   struct vs_memory_usage *usage = mem->usage;
   if (!usage)
      return;
   pthread_mutex_lock(&usage->lock);
   usage->devices[mem->usage_slot].used[mem->heap_index] -= mem->size;
   usage->bytes -= mem->size;
   vs_memory_share_give(usage, mem->pool, mem->size);
   pthread_mutex_unlock(&usage->lock);
   vs_memory_usage_give(usage, mem->charged_fds, mem->charged_mappings);
   mem->charged_fds = 0;
   mem->charged_mappings = 0;
   mem->usage = NULL;
}

/* Charges the client for one region of shared memory the server keeps
 * for `mem` (an fd and a guarded mapping). False, having logged why, when
 * the server-wide pools have no room for this client. */
static bool
region_charge(struct vs_renderer *renderer, struct vs_device_memory *mem)
{
   char why[192];
   if (!vs_memory_usage_take(mem->usage, 1, VS_GUARDED_MAPPINGS, why, sizeof(why))) {
      vs_warn(renderer->ctx_id, "vkAllocateMemory: no room for shared memory of %llu bytes: %s: %s",
              (unsigned long long)mem->size, why, vn_result_name(VK_ERROR_OUT_OF_HOST_MEMORY));
      return false;
   }
   mem->charged_fds += 1;
   mem->charged_mappings += VS_GUARDED_MAPPINGS;
   return true;
}

/* The host-pointer region went to the region cache, with its charge. */
static void
region_uncharge(struct vs_device_memory *mem)
{
   mem->charged_fds -= 1;
   mem->charged_mappings -= VS_GUARDED_MAPPINGS;
}

/* Frees a vs_device_memory that never reached the host. */
static VkResult
allocate_failed(struct vs_device_memory *mem, VkResult result)
{
   vs_shared_unregister(mem->shared); /* a restore's, parked */
   usage_release(mem);
   free(mem);
   return result;
}

void
vs_memory_chain_host_pointer(VkMemoryAllocateInfo *info, VkImportMemoryHostPointerInfoEXT *import, void *map,
                             size_t size)
{
   /* A host-pointer import cannot be a dedicated allocation
    * (VUID-VkMemoryAllocateInfo-pNext-02806), so the guest's
    * VkMemoryDedicatedAllocateInfo (sent with exported WSI and modifier
    * images) is dropped; the memory stays bound to that one image by the
    * guest's own use. */
   vs_chain_cut(info, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO);
   *import = (VkImportMemoryHostPointerInfoEXT){
      .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
      .pNext = info->pNext,
      .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
      .pHostPointer = map,
   };
   info->pNext = import;
   info->allocationSize = size;
}

/* The guest's export request and resource import are the plan's now:
 * cut from the chain, which lives in the decode arena of this one
 * command, so relinking is safe. */
static void
strip_guest_sharing(VkMemoryAllocateInfo *info)
{
   while (vs_chain_cut(info, VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO).s)
      ;
   while (vs_chain_cut(info, VK_STRUCTURE_TYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA).s)
      ;
}

/* VS_BACKING_RESOURCE: maps the resource's fd for the host-pointer import. */
static VkResult
map_resource(struct vs_renderer *renderer, const struct vs_memory_caps *caps, const struct vs_memory_plan *plan,
             struct vs_device_memory *mem)
{
   uint64_t res_size = 0;
   const char *why = NULL;
   mem->map_size = plan->map_size;
   mem->fd = renderer->resolve_resource(renderer->resolve_data, plan->resource_id, &res_size);
   if (mem->fd < 0)
      why = res_size ? "the resource has no fd to import (a blob of memory made without the SHAREABLE flag)"
                     : "no such resource";
   else if (!(why = vs_memory_plan_resource_fits(plan, mem->size, res_size, os_page_size())) &&
            !(mem->map = os_map_guarded(mem->fd, mem->map_size, caps->granule)))
      why = "the resource cannot be mapped";
   if (!why) {
      mem->imported = true;
      return VK_SUCCESS;
   }
   vs_warn(renderer->ctx_id, "vkAllocateMemory: import of resource %u (%llu bytes, type %u): %s: %s",
           plan->resource_id, (unsigned long long)mem->size, mem->type_index, why,
           vn_result_name(VK_ERROR_INVALID_EXTERNAL_HANDLE));
   if (mem->fd >= 0)
      close(mem->fd);
   mem->fd = -1;
   return VK_ERROR_INVALID_EXTERNAL_HANDLE;
}

/* VS_BACKING_REGION: a cached region, which comes with its charge, or a
 * new one. */
static VkResult
make_region(struct vs_renderer *renderer, struct vs_device *dev, const struct vs_memory_plan *plan,
            struct vs_device_memory *mem)
{
   mem->map_size = plan->map_size;
   if (plan->reuse_region && region_cache_take(&dev->regions, mem->map_size, &mem->fd, &mem->map)) {
      mem->charged_fds += 1;
      mem->charged_mappings += VS_GUARDED_MAPPINGS;
      return VK_SUCCESS;
   }
   if (!region_charge(renderer, mem))
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   if (!vs_host_region_create(mem->map_size, plan->fd_size, dev->mem.granule, &mem->fd, &mem->map)) {
      vs_warn(renderer->ctx_id, "vkAllocateMemory: cannot create %zu bytes of shared memory: %s%s: %s",
              mem->map_size, strerror(errno), errno == EMFILE || errno == ENFILE ? " (the server is out of fds)" : "",
              vn_result_name(VK_ERROR_OUT_OF_HOST_MEMORY));
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   }
   return VK_SUCCESS;
}

/* The host allocation of VS_BACKING_DRIVER_MAPPING, and its mapping's
 * file to lend (mem->fd), which must map exactly the guest's page-rounded
 * blob; false, having logged why and undone it, if not. */
static bool
capture_lent_mapping(struct vs_renderer *renderer, struct vs_device *dev, VkMemoryAllocateInfo *info,
                     const struct vs_memory_plan *plan, struct vs_device_memory *mem, VkResult *r)
{
   void *map;
   size_t len = 0;
   *r = vs_driver_mapping_allocate(dev, info, &mem->host, &map, &mem->fd, &len);
   if (*r != VK_SUCCESS || (mem->fd >= 0 && len == plan->map_size))
      return true;
   vs_warn(renderer->ctx_id, "vkAllocateMemory of %llu bytes (type %u): the host driver's mapping %s "
           "(%zu bytes, %zu wanted): %s", (unsigned long long)mem->size, mem->type_index,
           mem->fd < 0 ? "was not seen" : "has another length", len, plan->map_size,
           vn_result_name(VK_ERROR_OUT_OF_DEVICE_MEMORY));
   dev->dt.FreeMemory(dev->host, mem->host, NULL);
   if (mem->fd >= 0)
      close(mem->fd);
   mem->fd = -1;
   *r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
   return false;
}

/* The lent file's fd, kept for the memory's life (the guest gets
 * copies), counts against the client's fds. */
static bool
fd_charge(struct vs_renderer *renderer, struct vs_device_memory *mem)
{
   char why[192];
   if (!vs_memory_usage_take(mem->usage, 1, 0, why, sizeof(why))) {
      vs_warn(renderer->ctx_id, "vkAllocateMemory: no room for the fd of %llu bytes of lent memory: %s: %s",
              (unsigned long long)mem->size, why, vn_result_name(VK_ERROR_OUT_OF_HOST_MEMORY));
      return false;
   }
   mem->charged_fds += 1;
   return true;
}

struct vs_kept_region *
vs_kept_regions_claim(struct vs_kept_regions *kept, uint64_t memory_id)
{
   for (uint32_t i = 0; i < kept->count; i++) {
      if (kept->items[i].memory_id == memory_id && !kept->items[i].claimed) {
         kept->items[i].claimed = true;
         return &kept->items[i];
      }
   }
   return NULL;
}

void
vs_kept_regions_fini(struct vs_kept_regions *kept)
{
   for (uint32_t i = 0; i < kept->count; i++) {
      const struct vs_kept_region *g = &kept->items[i];
      if (g->claimed)
         continue;
      vs_shared_unregister(g->shared);
      vs_host_region_destroy(g->fd, g->map, g->map_size, g->granule);
   }
   free(kept->items);
   *kept = (struct vs_kept_regions){ 0 };
}

/* A restore's replay (renderer/restore.h): the region the allocation had
 * before, with the charges it held for it. */
static VkResult
take_kept_region(struct vs_renderer *renderer, const struct vs_memory_plan *plan, struct vs_kept_region *kept,
                 struct vs_device_memory *mem)
{
   char why[192];
   if ((plan->backing != VS_BACKING_REGION && plan->backing != VS_BACKING_RESOURCE) ||
       kept->map_size != plan->map_size || (kept->fd_size && kept->fd_size < mem->size)) {
      vs_warn(renderer->ctx_id, "restore: memory %llu is planned otherwise than it was made (%zu bytes mapped, "
              "%zu now): %s", (unsigned long long)kept->memory_id, kept->map_size, plan->map_size,
              vn_result_name(VK_ERROR_INITIALIZATION_FAILED));
      kept->claimed = false;
      return VK_ERROR_INITIALIZATION_FAILED;
   }
   if (!vs_memory_usage_take(mem->usage, kept->charged_fds, kept->charged_mappings, why, sizeof(why))) {
      vs_warn(renderer->ctx_id, "restore: memory %llu: no room for its shared memory: %s: %s",
              (unsigned long long)kept->memory_id, why, vn_result_name(VK_ERROR_OUT_OF_HOST_MEMORY));
      kept->claimed = false;
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   }
   mem->charged_fds += kept->charged_fds;
   mem->charged_mappings += kept->charged_mappings;
   mem->fd = kept->fd;
   mem->map = kept->map;
   mem->map_size = kept->map_size;
   mem->imported = kept->imported;
   mem->exported = kept->exported;
   mem->shared = kept->shared; /* resumed once the memory is made */
   kept->shared = NULL;
   return VK_SUCCESS;
}

/* Plans (memory_plan.h), then commits: counts the memory against the
 * client, gets its backing, allocates on the host, adds the mirror. */
VkResult
vs_memory_allocate(struct vs_renderer *renderer, struct vs_device *dev, uint64_t id, VkMemoryAllocateInfo *info,
                   const struct vs_image *dedicated, struct vs_device_memory **out)
{
   const struct vs_memory_caps *caps = &dev->mem;
   const struct vs_memory_request req = {
      .info = info,
      .caps = caps,
      .dma_buf = dev->has_external_memory_dma_buf,
      .resources = renderer->resolve_resource != NULL,
      .mirror = vs_linear_mirror_need(renderer->options.shared_registry, dedicated),
      .bytes_limit = renderer->memory_usage.bytes_limit,
   };
   struct vs_memory_plan plan;
   vs_memory_plan(&req, &plan);
   if (plan.result != VK_SUCCESS) {
      vs_warn(renderer->ctx_id, "vkAllocateMemory of %llu bytes (type %u): %s: %s",
              (unsigned long long)info->allocationSize, info->memoryTypeIndex, plan.why,
              vn_result_name(plan.result));
      return plan.result;
   }
   strip_guest_sharing(info);
   if (plan.backing == VS_BACKING_DRIVER_MAPPING) {
      /* Lent memory the client freed is its own again (lent_pool.h). */
      const struct vs_lent_key key = vs_lent_key_of(info);
      struct vs_device_memory *kept = vs_lent_pool_take(&dev->lent, &key);
      if (kept) {
         kept->exported = false;
         *out = kept;
         return VK_SUCCESS;
      }
   }

   struct vs_device_memory *mem = calloc(1, sizeof(*mem));
   if (!mem)
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   mem->fd = -1;
   mem->size = info->allocationSize;
   mem->type_index = info->memoryTypeIndex;
   mem->shared_by = plan.shared_by;
   VkResult r = usage_reserve(renderer, dev, mem);
   if (r != VK_SUCCESS) {
      free(mem);
      return r;
   }
   struct vs_kept_region *kept = renderer->kept_regions ? vs_kept_regions_claim(renderer->kept_regions, id) : NULL;
   if (!kept && plan.charge_region && !region_charge(renderer, mem))
      return allocate_failed(mem, VK_ERROR_OUT_OF_HOST_MEMORY);

   VkImportMemoryHostPointerInfoEXT import_info;
   VkExportMemoryAllocateInfo export_info;
   switch (kept ? VS_BACKING_HOST : plan.backing) {
   case VS_BACKING_RESOURCE:
      r = map_resource(renderer, caps, &plan, mem);
      break;
   case VS_BACKING_REGION:
      r = make_region(renderer, dev, &plan, mem);
      break;
   case VS_BACKING_EXPORT:
      export_info = (VkExportMemoryAllocateInfo){
         .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
         .pNext = info->pNext,
         .handleTypes = plan.export_type,
      };
      info->pNext = &export_info;
      break;
   case VS_BACKING_DRIVER_MAPPING:
      if (!fd_charge(renderer, mem))
         r = VK_ERROR_OUT_OF_HOST_MEMORY;
      break;
   case VS_BACKING_HOST:
      if (kept)
         r = take_kept_region(renderer, &plan, kept, mem);
      break;
   }
   if (r != VK_SUCCESS)
      return allocate_failed(mem, r);
   if (mem->map)
      vs_memory_chain_host_pointer(info, &import_info, mem->map, mem->map_size);
   if (plan.drop_dedicated)
      vs_chain_cut(info, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO);

   const VkMemoryDedicatedAllocateInfo *dedicated_info =
      vs_chain_find(info, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO);
   mem->dedicated = dedicated_info && (dedicated_info->image || dedicated_info->buffer);
   mem->dedicated_image = dedicated_info && dedicated_info->image;
   if (plan.backing == VS_BACKING_DRIVER_MAPPING) {
      mem->lent = vs_lent_key_of(info);
      if (!capture_lent_mapping(renderer, dev, info, &plan, mem, &r))
         return allocate_failed(mem, r);
      mem->map_size = plan.map_size;
   } else {
      r = dev->dt.AllocateMemory(dev->host, info, NULL, &mem->host);
   }
   info->allocationSize = mem->size;
   if (r != VK_SUCCESS) {
      vs_warn(renderer->ctx_id, "host vkAllocateMemory of %llu bytes (type %u, %s) failed: %s",
              (unsigned long long)mem->size, mem->type_index, vs_memory_strategy_name(mem->shared_by),
              vn_result_name(r));
      if (mem->map && (mem->imported || caps->exact_shm))
         vs_host_region_destroy(mem->fd, mem->map, mem->map_size, caps->granule);
      else if (mem->map && region_cache_put(&dev->regions, mem->fd, mem->map, mem->map_size, caps->granule))
         region_uncharge(mem); /* the cache's now */
      return allocate_failed(mem, r);
   }
   if (plan.mirror && !(mem->mirror = vs_linear_mirror_create(dev, renderer->ctx_id, mem->host, info->allocationSize,
                                                           mem->type_index, dedicated))) {
      vs_memory_free(dev, mem);
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   }
   if (mem->shared)
      vs_shared_resume(mem->shared, dev);
   else if (mem->map)
      mem->shared = vs_shared_register(renderer->options.shared_registry, dev, renderer->ctx_id, mem->fd, mem->map,
                                       mem->map_size, NULL, NULL);
   *out = mem;
   return VK_SUCCESS;
}

void
vs_memory_free(struct vs_device *dev, struct vs_device_memory *mem)
{
   if (mem->shared_by == VS_MEMORY_DRIVER_MAPPING && mem->usage) {
      vs_lent_pool_put(&dev->lent, mem);
      return;
   }
   /* The guest's mapping (if any) keeps the shared pages alive on its own;
    * the display's reads end first. */
   vs_shared_unregister(mem->shared);
   vs_linear_mirror_destroy(mem->mirror);
   dev->dt.FreeMemory(dev->host, mem->host, NULL);
   /* A blob's region is the guest's still: never reused. */
   if (mem->map && (mem->imported || mem->exported || dev->mem.exact_shm))
      vs_host_region_destroy(mem->fd, mem->map, mem->map_size, dev->mem.granule);
   else if (mem->map && region_cache_put(&dev->regions, mem->fd, mem->map, mem->map_size, dev->mem.granule))
      region_uncharge(mem); /* the cache's now */
   else if (!mem->map && mem->fd >= 0)
      close(mem->fd);
   usage_release(mem);
   free(mem);
}

static int
export_fd(struct vs_renderer *r, struct vs_device *dev, struct vs_device_memory *mem)
{
   if (mem->mirror)
      return vs_linear_mirror_dup_fd(mem->mirror);
   if (mem->shared_by == VS_MEMORY_HOST_POINTER && mem->imported)
      return fcntl(mem->fd, F_DUPFD_CLOEXEC, 0);
   /* The lent file stays with the memory: it is lent again with it. */
   if (mem->shared_by == VS_MEMORY_DRIVER_MAPPING)
      return fcntl(mem->fd, F_DUPFD_CLOEXEC, 0);
   /* A restorable context's memory keeps its fd for a snapshot. */
   if (mem->shared_by == VS_MEMORY_HOST_POINTER && r->restorable)
      return fcntl(mem->fd, F_DUPFD_CLOEXEC, 0);
   if (mem->shared_by == VS_MEMORY_HOST_POINTER) {
      /* The guest's from now on (a memory has one blob at most): the
       * server keeps only its mapping, so that mapped memory costs the
       * server no fd, and the region is never reused for other memory. */
      int fd = mem->fd;
      mem->fd = -1;
      if (mem->charged_fds) {
         vs_memory_usage_give(mem->usage, 1, 0);
         mem->charged_fds--;
      }
      return fd;
   }
   const VkMemoryGetFdInfoKHR fd_info = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
      .memory = mem->host,
      .handleType = vs_memory_handle_type(mem->shared_by),
   };
   int fd = -1;
   if (dev->dt.GetMemoryFdKHR(dev->host, &fd_info, &fd) != VK_SUCCESS)
      return -1;
   return fd;
}

/* A virtio-gpu guest's kernel rounds every blob up to whole pages (a
 * 1344-byte allocation arrives as a 4096-byte blob), so a blob may pass
 * the allocation, but never by more than the granule the memory is made
 * of: the tail is this memory's own, never another object's. */
static uint64_t
blob_size_limit(const struct vs_device *dev, const struct vs_device_memory *mem)
{
   if (mem->shared_by == VS_MEMORY_DRIVER_MAPPING)
      return mem->map_size;
   uint64_t g = dev->mem.granule;
   return mem->size > UINT64_MAX - g ? mem->size : (mem->size + g - 1) & ~(g - 1);
}

/* Host-pointer memory whose fd is exactly the allocation (render-server
 * mode, where the proxy wants fd size == blob size) grows to a rounded
 * blob; either way the guest finds the tail past the allocation zeroed,
 * whatever an earlier allocation of the same cached region left there.
 * The tail lies inside the server's mapping (granule-rounded). */
static bool
fit_blob_tail(struct vs_device_memory *mem, int fd, uint64_t size)
{
   if (size <= mem->size || mem->mirror || mem->shared_by != VS_MEMORY_HOST_POINTER || size > mem->map_size)
      return true;
   struct stat st;
   if (fstat(fd, &st) != 0 || ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) != 0))
      return false;
   memset((uint8_t *)mem->map + mem->size, 0, (size_t)(size - mem->size));
   return true;
}

bool
vs_memory_export(struct vs_renderer *r, uint64_t memory_id, uint64_t size, struct vs_memory_export *out,
                 const char **why)
{
   /* The lock keeps a concurrent vkFreeMemory on a ring from freeing the
    * memory under us (a well-behaved guest never does that). */
   pthread_mutex_lock(&r->memory_lock);
   struct vs_object *obj = vs_object_lookup(r->objects, memory_id, VK_OBJECT_TYPE_DEVICE_MEMORY);
   struct vs_device_memory *mem = obj ? vs_device_memory_from(obj) : NULL;
   struct vs_device *dev = obj ? vs_device_of(obj) : NULL;
   *why = NULL;
   if (!mem)
      *why = "blob names no VkDeviceMemory of this context";
   else if (mem->shared_by == VS_MEMORY_AUTO && !mem->mirror)
      *why = "blob names memory that was not allocated shareable";
   else if (size == 0 || size > blob_size_limit(dev, mem))
      *why = "blob size does not fit the memory";
   else if (mem->exported)
      *why = "memory already has a blob";
   if (!*why) {
      const struct vs_physical_device *phys = vs_physical_device_from(dev->physical);
      out->fd = export_fd(r, dev, mem);
      if (out->fd >= 0 && !fit_blob_tail(mem, out->fd, size)) {
         close(out->fd);
         out->fd = -1;
      }
      if (out->fd >= 0)
         os_shm_seal_size(out->fd);
      out->shared_by = mem->mirror ? VS_MEMORY_HOST_POINTER : mem->shared_by;
      out->memory_type_index = mem->type_index;
      out->allocation_size = mem->size;
      out->map = mem->shared_by == VS_MEMORY_HOST_POINTER ? mem->map : NULL;
      memcpy(out->device_uuid, phys->id_props.deviceUUID, VK_UUID_SIZE);
      memcpy(out->driver_uuid, phys->id_props.driverUUID, VK_UUID_SIZE);
      if (out->fd < 0)
         *why = "cannot export device memory for a blob";
      else
         mem->exported = true;
   }
   pthread_mutex_unlock(&r->memory_lock);
   return !*why;
}

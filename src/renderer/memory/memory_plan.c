/* SPDX-License-Identifier: MIT */
/* vkAllocateMemory's decisions (memory_plan.h): pure functions of the
 * request, so that every branch and refusal is unit-tested. */
#include "renderer/memory/memory_plan.h"

#include <string.h>

#include "renderer/memory/driver_mapping.h"
#include "vn_vk.h"

#define SHAREABLE_EXPORTS (VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)

enum vs_memory_strategy
vs_memory_choose_strategy(const struct vs_memory_caps *caps, uint32_t type_index)
{
   if (caps->forced != VS_MEMORY_AUTO)
      return caps->forced;
   if (type_index < 32 && (caps->host_pointer_types & (1u << type_index)))
      return VS_MEMORY_HOST_POINTER;
   if (type_index < 32 && (caps->lent_types & (1u << type_index)))
      return VS_MEMORY_DRIVER_MAPPING;
   if (caps->dmabuf)
      return VS_MEMORY_DMABUF;
   if (caps->opaque_fd)
      return VS_MEMORY_OPAQUE_FD;
   return VS_MEMORY_AUTO;
}

VkExternalMemoryHandleTypeFlagBits
vs_memory_handle_type(enum vs_memory_strategy s)
{
   return s == VS_MEMORY_DMABUF ? VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT
                                : VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
}

static bool
refuse(struct vs_memory_plan *plan, VkResult result, const char *why)
{
   plan->result = result;
   plan->why = why;
   return false;
}

/* The guest's own export request is noted (the server decides how memory
 * is shared); a resource import is noted; imports of host fds or
 * pointers, which would name host objects, are refused. */
static bool
read_chain(const struct vs_memory_request *req, struct vs_memory_plan *plan)
{
   for (const VkBaseInStructure *s = req->info->pNext; s; s = s->pNext) {
      /* An int: the MESA sTypes are not in VkStructureType. */
      switch ((int)s->sType) {
      case VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO:
         plan->guest_export = ((const VkExportMemoryAllocateInfo *)s)->handleTypes;
         break;
      case VK_STRUCTURE_TYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA: {
         if (!req->resources)
            return refuse(plan, VK_ERROR_INVALID_EXTERNAL_HANDLE, "this transport has no resources to import");
         if (plan->resource_id)
            return refuse(plan, VK_ERROR_INVALID_EXTERNAL_HANDLE, "two resource imports");
         uint32_t id = ((const VkImportMemoryResourceInfoMESA *)s)->resourceId;
         plan->resource_id = id ? id : UINT32_MAX; /* 0 is never a resource */
         break;
      }
      case VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR:
      case VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT:
         return refuse(plan, VK_ERROR_INVALID_EXTERNAL_HANDLE, "memory imports are not supported");
      default:
         break;
      }
   }
   return true;
}

/* The size and type on their own: the client's running total is the
 * commit's to check (it changes under other allocations). */
static bool
check_size(const struct vs_memory_request *req, struct vs_memory_plan *plan)
{
   const VkPhysicalDeviceMemoryProperties *props = &req->caps->props;
   const VkMemoryAllocateInfo *info = req->info;
   if (info->memoryTypeIndex >= props->memoryTypeCount || info->memoryTypeIndex >= VK_MAX_MEMORY_TYPES)
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "no such memory type");
   plan->heap_index = props->memoryTypes[info->memoryTypeIndex].heapIndex;
   if (plan->heap_index >= props->memoryHeapCount || plan->heap_index >= VK_MAX_MEMORY_HEAPS)
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "the memory type names no heap");
   if (info->allocationSize == 0)
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "zero bytes");
   if (info->allocationSize > props->memoryHeaps[plan->heap_index].size)
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "more bytes than the heap has");
   if (req->bytes_limit && info->allocationSize > req->bytes_limit)
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "more bytes than the client's limit memory-mib");
   /* Whole granules must still be a size_t. */
   if (info->allocationSize > (VkDeviceSize)(SIZE_MAX - req->caps->granule))
      return refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "too large to map");
   return true;
}

static size_t
whole_granules(const struct vs_memory_request *req)
{
   size_t g = req->caps->granule;
   return (size_t)((req->info->allocationSize + g - 1) & ~(VkDeviceSize)(g - 1));
}

static bool
takes_host_pointers(const struct vs_memory_request *req)
{
   return req->caps->host_pointer_types & (1u << req->info->memoryTypeIndex);
}

/* Host-visible memory is born shareable, the way the device can. */
static void
plan_host_visible(const struct vs_memory_request *req, struct vs_memory_plan *plan, enum vs_memory_strategy s)
{
   plan->shared_by = s;
   switch (s) {
   case VS_MEMORY_HOST_POINTER:
      /* Only a forced strategy gets here with a type it cannot serve. */
      if (!takes_host_pointers(req)) {
         refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "the memory type cannot back host-pointer imports");
         return;
      }
      plan->backing = VS_BACKING_REGION;
      plan->map_size = whole_granules(req);
      /* Exact-size fds vary in size: they bypass the region cache. */
      plan->fd_size = req->caps->exact_shm ? (size_t)req->info->allocationSize : plan->map_size;
      plan->reuse_region = !req->caps->exact_shm;
      return;
   case VS_MEMORY_DMABUF:
   case VS_MEMORY_OPAQUE_FD:
      plan->backing = VS_BACKING_EXPORT;
      plan->export_type = vs_memory_handle_type(s);
      return;
   case VS_MEMORY_DRIVER_MAPPING:
      /* The guest maps its blob page-rounded, and the lent file maps
       * only whole: both must be the same length. */
      plan->backing = VS_BACKING_DRIVER_MAPPING;
      plan->map_size = (size_t)vs_driver_mapping_round(req->info->allocationSize, req->caps->lent_granule);
      if (vs_driver_mapping_round(req->info->allocationSize, req->caps->granule) != plan->map_size)
         refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                "a lent driver mapping needs whole units of its granule (the size the memory requirements report)");
      return;
   case VS_MEMORY_AUTO:
      refuse(plan, VK_ERROR_OUT_OF_DEVICE_MEMORY, "no way to share this host-visible memory type");
      return;
   }
}

void
vs_memory_plan(const struct vs_memory_request *req, struct vs_memory_plan *plan)
{
   memset(plan, 0, sizeof(*plan));
   plan->result = VK_SUCCESS;
   plan->backing = VS_BACKING_HOST;
   plan->shared_by = VS_MEMORY_AUTO;
   if (!read_chain(req, plan) || !check_size(req, plan))
      return;

   const VkMemoryType *type = &req->caps->props.memoryTypes[req->info->memoryTypeIndex];
   const bool host_visible = type->propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
   const enum vs_memory_strategy strategy = vs_memory_choose_strategy(req->caps, req->info->memoryTypeIndex);
   const bool shared = host_visible && strategy == VS_MEMORY_HOST_POINTER;
   /* A guest WSI image the display could not read in this memory: its
    * blob is a linear mirror, not this memory. */
   plan->mirror = !plan->resource_id && (plan->guest_export & SHAREABLE_EXPORTS) &&
                  (req->mirror == VS_MIRROR_ALWAYS || (req->mirror == VS_MIRROR_IF_UNSHARED && !shared));
   /* The mirror's own region; the import's mapping of the resource. */
   plan->charge_region = plan->mirror || plan->resource_id;

   if (plan->resource_id) {
      /* Whatever the resource's fd is (shm, or a dma-buf the host driver
       * could not import itself), the driver gets it as host memory
       * through the server's mapping. */
      if (!takes_host_pointers(req)) {
         refuse(plan, VK_ERROR_INVALID_EXTERNAL_HANDLE, "the memory type cannot back host-pointer imports");
         return;
      }
      plan->backing = VS_BACKING_RESOURCE;
      plan->shared_by = VS_MEMORY_HOST_POINTER;
      plan->map_size = whole_granules(req);
   } else if (host_visible) {
      plan_host_visible(req, plan, strategy);
   } else if (plan->mirror) {
      /* The mirror's image is bound here too, which a dedicated
       * allocation would forbid. */
      plan->drop_dedicated = true;
   } else if (plan->guest_export & SHAREABLE_EXPORTS) {
      /* Device-local memory the guest wants to share (not map): exported
       * as the host driver can. */
      plan->backing = VS_BACKING_EXPORT;
      plan->shared_by = req->dma_buf ? VS_MEMORY_DMABUF : VS_MEMORY_OPAQUE_FD;
      plan->export_type = vs_memory_handle_type(plan->shared_by);
   }
}

const char *
vs_memory_plan_resource_fits(const struct vs_memory_plan *plan, VkDeviceSize size, uint64_t res_size,
                             size_t page_size)
{
   /* The mapping's tail past the allocation may run into the resource's
    * last page (it is mapped whole), never past it. */
   uint64_t res_pages = res_size > UINT64_MAX - (page_size - 1) ? UINT64_MAX
                                                                  : (res_size + page_size - 1) & ~(uint64_t)(page_size - 1);
   if (size > res_size || plan->map_size > res_pages)
      return "the allocation is larger than the resource";
   return NULL;
}

/* SPDX-License-Identifier: MIT */
/* renderer/memory/memory_plan.c: every branch of vkAllocateMemory's plan and each
 * refusal, on a made-up device: type 0 device-local (heap 0, 1 GiB), type 1
 * host-visible and host-pointer importable, type 2 host-visible but not
 * importable (both heap 1, 256 MiB); 4 KiB granules. */
#include <string.h>

#include "renderer/memory/driver_mapping.h"
#include "renderer/memory/memory_plan.h"
#include "unit.h"
#include "vn_vk.h"

#define MIB (1024ull * 1024)

static struct vs_memory_caps
caps_fixture(void)
{
   struct vs_memory_caps c;
   memset(&c, 0, sizeof(c));
   c.props.memoryTypeCount = 3;
   c.props.memoryTypes[0] = (VkMemoryType){ VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0 };
   c.props.memoryTypes[1] = (VkMemoryType){ VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 1 };
   c.props.memoryTypes[2] = (VkMemoryType){ VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 1 };
   c.props.memoryHeapCount = 2;
   c.props.memoryHeaps[0] = (VkMemoryHeap){ 1024 * MIB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
   c.props.memoryHeaps[1] = (VkMemoryHeap){ 256 * MIB, 0 };
   c.granule = 4096;
   c.host_pointer = true;
   c.host_pointer_types = 1u << 1;
   c.forced = VS_MEMORY_AUTO;
   return c;
}

/* One request with its chain; fields tests change before planning. */
struct fixture {
   struct vs_memory_caps caps;
   VkMemoryAllocateInfo info;
   VkExportMemoryAllocateInfo export_info;
   VkImportMemoryResourceInfoMESA resource;
   VkImportMemoryResourceInfoMESA resource2;
   VkMemoryDedicatedAllocateInfo dedicated;
   struct vs_memory_request req;
   struct vs_memory_plan plan;
};

static void
setup(struct fixture *f, uint32_t type, VkDeviceSize size)
{
   memset(f, 0, sizeof(*f));
   f->caps = caps_fixture();
   f->info = (VkMemoryAllocateInfo){ VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, size, type };
   f->export_info = (VkExportMemoryAllocateInfo){ VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, NULL,
                                                  VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
   f->resource = (VkImportMemoryResourceInfoMESA){ VK_STRUCTURE_TYPE_IMPORT_MEMORY_RESOURCE_INFO_MESA, NULL, 7 };
   f->resource2 = f->resource;
   f->dedicated = (VkMemoryDedicatedAllocateInfo){ VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, NULL,
                                                   VK_NULL_HANDLE, VK_NULL_HANDLE };
   f->req = (struct vs_memory_request){ .info = &f->info, .caps = &f->caps, .dma_buf = true };
}

/* Appends `s` to the request's chain. */
static void
chain(struct fixture *f, void *s)
{
   VkBaseOutStructure **link = (VkBaseOutStructure **)&f->info.pNext;
   while (*link)
      link = &(*link)->pNext;
   *link = s;
   ((VkBaseOutStructure *)s)->pNext = NULL;
}

static const struct vs_memory_plan *
plan(struct fixture *f)
{
   vs_memory_plan(&f->req, &f->plan);
   return &f->plan;
}

TEST(device_local_is_plain_host_memory)
{
   struct fixture f;
   setup(&f, 0, 64 * MIB);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->backing, VS_BACKING_HOST);
   CHECK_EQ(p->shared_by, VS_MEMORY_AUTO);
   CHECK_EQ(p->heap_index, 0u);
   CHECK(!p->mirror && !p->charge_region && !p->drop_dedicated);
   CHECK_EQ(p->map_size, (size_t)0);
}

TEST(host_visible_is_a_region_in_whole_granules)
{
   struct fixture f;
   setup(&f, 1, 1344);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->backing, VS_BACKING_REGION);
   CHECK_EQ(p->shared_by, VS_MEMORY_HOST_POINTER);
   CHECK_EQ(p->heap_index, 1u);
   CHECK_EQ(p->map_size, (size_t)4096);
   CHECK_EQ(p->fd_size, (size_t)4096);
   CHECK(p->reuse_region);
   CHECK(!p->charge_region); /* charged when no cached region serves */
   /* Exactly one granule stays one granule; one byte more takes two. */
   setup(&f, 1, 4096);
   CHECK_EQ(plan(&f)->map_size, (size_t)4096);
   setup(&f, 1, 4097);
   CHECK_EQ(plan(&f)->map_size, (size_t)8192);
}

TEST(region_rounds_to_a_16k_granule)
{
   struct fixture f;
   setup(&f, 1, 5000);
   f.caps.granule = 16384;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->map_size, (size_t)16384);
   CHECK_EQ(p->fd_size, (size_t)16384);
}

TEST(exact_shm_region_fd_is_the_allocation_and_never_reused)
{
   struct fixture f;
   setup(&f, 1, 1344);
   f.caps.exact_shm = true;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->backing, VS_BACKING_REGION);
   CHECK_EQ(p->map_size, (size_t)4096);
   CHECK_EQ(p->fd_size, (size_t)1344);
   CHECK(!p->reuse_region);
}

TEST(host_visible_without_host_pointers_is_exported)
{
   struct fixture f;
   setup(&f, 2, MIB);
   f.caps.dmabuf = true;
   f.caps.opaque_fd = true;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->backing, VS_BACKING_EXPORT);
   CHECK_EQ(p->shared_by, VS_MEMORY_DMABUF);
   CHECK_EQ(p->export_type, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT);
   f.caps.dmabuf = false;
   p = plan(&f);
   CHECK_EQ(p->shared_by, VS_MEMORY_OPAQUE_FD);
   CHECK_EQ(p->export_type, VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
}

TEST(host_visible_with_no_way_to_share_is_refused)
{
   struct fixture f;
   setup(&f, 2, MIB);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(p->why, "no way to share");
}

TEST(forced_strategy_wins_and_refuses_what_it_cannot_serve)
{
   struct fixture f;
   setup(&f, 1, MIB);
   f.caps.forced = VS_MEMORY_OPAQUE_FD;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->backing, VS_BACKING_EXPORT);
   CHECK_EQ(p->shared_by, VS_MEMORY_OPAQUE_FD);
   setup(&f, 2, MIB);
   f.caps.forced = VS_MEMORY_HOST_POINTER;
   p = plan(&f);
   CHECK_EQ(p->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(p->why, "cannot back host-pointer imports");
}

TEST(device_local_export_follows_the_guest_request)
{
   struct fixture f;
   setup(&f, 0, MIB);
   chain(&f, &f.export_info);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->backing, VS_BACKING_EXPORT);
   CHECK_EQ(p->shared_by, VS_MEMORY_DMABUF);
   CHECK_EQ(p->guest_export, (VkExternalMemoryHandleTypeFlags)VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT);
   f.req.dma_buf = false;
   CHECK_EQ(plan(&f)->shared_by, VS_MEMORY_OPAQUE_FD);
   /* A handle type the guest cannot map is no reason to export. */
   f.export_info.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_WIN32_BIT;
   CHECK_EQ(plan(&f)->backing, VS_BACKING_HOST);
}

TEST(host_visible_ignores_the_guest_export_request)
{
   struct fixture f;
   setup(&f, 1, MIB);
   chain(&f, &f.export_info);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->backing, VS_BACKING_REGION);
   CHECK_EQ(p->shared_by, VS_MEMORY_HOST_POINTER);
}

TEST(mirror_of_unshared_memory_drops_dedicated)
{
   struct fixture f;
   setup(&f, 0, 8 * MIB);
   chain(&f, &f.dedicated);
   chain(&f, &f.export_info);
   f.req.mirror = VS_MIRROR_IF_UNSHARED;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK(p->mirror);
   CHECK(p->charge_region);
   CHECK(p->drop_dedicated);
   CHECK_EQ(p->backing, VS_BACKING_HOST);
   CHECK_EQ(p->shared_by, VS_MEMORY_AUTO);
}

TEST(mirror_needs_an_export_request)
{
   struct fixture f;
   setup(&f, 0, 8 * MIB);
   f.req.mirror = VS_MIRROR_ALWAYS;
   const struct vs_memory_plan *p = plan(&f);
   CHECK(!p->mirror && !p->charge_region && !p->drop_dedicated);
}

TEST(shared_memory_is_mirrored_only_when_tiled)
{
   struct fixture f;
   setup(&f, 1, 8 * MIB);
   chain(&f, &f.export_info);
   f.req.mirror = VS_MIRROR_IF_UNSHARED;
   CHECK(!plan(&f)->mirror);
   f.req.mirror = VS_MIRROR_ALWAYS;
   const struct vs_memory_plan *p = plan(&f);
   CHECK(p->mirror);
   CHECK(p->charge_region);
   CHECK_EQ(p->backing, VS_BACKING_REGION);
   CHECK(!p->drop_dedicated); /* the host-pointer import drops it anyway */
   /* Exported (not shared) host-visible memory is mirrored as unshared. */
   setup(&f, 2, 8 * MIB);
   chain(&f, &f.export_info);
   f.caps.dmabuf = true;
   f.req.mirror = VS_MIRROR_IF_UNSHARED;
   p = plan(&f);
   CHECK(p->mirror);
   CHECK_EQ(p->backing, VS_BACKING_EXPORT);
}

TEST(resource_import_is_a_host_pointer_mapping)
{
   struct fixture f;
   setup(&f, 1, 6000);
   chain(&f, &f.export_info);
   chain(&f, &f.resource);
   f.req.resources = true;
   f.req.mirror = VS_MIRROR_ALWAYS;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->backing, VS_BACKING_RESOURCE);
   CHECK_EQ(p->shared_by, VS_MEMORY_HOST_POINTER);
   CHECK_EQ(p->resource_id, 7u);
   CHECK_EQ(p->map_size, (size_t)8192);
   CHECK(p->charge_region);
   CHECK(!p->mirror); /* an import is never mirrored */
   f.resource.resourceId = 0;
   CHECK_EQ(plan(&f)->resource_id, UINT32_MAX);
}

TEST(resource_import_refusals)
{
   struct fixture f;
   setup(&f, 1, MIB);
   chain(&f, &f.resource);
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
   CHECK_STR_CONTAINS(p->why, "no resources to import");

   f.req.resources = true;
   chain(&f, &f.resource2);
   p = plan(&f);
   CHECK_EQ(p->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
   CHECK_STR_CONTAINS(p->why, "two resource imports");

   setup(&f, 2, MIB);
   chain(&f, &f.resource);
   f.req.resources = true;
   p = plan(&f);
   CHECK_EQ(p->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
   CHECK_STR_CONTAINS(p->why, "cannot back host-pointer imports");
}

TEST(host_fd_and_pointer_imports_are_refused)
{
   struct fixture f;
   VkImportMemoryFdInfoKHR fd = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, NULL,
                                  VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, 3 };
   VkImportMemoryHostPointerInfoEXT ptr = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT, NULL,
                                            VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, &f };
   setup(&f, 0, MIB);
   chain(&f, &fd);
   CHECK_EQ(plan(&f)->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
   CHECK_STR_CONTAINS(f.plan.why, "imports are not supported");
   setup(&f, 1, MIB);
   chain(&f, &f.dedicated);
   chain(&f, &ptr);
   CHECK_EQ(plan(&f)->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
}

TEST(size_and_type_refusals)
{
   struct fixture f;
   setup(&f, 3, MIB);
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(f.plan.why, "no such memory type");
   setup(&f, UINT32_MAX, MIB);
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   setup(&f, 1, 0);
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   /* The heap's size fits; one byte more does not. */
   setup(&f, 1, 256 * MIB);
   CHECK_EQ(plan(&f)->result, VK_SUCCESS);
   setup(&f, 1, 256 * MIB + 1);
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(f.plan.why, "heap");
   /* So does the client's limit. */
   setup(&f, 0, 64 * MIB);
   f.req.bytes_limit = 64 * MIB;
   CHECK_EQ(plan(&f)->result, VK_SUCCESS);
   f.info.allocationSize++;
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(f.plan.why, "memory-mib");
   /* A heap that claims everything: rounding to granules must not wrap. */
   setup(&f, 1, UINT64_MAX - 10);
   f.caps.props.memoryHeaps[1].size = UINT64_MAX;
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   /* A type naming a heap the device does not have. */
   setup(&f, 1, MIB);
   f.caps.props.memoryHeapCount = 1;
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
}

TEST(chain_refusal_comes_before_size)
{
   struct fixture f;
   VkImportMemoryFdInfoKHR fd = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, NULL,
                                  VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, 3 };
   setup(&f, 1, 512 * MIB);
   chain(&f, &fd);
   CHECK_EQ(plan(&f)->result, VK_ERROR_INVALID_EXTERNAL_HANDLE);
}

TEST(resource_fits)
{
   struct fixture f;
   setup(&f, 1, 6000);
   chain(&f, &f.resource);
   f.req.resources = true;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->map_size, (size_t)8192);
   CHECK_NULL(vs_memory_plan_resource_fits(p, 6000, 6000, 4096));  /* the mapping ends in its last page */
   CHECK_NULL(vs_memory_plan_resource_fits(p, 6000, 8192, 4096));
   CHECK_STR_CONTAINS(vs_memory_plan_resource_fits(p, 6000, 5999, 4096), "larger than the resource");
   CHECK_STR_CONTAINS(vs_memory_plan_resource_fits(p, 6000, 4096, 4096), "larger than the resource");
   CHECK_NULL(vs_memory_plan_resource_fits(p, 6000, UINT64_MAX, 4096));
   /* 16 KiB granules over a 4 KiB-page resource: the mapping passes it. */
   f.caps.granule = 16384;
   p = plan(&f);
   CHECK_EQ(p->map_size, (size_t)16384);
   CHECK_STR_CONTAINS(vs_memory_plan_resource_fits(p, 6000, 8192, 4096), "larger than the resource");
   CHECK_NULL(vs_memory_plan_resource_fits(p, 6000, 16384, 4096));
}

TEST(strategy_choice)
{
   struct vs_memory_caps c = caps_fixture();
   CHECK_EQ(vs_memory_choose_strategy(&c, 1), VS_MEMORY_HOST_POINTER);
   CHECK_EQ(vs_memory_choose_strategy(&c, 2), VS_MEMORY_AUTO);
   CHECK_EQ(vs_memory_choose_strategy(&c, 40), VS_MEMORY_AUTO); /* no shift past 31 */
   c.opaque_fd = true;
   CHECK_EQ(vs_memory_choose_strategy(&c, 2), VS_MEMORY_OPAQUE_FD);
   c.dmabuf = true;
   CHECK_EQ(vs_memory_choose_strategy(&c, 2), VS_MEMORY_DMABUF);
   c.forced = VS_MEMORY_OPAQUE_FD;
   CHECK_EQ(vs_memory_choose_strategy(&c, 1), VS_MEMORY_OPAQUE_FD);
   CHECK_EQ(vs_memory_handle_type(VS_MEMORY_DMABUF), VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT);
   CHECK_EQ(vs_memory_handle_type(VS_MEMORY_OPAQUE_FD), VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
}

TEST(plan_leaves_the_chain_alone)
{
   struct fixture f;
   setup(&f, 1, MIB);
   chain(&f, &f.dedicated);
   chain(&f, &f.export_info);
   const void *before = f.info.pNext;
   plan(&f);
   CHECK(f.info.pNext == before);
   CHECK(f.dedicated.pNext == (void *)&f.export_info);
   CHECK_EQ(f.info.allocationSize, (VkDeviceSize)MIB);
}

/* Type 2 as NVIDIA's BAR lent (vtest, worker processes): the driver maps it
 * in 64 KiB units, which the guest's page-rounded blob must match. */
TEST(lent_driver_mapping_needs_whole_units)
{
   struct fixture f;
   setup(&f, 2, 64 * 1024);
   f.caps.lent_types = 1u << 2;
   f.caps.lent_granule = 64 * 1024;
   const struct vs_memory_plan *p = plan(&f);
   CHECK_EQ(p->result, VK_SUCCESS);
   CHECK_EQ(p->backing, VS_BACKING_DRIVER_MAPPING);
   CHECK_EQ(p->shared_by, VS_MEMORY_DRIVER_MAPPING);
   CHECK_EQ(p->map_size, (size_t)(64 * 1024));
   f.info.allocationSize = 3 * 64 * 1024 - 100; /* page-rounds to the whole units */
   CHECK_EQ(plan(&f)->result, VK_SUCCESS);
   CHECK_EQ(f.plan.map_size, (size_t)(3 * 64 * 1024));
   f.info.allocationSize = 64 * 1024 + 1;
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   CHECK_STR_CONTAINS(f.plan.why, "whole units");
   f.info.allocationSize = 100;
   CHECK_EQ(plan(&f)->result, VK_ERROR_OUT_OF_DEVICE_MEMORY);
   /* Host pointers and forced strategies come first. */
   f.info.allocationSize = 64 * 1024;
   f.caps.host_pointer_types |= 1u << 2;
   CHECK_EQ(plan(&f)->backing, VS_BACKING_REGION);
   f.caps.host_pointer_types &= ~(1u << 2);
   f.caps.forced = VS_MEMORY_OPAQUE_FD;
   CHECK_EQ(plan(&f)->backing, VS_BACKING_EXPORT);
}

/* NVIDIA keeps a buffer declared for host-pointer import off its BAR type
 * (type 4 here, lent): the guest is told the types of both host buffers,
 * and sizes and alignments in the lent mapping's units, since Mesa sizes a
 * buffer from the cached alignment of its kind. */
TEST(lent_types_lost_to_the_import_declaration_are_offered)
{
   const uint32_t lent = 1u << 4;
   CHECK_EQ(vs_driver_mapping_undeclared_types(lent, 0x0f, 0x1f), lent);
   CHECK_EQ(vs_driver_mapping_undeclared_types(lent, 0x1f, 0x1f), 0u); /* nothing lost */
   CHECK_EQ(vs_driver_mapping_undeclared_types(lent, 0x0f, 0x0f), 0u); /* not usable either way */
   CHECK_EQ(vs_driver_mapping_undeclared_types(0, 0x0f, 0x1f), 0u);    /* no lending */
   VkMemoryRequirements req = { .size = 1000, .alignment = 64, .memoryTypeBits = 0x0f };
   const VkMemoryRequirements undeclared = { .size = 4096, .alignment = 256, .memoryTypeBits = 0x1f };
   vs_driver_mapping_merge_requirements(&req, &undeclared, 0);
   CHECK_EQ(req.memoryTypeBits, 0x0fu);
   CHECK_EQ(req.size, (VkDeviceSize)1000);
   vs_driver_mapping_merge_requirements(&req, &undeclared, lent);
   CHECK_EQ(req.memoryTypeBits, 0x1fu);
   CHECK_EQ(req.size, (VkDeviceSize)4096);
   CHECK_EQ(req.alignment, (VkDeviceSize)256);
   struct vs_memory_caps caps = { .lent_types = lent, .lent_granule = 64 * 1024 };
   vs_driver_mapping_size_requirements(&caps, &req);
   CHECK_EQ(req.size, (VkDeviceSize)(64 * 1024));
   CHECK_EQ(req.alignment, (VkDeviceSize)(64 * 1024));
   /* A buffer that cannot live in lent memory keeps its own. */
   VkMemoryRequirements plain = { .size = 1000, .alignment = 64, .memoryTypeBits = 0x0f };
   vs_driver_mapping_size_requirements(&caps, &plain);
   CHECK_EQ(plain.size, (VkDeviceSize)1000);
   CHECK_EQ(plain.alignment, (VkDeviceSize)64);
}

/* Transfer-only buffers (Mesa's feedback buffer) are not offered the lent
 * type, so their alignment stays the host's; others are sized and aligned
 * for it. */
TEST(transfer_only_buffers_are_not_offered_lent_types)
{
   struct vs_memory_caps caps = { .lent_types = 1u << 2, .lent_granule = 65536 };
   const VkBufferUsageFlags transfers = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
   VkMemoryRequirements req = { .size = 4096, .alignment = 256, .memoryTypeBits = 0x7 };
   vs_driver_mapping_buffer_requirements(&caps, transfers, &req);
   CHECK_EQ(req.memoryTypeBits, 0x3u);
   CHECK_EQ(req.alignment, (VkDeviceSize)256);
   CHECK_EQ(req.size, (VkDeviceSize)4096);
   req = (VkMemoryRequirements){ .size = 4096, .alignment = 256, .memoryTypeBits = 0x7 };
   vs_driver_mapping_buffer_requirements(&caps, transfers | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &req);
   CHECK_EQ(req.memoryTypeBits, 0x7u);
   CHECK_EQ(req.alignment, (VkDeviceSize)65536);
   CHECK_EQ(req.size, (VkDeviceSize)65536);
   /* Never left with no type at all. */
   req = (VkMemoryRequirements){ .size = 4096, .alignment = 256, .memoryTypeBits = 0x4 };
   vs_driver_mapping_buffer_requirements(&caps, transfers, &req);
   CHECK_EQ(req.memoryTypeBits, 0x4u);
}

UNIT_MAIN(UNIT(transfer_only_buffers_are_not_offered_lent_types), UNIT(device_local_is_plain_host_memory), UNIT(host_visible_is_a_region_in_whole_granules),
          UNIT(region_rounds_to_a_16k_granule), UNIT(exact_shm_region_fd_is_the_allocation_and_never_reused),
          UNIT(host_visible_without_host_pointers_is_exported), UNIT(host_visible_with_no_way_to_share_is_refused),
          UNIT(forced_strategy_wins_and_refuses_what_it_cannot_serve),
          UNIT(device_local_export_follows_the_guest_request), UNIT(host_visible_ignores_the_guest_export_request),
          UNIT(mirror_of_unshared_memory_drops_dedicated), UNIT(mirror_needs_an_export_request),
          UNIT(shared_memory_is_mirrored_only_when_tiled), UNIT(resource_import_is_a_host_pointer_mapping),
          UNIT(resource_import_refusals), UNIT(host_fd_and_pointer_imports_are_refused),
          UNIT(size_and_type_refusals), UNIT(chain_refusal_comes_before_size), UNIT(resource_fits),
          UNIT(strategy_choice), UNIT(plan_leaves_the_chain_alone),
          UNIT(lent_driver_mapping_needs_whole_units), UNIT(lent_types_lost_to_the_import_declaration_are_offered))

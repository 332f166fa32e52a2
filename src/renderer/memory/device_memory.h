/* SPDX-License-Identifier: MIT */
/* Device memory the guest maps: every HOST_VISIBLE allocation is born
 * shareable, so that the fd a blob hands to the guest aliases the very
 * pages the host driver uses (no copies, and no flush ever arrives).
 *
 * Three ways to get such an fd, chosen per device:
 *   host-pointer  the server creates shared memory (memfd/shm), maps it and
 *                 imports it with VK_EXT_external_memory_host; the blob fd
 *                 is that shared memory. Works wherever the extension
 *                 exists (lavapipe, NVIDIA, MoltenVK), without dma-buf.
 *   dmabuf        the host driver exports the allocation as a dma-buf.
 *   opaque-fd     the host driver exports an opaque fd. Only usable where
 *                 that fd maps at offset 0 onto the memory (not lavapipe,
 *                 which keeps a header before the data).
 * dmabuf and opaque-fd are probed at vkCreateDevice by mapping a test
 * allocation both ways; a strategy that fails the probe is not used. */
#ifndef VS_RENDERER_MEMORY_DEVICE_MEMORY_H
#define VS_RENDERER_MEMORY_DEVICE_MEMORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/lent_pool.h"
#include "renderer/memory/memory_state.h"
#include "base/fair_share.h"

struct vs_object;
struct vs_device;
struct vs_image;
struct vs_linear_mirror;
struct vs_physical_device;
struct vs_renderer;
struct vs_shared_entry;

const char *vs_memory_strategy_name(enum vs_memory_strategy s);
/* Parses "auto", "host-pointer", "dmabuf" or "opaque-fd". */
bool vs_memory_strategy_parse(const char *name, enum vs_memory_strategy *out);

/* Shared memory of `fd_size` bytes (at most `size`), mapped `size` bytes
 * long between PROT_NONE guards of `align` bytes; and its undoing. */
bool vs_host_region_create(size_t size, size_t fd_size, size_t align, int *fd_out, void **map_out);
void vs_host_region_destroy(int fd, void *map, size_t size, size_t align);

/* Makes `info` a host-pointer import of `map` (`size` bytes, whole
 * granules) through `import`, which must outlive the allocation call. */
void vs_memory_chain_host_pointer(VkMemoryAllocateInfo *info, VkImportMemoryHostPointerInfoEXT *import, void *map,
                                  size_t size);

void vs_region_cache_init(struct vs_region_cache *cache, struct vs_memory_usage *usage);
/* Unmaps and closes every cached region. */
void vs_region_cache_fini(struct vs_region_cache *cache);

/* Without limits: fds and mappings counted, never refused. */
void vs_memory_usage_init(struct vs_memory_usage *usage);
/* Before the first allocation; the pools are server-wide (NULL: none). */
void vs_memory_usage_set_limits(struct vs_memory_usage *usage, VkDeviceSize bytes_limit,
                                struct vs_fair_pool *fd_pool, struct vs_fair_pool *mapping_pool);
void vs_memory_usage_fini(struct vs_memory_usage *usage);
/* Takes `fds` fds and `mappings` mappings for shared memory the server
 * keeps for this client; false (nothing taken, `why` set) when a pool
 * refuses. */
bool vs_memory_usage_take(struct vs_memory_usage *usage, uint32_t fds, uint32_t mappings, char *why,
                          size_t why_size);
void vs_memory_usage_give(struct vs_memory_usage *usage, uint32_t fds, uint32_t mappings);

/* One VkDeviceMemory (vs_object.data). */
struct vs_device_memory {
   VkDeviceMemory host;
   VkDeviceSize size;              /* allocationSize */
   uint32_t type_index;
   /* How the guest can get an fd for it; AUTO = it cannot (not shareable). */
   enum vs_memory_strategy shared_by;
   int fd;                         /* host-pointer: the shared memory, -1 once the guest has it;
                                    * lent: the driver mapping's file, for its life */
   void *map;                      /* host-pointer: its mapping */
   size_t map_size;
   bool exported;                  /* a blob was made from it (at most one) */
   bool imported;                  /* fd and map are a resource's (never cached) */
   bool dedicated;                 /* the host allocation is dedicated to one image or buffer */
   bool dedicated_image;           /* ... to an image */
   /* What it counts against (vs_memory_usage), undone by vs_memory_free. */
   struct vs_memory_usage *usage;
   uint32_t usage_slot;
   uint32_t heap_index;
   enum vs_ledger_pool pool;       /* counted in usage->share_bytes[pool] */
   /* Its region's share of usage->fds and usage->mappings. */
   uint32_t charged_fds;
   uint32_t charged_mappings;
   struct vs_shared_entry *shared; /* host-pointer: its registry entry (shared_registry.h) */
   struct vs_linear_mirror *mirror; /* what its blob is instead (linear_mirror.h), or NULL */
   /* Lent memory: what it was made with, and its link in its device's
    * pool once freed (renderer/memory/lent_pool.h). */
   struct vs_lent_key lent;
   struct vs_device_memory *next_lent;
};

/* Whether two mappings of `size` bytes are the same memory, not copies:
 * written through each, read through the other (the probes' test). */
bool vs_memory_views_alias(volatile uint32_t *host_view, volatile uint32_t *other_view, size_t size);

/* Host device extensions the memory code needs, of those the physical
 * device has: appended to `names` (room for 3 more) unless present. */
uint32_t vs_memory_add_device_extensions(const struct vs_physical_device *phys, const char **names,
                                         uint32_t count);

/* Decides, once per physical device (`phys_obj`), which host-visible
 * memory types the guest is told it cannot map (renderer/memory/shareable_types.h):
 * probes the strategies, with the renderer's options, on a short-lived
 * host device; sets vs_physical_device.unshareable_types. */
void vs_memory_physical_init(struct vs_renderer *r, struct vs_object *phys_obj);
/* vs_memory_physical_init in its two halves: the probe (a host device of
 * its own; silent), and the lines that report its result. */
void vs_memory_physical_probe(struct vs_renderer *r, struct vs_object *phys_obj);
void vs_memory_report_unshareable(struct vs_renderer *r, struct vs_object *phys_obj);

/* Probes the strategies on a freshly created device, with the renderer's
 * options; the types of its physical device's unshareable_types are not
 * host-visible to it. False (with `why` set) if a forced strategy cannot
 * work there. */
bool vs_memory_device_init(struct vs_renderer *r, struct vs_device *dev, const char **why);

/* vkAllocateMemory / vkFreeMemory semantics: vkAllocateMemory plans
 * (renderer/memory/memory_plan.h: what to do, or why not) and commits the plan.
 * `info` is the guest's decoded create info; its pNext chain may be
 * relinked. `dedicated` is the image its VkMemoryDedicatedAllocateInfo
 * names, if any. Returns the VkResult; on success *out is the new memory
 * (not yet in the object table). `id` is its guest id: during a restore
 * (renderer/restore.h) the region kept for it is imported again. */
VkResult vs_memory_allocate(struct vs_renderer *r, struct vs_device *dev, uint64_t id, VkMemoryAllocateInfo *info,
                            const struct vs_image *dedicated, struct vs_device_memory **out);
/* The kept region the replay's allocation of `memory_id` imports again
 * (claimed); NULL: none was kept. */
struct vs_kept_region *vs_kept_regions_claim(struct vs_kept_regions *kept, uint64_t memory_id);
/* Unmaps and closes the regions no allocation claimed, and frees the list. */
void vs_kept_regions_fini(struct vs_kept_regions *kept);

/* Frees the host memory and the server's state; the object must already be
 * out of the table (see vs_memory_release). */
void vs_memory_free(struct vs_device *dev, struct vs_device_memory *mem);

/* A VkDeviceMemory exported for the guest to map. */
struct vs_memory_export {
   int fd;                             /* new: the caller owns it */
   enum vs_memory_strategy shared_by;  /* host-pointer: shared memory; else dma-buf or opaque fd */
   uint32_t memory_type_index;
   uint64_t allocation_size;
   uint8_t device_uuid[VK_UUID_SIZE];
   uint8_t driver_uuid[VK_UUID_SIZE];
   const void *map;                    /* host-pointer: the server's mapping (os_map_faulted) */
};

/* RESOURCE_CREATE_BLOB with blob_id = a VkDeviceMemory id of the renderer:
 * at most once per memory, `size` at most the allocation rounded up to the
 * granule (virtio-gpu guests send page-rounded blobs). False with *why
 * set on bad input. */
bool vs_memory_export(struct vs_renderer *r, uint64_t memory_id, uint64_t size,
                      struct vs_memory_export *out, const char **why);

#endif

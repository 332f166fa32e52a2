/* SPDX-License-Identifier: MIT */
/* The renderer's state that the rest of its layer reaches (renderer/memory/,
 * renderer/sync/, and the handlers of dispatch/): a context's renderer, and the
 * instances, physical devices, devices with their queues, and images it
 * holds, with the checked casts from an object table entry to them. Only
 * types and inline helpers: nothing here depends on the code that works
 * on them, so renderer/memory/ and renderer/sync/ use it without a circle back to
 * dispatch/ (renderer/objects.h, the handlers' own, adds the rest). */
#ifndef VS_RENDERER_RENDERER_STATE_H
#define VS_RENDERER_RENDERER_STATE_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/memory_state.h"
#include "renderer/sync/host_queue.h"
#include "renderer/sync/submit_stats.h"
#include "wire/object_table.h"
#include "vn_vk.h"

struct vs_device_memory;
struct vs_ledger_port;
struct vs_gpu_watchdog;
struct vs_shared_registry;

/* Timelines (rings of queues) a context supports; answered to GET_PARAM. */
#define VS_MAX_TIMELINES 64

/* Whether guest LINEAR-modifier color attachments become OPTIMAL host
 * images (struct vs_device.modifier_color_optimal). */
enum vs_modifier_color {
   VS_MODIFIER_COLOR_AUTO,     /* by vendor: NVIDIA's cannot be mapped */
   VS_MODIFIER_COLOR_OPTIMAL,  /* always, even where LINEAR ones map */
   VS_MODIFIER_COLOR_LINEAR,   /* never */
};

struct vs_device_snapshot_slot;
struct vs_device_hook;

struct vs_renderer_options {
   int device_index;                   /* host physical device to expose; -1: all */
   enum vs_memory_strategy memory;     /* how host-visible memory is shared */
   size_t page_size;                   /* granule of shared memory; 0: the system's */
   /* Host-pointer memory is shared as an fd of exactly allocationSize
    * bytes (the render server's proxy checks a blob's size and seals it),
    * never reused after an export. */
   bool exact_shm;
   /* Host-visible memory that nothing else can share is shared by
    * lending the host driver's own mapping (renderer/memory/driver_mapping.h):
    * vtest clients with a worker process of their own. */
   bool lend_driver_mappings;
   /* Shaders cannot reach outside their bindings, whatever the guest's
    * pipelines ask (renderer/robust_access.h): where tenants share a
    * process. */
   bool robust_access;
   /* Time each stage of a submission (renderer/sync/submit_stats.h): --submit-stats. */
   bool submit_stats;
   enum vs_modifier_color modifier_color; /* $VENUS_SERVER_MODIFIER_COLOR */
   /* Where host-pointer memory is registered for an in-process reader
    * (the display: renderer/memory/shared_registry.h); NULL: no reader, and guest
    * WSI images get no linear mirror. */
   struct vs_shared_registry *shared_registry;
   /* Shared by a server's pooled workers (renderer/device_snapshot.h):
    * each leaves its first device's create info there, and the next ones
    * create that device in their warm-up. NULL: no such hand-over. */
   struct vs_device_snapshot_slot *device_snapshots;
   /* Set by a worker that prepared devices ahead of its tenant
    * (renderer/renderer.h); NULL: vkCreateDevice calls no hook. */
   const struct vs_device_hook *device_hook;
   /* Where device memory is charged (renderer/memory/memory_share.h,
    * base/ledger.h); NULL: nowhere. */
   struct vs_ledger_port *ledger;
   /* --limit gpu-timeout-ms (renderer/sync/gpu_watchdog.h); 0: none. */
   uint32_t gpu_timeout_ms;
   /* --limit devices: host devices the context may hold at once; 0: no limit. */
   uint32_t devices;
};

/* Resolves a resource of the context (VkImportMemoryResourceInfoMESA,
 * vkGetMemoryResourcePropertiesMESA): a new fd of its mappable memory and
 * its size in bytes; -1 if the context has no such resource, or -1 with
 * its size if it keeps no fd of it. Set by the context layer; the renderer
 * never sees the resource table. */
typedef int (*vs_resolve_resource_fn)(void *data, uint32_t res_id, uint64_t *size);

/* Where the client's rings stood at one moment: what it had written to
 * them by then has reached the host queues once each ring has executed up
 * to its mark. A consumer that learns of client work through another
 * channel (the display: a Wayland commit) marks at once and waits for the
 * marks before fencing the queues. */
#define VS_WORK_MARK_RINGS 16
struct vs_work_mark {
   const void *except; /* the ring (a dispatcher's owner) left out; NULL: none */
   uint32_t count;
   uint64_t ring_id[VS_WORK_MARK_RINGS];
   uint32_t tail[VS_WORK_MARK_RINGS];
};
/* Set by the context layer (the renderer never sees rings): `mark` records
 * every ring's tail; `reached` says whether every marked ring has executed
 * up to its mark (a ring that went away counts as reached). */
struct vs_work_hooks {
   void (*mark)(void *data, struct vs_work_mark *mark);
   bool (*reached)(void *data, const struct vs_work_mark *mark);
   void *data;
};

struct vs_renderer {
   uint32_t ctx_id;
   struct vs_renderer_options options;
   struct vs_object_table *objects;    /* the context's */

   /* Serializes blob export against vkFreeMemory. */
   pthread_mutex_t memory_lock;
   /* Device memory and memory fds the client holds (renderer/memory/device_memory.h). */
   struct vs_memory_usage memory_usage;
   /* The guest's VkInstance (one per context). */
   struct vs_object *instance;
   /* Host instances (at most one) and host devices the context holds,
    * each from the start of its create until the host object is destroyed
    * (vs_slot_take): creates on different rings run at once. */
   _Atomic uint32_t instances, devices;
   /* vkCreateDevice refused past options.devices: the first is a warning,
    * the rest debug lines (a guest may ask any number of times). */
   _Atomic uint32_t device_refusals;
   /* Timelines: ring_idx -> VkQueue object bound by vkGetDeviceQueue2. */
   pthread_mutex_t timeline_lock;
   struct vs_object *timeline_queue[VS_MAX_TIMELINES];
   /* Resource lookups for memory imports; NULL: imports are refused. */
   vs_resolve_resource_fn resolve_resource;
   void *resolve_data;
   /* Where submissions spend their time, if options.submit_stats. */
   struct vs_submit_stats stats;
   /* The client's rings, for consumers of its memory; NULL mark: none. */
   struct vs_work_hooks work;
   /* While a restore replays the journal (renderer/restore.h): the shared
    * memory its allocations import again. NULL otherwise. */
   struct vs_kept_regions *kept_regions;
   /* The context keeps a journal, so a restore may rebuild it: images'
    * layouts are followed (renderer/image_layout.h) and memory given to
    * the guest as a blob keeps its fd, for a snapshot to carry. Under
    * layout_lock: the layouts, and layouts_lost (a command buffer's
    * changes could not all be kept). */
   bool restorable;
   pthread_mutex_t layout_lock;
   bool layouts_lost;
};

/* Takes one of `limit` slots counted in *held (0: no limit, each still
 * counted); false, taking none, when all are held. The holder gives its
 * slot back with atomic_fetch_sub(held, 1). */
static inline bool
vs_slot_take(_Atomic uint32_t *held, uint32_t limit)
{
   if (atomic_fetch_add(held, 1) < limit || !limit)
      return true;
   atomic_fetch_sub(held, 1);
   return false;
}

/* The host's limits that bound command indices (checks.txt's index_range,
 * through VS_LIMIT): all Vulkan lets a guest name is below them, and
 * drivers keep that state in arrays of about that size. */
struct vs_index_limits {
   uint32_t maxViewports;
   uint32_t maxVertexInputBindings;
   uint32_t maxVertexInputAttributes;
   uint32_t maxColorAttachments;
   uint32_t maxFramebufferLayers;
   uint32_t maxTransformFeedbackBuffers; /* 0 without VK_EXT_transform_feedback */
};

struct vs_instance {
   VkInstance host;
   struct vn_instance_table it;
   uint32_t api_version;
   int device_index;                 /* the --device choice it was made for */
   uint32_t physical_count;          /* exposed host physical devices */
   VkPhysicalDevice *physical;
   bool physical_bound;              /* ids bound by vkEnumeratePhysicalDevices */
   /* Per physical device, the memory probe's result (the server's options
    * are the same for every context): a pooled instance's next context,
    * or a worker's tenant after the warm-up, skips the probe's device. */
   struct vs_memory_probe_result *memory_probe;
};

struct vs_memory_probe_result {
   bool known;
   uint32_t unshareable_types, kept_types;
};

/* What the server reads of a host physical device once, when the guest
 * first names it. */
struct vs_physical_device {
   VkPhysicalDevice host;
   VkPhysicalDeviceProperties props;
   VkPhysicalDeviceIDProperties id_props; /* UUIDs, for blob export info */
   struct vs_index_limits index_limits;
   uint32_t extension_count;
   VkExtensionProperties *extensions; /* the host's, unfiltered */
   uint32_t queue_family_count;
   VkQueueFamilyProperties *queue_families;
   bool has_foreign_queue;           /* VK_EXT_queue_family_foreign */
   /* VK_EXT_robustness2 with robustBufferAccess2 and robustImageAccess2:
    * forced on where the renderer forces robust access. */
   bool robustness2;
   /* VK_KHR_portability_subset (MoltenVK): the host device must be created
    * with it enabled, and the guest sees its limits. */
   bool portability_subset;
   /* Core 1.2 timeline semaphores (instance and device): forced on in
    * every device, for the queues' serial semaphores (renderer/lifetime.c). */
   bool timeline_semaphore;
   /* Host-visible memory types the server cannot share with the guest,
    * which it is told lack host access (renderer/memory/shareable_types.h). */
   uint32_t unshareable_types;
   /* Unshareable but left host-visible (the only coherent ones). */
   uint32_t kept_types;
};

struct vs_device {
   VkDevice host;
   struct vs_renderer *renderer;     /* the owning context's; outlives the device */
   struct vn_device_table dt;
   struct vs_object *physical;
   uint32_t queue_count;
   struct vs_queue *queues;
   /* Host extensions the server enabled for sharing memory. */
   bool has_external_memory_host;
   bool has_external_memory_fd;
   bool has_external_memory_dma_buf;
   bool host_queue_family_foreign;   /* VK_EXT_queue_family_foreign on the host device */
   /* The guest enabled VK_EXT_queue_family_foreign and the host has none:
    * barriers naming the foreign family are rewritten (barrier.c). */
   bool foreign_by_server;
   /* Guest LINEAR-modifier color attachments become OPTIMAL host images
    * (renderer/image.c): NVIDIA loses the device rendering to linear ones. */
   bool modifier_color_optimal;
   /* ... even where every memory type is mappable (a test set-up: the
    * guest could then map tiled bytes). */
   bool modifier_color_forced;
   /* VK_EXT_nested_command_buffer: how deep secondaries recorded into
    * secondaries may go (maxCommandBufferNestingLevel, at most
    * VS_NESTING_LIMIT); 0: a secondary executes none (renderer/command_buffer.c). */
   uint32_t command_buffer_nesting;
   struct vs_memory_caps mem;
   struct vs_region_cache regions;
   struct vs_lent_pool lent;         /* lent memory the guest freed (renderer/memory/lent_pool.h) */
   struct vs_gpu_watchdog *watchdog; /* NULL: work is not timed */
   /* renderer/device.c: a device kept with work that never ends, and the
    * host handles and state of what it owned, kept with it. */
   struct vs_device *next_kept;
   uintptr_t *kept;
   uint32_t kept_count, kept_cap;
};

/* The deepest nesting of secondary command buffers the server offers:
 * host drivers run them recursively, and some report no limit. */
#define VS_NESTING_LIMIT 32u

/* The layout each of an image's subresources is in once every submitted
 * command has run, where the context keeps a journal
 * (renderer/image_layout.h): what a restore copies it out of. */
struct vs_image_layouts {
   VkImageLayout all;                /* every subresource's while `each` is NULL */
   VkImageLayout *each;              /* by aspect, level and layer, once they differ */
   uint32_t aspects;                 /* 2 (depth, stencil) for a depth/stencil format, else 1 */
   bool lost;                        /* a change could not be kept (out of memory) */
   /* The queue family whose submission changed them last: an exclusive
    * image's owner, whose queue copies it (VK_QUEUE_FAMILY_IGNORED: none). */
   uint32_t family;
};

/* An image's shape and binding: what range checks measure against, and
 * what a frame exporter needs to read its pixels. */
struct vs_image {
   VkFormat format;
   VkExtent3D extent;
   uint32_t mip_levels;
   uint32_t array_layers;
   VkSampleCountFlagBits samples;
   VkImageType type;
   VkImageTiling tiling;             /* host tiling (a linear modifier is LINEAR) */
   VkImageUsageFlags usage;
   bool sparse;
   /* A LINEAR-modifier color attachment made OPTIMAL on the host (see
    * renderer/image.c); `layout` is then a linear twin's. */
   bool optimal_for_linear;
   bool from_modifier;               /* the guest made it with a DRM modifier */
   /* The host's create flags and usage: an identical alias needs them
    * (renderer/memory/linear_mirror.h). */
   VkImageCreateFlags host_flags;
   VkImageUsageFlags host_usage;
   VkExternalMemoryHandleTypeFlags host_import_types; /* renderer/memory/import_types.h */
   bool kept_off_imports;            /* ditto: its memory types exclude imported ones */
   bool preinitialized_undefined;    /* PREINITIALIZED for the guest, UNDEFINED on the host (image.c) */
   uint64_t memory_id;               /* bound VkDeviceMemory, 0 while unbound */
   VkDeviceSize memory_offset;
   /* Plane 0 as the guest sees it when linear. */
   VkSubresourceLayout layout;
   struct vs_image_layouts layouts;
};

/* Checked casts, in the spirit of virglrenderer's object casts: an entry of
 * the wrong type is a server bug, never guest input (the decoder already
 * checked the type of every id). */
#define VS_DEFINE_OBJECT_CAST(fn, objtype, T)                                     \
   static inline T *fn(const struct vs_object *obj)                               \
   {                                                                              \
      assert(obj && obj->type == (objtype));                                      \
      return (T *)obj->data;                                                      \
   }


VS_DEFINE_OBJECT_CAST(vs_instance_from, VK_OBJECT_TYPE_INSTANCE, struct vs_instance)
VS_DEFINE_OBJECT_CAST(vs_physical_device_from, VK_OBJECT_TYPE_PHYSICAL_DEVICE, struct vs_physical_device)
VS_DEFINE_OBJECT_CAST(vs_device_from, VK_OBJECT_TYPE_DEVICE, struct vs_device)
VS_DEFINE_OBJECT_CAST(vs_queue_from, VK_OBJECT_TYPE_QUEUE, struct vs_queue)
VS_DEFINE_OBJECT_CAST(vs_device_memory_from, VK_OBJECT_TYPE_DEVICE_MEMORY, struct vs_device_memory)
VS_DEFINE_OBJECT_CAST(vs_image_from, VK_OBJECT_TYPE_IMAGE, struct vs_image)

/* The nearest ancestor of a type (the object itself included), or NULL. */
static inline struct vs_object *
vs_object_ancestor(struct vs_object *obj, VkObjectType type)
{
   while (obj && obj->type != type)
      obj = obj->parent;
   return obj;
}

/* The state of a device child's device. */
static inline struct vs_device *
vs_device_of(struct vs_object *obj)
{
   return vs_device_from(vs_object_ancestor(obj, VK_OBJECT_TYPE_DEVICE));
}

/* Whether the device is lost for the guest (wire/runner.c marks it, or
 * the server's gpu-timeout-ms watchdog): its waits end with
 * VK_ERROR_DEVICE_LOST. */
static inline bool
vs_device_marked_lost(const struct vs_object *device_obj)
{
   return __atomic_load_n(&device_obj->flags, __ATOMIC_ACQUIRE) & VS_OBJECT_DEVICE_LOST;
}

static inline bool
vs_physical_device_has_extension(const struct vs_physical_device *phys, const char *name)
{
   for (uint32_t i = 0; i < phys->extension_count; i++) {
      if (strcmp(phys->extensions[i].extensionName, name) == 0)
         return true;
   }
   return false;
}

#endif

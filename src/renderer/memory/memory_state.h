/* SPDX-License-Identifier: MIT */
/* The memory state other objects embed: a device's caps and region cache,
 * a renderer's usage. Types only (renderer/memory/device_memory.h has what works
 * on them), so that the renderer's state (renderer/renderer_state.h) can
 * hold them without depending on the allocation code. */
#ifndef VS_RENDERER_MEMORY_MEMORY_STATE_H
#define VS_RENDERER_MEMORY_MEMORY_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "base/fair_share.h"
#include "base/ledger.h"

struct vs_shared_entry;

enum vs_memory_strategy {
   VS_MEMORY_AUTO,
   VS_MEMORY_HOST_POINTER,
   VS_MEMORY_DMABUF,
   VS_MEMORY_OPAQUE_FD,
   /* Not a --memory choice: the host driver's own mapping of the memory,
    * its file lent to the guest (renderer/memory/driver_mapping.h). */
   VS_MEMORY_DRIVER_MAPPING,
};

/* What one device can share, filled by vs_memory_device_init. */
struct vs_memory_caps {
   VkPhysicalDeviceMemoryProperties props;
   size_t granule;                 /* size and pointer alignment of host-pointer memory */
   bool host_pointer;              /* VK_EXT_external_memory_host is enabled */
   uint32_t host_pointer_types;    /* types a host-pointer import may use */
   bool dmabuf;                    /* dma-buf export passed the mapping probe */
   bool opaque_fd;                 /* opaque-fd export passed the mapping probe */
   uint32_t lent_types;            /* types whose driver mappings are lent (driver_mapping.h) */
   size_t lent_granule;            /* what the driver maps such memory in */
   enum vs_memory_strategy forced; /* from --memory; AUTO = per allocation */
   bool exact_shm;                 /* vs_renderer_options.exact_shm */
};

/* Recently freed host-pointer regions of one device, reused by the next
 * allocation of the same size: creating and mapping shared memory (and
 * unmapping it, with its TLB shootdowns) dominates small allocations.
 * Per device, hence per client: no client ever sees another's pages. Only
 * regions whose fd never went to the guest are kept; each still counts
 * against its client's fds and mappings (vs_memory_usage). */
#define VS_REGION_CACHE_SLOTS 8
#define VS_REGION_CACHE_MAX_SIZE (4u << 20)

struct vs_region {
   int fd;
   void *map;      /* between PROT_NONE guards of `align` bytes */
   size_t size;
   size_t align;
};

struct vs_region_cache {
   pthread_mutex_t lock;
   struct vs_memory_usage *usage; /* what the cached regions count against */
   uint32_t count;
   struct vs_region slots[VS_REGION_CACHE_SLOTS];
};

/* Lent memory a client freed, per device (renderer/memory/lent_pool.h). */
struct vs_device_memory;

struct vs_lent_pool {
   pthread_mutex_t lock;
   struct vs_device_memory *first; /* linked by vs_device_memory.next_lent */
   uint32_t count;
};

/* What a lent allocation was made with, and whether another request may
 * take it: only one whose host chain was nothing but flags (and a
 * priority, a hint) is interchangeable with a later one of the same key. */
struct vs_lent_key {
   uint32_t type_index;
   VkDeviceSize size;
   VkMemoryAllocateFlags flags;
   bool reusable;
};

/* Device memory one client (renderer) holds: its bytes, counted
 * cumulatively per heap of each physical device it uses, so that many
 * allocations cannot add up past a heap, and in all against `bytes_limit`;
 * and what the shared memory the server keeps for it costs in the kernel's
 * per-process limits: an fd per region until the guest has it (then it is
 * the guest's), and VS_GUARDED_MAPPINGS mappings per region. Fds and
 * mappings come from server-wide pools shared fairly by all clients
 * (base/fair_share.h), not from a fixed per-client split, so one client
 * can hold thousands of host-visible allocations. */
struct vs_ledger_port;
#define VS_MEMORY_USAGE_DEVICES 8
/* Mappings of one os_map_guarded region: the memory and its two guards. */
#define VS_GUARDED_MAPPINGS 3

struct vs_memory_usage {
   pthread_mutex_t lock;
   struct {
      const void *physical;        /* the physical device's object; NULL: free slot */
      VkDeviceSize used[VK_MAX_MEMORY_HEAPS];
   } devices[VS_MEMORY_USAGE_DEVICES];
   VkDeviceSize bytes;              /* on every device and heap */
   VkDeviceSize bytes_limit;        /* 0: none beyond each heap's size */
   /* Per pool of the ledger (renderer/memory/memory_share.h): what the
    * client holds there, and what the server's ledger granted it for that,
    * asked in chunks; NULL ledger: nothing is charged. */
   VkDeviceSize share_bytes[VS_LEDGER_POOLS];
   VkDeviceSize share_granted[VS_LEDGER_POOLS];
   struct vs_ledger_port *ledger;
   struct vs_fair_account fds;
   struct vs_fair_account mappings;
};

/* An allocation's shared memory kept across a restore (renderer/restore.h),
 * out of the torn-down renderer: the replay's allocation of the same
 * guest id imports it again. */
struct vs_kept_region {
   uint64_t memory_id;
   int fd;                 /* -1: the server kept none (the guest has it) */
   void *map;
   size_t map_size, granule;
   size_t fd_size;         /* its fd's bytes, where read back from a snapshot; else 0 */
   bool imported, exported;
   uint32_t charged_fds, charged_mappings;
   struct vs_shared_entry *shared; /* its display registry entry, parked (shared_registry.h) */
   bool claimed;           /* by the replay's allocation */
};

struct vs_kept_regions {
   struct vs_kept_region *items;
   uint32_t count, cap;
};

#endif

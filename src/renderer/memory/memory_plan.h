/* SPDX-License-Identifier: MIT */
/* The plan of one vkAllocateMemory: what the server will do with the
 * guest's VkMemoryAllocateInfo, decided from that chain, the device's
 * memory caps and the client's limits alone. No Vulkan, no OS call, no
 * lock: vs_memory_allocate (device_memory.c) carries the plan out, and
 * tests/unit/test_memory_plan.c walks every branch of it. */
#ifndef VS_RENDERER_MEMORY_MEMORY_PLAN_H
#define VS_RENDERER_MEMORY_MEMORY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/device_memory.h"

/* Whether a dedicated allocation's image wants a linear mirror
 * (renderer/memory/linear_mirror.h), as far as the image itself says. */
enum vs_mirror_need {
   VS_MIRROR_NEVER,
   VS_MIRROR_IF_UNSHARED, /* when the memory is not the server's shared memory */
   VS_MIRROR_ALWAYS,      /* the host keeps the image OPTIMAL: its bytes are tiled */
};

/* What carries the memory's pages. */
enum vs_memory_backing {
   VS_BACKING_HOST,     /* the host driver's own memory, not shared */
   VS_BACKING_EXPORT,   /* the host driver's, allocated exportable (dma-buf or opaque fd) */
   VS_BACKING_REGION,   /* shared memory the server makes (or reuses), imported as a host pointer */
   VS_BACKING_RESOURCE, /* a transport resource's memory, mapped and imported as a host pointer */
   VS_BACKING_DRIVER_MAPPING, /* the host driver's, its own mapping's file lent (driver_mapping.h) */
};

struct vs_memory_request {
   const VkMemoryAllocateInfo *info;  /* the guest's, as decoded */
   const struct vs_memory_caps *caps; /* the device's (vs_memory_device_init) */
   bool dma_buf;                      /* the device has VK_EXT_external_memory_dma_buf */
   bool resources;                    /* the transport can resolve resources for imports */
   enum vs_mirror_need mirror;        /* of the dedicated image, if any */
   VkDeviceSize bytes_limit;          /* the client's memory limit; 0: none */
};

struct vs_memory_plan {
   VkResult result;                   /* VK_SUCCESS, or why the allocation is refused */
   const char *why;                   /* the refusal, for its log line */
   enum vs_memory_backing backing;
   enum vs_memory_strategy shared_by; /* how the guest gets an fd; AUTO: it cannot */
   VkExternalMemoryHandleTypeFlagBits export_type; /* EXPORT */
   uint32_t resource_id;              /* RESOURCE: the guest's (0 arrives as UINT32_MAX) */
   uint32_t heap_index;
   size_t map_size;                   /* REGION, RESOURCE, DRIVER_MAPPING: the allocation in whole granules */
   size_t fd_size;                    /* REGION: the shared memory's fd size */
   bool reuse_region;                 /* REGION: a cached region of map_size may serve */
   bool charge_region;                /* a region is charged before anything else: mirror, RESOURCE */
   bool mirror;                       /* the blob is a linear mirror, not this memory */
   bool drop_dedicated;               /* the mirror's image binds here too */
   /* The guest's own export request, which the server replaces. */
   VkExternalMemoryHandleTypeFlags guest_export;
};

/* Decides; never fails otherwise than through plan->result. */
void vs_memory_plan(const struct vs_memory_request *req, struct vs_memory_plan *plan);

/* RESOURCE: NULL when a resource of `res_size` bytes holds the planned
 * allocation of `size` bytes (its mapping, `map_size`, may pass the
 * resource only within the resource's last `page_size` page); else why not. */
const char *vs_memory_plan_resource_fits(const struct vs_memory_plan *plan, VkDeviceSize size, uint64_t res_size,
                                         size_t page_size);

/* The strategy that shares host-visible memory of `type_index`. */
enum vs_memory_strategy vs_memory_choose_strategy(const struct vs_memory_caps *caps, uint32_t type_index);
/* The external handle type of a dmabuf or opaque-fd strategy. */
VkExternalMemoryHandleTypeFlagBits vs_memory_handle_type(enum vs_memory_strategy s);

#endif

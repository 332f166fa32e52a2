/* SPDX-License-Identifier: MIT */
/* Host-visible video memory shared by lending the host driver's mapping.
 *
 * NVIDIA's DEVICE_LOCAL|HOST_VISIBLE type (its BAR) takes no host-pointer
 * import and exports no fd a process can map, so without this the guest
 * is told that type has no host access, and programs that write their
 * inputs and read their results in place (llama.cpp) stage every transfer
 * through a copy and a wait instead. The driver maps each such allocation
 * by mmapping a device file at offset 0 (os/mapping_capture.h); the guest
 * is given that file, and its mmap of the whole mapping (one `granule`,
 * 64 KiB on NVIDIA, per unit) shows the very video memory.
 *
 * The file keeps mapping the same video memory after the allocation is
 * freed, when the driver may give it to another process: a guest that
 * keeps its mapping (or the fd) past vkFreeMemory would read and write
 * what comes next. So lent memory is never freed while its client's
 * worker process lives (lent_pool.h), and only clients with a worker
 * process of their own are lent any (docs/security.md). */
#ifndef VS_RENDERER_MEMORY_DRIVER_MAPPING_H
#define VS_RENDERER_MEMORY_DRIVER_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/memory_state.h"

struct vs_device;

/* Whether the driver's mapping of a fresh allocation of `type` can be lent
 * (captured, mapped again at offset 0, and the same memory); *granule is
 * the mapping's length for one page of memory. */
bool vs_driver_mapping_probe(struct vs_device *dev, uint32_t type, size_t *granule);

/* vkAllocateMemory of `info`, mapped whole (*map, until vkFreeMemory),
 * with the driver's mapping captured: on success *fd is the mapping's file
 * (the caller owns it) and *len its mapping length, or *fd is -1 when the
 * driver mapped no file. */
VkResult vs_driver_mapping_allocate(struct vs_device *dev, const VkMemoryAllocateInfo *info, VkDeviceMemory *out,
                                    void **map, int *fd, size_t *len);

/* `size` rounded up to whole `granule`s (a power of two). */
static inline VkDeviceSize
vs_driver_mapping_round(VkDeviceSize size, size_t granule)
{
   VkDeviceSize g = granule ? granule : 1;
   return size > UINT64_MAX - (g - 1) ? size : (size + g - 1) & ~(g - 1);
}

/* A buffer's or image's requirements where it may live in lent memory:
 * sized and aligned in the mapping's whole units, the only allocations the
 * guest can map there (Mesa's guest sizes a buffer from the cached
 * alignment of its kind, not from each buffer's reported size). */
static inline void
vs_driver_mapping_size_requirements(const struct vs_memory_caps *caps, VkMemoryRequirements *req)
{
   if (!(caps->lent_types & req->memoryTypeBits))
      return;
   req->size = vs_driver_mapping_round(req->size, caps->lent_granule);
   if (req->alignment < caps->lent_granule)
      req->alignment = caps->lent_granule;
}

/* A buffer's requirements, as vs_driver_mapping_size_requirements, but a
 * buffer used for nothing but transfers is not offered the lent types:
 * Mesa's guest spaces the slots of its feedback buffer (such a buffer, a
 * few KiB long) by the buffer's alignment, which the lent granule would
 * push past its end; and a copy's source or destination gains nothing
 * from video memory the CPU writes in place. */
static inline void
vs_driver_mapping_buffer_requirements(const struct vs_memory_caps *caps, VkBufferUsageFlags usage,
                                      VkMemoryRequirements *req)
{
   const VkBufferUsageFlags transfers = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
   if (!(usage & ~transfers) && (req->memoryTypeBits & ~caps->lent_types))
      req->memoryTypeBits &= ~caps->lent_types;
   vs_driver_mapping_size_requirements(caps, req);
}

/* The lent types only a buffer made without the host-pointer import
 * declaration may use: what the declaration costs it
 * (renderer/buffer.c). */
static inline uint32_t
vs_driver_mapping_undeclared_types(uint32_t lent_types, uint32_t declared_bits, uint32_t undeclared_bits)
{
   return undeclared_bits & lent_types & ~declared_bits;
}

/* Requirements that let either buffer be kept: the declared one's, the
 * `extra_types` of the undeclared one, and the larger size and alignment. */
static inline void
vs_driver_mapping_merge_requirements(VkMemoryRequirements *req, const VkMemoryRequirements *undeclared,
                                     uint32_t extra_types)
{
   if (!extra_types)
      return;
   req->memoryTypeBits |= extra_types;
   if (undeclared->size > req->size)
      req->size = undeclared->size;
   if (undeclared->alignment > req->alignment)
      req->alignment = undeclared->alignment;
}

#endif

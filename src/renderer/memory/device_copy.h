/* SPDX-License-Identifier: MIT */
/* The contents of memory the server cannot map (device-local memory),
 * copied through the GPU into host memory and back: what a restore
 * (renderer/restore.h) carries of such an allocation. The copy goes
 * through a buffer of the server's own bound to the whole allocation, so
 * it is exact only for memory that holds buffers alone: buffers are
 * linear, and two buffers on the same bytes read them alike, where an
 * image's bytes are laid out by its tiling and layout. */
#ifndef VS_RENDERER_MEMORY_DEVICE_COPY_H
#define VS_RENDERER_MEMORY_DEVICE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vs_device;

/* Whether a buffer of the server's can be bound to all of an allocation
 * of `size` bytes of type `type_index`; false with `why` when not. */
bool vs_device_copy_possible(struct vs_device *dev, VkDeviceSize size, uint32_t type_index, char *why,
                             size_t why_size);

/* Copies the allocation's `size` bytes into `bytes` (to_host) or from
 * them, on a queue of `dev`, and waits for the copy. `bytes_size` is the
 * host memory's whole size: where it is whole granules of host-pointer
 * memory (a host region, device_memory.h) the device imports it and copies
 * straight into it, else through a host-visible staging buffer. Nothing
 * else may run on the memory meanwhile. */
VkResult vs_device_copy(struct vs_device *dev, VkDeviceMemory memory, VkDeviceSize size, void *bytes,
                        size_t bytes_size, bool to_host);

#endif

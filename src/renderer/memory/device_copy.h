/* SPDX-License-Identifier: MIT */
/* The contents of memory the server cannot map (device-local memory),
 * copied through the GPU into host memory and back: what a restore
 * (renderer/restore.h) carries of such an allocation. The memory's copy
 * goes through a buffer of the server's own bound to the whole
 * allocation, exact for the buffers in it: buffers are linear, and two
 * buffers on the same bytes read them alike. An image's bytes are laid
 * out by its tiling and layout: each image is copied apart, subresource
 * by subresource, out of the layout it is in (renderer/image_layout.h)
 * and back into it. */
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

/* One subresource of an image's copy: where its texels lie in the host
 * copy (tightly packed), and the layout it is in. */
struct vs_image_part {
   VkImageSubresourceLayers sub;     /* one aspect, one level, one layer */
   VkExtent3D extent;
   VkImageLayout layout;
   VkDeviceSize offset, size;
};

struct vs_image;

/* The parts of every subresource of `image` that holds contents (in a
 * layout other than UNDEFINED or PREINITIALIZED), by level, layer and
 * aspect; *total: the bytes they take. False with `why` where the server
 * cannot size its texels (a format with planes) or it cannot leave its
 * layout (shared present). The caller frees *parts. */
bool vs_device_image_parts(const struct vs_image *image, struct vs_image_part **parts, uint32_t *count,
                           VkDeviceSize *total, char *why, size_t why_size);

/* Copies the parts of image `image` into `bytes` (to_host), leaving each
 * in its layout, or from them into an image whose subresources hold
 * nothing yet, leaving each in its part's layout; as vs_device_copy,
 * imported where `bytes` allows; on a queue of `family` (its owner, if
 * exclusive) where the device has one. The image must have transfer usage. */
VkResult vs_device_copy_image(struct vs_device *dev, VkImage image, uint32_t family, const struct vs_image_part *parts,
                              uint32_t count,
                              void *bytes, size_t bytes_size, bool to_host);

#endif

/* SPDX-License-Identifier: MIT */
/* Linear mirrors: a readable, linear copy of a guest LINEAR-modifier image
 * (a guest WSI image, whose dma-buf the guest hands a Wayland compositor)
 * whose memory the server cannot read in place: either the host keeps the
 * image OPTIMAL (renderer/image.c: NVIDIA cannot render to linear color
 * attachments), so its bytes are tiled, or the guest put it in device-local
 * memory that is not the server's shared memory (NVIDIA's VRAM).
 *
 * When the built-in display is on, the dedicated memory of such an image
 * gets a mirror: shared memory of the linear size the guest was told, whose
 * fd is the blob the guest receives instead of the device memory's. The
 * display finds that fd by inode, like any server memfd
 * (renderer/memory/shared_registry.h); before it reads, the mirror is refreshed by
 * one GPU copy, image -> mirror, in the guest's linear layout. That copy is
 * the one extra pass over the frame, made by the GPU (and the detiling),
 * and the colour conversion still reads the server's own mapping.
 *
 * The copy reads the memory through an image of its own: identical to the
 * guest's (both created with VK_IMAGE_CREATE_ALIAS_BIT) and bound to the
 * same memory at the same offset, so it lives exactly as long as the
 * memory, whatever the guest destroys first. */
#ifndef VS_RENDERER_MEMORY_LINEAR_MIRROR_H
#define VS_RENDERER_MEMORY_LINEAR_MIRROR_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/memory_plan.h"

struct vs_device;
struct vs_image;
struct vs_linear_mirror;
struct vs_shared_registry;

/* Whether a dedicated allocation for `image` (NULL: none) gets a mirror:
 * never unless the context has a display registry (`registry`, may be
 * NULL) and the image is a LINEAR-modifier 2D one with one level and one
 * layer, created aliasable; then always if the host keeps it OPTIMAL, else
 * when its memory is not the server's shared memory (memory_plan.h
 * decides that). */
enum vs_mirror_need vs_linear_mirror_need(const struct vs_shared_registry *registry, const struct vs_image *image);

/* Makes the mirror of `memory` (host memory of that size and type), the
 * dedicated memory of `image`. NULL (with a warning naming ctx_id and the
 * VkResult) on failure, an image that does not fit the memory included. */
struct vs_linear_mirror *vs_linear_mirror_create(struct vs_device *dev, uint32_t ctx_id, VkDeviceMemory memory,
                                                 VkDeviceSize memory_size, uint32_t memory_type,
                                                 const struct vs_image *image);
/* Waits for a copy in flight, then destroys it all. Before vkFreeMemory. */
void vs_linear_mirror_destroy(struct vs_linear_mirror *mirror);

/* A new fd of the mirror's shared memory (the guest's blob), or -1. */
int vs_linear_mirror_dup_fd(const struct vs_linear_mirror *mirror);

#endif

/* SPDX-License-Identifier: MIT */
/* The numbered frames' picture and GPU work, shared by the clients that
 * show them (tests/display/wl_frames.c through Wayland, tests/vm/
 * kms_frames.c through KMS): 16 vertical bars, bar i white when bit i of
 * the frame's number is set, and heavy transfer work before the number is
 * written, so that a display reading a frame before the GPU finished it
 * shows the previous number (stale) or a mix (torn). check_stream.py
 * reads the bars back from a recording. */
#ifndef VS_TESTS_FRAME_WORK_H
#define VS_TESTS_FRAME_WORK_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#define FRAME_WORK_BARS 16

/* One row of frame `n`'s picture, B8G8R8X8 (black and white read the
 * same in any 8-bit RGBA order). */
void frame_work_row(uint32_t *row, uint32_t width, uint32_t n);

/* A buffer of `size` bytes in memory of the first type with `props`
 * (bound, its own allocation), exportable as a dma-buf when `dma_buf`.
 * VK_ERROR_FEATURE_NOT_PRESENT when no memory type fits. */
VkResult frame_work_buffer(VkPhysicalDevice phys, VkDevice dev, VkDeviceSize size, VkBufferUsageFlags usage,
                           VkMemoryPropertyFlags props, bool dma_buf, VkBuffer *buffer, VkDeviceMemory *memory);

/* Makes transfer writes to `buffer` visible to later transfers. */
void frame_work_barrier(VkCommandBuffer cb, VkBuffer buffer);

/* Records `rounds` fills and copies through `heavy` (`bytes` long), each
 * depending on the one before, seeded by the frame's number `n`. */
void frame_work_heavy(VkCommandBuffer cb, VkBuffer heavy, VkDeviceSize bytes, int rounds, uint32_t n);

#endif

/* SPDX-License-Identifier: MIT */
/* Lent video memory never goes back to the host driver while its tenant
 * lives.
 *
 * A lent driver mapping (driver_mapping.h) keeps showing the same video
 * memory after vkFreeMemory, and the driver gives freed memory to the next
 * allocation anywhere on the host. So vkFreeMemory of lent memory keeps
 * the host allocation (still mapped, still charged to the client: its
 * bytes to memory-mib and its heap, the file's fd to its fds) in its
 * device's pool, and the client's next allocation of the same type, size
 * and flags gets it back; a device destroyed with pooled memory is kept
 * whole (renderer/device.c). A mapping kept past vkFreeMemory therefore
 * shows only the same client's memory. The host driver gets it all back
 * when the worker process ends (docs/security.md says when that is). */
#ifndef VS_RENDERER_MEMORY_LENT_POOL_H
#define VS_RENDERER_MEMORY_LENT_POOL_H

#include <vulkan/vulkan.h>

#include "renderer/memory/memory_state.h"

/* The key of `info` as the host driver is about to get it. */
struct vs_lent_key vs_lent_key_of(const VkMemoryAllocateInfo *info);

void vs_lent_pool_init(struct vs_lent_pool *pool);

/* Pooled memory made with `key`, out of the pool; NULL if none or the key
 * is not reusable. */
struct vs_device_memory *vs_lent_pool_take(struct vs_lent_pool *pool, const struct vs_lent_key *key);

/* Keeps freed lent memory for the client's next allocation. */
void vs_lent_pool_put(struct vs_lent_pool *pool, struct vs_device_memory *mem);

/* Pooled allocations (the device must outlive them). */
uint32_t vs_lent_pool_count(struct vs_lent_pool *pool);

#endif

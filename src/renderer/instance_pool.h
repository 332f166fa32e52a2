/* SPDX-License-Identifier: MIT */
/* Host instances, kept by the process: a context's instance goes back to
 * a pool and the next vkCreateInstance with the same API version and
 * device choice takes it (instance_pool.c says why). The warm-up leaves
 * its instance here too (renderer/warm_up.h). */
#ifndef VS_RENDERER_INSTANCE_POOL_H
#define VS_RENDERER_INSTANCE_POOL_H

#include <stdint.h>

#include <vulkan/vulkan.h>

struct vs_instance;

/* The API version every host instance has at least: 1.2 where the
 * loader is, else 1.1. */
uint32_t vs_host_instance_floor_version(void);
/* The loader's own instance version. */
uint32_t vs_host_instance_loader_version(void);

/* A host instance with its physical devices (only the --device choice
 * when `device_index` >= 0), not yet any context's; NULL with *ret set on
 * failure. */
struct vs_instance *vs_host_instance_create(const VkApplicationInfo *app, int device_index, VkResult *ret);

/* The names and types of the host's physical devices, in the order
 * --device counts them, at most `max`: their count, or -1 when no host
 * instance could be made. Loads the host driver: the caller is a process
 * of its own (worker/placement.h). */
int vs_host_physical_device_names(char (*names)[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE], VkPhysicalDeviceType *types,
                                  unsigned max);

/* An idle instance of the same device choice and `api_version`, else the
 * closest newer one, now the caller's; NULL if none. */
struct vs_instance *vs_instance_pool_take(uint32_t api_version, int device_index);
/* Back to the pool (ready for another context), or destroyed when full. */
void vs_instance_pool_put(struct vs_instance *inst);

#endif

/* SPDX-License-Identifier: MIT */
/* Which host-visible memory types the server can share with the guest.
 * The guest maps host-visible memory through a blob of the very pages the
 * host driver uses (device_memory.h); a type that neither takes host-
 * pointer imports nor can be exported the way the device can (NVIDIA's
 * DEVICE_LOCAL|HOST_VISIBLE BAR type) cannot be mapped by the guest. Such
 * a type is reported to the guest without host access, so that guest
 * allocations of it are plain device memory the host serves unshared.
 * Decided once per physical device (the guest reads memory properties
 * before it creates a device). Pure functions: tests/unit/test_shareable_types.c. */
#ifndef VS_RENDERER_MEMORY_SHAREABLE_TYPES_H
#define VS_RENDERER_MEMORY_SHAREABLE_TYPES_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/memory_state.h"

/* What the host flags a guest never gets for an unshareable type. */
#define VS_MEMORY_HOST_ACCESS_FLAGS                                                                        \
   (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |                           \
    VK_MEMORY_PROPERTY_HOST_CACHED_BIT)

uint32_t vs_memory_host_visible_types(const VkPhysicalDeviceMemoryProperties *props);

/* The host-visible types of `props` that `caps` (a probe's: host-pointer
 * types, working exports, the --memory choice) cannot share, plus the
 * test-only `test_types`. None when hiding them would leave the guest no
 * HOST_VISIBLE|HOST_COHERENT type (Vulkan requires one; Mesa's Venus
 * indexes past its array without one): then *kept names them, and mapping
 * them fails as it did before this rule; else *kept is 0. */
uint32_t vs_memory_unshareable_types(const VkPhysicalDeviceMemoryProperties *props, const struct vs_memory_caps *caps,
                                     uint32_t test_types, uint32_t *kept);

/* The types of `types` the guest is told are HOST_VISIBLE|HOST_COHERENT:
 * coherent host-visible types of `props` less `unshareable` (as
 * vs_memory_hide_host_access leaves them). */
uint32_t vs_memory_guest_coherent_types(const VkPhysicalDeviceMemoryProperties *props, uint32_t unshareable,
                                        uint32_t types);

/* Removes the host-access flags of `types` (a type mask) from `props`. */
void vs_memory_hide_host_access(VkPhysicalDeviceMemoryProperties *props, uint32_t types);

#endif

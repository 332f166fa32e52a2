/* SPDX-License-Identifier: MIT */
/* Capabilities the server provides itself, whatever the host driver has.
 * Mesa's Venus driver exposes VK_KHR_swapchain and Vulkan 1.3 only when the
 * renderer lists dma-buf external memory with DRM format modifiers and the
 * foreign queue family, and can import sync-fd semaphores. lavapipe has no
 * modifiers, NVIDIA no dma-buf, MoltenVK neither; and the guest's memory is
 * shared by the server (src/renderer/memory/), never by the host's export paths. So:
 *
 *  - VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf: always the
 *    server's. Guest handle types (dma-buf, opaque fd) are answered here and
 *    stripped from create infos; blobs come from src/renderer/memory/.
 *  - VK_EXT_image_drm_format_modifier: always the server's, with one
 *    modifier, DRM_FORMAT_MOD_LINEAR, which is VK_IMAGE_TILING_LINEAR.
 *  - VK_KHR_external_semaphore_fd: always the server's, sync fd only, for
 *    binary semaphores (src/renderer/sync/sync_fd.c).
 *  - VK_EXT_queue_family_foreign: the host's when it has it; otherwise the
 *    server's, turning ownership transfers to or from the foreign family
 *    into plain barriers (src/renderer/barrier.c).
 *
 * The server's extensions never reach the host's vkCreateDevice. */
#ifndef VS_CAPS_H
#define VS_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vn_instance_table;

/* At most this many entries are added to a host extension list. */
#define VS_CAPS_PROVIDED_MAX 5

/* The external memory handle types a guest may name: both are shared
 * through the server's blobs. */
#define VS_CAPS_MEMORY_HANDLE_TYPES \
   (VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)

bool vs_caps_host_has_extension(const struct vn_instance_table *it, VkPhysicalDevice phys,
                                const char *name);

/* Rewrites a host extension list (with room for VS_CAPS_PROVIDED_MAX more)
 * into the one the guest sees. Returns the new count. */
uint32_t vs_caps_merge_extensions(VkExtensionProperties *props, uint32_t count, bool host_has_foreign);

/* True if the extension is the server's, so it must not be passed to the
 * host's vkCreateDevice. */
bool vs_caps_provides(const char *name, bool host_has_foreign);

/* --- external memory (external.c) --- */

/* What the server supports for a guest handle type. */
void vs_caps_external_memory_properties(VkExternalMemoryHandleTypeFlagBits type,
                                        VkExternalMemoryProperties *out);

/* Drops the server's handle types from a VkExternalMemory{Image,Buffer}
 * CreateInfo in the chain after `create_info`, unlinking it if none is
 * left. `stype` names which of the two. */
void vs_caps_strip_external_memory(const void *create_info, VkStructureType stype);

/* --- DRM format modifiers, linear only (linear_modifier.c) --- */

/* Turns VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT into linear tiling and drops
 * the modifier and external-memory structs. `explicit_layout` gets the
 * guest's plane 0 layout when it gave one (NULL otherwise): the caller must
 * check the host's layout against it. */
VkResult vs_caps_image_info_to_host(VkImageCreateInfo *ci, const VkSubresourceLayout **explicit_layout);

/* The same for a format query; `*external` tells whether the guest asked
 * about an external handle type (filled by vs_caps_fill_image_format). */
VkResult vs_caps_image_format_info_to_host(VkPhysicalDeviceImageFormatInfo2 *info, bool *external);
void vs_caps_fill_image_format(VkImageFormatProperties2 *props, bool external);

/* Fills VkDrmFormatModifierPropertiesList{,2}EXT from the linear features
 * the host reported; the lists must be cut from the chain for the host
 * call. */
void vs_caps_fill_modifier_list(VkDrmFormatModifierPropertiesListEXT *list,
                                VkFormatFeatureFlags linear_features);
void vs_caps_fill_modifier_list2(VkDrmFormatModifierPropertiesList2EXT *list,
                                 VkFormatFeatureFlags2 linear_features);

/* VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT names the color aspect of a
 * linear image. */
VkImageAspectFlags vs_caps_aspect_to_host(VkImageAspectFlags aspect);

#endif

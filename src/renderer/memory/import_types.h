/* SPDX-License-Identifier: MIT */
/* Which host-pointer imports a buffer or image may be bound to. Host-
 * visible memory is imported from the server's own mappings
 * (device_memory.c), and Vulkan lets imported memory back only resources
 * created with that handle type (VUIDs VkBindBufferMemoryInfo-memory-02727,
 * VkBindImageMemoryInfo-memory-02729): the server declares it on the
 * resources the guest creates, where the host supports it, in place of
 * the guest's own handle types (which are the server's, renderer/caps/caps.h). */
#ifndef VS_RENDERER_MEMORY_IMPORT_TYPES_H
#define VS_RENDERER_MEMORY_IMPORT_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

struct vs_device;

/* The host-pointer handle type if memory of that kind may back a buffer
 * or image made with `ci` on this device, else 0. */
VkExternalMemoryHandleTypeFlags vs_memory_buffer_import_types(const struct vs_device *dev,
                                                              const VkBufferCreateInfo *ci);
/* For an image, `kept_off_imports` is set when the host supports the
 * declaration but it would cost the image memory types: then nothing is
 * declared and the image's memory types become
 * vs_memory_image_unimported_types. */
VkExternalMemoryHandleTypeFlags vs_memory_image_import_types(const struct vs_device *dev, const VkImageCreateInfo *ci,
                                                             bool *kept_off_imports);

/* `memory_types` less the types the server imports host memory into,
 * for an image created without the host-pointer handle type (when
 * declaring it would cost the image memory types); unchanged if that
 * leaves none. */
uint32_t vs_memory_image_unimported_types(const struct vs_device *dev, uint32_t memory_types);

/* Adds `types` to the VkExternalMemory{Buffer,Image}CreateInfo (`stype`)
 * of the chain after `create_info`, linking `storage` there when it has
 * none. Nothing when `types` is 0. */
void vs_memory_declare_import_types(void *create_info, VkStructureType stype, VkExternalMemoryHandleTypeFlags types,
                                    VkExternalMemoryImageCreateInfo *storage);

/* Takes the host-pointer handle type out of that struct again, for a
 * query or a creation without it; returns what it took, which
 * vs_memory_redeclare_import_types puts back into the same struct. */
VkExternalMemoryHandleTypeFlags vs_memory_undeclare_import_types(void *create_info, VkStructureType stype);
void vs_memory_redeclare_import_types(void *create_info, VkStructureType stype, VkExternalMemoryHandleTypeFlags taken);

#endif

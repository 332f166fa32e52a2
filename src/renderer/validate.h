/* SPDX-License-Identifier: MIT */
/* Valid usage that protects the host, checked before the host sees a
 * command. Host drivers trust offsets, sizes and subresources the way
 * Vulkan lets them: a guest that lies would make the host read or write
 * outside the resource, into another client's memory or into the server.
 *
 * These are the primitives; which command checks what is data
 * (protocol/checks.txt), from which the generator writes the calls
 * (vn_checks.c). Every failed check ends the context with one log line
 * naming the command, the object and the numbers. */
#ifndef VS_RENDERER_VALIDATE_H
#define VS_RENDERER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/renderer_state.h"

struct vs_runner;
struct vs_object;
struct vn_check_table;

/* Fills the table with the generated checks (vn_checks.c). */
void vn_check_table_init(struct vn_check_table *t);

/* A binding of `resource` at `offset` in `memory` (both of `device`), as
 * the host's requirements for the resource say: aligned, inside the
 * allocation, of an allowed memory type, and not bound already. */
bool vs_check_bind(struct vs_runner *runner, const char *cmd, struct vs_object *device, struct vs_object *resource,
                   struct vs_object *memory, VkDeviceSize offset, const VkMemoryRequirements *req,
                   bool already_bound);

/* [offset, offset + size) inside a bound buffer. */
bool vs_check_buffer_range(struct vs_runner *runner, const char *cmd, struct vs_object *buffer, VkDeviceSize offset,
                           VkDeviceSize size);
/* The same where Vulkan lets size be VK_WHOLE_SIZE ("to the end": then
 * only the offset is checked). Copies, updates and indirect records have
 * no such size: a VK_WHOLE_SIZE there is 2^64-1 bytes. */
bool vs_check_buffer_range_whole(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                                 VkDeviceSize offset, VkDeviceSize size);
/* `count` records of `elem` bytes every `stride` bytes from `offset`
 * (indirect draws, query results). */
bool vs_check_buffer_strided(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                             VkDeviceSize offset, uint64_t count, VkDeviceSize stride, VkDeviceSize elem);
/* An optional buffer (vertex bindings may be null) at an offset inside it. */
bool vs_check_buffer_offset(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                            VkDeviceSize offset);

/* Mip level and layers of a bound image. */
bool vs_check_image_layers(struct vs_runner *runner, const char *cmd, struct vs_object *image,
                           const VkImageSubresourceLayers *sub);
/* A subresource range (VK_REMAINING_* allowed) of a bound image. */
bool vs_check_image_range(struct vs_runner *runner, const char *cmd, struct vs_object *image,
                          const VkImageSubresourceRange *range);
/* A subresource range of a vkCreateImageView: a 2D or 2D-array view of a
 * 3D image made 2D_ARRAY_COMPATIBLE or 2D_VIEW_COMPATIBLE names depth
 * slices of one mip level as its layers. */
bool vs_check_image_view_range(struct vs_runner *runner, const char *cmd, struct vs_object *image,
                               VkImageViewType view_type, const VkImageSubresourceRange *range);
/* A box of one mip level: layers, then offset + extent inside it. */
bool vs_check_image_box(struct vs_runner *runner, const char *cmd, struct vs_object *image,
                        const VkImageSubresourceLayers *sub, VkOffset3D offset, VkExtent3D extent);
/* A vkCmdCopyImage region: both boxes, in texel blocks of each format
 * (compressed <-> uncompressed), depth as layers between 3D and 2D. */
bool vs_check_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *src, struct vs_object *dst,
                         const VkImageCopy *region);
bool vs_check_image_copy2(struct vs_runner *runner, const char *cmd, struct vs_object *src, struct vs_object *dst,
                          const VkImageCopy2 *region);
/* A buffer <-> image copy region: the image box, and the texels' bytes in
 * the buffer from the image's format. */
bool vs_check_buffer_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                                struct vs_object *image, const VkBufferImageCopy *region);
bool vs_check_buffer_image_copy2(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                                 struct vs_object *image, const VkBufferImageCopy2 *region);
/* A host image copy region (VK_EXT_host_image_copy, its data on the wire):
 * the image box, and the bytes it reads or writes inside the `data_size`
 * the guest sent or will receive (the host's memcpy size with
 * VK_HOST_IMAGE_COPY_MEMCPY_BIT). */
bool vs_check_host_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *image,
                              VkHostImageCopyFlags flags, uint64_t data_size, uint32_t row_length,
                              uint32_t image_height, const VkImageSubresourceLayers *sub, VkOffset3D offset,
                              VkExtent3D extent);
/* The queue create infos' flags of a device create info against the
 * queue families and the features it enables: only
 * VK_DEVICE_QUEUE_CREATE_PROTECTED_BIT, with protectedMemory enabled, on
 * a family with VK_QUEUE_PROTECTED_BIT
 * (VUID-VkDeviceQueueCreateInfo-flags-parameter, -02861, -06449). A host
 * driver may take a protected queue without the feature, and a warm-up
 * or client then gets no queue where it expects one. NULL when valid,
 * else why, written into `buf`. The queue families must have been
 * checked. */
const char *vs_device_queue_flags_error(const VkDeviceCreateInfo *ci, const VkQueueFamilyProperties *families,
                                        char *buf, size_t size);
/* What a pool's queries write, by type (VkQueryType's result counts);
 * false for a type whose results have no size the server knows. */
struct vs_query_pool;
bool vs_query_pool_shape(const VkQueryPoolCreateInfo *ci, struct vs_query_pool *pool);
/* Bytes one query's results take with these flags (availability or
 * status word included). */
uint64_t vs_query_result_bytes(const struct vs_query_pool *pool, VkQueryResultFlags flags);
/* Queries [first, first + count) of a pool. */
bool vs_check_query_range(struct vs_runner *runner, const char *cmd, struct vs_object *pool, uint64_t first,
                          uint64_t count);
/* vkGetQueryPoolResults writes `count` results `stride` apart into the
 * server's buffer of `size` bytes. */
bool vs_check_query_results(struct vs_runner *runner, const char *cmd, struct vs_object *pool, const void *data,
                            uint64_t size, uint64_t count, VkDeviceSize stride, VkQueryResultFlags flags);
/* vkCmdCopyQueryPoolResults writes them into a buffer range. */
bool vs_check_query_copy(struct vs_runner *runner, const char *cmd, struct vs_object *pool, struct vs_object *buffer,
                         VkDeviceSize offset, uint64_t count, VkDeviceSize stride, VkQueryResultFlags flags);
/* Every memory range of every sparse bind fits its memory. */
bool vs_check_sparse_binds(struct vs_runner *runner, const char *cmd, uint32_t count, const VkBindSparseInfo *infos);
/* The barriers of each dependency info (vkCmdWaitEvents2: an array of
 * them, each with arrays, more than one checks.txt line can walk). */
bool vs_check_dependency_infos(struct vs_runner *runner, const char *cmd, uint32_t count,
                               const VkDependencyInfo *infos);
/* vkUpdateDescriptorSets writes: binding, array elements (on into the
 * next bindings as Vulkan allows) and type against the dstSet's layout,
 * the arrays the type reads, and buffer ranges inside their buffers. */
bool vs_check_descriptor_writes(struct vs_runner *runner, const char *cmd, uint32_t count,
                                const VkWriteDescriptorSet *writes);
/* Descriptor copies: source and destination elements inside their sets,
 * of one type. */
bool vs_check_descriptor_copies(struct vs_runner *runner, const char *cmd, uint32_t count,
                                const VkCopyDescriptorSet *copies);
/* vkCmdPushDescriptorSet: the writes against set `set` of the pipeline
 * layout. */
bool vs_check_descriptor_push(struct vs_runner *runner, const char *cmd, struct vs_object *layout, uint32_t set,
                              uint32_t count, const VkWriteDescriptorSet *writes);
/* The command buffer's current recording bound a pipeline at that point. */
bool vs_check_pipeline_bound(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                             VkPipelineBindPoint bind_point);
/* vs_check_present's refusal. */
bool vs_check_missing(struct vs_runner *runner, const char *cmd, uint64_t count, const char *what);
/* An array that the command's count says exists. Inline: every array of
 * every checked command comes through here. */
static inline bool
vs_check_present(struct vs_runner *runner, const char *cmd, const void *array, uint64_t count, const char *what)
{
   return array || !count || vs_check_missing(runner, cmd, count, what);
}


/* --- indices the host uses (validate_index.c) --- */

/* A limit of the command buffer's physical device (its index_limits) as
 * index_range takes it: where and what. */
#define VS_LIMIT(field) offsetof(struct vs_index_limits, field), #field

/* [first, first + count) inside [0, limit): a state array index the host
 * driver writes at (viewports, scissors, vertex bindings, color
 * attachments ...). Vulkan forbids anything past the limit. */
bool vs_check_index_range(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                          uint64_t first, uint64_t count, size_t limit_offset, const char *limit_name);
/* An optional buffer (NULL allowed) at an offset, `size` bytes of it (NULL:
 * to the end, as is VK_WHOLE_SIZE). */
bool vs_check_buffer_range_opt(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                               VkDeviceSize offset, const VkDeviceSize *size);
/* A transform feedback counter buffer (optional) with its optional
 * offset: the 4-byte counter inside it. */
bool vs_check_counter_buffer(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                             const VkDeviceSize *offset);
/* vkCmdPushConstants: for each stage of `stages`, every byte of
 * [offset, offset + size) in a push constant range of the layout with
 * that stage. */
bool vs_check_push_constants(struct vs_runner *runner, const char *cmd, struct vs_object *layout,
                             VkShaderStageFlags stages, uint32_t offset, uint32_t size);
/* vkCmdBindDescriptorSets: sets [first, first + count) of the layout,
 * and exactly one dynamic offset per dynamic descriptor of the sets. */
bool vs_check_descriptor_sets_bind(struct vs_runner *runner, const char *cmd, struct vs_object *layout,
                                   uint32_t first, uint32_t count, struct vs_object *const *sets,
                                   uint32_t dynamic_count, const uint32_t *dynamic_offsets);
/* The `2` forms of both, from their info structs (a null layout with a
 * VkPipelineLayoutCreateInfo chained: dynamicPipelineLayout). */
bool vs_check_push_constants2(struct vs_runner *runner, const char *cmd, const VkPushConstantsInfo *info);
bool vs_check_descriptor_sets_bind2(struct vs_runner *runner, const char *cmd, const VkBindDescriptorSetsInfo *info);
/* vkCmdClearAttachments: a color attachment index below the limit where
 * the aspect is color (else colorAttachment is ignored). */
bool vs_check_clear_attachment(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                               const VkClearAttachment *attachment);
/* vkCmdBeginRendering: layerCount within the limit (without multiview,
 * where it is ignored). */
bool vs_check_rendering_layers(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                               const VkRenderingInfo *info);
/* [offset, offset + size) (VK_WHOLE_SIZE: to the end) inside a memory
 * object. */
bool vs_check_memory_range(struct vs_runner *runner, const char *cmd, struct vs_object *memory,
                           VkDeviceSize offset, VkDeviceSize size);

#endif

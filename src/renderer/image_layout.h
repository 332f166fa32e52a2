/* SPDX-License-Identifier: MIT */
/* The layout each image subresource is in, followed where the context
 * keeps a journal: a restore copies an image in device-local memory out
 * of that layout and back into it (renderer/restore.h). Recording a
 * barrier, a render pass's final layouts or secondaries notes the change
 * in its command buffer; a successful submission applies the command
 * buffers' changes in order, a host transition (vkTransitionImageLayout)
 * at once. Once every submission has run (a restore's quiet point) the
 * layouts are the images'. The guest's own barriers are trusted as the
 * host driver trusts them. */
#ifndef VS_RENDERER_IMAGE_LAYOUT_H
#define VS_RENDERER_IMAGE_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vn_exec_table;
struct vs_image;
struct vs_image_layouts;
struct vs_layout_changes;
struct vs_object;
struct vs_renderer;
struct vs_runner;

/* A new image's layouts: every subresource in `initial`. */
void vs_image_layouts_init(struct vs_image_layouts *l, VkFormat format, VkImageLayout initial);
void vs_image_layouts_fini(struct vs_image_layouts *l);
/* Copies the image's layouts into `to` (its own `each`); false, `to`
 * lost, out of memory. */
bool vs_image_layouts_copy(struct vs_image_layouts *to, const struct vs_image *from);
/* How many layouts an image's `each` holds once they differ. */
uint32_t vs_image_layouts_count(const struct vs_image *image);
/* Whether layouts `l`, with `count` entries in `each`, are shaped as the
 * image's (a snapshot's layouts, read back: renderer/restore.h). */
bool vs_image_layouts_fit(const struct vs_image *image, const struct vs_image_layouts *l, uint32_t count);

/* The layout of one subresource (`aspect` one bit of the image's). */
VkImageLayout vs_image_layout_at(const struct vs_image *image, VkImageAspectFlagBits aspect, uint32_t level,
                                 uint32_t layer);
/* Sets the layout of `range` of the image. */
void vs_image_layout_set(struct vs_image *image, const VkImageSubresourceRange *range, VkImageLayout layout);

/* A barrier of the recording in command buffer `cb` leaves `range` of the
 * image (the decoded handle field `image`) in `layout`. */
void vs_layouts_record(struct vs_runner *runner, struct vs_object *cb, const VkImage *image,
                       const VkImageSubresourceRange *range, VkImageLayout layout);
/* Command buffer `cb` executes `secondaries`: their changes, in order. */
void vs_layouts_execute(struct vs_runner *runner, struct vs_object *cb, struct vs_object *const *secondaries,
                        uint32_t count);
/* The recording is gone (begin, reset, free). */
void vs_layouts_clear(struct vs_layout_changes *changes);
/* A submission of `cbs` to a queue of `family` succeeded: their changes,
 * in order; the images they change are that family's (a barrier that
 * transfers ownership changes the image on both families' queues, the
 * acquire last). */
void vs_layouts_submitted(struct vs_renderer *r, uint32_t family, struct vs_object *const *cbs, uint32_t count);

/* Image views, render passes and framebuffers keep what a render pass's
 * end changes; vkCmdBeginRenderPass* and vkTransitionImageLayout. */
void vs_image_layout_register(struct vn_exec_table *t);

#endif

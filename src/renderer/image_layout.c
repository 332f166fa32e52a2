/* SPDX-License-Identifier: MIT */
#include "renderer/image_layout.h"

#include <stdlib.h>
#include <string.h>

#include "base/chain.h"
#include "renderer/families.h"
#include "renderer/objects.h"
#include "wire/runner.h"
#include "vn_wire.h"

/* Past this many subresources an image's layouts are kept whole only: a
 * change to part of it loses them (a restore then refuses its copy). */
#define EACH_MAX (1u << 16)
/* Past this many changes a recording's are lost (a restore then refuses
 * its images' copies): a guest's recording costs the server no more. */
#define CHANGES_MAX (1u << 20)

void
vs_image_layouts_init(struct vs_image_layouts *l, VkFormat format, VkImageLayout initial)
{
   struct vn_format_block block;
   const bool two = vn_format_block(format, VK_IMAGE_ASPECT_DEPTH_BIT, &block) &&
                    vn_format_block(format, VK_IMAGE_ASPECT_STENCIL_BIT, &block);
   *l = (struct vs_image_layouts){ .all = initial, .aspects = two ? 2 : 1, .family = VK_QUEUE_FAMILY_IGNORED };
}

void
vs_image_layouts_fini(struct vs_image_layouts *l)
{
   free(l->each);
   l->each = NULL;
}

static size_t
each_count(const struct vs_image *image)
{
   return (size_t)image->layouts.aspects * image->mip_levels * image->array_layers;
}

uint32_t
vs_image_layouts_count(const struct vs_image *image)
{
   return (uint32_t)each_count(image);
}

bool
vs_image_layouts_fit(const struct vs_image *image, const struct vs_image_layouts *l, uint32_t count)
{
   return l->aspects == image->layouts.aspects && (!l->each || count == each_count(image)) && count <= EACH_MAX;
}

/* The image's aspect slot of `aspect` (one bit). */
static uint32_t
slot_of(const struct vs_image_layouts *l, VkImageAspectFlags aspect)
{
   return l->aspects == 2 && aspect == VK_IMAGE_ASPECT_STENCIL_BIT;
}

VkImageLayout
vs_image_layout_at(const struct vs_image *image, VkImageAspectFlagBits aspect, uint32_t level, uint32_t layer)
{
   const struct vs_image_layouts *l = &image->layouts;
   if (!l->each || level >= image->mip_levels || layer >= image->array_layers)
      return l->all;
   return l->each[((size_t)slot_of(l, aspect) * image->mip_levels + level) * image->array_layers + layer];
}

void
vs_image_layout_set(struct vs_image *image, const VkImageSubresourceRange *range, VkImageLayout layout)
{
   struct vs_image_layouts *l = &image->layouts;
   const uint32_t levels = image->mip_levels, layers = image->type == VK_IMAGE_TYPE_3D ? 1 : image->array_layers;
   const uint32_t base_layer = image->type == VK_IMAGE_TYPE_3D ? 0 : range->baseArrayLayer;
   if (range->baseMipLevel >= levels || base_layer >= layers)
      return;
   const uint32_t level_count = range->levelCount > levels - range->baseMipLevel ? levels - range->baseMipLevel
                                                                                 : range->levelCount;
   const uint32_t layer_count = image->type == VK_IMAGE_TYPE_3D || range->layerCount > layers - base_layer
                                   ? layers - base_layer
                                   : range->layerCount;
   /* Which aspect slots: depth and stencil apart, every other aspect one. */
   uint32_t slots = 0;
   if (l->aspects == 2) {
      slots = (range->aspectMask & VK_IMAGE_ASPECT_DEPTH_BIT ? 1u : 0u) |
              (range->aspectMask & VK_IMAGE_ASPECT_STENCIL_BIT ? 2u : 0u);
   } else if (range->aspectMask & ~(VkImageAspectFlags)VK_IMAGE_ASPECT_METADATA_BIT) {
      slots = 1;
   }
   if (!slots || !level_count || !layer_count)
      return;
   if (level_count == levels && layer_count == layers && slots == (1u << l->aspects) - 1) {
      vs_image_layouts_fini(l);
      l->all = layout;
      return;
   }
   const size_t n = each_count(image);
   if (!l->each) {
      if (n > EACH_MAX || !(l->each = malloc(n * sizeof(*l->each)))) {
         l->lost = true;
         return;
      }
      for (size_t i = 0; i < n; i++)
         l->each[i] = l->all;
   }
   for (uint32_t s = 0; s < l->aspects; s++) {
      if (!(slots & (1u << s)))
         continue;
      for (uint32_t m = range->baseMipLevel; m < range->baseMipLevel + level_count; m++)
         for (uint32_t y = base_layer; y < base_layer + layer_count; y++)
            l->each[((size_t)s * levels + m) * image->array_layers + y] = layout;
   }
}

bool
vs_image_layouts_copy(struct vs_image_layouts *to, const struct vs_image *image)
{
   const struct vs_image_layouts *from = &image->layouts;
   const size_t count = each_count(image);
   *to = *from;
   to->each = NULL;
   if (!from->each)
      return true;
   if (!(to->each = malloc(count * sizeof(*to->each)))) {
      to->lost = true;
      return false;
   }
   memcpy(to->each, from->each, count * sizeof(*to->each));
   return true;
}

static void
add_change(struct vs_layout_changes *c, uint64_t image_id, const VkImageSubresourceRange *range, VkImageLayout layout)
{
   if (c->count == c->cap) {
      const uint32_t cap = c->cap ? c->cap * 2 : 8;
      struct vs_layout_change *items = cap <= CHANGES_MAX ? realloc(c->items, (size_t)cap * sizeof(*items)) : NULL;
      if (!items) {
         c->lost = true;
         return;
      }
      c->items = items;
      c->cap = cap;
   }
   c->items[c->count++] = (struct vs_layout_change){ image_id, *range, layout };
}

static bool
restorable(const struct vs_runner *runner)
{
   return runner->renderer->restorable;
}

void
vs_layouts_record(struct vs_runner *runner, struct vs_object *cb, const VkImage *image,
                  const VkImageSubresourceRange *range, VkImageLayout layout)
{
   if (!restorable(runner))
      return;
   struct vs_object *image_obj = vs_runner_nested_object(runner, image);
   if (image_obj && image_obj->type == VK_OBJECT_TYPE_IMAGE)
      add_change(&vs_command_buffer_from(cb)->layouts, image_obj->id, range, layout);
}

void
vs_layouts_clear(struct vs_layout_changes *changes)
{
   changes->count = 0;
   changes->lost = false;
}

void
vs_layouts_execute(struct vs_runner *runner, struct vs_object *cb, struct vs_object *const *secondaries,
                   uint32_t count)
{
   if (!restorable(runner))
      return;
   struct vs_layout_changes *to = &vs_command_buffer_from(cb)->layouts;
   for (uint32_t i = 0; i < count; i++) {
      const struct vs_layout_changes *from = &vs_command_buffer_from(secondaries[i])->layouts;
      to->lost |= from->lost;
      for (uint32_t k = 0; k < from->count; k++)
         add_change(to, from->items[k].image_id, &from->items[k].range, from->items[k].layout);
   }
}

void
vs_layouts_submitted(struct vs_renderer *r, uint32_t family, struct vs_object *const *cbs, uint32_t count)
{
   if (!r->restorable)
      return;
   pthread_mutex_lock(&r->layout_lock);
   for (uint32_t i = 0; i < count; i++) {
      const struct vs_layout_changes *c = &vs_command_buffer_from(cbs[i])->layouts;
      r->layouts_lost |= c->lost;
      for (uint32_t k = 0; k < c->count; k++) {
         struct vs_object *obj = vs_object_lookup(r->objects, c->items[k].image_id, VK_OBJECT_TYPE_IMAGE);
         struct vs_image *image = obj ? obj->data : NULL;
         if (image) {
            vs_image_layout_set(image, &c->items[k].range, c->items[k].layout);
            image->layouts.family = family;
         }
      }
   }
   pthread_mutex_unlock(&r->layout_lock);
}

/* What a render pass's end changes: each attachment's final layouts. */
struct render_pass {
   uint32_t count;
   struct {
      VkImageLayout layout, stencil_layout;
   } final[];
};

/* An image view's image and subresources. */
struct image_view {
   uint64_t image_id;
   VkImageSubresourceRange range;
};

/* A framebuffer's attachments (none: imageless). */
struct framebuffer {
   uint32_t count;
   uint64_t view_ids[];
};

static void
vs_exec_vkCreateImageView(struct vs_runner *runner, struct vn_args_vkCreateImageView *a)
{
   vn_default_vkCreateImageView(runner, a);
   struct vs_object *obj = restorable(runner) && a->pCreateInfo
                              ? vs_runner_created(runner, a->ret, a->pView_id, VK_OBJECT_TYPE_IMAGE_VIEW)
                              : NULL;
   struct vs_object *image = obj ? vs_runner_nested_object(runner, &a->pCreateInfo->image) : NULL;
   struct image_view *view = image ? malloc(sizeof(*view)) : NULL;
   if (!view)
      return; /* a render pass on it then loses its changes */
   *view = (struct image_view){ image->id, a->pCreateInfo->subresourceRange };
   obj->data = view;
   obj->data_free = free;
}

static struct render_pass *
render_pass_new(uint32_t count)
{
   struct render_pass *rp = malloc(sizeof(*rp) + (size_t)count * sizeof(rp->final[0]));
   if (rp)
      rp->count = count;
   return rp;
}

static void
render_pass_created(struct vs_runner *runner, VkResult result, uint64_t id, struct render_pass *rp)
{
   struct vs_object *obj = rp ? vs_runner_created(runner, result, id, VK_OBJECT_TYPE_RENDER_PASS) : NULL;
   if (!obj) {
      free(rp);
      return;
   }
   obj->data = rp;
   obj->data_free = free;
}

static void
vs_exec_vkCreateRenderPass(struct vs_runner *runner, struct vn_args_vkCreateRenderPass *a)
{
   vn_default_vkCreateRenderPass(runner, a);
   const VkRenderPassCreateInfo *ci = a->pCreateInfo;
   if (!restorable(runner) || !ci || a->ret != VK_SUCCESS)
      return;
   struct render_pass *rp = render_pass_new(ci->pAttachments ? ci->attachmentCount : 0);
   for (uint32_t i = 0; rp && i < rp->count; i++)
      rp->final[i].layout = rp->final[i].stencil_layout = ci->pAttachments[i].finalLayout;
   render_pass_created(runner, a->ret, a->pRenderPass_id, rp);
}

static void
vs_exec_vkCreateRenderPass2(struct vs_runner *runner, struct vn_args_vkCreateRenderPass2 *a)
{
   vn_default_vkCreateRenderPass2(runner, a);
   const VkRenderPassCreateInfo2 *ci = a->pCreateInfo;
   if (!restorable(runner) || !ci || a->ret != VK_SUCCESS)
      return;
   struct render_pass *rp = render_pass_new(ci->pAttachments ? ci->attachmentCount : 0);
   for (uint32_t i = 0; rp && i < rp->count; i++) {
      const VkAttachmentDescriptionStencilLayout *stencil =
         vs_chain_find(&ci->pAttachments[i], VK_STRUCTURE_TYPE_ATTACHMENT_DESCRIPTION_STENCIL_LAYOUT);
      rp->final[i].layout = ci->pAttachments[i].finalLayout;
      rp->final[i].stencil_layout = stencil ? stencil->stencilFinalLayout : ci->pAttachments[i].finalLayout;
   }
   render_pass_created(runner, a->ret, a->pRenderPass_id, rp);
}

static void
vs_exec_vkCreateFramebuffer(struct vs_runner *runner, struct vn_args_vkCreateFramebuffer *a)
{
   vn_default_vkCreateFramebuffer(runner, a);
   const VkFramebufferCreateInfo *ci = a->pCreateInfo;
   struct vs_object *obj = restorable(runner) && ci
                              ? vs_runner_created(runner, a->ret, a->pFramebuffer_id, VK_OBJECT_TYPE_FRAMEBUFFER)
                              : NULL;
   if (!obj)
      return;
   const bool imageless = ci->flags & VK_FRAMEBUFFER_CREATE_IMAGELESS_BIT;
   const uint32_t count = imageless || !ci->pAttachments ? 0 : ci->attachmentCount;
   struct framebuffer *fb = malloc(sizeof(*fb) + (size_t)count * sizeof(fb->view_ids[0]));
   if (!fb)
      return;
   fb->count = count;
   for (uint32_t i = 0; i < count; i++) {
      const struct vs_object *view = vs_runner_nested_object(runner, &ci->pAttachments[i]);
      fb->view_ids[i] = view ? view->id : 0;
   }
   obj->data = fb;
   obj->data_free = free;
}

/* The render pass's end leaves each attachment's image in its final
 * layouts: noted at its begin, which no later barrier of the recording
 * can precede. */
static void
begin_render_pass(struct vs_runner *runner, struct vs_object *cb, const VkRenderPassBeginInfo *info)
{
   if (!restorable(runner) || !info)
      return;
   struct vs_layout_changes *changes = &vs_command_buffer_from(cb)->layouts;
   const struct vs_object *rp_obj = vs_runner_nested_object(runner, &info->renderPass);
   const struct vs_object *fb_obj = vs_runner_nested_object(runner, &info->framebuffer);
   const struct render_pass *rp = rp_obj ? rp_obj->data : NULL;
   const struct framebuffer *fb = fb_obj ? fb_obj->data : NULL;
   const VkRenderPassAttachmentBeginInfo *imageless =
      vs_chain_find(info, VK_STRUCTURE_TYPE_RENDER_PASS_ATTACHMENT_BEGIN_INFO);
   if (!rp || !fb) {
      changes->lost = true;
      return;
   }
   for (uint32_t i = 0; i < rp->count; i++) {
      const struct vs_object *view_obj = NULL;
      if (i < fb->count)
         view_obj = vs_object_lookup(runner->objects, fb->view_ids[i], VK_OBJECT_TYPE_IMAGE_VIEW);
      else if (imageless && imageless->pAttachments && i < imageless->attachmentCount)
         view_obj = vs_runner_nested_object(runner, &imageless->pAttachments[i]);
      const struct image_view *view = view_obj ? view_obj->data : NULL;
      if (!view) {
         changes->lost = true;
         continue;
      }
      VkImageSubresourceRange range = view->range;
      const VkImageAspectFlags depth_stencil = VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
      if (range.aspectMask & depth_stencil) {
         range.aspectMask = view->range.aspectMask & VK_IMAGE_ASPECT_DEPTH_BIT;
         if (range.aspectMask)
            add_change(changes, view->image_id, &range, rp->final[i].layout);
         range.aspectMask = view->range.aspectMask & VK_IMAGE_ASPECT_STENCIL_BIT;
         if (range.aspectMask)
            add_change(changes, view->image_id, &range, rp->final[i].stencil_layout);
      } else {
         add_change(changes, view->image_id, &range, rp->final[i].layout);
      }
   }
}

static void
vs_exec_vkCmdBeginRenderPass(struct vs_runner *runner, struct vn_args_vkCmdBeginRenderPass *a)
{
   vn_default_vkCmdBeginRenderPass(runner, a);
   begin_render_pass(runner, a->commandBuffer_obj, a->pRenderPassBegin);
}

static void
vs_exec_vkCmdBeginRenderPass2(struct vs_runner *runner, struct vn_args_vkCmdBeginRenderPass2 *a)
{
   vn_default_vkCmdBeginRenderPass2(runner, a);
   begin_render_pass(runner, a->commandBuffer_obj, a->pRenderPassBegin);
}

static void
vs_exec_vkTransitionImageLayout(struct vs_runner *runner, struct vn_args_vkTransitionImageLayout *a)
{
   vn_default_vkTransitionImageLayout(runner, a);
   if (!restorable(runner) || a->ret != VK_SUCCESS || !a->pTransitions)
      return;
   struct vs_renderer *r = runner->renderer;
   pthread_mutex_lock(&r->layout_lock);
   for (uint32_t i = 0; i < a->transitionCount; i++) {
      const VkHostImageLayoutTransitionInfo *t = &a->pTransitions[i];
      struct vs_object *image = vs_runner_nested_object(runner, &t->image);
      if (image && image->type == VK_OBJECT_TYPE_IMAGE && image->data)
         vs_image_layout_set(image->data, &t->subresourceRange, t->newLayout);
   }
   pthread_mutex_unlock(&r->layout_lock);
}

void
vs_image_layout_register(struct vn_exec_table *t)
{
   t->vkCreateImageView = vs_exec_vkCreateImageView;
   t->vkCreateRenderPass = vs_exec_vkCreateRenderPass;
   t->vkCreateRenderPass2 = vs_exec_vkCreateRenderPass2;
   t->vkCreateFramebuffer = vs_exec_vkCreateFramebuffer;
   t->vkCmdBeginRenderPass = vs_exec_vkCmdBeginRenderPass;
   t->vkCmdBeginRenderPass2 = vs_exec_vkCmdBeginRenderPass2;
   t->vkTransitionImageLayout = vs_exec_vkTransitionImageLayout;
}

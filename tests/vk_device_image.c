/* SPDX-License-Identifier: MIT */
/* Test client: optimal images in device-local memory keep their texels
 * and layouts from round to round. Each round, in one submission, reads
 * back what the round before left and writes its own:
 *  - a 64x48 RGBA8 image of 4 levels and 3 layers, each texel a hash of
 *    (round, level, layer, x, y), left with its subresources in different
 *    layouts (shader-read, transfer, general) that change with the round;
 *    a buffer of words beside it in the same allocation;
 *  - a 32x32 D32_SFLOAT_S8_UINT image in an allocation dedicated to it,
 *    depth and stencil patterns, left depth/stencil-read-only;
 *  - a 32x32 RGBA8 render target without transfer-destination usage,
 *    cleared by a render pass whose final layout changes with the round.
 * The round then checks every texel and word it read back against the
 * round before's. Each round's submission signals a binary semaphore the
 * next one waits for (tests/test_restore.sh restores the context between
 * rounds: the images must come back with their contents and layouts, the
 * semaphore signalled).
 *
 *   vk_device_image [--rounds R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#define W 64
#define H 48
#define LEVELS 4
#define LAYERS 3
#define DS 32
#define RT 32
#define WORDS 1024
/* Where each part lies in the read-back and upload buffers. */
#define COLOR_OFF 0u
#define DEPTH_OFF 65536u
#define STENCIL_OFF (DEPTH_OFF + DS * DS * 4)
#define RT_OFF 81920u
#define WORDS_OFF 98304u
#define STAGING_SIZE 131072u

static uint32_t
hash(uint32_t round, uint32_t a, uint32_t b, uint32_t c)
{
   uint32_t x = round * 0x9E3779B1u ^ a * 0x85EBCA77u ^ b * 0xC2B2AE3Du ^ c * 0x27D4EB2Fu;
   x ^= x >> 15;
   x *= 0x2C1B3C6Du;
   x ^= x >> 12;
   return x;
}

static uint32_t
level_size(uint32_t n, uint32_t level)
{
   return n >> level ? n >> level : 1;
}

static VkDeviceSize
level_offset(uint32_t level)
{
   VkDeviceSize off = COLOR_OFF;
   for (uint32_t l = 0; l < level; l++)
      off += (VkDeviceSize)level_size(W, l) * level_size(H, l) * 4 * LAYERS;
   return off;
}

/* The layout the round leaves each subresource of the color image in. */
static VkImageLayout
round_layout(uint32_t round, uint32_t level, uint32_t layer)
{
   switch (level) {
   case 0:
      return VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
   case 1:
      return round % 2 ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_GENERAL;
   case 2:
      return layer == 0 ? VK_IMAGE_LAYOUT_GENERAL : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
   default:
      return VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
   }
}

static uint8_t
clear_byte(uint32_t round, uint32_t channel)
{
   return (uint8_t)(round * 37u + channel * 91u + 11u);
}

static float
depth_of(uint32_t round, uint32_t x, uint32_t y)
{
   return (float)((x + DS * y + 7u * round) % 1024u) / 1024.0f;
}

static uint8_t
stencil_of(uint32_t round, uint32_t x, uint32_t y)
{
   return (uint8_t)(x * 3u + y * 5u + round);
}

/* Memory of a device-local type without host access where there is one. */
static VkResult
bind_memory(struct vkt *t, VkImage image, VkDeviceSize extra, bool dedicated, VkDeviceMemory *memory,
            VkDeviceSize *extra_offset, uint32_t *type_out)
{
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(t->device, image, &req);
   const int type = vkt_device_local_type(t, req.memoryTypeBits);
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   *type_out = (uint32_t)type;
   *extra_offset = (req.size + 4095) / 4096 * 4096;
   const VkMemoryDedicatedAllocateInfo ded = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO,
      .image = image,
   };
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = dedicated ? &ded : NULL,
      .allocationSize = extra ? *extra_offset + extra : req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   VkResult r = vkAllocateMemory(t->device, &ai, NULL, memory);
   return r == VK_SUCCESS ? vkBindImageMemory(t->device, image, *memory, 0) : r;
}

static VkResult
make_image(struct vkt *t, VkFormat format, uint32_t w, uint32_t h, uint32_t levels, uint32_t layers,
           VkImageUsageFlags usage, VkImage *image)
{
   const VkImageCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
      .imageType = VK_IMAGE_TYPE_2D,
      .format = format,
      .extent = { w, h, 1 },
      .mipLevels = levels,
      .arrayLayers = layers,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .tiling = VK_IMAGE_TILING_OPTIMAL,
      .usage = usage,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   return vkCreateImage(t->device, &ci, NULL, image);
}

static void
barrier(VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect, uint32_t level, uint32_t levels,
        uint32_t layer, uint32_t layers, VkImageLayout from, VkImageLayout to)
{
   if (from == to)
      return;
   const VkImageMemoryBarrier b = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT,
      .oldLayout = from,
      .newLayout = to,
      .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .image = image,
      .subresourceRange = { aspect, level, levels, layer, layers },
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, NULL, 0,
                        NULL, 1, &b);
}

struct client {
   struct vkt t;
   VkImage color, ds, rt;
   VkDeviceMemory color_memory, ds_memory, rt_memory;
   VkBuffer words;                  /* beside the color image */
   bool has_ds;
   VkImageView rt_view;
   VkRenderPass passes[2];          /* final layout shader-read, transfer-source */
   VkFramebuffer framebuffers[2];
   struct vkt_buffer readback, upload;
   VkCommandPool pool;
   VkCommandBuffer cmd;
   VkFence fence;
   VkSemaphore chain;               /* signalled by each round, waited for by the next */
};

static VkResult
make_pass(struct client *c, VkImageLayout final, VkRenderPass *pass, VkFramebuffer *fb)
{
   const VkAttachmentDescription att = {
      .format = VK_FORMAT_R8G8B8A8_UNORM,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
      .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
      .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
      .finalLayout = final,
   };
   const VkAttachmentReference ref = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
   const VkSubpassDescription sub = {
      .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
      .colorAttachmentCount = 1,
      .pColorAttachments = &ref,
   };
   const VkSubpassDependency dep = {
      .srcSubpass = 0,
      .dstSubpass = VK_SUBPASS_EXTERNAL,
      .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
      .dstStageMask = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
      .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT,
   };
   const VkRenderPassCreateInfo rpci = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
      .attachmentCount = 1,
      .pAttachments = &att,
      .subpassCount = 1,
      .pSubpasses = &sub,
      .dependencyCount = 1,
      .pDependencies = &dep,
   };
   VkResult r = vkCreateRenderPass(c->t.device, &rpci, NULL, pass);
   const VkFramebufferCreateInfo fci = {
      .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
      .renderPass = *pass,
      .attachmentCount = 1,
      .pAttachments = &c->rt_view,
      .width = RT,
      .height = RT,
      .layers = 1,
   };
   return r == VK_SUCCESS ? vkCreateFramebuffer(c->t.device, &fci, NULL, fb) : r;
}

static bool
ds_supported(struct vkt *t)
{
   VkFormatProperties p;
   vkGetPhysicalDeviceFormatProperties(t->phys, VK_FORMAT_D32_SFLOAT_S8_UINT, &p);
   const VkFormatFeatureFlags want = VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT |
                                     VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
   return (p.optimalTilingFeatures & want) == want;
}

static VkResult
setup(struct client *c, const char **what)
{
   struct vkt *t = &c->t;
   VkDeviceSize words_offset = 0, unused;
   uint32_t color_type = 0, type = 0;
   const VkImageUsageFlags transfer = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
   VkResult r;
   *what = "the color image";
   if ((r = make_image(t, VK_FORMAT_R8G8B8A8_UNORM, W, H, LEVELS, LAYERS, transfer | VK_IMAGE_USAGE_SAMPLED_BIT,
                       &c->color)) != VK_SUCCESS ||
       (r = bind_memory(t, c->color, WORDS * 4, false, &c->color_memory, &words_offset, &color_type)) != VK_SUCCESS)
      return r;
   *what = "the buffer beside it";
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = WORDS * 4,
      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
   };
   if ((r = vkCreateBuffer(t->device, &bci, NULL, &c->words)) != VK_SUCCESS)
      return r;
   VkMemoryRequirements breq;
   vkGetBufferMemoryRequirements(t->device, c->words, &breq);
   if (!(breq.memoryTypeBits & (1u << color_type)) || words_offset % breq.alignment)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   if ((r = vkBindBufferMemory(t->device, c->words, c->color_memory, words_offset)) != VK_SUCCESS)
      return r;
   c->has_ds = ds_supported(t);
   *what = "the depth/stencil image";
   if (c->has_ds &&
       ((r = make_image(t, VK_FORMAT_D32_SFLOAT_S8_UINT, DS, DS, 1, 1,
                        transfer | VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, &c->ds)) != VK_SUCCESS ||
        (r = bind_memory(t, c->ds, 0, true, &c->ds_memory, &unused, &type)) != VK_SUCCESS))
      return r;
   *what = "the render target";
   if ((r = make_image(t, VK_FORMAT_R8G8B8A8_UNORM, RT, RT, 1, 1,
                       VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                       &c->rt)) != VK_SUCCESS ||
       (r = bind_memory(t, c->rt, 0, false, &c->rt_memory, &unused, &type)) != VK_SUCCESS)
      return r;
   const VkImageViewCreateInfo vci = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
      .image = c->rt,
      .viewType = VK_IMAGE_VIEW_TYPE_2D,
      .format = VK_FORMAT_R8G8B8A8_UNORM,
      .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
   };
   *what = "the render passes";
   if ((r = vkCreateImageView(t->device, &vci, NULL, &c->rt_view)) != VK_SUCCESS ||
       (r = make_pass(c, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, &c->passes[0], &c->framebuffers[0])) != VK_SUCCESS ||
       (r = make_pass(c, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, &c->passes[1], &c->framebuffers[1])) != VK_SUCCESS)
      return r;
   const VkBufferUsageFlags busage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
   if ((r = vkt_buffer_create_usage(t, STAGING_SIZE, busage, &c->readback, what)) != VK_SUCCESS ||
       (r = vkt_buffer_create_usage(t, STAGING_SIZE, busage, &c->upload, what)) != VK_SUCCESS)
      return r;
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = t->families[0],
   };
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   *what = "command buffer and fence";
   if ((r = vkCreateCommandPool(t->device, &pci, NULL, &c->pool)) != VK_SUCCESS)
      return r;
   VkCommandBufferAllocateInfo ai = cai;
   ai.commandPool = c->pool;
   if ((r = vkAllocateCommandBuffers(t->device, &ai, &c->cmd)) != VK_SUCCESS)
      return r;
   const VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
   if ((r = vkCreateSemaphore(t->device, &sci, NULL, &c->chain)) != VK_SUCCESS)
      return r;
   return vkCreateFence(t->device, &fci, NULL, &c->fence);
}

/* The round's submission: waits for the round before's signal, signals
 * the next's; waited for, bounded. */
static VkResult
submit_round(struct client *c, uint32_t round)
{
   const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
   const VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .waitSemaphoreCount = round > 1,
      .pWaitSemaphores = &c->chain,
      .pWaitDstStageMask = &stage,
      .commandBufferCount = 1,
      .pCommandBuffers = &c->cmd,
      .signalSemaphoreCount = 1,
      .pSignalSemaphores = &c->chain,
   };
   VkResult r = vkResetFences(c->t.device, 1, &c->fence);
   if (r == VK_SUCCESS)
      r = vkQueueSubmit(c->t.queues[0], 1, &submit, c->fence);
   if (r == VK_SUCCESS)
      r = vkWaitForFences(c->t.device, 1, &c->fence, VK_TRUE, 10ull * 1000000000ull);
   return r;
}

/* The round's texels and words, into the upload buffer. */
static void
fill_upload(struct client *c, uint32_t round)
{
   uint8_t *up = (uint8_t *)c->upload.map;
   for (uint32_t level = 0; level < LEVELS; level++) {
      uint32_t *p = (uint32_t *)(up + level_offset(level));
      const uint32_t w = level_size(W, level), h = level_size(H, level);
      for (uint32_t layer = 0; layer < LAYERS; layer++)
         for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
               *p++ = hash(round, level * 16 + layer, x, y);
   }
   float *depth = (float *)(up + DEPTH_OFF);
   uint8_t *stencil = up + STENCIL_OFF;
   for (uint32_t y = 0; y < DS; y++)
      for (uint32_t x = 0; x < DS; x++) {
         depth[y * DS + x] = depth_of(round, x, y);
         stencil[y * DS + x] = stencil_of(round, x, y);
      }
   uint32_t *words = (uint32_t *)(up + WORDS_OFF);
   for (uint32_t i = 0; i < WORDS; i++)
      words[i] = hash(round, 99, i, 0);
}

/* The depth/stencil image's two aspects in the read-back and upload buffers. */
static const VkBufferImageCopy ds_regions[2] = {
   { .bufferOffset = DEPTH_OFF, .imageSubresource = { VK_IMAGE_ASPECT_DEPTH_BIT, 0, 0, 1 }, .imageExtent = { DS, DS, 1 } },
   { .bufferOffset = STENCIL_OFF, .imageSubresource = { VK_IMAGE_ASPECT_STENCIL_BIT, 0, 0, 1 },
     .imageExtent = { DS, DS, 1 } },
};

static void
record_round(struct client *c, uint32_t round)
{
   VkCommandBuffer cmd = c->cmd;
   const VkImageAspectFlags ds_aspects = VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
   /* Read back the round before's, out of the layouts it left. */
   if (round > 1) {
      VkBufferImageCopy regions[LEVELS];
      for (uint32_t level = 0; level < LEVELS; level++) {
         for (uint32_t layer = 0; layer < LAYERS; layer++)
            barrier(cmd, c->color, VK_IMAGE_ASPECT_COLOR_BIT, level, 1, layer, 1, round_layout(round - 1, level, layer),
                    VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
         regions[level] = (VkBufferImageCopy){
            .bufferOffset = level_offset(level),
            .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, level, 0, LAYERS },
            .imageExtent = { level_size(W, level), level_size(H, level), 1 },
         };
      }
      vkCmdCopyImageToBuffer(cmd, c->color, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c->readback.buffer, LEVELS, regions);
      if (c->has_ds) {
         barrier(cmd, c->ds, ds_aspects, 0, 1, 0, 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL,
                 VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
         vkCmdCopyImageToBuffer(cmd, c->ds, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c->readback.buffer, 2, ds_regions);
      }
      barrier(cmd, c->rt, VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1,
              (round - 1) % 2 ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
              VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
      const VkBufferImageCopy rt = { .bufferOffset = RT_OFF, .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
                                     .imageExtent = { RT, RT, 1 } };
      vkCmdCopyImageToBuffer(cmd, c->rt, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c->readback.buffer, 1, &rt);
      const VkBufferCopy words = { 0, WORDS_OFF, WORDS * 4 };
      vkCmdCopyBuffer(cmd, c->words, c->readback.buffer, 1, &words);
   }
   const VkMemoryBarrier read_then_write = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                        0, 1, &read_then_write, 0, NULL, 0, NULL);
   /* Write the round's own, and leave it in the round's layouts. */
   barrier(cmd, c->color, VK_IMAGE_ASPECT_COLOR_BIT, 0, LEVELS, 0, LAYERS,
           round > 1 ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_UNDEFINED,
           VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
   VkBufferImageCopy regions[LEVELS];
   for (uint32_t level = 0; level < LEVELS; level++)
      regions[level] = (VkBufferImageCopy){
         .bufferOffset = level_offset(level),
         .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, level, 0, LAYERS },
         .imageExtent = { level_size(W, level), level_size(H, level), 1 },
      };
   vkCmdCopyBufferToImage(cmd, c->upload.buffer, c->color, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, LEVELS, regions);
   for (uint32_t level = 0; level < LEVELS; level++)
      for (uint32_t layer = 0; layer < LAYERS; layer++)
         barrier(cmd, c->color, VK_IMAGE_ASPECT_COLOR_BIT, level, 1, layer, 1, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                 round_layout(round, level, layer));
   if (c->has_ds) {
      barrier(cmd, c->ds, ds_aspects, 0, 1, 0, 1,
              round > 1 ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_UNDEFINED,
              VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
      vkCmdCopyBufferToImage(cmd, c->upload.buffer, c->ds, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 2, ds_regions);
      barrier(cmd, c->ds, ds_aspects, 0, 1, 0, 1, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
              VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL);
   }
   const VkClearValue clear = { .color.float32 = { clear_byte(round, 0) / 255.0f, clear_byte(round, 1) / 255.0f,
                                                   clear_byte(round, 2) / 255.0f, clear_byte(round, 3) / 255.0f } };
   const VkRenderPassBeginInfo rpb = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
      .renderPass = c->passes[round % 2],
      .framebuffer = c->framebuffers[round % 2],
      .renderArea = { { 0, 0 }, { RT, RT } },
      .clearValueCount = 1,
      .pClearValues = &clear,
   };
   vkCmdBeginRenderPass(cmd, &rpb, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdEndRenderPass(cmd);
   const VkBufferCopy words = { WORDS_OFF, 0, WORDS * 4 };
   vkCmdCopyBuffer(cmd, c->upload.buffer, c->words, 1, &words);
}

/* What was read back this round against the round before's. */
static void
check_round(struct client *c, uint32_t round)
{
   const uint32_t prev = round - 1;
   const uint8_t *rb = (const uint8_t *)c->readback.map;
   uint32_t wrong = 0, first_level = 0, first_layer = 0;
   for (uint32_t level = 0; level < LEVELS; level++) {
      const uint32_t *p = (const uint32_t *)(rb + level_offset(level));
      const uint32_t w = level_size(W, level), h = level_size(H, level);
      for (uint32_t layer = 0; layer < LAYERS; layer++)
         for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
               if (*p++ != hash(prev, level * 16 + layer, x, y) && !wrong++) {
                  first_level = level;
                  first_layer = layer;
               }
   }
   if (wrong)
      vkt_error(&c->t, "round %u: %u texels of the color image are not round %u's (first in level %u, layer %u)",
                round, wrong, prev, first_level, first_layer);
   else
      vkt_ok(&c->t, "round %u: the color image's %u levels and %u layers are round %u's, in each layout it left",
             round, LEVELS, LAYERS, prev);
   if (c->has_ds) {
      const float *depth = (const float *)(rb + DEPTH_OFF);
      const uint8_t *stencil = rb + STENCIL_OFF;
      uint32_t bad_depth = 0, bad_stencil = 0;
      for (uint32_t y = 0; y < DS; y++)
         for (uint32_t x = 0; x < DS; x++) {
            bad_depth += depth[y * DS + x] != depth_of(prev, x, y);
            bad_stencil += stencil[y * DS + x] != stencil_of(prev, x, y);
         }
      if (bad_depth || bad_stencil)
         vkt_error(&c->t, "round %u: %u depth and %u stencil values are not round %u's", round, bad_depth, bad_stencil,
                   prev);
      else
         vkt_ok(&c->t, "round %u: the depth/stencil image's depth and stencil are round %u's", round, prev);
   }
   const uint8_t *rt = rb + RT_OFF;
   uint32_t bad_rt = 0;
   for (uint32_t i = 0; i < RT * RT * 4; i++)
      bad_rt += rt[i] != clear_byte(prev, i % 4);
   if (bad_rt)
      vkt_error(&c->t, "round %u: %u bytes of the render target are not round %u's clear color", round, bad_rt, prev);
   else
      vkt_ok(&c->t, "round %u: the render target holds round %u's clear color", round, prev);
   const uint32_t *words = (const uint32_t *)(rb + WORDS_OFF);
   uint32_t bad_words = 0;
   for (uint32_t i = 0; i < WORDS; i++)
      bad_words += words[i] != hash(prev, 99, i, 0);
   if (bad_words)
      vkt_error(&c->t, "round %u: %u words of the buffer beside the color image are not round %u's", round, bad_words,
                prev);
   else
      vkt_ok(&c->t, "round %u: the buffer beside the color image holds round %u's words", round, prev);
}

int
main(int argc, char **argv)
{
   uint32_t rounds = 8;
   if (argc == 3 && !strcmp(argv[1], "--rounds") && atoi(argv[2]) > 0 && atoi(argv[2]) <= 1024) {
      rounds = (uint32_t)atoi(argv[2]);
   } else if (argc != 1) {
      fprintf(stderr, "usage: vk_device_image [--rounds R]   (R: 1..1024)\n");
      return 2;
   }
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct client c = { 0 };
   if (!vkt_init(&c.t, 1, NULL)) {
      vkt_fini(&c.t);
      return 1;
   }
   const char *what = "";
   VkResult r = setup(&c, &what);
   if (r != VK_SUCCESS) {
      vkt_error(&c.t, "setting up: %s: %s", what, vkt_result(r));
   } else {
      vkt_ok(&c.t, "images in device-local memory: 64x48 RGBA8 of %u levels and %u layers beside a buffer, %s, "
             "a render target without transfer-destination usage", LEVELS, LAYERS,
             c.has_ds ? "32x32 D32_SFLOAT_S8_UINT in a dedicated allocation" : "no D32_SFLOAT_S8_UINT");
   }
   for (uint32_t round = 1; r == VK_SUCCESS && round <= rounds && !c.t.failures; round++) {
      struct vkt_buffer scratch;
      if ((r = vkt_buffer_create(&c.t, 65536, &scratch, &what)) != VK_SUCCESS) {
         vkt_error(&c.t, "round %u: scratch buffer: %s: %s", round, what, vkt_result(r));
         break;
      }
      fill_upload(&c, round);
      memset(c.readback.map, 0, STAGING_SIZE);
      const VkCommandBufferBeginInfo begin = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
         .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
      };
      r = vkBeginCommandBuffer(c.cmd, &begin);
      if (r == VK_SUCCESS) {
         record_round(&c, round);
         r = vkEndCommandBuffer(c.cmd);
      }
      if (r == VK_SUCCESS)
         r = submit_round(&c, round);
      if (r != VK_SUCCESS)
         vkt_error(&c.t, "round %u: %s", round, vkt_result(r));
      else if (round > 1)
         check_round(&c, round);
      vkt_buffer_destroy(&c.t, &scratch);
   }
   if (c.t.device) {
      VkDevice d = c.t.device;
      vkDeviceWaitIdle(d);
      vkDestroyFence(d, c.fence, NULL);
      vkDestroySemaphore(d, c.chain, NULL);
      vkDestroyCommandPool(d, c.pool, NULL);
      for (int i = 0; i < 2; i++) {
         vkDestroyFramebuffer(d, c.framebuffers[i], NULL);
         vkDestroyRenderPass(d, c.passes[i], NULL);
      }
      vkDestroyImageView(d, c.rt_view, NULL);
      vkDestroyImage(d, c.color, NULL);
      vkDestroyImage(d, c.ds, NULL);
      vkDestroyImage(d, c.rt, NULL);
      vkDestroyBuffer(d, c.words, NULL);
      vkFreeMemory(d, c.color_memory, NULL);
      vkFreeMemory(d, c.ds_memory, NULL);
      vkFreeMemory(d, c.rt_memory, NULL);
   }
   vkt_buffer_destroy(&c.t, &c.readback);
   vkt_buffer_destroy(&c.t, &c.upload);
   vkt_fini(&c.t);
   printf("%s: %d error(s)\n", c.t.failures ? "FAILED" : "PASSED", c.t.failures);
   return c.t.failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* Test client: offscreen rendering through the graphics side of Vulkan,
 * written to files that a script compares byte for byte with the same
 * program run on native lavapipe.
 *
 *   vk_render --out-dir DIR
 *
 * One frame, all in one command buffer:
 *   - a classic VkRenderPass: 4x multisampled color and depth (depth test
 *     on), resolved into the 256x256 "scene"; a textured quad and two
 *     triangles that cut through it and each other, the second inside an
 *     occlusion query; timestamps around the whole frame;
 *   - dynamic rendering (core 1.3 or VK_KHR_dynamic_rendering; skipped with
 *     a "skip: dynamic rendering: WHY" line otherwise): the same geometry
 *     seen differently, color and depth, into "dynamic";
 *   - transfers into "composite": a clear, a linear downscaling blit, a
 *     mirrored nearest blit and an image copy of the scene;
 *   - every target read back with vkCmdCopyImageToBuffer.
 * Draws use vertex and index buffers, push constants and two descriptor
 * sets (uniform buffer + combined image sampler), one written with
 * vkUpdateDescriptorSets and one through a descriptor update template; the
 * texture comes through a staging buffer. Pipelines are created with a
 * pipeline cache; the frame is rendered a second time with pipelines
 * re-created from that cache's data and must come out identical.
 *
 * DIR receives scene.pam, composite.pam, dynamic.pam (when dynamic
 * rendering ran) as RGBA PAM images, and queries.txt (the occlusion count).
 * One ok/error line per check; exit 0 only if all passed. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"
/* After vk_util.h: the generated headers use uint32_t without including. */
#include "render.frag.h"
#include "render.vert.h"

#define SIZE 256 /* every render target is SIZE x SIZE */
#define TEX_SIZE 64
#define IMAGE_BYTES (SIZE * SIZE * 4)
#define COLOR_FORMAT VK_FORMAT_R8G8B8A8_UNORM
#define DEPTH_FORMAT VK_FORMAT_D16_UNORM
#define SAMPLES VK_SAMPLE_COUNT_4_BIT
#define N_SAMPLES 4

/* The images written out, in the readback buffer in this order. */
enum output { OUT_SCENE, OUT_COMPOSITE, OUT_DYNAMIC, N_OUT };
static const char *const output_names[N_OUT] = { "scene", "composite", "dynamic" };

struct vertex {
   float pos[3], color[3], uv[2];
};

/* A quad at depth 0.5 and two triangles slanting through it in depth, so
 * that the depth test decides where each one shows. */
static const struct vertex vertices[] = {
   { { -0.7f, -0.7f, 0.5f }, { 1.0f, 1.0f, 1.0f }, { 0.0f, 0.0f } },
   { { 0.7f, -0.7f, 0.5f }, { 1.0f, 0.8f, 0.6f }, { 1.0f, 0.0f } },
   { { 0.7f, 0.7f, 0.5f }, { 0.6f, 0.8f, 1.0f }, { 1.0f, 1.0f } },
   { { -0.7f, 0.7f, 0.5f }, { 0.9f, 1.0f, 0.7f }, { 0.0f, 1.0f } },
   { { -0.9f, -0.6f, 0.1f }, { 1.0f, 0.0f, 0.0f }, { 0.0f, 0.0f } },
   { { 0.8f, -0.2f, 0.9f }, { 1.0f, 1.0f, 0.0f }, { 1.0f, 0.0f } },
   { { -0.5f, 0.9f, 0.9f }, { 1.0f, 0.0f, 1.0f }, { 0.0f, 1.0f } },
   { { 0.9f, -0.8f, 0.9f }, { 0.0f, 1.0f, 0.0f }, { 1.0f, 0.0f } },
   { { 0.6f, 0.9f, 0.1f }, { 0.0f, 1.0f, 1.0f }, { 1.0f, 1.0f } },
   { { -0.8f, 0.1f, 0.3f }, { 0.0f, 0.0f, 1.0f }, { 0.0f, 0.0f } },
};
/* Both triangles share indices 6..8 and differ by their vertex offset. */
static const uint16_t indices[] = { 0, 1, 2, 2, 3, 0, 0, 1, 2 };

#define N_DRAWS 3
#define QUERIED_DRAW 2
static const struct {
   uint32_t index_count, first_index;
   int32_t vertex_offset;
} meshes[N_DRAWS] = { { 6, 0, 0 }, { 3, 6, 4 }, { 3, 6, 7 } };

/* Push constants (render.vert's Draw). */
struct draw_pc {
   float transform[4]; /* 2x2, column-major */
   float offset[4];    /* x, y, depth, texture weight */
};

/* Uniform buffer (render.vert's Scene), one per descriptor set. */
struct scene_ubo {
   float tint[4];
   float uv_transform[4];
};
static const struct scene_ubo scene_ubos[2] = {
   { { 1.0f, 1.0f, 1.0f, 1.0f }, { 2.0f, 2.0f, 0.0f, 0.0f } },
   { { 1.0f, 0.9f, 0.8f, 0.75f }, { 1.0f, 1.0f, 0.25f, 0.5f } },
};

/* What one pass draws: its clear color (bytes, as read back) and, per
 * draw, the push constants and the descriptor set. */
struct pass {
   uint8_t clear[4];
   struct draw_pc draws[N_DRAWS];
   uint32_t sets[N_DRAWS];
};
static const struct pass classic_pass = {
   .clear = { 16, 32, 48, 255 },
   .draws = {
      { { 0.8660254f, 0.5f, -0.5f, 0.8660254f }, { 0.0f, 0.0f, 0.0f, 1.0f } }, /* rotated 30 degrees */
      { { 1.0f, 0.0f, 0.0f, 1.0f }, { 0.05f, 0.0f, 0.0f, 0.25f } },
      { { 1.0f, 0.0f, 0.0f, 1.0f }, { 0.0f, 0.05f, 0.0f, 0.25f } },
   },
   .sets = { 0, 1, 1 },
};
static const struct pass dynamic_pass = {
   .clear = { 48, 16, 32, 255 },
   .draws = {
      { { 0.5656854f, -0.5656854f, 0.5656854f, 0.5656854f }, { 0.1f, -0.1f, 0.0f, 1.0f } }, /* -45 degrees, 0.8 */
      { { -1.0f, 0.0f, 0.0f, 1.0f }, { 0.0f, 0.0f, 0.0f, 0.5f } },                          /* mirrored */
      { { 0.9f, 0.0f, 0.0f, 0.9f }, { 0.0f, 0.0f, 0.05f, 0.5f } },
   },
   .sets = { 1, 0, 0 },
};
static const uint8_t composite_clear[4] = { 64, 64, 0, 255 };

struct render {
   struct vkt t;
   const char *out_dir;
   /* Dynamic rendering: entry points, NULL when skipped, and how it came. */
   PFN_vkCmdBeginRendering begin_rendering;
   PFN_vkCmdEndRendering end_rendering;
   const char *dynamic_source;
   bool precise_occlusion;

   VkCommandPool cmd_pool;
   VkCommandBuffer cmd;
   VkFence fence;
   VkQueryPool occlusion, timestamps; /* timestamps: NULL without timestamp bits */

   struct vkt_buffer vertex_buf, index_buf, uniform_buf, readback;
   VkDeviceSize ubo_stride;
   struct vkt_image texture, msaa_color, msaa_depth, scene, dyn_color, dyn_depth, composite;

   VkSampler sampler;
   VkDescriptorSetLayout set_layout;
   VkDescriptorPool desc_pool;
   VkDescriptorSet sets[2];
   VkPipelineLayout layout;
   VkShaderModule vert, frag;
   VkRenderPass render_pass;
   VkFramebuffer framebuffer;
   VkPipelineCache cache;
   size_t cache_size;
   VkPipeline classic, dynamic;
};

struct frame {
   uint8_t pixels[N_OUT][IMAGE_BYTES];
   uint64_t occlusion;
   uint64_t timestamps[2];
};

/* Error line unless `res` is VK_SUCCESS. */
static bool
succeeded(struct render *r, VkResult res, const char *what)
{
   if (res == VK_SUCCESS)
      return true;
   vkt_error(&r->t, "%s: %s", what, vkt_result(res));
   return false;
}

/* The same for a vk_util helper creating `object`, which names its step. */
static bool
made(struct render *r, VkResult res, const char *object, const char *step)
{
   if (res == VK_SUCCESS)
      return true;
   vkt_error(&r->t, "%s: %s: %s", object, step, vkt_result(res));
   return false;
}

static VkClearColorValue
clear_color(const uint8_t rgba[4])
{
   VkClearColorValue c;
   for (int i = 0; i < 4; i++)
      c.float32[i] = rgba[i] / 255.0f;
   return c;
}

/* Instance asking for 1.3 (so that core 1.3 entry points exist where the
 * device has them), then the device with dynamic rendering where it is
 * offered and precise occlusion queries where supported. */
static bool
create_device(struct render *r)
{
   struct vkt *t = &r->t;
   if (!vkt_init_instance(t, VK_API_VERSION_1_3))
      return false;
   const uint32_t api = t->props.apiVersion;
   const bool core = api >= VK_API_VERSION_1_3;
   const bool ext = !core && vkt_has_device_extension(t, VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME);
   printf("info: device %s, Vulkan %u.%u.%u\n", t->props.deviceName, VK_API_VERSION_MAJOR(api),
          VK_API_VERSION_MINOR(api), VK_API_VERSION_PATCH(api));

   VkPhysicalDeviceDynamicRenderingFeatures dynamic = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DYNAMIC_RENDERING_FEATURES,
   };
   VkPhysicalDeviceFeatures2 supported = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = core || ext ? &dynamic : NULL,
   };
   vkGetPhysicalDeviceFeatures2(t->phys, &supported);
   r->precise_occlusion = supported.features.occlusionQueryPrecise;

   if (!core && !ext) {
      printf("skip: dynamic rendering: the device reports Vulkan %u.%u and no %s\n", VK_API_VERSION_MAJOR(api),
             VK_API_VERSION_MINOR(api), VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME);
   } else if (!dynamic.dynamicRendering) {
      printf("skip: dynamic rendering: %s but the dynamicRendering feature is not supported\n",
             core ? "Vulkan 1.3" : VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME);
   } else {
      r->dynamic_source = core ? "core Vulkan 1.3" : VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME;
   }

   /* Enable exactly what will be used. */
   dynamic.pNext = NULL;
   const VkPhysicalDeviceFeatures2 enabled = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = r->dynamic_source ? &dynamic : NULL,
      .features.occlusionQueryPrecise = r->precise_occlusion,
   };
   const char *const ext_names[] = { VK_KHR_DYNAMIC_RENDERING_EXTENSION_NAME };
   if (!vkt_init_device(t, 1, &enabled, r->dynamic_source && ext ? 1 : 0, ext_names))
      return false;

   if (r->dynamic_source) {
      r->begin_rendering = (PFN_vkCmdBeginRendering)vkGetDeviceProcAddr(
         t->device, core ? "vkCmdBeginRendering" : "vkCmdBeginRenderingKHR");
      r->end_rendering = (PFN_vkCmdEndRendering)vkGetDeviceProcAddr(
         t->device, core ? "vkCmdEndRendering" : "vkCmdEndRenderingKHR");
      if (!r->begin_rendering || !r->end_rendering) {
         vkt_error(t, "dynamic rendering through %s: vkGetDeviceProcAddr returned NULL", r->dynamic_source);
         return false;
      }
   }
   vkt_ok(t, "device created; dynamic rendering: %s; occlusion queries: %s",
          r->dynamic_source ? r->dynamic_source : "skipped", r->precise_occlusion ? "precise" : "not precise");
   return true;
}

/* The formats, sample count and queue this test needs (all of them are
 * required of any Vulkan graphics device). */
static bool
check_support(struct render *r)
{
   struct vkt *t = &r->t;
   const VkFormatFeatureFlags color_needs =
      VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT | VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT |
      VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT | VK_FORMAT_FEATURE_BLIT_SRC_BIT |
      VK_FORMAT_FEATURE_BLIT_DST_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
   VkFormatProperties color, depth;
   vkGetPhysicalDeviceFormatProperties(t->phys, COLOR_FORMAT, &color);
   vkGetPhysicalDeviceFormatProperties(t->phys, DEPTH_FORMAT, &depth);
   const VkPhysicalDeviceLimits *lim = &t->props.limits;
   bool ok = true;
   if (!(t->queue_flags & VK_QUEUE_GRAPHICS_BIT)) {
      vkt_error(t, "queue family %u has no graphics (flags 0x%x)", t->families[0], t->queue_flags);
      ok = false;
   }
   if ((color.optimalTilingFeatures & color_needs) != color_needs) {
      vkt_error(t, "R8G8B8A8_UNORM optimal tiling features 0x%x lack 0x%x", color.optimalTilingFeatures,
                color_needs & ~color.optimalTilingFeatures);
      ok = false;
   }
   if (!(depth.optimalTilingFeatures & VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT)) {
      vkt_error(t, "D16_UNORM is not a depth attachment format");
      ok = false;
   }
   if (!(lim->framebufferColorSampleCounts & lim->framebufferDepthSampleCounts & SAMPLES)) {
      vkt_error(t, "no 4x multisampling for color and depth (0x%x, 0x%x)", lim->framebufferColorSampleCounts,
                lim->framebufferDepthSampleCounts);
      ok = false;
   }
   if (ok)
      vkt_ok(t, "graphics queue, RGBA8 and D16 formats, 4x multisampling supported");
   return ok;
}

/* Host-visible vertex, index and uniform buffers filled through their
 * mappings, and the readback buffer. */
static bool
create_buffers(struct render *r)
{
   struct vkt *t = &r->t;
   const char *what = "";
   const VkDeviceSize align = t->props.limits.minUniformBufferOffsetAlignment;
   r->ubo_stride = (sizeof(struct scene_ubo) + align - 1) / align * align;

   const struct {
      const char *name;
      VkDeviceSize size;
      VkBufferUsageFlags usage;
      struct vkt_buffer *buf;
   } buffers[] = {
      { "vertex buffer", sizeof(vertices), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, &r->vertex_buf },
      { "index buffer", sizeof(indices), VK_BUFFER_USAGE_INDEX_BUFFER_BIT, &r->index_buf },
      { "uniform buffer", 2 * r->ubo_stride, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, &r->uniform_buf },
      { "readback buffer", N_OUT * IMAGE_BYTES, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &r->readback },
   };
   for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++)
      if (!made(r, vkt_buffer_create_usage(t, buffers[i].size, buffers[i].usage, buffers[i].buf, &what),
                buffers[i].name, what))
         return false;
   memcpy(r->vertex_buf.map, vertices, sizeof(vertices));
   memcpy(r->index_buf.map, indices, sizeof(indices));
   for (int i = 0; i < 2; i++)
      memcpy((uint8_t *)r->uniform_buf.map + i * r->ubo_stride, &scene_ubos[i], sizeof(scene_ubos[i]));
   return true;
}

/* The texture, the classic pass's targets, the composite and, with dynamic
 * rendering, its targets. */
static bool
create_images(struct render *r)
{
   const VkImageUsageFlags color = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
   const VkImageUsageFlags depth = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
   const VkImageUsageFlags src = VK_IMAGE_USAGE_TRANSFER_SRC_BIT, dst = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
   const VkImageUsageFlags sampled = VK_IMAGE_USAGE_SAMPLED_BIT;
   const struct {
      const char *name;
      VkFormat format;
      uint32_t size;
      VkSampleCountFlagBits samples;
      VkImageUsageFlags usage;
      struct vkt_image *img;
      bool dynamic; /* only for dynamic rendering */
   } images[] = {
      { "texture", COLOR_FORMAT, TEX_SIZE, VK_SAMPLE_COUNT_1_BIT, sampled | dst, &r->texture, false },
      { "multisampled color", COLOR_FORMAT, SIZE, SAMPLES, color, &r->msaa_color, false },
      { "multisampled depth", DEPTH_FORMAT, SIZE, SAMPLES, depth, &r->msaa_depth, false },
      { "scene", COLOR_FORMAT, SIZE, VK_SAMPLE_COUNT_1_BIT, color | src, &r->scene, false },
      { "composite", COLOR_FORMAT, SIZE, VK_SAMPLE_COUNT_1_BIT, src | dst, &r->composite, false },
      { "dynamic color", COLOR_FORMAT, SIZE, VK_SAMPLE_COUNT_1_BIT, color | src, &r->dyn_color, true },
      { "dynamic depth", DEPTH_FORMAT, SIZE, VK_SAMPLE_COUNT_1_BIT, depth, &r->dyn_depth, true },
   };
   const char *what = "";
   for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
      if (images[i].dynamic && !r->dynamic_source)
         continue;
      if (!made(r, vkt_image_create(&r->t, images[i].format, images[i].size, images[i].size, images[i].samples,
                                    images[i].usage, images[i].img, &what), images[i].name, what))
         return false;
   }
   return true;
}

/* Command pool and buffer, fence, and the query pools. */
static bool
create_commands(struct render *r)
{
   VkDevice dev = r->t.device;
   const VkCommandPoolCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = r->t.families[0],
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   const VkQueryPoolCreateInfo occlusion = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_OCCLUSION, .queryCount = 1,
   };
   const VkQueryPoolCreateInfo timestamps = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2,
   };
   if (!succeeded(r, vkCreateCommandPool(dev, &cpci, NULL, &r->cmd_pool), "vkCreateCommandPool"))
      return false;
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = r->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   if (!succeeded(r, vkAllocateCommandBuffers(dev, &cbai, &r->cmd), "vkAllocateCommandBuffers") ||
       !succeeded(r, vkCreateFence(dev, &fci, NULL, &r->fence), "vkCreateFence") ||
       !succeeded(r, vkCreateQueryPool(dev, &occlusion, NULL, &r->occlusion), "vkCreateQueryPool(OCCLUSION)"))
      return false;
   if (r->t.timestamp_bits == 0) {
      printf("info: no timestamps: the queue family has timestampValidBits = 0\n");
      return true;
   }
   return succeeded(r, vkCreateQueryPool(dev, &timestamps, NULL, &r->timestamps), "vkCreateQueryPool(TIMESTAMP)");
}

static bool
begin_commands(struct render *r)
{
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   return succeeded(r, vkBeginCommandBuffer(r->cmd, &begin), "vkBeginCommandBuffer");
}

static bool
submit_commands(struct render *r, const char *label)
{
   const char *what = "vkEndCommandBuffer";
   VkResult res = vkEndCommandBuffer(r->cmd);
   if (res == VK_SUCCESS)
      res = vkt_submit_wait(&r->t, r->cmd, r->fence, &what);
   return made(r, res, label, what);
}

/* An 8x8 checkerboard over red and green ramps, its alpha alternating too,
 * so that filtering and every channel show in the result. */
static void
fill_texture(uint8_t *texels)
{
   for (uint32_t y = 0; y < TEX_SIZE; y++) {
      for (uint32_t x = 0; x < TEX_SIZE; x++) {
         const bool odd = ((x >> 3) ^ (y >> 3)) & 1;
         uint8_t *p = texels + 4 * (y * TEX_SIZE + x);
         p[0] = (uint8_t)(x * 4 + 2);
         p[1] = (uint8_t)(y * 4 + 2);
         p[2] = odd ? 224 : 32;
         p[3] = odd ? 255 : 160;
      }
   }
}

/* Texture upload: staging buffer -> vkCmdCopyBufferToImage, with the
 * layout transitions around it, ready for the fragment shader. */
static bool
upload_texture(struct render *r)
{
   struct vkt_buffer staging;
   const char *what = "";
   if (!made(r, vkt_buffer_create_usage(&r->t, TEX_SIZE * TEX_SIZE * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging,
                                        &what), "staging buffer", what)) {
      vkt_buffer_destroy(&r->t, &staging);
      return false;
   }
   fill_texture((uint8_t *)staging.map);
   bool ok = begin_commands(r);
   if (ok) {
      const VkBufferImageCopy region = {
         .imageSubresource = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT, .layerCount = 1 },
         .imageExtent = { TEX_SIZE, TEX_SIZE, 1 },
      };
      vkt_image_barrier(r->cmd, &r->texture, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_WRITE_BIT);
      vkCmdCopyBufferToImage(r->cmd, staging.buffer, r->texture.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                             &region);
      vkt_image_barrier(r->cmd, &r->texture, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                        VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
      ok = submit_commands(r, "texture upload");
   }
   vkt_buffer_destroy(&r->t, &staging);
   if (ok)
      vkt_ok(&r->t, "texture %ux%u uploaded through a staging buffer", TEX_SIZE, TEX_SIZE);
   return ok;
}

/* Set 1 through a descriptor update template: the host data it reads. */
struct set_data {
   VkDescriptorBufferInfo scene;
   VkDescriptorImageInfo tex;
};

static bool
write_set_with_template(struct render *r, VkDescriptorSet set, const struct set_data *data)
{
   VkDevice dev = r->t.device;
   const VkDescriptorUpdateTemplateEntry entries[2] = {
      { .dstBinding = 0, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
        .offset = offsetof(struct set_data, scene), .stride = sizeof(struct set_data) },
      { .dstBinding = 1, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        .offset = offsetof(struct set_data, tex), .stride = sizeof(struct set_data) },
   };
   const VkDescriptorUpdateTemplateCreateInfo tci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_UPDATE_TEMPLATE_CREATE_INFO,
      .descriptorUpdateEntryCount = 2,
      .pDescriptorUpdateEntries = entries,
      .templateType = VK_DESCRIPTOR_UPDATE_TEMPLATE_TYPE_DESCRIPTOR_SET,
      .descriptorSetLayout = r->set_layout,
   };
   VkDescriptorUpdateTemplate tmpl;
   if (!succeeded(r, vkCreateDescriptorUpdateTemplate(dev, &tci, NULL, &tmpl), "vkCreateDescriptorUpdateTemplate"))
      return false;
   vkUpdateDescriptorSetWithTemplate(dev, set, tmpl, data);
   vkDestroyDescriptorUpdateTemplate(dev, tmpl, NULL);
   return true;
}

/* Sampler, set layout (binding 0: uniform buffer, 1: combined image
 * sampler), two sets over the two uniform blocks: set 0 written with
 * vkUpdateDescriptorSets, set 1 through a template. */
static bool
create_descriptors(struct render *r)
{
   VkDevice dev = r->t.device;
   const VkSamplerCreateInfo sci = {
      .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
      .magFilter = VK_FILTER_LINEAR,
      .minFilter = VK_FILTER_LINEAR,
      .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
      .addressModeU = VK_SAMPLER_ADDRESS_MODE_REPEAT,
      .addressModeV = VK_SAMPLER_ADDRESS_MODE_MIRRORED_REPEAT,
      .addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT,
   };
   const VkDescriptorSetLayoutBinding bindings[2] = {
      { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT },
      { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT },
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings,
   };
   const VkDescriptorPoolSize sizes[2] = {
      { .type = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .descriptorCount = 2 },
      { .type = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .descriptorCount = 2 },
   };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 2, .poolSizeCount = 2, .pPoolSizes = sizes,
   };
   if (!succeeded(r, vkCreateSampler(dev, &sci, NULL, &r->sampler), "vkCreateSampler") ||
       !succeeded(r, vkCreateDescriptorSetLayout(dev, &dslci, NULL, &r->set_layout), "vkCreateDescriptorSetLayout") ||
       !succeeded(r, vkCreateDescriptorPool(dev, &dpci, NULL, &r->desc_pool), "vkCreateDescriptorPool"))
      return false;
   const VkDescriptorSetLayout layouts[2] = { r->set_layout, r->set_layout };
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = r->desc_pool, .descriptorSetCount = 2, .pSetLayouts = layouts,
   };
   if (!succeeded(r, vkAllocateDescriptorSets(dev, &dsai, r->sets), "vkAllocateDescriptorSets"))
      return false;

   struct set_data data[2];
   for (int i = 0; i < 2; i++) {
      data[i].scene = (VkDescriptorBufferInfo){ .buffer = r->uniform_buf.buffer, .offset = i * r->ubo_stride,
                                                .range = sizeof(struct scene_ubo) };
      data[i].tex = (VkDescriptorImageInfo){ .sampler = r->sampler, .imageView = r->texture.view,
                                             .imageLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL };
   }
   const VkWriteDescriptorSet writes[2] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = r->sets[0], .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .pBufferInfo = &data[0].scene },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = r->sets[0], .dstBinding = 1,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .pImageInfo = &data[0].tex },
   };
   vkUpdateDescriptorSets(dev, 2, writes, 0, NULL);
   if (!write_set_with_template(r, r->sets[1], &data[1]))
      return false;
   vkt_ok(&r->t, "descriptor sets written directly and through an update template");
   return true;
}

/* One subpass: 4x color and depth, the color resolved into the scene,
 * which ends ready for the transfers that read it. */
static bool
create_render_pass(struct render *r)
{
   const VkAttachmentDescription attachments[3] = {
      { .format = COLOR_FORMAT, .samples = SAMPLES, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
        .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
        .finalLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL },
      { .format = DEPTH_FORMAT, .samples = SAMPLES, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
        .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
        .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL },
      { .format = COLOR_FORMAT, .samples = VK_SAMPLE_COUNT_1_BIT, .loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        .storeOp = VK_ATTACHMENT_STORE_OP_STORE, .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
        .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL },
   };
   const VkAttachmentReference color = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
   const VkAttachmentReference depth = { 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL };
   const VkAttachmentReference resolve = { 2, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
   const VkSubpassDescription subpass = {
      .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
      .colorAttachmentCount = 1,
      .pColorAttachments = &color,
      .pResolveAttachments = &resolve,
      .pDepthStencilAttachment = &depth,
   };
   /* In: after the previous frame's attachment writes and transfer reads.
    * Out: the resolved scene to the transfers of this frame. */
   const VkSubpassDependency deps[2] = {
      { .srcSubpass = VK_SUBPASS_EXTERNAL, .dstSubpass = 0,
        .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT |
                        VK_PIPELINE_STAGE_TRANSFER_BIT,
        .dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                        VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
        .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT |
                         VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT },
      { .srcSubpass = 0, .dstSubpass = VK_SUBPASS_EXTERNAL,
        .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
        .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT },
   };
   const VkRenderPassCreateInfo rpci = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
      .attachmentCount = 3, .pAttachments = attachments,
      .subpassCount = 1, .pSubpasses = &subpass,
      .dependencyCount = 2, .pDependencies = deps,
   };
   if (!succeeded(r, vkCreateRenderPass(r->t.device, &rpci, NULL, &r->render_pass), "vkCreateRenderPass"))
      return false;
   const VkImageView views[3] = { r->msaa_color.view, r->msaa_depth.view, r->scene.view };
   const VkFramebufferCreateInfo fbci = {
      .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
      .renderPass = r->render_pass,
      .attachmentCount = 3, .pAttachments = views,
      .width = SIZE, .height = SIZE, .layers = 1,
   };
   return succeeded(r, vkCreateFramebuffer(r->t.device, &fbci, NULL, &r->framebuffer), "vkCreateFramebuffer");
}

static bool
create_shaders_and_layout(struct render *r)
{
   VkDevice dev = r->t.device;
   const VkShaderModuleCreateInfo vert = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = sizeof(render_vert_spv), .pCode = render_vert_spv,
   };
   const VkShaderModuleCreateInfo frag = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = sizeof(render_frag_spv), .pCode = render_frag_spv,
   };
   const VkPushConstantRange pcr = {
      .stageFlags = VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, .size = sizeof(struct draw_pc),
   };
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1, .pSetLayouts = &r->set_layout,
      .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
   };
   const VkPipelineCacheCreateInfo pcci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
   return succeeded(r, vkCreateShaderModule(dev, &vert, NULL, &r->vert), "vkCreateShaderModule(vert)") &&
          succeeded(r, vkCreateShaderModule(dev, &frag, NULL, &r->frag), "vkCreateShaderModule(frag)") &&
          succeeded(r, vkCreatePipelineLayout(dev, &plci, NULL, &r->layout), "vkCreatePipelineLayout") &&
          succeeded(r, vkCreatePipelineCache(dev, &pcci, NULL, &r->cache), "vkCreatePipelineCache(empty)");
}

/* The classic pipeline (render pass, 4x) and, with dynamic rendering, the
 * dynamic one (VkPipelineRenderingCreateInfo, 1x), in one call through
 * r->cache. Everything else is shared. */
static bool
create_pipelines(struct render *r)
{
   const VkPipelineShaderStageCreateInfo stages[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT,
        .module = r->vert, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
        .module = r->frag, .pName = "main" },
   };
   const VkVertexInputBindingDescription binding = { 0, sizeof(struct vertex), VK_VERTEX_INPUT_RATE_VERTEX };
   const VkVertexInputAttributeDescription attrs[3] = {
      { 0, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, pos) },
      { 1, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, color) },
      { 2, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct vertex, uv) },
   };
   const VkPipelineVertexInputStateCreateInfo vertex_input = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
      .vertexBindingDescriptionCount = 1, .pVertexBindingDescriptions = &binding,
      .vertexAttributeDescriptionCount = 3, .pVertexAttributeDescriptions = attrs,
   };
   const VkPipelineInputAssemblyStateCreateInfo assembly = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
      .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
   };
   const VkPipelineViewportStateCreateInfo viewport = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, .viewportCount = 1, .scissorCount = 1,
   };
   const VkPipelineRasterizationStateCreateInfo raster = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
      .polygonMode = VK_POLYGON_MODE_FILL, .cullMode = VK_CULL_MODE_NONE, .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo msaa[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO, .rasterizationSamples = SAMPLES },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
        .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT },
   };
   const VkPipelineDepthStencilStateCreateInfo depth = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
      .depthTestEnable = VK_TRUE, .depthWriteEnable = VK_TRUE, .depthCompareOp = VK_COMPARE_OP_LESS,
   };
   const VkPipelineColorBlendAttachmentState blend_att = { .colorWriteMask = 0xf };
   const VkPipelineColorBlendStateCreateInfo blend = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
      .attachmentCount = 1, .pAttachments = &blend_att,
   };
   const VkDynamicState dyn_states[2] = { VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR };
   const VkPipelineDynamicStateCreateInfo dyn = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
      .dynamicStateCount = 2, .pDynamicStates = dyn_states,
   };
   const VkFormat color_format = COLOR_FORMAT;
   const VkPipelineRenderingCreateInfo rendering = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO,
      .colorAttachmentCount = 1, .pColorAttachmentFormats = &color_format, .depthAttachmentFormat = DEPTH_FORMAT,
   };
   VkGraphicsPipelineCreateInfo infos[2];
   for (int i = 0; i < 2; i++) {
      infos[i] = (VkGraphicsPipelineCreateInfo){
         .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
         .stageCount = 2, .pStages = stages,
         .pVertexInputState = &vertex_input, .pInputAssemblyState = &assembly,
         .pViewportState = &viewport, .pRasterizationState = &raster, .pMultisampleState = &msaa[i],
         .pDepthStencilState = &depth, .pColorBlendState = &blend, .pDynamicState = &dyn,
         .layout = r->layout,
      };
   }
   infos[0].renderPass = r->render_pass;
   infos[1].pNext = &rendering;
   VkPipeline pipelines[2] = { VK_NULL_HANDLE, VK_NULL_HANDLE };
   VkResult res = vkCreateGraphicsPipelines(r->t.device, r->cache, r->dynamic_source ? 2 : 1, infos, NULL, pipelines);
   r->classic = pipelines[0];
   r->dynamic = pipelines[1];
   return succeeded(r, res, "vkCreateGraphicsPipelines");
}

static void
destroy_pipelines(struct render *r)
{
   if (r->classic)
      vkDestroyPipeline(r->t.device, r->classic, NULL);
   if (r->dynamic)
      vkDestroyPipeline(r->t.device, r->dynamic, NULL);
   r->classic = r->dynamic = VK_NULL_HANDLE;
}

/* vkGetPipelineCacheData (size, then data), checked against the device's
 * identity; then the pipelines are re-created through a new cache made
 * from that data. */
static bool
reload_pipeline_cache(struct render *r)
{
   struct vkt *t = &r->t;
   VkDevice dev = t->device;
   size_t size = 0;
   if (!succeeded(r, vkGetPipelineCacheData(dev, r->cache, &size, NULL), "vkGetPipelineCacheData(size)"))
      return false;
   VkPipelineCacheHeaderVersionOne header;
   if (size < sizeof(header)) {
      vkt_error(t, "pipeline cache data: %zu bytes, less than its %zu-byte header", size, sizeof(header));
      return false;
   }
   void *data = malloc(size);
   if (!data) {
      vkt_error(t, "pipeline cache data: out of memory for %zu bytes", size);
      return false;
   }
   bool ok = succeeded(r, vkGetPipelineCacheData(dev, r->cache, &size, data), "vkGetPipelineCacheData(data)");
   if (ok) {
      memcpy(&header, data, sizeof(header));
      ok = header.headerSize >= sizeof(header) && header.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           header.vendorID == t->props.vendorID && header.deviceID == t->props.deviceID &&
           !memcmp(header.pipelineCacheUUID, t->props.pipelineCacheUUID, VK_UUID_SIZE);
      if (ok)
         vkt_ok(t, "pipeline cache data: %zu bytes, its header names this device", size);
      else
         vkt_error(t, "pipeline cache data header: size %u version %d vendor 0x%x device 0x%x (or UUID) do not "
                   "match the device (vendor 0x%x device 0x%x)", header.headerSize, (int)header.headerVersion,
                   header.vendorID, header.deviceID, t->props.vendorID, t->props.deviceID);
   }
   if (ok) {
      r->cache_size = size;
      destroy_pipelines(r);
      vkDestroyPipelineCache(dev, r->cache, NULL);
      const VkPipelineCacheCreateInfo pcci = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO, .initialDataSize = size, .pInitialData = data,
      };
      ok = succeeded(r, vkCreatePipelineCache(dev, &pcci, NULL, &r->cache), "vkCreatePipelineCache(initial data)") &&
           create_pipelines(r);
   }
   free(data);
   return ok;
}

/* Viewport, buffers, then each draw with its set and push constants; the
 * queried draw inside the occlusion query when `query`. */
static void
record_draws(struct render *r, VkCommandBuffer cmd, VkPipeline pipeline, const struct pass *pass, bool query)
{
   const VkViewport viewport = { 0.0f, 0.0f, SIZE, SIZE, 0.0f, 1.0f };
   const VkRect2D scissor = { { 0, 0 }, { SIZE, SIZE } };
   const VkDeviceSize offset = 0;
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
   vkCmdSetViewport(cmd, 0, 1, &viewport);
   vkCmdSetScissor(cmd, 0, 1, &scissor);
   vkCmdBindVertexBuffers(cmd, 0, 1, &r->vertex_buf.buffer, &offset);
   vkCmdBindIndexBuffer(cmd, r->index_buf.buffer, 0, VK_INDEX_TYPE_UINT16);
   for (uint32_t i = 0; i < N_DRAWS; i++) {
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, r->layout, 0, 1, &r->sets[pass->sets[i]], 0, NULL);
      vkCmdPushConstants(cmd, r->layout, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                         sizeof(pass->draws[i]), &pass->draws[i]);
      if (query && i == QUERIED_DRAW)
         vkCmdBeginQuery(cmd, r->occlusion, 0, r->precise_occlusion ? VK_QUERY_CONTROL_PRECISE_BIT : 0);
      vkCmdDrawIndexed(cmd, meshes[i].index_count, 1, meshes[i].first_index, meshes[i].vertex_offset, 0);
      if (query && i == QUERIED_DRAW)
         vkCmdEndQuery(cmd, r->occlusion, 0);
   }
}

static void
record_classic_pass(struct render *r, VkCommandBuffer cmd)
{
   const VkClearValue clears[2] = {
      { .color = clear_color(classic_pass.clear) },
      { .depthStencil = { 1.0f, 0 } },
   };
   const VkRenderPassBeginInfo rpbi = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
      .renderPass = r->render_pass,
      .framebuffer = r->framebuffer,
      .renderArea = { { 0, 0 }, { SIZE, SIZE } },
      .clearValueCount = 2, .pClearValues = clears,
   };
   vkCmdBeginRenderPass(cmd, &rpbi, VK_SUBPASS_CONTENTS_INLINE);
   record_draws(r, cmd, r->classic, &classic_pass, true);
   vkCmdEndRenderPass(cmd);
}

/* The same geometry through vkCmdBeginRendering, with the barriers a
 * render pass would otherwise imply. */
static void
record_dynamic_pass(struct render *r, VkCommandBuffer cmd)
{
   vkt_image_barrier(cmd, &r->dyn_color, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                     VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                     VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
   vkt_image_barrier(cmd, &r->dyn_depth, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
                     VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT, VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                     VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
                     VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT);
   const VkRenderingAttachmentInfo color = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
      .imageView = r->dyn_color.view,
      .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
      .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
      .clearValue.color = clear_color(dynamic_pass.clear),
   };
   const VkRenderingAttachmentInfo depth = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
      .imageView = r->dyn_depth.view,
      .imageLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
      .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
      .clearValue.depthStencil = { 1.0f, 0 },
   };
   const VkRenderingInfo info = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_INFO,
      .renderArea = { { 0, 0 }, { SIZE, SIZE } },
      .layerCount = 1,
      .colorAttachmentCount = 1, .pColorAttachments = &color,
      .pDepthAttachment = &depth,
   };
   r->begin_rendering(cmd, &info);
   record_draws(r, cmd, r->dynamic, &dynamic_pass, false);
   r->end_rendering(cmd);
   vkt_image_barrier(cmd, &r->dyn_color, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                     VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                     VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
}

/* The composite: cleared, then its quadrants written from the scene:
 * top left a linear downscale, top right a copy of the scene's center,
 * bottom right a mirrored nearest downscale; bottom left stays cleared. */
static void
record_composite(struct render *r, VkCommandBuffer cmd)
{
   const VkImageSubresourceRange range = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 };
   const VkImageSubresourceLayers layers = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 };
   const VkClearColorValue clear = clear_color(composite_clear);
   const int half = SIZE / 2;
   const VkImageBlit blits[2] = {
      { .srcSubresource = layers, .srcOffsets = { { 0, 0, 0 }, { SIZE, SIZE, 1 } },
        .dstSubresource = layers, .dstOffsets = { { 0, 0, 0 }, { half, half, 1 } } },
      { .srcSubresource = layers, .srcOffsets = { { 0, 0, 0 }, { SIZE, SIZE, 1 } },
        .dstSubresource = layers, .dstOffsets = { { SIZE, half, 0 }, { half, SIZE, 1 } } },
   };
   const VkImageCopy copy = {
      .srcSubresource = layers, .srcOffset = { SIZE / 4, SIZE / 4, 0 },
      .dstSubresource = layers, .dstOffset = { half, 0, 0 },
      .extent = { half, half, 1 },
   };
   vkt_image_barrier(cmd, &r->composite, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
   vkCmdClearColorImage(cmd, r->composite.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &clear, 1, &range);
   /* The clear and the writes below touch the same texels. */
   vkt_image_barrier(cmd, &r->composite, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_WRITE_BIT);
   vkCmdBlitImage(cmd, r->scene.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, r->composite.image,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &blits[0], VK_FILTER_LINEAR);
   vkCmdBlitImage(cmd, r->scene.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, r->composite.image,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &blits[1], VK_FILTER_NEAREST);
   vkCmdCopyImage(cmd, r->scene.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, r->composite.image,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
   vkt_image_barrier(cmd, &r->composite, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT);
}

static void
record_readback(struct render *r, VkCommandBuffer cmd)
{
   vkt_image_to_buffer(cmd, &r->scene, r->readback.buffer, OUT_SCENE * IMAGE_BYTES);
   vkt_image_to_buffer(cmd, &r->composite, r->readback.buffer, OUT_COMPOSITE * IMAGE_BYTES);
   if (r->dynamic_source)
      vkt_image_to_buffer(cmd, &r->dyn_color, r->readback.buffer, OUT_DYNAMIC * IMAGE_BYTES);
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

static bool
read_queries(struct render *r, struct frame *f)
{
   const VkQueryResultFlags flags = VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT;
   VkDevice dev = r->t.device;
   if (!succeeded(r, vkGetQueryPoolResults(dev, r->occlusion, 0, 1, sizeof(f->occlusion), &f->occlusion,
                                           sizeof(f->occlusion), flags), "vkGetQueryPoolResults(OCCLUSION)"))
      return false;
   if (!r->timestamps)
      return true;
   if (!succeeded(r, vkGetQueryPoolResults(dev, r->timestamps, 0, 2, sizeof(f->timestamps), f->timestamps,
                                           sizeof(f->timestamps[0]), flags), "vkGetQueryPoolResults(TIMESTAMP)"))
      return false;
   const uint64_t mask = r->t.timestamp_bits >= 64 ? ~0ull : (1ull << r->t.timestamp_bits) - 1;
   f->timestamps[0] &= mask;
   f->timestamps[1] &= mask;
   return true;
}

/* Record, submit and wait for one frame; read its queries and pixels. */
static bool
run_frame(struct render *r, struct frame *f)
{
   VkCommandBuffer cmd = r->cmd;
   if (!begin_commands(r))
      return false;
   vkCmdResetQueryPool(cmd, r->occlusion, 0, 1);
   if (r->timestamps) {
      vkCmdResetQueryPool(cmd, r->timestamps, 0, 2);
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, r->timestamps, 0);
   }
   record_classic_pass(r, cmd);
   if (r->dynamic_source)
      record_dynamic_pass(r, cmd);
   record_composite(r, cmd);
   record_readback(r, cmd);
   if (r->timestamps)
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, r->timestamps, 1);
   if (!submit_commands(r, "frame") || !read_queries(r, f))
      return false;
   memcpy(f->pixels, r->readback.map, sizeof(f->pixels));
   return true;
}

static const uint8_t *
pixel(const struct frame *f, enum output out, int x, int y)
{
   return f->pixels[out] + 4 * (y * SIZE + x);
}

/* Pixels of `out` in [x0, x0+w) x [y0, y0+h) that differ from `want` (a
 * fixed color when `want_frame` is NULL, else the pixel of `want_frame`'s
 * `want_out` at the offset (dx, dy)). Returns the count of differences. */
static unsigned
count_differences(const struct frame *f, enum output out, int x0, int y0, int w, int h, const uint8_t want[4],
                  enum output want_out, int dx, int dy)
{
   unsigned n = 0;
   for (int y = y0; y < y0 + h; y++)
      for (int x = x0; x < x0 + w; x++)
         n += memcmp(pixel(f, out, x, y), want ? want : pixel(f, want_out, x + dx, y + dy), 4) != 0;
   return n;
}

static void
check_region(struct render *r, const char *what, unsigned differ, unsigned total)
{
   if (differ)
      vkt_error(&r->t, "%s: %u of %u pixels differ", what, differ, total);
   else
      vkt_ok(&r->t, "%s: all %u pixels", what, total);
}

/* What the frame must show whatever the driver: clear colors where
 * nothing is drawn, exact copies where copies were made, a visible but
 * partly hidden queried triangle, ordered timestamps. */
static void
check_frame(struct render *r, const struct frame *f)
{
   struct vkt *t = &r->t;
   const int half = SIZE / 2;
   const uint64_t samples = (uint64_t)SIZE * SIZE * N_SAMPLES;
   if (f->occlusion > 0 && f->occlusion < samples)
      vkt_ok(t, "occlusion query: %llu samples of the partly hidden triangle passed", (unsigned long long)f->occlusion);
   else
      vkt_error(t, "occlusion query: %llu samples passed, want between 1 and %llu", (unsigned long long)f->occlusion,
                (unsigned long long)samples - 1);
   if (r->timestamps && f->timestamps[1] < f->timestamps[0])
      vkt_error(t, "timestamps: end %llu before start %llu", (unsigned long long)f->timestamps[1],
                (unsigned long long)f->timestamps[0]);
   else if (r->timestamps)
      vkt_ok(t, "timestamps: frame took %.0f us on the device",
             (double)(f->timestamps[1] - f->timestamps[0]) * t->props.limits.timestampPeriod / 1e3);

   check_region(r, "scene: top-left corner has the clear color",
                count_differences(f, OUT_SCENE, 0, 0, 4, 4, classic_pass.clear, 0, 0, 0), 16);
   check_region(r, "composite: bottom-left quadrant has vkCmdClearColorImage's color",
                count_differences(f, OUT_COMPOSITE, 0, half, half, half, composite_clear, 0, 0, 0), half * half);
   check_region(r, "composite: top-right quadrant equals the scene's center (vkCmdCopyImage)",
                count_differences(f, OUT_COMPOSITE, half, 0, half, half, NULL, OUT_SCENE, -half / 2, SIZE / 4),
                half * half);
   if (r->dynamic_source)
      check_region(r, "dynamic: top-left corner has the clear color",
                   count_differences(f, OUT_DYNAMIC, 0, 0, 4, 4, dynamic_pass.clear, 0, 0, 0), 16);
}

/* The second frame, from pipelines re-created out of the cache data, must
 * equal the first. */
static void
compare_frames(struct render *r, const struct frame *a, const struct frame *b)
{
   for (int i = 0; i < N_OUT; i++) {
      if (i == OUT_DYNAMIC && !r->dynamic_source)
         continue;
      if (memcmp(a->pixels[i], b->pixels[i], IMAGE_BYTES))
         vkt_error(&r->t, "%s: the frame from the reloaded pipeline cache differs from the first",
                   output_names[i]);
      else
         vkt_ok(&r->t, "%s: the frame from the reloaded pipeline cache equals the first", output_names[i]);
   }
   if (a->occlusion != b->occlusion)
      vkt_error(&r->t, "occlusion query: %llu samples in the first frame, %llu in the second",
                (unsigned long long)a->occlusion, (unsigned long long)b->occlusion);
   else
      vkt_ok(&r->t, "occlusion query: the same count in both frames");
}

/* DIR/name := header, then data; an error line names the path on failure. */
static bool
write_file(struct render *r, const char *name, const char *header, const void *data, size_t size)
{
   char path[4096];
   snprintf(path, sizeof(path), "%s/%s", r->out_dir, name);
   FILE *fp = fopen(path, "wb");
   bool ok = fp && fputs(header, fp) >= 0 && fwrite(data, 1, size, fp) == size;
   if (fp && fclose(fp) != 0)
      ok = false;
   if (!ok)
      vkt_error(&r->t, "writing %s: %s", path, strerror(errno));
   return ok;
}

/* Each image as an RGBA PAM (netpbm P7), and the occlusion count (the
 * timestamps differ from run to run, so they stay out). */
static void
write_outputs(struct render *r, const struct frame *f)
{
   char header[128], name[64];
   snprintf(header, sizeof(header), "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", SIZE,
            SIZE);
   bool ok = true;
   for (int i = 0; i < N_OUT; i++) {
      if (i == OUT_DYNAMIC && !r->dynamic_source)
         continue;
      snprintf(name, sizeof(name), "%s.pam", output_names[i]);
      ok = write_file(r, name, header, f->pixels[i], IMAGE_BYTES) && ok;
   }
   char queries[64];
   snprintf(queries, sizeof(queries), "occlusion_samples %llu\n", (unsigned long long)f->occlusion);
   ok = write_file(r, "queries.txt", queries, "", 0) && ok;
   if (ok)
      vkt_ok(&r->t, "images and query results written to %s", r->out_dir);
}

static void
destroy_render(struct render *r)
{
   VkDevice dev = r->t.device;
   if (dev) {
      vkDeviceWaitIdle(dev);
      destroy_pipelines(r);
      if (r->cache)
         vkDestroyPipelineCache(dev, r->cache, NULL);
      if (r->framebuffer)
         vkDestroyFramebuffer(dev, r->framebuffer, NULL);
      if (r->render_pass)
         vkDestroyRenderPass(dev, r->render_pass, NULL);
      if (r->layout)
         vkDestroyPipelineLayout(dev, r->layout, NULL);
      if (r->vert)
         vkDestroyShaderModule(dev, r->vert, NULL);
      if (r->frag)
         vkDestroyShaderModule(dev, r->frag, NULL);
      if (r->desc_pool)
         vkDestroyDescriptorPool(dev, r->desc_pool, NULL);
      if (r->set_layout)
         vkDestroyDescriptorSetLayout(dev, r->set_layout, NULL);
      if (r->sampler)
         vkDestroySampler(dev, r->sampler, NULL);
      struct vkt_image *images[] = { &r->texture, &r->msaa_color, &r->msaa_depth, &r->scene,
                                     &r->dyn_color, &r->dyn_depth, &r->composite };
      for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
         vkt_image_destroy(&r->t, images[i]);
      struct vkt_buffer *buffers[] = { &r->vertex_buf, &r->index_buf, &r->uniform_buf, &r->readback };
      for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++)
         vkt_buffer_destroy(&r->t, buffers[i]);
      if (r->occlusion)
         vkDestroyQueryPool(dev, r->occlusion, NULL);
      if (r->timestamps)
         vkDestroyQueryPool(dev, r->timestamps, NULL);
      if (r->fence)
         vkDestroyFence(dev, r->fence, NULL);
      if (r->cmd_pool)
         vkDestroyCommandPool(dev, r->cmd_pool, NULL);
   }
   vkt_fini(&r->t);
}

int
main(int argc, char **argv)
{
   if (argc != 3 || strcmp(argv[1], "--out-dir")) {
      fprintf(stderr, "usage: vk_render --out-dir DIR\n");
      return 2;
   }
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct render r = { .out_dir = argv[2] };
   struct frame *frames = calloc(2, sizeof(*frames));
   bool ok = frames && create_device(&r) && check_support(&r) && create_buffers(&r) && create_images(&r) &&
             create_commands(&r) && upload_texture(&r) && create_descriptors(&r) && create_render_pass(&r) &&
             create_shaders_and_layout(&r) && create_pipelines(&r) && run_frame(&r, &frames[0]) &&
             reload_pipeline_cache(&r) && run_frame(&r, &frames[1]);
   if (!frames)
      vkt_error(&r.t, "out of memory for the frames");
   if (ok) {
      check_frame(&r, &frames[0]);
      compare_frames(&r, &frames[0], &frames[1]);
      write_outputs(&r, &frames[0]);
      printf("info: classic render pass (4x, resolved) %s; occlusion %llu samples; pipeline cache %zu bytes\n",
             r.dynamic_source ? "and dynamic rendering" : "only", (unsigned long long)frames[0].occlusion,
             r.cache_size);
   }
   destroy_render(&r);
   free(frames);
   printf("%s: %d error(s)\n", r.t.failures ? "FAILED" : "PASSED", r.t.failures);
   return r.t.failures ? 1 : 0;
}

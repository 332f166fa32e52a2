/* SPDX-License-Identifier: MIT */
/* Headless render benchmark: a plain Vulkan program (no window system, so it
 * runs natively on drivers without VK_EXT_headless_surface, NVIDIA's among
 * them) that renders frames offscreen at several sizes and prints the frame
 * rate, natively and through the server alike, for the ratio.
 *
 * Usage: render_bench [--seconds S] [--frames-in-flight N] [--linear] [--depth] [--semaphore]
 *                     [--start-at UNIX_MS] [WxH...]
 *   (default: 2 s per size, 2 frames in flight, 320x240 1280x720 1920x1080
 *   3840x2160; --linear: LINEAR color targets, --depth: a depth attachment
 *   too, --semaphore: each frame waits on a semaphore an empty submission
 *   signals, the three things a guest WSI frame is on the host. On NVIDIA
 *   580.159.04 --linear --depth natively loses the device and leaves the
 *   GPU hung, which is why the server does not create such images LINEAR
 *   there: see src/renderer/image.c; --start-at: the first size's timed
 *   frames start at that wall-clock time (milliseconds since the epoch),
 *   after its warm-up, so that clients started together measure the same
 *   span however long each took to start: bench/tenants.sh's per-client
 *   spread is then the host's sharing, not the start-up's order)
 *
 * Each frame is what a simple game frame is to the driver: one command
 * buffer with a render pass (cleared color target), 16 blended draws of a
 * 2048-triangle grid, each covering about a third of the target, with the
 * test shaders (tests/shaders/render.*: push constants, a uniform buffer
 * and a sampled texture), then a vkQueueSubmit with a fence; the program
 * keeps N frames in flight and waits for the oldest before reusing its
 * slot, like a swapchain would. After the timed
 * frames the last image is read back and hashed: the hash must be the same
 * natively and through the server (the same driver draws both).
 *
 * Output, one line per size:
 *   render WxH: FPS: F frame_ms: M frames: N hash: H wait_us: W submit_us: S
 * (W, S: the mean time per frame in vkWaitForFences and vkQueueSubmit),
 * with --start-at then " late_ms: L" (how far past the start time the
 * timed frames began: a client not ready in time). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vulkan/vulkan.h>

#include "vk_util.h"

#include "render.frag.h"
#include "render.vert.h"

#define GRID 32 /* GRID x GRID quads: 2048 triangles */
#define DRAWS 16
#define MAX_IN_FLIGHT 8

/* --linear: LINEAR color targets (what a WSI image with the LINEAR DRM
 * modifier is on the host); --semaphore: each frame waits on a binary
 * semaphore that an empty submission signals just before (what Venus'
 * WSI acquire turns into on the host). */
static bool opt_linear, opt_semaphore;
/* --start-at: 0, or when the timed frames start (ms since the epoch). */
static double opt_start_at_ms;

static double
wall_ms(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sleeps until --start-at; how late the caller was for it (ms, >= 0). */
static double
wait_for_start(void)
{
   double late = wall_ms() - opt_start_at_ms;
   while (late < 0) {
      const long long left_us = (long long)(-late * 1e3) + 1;
      const struct timespec ts = { .tv_sec = (time_t)(left_us / 1000000), .tv_nsec = (long)(left_us % 1000000) * 1000 };
      nanosleep(&ts, NULL);
      late = wall_ms() - opt_start_at_ms;
   }
   return late;
}
/* --depth: a D32 depth attachment too, depth-tested (vkmark's 3D scenes). */
static bool opt_depth;

struct vertex {
   float pos[3];
   float color[3];
   float uv[2];
};

struct push {
   float transform[4];
   float offset[4];
};

static void
die(const char *what, VkResult r)
{
   fprintf(stderr, "render_bench: %s failed: %s\n", what, vkt_result(r));
   exit(1);
}

#define CHECK(call)                                                                          \
   do {                                                                                      \
      VkResult r_ = (call);                                                                  \
      if (r_ != VK_SUCCESS)                                                                  \
         die(#call, r_);                                                                     \
   } while (0)

struct scene {
   VkRenderPass pass;
   VkDescriptorSetLayout set_layout;
   VkPipelineLayout layout;
   VkPipeline pipeline;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   VkSampler sampler;
   struct vkt_image texture;
   struct vkt_buffer vertices, indices, uniforms;
   VkCommandPool cmd_pool;
   uint32_t index_count;
};

static VkShaderModule
shader(struct vkt *t, const uint32_t *code, size_t size)
{
   const VkShaderModuleCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code,
   };
   VkShaderModule m;
   CHECK(vkCreateShaderModule(t->device, &ci, NULL, &m));
   return m;
}

static void
upload_texture(struct vkt *t, struct scene *s)
{
   /* A 64x64 checkerboard through a staging buffer. */
   const char *what = "staging buffer";
   struct vkt_buffer staging;
   CHECK(vkt_buffer_create_usage(t, 64 * 64 * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging, &what));
   for (uint32_t y = 0; y < 64; y++)
      for (uint32_t x = 0; x < 64; x++)
         staging.map[y * 64 + x] = ((x / 8 + y / 8) & 1) ? 0xffffffffu : 0xff4080c0u;
   VkCommandBuffer cmd;
   const VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = s->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   CHECK(vkAllocateCommandBuffers(t->device, &ai, &cmd));
   const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   CHECK(vkBeginCommandBuffer(cmd, &bi));
   vkt_image_barrier(cmd, &s->texture, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_WRITE_BIT);
   const VkBufferImageCopy region = {
      .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
      .imageExtent = { 64, 64, 1 },
   };
   vkCmdCopyBufferToImage(cmd, staging.buffer, s->texture.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
   vkt_image_barrier(cmd, &s->texture, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                     VK_ACCESS_SHADER_READ_BIT);
   CHECK(vkEndCommandBuffer(cmd));
   VkFence fence;
   const VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   CHECK(vkCreateFence(t->device, &fi, NULL, &fence));
   CHECK(vkt_submit_wait(t, cmd, fence, &what));
   vkDestroyFence(t->device, fence, NULL);
   vkFreeCommandBuffers(t->device, s->cmd_pool, 1, &cmd);
   vkt_buffer_destroy(t, &staging);
}

static void
scene_init(struct vkt *t, struct scene *s)
{
   const char *what = "";
   const VkCommandPoolCreateInfo cpi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = t->families[0],
   };
   CHECK(vkCreateCommandPool(t->device, &cpi, NULL, &s->cmd_pool));

   /* Geometry: a GRID x GRID grid of colored quads over [-1,1]^2. */
   size_t nv = (size_t)(GRID + 1) * (GRID + 1);
   s->index_count = GRID * GRID * 6;
   CHECK(vkt_buffer_create_usage(t, nv * sizeof(struct vertex), VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                 &s->vertices, &what));
   CHECK(vkt_buffer_create_usage(t, s->index_count * sizeof(uint32_t), VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
                                 &s->indices, &what));
   struct vertex *v = (struct vertex *)s->vertices.map;
   for (uint32_t y = 0; y <= GRID; y++) {
      for (uint32_t x = 0; x <= GRID; x++) {
         float fx = (float)x / GRID, fy = (float)y / GRID;
         v[y * (GRID + 1) + x] = (struct vertex){
            { fx * 2 - 1, fy * 2 - 1, 0.5f }, { fx, fy, 1 - fx * fy }, { fx * 4, fy * 4 },
         };
      }
   }
   uint32_t *idx = s->indices.map;
   for (uint32_t y = 0, k = 0; y < GRID; y++) {
      for (uint32_t x = 0; x < GRID; x++) {
         uint32_t a = y * (GRID + 1) + x, b = a + 1, c = a + GRID + 1, d = c + 1;
         idx[k++] = a, idx[k++] = b, idx[k++] = c;
         idx[k++] = b, idx[k++] = d, idx[k++] = c;
      }
   }
   CHECK(vkt_buffer_create_usage(t, 32, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, &s->uniforms, &what));
   const float scene_ubo[8] = { 1.0f, 0.9f, 0.8f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f };
   memcpy(s->uniforms.map, scene_ubo, sizeof(scene_ubo));

   CHECK(vkt_image_create(t, VK_FORMAT_R8G8B8A8_UNORM, 64, 64, VK_SAMPLE_COUNT_1_BIT,
                          VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, &s->texture, &what));
   upload_texture(t, s);
   const VkSamplerCreateInfo sci = {
      .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, .magFilter = VK_FILTER_LINEAR,
      .minFilter = VK_FILTER_LINEAR, .addressModeU = VK_SAMPLER_ADDRESS_MODE_REPEAT,
      .addressModeV = VK_SAMPLER_ADDRESS_MODE_REPEAT, .addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT,
      .maxLod = 1.0f,
   };
   CHECK(vkCreateSampler(t->device, &sci, NULL, &s->sampler));

   const VkDescriptorSetLayoutBinding bindings[2] = {
      { 0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, NULL },
      { 1, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, NULL },
   };
   const VkDescriptorSetLayoutCreateInfo dli = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings,
   };
   CHECK(vkCreateDescriptorSetLayout(t->device, &dli, NULL, &s->set_layout));
   const VkPushConstantRange range = { VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                                       sizeof(struct push) };
   const VkPipelineLayoutCreateInfo pli = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
      .pSetLayouts = &s->set_layout, .pushConstantRangeCount = 1, .pPushConstantRanges = &range,
   };
   CHECK(vkCreatePipelineLayout(t->device, &pli, NULL, &s->layout));
   const VkDescriptorPoolSize sizes[2] = { { VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1 },
                                           { VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1 } };
   const VkDescriptorPoolCreateInfo dpi = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 2, .pPoolSizes = sizes,
   };
   CHECK(vkCreateDescriptorPool(t->device, &dpi, NULL, &s->pool));
   const VkDescriptorSetAllocateInfo dsa = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = s->pool,
      .descriptorSetCount = 1, .pSetLayouts = &s->set_layout,
   };
   CHECK(vkAllocateDescriptorSets(t->device, &dsa, &s->set));
   const VkDescriptorBufferInfo ubo = { s->uniforms.buffer, 0, 32 };
   const VkDescriptorImageInfo tex = { s->sampler, s->texture.view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL };
   const VkWriteDescriptorSet writes[2] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .pBufferInfo = &ubo },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 1,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .pImageInfo = &tex },
   };
   vkUpdateDescriptorSets(t->device, 2, writes, 0, NULL);

   const VkAttachmentDescription color = {
      .format = VK_FORMAT_R8G8B8A8_UNORM, .samples = VK_SAMPLE_COUNT_1_BIT,
      .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR, .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
      .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE, .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED, .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
   };
   const VkAttachmentDescription attachments[2] = {
      color,
      { .format = VK_FORMAT_D32_SFLOAT, .samples = VK_SAMPLE_COUNT_1_BIT,
        .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR, .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
        .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE, .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED, .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL },
   };
   const VkAttachmentReference ref = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
   const VkAttachmentReference depth_ref = { 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL };
   const VkSubpassDescription sub = {
      .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS, .colorAttachmentCount = 1, .pColorAttachments = &ref,
      .pDepthStencilAttachment = opt_depth ? &depth_ref : NULL,
   };
   /* Frames reuse their target: order each frame's writes after the
    * previous use (a copy, for the last frame) of the same image. */
   const VkSubpassDependency deps[2] = {
      { VK_SUBPASS_EXTERNAL, 0,
        VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
           VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
        VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT,
        VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
        VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT, 0 },
      { 0, VK_SUBPASS_EXTERNAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
        VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT, 0 },
   };
   const VkRenderPassCreateInfo rpi = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO, .attachmentCount = opt_depth ? 2 : 1,
      .pAttachments = attachments,
      .subpassCount = 1, .pSubpasses = &sub, .dependencyCount = 2, .pDependencies = deps,
   };
   CHECK(vkCreateRenderPass(t->device, &rpi, NULL, &s->pass));

   VkShaderModule vs = shader(t, render_vert_spv, sizeof(render_vert_spv));
   VkShaderModule fs = shader(t, render_frag_spv, sizeof(render_frag_spv));
   const VkPipelineShaderStageCreateInfo stages[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT,
        .module = vs, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
        .module = fs, .pName = "main" },
   };
   const VkVertexInputBindingDescription vb = { 0, sizeof(struct vertex), VK_VERTEX_INPUT_RATE_VERTEX };
   const VkVertexInputAttributeDescription attrs[3] = {
      { 0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0 },
      { 1, 0, VK_FORMAT_R32G32B32_SFLOAT, 12 },
      { 2, 0, VK_FORMAT_R32G32_SFLOAT, 24 },
   };
   const VkPipelineVertexInputStateCreateInfo vi = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO, .vertexBindingDescriptionCount = 1,
      .pVertexBindingDescriptions = &vb, .vertexAttributeDescriptionCount = 3, .pVertexAttributeDescriptions = attrs,
   };
   const VkPipelineInputAssemblyStateCreateInfo ia = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
      .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
   };
   const VkPipelineViewportStateCreateInfo vp = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, .viewportCount = 1, .scissorCount = 1,
   };
   const VkPipelineRasterizationStateCreateInfo rs = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO, .polygonMode = VK_POLYGON_MODE_FILL,
      .cullMode = VK_CULL_MODE_NONE, .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE, .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo ms = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
      .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   /* Blended, so that every draw of the frame shows in the hash. */
   const VkPipelineColorBlendAttachmentState blend = {
      .blendEnable = VK_TRUE, .srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA,
      .dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA, .colorBlendOp = VK_BLEND_OP_ADD,
      .srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE, .dstAlphaBlendFactor = VK_BLEND_FACTOR_ZERO,
      .alphaBlendOp = VK_BLEND_OP_ADD, .colorWriteMask = 0xf,
   };
   const VkPipelineColorBlendStateCreateInfo cb = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO, .attachmentCount = 1,
      .pAttachments = &blend,
   };
   const VkPipelineDepthStencilStateCreateInfo dss = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO, .depthTestEnable = VK_TRUE,
      .depthWriteEnable = VK_TRUE, .depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL, .maxDepthBounds = 1.0f,
   };
   const VkDynamicState dyn[2] = { VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR };
   const VkPipelineDynamicStateCreateInfo ds = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO, .dynamicStateCount = 2, .pDynamicStates = dyn,
   };
   const VkGraphicsPipelineCreateInfo gpi = {
      .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO, .stageCount = 2, .pStages = stages,
      .pVertexInputState = &vi, .pInputAssemblyState = &ia, .pViewportState = &vp, .pRasterizationState = &rs,
      .pMultisampleState = &ms, .pDepthStencilState = opt_depth ? &dss : NULL, .pColorBlendState = &cb, .pDynamicState = &ds, .layout = s->layout,
      .renderPass = s->pass,
   };
   CHECK(vkCreateGraphicsPipelines(t->device, VK_NULL_HANDLE, 1, &gpi, NULL, &s->pipeline));
   vkDestroyShaderModule(t->device, vs, NULL);
   vkDestroyShaderModule(t->device, fs, NULL);
}

static void
scene_fini(struct vkt *t, struct scene *s)
{
   vkDestroyPipeline(t->device, s->pipeline, NULL);
   vkDestroyRenderPass(t->device, s->pass, NULL);
   vkDestroyDescriptorPool(t->device, s->pool, NULL);
   vkDestroyPipelineLayout(t->device, s->layout, NULL);
   vkDestroyDescriptorSetLayout(t->device, s->set_layout, NULL);
   vkDestroySampler(t->device, s->sampler, NULL);
   vkt_image_destroy(t, &s->texture);
   vkt_buffer_destroy(t, &s->uniforms);
   vkt_buffer_destroy(t, &s->indices);
   vkt_buffer_destroy(t, &s->vertices);
   vkDestroyCommandPool(t->device, s->cmd_pool, NULL);
}

/* A LINEAR color target with a view, in device-local memory where allowed. */
static void
linear_target(struct vkt *t, uint32_t w, uint32_t h, struct vkt_image *img)
{
   memset(img, 0, sizeof(*img));
   img->format = VK_FORMAT_R8G8B8A8_UNORM;
   img->aspect = VK_IMAGE_ASPECT_COLOR_BIT;
   img->width = w;
   img->height = h;
   const VkImageCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = img->format,
      .extent = { w, h, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT,
      .tiling = VK_IMAGE_TILING_LINEAR,
      .usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   CHECK(vkCreateImage(t->device, &ici, NULL, &img->image));
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(t->device, img->image, &req);
   int type = vkt_memory_type(t, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
   if (type < 0)
      type = vkt_memory_type(t, req.memoryTypeBits, 0);
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type,
   };
   CHECK(vkAllocateMemory(t->device, &mai, NULL, &img->memory));
   CHECK(vkBindImageMemory(t->device, img->image, img->memory, 0));
   const VkImageViewCreateInfo vci = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO, .image = img->image, .viewType = VK_IMAGE_VIEW_TYPE_2D,
      .format = img->format, .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
   };
   CHECK(vkCreateImageView(t->device, &vci, NULL, &img->view));
}

static void
record_frame(struct scene *s, VkCommandBuffer cmd, VkFramebuffer fb, uint32_t w, uint32_t h)
{
   const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   CHECK(vkBeginCommandBuffer(cmd, &bi));
   const VkClearValue clear[2] = { { .color = { .float32 = { 0.1f, 0.1f, 0.2f, 1.0f } } },
                                   { .depthStencil = { 1.0f, 0 } } };
   const VkRenderPassBeginInfo rbi = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO, .renderPass = s->pass, .framebuffer = fb,
      .renderArea = { { 0, 0 }, { w, h } }, .clearValueCount = opt_depth ? 2 : 1, .pClearValues = clear,
   };
   vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->pipeline);
   const VkViewport viewport = { 0, 0, (float)w, (float)h, 0, 1 };
   const VkRect2D scissor = { { 0, 0 }, { w, h } };
   vkCmdSetViewport(cmd, 0, 1, &viewport);
   vkCmdSetScissor(cmd, 0, 1, &scissor);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, s->layout, 0, 1, &s->set, 0, NULL);
   const VkDeviceSize zero = 0;
   vkCmdBindVertexBuffers(cmd, 0, 1, &s->vertices.buffer, &zero);
   vkCmdBindIndexBuffer(cmd, s->indices.buffer, 0, VK_INDEX_TYPE_UINT32);
   for (uint32_t d = 0; d < DRAWS; d++) {
      /* Each draw rotated and shrunk a little more, half textured. */
      float a = 0.2f * (float)d, k = 0.6f - 0.02f * (float)d;
      float c = k * (1 - a * a / 2), sn = k * (a - a * a * a / 6);
      const struct push p = { { c, sn, -sn, c }, { 0, 0, 0, (d & 1) ? 1.0f : 0.25f } };
      vkCmdPushConstants(cmd, s->layout, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                         sizeof(p), &p);
      vkCmdDrawIndexed(cmd, s->index_count, 1, 0, 0, 0);
   }
   vkCmdEndRenderPass(cmd);
   CHECK(vkEndCommandBuffer(cmd));
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
   uint64_t h = 0xcbf29ce484222325ull;
   for (size_t i = 0; i < n; i++)
      h = (h ^ p[i]) * 0x100000001b3ull;
   return h;
}

static void
run_size(struct vkt *t, struct scene *s, uint32_t w, uint32_t h, double seconds, uint32_t in_flight)
{
   const char *what = "";
   struct vkt_image targets[MAX_IN_FLIGHT], depths[MAX_IN_FLIGHT];
   VkFramebuffer fbs[MAX_IN_FLIGHT];
   VkCommandBuffer cmds[MAX_IN_FLIGHT];
   VkFence fences[MAX_IN_FLIGHT];
   VkSemaphore sems[MAX_IN_FLIGHT];
   const VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = s->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = in_flight,
   };
   CHECK(vkAllocateCommandBuffers(t->device, &ai, cmds));
   for (uint32_t i = 0; i < in_flight; i++) {
      if (opt_linear) {
         linear_target(t, w, h, &targets[i]);
      } else {
         VkResult r = vkt_image_create(t, VK_FORMAT_R8G8B8A8_UNORM, w, h, VK_SAMPLE_COUNT_1_BIT,
                                       VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                       &targets[i], &what);
         if (r != VK_SUCCESS)
            die(what, r);
      }
      const VkSemaphoreCreateInfo semi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
      CHECK(vkCreateSemaphore(t->device, &semi, NULL, &sems[i]));
      VkImageView views[2] = { targets[i].view, VK_NULL_HANDLE };
      if (opt_depth) {
         VkResult r = vkt_image_create(t, VK_FORMAT_D32_SFLOAT, w, h, VK_SAMPLE_COUNT_1_BIT,
                                       VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, &depths[i], &what);
         if (r != VK_SUCCESS)
            die(what, r);
         views[1] = depths[i].view;
      }
      const VkFramebufferCreateInfo fci = {
         .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO, .renderPass = s->pass,
         .attachmentCount = opt_depth ? 2 : 1, .pAttachments = views, .width = w, .height = h, .layers = 1,
      };
      CHECK(vkCreateFramebuffer(t->device, &fci, NULL, &fbs[i]));
      record_frame(s, cmds[i], fbs[i], w, h);
      const VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
                                     .flags = VK_FENCE_CREATE_SIGNALED_BIT };
      CHECK(vkCreateFence(t->device, &fi, NULL, &fences[i]));
   }

   /* A few untimed frames first (pipeline and memory warm-up). */
   uint64_t frame = 0, timed = 0;
   double start = 0, end = 0;
   /* Time in the driver's fence wait and submit over the timed frames: where
    * a frame's time goes natively and, through the server, on the guest. */
   double wait_ms = 0, submit_ms = 0, late_ms = -1;
   const uint32_t warmup = 10;
   for (;;) {
      uint32_t slot = (uint32_t)(frame % in_flight);
      const double w0 = vkt_now_ms();
      CHECK(vkWaitForFences(t->device, 1, &fences[slot], VK_TRUE, 20000000000ull));
      if (frame > warmup)
         wait_ms += vkt_now_ms() - w0;
      if (frame == warmup && opt_start_at_ms > 0) {
         /* Idle at the start line: the warm-up's frames all done. */
         CHECK(vkWaitForFences(t->device, in_flight, fences, VK_TRUE, 20000000000ull));
         late_ms = wait_for_start();
         opt_start_at_ms = 0;
      }
      if (frame == warmup)
         start = vkt_now_ms();
      if (frame > warmup) {
         end = vkt_now_ms();
         timed = frame - warmup;
         if (end - start >= seconds * 1000.0)
            break;
      }
      CHECK(vkResetFences(t->device, 1, &fences[slot]));
      const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
      if (opt_semaphore) {
         const VkSubmitInfo sig = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .signalSemaphoreCount = 1, .pSignalSemaphores = &sems[slot],
         };
         CHECK(vkQueueSubmit(t->queues[0], 1, &sig, VK_NULL_HANDLE));
      }
      const VkSubmitInfo si = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmds[slot],
         .waitSemaphoreCount = opt_semaphore ? 1 : 0, .pWaitSemaphores = &sems[slot], .pWaitDstStageMask = &stage,
      };
      const double s0 = vkt_now_ms();
      CHECK(vkQueueSubmit(t->queues[0], 1, &si, fences[slot]));
      if (frame >= warmup)
         submit_ms += vkt_now_ms() - s0;
      frame++;
   }
   CHECK(vkWaitForFences(t->device, in_flight, fences, VK_TRUE, 20000000000ull));

   /* Read back the last frame's image (the slot before `frame`). */
   uint32_t last = (uint32_t)((frame - 1) % in_flight);
   struct vkt_buffer rb;
   CHECK(vkt_buffer_create_usage(t, (VkDeviceSize)w * h * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &rb, &what));
   VkCommandBuffer copy;
   const VkCommandBufferAllocateInfo ai1 = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = s->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   CHECK(vkAllocateCommandBuffers(t->device, &ai1, &copy));
   const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   CHECK(vkBeginCommandBuffer(copy, &bi));
   vkt_image_to_buffer(copy, &targets[last], rb.buffer, 0);
   const VkMemoryBarrier host = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                  .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                  .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
   vkCmdPipelineBarrier(copy, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, NULL,
                        0, NULL);
   CHECK(vkEndCommandBuffer(copy));
   CHECK(vkResetFences(t->device, 1, &fences[0]));
   CHECK(vkt_submit_wait(t, copy, fences[0], &what));
   uint64_t hash = fnv1a((const uint8_t *)rb.map, (size_t)w * h * 4);

   double ms = end - start;
   printf("render %ux%u: FPS: %.1f frame_ms: %.3f frames: %llu hash: %016llx wait_us: %.1f submit_us: %.1f", w, h,
          timed * 1000.0 / ms, ms / (double)timed, (unsigned long long)timed, (unsigned long long)hash,
          wait_ms * 1000.0 / (double)timed, submit_ms * 1000.0 / (double)timed);
   if (late_ms >= 0)
      printf(" late_ms: %.1f", late_ms);
   printf("\n");
   fflush(stdout);

   vkFreeCommandBuffers(t->device, s->cmd_pool, 1, &copy);
   vkt_buffer_destroy(t, &rb);
   vkFreeCommandBuffers(t->device, s->cmd_pool, in_flight, cmds);
   for (uint32_t i = 0; i < in_flight; i++) {
      vkDestroyFence(t->device, fences[i], NULL);
      vkDestroySemaphore(t->device, sems[i], NULL);
      vkDestroyFramebuffer(t->device, fbs[i], NULL);
      vkt_image_destroy(t, &targets[i]);
      if (opt_depth)
         vkt_image_destroy(t, &depths[i]);
   }
}

int
main(int argc, char **argv)
{
   double seconds = 2.0;
   uint32_t in_flight = 2;
   uint32_t sizes[16][2];
   uint32_t nsizes = 0;
   for (int i = 1; i < argc; i++) {
      unsigned w, h;
      if (!strcmp(argv[i], "--linear")) {
         opt_linear = true;
      } else if (!strcmp(argv[i], "--depth")) {
         opt_depth = true;
      } else if (!strcmp(argv[i], "--semaphore")) {
         opt_semaphore = true;
      } else if (!strcmp(argv[i], "--start-at") && i + 1 < argc) {
         opt_start_at_ms = atof(argv[++i]);
      } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
         seconds = atof(argv[++i]);
      } else if (!strcmp(argv[i], "--frames-in-flight") && i + 1 < argc) {
         in_flight = (uint32_t)atoi(argv[++i]);
         if (in_flight < 1 || in_flight > MAX_IN_FLIGHT) {
            fprintf(stderr, "render_bench: frames in flight: 1 to %d\n", MAX_IN_FLIGHT);
            return 2;
         }
      } else if (sscanf(argv[i], "%ux%u", &w, &h) == 2 && w && h && w <= 16384 && h <= 16384 && nsizes < 16) {
         sizes[nsizes][0] = w;
         sizes[nsizes][1] = h;
         nsizes++;
      } else {
         fprintf(stderr, "usage: render_bench [--seconds S] [--frames-in-flight N] [--linear] [--depth] [--semaphore] "
                         "[--start-at UNIX_MS] [WxH...]\n");
         return 2;
      }
   }
   if (!nsizes) {
      static const uint32_t defaults[4][2] = { { 320, 240 }, { 1280, 720 }, { 1920, 1080 }, { 3840, 2160 } };
      memcpy(sizes, defaults, sizeof(defaults));
      nsizes = 4;
   }

   struct vkt t = { 0 };
   if (!vkt_init(&t, 1, NULL))
      return 1;
   if (!(t.queue_flags & VK_QUEUE_GRAPHICS_BIT)) {
      fprintf(stderr, "render_bench: queue family %u has no graphics\n", t.families[0]);
      return 1;
   }
   printf("# device %s\n", t.props.deviceName);
   struct scene s = { 0 };
   scene_init(&t, &s);
   for (uint32_t i = 0; i < nsizes; i++)
      run_size(&t, &s, sizes[i][0], sizes[i][1], seconds, in_flight);
   scene_fini(&t, &s);
   vkt_fini(&t);
   return 0;
}

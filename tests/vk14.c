/* SPDX-License-Identifier: MIT */
/* A Vulkan 1.4 client: commands that only a 1.4 device (or its newest
 * extensions) has, each changing what it writes, so that a run through
 * venus-server can be compared byte for byte with native lavapipe.
 *
 *   vk14 --out-dir DIR
 *
 * Into a 64x64 RGBA8 image, with dynamic rendering:
 *   - two triangles indexed by uint8 indices (VK_INDEX_TYPE_UINT8, bound
 *     with vkCmdBindIndexBuffer2 and an explicit size),
 *   - a stippled Bresenham line list (vkCmdSetLineStipple, pattern 0xf0f0),
 *   - each draw's color from a uniform buffer bound with vkCmdPushDescriptorSet
 *     (core, no KHR suffix),
 *   - vkCmdSetRenderingAttachmentLocations (identity) before the draws.
 * Host image copy (VK_HOST_IMAGE_COPY, core): a pattern uploaded with
 * vkTransitionImageLayout + vkCopyMemoryToImage, read back with
 * vkCopyImageToMemory and compared.
 * Writes DIR/vk14.pam (the render) and DIR/hostcopy.bin (the readback);
 * prints "ok:"/"error:" lines and PASSED or FAILED. Exits 1 on an error, 2 if
 * the device is not Vulkan 1.4 or lacks a feature used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#include "vk14.frag.h"
#include "vk14.vert.h"

#define W 64
#define H 64

/* The 1.4 entry points, from the device: a loader older than 1.4 (bookworm's)
 * exports none of them. */
static PFN_vkCmdPushDescriptorSet push_descriptor_set;
static PFN_vkCmdSetLineStipple set_line_stipple;
static PFN_vkCmdBindIndexBuffer2 bind_index_buffer2;
static PFN_vkCmdSetRenderingAttachmentLocations set_attachment_locations;
static PFN_vkTransitionImageLayout transition_image_layout;
static PFN_vkCopyMemoryToImage copy_memory_to_image;
static PFN_vkCopyImageToMemory copy_image_to_memory;

static bool
load_1_4(struct vkt *t)
{
#define LOAD(var, name) var = (__typeof__(var))vkGetDeviceProcAddr(t->device, name); \
   if (!var) { vkt_error(t, "no %s", name); return false; }
   LOAD(push_descriptor_set, "vkCmdPushDescriptorSet");
   LOAD(set_line_stipple, "vkCmdSetLineStipple");
   LOAD(bind_index_buffer2, "vkCmdBindIndexBuffer2");
   LOAD(set_attachment_locations, "vkCmdSetRenderingAttachmentLocations");
   LOAD(transition_image_layout, "vkTransitionImageLayout");
   LOAD(copy_memory_to_image, "vkCopyMemoryToImage");
   LOAD(copy_image_to_memory, "vkCopyImageToMemory");
#undef LOAD
   return true;
}

static int
write_file(const char *dir, const char *name, const char *header, const void *data, size_t size)
{
   char path[4096];
   snprintf(path, sizeof(path), "%s/%s", dir, name);
   FILE *f = fopen(path, "wb");
   if (!f)
      return -1;
   if (header)
      fputs(header, f);
   size_t n = fwrite(data, 1, size, f);
   return fclose(f) == 0 && n == size ? 0 : -1;
}

static VkShaderModule
shader(struct vkt *t, const uint32_t *code, size_t size)
{
   const VkShaderModuleCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code,
   };
   VkShaderModule m = VK_NULL_HANDLE;
   vkt_check(t, vkCreateShaderModule(t->device, &ci, NULL, &m), "vkCreateShaderModule");
   return m;
}

static VkPipeline
pipeline(struct vkt *t, VkPipelineLayout layout, VkShaderModule vs, VkShaderModule fs, VkPrimitiveTopology topo,
         bool stippled_lines)
{
   const VkPipelineShaderStageCreateInfo stages[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT,
        .module = vs, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
        .module = fs, .pName = "main" },
   };
   const VkVertexInputBindingDescription binding = { 0, 2 * sizeof(float), VK_VERTEX_INPUT_RATE_VERTEX };
   const VkVertexInputAttributeDescription attr = { 0, 0, VK_FORMAT_R32G32_SFLOAT, 0 };
   const VkPipelineVertexInputStateCreateInfo vi = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
      .vertexBindingDescriptionCount = 1, .pVertexBindingDescriptions = &binding,
      .vertexAttributeDescriptionCount = 1, .pVertexAttributeDescriptions = &attr,
   };
   const VkPipelineInputAssemblyStateCreateInfo ia = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO, .topology = topo,
   };
   const VkViewport vp = { 0, 0, W, H, 0, 1 };
   const VkRect2D sc = { { 0, 0 }, { W, H } };
   const VkPipelineViewportStateCreateInfo vps = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
      .viewportCount = 1, .pViewports = &vp, .scissorCount = 1, .pScissors = &sc,
   };
   const VkPipelineRasterizationLineStateCreateInfo line = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_LINE_STATE_CREATE_INFO,
      .lineRasterizationMode = VK_LINE_RASTERIZATION_MODE_BRESENHAM,
      .stippledLineEnable = VK_TRUE,
   };
   const VkPipelineRasterizationStateCreateInfo rs = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
      .pNext = stippled_lines ? &line : NULL,
      .polygonMode = VK_POLYGON_MODE_FILL, .cullMode = VK_CULL_MODE_NONE, .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo ms = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
      .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   const VkPipelineColorBlendAttachmentState blend = { .colorWriteMask = 0xf };
   const VkPipelineColorBlendStateCreateInfo cb = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
      .attachmentCount = 1, .pAttachments = &blend,
   };
   const VkDynamicState dyn_states[] = { VK_DYNAMIC_STATE_LINE_STIPPLE };
   const VkPipelineDynamicStateCreateInfo dyn = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
      .dynamicStateCount = stippled_lines ? 1 : 0, .pDynamicStates = dyn_states,
   };
   const VkFormat color = VK_FORMAT_R8G8B8A8_UNORM;
   const VkPipelineRenderingCreateInfo rendering = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO,
      .colorAttachmentCount = 1, .pColorAttachmentFormats = &color,
   };
   const VkGraphicsPipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO, .pNext = &rendering,
      .stageCount = 2, .pStages = stages, .pVertexInputState = &vi, .pInputAssemblyState = &ia,
      .pViewportState = &vps, .pRasterizationState = &rs, .pMultisampleState = &ms, .pColorBlendState = &cb,
      .pDynamicState = &dyn, .layout = layout,
   };
   VkPipeline p = VK_NULL_HANDLE;
   vkt_check(t, vkCreateGraphicsPipelines(t->device, VK_NULL_HANDLE, 1, &ci, NULL, &p), "vkCreateGraphicsPipelines");
   return p;
}

/* Pushes the uniform buffer's color `index` as set 0 binding 0. */
static void
push_color(VkCommandBuffer cmd, VkPipelineLayout layout, VkBuffer ubo, uint32_t index)
{
   const VkDescriptorBufferInfo info = { ubo, index * 256, 16 };
   const VkWriteDescriptorSet write = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = 0, .descriptorCount = 1,
      .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .pBufferInfo = &info,
   };
   push_descriptor_set(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout, 0, 1, &write);
}

/* vkTransitionImageLayout + vkCopyMemoryToImage a pattern, then
 * vkCopyImageToMemory it back; returns the readback (W*H*4 bytes) or NULL. */
static uint8_t *
host_copy(struct vkt *t)
{
   struct vkt_image img;
   const char *what = "image";
   if (!vkt_check(t, vkt_image_create(t, VK_FORMAT_R8G8B8A8_UNORM, W, H, VK_SAMPLE_COUNT_1_BIT,
                                      VK_IMAGE_USAGE_HOST_TRANSFER_BIT | VK_IMAGE_USAGE_SAMPLED_BIT, &img, &what),
                  what))
      return NULL;
   const VkHostImageLayoutTransitionInfo transition = {
      .sType = VK_STRUCTURE_TYPE_HOST_IMAGE_LAYOUT_TRANSITION_INFO, .image = img.image,
      .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED, .newLayout = VK_IMAGE_LAYOUT_GENERAL,
      .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
   };
   uint8_t *in = malloc(W * H * 4), *out = calloc(1, W * H * 4);
   bool ok = in && out && vkt_check(t, transition_image_layout(t->device, 1, &transition), "vkTransitionImageLayout");
   for (uint32_t i = 0; in && i < W * H * 4; i++)
      in[i] = (uint8_t)(i * 7 + (i >> 8));
   /* The upload in two regions, the left half rows with a row pitch of W
    * texels (memoryRowLength), so that regions and row lengths matter. */
   const VkMemoryToImageCopy up[2] = {
      { .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY, .pHostPointer = in, .memoryRowLength = W,
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { W / 2, H, 1 } },
      { .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY, .pHostPointer = in + W / 2 * 4, .memoryRowLength = W,
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageOffset = { W / 2, 0, 0 },
        .imageExtent = { W / 2, H, 1 } },
   };
   const VkCopyMemoryToImageInfo up_info = {
      .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO, .dstImage = img.image,
      .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL, .regionCount = 2, .pRegions = up,
   };
   ok = ok && vkt_check(t, copy_memory_to_image(t->device, &up_info), "vkCopyMemoryToImage (2 regions)");
   const VkImageToMemoryCopy down = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY, .pHostPointer = out,
      .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { W, H, 1 },
   };
   const VkCopyImageToMemoryInfo down_info = {
      .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO, .srcImage = img.image,
      .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL, .regionCount = 1, .pRegions = &down,
   };
   ok = ok && vkt_check(t, copy_image_to_memory(t->device, &down_info), "vkCopyImageToMemory");
   if (ok) {
      if (memcmp(in, out, W * H * 4) == 0)
         vkt_ok(t, "host image copy: %u bytes read back as uploaded", W * H * 4);
      else
         vkt_error(t, "host image copy: the readback differs from the upload");
   }
   vkt_image_destroy(t, &img);
   free(in);
   if (!ok) {
      free(out);
      return NULL;
   }
   return out;
}

int
main(int argc, char **argv)
{
   const char *out_dir = NULL;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--out-dir") && i + 1 < argc)
         out_dir = argv[++i];
   }
   if (!out_dir) {
      fprintf(stderr, "usage: %s --out-dir DIR\n", argv[0]);
      return 2;
   }
   struct vkt t;
   if (!vkt_init_instance(&t, VK_API_VERSION_1_4))
      return 1;
   uint32_t api = t.props.apiVersion;
   printf("device: %s, apiVersion %u.%u.%u\n", t.props.deviceName, VK_API_VERSION_MAJOR(api),
          VK_API_VERSION_MINOR(api), VK_API_VERSION_PATCH(api));
   VkPhysicalDeviceVulkan14Features f14 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES };
   VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
                                            .pNext = &f14 };
   VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f13 };
   if (api >= VK_API_VERSION_1_4)
      vkGetPhysicalDeviceFeatures2(t.phys, &f2);
   if (api < VK_API_VERSION_1_4 || !f14.pushDescriptor || !f14.indexTypeUint8 || !f14.stippledBresenhamLines ||
       !f14.hostImageCopy || !f14.dynamicRenderingLocalRead || !f13.dynamicRendering) {
      printf("UNSUPPORTED: needs Vulkan 1.4 with pushDescriptor %u, indexTypeUint8 %u, stippledBresenhamLines %u, "
             "hostImageCopy %u, dynamicRenderingLocalRead %u\n",
             f14.pushDescriptor, f14.indexTypeUint8, f14.stippledBresenhamLines, f14.hostImageCopy,
             f14.dynamicRenderingLocalRead);
      return 2;
   }
   VkPhysicalDeviceVulkan14Features en14 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES,
      .pushDescriptor = VK_TRUE, .indexTypeUint8 = VK_TRUE, .bresenhamLines = VK_TRUE,
      .stippledBresenhamLines = VK_TRUE, .hostImageCopy = VK_TRUE, .dynamicRenderingLocalRead = VK_TRUE,
      .maintenance5 = f14.maintenance5,
   };
   VkPhysicalDeviceVulkan13Features en13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
                                             .pNext = &en14, .dynamicRendering = VK_TRUE };
   if (!vkt_init_device(&t, 1, &en13, 0, NULL) || !load_1_4(&t))
      return 1;

   uint8_t *readback = host_copy(&t);

   struct vkt_image target;
   struct vkt_buffer vbo, ibo, ubo, rb;
   const char *what = "setup";
   bool ok = vkt_check(&t, vkt_image_create(&t, VK_FORMAT_R8G8B8A8_UNORM, W, H, VK_SAMPLE_COUNT_1_BIT,
                                            VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                            &target, &what), what) &&
             vkt_check(&t, vkt_buffer_create_usage(&t, 4096, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, &vbo, &what), what) &&
             vkt_check(&t, vkt_buffer_create_usage(&t, 256, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, &ibo, &what), what) &&
             vkt_check(&t, vkt_buffer_create_usage(&t, 1024, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, &ubo, &what), what) &&
             vkt_check(&t, vkt_buffer_create_usage(&t, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &rb, &what), what);
   if (!ok)
      return 1;
   /* Vertices 0-3: a quad; 4-11: four diagonal and crossing lines. */
   const float verts[] = { -0.8f, -0.8f, 0.2f, -0.8f, -0.8f, 0.2f, 0.2f, 0.2f,
                           -0.9f, 0.9f, 0.9f, -0.9f, -0.9f, 0.5f, 0.9f, 0.5f,
                           0.5f, -0.9f, 0.5f, 0.9f, -0.95f, -0.95f, 0.95f, 0.95f };
   memcpy(vbo.map, verts, sizeof(verts));
   /* uint8 indices, offset 3 into the buffer: two triangles of the quad. */
   const uint8_t idx[] = { 0xee, 0xee, 0xee, 0, 1, 2, 2, 1, 3 };
   memcpy(ibo.map, idx, sizeof(idx));
   const float colors[3][4] = { { 1, 0.5f, 0.25f, 1 }, { 0.1f, 0.9f, 0.3f, 1 }, { 0.2f, 0.3f, 1, 1 } };
   for (int i = 0; i < 3; i++)
      memcpy((uint8_t *)ubo.map + i * 256, colors[i], 16);

   const VkDescriptorSetLayoutBinding b = { 0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, NULL };
   const VkDescriptorSetLayoutCreateInfo slci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT, .bindingCount = 1, .pBindings = &b,
   };
   VkDescriptorSetLayout set_layout;
   VkPipelineLayout layout;
   vkt_check(&t, vkCreateDescriptorSetLayout(t.device, &slci, NULL, &set_layout), "push descriptor set layout");
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &set_layout,
   };
   vkt_check(&t, vkCreatePipelineLayout(t.device, &plci, NULL, &layout), "vkCreatePipelineLayout");
   VkShaderModule vs = shader(&t, vk14_vert_spv, sizeof(vk14_vert_spv));
   VkShaderModule fs = shader(&t, vk14_frag_spv, sizeof(vk14_frag_spv));
   VkPipeline tris = pipeline(&t, layout, vs, fs, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST, false);
   VkPipeline lines = pipeline(&t, layout, vs, fs, VK_PRIMITIVE_TOPOLOGY_LINE_LIST, true);

   VkCommandPool pool;
   VkCommandBuffer cmd;
   VkFence fence;
   const VkCommandPoolCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = t.families[0],
   };
   vkt_check(&t, vkCreateCommandPool(t.device, &cpci, NULL, &pool), "vkCreateCommandPool");
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   vkt_check(&t, vkAllocateCommandBuffers(t.device, &cbai, &cmd), "vkAllocateCommandBuffers");
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   vkt_check(&t, vkCreateFence(t.device, &fci, NULL, &fence), "vkCreateFence");
   if (t.failures)
      return 1;

   const VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   vkBeginCommandBuffer(cmd, &begin);
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                     VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                     VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
   const VkRenderingAttachmentInfo color = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO, .imageView = target.view,
      .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_STORE, .clearValue = { .color = { { 0.05f, 0.05f, 0.1f, 1 } } },
   };
   const VkRenderingInfo ri = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_INFO, .renderArea = { { 0, 0 }, { W, H } }, .layerCount = 1,
      .colorAttachmentCount = 1, .pColorAttachments = &color,
   };
   vkCmdBeginRendering(cmd, &ri);
   const uint32_t location = 0;
   const VkRenderingAttachmentLocationInfo loc = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_LOCATION_INFO, .colorAttachmentCount = 1,
      .pColorAttachmentLocations = &location,
   };
   set_attachment_locations(cmd, &loc);
   const VkDeviceSize zero = 0;
   vkCmdBindVertexBuffers(cmd, 0, 1, &vbo.buffer, &zero);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, tris);
   push_color(cmd, layout, ubo.buffer, 0);
   bind_index_buffer2(cmd, ibo.buffer, 3, 6, VK_INDEX_TYPE_UINT8);
   vkCmdDrawIndexed(cmd, 6, 1, 0, 0, 0);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, lines);
   push_color(cmd, layout, ubo.buffer, 1);
   set_line_stipple(cmd, 2, 0xf0f0);
   vkCmdDraw(cmd, 4, 1, 4, 0);
   push_color(cmd, layout, ubo.buffer, 2);
   set_line_stipple(cmd, 1, 0x3333);
   vkCmdDraw(cmd, 4, 1, 8, 0);
   vkCmdEndRendering(cmd);
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   vkt_image_to_buffer(cmd, &target, rb.buffer, 0);
   vkt_check(&t, vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
   if (vkt_check(&t, vkt_submit_wait(&t, cmd, fence, &what), "render submit")) {
      const uint8_t *px = (const uint8_t *)rb.map;
      uint32_t lit = 0;
      for (uint32_t i = 0; i < W * H; i++)
         lit += px[i * 4 + 1] > 0x80 || px[i * 4] > 0x80 || px[i * 4 + 2] > 0x80;
      if (lit > 100 && lit < W * H / 2)
         vkt_ok(&t, "render: %u of %u pixels drawn", lit, W * H);
      else
         vkt_error(&t, "render: %u of %u pixels drawn (expected a quad and stippled lines)", lit, W * H);
      char header[128];
      snprintf(header, sizeof(header), "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", W,
               H);
      if (write_file(out_dir, "vk14.pam", header, rb.map, W * H * 4))
         vkt_error(&t, "cannot write %s/vk14.pam", out_dir);
   }
   if (readback && write_file(out_dir, "hostcopy.bin", NULL, readback, W * H * 4))
      vkt_error(&t, "cannot write %s/hostcopy.bin", out_dir);
   free(readback);

   vkDeviceWaitIdle(t.device);
   vkDestroyFence(t.device, fence, NULL);
   vkDestroyCommandPool(t.device, pool, NULL);
   vkDestroyPipeline(t.device, tris, NULL);
   vkDestroyPipeline(t.device, lines, NULL);
   vkDestroyShaderModule(t.device, vs, NULL);
   vkDestroyShaderModule(t.device, fs, NULL);
   vkDestroyPipelineLayout(t.device, layout, NULL);
   vkDestroyDescriptorSetLayout(t.device, set_layout, NULL);
   vkt_buffer_destroy(&t, &vbo);
   vkt_buffer_destroy(&t, &ibo);
   vkt_buffer_destroy(&t, &ubo);
   vkt_buffer_destroy(&t, &rb);
   vkt_image_destroy(&t, &target);
   vkt_fini(&t);
   printf("%s: %d error(s)\n", t.failures ? "FAILED" : "PASSED", t.failures);
   return t.failures ? 1 : 0;
}

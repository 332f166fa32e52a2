/* SPDX-License-Identifier: MIT */
/* Mesh shading (VK_EXT_mesh_shader) through venus-server, compared byte
 * for byte with native:
 *
 *   vk_mesh --out-dir DIR
 *
 * A mesh-only pipeline (no task shader) whose 16 workgroups each emit one
 * triangle with a per-primitive color, drawn into a 64x64 RGBA8 image with
 * vkCmdDrawMeshTasksEXT (the first 8) then vkCmdDrawMeshTasksIndirectEXT
 * (all 16, from an indirect buffer at offset 16).
 * Writes DIR/mesh.pam; prints "ok:"/"error:" lines and PASSED or FAILED.
 * Exits 1 on an error, 2 if the device lacks mesh shaders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#include "mesh.frag.h"
#include "mesh.mesh.h"

#define W 64
#define H 64

static PFN_vkCmdDrawMeshTasksEXT draw_mesh_tasks;
static PFN_vkCmdDrawMeshTasksIndirectEXT draw_mesh_tasks_indirect;

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
   if (!vkt_init_instance(&t, VK_API_VERSION_1_3))
      return 1;
   static const char *const exts[] = { "VK_EXT_mesh_shader" };
   VkPhysicalDeviceMeshShaderFeaturesEXT msf = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MESH_SHADER_FEATURES_EXT };
   VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .pNext = &msf };
   VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f13 };
   /* Name what is missing: a SKIP line must say which side lacks what. */
   const char *lacks = t.props.apiVersion < VK_API_VERSION_1_3       ? "Vulkan 1.3"
                       : !vkt_has_device_extension(&t, exts[0]) ? exts[0]
                                                                 : NULL;
   if (!lacks) {
      vkGetPhysicalDeviceFeatures2(t.phys, &f2);
      lacks = !msf.meshShader ? "meshShader" : !f13.dynamicRendering ? "dynamicRendering" : NULL;
   }
   if (lacks) {
      printf("UNSUPPORTED: needs %s (of Vulkan 1.3 and VK_EXT_mesh_shader with meshShader) on %s\n", lacks,
             t.props.deviceName);
      return 2;
   }
   VkPhysicalDeviceMeshShaderFeaturesEXT en_ms = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MESH_SHADER_FEATURES_EXT, .meshShader = VK_TRUE,
   };
   VkPhysicalDeviceVulkan13Features en13 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .pNext = &en_ms, .dynamicRendering = VK_TRUE,
   };
   if (!vkt_init_device(&t, 1, &en13, 1, exts))
      return 1;
   draw_mesh_tasks = (PFN_vkCmdDrawMeshTasksEXT)vkGetDeviceProcAddr(t.device, "vkCmdDrawMeshTasksEXT");
   draw_mesh_tasks_indirect =
      (PFN_vkCmdDrawMeshTasksIndirectEXT)vkGetDeviceProcAddr(t.device, "vkCmdDrawMeshTasksIndirectEXT");
   if (!draw_mesh_tasks || !draw_mesh_tasks_indirect) {
      vkt_error(&t, "no vkCmdDrawMeshTasksEXT");
      return 1;
   }

   struct vkt_image target;
   struct vkt_buffer readback, indirect;
   const char *what = "setup";
   if (!vkt_check(&t, vkt_image_create(&t, VK_FORMAT_R8G8B8A8_UNORM, W, H, VK_SAMPLE_COUNT_1_BIT,
                                       VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                       &target, &what), what) ||
       !vkt_check(&t, vkt_buffer_create_usage(&t, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &readback, &what), what) ||
       !vkt_check(&t, vkt_buffer_create_usage(&t, 64, VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, &indirect, &what), what))
      return 1;
   const VkDrawMeshTasksIndirectCommandEXT indirect_draw = { 16, 1, 1 };
   memcpy((uint8_t *)indirect.map + 16, &indirect_draw, sizeof(indirect_draw));

   VkShaderModule ms = shader(&t, mesh_mesh_spv, sizeof(mesh_mesh_spv));
   VkShaderModule fs = shader(&t, mesh_frag_spv, sizeof(mesh_frag_spv));
   const VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO };
   VkPipelineLayout layout;
   vkt_check(&t, vkCreatePipelineLayout(t.device, &plci, NULL, &layout), "vkCreatePipelineLayout");
   const VkPipelineShaderStageCreateInfo stages[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_MESH_BIT_EXT,
        .module = ms, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
        .module = fs, .pName = "main" },
   };
   const VkViewport vp = { 0, 0, W, H, 0, 1 };
   const VkRect2D sc = { { 0, 0 }, { W, H } };
   const VkPipelineViewportStateCreateInfo vps = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
      .viewportCount = 1, .pViewports = &vp, .scissorCount = 1, .pScissors = &sc,
   };
   const VkPipelineRasterizationStateCreateInfo rs = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
      .polygonMode = VK_POLYGON_MODE_FILL, .cullMode = VK_CULL_MODE_NONE, .lineWidth = 1.0f,
   };
   const VkPipelineMultisampleStateCreateInfo mss = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO, .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT,
   };
   const VkPipelineColorBlendAttachmentState blend = { .colorWriteMask = 0xf };
   const VkPipelineColorBlendStateCreateInfo cb = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO, .attachmentCount = 1, .pAttachments = &blend,
   };
   const VkFormat color = VK_FORMAT_R8G8B8A8_UNORM;
   const VkPipelineRenderingCreateInfo rendering = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO, .colorAttachmentCount = 1, .pColorAttachmentFormats = &color,
   };
   const VkGraphicsPipelineCreateInfo gpci = {
      .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO, .pNext = &rendering, .stageCount = 2, .pStages = stages,
      .pViewportState = &vps, .pRasterizationState = &rs, .pMultisampleState = &mss, .pColorBlendState = &cb,
      .layout = layout,
   };
   VkPipeline pipeline = VK_NULL_HANDLE;
   if (!vkt_check(&t, vkCreateGraphicsPipelines(t.device, VK_NULL_HANDLE, 1, &gpci, NULL, &pipeline),
                  "vkCreateGraphicsPipelines (mesh)"))
      return 1;

   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = t.families[0],
   };
   VkCommandPool pool;
   VkCommandBuffer cmd;
   VkFence fence;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   vkt_check(&t, vkCreateCommandPool(t.device, &pci, NULL, &pool), "vkCreateCommandPool");
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   vkt_check(&t, vkAllocateCommandBuffers(t.device, &cai, &cmd), "vkAllocateCommandBuffers");
   vkt_check(&t, vkCreateFence(t.device, &fci, NULL, &fence), "vkCreateFence");
   const VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   vkt_check(&t, vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                     VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                     VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT);
   const VkRenderingAttachmentInfo att = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO, .imageView = target.view,
      .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_STORE, .clearValue.color.float32 = { 0.05f, 0.05f, 0.05f, 1 },
   };
   const VkRenderingInfo ri = {
      .sType = VK_STRUCTURE_TYPE_RENDERING_INFO, .renderArea = sc, .layerCount = 1, .colorAttachmentCount = 1,
      .pColorAttachments = &att,
   };
   vkCmdBeginRendering(cmd, &ri);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
   draw_mesh_tasks(cmd, 8, 1, 1);
   draw_mesh_tasks_indirect(cmd, indirect.buffer, 16, 1, sizeof(VkDrawMeshTasksIndirectCommandEXT));
   vkCmdEndRendering(cmd);
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   vkt_image_to_buffer(cmd, &target, readback.buffer, 0);
   const VkMemoryBarrier to_host = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
   what = "draw";
   if (!vkt_check(&t, vkEndCommandBuffer(cmd), "vkEndCommandBuffer") ||
       !vkt_check(&t, vkt_submit_wait(&t, cmd, fence, &what), what))
      return 1;

   /* Every one of the 16 triangles drew its own color at its corner. A
    * channel may be either neighbour of its exact value (the spec's
    * float-to-UNORM conversion: 0.5 is 127.5), hence the slack of 1. */
   const uint8_t *px = (const uint8_t *)readback.map;
   uint32_t drawn = 0;
   char first_wrong[128] = "";
   for (uint32_t id = 0; id < 16; id++) {
      uint32_t x = (id % 4) * 16 + 3, y = (id / 4) * 16 + 3;
      const uint8_t *p = px + (y * W + x) * 4;
      const float want[4] = { (float)(id % 4) / 3.0f * 255.0f, (float)(id / 4) / 3.0f * 255.0f, 127.5f, 255.0f };
      bool match = true;
      for (int c = 0; c < 4; c++)
         match = match && p[c] >= want[c] - 1.0f && p[c] <= want[c] + 1.0f;
      if (match) {
         drawn++;
      } else if (!first_wrong[0]) {
         snprintf(first_wrong, sizeof(first_wrong), "triangle %u: pixel %u,%u is %u,%u,%u,%u, want about %.0f,%.0f,%.1f,%.0f",
                  id, x, y, p[0], p[1], p[2], p[3], want[0], want[1], want[2], want[3]);
      }
   }
   if (drawn == 16) {
      vkt_ok(&t, "mesh shader: 16 triangles, each its per-primitive color");
   } else {
      /* How many pixels differ from the corner's (the clear color, 0.05 =
       * 12.75) and where: nothing drawn, or drawn elsewhere or in other colors. */
      uint32_t covered = 0, x0 = W, y0 = H, x1 = 0, y1 = 0;
      for (uint32_t y = 0; y < H; y++) {
         for (uint32_t x = 0; x < W; x++) {
            if (!memcmp(px + (y * W + x) * 4, px, 4))
               continue;
            covered++;
            x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0, x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
         }
      }
      vkt_error(&t, "mesh shader: %u of 16 triangles have their color; first wrong: %s; corner pixel 0,0 (the clear"
                " color, about 13,13,13,255) is %u,%u,%u,%u; %u pixels differ from it, within %u,%u-%u,%u", drawn,
                first_wrong, px[0], px[1], px[2], px[3], covered, x0, y0, x1, y1);
   }
   char header[128];
   snprintf(header, sizeof(header), "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", W, H);
   if (write_file(out_dir, "mesh.pam", header, readback.map, W * H * 4))
      vkt_error(&t, "cannot write %s/mesh.pam", out_dir);

   vkDestroyPipeline(t.device, pipeline, NULL);
   vkDestroyPipelineLayout(t.device, layout, NULL);
   vkDestroyShaderModule(t.device, ms, NULL);
   vkDestroyShaderModule(t.device, fs, NULL);
   vkt_buffer_destroy(&t, &indirect);
   vkt_buffer_destroy(&t, &readback);
   vkt_image_destroy(&t, &target);
   vkDestroyFence(t.device, fence, NULL);
   vkDestroyCommandPool(t.device, pool, NULL);
   int failures = t.failures;
   vkt_fini(&t);
   printf("%s\n", failures ? "FAILED" : "PASSED");
   return failures ? 1 : 0;
}

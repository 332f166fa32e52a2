/* SPDX-License-Identifier: MIT */
/* A compute pipeline that opts out of robust buffer access
 * (VK_EXT_pipeline_robustness, storage buffers DISABLED) and reads past
 * its binding: tests/shaders/scale.comp over 256 words with its source
 * bound to the first 16 words of a 4 KiB buffer whose other words hold a
 * marker. Where robust access holds, the 240 words past the binding read
 * as zero; where the opt-out is honoured, a driver that does not check
 * bounds reads the markers beyond it.
 *
 * Usage: vk_robust
 * Prints
 *   robust: pipeline robustness opt-out: N of 240 words past the binding read as zero, M as the buffer's bytes past it
 * then PASSED or FAILED; exit 0 (77: the device has no pipeline robustness,
 * as Mesa 25's Venus driver has none; 1: a Vulkan call failed). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vk_util.h"

#define WORDS 256u
#define BOUND_WORDS 16u
#define MARKER 0x5a5a0000u

static int
fail(struct vkt *t, VkResult r, const char *what)
{
   vkt_check(t, r, what);
   vkt_fini(t);
   return 1;
}

int
main(void)
{
   struct vkt t = { 0 };
   if (!vkt_init_instance(&t, VK_API_VERSION_1_1))
      return 1;
   VkPhysicalDevicePipelineRobustnessFeaturesEXT supported = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_ROBUSTNESS_FEATURES_EXT,
   };
   VkPhysicalDeviceFeatures2 features2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                           .pNext = &supported };
   vkGetPhysicalDeviceFeatures2(t.phys, &features2);
   if (!vkt_has_device_extension(&t, VK_EXT_PIPELINE_ROBUSTNESS_EXTENSION_NAME) || !supported.pipelineRobustness) {
      printf("robust: SKIP: no VK_EXT_pipeline_robustness on this device\n");
      vkt_fini(&t);
      return 77;
   }
   const VkPhysicalDevicePipelineRobustnessFeaturesEXT enable = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_ROBUSTNESS_FEATURES_EXT,
      .pipelineRobustness = VK_TRUE,
   };
   const char *ext = VK_EXT_PIPELINE_ROBUSTNESS_EXTENSION_NAME;
   if (!vkt_init_device(&t, 1, &enable, 1, &ext))
      return 1;

   const char *what = "";
   VkResult r;
   struct vkt_buffer src = { 0 }, dst = { 0 };
   if ((r = vkt_buffer_create(&t, 4096, &src, &what)) != VK_SUCCESS ||
       (r = vkt_buffer_create(&t, WORDS * 4, &dst, &what)) != VK_SUCCESS)
      return fail(&t, r, what);
   if (!src.map || !dst.map) {
      vkt_error(&t, "the buffers are not host visible");
      vkt_fini(&t);
      return 1;
   }
   for (uint32_t i = 0; i < 1024; i++)
      src.map[i] = i < BOUND_WORDS ? i : MARKER + i;
   memset(dst.map, 0xff, WORDS * 4);

   VkDevice dev = t.device;
   /* The opt-out, on the pipeline and again on its stage. */
   const VkPipelineRobustnessCreateInfoEXT off = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_ROBUSTNESS_CREATE_INFO_EXT,
      .storageBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED_EXT,
      .uniformBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED_EXT,
      .vertexInputs = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED_EXT,
      .images = VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DISABLED_EXT,
   };
   const VkPipelineRobustnessCreateInfoEXT stage_off = off;
   struct vkt_scale s;
   if ((r = vkt_scale_init_chained(&t, &s, &off, &stage_off, &what)) != VK_SUCCESS)
      return fail(&t, r, what);
   const VkDescriptorBufferInfo infos[2] = {
      { .buffer = src.buffer, .offset = 0, .range = BOUND_WORDS * 4 },
      { .buffer = dst.buffer, .offset = 0, .range = VK_WHOLE_SIZE },
   };
   const VkWriteDescriptorSet writes[2] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s.set, .dstBinding = 0, .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[0] },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s.set, .dstBinding = 1, .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[1] },
   };
   vkUpdateDescriptorSets(dev, 2, writes, 0, NULL);

   VkCommandBuffer cmd = s.cmd;
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   vkBeginCommandBuffer(cmd, &begin);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.layout, 0, 1, &s.set, 0, NULL);
   const uint32_t params[3] = { WORDS, 1, 0 }; /* dst[i] = src[i] + i */
   vkCmdPushConstants(cmd, s.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(params), params);
   vkCmdDispatch(cmd, 1, 1, 1);
   const VkMemoryBarrier to_host = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                     .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                                     .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0,
                        NULL, 0, NULL);
   if ((r = vkEndCommandBuffer(cmd)) != VK_SUCCESS)
      return fail(&t, r, "vkEndCommandBuffer");
   if ((r = vkt_submit_wait(&t, cmd, s.fence, &what)) != VK_SUCCESS)
      return fail(&t, r, what);

   uint32_t inside = 0, zero = 0, beyond = 0;
   for (uint32_t i = 0; i < WORDS; i++) {
      const uint32_t read = dst.map[i] - i;
      if (i < BOUND_WORDS)
         inside += read == i;
      else if (read == 0)
         zero++;
      else if (read == MARKER + i)
         beyond++;
   }
   if (inside != BOUND_WORDS)
      vkt_error(&t, "%u of the %u words inside the binding read back wrong", BOUND_WORDS - inside, BOUND_WORDS);
   else
      vkt_ok(&t, "the %u words inside the binding read back", BOUND_WORDS);
   printf("robust: pipeline robustness opt-out: %u of %u words past the binding read as zero, %u as the buffer's "
          "bytes past it\n", zero, WORDS - BOUND_WORDS, beyond);

   vkt_scale_fini(&t, &s);
   vkt_buffer_destroy(&t, &src);
   vkt_buffer_destroy(&t, &dst);
   int failures = t.failures;
   vkt_fini(&t);
   printf("%s: %d error(s)\n", failures ? "FAILED" : "PASSED", failures);
   return failures ? 1 : 0;
}

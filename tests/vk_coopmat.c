/* SPDX-License-Identifier: MIT */
/* Cooperative matrices (VK_KHR_cooperative_matrix) through venus-server,
 * checked against a CPU reference and compared byte for byte with native:
 *
 *   vk_coopmat --out-dir DIR
 *
 * Picks the first subgroup-scope shape MxNxK that
 * vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR lists for float16 A
 * and B with a float32 accumulator and result (16x16x16 on NVIDIA), then
 * multiplies a (2M)x(2K) float16 matrix by a (2K)x(2N) one, each of the
 * 2x2 workgroups (one subgroup each) making one MxN tile of the float32
 * product in two MulAdds (tests/shaders/coopmat_spv.py). The inputs are
 * small integers, so every product and sum is exact: the result must equal
 * the CPU's to the bit.
 * Writes DIR/coopmat.bin (the product, row-major float32); prints
 * "ok:"/"error:" lines and PASSED or FAILED.
 * Exits 1 on an error, 2 if the device lacks cooperative matrices of that
 * kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#include "coopmat.comp.h"

/* The float16 bits of a small integer (|v| <= 2048: exact). */
static uint16_t
half_of(int v)
{
   if (v == 0)
      return 0;
   uint16_t sign = v < 0 ? 0x8000 : 0;
   unsigned m = (unsigned)(v < 0 ? -v : v);
   int e = 0;
   while ((m >> e) > 1)
      e++;
   /* m = 1.f * 2^e: 10 fraction bits, exponent bias 15. */
   uint16_t frac = (uint16_t)(((m << 10) >> e) & 0x3ff);
   return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | frac);
}

static int
a_value(uint32_t i, uint32_t k)
{
   return (int)((i * 3 + k * 5) % 7) - 3;
}

static int
b_value(uint32_t k, uint32_t j)
{
   return (int)((k * 2 + j * 7) % 5) - 2;
}

/* The first subgroup-scope float16 x float16 + float32 -> float32 shape the
 * device lists, or false. */
static bool
pick_shape(struct vkt *t, VkCooperativeMatrixPropertiesKHR *out)
{
   PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get_props =
      (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)vkGetInstanceProcAddr(
         t->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
   uint32_t n = 0;
   if (!get_props || get_props(t->phys, &n, NULL) != VK_SUCCESS || n == 0)
      return false;
   VkCooperativeMatrixPropertiesKHR *props = calloc(n, sizeof(*props));
   if (!props)
      return false;
   for (uint32_t i = 0; i < n; i++)
      props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
   bool found = false;
   if (get_props(t->phys, &n, props) == VK_SUCCESS) {
      for (uint32_t i = 0; i < n && !found; i++) {
         const VkCooperativeMatrixPropertiesKHR *p = &props[i];
         found = p->AType == VK_COMPONENT_TYPE_FLOAT16_KHR && p->BType == VK_COMPONENT_TYPE_FLOAT16_KHR &&
                 p->CType == VK_COMPONENT_TYPE_FLOAT32_KHR && p->ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR &&
                 !p->saturatingAccumulation && p->scope == VK_SCOPE_SUBGROUP_KHR && p->MSize && p->NSize &&
                 p->KSize && p->MSize <= 256 && p->NSize <= 256 && p->KSize <= 256;
         if (found)
            *out = *p;
      }
      printf("ok: %u cooperative matrix shapes listed\n", n);
   }
   free(props);
   return found;
}

static int
write_file(const char *dir, const char *name, const void *data, size_t size)
{
   char path[4096];
   snprintf(path, sizeof(path), "%s/%s", dir, name);
   FILE *f = fopen(path, "wb");
   if (!f)
      return -1;
   size_t n = fwrite(data, 1, size, f);
   return fclose(f) == 0 && n == size ? 0 : -1;
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
      return 1;
   }
   struct vkt t;
   if (!vkt_init_instance(&t, VK_API_VERSION_1_3))
      return 1;
   static const char *const exts[] = { "VK_KHR_cooperative_matrix" };
   VkPhysicalDeviceCooperativeMatrixFeaturesKHR cmf = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
   };
   VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &cmf };
   VkPhysicalDeviceVulkan11Features f11 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12 };
   VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11 };
   const char *lacks = NULL;
   if (t.props.apiVersion < VK_API_VERSION_1_3)
      lacks = "Vulkan 1.3";
   else if (!vkt_has_device_extension(&t, exts[0]))
      lacks = exts[0];
   if (!lacks) {
      vkGetPhysicalDeviceFeatures2(t.phys, &f2);
      lacks = !cmf.cooperativeMatrix           ? "cooperativeMatrix"
              : !f12.shaderFloat16             ? "shaderFloat16"
              : !f11.storageBuffer16BitAccess  ? "storageBuffer16BitAccess"
                                               : NULL;
   }
   VkPhysicalDeviceCooperativeMatrixPropertiesKHR cmp = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_KHR,
   };
   VkPhysicalDeviceVulkan11Properties p11 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES, .pNext = &cmp };
   VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &p11 };
   VkCooperativeMatrixPropertiesKHR shape = { 0 };
   if (!lacks) {
      vkGetPhysicalDeviceProperties2(t.phys, &p2);
      if (!(cmp.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT))
         lacks = "cooperative matrices in compute shaders";
      else if (!pick_shape(&t, &shape))
         lacks = "a subgroup-scope float16 x float16 + float32 -> float32 shape";
   }
   if (lacks) {
      printf("UNSUPPORTED: needs %s on %s\n", lacks, t.props.deviceName);
      return 2;
   }
   const uint32_t M = shape.MSize, N = shape.NSize, K = shape.KSize, SG = p11.subgroupSize;
   printf("ok: shape %ux%ux%u, subgroup size %u\n", M, N, K, SG);

   VkPhysicalDeviceCooperativeMatrixFeaturesKHR en_cm = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR, .cooperativeMatrix = VK_TRUE,
   };
   VkPhysicalDeviceVulkan12Features en12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &en_cm, .shaderFloat16 = VK_TRUE,
   };
   VkPhysicalDeviceVulkan11Features en11 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &en12,
      .storageBuffer16BitAccess = VK_TRUE,
   };
   if (!vkt_init_device(&t, 1, &en11, 1, exts))
      return 1;

   /* A (2M)x(2K), B (2K)x(2N), D (2M)x(2N), row-major. */
   const uint32_t rows = 2 * M, cols = 2 * N, depth = 2 * K;
   struct vkt_buffer a, b, d;
   const char *what = "setup";
   bool ok = vkt_check(&t, vkt_buffer_create(&t, (VkDeviceSize)rows * depth * 2, &a, &what), what) &&
             vkt_check(&t, vkt_buffer_create(&t, (VkDeviceSize)depth * cols * 2, &b, &what), what) &&
             vkt_check(&t, vkt_buffer_create(&t, (VkDeviceSize)rows * cols * 4, &d, &what), what);
   if (!ok)
      return 1;
   uint16_t *a16 = (uint16_t *)a.map, *b16 = (uint16_t *)b.map;
   for (uint32_t i = 0; i < rows; i++)
      for (uint32_t k = 0; k < depth; k++)
         a16[i * depth + k] = half_of(a_value(i, k));
   for (uint32_t k = 0; k < depth; k++)
      for (uint32_t j = 0; j < cols; j++)
         b16[k * cols + j] = half_of(b_value(k, j));
   memset(d.map, 0xff, (size_t)rows * cols * 4);

   const VkDescriptorSetLayoutBinding bindings[3] = {
      { 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
      { 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
      { 2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 3, .pBindings = bindings,
   };
   VkDescriptorSetLayout set_layout;
   VkPipelineLayout layout;
   VkShaderModule module;
   VkPipeline pipeline;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   VkCommandPool cmd_pool;
   VkCommandBuffer cmd;
   VkFence fence;
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &set_layout,
   };
   const VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = sizeof(coopmat_comp_spv),
      .pCode = coopmat_comp_spv,
   };
   ok = vkt_check(&t, vkCreateDescriptorSetLayout(t.device, &dslci, NULL, &set_layout), "vkCreateDescriptorSetLayout") &&
        vkt_check(&t, vkCreatePipelineLayout(t.device, &plci, NULL, &layout), "vkCreatePipelineLayout") &&
        vkt_check(&t, vkCreateShaderModule(t.device, &smci, NULL, &module), "vkCreateShaderModule");
   if (!ok)
      return 1;
   const uint32_t spec_values[4] = { M, N, K, SG };
   const VkSpecializationMapEntry entries[4] = {
      { 0, 0, 4 }, { 1, 4, 4 }, { 2, 8, 4 }, { 3, 12, 4 },
   };
   const VkSpecializationInfo spec = {
      .mapEntryCount = 4, .pMapEntries = entries, .dataSize = sizeof(spec_values), .pData = spec_values,
   };
   const VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
         .stage = VK_SHADER_STAGE_COMPUTE_BIT,
         .module = module,
         .pName = "main",
         .pSpecializationInfo = &spec,
      },
      .layout = layout,
   };
   const VkDescriptorPoolSize pool_size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3 };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &pool_size,
   };
   ok = vkt_check(&t, vkCreateComputePipelines(t.device, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline),
                  "vkCreateComputePipelines (cooperative matrices)") &&
        vkt_check(&t, vkCreateDescriptorPool(t.device, &dpci, NULL, &pool), "vkCreateDescriptorPool");
   if (!ok)
      return 1;
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = pool, .descriptorSetCount = 1,
      .pSetLayouts = &set_layout,
   };
   if (!vkt_check(&t, vkAllocateDescriptorSets(t.device, &dsai, &set), "vkAllocateDescriptorSets"))
      return 1;
   const VkDescriptorBufferInfo infos[3] = {
      { a.buffer, 0, VK_WHOLE_SIZE }, { b.buffer, 0, VK_WHOLE_SIZE }, { d.buffer, 0, VK_WHOLE_SIZE },
   };
   VkWriteDescriptorSet writes[3];
   for (uint32_t i = 0; i < 3; i++) {
      writes[i] = (VkWriteDescriptorSet){
         .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = i, .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[i],
      };
   }
   vkUpdateDescriptorSets(t.device, 3, writes, 0, NULL);

   const VkCommandPoolCreateInfo cpoolci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = t.families[0],
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   ok = vkt_check(&t, vkCreateCommandPool(t.device, &cpoolci, NULL, &cmd_pool), "vkCreateCommandPool") &&
        vkt_check(&t, vkCreateFence(t.device, &fci, NULL, &fence), "vkCreateFence");
   if (!ok)
      return 1;
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   if (!vkt_check(&t, vkAllocateCommandBuffers(t.device, &cbai, &cmd), "vkAllocateCommandBuffers") ||
       !vkt_check(&t, vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer"))
      return 1;
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
   vkCmdDispatch(cmd, 2, 2, 1);
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL,
                        0, NULL);
   what = "vkEndCommandBuffer";
   VkResult r = vkEndCommandBuffer(cmd);
   if (r == VK_SUCCESS)
      r = vkt_submit_wait(&t, cmd, fence, &what);
   if (!vkt_check(&t, r, what))
      return 1;

   const float *out = (const float *)d.map;
   uint32_t wrong = 0, first_i = 0, first_j = 0;
   float first_got = 0, first_want = 0;
   for (uint32_t i = 0; i < rows; i++) {
      for (uint32_t j = 0; j < cols; j++) {
         int want = 0;
         for (uint32_t k = 0; k < depth; k++)
            want += a_value(i, k) * b_value(k, j);
         if (out[i * cols + j] != (float)want && wrong++ == 0) {
            first_i = i, first_j = j, first_got = out[i * cols + j], first_want = (float)want;
         }
      }
   }
   if (wrong)
      vkt_error(&t, "product: %u of %u elements differ from the CPU's, the first at (%u, %u): %g, want %g", wrong,
                rows * cols, first_i, first_j, first_got, first_want);
   else
      vkt_ok(&t, "product: %ux%u float32 elements equal the CPU's ((%ux%u) x (%ux%u), float16 inputs)", rows, cols,
             rows, depth, depth, cols);
   if (write_file(out_dir, "coopmat.bin", out, (size_t)rows * cols * 4) != 0)
      vkt_error(&t, "cannot write %s/coopmat.bin", out_dir);

   vkDestroyFence(t.device, fence, NULL);
   vkDestroyCommandPool(t.device, cmd_pool, NULL);
   vkDestroyDescriptorPool(t.device, pool, NULL);
   vkDestroyPipeline(t.device, pipeline, NULL);
   vkDestroyShaderModule(t.device, module, NULL);
   vkDestroyPipelineLayout(t.device, layout, NULL);
   vkDestroyDescriptorSetLayout(t.device, set_layout, NULL);
   vkt_buffer_destroy(&t, &a);
   vkt_buffer_destroy(&t, &b);
   vkt_buffer_destroy(&t, &d);
   int failures = t.failures;
   vkt_fini(&t);
   printf("%s\n", failures ? "FAILED" : "PASSED");
   return failures ? 1 : 0;
}

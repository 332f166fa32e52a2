/* SPDX-License-Identifier: MIT */
/* Ray tracing through venus-server, compared byte for byte with native:
 *
 *   vk_raytrace --out-dir DIR [--ray-query]
 *
 * A bottom-level acceleration structure (two triangles, built on the
 * device from vertex and index buffers named by device address) and a
 * top-level one (three instances of it, written by the host into a buffer
 * as VkAccelerationStructureInstanceKHR), then:
 *   - a ray tracing pipeline (raygen, miss, closest hit) with a shader
 *     binding table from vkGetRayTracingShaderGroupHandlesKHR, traced into
 *     a 64x64 RGBA8 storage image: DIR/raytrace.pam;
 *   - where the device has VK_KHR_ray_query (NVIDIA's H100 has ray tracing
 *     pipelines but not it), a compute shader with a ray query over the
 *     same scene: per pixel the hit instance and distance, DIR/rayquery.bin.
 * DIR/rayparts.txt names the parts that ran, so that a comparison of two
 * runs' outputs also compares which parts ran; --ray-query makes the ray
 * query a must (for the run compared with a native one that had it).
 * Prints "ok:"/"error:" lines and PASSED or FAILED. Exits 1 on an error,
 * 2 if the device lacks acceleration structures or ray tracing pipelines
 * (or, with --ray-query, ray queries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#include "rq.comp.h"
#include "rt.rchit.h"
#include "rt.rgen.h"
#include "rt.rmiss.h"

#define W 64
#define H 64

static PFN_vkGetAccelerationStructureBuildSizesKHR get_build_sizes;
static PFN_vkCreateAccelerationStructureKHR create_as;
static PFN_vkDestroyAccelerationStructureKHR destroy_as;
static PFN_vkCmdBuildAccelerationStructuresKHR cmd_build_as;
static PFN_vkGetAccelerationStructureDeviceAddressKHR get_as_address;
static PFN_vkCreateRayTracingPipelinesKHR create_rt_pipelines;
static PFN_vkGetRayTracingShaderGroupHandlesKHR get_group_handles;
static PFN_vkCmdTraceRaysKHR cmd_trace_rays;
static PFN_vkGetBufferDeviceAddress get_buffer_address;

static bool
load(struct vkt *t)
{
#define LOAD(var, name) var = (__typeof__(var))vkGetDeviceProcAddr(t->device, name); \
   if (!var) { vkt_error(t, "no %s", name); return false; }
   LOAD(get_build_sizes, "vkGetAccelerationStructureBuildSizesKHR");
   LOAD(create_as, "vkCreateAccelerationStructureKHR");
   LOAD(destroy_as, "vkDestroyAccelerationStructureKHR");
   LOAD(cmd_build_as, "vkCmdBuildAccelerationStructuresKHR");
   LOAD(get_as_address, "vkGetAccelerationStructureDeviceAddressKHR");
   LOAD(create_rt_pipelines, "vkCreateRayTracingPipelinesKHR");
   LOAD(get_group_handles, "vkGetRayTracingShaderGroupHandlesKHR");
   LOAD(cmd_trace_rays, "vkCmdTraceRaysKHR");
   LOAD(get_buffer_address, "vkGetBufferDeviceAddress");
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

/* A host-visible buffer with a device address. */
static bool
addressed_buffer(struct vkt *t, VkDeviceSize size, VkBufferUsageFlags usage, struct vkt_buffer *b,
                 VkDeviceAddress *address)
{
   const VkMemoryAllocateFlagsInfo flags = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
   };
   const char *what = "buffer";
   if (!vkt_check(t, vkt_buffer_create_chained(t, size, usage | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, NULL,
                                               &flags, b, &what), what))
      return false;
   const VkBufferDeviceAddressInfo info = { .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b->buffer };
   *address = get_buffer_address(t->device, &info);
   return *address != 0;
}

struct accel {
   VkAccelerationStructureKHR as;
   struct vkt_buffer storage;
   VkDeviceAddress address;
};

/* Builds one acceleration structure of `type` from `geometry` on the device. */
static bool
build(struct vkt *t, VkCommandBuffer cmd, VkFence fence, VkAccelerationStructureTypeKHR type,
      const VkAccelerationStructureGeometryKHR *geometry, uint32_t primitives, struct accel *out)
{
   VkAccelerationStructureBuildGeometryInfoKHR info = {
      .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_GEOMETRY_INFO_KHR, .type = type,
      .flags = VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_TRACE_BIT_KHR,
      .mode = VK_BUILD_ACCELERATION_STRUCTURE_MODE_BUILD_KHR, .geometryCount = 1, .pGeometries = geometry,
   };
   VkAccelerationStructureBuildSizesInfoKHR sizes = { .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_SIZES_INFO_KHR };
   get_build_sizes(t->device, VK_ACCELERATION_STRUCTURE_BUILD_TYPE_DEVICE_KHR, &info, &primitives, &sizes);
   VkDeviceAddress unused, scratch_address;
   struct vkt_buffer scratch;
   if (!addressed_buffer(t, sizes.accelerationStructureSize, VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_STORAGE_BIT_KHR,
                         &out->storage, &unused) ||
       !addressed_buffer(t, sizes.buildScratchSize + 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &scratch, &scratch_address))
      return false;
   const VkAccelerationStructureCreateInfoKHR ci = {
      .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_CREATE_INFO_KHR, .buffer = out->storage.buffer,
      .size = sizes.accelerationStructureSize, .type = type,
   };
   if (!vkt_check(t, create_as(t->device, &ci, NULL, &out->as), "vkCreateAccelerationStructureKHR"))
      return false;
   info.dstAccelerationStructure = out->as;
   info.scratchData.deviceAddress = (scratch_address + 255) & ~(VkDeviceAddress)255;
   const VkAccelerationStructureBuildRangeInfoKHR range = { .primitiveCount = primitives };
   const VkAccelerationStructureBuildRangeInfoKHR *ranges = &range;
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   const char *what = "build";
   bool ok = vkt_check(t, vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
   cmd_build_as(cmd, 1, &info, &ranges);
   ok = ok && vkt_check(t, vkEndCommandBuffer(cmd), "vkEndCommandBuffer") &&
        vkt_check(t, vkt_submit_wait(t, cmd, fence, &what), what);
   vkt_buffer_destroy(t, &scratch);
   const VkAccelerationStructureDeviceAddressInfoKHR ai = {
      .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_DEVICE_ADDRESS_INFO_KHR, .accelerationStructure = out->as,
   };
   out->address = get_as_address(t->device, &ai);
   return ok && out->address;
}

int
main(int argc, char **argv)
{
   const char *out_dir = NULL;
   bool need_ray_query = false;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--out-dir") && i + 1 < argc)
         out_dir = argv[++i];
      else if (!strcmp(argv[i], "--ray-query"))
         need_ray_query = true;
   }
   if (!out_dir) {
      fprintf(stderr, "usage: %s --out-dir DIR [--ray-query]\n", argv[0]);
      return 2;
   }
   struct vkt t;
   if (!vkt_init_instance(&t, VK_API_VERSION_1_2))
      return 1;
   /* The ray query is last: optional, enabled only where the device has it. */
   static const char *const exts[] = {
      "VK_KHR_acceleration_structure", "VK_KHR_ray_tracing_pipeline", "VK_KHR_deferred_host_operations",
      "VK_KHR_ray_query",
   };
   const uint32_t required_exts = 3;
   VkPhysicalDeviceRayQueryFeaturesKHR rq = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_QUERY_FEATURES_KHR };
   VkPhysicalDeviceRayTracingPipelineFeaturesKHR rtf = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR, .pNext = &rq,
   };
   VkPhysicalDeviceAccelerationStructureFeaturesKHR asf = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR, .pNext = &rtf,
   };
   VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &asf };
   VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12 };
   /* Name what is missing: a SKIP line must say which side lacks what. */
   const char *lacks = NULL;
   for (uint32_t i = 0; i < required_exts && !lacks; i++) {
      if (!vkt_has_device_extension(&t, exts[i]))
         lacks = exts[i];
   }
   bool ray_query = false;
   if (!lacks) {
      vkGetPhysicalDeviceFeatures2(t.phys, &f2);
      lacks = !asf.accelerationStructure ? "accelerationStructure"
              : !rtf.rayTracingPipeline  ? "rayTracingPipeline"
              : !f12.bufferDeviceAddress ? "bufferDeviceAddress"
                                         : NULL;
      ray_query = vkt_has_device_extension(&t, exts[3]) && rq.rayQuery;
      if (!lacks && need_ray_query && !ray_query)
         lacks = !vkt_has_device_extension(&t, exts[3]) ? exts[3] : "rayQuery";
   }
   if (lacks) {
      printf("UNSUPPORTED: needs %s (of %s, %s, %s%s with their features) on %s\n", lacks, exts[0], exts[1],
             exts[2], need_ray_query ? ", VK_KHR_ray_query" : "", t.props.deviceName);
      return 2;
   }
   const char *parts = ray_query ? "ray tracing pipeline, ray query" : "ray tracing pipeline (no VK_KHR_ray_query)";
   printf("ok: parts %s\n", parts);
   printf("ok: accelerationStructureHostCommands %u\n", asf.accelerationStructureHostCommands);
   VkPhysicalDeviceRayQueryFeaturesKHR en_rq = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_QUERY_FEATURES_KHR, .rayQuery = VK_TRUE };
   VkPhysicalDeviceRayTracingPipelineFeaturesKHR en_rt = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR, .pNext = ray_query ? &en_rq : NULL,
      .rayTracingPipeline = VK_TRUE,
   };
   VkPhysicalDeviceAccelerationStructureFeaturesKHR en_as = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR, .pNext = &en_rt,
      .accelerationStructure = VK_TRUE,
   };
   VkPhysicalDeviceVulkan12Features en12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &en_as, .bufferDeviceAddress = VK_TRUE,
   };
   if (!vkt_init_device(&t, 1, &en12, required_exts + ray_query, exts) || !load(&t))
      return 1;

   VkPhysicalDeviceRayTracingPipelinePropertiesKHR rtp = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_PROPERTIES_KHR,
   };
   VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &rtp };
   vkGetPhysicalDeviceProperties2(t.phys, &p2);

   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = t.families[0],
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

   /* The bottom level: a quad of two triangles in the z = 0 plane. */
   const VkBufferUsageFlags input = VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_BUILD_INPUT_READ_ONLY_BIT_KHR;
   struct vkt_buffer vbo, ibo, instances;
   VkDeviceAddress vbo_address, ibo_address, instances_address;
   if (!addressed_buffer(&t, 4 * 3 * sizeof(float), input, &vbo, &vbo_address) ||
       !addressed_buffer(&t, 6 * sizeof(uint32_t), input, &ibo, &ibo_address) ||
       !addressed_buffer(&t, 3 * sizeof(VkAccelerationStructureInstanceKHR), input, &instances, &instances_address))
      return 1;
   const float verts[] = { -0.3f, -0.3f, 0, 0.3f, -0.3f, 0, -0.3f, 0.3f, 0, 0.25f, 0.35f, 0 };
   const uint32_t idx[] = { 0, 1, 2, 2, 1, 3 };
   memcpy(vbo.map, verts, sizeof(verts));
   memcpy(ibo.map, idx, sizeof(idx));
   const VkAccelerationStructureGeometryKHR tris = {
      .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR, .geometryType = VK_GEOMETRY_TYPE_TRIANGLES_KHR,
      .flags = VK_GEOMETRY_OPAQUE_BIT_KHR,
      .geometry.triangles = {
         .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_TRIANGLES_DATA_KHR,
         .vertexFormat = VK_FORMAT_R32G32B32_SFLOAT, .vertexData.deviceAddress = vbo_address,
         .vertexStride = 3 * sizeof(float), .maxVertex = 3, .indexType = VK_INDEX_TYPE_UINT32,
         .indexData.deviceAddress = ibo_address,
      },
   };
   struct accel blas, tlas;
   if (!build(&t, cmd, fence, VK_ACCELERATION_STRUCTURE_TYPE_BOTTOM_LEVEL_KHR, &tris, 2, &blas))
      return 1;
   vkt_ok(&t, "bottom-level acceleration structure built on the device");

   /* The top level: three instances of the quad, moved and scaled. */
   VkAccelerationStructureInstanceKHR inst[3];
   const float place[3][3] = { { -0.5f, -0.5f, 1.0f }, { 0.45f, -0.4f, 1.4f }, { 0.1f, 0.5f, 0.8f } };
   for (uint32_t i = 0; i < 3; i++) {
      const float s = place[i][2];
      inst[i] = (VkAccelerationStructureInstanceKHR){
         .transform.matrix = { { s, 0, 0, place[i][0] }, { 0, s, 0, place[i][1] }, { 0, 0, 1, -0.1f * (float)i } },
         .instanceCustomIndex = i, .mask = 0xff, .flags = VK_GEOMETRY_INSTANCE_TRIANGLE_FACING_CULL_DISABLE_BIT_KHR,
         .accelerationStructureReference = blas.address,
      };
   }
   memcpy(instances.map, inst, sizeof(inst));
   const VkAccelerationStructureGeometryKHR insts = {
      .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR, .geometryType = VK_GEOMETRY_TYPE_INSTANCES_KHR,
      .geometry.instances = {
         .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_INSTANCES_DATA_KHR,
         .data.deviceAddress = instances_address,
      },
   };
   if (!build(&t, cmd, fence, VK_ACCELERATION_STRUCTURE_TYPE_TOP_LEVEL_KHR, &insts, 3, &tlas))
      return 1;
   vkt_ok(&t, "top-level acceleration structure of 3 instances built on the device");

   /* Descriptors shared by both passes: the scene and an output. */
   const VkShaderStageFlags stages = VK_SHADER_STAGE_RAYGEN_BIT_KHR | VK_SHADER_STAGE_COMPUTE_BIT;
   const VkDescriptorSetLayoutBinding rt_bindings[2] = {
      { 0, VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 1, stages, NULL },
      { 1, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1, stages, NULL },
   };
   const VkDescriptorSetLayoutBinding rq_bindings[2] = {
      { 0, VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 1, stages, NULL },
      { 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, stages, NULL },
   };
   VkDescriptorSetLayout set_layouts[2];
   VkPipelineLayout layouts[2];
   for (int i = 0; i < 2; i++) {
      const VkDescriptorSetLayoutCreateInfo slci = {
         .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2,
         .pBindings = i == 0 ? rt_bindings : rq_bindings,
      };
      vkt_check(&t, vkCreateDescriptorSetLayout(t.device, &slci, NULL, &set_layouts[i]), "vkCreateDescriptorSetLayout");
      const VkPipelineLayoutCreateInfo plci = {
         .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &set_layouts[i],
      };
      vkt_check(&t, vkCreatePipelineLayout(t.device, &plci, NULL, &layouts[i]), "vkCreatePipelineLayout");
   }
   const VkDescriptorPoolSize sizes[3] = {
      { VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 2 },
      { VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1 },
      { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1 },
   };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 2, .poolSizeCount = 3, .pPoolSizes = sizes,
   };
   VkDescriptorPool dpool;
   VkDescriptorSet sets[2];
   vkt_check(&t, vkCreateDescriptorPool(t.device, &dpci, NULL, &dpool), "vkCreateDescriptorPool");
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 2,
      .pSetLayouts = set_layouts,
   };
   vkt_check(&t, vkAllocateDescriptorSets(t.device, &dsai, sets), "vkAllocateDescriptorSets");

   struct vkt_image target;
   struct vkt_buffer readback, hits;
   const char *what = "outputs";
   if (!vkt_check(&t, vkt_image_create(&t, VK_FORMAT_R8G8B8A8_UNORM, W, H, VK_SAMPLE_COUNT_1_BIT,
                                       VK_IMAGE_USAGE_STORAGE_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT, &target, &what), what) ||
       !vkt_check(&t, vkt_buffer_create_usage(&t, W * H * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &readback, &what), what) ||
       !vkt_check(&t, vkt_buffer_create_usage(&t, W * H * 8, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &hits, &what), what))
      return 1;
   memset(hits.map, 0xcc, W * H * 8);
   const VkWriteDescriptorSetAccelerationStructureKHR as_write = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET_ACCELERATION_STRUCTURE_KHR, .accelerationStructureCount = 1,
      .pAccelerationStructures = &tlas.as,
   };
   const VkDescriptorImageInfo image_info = { .imageView = target.view, .imageLayout = VK_IMAGE_LAYOUT_GENERAL };
   const VkDescriptorBufferInfo buffer_info = { hits.buffer, 0, VK_WHOLE_SIZE };
   const VkWriteDescriptorSet writes[4] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .pNext = &as_write, .dstSet = sets[0], .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = sets[0], .dstBinding = 1, .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, .pImageInfo = &image_info },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .pNext = &as_write, .dstSet = sets[1], .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = sets[1], .dstBinding = 1, .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &buffer_info },
   };
   vkUpdateDescriptorSets(t.device, 4, writes, 0, NULL);

   /* The ray tracing pipeline: groups raygen, miss, hit. */
   VkShaderModule rgen = shader(&t, rt_rgen_spv, sizeof(rt_rgen_spv));
   VkShaderModule rmiss = shader(&t, rt_rmiss_spv, sizeof(rt_rmiss_spv));
   VkShaderModule rchit = shader(&t, rt_rchit_spv, sizeof(rt_rchit_spv));
   const VkPipelineShaderStageCreateInfo rt_stages[3] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_RAYGEN_BIT_KHR,
        .module = rgen, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_MISS_BIT_KHR,
        .module = rmiss, .pName = "main" },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR,
        .module = rchit, .pName = "main" },
   };
   VkRayTracingShaderGroupCreateInfoKHR groups[3];
   for (uint32_t i = 0; i < 3; i++) {
      groups[i] = (VkRayTracingShaderGroupCreateInfoKHR){
         .sType = VK_STRUCTURE_TYPE_RAY_TRACING_SHADER_GROUP_CREATE_INFO_KHR,
         .type = i == 2 ? VK_RAY_TRACING_SHADER_GROUP_TYPE_TRIANGLES_HIT_GROUP_KHR
                        : VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR,
         .generalShader = i == 2 ? VK_SHADER_UNUSED_KHR : i, .closestHitShader = i == 2 ? 2 : VK_SHADER_UNUSED_KHR,
         .anyHitShader = VK_SHADER_UNUSED_KHR, .intersectionShader = VK_SHADER_UNUSED_KHR,
      };
   }
   const VkRayTracingPipelineCreateInfoKHR rtci = {
      .sType = VK_STRUCTURE_TYPE_RAY_TRACING_PIPELINE_CREATE_INFO_KHR, .stageCount = 3, .pStages = rt_stages,
      .groupCount = 3, .pGroups = groups, .maxPipelineRayRecursionDepth = 1, .layout = layouts[0],
   };
   VkPipeline rt_pipeline = VK_NULL_HANDLE, rq_pipeline = VK_NULL_HANDLE;
   if (!vkt_check(&t, create_rt_pipelines(t.device, VK_NULL_HANDLE, VK_NULL_HANDLE, 1, &rtci, NULL, &rt_pipeline),
                  "vkCreateRayTracingPipelinesKHR"))
      return 1;

   /* The shader binding table: one record per group, each at a base-aligned offset. */
   const uint32_t handle_size = rtp.shaderGroupHandleSize;
   const uint32_t stride = (handle_size + rtp.shaderGroupBaseAlignment - 1) & ~(rtp.shaderGroupBaseAlignment - 1);
   uint8_t *handles = malloc(3 * handle_size);
   struct vkt_buffer sbt;
   VkDeviceAddress sbt_address;
   if (!handles ||
       !vkt_check(&t, get_group_handles(t.device, rt_pipeline, 0, 3, 3 * handle_size, handles),
                  "vkGetRayTracingShaderGroupHandlesKHR") ||
       !addressed_buffer(&t, 4 * stride, VK_BUFFER_USAGE_SHADER_BINDING_TABLE_BIT_KHR, &sbt, &sbt_address))
      return 1;
   const VkDeviceAddress sbt_base = (sbt_address + rtp.shaderGroupBaseAlignment - 1) & ~(VkDeviceAddress)(rtp.shaderGroupBaseAlignment - 1);
   for (uint32_t i = 0; i < 3; i++)
      memcpy((uint8_t *)sbt.map + (sbt_base - sbt_address) + i * stride, handles + i * handle_size, handle_size);
   const VkStridedDeviceAddressRegionKHR raygen_region = { sbt_base, stride, stride };
   const VkStridedDeviceAddressRegionKHR miss_region = { sbt_base + stride, stride, stride };
   const VkStridedDeviceAddressRegionKHR hit_region = { sbt_base + 2 * stride, stride, stride };
   const VkStridedDeviceAddressRegionKHR callable_region = { 0, 0, 0 };

   VkShaderModule rqm = VK_NULL_HANDLE;
   if (ray_query) {
      rqm = shader(&t, rq_comp_spv, sizeof(rq_comp_spv));
      const VkComputePipelineCreateInfo cpci = {
         .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
         .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                    .module = rqm, .pName = "main" },
         .layout = layouts[1],
      };
      if (!vkt_check(&t, vkCreateComputePipelines(t.device, VK_NULL_HANDLE, 1, &cpci, NULL, &rq_pipeline),
                     "vkCreateComputePipelines (ray query)"))
         return 1;
   }

   const VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   vkt_check(&t, vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_GENERAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                     0, VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR, VK_ACCESS_SHADER_WRITE_BIT);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, rt_pipeline);
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, layouts[0], 0, 1, &sets[0], 0, NULL);
   cmd_trace_rays(cmd, &raygen_region, &miss_region, &hit_region, &callable_region, W, H, 1);
   if (ray_query) {
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, rq_pipeline);
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layouts[1], 0, 1, &sets[1], 0, NULL);
      vkCmdDispatch(cmd, W / 8, H / 8, 1);
   }
   vkt_image_barrier(cmd, &target, VK_IMAGE_LAYOUT_GENERAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR, VK_ACCESS_SHADER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
   vkt_image_to_buffer(cmd, &target, readback.buffer, 0);
   const VkMemoryBarrier to_host = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                        VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
   what = "trace";
   if (!vkt_check(&t, vkEndCommandBuffer(cmd), "vkEndCommandBuffer") ||
       !vkt_check(&t, vkt_submit_wait(&t, cmd, fence, &what), what))
      return 1;

   /* What must be there whatever the driver: every instance hit somewhere,
    * the corners missed. */
   const uint32_t *hit = hits.map;
   uint32_t seen = 0;
   for (uint32_t i = 0; i < W * H; i++)
      if (hit[2 * i] >= 1 && hit[2 * i] <= 3)
         seen |= 1u << (hit[2 * i] - 1);
   if (ray_query && seen == 7 && hit[0] == 0 && hit[2 * (W * H - 1)] == 0)
      vkt_ok(&t, "ray query: all 3 instances hit, corners missed");
   else if (ray_query)
      vkt_error(&t, "ray query: instances hit 0x%x, corners %u %u", seen, hit[0], hit[2 * (W * H - 1)]);
   /* The miss color's red, 0.1 * 255 = 25.5, may be stored as either
    * neighbour (the spec's float-to-UNORM conversion). */
   const uint8_t *px = (const uint8_t *)readback.map;
   if (px[3] == 255 && (px[0] == 25 || px[0] == 26))
      vkt_ok(&t, "ray tracing pipeline: miss shader colored the corner");
   else
      vkt_error(&t, "ray tracing pipeline: corner pixel %u,%u,%u,%u, want red 25 or 26, alpha 255", px[0],
                px[1], px[2], px[3]);
   char header[128];
   snprintf(header, sizeof(header), "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", W, H);
   char ran[96];
   snprintf(ran, sizeof(ran), "%s\n", parts);
   if (write_file(out_dir, "rayparts.txt", NULL, ran, strlen(ran)) ||
       write_file(out_dir, "raytrace.pam", header, readback.map, W * H * 4) ||
       (ray_query && write_file(out_dir, "rayquery.bin", NULL, hits.map, W * H * 8)))
      vkt_error(&t, "cannot write the outputs into %s", out_dir);

   vkDestroyPipeline(t.device, rq_pipeline, NULL);
   vkDestroyPipeline(t.device, rt_pipeline, NULL);
   vkDestroyShaderModule(t.device, rqm, NULL);
   vkDestroyShaderModule(t.device, rgen, NULL);
   vkDestroyShaderModule(t.device, rmiss, NULL);
   vkDestroyShaderModule(t.device, rchit, NULL);
   vkDestroyDescriptorPool(t.device, dpool, NULL);
   for (int i = 0; i < 2; i++) {
      vkDestroyPipelineLayout(t.device, layouts[i], NULL);
      vkDestroyDescriptorSetLayout(t.device, set_layouts[i], NULL);
   }
   destroy_as(t.device, tlas.as, NULL);
   destroy_as(t.device, blas.as, NULL);
   vkt_buffer_destroy(&t, &tlas.storage);
   vkt_buffer_destroy(&t, &blas.storage);
   vkt_buffer_destroy(&t, &sbt);
   vkt_buffer_destroy(&t, &hits);
   vkt_buffer_destroy(&t, &readback);
   vkt_buffer_destroy(&t, &instances);
   vkt_buffer_destroy(&t, &ibo);
   vkt_buffer_destroy(&t, &vbo);
   vkt_image_destroy(&t, &target);
   vkDestroyFence(t.device, fence, NULL);
   vkDestroyCommandPool(t.device, pool, NULL);
   free(handles);
   int failures = t.failures;
   vkt_fini(&t);
   printf("%s\n", failures ? "FAILED" : "PASSED");
   return failures ? 1 : 0;
}

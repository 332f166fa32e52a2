/* SPDX-License-Identifier: MIT */
/* VK_LAYER_VENUS_moltenvk_shape: a Vulkan layer that gives the driver under
 * it (lavapipe, in the tests) the shape of MoltenVK on an Apple Silicon Mac,
 * so that the server can be tested against the host it serves on macOS
 * (tests/test_moltenvk_shape.sh). Enabled for the server process only.
 *
 * What MoltenVK is, as read from MoltenVK's sources at commit 1484e7f
 * (MoltenVK/MoltenVK/GPUObjects/MVKDevice.mm: initFeatures,
 * initMetalFeatures, the portability-subset structs; Layers/MVKExtensions.def)
 * and Docs/MoltenVK_Runtime_UserGuide.md, for an Apple7..Apple9 GPU (M1 to
 * M4) on macOS with the default configuration:
 *
 * - a portability driver: the loader lists it only to an instance created
 *   with VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR and
 *   VK_KHR_portability_enumeration (emulated here in
 *   vkEnumeratePhysicalDevices), and an application must enable
 *   VK_KHR_portability_subset on the device (refused here otherwise);
 * - only the device extensions of MVKExtensions.def (no
 *   VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf,
 *   VK_EXT_image_drm_format_modifier, VK_KHR_external_semaphore_fd,
 *   VK_KHR_external_fence_fd, VK_EXT_queue_family_foreign, transform
 *   feedback, ...), and no OPAQUE_FD/DMA_BUF/SYNC_FD handle types;
 * - VkPhysicalDevicePortabilitySubsetFeaturesKHR with pointPolygons,
 *   samplerMipLodBias (Apple10 only), tessellationIsolines,
 *   tessellationPointMode and imageView2DOn3DImage (MTLHeap off by default)
 *   false; minVertexInputBindingStrideAlignment 4 (MoltenVK reports 1 from
 *   Apple5 on and 4 on Intel Macs: the stricter of the two);
 * - these core features false: geometryShader, logicOp and wideLines
 *   (Metal's private API only), depthBounds (Apple10 only),
 *   pipelineStatisticsQuery, shaderFloat64, shaderCullDistance,
 *   shaderStorageImageMultisample, variableMultisampleRate,
 *   shaderResourceResidency and every sparse feature;
 * - host-pointer imports (VK_EXT_external_memory_host) at 16 KiB alignment
 *   (the Apple Silicon page).
 *
 * Every use of what is masked is refused with one line on stderr
 * ("venus-mvk-shape: refused: ..."): the test fails on any.
 *
 * With VENUS_MVK_SHAPE_GPU=discrete, the device is an Intel Mac's AMD GPU
 * instead: a discrete GPU, whose DEVICE_LOCAL heap is its own memory
 * (tests/test_shared_budgets.sh's share of a GPU's memory). */
#define VK_ENABLE_BETA_EXTENSIONS 1
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_NAME "VK_LAYER_VENUS_moltenvk_shape"
#define EXPORT __attribute__((visibility("default")))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* minImportedHostPointerAlignment: the 16 KiB page of Apple Silicon. */
#define HOST_POINTER_ALIGNMENT 16384u
#define VERTEX_STRIDE_ALIGNMENT 4u

/* MoltenVK's device extensions (Layers/MVKExtensions.def, DEVICE rows). */
static const char *const moltenvk_device_extensions[] = {
   "VK_KHR_16bit_storage", "VK_KHR_8bit_storage", "VK_KHR_bind_memory2", "VK_KHR_buffer_device_address",
   "VK_KHR_calibrated_timestamps", "VK_KHR_copy_commands2", "VK_KHR_create_renderpass2",
   "VK_KHR_dedicated_allocation", "VK_KHR_deferred_host_operations", "VK_KHR_depth_stencil_resolve",
   "VK_KHR_descriptor_update_template", "VK_KHR_device_group", "VK_KHR_draw_indirect_count",
   "VK_KHR_driver_properties", "VK_KHR_dynamic_rendering", "VK_KHR_dynamic_rendering_local_read",
   "VK_KHR_external_fence", "VK_KHR_external_memory", "VK_KHR_external_semaphore",
   "VK_KHR_format_feature_flags2", "VK_KHR_fragment_shader_barycentric", "VK_KHR_get_memory_requirements2",
   "VK_KHR_global_priority", "VK_KHR_image_format_list", "VK_KHR_imageless_framebuffer",
   "VK_KHR_incremental_present", "VK_KHR_index_type_uint8", "VK_KHR_line_rasterization",
   "VK_KHR_load_store_op_none", "VK_KHR_maintenance1", "VK_KHR_maintenance2", "VK_KHR_maintenance3",
   "VK_KHR_maintenance4", "VK_KHR_maintenance5", "VK_KHR_maintenance6", "VK_KHR_maintenance7",
   "VK_KHR_maintenance8", "VK_KHR_maintenance9", "VK_KHR_map_memory2", "VK_KHR_multiview",
   "VK_KHR_present_id", "VK_KHR_present_id2", "VK_KHR_present_wait", "VK_KHR_present_wait2",
   "VK_KHR_push_descriptor", "VK_KHR_relaxed_block_layout", "VK_KHR_robustness2",
   "VK_KHR_sampler_mirror_clamp_to_edge", "VK_KHR_sampler_ycbcr_conversion",
   "VK_KHR_separate_depth_stencil_layouts", "VK_KHR_shader_atomic_int64", "VK_KHR_shader_draw_parameters",
   "VK_KHR_shader_expect_assume", "VK_KHR_shader_float_controls", "VK_KHR_shader_float_controls2",
   "VK_KHR_shader_float16_int8", "VK_KHR_shader_fma", "VK_KHR_shader_integer_dot_product",
   "VK_KHR_shader_maximal_reconvergence", "VK_KHR_shader_non_semantic_info", "VK_KHR_shader_quad_control",
   "VK_KHR_shader_relaxed_extended_instruction", "VK_KHR_shader_subgroup_extended_types",
   "VK_KHR_shader_subgroup_rotate", "VK_KHR_shader_subgroup_uniform_control_flow",
   "VK_KHR_shader_terminate_invocation", "VK_KHR_spirv_1_4", "VK_KHR_storage_buffer_storage_class",
   "VK_KHR_swapchain", "VK_KHR_swapchain_maintenance1", "VK_KHR_swapchain_mutable_format",
   "VK_KHR_synchronization2", "VK_KHR_timeline_semaphore", "VK_KHR_uniform_buffer_standard_layout",
   "VK_KHR_variable_pointers", "VK_KHR_vertex_attribute_divisor", "VK_KHR_vulkan_memory_model",
   "VK_KHR_zero_initialize_workgroup_memory", "VK_EXT_4444_formats", "VK_EXT_buffer_device_address",
   "VK_EXT_calibrated_timestamps", "VK_EXT_debug_marker", "VK_EXT_depth_clip_control",
   "VK_EXT_descriptor_indexing", "VK_EXT_extended_dynamic_state", "VK_EXT_extended_dynamic_state2",
   "VK_EXT_extended_dynamic_state3", "VK_EXT_external_memory_host", "VK_EXT_fragment_shader_interlock",
   "VK_EXT_global_priority", "VK_EXT_global_priority_query", "VK_EXT_hdr_metadata", "VK_EXT_host_image_copy",
   "VK_EXT_host_query_reset", "VK_EXT_image_2d_view_of_3d", "VK_EXT_image_robustness",
   "VK_EXT_index_type_uint8", "VK_EXT_inline_uniform_block", "VK_EXT_legacy_dithering",
   "VK_EXT_line_rasterization", "VK_EXT_load_store_op_none", "VK_EXT_memory_budget",
   "VK_EXT_multi_draw", "VK_EXT_nested_command_buffer", "VK_EXT_non_seamless_cube_map",
   "VK_EXT_pipeline_creation_cache_control", "VK_EXT_pipeline_creation_feedback",
   "VK_EXT_pipeline_robustness", "VK_EXT_post_depth_coverage", "VK_EXT_primitive_topology_list_restart",
   "VK_EXT_private_data", "VK_EXT_provoking_vertex", "VK_EXT_robustness2", "VK_EXT_sample_locations",
   "VK_EXT_sampler_filter_minmax", "VK_EXT_scalar_block_layout", "VK_EXT_separate_stencil_usage",
   "VK_EXT_shader_atomic_float", "VK_EXT_shader_demote_to_helper_invocation",
   "VK_EXT_shader_stencil_export", "VK_EXT_shader_subgroup_ballot", "VK_EXT_shader_subgroup_vote",
   "VK_EXT_shader_viewport_index_layer", "VK_EXT_subgroup_size_control", "VK_EXT_swapchain_maintenance1",
   "VK_EXT_texel_buffer_alignment", "VK_EXT_texture_compression_astc_hdr", "VK_EXT_tooling_info",
   "VK_EXT_vertex_attribute_divisor", "VK_EXT_ycbcr_2plane_444_formats", "VK_AMD_draw_indirect_count",
   "VK_AMD_gpu_shader_half_float", "VK_AMD_negative_viewport_height", "VK_AMD_shader_image_load_store_lod",
   "VK_AMD_shader_trinary_minmax", "VK_GOOGLE_display_timing", "VK_INTEL_shader_integer_functions2",
   "VK_NV_fragment_shader_barycentric",
};

/* Handle types MoltenVK has none of. */
#define FD_MEMORY_HANDLES (VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT)
#define FD_SEMAPHORE_HANDLES \
   (VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT | VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT)
#define FD_FENCE_HANDLES (VK_EXTERNAL_FENCE_HANDLE_TYPE_OPAQUE_FD_BIT | VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT)

/* --- log --- */

static void __attribute__((format(printf, 1, 2)))
refuse(const char *fmt, ...)
{
   char line[512];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(line, sizeof(line), fmt, ap);
   va_end(ap);
   fprintf(stderr, "venus-mvk-shape: refused: %s\n", line);
}

/* --- dispatch records, keyed by the loader's dispatch pointer --- */

struct instance_rec {
   void *key;
   VkInstance instance;
   bool portability; /* created to enumerate portability drivers */
   bool said_no_devices;
   PFN_vkGetInstanceProcAddr gipa;
   PFN_vkDestroyInstance DestroyInstance;
   PFN_vkEnumeratePhysicalDevices EnumeratePhysicalDevices;
   PFN_vkEnumeratePhysicalDeviceGroups EnumeratePhysicalDeviceGroups;
   PFN_vkEnumerateDeviceExtensionProperties EnumerateDeviceExtensionProperties;
   PFN_vkGetPhysicalDeviceFeatures GetPhysicalDeviceFeatures;
   PFN_vkGetPhysicalDeviceFeatures2 GetPhysicalDeviceFeatures2;
   PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties;
   PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2;
   PFN_vkGetPhysicalDeviceExternalBufferProperties GetPhysicalDeviceExternalBufferProperties;
   PFN_vkGetPhysicalDeviceExternalSemaphoreProperties GetPhysicalDeviceExternalSemaphoreProperties;
   PFN_vkGetPhysicalDeviceExternalFenceProperties GetPhysicalDeviceExternalFenceProperties;
   PFN_vkGetPhysicalDeviceImageFormatProperties GetPhysicalDeviceImageFormatProperties;
   PFN_vkGetPhysicalDeviceImageFormatProperties2 GetPhysicalDeviceImageFormatProperties2;
   struct instance_rec *next;
};

struct device_rec {
   void *key;
   VkDevice device;
   PFN_vkGetDeviceProcAddr gdpa;
   PFN_vkDestroyDevice DestroyDevice;
   PFN_vkCreateQueryPool CreateQueryPool;
   PFN_vkCreateGraphicsPipelines CreateGraphicsPipelines;
   PFN_vkCreateSampler CreateSampler;
   PFN_vkAllocateMemory AllocateMemory;
   struct device_rec *next;
};

static pthread_mutex_t records_lock = PTHREAD_MUTEX_INITIALIZER;
static struct instance_rec *instances;
static struct device_rec *devices;

static void *
key_of(const void *handle)
{
   return *(void *const *)handle;
}

static struct instance_rec *
instance_of(const void *handle)
{
   void *key = key_of(handle);
   pthread_mutex_lock(&records_lock);
   struct instance_rec *r = instances;
   while (r && r->key != key)
      r = r->next;
   pthread_mutex_unlock(&records_lock);
   return r;
}

static struct device_rec *
device_of(const void *handle)
{
   void *key = key_of(handle);
   pthread_mutex_lock(&records_lock);
   struct device_rec *r = devices;
   while (r && r->key != key)
      r = r->next;
   pthread_mutex_unlock(&records_lock);
   return r;
}

static const void *
find_struct(const void *chain, VkStructureType type)
{
   for (const VkBaseInStructure *s = chain; s; s = s->pNext) {
      if (s->sType == type)
         return s;
   }
   return NULL;
}

static bool
is_moltenvk_extension(const char *name)
{
   for (size_t i = 0; i < ARRAY_LEN(moltenvk_device_extensions); i++) {
      if (strcmp(name, moltenvk_device_extensions[i]) == 0)
         return true;
   }
   return false;
}

/* --- features and properties --- */

/* The VkPhysicalDeviceFeatures members MoltenVK reports false, by name
 * (the name is what a refusal prints). */
#define MASKED_FEATURES(X)                                                                                       \
   X(geometryShader) X(logicOp) X(wideLines) X(depthBounds) X(pipelineStatisticsQuery) X(shaderFloat64)          \
   X(shaderCullDistance) X(shaderStorageImageMultisample) X(variableMultisampleRate) X(shaderResourceResidency) \
   X(sparseBinding) X(sparseResidencyBuffer) X(sparseResidencyImage2D) X(sparseResidencyImage3D)                \
   X(sparseResidency2Samples) X(sparseResidency4Samples) X(sparseResidency8Samples)                             \
   X(sparseResidency16Samples) X(sparseResidencyAliased)

static void
mask_features(VkPhysicalDeviceFeatures *f)
{
#define CLEAR(name) f->name = VK_FALSE;
   MASKED_FEATURES(CLEAR)
#undef CLEAR
}

/* The first masked feature `f` enables, or NULL. */
static const char *
masked_feature_enabled(const VkPhysicalDeviceFeatures *f)
{
#define CHECK(name) if (f->name) return #name;
   MASKED_FEATURES(CHECK)
#undef CHECK
   return NULL;
}

static const VkPhysicalDevicePortabilitySubsetFeaturesKHR moltenvk_portability = {
   .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PORTABILITY_SUBSET_FEATURES_KHR,
   .constantAlphaColorBlendFactors = VK_TRUE,
   .events = VK_TRUE,
   .imageViewFormatReinterpretation = VK_TRUE,
   .imageViewFormatSwizzle = VK_TRUE,
   .imageView2DOn3DImage = VK_FALSE,
   .multisampleArrayImage = VK_TRUE,
   .mutableComparisonSamplers = VK_TRUE,
   .pointPolygons = VK_FALSE,
   .samplerMipLodBias = VK_FALSE,
   .separateStencilMaskRef = VK_TRUE,
   .shaderSampleRateInterpolationFunctions = VK_TRUE,
   .tessellationIsolines = VK_FALSE,
   .tessellationPointMode = VK_FALSE,
   .triangleFans = VK_TRUE,
   .vertexAttributeAccessBeyondStride = VK_TRUE,
};

static const char *
portability_feature_enabled(const VkPhysicalDevicePortabilitySubsetFeaturesKHR *p)
{
   if (p->imageView2DOn3DImage)
      return "imageView2DOn3DImage";
   if (p->pointPolygons)
      return "pointPolygons";
   if (p->samplerMipLodBias)
      return "samplerMipLodBias";
   if (p->tessellationIsolines)
      return "tessellationIsolines";
   if (p->tessellationPointMode)
      return "tessellationPointMode";
   return NULL;
}

/* Limits that follow the masked features (the spec's required limits
 * for a device without them). */
static void
mask_limits(VkPhysicalDeviceLimits *l)
{
   l->maxGeometryShaderInvocations = 0;
   l->maxGeometryInputComponents = 0;
   l->maxGeometryOutputComponents = 0;
   l->maxGeometryOutputVertices = 0;
   l->maxGeometryTotalOutputComponents = 0;
   l->lineWidthRange[0] = 1.0f;
   l->lineWidthRange[1] = 1.0f;
   l->lineWidthGranularity = 0.0f;
   l->maxCullDistances = 0;
   l->maxCombinedClipAndCullDistances = l->maxClipDistances;
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceFeatures(VkPhysicalDevice phys, VkPhysicalDeviceFeatures *features)
{
   instance_of(phys)->GetPhysicalDeviceFeatures(phys, features);
   mask_features(features);
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceFeatures2(VkPhysicalDevice phys, VkPhysicalDeviceFeatures2 *features)
{
   instance_of(phys)->GetPhysicalDeviceFeatures2(phys, features);
   mask_features(&features->features);
   for (VkBaseOutStructure *s = (VkBaseOutStructure *)features->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PORTABILITY_SUBSET_FEATURES_KHR) {
         VkPhysicalDevicePortabilitySubsetFeaturesKHR *p = (void *)s;
         void *next = p->pNext;
         *p = moltenvk_portability;
         p->pNext = next;
      }
   }
}

static void
shape_device_type(VkPhysicalDeviceProperties *props)
{
   const char *gpu = getenv("VENUS_MVK_SHAPE_GPU");
   if (gpu && strcmp(gpu, "discrete") == 0)
      props->deviceType = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceProperties(VkPhysicalDevice phys, VkPhysicalDeviceProperties *props)
{
   instance_of(phys)->GetPhysicalDeviceProperties(phys, props);
   mask_limits(&props->limits);
   shape_device_type(props);
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceProperties2(VkPhysicalDevice phys, VkPhysicalDeviceProperties2 *props)
{
   instance_of(phys)->GetPhysicalDeviceProperties2(phys, props);
   mask_limits(&props->properties.limits);
   shape_device_type(&props->properties);
   for (VkBaseOutStructure *s = (VkBaseOutStructure *)props->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PORTABILITY_SUBSET_PROPERTIES_KHR)
         ((VkPhysicalDevicePortabilitySubsetPropertiesKHR *)s)->minVertexInputBindingStrideAlignment =
            VERTEX_STRIDE_ALIGNMENT;
      else if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT)
         ((VkPhysicalDeviceExternalMemoryHostPropertiesEXT *)s)->minImportedHostPointerAlignment =
            HOST_POINTER_ALIGNMENT;
   }
}

/* --- external handle types: none of the fd kinds --- */

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceExternalBufferProperties(VkPhysicalDevice phys, const VkPhysicalDeviceExternalBufferInfo *info,
                                                VkExternalBufferProperties *props)
{
   instance_of(phys)->GetPhysicalDeviceExternalBufferProperties(phys, info, props);
   if (info->handleType & FD_MEMORY_HANDLES)
      memset(&props->externalMemoryProperties, 0, sizeof(props->externalMemoryProperties));
   props->externalMemoryProperties.exportFromImportedHandleTypes &= ~FD_MEMORY_HANDLES;
   props->externalMemoryProperties.compatibleHandleTypes &= ~FD_MEMORY_HANDLES;
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceExternalSemaphoreProperties(VkPhysicalDevice phys,
                                                   const VkPhysicalDeviceExternalSemaphoreInfo *info,
                                                   VkExternalSemaphoreProperties *props)
{
   instance_of(phys)->GetPhysicalDeviceExternalSemaphoreProperties(phys, info, props);
   if (info->handleType & FD_SEMAPHORE_HANDLES) {
      props->externalSemaphoreFeatures = 0;
      props->exportFromImportedHandleTypes = 0;
      props->compatibleHandleTypes = 0;
   }
   props->exportFromImportedHandleTypes &= ~FD_SEMAPHORE_HANDLES;
   props->compatibleHandleTypes &= ~FD_SEMAPHORE_HANDLES;
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceExternalFenceProperties(VkPhysicalDevice phys, const VkPhysicalDeviceExternalFenceInfo *info,
                                               VkExternalFenceProperties *props)
{
   instance_of(phys)->GetPhysicalDeviceExternalFenceProperties(phys, info, props);
   if (info->handleType & FD_FENCE_HANDLES) {
      props->externalFenceFeatures = 0;
      props->exportFromImportedHandleTypes = 0;
      props->compatibleHandleTypes = 0;
   }
   props->exportFromImportedHandleTypes &= ~FD_FENCE_HANDLES;
   props->compatibleHandleTypes &= ~FD_FENCE_HANDLES;
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_GetPhysicalDeviceImageFormatProperties(VkPhysicalDevice phys, VkFormat format, VkImageType type,
                                             VkImageTiling tiling, VkImageUsageFlags usage, VkImageCreateFlags flags,
                                             VkImageFormatProperties *props)
{
   if (tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
      return VK_ERROR_FORMAT_NOT_SUPPORTED;
   return instance_of(phys)->GetPhysicalDeviceImageFormatProperties(phys, format, type, tiling, usage, flags, props);
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_GetPhysicalDeviceImageFormatProperties2(VkPhysicalDevice phys, const VkPhysicalDeviceImageFormatInfo2 *info,
                                              VkImageFormatProperties2 *props)
{
   const VkPhysicalDeviceExternalImageFormatInfo *ext =
      find_struct(info->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO);
   if (info->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT || (ext && (ext->handleType & FD_MEMORY_HANDLES)))
      return VK_ERROR_FORMAT_NOT_SUPPORTED;
   VkResult ret = instance_of(phys)->GetPhysicalDeviceImageFormatProperties2(phys, info, props);
   for (VkBaseOutStructure *s = (VkBaseOutStructure *)props->pNext; s; s = s->pNext) {
      if (s->sType == VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES) {
         VkExternalMemoryProperties *m = &((VkExternalImageFormatProperties *)s)->externalMemoryProperties;
         m->exportFromImportedHandleTypes &= ~FD_MEMORY_HANDLES;
         m->compatibleHandleTypes &= ~FD_MEMORY_HANDLES;
      }
   }
   return ret;
}

/* --- instance and physical devices --- */

static VKAPI_ATTR VkResult VKAPI_CALL
layer_EnumeratePhysicalDevices(VkInstance instance, uint32_t *count, VkPhysicalDevice *phys)
{
   struct instance_rec *r = instance_of(instance);
   if (!r->portability) {
      if (!r->said_no_devices)
         fprintf(stderr, "venus-mvk-shape: an instance created without VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR "
                         "and VK_KHR_portability_enumeration is listed no device (as the loader does with MoltenVK)\n");
      r->said_no_devices = true;
      *count = 0;
      return VK_SUCCESS;
   }
   return r->EnumeratePhysicalDevices(instance, count, phys);
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_EnumeratePhysicalDeviceGroups(VkInstance instance, uint32_t *count, VkPhysicalDeviceGroupProperties *groups)
{
   struct instance_rec *r = instance_of(instance);
   if (!r->portability) {
      *count = 0;
      return VK_SUCCESS;
   }
   return r->EnumeratePhysicalDeviceGroups(instance, count, groups);
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_EnumerateDeviceExtensionProperties(VkPhysicalDevice phys, const char *layer, uint32_t *count,
                                         VkExtensionProperties *props)
{
   static const VkExtensionProperties portability_subset = {
      .extensionName = "VK_KHR_portability_subset",
      .specVersion = 1,
   };
   if (layer && strcmp(layer, LAYER_NAME) == 0) {
      if (!props) {
         *count = 1;
         return VK_SUCCESS;
      }
      if (*count < 1)
         return VK_INCOMPLETE;
      props[0] = portability_subset;
      *count = 1;
      return VK_SUCCESS;
   }
   struct instance_rec *r = instance_of(phys);
   if (layer)
      return r->EnumerateDeviceExtensionProperties(phys, layer, count, props);
   uint32_t host_count = 0;
   VkResult ret = r->EnumerateDeviceExtensionProperties(phys, NULL, &host_count, NULL);
   if (ret != VK_SUCCESS)
      return ret;
   VkExtensionProperties *host = calloc(host_count + 1, sizeof(*host));
   if (!host)
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   ret = r->EnumerateDeviceExtensionProperties(phys, NULL, &host_count, host);
   if (ret < VK_SUCCESS) {
      free(host);
      return ret;
   }
   uint32_t kept = 0;
   for (uint32_t i = 0; i < host_count; i++) {
      if (is_moltenvk_extension(host[i].extensionName))
         host[kept++] = host[i];
   }
   host[kept++] = portability_subset;
   if (!props) {
      *count = kept;
      free(host);
      return VK_SUCCESS;
   }
   uint32_t n = *count < kept ? *count : kept;
   memcpy(props, host, n * sizeof(*props));
   *count = n;
   free(host);
   return n < kept ? VK_INCOMPLETE : VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_CreateInstance(const VkInstanceCreateInfo *ci, const VkAllocationCallbacks *alloc, VkInstance *instance)
{
   VkLayerInstanceCreateInfo *link = (VkLayerInstanceCreateInfo *)ci->pNext;
   while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO && link->function == VK_LAYER_LINK_INFO))
      link = (VkLayerInstanceCreateInfo *)link->pNext;
   if (!link)
      return VK_ERROR_INITIALIZATION_FAILED;
   PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
   link->u.pLayerInfo = link->u.pLayerInfo->pNext;
   PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance");
   struct instance_rec *r = calloc(1, sizeof(*r));
   if (!r)
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   VkResult ret = create(ci, alloc, instance);
   if (ret != VK_SUCCESS) {
      free(r);
      return ret;
   }
   bool ext = false;
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++)
      ext |= strcmp(ci->ppEnabledExtensionNames[i], VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME) == 0;
   r->portability = ext && (ci->flags & VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR);
   r->key = key_of(*instance);
   r->instance = *instance;
   r->gipa = gipa;
#define LOAD(name) r->name = (PFN_vk##name)gipa(*instance, "vk" #name)
   LOAD(DestroyInstance);
   LOAD(EnumeratePhysicalDevices);
   LOAD(EnumeratePhysicalDeviceGroups);
   LOAD(EnumerateDeviceExtensionProperties);
   LOAD(GetPhysicalDeviceFeatures);
   LOAD(GetPhysicalDeviceFeatures2);
   LOAD(GetPhysicalDeviceProperties);
   LOAD(GetPhysicalDeviceProperties2);
   LOAD(GetPhysicalDeviceExternalBufferProperties);
   LOAD(GetPhysicalDeviceExternalSemaphoreProperties);
   LOAD(GetPhysicalDeviceExternalFenceProperties);
   LOAD(GetPhysicalDeviceImageFormatProperties);
   LOAD(GetPhysicalDeviceImageFormatProperties2);
#undef LOAD
   pthread_mutex_lock(&records_lock);
   r->next = instances;
   instances = r;
   pthread_mutex_unlock(&records_lock);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL
layer_DestroyInstance(VkInstance instance, const VkAllocationCallbacks *alloc)
{
   if (!instance)
      return;
   void *key = key_of(instance);
   pthread_mutex_lock(&records_lock);
   struct instance_rec **p = &instances;
   while (*p && (*p)->key != key)
      p = &(*p)->next;
   struct instance_rec *r = *p;
   if (r)
      *p = r->next;
   pthread_mutex_unlock(&records_lock);
   if (r) {
      r->DestroyInstance(instance, alloc);
      free(r);
   }
}

/* --- devices --- */

static VKAPI_ATTR VkResult VKAPI_CALL
layer_CreateDevice(VkPhysicalDevice phys, const VkDeviceCreateInfo *ci, const VkAllocationCallbacks *alloc,
                   VkDevice *device)
{
   bool portability_subset = false;
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      const char *name = ci->ppEnabledExtensionNames[i];
      if (strcmp(name, "VK_KHR_portability_subset") == 0) {
         portability_subset = true;
      } else if (!is_moltenvk_extension(name)) {
         refuse("vkCreateDevice enables %s, which MoltenVK does not have: %s", name, "VK_ERROR_EXTENSION_NOT_PRESENT");
         return VK_ERROR_EXTENSION_NOT_PRESENT;
      }
   }
   if (!portability_subset) {
      refuse("vkCreateDevice without VK_KHR_portability_subset, which a device that lists it must be created with "
             "(VUID-VkDeviceCreateInfo-pProperties-04451): VK_ERROR_INITIALIZATION_FAILED");
      return VK_ERROR_INITIALIZATION_FAILED;
   }
   const VkPhysicalDeviceFeatures2 *features2 = find_struct(ci->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2);
   const VkPhysicalDeviceFeatures *features = features2 ? &features2->features : ci->pEnabledFeatures;
   const char *masked = features ? masked_feature_enabled(features) : NULL;
   const VkPhysicalDevicePortabilitySubsetFeaturesKHR *portability =
      find_struct(ci->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PORTABILITY_SUBSET_FEATURES_KHR);
   if (!masked && portability)
      masked = portability_feature_enabled(portability);
   if (masked) {
      refuse("vkCreateDevice enables %s, which MoltenVK lacks: VK_ERROR_FEATURE_NOT_PRESENT", masked);
      return VK_ERROR_FEATURE_NOT_PRESENT;
   }

   VkLayerDeviceCreateInfo *link = (VkLayerDeviceCreateInfo *)ci->pNext;
   while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO && link->function == VK_LAYER_LINK_INFO))
      link = (VkLayerDeviceCreateInfo *)link->pNext;
   if (!link)
      return VK_ERROR_INITIALIZATION_FAILED;
   PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
   PFN_vkGetDeviceProcAddr gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
   link->u.pLayerInfo = link->u.pLayerInfo->pNext;
   PFN_vkCreateDevice create = (PFN_vkCreateDevice)gipa(instance_of(phys)->instance, "vkCreateDevice");

   /* The driver below has no VK_KHR_portability_subset: it is this layer's. */
   const char **names = calloc(ci->enabledExtensionCount + 1, sizeof(*names));
   struct device_rec *r = calloc(1, sizeof(*r));
   if (!names || !r) {
      free(names);
      free(r);
      return VK_ERROR_OUT_OF_HOST_MEMORY;
   }
   uint32_t n = 0;
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++) {
      if (strcmp(ci->ppEnabledExtensionNames[i], "VK_KHR_portability_subset") != 0)
         names[n++] = ci->ppEnabledExtensionNames[i];
   }
   VkDeviceCreateInfo below = *ci;
   below.enabledExtensionCount = n;
   below.ppEnabledExtensionNames = names;
   VkResult ret = create(phys, &below, alloc, device);
   free(names);
   if (ret != VK_SUCCESS) {
      free(r);
      return ret;
   }
   r->key = key_of(*device);
   r->device = *device;
   r->gdpa = gdpa;
#define LOAD(name) r->name = (PFN_vk##name)gdpa(*device, "vk" #name)
   LOAD(DestroyDevice);
   LOAD(CreateQueryPool);
   LOAD(CreateGraphicsPipelines);
   LOAD(CreateSampler);
   LOAD(AllocateMemory);
#undef LOAD
   pthread_mutex_lock(&records_lock);
   r->next = devices;
   devices = r;
   pthread_mutex_unlock(&records_lock);
   return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL
layer_DestroyDevice(VkDevice device, const VkAllocationCallbacks *alloc)
{
   if (!device)
      return;
   void *key = key_of(device);
   pthread_mutex_lock(&records_lock);
   struct device_rec **p = &devices;
   while (*p && (*p)->key != key)
      p = &(*p)->next;
   struct device_rec *r = *p;
   if (r)
      *p = r->next;
   pthread_mutex_unlock(&records_lock);
   if (r) {
      r->DestroyDevice(device, alloc);
      free(r);
   }
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_CreateQueryPool(VkDevice device, const VkQueryPoolCreateInfo *ci, const VkAllocationCallbacks *alloc,
                      VkQueryPool *pool)
{
   if (ci->queryType == VK_QUERY_TYPE_PIPELINE_STATISTICS) {
      refuse("vkCreateQueryPool of pipeline statistics (pipelineStatisticsQuery): VK_ERROR_FEATURE_NOT_PRESENT");
      return VK_ERROR_FEATURE_NOT_PRESENT;
   }
   return device_of(device)->CreateQueryPool(device, ci, alloc, pool);
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_CreateSampler(VkDevice device, const VkSamplerCreateInfo *ci, const VkAllocationCallbacks *alloc,
                    VkSampler *sampler)
{
   if (ci->mipLodBias != 0.0f) {
      refuse("vkCreateSampler with mipLodBias %g (portability samplerMipLodBias): VK_ERROR_FEATURE_NOT_PRESENT",
             (double)ci->mipLodBias);
      return VK_ERROR_FEATURE_NOT_PRESENT;
   }
   return device_of(device)->CreateSampler(device, ci, alloc, sampler);
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_AllocateMemory(VkDevice device, const VkMemoryAllocateInfo *info, const VkAllocationCallbacks *alloc,
                     VkDeviceMemory *memory)
{
   const VkImportMemoryHostPointerInfoEXT *host = find_struct(info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT);
   if (host && (((uintptr_t)host->pHostPointer % HOST_POINTER_ALIGNMENT) != 0 ||
                info->allocationSize % HOST_POINTER_ALIGNMENT != 0)) {
      refuse("vkAllocateMemory imports host pointer %p of %llu bytes, not both multiples of "
             "minImportedHostPointerAlignment %u: VK_ERROR_INVALID_EXTERNAL_HANDLE",
             host->pHostPointer, (unsigned long long)info->allocationSize, HOST_POINTER_ALIGNMENT);
      return VK_ERROR_INVALID_EXTERNAL_HANDLE;
   }
   return device_of(device)->AllocateMemory(device, info, alloc, memory);
}

static bool
dynamic(const VkPipelineDynamicStateCreateInfo *d, VkDynamicState state)
{
   for (uint32_t i = 0; d && i < d->dynamicStateCount; i++) {
      if (d->pDynamicStates[i] == state)
         return true;
   }
   return false;
}

/* What of MoltenVK's missing features pipeline `p` uses, or NULL. */
static const char *
pipeline_uses_missing(const VkGraphicsPipelineCreateInfo *p, char *why, size_t size)
{
   const VkPipelineDynamicStateCreateInfo *d = p->pDynamicState;
   for (uint32_t i = 0; i < p->stageCount; i++) {
      if (p->pStages[i].stage & VK_SHADER_STAGE_GEOMETRY_BIT)
         return "a geometry shader (geometryShader)";
   }
   const VkPipelineInputAssemblyStateCreateInfo *ia = p->pInputAssemblyState;
   const VkPipelineRasterizationStateCreateInfo *rs = p->pRasterizationState;
   if (rs && ia && rs->polygonMode == VK_POLYGON_MODE_POINT && !dynamic(d, VK_DYNAMIC_STATE_POLYGON_MODE_EXT) &&
       !dynamic(d, VK_DYNAMIC_STATE_PRIMITIVE_TOPOLOGY) &&
       (ia->topology == VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST || ia->topology == VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP ||
        ia->topology == VK_PRIMITIVE_TOPOLOGY_TRIANGLE_FAN))
      return "triangles drawn as points (portability pointPolygons)";
   if (rs && !rs->rasterizerDiscardEnable && rs->lineWidth != 1.0f && !dynamic(d, VK_DYNAMIC_STATE_LINE_WIDTH)) {
      snprintf(why, size, "lineWidth %g (wideLines)", (double)rs->lineWidth);
      return why;
   }
   if (p->pColorBlendState && p->pColorBlendState->logicOpEnable && !dynamic(d, VK_DYNAMIC_STATE_LOGIC_OP_ENABLE_EXT))
      return "a logic op (logicOp)";
   if (p->pDepthStencilState && p->pDepthStencilState->depthBoundsTestEnable &&
       !dynamic(d, VK_DYNAMIC_STATE_DEPTH_BOUNDS_TEST_ENABLE))
      return "the depth bounds test (depthBounds)";
   const VkPipelineVertexInputStateCreateInfo *vi = p->pVertexInputState;
   if (vi && !dynamic(d, VK_DYNAMIC_STATE_VERTEX_INPUT_EXT) && !dynamic(d, VK_DYNAMIC_STATE_VERTEX_INPUT_BINDING_STRIDE)) {
      for (uint32_t i = 0; i < vi->vertexBindingDescriptionCount; i++) {
         if (vi->pVertexBindingDescriptions[i].stride % VERTEX_STRIDE_ALIGNMENT) {
            snprintf(why, size, "vertex binding stride %u (minVertexInputBindingStrideAlignment %u)",
                     vi->pVertexBindingDescriptions[i].stride, VERTEX_STRIDE_ALIGNMENT);
            return why;
         }
      }
   }
   return NULL;
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_CreateGraphicsPipelines(VkDevice device, VkPipelineCache cache, uint32_t count,
                              const VkGraphicsPipelineCreateInfo *infos, const VkAllocationCallbacks *alloc,
                              VkPipeline *pipelines)
{
   char why[128];
   for (uint32_t i = 0; i < count; i++) {
      const char *missing = pipeline_uses_missing(&infos[i], why, sizeof(why));
      if (missing) {
         refuse("vkCreateGraphicsPipelines: pipeline %u of %u uses %s, which MoltenVK lacks: VK_ERROR_UNKNOWN", i,
                count, missing);
         for (uint32_t j = 0; j < count; j++)
            pipelines[j] = VK_NULL_HANDLE;
         return VK_ERROR_UNKNOWN;
      }
   }
   return device_of(device)->CreateGraphicsPipelines(device, cache, count, infos, alloc, pipelines);
}

/* --- entry points --- */

static PFN_vkVoidFunction
device_intercept(const char *name)
{
#define ENTRY(fn) if (strcmp(name, "vk" #fn) == 0) return (PFN_vkVoidFunction)layer_##fn;
   ENTRY(DestroyDevice)
   ENTRY(CreateQueryPool)
   ENTRY(CreateGraphicsPipelines)
   ENTRY(CreateSampler)
   ENTRY(AllocateMemory)
#undef ENTRY
   return NULL;
}

static PFN_vkVoidFunction
instance_intercept(const char *name)
{
   /* Core names and their KHR aliases alike. */
   static const struct {
      const char *name;
      PFN_vkVoidFunction fn;
   } entries[] = {
#define ENTRY(fn) { "vk" #fn, (PFN_vkVoidFunction)layer_##fn },
#define ALIAS(fn, suffix) { "vk" #fn #suffix, (PFN_vkVoidFunction)layer_##fn },
      ENTRY(CreateInstance) ENTRY(DestroyInstance) ENTRY(EnumeratePhysicalDevices)
      ENTRY(EnumeratePhysicalDeviceGroups) ALIAS(EnumeratePhysicalDeviceGroups, KHR)
      ENTRY(EnumerateDeviceExtensionProperties) ENTRY(CreateDevice)
      ENTRY(GetPhysicalDeviceFeatures) ENTRY(GetPhysicalDeviceFeatures2) ALIAS(GetPhysicalDeviceFeatures2, KHR)
      ENTRY(GetPhysicalDeviceProperties) ENTRY(GetPhysicalDeviceProperties2) ALIAS(GetPhysicalDeviceProperties2, KHR)
      ENTRY(GetPhysicalDeviceExternalBufferProperties) ALIAS(GetPhysicalDeviceExternalBufferProperties, KHR)
      ENTRY(GetPhysicalDeviceExternalSemaphoreProperties) ALIAS(GetPhysicalDeviceExternalSemaphoreProperties, KHR)
      ENTRY(GetPhysicalDeviceExternalFenceProperties) ALIAS(GetPhysicalDeviceExternalFenceProperties, KHR)
      ENTRY(GetPhysicalDeviceImageFormatProperties)
      ENTRY(GetPhysicalDeviceImageFormatProperties2) ALIAS(GetPhysicalDeviceImageFormatProperties2, KHR)
#undef ALIAS
#undef ENTRY
   };
   for (size_t i = 0; i < ARRAY_LEN(entries); i++) {
      if (strcmp(name, entries[i].name) == 0)
         return entries[i].fn;
   }
   return NULL;
}

/* The layer's own entry points are static and reached through the
 * exported names below: inside this library a call of an exported name
 * would bind to the loader's function of that name, which the process
 * linked first. */
static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
layer_GetDeviceProcAddr(VkDevice device, const char *name)
{
   if (strcmp(name, "vkGetDeviceProcAddr") == 0)
      return (PFN_vkVoidFunction)layer_GetDeviceProcAddr;
   PFN_vkVoidFunction fn = device_intercept(name);
   if (fn)
      return fn;
   struct device_rec *r = device_of(device);
   return r ? r->gdpa(device, name) : NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
layer_GetInstanceProcAddr(VkInstance instance, const char *name)
{
   if (strcmp(name, "vkGetInstanceProcAddr") == 0)
      return (PFN_vkVoidFunction)layer_GetInstanceProcAddr;
   if (strcmp(name, "vkGetDeviceProcAddr") == 0)
      return (PFN_vkVoidFunction)layer_GetDeviceProcAddr;
   PFN_vkVoidFunction fn = instance_intercept(name);
   if (!fn)
      fn = device_intercept(name);
   if (fn)
      return fn;
   if (!instance)
      return NULL;
   struct instance_rec *r = instance_of(instance);
   return r ? r->gipa(instance, name) : NULL;
}

EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *iface)
{
   if (iface->loaderLayerInterfaceVersion > 2)
      iface->loaderLayerInterfaceVersion = 2;
   iface->pfnGetInstanceProcAddr = layer_GetInstanceProcAddr;
   iface->pfnGetDeviceProcAddr = layer_GetDeviceProcAddr;
   iface->pfnGetPhysicalDeviceProcAddr = NULL;
   return VK_SUCCESS;
}

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
vkGetInstanceProcAddr(VkInstance instance, const char *name)
{
   return layer_GetInstanceProcAddr(instance, name);
}

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL
vkGetDeviceProcAddr(VkDevice device, const char *name)
{
   return layer_GetDeviceProcAddr(device, name);
}

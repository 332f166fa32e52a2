/* SPDX-License-Identifier: MIT */
/* renderer/validate.c: the check primitives accept what Vulkan allows and
 * refuse what lies outside the resource. The dispatcher is stubbed: a
 * failed check is a call of vs_runner_fail, recorded here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "renderer/objects.h"
#include "renderer/validate.h"
#include "unit.h"
#include "wire/runner.h"

static int fails;
static char last_fail[512];

void
vs_runner_fail(struct vs_runner *runner, const char *fmt, ...)
{
   (void)runner;
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(last_fail, sizeof(last_fail), fmt, ap);
   va_end(ap);
   fails++;
}

struct vs_object *
vs_runner_nested_object(const struct vs_runner *runner, const void *field)
{
   (void)runner;
   (void)field;
   return NULL;
}

/* Runs a check and says whether it passed, as its fail calls agree. */
#define ACCEPTS(call) (fails = 0, (call) && fails == 0)
#define REFUSES(call) (fails = 0, !(call) && fails == 1)

struct test_image {
   struct vs_object obj;
   struct vs_image image;
};

static struct vs_object *
make_image(struct test_image *t, VkImageType type, VkFormat format, uint32_t w, uint32_t h, uint32_t d, uint32_t mips,
           uint32_t layers, VkImageCreateFlags flags)
{
   memset(t, 0, sizeof(*t));
   t->image = (struct vs_image){ .format = format, .extent = { w, h, d }, .mip_levels = mips, .array_layers = layers,
                                 .type = type, .host_flags = flags, .memory_id = 1 };
   t->obj = (struct vs_object){ .id = 7, .type = VK_OBJECT_TYPE_IMAGE, .data = &t->image };
   return &t->obj;
}

static VkImageSubresourceRange
range(uint32_t mip, uint32_t mips, uint32_t layer, uint32_t layers)
{
   return (VkImageSubresourceRange){ VK_IMAGE_ASPECT_COLOR_BIT, mip, mips, layer, layers };
}

static VkImageSubresourceLayers
sub(uint32_t mip, uint32_t layer, uint32_t layers)
{
   return (VkImageSubresourceLayers){ VK_IMAGE_ASPECT_COLOR_BIT, mip, layer, layers };
}

/* 2D and 2D-array views of a 3D image made for them count the depth
 * slices of their mip level (VUIDs 02724, 02725, 04970). */
TEST(view_of_3d_counts_slices)
{
   struct test_image t;
   struct vs_object *img = make_image(&t, VK_IMAGE_TYPE_3D, VK_FORMAT_R8G8B8A8_UNORM, 32, 32, 32, 6, 1,
                                      VK_IMAGE_CREATE_2D_ARRAY_COMPATIBLE_BIT);
   VkImageSubresourceRange r = range(0, 1, 31, 1);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(0, 1, 0, 32);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D_ARRAY, &r)));
   r = range(2, 1, 4, VK_REMAINING_ARRAY_LAYERS); /* mip 2 is 8 deep */
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D_ARRAY, &r)));
   r = range(2, 1, 7, 1);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(5, VK_REMAINING_MIP_LEVELS, 0, 1); /* the last mip: one level remains */
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   /* Past the mip's depth, more than one level, or no slices. */
   r = range(2, 1, 8, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(2, 1, 4, 5);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D_ARRAY, &r)));
   r = range(0, 2, 0, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(0, 1, 0, 0);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(6, 1, 0, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   /* A 3D view of it: array layers, as ever. */
   r = range(0, 6, 0, 1);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_3D, &r)));
   r = range(0, 1, 1, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_3D, &r)));
   /* VK_EXT_image_2d_view_of_3d's flag does the same. */
   img = make_image(&t, VK_IMAGE_TYPE_3D, VK_FORMAT_R8G8B8A8_UNORM, 16, 16, 4, 1, 1,
                    VK_IMAGE_CREATE_2D_VIEW_COMPATIBLE_BIT_EXT);
   r = range(0, 1, 3, 1);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   /* Without either flag a 3D image has one layer. */
   img = make_image(&t, VK_IMAGE_TYPE_3D, VK_FORMAT_R8G8B8A8_UNORM, 16, 16, 4, 1, 1, 0);
   r = range(0, 1, 3, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   /* Barriers and clears name array layers of a 3D image. */
   img = make_image(&t, VK_IMAGE_TYPE_3D, VK_FORMAT_R8G8B8A8_UNORM, 16, 16, 4, 1, 1,
                    VK_IMAGE_CREATE_2D_ARRAY_COMPATIBLE_BIT);
   CHECK(REFUSES(vs_check_image_range(NULL, "t", img, &r)));
}

TEST(view_of_array_counts_layers)
{
   struct test_image t;
   struct vs_object *img = make_image(&t, VK_IMAGE_TYPE_2D, VK_FORMAT_R8G8B8A8_UNORM, 32, 32, 1, 3, 6,
                                      VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT);
   VkImageSubresourceRange r = range(0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_CUBE, &r)));
   r = range(1, 2, 5, 1);
   CHECK(ACCEPTS(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
   r = range(0, 1, 6, VK_REMAINING_ARRAY_LAYERS);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D_ARRAY, &r)));
   r = range(1, 3, 0, 1);
   CHECK(REFUSES(vs_check_image_view_range(NULL, "t", img, VK_IMAGE_VIEW_TYPE_2D, &r)));
}

static VkImageCopy
copy(VkImageSubresourceLayers s, VkOffset3D so, VkImageSubresourceLayers d, VkOffset3D dof, VkExtent3D e)
{
   return (VkImageCopy){ s, so, d, dof, e };
}

/* Compressed <-> uncompressed: the extent is in source texels; the other
 * side copies as many blocks (VkImageCopy). */
TEST(copy_scales_by_block_size)
{
   struct test_image a, b;
   struct vs_object *bc = make_image(&a, VK_IMAGE_TYPE_2D, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, 256, 256, 1, 9, 1, 0);
   struct vs_object *rg = make_image(&b, VK_IMAGE_TYPE_2D, VK_FORMAT_R32G32_UINT, 256, 256, 1, 9, 1, 0);
   /* arb_copy_image-formats: 64x64 texels of BC1 are 16x16 texels of the
    * uncompressed mip 3 (32x32). */
   VkImageCopy c = copy(sub(0, 0, 1), (VkOffset3D){ 32, 32, 0 }, sub(3, 0, 1), (VkOffset3D){ 8, 8, 0 },
                        (VkExtent3D){ 64, 64, 1 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", bc, rg, &c)));
   /* The other way: 16x16 texels of R32G32 are 64x64 texels of BC1. */
   c = copy(sub(3, 0, 1), (VkOffset3D){ 16, 16, 0 }, sub(0, 0, 1), (VkOffset3D){ 192, 192, 0 },
            (VkExtent3D){ 16, 16, 1 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", rg, bc, &c)));
   /* A partial block at the edge of a small mip (mip 7 of BC1 is 2x2). */
   c = copy(sub(7, 0, 1), (VkOffset3D){ 0, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 2, 2, 1 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", bc, rg, &c)));
   /* Unscaled it would fit; scaled it does not: 17x17 uncompressed texels
    * are 68x68 compressed ones, past 256 from 192. */
   c = copy(sub(3, 0, 1), (VkOffset3D){ 0, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 192, 192, 0 },
            (VkExtent3D){ 17, 17, 1 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", rg, bc, &c)));
   /* 65x65 BC1 texels are 17 blocks: past the 32-texel uncompressed mip from 16. */
   c = copy(sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, sub(3, 0, 1), (VkOffset3D){ 16, 16, 0 },
            (VkExtent3D){ 65, 65, 1 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", bc, rg, &c)));
   /* Compressed offsets lie on block boundaries. */
   c = copy(sub(0, 0, 1), (VkOffset3D){ 2, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 4, 4, 1 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", bc, rg, &c)));
   /* Uncompressed copies keep the texel rule. */
   c = copy(sub(0, 0, 1), (VkOffset3D){ 250, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 7, 1, 1 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", rg, rg, &c)));
   c = copy(sub(0, 0, 1), (VkOffset3D){ 249, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 7, 1, 1 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", rg, rg, &c)));
   c = copy(sub(0, 0, 1), (VkOffset3D){ -1, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 1, 1, 1 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", rg, rg, &c)));
   c = copy(sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 1, 1, 2 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", rg, rg, &c)));
}

/* Between a 3D and a 2D (array) image the depth is the 2D side's layers. */
TEST(copy_3d_and_array)
{
   struct test_image a, b;
   struct vs_object *vol = make_image(&a, VK_IMAGE_TYPE_3D, VK_FORMAT_R8G8B8A8_UNORM, 32, 32, 17, 1, 1, 0);
   struct vs_object *arr = make_image(&b, VK_IMAGE_TYPE_2D, VK_FORMAT_R8G8B8A8_UNORM, 32, 16, 1, 1, 18, 0);
   /* arb_copy_image-targets gl_texture_3d 32 32 17 gl_texture_2d_array 32 16 18 ... */
   VkImageCopy c = copy(sub(0, 0, 1), (VkOffset3D){ 5, 3, 2 }, sub(0, 4, 14), (VkOffset3D){ 11, 1, 0 },
                        (VkExtent3D){ 14, 13, 14 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   VkImageCopy back = copy(sub(0, 4, 14), (VkOffset3D){ 11, 1, 0 }, sub(0, 0, 1), (VkOffset3D){ 5, 3, 2 },
                           (VkExtent3D){ 14, 13, 14 });
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", arr, vol, &back)));
   /* Slices past the volume's depth, layers past the array's. */
   c.srcOffset.z = 4;
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   c.srcOffset.z = 2;
   c.dstSubresource = sub(0, 5, 14);
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   /* The depth runs the layers: a layerCount that disagrees (invalid) is
    * still inside the array either way the host reads it. */
   c.dstSubresource = sub(0, 4, 1);
   CHECK(ACCEPTS(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   c.dstSubresource = sub(0, 10, 1);
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   /* A 2D side has no depth of its own. */
   c = copy(sub(0, 0, 1), (VkOffset3D){ 0, 0, 0 }, sub(0, 0, 2), (VkOffset3D){ 0, 0, 1 }, (VkExtent3D){ 1, 1, 2 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", vol, arr, &c)));
   /* The 3D side names one layer. */
   c = copy(sub(0, 1, 1), (VkOffset3D){ 0, 0, 0 }, sub(0, 0, 2), (VkOffset3D){ 0, 0, 0 }, (VkExtent3D){ 1, 1, 2 });
   CHECK(REFUSES(vs_check_image_copy(NULL, "t", vol, arr, &c)));
}

static struct vs_query_pool
pool_of(VkQueryType type, VkQueryPipelineStatisticFlags stats, const void *next)
{
   VkQueryPoolCreateInfo ci = { VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, next, 0, type, 4, stats };
   struct vs_query_pool pool = { 0 };
   if (!vs_query_pool_shape(&ci, &pool) || pool.count != 4)
      unit_fail(__FILE__, __LINE__, "query type %d: no shape", (int)type);
   return pool;
}

/* What one query writes, by type, with the 64-bit and availability flags. */
TEST(query_result_sizes)
{
   const VkQueryResultFlags av = VK_QUERY_RESULT_WITH_AVAILABILITY_BIT, b64 = VK_QUERY_RESULT_64_BIT;
   struct vs_query_pool p = pool_of(VK_QUERY_TYPE_OCCLUSION, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, 0), 4u);
   CHECK_EQ(vs_query_result_bytes(&p, av), 8u);
   CHECK_EQ(vs_query_result_bytes(&p, b64 | av), 16u);
   p = pool_of(VK_QUERY_TYPE_TIMESTAMP, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64), 8u);
   p = pool_of(VK_QUERY_TYPE_PRIMITIVES_GENERATED_EXT, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, av), 8u); /* Zink's GL_PRIMITIVES_GENERATED into 16 bytes */
   p = pool_of(VK_QUERY_TYPE_MESH_PRIMITIVES_GENERATED_EXT, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64), 8u);
   p = pool_of(VK_QUERY_TYPE_TRANSFORM_FEEDBACK_STREAM_EXT, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64 | av), 24u);
   p = pool_of(VK_QUERY_TYPE_PIPELINE_STATISTICS,
               VK_QUERY_PIPELINE_STATISTIC_INPUT_ASSEMBLY_VERTICES_BIT |
                  VK_QUERY_PIPELINE_STATISTIC_CLIPPING_PRIMITIVES_BIT |
                  VK_QUERY_PIPELINE_STATISTIC_COMPUTE_SHADER_INVOCATIONS_BIT,
               NULL);
   CHECK_EQ(vs_query_result_bytes(&p, 0), 12u);
   CHECK_EQ(vs_query_result_bytes(&p, b64 | av), 32u);
   p = pool_of(VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_KHR, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64), 8u);
   p = pool_of(VK_QUERY_TYPE_ACCELERATION_STRUCTURE_SIZE_KHR, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64), 8u);
   p = pool_of(VK_QUERY_TYPE_MICROMAP_COMPACTED_SIZE_EXT, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, b64), 8u);
   p = pool_of(VK_QUERY_TYPE_RESULT_STATUS_ONLY_KHR, 0, NULL);
   CHECK_EQ(vs_query_result_bytes(&p, VK_QUERY_RESULT_WITH_STATUS_BIT_KHR), 4u);
   VkQueryPoolVideoEncodeFeedbackCreateInfoKHR fb = {
      VK_STRUCTURE_TYPE_QUERY_POOL_VIDEO_ENCODE_FEEDBACK_CREATE_INFO_KHR, NULL,
      VK_VIDEO_ENCODE_FEEDBACK_BITSTREAM_BUFFER_OFFSET_BIT_KHR | VK_VIDEO_ENCODE_FEEDBACK_BITSTREAM_BYTES_WRITTEN_BIT_KHR
   };
   p = pool_of(VK_QUERY_TYPE_VIDEO_ENCODE_FEEDBACK_KHR, 0, &fb);
   CHECK_EQ(vs_query_result_bytes(&p, VK_QUERY_RESULT_WITH_STATUS_BIT_KHR), 12u);
   uint32_t counters[3] = { 0, 1, 2 };
   VkQueryPoolPerformanceCreateInfoKHR perf = { VK_STRUCTURE_TYPE_QUERY_POOL_PERFORMANCE_CREATE_INFO_KHR, NULL, 0, 3,
                                                counters };
   p = pool_of(VK_QUERY_TYPE_PERFORMANCE_QUERY_KHR, 0, &perf);
   CHECK_EQ(vs_query_result_bytes(&p, 0), 3 * sizeof(VkPerformanceCounterResultKHR));
   /* A size only the host knows, or a performance pool without counters. */
   VkQueryPoolCreateInfo ci = { VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, NULL, 0,
                                VK_QUERY_TYPE_PERFORMANCE_QUERY_INTEL, 1, 0 };
   struct vs_query_pool pool;
   CHECK(!vs_query_pool_shape(&ci, &pool));
   ci.queryType = VK_QUERY_TYPE_PERFORMANCE_QUERY_KHR;
   CHECK(!vs_query_pool_shape(&ci, &pool));
   ci.queryType = (VkQueryType)12345;
   CHECK(!vs_query_pool_shape(&ci, &pool));
}

/* vkGetQueryPoolResults: count results `stride` apart; stride 0 is fine
 * for one query. */
TEST(query_results_fit)
{
   struct vs_object obj = { .id = 3, .type = VK_OBJECT_TYPE_QUERY_POOL };
   struct vs_query_pool p = pool_of(VK_QUERY_TYPE_PRIMITIVES_GENERATED_EXT, 0, NULL);
   obj.data = &p;
   char buf[64];
   const VkQueryResultFlags av = VK_QUERY_RESULT_WITH_AVAILABILITY_BIT, b64 = VK_QUERY_RESULT_64_BIT;
   CHECK(ACCEPTS(vs_check_query_results(NULL, "t", &obj, buf, 16, 1, 0, b64 | av)));
   CHECK(ACCEPTS(vs_check_query_results(NULL, "t", &obj, buf, 16, 1, 16, b64 | av)));
   CHECK(REFUSES(vs_check_query_results(NULL, "t", &obj, buf, 15, 1, 16, b64 | av)));
   CHECK(ACCEPTS(vs_check_query_results(NULL, "t", &obj, buf, 32, 4, 8, b64)));
   CHECK(REFUSES(vs_check_query_results(NULL, "t", &obj, buf, 31, 4, 8, b64)));
   CHECK(ACCEPTS(vs_check_query_results(NULL, "t", &obj, buf, 16, 4, 4, 0)));
   CHECK(ACCEPTS(vs_check_query_results(NULL, "t", &obj, buf, 8, 0, 8, 0)));
   CHECK(REFUSES(vs_check_query_results(NULL, "t", &obj, NULL, 8, 1, 8, 0)));
}

/* A protected queue needs protectedMemory enabled, through either
 * features struct, and a family that has protected queues; no other flag
 * exists. */
TEST(queue_flags_follow_features)
{
   const VkQueueFamilyProperties families[2] = {
      { .queueFlags = VK_QUEUE_GRAPHICS_BIT, .queueCount = 1 },
      { .queueFlags = VK_QUEUE_COMPUTE_BIT | VK_QUEUE_PROTECTED_BIT, .queueCount = 1 },
   };
   const float priority = 1.0f;
   VkDeviceQueueCreateInfo queue = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .flags = VK_DEVICE_QUEUE_CREATE_PROTECTED_BIT,
      .queueFamilyIndex = 1,
      .queueCount = 1,
      .pQueuePriorities = &priority,
   };
   VkDeviceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &queue,
   };
   char buf[192];
   const char *why = vs_device_queue_flags_error(&ci, families, buf, sizeof(buf));
   CHECK(why && strstr(why, "02861"));
   VkPhysicalDeviceProtectedMemoryFeatures protected_features = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROTECTED_MEMORY_FEATURES,
      .protectedMemory = VK_TRUE,
   };
   ci.pNext = &protected_features;
   CHECK(vs_device_queue_flags_error(&ci, families, buf, sizeof(buf)) == NULL);
   VkPhysicalDeviceVulkan11Features v11 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
      .protectedMemory = VK_TRUE,
   };
   ci.pNext = &v11;
   CHECK(vs_device_queue_flags_error(&ci, families, buf, sizeof(buf)) == NULL);
   queue.queueFamilyIndex = 0;
   why = vs_device_queue_flags_error(&ci, families, buf, sizeof(buf));
   CHECK(why && strstr(why, "06449"));
   queue.flags = 0x2;
   why = vs_device_queue_flags_error(&ci, families, buf, sizeof(buf));
   CHECK(why && strstr(why, "flags-parameter"));
   queue.flags = 0;
   ci.pNext = NULL;
   CHECK(vs_device_queue_flags_error(&ci, families, buf, sizeof(buf)) == NULL);
}

UNIT_MAIN(UNIT(view_of_3d_counts_slices), UNIT(view_of_array_counts_layers), UNIT(copy_scales_by_block_size),
          UNIT(copy_3d_and_array), UNIT(query_result_sizes), UNIT(query_results_fit), UNIT(queue_flags_follow_features))

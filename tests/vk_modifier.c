/* SPDX-License-Identifier: MIT */
/* Test client: DRM format modifiers and dma-buf external memory, used the
 * way a client sharing images with a compositor or another process uses
 * them. Through venus-server these extensions are the server's own
 * (src/renderer/caps/: one modifier, DRM_FORMAT_MOD_LINEAR, which is the host's
 * linear tiling; dma-buf handle types answered by the server and dropped
 * from create infos), so this client runs only through the server.
 *
 *   vk_modifier
 *
 * On a Vulkan 1.3 device with VK_EXT_image_drm_format_modifier,
 * VK_EXT_external_memory_dma_buf and VK_KHR_external_memory_fd:
 *   - format queries: VkDrmFormatModifierPropertiesList{,2}EXT for RGBA8 and
 *     BGRA8 list exactly LINEAR, one plane, the format's linear features;
 *   - image format queries: LINEAR with a dma-buf handle type is supported
 *     and exportable, a vendor modifier is not; dma-buf buffers are
 *     exportable;
 *   - a 64x64 RGBA8 image from a modifier list and a second one from an
 *     explicit layout (the first one's), each in a dedicated, exported,
 *     host-visible allocation: written through its mapping at the reported
 *     layout and read by the GPU, then written by the GPU and read through
 *     the mapping; an explicit layout other than the host's is refused;
 *   - vkGetDeviceImageMemoryRequirements with the modifier create infos
 *     agrees with the created images;
 *   - the GPU copies go through a dma-buf external buffer.
 * One ok/error line per check; exit 0 only if all passed. */
#include <stdio.h>
#include <string.h>

#include "vk_util.h"

#define SIZE 64 /* the images are SIZE x SIZE */
#define FORMAT VK_FORMAT_R8G8B8A8_UNORM
#define IMAGE_BYTES (SIZE * SIZE * 4)
#define DMA_BUF VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT
/* From the kernel's drm_fourcc.h: DRM_FORMAT_MOD_LINEAR, and
 * I915_FORMAT_MOD_X_TILED as a real modifier the server does not have. */
#define MOD_LINEAR 0ull
#define MOD_VENDOR ((0x01ull << 56) | 1)

static const VkImageUsageFlags image_usage =
   VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;

/* The GPU-written rectangle of the second direction: not whole rows, so
 * that a wrong row pitch shows. */
#define RECT_X 16
#define RECT_Y 8
#define RECT_W 32
#define RECT_H 40
static const uint8_t clear_rgba[4] = { 32, 64, 96, 255 };

/* An image with a DRM format modifier in its own mapped allocation. */
struct mod_image {
   const char *name;
   struct vkt_image img; /* for vk_util's barriers and copies */
   VkSubresourceLayout layout; /* of memory plane 0 */
   uint8_t *map;
};

struct modifier {
   struct vkt t;
   PFN_vkGetImageDrmFormatModifierPropertiesEXT get_image_modifier;
   VkCommandPool cmd_pool;
   VkCommandBuffer cmd;
   VkFence fence;
   /* A dma-buf external buffer: [0, IMAGE_BYTES) receives image readbacks,
    * [IMAGE_BYTES, 2 * IMAGE_BYTES) holds what is copied into images. */
   struct vkt_buffer staging;
   struct mod_image listed, explicit;
};

/* Error line unless `res` is VK_SUCCESS. */
static bool
succeeded(struct modifier *m, VkResult res, const char *what)
{
   if (res == VK_SUCCESS)
      return true;
   vkt_error(&m->t, "%s: %s", what, vkt_result(res));
   return false;
}

/* vkt_result does not know the extension's own error. */
static const char *
result_name(VkResult res)
{
   return res == VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT
             ? "VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT"
             : vkt_result(res);
}

/* The test pattern: every channel varies, and differently per seed. */
static void
texel(uint32_t x, uint32_t y, uint8_t seed, uint8_t out[4])
{
   out[0] = (uint8_t)(x * 4 + seed);
   out[1] = (uint8_t)(y * 4 + seed * 3);
   out[2] = (uint8_t)((x ^ y) * 5 + seed);
   out[3] = (uint8_t)(255 - x - seed);
}

static const char *const extensions[] = {
   VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME,
   VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME,
   VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,
};
#define N_EXTENSIONS (sizeof(extensions) / sizeof(extensions[0]))

/* A 1.3 device with the three extensions. The server offers 1.3 only
 * because it provides these (Mesa requires them), so both are checks. */
static bool
create_device(struct modifier *m)
{
   struct vkt *t = &m->t;
   if (!vkt_init_instance(t, VK_API_VERSION_1_3))
      return false;
   const uint32_t api = t->props.apiVersion;
   printf("info: device %s, Vulkan %u.%u.%u\n", t->props.deviceName, VK_API_VERSION_MAJOR(api),
          VK_API_VERSION_MINOR(api), VK_API_VERSION_PATCH(api));
   bool ok = true;
   if (api < VK_API_VERSION_1_3) {
      vkt_error(t, "device reports Vulkan %u.%u, want 1.3", VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
      ok = false;
   }
   for (size_t i = 0; i < N_EXTENSIONS; i++) {
      if (!vkt_has_device_extension(t, extensions[i])) {
         vkt_error(t, "%s is not listed", extensions[i]);
         ok = false;
      }
   }
   if (!ok || !vkt_init_device(t, 1, NULL, N_EXTENSIONS, extensions))
      return false;
   m->get_image_modifier = (PFN_vkGetImageDrmFormatModifierPropertiesEXT)vkGetDeviceProcAddr(
      t->device, "vkGetImageDrmFormatModifierPropertiesEXT");
   if (!m->get_image_modifier) {
      vkt_error(t, "vkGetDeviceProcAddr(vkGetImageDrmFormatModifierPropertiesEXT) returned NULL");
      return false;
   }
   vkt_ok(t, "Vulkan 1.3 device with %s, %s and %s", extensions[0], extensions[1], extensions[2]);
   return true;
}

/* One modifier list answer: exactly LINEAR, one plane, `want` features. */
static void
check_modifier_entry(struct modifier *m, const char *what, uint32_t count, uint32_t filled, uint64_t modifier,
                     uint32_t planes, uint64_t features, uint64_t want)
{
   if (count == 1 && filled == 1 && modifier == MOD_LINEAR && planes == 1 && features == want && want)
      vkt_ok(&m->t, "%s: one modifier, LINEAR, 1 plane, features 0x%llx = linearTilingFeatures", what,
             (unsigned long long)features);
   else
      vkt_error(&m->t,
                "%s: count %u, then %u written; modifier 0x%llx, %u plane(s), features 0x%llx (want 1, 1, "
                "LINEAR, 1 plane, 0x%llx)",
                what, count, filled, (unsigned long long)modifier, planes, (unsigned long long)features,
                (unsigned long long)want);
}

/* vkGetPhysicalDeviceFormatProperties2 with each modifier list: a count
 * query, then a fill into room for more than one, which must say 1. */
static void
check_format_modifiers(struct modifier *m, VkFormat format, const char *format_name)
{
   char what[128];
   VkDrmFormatModifierPropertiesListEXT list = { .sType = VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_EXT };
   VkFormatProperties2 props = { .sType = VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_2, .pNext = &list };
   vkGetPhysicalDeviceFormatProperties2(m->t.phys, format, &props);
   const uint32_t count = list.drmFormatModifierCount;
   VkDrmFormatModifierPropertiesEXT entries[4] = { 0 };
   list.drmFormatModifierCount = 4;
   list.pDrmFormatModifierProperties = entries;
   vkGetPhysicalDeviceFormatProperties2(m->t.phys, format, &props);
   snprintf(what, sizeof(what), "%s: VkDrmFormatModifierPropertiesListEXT", format_name);
   check_modifier_entry(m, what, count, list.drmFormatModifierCount, entries[0].drmFormatModifier,
                        entries[0].drmFormatModifierPlaneCount, entries[0].drmFormatModifierTilingFeatures,
                        props.formatProperties.linearTilingFeatures);

   VkDrmFormatModifierPropertiesList2EXT list2 = {
      .sType = VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_2_EXT,
   };
   VkFormatProperties3 props3 = { .sType = VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_3, .pNext = &list2 };
   props.pNext = &props3;
   vkGetPhysicalDeviceFormatProperties2(m->t.phys, format, &props);
   const uint32_t count2 = list2.drmFormatModifierCount;
   VkDrmFormatModifierProperties2EXT entries2[4] = { 0 };
   list2.drmFormatModifierCount = 4;
   list2.pDrmFormatModifierProperties = entries2;
   vkGetPhysicalDeviceFormatProperties2(m->t.phys, format, &props);
   snprintf(what, sizeof(what), "%s: VkDrmFormatModifierPropertiesList2EXT", format_name);
   check_modifier_entry(m, what, count2, list2.drmFormatModifierCount, entries2[0].drmFormatModifier,
                        entries2[0].drmFormatModifierPlaneCount, entries2[0].drmFormatModifierTilingFeatures,
                        props3.linearTilingFeatures);
}

/* vkGetPhysicalDeviceImageFormatProperties2 for a dma-buf image with
 * `modifier`. */
static VkResult
query_image_format(struct modifier *m, uint64_t modifier, VkImageFormatProperties2 *props,
                   VkExternalImageFormatProperties *ext_props)
{
   const VkPhysicalDeviceImageDrmFormatModifierInfoEXT mod_info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_DRM_FORMAT_MODIFIER_INFO_EXT,
      .drmFormatModifier = modifier,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   const VkPhysicalDeviceExternalImageFormatInfo ext_info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO,
      .pNext = &mod_info,
      .handleType = DMA_BUF,
   };
   const VkPhysicalDeviceImageFormatInfo2 info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
      .pNext = &ext_info,
      .format = FORMAT,
      .type = VK_IMAGE_TYPE_2D,
      .tiling = VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT,
      .usage = image_usage,
   };
   *ext_props = (VkExternalImageFormatProperties){ .sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES };
   *props = (VkImageFormatProperties2){ .sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2, .pNext = ext_props };
   return vkGetPhysicalDeviceImageFormatProperties2(m->t.phys, &info, props);
}

/* LINEAR is supported for the test's images and exportable as a dma-buf;
 * a modifier the server does not have is not supported. */
static void
check_image_format(struct modifier *m)
{
   VkImageFormatProperties2 props;
   VkExternalImageFormatProperties ext;
   VkResult res = query_image_format(m, MOD_LINEAR, &props, &ext);
   const VkExternalMemoryProperties *emp = &ext.externalMemoryProperties;
   const VkExtent3D *max = &props.imageFormatProperties.maxExtent;
   if (res != VK_SUCCESS)
      vkt_error(&m->t, "image format query, LINEAR, dma-buf: %s", vkt_result(res));
   else if (!(emp->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT) ||
            !(emp->compatibleHandleTypes & DMA_BUF) || max->width < SIZE || max->height < SIZE)
      vkt_error(&m->t,
                "image format query, LINEAR, dma-buf: features 0x%x, compatible types 0x%x, max extent %ux%u "
                "(want exportable, dma-buf compatible, at least %ux%u)",
                emp->externalMemoryFeatures, emp->compatibleHandleTypes, max->width, max->height, SIZE, SIZE);
   else
      vkt_ok(&m->t, "image format query, LINEAR, dma-buf: exportable (features 0x%x), up to %ux%u",
             emp->externalMemoryFeatures, max->width, max->height);

   res = query_image_format(m, MOD_VENDOR, &props, &ext);
   if (res == VK_ERROR_FORMAT_NOT_SUPPORTED)
      vkt_ok(&m->t, "image format query, modifier 0x%llx: VK_ERROR_FORMAT_NOT_SUPPORTED",
             (unsigned long long)MOD_VENDOR);
   else
      vkt_error(&m->t, "image format query, modifier 0x%llx: %s, want VK_ERROR_FORMAT_NOT_SUPPORTED",
                (unsigned long long)MOD_VENDOR, vkt_result(res));
}

static void
check_external_buffer(struct modifier *m)
{
   const VkPhysicalDeviceExternalBufferInfo info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      .handleType = DMA_BUF,
   };
   VkExternalBufferProperties props = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES };
   vkGetPhysicalDeviceExternalBufferProperties(m->t.phys, &info, &props);
   const VkExternalMemoryProperties *emp = &props.externalMemoryProperties;
   if ((emp->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT) &&
       (emp->compatibleHandleTypes & DMA_BUF))
      vkt_ok(&m->t, "external buffer query, dma-buf: exportable (features 0x%x)", emp->externalMemoryFeatures);
   else
      vkt_error(&m->t, "external buffer query, dma-buf: features 0x%x, compatible types 0x%x (want exportable)",
                emp->externalMemoryFeatures, emp->compatibleHandleTypes);
}

/* Command pool and buffer, fence, and the staging buffer: a dma-buf
 * external buffer in exported memory, so that every GPU copy below also
 * shows that such a buffer works. */
static bool
create_commands(struct modifier *m)
{
   VkDevice dev = m->t.device;
   const VkCommandPoolCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = m->t.families[0],
   };
   if (!succeeded(m, vkCreateCommandPool(dev, &cpci, NULL, &m->cmd_pool), "vkCreateCommandPool"))
      return false;
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = m->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   if (!succeeded(m, vkAllocateCommandBuffers(dev, &cbai, &m->cmd), "vkAllocateCommandBuffers") ||
       !succeeded(m, vkCreateFence(dev, &fci, NULL, &m->fence), "vkCreateFence"))
      return false;

   const VkExternalMemoryBufferCreateInfo ext = {
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, .handleTypes = DMA_BUF,
   };
   const VkExportMemoryAllocateInfo export = {
      .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, .handleTypes = DMA_BUF,
   };
   const char *what = "";
   VkResult res = vkt_buffer_create_chained(&m->t, 2 * IMAGE_BYTES,
                                            VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                            &ext, &export, &m->staging, &what);
   if (res != VK_SUCCESS) {
      vkt_error(&m->t, "dma-buf external buffer: %s: %s", what, vkt_result(res));
      return false;
   }
   vkt_ok(&m->t, "dma-buf external buffer (%u bytes) created in exported memory, bound and mapped",
          2 * IMAGE_BYTES);
   return true;
}

/* The create info of the test's images, chained to `modifier_info` (a
 * modifier list or explicit layout) through the dma-buf external info.
 * PREINITIALIZED: the host writes the first contents. */
static VkImageCreateInfo
image_create_info(VkExternalMemoryImageCreateInfo *ext, const void *modifier_info)
{
   *ext = (VkExternalMemoryImageCreateInfo){
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
      .pNext = modifier_info,
      .handleTypes = DMA_BUF,
   };
   return (VkImageCreateInfo){
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
      .pNext = ext,
      .imageType = VK_IMAGE_TYPE_2D,
      .format = FORMAT,
      .extent = { SIZE, SIZE, 1 },
      .mipLevels = 1,
      .arrayLayers = 1,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .tiling = VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT,
      .usage = image_usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
      .initialLayout = VK_IMAGE_LAYOUT_PREINITIALIZED,
   };
}

/* The image's modifier (LINEAR) and its memory plane 0 layout, which must
 * hold SIZE rows of SIZE texels inside the image's memory. */
static bool
query_image_layout(struct modifier *m, struct mod_image *mi, VkDeviceSize memory_size)
{
   VkImageDrmFormatModifierPropertiesEXT mod = { .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_PROPERTIES_EXT };
   VkResult res = m->get_image_modifier(m->t.device, mi->img.image, &mod);
   if (res != VK_SUCCESS || mod.drmFormatModifier != MOD_LINEAR) {
      vkt_error(&m->t, "%s: vkGetImageDrmFormatModifierPropertiesEXT: %s, modifier 0x%llx (want LINEAR)", mi->name,
                vkt_result(res), (unsigned long long)mod.drmFormatModifier);
      return false;
   }
   vkt_ok(&m->t, "%s: vkGetImageDrmFormatModifierPropertiesEXT: LINEAR", mi->name);

   const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT };
   vkGetImageSubresourceLayout(m->t.device, mi->img.image, &sub, &mi->layout);
   const VkSubresourceLayout *l = &mi->layout;
   const VkDeviceSize end = l->offset + (SIZE - 1) * l->rowPitch + SIZE * 4;
   if (l->rowPitch < SIZE * 4 || end > memory_size || l->size < end - l->offset) {
      vkt_error(&m->t,
                "%s: MEMORY_PLANE_0 layout: offset %llu, size %llu, rowPitch %llu (want rowPitch >= %u and %u rows "
                "within the plane and the %llu bytes of memory)",
                mi->name, (unsigned long long)l->offset, (unsigned long long)l->size,
                (unsigned long long)l->rowPitch, SIZE * 4, SIZE, (unsigned long long)memory_size);
      return false;
   }
   vkt_ok(&m->t, "%s: MEMORY_PLANE_0 layout: offset %llu, size %llu, rowPitch %llu", mi->name,
          (unsigned long long)l->offset, (unsigned long long)l->size, (unsigned long long)l->rowPitch);
   return true;
}

/* Create the image, then its memory: dedicated, exported as a dma-buf,
 * host visible and coherent (so that the mapping needs no flushes), bound
 * and mapped. */
static bool
create_image(struct modifier *m, struct mod_image *mi, const char *name, const void *modifier_info)
{
   VkDevice dev = m->t.device;
   mi->name = name;
   mi->img = (struct vkt_image){
      .format = FORMAT, .aspect = VK_IMAGE_ASPECT_COLOR_BIT, .width = SIZE, .height = SIZE,
   };
   VkExternalMemoryImageCreateInfo ext;
   const VkImageCreateInfo ci = image_create_info(&ext, modifier_info);
   char what[128];
   snprintf(what, sizeof(what), "%s: vkCreateImage", name);
   if (!succeeded(m, vkCreateImage(dev, &ci, NULL, &mi->img.image), what))
      return false;

   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(dev, mi->img.image, &req);
   int type = vkt_memory_type(&m->t, req.memoryTypeBits,
                              VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
   if (type < 0) {
      vkt_error(&m->t, "%s: no HOST_VISIBLE|HOST_COHERENT memory type in 0x%x", name, req.memoryTypeBits);
      return false;
   }
   const VkMemoryDedicatedAllocateInfo dedicated = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .image = mi->img.image,
   };
   const VkExportMemoryAllocateInfo export = {
      .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, .pNext = &dedicated, .handleTypes = DMA_BUF,
   };
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = &export,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   void *p = NULL;
   snprintf(what, sizeof(what), "%s: vkAllocateMemory (dedicated, exported)", name);
   if (!succeeded(m, vkAllocateMemory(dev, &mai, NULL, &mi->img.memory), what))
      return false;
   snprintf(what, sizeof(what), "%s: vkBindImageMemory", name);
   if (!succeeded(m, vkBindImageMemory(dev, mi->img.image, mi->img.memory, 0), what))
      return false;
   snprintf(what, sizeof(what), "%s: vkMapMemory", name);
   if (!succeeded(m, vkMapMemory(dev, mi->img.memory, 0, VK_WHOLE_SIZE, 0, &p), what))
      return false;
   mi->map = p;
   vkt_ok(&m->t, "%s: created, %llu bytes of dedicated exported memory (type %d) bound and mapped", name,
          (unsigned long long)req.size, type);
   return query_image_layout(m, mi, req.size);
}

static bool
begin_commands(struct modifier *m)
{
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   return succeeded(m, vkBeginCommandBuffer(m->cmd, &begin), "vkBeginCommandBuffer");
}

static bool
submit_commands(struct modifier *m, const char *label)
{
   const char *what = "vkEndCommandBuffer";
   VkResult res = vkEndCommandBuffer(m->cmd);
   if (res == VK_SUCCESS)
      res = vkt_submit_wait(&m->t, m->cmd, m->fence, &what);
   if (res != VK_SUCCESS)
      vkt_error(&m->t, "%s: %s: %s", label, what, vkt_result(res));
   return res == VK_SUCCESS;
}

/* Record that the transfer writes so far are visible to the host. */
static void
transfer_to_host(VkCommandBuffer cmd)
{
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* ok line if no texel differs, else an error line naming the first. */
static void
report_texels(struct modifier *m, const char *what, unsigned differ, uint32_t fx, uint32_t fy, const uint8_t got[4],
              const uint8_t want[4])
{
   if (!differ)
      vkt_ok(&m->t, "%s: all %u texels", what, SIZE * SIZE);
   else
      vkt_error(&m->t, "%s: %u of %u texels differ, first at (%u, %u): %u,%u,%u,%u, want %u,%u,%u,%u", what, differ,
                SIZE * SIZE, fx, fy, got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
}

/* Host to GPU: the pattern written through the image's mapping at its
 * reported layout must come out of vkCmdCopyImageToBuffer unchanged.
 * False if the commands did not run (the image's layout is then unknown). */
static bool
host_to_gpu(struct modifier *m, struct mod_image *mi)
{
   const VkSubresourceLayout *l = &mi->layout;
   for (uint32_t y = 0; y < SIZE; y++)
      for (uint32_t x = 0; x < SIZE; x++)
         texel(x, y, 1, mi->map + l->offset + y * l->rowPitch + x * 4);
   if (!begin_commands(m))
      return false;
   vkt_image_barrier(m->cmd, &mi->img, VK_IMAGE_LAYOUT_PREINITIALIZED, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT);
   vkt_image_to_buffer(m->cmd, &mi->img, m->staging.buffer, 0);
   transfer_to_host(m->cmd);
   char what[128];
   snprintf(what, sizeof(what), "%s: host writes, GPU copies to the dma-buf buffer", mi->name);
   if (!submit_commands(m, what))
      return false;

   const uint8_t *got = (const uint8_t *)m->staging.map;
   unsigned differ = 0;
   uint32_t fx = 0, fy = 0;
   uint8_t want[4], first_want[4] = { 0 }, first_got[4] = { 0 };
   for (uint32_t y = 0; y < SIZE; y++) {
      for (uint32_t x = 0; x < SIZE; x++) {
         texel(x, y, 1, want);
         const uint8_t *p = got + 4 * (y * SIZE + x);
         if (memcmp(p, want, 4) && differ++ == 0) {
            fx = x, fy = y;
            memcpy(first_got, p, 4);
            memcpy(first_want, want, 4);
         }
      }
   }
   report_texels(m, what, differ, fx, fy, first_got, first_want);
   return true;
}

/* GPU to host: a clear of the whole image and a copy of the pattern from
 * the dma-buf buffer into RECT, read through the image's mapping at its
 * reported layout once the image is in GENERAL (where host access is
 * allowed). */
static void
gpu_to_host(struct modifier *m, struct mod_image *mi)
{
   uint8_t *upload = (uint8_t *)m->staging.map + IMAGE_BYTES;
   for (uint32_t y = 0; y < RECT_H; y++)
      for (uint32_t x = 0; x < RECT_W; x++)
         texel(RECT_X + x, RECT_Y + y, 2, upload + 4 * (y * RECT_W + x));
   if (!begin_commands(m))
      return;
   VkClearColorValue clear;
   for (int i = 0; i < 4; i++)
      clear.float32[i] = clear_rgba[i] / 255.0f;
   const VkImageSubresourceRange range = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 };
   const VkBufferImageCopy region = {
      .bufferOffset = IMAGE_BYTES,
      .imageSubresource = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT, .layerCount = 1 },
      .imageOffset = { RECT_X, RECT_Y, 0 },
      .imageExtent = { RECT_W, RECT_H, 1 },
   };
   vkt_image_barrier(m->cmd, &mi->img, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_WRITE_BIT);
   vkCmdClearColorImage(m->cmd, mi->img.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &clear, 1, &range);
   /* The clear and the copy write the same texels. */
   vkt_image_barrier(m->cmd, &mi->img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_WRITE_BIT);
   vkCmdCopyBufferToImage(m->cmd, m->staging.buffer, mi->img.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
   vkt_image_barrier(m->cmd, &mi->img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_GENERAL,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
   char what[160];
   snprintf(what, sizeof(what), "%s: GPU clears and copies from the dma-buf buffer, host reads the mapping",
            mi->name);
   if (!submit_commands(m, what))
      return;

   const VkSubresourceLayout *l = &mi->layout;
   unsigned differ = 0;
   uint32_t fx = 0, fy = 0;
   uint8_t want[4], first_want[4] = { 0 }, first_got[4] = { 0 };
   for (uint32_t y = 0; y < SIZE; y++) {
      for (uint32_t x = 0; x < SIZE; x++) {
         const bool in_rect = x >= RECT_X && x < RECT_X + RECT_W && y >= RECT_Y && y < RECT_Y + RECT_H;
         if (in_rect)
            texel(x, y, 2, want);
         else
            memcpy(want, clear_rgba, 4);
         const uint8_t *p = mi->map + l->offset + y * l->rowPitch + x * 4;
         if (memcmp(p, want, 4) && differ++ == 0) {
            fx = x, fy = y;
            memcpy(first_got, p, 4);
            memcpy(first_want, want, 4);
         }
      }
   }
   report_texels(m, what, differ, fx, fy, first_got, first_want);
}

/* vkGetDeviceImageMemoryRequirements from the create info alone must
 * agree with the image created from it. */
static void
check_device_requirements(struct modifier *m, const struct mod_image *mi, const void *modifier_info)
{
   VkExternalMemoryImageCreateInfo ext;
   const VkImageCreateInfo ci = image_create_info(&ext, modifier_info);
   const VkDeviceImageMemoryRequirements info = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_MEMORY_REQUIREMENTS, .pCreateInfo = &ci,
   };
   VkMemoryRequirements2 from_info = { .sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2 };
   vkGetDeviceImageMemoryRequirements(m->t.device, &info, &from_info);
   VkMemoryRequirements from_image;
   vkGetImageMemoryRequirements(m->t.device, mi->img.image, &from_image);
   const VkMemoryRequirements *a = &from_info.memoryRequirements;
   if (a->size == from_image.size && a->alignment == from_image.alignment &&
       a->memoryTypeBits == from_image.memoryTypeBits && a->size)
      vkt_ok(&m->t, "%s: vkGetDeviceImageMemoryRequirements = the image's: %llu bytes, alignment %llu, types 0x%x",
             mi->name, (unsigned long long)a->size, (unsigned long long)a->alignment, a->memoryTypeBits);
   else
      vkt_error(&m->t,
                "%s: vkGetDeviceImageMemoryRequirements: %llu bytes, alignment %llu, types 0x%x; the image's: "
                "%llu, %llu, 0x%x",
                mi->name, (unsigned long long)a->size, (unsigned long long)a->alignment, a->memoryTypeBits,
                (unsigned long long)from_image.size, (unsigned long long)from_image.alignment,
                from_image.memoryTypeBits);
}

/* Plane 0 of an explicit LINEAR layout as the spec wants it: size and
 * the pitches of absent dimensions 0. */
static VkSubresourceLayout
explicit_plane(const VkSubresourceLayout *from, VkDeviceSize row_pitch)
{
   return (VkSubresourceLayout){ .offset = from->offset, .rowPitch = row_pitch };
}

/* A row pitch the host's linear layout does not have (a valid one for a
 * driver that chooses pitches) must be refused with the extension's error,
 * the server being unable to place rows where the guest asks. */
static void
check_foreign_layout(struct modifier *m)
{
   const VkSubresourceLayout plane = explicit_plane(&m->listed.layout, m->listed.layout.rowPitch + 256);
   const VkImageDrmFormatModifierExplicitCreateInfoEXT explicit = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT,
      .drmFormatModifier = MOD_LINEAR,
      .drmFormatModifierPlaneCount = 1,
      .pPlaneLayouts = &plane,
   };
   VkExternalMemoryImageCreateInfo ext;
   const VkImageCreateInfo ci = image_create_info(&ext, &explicit);
   VkImage image = VK_NULL_HANDLE;
   VkResult res = vkCreateImage(m->t.device, &ci, NULL, &image);
   if (res == VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT) {
      vkt_ok(&m->t, "explicit layout with rowPitch %llu (not the host's): %s", (unsigned long long)plane.rowPitch,
             result_name(res));
      return;
   }
   vkt_error(&m->t, "explicit layout with rowPitch %llu (not the host's): %s, want %s",
             (unsigned long long)plane.rowPitch, result_name(res),
             result_name(VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT));
   if (res == VK_SUCCESS)
      vkDestroyImage(m->t.device, image, NULL);
}

/* Both images through the same steps: the first from a modifier list, the
 * second from the first one's layout given explicitly. */
static void
check_images(struct modifier *m)
{
   const uint64_t linear = MOD_LINEAR;
   const VkImageDrmFormatModifierListCreateInfoEXT list = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_LIST_CREATE_INFO_EXT,
      .drmFormatModifierCount = 1,
      .pDrmFormatModifiers = &linear,
   };
   if (!create_image(m, &m->listed, "image from a modifier list", &list))
      return;
   check_device_requirements(m, &m->listed, &list);
   if (host_to_gpu(m, &m->listed))
      gpu_to_host(m, &m->listed);

   const VkSubresourceLayout plane = explicit_plane(&m->listed.layout, m->listed.layout.rowPitch);
   const VkImageDrmFormatModifierExplicitCreateInfoEXT explicit = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT,
      .drmFormatModifier = MOD_LINEAR,
      .drmFormatModifierPlaneCount = 1,
      .pPlaneLayouts = &plane,
   };
   if (create_image(m, &m->explicit, "image from an explicit layout", &explicit)) {
      check_device_requirements(m, &m->explicit, &explicit);
      if (host_to_gpu(m, &m->explicit))
         gpu_to_host(m, &m->explicit);
   }
   check_foreign_layout(m);
}

static void
destroy_modifier(struct modifier *m)
{
   VkDevice dev = m->t.device;
   if (dev) {
      vkDeviceWaitIdle(dev);
      struct mod_image *images[] = { &m->listed, &m->explicit };
      for (size_t i = 0; i < 2; i++) {
         if (images[i]->map)
            vkUnmapMemory(dev, images[i]->img.memory);
         vkt_image_destroy(&m->t, &images[i]->img);
      }
      vkt_buffer_destroy(&m->t, &m->staging);
      if (m->fence)
         vkDestroyFence(dev, m->fence, NULL);
      if (m->cmd_pool)
         vkDestroyCommandPool(dev, m->cmd_pool, NULL);
   }
   vkt_fini(&m->t);
}

int
main(int argc, char **argv)
{
   (void)argv;
   if (argc != 1) {
      fprintf(stderr, "usage: vk_modifier\n");
      return 2;
   }
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct modifier m = { 0 };
   if (create_device(&m)) {
      check_format_modifiers(&m, VK_FORMAT_R8G8B8A8_UNORM, "R8G8B8A8_UNORM");
      check_format_modifiers(&m, VK_FORMAT_B8G8R8A8_UNORM, "B8G8R8A8_UNORM");
      check_image_format(&m);
      check_external_buffer(&m);
      if (create_commands(&m))
         check_images(&m);
   }
   destroy_modifier(&m);
   printf("%s: %d error(s)\n", m.t.failures ? "FAILED" : "PASSED", m.t.failures);
   return m.t.failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Vulkan test clients; see vk_util.h. */
#include "vk_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scale.comp.h"
#include "spin.comp.h"
#include "peek.comp.h"

void
vkt_ok(struct vkt *t, const char *fmt, ...)
{
   va_list ap;
   (void)t;
   va_start(ap, fmt);
   fputs("ok: ", stdout);
   vprintf(fmt, ap);
   fputc('\n', stdout);
   va_end(ap);
   fflush(stdout);
}

void
vkt_error(struct vkt *t, const char *fmt, ...)
{
   va_list ap;
   t->failures++;
   va_start(ap, fmt);
   fputs("error: ", stdout);
   vprintf(fmt, ap);
   fputc('\n', stdout);
   va_end(ap);
   fflush(stdout);
}

bool
vkt_check(struct vkt *t, VkResult r, const char *what)
{
   if (r == VK_SUCCESS) {
      vkt_ok(t, "%s", what);
      return true;
   }
   vkt_error(t, "%s: %s", what, vkt_result(r));
   return false;
}

const char *
vkt_result(VkResult r)
{
   switch (r) {
#define R(x) case x: return #x
      R(VK_SUCCESS);
      R(VK_NOT_READY);
      R(VK_TIMEOUT);
      R(VK_EVENT_SET);
      R(VK_EVENT_RESET);
      R(VK_INCOMPLETE);
      R(VK_ERROR_OUT_OF_HOST_MEMORY);
      R(VK_ERROR_OUT_OF_DEVICE_MEMORY);
      R(VK_ERROR_INITIALIZATION_FAILED);
      R(VK_ERROR_DEVICE_LOST);
      R(VK_ERROR_MEMORY_MAP_FAILED);
      R(VK_ERROR_LAYER_NOT_PRESENT);
      R(VK_ERROR_EXTENSION_NOT_PRESENT);
      R(VK_ERROR_FEATURE_NOT_PRESENT);
      R(VK_ERROR_INCOMPATIBLE_DRIVER);
      R(VK_ERROR_TOO_MANY_OBJECTS);
      R(VK_ERROR_FORMAT_NOT_SUPPORTED);
      R(VK_ERROR_FRAGMENTED_POOL);
      R(VK_ERROR_UNKNOWN);
      R(VK_ERROR_OUT_OF_POOL_MEMORY);
      R(VK_ERROR_INVALID_EXTERNAL_HANDLE);
      R(VK_ERROR_FRAGMENTATION);
      R(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS);
#undef R
   default:
      return "unknown VkResult";
   }
}

double
vkt_now_ms(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void
vkt_sleep_ms(unsigned ms)
{
   struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
   while (nanosleep(&ts, &ts) != 0) {
   }
}

bool
vkt_init(struct vkt *t, uint32_t want_queues, const void *features)
{
   return vkt_init_instance(t, VK_API_VERSION_1_2) && vkt_init_device(t, want_queues, features, 0, NULL);
}

bool
vkt_init_instance(struct vkt *t, uint32_t api_version)
{
   memset(t, 0, sizeof(*t));
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "venus-server tests",
      .apiVersion = api_version,
   };
   const VkInstanceCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app,
   };
   VkResult r = vkCreateInstance(&ici, NULL, &t->instance);
   if (r != VK_SUCCESS) {
      vkt_error(t, "vkCreateInstance: %s", vkt_result(r));
      return false;
   }
   /* $VKT_DEVICE=N: the Nth physical device, else the first (a native
    * baseline spread over a host's GPUs the way the server places tenants). */
   const char *want = getenv("VKT_DEVICE");
   uint32_t index = want ? (uint32_t)strtoul(want, NULL, 10) : 0;
   VkPhysicalDevice phys[16];
   uint32_t count = 16;
   r = vkEnumeratePhysicalDevices(t->instance, &count, phys);
   if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count <= index) {
      vkt_error(t, "no physical device %u: %s (%u listed)", index, vkt_result(r), count);
      return false;
   }
   t->phys = phys[index];
   vkGetPhysicalDeviceProperties(t->phys, &t->props);
   vkGetPhysicalDeviceMemoryProperties(t->phys, &t->mem_props);
   return true;
}

bool
vkt_init_device(struct vkt *t, uint32_t want_queues, const void *features, uint32_t ext_count,
                const char *const *exts)
{
   VkQueueFamilyProperties fams[16];
   uint32_t nfam = 16;
   vkGetPhysicalDeviceQueueFamilyProperties(t->phys, &nfam, fams);
   uint32_t f0 = UINT32_MAX;
   for (uint32_t i = 0; i < nfam && f0 == UINT32_MAX; i++)
      if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
         f0 = i;
   if (f0 == UINT32_MAX) {
      vkt_error(t, "no compute queue family");
      return false;
   }
   t->families[0] = t->families[1] = f0;
   t->queue_flags = fams[f0].queueFlags;
   t->timestamp_bits = fams[f0].timestampValidBits;

   /* A second queue: in the same family if it has two, else any other. */
   const float prio[2] = { 1.0f, 1.0f };
   VkDeviceQueueCreateInfo qci[2] = {
      { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = f0,
        .queueCount = 1, .pQueuePriorities = prio },
      { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1,
        .pQueuePriorities = prio },
   };
   uint32_t nqci = 1;
   if (want_queues > 1) {
      if (fams[f0].queueCount > 1) {
         qci[0].queueCount = 2;
         t->two_queues = true;
      } else {
         for (uint32_t i = 0; i < nfam && !t->two_queues; i++) {
            if (i != f0 && fams[i].queueCount > 0) {
               qci[1].queueFamilyIndex = t->families[1] = i;
               nqci = 2;
               t->two_queues = true;
            }
         }
      }
   }
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .pNext = features,
      .queueCreateInfoCount = nqci,
      .pQueueCreateInfos = qci,
      .enabledExtensionCount = ext_count,
      .ppEnabledExtensionNames = exts,
   };
   VkResult r = vkCreateDevice(t->phys, &dci, NULL, &t->device);
   if (r != VK_SUCCESS) {
      vkt_error(t, "vkCreateDevice: %s", vkt_result(r));
      t->device = VK_NULL_HANDLE;
      return false;
   }
   vkGetDeviceQueue(t->device, f0, 0, &t->queues[0]);
   t->queues[1] = t->queues[0];
   if (t->two_queues)
      vkGetDeviceQueue(t->device, t->families[1], t->families[1] == f0 ? 1 : 0, &t->queues[1]);
   return true;
}

void
vkt_fini(struct vkt *t)
{
   if (t->device)
      vkDestroyDevice(t->device, NULL);
   if (t->instance)
      vkDestroyInstance(t->instance, NULL);
   t->device = VK_NULL_HANDLE;
   t->instance = VK_NULL_HANDLE;
}

int
vkt_memory_type(const struct vkt *t, uint32_t type_bits, VkMemoryPropertyFlags want)
{
   for (uint32_t i = 0; i < t->mem_props.memoryTypeCount; i++)
      if ((type_bits & (1u << i)) && (t->mem_props.memoryTypes[i].propertyFlags & want) == want)
         return (int)i;
   return -1;
}

int
vkt_device_local_type(const struct vkt *t, uint32_t type_bits)
{
   for (uint32_t i = 0; i < t->mem_props.memoryTypeCount; i++) {
      const VkMemoryPropertyFlags f = t->mem_props.memoryTypes[i].propertyFlags;
      if ((type_bits & (1u << i)) && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
          !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
         return (int)i;
   }
   return vkt_memory_type(t, type_bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
}

VkResult
vkt_buffer_create(struct vkt *t, VkDeviceSize size, struct vkt_buffer *b, const char **what)
{
   return vkt_buffer_create_usage(t, size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  b, what);
}

VkResult
vkt_buffer_create_usage(struct vkt *t, VkDeviceSize size, VkBufferUsageFlags usage, struct vkt_buffer *b,
                        const char **what)
{
   return vkt_buffer_create_chained(t, size, usage, NULL, NULL, b, what);
}

VkResult
vkt_buffer_create_chained(struct vkt *t, VkDeviceSize size, VkBufferUsageFlags usage, const void *buffer_next,
                          const void *alloc_next, struct vkt_buffer *b, const char **what)
{
   memset(b, 0, sizeof(*b));
   b->size = size;
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .pNext = buffer_next,
      .size = size,
      .usage = usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   *what = "vkCreateBuffer";
   VkResult r = vkCreateBuffer(t->device, &bci, NULL, &b->buffer);
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(t->device, b->buffer, &req);
   int type = vkt_memory_type(t, req.memoryTypeBits,
                              VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
   *what = "no HOST_VISIBLE|HOST_COHERENT memory type for the buffer";
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = alloc_next,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   *what = "vkAllocateMemory";
   r = vkAllocateMemory(t->device, &mai, NULL, &b->memory);
   if (r != VK_SUCCESS)
      return r;
   *what = "vkBindBufferMemory";
   r = vkBindBufferMemory(t->device, b->buffer, b->memory, 0);
   if (r != VK_SUCCESS)
      return r;
   void *p = NULL;
   *what = "vkMapMemory";
   r = vkMapMemory(t->device, b->memory, 0, VK_WHOLE_SIZE, 0, &p);
   b->map = p;
   return r;
}

void
vkt_buffer_destroy(struct vkt *t, struct vkt_buffer *b)
{
   if (b->map)
      vkUnmapMemory(t->device, b->memory);
   if (b->buffer)
      vkDestroyBuffer(t->device, b->buffer, NULL);
   if (b->memory)
      vkFreeMemory(t->device, b->memory, NULL);
   memset(b, 0, sizeof(*b));
}

static VkImageAspectFlags
aspect_of(VkFormat format)
{
   switch (format) {
   case VK_FORMAT_D16_UNORM:
   case VK_FORMAT_X8_D24_UNORM_PACK32:
   case VK_FORMAT_D32_SFLOAT:
      return VK_IMAGE_ASPECT_DEPTH_BIT;
   case VK_FORMAT_D16_UNORM_S8_UINT:
   case VK_FORMAT_D24_UNORM_S8_UINT:
   case VK_FORMAT_D32_SFLOAT_S8_UINT:
      return VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
   default:
      return VK_IMAGE_ASPECT_COLOR_BIT;
   }
}

VkResult
vkt_image_create(struct vkt *t, VkFormat format, uint32_t width, uint32_t height, VkSampleCountFlagBits samples,
                 VkImageUsageFlags usage, struct vkt_image *img, const char **what)
{
   memset(img, 0, sizeof(*img));
   img->format = format;
   img->aspect = aspect_of(format);
   img->width = width;
   img->height = height;
   const VkImageCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
      .imageType = VK_IMAGE_TYPE_2D,
      .format = format,
      .extent = { width, height, 1 },
      .mipLevels = 1,
      .arrayLayers = 1,
      .samples = samples,
      .tiling = VK_IMAGE_TILING_OPTIMAL,
      .usage = usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   *what = "vkCreateImage";
   VkResult r = vkCreateImage(t->device, &ici, NULL, &img->image);
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(t->device, img->image, &req);
   int type = vkt_memory_type(t, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
   if (type < 0)
      type = vkt_memory_type(t, req.memoryTypeBits, 0);
   *what = "no memory type for the image";
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   *what = "vkAllocateMemory";
   if ((r = vkAllocateMemory(t->device, &mai, NULL, &img->memory)) != VK_SUCCESS)
      return r;
   *what = "vkBindImageMemory";
   if ((r = vkBindImageMemory(t->device, img->image, img->memory, 0)) != VK_SUCCESS)
      return r;
   /* A view needs a usage that reads or writes through one; an image used
    * only by transfers may not have one. */
   const VkImageUsageFlags view_usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_STORAGE_BIT |
                                        VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                        VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT |
                                        VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT;
   if (!(usage & view_usage))
      return VK_SUCCESS;
   const VkImageViewCreateInfo vci = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
      .image = img->image,
      .viewType = VK_IMAGE_VIEW_TYPE_2D,
      .format = format,
      .subresourceRange = { .aspectMask = img->aspect, .levelCount = 1, .layerCount = 1 },
   };
   *what = "vkCreateImageView";
   return vkCreateImageView(t->device, &vci, NULL, &img->view);
}

void
vkt_image_destroy(struct vkt *t, struct vkt_image *img)
{
   if (img->view)
      vkDestroyImageView(t->device, img->view, NULL);
   if (img->image)
      vkDestroyImage(t->device, img->image, NULL);
   if (img->memory)
      vkFreeMemory(t->device, img->memory, NULL);
   memset(img, 0, sizeof(*img));
}

void
vkt_image_barrier(VkCommandBuffer cmd, const struct vkt_image *img, VkImageLayout from, VkImageLayout to,
                  VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                  VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
   const VkImageMemoryBarrier b = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
      .srcAccessMask = src_access,
      .dstAccessMask = dst_access,
      .oldLayout = from,
      .newLayout = to,
      .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .image = img->image,
      .subresourceRange = { .aspectMask = img->aspect, .levelCount = 1, .layerCount = 1 },
   };
   vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

void
vkt_image_to_buffer(VkCommandBuffer cmd, const struct vkt_image *img, VkBuffer buffer, VkDeviceSize offset)
{
   const VkBufferImageCopy region = {
      .bufferOffset = offset,
      .imageSubresource = { .aspectMask = img->aspect, .layerCount = 1 },
      .imageExtent = { img->width, img->height, 1 },
   };
   vkCmdCopyImageToBuffer(cmd, img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, buffer, 1, &region);
}

VkResult
vkt_submit_wait(struct vkt *t, VkCommandBuffer cmd, VkFence fence, const char **what)
{
   VkResult r;
   *what = "vkResetFences";
   if ((r = vkResetFences(t->device, 1, &fence)) != VK_SUCCESS)
      return r;
   const VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd,
   };
   *what = "vkQueueSubmit";
   if ((r = vkQueueSubmit(t->queues[0], 1, &si, fence)) != VK_SUCCESS)
      return r;
   *what = "vkWaitForFences";
   return vkWaitForFences(t->device, 1, &fence, VK_TRUE, 30ull * 1000 * 1000 * 1000);
}

static VkResult pipeline_init(struct vkt *t, struct vkt_scale *s, const uint32_t *code, size_t code_size,
                              const void *pipeline_next, const void *stage_next, const char **what);

VkResult
vkt_scale_init(struct vkt *t, struct vkt_scale *s, const char **what)
{
   return pipeline_init(t, s, scale_comp_spv, sizeof(scale_comp_spv), NULL, NULL, what);
}

VkResult
vkt_scale_init_chained(struct vkt *t, struct vkt_scale *s, const void *pipeline_next, const void *stage_next,
                       const char **what)
{
   return pipeline_init(t, s, scale_comp_spv, sizeof(scale_comp_spv), pipeline_next, stage_next, what);
}

VkResult
vkt_spin_init(struct vkt *t, struct vkt_scale *s, const char **what)
{
   return pipeline_init(t, s, spin_comp_spv, sizeof(spin_comp_spv), NULL, NULL, what);
}

VkResult
vkt_peek_init(struct vkt *t, struct vkt_scale *s, const char **what)
{
   return pipeline_init(t, s, peek_comp_spv, sizeof(peek_comp_spv), NULL, NULL, what);
}

static VkResult
pipeline_init(struct vkt *t, struct vkt_scale *s, const uint32_t *code, size_t code_size,
              const void *pipeline_next, const void *stage_next, const char **what)
{
   VkDevice dev = t->device;
   VkResult r;
   memset(s, 0, sizeof(*s));

   const VkDescriptorSetLayoutBinding bindings[2] = {
      { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
      { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings,
   };
   *what = "vkCreateDescriptorSetLayout";
   if ((r = vkCreateDescriptorSetLayout(dev, &dslci, NULL, &s->set_layout)) != VK_SUCCESS)
      return r;
   const VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 3 * sizeof(uint32_t) };
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1, .pSetLayouts = &s->set_layout,
      .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
   };
   *what = "vkCreatePipelineLayout";
   if ((r = vkCreatePipelineLayout(dev, &plci, NULL, &s->layout)) != VK_SUCCESS)
      return r;
   const VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = code_size, .pCode = code,
   };
   *what = "vkCreateShaderModule";
   if ((r = vkCreateShaderModule(dev, &smci, NULL, &s->module)) != VK_SUCCESS)
      return r;
   const VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, .pNext = pipeline_next,
      .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .pNext = stage_next,
                 .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = s->module, .pName = "main" },
      .layout = s->layout,
   };
   *what = "vkCreateComputePipelines";
   if ((r = vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &s->pipeline)) != VK_SUCCESS)
      return r;
   const VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps,
   };
   *what = "vkCreateDescriptorPool";
   if ((r = vkCreateDescriptorPool(dev, &dpci, NULL, &s->pool)) != VK_SUCCESS)
      return r;
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = s->pool, .descriptorSetCount = 1, .pSetLayouts = &s->set_layout,
   };
   *what = "vkAllocateDescriptorSets";
   if ((r = vkAllocateDescriptorSets(dev, &dsai, &s->set)) != VK_SUCCESS)
      return r;
   const VkCommandPoolCreateInfo cpoolci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = t->families[0],
   };
   *what = "vkCreateCommandPool";
   if ((r = vkCreateCommandPool(dev, &cpoolci, NULL, &s->cmd_pool)) != VK_SUCCESS)
      return r;
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = s->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   *what = "vkAllocateCommandBuffers";
   if ((r = vkAllocateCommandBuffers(dev, &cbai, &s->cmd)) != VK_SUCCESS)
      return r;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   *what = "vkCreateFence";
   return vkCreateFence(dev, &fci, NULL, &s->fence);
}

void
vkt_scale_fini(struct vkt *t, struct vkt_scale *s)
{
   VkDevice dev = t->device;
   if (s->fence)
      vkDestroyFence(dev, s->fence, NULL);
   if (s->cmd_pool)
      vkDestroyCommandPool(dev, s->cmd_pool, NULL);
   if (s->pool)
      vkDestroyDescriptorPool(dev, s->pool, NULL);
   if (s->pipeline)
      vkDestroyPipeline(dev, s->pipeline, NULL);
   if (s->module)
      vkDestroyShaderModule(dev, s->module, NULL);
   if (s->layout)
      vkDestroyPipelineLayout(dev, s->layout, NULL);
   if (s->set_layout)
      vkDestroyDescriptorSetLayout(dev, s->set_layout, NULL);
   memset(s, 0, sizeof(*s));
}

VkResult
vkt_scale_run(struct vkt *t, struct vkt_scale *s, const struct vkt_buffer *src,
              const struct vkt_buffer *dst, uint32_t count, uint32_t mul, uint32_t add,
              const char **what)
{
   VkDevice dev = t->device;
   VkResult r;
   /* 2D grid: more than maxComputeWorkGroupCount[0] groups may be needed. */
   const uint32_t *lim = t->props.limits.maxComputeWorkGroupCount;
   uint32_t groups = (count + 255) / 256;
   uint32_t gy = (groups + lim[0] - 1) / lim[0];
   uint32_t gx = gy ? (groups + gy - 1) / gy : 0;
   *what = "dispatch grid exceeds maxComputeWorkGroupCount";
   if (gy > lim[1])
      return VK_ERROR_FEATURE_NOT_PRESENT;

   const VkDescriptorBufferInfo infos[2] = {
      { .buffer = src->buffer, .range = VK_WHOLE_SIZE },
      { .buffer = dst->buffer, .range = VK_WHOLE_SIZE },
   };
   const VkWriteDescriptorSet writes[2] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[0] },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 1,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[1] },
   };
   vkUpdateDescriptorSets(dev, 2, writes, 0, NULL);

   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   *what = "vkBeginCommandBuffer";
   if ((r = vkBeginCommandBuffer(s->cmd, &begin)) != VK_SUCCESS)
      return r;
   const uint32_t pc[3] = { count, mul, add };
   vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->pipeline);
   vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->layout, 0, 1, &s->set, 0, NULL);
   vkCmdPushConstants(s->cmd, s->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
   vkCmdDispatch(s->cmd, gx, gy, 1);
   /* Host reads after the fence need the shader writes made visible. */
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
                        1, &mb, 0, NULL, 0, NULL);
   *what = "vkEndCommandBuffer";
   if ((r = vkEndCommandBuffer(s->cmd)) != VK_SUCCESS)
      return r;
   return vkt_submit_wait(t, s->cmd, s->fence, what);
}

bool
vkt_has_device_extension(const struct vkt *t, const char *name)
{
   uint32_t n = 0;
   if (vkEnumerateDeviceExtensionProperties(t->phys, NULL, &n, NULL) != VK_SUCCESS)
      return false;
   VkExtensionProperties *exts = calloc(n ? n : 1, sizeof(*exts));
   bool found = false;
   if (exts && vkEnumerateDeviceExtensionProperties(t->phys, NULL, &n, exts) == VK_SUCCESS)
      for (uint32_t i = 0; i < n && !found; i++)
         found = !strcmp(exts[i].extensionName, name);
   free(exts);
   return found;
}

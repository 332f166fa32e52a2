/* SPDX-License-Identifier: MIT */
#include "renderer/memory/linear_mirror.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "renderer/renderer_state.h"
#include "renderer/memory/device_memory.h"
#include "renderer/memory/shared_registry.h"
#include "base/log.h"
#include "vn_vk.h"

struct vs_linear_mirror {
   struct vs_device *dev;
   uint32_t ctx_id;
   struct vs_queue *queue;           /* the copy's queue: the device's first */
   /* The shared memory the guest's blob is, and its host-pointer import. */
   int fd;
   void *map;
   size_t map_size;
   VkDeviceMemory host_memory;
   VkBuffer buffer;
   VkImage alias;                    /* the guest's image, again */
   VkCommandPool pool;
   VkCommandBuffer copy;             /* recorded once, submitted per refresh */
   VkFence fence;
   pthread_mutex_t lock;             /* one refresh at a time */
   bool in_flight;                   /* a copy outlived its wait */
   struct vs_shared_entry *shared;
};

enum vs_mirror_need
vs_linear_mirror_need(const struct vs_shared_registry *registry, const struct vs_image *image)
{
   if (!registry || !image || !image->from_modifier || !(image->host_flags & VK_IMAGE_CREATE_ALIAS_BIT) ||
       image->mip_levels != 1 || image->array_layers != 1 || image->type != VK_IMAGE_TYPE_2D)
      return VS_MIRROR_NEVER;
   return image->optimal_for_linear ? VS_MIRROR_ALWAYS : VS_MIRROR_IF_UNSHARED;
}

/* Records image -> buffer in the guest's linear layout. The image is in
 * GENERAL, where Mesa's Venus driver leaves presented images, and owned by
 * VK_QUEUE_FAMILY_FOREIGN_EXT when the host has that family: the copy
 * acquires it and gives it back. */
static VkResult
record_copy(struct vs_linear_mirror *m, const struct vs_image *image, uint32_t texel_bytes)
{
   const struct vn_device_table *dt = &m->dev->dt;
   const bool foreign = m->dev->host_queue_family_foreign;
   const uint32_t family = m->queue->family;
   const VkImageSubresourceRange range = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 };
   VkImageMemoryBarrier acquire = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
      .srcAccessMask = foreign ? 0 : VK_ACCESS_MEMORY_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
      .oldLayout = VK_IMAGE_LAYOUT_GENERAL,
      .newLayout = VK_IMAGE_LAYOUT_GENERAL,
      .srcQueueFamilyIndex = foreign ? VK_QUEUE_FAMILY_FOREIGN_EXT : VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = foreign ? family : VK_QUEUE_FAMILY_IGNORED,
      .image = m->alias,
      .subresourceRange = range,
   };
   VkImageMemoryBarrier release = acquire;
   release.srcAccessMask = 0;
   release.dstAccessMask = 0;
   release.srcQueueFamilyIndex = acquire.dstQueueFamilyIndex;
   release.dstQueueFamilyIndex = acquire.srcQueueFamilyIndex;
   const VkBufferMemoryBarrier to_host = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
      .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .buffer = m->buffer,
      .size = VK_WHOLE_SIZE,
   };
   const VkBufferImageCopy region = {
      .bufferOffset = image->layout.offset,
      .bufferRowLength = (uint32_t)(image->layout.rowPitch / texel_bytes),
      .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
      .imageExtent = image->extent,
   };
   const VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   VkResult r = dt->BeginCommandBuffer(m->copy, &begin);
   if (r != VK_SUCCESS)
      return r;
   dt->CmdPipelineBarrier(m->copy, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL,
                          0, NULL, 1, &acquire);
   dt->CmdCopyImageToBuffer(m->copy, m->alias, VK_IMAGE_LAYOUT_GENERAL, m->buffer, 1, &region);
   dt->CmdPipelineBarrier(m->copy, VK_PIPELINE_STAGE_TRANSFER_BIT,
                          VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 1, &to_host,
                          foreign ? 1 : 0, &release);
   return dt->EndCommandBuffer(m->copy);
}

/* The first memory type of `bits` that takes host-pointer imports. */
static int
import_type(const struct vs_device *dev, uint32_t bits)
{
   bits &= dev->mem.host_pointer_types;
   return bits ? __builtin_ctz(bits) : -1;
}

static VkResult
create_buffer(struct vs_linear_mirror *m)
{
   const struct vn_device_table *dt = &m->dev->dt;
   /* Bound to the import of the mirror's mapping. */
   const VkExternalMemoryBufferCreateInfo external = {
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
      .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
   };
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .pNext = &external,
      .size = m->map_size,
      .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
   };
   VkResult r = dt->CreateBuffer(m->dev->host, &bci, NULL, &m->buffer);
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   dt->GetBufferMemoryRequirements(m->dev->host, m->buffer, &req);
   int type = import_type(m->dev, req.memoryTypeBits);
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   VkImportMemoryHostPointerInfoEXT import;
   VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .memoryTypeIndex = (uint32_t)type,
   };
   vs_memory_chain_host_pointer(&mai, &import, m->map, m->map_size);
   r = dt->AllocateMemory(m->dev->host, &mai, NULL, &m->host_memory);
   if (r != VK_SUCCESS)
      return r;
   return dt->BindBufferMemory(m->dev->host, m->buffer, m->host_memory, 0);
}

static VkResult
create_alias(struct vs_linear_mirror *m, VkDeviceMemory memory, VkDeviceSize memory_size, uint32_t memory_type,
             const struct vs_image *image)
{
   const struct vn_device_table *dt = &m->dev->dt;
   /* An identical alias: the same import types (renderer/memory/import_types.h). */
   const VkExternalMemoryImageCreateInfo external = {
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
      .handleTypes = image->host_import_types,
   };
   const VkImageCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
      .pNext = image->host_import_types ? &external : NULL,
      .flags = image->host_flags,
      .imageType = image->type,
      .format = image->format,
      .extent = image->extent,
      .mipLevels = 1,
      .arrayLayers = 1,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .tiling = image->optimal_for_linear ? VK_IMAGE_TILING_OPTIMAL : VK_IMAGE_TILING_LINEAR,
      .usage = image->host_usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
   };
   VkResult r = dt->CreateImage(m->dev->host, &ci, NULL, &m->alias);
   if (r != VK_SUCCESS)
      return r;
   /* The guest names the dedicated image: it may not fit the memory. */
   VkMemoryRequirements req;
   dt->GetImageMemoryRequirements(m->dev->host, m->alias, &req);
   if (req.size > memory_size || !(req.memoryTypeBits & (1u << memory_type))) {
      vs_warn(m->ctx_id, "linear mirror: the dedicated image (%llu bytes, types 0x%x) does not fit its memory "
              "(%llu bytes, type %u)", (unsigned long long)req.size, req.memoryTypeBits,
              (unsigned long long)memory_size, memory_type);
      return VK_ERROR_OUT_OF_DEVICE_MEMORY;
   }
   return dt->BindImageMemory(m->dev->host, m->alias, memory, 0);
}

static VkResult
create_copy(struct vs_linear_mirror *m, const struct vs_image *image, uint32_t texel_bytes)
{
   const struct vn_device_table *dt = &m->dev->dt;
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .queueFamilyIndex = m->queue->family,
   };
   VkResult r = dt->CreateCommandPool(m->dev->host, &pci, NULL, &m->pool);
   if (r != VK_SUCCESS)
      return r;
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = m->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
   };
   r = dt->AllocateCommandBuffers(m->dev->host, &cai, &m->copy);
   if (r != VK_SUCCESS)
      return r;
   r = record_copy(m, image, texel_bytes);
   if (r != VK_SUCCESS)
      return r;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   return dt->CreateFence(m->dev->host, &fci, NULL, &m->fence);
}

/* shared_registry's refresh hook: the display is about to read the mirror,
 * and everything the client submitted before its commit has finished. */
static bool
mirror_refresh(void *data, uint64_t timeout_ns)
{
   struct vs_linear_mirror *m = data;
   const struct vn_device_table *dt = &m->dev->dt;
   bool ok = false;
   pthread_mutex_lock(&m->lock);
   if (m->in_flight) {
      /* An earlier copy outlived its wait: the command buffer is still in
       * use, so that copy is the one to wait for. */
      m->in_flight = dt->WaitForFences(m->dev->host, 1, &m->fence, VK_TRUE, timeout_ns) != VK_SUCCESS;
   } else if (dt->ResetFences(m->dev->host, 1, &m->fence) == VK_SUCCESS) {
      const VkSubmitInfo submit = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .commandBufferCount = 1,
         .pCommandBuffers = &m->copy,
      };
      VkResult r = vs_queue_submit(m->queue, 1, &submit, m->fence);
      if (r == VK_SUCCESS) {
         r = dt->WaitForFences(m->dev->host, 1, &m->fence, VK_TRUE, timeout_ns);
         m->in_flight = r != VK_SUCCESS;
         ok = r == VK_SUCCESS;
      }
      if (r != VK_SUCCESS)
         vs_warn(m->ctx_id, "display: copy of an OPTIMAL image to its linear mirror failed: %s",
                 vn_result_name(r));
   }
   pthread_mutex_unlock(&m->lock);
   return ok;
}

struct vs_linear_mirror *
vs_linear_mirror_create(struct vs_device *dev, uint32_t ctx_id, VkDeviceMemory memory, VkDeviceSize memory_size,
                        uint32_t memory_type, const struct vs_image *image)
{
   struct vn_format_block block;
   if (!vn_format_block(image->format, VK_IMAGE_ASPECT_COLOR_BIT, &block) || block.width != 1 ||
       block.height != 1 || !block.bytes || image->layout.rowPitch % block.bytes) {
      vs_warn(ctx_id, "linear mirror: format %d has no single-texel blocks dividing the row pitch: %s",
              (int)image->format, vn_result_name(VK_ERROR_FORMAT_NOT_SUPPORTED));
      return NULL;
   }
   if (!dev->queue_count)
      return NULL;
   struct vs_linear_mirror *m = calloc(1, sizeof(*m));
   if (!m)
      return NULL;
   size_t g = dev->mem.granule;
   *m = (struct vs_linear_mirror){
      .dev = dev,
      .ctx_id = ctx_id,
      .queue = &dev->queues[0],
      .fd = -1,
      .map_size = (size_t)((image->layout.offset + image->layout.size + g - 1) & ~(VkDeviceSize)(g - 1)),
   };
   pthread_mutex_init(&m->lock, NULL);
   VkResult r = VK_ERROR_OUT_OF_HOST_MEMORY;
   if (vs_host_region_create(m->map_size, m->map_size, g, &m->fd, &m->map) &&
       (r = create_buffer(m)) == VK_SUCCESS && (r = create_alias(m, memory, memory_size, memory_type, image)) == VK_SUCCESS)
      r = create_copy(m, image, block.bytes);
   if (r != VK_SUCCESS) {
      vs_warn(ctx_id, "linear mirror of %ux%u: %s", image->extent.width, image->extent.height, vn_result_name(r));
      vs_linear_mirror_destroy(m);
      return NULL;
   }
   m->shared = vs_shared_register(dev->renderer->options.shared_registry, dev, ctx_id, m->fd, m->map, m->map_size,
                                  mirror_refresh, m);
   return m;
}

void
vs_linear_mirror_destroy(struct vs_linear_mirror *m)
{
   if (!m)
      return;
   struct vs_device *dev = m->dev;
   const struct vn_device_table *dt = &dev->dt;
   vs_shared_unregister(m->shared); /* no reader after this */
   if (m->in_flight && dt->WaitForFences(dev->host, 1, &m->fence, VK_TRUE, 1000000000ull) != VK_SUCCESS) {
      /* Freeing what a pending copy uses is undefined: a queue blocked
       * for good keeps it all. */
      vs_warn(m->ctx_id, "linear mirror: a copy stays pending; leaking it");
      return;
   }
   if (m->fence)
      dt->DestroyFence(dev->host, m->fence, NULL);
   if (m->pool)
      dt->DestroyCommandPool(dev->host, m->pool, NULL);
   if (m->alias)
      dt->DestroyImage(dev->host, m->alias, NULL);
   if (m->buffer)
      dt->DestroyBuffer(dev->host, m->buffer, NULL);
   if (m->host_memory)
      dt->FreeMemory(dev->host, m->host_memory, NULL);
   if (m->map)
      vs_host_region_destroy(m->fd, m->map, m->map_size, dev->mem.granule);
   pthread_mutex_destroy(&m->lock);
   free(m);
}

int
vs_linear_mirror_dup_fd(const struct vs_linear_mirror *m)
{
   return fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
}

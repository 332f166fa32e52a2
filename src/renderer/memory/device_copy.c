/* SPDX-License-Identifier: MIT */
#include "renderer/memory/device_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/image_layout.h"
#include "renderer/memory/memory_state.h"
#include "renderer/renderer_state.h"
#include "renderer/sync/host_queue.h"
#include "vn_wire.h"

/* What one step of a copy moves, and so what the staging memory holds. */
#define STAGING_BYTES (64u << 20)
/* How long one step may take on the GPU. */
#define STEP_TIMEOUT_NS (10ull * 1000000000ull)

static VkResult
make_buffer(struct vs_device *dev, const void *next, VkDeviceSize size, VkBuffer *out, VkMemoryRequirements *req)
{
   const VkBufferCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .pNext = next,
      .size = size,
      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkResult r = dev->dt.CreateBuffer(dev->host, &ci, NULL, out);
   if (r == VK_SUCCESS)
      dev->dt.GetBufferMemoryRequirements(dev->host, *out, req);
   return r;
}

bool
vs_device_copy_possible(struct vs_device *dev, VkDeviceSize size, uint32_t type_index, char *why, size_t why_size)
{
   VkBuffer buffer;
   VkMemoryRequirements req;
   VkResult r = make_buffer(dev, NULL, size, &buffer, &req);
   if (r != VK_SUCCESS) {
      snprintf(why, why_size, "no buffer over all of it can be made: %s", vn_result_name(r));
      return false;
   }
   dev->dt.DestroyBuffer(dev->host, buffer, NULL);
   if (req.size > size || type_index >= 32 || !(req.memoryTypeBits & (1u << type_index))) {
      snprintf(why, why_size, "a buffer over all of it needs %llu bytes of types 0x%x",
               (unsigned long long)req.size, req.memoryTypeBits);
      return false;
   }
   return true;
}

/* A queue that can copy (its family does graphics, compute or transfer):
 * one of family `owner` where the device has one, else the first. */
static struct vs_queue *
copy_queue(struct vs_device *dev, uint32_t owner)
{
   const struct vs_physical_device *phys = vs_physical_device_from(dev->physical);
   const VkQueueFlags can_copy = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;
   struct vs_queue *first = NULL;
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      const uint32_t family = dev->queues[i].family;
      if (family >= phys->queue_family_count || !(phys->queue_families[family].queueFlags & can_copy))
         continue;
      if (family == owner)
         return &dev->queues[i];
      first = first ? first : &dev->queues[i];
   }
   return first;
}

/* The staging memory's type: host-coherent, and cached where the device
 * has such a type (the host reads it back: uncached, write-combined
 * memory reads slowly). */
static int
host_type(const struct vs_device *dev, uint32_t type_bits)
{
   const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   const VkMemoryPropertyFlags wants[] = { coherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, coherent };
   for (uint32_t w = 0; w < 2; w++) {
      for (uint32_t i = 0; i < dev->mem.props.memoryTypeCount && i < 32; i++) {
         if ((type_bits & (1u << i)) && (dev->mem.props.memoryTypes[i].propertyFlags & wants[w]) == wants[w])
            return (int)i;
      }
   }
   return -1;
}

/* Everything one copy makes, undone by put_copy. */
struct copy {
   struct vs_device *dev;
   struct vs_queue *queue;
   VkBuffer over, staging;
   VkDeviceMemory staging_memory;
   uint8_t *staging_map;
   bool imported; /* the staging is the caller's host memory itself */
   VkCommandPool pool;
   VkCommandBuffer cmd;
   VkFence fence;
};

static void
put_copy(struct copy *c)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   if (c->fence)
      dt->DestroyFence(d, c->fence, NULL);
   if (c->pool)
      dt->DestroyCommandPool(d, c->pool, NULL);
   if (c->staging)
      dt->DestroyBuffer(d, c->staging, NULL);
   if (c->staging_memory)
      dt->FreeMemory(d, c->staging_memory, NULL);
   if (c->over)
      dt->DestroyBuffer(d, c->over, NULL);
}

static VkResult make_commands(struct copy *c);

/* The caller's host memory as the staging buffer, imported: the GPU
 * copies straight into it. False, nothing left made, where it cannot be. */
static bool
import_host(struct copy *c, void *bytes, size_t bytes_size)
{
   const struct vn_device_table *dt = &c->dev->dt;
   const struct vs_memory_caps *caps = &c->dev->mem;
   VkDevice d = c->dev->host;
   if (!caps->host_pointer || !caps->host_pointer_types || !caps->granule || (uintptr_t)bytes % caps->granule ||
       bytes_size % caps->granule)
      return false;
   const VkExternalMemoryBufferCreateInfo external = {
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
      .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
   };
   VkMemoryRequirements req;
   if (make_buffer(c->dev, &external, bytes_size, &c->staging, &req) != VK_SUCCESS)
      return false;
   const uint32_t types = req.memoryTypeBits & caps->host_pointer_types;
   const VkImportMemoryHostPointerInfoEXT import = {
      .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
      .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
      .pHostPointer = bytes,
   };
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = &import,
      .allocationSize = bytes_size,
      .memoryTypeIndex = types ? (uint32_t)__builtin_ctz(types) : 0,
   };
   if (types && dt->AllocateMemory(d, &ai, NULL, &c->staging_memory) == VK_SUCCESS &&
       dt->BindBufferMemory(d, c->staging, c->staging_memory, 0) == VK_SUCCESS) {
      c->imported = true;
      return true;
   }
   if (c->staging_memory)
      dt->FreeMemory(d, c->staging_memory, NULL);
   dt->DestroyBuffer(d, c->staging, NULL);
   c->staging_memory = VK_NULL_HANDLE;
   c->staging = VK_NULL_HANDLE;
   return false;
}

/* The staging: the caller's host memory imported, else a host-visible
 * buffer of `size` bytes. */
static VkResult
get_staging(struct copy *c, VkDeviceSize size, void *bytes, size_t bytes_size)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   if (import_host(c, bytes, bytes_size))
      return make_commands(c);
   VkMemoryRequirements req;
   VkResult r = make_buffer(c->dev, NULL, size, &c->staging, &req);
   if (r != VK_SUCCESS)
      return r;
   const int type = host_type(c->dev, req.memoryTypeBits);
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   r = dt->AllocateMemory(d, &ai, NULL, &c->staging_memory);
   if (r == VK_SUCCESS)
      r = dt->BindBufferMemory(d, c->staging, c->staging_memory, 0);
   if (r == VK_SUCCESS)
      r = dt->MapMemory(d, c->staging_memory, 0, VK_WHOLE_SIZE, 0, (void **)&c->staging_map);
   return r == VK_SUCCESS ? make_commands(c) : r;
}

static VkResult
get_copy(struct copy *c, VkDeviceMemory memory, VkDeviceSize size, void *bytes, size_t bytes_size)
{
   VkMemoryRequirements req;
   if (!(c->queue = copy_queue(c->dev, VK_QUEUE_FAMILY_IGNORED)))
      return VK_ERROR_FEATURE_NOT_PRESENT;
   VkResult r = make_buffer(c->dev, NULL, size, &c->over, &req);
   if (r == VK_SUCCESS)
      r = c->dev->dt.BindBufferMemory(c->dev->host, c->over, memory, 0);
   return r == VK_SUCCESS ? get_staging(c, size < STAGING_BYTES ? size : STAGING_BYTES, bytes, bytes_size) : r;
}

static VkResult
make_commands(struct copy *c)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
      .queueFamilyIndex = c->queue->family,
   };
   VkResult r = dt->CreateCommandPool(d, &pci, NULL, &c->pool);
   if (r != VK_SUCCESS)
      return r;
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = c->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
   };
   r = dt->AllocateCommandBuffers(d, &cai, &c->cmd);
   if (r != VK_SUCCESS)
      return r;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   return dt->CreateFence(d, &fci, NULL, &c->fence);
}

static VkResult
begin_step(struct copy *c)
{
   VkResult r = c->dev->dt.ResetCommandPool(c->dev->host, c->pool, 0);
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   return r == VK_SUCCESS ? c->dev->dt.BeginCommandBuffer(c->cmd, &begin) : r;
}

/* The step's writes, made visible to the host's reads (to_host) or to
 * whatever the guest runs next on the memory; then run and waited for. */
static VkResult
end_step(struct copy *c, bool to_host)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = to_host ? VK_ACCESS_HOST_READ_BIT : VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT,
   };
   dt->CmdPipelineBarrier(c->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                          to_host ? VK_PIPELINE_STAGE_HOST_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &barrier,
                          0, NULL, 0, NULL);
   VkResult r = dt->EndCommandBuffer(c->cmd);
   if (r == VK_SUCCESS)
      r = dt->ResetFences(d, 1, &c->fence);
   const VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &c->cmd,
   };
   if (r == VK_SUCCESS)
      r = vs_queue_submit(c->queue, 1, &submit, c->fence);
   if (r == VK_SUCCESS)
      r = dt->WaitForFences(d, 1, &c->fence, VK_TRUE, STEP_TIMEOUT_NS);
   return r;
}

/* One step: `n` bytes at `offset` between the memory and the staging (at
 * the same offset when it is the caller's memory, else at its start). */
static VkResult
step(struct copy *c, VkDeviceSize offset, VkDeviceSize n, bool to_host)
{
   VkResult r = begin_step(c);
   if (r != VK_SUCCESS)
      return r;
   const VkDeviceSize staging_offset = c->imported ? offset : 0;
   const VkBufferCopy region = {
      .srcOffset = to_host ? offset : staging_offset,
      .dstOffset = to_host ? staging_offset : offset,
      .size = n,
   };
   c->dev->dt.CmdCopyBuffer(c->cmd, to_host ? c->over : c->staging, to_host ? c->staging : c->over, 1, &region);
   return end_step(c, to_host);
}

VkResult
vs_device_copy(struct vs_device *dev, VkDeviceMemory memory, VkDeviceSize size, void *bytes, size_t bytes_size,
               bool to_host)
{
   struct copy c = { .dev = dev };
   VkResult r = size <= bytes_size ? get_copy(&c, memory, size, bytes, bytes_size) : VK_ERROR_OUT_OF_HOST_MEMORY;
   uint8_t *p = bytes;
   /* Imported, in one step; else a staging buffer's worth at a time. */
   const VkDeviceSize chunk = c.imported ? size : STAGING_BYTES;
   for (VkDeviceSize offset = 0; r == VK_SUCCESS && offset < size; offset += chunk) {
      const VkDeviceSize n = size - offset < chunk ? size - offset : chunk;
      if (!to_host && !c.imported)
         memcpy(c.staging_map, p + offset, (size_t)n);
      r = step(&c, offset, n, to_host);
      if (r == VK_SUCCESS && to_host && !c.imported)
         memcpy(p + offset, c.staging_map, (size_t)n);
   }
   /* A copy still running after its wait (a hung GPU) keeps what it uses. */
   if (r != VK_TIMEOUT)
      put_copy(&c);
   return r;
}

/* Offsets of buffer-image copies: a multiple of the texel block's bytes,
 * and of 4 (always for depth and stencil). */
static VkDeviceSize
part_alignment(uint32_t block_bytes)
{
   uint32_t a = block_bytes, b = 4;
   while (b) {
      const uint32_t t = a % b;
      a = b;
      b = t;
   }
   return (VkDeviceSize)block_bytes / a * 4;
}

static uint32_t
blocks(uint32_t texels, uint32_t level, uint32_t per_block)
{
   const uint32_t n = texels >> level ? texels >> level : 1;
   return (n + per_block - 1) / per_block;
}

bool
vs_device_image_parts(const struct vs_image *image, struct vs_image_part **parts, uint32_t *count,
                      VkDeviceSize *total, char *why, size_t why_size)
{
   VkImageAspectFlagBits aspects[2];
   struct vn_format_block block[2];
   uint32_t n_aspects = 0;
   if (vn_format_block(image->format, VK_IMAGE_ASPECT_COLOR_BIT, &block[0])) {
      aspects[n_aspects++] = VK_IMAGE_ASPECT_COLOR_BIT;
   } else {
      if (vn_format_block(image->format, VK_IMAGE_ASPECT_DEPTH_BIT, &block[n_aspects]))
         aspects[n_aspects++] = VK_IMAGE_ASPECT_DEPTH_BIT;
      if (vn_format_block(image->format, VK_IMAGE_ASPECT_STENCIL_BIT, &block[n_aspects]))
         aspects[n_aspects++] = VK_IMAGE_ASPECT_STENCIL_BIT;
   }
   if (!n_aspects || !block[0].bytes) {
      snprintf(why, why_size, "its format %d has planes, or none the server knows", (int)image->format);
      return false;
   }
   const VkDeviceSize align = aspects[0] == VK_IMAGE_ASPECT_COLOR_BIT ? part_alignment(block[0].bytes) : 4;
   const uint32_t layers = image->type == VK_IMAGE_TYPE_3D ? 1 : image->array_layers;
   const size_t most = (size_t)n_aspects * image->mip_levels * layers;
   struct vs_image_part *p = most ? calloc(most, sizeof(*p)) : NULL;
   if (!p) {
      snprintf(why, why_size, "out of memory for its copy");
      return false;
   }
   uint32_t n = 0;
   VkDeviceSize offset = 0;
   /* By level and layer, each aspect's part beside the other's: a step
    * never splits them, nor so a depth/stencil barrier of both. */
   for (uint32_t level = 0; level < image->mip_levels; level++) {
      for (uint32_t layer = 0; layer < layers; layer++) {
         for (uint32_t a = 0; a < n_aspects; a++) {
            const VkImageLayout layout = vs_image_layout_at(image, aspects[a], level, layer);
            if (layout == VK_IMAGE_LAYOUT_UNDEFINED || layout == VK_IMAGE_LAYOUT_PREINITIALIZED)
               continue; /* no contents, or the memory's own bytes (linear) */
            if (layout == VK_IMAGE_LAYOUT_SHARED_PRESENT_KHR) {
               snprintf(why, why_size, "it is in a shared present layout, which it cannot leave to be copied");
               free(p);
               return false;
            }
            const VkExtent3D extent = {
               image->extent.width >> level ? image->extent.width >> level : 1,
               image->extent.height >> level ? image->extent.height >> level : 1,
               image->extent.depth >> level ? image->extent.depth >> level : 1,
            };
            const VkDeviceSize size = (VkDeviceSize)blocks(image->extent.width, level, block[a].width) *
                                      blocks(image->extent.height, level, block[a].height) *
                                      blocks(image->extent.depth, level, block[a].depth) * block[a].bytes;
            offset = (offset + align - 1) / align * align;
            p[n++] = (struct vs_image_part){
               .sub = { aspects[a], level, layer, 1 },
               .extent = extent,
               .layout = layout,
               .offset = offset,
               .size = size,
            };
            offset += size;
         }
      }
   }
   *parts = p;
   *count = n;
   *total = offset;
   return true;
}

/* Whether parts a and b are one subresource's depth and stencil, in one
 * layout: one barrier of both aspects moves them. */
static bool
same_subresource(const struct vs_image_part *a, const struct vs_image_part *b)
{
   return a->sub.mipLevel == b->sub.mipLevel && a->sub.baseArrayLayer == b->sub.baseArrayLayer &&
          a->layout == b->layout;
}

/* Barriers for parts [0, n): from their layouts (to_host) or none into
 * the transfer layout (before), or back (after). */
static void
image_barriers(struct copy *c, VkImage image, const struct vs_image_part *parts, uint32_t n, bool to_host,
               bool before, VkImageMemoryBarrier *b)
{
   const VkImageLayout transfer = to_host ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
   uint32_t count = 0;
   for (uint32_t i = 0; i < n; i++) {
      const VkImageLayout own = parts[i].layout;
      if (to_host && own == transfer)
         continue;
      VkImageSubresourceRange range = {
         parts[i].sub.aspectMask, parts[i].sub.mipLevel, 1, parts[i].sub.baseArrayLayer, 1,
      };
      if (i + 1 < n && same_subresource(&parts[i], &parts[i + 1]) && parts[i + 1].sub.aspectMask != range.aspectMask)
         range.aspectMask |= parts[++i].sub.aspectMask;
      b[count++] = (VkImageMemoryBarrier){
         .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
         .srcAccessMask = before ? (to_host ? VK_ACCESS_MEMORY_WRITE_BIT : 0)
                                 : (to_host ? VK_ACCESS_TRANSFER_READ_BIT : VK_ACCESS_TRANSFER_WRITE_BIT),
         .dstAccessMask = before ? (to_host ? VK_ACCESS_TRANSFER_READ_BIT : VK_ACCESS_TRANSFER_WRITE_BIT)
                                 : VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT,
         .oldLayout = before ? (to_host ? own : VK_IMAGE_LAYOUT_UNDEFINED) : transfer,
         .newLayout = before ? transfer : own,
         .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
         .image = image,
         .subresourceRange = range,
      };
   }
   if (count)
      c->dev->dt.CmdPipelineBarrier(c->cmd, before ? VK_PIPELINE_STAGE_ALL_COMMANDS_BIT : VK_PIPELINE_STAGE_TRANSFER_BIT,
                                    before ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0,
                                    NULL, 0, NULL, count, b);
}

/* One step of an image copy: parts [0, n), their bytes in the staging
 * from `base` on. */
static VkResult
image_step(struct copy *c, VkImage image, const struct vs_image_part *parts, uint32_t n, VkDeviceSize base,
           bool to_host, VkImageMemoryBarrier *barriers, VkBufferImageCopy *regions)
{
   VkResult r = begin_step(c);
   if (r != VK_SUCCESS)
      return r;
   image_barriers(c, image, parts, n, to_host, true, barriers);
   for (uint32_t i = 0; i < n; i++)
      regions[i] = (VkBufferImageCopy){
         .bufferOffset = parts[i].offset - base,
         .imageSubresource = parts[i].sub,
         .imageExtent = parts[i].extent,
      };
   if (to_host)
      c->dev->dt.CmdCopyImageToBuffer(c->cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, c->staging, n, regions);
   else
      c->dev->dt.CmdCopyBufferToImage(c->cmd, c->staging, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, n, regions);
   image_barriers(c, image, parts, n, to_host, false, barriers);
   return end_step(c, to_host);
}

VkResult
vs_device_copy_image(struct vs_device *dev, VkImage image, uint32_t family, const struct vs_image_part *parts,
                     uint32_t count,
                     void *bytes, size_t bytes_size, bool to_host)
{
   struct copy c = { .dev = dev };
   if (!count)
      return VK_SUCCESS;
   const VkDeviceSize total = parts[count - 1].offset + parts[count - 1].size;
   VkDeviceSize largest = 0;
   for (uint32_t i = 0; i < count; i++)
      largest = parts[i].size > largest ? parts[i].size : largest;
   /* Not imported: a staging buffer's worth of parts at a time, at least
    * the largest part, two (depth and stencil) at most. */
   VkDeviceSize staging = total < STAGING_BYTES ? total : STAGING_BYTES;
   staging = staging < 2 * largest + 16 ? 2 * largest + 16 : staging;
   VkImageMemoryBarrier *barriers = calloc(count, sizeof(*barriers));
   VkBufferImageCopy *regions = calloc(count, sizeof(*regions));
   VkResult r = VK_ERROR_OUT_OF_HOST_MEMORY;
   if (barriers && regions && total <= bytes_size)
      r = (c.queue = copy_queue(dev, family)) ? get_staging(&c, staging, bytes, bytes_size)
                                      : VK_ERROR_FEATURE_NOT_PRESENT;
   uint8_t *p = bytes;
   for (uint32_t first = 0; r == VK_SUCCESS && first < count;) {
      uint32_t end = first + 1;
      if (c.imported) {
         end = count;
      } else {
         while (end < count && parts[end].offset + parts[end].size - parts[first].offset <= staging)
            end++;
         /* A subresource's depth and stencil go in one step. */
         if (end < count && end > first + 1 && parts[end].sub.mipLevel == parts[end - 1].sub.mipLevel &&
             parts[end].sub.baseArrayLayer == parts[end - 1].sub.baseArrayLayer)
            end--;
      }
      const VkDeviceSize base = c.imported ? 0 : parts[first].offset;
      const VkDeviceSize n = parts[end - 1].offset + parts[end - 1].size - base;
      if (!to_host && !c.imported)
         memcpy(c.staging_map, p + base, (size_t)n);
      r = image_step(&c, image, parts + first, end - first, base, to_host, barriers, regions);
      if (r == VK_SUCCESS && to_host && !c.imported)
         memcpy(p + base, c.staging_map, (size_t)n);
      first = end;
   }
   free(barriers);
   free(regions);
   if (r != VK_TIMEOUT)
      put_copy(&c);
   return r;
}

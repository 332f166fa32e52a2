/* SPDX-License-Identifier: MIT */
#include "renderer/memory/device_copy.h"

#include <stdio.h>
#include <string.h>

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

/* A queue that can copy: its family does graphics, compute or transfer. */
static struct vs_queue *
copy_queue(struct vs_device *dev)
{
   const struct vs_physical_device *phys = vs_physical_device_from(dev->physical);
   const VkQueueFlags can_copy = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      const uint32_t family = dev->queues[i].family;
      if (family < phys->queue_family_count && (phys->queue_families[family].queueFlags & can_copy))
         return &dev->queues[i];
   }
   return NULL;
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

static VkResult
get_copy(struct copy *c, VkDeviceMemory memory, VkDeviceSize size, void *bytes, size_t bytes_size)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   VkMemoryRequirements req;
   if (!(c->queue = copy_queue(c->dev)))
      return VK_ERROR_FEATURE_NOT_PRESENT;
   VkResult r = make_buffer(c->dev, NULL, size, &c->over, &req);
   if (r == VK_SUCCESS)
      r = dt->BindBufferMemory(d, c->over, memory, 0);
   if (r != VK_SUCCESS || import_host(c, bytes, bytes_size))
      return r == VK_SUCCESS ? make_commands(c) : r;
   r = make_buffer(c->dev, NULL, size < STAGING_BYTES ? size : STAGING_BYTES, &c->staging, &req);
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

/* One step: `n` bytes at `offset` between the memory and the staging (at
 * the same offset when it is the caller's memory, else at its start). */
static VkResult
step(struct copy *c, VkDeviceSize offset, VkDeviceSize n, bool to_host)
{
   const struct vn_device_table *dt = &c->dev->dt;
   VkDevice d = c->dev->host;
   VkResult r = dt->ResetCommandPool(d, c->pool, 0);
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   if (r == VK_SUCCESS)
      r = dt->BeginCommandBuffer(c->cmd, &begin);
   if (r != VK_SUCCESS)
      return r;
   const VkDeviceSize staging_offset = c->imported ? offset : 0;
   const VkBufferCopy region = {
      .srcOffset = to_host ? offset : staging_offset,
      .dstOffset = to_host ? staging_offset : offset,
      .size = n,
   };
   dt->CmdCopyBuffer(c->cmd, to_host ? c->over : c->staging, to_host ? c->staging : c->over, 1, &region);
   /* The copy's writes, made visible to the host's reads (to_host) or to
    * whatever the guest runs next on the memory. */
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = to_host ? VK_ACCESS_HOST_READ_BIT : VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT,
   };
   dt->CmdPipelineBarrier(c->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                          to_host ? VK_PIPELINE_STAGE_HOST_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &barrier,
                          0, NULL, 0, NULL);
   r = dt->EndCommandBuffer(c->cmd);
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

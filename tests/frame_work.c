/* SPDX-License-Identifier: MIT */
/* The numbered frames' picture and GPU work (frame_work.h). */
#include "frame_work.h"

void
frame_work_row(uint32_t *row, uint32_t width, uint32_t n)
{
   for (uint32_t x = 0; x < width; x++)
      row[x] = ((n >> (x * FRAME_WORK_BARS / width)) & 1) ? 0xffffffffu : 0xff000000u;
}

void
frame_work_barrier(VkCommandBuffer cb, VkBuffer buffer)
{
   const VkBufferMemoryBarrier b = { .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
                                     .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                     .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                                     .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                                     .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                                     .buffer = buffer, .size = VK_WHOLE_SIZE };
   vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 1, &b, 0,
                        NULL);
}

void
frame_work_heavy(VkCommandBuffer cb, VkBuffer heavy, VkDeviceSize bytes, int rounds, uint32_t n)
{
   for (int r = 0; r < rounds; r++) {
      vkCmdFillBuffer(cb, heavy, 0, bytes / 2, n * 2654435761u + (uint32_t)r);
      frame_work_barrier(cb, heavy);
      const VkBufferCopy half = { 0, bytes / 2, bytes / 2 };
      vkCmdCopyBuffer(cb, heavy, heavy, 1, &half);
      frame_work_barrier(cb, heavy);
   }
}

VkResult
frame_work_buffer(VkPhysicalDevice phys, VkDevice dev, VkDeviceSize size, VkBufferUsageFlags usage,
                  VkMemoryPropertyFlags props, bool dma_buf, VkBuffer *buffer, VkDeviceMemory *memory)
{
   const VkExternalMemoryBufferCreateInfo ext = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                                   .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
   const VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .pNext = dma_buf ? &ext : NULL,
                                   .size = size, .usage = usage };
   VkResult r = vkCreateBuffer(dev, &bi, NULL, buffer);
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(dev, *buffer, &req);
   VkPhysicalDeviceMemoryProperties mp;
   vkGetPhysicalDeviceMemoryProperties(phys, &mp);
   uint32_t type = 0;
   while (type < mp.memoryTypeCount &&
          !((req.memoryTypeBits & (1u << type)) && (mp.memoryTypes[type].propertyFlags & props) == props))
      type++;
   if (type == mp.memoryTypeCount)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   const VkMemoryDedicatedAllocateInfo dedicated = { .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO,
                                                     .buffer = *buffer };
   const VkExportMemoryAllocateInfo export = { .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
                                               .pNext = &dedicated,
                                               .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
   const VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = dma_buf ? &export : NULL,
                                     .allocationSize = req.size, .memoryTypeIndex = type };
   r = vkAllocateMemory(dev, &ai, NULL, memory);
   return r != VK_SUCCESS ? r : vkBindBufferMemory(dev, *buffer, *memory, 0);
}

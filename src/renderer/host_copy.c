/* SPDX-License-Identifier: MIT */
/* Host image copy (VK_EXT_host_image_copy, core in Vulkan 1.4) as the
 * Venus protocol carries it from spec version 3: the guest's host pointers
 * mean nothing here, so the data crosses the wire. Memory-to-image
 * regions bring their bytes inline; an image-to-memory call copies one
 * region into the reply. protocol/checks.txt has already checked every
 * region against its image and its bytes (vs_check_host_image_copy). */
#include <stdlib.h>

#include "renderer/families.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkCopyMemoryToImageMESA(struct vs_runner *runner, struct vn_args_vkCopyMemoryToImageMESA *a)
{
   const VkCopyMemoryToImageInfoMESA *info = a->pCopyMemoryToImageInfo;
   PFN_vkCopyMemoryToImage copy = a->device_obj->dt->CopyMemoryToImage;
   if (!info || !copy) {
      vs_runner_fail(runner, "vkCopyMemoryToImageMESA: %s", !info ? "no copy info" : "the host has no host image copy");
      return;
   }
   VkMemoryToImageCopy *regions = calloc(info->regionCount ? info->regionCount : 1, sizeof(*regions));
   if (!regions) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   for (uint32_t i = 0; i < info->regionCount; i++) {
      const VkMemoryToImageCopyMESA *r = &info->pRegions[i];
      regions[i] = (VkMemoryToImageCopy){
         .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY,
         .pHostPointer = r->pData,
         .memoryRowLength = r->memoryRowLength,
         .memoryImageHeight = r->memoryImageHeight,
         .imageSubresource = r->imageSubresource,
         .imageOffset = r->imageOffset,
         .imageExtent = r->imageExtent,
      };
   }
   const VkCopyMemoryToImageInfo host_info = {
      .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO,
      .flags = info->flags,
      .dstImage = info->dstImage,
      .dstImageLayout = info->dstImageLayout,
      .regionCount = info->regionCount,
      .pRegions = regions,
   };
   a->ret = copy(a->device, &host_info);
   free(regions);
}

static void
vs_exec_vkCopyImageToMemoryMESA(struct vs_runner *runner, struct vn_args_vkCopyImageToMemoryMESA *a)
{
   const VkCopyImageToMemoryInfoMESA *info = a->pCopyImageToMemoryInfo;
   PFN_vkCopyImageToMemory copy = a->device_obj->dt->CopyImageToMemory;
   if (!info || !copy) {
      vs_runner_fail(runner, "vkCopyImageToMemoryMESA: %s", !info ? "no copy info" : "the host has no host image copy");
      return;
   }
   const VkImageToMemoryCopy region = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY,
      .pHostPointer = a->pData,
      .memoryRowLength = info->memoryRowLength,
      .memoryImageHeight = info->memoryImageHeight,
      .imageSubresource = info->imageSubresource,
      .imageOffset = info->imageOffset,
      .imageExtent = info->imageExtent,
   };
   const VkCopyImageToMemoryInfo host_info = {
      .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO,
      .flags = info->flags,
      .srcImage = info->srcImage,
      .srcImageLayout = info->srcImageLayout,
      .regionCount = 1,
      .pRegions = &region,
   };
   a->ret = copy(a->device, &host_info);
}

void
vs_host_copy_register(struct vn_exec_table *t)
{
   t->vkCopyMemoryToImageMESA = vs_exec_vkCopyMemoryToImageMESA;
   t->vkCopyImageToMemoryMESA = vs_exec_vkCopyImageToMemoryMESA;
}

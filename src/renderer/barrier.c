/* SPDX-License-Identifier: MIT */
/* Barriers, as the host sees them.
 * - Where VK_EXT_queue_family_foreign is the server's (the host has none,
 *   see renderer/caps/caps.h): an ownership transfer to or from the foreign family
 *   becomes a plain barrier. The memory it guards is shared through the
 *   server's blobs, which the guest reads after the fence, so no host
 *   queue ever owns it on the other side.
 * - An image the guest created PREINITIALIZED and the host UNDEFINED
 *   (renderer/image.c: it may be bound to imported memory): its first
 *   transition leaves UNDEFINED on the host.
 * Each image barrier's new layout is noted in its command buffer where the
 * renderer keeps layouts (renderer/image_layout.h). */
#include "renderer/families.h"
#include "renderer/image_layout.h"
#include "wire/runner.h"
#include "renderer/objects.h"
#include "vn_wire.h"

static bool
foreign_by_server(struct vs_object *command_buffer_obj)
{
   return vs_device_of(command_buffer_obj)->foreign_by_server;
}

static void
drop_foreign(uint32_t *src, uint32_t *dst)
{
   if (*src == VK_QUEUE_FAMILY_FOREIGN_EXT || *dst == VK_QUEUE_FAMILY_FOREIGN_EXT)
      *src = *dst = VK_QUEUE_FAMILY_IGNORED;
}

static void
preinitialized_to_host(struct vs_runner *runner, const VkImage *image, VkImageLayout *old_layout)
{
   if (*old_layout != VK_IMAGE_LAYOUT_PREINITIALIZED)
      return;
   struct vs_object *obj = vs_runner_nested_object(runner, image);
   if (obj && vs_image_from(obj)->preinitialized_undefined)
      *old_layout = VK_IMAGE_LAYOUT_UNDEFINED;
}

static void
rewrite_barriers_v1(struct vs_runner *runner, struct vs_object *cb, bool foreign, uint32_t buffer_count,
                    const VkBufferMemoryBarrier *buffers, uint32_t image_count, const VkImageMemoryBarrier *images)
{
   for (uint32_t i = 0; foreign && buffers && i < buffer_count; i++) {
      VkBufferMemoryBarrier *b = (VkBufferMemoryBarrier *)&buffers[i];
      drop_foreign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
   }
   for (uint32_t i = 0; images && i < image_count; i++) {
      VkImageMemoryBarrier *b = (VkImageMemoryBarrier *)&images[i];
      if (foreign)
         drop_foreign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
      preinitialized_to_host(runner, &b->image, &b->oldLayout);
      if (b->newLayout != b->oldLayout)
         vs_layouts_record(runner, cb, &b->image, &b->subresourceRange, b->newLayout);
   }
}

static inline void
barriers_to_host_v1(struct vs_runner *runner, struct vs_object *command_buffer_obj, uint32_t buffer_count,
                    const VkBufferMemoryBarrier *buffers, uint32_t image_count, const VkImageMemoryBarrier *images)
{
   /* Memory barriers alone (most of a compute recording's) need nothing. */
   if (buffer_count | image_count)
      rewrite_barriers_v1(runner, command_buffer_obj, foreign_by_server(command_buffer_obj), buffer_count, buffers,
                          image_count, images);
}

static void
barriers_to_host_v2(struct vs_runner *runner, struct vs_object *cb, const VkDependencyInfo *dep)
{
   if (!dep)
      return;
   const bool foreign = foreign_by_server(cb);
   for (uint32_t i = 0; foreign && dep->pBufferMemoryBarriers && i < dep->bufferMemoryBarrierCount; i++) {
      VkBufferMemoryBarrier2 *b = (VkBufferMemoryBarrier2 *)&dep->pBufferMemoryBarriers[i];
      drop_foreign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
   }
   for (uint32_t i = 0; dep->pImageMemoryBarriers && i < dep->imageMemoryBarrierCount; i++) {
      VkImageMemoryBarrier2 *b = (VkImageMemoryBarrier2 *)&dep->pImageMemoryBarriers[i];
      if (foreign)
         drop_foreign(&b->srcQueueFamilyIndex, &b->dstQueueFamilyIndex);
      preinitialized_to_host(runner, &b->image, &b->oldLayout);
      if (b->newLayout != b->oldLayout)
         vs_layouts_record(runner, cb, &b->image, &b->subresourceRange, b->newLayout);
   }
}

static void
vs_exec_vkCmdPipelineBarrier(struct vs_runner *runner, struct vn_args_vkCmdPipelineBarrier *a)
{
   barriers_to_host_v1(runner, a->commandBuffer_obj, a->bufferMemoryBarrierCount,
                       a->pBufferMemoryBarriers, a->imageMemoryBarrierCount, a->pImageMemoryBarriers);
   vn_default_vkCmdPipelineBarrier(runner, a);
}

static void
vs_exec_vkCmdWaitEvents(struct vs_runner *runner, struct vn_args_vkCmdWaitEvents *a)
{
   barriers_to_host_v1(runner, a->commandBuffer_obj, a->bufferMemoryBarrierCount,
                       a->pBufferMemoryBarriers, a->imageMemoryBarrierCount, a->pImageMemoryBarriers);
   vn_default_vkCmdWaitEvents(runner, a);
}

static void
vs_exec_vkCmdPipelineBarrier2(struct vs_runner *runner, struct vn_args_vkCmdPipelineBarrier2 *a)
{
   barriers_to_host_v2(runner, a->commandBuffer_obj, a->pDependencyInfo);
   vn_default_vkCmdPipelineBarrier2(runner, a);
}

static void
vs_exec_vkCmdSetEvent2(struct vs_runner *runner, struct vn_args_vkCmdSetEvent2 *a)
{
   barriers_to_host_v2(runner, a->commandBuffer_obj, a->pDependencyInfo);
   vn_default_vkCmdSetEvent2(runner, a);
}

static void
vs_exec_vkCmdWaitEvents2(struct vs_runner *runner, struct vn_args_vkCmdWaitEvents2 *a)
{
   for (uint32_t i = 0; a->pDependencyInfos && i < a->eventCount; i++)
      barriers_to_host_v2(runner, a->commandBuffer_obj, &a->pDependencyInfos[i]);
   vn_default_vkCmdWaitEvents2(runner, a);
}

void
vs_barrier_register(struct vn_exec_table *t)
{
   t->vkCmdPipelineBarrier = vs_exec_vkCmdPipelineBarrier;
   t->vkCmdWaitEvents = vs_exec_vkCmdWaitEvents;
   t->vkCmdPipelineBarrier2 = vs_exec_vkCmdPipelineBarrier2;
   t->vkCmdSetEvent2 = vs_exec_vkCmdSetEvent2;
   t->vkCmdWaitEvents2 = vs_exec_vkCmdWaitEvents2;
}

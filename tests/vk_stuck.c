/* SPDX-License-Identifier: MIT */
/* Leaves a queue blocked: submits a batch that waits on a timeline
 * semaphore nobody will signal, says so, then sleeps until killed (or
 * exits at once with --exit). The server must still tear the client's
 * device down without hanging. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vk_util.h"

int
main(int argc, char **argv)
{
   bool exit_at_once = argc > 1 && strcmp(argv[1], "--exit") == 0;
   struct vkt t;
   if (!vkt_init(&t, 1, NULL))
      return 1;
   const VkSemaphoreTypeCreateInfo type_info = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
      .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
   };
   const VkSemaphoreCreateInfo sem_info = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type_info };
   VkSemaphore sem;
   if (!vkt_check(&t, vkCreateSemaphore(t.device, &sem_info, NULL, &sem), "timeline semaphore"))
      return 1;
   const uint64_t wait_value = 1;
   const VkTimelineSemaphoreSubmitInfo timeline = {
      .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
      .waitSemaphoreValueCount = 1,
      .pWaitSemaphoreValues = &wait_value,
   };
   const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT;
   const VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .pNext = &timeline,
      .waitSemaphoreCount = 1,
      .pWaitSemaphores = &sem,
      .pWaitDstStageMask = &stage,
   };
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence fence;
   if (!vkt_check(&t, vkCreateFence(t.device, &fence_info, NULL, &fence), "fence") ||
       !vkt_check(&t, vkQueueSubmit(t.queues[0], 1, &submit, fence), "submit waiting forever"))
      return 1;
   VkResult r = vkWaitForFences(t.device, 1, &fence, VK_TRUE, 100000000ull);
   if (r != VK_TIMEOUT) {
      vkt_error(&t, "the blocked batch did not block: %s", vkt_result(r));
      return 1;
   }
   printf("stuck: queue blocked (pid %d)\n", (int)getpid());
   fflush(stdout);
   if (exit_at_once)
      return 0; /* no cleanup: the server tears the device down */
   for (;;)
      pause();
}

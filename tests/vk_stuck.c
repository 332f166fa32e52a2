/* SPDX-License-Identifier: MIT */
/* Leaves a queue blocked: submits a batch that waits on a timeline
 * semaphore nobody will signal, says so, then sleeps until killed (or
 * exits at once with --exit). The server must still tear the client's
 * device down without hanging.
 *
 *   vk_stuck --wait MODE: a host wait that never ends, then nothing:
 *     queue-wait-idle      vkQueueWaitIdle behind that timeline wait
 *     device-wait-idle     vkDeviceWaitIdle behind it
 *     fence-never-submitted vkWaitForFences(UINT64_MAX) on a fence never
 *                          submitted (run with VN_PERF=no_fence_feedback for
 *                          the wait to reach the server)
 *     binary-submit        a submission waiting on a binary semaphore
 *                          nothing signals (invalid: the server refuses it)
 *   It prints "stuck: waiting (pid N)" just before the call; the test
 *   SIGKILLs it in the call. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vk_util.h"

static void
say_waiting(const char *mode)
{
   printf("stuck: waiting in %s (pid %d)\n", mode, (int)getpid());
   fflush(stdout);
}

static int
wait_forever(struct vkt *t, const char *mode)
{
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence fence;
   if (!vkt_check(t, vkCreateFence(t->device, &fence_info, NULL, &fence), "fence"))
      return 1;
   VkResult r;
   if (strcmp(mode, "fence-never-submitted") == 0) {
      say_waiting(mode);
      r = vkWaitForFences(t->device, 1, &fence, VK_TRUE, UINT64_MAX);
   } else if (strcmp(mode, "binary-submit") == 0) {
      const VkSemaphoreCreateInfo sem_info = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
      VkSemaphore sem;
      if (!vkt_check(t, vkCreateSemaphore(t->device, &sem_info, NULL, &sem), "binary semaphore"))
         return 1;
      const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT;
      const VkSubmitInfo submit = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
         .waitSemaphoreCount = 1,
         .pWaitSemaphores = &sem,
         .pWaitDstStageMask = &stage,
      };
      say_waiting(mode);
      r = vkQueueSubmit(t->queues[0], 1, &submit, fence);
      if (r == VK_SUCCESS)
         r = vkWaitForFences(t->device, 1, &fence, VK_TRUE, UINT64_MAX);
   } else {
      vkt_error(t, "unknown wait mode %s", mode);
      return 2;
   }
   printf("wait returned %s\n", vkt_result(r));
   return 0;
}

int
main(int argc, char **argv)
{
   bool exit_at_once = argc > 1 && strcmp(argv[1], "--exit") == 0;
   const char *wait_mode = argc > 2 && strcmp(argv[1], "--wait") == 0 ? argv[2] : NULL;
   struct vkt t;
   if (!vkt_init(&t, 1, NULL))
      return 1;
   if (wait_mode && strcmp(wait_mode, "queue-wait-idle") != 0 && strcmp(wait_mode, "device-wait-idle") != 0)
      return wait_forever(&t, wait_mode);
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
   if (wait_mode) {
      say_waiting(wait_mode);
      r = strcmp(wait_mode, "queue-wait-idle") == 0 ? vkQueueWaitIdle(t.queues[0]) : vkDeviceWaitIdle(t.device);
      printf("wait returned %s\n", vkt_result(r));
      return 0;
   }
   printf("stuck: queue blocked (pid %d)\n", (int)getpid());
   fflush(stdout);
   if (exit_at_once)
      return 0; /* no cleanup: the server tears the device down */
   for (;;)
      pause();
}

/* SPDX-License-Identifier: MIT */
/* Device loss as the guest sees it (tests/test_device_lost.sh): ROUNDS
 * rounds of "submit an empty batch with a fence, wait for the fence (1 s),
 * reset it", each result printed, then vkDeviceWaitIdle. The server is
 * told to lose this client's device at one submission
 * ($VENUS_SERVER_TEST_DEVICE_LOST); the client checks what a lost device
 * must look like: everything before the first VK_ERROR_DEVICE_LOST
 * succeeded, every submit and wait after it returns VK_ERROR_DEVICE_LOST
 * (in finite time), and so does the final vkDeviceWaitIdle. It prints
 * "first loss: round R CALL" and exits 0 when that holds.
 *
 *   vk_lost [--rounds N]   (default 6) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

int
main(int argc, char **argv)
{
   unsigned rounds = 6;
   if (argc == 3 && strcmp(argv[1], "--rounds") == 0)
      rounds = (unsigned)strtoul(argv[2], NULL, 10);
   struct vkt t;
   if (!vkt_init(&t, 1, NULL))
      return 1;
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence fence;
   if (!vkt_check(&t, vkCreateFence(t.device, &fence_info, NULL, &fence), "fence"))
      return 1;

   /* One empty batch, as applications submit. */
   const VkSubmitInfo batch = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   unsigned lost_round = 0;
   const char *lost_call = NULL;
   for (unsigned i = 1; i <= rounds; i++) {
      VkResult submit = vkQueueSubmit(t.queues[0], 1, &batch, fence);
      VkResult wait = vkWaitForFences(t.device, 1, &fence, VK_TRUE, 1000000000ull);
      VkResult reset = vkResetFences(t.device, 1, &fence);
      printf("info: round %u: vkQueueSubmit %s, vkWaitForFences %s\n", i, vkt_result(submit), vkt_result(wait));
      if (!lost_round && (submit == VK_ERROR_DEVICE_LOST || wait == VK_ERROR_DEVICE_LOST)) {
         lost_round = i;
         lost_call = submit == VK_ERROR_DEVICE_LOST ? "vkQueueSubmit" : "vkWaitForFences";
         printf("first loss: round %u %s\n", i, lost_call);
         /* The wait of the round that lost the device must report it too. */
         if (wait != VK_ERROR_DEVICE_LOST)
            vkt_error(&t, "round %u: the wait after the lost submission returned %s", i, vkt_result(wait));
      } else if (!lost_round && (submit != VK_SUCCESS || wait != VK_SUCCESS || reset != VK_SUCCESS)) {
         vkt_error(&t, "round %u before any loss: submit %s, wait %s, reset %s", i, vkt_result(submit),
                   vkt_result(wait), vkt_result(reset));
      } else if (lost_round && lost_round != i && wait != VK_ERROR_DEVICE_LOST) {
         vkt_error(&t, "round %u after the loss: the wait returned %s", i, vkt_result(wait));
      }
   }
   VkResult idle = vkDeviceWaitIdle(t.device);
   if (!lost_round)
      vkt_error(&t, "no call reported VK_ERROR_DEVICE_LOST in %u rounds", rounds);
   else if (idle != VK_ERROR_DEVICE_LOST)
      vkt_error(&t, "vkDeviceWaitIdle on the lost device returned %s", vkt_result(idle));
   else
      vkt_ok(&t, "device lost at round %u (%s); every later wait and vkDeviceWaitIdle said so", lost_round,
             lost_call);
   vkDestroyFence(t.device, fence, NULL);
   vkt_fini(&t);
   printf("%s\n", t.failures ? "FAILED" : "PASSED");
   return t.failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* Test client: a buffer in device-local memory the client never maps
 * keeps its contents from round to round. Each round copies it into a
 * mapped staging buffer, checks every word against what the round before
 * wrote, then writes the round's own words through the staging buffer
 * back into it; a scratch buffer is made and freed each round, as an
 * application's allocations come and go (tests/test_restore.sh restores
 * the context between rounds: the device-local contents must survive).
 *
 * With --pause-ms the client is quiet that long after each round
 * (tests/test_worker_checkpoints.sh kills its worker then).
 *
 *   vk_device_local [--mib N] [--rounds R] [--pause-ms M] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

/* Word i of `round`: differs between rounds, so a stale or lost copy shows. */
static uint32_t
word_of(uint32_t round, uint32_t i)
{
   uint32_t x = i * 0x9E3779B1u ^ (round * 0xC2B2AE3Du + 0x27D4EB2Fu);
   x ^= x >> 15;
   x *= 0x2C1B3C6Du;
   x ^= x >> 12;
   return x;
}

static bool
parse_args(int argc, char **argv, uint32_t *mib, uint32_t *rounds, uint32_t *pause_ms)
{
   *mib = 4;
   *rounds = 8;
   *pause_ms = 0;
   for (int i = 1; i < argc; i++) {
      const bool pause = !strcmp(argv[i], "--pause-ms");
      uint32_t *out = !strcmp(argv[i], "--mib") ? mib : !strcmp(argv[i], "--rounds") ? rounds : pause ? pause_ms : NULL;
      char *end = NULL;
      unsigned long v = out && i + 1 < argc ? strtoul(argv[++i], &end, 10) : 0;
      if (!out || !end || *end || (!pause && (!v || v > 1024)) || v > 600000) {
         fprintf(stderr, "usage: vk_device_local [--mib N] [--rounds R] [--pause-ms M]   (N, R: 1..1024)\n");
         return false;
      }
      *out = (uint32_t)v;
   }
   return true;
}

/* The device-local buffer: of a type without host access where the device
 * has one, else any device-local type (lavapipe's only type). */
static VkResult
device_buffer(struct vkt *t, VkDeviceSize size, VkBuffer *buffer, VkDeviceMemory *memory, bool *host_visible)
{
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkResult r = vkCreateBuffer(t->device, &bci, NULL, buffer);
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(t->device, *buffer, &req);
   const int type = vkt_device_local_type(t, req.memoryTypeBits);
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   *host_visible = t->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
   };
   r = vkAllocateMemory(t->device, &ai, NULL, memory);
   if (r == VK_SUCCESS)
      r = vkBindBufferMemory(t->device, *buffer, *memory, 0);
   return r;
}

/* Records one copy of `size` bytes and runs it. */
static VkResult
copy(struct vkt *t, VkCommandBuffer cmd, VkFence fence, VkBuffer from, VkBuffer to, VkDeviceSize size)
{
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   VkResult r = vkBeginCommandBuffer(cmd, &begin);
   if (r != VK_SUCCESS)
      return r;
   const VkBufferCopy region = { 0, 0, size };
   vkCmdCopyBuffer(cmd, from, to, 1, &region);
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                        0, 1, &barrier, 0, NULL, 0, NULL);
   if ((r = vkEndCommandBuffer(cmd)) != VK_SUCCESS)
      return r;
   const char *what;
   return vkt_submit_wait(t, cmd, fence, &what);
}

int
main(int argc, char **argv)
{
   uint32_t mib, rounds, pause_ms;
   if (!parse_args(argc, argv, &mib, &rounds, &pause_ms))
      return 2;
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct vkt t;
   if (!vkt_init(&t, 1, NULL)) {
      vkt_fini(&t);
      return 1;
   }
   const VkDeviceSize size = (VkDeviceSize)mib << 20;
   const uint32_t count = (uint32_t)(size / sizeof(uint32_t));
   VkBuffer local = VK_NULL_HANDLE;
   VkDeviceMemory local_memory = VK_NULL_HANDLE;
   struct vkt_buffer staging = { 0 };
   VkCommandPool pool = VK_NULL_HANDLE;
   VkCommandBuffer cmd = VK_NULL_HANDLE;
   VkFence fence = VK_NULL_HANDLE;
   const char *what = "the device-local buffer";
   bool host_visible = false;
   VkResult r = device_buffer(&t, size, &local, &local_memory, &host_visible);
   if (r == VK_SUCCESS)
      r = vkt_buffer_create_usage(&t, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  &staging, &what);
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = t.families[0],
   };
   if (r == VK_SUCCESS && (what = "command pool", r = vkCreateCommandPool(t.device, &pci, NULL, &pool)) == VK_SUCCESS) {
      const VkCommandBufferAllocateInfo cai = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
         .commandPool = pool,
         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
         .commandBufferCount = 1,
      };
      const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
      what = "command buffer and fence";
      r = vkAllocateCommandBuffers(t.device, &cai, &cmd);
      if (r == VK_SUCCESS)
         r = vkCreateFence(t.device, &fci, NULL, &fence);
   }
   if (r != VK_SUCCESS) {
      vkt_error(&t, "%u MiB device-local buffer and its staging: %s: %s", mib, what, vkt_result(r));
      goto out;
   }
   vkt_ok(&t, "a %u MiB buffer in device-local memory (%s), never mapped", mib,
          host_visible ? "host-visible too: the device has no other" : "no host access");

   for (uint32_t i = 0; i < count; i++)
      staging.map[i] = word_of(0, i);
   if ((r = copy(&t, cmd, fence, staging.buffer, local, size)) != VK_SUCCESS) {
      vkt_error(&t, "round 0: staging -> device-local: %s", vkt_result(r));
      goto out;
   }
   for (uint32_t round = 1; round <= rounds && !t.failures; round++) {
      struct vkt_buffer scratch;
      if ((r = vkt_buffer_create(&t, 65536, &scratch, &what)) != VK_SUCCESS) {
         vkt_error(&t, "round %u: scratch buffer: %s: %s", round, what, vkt_result(r));
         break;
      }
      memset(staging.map, 0, (size_t)size);
      if ((r = copy(&t, cmd, fence, local, staging.buffer, size)) != VK_SUCCESS) {
         vkt_error(&t, "round %u: device-local -> staging: %s", round, vkt_result(r));
         vkt_buffer_destroy(&t, &scratch);
         break;
      }
      uint32_t wrong = 0, first = 0;
      for (uint32_t i = 0; i < count; i++) {
         if (staging.map[i] != word_of(round - 1, i) && !wrong++)
            first = i;
      }
      if (wrong)
         vkt_error(&t, "round %u: %u of %u words of the device-local buffer are not round %u's; word %u = 0x%08x, "
                   "want 0x%08x", round, wrong, count, round - 1, first, staging.map[first], word_of(round - 1, first));
      else
         vkt_ok(&t, "round %u: all %u words of the device-local buffer are round %u's", round, count, round - 1);
      for (uint32_t i = 0; i < count; i++)
         staging.map[i] = word_of(round, i);
      if ((r = copy(&t, cmd, fence, staging.buffer, local, size)) != VK_SUCCESS)
         vkt_error(&t, "round %u: staging -> device-local: %s", round, vkt_result(r));
      vkt_buffer_destroy(&t, &scratch);
      if (pause_ms && round < rounds)
         vkt_sleep_ms(pause_ms);
   }

out:
   if (t.device) {
      vkDeviceWaitIdle(t.device);
      vkDestroyFence(t.device, fence, NULL);
      vkDestroyCommandPool(t.device, pool, NULL);
      vkDestroyBuffer(t.device, local, NULL);
      vkFreeMemory(t.device, local_memory, NULL);
   }
   vkt_buffer_destroy(&t, &staging);
   vkt_fini(&t);
   printf("%s: %d error(s)\n", t.failures ? "FAILED" : "PASSED", t.failures);
   return t.failures ? 1 : 0;
}

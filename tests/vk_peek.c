/* SPDX-License-Identifier: MIT */
/* One guest process's shader reading another's memory by its device
 * address (VK_KHR_buffer_device_address). On a host driver whose device
 * addresses are pointers into the process that runs it (lavapipe), a
 * shader reads whatever that process has mapped: two contexts served by
 * one process can read each other; each in a process of its own cannot.
 *
 * Usage:
 *   vk_peek hold SECONDS   a buffer of WORDS marker words; prints
 *                          "peek: address 0x..." and keeps it SECONDS
 *   vk_peek read ADDRESS   a shader reads WORDS words at ADDRESS; prints
 *                          "peek: read N words at 0x...: M hold the marker"
 *                          or "peek: the read ended the device: RESULT"
 * Exit 0 when the step ran (whatever was read), 1 when a Vulkan call
 * failed, 2 on a wrong command line, 77 without bufferDeviceAddress. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#define WORDS 1024u
#define MARKER 0x5eed0000u

static int
fail(struct vkt *t, VkResult r, const char *what)
{
   vkt_check(t, r, what);
   vkt_fini(t);
   return 1;
}

static int
hold(struct vkt *t, unsigned seconds)
{
   const VkMemoryAllocateFlagsInfo flags = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
   };
   struct vkt_buffer b = { 0 };
   const char *what = "";
   VkResult r = vkt_buffer_create_chained(t, WORDS * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                          VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, NULL, &flags, &b, &what);
   if (r != VK_SUCCESS)
      return fail(t, r, what);
   if (!b.map) {
      vkt_error(t, "the buffer is not host visible");
      vkt_fini(t);
      return 1;
   }
   for (uint32_t i = 0; i < WORDS; i++)
      b.map[i] = MARKER + i;
   const VkBufferDeviceAddressInfo info = { .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b.buffer };
   const VkDeviceAddress address = vkGetBufferDeviceAddress(t->device, &info);
   printf("peek: address 0x%" PRIx64 "\n", (uint64_t)address);
   fflush(stdout);
   vkt_sleep_ms(seconds * 1000u);
   vkt_buffer_destroy(t, &b);
   vkt_fini(t);
   return 0;
}

static int
peek(struct vkt *t, uint64_t address)
{
   struct vkt_buffer src = { 0 }, dst = { 0 };
   struct vkt_scale s;
   const char *what = "";
   VkResult r;
   if ((r = vkt_buffer_create(t, 64, &src, &what)) != VK_SUCCESS ||
       (r = vkt_buffer_create(t, WORDS * 4, &dst, &what)) != VK_SUCCESS ||
       (r = vkt_peek_init(t, &s, &what)) != VK_SUCCESS)
      return fail(t, r, what);
   memcpy(src.map, &address, sizeof(address));
   memset(dst.map, 0, WORDS * 4);
   r = vkt_scale_run(t, &s, &src, &dst, WORDS, 0, 0, &what);
   if (r == VK_ERROR_DEVICE_LOST || r == VK_TIMEOUT) {
      printf("peek: the read ended the device: %s\n", vkt_result(r));
      return 0; /* the process exits: nothing of its device is usable */
   }
   if (r != VK_SUCCESS)
      return fail(t, r, what);
   uint32_t marked = 0;
   for (uint32_t i = 0; i < WORDS; i++)
      marked += dst.map[i] == MARKER + i;
   printf("peek: read %u words at 0x%" PRIx64 ": %u hold the marker\n", WORDS, address, marked);
   vkt_scale_fini(t, &s);
   vkt_buffer_destroy(t, &src);
   vkt_buffer_destroy(t, &dst);
   vkt_fini(t);
   return 0;
}

int
main(int argc, char **argv)
{
   char *end = NULL;
   const bool holding = argc == 3 && !strcmp(argv[1], "hold");
   const bool reading = argc == 3 && !strcmp(argv[1], "read");
   const unsigned long long value = argc == 3 ? strtoull(argv[2], &end, 0) : 0;
   if ((!holding && !reading) || !end || *end || end == argv[2]) {
      fprintf(stderr, "usage: vk_peek hold SECONDS | vk_peek read ADDRESS\n");
      return 2;
   }
   struct vkt t = { 0 };
   if (!vkt_init_instance(&t, VK_API_VERSION_1_2))
      return 1;
   VkPhysicalDeviceVulkan12Features supported = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES };
   VkPhysicalDeviceFeatures2 features2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                           .pNext = &supported };
   vkGetPhysicalDeviceFeatures2(t.phys, &features2);
   if (!supported.bufferDeviceAddress) {
      printf("peek: SKIP: no bufferDeviceAddress on this device\n");
      vkt_fini(&t);
      return 77;
   }
   const VkPhysicalDeviceVulkan12Features enable = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .bufferDeviceAddress = VK_TRUE,
   };
   if (!vkt_init_device(&t, 1, &enable, 0, NULL))
      return 1;
   return holding ? hold(&t, (unsigned)value) : peek(&t, value);
}

/* SPDX-License-Identifier: MIT */
/* Test client: many host-visible allocations held at once.
 *
 *   vk_allocs [--count N] [--size BYTES] [--hold-ms MS]
 *      N allocations (default 4000), each its own VkDeviceMemory of
 *      BYTES (default 16384) in a HOST_VISIBLE|HOST_COHERENT type, mapped,
 *      with a buffer bound to it. The host writes a pattern through every
 *      mapping; one submission fills the first 16 bytes of every buffer
 *      on the device; then every mapping must show the device's fill and
 *      the host's pattern, all distinct (an allocation aliasing another's
 *      pages, or a mapping not showing the memory the device wrote, fails).
 *      Held MS ms (default 0), then freed.
 *   vk_allocs --until-fail MAX [--size BYTES]
 *      Allocates and maps until an allocation or a map fails or MAX are
 *      held; prints "held N allocations" and the result that stopped it.
 *      Then frees one and allocates again: the client carries on.
 *      Through Venus run it with VN_PERF=no_async_mem_alloc, or the
 *      failure cannot reach the client. Exits 0 unless a failure was not
 *      VK_ERROR_OUT_OF_DEVICE_MEMORY / VK_ERROR_OUT_OF_HOST_MEMORY /
 *      VK_ERROR_MEMORY_MAP_FAILED or the client did not carry on.
 *   --device-local: with --until-fail, a DEVICE_LOCAL type the host cannot
 *      see where there is one (a GPU's own memory), not mapped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

struct alloc {
   VkDeviceMemory memory;
   VkBuffer buffer;
   uint32_t *map;
};

static uint32_t
pattern(uint32_t alloc, uint32_t word)
{
   return (alloc * 2654435761u) ^ (word * 40503u) ^ 0x5eed1234u;
}

static uint32_t
fill_value(uint32_t alloc)
{
   return 0xf1000000u | alloc;
}

static bool device_local;

/* One allocation of `size` bytes with a buffer bound, mapped. */
static VkResult
alloc_one(struct vkt *t, VkDeviceSize size, struct alloc *a, const char **what)
{
   memset(a, 0, sizeof(*a));
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
      .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkResult r = vkCreateBuffer(t->device, &bci, NULL, &a->buffer);
   *what = "vkCreateBuffer";
   if (r != VK_SUCCESS)
      return r;
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(t->device, a->buffer, &req);
   int type = -1;
   for (uint32_t i = 0; device_local && i < t->mem_props.memoryTypeCount && type < 0; i++) {
      const VkMemoryPropertyFlags f = t->mem_props.memoryTypes[i].propertyFlags;
      if ((req.memoryTypeBits & (1u << i)) && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
          !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
         type = (int)i;
   }
   const bool mapped = type < 0;
   if (type < 0)
      type = vkt_memory_type(t, req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
   *what = "no host-visible coherent memory type";
   if (type < 0)
      return VK_ERROR_FEATURE_NOT_PRESENT;
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type,
   };
   *what = "vkAllocateMemory";
   if ((r = vkAllocateMemory(t->device, &mai, NULL, &a->memory)) != VK_SUCCESS)
      return r;
   *what = "vkBindBufferMemory";
   if ((r = vkBindBufferMemory(t->device, a->buffer, a->memory, 0)) != VK_SUCCESS)
      return r;
   *what = "vkMapMemory";
   return mapped ? vkMapMemory(t->device, a->memory, 0, VK_WHOLE_SIZE, 0, (void **)&a->map) : VK_SUCCESS;
}

static void
free_one(struct vkt *t, struct alloc *a)
{
   if (a->buffer)
      vkDestroyBuffer(t->device, a->buffer, NULL);
   if (a->memory)
      vkFreeMemory(t->device, a->memory, NULL);
   memset(a, 0, sizeof(*a));
}

static void
hold(struct vkt *t, uint32_t count, VkDeviceSize size, unsigned hold_ms)
{
   struct alloc *allocs = calloc(count, sizeof(*allocs));
   const uint32_t words = (uint32_t)(size / 4);
   const char *what = "";
   double t0 = vkt_now_ms();
   uint32_t n = 0;
   for (; n < count; n++) {
      VkResult r = alloc_one(t, size, &allocs[n], &what);
      if (r != VK_SUCCESS) {
         vkt_error(t, "allocation %u of %u: %s: %s", n + 1, count, what, vkt_result(r));
         break;
      }
      for (uint32_t w = 4; w < words; w++)
         allocs[n].map[w] = pattern(n, w);
   }
   if (n == count)
      vkt_ok(t, "%u host-visible allocations of %llu bytes allocated, mapped and written in %.0f ms", count,
             (unsigned long long)size, vkt_now_ms() - t0);

   /* The device writes the head of every allocation, in one submission. */
   VkCommandPool pool = VK_NULL_HANDLE;
   VkCommandBuffer cmd = VK_NULL_HANDLE;
   VkFence fence = VK_NULL_HANDLE;
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = t->families[0],
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   if (n == count && vkt_check(t, vkCreateCommandPool(t->device, &pci, NULL, &pool), "vkCreateCommandPool") &&
       vkt_check(t, vkCreateFence(t->device, &fci, NULL, &fence), "vkCreateFence")) {
      const VkCommandBufferAllocateInfo cai = {
         .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
      };
      const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
      const VkMemoryBarrier to_host = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
      };
      vkAllocateCommandBuffers(t->device, &cai, &cmd);
      vkBeginCommandBuffer(cmd, &bi);
      for (uint32_t i = 0; i < count; i++)
         vkCmdFillBuffer(cmd, allocs[i].buffer, 0, 16, fill_value(i));
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0,
                           NULL, 0, NULL);
      vkEndCommandBuffer(cmd);
      VkResult r = vkt_submit_wait(t, cmd, fence, &what);
      if (r != VK_SUCCESS)
         vkt_error(t, "fill of %u buffers: %s: %s", count, what, vkt_result(r));
   }
   if (n == count && !t->failures) {
      uint32_t bad = 0, first_bad = 0;
      for (uint32_t i = 0; i < count; i++) {
         bool ok = true;
         for (uint32_t w = 0; w < 4; w++)
            ok &= allocs[i].map[w] == fill_value(i);
         for (uint32_t w = 4; w < words; w++)
            ok &= allocs[i].map[w] == pattern(i, w);
         if (!ok && bad++ == 0)
            first_bad = i;
      }
      if (bad)
         vkt_error(t, "%u of %u allocations read back wrong (first: %u, word 0 0x%08x, want 0x%08x)", bad, count,
                   first_bad, allocs[first_bad].map[0], fill_value(first_bad));
      else
         vkt_ok(t, "all %u allocations read back the device's fill and the host's pattern", count);
   }
   if (hold_ms)
      vkt_sleep_ms(hold_ms);
   if (fence)
      vkDestroyFence(t->device, fence, NULL);
   if (pool)
      vkDestroyCommandPool(t->device, pool, NULL);
   t0 = vkt_now_ms();
   for (uint32_t i = 0; i < count; i++)
      free_one(t, &allocs[i]);
   printf("info: freed in %.0f ms\n", vkt_now_ms() - t0);
   free(allocs);
}

static bool
refusal_ok(VkResult r)
{
   return r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_MEMORY_MAP_FAILED;
}

static void
until_fail(struct vkt *t, uint32_t max, VkDeviceSize size)
{
   struct alloc *allocs = calloc(max + 1, sizeof(*allocs));
   const char *what = "";
   VkResult r = VK_SUCCESS;
   uint32_t n = 0;
   for (; n < max; n++) {
      if ((r = alloc_one(t, size, &allocs[n], &what)) != VK_SUCCESS) {
         free_one(t, &allocs[n]);
         break;
      }
      if (allocs[n].map)
         allocs[n].map[0] = pattern(n, 0);
   }
   if (n == max) {
      printf("info: held %u allocations of %llu bytes (the most asked for)\n", n, (unsigned long long)size);
   } else {
      printf("info: held %u allocations of %llu bytes; the next failed at %s: %s\n", n, (unsigned long long)size,
             what, vkt_result(r));
      if (refusal_ok(r))
         vkt_ok(t, "allocation %u refused with %s", n + 1, vkt_result(r));
      else
         vkt_error(t, "allocation %u: %s: %s (want an out-of-memory result)", n + 1, what, vkt_result(r));
      /* One freed makes room for one more. */
      if (n > 0) {
         free_one(t, &allocs[n - 1]);
         r = alloc_one(t, size, &allocs[n - 1], &what);
         if (r == VK_SUCCESS) {
            if (allocs[n - 1].map)
               allocs[n - 1].map[0] = pattern(n - 1, 0);
            vkt_ok(t, "after freeing one, another allocation succeeds");
         } else {
            vkt_error(t, "after freeing one: %s: %s", what, vkt_result(r));
         }
      }
   }
   uint32_t bad = 0;
   for (uint32_t i = 0; i < n; i++)
      bad += allocs[i].map && allocs[i].map[0] != pattern(i, 0);
   if (bad)
      vkt_error(t, "%u of %u mappings lost what was written", bad, n);
   for (uint32_t i = 0; i < n; i++)
      free_one(t, &allocs[i]);
   free(allocs);
}

int
main(int argc, char **argv)
{
   setvbuf(stdout, NULL, _IOLBF, 0);
   uint32_t count = 4000, max = 0;
   unsigned long long size = 16384;
   unsigned hold_ms = 0;
   for (int i = 1; i < argc; i++) {
      if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
         count = (uint32_t)strtoul(argv[++i], NULL, 0);
      else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
         size = strtoull(argv[++i], NULL, 0);
      else if (strcmp(argv[i], "--hold-ms") == 0 && i + 1 < argc)
         hold_ms = (unsigned)strtoul(argv[++i], NULL, 0);
      else if (strcmp(argv[i], "--device-local") == 0)
         device_local = true;
      else if (strcmp(argv[i], "--until-fail") == 0 && i + 1 < argc)
         max = (uint32_t)strtoul(argv[++i], NULL, 0);
      else {
         fprintf(stderr, "usage: vk_allocs [--count N] [--size BYTES] [--hold-ms MS] | --until-fail MAX [--size BYTES] "
                         "[--device-local]\n");
         return 2;
      }
   }
   if (size < 64 || size % 4 || count == 0 || (device_local && !max)) {
      fprintf(stderr, "vk_allocs: --size must be a multiple of 4, at least 64; --count at least 1; --device-local "
                      "only with --until-fail\n");
      return 2;
   }
   struct vkt t;
   if (!vkt_init(&t, 1, NULL)) {
      vkt_fini(&t);
      return 1;
   }
   printf("info: device %s\n", t.props.deviceName);
   if (max)
      until_fail(&t, max, size);
   else
      hold(&t, count, size, hold_ms);
   int failures = t.failures;
   vkt_fini(&t);
   printf("%s: %d error(s)\n", failures ? "FAILED" : "PASSED", failures);
   return failures ? 1 : 0;
}

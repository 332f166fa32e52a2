/* SPDX-License-Identifier: MIT */
/* A hostile Vulkan client: valid-looking calls with arguments that break
 * valid usage in ways that would let it reach memory that is not its own.
 * Through the server it must be dropped (or refused with a VkResult) and
 * never take the server or another client down.
 *
 *   vk_hostile MODE
 *
 * bind-out-of-range  vkBindBufferMemory at 1 GiB into a 64 KiB allocation,
 *                    then fill and copy through the buffer
 * fill-out-of-range  vkCmdFillBuffer at dstOffset 4 GiB into a 4 KiB buffer
 * copy-whole-size    vkCmdCopyBuffer of VK_WHOLE_SIZE bytes (no size for a copy)
 * dispatch-no-pipeline  vkCmdDispatch with no compute pipeline bound
 * copy-out-of-range  vkCmdCopyBuffer reading 1 MiB from 1 GiB into a 4 KiB
 *                    buffer
 * unbound-buffer     vkCmdFillBuffer on a buffer never bound to memory
 * barrier-out-of-range  vkCmdPipelineBarrier on mip levels [7, +3) of a
 *                    1-level image (drivers index per-subresource state)
 * huge-queue-count   vkCreateDevice asking for 65536 queues of family 0
 * huge-query-pool    vkCreateQueryPool of 2^27 occlusion queries (a driver
 *                    that keeps a pointer per query allocates 1 GiB), then
 *                    vkGetQueryPoolResults of the first: PASSED when the
 *                    pool was made (the results not ready), FAILED when the
 *                    host could not make it (the worker's memory bound)
 * device-flood       vkCreateDevice in a loop (32 devices at most) until
 *                    refused, which must be VK_ERROR_TOO_MANY_OBJECTS (the
 *                    server's limit devices), and again once more; then one
 *                    destroyed, one made again and its queue used
 * protected-queue    the client's first vkCreateDevice asks for a protected
 *                    queue (VK_DEVICE_QUEUE_CREATE_PROTECTED_BIT) without
 *                    the protectedMemory feature: a host driver may take
 *                    it, and a worker warming up from that device found no
 *                    queue and crashed, again and again
 * descriptor-write-out-of-range  vkUpdateDescriptorSets writing array
 *                    element 1000 of a binding of one storage buffer
 * descriptor-copy-out-of-range  a descriptor copy reading 64 elements from
 *                    element 1000 of a binding of one storage buffer
 * viewport-first     vkCmdSetViewport at firstViewport = maxViewports
 * scissor-first      vkCmdSetScissor at firstScissor = maxViewports
 * vertex-binding-first  vkCmdBindVertexBuffers at firstBinding =
 *                    maxVertexInputBindings
 * push-constants-outside  vkCmdPushConstants of 4 bytes at offset 64 with
 *                    a layout that has no push constant range
 * descriptor-set-first  vkCmdBindDescriptorSets at firstSet 8 of a layout
 *                    of one set
 *                    (drivers keep these in fixed arrays: each writes past
 *                    one in the server's heap unless refused)
 * truncate-memory    maps host-visible memory, then ftruncate(fd, 0) on
 *                    every server shared-memory fd it holds (the blob of
 *                    that memory among them), then fills a buffer in it on
 *                    the GPU: the seals refuse the truncation (PASSED), or
 *                    where memory cannot be sealed (-Dos=posix) the server
 *                    drops this client alone
 * heap-overcommit    vkAllocateMemory of a quarter of the heap, 8 times
 *                    (run with VN_PERF=no_async_mem_alloc): must fail with
 *                    VK_ERROR_OUT_OF_DEVICE_MEMORY before the sum passes
 *                    the heap; then a small compute round trip still works
 *
 *
 * Lifetimes: each records work naming an object, destroys or
 * frees that object, then submits; the submit must run (the server keeps
 * the host object until the command buffer lets go) and end PASSED:
 * destroy-buffer-after-record, free-memory-after-record (8 MiB),
 * destroy-event-after-record, destroy-query-pool-after-record,
 * destroy-image-view-after-record (render pass clearing through a view of
 * an image, all destroyed), destroy-descriptor-target-after-record (a
 * compute dispatch whose set names buffers destroyed and freed),
 * free-descriptor-set-after-record (the set freed: the submit is refused).
 * uaf-attacker / uaf-victim  two clients synchronised through files in
 *                    $HOSTILE_SYNC_DIR: the attacker records a copy out of
 *                    and a fill into an 8 MiB buffer, frees its memory and
 *                    destroys it; the victim then allocates 8 MiB and
 *                    fills it with its own pattern; the attacker submits.
 *                    Neither may see the other's bytes.
 *
 * Secondary command buffers: host drivers run them recursively.
 * secondary-executes-itself  a secondary records vkCmdExecuteCommands of
 *                    itself, then a primary executing it is submitted
 * secondaries-execute-each-other  two secondaries record each other
 *                    (nestedCommandBuffer enabled where the device has it)
 * nesting-too-deep   a chain of secondaries one level deeper than
 *                    maxCommandBufferNestingLevel (1 where the device has
 *                    no nested command buffers)
 * Each must be dropped with one line.
 * destroy-module-while-compiling  4 threads create compute pipelines from
 *                    one shader module in a loop (Mesa sends each thread's
 *                    on its own ring) while the main thread destroys the
 *                    module (invalid usage): the host never sees the freed
 *                    module; the client is dropped (a pipeline named the
 *                    destroyed module) or, if every create came first,
 *                    ends PASSED.
 *
 * Every mode prints "info: ..." lines as it goes and "sent" once its hostile
 * work is submitted; the out-of-range modes are expected to be dropped by
 * the server (the client then hangs or fails: run it under timeout). Only
 * heap-overcommit, huge-queue-count, huge-query-pool, device-flood and the lifetime modes
 * end with PASSED/FAILED. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_util.h"

#define SECRET 0x41414141u

static VkCommandPool pool;
static VkCommandBuffer cmd;
static VkFence fence;
static VkDescriptorSetLayout one_buffer_set_layout; /* made by one_buffer_set */

static bool
setup_cmd(struct vkt *t)
{
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = t->families[0],
   };
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   if (!vkt_check(t, vkCreateCommandPool(t->device, &pci, NULL, &pool), "vkCreateCommandPool") ||
       !vkt_check(t, vkCreateFence(t->device, &fci, NULL, &fence), "vkCreateFence"))
      return false;
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
   };
   const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   return vkt_check(t, vkAllocateCommandBuffers(t->device, &cai, &cmd), "vkAllocateCommandBuffers") &&
          vkt_check(t, vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
}

static void
submit(struct vkt *t)
{
   const char *what = "";
   vkEndCommandBuffer(cmd);
   printf("sent\n");
   VkResult r = vkt_submit_wait(t, cmd, fence, &what);
   printf("info: submit and wait: %s (%s)\n", vkt_result(r), what);
}

static VkBuffer
make_buffer(struct vkt *t, VkDeviceSize size)
{
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
               VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkBuffer b = VK_NULL_HANDLE;
   vkt_check(t, vkCreateBuffer(t->device, &bci, NULL, &b), "vkCreateBuffer");
   return b;
}

static VkDeviceMemory
make_memory(struct vkt *t, VkDeviceSize size)
{
   int type = vkt_memory_type(t, ~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = size,
      .memoryTypeIndex = type < 0 ? 0 : (uint32_t)type,
   };
   VkDeviceMemory m = VK_NULL_HANDLE;
   vkt_check(t, vkAllocateMemory(t->device, &mai, NULL, &m), "vkAllocateMemory");
   return m;
}

/* A properly bound 4 KiB buffer, for the other end of copies. */
static VkBuffer
good_buffer(struct vkt *t)
{
   VkBuffer b = make_buffer(t, 4096);
   VkDeviceMemory m = make_memory(t, 65536);
   vkBindBufferMemory(t->device, b, m, 0);
   return b;
}

static int
bind_out_of_range(struct vkt *t)
{
   VkBuffer b = make_buffer(t, 65536);
   VkBuffer dst = good_buffer(t);
   VkDeviceMemory m = make_memory(t, 65536);
   VkResult r = vkBindBufferMemory(t->device, b, m, 1ull << 30);
   printf("info: vkBindBufferMemory at 1 GiB into 64 KiB: %s\n", vkt_result(r));
   if (!setup_cmd(t))
      return 1;
   vkCmdCopyBuffer(cmd, b, dst, 1, &(VkBufferCopy){ 0, 0, 4096 });
   vkCmdFillBuffer(cmd, b, 0, VK_WHOLE_SIZE, SECRET);
   submit(t);
   return 0;
}

static int
fill_out_of_range(struct vkt *t)
{
   VkBuffer b = good_buffer(t);
   if (!setup_cmd(t))
      return 1;
   vkCmdFillBuffer(cmd, b, 4ull << 30, 4096, SECRET);
   submit(t);
   return 0;
}

static int
copy_out_of_range(struct vkt *t)
{
   VkBuffer src = good_buffer(t), dst = good_buffer(t);
   if (!setup_cmd(t))
      return 1;
   vkCmdCopyBuffer(cmd, src, dst, 1, &(VkBufferCopy){ 1ull << 30, 0, 1u << 20 });
   submit(t);
   return 0;
}

/* VK_WHOLE_SIZE is no size for a copy: 2^64-1 bytes from offset 0 (found
 * by fuzz_semantics: lavapipe memcpy'd -1 bytes). */
static int
copy_whole_size(struct vkt *t)
{
   VkBuffer src = good_buffer(t), dst = good_buffer(t);
   if (!setup_cmd(t))
      return 1;
   vkCmdCopyBuffer(cmd, src, dst, 1, &(VkBufferCopy){ 0, 0, VK_WHOLE_SIZE });
   submit(t);
   return 0;
}

/* A dispatch with no compute pipeline bound (found by fuzz_semantics:
 * lavapipe dereferenced a NULL pipeline on its queue thread). */
static int
dispatch_no_pipeline(struct vkt *t)
{
   if (!setup_cmd(t))
      return 1;
   vkCmdDispatch(cmd, 1, 1, 1);
   submit(t);
   return 0;
}

static int
unbound_buffer(struct vkt *t)
{
   VkBuffer b = make_buffer(t, 1u << 20);
   if (!setup_cmd(t))
      return 1;
   vkCmdFillBuffer(cmd, b, 0, VK_WHOLE_SIZE, SECRET);
   submit(t);
   return 0;
}

static int
barrier_out_of_range(struct vkt *t)
{
   const VkImageCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
      .imageType = VK_IMAGE_TYPE_2D,
      .format = VK_FORMAT_R8G8B8A8_UNORM,
      .extent = { 64, 64, 1 },
      .mipLevels = 1,
      .arrayLayers = 1,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .tiling = VK_IMAGE_TILING_OPTIMAL,
      .usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT,
   };
   VkImage image = VK_NULL_HANDLE;
   if (!vkt_check(t, vkCreateImage(t->device, &ici, NULL, &image), "vkCreateImage"))
      return 1;
   VkMemoryRequirements req;
   vkGetImageMemoryRequirements(t->device, image, &req);
   int type = vkt_memory_type(t, req.memoryTypeBits, 0);
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = type < 0 ? 0 : (uint32_t)type,
   };
   VkDeviceMemory m = VK_NULL_HANDLE;
   if (!vkt_check(t, vkAllocateMemory(t->device, &mai, NULL, &m), "vkAllocateMemory") ||
       !vkt_check(t, vkBindImageMemory(t->device, image, m, 0), "vkBindImageMemory") || !setup_cmd(t))
      return 1;
   const VkImageMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
      .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
      .newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
      .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .image = image,
      .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 7, 3, 0, 1 },
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 0, NULL,
                        1, &barrier);
   submit(t);
   return 0;
}

static int
huge_query_pool(struct vkt *t)
{
   const VkQueryPoolCreateInfo qpci = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_OCCLUSION,
      .queryCount = 1u << 27,
   };
   VkQueryPool queries = VK_NULL_HANDLE;
   printf("sent\n");
   VkResult r = vkCreateQueryPool(t->device, &qpci, NULL, &queries);
   if (r != VK_SUCCESS) {
      vkt_error(t, "vkCreateQueryPool of 2^27 queries: %s", vkt_result(r));
      return 1;
   }
   uint64_t result = 0;
   r = vkGetQueryPoolResults(t->device, queries, 0, 1, sizeof(result), &result, sizeof(result), VK_QUERY_RESULT_64_BIT);
   if (r != VK_NOT_READY && r != VK_SUCCESS) {
      vkt_error(t, "vkGetQueryPoolResults of the pool of 2^27 queries: %s", vkt_result(r));
      return 1;
   }
   vkt_ok(t, "a pool of 2^27 queries was made: vkGetQueryPoolResults: %s", vkt_result(r));
   vkDestroyQueryPool(t->device, queries, NULL);
   return 0;
}

static int
huge_queue_count(struct vkt *t)
{
   const uint32_t count = 65536;
   float *prio = calloc(count, sizeof(float));
   if (!prio)
      return 1;
   const VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = 0,
      .queueCount = count,
      .pQueuePriorities = prio,
   };
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
   };
   VkDevice dev = VK_NULL_HANDLE;
   printf("sent\n");
   VkResult r = vkCreateDevice(t->phys, &dci, NULL, &dev);
   free(prio);
   if (r == VK_SUCCESS) {
      /* Using the device is what would crash a careless server's teardown. */
      vkDestroyDevice(dev, NULL);
      vkt_error(t, "vkCreateDevice with 65536 queues in family 0: VK_SUCCESS");
      return 1;
   }
   vkt_ok(t, "vkCreateDevice with 65536 queues in family 0 refused: %s", vkt_result(r));
   return 0;
}

/* Devices made in a loop, t's own among them; at most this many. */
#define DEVICE_FLOOD_MOST 32

static VkResult
flood_device(struct vkt *t, VkDevice *dev)
{
   const float priority = 1.0f;
   const VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = t->families[0],
      .queueCount = 1,
      .pQueuePriorities = &priority,
   };
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
   };
   return vkCreateDevice(t->phys, &dci, NULL, dev);
}

/* An empty submission with a fence on `dev`'s first queue, waited for. */
static VkResult
fence_round_trip(struct vkt *t, VkDevice dev)
{
   VkQueue queue = VK_NULL_HANDLE;
   VkFence f = VK_NULL_HANDLE;
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   vkGetDeviceQueue(dev, t->families[0], 0, &queue);
   VkResult r = vkCreateFence(dev, &fci, NULL, &f);
   if (r == VK_SUCCESS)
      r = vkQueueSubmit(queue, 0, NULL, f);
   if (r == VK_SUCCESS)
      r = vkWaitForFences(dev, 1, &f, VK_TRUE, 10ull * 1000000000ull);
   vkDestroyFence(dev, f, NULL);
   return r;
}

static int
device_flood(struct vkt *t)
{
   VkDevice devs[DEVICE_FLOOD_MOST];
   uint32_t made = 0;
   VkResult r = VK_SUCCESS;
   printf("sent\n");
   while (made + 1 < DEVICE_FLOOD_MOST && (r = flood_device(t, &devs[made])) == VK_SUCCESS)
      made++;
   if (r == VK_SUCCESS)
      vkt_error(t, "%u devices made, none refused", made + 1);
   else if (r != VK_ERROR_TOO_MANY_OBJECTS)
      vkt_error(t, "vkCreateDevice after %u devices: %s (want VK_ERROR_TOO_MANY_OBJECTS)", made + 1, vkt_result(r));
   else
      vkt_ok(t, "vkCreateDevice refused after %u devices: %s", made + 1, vkt_result(r));
   VkDevice again = VK_NULL_HANDLE;
   if (r == VK_ERROR_TOO_MANY_OBJECTS && (r = flood_device(t, &again)) != VK_ERROR_TOO_MANY_OBJECTS) {
      vkt_error(t, "vkCreateDevice once more: %s (want VK_ERROR_TOO_MANY_OBJECTS)", vkt_result(r));
      if (r == VK_SUCCESS)
         vkDestroyDevice(again, NULL);
   }
   if (!t->failures && made) {
      vkDestroyDevice(devs[--made], NULL);
      r = flood_device(t, &devs[made]);
      if (r == VK_SUCCESS)
         made++;
      VkResult used = r == VK_SUCCESS ? fence_round_trip(t, devs[made - 1]) : r;
      if (used == VK_SUCCESS)
         vkt_ok(t, "one destroyed, a device made again and its queue ran a fence");
      else
         vkt_error(t, "one destroyed, a device made again: %s", vkt_result(used));
   }
   while (made)
      vkDestroyDevice(devs[--made], NULL);
   return 0;
}

/* Run with an instance and no device: this is the client's first. */
static int
protected_queue(struct vkt *t)
{
   const float priority = 1.0f;
   const VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .flags = VK_DEVICE_QUEUE_CREATE_PROTECTED_BIT,
      .queueFamilyIndex = 0,
      .queueCount = 1,
      .pQueuePriorities = &priority,
   };
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
   };
   VkDevice dev = VK_NULL_HANDLE;
   printf("sent\n");
   VkResult r = vkCreateDevice(t->phys, &dci, NULL, &dev);
   if (r == VK_SUCCESS) {
      vkDestroyDevice(dev, NULL);
      vkt_error(t, "vkCreateDevice with a protected queue and no protectedMemory: VK_SUCCESS");
      return 1;
   }
   vkt_ok(t, "vkCreateDevice with a protected queue and no protectedMemory refused: %s", vkt_result(r));
   return 0;
}

static int
heap_overcommit(struct vkt *t)
{
   int type = vkt_memory_type(t, ~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
   if (type < 0)
      type = 0;
   uint32_t heap_index = t->mem_props.memoryTypes[type].heapIndex;
   VkDeviceSize heap = t->mem_props.memoryHeaps[heap_index].size;
   VkDeviceSize chunk = heap / 4 & ~(VkDeviceSize)0xffff;
   VkDeviceMemory mems[8] = { 0 };
   VkDeviceSize total = 0;
   int failed_at = -1;
   printf("info: heap %u: %llu MiB; allocating %llu MiB at a time\n", heap_index,
          (unsigned long long)(heap >> 20), (unsigned long long)(chunk >> 20));
   for (int i = 0; i < 8; i++) {
      const VkMemoryAllocateInfo mai = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
         .allocationSize = chunk,
         .memoryTypeIndex = (uint32_t)type,
      };
      VkResult r = vkAllocateMemory(t->device, &mai, NULL, &mems[i]);
      if (r != VK_SUCCESS) {
         mems[i] = VK_NULL_HANDLE;
         failed_at = i;
         if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY && total + chunk > heap)
            vkt_ok(t, "allocation %d (%llu MiB held) fails with %s", i + 1,
                   (unsigned long long)(total >> 20), vkt_result(r));
         else
            vkt_error(t, "allocation %d (%llu MiB held) fails with %s, want "
                      "VK_ERROR_OUT_OF_DEVICE_MEMORY only once the heap is full", i + 1,
                      (unsigned long long)(total >> 20), vkt_result(r));
         break;
      }
      total += chunk;
   }
   if (failed_at < 0)
      vkt_error(t, "8 allocations of %llu MiB (%llu MiB, heap %llu MiB) all succeeded",
                (unsigned long long)(chunk >> 20), (unsigned long long)(total >> 20),
                (unsigned long long)(heap >> 20));
   for (int i = 0; i < 8; i++) {
      if (mems[i])
         vkFreeMemory(t->device, mems[i], NULL);
   }
   /* Freed memory counts no more: the whole heap's worth again, in one. */
   const VkMemoryAllocateInfo again = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = chunk * 3,
      .memoryTypeIndex = (uint32_t)type,
   };
   VkDeviceMemory m;
   if (vkt_check(t, vkAllocateMemory(t->device, &again, NULL, &m), "after freeing: 3/4 of the heap"))
      vkFreeMemory(t->device, m, NULL);

   /* And the device still computes. */
   struct vkt_buffer src = { 0 }, dst = { 0 };
   struct vkt_scale s = { 0 };
   const char *what = "";
   const uint32_t n = 4096;
   VkResult r = vkt_buffer_create(t, n * 4, &src, &what);
   if (r == VK_SUCCESS)
      r = vkt_buffer_create(t, n * 4, &dst, &what);
   if (r == VK_SUCCESS)
      r = vkt_scale_init(t, &s, &what);
   if (r == VK_SUCCESS) {
      for (uint32_t i = 0; i < n; i++)
         src.map[i] = i;
      r = vkt_scale_run(t, &s, &src, &dst, n, 3, 5, &what);
   }
   if (r != VK_SUCCESS) {
      vkt_error(t, "compute after the over-allocation: %s: %s", what, vkt_result(r));
   } else {
      uint32_t bad = 0;
      for (uint32_t i = 0; i < n; i++)
         bad += dst.map[i] != vkt_scale_expect(i, i, 3, 5);
      if (bad)
         vkt_error(t, "compute after the over-allocation: %u of %u words wrong", bad, n);
      else
         vkt_ok(t, "compute after the over-allocation: %u words right", n);
   }
   vkDeviceWaitIdle(t->device);
   vkt_scale_fini(t, &s);
   vkt_buffer_destroy(t, &src);
   vkt_buffer_destroy(t, &dst);
   return 0;
}

/* One descriptor set of one binding: a single storage buffer. */
static VkDescriptorSet
one_buffer_set(struct vkt *t)
{
   const VkDescriptorSetLayoutBinding binding = {
      .binding = 0,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
   };
   const VkDescriptorSetLayoutCreateInfo lci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = 1,
      .pBindings = &binding,
   };
   const VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 };
   const VkDescriptorPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
      .maxSets = 2,
      .poolSizeCount = 1,
      .pPoolSizes = &size,
   };
   VkDescriptorSetLayout *layout = &one_buffer_set_layout;
   static VkDescriptorPool dpool;
   if (!*layout && (!vkt_check(t, vkCreateDescriptorSetLayout(t->device, &lci, NULL, layout),
                              "vkCreateDescriptorSetLayout") ||
                   !vkt_check(t, vkCreateDescriptorPool(t->device, &pci, NULL, &dpool), "vkCreateDescriptorPool")))
      return VK_NULL_HANDLE;
   const VkDescriptorSetAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = dpool,
      .descriptorSetCount = 1,
      .pSetLayouts = layout,
   };
   VkDescriptorSet set = VK_NULL_HANDLE;
   vkt_check(t, vkAllocateDescriptorSets(t->device, &ai, &set), "vkAllocateDescriptorSets");
   return set;
}

static int
descriptor_write_out_of_range(struct vkt *t)
{
   VkDescriptorSet set = one_buffer_set(t);
   if (!set)
      return 1;
   const VkDescriptorBufferInfo info = { good_buffer(t), 0, 4096 };
   const VkWriteDescriptorSet write = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set,
      .dstBinding = 0,
      .dstArrayElement = 1000,
      .descriptorCount = 1,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .pBufferInfo = &info,
   };
   printf("sent\n");
   vkUpdateDescriptorSets(t->device, 1, &write, 0, NULL);
   /* The update has no reply: a round trip makes the server read it. */
   vkDeviceWaitIdle(t->device);
   return 0;
}

static int
descriptor_copy_out_of_range(struct vkt *t)
{
   VkDescriptorSet src = one_buffer_set(t), dst = one_buffer_set(t);
   if (!src || !dst)
      return 1;
   const VkCopyDescriptorSet copy = {
      .sType = VK_STRUCTURE_TYPE_COPY_DESCRIPTOR_SET,
      .srcSet = src,
      .srcBinding = 0,
      .srcArrayElement = 1000,
      .dstSet = dst,
      .dstBinding = 0,
      .dstArrayElement = 0,
      .descriptorCount = 64,
   };
   printf("sent\n");
   vkUpdateDescriptorSets(t->device, 0, NULL, 1, &copy);
   vkDeviceWaitIdle(t->device);
   return 0;
}

/* ---- lifetimes ---------------------------------------------------------- */

#define VICTIM 0x5a17c0deu

/* Submits the ended command buffer and waits; PASSED needs the work to
 * have run. (Mesa sends a recording at vkEndCommandBuffer: each mode ends
 * it before destroying, so the server sees record, destroy, submit.) */
static int
submit_expect_success(struct vkt *t, const char *what_mode)
{
   const char *what = "";
   printf("sent\n");
   VkResult r = vkt_submit_wait(t, cmd, fence, &what);
   if (r == VK_SUCCESS)
      vkt_ok(t, "%s: submit after the destroy ran", what_mode);
   else
      vkt_error(t, "%s: submit and wait: %s (%s)", what_mode, vkt_result(r), what);
   return 0;
}

static int
destroy_buffer_after_record(struct vkt *t)
{
   VkBuffer b = make_buffer(t, 1u << 20);
   VkDeviceMemory m = make_memory(t, 1u << 20);
   vkBindBufferMemory(t->device, b, m, 0);
   if (!setup_cmd(t))
      return 1;
   vkCmdFillBuffer(cmd, b, 0, VK_WHOLE_SIZE, SECRET);
   vkEndCommandBuffer(cmd);
   vkDestroyBuffer(t->device, b, NULL);
   return submit_expect_success(t, "vkDestroyBuffer after recording");
}

static int
free_memory_after_record(struct vkt *t)
{
   VkBuffer b = make_buffer(t, 8u << 20);
   VkDeviceMemory m = make_memory(t, 8u << 20);
   vkBindBufferMemory(t->device, b, m, 0);
   if (!setup_cmd(t))
      return 1;
   vkCmdFillBuffer(cmd, b, 0, VK_WHOLE_SIZE, SECRET);
   vkEndCommandBuffer(cmd);
   vkFreeMemory(t->device, m, NULL);
   return submit_expect_success(t, "vkFreeMemory (8 MiB) after recording");
}

static int
destroy_event_after_record(struct vkt *t)
{
   const VkEventCreateInfo eci = { .sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO };
   VkEvent ev;
   if (!vkt_check(t, vkCreateEvent(t->device, &eci, NULL, &ev), "vkCreateEvent") || !setup_cmd(t))
      return 1;
   vkCmdSetEvent(cmd, ev, VK_PIPELINE_STAGE_TRANSFER_BIT);
   vkCmdResetEvent(cmd, ev, VK_PIPELINE_STAGE_TRANSFER_BIT);
   vkEndCommandBuffer(cmd);
   vkDestroyEvent(t->device, ev, NULL);
   return submit_expect_success(t, "vkDestroyEvent after recording");
}

/* Enough queries that the host's pool is a mapping of its own, gone (not
 * recycled) when the pool is destroyed. */
#define QUERIES (1u << 17)

static int
destroy_query_pool_after_record(struct vkt *t)
{
   const VkQueryPoolCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_OCCLUSION,
      .queryCount = QUERIES,
   };
   VkQueryPool qp;
   VkBuffer dst = good_buffer(t);
   if (!vkt_check(t, vkCreateQueryPool(t->device, &qci, NULL, &qp), "vkCreateQueryPool") || !setup_cmd(t))
      return 1;
   vkCmdResetQueryPool(cmd, qp, 0, QUERIES);
   vkCmdBeginQuery(cmd, qp, QUERIES - 1, 0);
   vkCmdEndQuery(cmd, qp, QUERIES - 1);
   vkCmdCopyQueryPoolResults(cmd, qp, QUERIES - 1, 1, dst, 0, 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   vkEndCommandBuffer(cmd);
   vkDestroyQueryPool(t->device, qp, NULL);
   return submit_expect_success(t, "vkDestroyQueryPool after recording");
}

static int
destroy_image_view_after_record(struct vkt *t)
{
   struct vkt_image img;
   const char *what = "";
   if (!vkt_check(t, vkt_image_create(t, VK_FORMAT_R8G8B8A8_UNORM, 256, 256, VK_SAMPLE_COUNT_1_BIT,
                                      VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT, &img, &what), what))
      return 1;
   const VkAttachmentDescription att = {
      .format = VK_FORMAT_R8G8B8A8_UNORM,
      .samples = VK_SAMPLE_COUNT_1_BIT,
      .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
      .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
      .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
      .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
      .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
      .finalLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
   };
   const VkAttachmentReference ref = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
   const VkSubpassDescription sub = {
      .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
      .colorAttachmentCount = 1,
      .pColorAttachments = &ref,
   };
   const VkRenderPassCreateInfo rci = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
      .attachmentCount = 1,
      .pAttachments = &att,
      .subpassCount = 1,
      .pSubpasses = &sub,
   };
   VkRenderPass rp;
   VkFramebuffer fb;
   if (!vkt_check(t, vkCreateRenderPass(t->device, &rci, NULL, &rp), "vkCreateRenderPass"))
      return 1;
   const VkFramebufferCreateInfo fci = {
      .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
      .renderPass = rp,
      .attachmentCount = 1,
      .pAttachments = &img.view,
      .width = 256,
      .height = 256,
      .layers = 1,
   };
   if (!vkt_check(t, vkCreateFramebuffer(t->device, &fci, NULL, &fb), "vkCreateFramebuffer") || !setup_cmd(t))
      return 1;
   const VkClearValue clear = { .color = { .uint32 = { SECRET, SECRET, SECRET, SECRET } } };
   const VkRenderPassBeginInfo rbi = {
      .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
      .renderPass = rp,
      .framebuffer = fb,
      .renderArea = { { 0, 0 }, { 256, 256 } },
      .clearValueCount = 1,
      .pClearValues = &clear,
   };
   vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
   vkCmdEndRenderPass(cmd);
   vkEndCommandBuffer(cmd);
   /* Everything behind the recorded render pass goes. */
   vkDestroyFramebuffer(t->device, fb, NULL);
   vkDestroyRenderPass(t->device, rp, NULL);
   vkt_image_destroy(t, &img);
   return submit_expect_success(t, "vkDestroyImageView, vkDestroyImage, vkFreeMemory after recording");
}

/* Records the scale dispatch over src/dst (as vkt_scale_run) without
 * submitting it. */
static void
record_scale(struct vkt *t, struct vkt_scale *s, const struct vkt_buffer *src, const struct vkt_buffer *dst,
             uint32_t count)
{
   const VkDescriptorBufferInfo infos[2] = {
      { .buffer = src->buffer, .range = VK_WHOLE_SIZE },
      { .buffer = dst->buffer, .range = VK_WHOLE_SIZE },
   };
   const VkWriteDescriptorSet writes[2] = {
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 0,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[0] },
      { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s->set, .dstBinding = 1,
        .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[1] },
   };
   vkUpdateDescriptorSets(t->device, 2, writes, 0, NULL);
   const VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
   const uint32_t pc[3] = { count, 3, 5 };
   vkBeginCommandBuffer(s->cmd, &begin);
   vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->pipeline);
   vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s->layout, 0, 1, &s->set, 0, NULL);
   vkCmdPushConstants(s->cmd, s->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
   vkCmdDispatch(s->cmd, (count + 255) / 256, 1, 1);
   vkEndCommandBuffer(s->cmd);
}

static int
destroy_descriptor_target_after_record(struct vkt *t)
{
   struct vkt_scale s = { 0 };
   struct vkt_buffer src = { 0 }, dst = { 0 };
   const char *what = "";
   const uint32_t n = 1u << 20; /* 4 MiB each */
   if (!vkt_check(t, vkt_scale_init(t, &s, &what), what) || !vkt_check(t, vkt_buffer_create(t, n * 4, &src, &what), what) ||
       !vkt_check(t, vkt_buffer_create(t, n * 4, &dst, &what), what))
      return 1;
   record_scale(t, &s, &src, &dst, n);
   /* The set still names both buffers; the recorded dispatch reads and
    * writes them. */
   vkt_buffer_destroy(t, &src);
   vkt_buffer_destroy(t, &dst);
   printf("sent\n");
   VkResult r = vkt_submit_wait(t, s.cmd, s.fence, &what);
   if (r == VK_SUCCESS)
      vkt_ok(t, "dispatch through a set whose buffers were destroyed and freed: ran");
   else
      vkt_error(t, "dispatch through a set whose buffers were destroyed: %s (%s)", vkt_result(r), what);
   vkt_scale_fini(t, &s);
   return 0;
}

static int
free_descriptor_set_after_record(struct vkt *t)
{
   struct vkt_scale s = { 0 };
   struct vkt_buffer src = { 0 }, dst = { 0 };
   const char *what = "";
   if (!vkt_check(t, vkt_scale_init(t, &s, &what), what) || !vkt_check(t, vkt_buffer_create(t, 4096, &src, &what), what) ||
       !vkt_check(t, vkt_buffer_create(t, 4096, &dst, &what), what))
      return 1;
   record_scale(t, &s, &src, &dst, 1024);
   /* The host frees the set with its pool: the recorded bind is stale. */
   vkDestroyDescriptorPool(t->device, s.pool, NULL);
   s.pool = VK_NULL_HANDLE;
   printf("sent\n");
   VkResult r = vkt_submit_wait(t, s.cmd, s.fence, &what);
   printf("info: submit and wait: %s (%s)\n", vkt_result(r), what);
   return 0;
}

static const char *
sync_dir(void)
{
   const char *dir = getenv("HOSTILE_SYNC_DIR");
   return dir ? dir : ".";
}

static void
sync_post(const char *name)
{
   char path[4096];
   snprintf(path, sizeof(path), "%s/%s", sync_dir(), name);
   FILE *f = fopen(path, "w");
   if (f)
      fclose(f);
}

static bool
sync_wait(const char *name, unsigned timeout_ms)
{
   char path[4096];
   snprintf(path, sizeof(path), "%s/%s", sync_dir(), name);
   for (unsigned waited = 0; waited < timeout_ms; waited += 20) {
      FILE *f = fopen(path, "r");
      if (f) {
         fclose(f);
         return true;
      }
      vkt_sleep_ms(20);
   }
   return false;
}

static int
uaf_attacker(struct vkt *t)
{
   const VkDeviceSize size = 8u << 20;
   VkBuffer b = make_buffer(t, size);
   VkDeviceMemory m = make_memory(t, size);
   struct vkt_buffer loot = { 0 };
   const char *what = "";
   if (!vkt_check(t, vkBindBufferMemory(t->device, b, m, 0), "vkBindBufferMemory") ||
       !vkt_check(t, vkt_buffer_create(t, size, &loot, &what), what) || !setup_cmd(t))
      return 1;
   memset(loot.map, 0, size);
   /* First what the memory holds when the work runs, then our pattern. */
   vkCmdCopyBuffer(cmd, b, loot.buffer, 1, &(VkBufferCopy){ 0, 0, size });
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
      .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0,
                        NULL);
   vkCmdFillBuffer(cmd, b, 0, size, SECRET);
   vkEndCommandBuffer(cmd);
   vkDestroyBuffer(t->device, b, NULL);
   vkFreeMemory(t->device, m, NULL);
   /* A round trip: the server has taken the destroy and the free. */
   vkDeviceWaitIdle(t->device);
   printf("info: recorded, then destroyed the buffer and freed its 8 MiB\n");
   sync_post("freed");
   if (!sync_wait("victim-ready", 30000)) {
      vkt_error(t, "the victim never got ready");
      return 1;
   }
   printf("sent\n");
   VkResult r = vkt_submit_wait(t, cmd, fence, &what);
   printf("info: submit and wait: %s (%s)\n", vkt_result(r), what);
   sync_post("submitted");
   uint32_t seen = 0;
   for (VkDeviceSize i = 0; i < size / 4; i++)
      seen += loot.map[i] == VICTIM;
   if (seen)
      vkt_error(t, "the attacker read %u words of the victim's pattern", seen);
   else
      vkt_ok(t, "the attacker read none of the victim's bytes");
   vkt_buffer_destroy(t, &loot);
   return 0;
}

static int
uaf_victim(struct vkt *t)
{
   const VkDeviceSize size = 8u << 20;
   if (!sync_wait("freed", 30000)) {
      vkt_error(t, "the attacker never freed its memory");
      return 1;
   }
   struct vkt_buffer mine = { 0 };
   const char *what = "";
   if (!vkt_check(t, vkt_buffer_create(t, size, &mine, &what), what))
      return 1;
   for (VkDeviceSize i = 0; i < size / 4; i++)
      mine.map[i] = VICTIM;
   vkDeviceWaitIdle(t->device);
   printf("info: 8 MiB allocated and filled\n");
   sync_post("victim-ready");
   if (!sync_wait("submitted", 30000))
      printf("info: the attacker never reported its submit (dropped?)\n");
   /* Give a late write its chance to land. */
   vkt_sleep_ms(200);
   uint32_t foreign = 0, changed = 0;
   for (VkDeviceSize i = 0; i < size / 4; i++) {
      foreign += mine.map[i] == SECRET;
      changed += mine.map[i] != VICTIM;
   }
   if (foreign || changed)
      vkt_error(t, "the victim's memory changed under it: %u words of the attacker's pattern, %u changed", foreign,
                changed);
   else
      vkt_ok(t, "the victim's 8 MiB kept its own bytes");
   vkt_buffer_destroy(t, &mine);
   return 0;
}

static int
viewport_first(struct vkt *t)
{
   if (!setup_cmd(t))
      return 1;
   const VkViewport vp = { 0, 0, 64, 64, 0, 1 };
   vkCmdSetViewport(cmd, t->props.limits.maxViewports, 1, &vp);
   submit(t);
   return 0;
}

static int
scissor_first(struct vkt *t)
{
   if (!setup_cmd(t))
      return 1;
   const VkRect2D sc = { { 0, 0 }, { 64, 64 } };
   vkCmdSetScissor(cmd, t->props.limits.maxViewports, 1, &sc);
   submit(t);
   return 0;
}

static int
vertex_binding_first(struct vkt *t)
{
   VkBuffer b = good_buffer(t);
   if (!setup_cmd(t))
      return 1;
   const VkDeviceSize offset = 0;
   vkCmdBindVertexBuffers(cmd, t->props.limits.maxVertexInputBindings, 1, &b, &offset);
   submit(t);
   return 0;
}

/* A compute shader that never ends: with a
 * gpu-timeout-ms limit the server loses this client's device, and its
 * unbounded fence wait (reaching the server: VN_PERF=no_fence_feedback,
 * set in main) returns VK_ERROR_DEVICE_LOST. Prints "ok: device lost". */
static int
runaway_shader(struct vkt *t)
{
   struct vkt_scale s;
   struct vkt_buffer src, dst;
   const char *what;
   VkResult r = vkt_spin_init(t, &s, &what);
   if (r == VK_SUCCESS && (r = vkt_buffer_create(t, 4096, &src, &what)) == VK_SUCCESS)
      r = vkt_buffer_create(t, 4096, &dst, &what);
   if (r != VK_SUCCESS) {
      vkt_error(t, "%s: %s", what, vkt_result(r));
      return 1;
   }
   printf("info: dispatching a shader that never ends\n");
   fflush(stdout);
   /* vkt_scale_run's own wait is bounded: it times out, the work runs on. */
   r = vkt_scale_run(t, &s, &src, &dst, 1, 1, 0, &what);
   if (r != VK_TIMEOUT && r != VK_ERROR_DEVICE_LOST) {
      vkt_error(t, "the endless dispatch: %s: %s (want VK_TIMEOUT or VK_ERROR_DEVICE_LOST)", what, vkt_result(r));
      return 1;
   }
   r = vkWaitForFences(t->device, 1, &s.fence, VK_TRUE, UINT64_MAX);
   if (r != VK_ERROR_DEVICE_LOST) {
      vkt_error(t, "unbounded wait on the endless dispatch: %s (want VK_ERROR_DEVICE_LOST)", vkt_result(r));
      return 1;
   }
   vkt_ok(t, "device lost: the unbounded wait returned %s", vkt_result(r));
   _exit(0); /* nothing of a lost device is cleaned up */
}

static VkPipelineLayout
layout_of_one_set(struct vkt *t, VkDescriptorSetLayout set_layout)
{
   const VkPipelineLayoutCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = set_layout ? 1 : 0,
      .pSetLayouts = &set_layout,
   };
   VkPipelineLayout layout = VK_NULL_HANDLE;
   vkt_check(t, vkCreatePipelineLayout(t->device, &ci, NULL, &layout), "vkCreatePipelineLayout");
   return layout;
}

static int
push_constants_outside(struct vkt *t)
{
   VkPipelineLayout layout = layout_of_one_set(t, VK_NULL_HANDLE);
   if (!layout || !setup_cmd(t))
      return 1;
   const uint32_t value = SECRET;
   vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 64, 4, &value);
   submit(t);
   return 0;
}

static VkDescriptorSet one_buffer_set(struct vkt *t);

static int
descriptor_set_first(struct vkt *t)
{
   VkDescriptorSet set = one_buffer_set(t);
   VkPipelineLayout layout = set ? layout_of_one_set(t, one_buffer_set_layout) : VK_NULL_HANDLE;
   if (!layout || !setup_cmd(t))
      return 1;
   vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 8, 1, &set, 0, NULL);
   submit(t);
   return 0;
}

/* ftruncate(fd, 0) on every mapping of ours that is the server's shared
 * memory (a memfd or POSIX shm object it named). Mesa closes blob fds once
 * mapped, so each is reopened through /proc/self/map_files (root only).
 * Counts refusals, successes and mappings that could not be reopened. */
static void
truncate_server_maps(unsigned *refused, unsigned *truncated, unsigned *unopened)
{
   FILE *f = fopen("/proc/self/maps", "r");
   char line[512];
   while (f && fgets(line, sizeof(line), f)) {
      if (!strstr(line, "venus-device-memory") && !strstr(line, "venus-shmem") && !strstr(line, "/vs-") &&
          !strstr(line, "venus-server-shm"))
         continue;
      char range[64], path[128];
      if (sscanf(line, "%63s", range) != 1)
         continue;
      snprintf(path, sizeof(path), "/proc/self/map_files/%s", range);
      int fd = open(path, O_RDWR | O_CLOEXEC);
      if (fd < 0) {
         (*unopened)++;
         continue;
      }
      if (ftruncate(fd, 0) == 0)
         (*truncated)++;
      else if (errno == EPERM)
         (*refused)++;
      close(fd);
   }
   if (f)
      fclose(f);
}

static int
truncate_memory(struct vkt *t)
{
   struct vkt_buffer b;
   const char *what = "";
   VkResult r = vkt_buffer_create(t, 1u << 20, &b, &what);
   if (r != VK_SUCCESS) {
      vkt_error(t, "%s: %s", what, vkt_result(r));
      return 1;
   }
   unsigned refused = 0, truncated = 0, unopened = 0;
   truncate_server_maps(&refused, &truncated, &unopened);
   printf("info: ftruncate(fd, 0) on the server's shared memory: %u refused, %u truncated, %u not reopened\n",
          refused, truncated, unopened);
   if (!refused && !truncated) {
      printf("SKIP: no mapping of the server's shared memory could be reopened (not root?)\n");
      return 0;
   }
   if (!setup_cmd(t))
      return 1;
   vkCmdFillBuffer(cmd, b.buffer, 0, VK_WHOLE_SIZE, SECRET);
   submit(t);
   if (truncated)
      return 0; /* the server drops us: what follows cannot work */
   vkt_ok(t, "every truncation refused (sealed); the fill ran: word 0 is 0x%x", b.map[0]);
   if (b.map[0] != SECRET)
      vkt_error(t, "the fill did not land");
   return 0;
}

/* Secondaries of the pool setup_cmd made (which also begins `cmd`, the
 * primary). */
static bool
secondaries(struct vkt *t, uint32_t count, VkCommandBuffer *out)
{
   if (!setup_cmd(t))
      return false;
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = pool,
      .level = VK_COMMAND_BUFFER_LEVEL_SECONDARY,
      .commandBufferCount = count,
   };
   return vkt_check(t, vkAllocateCommandBuffers(t->device, &cai, out), "vkAllocateCommandBuffers");
}

static void
begin_secondary(VkCommandBuffer cb)
{
   const VkCommandBufferInheritanceInfo inh = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO };
   const VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT,
      .pInheritanceInfo = &inh,
   };
   vkBeginCommandBuffer(cb, &bi);
}

static int
secondary_executes_itself(struct vkt *t)
{
   VkCommandBuffer s;
   if (!secondaries(t, 1, &s))
      return 1;
   begin_secondary(s);
   vkCmdExecuteCommands(s, 1, &s);
   vkEndCommandBuffer(s);
   vkCmdExecuteCommands(cmd, 1, &s);
   submit(t);
   return 0;
}

static int
secondaries_execute_each_other(struct vkt *t)
{
   VkCommandBuffer s[2];
   if (!secondaries(t, 2, s))
      return 1;
   begin_secondary(s[1]);
   vkEndCommandBuffer(s[1]);
   begin_secondary(s[0]);
   vkCmdExecuteCommands(s[0], 1, &s[1]);
   vkEndCommandBuffer(s[0]);
   begin_secondary(s[1]);
   vkCmdExecuteCommands(s[1], 1, &s[0]);
   vkEndCommandBuffer(s[1]);
   vkCmdExecuteCommands(cmd, 1, &s[0]);
   submit(t);
   return 0;
}

/* The device's maxCommandBufferNestingLevel (nested_device set it up), 0
 * without nested command buffers. */
static uint32_t nesting_level;

static int
nesting_too_deep(struct vkt *t)
{
   /* s[0] executes none; s[i] executes s[i-1]: s[i] nests i levels, and
    * Vulkan lets a secondary execute one below maxCommandBufferNestingLevel. */
   uint32_t count = (nesting_level ? nesting_level : 1) + 1;
   if (count > 64)
      count = 64;
   VkCommandBuffer s[64];
   if (!secondaries(t, count, s))
      return 1;
   printf("info: maxCommandBufferNestingLevel %u: a chain of %u secondaries\n", nesting_level, count);
   begin_secondary(s[0]);
   vkEndCommandBuffer(s[0]);
   for (uint32_t i = 1; i < count; i++) {
      begin_secondary(s[i]);
      vkCmdExecuteCommands(s[i], 1, &s[i - 1]);
      vkEndCommandBuffer(s[i]);
   }
   vkCmdExecuteCommands(cmd, 1, &s[count - 1]);
   submit(t);
   return 0;
}

#define COMPILE_THREADS 4
#define COMPILES_PER_THREAD 200

struct compile_loop {
   struct vkt *t;
   struct vkt_scale *scale;
   volatile int *started;
   unsigned made;
};

static void *
compile_loop(void *arg)
{
   struct compile_loop *c = arg;
   const VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                 .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = c->scale->module, .pName = "main" },
      .layout = c->scale->layout,
   };
   for (unsigned i = 0; i < COMPILES_PER_THREAD; i++) {
      VkPipeline p;
      __atomic_add_fetch(c->started, 1, __ATOMIC_SEQ_CST);
      if (vkCreateComputePipelines(c->t->device, VK_NULL_HANDLE, 1, &cpci, NULL, &p) != VK_SUCCESS)
         break;
      c->made++;
      vkDestroyPipeline(c->t->device, p, NULL);
   }
   return NULL;
}

static int
destroy_module_while_compiling(struct vkt *t)
{
   struct vkt_scale scale;
   const char *what = "";
   VkResult r = vkt_scale_init(t, &scale, &what);
   if (r != VK_SUCCESS) {
      vkt_error(t, "%s: %s", what, vkt_result(r));
      return 1;
   }
   volatile int started = 0;
   struct compile_loop loops[COMPILE_THREADS];
   pthread_t threads[COMPILE_THREADS];
   for (int i = 0; i < COMPILE_THREADS; i++) {
      loops[i] = (struct compile_loop){ .t = t, .scale = &scale, .started = &started };
      pthread_create(&threads[i], NULL, compile_loop, &loops[i]);
   }
   while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2 * COMPILE_THREADS)
      vkt_sleep_ms(1);
   vkDestroyShaderModule(t->device, scale.module, NULL);
   scale.module = VK_NULL_HANDLE;
   printf("sent\n");
   unsigned made = 0;
   for (int i = 0; i < COMPILE_THREADS; i++) {
      pthread_join(threads[i], NULL);
      made += loops[i].made;
   }
   /* A round trip: the server has seen every create by now. */
   vkDeviceWaitIdle(t->device);
   vkt_ok(t, "%u pipelines created by %d threads, the module destroyed under them", made, COMPILE_THREADS);
   vkt_scale_fini(t, &scale);
   return 0;
}

/* A device with nested command buffers where the physical device has them:
 * nesting_level is then its maxCommandBufferNestingLevel. */
static bool
nested_device(struct vkt *t)
{
   if (!vkt_init_instance(t, VK_API_VERSION_1_2))
      return false;
   if (!vkt_has_device_extension(t, VK_EXT_NESTED_COMMAND_BUFFER_EXTENSION_NAME))
      return vkt_init_device(t, 1, NULL, 0, NULL);
   VkPhysicalDeviceNestedCommandBufferFeaturesEXT have = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_FEATURES_EXT,
   };
   VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &have };
   vkGetPhysicalDeviceFeatures2(t->phys, &f2);
   VkPhysicalDeviceNestedCommandBufferPropertiesEXT props = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_PROPERTIES_EXT,
   };
   VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &props };
   vkGetPhysicalDeviceProperties2(t->phys, &p2);
   if (!have.nestedCommandBuffer)
      return vkt_init_device(t, 1, NULL, 0, NULL);
   nesting_level = props.maxCommandBufferNestingLevel;
   static VkPhysicalDeviceNestedCommandBufferFeaturesEXT want = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_FEATURES_EXT,
      .nestedCommandBuffer = VK_TRUE,
   };
   const char *ext = VK_EXT_NESTED_COMMAND_BUFFER_EXTENSION_NAME;
   return vkt_init_device(t, 1, &want, 1, &ext);
}

int
main(int argc, char **argv)
{
   setvbuf(stdout, NULL, _IOLBF, 0);
   static const struct {
      const char *name;
      int (*run)(struct vkt *t);
   } modes[] = {
      { "bind-out-of-range", bind_out_of_range }, { "fill-out-of-range", fill_out_of_range },
      { "copy-out-of-range", copy_out_of_range }, { "copy-whole-size", copy_whole_size },
      { "dispatch-no-pipeline", dispatch_no_pipeline }, { "unbound-buffer", unbound_buffer },
      { "huge-queue-count", huge_queue_count },   { "heap-overcommit", heap_overcommit },
      { "huge-query-pool", huge_query_pool },
      { "device-flood", device_flood },
      { "protected-queue", protected_queue },
      { "barrier-out-of-range", barrier_out_of_range },
      { "descriptor-write-out-of-range", descriptor_write_out_of_range },
      { "descriptor-copy-out-of-range", descriptor_copy_out_of_range },
      { "destroy-buffer-after-record", destroy_buffer_after_record },
      { "free-memory-after-record", free_memory_after_record },
      { "destroy-event-after-record", destroy_event_after_record },
      { "destroy-query-pool-after-record", destroy_query_pool_after_record },
      { "destroy-image-view-after-record", destroy_image_view_after_record },
      { "destroy-descriptor-target-after-record", destroy_descriptor_target_after_record },
      { "free-descriptor-set-after-record", free_descriptor_set_after_record },
      { "uaf-attacker", uaf_attacker }, { "uaf-victim", uaf_victim },
      { "truncate-memory", truncate_memory },
      { "viewport-first", viewport_first },
      { "scissor-first", scissor_first },
      { "vertex-binding-first", vertex_binding_first },
      { "push-constants-outside", push_constants_outside },
      { "descriptor-set-first", descriptor_set_first },
      { "secondary-executes-itself", secondary_executes_itself },
      { "secondaries-execute-each-other", secondaries_execute_each_other },
      { "nesting-too-deep", nesting_too_deep },
      { "destroy-module-while-compiling", destroy_module_while_compiling },
      { "runaway-shader", runaway_shader },
   };
   int m = -1;
   for (size_t i = 0; argc == 2 && i < sizeof(modes) / sizeof(modes[0]); i++) {
      if (strcmp(argv[1], modes[i].name) == 0)
         m = (int)i;
   }
   if (m < 0) {
      fprintf(stderr, "usage: vk_hostile MODE\nmodes:");
      for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
         fprintf(stderr, " %s", modes[i].name);
      fprintf(stderr, "\n");
      return 2;
   }
   /* Mesa copies query results into a buffer of the pool's at submit time
    * (query feedback), a buffer it destroys with the pool: the server would
    * rightly drop the submit naming it. Without feedback the submit names
    * only what the recording did. */
   if (strcmp(modes[m].name, "destroy-query-pool-after-record") == 0)
      setenv("VN_PERF", "no_query_feedback", 1);
   if (strcmp(modes[m].name, "runaway-shader") == 0)
      setenv("VN_PERF", "no_fence_feedback", 1);
   struct vkt t = { 0 };
   bool nested = strcmp(modes[m].name, "secondaries-execute-each-other") == 0 ||
                 strcmp(modes[m].name, "nesting-too-deep") == 0;
   /* The protected queue must be the client's first device. */
   bool instance_only = strcmp(modes[m].name, "protected-queue") == 0;
   if (instance_only ? !vkt_init_instance(&t, VK_API_VERSION_1_2)
                     : nested ? !nested_device(&t) : !vkt_init(&t, 1, NULL)) {
      vkt_fini(&t);
      return 1;
   }
   printf("info: device %s, mode %s\n", t.props.deviceName, modes[m].name);
   int rc = modes[m].run(&t);
   /* The out-of-range modes leave their objects to the server's cleanup. */
   vkt_fini(&t);
   printf("%s: %d error(s)\n", t.failures || rc ? "FAILED" : "PASSED", t.failures);
   return t.failures || rc ? 1 : 0;
}

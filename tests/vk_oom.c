/* SPDX-License-Identifier: MIT */
/* Test client: vkAllocateMemory far beyond the heap must fail cleanly with
 * VK_ERROR_OUT_OF_DEVICE_MEMORY or VK_ERROR_OUT_OF_HOST_MEMORY, and the device
 * must stay usable: a small mapped compute round trip afterwards.
 *
 * Through Venus, run it with VN_PERF=no_async_mem_alloc: otherwise the guest
 * driver returns VK_SUCCESS at once and the failure surfaces only later. */
#include <stdio.h>

#include "vk_util.h"

/* Try a huge allocation from memory type `type`; ok if it fails as it must. */
static void
huge_alloc(struct vkt *t, uint32_t type)
{
   const VkMemoryType *mt = &t->mem_props.memoryTypes[type];
   VkDeviceSize heap = t->mem_props.memoryHeaps[mt->heapIndex].size;
   /* 2^58 bytes: far beyond any heap and beyond even a 57-bit address space,
    * so no driver can back it and no mapping of it can exist (lavapipe
    * accepts sparse sizes far beyond its heap, so heap * 16 is not enough). */
   const VkDeviceSize size = 1ull << 58;
   const VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = type,
   };
   VkDeviceMemory mem = VK_NULL_HANDLE;
   VkResult r = vkAllocateMemory(t->device, &mai, NULL, &mem);
   if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
      vkt_ok(t, "2^58 bytes from memory type %u (flags 0x%x, heap %llu MiB) fails: %s", type, mt->propertyFlags, (unsigned long long)(heap >> 20),
             vkt_result(r));
      return;
   }
   vkt_error(t, "2^58 bytes from memory type %u (heap %llu MiB): got %s, want VK_ERROR_OUT_OF_DEVICE_MEMORY "
             "or VK_ERROR_OUT_OF_HOST_MEMORY", type,
             (unsigned long long)(heap >> 20), vkt_result(r));
   if (r == VK_SUCCESS)
      vkFreeMemory(t->device, mem, NULL);
}

int
main(void)
{
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct vkt t;
   if (!vkt_init(&t, 1, NULL)) {
      vkt_fini(&t);
      return 1;
   }
   printf("info: device %s\n", t.props.deviceName);

   /* The host-visible type (what mapping strategies serve) and, where it is
    * another one, the first device-local type. */
   int hv = vkt_memory_type(&t, ~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
   int dl = vkt_memory_type(&t, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
   if (hv >= 0)
      huge_alloc(&t, (uint32_t)hv);
   if (dl >= 0 && dl != hv)
      huge_alloc(&t, (uint32_t)dl);
   if (hv < 0 && dl < 0)
      huge_alloc(&t, 0);

   /* The same device still works: 1 MiB mapped in and out of a dispatch. */
   struct vkt_buffer src = { 0 }, dst = { 0 };
   struct vkt_scale s = { 0 };
   const char *what = "";
   const uint32_t count = (1u << 20) / sizeof(uint32_t), mul = 7, add = 11;
   VkResult r = vkt_buffer_create(&t, 1u << 20, &src, &what);
   if (r == VK_SUCCESS)
      r = vkt_buffer_create(&t, 1u << 20, &dst, &what);
   if (r == VK_SUCCESS)
      r = vkt_scale_init(&t, &s, &what);
   if (r == VK_SUCCESS) {
      vkt_ok(&t, "after the failure: 1 MiB buffers allocated and mapped, pipeline created");
      for (uint32_t i = 0; i < count; i++) {
         src.map[i] = i * 2654435761u;
         dst.map[i] = 0;
      }
      r = vkt_scale_run(&t, &s, &src, &dst, count, mul, add, &what);
   }
   if (r != VK_SUCCESS) {
      vkt_error(&t, "after the failure: %s: %s", what, vkt_result(r));
   } else {
      uint32_t bad = 0, first = 0;
      for (uint32_t i = 0; i < count; i++)
         if (dst.map[i] != vkt_scale_expect(src.map[i], i, mul, add) && bad++ == 0)
            first = i;
      if (bad)
         vkt_error(&t, "after the failure: dispatch: %u of %u words wrong (first: word %u = 0x%08x, want 0x%08x)",
                   bad, count, first, dst.map[first], vkt_scale_expect(src.map[first], first, mul, add));
      else
         vkt_ok(&t, "after the failure: dispatch over %u words gives the right results", count);
   }

   if (t.device)
      vkDeviceWaitIdle(t.device);
   vkt_scale_fini(&t, &s);
   vkt_buffer_destroy(&t, &src);
   vkt_buffer_destroy(&t, &dst);
   vkt_fini(&t);
   printf("%s: %d error(s)\n", t.failures ? "FAILED" : "PASSED", t.failures);
   return t.failures ? 1 : 0;
}

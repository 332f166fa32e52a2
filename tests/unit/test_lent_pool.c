/* SPDX-License-Identifier: MIT */
/* renderer/memory/lent_pool.c: freed lent memory comes back only to a
 * request it can serve, and only when that request is interchangeable. */
#include "unit.h"
#include "renderer/memory/device_memory.h"
#include "renderer/memory/lent_pool.h"

static struct vs_lent_key
key(uint32_t type, VkDeviceSize size, VkMemoryAllocateFlags flags)
{
   return (struct vs_lent_key){ .type_index = type, .size = size, .flags = flags, .reusable = true };
}

TEST(lent_key_of_chains)
{
   VkMemoryPriorityAllocateInfoEXT priority = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT,
      .priority = 0.5f,
   };
   VkMemoryAllocateFlagsInfo flags = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
      .pNext = &priority,
      .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
   };
   VkMemoryAllocateInfo info = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .pNext = &flags,
      .allocationSize = 1 << 20,
      .memoryTypeIndex = 2,
   };
   struct vs_lent_key k = vs_lent_key_of(&info);
   CHECK(k.reusable);
   CHECK_EQ(k.type_index, 2u);
   CHECK_EQ(k.size, (VkDeviceSize)1 << 20);
   CHECK_EQ(k.flags, (VkMemoryAllocateFlags)VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT);
   /* A dedicated allocation is its resource's alone. */
   VkMemoryDedicatedAllocateInfo dedicated = { .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO };
   priority.pNext = &dedicated;
   CHECK(!vs_lent_key_of(&info).reusable);
}

TEST(lent_pool_matches_type_size_and_flags)
{
   struct vs_lent_pool pool;
   vs_lent_pool_init(&pool);
   struct vs_device_memory a = { .lent = key(2, 65536, 0) };
   struct vs_device_memory b = { .lent = key(2, 131072, VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT) };
   struct vs_device_memory c = { .lent = key(2, 65536, 0) };
   c.lent.reusable = false;
   vs_lent_pool_put(&pool, &a);
   vs_lent_pool_put(&pool, &b);
   vs_lent_pool_put(&pool, &c);
   CHECK_EQ(vs_lent_pool_count(&pool), 3u);

   struct vs_lent_key want = key(3, 65536, 0);
   CHECK(vs_lent_pool_take(&pool, &want) == NULL);          /* another type */
   want = key(2, 131072, 0);
   CHECK(vs_lent_pool_take(&pool, &want) == NULL);          /* other flags */
   want = key(2, 196608, VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT);
   CHECK(vs_lent_pool_take(&pool, &want) == NULL);          /* another size */
   want = key(2, 131072, VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT);
   CHECK(vs_lent_pool_take(&pool, &want) == &b);
   want = key(2, 65536, 0);
   want.reusable = false;
   CHECK(vs_lent_pool_take(&pool, &want) == NULL);          /* a dedicated request */
   want.reusable = true;
   CHECK(vs_lent_pool_take(&pool, &want) == &a);            /* never c, made dedicated */
   CHECK(vs_lent_pool_take(&pool, &want) == NULL);
   /* What is never taken again stays pooled: its device is kept. */
   CHECK_EQ(vs_lent_pool_count(&pool), 1u);
}
UNIT_MAIN(UNIT(lent_key_of_chains), UNIT(lent_pool_matches_type_size_and_flags))

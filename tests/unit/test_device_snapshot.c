/* SPDX-License-Identifier: MIT */
/* renderer/device_snapshot.c: a create info survives flattening and
 * rebuilding, flattening is canonical (equal infos, equal bytes), what is
 * not flattened is said so, and no byte string a worker could leave in the
 * shared slot rebuilds into anything but a well-formed create info. The
 * codec's feature-struct sizes are stubbed. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "renderer/device_snapshot.h"

size_t vn_feature_struct_size(VkStructureType type);
size_t
vn_feature_struct_size(VkStructureType type)
{
   switch ((int)type) {
   case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2:
      return offsetof(VkPhysicalDeviceFeatures2, features) + sizeof(VkPhysicalDeviceFeatures);
   case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
      return offsetof(VkPhysicalDeviceTimelineSemaphoreFeatures, timelineSemaphore) + sizeof(VkBool32);
   default:
      return 0;
   }
}

static const float priorities[2] = { 1.0f, 0.5f };
static const char *const names[2] = { "VK_KHR_swapchain", "VK_EXT_external_memory_host" };

/* A create info with every part the snapshot carries. */
static void
sample(VkDeviceCreateInfo *ci, VkDeviceQueueCreateInfo queues[2], VkPhysicalDeviceFeatures2 *f2,
       VkPhysicalDeviceTimelineSemaphoreFeatures *timeline)
{
   memset(timeline, 0xee, sizeof(*timeline)); /* padding is no one's */
   *timeline = (VkPhysicalDeviceTimelineSemaphoreFeatures){
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES, .timelineSemaphore = VK_TRUE,
   };
   *f2 = (VkPhysicalDeviceFeatures2){ .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = timeline };
   f2->features.samplerAnisotropy = VK_TRUE;
   queues[0] = (VkDeviceQueueCreateInfo){ .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                          .queueFamilyIndex = 0, .queueCount = 2, .pQueuePriorities = priorities };
   queues[1] = (VkDeviceQueueCreateInfo){ .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                          .queueFamilyIndex = 1, .queueCount = 1, .pQueuePriorities = priorities };
   *ci = (VkDeviceCreateInfo){
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = f2,
      .queueCreateInfoCount = 2, .pQueueCreateInfos = queues,
      .enabledExtensionCount = 2, .ppEnabledExtensionNames = names,
   };
}

TEST(round_trip)
{
   VkDeviceCreateInfo ci;
   VkDeviceQueueCreateInfo queues[2];
   VkPhysicalDeviceFeatures2 f2;
   VkPhysicalDeviceTimelineSemaphoreFeatures timeline;
   sample(&ci, queues, &f2, &timeline);
   static struct vs_device_snapshot a, b;
   CHECK(vs_device_snapshot_flatten(&ci, 3, &a));
   struct vs_device_snapshot_info info;
   CHECK(vs_device_snapshot_unflatten(&a, &info));
   CHECK(info.physical_index == 3);
   CHECK(info.ci.queueCreateInfoCount == 2 && info.ci.pQueueCreateInfos[0].queueCount == 2);
   CHECK(info.ci.pQueueCreateInfos[0].pQueuePriorities[1] == 0.5f);
   CHECK(info.ci.pQueueCreateInfos[1].queueFamilyIndex == 1);
   CHECK(info.ci.enabledExtensionCount == 2 && !strcmp(info.ci.ppEnabledExtensionNames[1], names[1]));
   const VkPhysicalDeviceFeatures2 *g2 = info.ci.pNext;
   CHECK(g2 && g2->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 && g2->features.samplerAnisotropy);
   const VkPhysicalDeviceTimelineSemaphoreFeatures *t = g2 ? g2->pNext : NULL;
   CHECK(t && t->timelineSemaphore == VK_TRUE && t->pNext == NULL);
   /* Canonical: the rebuilt info flattens to the same bytes. */
   CHECK(vs_device_snapshot_flatten(&info.ci, 3, &b));
   CHECK(vs_device_snapshot_equal(&a, &b));
   vs_device_snapshot_info_free(&info);
   /* Another index, another feature: not equal. */
   CHECK(vs_device_snapshot_flatten(&ci, 2, &b) && !vs_device_snapshot_equal(&a, &b));
   f2.features.samplerAnisotropy = VK_FALSE;
   CHECK(vs_device_snapshot_flatten(&ci, 3, &b) && !vs_device_snapshot_equal(&a, &b));
}

TEST(not_flattened)
{
   VkDeviceCreateInfo ci;
   VkDeviceQueueCreateInfo queues[2];
   VkPhysicalDeviceFeatures2 f2;
   VkPhysicalDeviceTimelineSemaphoreFeatures timeline;
   static struct vs_device_snapshot s;
   /* A chain struct that is not all features. */
   sample(&ci, queues, &f2, &timeline);
   VkDeviceGroupDeviceCreateInfo group = { .sType = VK_STRUCTURE_TYPE_DEVICE_GROUP_DEVICE_CREATE_INFO };
   timeline.pNext = &group;
   CHECK(!vs_device_snapshot_flatten(&ci, 0, &s));
   /* A queue create info with a chain. */
   sample(&ci, queues, &f2, &timeline);
   queues[1].pNext = &group;
   CHECK(!vs_device_snapshot_flatten(&ci, 0, &s));
   /* Layers. */
   sample(&ci, queues, &f2, &timeline);
   ci.enabledLayerCount = 1;
   CHECK(!vs_device_snapshot_flatten(&ci, 0, &s));
}

/* What a worker could leave in the slot: every truncation, every single
 * byte changed, and a few chosen lies. Each rebuilds into a create info
 * whose counts and pointers agree, or into nothing. */
static void
check_rebuilt(const struct vs_device_snapshot *s)
{
   struct vs_device_snapshot_info info;
   if (!vs_device_snapshot_unflatten(s, &info))
      return;
   const VkDeviceCreateInfo *ci = &info.ci;
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      for (uint32_t j = 0; j < q->queueCount; j++)
         CHECK(q->pQueuePriorities[j] >= 0.0f && q->pQueuePriorities[j] <= 1.0f);
   }
   for (uint32_t i = 0; i < ci->enabledExtensionCount; i++)
      CHECK(strlen(ci->ppEnabledExtensionNames[i]) < VK_MAX_EXTENSION_NAME_SIZE);
   for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext)
      CHECK(vn_feature_struct_size(p->sType) != 0);
   vs_device_snapshot_info_free(&info);
}

TEST(hostile_bytes)
{
   VkDeviceCreateInfo ci;
   VkDeviceQueueCreateInfo queues[2];
   VkPhysicalDeviceFeatures2 f2;
   VkPhysicalDeviceTimelineSemaphoreFeatures timeline;
   sample(&ci, queues, &f2, &timeline);
   static struct vs_device_snapshot good, s;
   CHECK(vs_device_snapshot_flatten(&ci, 0, &good));
   struct vs_device_snapshot_info info;
   for (uint32_t cut = 0; cut < good.size; cut++) {
      s = good;
      s.size = cut;
      CHECK(!vs_device_snapshot_unflatten(&s, &info));
   }
   for (uint32_t at = 0; at < good.size; at++) {
      static const uint8_t values[] = { 0x00, 0x01, 0x02, 0x7f, 0x80, 0xff };
      for (size_t v = 0; v < sizeof(values); v++) {
         s = good;
         s.bytes[at] = values[v];
         check_rebuilt(&s);
      }
   }
   s = good;
   s.size = VS_DEVICE_SNAPSHOT_MAX + 1;
   CHECK(!vs_device_snapshot_unflatten(&s, &info));
   /* A feature that is neither VK_TRUE nor VK_FALSE. */
   f2.features.samplerAnisotropy = 7;
   CHECK(vs_device_snapshot_flatten(&ci, 0, &s));
   CHECK(!vs_device_snapshot_unflatten(&s, &info));
}

TEST(slot)
{
   struct vs_device_snapshot_slot *slot = vs_device_snapshot_slot_create();
   CHECK(slot);
   if (!slot)
      return;
   static struct vs_device_snapshot a, b;
   CHECK(!vs_device_snapshot_read(slot, 1, &b));
   VkDeviceCreateInfo ci;
   VkDeviceQueueCreateInfo queues[2];
   VkPhysicalDeviceFeatures2 f2;
   VkPhysicalDeviceTimelineSemaphoreFeatures timeline;
   sample(&ci, queues, &f2, &timeline);
   CHECK(vs_device_snapshot_flatten(&ci, 1, &a));
   vs_device_snapshot_publish(slot, 1, &a);
   CHECK(vs_device_snapshot_read(slot, 1, &b) && vs_device_snapshot_equal(&a, &b));
   /* Each physical device keeps its own; one dropped leaves the others. */
   CHECK(!vs_device_snapshot_read(slot, 0, &b));
   vs_device_snapshot_publish(slot, 0, &a);
   vs_device_snapshot_drop(slot, 0);
   CHECK(!vs_device_snapshot_read(slot, 0, &b));
   CHECK(vs_device_snapshot_read(slot, 1, &b));
   CHECK(!vs_device_snapshot_read(slot, VS_DEVICE_SNAPSHOT_GPUS, &b));
   vs_device_snapshot_drop(slot, -1);
   CHECK(!vs_device_snapshot_read(slot, 1, &b));
   vs_device_snapshot_slot_destroy(slot);
}

UNIT_MAIN(UNIT(round_trip), UNIT(not_flattened), UNIT(hostile_bytes), UNIT(slot))

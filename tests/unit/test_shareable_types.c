/* SPDX-License-Identifier: MIT */
/* renderer/memory/shareable_types.c: which host-visible memory types the guest is
 * told of without host access, on NVIDIA's layout: type 0 device-local,
 * 1 device-local too, 2 host-visible coherent, 3 host-visible coherent
 * cached (both importable as host pointers), 4 the BAR
 * (DEVICE_LOCAL|HOST_VISIBLE|HOST_COHERENT, not importable). */
#include <string.h>

#include "renderer/memory/shareable_types.h"
#include "unit.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CA VK_MEMORY_PROPERTY_HOST_CACHED_BIT

static VkPhysicalDeviceMemoryProperties
nvidia_props(void)
{
   VkPhysicalDeviceMemoryProperties p;
   memset(&p, 0, sizeof(p));
   p.memoryTypeCount = 5;
   p.memoryTypes[0] = (VkMemoryType){ 0, 1 };
   p.memoryTypes[1] = (VkMemoryType){ DL, 0 };
   p.memoryTypes[2] = (VkMemoryType){ HV | HC, 1 };
   p.memoryTypes[3] = (VkMemoryType){ HV | HC | CA, 1 };
   p.memoryTypes[4] = (VkMemoryType){ DL | HV | HC, 2 };
   p.memoryHeapCount = 3;
   return p;
}

static struct vs_memory_caps
probed(enum vs_memory_strategy forced, uint32_t host_pointer_types, bool dmabuf, bool opaque_fd)
{
   struct vs_memory_caps c;
   memset(&c, 0, sizeof(c));
   c.forced = forced;
   c.host_pointer = host_pointer_types != 0;
   c.host_pointer_types = host_pointer_types;
   c.dmabuf = dmabuf;
   c.opaque_fd = opaque_fd;
   return c;
}

static uint32_t kept;

static uint32_t
unshareable(const VkPhysicalDeviceMemoryProperties *p, const struct vs_memory_caps *c, uint32_t test_types)
{
   return vs_memory_unshareable_types(p, c, test_types, &kept);
}

TEST(host_visible_types_are_the_mask)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   CHECK_EQ(vs_memory_host_visible_types(&p), 0x1cu);
}

TEST(auto_hides_what_neither_imports_nor_exports_serve)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   struct vs_memory_caps c = probed(VS_MEMORY_AUTO, 0xc, false, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0x10u);
   CHECK_EQ(kept, 0u);
   /* Everything importable: nothing hidden. */
   c = probed(VS_MEMORY_AUTO, 0x1c, false, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
}

TEST(auto_keeps_types_whose_driver_mappings_are_lent)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   struct vs_memory_caps c = probed(VS_MEMORY_AUTO, 0xc, false, false);
   c.lent_types = 0x10;
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
   /* The test-only mask still hides a lent type. */
   CHECK_EQ(unshareable(&p, &c, 0x10), 0x10u);
}

TEST(auto_with_a_working_export_hides_nothing)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   struct vs_memory_caps c = probed(VS_MEMORY_AUTO, 0xc, true, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
   c = probed(VS_MEMORY_AUTO, 0xc, false, true);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
}

TEST(forced_strategies_hide_only_what_they_cannot_serve)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   /* host-pointer cannot serve type 4 even where exports would work. */
   struct vs_memory_caps c = probed(VS_MEMORY_HOST_POINTER, 0xc, true, true);
   CHECK_EQ(unshareable(&p, &c, 0), 0x10u);
   /* A forced export serves every type (or the device is refused). */
   c = probed(VS_MEMORY_DMABUF, 0xc, true, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
   c = probed(VS_MEMORY_OPAQUE_FD, 0xc, false, true);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
}

TEST(test_types_are_hidden_when_host_visible)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   struct vs_memory_caps c = probed(VS_MEMORY_AUTO, 0x1c, false, false);
   /* Type 1 is not host-visible: nothing to hide there. */
   CHECK_EQ(unshareable(&p, &c, 0x12), 0x10u);
   CHECK_EQ(unshareable(&p, &c, 0x8), 0x8u);
}

TEST(a_host_visible_coherent_type_always_stays)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   /* Nothing shareable at all: hiding every coherent type would leave the
    * guest none (Vulkan requires one), so none is hidden. */
   struct vs_memory_caps c = probed(VS_MEMORY_AUTO, 0, false, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0u);
   CHECK_EQ(kept, 0x1cu);
   c = probed(VS_MEMORY_AUTO, 0x1c, false, false);
   CHECK_EQ(unshareable(&p, &c, 0x1c), 0u);
   CHECK_EQ(kept, 0x1cu);
   /* lavapipe: one type, device-local and host-visible coherent cached. */
   VkPhysicalDeviceMemoryProperties lvp;
   memset(&lvp, 0, sizeof(lvp));
   lvp.memoryTypeCount = 1;
   lvp.memoryTypes[0] = (VkMemoryType){ DL | HV | HC | CA, 0 };
   c = probed(VS_MEMORY_AUTO, 0x1, false, false);
   CHECK_EQ(unshareable(&lvp, &c, 0x1), 0u);
   CHECK_EQ(kept, 0x1u);
   /* A non-coherent host-visible type may go when a coherent one stays. */
   p.memoryTypes[3].propertyFlags = HV | CA;
   c = probed(VS_MEMORY_AUTO, 0x4, false, false);
   CHECK_EQ(unshareable(&p, &c, 0), 0x18u);
   CHECK_EQ(kept, 0u);
}

TEST(hiding_removes_only_the_host_flags)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   vs_memory_hide_host_access(&p, 0x18);
   CHECK_EQ(p.memoryTypes[4].propertyFlags, (VkMemoryPropertyFlags)DL);
   CHECK_EQ(p.memoryTypes[4].heapIndex, 2u);
   CHECK_EQ(p.memoryTypes[3].propertyFlags, (VkMemoryPropertyFlags)0);
   CHECK_EQ(p.memoryTypes[2].propertyFlags, (VkMemoryPropertyFlags)(HV | HC));
   CHECK_EQ(p.memoryTypeCount, 5u);
   /* Bits past memoryTypeCount name nothing. */
   vs_memory_hide_host_access(&p, 0xffffffe0u);
   CHECK_EQ(p.memoryTypes[2].propertyFlags, (VkMemoryPropertyFlags)(HV | HC));
}

/* The H100's modifier row: a LINEAR image kept off imports was offered
 * 0x13 (types 0, 1 and the hidden BAR), no type the guest may map. */
TEST(guest_coherent_types_leave_out_the_hidden)
{
   VkPhysicalDeviceMemoryProperties p = nvidia_props();
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0x10, 0x13), 0u);
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0x10, 0x1f), 0x0cu);
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0x10, 0x0c), 0x0cu);
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0, 0x13), 0x10u);
   /* Not coherent: never counted. */
   p.memoryTypes[3].propertyFlags = HV | CA;
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0x10, 0x1f), 0x04u);
   /* Bits past memoryTypeCount name nothing. */
   CHECK_EQ(vs_memory_guest_coherent_types(&p, 0, 0xffffffe0u), 0u);
}

UNIT_MAIN(UNIT(host_visible_types_are_the_mask), UNIT(auto_hides_what_neither_imports_nor_exports_serve),
          UNIT(auto_with_a_working_export_hides_nothing), UNIT(auto_keeps_types_whose_driver_mappings_are_lent), UNIT(forced_strategies_hide_only_what_they_cannot_serve),
          UNIT(test_types_are_hidden_when_host_visible), UNIT(a_host_visible_coherent_type_always_stays),
          UNIT(guest_coherent_types_leave_out_the_hidden),
          UNIT(hiding_removes_only_the_host_flags))

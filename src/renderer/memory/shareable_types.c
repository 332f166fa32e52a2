/* SPDX-License-Identifier: MIT */
/* The host-visible memory types the guest is told of (shareable_types.h). */
#include "renderer/memory/shareable_types.h"

uint32_t
vs_memory_host_visible_types(const VkPhysicalDeviceMemoryProperties *props)
{
   uint32_t bits = 0;
   for (uint32_t i = 0; i < props->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      if (props->memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
         bits |= 1u << i;
   }
   return bits;
}

/* Whether `caps` shares host-visible memory of any type by exporting it. */
static bool
exports_work(const struct vs_memory_caps *caps)
{
   switch (caps->forced) {
   case VS_MEMORY_AUTO:
      return caps->dmabuf || caps->opaque_fd;
   case VS_MEMORY_DMABUF:
   case VS_MEMORY_OPAQUE_FD:
      /* Forced: every type is exported (or the device is refused). */
      return true;
   case VS_MEMORY_HOST_POINTER:
   case VS_MEMORY_DRIVER_MAPPING: /* never forced */
      return false;
   }
   return false;
}

uint32_t
vs_memory_unshareable_types(const VkPhysicalDeviceMemoryProperties *props, const struct vs_memory_caps *caps,
                            uint32_t test_types, uint32_t *kept)
{
   *kept = 0;
   const uint32_t visible = vs_memory_host_visible_types(props);
   uint32_t hidden = test_types & visible;
   if (!exports_work(caps))
      hidden |= visible & ~caps->host_pointer_types & ~caps->lent_types;
   const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   for (uint32_t i = 0; i < props->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      if ((props->memoryTypes[i].propertyFlags & coherent) == coherent && !(hidden & (1u << i)))
         return hidden;
   }
   *kept = hidden;
   return 0;
}

uint32_t
vs_memory_guest_coherent_types(const VkPhysicalDeviceMemoryProperties *props, uint32_t unshareable, uint32_t types)
{
   const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   uint32_t bits = 0;
   for (uint32_t i = 0; i < props->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      if ((props->memoryTypes[i].propertyFlags & coherent) == coherent)
         bits |= 1u << i;
   }
   return bits & types & ~unshareable;
}

void
vs_memory_hide_host_access(VkPhysicalDeviceMemoryProperties *props, uint32_t types)
{
   for (uint32_t i = 0; i < props->memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
      if (types & (1u << i))
         props->memoryTypes[i].propertyFlags &= ~(VkMemoryPropertyFlags)VS_MEMORY_HOST_ACCESS_FLAGS;
   }
}

/* Declaring the host-pointer handle type on guest buffers and images (see
 * import_types.h). */
#include "memory/import_types.h"

#include "dispatch/objects.h"
#include "util/chain.h"
#include "vn_vk.h"

static VkPhysicalDevice
physical_of(const struct vs_device *dev)
{
   return (VkPhysicalDevice)(uintptr_t)dev->physical->handle;
}

VkExternalMemoryHandleTypeFlags
vs_memory_buffer_import_types(const struct vs_device *dev, const VkBufferCreateInfo *ci)
{
   if (!dev->mem.host_pointer || !dev->physical->it->GetPhysicalDeviceExternalBufferProperties)
      return 0;
   const VkPhysicalDeviceExternalBufferInfo info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
      .flags = ci->flags,
      .usage = ci->usage,
      .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
   };
   VkExternalBufferProperties props = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES };
   dev->physical->it->GetPhysicalDeviceExternalBufferProperties(physical_of(dev), &info, &props);
   return props.externalMemoryProperties.externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT
             ? VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT
             : 0;
}

VkExternalMemoryHandleTypeFlags
vs_memory_image_import_types(const struct vs_device *dev, const VkImageCreateInfo *ci)
{
   if (!dev->mem.host_pointer || !dev->physical->it->GetPhysicalDeviceImageFormatProperties2)
      return 0;
   const VkPhysicalDeviceExternalImageFormatInfo external = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO,
      .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
   };
   const VkPhysicalDeviceImageFormatInfo2 info = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
      .pNext = &external,
      .format = ci->format,
      .type = ci->imageType,
      .tiling = ci->tiling,
      .usage = ci->usage,
      .flags = ci->flags,
   };
   VkExternalImageFormatProperties external_props = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES };
   VkImageFormatProperties2 props = { .sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2, .pNext = &external_props };
   if (dev->physical->it->GetPhysicalDeviceImageFormatProperties2(physical_of(dev), &info, &props) != VK_SUCCESS)
      return 0;
   return external_props.externalMemoryProperties.externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT
             ? VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT
             : 0;
}

void
vs_memory_declare_import_types(void *create_info, VkStructureType stype, VkExternalMemoryHandleTypeFlags types,
                               VkExternalMemoryImageCreateInfo *storage)
{
   if (!types)
      return;
   /* VkExternalMemoryImageCreateInfo and VkExternalMemoryBufferCreateInfo
    * have the same layout. */
   VkExternalMemoryImageCreateInfo *ext = vs_chain_find(create_info, stype);
   if (ext) {
      ext->handleTypes |= types;
      return;
   }
   VkBaseOutStructure *head = create_info;
   *storage = (VkExternalMemoryImageCreateInfo){ .sType = stype, .pNext = head->pNext, .handleTypes = types };
   head->pNext = (VkBaseOutStructure *)storage;
}

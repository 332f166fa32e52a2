/* SPDX-License-Identifier: MIT */
/* Declaring the host-pointer handle type on guest buffers and images (see
 * import_types.h). */
#include "renderer/memory/import_types.h"

#include "renderer/memory/shareable_types.h"
#include "renderer/renderer_state.h"
#include "base/chain.h"
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

static uint32_t
image_memory_types(const struct vs_device *dev, const VkImageCreateInfo *ci)
{
   const VkDeviceImageMemoryRequirements info = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_MEMORY_REQUIREMENTS,
      .pCreateInfo = ci,
      .planeAspect = VK_IMAGE_ASPECT_COLOR_BIT,
   };
   VkMemoryRequirements2 req = { .sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2 };
   dev->dt.GetDeviceImageMemoryRequirements(dev->host, &info, &req);
   return req.memoryRequirements.memoryTypeBits;
}

/* Whether to declare the host-pointer handle type on an image. Yes where
 * the declaration leaves it every memory type it has without: a driver
 * may confine such an image to the importable types (NVIDIA does for
 * HOST_TRANSFER images, leaving none), and the guest's device-local memory
 * must stay usable. Without the declaration the image is kept off imported
 * memory instead (vs_memory_image_unimported_types); on NVIDIA what
 * remains is device-local memory and the BAR type, which the guest is told
 * lacks host access (renderer/memory/shareable_types.h).
 *
 * Except for a linear image: Vulkan promises it a HOST_VISIBLE|
 * HOST_COHERENT type ("mappable coherent memory can always be attached"),
 * and a guest maps such images (a LINEAR DRM-modifier image it writes).
 * Where keeping it off imports would leave it no type the guest may map
 * (NVIDIA: 0x13 of types 0-4, the H100's modifier row) and the declaration
 * keeps one, it is declared, at the cost of its device-local types. */
static bool
declaration_wanted(const struct vs_device *dev, const VkImageCreateInfo *ci)
{
   /* vkGetDeviceImageMemoryRequirements is core in 1.3: the device's
    * version is the lower of its instance's and its physical device's. */
   const struct vs_instance *inst = vs_instance_from(vs_object_ancestor(dev->physical, VK_OBJECT_TYPE_INSTANCE));
   uint32_t version = vs_physical_device_from(dev->physical)->props.apiVersion;
   if (inst->api_version < version)
      version = inst->api_version;
   if (version < VK_API_VERSION_1_3 || !dev->dt.GetDeviceImageMemoryRequirements ||
       (ci->flags & VK_IMAGE_CREATE_DISJOINT_BIT))
      return true;
   uint32_t plain = image_memory_types(dev, ci);
   VkExternalMemoryImageCreateInfo *ext = vs_chain_find((void *)ci, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO);
   VkExternalMemoryImageCreateInfo added = {
      .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
      .pNext = ci->pNext,
      .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
   };
   VkImageCreateInfo declared = *ci;
   uint32_t with;
   if (ext) {
      VkExternalMemoryHandleTypeFlags had = ext->handleTypes;
      ext->handleTypes |= VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
      with = image_memory_types(dev, ci);
      ext->handleTypes = had;
   } else {
      declared.pNext = &added;
      with = image_memory_types(dev, &declared);
   }
   if ((with & plain) == plain)
      return true;
   if (ci->tiling != VK_IMAGE_TILING_LINEAR)
      return false;
   const VkPhysicalDeviceMemoryProperties *props = &dev->mem.props;
   uint32_t hidden = vs_physical_device_from(dev->physical)->unshareable_types;
   return !vs_memory_guest_coherent_types(props, hidden, vs_memory_image_unimported_types(dev, plain)) &&
          vs_memory_guest_coherent_types(props, hidden, with & dev->mem.host_pointer_types);
}

uint32_t
vs_memory_image_unimported_types(const struct vs_device *dev, uint32_t memory_types)
{
   uint32_t kept = memory_types & ~dev->mem.host_pointer_types;
   return kept ? kept : memory_types;
}

VkExternalMemoryHandleTypeFlags
vs_memory_image_import_types(const struct vs_device *dev, const VkImageCreateInfo *ci, bool *kept_off_imports)
{
   *kept_off_imports = false;
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
   if (!(external_props.externalMemoryProperties.externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT))
      return 0;
   if (declaration_wanted(dev, ci))
      return VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
   *kept_off_imports = true;
   return 0;
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

VkExternalMemoryHandleTypeFlags
vs_memory_undeclare_import_types(void *create_info, VkStructureType stype)
{
   VkExternalMemoryImageCreateInfo *ext = vs_chain_find(create_info, stype);
   if (!ext || !(ext->handleTypes & VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT))
      return 0;
   ext->handleTypes &= ~(VkExternalMemoryHandleTypeFlags)VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
   return VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
}

void
vs_memory_redeclare_import_types(void *create_info, VkStructureType stype, VkExternalMemoryHandleTypeFlags taken)
{
   VkExternalMemoryImageCreateInfo *ext = taken ? vs_chain_find(create_info, stype) : NULL;
   if (ext)
      ext->handleTypes |= taken;
}

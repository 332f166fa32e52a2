/* SPDX-License-Identifier: MIT */
/* VK_EXT_image_drm_format_modifier with one modifier, DRM_FORMAT_MOD_LINEAR:
 * an image with that modifier is a linear image on the host, one memory
 * plane, laid out as the host lays out linear images. That is what the
 * guest's WSI needs to share images with a window system through blobs. */
#include "renderer/caps/caps.h"
#include "base/chain.h"

/* From the kernel's drm_fourcc.h: linear layout, no vendor tiling. */
#define DRM_FORMAT_MOD_LINEAR 0ull

VkResult
vs_caps_image_info_to_host(VkImageCreateInfo *ci, const VkSubresourceLayout **explicit_layout)
{
   *explicit_layout = NULL;
   vs_caps_strip_external_memory(ci, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO);
   /* Both structs are ignored unless the tiling names a modifier. */
   struct vs_chain_cut list = vs_chain_cut(ci, VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_LIST_CREATE_INFO_EXT);
   struct vs_chain_cut expl = vs_chain_cut(ci, VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT);
   if (ci->tiling != VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
      return VK_SUCCESS;
   if (list.s) {
      const VkImageDrmFormatModifierListCreateInfoEXT *l = (const void *)list.s;
      bool has_linear = false;
      for (uint32_t i = 0; l->pDrmFormatModifiers && i < l->drmFormatModifierCount; i++)
         has_linear |= l->pDrmFormatModifiers[i] == DRM_FORMAT_MOD_LINEAR;
      if (!has_linear)
         return VK_ERROR_FORMAT_NOT_SUPPORTED;
   } else if (expl.s) {
      const VkImageDrmFormatModifierExplicitCreateInfoEXT *e = (const void *)expl.s;
      if (e->drmFormatModifier != DRM_FORMAT_MOD_LINEAR || e->drmFormatModifierPlaneCount != 1 ||
          !e->pPlaneLayouts)
         return VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
      *explicit_layout = &e->pPlaneLayouts[0];
   } else {
      return VK_ERROR_FORMAT_NOT_SUPPORTED;
   }
   ci->tiling = VK_IMAGE_TILING_LINEAR;
   return VK_SUCCESS;
}

VkResult
vs_caps_image_format_info_to_host(VkPhysicalDeviceImageFormatInfo2 *info, bool *external)
{
   *external = false;
   struct vs_chain_cut ext = vs_chain_cut(info, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO);
   if (ext.s) {
      VkExternalMemoryHandleTypeFlagBits type = ((const VkPhysicalDeviceExternalImageFormatInfo *)ext.s)->handleType;
      if (type && !(type & VS_CAPS_MEMORY_HANDLE_TYPES))
         return VK_ERROR_FORMAT_NOT_SUPPORTED;
      *external = type != 0;
   }
   struct vs_chain_cut mod = vs_chain_cut(info, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_DRM_FORMAT_MODIFIER_INFO_EXT);
   if (info->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT) {
      if (!mod.s || ((const VkPhysicalDeviceImageDrmFormatModifierInfoEXT *)mod.s)->drmFormatModifier !=
                       DRM_FORMAT_MOD_LINEAR)
         return VK_ERROR_FORMAT_NOT_SUPPORTED;
      info->tiling = VK_IMAGE_TILING_LINEAR;
   }
   return VK_SUCCESS;
}

void
vs_caps_fill_image_format(VkImageFormatProperties2 *props, bool external)
{
   VkExternalImageFormatProperties *ext = vs_chain_find(props, VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES);
   if (!ext)
      return;
   if (external)
      vs_caps_external_memory_properties(VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
                                         &ext->externalMemoryProperties);
   else
      ext->externalMemoryProperties = (VkExternalMemoryProperties){ 0 };
}

/* Output arrays follow the usual count rule: with no array the count is
 * what is available, else it is what was written. */
#define FILL_MODIFIER_LIST(list, props_type, linear_features)                                     \
   do {                                                                                           \
      uint32_t available_ = (linear_features) ? 1 : 0;                                           \
      if (!(list)->pDrmFormatModifierProperties || (list)->drmFormatModifierCount > available_) \
         (list)->drmFormatModifierCount = available_;                                           \
      if ((list)->pDrmFormatModifierProperties && (list)->drmFormatModifierCount)               \
         (list)->pDrmFormatModifierProperties[0] = (props_type){                               \
            .drmFormatModifier = DRM_FORMAT_MOD_LINEAR,                                          \
            .drmFormatModifierPlaneCount = 1,                                                    \
            .drmFormatModifierTilingFeatures = (linear_features),                                \
         };                                                                                      \
   } while (0)

void
vs_caps_fill_modifier_list(VkDrmFormatModifierPropertiesListEXT *list, VkFormatFeatureFlags linear_features)
{
   FILL_MODIFIER_LIST(list, VkDrmFormatModifierPropertiesEXT, linear_features);
}

void
vs_caps_fill_modifier_list2(VkDrmFormatModifierPropertiesList2EXT *list, VkFormatFeatureFlags2 linear_features)
{
   FILL_MODIFIER_LIST(list, VkDrmFormatModifierProperties2EXT, linear_features);
}

VkImageAspectFlags
vs_caps_aspect_to_host(VkImageAspectFlags aspect)
{
   if (aspect == VK_IMAGE_ASPECT_MEMORY_PLANE_0_BIT_EXT)
      return VK_IMAGE_ASPECT_COLOR_BIT;
   return aspect;
}

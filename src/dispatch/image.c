/* Images: creation and the queries that take a create info or an aspect,
 * where DRM-modifier tiling (linear only, see caps/caps.h) becomes the
 * host's linear tiling.
 *
 * Except for color attachments on hosts that cannot render to linear
 * images reliably (struct vs_device.modifier_color_optimal: NVIDIA's
 * driver loses the device, and leaves the GPU hung for every process, when
 * a LINEAR color attachment is rendered with a depth attachment, which
 * every guest WSI image of a 3D application is). Such an image is created
 * OPTIMAL on the host instead. The linear layout stays what the guest is
 * told (vkGetImageSubresourceLayout answers with the layout a linear twin
 * has on the host, kept in the image object's data), and the guest cannot
 * see the difference because it cannot map such an image: its memory
 * types are only those that are not host-visible. */
#include <stdlib.h>

#include "caps/caps.h"
#include "dispatch/dispatch.h"
#include "dispatch/instance.h"
#include "util/log.h"
#include "venus/context_state.h"
#include "vn_wire.h"

/* An explicit layout must be the host's own: the server cannot choose
 * where a linear image's rows go. */
static bool
layout_matches(struct vn_args_vkCreateImage *a, const VkSubresourceLayout *want)
{
   const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
   VkSubresourceLayout have;
   a->device_obj->dt->GetImageSubresourceLayout(a->device, *a->pImage, &sub, &have);
   return have.offset == want->offset && have.rowPitch == want->rowPitch &&
          (a->pCreateInfo->arrayLayers == 1 || have.arrayPitch == want->arrayPitch) &&
          (a->pCreateInfo->extent.depth == 1 || have.depthPitch == want->depthPitch);
}

/* The memory types that are not host-visible, or 0 if the device has none. */
static uint32_t
unmappable_types(const struct vs_device *dev)
{
   uint32_t bits = 0;
   for (uint32_t i = 0; i < dev->mem.props.memoryTypeCount; i++) {
      if (!(dev->mem.props.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
         bits |= 1u << i;
   }
   return bits;
}

/* Whether an image the guest creates with `ci` (before vs_caps_image_info_to_host)
 * becomes an OPTIMAL host image; see the top of this file. */
static bool
modifier_color_optimal(const struct vs_device *dev, const VkImageCreateInfo *ci)
{
   return dev->modifier_color_optimal && ci->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT &&
          (ci->usage & VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT) && unmappable_types(dev);
}

/* The layout of plane 0 of a linear host image made with `ci` (its tiling
 * already the host's LINEAR). */
static VkResult
linear_twin_layout(const struct vs_device *dev, const VkImageCreateInfo *ci, VkSubresourceLayout *out)
{
   VkImage twin;
   VkResult r = dev->dt.CreateImage(dev->host, ci, NULL, &twin);
   if (r != VK_SUCCESS)
      return r;
   const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
   dev->dt.GetImageSubresourceLayout(dev->host, twin, &sub, out);
   dev->dt.DestroyImage(dev->host, twin, NULL);
   return VK_SUCCESS;
}

static bool
same_layout(const VkImageCreateInfo *ci, const VkSubresourceLayout *have, const VkSubresourceLayout *want)
{
   return have->offset == want->offset && have->rowPitch == want->rowPitch &&
          (ci->arrayLayers == 1 || have->arrayPitch == want->arrayPitch) &&
          (ci->extent.depth == 1 || have->depthPitch == want->depthPitch);
}

void
vs_exec_vkCreateImage(struct vs_dispatch *disp, struct vn_args_vkCreateImage *a)
{
   if (!a->pCreateInfo) {
      vs_dispatch_fail(disp, "vkCreateImage: no create info");
      return;
   }
   VkImageCreateInfo *ci = (VkImageCreateInfo *)a->pCreateInfo;
   const struct vs_device *dev = a->device_obj->data;
   const bool optimal = modifier_color_optimal(dev, ci);
   const VkSubresourceLayout *explicit_layout;
   a->ret = vs_caps_image_info_to_host(ci, &explicit_layout);
   if (a->ret != VK_SUCCESS) {
      vs_warn(disp->ctx->id, "vkCreateImage %llu: DRM format modifier not supported: %s",
              (unsigned long long)a->pImage_id, vn_result_name(a->ret));
      return;
   }
   if (optimal) {
      VkSubresourceLayout *linear = calloc(1, sizeof(*linear));
      if (!linear) {
         a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
         return;
      }
      a->ret = linear_twin_layout(dev, ci, linear);
      if (a->ret == VK_SUCCESS && explicit_layout && !same_layout(ci, linear, explicit_layout))
         a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
      if (a->ret != VK_SUCCESS) {
         free(linear);
         return;
      }
      ci->tiling = VK_IMAGE_TILING_OPTIMAL;
      vn_default_vkCreateImage(disp, a);
      struct vs_object *obj = a->ret == VK_SUCCESS && !vs_dispatch_failed(disp)
                                 ? vs_object_lookup(&disp->ctx->objects, a->pImage_id, VK_OBJECT_TYPE_IMAGE)
                                 : NULL;
      if (!obj) {
         free(linear);
         return;
      }
      obj->data = linear;
      obj->flags |= VS_OBJECT_MODIFIER_AS_OPTIMAL;
      vs_debug(disp->ctx->id, "image %llu: LINEAR-modifier color attachment created OPTIMAL on the host "
               "(row pitch %llu for the guest)", (unsigned long long)a->pImage_id,
               (unsigned long long)linear->rowPitch);
      return;
   }
   vn_default_vkCreateImage(disp, a);
   if (a->ret != VK_SUCCESS || !explicit_layout || vs_dispatch_failed(disp) || layout_matches(a, explicit_layout))
      return;
   vs_warn(disp->ctx->id, "vkCreateImage %llu: explicit layout differs from the host's linear layout: %s",
           (unsigned long long)a->pImage_id, vn_result_name(VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT));
   struct vs_object *obj = vs_object_lookup(&disp->ctx->objects, a->pImage_id, VK_OBJECT_TYPE_IMAGE);
   if (obj)
      vs_dispatch_remove_object(disp, obj);
   a->device_obj->dt->DestroyImage(a->device, *a->pImage, NULL);
   a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
}

void
vs_exec_vkDestroyImage(struct vs_dispatch *disp, struct vn_args_vkDestroyImage *a)
{
   if (a->image_obj) {
      free(a->image_obj->data);
      a->image_obj->data = NULL;
   }
   vn_default_vkDestroyImage(disp, a);
}

/* An image created OPTIMAL for a LINEAR modifier may only be bound to
 * memory the guest cannot map. */
static void
restrict_memory_types(const struct vs_device *dev, VkMemoryRequirements *req)
{
   req->memoryTypeBits &= unmappable_types(dev);
}

void
vs_exec_vkGetImageMemoryRequirements(struct vs_dispatch *disp, struct vn_args_vkGetImageMemoryRequirements *a)
{
   vn_default_vkGetImageMemoryRequirements(disp, a);
   if (a->image_obj && (a->image_obj->flags & VS_OBJECT_MODIFIER_AS_OPTIMAL) && a->pMemoryRequirements)
      restrict_memory_types(a->device_obj->data, a->pMemoryRequirements);
}

void
vs_exec_vkGetImageMemoryRequirements2(struct vs_dispatch *disp, struct vn_args_vkGetImageMemoryRequirements2 *a)
{
   vn_default_vkGetImageMemoryRequirements2(disp, a);
   if (!a->pInfo || !a->pMemoryRequirements || vs_dispatch_failed(disp))
      return;
   struct vs_object *obj =
      vs_object_find_handle(&disp->ctx->objects, VK_OBJECT_TYPE_IMAGE, (uint64_t)a->pInfo->image);
   if (obj && (obj->flags & VS_OBJECT_MODIFIER_AS_OPTIMAL))
      restrict_memory_types(a->device_obj->data, &a->pMemoryRequirements->memoryRequirements);
}

/* For the vkGetDeviceImage* queries: false if the create info cannot be
 * honoured, in which case there is nothing to report. *optimal: the image
 * would be created OPTIMAL for a LINEAR modifier (its create info now says
 * so). */
static bool
device_image_info_to_host(const struct vs_device *dev, const VkDeviceImageMemoryRequirements *info, bool *optimal)
{
   *optimal = false;
   if (!info || !info->pCreateInfo)
      return false;
   const VkSubresourceLayout *explicit_layout;
   VkImageCreateInfo *ci = (VkImageCreateInfo *)info->pCreateInfo;
   ((VkDeviceImageMemoryRequirements *)info)->planeAspect = vs_caps_aspect_to_host(info->planeAspect);
   *optimal = modifier_color_optimal(dev, ci);
   if (vs_caps_image_info_to_host(ci, &explicit_layout) != VK_SUCCESS)
      return false;
   if (*optimal)
      ci->tiling = VK_IMAGE_TILING_OPTIMAL;
   return true;
}

void
vs_exec_vkGetDeviceImageMemoryRequirements(struct vs_dispatch *disp,
                                           struct vn_args_vkGetDeviceImageMemoryRequirements *a)
{
   if (!a->pMemoryRequirements) {
      vs_dispatch_fail(disp, "vkGetDeviceImageMemoryRequirements: no output");
      return;
   }
   bool optimal;
   if (device_image_info_to_host(a->device_obj->data, a->pInfo, &optimal)) {
      vn_default_vkGetDeviceImageMemoryRequirements(disp, a);
      if (optimal)
         restrict_memory_types(a->device_obj->data, &a->pMemoryRequirements->memoryRequirements);
   } else {
      a->pMemoryRequirements->memoryRequirements = (VkMemoryRequirements){ 0 };
   }
}

void
vs_exec_vkGetDeviceImageSparseMemoryRequirements(struct vs_dispatch *disp,
                                                 struct vn_args_vkGetDeviceImageSparseMemoryRequirements *a)
{
   if (!a->pSparseMemoryRequirementCount) {
      vs_dispatch_fail(disp, "vkGetDeviceImageSparseMemoryRequirements: no count");
      return;
   }
   bool optimal;
   if (device_image_info_to_host(a->device_obj->data, a->pInfo, &optimal))
      vn_default_vkGetDeviceImageSparseMemoryRequirements(disp, a);
   else
      *a->pSparseMemoryRequirementCount = 0;
}

/* The linear layout the guest is told for an image created OPTIMAL for a
 * LINEAR modifier (one plane; layers at the twin's array pitch). */
static void
twin_layout(const struct vs_object *image_obj, const VkImageSubresource *sub, VkSubresourceLayout *out)
{
   const VkSubresourceLayout *linear = image_obj->data;
   *out = (VkSubresourceLayout){ 0 };
   if (!linear || sub->mipLevel != 0)
      return;
   *out = *linear;
   out->offset += (VkDeviceSize)sub->arrayLayer * linear->arrayPitch;
}

void
vs_exec_vkGetImageSubresourceLayout(struct vs_dispatch *disp, struct vn_args_vkGetImageSubresourceLayout *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_dispatch_fail(disp, "vkGetImageSubresourceLayout: no subresource or output");
      return;
   }
   VkImageSubresource *sub = (VkImageSubresource *)a->pSubresource;
   sub->aspectMask = vs_caps_aspect_to_host(sub->aspectMask);
   if (a->image_obj && (a->image_obj->flags & VS_OBJECT_MODIFIER_AS_OPTIMAL)) {
      twin_layout(a->image_obj, sub, a->pLayout);
      return;
   }
   vn_default_vkGetImageSubresourceLayout(disp, a);
}

void
vs_exec_vkGetImageSubresourceLayout2(struct vs_dispatch *disp, struct vn_args_vkGetImageSubresourceLayout2 *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_dispatch_fail(disp, "vkGetImageSubresourceLayout2: no subresource or output");
      return;
   }
   VkImageSubresource2 *sub = (VkImageSubresource2 *)a->pSubresource;
   sub->imageSubresource.aspectMask = vs_caps_aspect_to_host(sub->imageSubresource.aspectMask);
   if (a->image_obj && (a->image_obj->flags & VS_OBJECT_MODIFIER_AS_OPTIMAL)) {
      twin_layout(a->image_obj, &sub->imageSubresource, &a->pLayout->subresourceLayout);
      return;
   }
   vn_default_vkGetImageSubresourceLayout2(disp, a);
}

void
vs_exec_vkGetImageDrmFormatModifierPropertiesEXT(struct vs_dispatch *disp,
                                                 struct vn_args_vkGetImageDrmFormatModifierPropertiesEXT *a)
{
   if (!a->pProperties) {
      vs_dispatch_fail(disp, "vkGetImageDrmFormatModifierPropertiesEXT: no output");
      return;
   }
   /* Every modifier image is linear. */
   a->pProperties->drmFormatModifier = 0;
   a->ret = VK_SUCCESS;
}

void
vs_exec_vkGetDeviceImageSubresourceLayout(struct vs_dispatch *disp,
                                          struct vn_args_vkGetDeviceImageSubresourceLayout *a)
{
   const VkDeviceImageSubresourceInfo *info = a->pInfo;
   if (!info || !info->pCreateInfo || !info->pSubresource || !a->pLayout) {
      vs_dispatch_fail(disp, "vkGetDeviceImageSubresourceLayout: no create info, subresource or output");
      return;
   }
   const VkSubresourceLayout *explicit_layout;
   if (vs_caps_image_info_to_host((VkImageCreateInfo *)info->pCreateInfo, &explicit_layout) != VK_SUCCESS) {
      a->pLayout->subresourceLayout = (VkSubresourceLayout){ 0 };
      return;
   }
   VkImageSubresource2 *sub = (VkImageSubresource2 *)info->pSubresource;
   sub->imageSubresource.aspectMask = vs_caps_aspect_to_host(sub->imageSubresource.aspectMask);
   vn_default_vkGetDeviceImageSubresourceLayout(disp, a);
}

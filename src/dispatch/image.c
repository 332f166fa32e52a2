/* Images: creation and the queries that take a create info or an aspect,
 * where DRM-modifier tiling (linear only, see caps/caps.h) becomes the
 * host's linear tiling. */
#include <stdlib.h>

#include "dispatch/families.h"
#include "caps/caps.h"
#include "dispatch/objects.h"
#include "dispatch/validate.h"
#include "util/chain.h"
#include "util/log.h"
#include "venus/dispatch.h"
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

static void
vs_exec_vkCreateImage(struct vs_dispatch *disp, struct vn_args_vkCreateImage *a)
{
   if (!a->pCreateInfo) {
      vs_dispatch_fail(disp, "vkCreateImage: no create info");
      return;
   }
   const VkSubresourceLayout *explicit_layout;
   a->ret = vs_caps_image_info_to_host((VkImageCreateInfo *)a->pCreateInfo, &explicit_layout);
   if (a->ret != VK_SUCCESS) {
      vs_warn(disp->ctx_id, "vkCreateImage %llu: DRM format modifier not supported: %s",
              (unsigned long long)a->pImage_id, vn_result_name(a->ret));
      return;
   }
   struct vs_image *image = calloc(1, sizeof(*image));
   if (!image) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   vn_default_vkCreateImage(disp, a);
   struct vs_object *obj = a->ret == VK_SUCCESS && !vs_dispatch_failed(disp)
                              ? vs_object_lookup(disp->objects, a->pImage_id, VK_OBJECT_TYPE_IMAGE)
                              : NULL;
   if (!obj) {
      free(image);
      return;
   }
   const VkImageCreateInfo *ci = a->pCreateInfo;
   *image = (struct vs_image){
      .format = ci->format,
      .extent = ci->extent,
      .mip_levels = ci->mipLevels,
      .array_layers = ci->arrayLayers,
      .type = ci->imageType,
      .tiling = ci->tiling,
      .usage = ci->usage,
      .sparse = (ci->flags & VK_IMAGE_CREATE_SPARSE_BINDING_BIT) != 0,
   };
   obj->data = image;
   obj->data_free = free;
   if (!explicit_layout || layout_matches(a, explicit_layout))
      return;
   vs_warn(disp->ctx_id, "vkCreateImage %llu: explicit layout differs from the host's linear layout: %s",
           (unsigned long long)a->pImage_id, vn_result_name(VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT));
   vs_dispatch_remove_object(disp, obj);
   a->device_obj->dt->DestroyImage(a->device, *a->pImage, NULL);
   a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
}

/* Records what backs an image once the host accepted the binding. */
static void
image_bound(struct vs_object *device_obj, struct vs_object *image_obj, struct vs_object *memory_obj,
            VkDeviceSize offset)
{
   struct vs_image *image = image_obj ? vs_image_from(image_obj) : NULL;
   if (!image || !memory_obj)
      return;
   image->memory_id = memory_obj->id;
   image->memory_offset = offset;
   if (image->tiling == VK_IMAGE_TILING_LINEAR) {
      const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
      device_obj->dt->GetImageSubresourceLayout(vs_device_from(device_obj)->host,
                                                (VkImage)(uintptr_t)image_obj->handle, &sub, &image->layout);
   }
}

/* The binding must fit the memory, as the host's requirements say: the host
 * trusts the offset, and memory past the allocation is someone else's. */
static bool
image_bind_ok(struct vs_dispatch *disp, const char *cmd, struct vs_object *device_obj, struct vs_object *image_obj,
              struct vs_object *memory_obj, VkDeviceSize offset, const void *bind_pnext)
{
   if (!image_obj || image_obj->parent != device_obj) {
      vs_dispatch_fail(disp, "%s: image is not an object of this device", cmd);
      return false;
   }
   struct vs_image *image = vs_image_from(image_obj);
   VkImagePlaneMemoryRequirementsInfo plane = { .sType = VK_STRUCTURE_TYPE_IMAGE_PLANE_MEMORY_REQUIREMENTS_INFO };
   VkImageMemoryRequirementsInfo2 info = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2,
      .image = (VkImage)(uintptr_t)image_obj->handle,
   };
   const VkBindImagePlaneMemoryInfo *bind_plane = vs_chain_find(&(VkBaseInStructure){ .pNext = bind_pnext },
                                                                VK_STRUCTURE_TYPE_BIND_IMAGE_PLANE_MEMORY_INFO);
   if (bind_plane) {
      plane.planeAspect = bind_plane->planeAspect;
      info.pNext = &plane;
   }
   VkMemoryRequirements2 req = { .sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2 };
   device_obj->dt->GetImageMemoryRequirements2(vs_device_from(device_obj)->host, &info, &req);
   return vs_check_bind(disp, cmd, device_obj, image_obj, memory_obj, offset, &req.memoryRequirements,
                        image->memory_id != 0 && !bind_plane);
}

static void
vs_exec_vkBindImageMemory(struct vs_dispatch *disp, struct vn_args_vkBindImageMemory *a)
{
   if (!image_bind_ok(disp, "vkBindImageMemory", a->device_obj, a->image_obj, a->memory_obj, a->memoryOffset, NULL))
      return;
   vn_default_vkBindImageMemory(disp, a);
   if (a->ret == VK_SUCCESS)
      image_bound(a->device_obj, a->image_obj, a->memory_obj, a->memoryOffset);
}

static void
vs_exec_vkBindImageMemory2(struct vs_dispatch *disp, struct vn_args_vkBindImageMemory2 *a)
{
   if (a->bindInfoCount && !a->pBindInfos) {
      vs_dispatch_fail(disp, "vkBindImageMemory2: no bind infos");
      return;
   }
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindImageMemoryInfo *b = &a->pBindInfos[i];
      if (!image_bind_ok(disp, "vkBindImageMemory2", a->device_obj, vs_dispatch_nested_object(disp, &b->image),
                         vs_dispatch_nested_object(disp, &b->memory), b->memoryOffset, b->pNext))
         return;
   }
   vn_default_vkBindImageMemory2(disp, a);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindImageMemoryInfo *b = &a->pBindInfos[i];
      image_bound(a->device_obj, vs_dispatch_nested_object(disp, &b->image),
                  vs_dispatch_nested_object(disp, &b->memory), b->memoryOffset);
   }
}

/* For the vkGetDeviceImage* queries: false if the create info cannot be
 * honoured, in which case there is nothing to report. */
static bool
device_image_info_to_host(const VkDeviceImageMemoryRequirements *info)
{
   if (!info || !info->pCreateInfo)
      return false;
   const VkSubresourceLayout *explicit_layout;
   ((VkDeviceImageMemoryRequirements *)info)->planeAspect = vs_caps_aspect_to_host(info->planeAspect);
   return vs_caps_image_info_to_host((VkImageCreateInfo *)info->pCreateInfo, &explicit_layout) == VK_SUCCESS;
}

static void
vs_exec_vkGetDeviceImageMemoryRequirements(struct vs_dispatch *disp,
                                           struct vn_args_vkGetDeviceImageMemoryRequirements *a)
{
   if (!a->pMemoryRequirements) {
      vs_dispatch_fail(disp, "vkGetDeviceImageMemoryRequirements: no output");
      return;
   }
   if (device_image_info_to_host(a->pInfo))
      vn_default_vkGetDeviceImageMemoryRequirements(disp, a);
   else
      a->pMemoryRequirements->memoryRequirements = (VkMemoryRequirements){ 0 };
}

static void
vs_exec_vkGetDeviceImageSparseMemoryRequirements(struct vs_dispatch *disp,
                                                 struct vn_args_vkGetDeviceImageSparseMemoryRequirements *a)
{
   if (!a->pSparseMemoryRequirementCount) {
      vs_dispatch_fail(disp, "vkGetDeviceImageSparseMemoryRequirements: no count");
      return;
   }
   if (device_image_info_to_host(a->pInfo))
      vn_default_vkGetDeviceImageSparseMemoryRequirements(disp, a);
   else
      *a->pSparseMemoryRequirementCount = 0;
}

static void
vs_exec_vkGetImageSubresourceLayout(struct vs_dispatch *disp, struct vn_args_vkGetImageSubresourceLayout *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_dispatch_fail(disp, "vkGetImageSubresourceLayout: no subresource or output");
      return;
   }
   VkImageSubresource *sub = (VkImageSubresource *)a->pSubresource;
   sub->aspectMask = vs_caps_aspect_to_host(sub->aspectMask);
   vn_default_vkGetImageSubresourceLayout(disp, a);
}

static void
vs_exec_vkGetImageSubresourceLayout2(struct vs_dispatch *disp, struct vn_args_vkGetImageSubresourceLayout2 *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_dispatch_fail(disp, "vkGetImageSubresourceLayout2: no subresource or output");
      return;
   }
   VkImageSubresource2 *sub = (VkImageSubresource2 *)a->pSubresource;
   sub->imageSubresource.aspectMask = vs_caps_aspect_to_host(sub->imageSubresource.aspectMask);
   vn_default_vkGetImageSubresourceLayout2(disp, a);
}

static void
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

static void
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

void
vs_image_register(struct vn_exec_table *t)
{
   t->vkCreateImage = vs_exec_vkCreateImage;
   t->vkBindImageMemory = vs_exec_vkBindImageMemory;
   t->vkBindImageMemory2 = vs_exec_vkBindImageMemory2;
   t->vkGetDeviceImageMemoryRequirements = vs_exec_vkGetDeviceImageMemoryRequirements;
   t->vkGetDeviceImageSparseMemoryRequirements = vs_exec_vkGetDeviceImageSparseMemoryRequirements;
   t->vkGetImageSubresourceLayout = vs_exec_vkGetImageSubresourceLayout;
   t->vkGetImageSubresourceLayout2 = vs_exec_vkGetImageSubresourceLayout2;
   t->vkGetImageDrmFormatModifierPropertiesEXT = vs_exec_vkGetImageDrmFormatModifierPropertiesEXT;
   t->vkGetDeviceImageSubresourceLayout = vs_exec_vkGetDeviceImageSubresourceLayout;
}

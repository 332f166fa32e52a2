/* SPDX-License-Identifier: MIT */
/* Images: creation and the queries that take a create info or an aspect,
 * where DRM-modifier tiling (linear only, see renderer/caps/caps.h) becomes the
 * host's linear tiling; bindings, checked and recorded.
 *
 * Except for color attachments on hosts that cannot render to linear
 * images reliably (struct vs_device.modifier_color_optimal: NVIDIA's
 * driver loses the device, and leaves the GPU hung for every process, when
 * a LINEAR color attachment is rendered with a depth attachment, which
 * every guest WSI image of a 3D application is). Such an image is created
 * OPTIMAL on the host instead. The linear layout stays what the guest is
 * told (vkGetImageSubresourceLayout answers with the layout a linear twin
 * has on the host, kept in struct vs_image), and the guest cannot see the
 * difference because it cannot map such an image: its memory types are
 * only those that are not host-visible. */
#include <stdlib.h>

#include "renderer/families.h"
#include "renderer/caps/caps.h"
#include "renderer/image_layout.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "renderer/validate.h"
#include "renderer/memory/driver_mapping.h"
#include "renderer/memory/import_types.h"
#include "base/chain.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

static bool
same_layout(const VkImageCreateInfo *ci, const VkSubresourceLayout *have, const VkSubresourceLayout *want)
{
   return have->offset == want->offset && have->rowPitch == want->rowPitch &&
          (ci->arrayLayers == 1 || have->arrayPitch == want->arrayPitch) &&
          (ci->extent.depth == 1 || have->depthPitch == want->depthPitch);
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

/* Whether an image the guest creates with `ci` (before
 * vs_caps_image_info_to_host) becomes an OPTIMAL host image; see the top of
 * this file. */
static bool
modifier_color_optimal(const struct vs_device *dev, const VkImageCreateInfo *ci)
{
   return dev->modifier_color_optimal && ci->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT &&
          (ci->usage & VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT) && ci->sharingMode == VK_SHARING_MODE_EXCLUSIVE &&
          ci->samples == VK_SAMPLE_COUNT_1_BIT && (unmappable_types(dev) || dev->modifier_color_forced);
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

/* Where the renderer keeps layouts, an image its format lets be copied
 * is made with transfer usage too: a restore copies it out and back
 * through the GPU (renderer/restore.h). A transient attachment (whose
 * contents last one render pass) is left as it is. */
static void
transfer_usage_for_restore(const struct vs_device *dev, VkImageCreateInfo *ci)
{
   const VkImageUsageFlags transfer = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
   if (!dev->renderer->restorable || (ci->usage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT) ||
       (ci->usage & transfer) == transfer || ci->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
      return;
   const struct vs_physical_device *phys = vs_physical_device_from(dev->physical);
   const struct vs_instance *inst = vs_instance_from(dev->physical->parent);
   VkFormatProperties props;
   inst->it.GetPhysicalDeviceFormatProperties(phys->host, ci->format, &props);
   const VkFormatFeatureFlags features =
      ci->tiling == VK_IMAGE_TILING_LINEAR ? props.linearTilingFeatures : props.optimalTilingFeatures;
   const VkFormatFeatureFlags both = VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
   if ((features & both) != both)
      return;
   ci->usage |= transfer;
   VkImageStencilUsageCreateInfo *stencil =
      (VkImageStencilUsageCreateInfo *)vs_chain_find(ci, VK_STRUCTURE_TYPE_IMAGE_STENCIL_USAGE_CREATE_INFO);
   if (stencil && !(stencil->stencilUsage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT))
      stencil->stencilUsage |= transfer;
}

static void
image_free(void *data)
{
   struct vs_image *image = data;
   vs_image_layouts_fini(&image->layouts);
   free(image);
}

static void
vs_exec_vkCreateImage(struct vs_runner *runner, struct vn_args_vkCreateImage *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(runner, "vkCreateImage: no create info");
      return;
   }
   VkImageCreateInfo *ci = (VkImageCreateInfo *)a->pCreateInfo;
   const struct vs_device *dev = vs_device_from(a->device_obj);
   const bool optimal = modifier_color_optimal(dev, ci);
   const bool from_modifier = ci->tiling == VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT;
   const VkSubresourceLayout *explicit_layout;
   a->ret = vs_caps_image_info_to_host(ci, &explicit_layout);
   if (a->ret != VK_SUCCESS) {
      vs_warn(runner->ctx_id, "vkCreateImage %llu: DRM format modifier not supported: %s",
              (unsigned long long)a->pImage_id, vn_result_name(a->ret));
      return;
   }
   /* With the display on, a LINEAR-modifier image (a guest WSI image) may
    * get a linear mirror, whose copy reads it through an identical alias. */
   if (from_modifier && dev->renderer->options.shared_registry) {
      ci->flags |= VK_IMAGE_CREATE_ALIAS_BIT;
      ci->usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
   }
   const VkImageUsageFlags guest_usage = ci->usage;
   transfer_usage_for_restore(dev, ci);
   struct vs_image *image = calloc(1, sizeof(*image));
   if (!image) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   *image = (struct vs_image){
      .format = ci->format,
      .extent = ci->extent,
      .mip_levels = ci->mipLevels,
      .array_layers = ci->arrayLayers,
      .type = ci->imageType,
      .tiling = ci->tiling,
      .usage = guest_usage,
      .samples = ci->samples,
      .sparse = (ci->flags & VK_IMAGE_CREATE_SPARSE_BINDING_BIT) != 0,
      .optimal_for_linear = optimal,
      .from_modifier = from_modifier,
      .host_flags = ci->flags,
      .host_usage = ci->usage,
   };
   if (optimal) {
      a->ret = linear_twin_layout(dev, ci, &image->layout);
      if (a->ret == VK_SUCCESS && explicit_layout && !same_layout(ci, &image->layout, explicit_layout))
         a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
      if (a->ret != VK_SUCCESS) {
         free(image);
         return;
      }
      ci->tiling = VK_IMAGE_TILING_OPTIMAL;
   }
   VkExternalMemoryImageCreateInfo declared;
   image->host_import_types = vs_memory_image_import_types(dev, ci, &image->kept_off_imports);
   /* An image with external handle types starts UNDEFINED
    * (VUID-VkImageCreateInfo-pNext-01443); its first transition from
    * PREINITIALIZED becomes one from UNDEFINED (barrier.c). Vulkan lets
    * that transition discard the texels the guest wrote through its
    * mapping; lavapipe keeps a linear image's bytes (an optimal image has
    * no preinitialized texels to keep). */
   if (image->host_import_types && ci->initialLayout == VK_IMAGE_LAYOUT_PREINITIALIZED) {
      ci->initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
      image->preinitialized_undefined = true;
   }
   vs_memory_declare_import_types(ci, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO, image->host_import_types,
                                  &declared);
   vs_image_layouts_init(&image->layouts, ci->format, ci->initialLayout);
   vn_default_vkCreateImage(runner, a);
   struct vs_object *obj = vs_runner_created(runner, a->ret, a->pImage_id, VK_OBJECT_TYPE_IMAGE);
   if (!obj) {
      free(image);
      return;
   }
   obj->data = image;
   obj->data_free = image_free;
   if (optimal) {
      vs_debug(runner->ctx_id, "image %llu: LINEAR-modifier color attachment created OPTIMAL on the host "
               "(row pitch %llu for the guest)", (unsigned long long)a->pImage_id,
               (unsigned long long)image->layout.rowPitch);
      return;
   }
   if (image->tiling == VK_IMAGE_TILING_LINEAR) {
      const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
      dev->dt.GetImageSubresourceLayout(dev->host, *a->pImage, &sub, &image->layout);
   }
   if (!from_modifier || !explicit_layout || same_layout(ci, &image->layout, explicit_layout))
      return;
   vs_warn(runner->ctx_id, "vkCreateImage %llu: explicit layout differs from the host's linear layout: %s",
           (unsigned long long)a->pImage_id, vn_result_name(VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT));
   vs_runner_remove_object(runner, obj);
   a->device_obj->dt->DestroyImage(a->device, *a->pImage, NULL);
   a->ret = VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
}

/* An image created OPTIMAL for a LINEAR modifier may only be bound to
 * memory the guest cannot map (unless forced on a host that has none). */
static void
restrict_memory_types(const struct vs_device *dev, VkMemoryRequirements *req)
{
   if (unmappable_types(dev))
      req->memoryTypeBits &= unmappable_types(dev);
}

static bool
optimal_for_linear(const struct vs_object *image_obj)
{
   return image_obj && vs_image_from(image_obj)->optimal_for_linear;
}

/* What the guest is told an image needs: the memory types it may use
 * (fewer where the server made it optimal or keeps it off imports), sized
 * for lent memory. */
static void
guest_requirements(const struct vs_device *dev, bool optimal_for_linear, bool kept_off_imports,
                   VkMemoryRequirements *req)
{
   if (optimal_for_linear)
      restrict_memory_types(dev, req);
   if (kept_off_imports)
      req->memoryTypeBits = vs_memory_image_unimported_types(dev, req->memoryTypeBits);
   vs_driver_mapping_size_requirements(&dev->mem, req);
}

static void
guest_memory_types(const struct vs_device *dev, const struct vs_object *image_obj, VkMemoryRequirements *req)
{
   if (!image_obj)
      return;
   const struct vs_image *image = vs_image_from(image_obj);
   guest_requirements(dev, image->optimal_for_linear, image->kept_off_imports, req);
}

static void
vs_exec_vkGetImageMemoryRequirements(struct vs_runner *runner, struct vn_args_vkGetImageMemoryRequirements *a)
{
   vn_default_vkGetImageMemoryRequirements(runner, a);
   if (a->pMemoryRequirements)
      guest_memory_types(vs_device_from(a->device_obj), a->image_obj, a->pMemoryRequirements);
}

static void
vs_exec_vkGetImageMemoryRequirements2(struct vs_runner *runner, struct vn_args_vkGetImageMemoryRequirements2 *a)
{
   vn_default_vkGetImageMemoryRequirements2(runner, a);
   if (!a->pInfo || !a->pMemoryRequirements || vs_runner_failed(runner))
      return;
   guest_memory_types(vs_device_from(a->device_obj), vs_runner_nested_object(runner, &a->pInfo->image),
                      &a->pMemoryRequirements->memoryRequirements);
}

/* Records what backs an image once the host accepted the binding; the
 * image keeps its memory alive (wire/lifetime.h). */
static void
image_bound(struct vs_runner *runner, struct vs_object *image_obj, struct vs_object *memory_obj, VkDeviceSize offset)
{
   struct vs_image *image = image_obj ? vs_image_from(image_obj) : NULL;
   if (!image || !memory_obj)
      return;
   image->memory_id = memory_obj->id;
   image->memory_offset = offset;
   if (!vs_object_hold(runner->objects, image_obj, memory_obj, true))
      vs_runner_fail(runner, "image %llu cannot hold memory %llu: over the hold limit or out of memory",
                       (unsigned long long)image_obj->id, (unsigned long long)memory_obj->id);
}

/* The binding must fit the memory, as the host's requirements say: the host
 * trusts the offset, and memory past the allocation is someone else's. */
static bool
image_bind_ok(struct vs_runner *runner, const char *cmd, struct vs_object *device_obj, struct vs_object *image_obj,
              struct vs_object *memory_obj, VkDeviceSize offset, const void *bind_pnext)
{
   if (!image_obj || image_obj->parent != device_obj) {
      vs_runner_fail(runner, "%s: image is not an object of this device", cmd);
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
   return vs_check_bind(runner, cmd, device_obj, image_obj, memory_obj, offset, &req.memoryRequirements,
                        image->memory_id != 0 && !bind_plane);
}

static void
vs_exec_vkBindImageMemory(struct vs_runner *runner, struct vn_args_vkBindImageMemory *a)
{
   if (!image_bind_ok(runner, "vkBindImageMemory", a->device_obj, a->image_obj, a->memory_obj, a->memoryOffset, NULL))
      return;
   vn_default_vkBindImageMemory(runner, a);
   if (a->ret == VK_SUCCESS)
      image_bound(runner, a->image_obj, a->memory_obj, a->memoryOffset);
}

static void
vs_exec_vkBindImageMemory2(struct vs_runner *runner, struct vn_args_vkBindImageMemory2 *a)
{
   if (a->bindInfoCount && !a->pBindInfos) {
      vs_runner_fail(runner, "vkBindImageMemory2: no bind infos");
      return;
   }
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindImageMemoryInfo *b = &a->pBindInfos[i];
      if (!image_bind_ok(runner, "vkBindImageMemory2", a->device_obj, vs_runner_nested_object(runner, &b->image),
                         vs_runner_nested_object(runner, &b->memory), b->memoryOffset, b->pNext))
         return;
   }
   vn_default_vkBindImageMemory2(runner, a);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindImageMemoryInfo *b = &a->pBindInfos[i];
      image_bound(runner, vs_runner_nested_object(runner, &b->image), vs_runner_nested_object(runner, &b->memory),
                  b->memoryOffset);
   }
}

/* For the vkGetDeviceImage* queries: false if the create info cannot be
 * honoured, in which case there is nothing to report. *optimal: the image
 * would be created OPTIMAL for a LINEAR modifier (its create info now says
 * so); *kept_off_imports: as struct vs_image's. */
static bool
device_image_info_to_host(const struct vs_device *dev, const VkDeviceImageMemoryRequirements *info, bool *optimal,
                          bool *kept_off_imports, VkExternalMemoryImageCreateInfo *declared)
{
   *optimal = false;
   *kept_off_imports = false;
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
   transfer_usage_for_restore(dev, ci);
   vs_memory_declare_import_types(ci, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
                                  vs_memory_image_import_types(dev, ci, kept_off_imports), declared);
   return true;
}

static void
vs_exec_vkGetDeviceImageMemoryRequirements(struct vs_runner *runner,
                                           struct vn_args_vkGetDeviceImageMemoryRequirements *a)
{
   if (!a->pMemoryRequirements) {
      vs_runner_fail(runner, "vkGetDeviceImageMemoryRequirements: no output");
      return;
   }
   const struct vs_device *dev = vs_device_from(a->device_obj);
   bool optimal, kept_off_imports;
   VkExternalMemoryImageCreateInfo declared;
   if (device_image_info_to_host(dev, a->pInfo, &optimal, &kept_off_imports, &declared)) {
      vn_default_vkGetDeviceImageMemoryRequirements(runner, a);
      guest_requirements(dev, optimal, kept_off_imports, &a->pMemoryRequirements->memoryRequirements);
   } else {
      a->pMemoryRequirements->memoryRequirements = (VkMemoryRequirements){ 0 };
   }
}

static void
vs_exec_vkGetDeviceImageSparseMemoryRequirements(struct vs_runner *runner,
                                                 struct vn_args_vkGetDeviceImageSparseMemoryRequirements *a)
{
   if (!a->pSparseMemoryRequirementCount) {
      vs_runner_fail(runner, "vkGetDeviceImageSparseMemoryRequirements: no count");
      return;
   }
   bool optimal, kept_off_imports;
   VkExternalMemoryImageCreateInfo declared;
   if (device_image_info_to_host(vs_device_from(a->device_obj), a->pInfo, &optimal, &kept_off_imports, &declared))
      vn_default_vkGetDeviceImageSparseMemoryRequirements(runner, a);
   else
      *a->pSparseMemoryRequirementCount = 0;
}

/* The linear layout the guest is told for an image created OPTIMAL for a
 * LINEAR modifier (one plane; layers at the twin's array pitch). */
static void
twin_layout(const struct vs_object *image_obj, const VkImageSubresource *sub, VkSubresourceLayout *out)
{
   const struct vs_image *image = vs_image_from(image_obj);
   *out = (VkSubresourceLayout){ 0 };
   if (sub->mipLevel != 0)
      return;
   *out = image->layout;
   out->offset += (VkDeviceSize)sub->arrayLayer * image->layout.arrayPitch;
}

static void
vs_exec_vkGetImageSubresourceLayout(struct vs_runner *runner, struct vn_args_vkGetImageSubresourceLayout *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_runner_fail(runner, "vkGetImageSubresourceLayout: no subresource or output");
      return;
   }
   VkImageSubresource *sub = (VkImageSubresource *)a->pSubresource;
   sub->aspectMask = vs_caps_aspect_to_host(sub->aspectMask);
   if (optimal_for_linear(a->image_obj)) {
      twin_layout(a->image_obj, sub, a->pLayout);
      return;
   }
   vn_default_vkGetImageSubresourceLayout(runner, a);
}

static void
vs_exec_vkGetImageSubresourceLayout2(struct vs_runner *runner, struct vn_args_vkGetImageSubresourceLayout2 *a)
{
   if (!a->pSubresource || !a->pLayout) {
      vs_runner_fail(runner, "vkGetImageSubresourceLayout2: no subresource or output");
      return;
   }
   VkImageSubresource2 *sub = (VkImageSubresource2 *)a->pSubresource;
   sub->imageSubresource.aspectMask = vs_caps_aspect_to_host(sub->imageSubresource.aspectMask);
   if (optimal_for_linear(a->image_obj)) {
      twin_layout(a->image_obj, &sub->imageSubresource, &a->pLayout->subresourceLayout);
      return;
   }
   vn_default_vkGetImageSubresourceLayout2(runner, a);
}

static void
vs_exec_vkGetImageDrmFormatModifierPropertiesEXT(struct vs_runner *runner,
                                                 struct vn_args_vkGetImageDrmFormatModifierPropertiesEXT *a)
{
   if (!a->pProperties) {
      vs_runner_fail(runner, "vkGetImageDrmFormatModifierPropertiesEXT: no output");
      return;
   }
   /* Every modifier image is linear. */
   a->pProperties->drmFormatModifier = 0;
   a->ret = VK_SUCCESS;
}

static void
vs_exec_vkGetDeviceImageSubresourceLayout(struct vs_runner *runner,
                                          struct vn_args_vkGetDeviceImageSubresourceLayout *a)
{
   const VkDeviceImageSubresourceInfo *info = a->pInfo;
   if (!info || !info->pCreateInfo || !info->pSubresource || !a->pLayout) {
      vs_runner_fail(runner, "vkGetDeviceImageSubresourceLayout: no create info, subresource or output");
      return;
   }
   const VkSubresourceLayout *explicit_layout;
   if (vs_caps_image_info_to_host((VkImageCreateInfo *)info->pCreateInfo, &explicit_layout) != VK_SUCCESS) {
      a->pLayout->subresourceLayout = (VkSubresourceLayout){ 0 };
      return;
   }
   transfer_usage_for_restore(vs_device_from(a->device_obj), (VkImageCreateInfo *)info->pCreateInfo);
   VkImageSubresource2 *sub = (VkImageSubresource2 *)info->pSubresource;
   sub->imageSubresource.aspectMask = vs_caps_aspect_to_host(sub->imageSubresource.aspectMask);
   vn_default_vkGetDeviceImageSubresourceLayout(runner, a);
}

void
vs_image_register(struct vn_exec_table *t)
{
   t->vkCreateImage = vs_exec_vkCreateImage;
   t->vkGetImageMemoryRequirements = vs_exec_vkGetImageMemoryRequirements;
   t->vkGetImageMemoryRequirements2 = vs_exec_vkGetImageMemoryRequirements2;
   t->vkBindImageMemory = vs_exec_vkBindImageMemory;
   t->vkBindImageMemory2 = vs_exec_vkBindImageMemory2;
   t->vkGetDeviceImageMemoryRequirements = vs_exec_vkGetDeviceImageMemoryRequirements;
   t->vkGetDeviceImageSparseMemoryRequirements = vs_exec_vkGetDeviceImageSparseMemoryRequirements;
   t->vkGetImageSubresourceLayout = vs_exec_vkGetImageSubresourceLayout;
   t->vkGetImageSubresourceLayout2 = vs_exec_vkGetImageSubresourceLayout2;
   t->vkGetImageDrmFormatModifierPropertiesEXT = vs_exec_vkGetImageDrmFormatModifierPropertiesEXT;
   t->vkGetDeviceImageSubresourceLayout = vs_exec_vkGetDeviceImageSubresourceLayout;
}

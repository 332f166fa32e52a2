/* SPDX-License-Identifier: MIT */
/* renderer/image_layout.c: an image's layouts, whole until part of it
 * changes, by aspect, level and layer after; and renderer/memory/
 * device_copy.c's plan of an image's copy: which subresources, where
 * their texels lie, what it refuses. */
#include <stdlib.h>

#include "renderer/image_layout.h"
#include "renderer/memory/device_copy.h"
#include "renderer/renderer_state.h"
#include "unit.h"

static struct vs_image
image_of(VkFormat format, VkImageType type, uint32_t w, uint32_t h, uint32_t d, uint32_t levels, uint32_t layers)
{
   struct vs_image image = {
      .format = format, .extent = { w, h, d }, .mip_levels = levels, .array_layers = layers, .type = type,
   };
   vs_image_layouts_init(&image.layouts, format, VK_IMAGE_LAYOUT_UNDEFINED);
   return image;
}

static void
set(struct vs_image *image, VkImageAspectFlags aspect, uint32_t level, uint32_t levels, uint32_t layer,
    uint32_t layers, VkImageLayout layout)
{
   const VkImageSubresourceRange range = { aspect, level, levels, layer, layers };
   vs_image_layout_set(image, &range, layout);
}

TEST(layouts_whole_then_each)
{
   struct vs_image image = image_of(VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TYPE_2D, 64, 48, 1, 4, 3);
   const VkImageAspectFlagBits color = VK_IMAGE_ASPECT_COLOR_BIT;
   set(&image, color, 0, VK_REMAINING_MIP_LEVELS, 0, VK_REMAINING_ARRAY_LAYERS, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(image.layouts.each == NULL);
   CHECK_EQ(vs_image_layout_at(&image, color, 3, 2), VK_IMAGE_LAYOUT_GENERAL);
   /* Levels 2 and 3, layers 1 and 2: the rest stays. */
   set(&image, color, 2, VK_REMAINING_MIP_LEVELS, 1, VK_REMAINING_ARRAY_LAYERS, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
   CHECK(image.layouts.each != NULL);
   CHECK_EQ(vs_image_layout_at(&image, color, 2, 1), VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
   CHECK_EQ(vs_image_layout_at(&image, color, 3, 2), VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
   CHECK_EQ(vs_image_layout_at(&image, color, 2, 0), VK_IMAGE_LAYOUT_GENERAL);
   CHECK_EQ(vs_image_layout_at(&image, color, 1, 2), VK_IMAGE_LAYOUT_GENERAL);
   /* Counts past the image are clamped; a base past it changes nothing. */
   set(&image, color, 1, 100, 2, 100, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   CHECK_EQ(vs_image_layout_at(&image, color, 3, 2), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   set(&image, color, 4, 1, 0, 1, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
   set(&image, color, 0, 1, 3, 1, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
   CHECK_EQ(vs_image_layout_at(&image, color, 0, 0), VK_IMAGE_LAYOUT_GENERAL);
   /* No queue family owns it until a submission changes it. */
   CHECK_EQ(image.layouts.family, (uint32_t)VK_QUEUE_FAMILY_IGNORED);
   image.layouts.family = 1;
   /* A copy is its own. */
   struct vs_image_layouts copy;
   CHECK(vs_image_layouts_copy(&copy, &image));
   CHECK(copy.each != NULL && copy.each != image.layouts.each);
   CHECK_EQ(copy.family, 1u);
   /* The whole image again: one layout. */
   set(&image, color, 0, 4, 0, 3, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(image.layouts.each == NULL);
   CHECK_EQ(copy.each[(3 * 3) + 2], VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   vs_image_layouts_fini(&copy);
   vs_image_layouts_fini(&image.layouts);
}

TEST(layouts_depth_and_stencil_apart)
{
   struct vs_image image = image_of(VK_FORMAT_D32_SFLOAT_S8_UINT, VK_IMAGE_TYPE_2D, 32, 32, 1, 1, 1);
   CHECK_EQ(image.layouts.aspects, 2u);
   set(&image, VK_IMAGE_ASPECT_DEPTH_BIT, 0, 1, 0, 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL);
   CHECK_EQ(vs_image_layout_at(&image, VK_IMAGE_ASPECT_DEPTH_BIT, 0, 0), VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL);
   CHECK_EQ(vs_image_layout_at(&image, VK_IMAGE_ASPECT_STENCIL_BIT, 0, 0), VK_IMAGE_LAYOUT_UNDEFINED);
   set(&image, VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT, 0, 1, 0, 1, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(image.layouts.each == NULL);
   /* A depth-only format has one aspect. */
   struct vs_image depth = image_of(VK_FORMAT_D32_SFLOAT, VK_IMAGE_TYPE_2D, 8, 8, 1, 1, 1);
   CHECK_EQ(depth.layouts.aspects, 1u);
   set(&depth, VK_IMAGE_ASPECT_DEPTH_BIT, 0, 1, 0, 1, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(depth.layouts.each == NULL);
   CHECK_EQ(vs_image_layout_at(&depth, VK_IMAGE_ASPECT_DEPTH_BIT, 0, 0), VK_IMAGE_LAYOUT_GENERAL);
   vs_image_layouts_fini(&image.layouts);
}

TEST(layouts_3d_has_no_layers)
{
   struct vs_image image = image_of(VK_FORMAT_R8_UNORM, VK_IMAGE_TYPE_3D, 16, 16, 16, 2, 1);
   /* A barrier naming slices of a 3D image covers the level. */
   set(&image, VK_IMAGE_ASPECT_COLOR_BIT, 0, 2, 4, 8, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(image.layouts.each == NULL);
   CHECK_EQ(vs_image_layout_at(&image, VK_IMAGE_ASPECT_COLOR_BIT, 1, 0), VK_IMAGE_LAYOUT_GENERAL);
}

TEST(parts_packed_and_aligned)
{
   char why[128];
   struct vs_image_part *parts;
   uint32_t count;
   VkDeviceSize total;
   /* RGB8: 3-byte texels, offsets on 12 bytes; level 1 in another layout,
    * level 2 left UNDEFINED (no contents: no part). */
   struct vs_image rgb = image_of(VK_FORMAT_R8G8B8_UNORM, VK_IMAGE_TYPE_2D, 5, 3, 1, 3, 2);
   set(&rgb, VK_IMAGE_ASPECT_COLOR_BIT, 0, 2, 0, 2, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   set(&rgb, VK_IMAGE_ASPECT_COLOR_BIT, 1, 1, 1, 1, VK_IMAGE_LAYOUT_GENERAL);
   CHECK(vs_device_image_parts(&rgb, &parts, &count, &total, why, sizeof(why)));
   CHECK_EQ(count, 4u);
   CHECK_EQ(parts[0].size, 45u); /* 5x3 */
   CHECK_EQ(parts[1].offset, 48u);
   CHECK_EQ(parts[2].sub.mipLevel, 1u);
   CHECK_EQ(parts[2].size, 6u); /* 2x1 */
   CHECK_EQ(parts[2].offset % 12, 0u);
   CHECK_EQ(parts[3].layout, VK_IMAGE_LAYOUT_GENERAL);
   CHECK_EQ(total, parts[3].offset + parts[3].size);
   free(parts);
   /* BC1: 8 bytes a 4x4 block; a 10x6 level 0 is 3x2 blocks. */
   struct vs_image bc = image_of(VK_FORMAT_BC1_RGB_UNORM_BLOCK, VK_IMAGE_TYPE_2D, 10, 6, 1, 2, 1);
   set(&bc, VK_IMAGE_ASPECT_COLOR_BIT, 0, 2, 0, 1, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
   CHECK(vs_device_image_parts(&bc, &parts, &count, &total, why, sizeof(why)));
   CHECK_EQ(count, 2u);
   CHECK_EQ(parts[0].size, 48u);
   CHECK_EQ(parts[1].size, 16u); /* 5x3: 2x1 blocks */
   free(parts);
   /* Depth and stencil of each subresource side by side, offsets on 4. */
   struct vs_image ds = image_of(VK_FORMAT_D32_SFLOAT_S8_UINT, VK_IMAGE_TYPE_2D, 3, 3, 1, 1, 2);
   set(&ds, VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT, 0, 1, 0, 2,
       VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL);
   CHECK(vs_device_image_parts(&ds, &parts, &count, &total, why, sizeof(why)));
   CHECK_EQ(count, 4u);
   CHECK_EQ(parts[0].sub.aspectMask, (VkImageAspectFlags)VK_IMAGE_ASPECT_DEPTH_BIT);
   CHECK_EQ(parts[0].size, 36u);
   CHECK_EQ(parts[1].sub.aspectMask, (VkImageAspectFlags)VK_IMAGE_ASPECT_STENCIL_BIT);
   CHECK_EQ(parts[1].size, 9u);
   CHECK_EQ(parts[2].offset, 48u);
   CHECK_EQ(parts[2].sub.baseArrayLayer, 1u);
   free(parts);
   vs_image_layouts_fini(&rgb.layouts);
   vs_image_layouts_fini(&ds.layouts);
}

TEST(parts_refused)
{
   char why[128];
   struct vs_image_part *parts;
   uint32_t count;
   VkDeviceSize total;
   struct vs_image planes = image_of(VK_FORMAT_G8_B8R8_2PLANE_420_UNORM, VK_IMAGE_TYPE_2D, 16, 16, 1, 1, 1);
   CHECK(!vs_device_image_parts(&planes, &parts, &count, &total, why, sizeof(why)));
   struct vs_image shared = image_of(VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TYPE_2D, 16, 16, 1, 1, 1);
   set(&shared, VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1, VK_IMAGE_LAYOUT_SHARED_PRESENT_KHR);
   CHECK(!vs_device_image_parts(&shared, &parts, &count, &total, why, sizeof(why)));
   /* Nothing with contents: no parts. */
   struct vs_image empty = image_of(VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_TYPE_2D, 16, 16, 1, 1, 1);
   CHECK(vs_device_image_parts(&empty, &parts, &count, &total, why, sizeof(why)));
   CHECK_EQ(count, 0u);
   free(parts);
}

UNIT_MAIN(UNIT(layouts_whole_then_each), UNIT(layouts_depth_and_stencil_apart), UNIT(layouts_3d_has_no_layers),
          UNIT(parts_packed_and_aligned), UNIT(parts_refused))

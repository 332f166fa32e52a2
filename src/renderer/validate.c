/* SPDX-License-Identifier: MIT */
/* The check primitives of validate.h. Each names what it refused: these
 * lines are the only trace a hostile or broken guest leaves. */
#include "renderer/validate.h"

#include <stdio.h>

#include "renderer/objects.h"
#include "base/chain.h"
#include "wire/runner.h"
#include "vn_vk.h"

#define U(x) ((unsigned long long)(x))

bool
vs_check_bind(struct vs_runner *runner, const char *cmd, struct vs_object *device, struct vs_object *resource,
              struct vs_object *memory, VkDeviceSize offset, const VkMemoryRequirements *req, bool already_bound)
{
   if (!memory || memory->parent != device) {
      vs_runner_fail(runner, "%s: object %llu: the memory is not an object of this device", cmd, U(resource->id));
      return false;
   }
   const struct vs_device_memory *mem = vs_device_memory_from(memory);
   const char *why = NULL;
   if (already_bound)
      why = "already bound";
   else if (offset > mem->size || req->size > mem->size - offset)
      why = "does not fit the memory";
   else if (req->alignment && offset % req->alignment)
      why = "is misaligned";
   else if (!(req->memoryTypeBits & (1u << mem->type_index)))
      why = "is not allowed in that memory type";
   if (!why)
      return true;
   vs_runner_fail(runner, "%s: object %llu at offset %llu (%llu bytes, alignment %llu) in memory %llu (%llu bytes, "
                          "type %u) %s",
                    cmd, U(resource->id), U(offset), U(req->size), U(req->alignment), U(memory->id), U(mem->size),
                    mem->type_index, why);
   return false;
}

/* A buffer the host can address: ours, and bound (a sparse one may be
 * partly unbound; robust access and the host's page tables cover it). */
static const struct vs_buffer *
usable_buffer(struct vs_runner *runner, const char *cmd, struct vs_object *obj)
{
   if (!obj) {
      vs_runner_fail(runner, "%s: no buffer", cmd);
      return NULL;
   }
   const struct vs_buffer *buffer = vs_buffer_from(obj);
   if (!buffer->memory_id && !buffer->sparse) {
      vs_runner_fail(runner, "%s: buffer %llu is not bound to memory", cmd, U(obj->id));
      return NULL;
   }
   return buffer;
}

/* [offset, offset + size) inside the buffer; whole: size may be
 * VK_WHOLE_SIZE, "to the end". */
static bool
buffer_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkDeviceSize offset,
             VkDeviceSize size, bool whole)
{
   const struct vs_buffer *buffer = usable_buffer(runner, cmd, obj);
   if (!buffer)
      return false;
   if (whole && size == VK_WHOLE_SIZE) {
      if (offset <= buffer->size)
         return true;
      vs_runner_fail(runner, "%s: offset %llu is outside buffer %llu of %llu bytes", cmd, U(offset), U(obj->id),
                       U(buffer->size));
      return false;
   }
   if (offset <= buffer->size && size <= buffer->size - offset)
      return true;
   vs_runner_fail(runner, "%s: range [%llu, +%llu) is outside buffer %llu of %llu bytes", cmd, U(offset), U(size),
                    U(obj->id), U(buffer->size));
   return false;
}

bool
vs_check_buffer_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkDeviceSize offset,
                      VkDeviceSize size)
{
   return buffer_range(runner, cmd, obj, offset, size, false);
}

bool
vs_check_buffer_range_whole(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkDeviceSize offset,
                            VkDeviceSize size)
{
   return buffer_range(runner, cmd, obj, offset, size, true);
}

bool
vs_check_buffer_strided(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkDeviceSize offset,
                        uint64_t count, VkDeviceSize stride, VkDeviceSize elem)
{
   if (count == 0)
      return true;
   unsigned __int128 end = (unsigned __int128)(count - 1) * stride + elem;
   if (end > UINT64_MAX) {
      vs_runner_fail(runner, "%s: %llu records of stride %llu overflow", cmd, U(count), U(stride));
      return false;
   }
   return vs_check_buffer_range(runner, cmd, obj, offset, (VkDeviceSize)end);
}

bool
vs_check_buffer_offset(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkDeviceSize offset)
{
   return !obj || buffer_range(runner, cmd, obj, offset, VK_WHOLE_SIZE, true);
}

static const struct vs_image *
usable_image(struct vs_runner *runner, const char *cmd, struct vs_object *obj)
{
   if (!obj) {
      vs_runner_fail(runner, "%s: no image", cmd);
      return NULL;
   }
   const struct vs_image *image = vs_image_from(obj);
   if (!image->memory_id && !image->sparse) {
      vs_runner_fail(runner, "%s: image %llu is not bound to memory", cmd, U(obj->id));
      return NULL;
   }
   return image;
}

/* [base, base + count) inside [0, total), count 0 refused. */
static bool
span_ok(uint64_t base, uint64_t count, uint64_t total)
{
   return count && base < total && count <= total - base;
}

static bool
layers_ok(const struct vs_image *image, const VkImageSubresourceLayers *sub)
{
   uint32_t layers = sub->layerCount == VK_REMAINING_ARRAY_LAYERS && image->array_layers > sub->baseArrayLayer
                        ? image->array_layers - sub->baseArrayLayer
                        : sub->layerCount;
   return sub->mipLevel < image->mip_levels && span_ok(sub->baseArrayLayer, layers, image->array_layers);
}

bool
vs_check_image_layers(struct vs_runner *runner, const char *cmd, struct vs_object *obj,
                      const VkImageSubresourceLayers *sub)
{
   const struct vs_image *image = usable_image(runner, cmd, obj);
   if (!image)
      return false;
   if (layers_ok(image, sub))
      return true;
   vs_runner_fail(runner, "%s: mip %u, layers [%u, +%u) are outside image %llu (%u mips, %u layers)", cmd,
                    sub->mipLevel, sub->baseArrayLayer, sub->layerCount, U(obj->id), image->mip_levels,
                    image->array_layers);
   return false;
}

static uint32_t
mip_extent(uint32_t base, uint32_t level)
{
   uint32_t v = level < 32 ? base >> level : 0;
   return v ? v : 1;
}

/* `count` resolved from VK_REMAINING_*: what is left of `total` after base. */
static uint32_t
remaining(uint32_t count, uint32_t remaining_value, uint32_t base, uint32_t total)
{
   return count == remaining_value && total > base ? total - base : count;
}

static bool
image_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj, const VkImageSubresourceRange *range,
            bool slices_of_3d)
{
   const struct vs_image *image = usable_image(runner, cmd, obj);
   if (!image)
      return false;
   uint32_t levels = remaining(range->levelCount, VK_REMAINING_MIP_LEVELS, range->baseMipLevel, image->mip_levels);
   /* A 2D or 2D-array view of a 3D image made for it (2D_ARRAY_COMPATIBLE,
    * VK_EXT_image_2d_view_of_3d) names depth slices of one mip level as its
    * layers (VUIDs VkImageViewCreateInfo-image-02724, -subresourceRange-02725,
    * -image-04970). */
   uint32_t max_levels = image->mip_levels, max_layers = image->array_layers;
   if (slices_of_3d && range->baseMipLevel < image->mip_levels) {
      max_layers = mip_extent(image->extent.depth, range->baseMipLevel);
      max_levels = range->baseMipLevel + 1;
   }
   uint32_t layers = remaining(range->layerCount, VK_REMAINING_ARRAY_LAYERS, range->baseArrayLayer, max_layers);
   if (span_ok(range->baseMipLevel, levels, max_levels) && span_ok(range->baseArrayLayer, layers, max_layers))
      return true;
   vs_runner_fail(runner, "%s: mips [%u, +%u), %s [%u, +%u) are outside image %llu (%u mips, %u %s)", cmd,
                    range->baseMipLevel, range->levelCount, slices_of_3d ? "slices" : "layers", range->baseArrayLayer,
                    range->layerCount, U(obj->id), max_levels, max_layers, slices_of_3d ? "slices" : "layers");
   return false;
}

bool
vs_check_image_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj,
                     const VkImageSubresourceRange *range)
{
   return image_range(runner, cmd, obj, range, false);
}

bool
vs_check_image_view_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj, VkImageViewType view_type,
                          const VkImageSubresourceRange *range)
{
   if (!obj)
      return image_range(runner, cmd, obj, range, false);
   const struct vs_image *image = vs_image_from(obj);
   bool slices = image->type == VK_IMAGE_TYPE_3D &&
                 (view_type == VK_IMAGE_VIEW_TYPE_2D || view_type == VK_IMAGE_VIEW_TYPE_2D_ARRAY) &&
                 (image->host_flags &
                  (VK_IMAGE_CREATE_2D_ARRAY_COMPATIBLE_BIT | VK_IMAGE_CREATE_2D_VIEW_COMPATIBLE_BIT_EXT));
   return image_range(runner, cmd, obj, range, slices);
}

/* The texel block of an image's aspect; 1x1x1 where none is known (the
 * box is then measured in texels). */
static struct vn_format_block
image_block(const struct vs_image *image, VkImageAspectFlags aspect)
{
   struct vn_format_block b;
   if (!vn_format_block(image->format, aspect, &b) || !b.width || !b.height || !b.depth)
      b = (struct vn_format_block){ 0, 1, 1, 1 };
   return b;
}

/* A box of `blocks` texel blocks (of `block`) at `offset` (texels, on
 * block boundaries) inside one mip level. A copy's partial edge block is
 * a whole block to the host. depth_is_layers: the 2D side of a copy
 * between a 3D and a 2D image, whose depth runs across array layers from
 * the base layer (VkImageCopy: "each slice of the 3D image is copied to
 * or from a different layer"). */
static bool
block_box(struct vs_runner *runner, const char *cmd, struct vs_object *obj, const VkImageSubresourceLayers *sub,
          VkOffset3D offset, const uint64_t blocks[3], struct vn_format_block block, bool depth_is_layers)
{
   if (!vs_check_image_layers(runner, cmd, obj, sub))
      return false;
   const struct vs_image *image = vs_image_from(obj);
   const uint32_t size[3] = { mip_extent(image->extent.width, sub->mipLevel),
                              mip_extent(image->extent.height, sub->mipLevel),
                              mip_extent(image->extent.depth, sub->mipLevel) };
   const uint32_t dim[3] = { block.width, block.height, block.depth };
   const int32_t off[3] = { offset.x, offset.y, offset.z };
   bool ok = !depth_is_layers || span_ok(sub->baseArrayLayer, blocks[2], image->array_layers);
   for (int i = 0; i < 3 && ok; i++) {
      uint64_t count = depth_is_layers && i == 2 ? 1 : blocks[i];
      ok = off[i] >= 0 && off[i] % dim[i] == 0 &&
           span_ok((uint64_t)off[i] / dim[i], count, ((uint64_t)size[i] + dim[i] - 1) / dim[i]);
   }
   if (ok)
      return true;
   vs_runner_fail(runner, "%s: box (%d,%d,%d)+(%llu,%llu,%llu) of %ux%u blocks%s is outside mip %u (%ux%ux%u) of image "
                          "%llu (%u layers)",
                    cmd, offset.x, offset.y, offset.z, U(blocks[0]), U(blocks[1]), U(blocks[2]), block.width,
                    block.height, depth_is_layers ? " (depth in layers)" : "", sub->mipLevel, size[0], size[1], size[2],
                    U(obj->id), image->array_layers);
   return false;
}

bool
vs_check_image_box(struct vs_runner *runner, const char *cmd, struct vs_object *obj,
                   const VkImageSubresourceLayers *sub, VkOffset3D offset, VkExtent3D extent)
{
   const uint64_t texels[3] = { extent.width, extent.height, extent.depth };
   return block_box(runner, cmd, obj, sub, offset, texels, (struct vn_format_block){ 0, 1, 1, 1 }, false);
}

/* A vkCmdCopyImage region. The extent is in source texels; both sides
 * copy as many texel blocks, of their own formats (compressed <->
 * uncompressed copies: VkImageCopy). Between a 3D and a 2D image the
 * depth is the 2D side's layer count. */
static bool
image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *src_obj, struct vs_object *dst_obj,
           const VkImageSubresourceLayers *src_sub, VkOffset3D src_offset, const VkImageSubresourceLayers *dst_sub,
           VkOffset3D dst_offset, VkExtent3D extent)
{
   const struct vs_image *src = usable_image(runner, cmd, src_obj);
   const struct vs_image *dst = src ? usable_image(runner, cmd, dst_obj) : NULL;
   if (!dst)
      return false;
   struct vn_format_block sb = image_block(src, src_sub->aspectMask), db = image_block(dst, dst_sub->aspectMask);
   const uint64_t blocks[3] = { ((uint64_t)extent.width + sb.width - 1) / sb.width,
                                ((uint64_t)extent.height + sb.height - 1) / sb.height,
                                ((uint64_t)extent.depth + sb.depth - 1) / sb.depth };
   bool src_3d = src->type == VK_IMAGE_TYPE_3D, dst_3d = dst->type == VK_IMAGE_TYPE_3D;
   return block_box(runner, cmd, src_obj, src_sub, src_offset, blocks, sb, dst_3d && !src_3d) &&
          block_box(runner, cmd, dst_obj, dst_sub, dst_offset, blocks, db, src_3d && !dst_3d);
}

bool
vs_check_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *src, struct vs_object *dst,
                    const VkImageCopy *r)
{
   return image_copy(runner, cmd, src, dst, &r->srcSubresource, r->srcOffset, &r->dstSubresource, r->dstOffset,
                     r->extent);
}

bool
vs_check_image_copy2(struct vs_runner *runner, const char *cmd, struct vs_object *src, struct vs_object *dst,
                     const VkImageCopy2 *r)
{
   return image_copy(runner, cmd, src, dst, &r->srcSubresource, r->srcOffset, &r->dstSubresource, r->dstOffset,
                     r->extent);
}

/* Bytes of buffer a copy region touches, from the format's block size. */
static bool
copy_footprint(const struct vs_image *image, VkImageAspectFlags aspect, uint32_t row_length, uint32_t image_height,
               VkExtent3D extent, uint32_t layers, unsigned __int128 *bytes)
{
   struct vn_format_block block;
   if (!vn_format_block(image->format, aspect, &block))
      return false;
   uint64_t row = row_length ? row_length : extent.width;
   uint64_t height = image_height ? image_height : extent.height;
   uint64_t row_blocks = (row + block.width - 1) / block.width;
   uint64_t column_blocks = (height + block.height - 1) / block.height;
   uint64_t last_row = (extent.width + block.width - 1) / block.width;
   uint64_t rows = (extent.height + block.height - 1) / block.height;
   unsigned __int128 slices = (unsigned __int128)layers * extent.depth;
   if (!slices || !rows || !last_row)
      return false;
   *bytes = ((slices - 1) * column_blocks + (rows - 1)) * row_blocks * block.bytes + last_row * block.bytes;
   return true;
}

static bool
buffer_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *buffer_obj, struct vs_object *image_obj,
                  VkDeviceSize offset, uint32_t row_length, uint32_t image_height,
                  const VkImageSubresourceLayers *sub, VkOffset3D image_offset, VkExtent3D extent)
{
   if (!vs_check_image_box(runner, cmd, image_obj, sub, image_offset, extent))
      return false;
   if (!usable_buffer(runner, cmd, buffer_obj))
      return false;
   const struct vs_image *image = vs_image_from(image_obj);
   uint32_t layers = sub->layerCount == VK_REMAINING_ARRAY_LAYERS ? image->array_layers - sub->baseArrayLayer
                                                                   : sub->layerCount;
   unsigned __int128 bytes;
   if ((row_length && row_length < extent.width) || (image_height && image_height < extent.height) ||
       !copy_footprint(image, sub->aspectMask, row_length, image_height, extent, layers, &bytes) ||
       bytes > UINT64_MAX) {
      vs_runner_fail(runner, "%s: buffer layout (row %u, height %u, aspect 0x%x) does not fit %ux%ux%u of format %d",
                       cmd, row_length, image_height, sub->aspectMask, extent.width, extent.height, extent.depth,
                       image->format);
      return false;
   }
   return vs_check_buffer_range(runner, cmd, buffer_obj, offset, (VkDeviceSize)bytes);
}

bool
vs_check_buffer_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                           struct vs_object *image, const VkBufferImageCopy *r)
{
   return buffer_image_copy(runner, cmd, buffer, image, r->bufferOffset, r->bufferRowLength, r->bufferImageHeight,
                            &r->imageSubresource, r->imageOffset, r->imageExtent);
}

bool
vs_check_buffer_image_copy2(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                            struct vs_object *image, const VkBufferImageCopy2 *r)
{
   return buffer_image_copy(runner, cmd, buffer, image, r->bufferOffset, r->bufferRowLength, r->bufferImageHeight,
                            &r->imageSubresource, r->imageOffset, r->imageExtent);
}

/* Host memcpy bytes of `layers` layers from `sub` (VK_HOST_IMAGE_COPY_MEMCPY:
 * the host's own layout, asked of the host). */
static bool
host_memcpy_size(struct vs_object *image_obj, const VkImageSubresourceLayers *sub, uint32_t layers,
                 unsigned __int128 *bytes)
{
   const struct vs_object *device = image_obj->parent;
   if (!device || !device->dt || !device->dt->GetImageSubresourceLayout2)
      return false;
   *bytes = 0;
   for (uint32_t i = 0; i < layers; i++) {
      VkSubresourceHostMemcpySize size = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_HOST_MEMCPY_SIZE };
      VkSubresourceLayout2 layout = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_LAYOUT_2, .pNext = &size };
      const VkImageSubresource2 subres = {
         .sType = VK_STRUCTURE_TYPE_IMAGE_SUBRESOURCE_2,
         .imageSubresource = { sub->aspectMask, sub->mipLevel, sub->baseArrayLayer + i },
      };
      device->dt->GetImageSubresourceLayout2((VkDevice)(uintptr_t)device->handle, (VkImage)(uintptr_t)image_obj->handle,
                                             &subres, &layout);
      *bytes += size.size;
   }
   return true;
}

bool
vs_check_host_image_copy(struct vs_runner *runner, const char *cmd, struct vs_object *image_obj,
                         VkHostImageCopyFlags flags, uint64_t data_size, uint32_t row_length, uint32_t image_height,
                         const VkImageSubresourceLayers *sub, VkOffset3D offset, VkExtent3D extent)
{
   if (!vs_check_image_box(runner, cmd, image_obj, sub, offset, extent))
      return false;
   const struct vs_image *image = vs_image_from(image_obj);
   uint32_t layers = sub->layerCount == VK_REMAINING_ARRAY_LAYERS ? image->array_layers - sub->baseArrayLayer
                                                                   : sub->layerCount;
   unsigned __int128 bytes;
   bool ok;
   if (flags & VK_HOST_IMAGE_COPY_MEMCPY_BIT)
      ok = host_memcpy_size(image_obj, sub, layers, &bytes);
   else
      ok = !(row_length && row_length < extent.width) && !(image_height && image_height < extent.height) &&
           copy_footprint(image, sub->aspectMask, row_length, image_height, extent, layers, &bytes);
   if (!ok || bytes > data_size) {
      vs_runner_fail(runner, "%s: %llu bytes of host memory do not hold %ux%ux%u (row %u, height %u, flags 0x%x) "
                             "of image %llu, format %d",
                       cmd, U(data_size), extent.width, extent.height, extent.depth, row_length, image_height, flags,
                       U(image_obj->id), image->format);
      return false;
   }
   return true;
}

/* The elements a set really has in binding index i of its layout. */
static uint32_t
binding_size(const struct vs_descriptor_layout *l, uint32_t variable_count, uint32_t i)
{
   return l->variable && i == l->binding_count - 1 ? variable_count : l->bindings[i].count;
}

/* Where a descriptor update lands: set `set_id` (for the log) of layout l.
 * An update that overflows its binding goes on into the next non-empty
 * bindings, which must be of the same type (Vulkan's consecutive binding
 * updates); inline uniform blocks count bytes and stay in their binding. */
struct descriptor_target {
   const char *what;                 /* "dst" or "src", for the log */
   uint64_t set_id;
   const struct vs_descriptor_layout *layout;
   uint32_t variable_count;
};

/* The binding that elements [element, +count) of `binding` start in, all
 * of them inside the set; NULL after failing the context. */
static const struct vs_descriptor_binding *
descriptor_range(struct vs_runner *runner, const char *cmd, const struct descriptor_target *t, uint32_t binding,
                 uint32_t element, uint32_t count)
{
   const struct vs_descriptor_layout *l = t->layout;
   uint32_t lo = 0, hi = l->binding_count;
   while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (l->bindings[mid].binding < binding)
         lo = mid + 1;
      else
         hi = mid;
   }
   if (lo == l->binding_count || l->bindings[lo].binding != binding) {
      vs_runner_fail(runner, "%s: %s binding %u is not in set %llu", cmd, t->what, binding, U(t->set_id));
      return NULL;
   }
   const struct vs_descriptor_binding *first = &l->bindings[lo];
   uint32_t size = binding_size(l, t->variable_count, lo);
   if (element > size || (count && element == size)) {
      vs_runner_fail(runner, "%s: %s element %u is outside binding %u (%u) of set %llu", cmd, t->what, element,
                       binding, size, U(t->set_id));
      return NULL;
   }
   uint32_t left = count - (count < size - element ? count : size - element);
   for (uint32_t i = lo + 1; left && first->type != VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK && i < l->binding_count;
        i++) {
      uint32_t next = binding_size(l, t->variable_count, i);
      if (!next)
         continue;
      if (l->bindings[i].type != first->type) {
         vs_runner_fail(runner, "%s: %s elements [%u, +%u) of binding %u run into binding %u of another type in set "
                                "%llu",
                          cmd, t->what, element, count, binding, l->bindings[i].binding, U(t->set_id));
         return NULL;
      }
      left -= left < next ? left : next;
   }
   if (left) {
      vs_runner_fail(runner, "%s: %s elements [%u, +%u) of binding %u run past the end of set %llu", cmd, t->what,
                       element, count, binding, U(t->set_id));
      return NULL;
   }
   return first;
}

/* A write of `type` into a binding of binding_type. */
static bool
descriptor_type_fits(VkDescriptorType type, VkDescriptorType binding_type)
{
   if (binding_type != VK_DESCRIPTOR_TYPE_MUTABLE_EXT)
      return type == binding_type;
   /* What a mutable binding can never hold (VK_EXT_mutable_descriptor_type). */
   return type != VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK && type != VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC &&
          type != VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC && type != VK_DESCRIPTOR_TYPE_MUTABLE_EXT;
}

/* The set a write or copy names, as a target; false after failing. */
static bool
descriptor_set_target(struct vs_runner *runner, const char *cmd, const char *what, const VkDescriptorSet *field,
                      struct descriptor_target *t)
{
   struct vs_object *obj = vs_runner_nested_object(runner, field);
   if (!obj) {
      vs_runner_fail(runner, "%s: no %s descriptor set", cmd, what);
      return false;
   }
   const struct vs_descriptor_set *set = vs_descriptor_set_from(obj);
   *t = (struct descriptor_target){ what, obj->id, set->layout, set->variable_count };
   return true;
}

/* The arrays a write of its type reads, present; buffer ranges inside
 * their buffers. */
static bool
descriptor_write_data(struct vs_runner *runner, const char *cmd, const VkWriteDescriptorSet *w,
                      const struct vs_descriptor_binding *binding)
{
   switch (w->descriptorType) {
   case VK_DESCRIPTOR_TYPE_SAMPLER:
      return binding->immutable_samplers ||
             vs_check_present(runner, cmd, w->pImageInfo, w->descriptorCount, "pImageInfo");
   case VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER:
   case VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE:
   case VK_DESCRIPTOR_TYPE_STORAGE_IMAGE:
   case VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT:
      return vs_check_present(runner, cmd, w->pImageInfo, w->descriptorCount, "pImageInfo");
   case VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER:
      return vs_check_present(runner, cmd, w->pTexelBufferView, w->descriptorCount, "pTexelBufferView");
   case VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK: {
      const VkWriteDescriptorSetInlineUniformBlock *block =
         vs_chain_find(w, VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET_INLINE_UNIFORM_BLOCK);
      if (!block || block->dataSize != w->descriptorCount) {
         vs_runner_fail(runner, "%s: inline uniform block write of %u bytes carries %u", cmd, w->descriptorCount,
                          block ? block->dataSize : 0);
         return false;
      }
      return vs_check_present(runner, cmd, block->pData, block->dataSize, "pData");
   }
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER:
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC:
      break;
   default:
      return true;
   }
   if (!vs_check_present(runner, cmd, w->pBufferInfo, w->descriptorCount, "pBufferInfo"))
      return false;
   for (uint32_t j = 0; j < w->descriptorCount; j++) {
      const VkDescriptorBufferInfo *b = &w->pBufferInfo[j];
      /* A null buffer is a null descriptor (VK_EXT_robustness2). */
      struct vs_object *buffer = vs_runner_nested_object(runner, &b->buffer);
      if (buffer && !buffer_range(runner, cmd, buffer, b->offset, b->range, true))
         return false;
   }
   return true;
}

/* Writes into their dstSet, or into `push` (vkCmdPushDescriptorSet, whose
 * writes have no set). */
static bool
descriptor_writes(struct vs_runner *runner, const char *cmd, uint32_t count, const VkWriteDescriptorSet *writes,
                  const struct descriptor_target *push)
{
   if (!vs_check_present(runner, cmd, writes, count, "pDescriptorWrites"))
      return false;
   for (uint32_t i = 0; i < count; i++) {
      const VkWriteDescriptorSet *w = &writes[i];
      struct descriptor_target t;
      if (push)
         t = *push;
      else if (!descriptor_set_target(runner, cmd, "dst", &w->dstSet, &t))
         return false;
      const struct vs_descriptor_binding *binding =
         descriptor_range(runner, cmd, &t, w->dstBinding, w->dstArrayElement, w->descriptorCount);
      if (!binding)
         return false;
      if (!descriptor_type_fits(w->descriptorType, binding->type)) {
         vs_runner_fail(runner, "%s: write of descriptor type %d into binding %u of type %d in set %llu", cmd,
                          (int)w->descriptorType, w->dstBinding, (int)binding->type, U(t.set_id));
         return false;
      }
      if (!descriptor_write_data(runner, cmd, w, binding))
         return false;
   }
   return true;
}

bool
vs_check_descriptor_writes(struct vs_runner *runner, const char *cmd, uint32_t count,
                           const VkWriteDescriptorSet *writes)
{
   return descriptor_writes(runner, cmd, count, writes, NULL);
}

bool
vs_check_descriptor_copies(struct vs_runner *runner, const char *cmd, uint32_t count,
                           const VkCopyDescriptorSet *copies)
{
   if (!vs_check_present(runner, cmd, copies, count, "pDescriptorCopies"))
      return false;
   for (uint32_t i = 0; i < count; i++) {
      const VkCopyDescriptorSet *c = &copies[i];
      struct descriptor_target src, dst;
      if (!descriptor_set_target(runner, cmd, "src", &c->srcSet, &src) ||
          !descriptor_set_target(runner, cmd, "dst", &c->dstSet, &dst))
         return false;
      const struct vs_descriptor_binding *from =
         descriptor_range(runner, cmd, &src, c->srcBinding, c->srcArrayElement, c->descriptorCount);
      const struct vs_descriptor_binding *to =
         from ? descriptor_range(runner, cmd, &dst, c->dstBinding, c->dstArrayElement, c->descriptorCount) : NULL;
      if (!to)
         return false;
      if (from->type != to->type) {
         vs_runner_fail(runner, "%s: copy from binding %u of type %d in set %llu to binding %u of type %d in set %llu",
                          cmd, c->srcBinding, (int)from->type, U(src.set_id), c->dstBinding, (int)to->type,
                          U(dst.set_id));
         return false;
      }
   }
   return true;
}

bool
vs_check_descriptor_push(struct vs_runner *runner, const char *cmd, struct vs_object *layout, uint32_t set,
                         uint32_t count, const VkWriteDescriptorSet *writes)
{
   const struct vs_pipeline_layout *pl = vs_pipeline_layout_from(layout);
   if (set >= pl->set_count || !pl->sets[set]) {
      vs_runner_fail(runner, "%s: pipeline layout %llu has no set %u", cmd, U(layout->id), set);
      return false;
   }
   /* A push descriptor layout has no variable count: Vulkan forbids it,
    * and 0 is the count that keeps a lying one inside. */
   const struct descriptor_target push = { "pushed", layout->id, pl->sets[set], 0 };
   return descriptor_writes(runner, cmd, count, writes, &push);
}

bool
vs_check_query_range(struct vs_runner *runner, const char *cmd, struct vs_object *obj, uint64_t first, uint64_t count)
{
   const struct vs_query_pool *pool = vs_query_pool_from(obj);
   if (first <= pool->count && count <= pool->count - first)
      return true;
   vs_runner_fail(runner, "%s: queries [%llu, +%llu) are outside pool %llu of %u", cmd, U(first), U(count),
                    U(obj->id), pool->count);
   return false;
}

const char *
vs_device_queue_flags_error(const VkDeviceCreateInfo *ci, const VkQueueFamilyProperties *families, char *buf,
                            size_t size)
{
   const VkPhysicalDeviceProtectedMemoryFeatures *protected_features =
      vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROTECTED_MEMORY_FEATURES);
   const VkPhysicalDeviceVulkan11Features *v11 = vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES);
   const bool protected_memory = (protected_features && protected_features->protectedMemory) ||
                                 (v11 && v11->protectedMemory);
   for (uint32_t i = 0; i < ci->queueCreateInfoCount; i++) {
      const VkDeviceQueueCreateInfo *q = &ci->pQueueCreateInfos[i];
      const char *why = NULL;
      if (q->flags & ~(VkDeviceQueueCreateFlags)VK_DEVICE_QUEUE_CREATE_PROTECTED_BIT)
         why = "has flags Vulkan does not define (VUID-VkDeviceQueueCreateInfo-flags-parameter)";
      else if (!q->flags)
         continue;
      else if (!protected_memory)
         why = "asks for protected queues without the protectedMemory feature enabled "
               "(VUID-VkDeviceQueueCreateInfo-flags-02861)";
      else if (!(families[q->queueFamilyIndex].queueFlags & VK_QUEUE_PROTECTED_BIT))
         why = "asks for protected queues of a family without VK_QUEUE_PROTECTED_BIT "
               "(VUID-VkDeviceQueueCreateInfo-flags-06449)";
      if (why) {
         snprintf(buf, size, "queue create info %u (family %u, flags 0x%x) %s", i, q->queueFamilyIndex,
                  (unsigned)q->flags, why);
         return buf;
      }
   }
   return NULL;
}

bool
vs_query_pool_shape(const VkQueryPoolCreateInfo *ci, struct vs_query_pool *pool)
{
   pool->count = ci->queryCount;
   pool->value_bytes = 0;
   switch ((int)ci->queryType) {
   case VK_QUERY_TYPE_PIPELINE_STATISTICS:
      pool->values = (uint32_t)__builtin_popcount(ci->pipelineStatistics);
      return true;
   case VK_QUERY_TYPE_TRANSFORM_FEEDBACK_STREAM_EXT:
      pool->values = 2; /* primitives written, primitives needed */
      return true;
   case VK_QUERY_TYPE_OCCLUSION:
   case VK_QUERY_TYPE_TIMESTAMP:
   case VK_QUERY_TYPE_PRIMITIVES_GENERATED_EXT:
   case VK_QUERY_TYPE_MESH_PRIMITIVES_GENERATED_EXT:
   case VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_KHR:
   case VK_QUERY_TYPE_ACCELERATION_STRUCTURE_SERIALIZATION_SIZE_KHR:
   case VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_NV:
   case VK_QUERY_TYPE_ACCELERATION_STRUCTURE_SERIALIZATION_BOTTOM_LEVEL_POINTERS_KHR:
   case VK_QUERY_TYPE_ACCELERATION_STRUCTURE_SIZE_KHR:
   case VK_QUERY_TYPE_MICROMAP_SERIALIZATION_SIZE_EXT:
   case VK_QUERY_TYPE_MICROMAP_COMPACTED_SIZE_EXT:
      pool->values = 1;
      return true;
   case VK_QUERY_TYPE_RESULT_STATUS_ONLY_KHR:
      pool->values = 0; /* only the status word */
      return true;
   case VK_QUERY_TYPE_VIDEO_ENCODE_FEEDBACK_KHR: {
      const VkQueryPoolVideoEncodeFeedbackCreateInfoKHR *fb =
         vs_chain_find(ci, VK_STRUCTURE_TYPE_QUERY_POOL_VIDEO_ENCODE_FEEDBACK_CREATE_INFO_KHR);
      pool->values = fb ? (uint32_t)__builtin_popcount(fb->encodeFeedbackFlags) : 0;
      return true;
   }
   case VK_QUERY_TYPE_PERFORMANCE_QUERY_KHR: {
      /* One VkPerformanceCounterResultKHR per counter, whatever the flags. */
      const VkQueryPoolPerformanceCreateInfoKHR *perf =
         vs_chain_find(ci, VK_STRUCTURE_TYPE_QUERY_POOL_PERFORMANCE_CREATE_INFO_KHR);
      if (!perf)
         return false;
      pool->values = perf->counterIndexCount;
      pool->value_bytes = sizeof(VkPerformanceCounterResultKHR);
      return true;
   }
   default:
      return false; /* VK_QUERY_TYPE_PERFORMANCE_QUERY_INTEL: a size only the host knows */
   }
}

/* Bytes one query's results take, availability or status included. */
uint64_t
vs_query_result_bytes(const struct vs_query_pool *pool, VkQueryResultFlags flags)
{
   uint64_t values = pool->values;
   if (flags & (VK_QUERY_RESULT_WITH_AVAILABILITY_BIT | VK_QUERY_RESULT_WITH_STATUS_BIT_KHR))
      values++;
   uint64_t value_bytes = pool->value_bytes ? pool->value_bytes : flags & VK_QUERY_RESULT_64_BIT ? 8 : 4;
   return values * value_bytes;
}

bool
vs_check_query_results(struct vs_runner *runner, const char *cmd, struct vs_object *obj, const void *data,
                       uint64_t size, uint64_t count, VkDeviceSize stride, VkQueryResultFlags flags)
{
   if (!vs_check_present(runner, cmd, data, size, "pData"))
      return false;
   if (!count)
      return true;
   unsigned __int128 need = (unsigned __int128)(count - 1) * stride + vs_query_result_bytes(vs_query_pool_from(obj), flags);
   if (need <= size)
      return true;
   vs_runner_fail(runner, "%s: %llu results %llu bytes apart do not fit %llu bytes", cmd, U(count), U(stride),
                    U(size));
   return false;
}

bool
vs_check_query_copy(struct vs_runner *runner, const char *cmd, struct vs_object *pool, struct vs_object *buffer,
                    VkDeviceSize offset, uint64_t count, VkDeviceSize stride, VkQueryResultFlags flags)
{
   return vs_check_buffer_strided(runner, cmd, buffer, offset, count, stride,
                                  vs_query_result_bytes(vs_query_pool_from(pool), flags));
}

static bool
sparse_memory_ok(struct vs_runner *runner, const char *cmd, const VkSparseMemoryBind *b)
{
   struct vs_object *memory = vs_runner_nested_object(runner, &b->memory);
   if (!memory)
      return true; /* an unbind */
   const struct vs_device_memory *mem = vs_device_memory_from(memory);
   if (b->memoryOffset <= mem->size && b->size <= mem->size - b->memoryOffset)
      return true;
   vs_runner_fail(runner, "%s: sparse bind [%llu, +%llu) is outside memory %llu of %llu bytes", cmd,
                    U(b->memoryOffset), U(b->size), U(memory->id), U(mem->size));
   return false;
}

bool
vs_check_sparse_binds(struct vs_runner *runner, const char *cmd, uint32_t count, const VkBindSparseInfo *infos)
{
   if (!vs_check_present(runner, cmd, infos, count, "pBindInfo"))
      return false;
   for (uint32_t i = 0; i < count; i++) {
      const VkBindSparseInfo *info = &infos[i];
      if (!vs_check_present(runner, cmd, info->pBufferBinds, info->bufferBindCount, "pBufferBinds") ||
          !vs_check_present(runner, cmd, info->pImageOpaqueBinds, info->imageOpaqueBindCount, "pImageOpaqueBinds") ||
          !vs_check_present(runner, cmd, info->pImageBinds, info->imageBindCount, "pImageBinds"))
         return false;
      for (uint32_t j = 0; j < info->bufferBindCount; j++) {
         const VkSparseBufferMemoryBindInfo *bb = &info->pBufferBinds[j];
         if (!vs_check_present(runner, cmd, bb->pBinds, bb->bindCount, "pBinds"))
            return false;
         for (uint32_t k = 0; k < bb->bindCount; k++) {
            if (!sparse_memory_ok(runner, cmd, &bb->pBinds[k]))
               return false;
         }
      }
      for (uint32_t j = 0; j < info->imageOpaqueBindCount; j++) {
         const VkSparseImageOpaqueMemoryBindInfo *ob = &info->pImageOpaqueBinds[j];
         if (!vs_check_present(runner, cmd, ob->pBinds, ob->bindCount, "pBinds"))
            return false;
         for (uint32_t k = 0; k < ob->bindCount; k++) {
            if (!sparse_memory_ok(runner, cmd, &ob->pBinds[k]))
               return false;
         }
      }
      for (uint32_t j = 0; j < info->imageBindCount; j++) {
         const VkSparseImageMemoryBindInfo *ib = &info->pImageBinds[j];
         if (!vs_check_present(runner, cmd, ib->pBinds, ib->bindCount, "pBinds"))
            return false;
         for (uint32_t k = 0; k < ib->bindCount; k++) {
            const VkSparseImageMemoryBind *b = &ib->pBinds[k];
            struct vs_object *memory = vs_runner_nested_object(runner, &b->memory);
            if (memory && b->memoryOffset > vs_device_memory_from(memory)->size) {
               vs_runner_fail(runner, "%s: sparse image bind at %llu is outside memory %llu", cmd, U(b->memoryOffset),
                                U(memory->id));
               return false;
            }
         }
      }
   }
   return true;
}

bool
vs_check_pipeline_bound(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                        VkPipelineBindPoint bind_point)
{
   uint32_t flag = bind_point == VK_PIPELINE_BIND_POINT_COMPUTE           ? VS_OBJECT_COMPUTE_PIPELINE_BOUND
                   : bind_point == VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR ? VS_OBJECT_RAY_TRACING_PIPELINE_BOUND
                                                                          : VS_OBJECT_GRAPHICS_PIPELINE_BOUND;
   if (command_buffer->flags & flag)
      return true;
   vs_runner_fail(runner, "%s: command buffer %llu has no %s pipeline bound", cmd, U(command_buffer->id),
                  bind_point == VK_PIPELINE_BIND_POINT_COMPUTE           ? "compute"
                  : bind_point == VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR ? "ray tracing"
                                                                         : "graphics");
   return false;
}

bool
vs_check_missing(struct vs_runner *runner, const char *cmd, uint64_t count, const char *what)
{
   vs_runner_fail(runner, "%s: %s missing for a count of %llu", cmd, what, U(count));
   return false;
}

bool
vs_check_dependency_infos(struct vs_runner *runner, const char *cmd, uint32_t count, const VkDependencyInfo *infos)
{
   if (!vs_check_present(runner, cmd, infos, count, "pDependencyInfos"))
      return false;
   for (uint32_t i = 0; i < count; i++) {
      const VkDependencyInfo *info = &infos[i];
      if (!vs_check_present(runner, cmd, info->pBufferMemoryBarriers, info->bufferMemoryBarrierCount,
                            "pBufferMemoryBarriers") ||
          !vs_check_present(runner, cmd, info->pImageMemoryBarriers, info->imageMemoryBarrierCount,
                            "pImageMemoryBarriers"))
         return false;
      for (uint32_t j = 0; j < info->bufferMemoryBarrierCount; j++) {
         const VkBufferMemoryBarrier2 *b = &info->pBufferMemoryBarriers[j];
         if (!vs_check_buffer_range_whole(runner, cmd, vs_runner_nested_object(runner, &b->buffer), b->offset, b->size))
            return false;
      }
      for (uint32_t j = 0; j < info->imageMemoryBarrierCount; j++) {
         const VkImageMemoryBarrier2 *b = &info->pImageMemoryBarriers[j];
         if (!vs_check_image_range(runner, cmd, vs_runner_nested_object(runner, &b->image), &b->subresourceRange))
            return false;
      }
   }
   return true;
}

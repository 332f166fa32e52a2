/* The index checks of validate.h: first* indices and counts into the host
 * driver's state arrays, bounded by the host's limits; push constant
 * ranges; descriptor set binds; optional buffer ranges. Drivers keep such
 * state in fixed arrays and index them as Vulkan lets them: an index past
 * the limit writes past the array, in the server's heap. */
#include "dispatch/validate.h"

#include <string.h>

#include "dispatch/objects.h"
#include "venus/dispatch.h"

#define U(x) ((unsigned long long)(x))

bool
vs_check_index_range(struct vs_dispatch *disp, const char *cmd, struct vs_object *command_buffer, uint64_t first,
                     uint64_t count, size_t limit_offset, const char *limit_name)
{
   const struct vs_physical_device *phys = vs_physical_device_from(vs_device_of(command_buffer)->physical);
   uint32_t limit;
   memcpy(&limit, (const char *)&phys->index_limits + limit_offset, sizeof(limit));
   if (first <= limit && count <= limit - first)
      return true;
   vs_dispatch_fail(disp, "%s: [%llu, +%llu) is past the device's %s of %u", cmd, U(first), U(count), limit_name,
                    limit);
   return false;
}

bool
vs_check_buffer_range_opt(struct vs_dispatch *disp, const char *cmd, struct vs_object *buffer, VkDeviceSize offset,
                          const VkDeviceSize *size)
{
   if (!buffer)
      return true;
   return vs_check_buffer_range_whole(disp, cmd, buffer, offset, size ? *size : VK_WHOLE_SIZE);
}

bool
vs_check_counter_buffer(struct vs_dispatch *disp, const char *cmd, struct vs_object *buffer,
                        const VkDeviceSize *offset)
{
   if (!buffer)
      return true;
   return vs_check_buffer_range(disp, cmd, buffer, offset ? *offset : 0, 4);
}

/* Whether the layout's ranges with `stage` cover [offset, end), walked
 * range by range; *gap is the first byte they miss. */
static bool
push_covered(const struct vs_pipeline_layout *pl, VkShaderStageFlags stage, uint64_t offset, uint64_t end,
             uint64_t *gap)
{
   for (uint64_t at = offset; at < end;) {
      uint64_t reach = at;
      for (uint32_t i = 0; i < pl->push_range_count; i++) {
         const VkPushConstantRange *r = &pl->push_ranges[i];
         uint64_t r_end = (uint64_t)r->offset + r->size;
         if ((r->stageFlags & stage) && r->offset <= at && r_end > reach)
            reach = r_end;
      }
      if (reach == at) {
         *gap = at;
         return false;
      }
      at = reach;
   }
   return true;
}

bool
vs_check_push_constants(struct vs_dispatch *disp, const char *cmd, struct vs_object *layout,
                        VkShaderStageFlags stages, uint32_t offset, uint32_t size)
{
   const struct vs_pipeline_layout *pl = vs_pipeline_layout_from(layout);
   if (!stages) {
      vs_dispatch_fail(disp, "%s: bytes [%u, +%u) for no shader stage", cmd, offset, size);
      return false;
   }
   /* Each stage asked for: every byte in one of the ranges of that stage. */
   for (VkShaderStageFlags left = stages; left; left &= left - 1) {
      VkShaderStageFlags stage = left & -left;
      uint64_t gap;
      if (!push_covered(pl, stage, offset, (uint64_t)offset + size, &gap)) {
         vs_dispatch_fail(disp, "%s: bytes [%u, +%u): byte %llu is in no push constant range of stage 0x%x in "
                                "pipeline layout %llu",
                          cmd, offset, size, U(gap), stage, U(layout->id));
         return false;
      }
   }
   return true;
}

bool
vs_check_rendering_layers(struct vs_dispatch *disp, const char *cmd, struct vs_object *command_buffer,
                          const VkRenderingInfo *info)
{
   /* With multiview (a view mask) layerCount is not used. */
   return info->viewMask ||
          vs_check_index_range(disp, cmd, command_buffer, 0, info->layerCount, VS_LIMIT(maxFramebufferLayers));
}

static uint32_t
dynamic_descriptors(const struct vs_descriptor_set *set)
{
   const struct vs_descriptor_layout *l = set->layout;
   uint32_t n = 0;
   for (uint32_t b = 0; b < l->binding_count; b++) {
      const struct vs_descriptor_binding *binding = &l->bindings[b];
      if (binding->type != VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC &&
          binding->type != VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC)
         continue;
      n += l->variable && b + 1 == l->binding_count ? set->variable_count : binding->count;
   }
   return n;
}

bool
vs_check_descriptor_sets_bind(struct vs_dispatch *disp, const char *cmd, struct vs_object *layout, uint32_t first,
                              uint32_t count, struct vs_object *const *sets, uint32_t dynamic_count,
                              const uint32_t *dynamic_offsets)
{
   const struct vs_pipeline_layout *pl = vs_pipeline_layout_from(layout);
   if (first > pl->set_count || count > pl->set_count - first) {
      vs_dispatch_fail(disp, "%s: sets [%u, +%u) are past the %u of pipeline layout %llu", cmd, first, count,
                       pl->set_count, U(layout->id));
      return false;
   }
   if (!vs_check_present(disp, cmd, sets, count, "pDescriptorSets") ||
       !vs_check_present(disp, cmd, dynamic_offsets, dynamic_count, "pDynamicOffsets"))
      return false;
   uint64_t dynamic = 0;
   for (uint32_t i = 0; i < count; i++) {
      /* A null set is allowed (graphics pipeline libraries' independent sets). */
      if (sets[i])
         dynamic += dynamic_descriptors(vs_descriptor_set_from(sets[i]));
   }
   if (dynamic == dynamic_count)
      return true;
   vs_dispatch_fail(disp, "%s: %u dynamic offsets for %llu dynamic descriptors", cmd, dynamic_count, U(dynamic));
   return false;
}

bool
vs_check_clear_attachment(struct vs_dispatch *disp, const char *cmd, struct vs_object *command_buffer,
                          const VkClearAttachment *attachment)
{
   if (!(attachment->aspectMask & VK_IMAGE_ASPECT_COLOR_BIT))
      return true;
   return vs_check_index_range(disp, cmd, command_buffer, attachment->colorAttachment, 1,
                               VS_LIMIT(maxColorAttachments));
}

bool
vs_check_memory_range(struct vs_dispatch *disp, const char *cmd, struct vs_object *memory, VkDeviceSize offset,
                      VkDeviceSize size)
{
   if (!memory) {
      vs_dispatch_fail(disp, "%s: no memory", cmd);
      return false;
   }
   const struct vs_device_memory *mem = vs_device_memory_from(memory);
   if (offset <= mem->size && (size == VK_WHOLE_SIZE || size <= mem->size - offset))
      return true;
   vs_dispatch_fail(disp, "%s: range [%llu, +%llu) is outside memory %llu of %llu bytes", cmd, U(offset), U(size),
                    U(memory->id), U(mem->size));
   return false;
}

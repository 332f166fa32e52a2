/* SPDX-License-Identifier: MIT */
/* The index checks of validate.h: first* indices and counts into the host
 * driver's state arrays, bounded by the host's limits; push constant
 * ranges; descriptor set binds; optional buffer ranges. Drivers keep such
 * state in fixed arrays and index them as Vulkan lets them: an index past
 * the limit writes past the array, in the server's heap. */
#include "renderer/validate.h"

#include <string.h>

#include "renderer/objects.h"
#include "base/chain.h"
#include "wire/runner.h"

#define U(x) ((unsigned long long)(x))

bool
vs_check_index_range(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer, uint64_t first,
                     uint64_t count, size_t limit_offset, const char *limit_name)
{
   const struct vs_physical_device *phys = vs_physical_device_from(vs_device_of(command_buffer)->physical);
   uint32_t limit;
   memcpy(&limit, (const char *)&phys->index_limits + limit_offset, sizeof(limit));
   if (first <= limit && count <= limit - first)
      return true;
   vs_runner_fail(runner, "%s: [%llu, +%llu) is past the device's %s of %u", cmd, U(first), U(count), limit_name,
                    limit);
   return false;
}

bool
vs_check_buffer_range_opt(struct vs_runner *runner, const char *cmd, struct vs_object *buffer, VkDeviceSize offset,
                          const VkDeviceSize *size)
{
   if (!buffer)
      return true;
   return vs_check_buffer_range_whole(runner, cmd, buffer, offset, size ? *size : VK_WHOLE_SIZE);
}

bool
vs_check_counter_buffer(struct vs_runner *runner, const char *cmd, struct vs_object *buffer,
                        const VkDeviceSize *offset)
{
   if (!buffer)
      return true;
   return vs_check_buffer_range(runner, cmd, buffer, offset ? *offset : 0, 4);
}

/* Whether the layout's ranges with `stage` cover [offset, end), walked
 * range by range; *gap is the first byte they miss. */
static bool
push_covered(const VkPushConstantRange *ranges, uint32_t range_count, VkShaderStageFlags stage, uint64_t offset,
             uint64_t end, uint64_t *gap)
{
   for (uint64_t at = offset; at < end;) {
      uint64_t reach = at;
      for (uint32_t i = 0; i < range_count; i++) {
         const VkPushConstantRange *r = &ranges[i];
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

/* The push constant checks against `ranges`; `layout_id` names them. */
static bool
push_constants(struct vs_runner *runner, const char *cmd, const VkPushConstantRange *ranges, uint32_t range_count,
               uint64_t layout_id, VkShaderStageFlags stages, uint32_t offset, uint32_t size)
{
   if (!stages) {
      vs_runner_fail(runner, "%s: bytes [%u, +%u) for no shader stage", cmd, offset, size);
      return false;
   }
   /* Each stage asked for: every byte in one of the ranges of that stage. */
   for (VkShaderStageFlags left = stages; left; left &= left - 1) {
      VkShaderStageFlags stage = left & -left;
      uint64_t gap;
      if (!push_covered(ranges, range_count, stage, offset, (uint64_t)offset + size, &gap)) {
         vs_runner_fail(runner, "%s: bytes [%u, +%u): byte %llu is in no push constant range of stage 0x%x in "
                                "pipeline layout %llu",
                          cmd, offset, size, U(gap), stage, U(layout_id));
         return false;
      }
   }
   return true;
}

bool
vs_check_push_constants(struct vs_runner *runner, const char *cmd, struct vs_object *layout,
                        VkShaderStageFlags stages, uint32_t offset, uint32_t size)
{
   const struct vs_pipeline_layout *pl = vs_pipeline_layout_from(layout);
   return push_constants(runner, cmd, pl->push_ranges, pl->push_range_count, layout->id, stages, offset, size);
}

/* A `2` form's layout, or (dynamicPipelineLayout: no layout) the
 * VkPipelineLayoutCreateInfo chained in its place. */
static const VkPipelineLayoutCreateInfo *
chained_layout(struct vs_runner *runner, const char *cmd, struct vs_object *layout, const void *info)
{
   const VkPipelineLayoutCreateInfo *ci = layout ? NULL : vs_chain_find(info, VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
   if (!layout && !ci)
      vs_runner_fail(runner, "%s: no pipeline layout", cmd);
   return ci;
}

bool
vs_check_push_constants2(struct vs_runner *runner, const char *cmd, const VkPushConstantsInfo *info)
{
   struct vs_object *layout = vs_runner_nested_object(runner, &info->layout);
   const VkPipelineLayoutCreateInfo *ci = chained_layout(runner, cmd, layout, info);
   if (layout)
      return vs_check_push_constants(runner, cmd, layout, info->stageFlags, info->offset, info->size);
   return ci && vs_check_present(runner, cmd, ci->pPushConstantRanges, ci->pushConstantRangeCount, "pPushConstantRanges") &&
          push_constants(runner, cmd, ci->pPushConstantRanges, ci->pushConstantRangeCount, 0, info->stageFlags,
                         info->offset, info->size);
}

bool
vs_check_rendering_layers(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                          const VkRenderingInfo *info)
{
   /* With multiview (a view mask) layerCount is not used. */
   return info->viewMask ||
          vs_check_index_range(runner, cmd, command_buffer, 0, info->layerCount, VS_LIMIT(maxFramebufferLayers));
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

/* Sets [first, first + count) of a layout of `set_count` sets, each set
 * object (NULL: none) from `set_at`, and one dynamic offset per dynamic
 * descriptor of theirs. */
static bool
sets_bind(struct vs_runner *runner, const char *cmd, uint64_t layout_id, uint32_t set_count, uint32_t first,
          uint32_t count, struct vs_object *(*set_at)(struct vs_runner *, const void *, uint32_t),
          const void *sets, uint32_t dynamic_count, const uint32_t *dynamic_offsets)
{
   if (first > set_count || count > set_count - first) {
      vs_runner_fail(runner, "%s: sets [%u, +%u) are past the %u of pipeline layout %llu", cmd, first, count,
                       set_count, U(layout_id));
      return false;
   }
   if (!vs_check_present(runner, cmd, sets, count, "pDescriptorSets") ||
       !vs_check_present(runner, cmd, dynamic_offsets, dynamic_count, "pDynamicOffsets"))
      return false;
   uint64_t dynamic = 0;
   for (uint32_t i = 0; i < count; i++) {
      /* A null set is allowed (graphics pipeline libraries' independent sets). */
      struct vs_object *set = set_at(runner, sets, i);
      if (set)
         dynamic += dynamic_descriptors(vs_descriptor_set_from(set));
   }
   if (dynamic == dynamic_count)
      return true;
   vs_runner_fail(runner, "%s: %u dynamic offsets for %llu dynamic descriptors", cmd, dynamic_count, U(dynamic));
   return false;
}

static struct vs_object *
decoded_set(struct vs_runner *runner, const void *sets, uint32_t i)
{
   (void)runner;
   return ((struct vs_object *const *)sets)[i];
}

static struct vs_object *
nested_set(struct vs_runner *runner, const void *sets, uint32_t i)
{
   return vs_runner_nested_object(runner, &((const VkDescriptorSet *)sets)[i]);
}

bool
vs_check_descriptor_sets_bind(struct vs_runner *runner, const char *cmd, struct vs_object *layout, uint32_t first,
                              uint32_t count, struct vs_object *const *sets, uint32_t dynamic_count,
                              const uint32_t *dynamic_offsets)
{
   const struct vs_pipeline_layout *pl = vs_pipeline_layout_from(layout);
   return sets_bind(runner, cmd, layout->id, pl->set_count, first, count, decoded_set, sets, dynamic_count,
                    dynamic_offsets);
}

bool
vs_check_descriptor_sets_bind2(struct vs_runner *runner, const char *cmd, const VkBindDescriptorSetsInfo *info)
{
   struct vs_object *layout = vs_runner_nested_object(runner, &info->layout);
   const VkPipelineLayoutCreateInfo *ci = chained_layout(runner, cmd, layout, info);
   if (!layout && !ci)
      return false;
   uint32_t set_count = layout ? vs_pipeline_layout_from(layout)->set_count : ci->setLayoutCount;
   return sets_bind(runner, cmd, layout ? layout->id : 0, set_count, info->firstSet, info->descriptorSetCount,
                    nested_set, info->pDescriptorSets, info->dynamicOffsetCount, info->pDynamicOffsets);
}

bool
vs_check_clear_attachment(struct vs_runner *runner, const char *cmd, struct vs_object *command_buffer,
                          const VkClearAttachment *attachment)
{
   if (!(attachment->aspectMask & VK_IMAGE_ASPECT_COLOR_BIT))
      return true;
   return vs_check_index_range(runner, cmd, command_buffer, attachment->colorAttachment, 1,
                               VS_LIMIT(maxColorAttachments));
}

bool
vs_check_memory_range(struct vs_runner *runner, const char *cmd, struct vs_object *memory, VkDeviceSize offset,
                      VkDeviceSize size)
{
   if (!memory) {
      vs_runner_fail(runner, "%s: no memory", cmd);
      return false;
   }
   const struct vs_device_memory *mem = vs_device_memory_from(memory);
   if (offset <= mem->size && (size == VK_WHOLE_SIZE || size <= mem->size - offset))
      return true;
   vs_runner_fail(runner, "%s: range [%llu, +%llu) is outside memory %llu of %llu bytes", cmd, U(offset), U(size),
                    U(memory->id), U(mem->size));
   return false;
}

/* SPDX-License-Identifier: MIT */
/* Descriptor set layouts, sets and pipeline layouts keep their bindings,
 * so that descriptor updates can be checked (protocol/checks.txt): a host
 * writes and reads descriptors where the binding and array element say.
 * Sets hold what their descriptors name (wire/lifetime.h): a command
 * buffer that bound a set keeps the buffers and views behind it alive. */
#include <stdlib.h>
#include <string.h>

#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/validate.h"
#include "base/chain.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

static struct vs_descriptor_layout *
layout_ref(struct vs_descriptor_layout *l)
{
   __atomic_fetch_add(&l->refs, 1, __ATOMIC_RELAXED);
   return l;
}

static void
layout_unref(void *data)
{
   struct vs_descriptor_layout *l = data;
   if (l && __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0)
      free(l);
}

void
vs_descriptor_set_free(void *data)
{
   struct vs_descriptor_set *set = data;
   if (set) {
      layout_unref(set->layout);
      free(set->slots);
   }
   free(set);
}

static void
pipeline_layout_free(void *data)
{
   struct vs_pipeline_layout *pl = data;
   for (uint32_t i = 0; i < pl->set_count; i++)
      layout_unref(pl->sets[i]);
   free(pl->push_ranges);
   free(pl);
}

static int
binding_cmp(const void *a, const void *b)
{
   uint32_t x = ((const struct vs_descriptor_binding *)a)->binding;
   uint32_t y = ((const struct vs_descriptor_binding *)b)->binding;
   return x < y ? -1 : x > y;
}

/* The layout's bindings sorted by number, or NULL after failing the
 * context (or out of memory: *result). */
static struct vs_descriptor_layout *
layout_from_info(struct vs_runner *runner, const VkDescriptorSetLayoutCreateInfo *ci, VkResult *result)
{
   const char *cmd = "vkCreateDescriptorSetLayout";
   if (!vs_check_present(runner, cmd, ci->pBindings, ci->bindingCount, "pBindings"))
      return NULL;
   const VkDescriptorSetLayoutBindingFlagsCreateInfo *flags =
      vs_chain_find(ci, VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_BINDING_FLAGS_CREATE_INFO);
   if (flags && flags->bindingCount && flags->bindingCount != ci->bindingCount) {
      vs_runner_fail(runner, "%s: %u binding flags for %u bindings", cmd, flags->bindingCount, ci->bindingCount);
      return NULL;
   }
   if (flags && !vs_check_present(runner, cmd, flags->pBindingFlags, flags->bindingCount, "pBindingFlags"))
      return NULL;
   struct vs_descriptor_layout *l =
      calloc(1, sizeof(*l) + (size_t)ci->bindingCount * sizeof(struct vs_descriptor_binding));
   if (!l) {
      *result = VK_ERROR_OUT_OF_HOST_MEMORY;
      return NULL;
   }
   l->refs = 1;
   l->binding_count = ci->bindingCount;
   uint32_t variable_binding = 0;
   bool variable = false;
   for (uint32_t i = 0; i < ci->bindingCount; i++) {
      const VkDescriptorSetLayoutBinding *b = &ci->pBindings[i];
      l->bindings[i] = (struct vs_descriptor_binding){
         .binding = b->binding,
         .type = b->descriptorType,
         .count = b->descriptorCount,
         .immutable_samplers = b->pImmutableSamplers && (b->descriptorType == VK_DESCRIPTOR_TYPE_SAMPLER ||
                                                          b->descriptorType ==
                                                             VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER),
      };
      if (flags && flags->bindingCount &&
          (flags->pBindingFlags[i] & VK_DESCRIPTOR_BINDING_VARIABLE_DESCRIPTOR_COUNT_BIT)) {
         variable = true;
         variable_binding = b->binding;
      }
   }
   qsort(l->bindings, l->binding_count, sizeof(l->bindings[0]), binding_cmp);
   uint64_t slot = 0;
   for (uint32_t i = 0; i < l->binding_count; i++) {
      l->bindings[i].first_slot = slot;
      if (l->bindings[i].type != VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK)
         slot += l->bindings[i].count;
   }
   for (uint32_t i = 1; i < l->binding_count; i++) {
      if (l->bindings[i].binding == l->bindings[i - 1].binding) {
         vs_runner_fail(runner, "%s: binding %u given twice", cmd, l->bindings[i].binding);
         free(l);
         return NULL;
      }
   }
   /* Only the highest binding may be variable: updates rely on every other
    * binding having its full count. */
   if (variable && variable_binding != l->bindings[l->binding_count - 1].binding) {
      vs_runner_fail(runner, "%s: variable-count binding %u is not the last", cmd, variable_binding);
      free(l);
      return NULL;
   }
   l->variable = variable;
   return l;
}

static void
vs_exec_vkCreateDescriptorSetLayout(struct vs_runner *runner, struct vn_args_vkCreateDescriptorSetLayout *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(runner, "vkCreateDescriptorSetLayout: no create info");
      return;
   }
   struct vs_descriptor_layout *l = layout_from_info(runner, a->pCreateInfo, &a->ret);
   if (!l)
      return;
   vn_default_vkCreateDescriptorSetLayout(runner, a);
   struct vs_object *obj = vs_runner_created(runner, a->ret, a->pSetLayout_id, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT);
   if (!obj) {
      free(l);
      return;
   }
   obj->data = l;
   obj->data_free = layout_unref;
}

static void
vs_exec_vkCreatePipelineLayout(struct vs_runner *runner, struct vn_args_vkCreatePipelineLayout *a)
{
   const char *cmd = "vkCreatePipelineLayout";
   const VkPipelineLayoutCreateInfo *ci = a->pCreateInfo;
   if (!ci) {
      vs_runner_fail(runner, "%s: no create info", cmd);
      return;
   }
   if (!vs_check_present(runner, cmd, ci->pSetLayouts, ci->setLayoutCount, "pSetLayouts"))
      return;
   struct vs_pipeline_layout *pl =
      calloc(1, sizeof(*pl) + (size_t)ci->setLayoutCount * sizeof(struct vs_descriptor_layout *));
   if (!pl) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   pl->set_count = ci->setLayoutCount;
   if (ci->pushConstantRangeCount) {
      if (!vs_check_present(runner, cmd, ci->pPushConstantRanges, ci->pushConstantRangeCount, "pPushConstantRanges")) {
         pipeline_layout_free(pl);
         return;
      }
      pl->push_ranges = malloc((size_t)ci->pushConstantRangeCount * sizeof(*pl->push_ranges));
      if (!pl->push_ranges) {
         pipeline_layout_free(pl);
         a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
         return;
      }
      memcpy(pl->push_ranges, ci->pPushConstantRanges, (size_t)ci->pushConstantRangeCount * sizeof(*pl->push_ranges));
      pl->push_range_count = ci->pushConstantRangeCount;
   }
   for (uint32_t i = 0; i < ci->setLayoutCount; i++) {
      /* A null set layout is allowed (graphics pipeline libraries). */
      struct vs_object *set_layout = vs_runner_nested_object(runner, &ci->pSetLayouts[i]);
      if (set_layout)
         pl->sets[i] = layout_ref(vs_descriptor_layout_from(set_layout));
   }
   vn_default_vkCreatePipelineLayout(runner, a);
   struct vs_object *obj = vs_runner_created(runner, a->ret, a->pPipelineLayout_id, VK_OBJECT_TYPE_PIPELINE_LAYOUT);
   if (!obj) {
      pipeline_layout_free(pl);
      return;
   }
   obj->data = pl;
   obj->data_free = pipeline_layout_free;
}

static void
free_sets(struct vs_descriptor_set **sets, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++)
      vs_descriptor_set_free(sets[i]);
   free(sets);
}

struct vs_descriptor_set **
vs_descriptor_sets_prepare(struct vs_runner *runner, struct vs_object *device_obj,
                           const VkDescriptorSetAllocateInfo *info, VkResult *result)
{
   const char *cmd = "vkAllocateDescriptorSets";
   const uint32_t count = info->descriptorSetCount;
   if (!vs_check_present(runner, cmd, info->pSetLayouts, count, "pSetLayouts"))
      return NULL;
   const VkDescriptorSetVariableDescriptorCountAllocateInfo *var =
      vs_chain_find(info, VK_STRUCTURE_TYPE_DESCRIPTOR_SET_VARIABLE_DESCRIPTOR_COUNT_ALLOCATE_INFO);
   if (var && var->descriptorSetCount && var->descriptorSetCount != count) {
      vs_runner_fail(runner, "%s: %u variable descriptor counts for %u sets", cmd, var->descriptorSetCount, count);
      return NULL;
   }
   if (var && !vs_check_present(runner, cmd, var->pDescriptorCounts, var->descriptorSetCount, "pDescriptorCounts"))
      return NULL;
   struct vs_descriptor_set **sets = calloc(count ? count : 1, sizeof(*sets));
   if (!sets) {
      *result = VK_ERROR_OUT_OF_HOST_MEMORY;
      return NULL;
   }
   for (uint32_t i = 0; i < count; i++) {
      struct vs_object *layout_obj = vs_runner_nested_object(runner, &info->pSetLayouts[i]);
      if (!layout_obj || layout_obj->parent != device_obj) {
         vs_runner_fail(runner, "%s: set layout %u is not an object of this device", cmd, i);
         free_sets(sets, i);
         return NULL;
      }
      struct vs_descriptor_layout *l = vs_descriptor_layout_from(layout_obj);
      uint32_t variable_count = 0;
      if (l->variable && var && var->descriptorSetCount) {
         uint32_t max = l->bindings[l->binding_count - 1].count;
         variable_count = var->pDescriptorCounts[i];
         if (variable_count > max) {
            vs_runner_fail(runner, "%s: variable descriptor count %u of set %u is over its layout's %u", cmd,
                             variable_count, i, max);
            free_sets(sets, i);
            return NULL;
         }
      }
      sets[i] = malloc(sizeof(*sets[i]));
      if (!sets[i]) {
         free_sets(sets, i);
         *result = VK_ERROR_OUT_OF_HOST_MEMORY;
         return NULL;
      }
      uint64_t slot_count = 0;
      if (l->binding_count) {
         const struct vs_descriptor_binding *last = &l->bindings[l->binding_count - 1];
         slot_count = last->first_slot + (last->type == VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK ? 0
                                          : l->variable                                 ? variable_count
                                                                                        : last->count);
      }
      *sets[i] = (struct vs_descriptor_set){
         .layout = layout_ref(l),
         .variable_count = variable_count,
         .slot_count = slot_count,
      };
   }
   return sets;
}

/* Descriptor slots a set may track: 2^26 descriptors (1 GiB of slots, of
 * which only the pages written are touched). */
#define MAX_SET_SLOTS (1ull << 26)

/* The slot of element `element` of `binding` (validated by the checks). */
static bool
slot_of(const struct vs_descriptor_set *set, uint32_t binding, uint32_t element, uint64_t *slot)
{
   const struct vs_descriptor_layout *l = set->layout;
   for (uint32_t i = 0; i < l->binding_count; i++) {
      if (l->bindings[i].binding == binding) {
         *slot = l->bindings[i].first_slot + element;
         return l->bindings[i].type != VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK;
      }
   }
   return false;
}

struct slot_writer {
   struct vs_runner *runner;
   struct vs_object *device_obj;
   bool waited; /* for the device's submissions, once per command */
};

/* Slot `index` (of 2 per descriptor) of the set now names obj (NULL: none).
 * A set that command buffers hold may be pending: letting go of a zombie
 * it named waits for the device's submissions first. */
static bool
set_slot(struct slot_writer *w, struct vs_object *set_obj, uint64_t index, struct vs_object *obj)
{
   struct vs_descriptor_set *set = vs_descriptor_set_from(set_obj);
   struct vs_object_table *t = w->runner->objects;
   if (index >= 2 * set->slot_count)
      return true;
   if (!set->slots) {
      if (!obj)
         return true;
      set->slots = set->slot_count <= MAX_SET_SLOTS ? calloc(2 * set->slot_count, sizeof(*set->slots)) : NULL;
      if (!set->slots) {
         vs_runner_fail(w->runner, "vkUpdateDescriptorSets: no memory to track the %llu descriptors of set %llu",
                          (unsigned long long)set->slot_count, (unsigned long long)set_obj->id);
         return false;
      }
   }
   struct vs_object *old = set->slots[index];
   if (old == obj)
      return true;
   if (obj && !vs_object_hold(t, set_obj, obj, false)) {
      vs_runner_fail(w->runner, "vkUpdateDescriptorSets: set %llu cannot hold object %llu: over the limit of %u "
                                "holds or out of memory",
                       (unsigned long long)set_obj->id, (unsigned long long)obj->id, t->hold_limit);
      return false;
   }
   set->slots[index] = obj;
   if (!old)
      return true;
   if (!w->waited && vs_object_held(t, set_obj) && !vs_object_is_live(t, old)) {
      if (!vs_device_wait_submitted(w->runner, w->device_obj))
         return false;
      w->waited = true;
   }
   vs_object_unhold(t, set_obj, old);
   return true;
}

/* The objects descriptor k of a write names: the view, buffer or buffer
 * view, and the sampler. */
static void
write_objects(struct vs_runner *runner, const VkWriteDescriptorSet *w, uint32_t k, struct vs_object *out[2])
{
   out[0] = out[1] = NULL;
   switch (w->descriptorType) {
   case VK_DESCRIPTOR_TYPE_SAMPLER:
      out[1] = w->pImageInfo ? vs_runner_nested_object(runner, &w->pImageInfo[k].sampler) : NULL;
      break;
   case VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER:
      out[1] = vs_runner_nested_object(runner, &w->pImageInfo[k].sampler);
      out[0] = vs_runner_nested_object(runner, &w->pImageInfo[k].imageView);
      break;
   case VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE:
   case VK_DESCRIPTOR_TYPE_STORAGE_IMAGE:
   case VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT:
      out[0] = vs_runner_nested_object(runner, &w->pImageInfo[k].imageView);
      break;
   case VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER:
      out[0] = vs_runner_nested_object(runner, &w->pTexelBufferView[k]);
      break;
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER:
   case VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC:
   case VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC:
      out[0] = vs_runner_nested_object(runner, &w->pBufferInfo[k].buffer);
      break;
   default:
      break; /* inline uniform blocks name no objects */
   }
}

/* After the host took the update (the checks passed): each set holds what
 * its descriptors now name, and lets go of what they named before. */
static void
vs_exec_vkUpdateDescriptorSets(struct vs_runner *runner, struct vn_args_vkUpdateDescriptorSets *a)
{
   vn_default_vkUpdateDescriptorSets(runner, a);
   struct slot_writer sw = { .runner = runner, .device_obj = a->device_obj };
   for (uint32_t i = 0; i < a->descriptorWriteCount; i++) {
      const VkWriteDescriptorSet *w = &a->pDescriptorWrites[i];
      struct vs_object *set_obj = vs_runner_nested_object(runner, &w->dstSet);
      uint64_t slot;
      if (!set_obj || !slot_of(vs_descriptor_set_from(set_obj), w->dstBinding, w->dstArrayElement, &slot))
         continue;
      for (uint32_t k = 0; k < w->descriptorCount; k++) {
         struct vs_object *objs[2];
         write_objects(runner, w, k, objs);
         if (!set_slot(&sw, set_obj, 2 * (slot + k), objs[0]) || !set_slot(&sw, set_obj, 2 * (slot + k) + 1, objs[1]))
            return;
      }
   }
   for (uint32_t i = 0; i < a->descriptorCopyCount; i++) {
      const VkCopyDescriptorSet *c = &a->pDescriptorCopies[i];
      struct vs_object *src_obj = vs_runner_nested_object(runner, &c->srcSet);
      struct vs_object *dst_obj = vs_runner_nested_object(runner, &c->dstSet);
      uint64_t src, dst;
      if (!src_obj || !dst_obj || !slot_of(vs_descriptor_set_from(src_obj), c->srcBinding, c->srcArrayElement, &src) ||
          !slot_of(vs_descriptor_set_from(dst_obj), c->dstBinding, c->dstArrayElement, &dst))
         continue;
      const struct vs_descriptor_set *from = vs_descriptor_set_from(src_obj);
      for (uint64_t k = 0; k < 2ull * c->descriptorCount; k++) {
         struct vs_object *obj = from->slots && 2 * src + k < 2 * from->slot_count ? from->slots[2 * src + k] : NULL;
         if (!set_slot(&sw, dst_obj, 2 * dst + k, obj))
            return;
      }
   }
}

void
vs_descriptor_register(struct vn_exec_table *t)
{
   t->vkUpdateDescriptorSets = vs_exec_vkUpdateDescriptorSets;
   t->vkCreateDescriptorSetLayout = vs_exec_vkCreateDescriptorSetLayout;
   t->vkCreatePipelineLayout = vs_exec_vkCreatePipelineLayout;
}

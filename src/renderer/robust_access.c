/* SPDX-License-Identifier: MIT */
/* Robust access where tenants share a process: see robust_access.h. */
#include "renderer/robust_access.h"

#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "base/chain.h"
#include "base/log.h"
#include "wire/runner.h"
#include "vn_wire.h"

bool
vs_robust_access_force_device(const struct vs_physical_device *phys, VkDeviceCreateInfo *ci,
                              struct vs_robust_device_features *storage)
{
   VkPhysicalDeviceFeatures2 *features2 = vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2);
   if (features2) {
      features2->features.robustBufferAccess = VK_TRUE;
   } else {
      storage->features = ci->pEnabledFeatures ? *ci->pEnabledFeatures : (VkPhysicalDeviceFeatures){ 0 };
      storage->features.robustBufferAccess = VK_TRUE;
      ci->pEnabledFeatures = &storage->features;
   }
   if (!phys->robustness2)
      return false;
   VkPhysicalDeviceRobustness2FeaturesEXT *r2 =
      vs_chain_find(ci, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT);
   if (!r2) {
      storage->robustness2 = (VkPhysicalDeviceRobustness2FeaturesEXT){
         .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT,
         .pNext = (void *)ci->pNext,
      };
      ci->pNext = &storage->robustness2;
      r2 = &storage->robustness2;
   }
   r2->robustBufferAccess2 = VK_TRUE;
   r2->robustImageAccess2 = VK_TRUE;
   return true;
}

static unsigned
raise_buffer(VkPipelineRobustnessBufferBehavior *behavior)
{
   if (*behavior != VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED)
      return 0;
   *behavior = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT;
   return 1;
}

unsigned
vs_robust_access_raise(const void *chain)
{
   unsigned raised = 0;
   /* The decoder lets a struct appear once per chain; walking them all
    * costs nothing and needs no such promise. */
   for (VkBaseOutStructure *s = (VkBaseOutStructure *)chain; s; s = s->pNext) {
      if (s->sType != VK_STRUCTURE_TYPE_PIPELINE_ROBUSTNESS_CREATE_INFO)
         continue;
      VkPipelineRobustnessCreateInfo *info = (VkPipelineRobustnessCreateInfo *)s;
      raised += raise_buffer(&info->storageBuffers) + raise_buffer(&info->uniformBuffers) +
                raise_buffer(&info->vertexInputs);
      if (info->images == VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DISABLED) {
         info->images = VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DEVICE_DEFAULT;
         raised++;
      }
   }
   return raised;
}

static unsigned
raise_stages(const VkPipelineShaderStageCreateInfo *stages, uint32_t count)
{
   unsigned raised = 0;
   for (uint32_t i = 0; stages && i < count; i++)
      raised += vs_robust_access_raise(stages[i].pNext);
   return raised;
}

unsigned
vs_robust_access_raise_ray_tracing(const VkRayTracingPipelineCreateInfoKHR *info)
{
   return vs_robust_access_raise(info->pNext) + raise_stages(info->pStages, info->stageCount);
}

static bool
forced(const struct vs_runner *runner)
{
   return runner->renderer->options.robust_access;
}

static void
log_raised(const struct vs_runner *runner, const char *command, uint32_t index, unsigned raised)
{
   if (raised)
      vs_debug(runner->ctx_id, "%s: create info %u: %u robustness opt-out(s) raised to the device's robust access",
               command, index, raised);
}

static void
vs_exec_vkCreateComputePipelines(struct vs_runner *runner, struct vn_args_vkCreateComputePipelines *a)
{
   for (uint32_t i = 0; forced(runner) && a->pCreateInfos && i < a->createInfoCount; i++) {
      const VkComputePipelineCreateInfo *info = &a->pCreateInfos[i];
      log_raised(runner, "vkCreateComputePipelines", i,
                 vs_robust_access_raise(info->pNext) + vs_robust_access_raise(info->stage.pNext));
   }
   vn_default_vkCreateComputePipelines(runner, a);
}

static void
vs_exec_vkCreateGraphicsPipelines(struct vs_runner *runner, struct vn_args_vkCreateGraphicsPipelines *a)
{
   for (uint32_t i = 0; forced(runner) && a->pCreateInfos && i < a->createInfoCount; i++) {
      const VkGraphicsPipelineCreateInfo *info = &a->pCreateInfos[i];
      log_raised(runner, "vkCreateGraphicsPipelines", i,
                 vs_robust_access_raise(info->pNext) + raise_stages(info->pStages, info->stageCount));
   }
   vn_default_vkCreateGraphicsPipelines(runner, a);
}

void
vs_robust_access_register(struct vn_exec_table *t)
{
   t->vkCreateComputePipelines = vs_exec_vkCreateComputePipelines;
   t->vkCreateGraphicsPipelines = vs_exec_vkCreateGraphicsPipelines;
}

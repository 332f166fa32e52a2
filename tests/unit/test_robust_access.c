/* SPDX-License-Identifier: MIT */
/* renderer/robust_access.c: where tenants share a process, robust access
 * is forced on each host device, and a pipeline's or a stage's opt-out
 * (VK_EXT_pipeline_robustness DISABLED) is raised to the device's
 * behaviour; other behaviours the guest asks for stand. */
#include <string.h>

#include "renderer/renderer_state.h"
#include "renderer/robust_access.h"
#include "unit.h"

static VkPipelineRobustnessCreateInfo
disabled(void)
{
   return (VkPipelineRobustnessCreateInfo){
      .sType = VK_STRUCTURE_TYPE_PIPELINE_ROBUSTNESS_CREATE_INFO,
      .storageBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED,
      .uniformBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED,
      .vertexInputs = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DISABLED,
      .images = VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DISABLED,
   };
}

TEST(every_opt_out_is_raised_to_the_device_behaviour)
{
   VkPipelineRobustnessCreateInfo r = disabled();
   CHECK_EQ(vs_robust_access_raise(&r), 4u);
   CHECK_EQ(r.storageBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(r.uniformBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(r.vertexInputs, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(r.images, VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(vs_robust_access_raise(&r), 0u);
}

TEST(robust_behaviours_the_guest_asks_for_stand)
{
   VkPipelineRobustnessCreateInfo r = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_ROBUSTNESS_CREATE_INFO,
      .storageBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS_2,
      .uniformBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS,
      .vertexInputs = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT,
      .images = VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_ROBUST_IMAGE_ACCESS_2,
   };
   CHECK_EQ(vs_robust_access_raise(&r), 0u);
   CHECK_EQ(r.storageBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS_2);
   CHECK_EQ(r.uniformBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS);
   CHECK_EQ(r.images, VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_ROBUST_IMAGE_ACCESS_2);
}

TEST(the_opt_out_is_found_anywhere_in_the_chain)
{
   VkPipelineRobustnessCreateInfo r = disabled();
   VkPipelineCreationFeedbackCreateInfo feedback = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_CREATION_FEEDBACK_CREATE_INFO, .pNext = &r,
   };
   VkPipelineRobustnessCreateInfo second = disabled();
   second.storageBuffers = VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS;
   r.pNext = &second;
   CHECK_EQ(vs_robust_access_raise(&feedback), 7u);
   CHECK_EQ(r.storageBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(second.storageBuffers, VK_PIPELINE_ROBUSTNESS_BUFFER_BEHAVIOR_ROBUST_BUFFER_ACCESS);
   CHECK_EQ(second.images, VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DEVICE_DEFAULT);
   CHECK_EQ(vs_robust_access_raise(NULL), 0u);
}

TEST(ray_tracing_pipelines_and_their_stages)
{
   VkPipelineRobustnessCreateInfo on_pipeline = disabled(), on_stage = disabled();
   VkPipelineShaderStageCreateInfo stages[2] = {
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO },
      { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .pNext = &on_stage },
   };
   const VkRayTracingPipelineCreateInfoKHR info = {
      .sType = VK_STRUCTURE_TYPE_RAY_TRACING_PIPELINE_CREATE_INFO_KHR, .pNext = &on_pipeline,
      .stageCount = 2, .pStages = stages,
   };
   CHECK_EQ(vs_robust_access_raise_ray_tracing(&info), 8u);
   CHECK_EQ(on_stage.images, VK_PIPELINE_ROBUSTNESS_IMAGE_BEHAVIOR_DEVICE_DEFAULT);
}

TEST(device_without_features_gets_robust_buffer_access)
{
   const struct vs_physical_device phys = { .robustness2 = false };
   VkDeviceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO };
   struct vs_robust_device_features storage;
   CHECK(!vs_robust_access_force_device(&phys, &ci, &storage));
   CHECK(ci.pEnabledFeatures == &storage.features);
   CHECK(ci.pEnabledFeatures->robustBufferAccess);
   CHECK(ci.pNext == NULL);
}

TEST(device_with_features2_and_robustness2)
{
   const struct vs_physical_device phys = { .robustness2 = true };
   VkPhysicalDeviceFeatures2 features2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
   features2.features.shaderInt64 = VK_TRUE;
   VkDeviceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &features2 };
   struct vs_robust_device_features storage;
   CHECK(vs_robust_access_force_device(&phys, &ci, &storage));
   CHECK(features2.features.robustBufferAccess);
   CHECK(features2.features.shaderInt64);
   CHECK(ci.pEnabledFeatures == NULL);
   const VkPhysicalDeviceRobustness2FeaturesEXT *r2 = ci.pNext;
   CHECK_EQ(r2->sType, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT);
   CHECK(r2->robustBufferAccess2 && r2->robustImageAccess2);
   CHECK(r2->pNext == &features2);
}

TEST(device_with_the_guests_robustness2_struct_changed_in_place)
{
   const struct vs_physical_device phys = { .robustness2 = true };
   VkPhysicalDeviceRobustness2FeaturesEXT guest = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT, .nullDescriptor = VK_TRUE,
   };
   const VkPhysicalDeviceFeatures enabled = { .shaderInt16 = VK_TRUE };
   VkDeviceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &guest,
                             .pEnabledFeatures = &enabled };
   struct vs_robust_device_features storage;
   CHECK(vs_robust_access_force_device(&phys, &ci, &storage));
   CHECK(ci.pNext == &guest);
   CHECK(guest.robustBufferAccess2 && guest.robustImageAccess2 && guest.nullDescriptor);
   CHECK(ci.pEnabledFeatures->robustBufferAccess && ci.pEnabledFeatures->shaderInt16);
   CHECK(!enabled.robustBufferAccess);
}

UNIT_MAIN(UNIT(every_opt_out_is_raised_to_the_device_behaviour), UNIT(robust_behaviours_the_guest_asks_for_stand),
          UNIT(the_opt_out_is_found_anywhere_in_the_chain), UNIT(ray_tracing_pipelines_and_their_stages),
          UNIT(device_without_features_gets_robust_buffer_access), UNIT(device_with_features2_and_robustness2),
          UNIT(device_with_the_guests_robustness2_struct_changed_in_place))

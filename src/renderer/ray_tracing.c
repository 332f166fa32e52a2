/* SPDX-License-Identifier: MIT */
/* What of ray tracing cannot cross the wire. Device-side acceleration
 * structure builds, copies and ray tracing pipelines run as the host has
 * them; the host-side commands (VK_KHR_acceleration_structure's
 * accelerationStructureHostCommands) read and write host addresses, which
 * Venus carries only as their absence, so the feature is reported as
 * VK_FALSE and the commands end the context that sends them anyway. So is
 * shader group handle capture/replay, whose handles are host pointers. */
#include "renderer/families.h"
#include "wire/runner.h"
#include "base/chain.h"
#include "vn_wire.h"

static void
vs_exec_vkGetPhysicalDeviceFeatures2(struct vs_runner *disp, struct vn_args_vkGetPhysicalDeviceFeatures2 *a)
{
   vn_default_vkGetPhysicalDeviceFeatures2(disp, a);
   if (!a->pFeatures)
      return;
   VkPhysicalDeviceAccelerationStructureFeaturesKHR *as =
      (void *)vs_chain_find(a->pFeatures, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR);
   if (as)
      as->accelerationStructureHostCommands = VK_FALSE;
   VkPhysicalDeviceRayTracingPipelineFeaturesKHR *rt =
      (void *)vs_chain_find(a->pFeatures, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR);
   if (rt) {
      rt->rayTracingPipelineShaderGroupHandleCaptureReplay = VK_FALSE;
      rt->rayTracingPipelineShaderGroupHandleCaptureReplayMixed = VK_FALSE;
   }
}

#define HOST_COMMAND_REFUSED(name)                                                                    \
   static void vs_exec_##name(struct vs_runner *disp, struct vn_args_##name *a)                      \
   {                                                                                                 \
      (void)a;                                                                                       \
      vs_runner_fail(disp, #name ": host acceleration structure commands are not offered "          \
                           "(accelerationStructureHostCommands is VK_FALSE)");                      \
   }

HOST_COMMAND_REFUSED(vkBuildAccelerationStructuresKHR)
HOST_COMMAND_REFUSED(vkCopyAccelerationStructureKHR)
HOST_COMMAND_REFUSED(vkCopyAccelerationStructureToMemoryKHR)
HOST_COMMAND_REFUSED(vkCopyMemoryToAccelerationStructureKHR)
HOST_COMMAND_REFUSED(vkWriteAccelerationStructuresPropertiesKHR)

void
vs_ray_tracing_register(struct vn_exec_table *t)
{
   t->vkGetPhysicalDeviceFeatures2 = vs_exec_vkGetPhysicalDeviceFeatures2;
   t->vkBuildAccelerationStructuresKHR = vs_exec_vkBuildAccelerationStructuresKHR;
   t->vkCopyAccelerationStructureKHR = vs_exec_vkCopyAccelerationStructureKHR;
   t->vkCopyAccelerationStructureToMemoryKHR = vs_exec_vkCopyAccelerationStructureToMemoryKHR;
   t->vkCopyMemoryToAccelerationStructureKHR = vs_exec_vkCopyMemoryToAccelerationStructureKHR;
   t->vkWriteAccelerationStructuresPropertiesKHR = vs_exec_vkWriteAccelerationStructuresPropertiesKHR;
}

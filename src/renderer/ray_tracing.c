/* SPDX-License-Identifier: MIT */
/* What of ray tracing cannot cross the wire. Device-side acceleration
 * structure builds, copies and ray tracing pipelines run as the host has
 * them; the host-side commands (VK_KHR_acceleration_structure's
 * accelerationStructureHostCommands) read and write host addresses, which
 * Venus carries only as their absence, so the feature is reported as
 * VK_FALSE and the commands end the context that sends them anyway. So is
 * shader group handle capture/replay, whose handles are host pointers.
 * Ray tracing pipelines are created at once (never deferred) and keep
 * their group counts for the handle queries. */
#include <stdlib.h>

#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "renderer/robust_access.h"
#include "wire/runner.h"
#include "base/chain.h"
#include "vn_wire.h"

static void
vs_exec_vkGetPhysicalDeviceFeatures2(struct vs_runner *runner, struct vn_args_vkGetPhysicalDeviceFeatures2 *a)
{
   vn_default_vkGetPhysicalDeviceFeatures2(runner, a);
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

/* A ray tracing pipeline keeps its shader group count (its own groups and
 * its libraries'): vkGetRayTracingShaderGroupHandlesKHR's range is checked
 * against it, as the host driver indexes its group array by it. */
static uint32_t
pipeline_group_count(const struct vs_object *pipeline)
{
   return pipeline && pipeline->data ? *(const uint32_t *)pipeline->data : 0;
}

static void
vs_exec_vkCreateRayTracingPipelinesKHR(struct vs_runner *runner, struct vn_args_vkCreateRayTracingPipelinesKHR *a)
{
   /* A deferred creation would write the pipelines after this command's
    * arguments are gone: the host creates them now, and a guest that
    * asked for deferral is told the operation was not deferred. */
   bool deferral_asked = a->deferredOperation != VK_NULL_HANDLE;
   a->deferredOperation = VK_NULL_HANDLE;
   for (uint32_t i = 0; runner->renderer->options.robust_access && a->pCreateInfos && i < a->createInfoCount; i++)
      vs_robust_access_raise_ray_tracing(&a->pCreateInfos[i]);
   vn_default_vkCreateRayTracingPipelinesKHR(runner, a);
   if (deferral_asked && a->ret == VK_SUCCESS)
      a->ret = VK_OPERATION_NOT_DEFERRED_KHR;
   for (uint32_t i = 0; i < a->pPipelines_count && i < a->createInfoCount; i++) {
      struct vs_object *pipeline = vs_runner_created(runner, a->ret, a->pPipelines_ids[i], VK_OBJECT_TYPE_PIPELINE);
      if (!pipeline)
         continue;
      const VkRayTracingPipelineCreateInfoKHR *info = &a->pCreateInfos[i];
      uint64_t groups = info->groupCount;
      for (uint32_t j = 0; info->pLibraryInfo && j < info->pLibraryInfo->libraryCount; j++)
         groups += pipeline_group_count(vs_runner_nested_object(runner, &info->pLibraryInfo->pLibraries[j]));
      uint32_t *count = malloc(sizeof(*count));
      if (!count)
         continue; /* no groups recorded: its handles are refused */
      *count = groups > UINT32_MAX ? UINT32_MAX : (uint32_t)groups;
      pipeline->data = count;
      pipeline->data_free = free;
   }
}

static void
vs_exec_vkGetRayTracingShaderGroupHandlesKHR(struct vs_runner *runner,
                                             struct vn_args_vkGetRayTracingShaderGroupHandlesKHR *a)
{
   uint32_t groups = pipeline_group_count(a->pipeline_obj);
   if ((uint64_t)a->firstGroup + a->groupCount > groups) {
      vs_runner_fail(runner, "vkGetRayTracingShaderGroupHandlesKHR: groups %u..+%u of pipeline %llu, which has %u",
                     a->firstGroup, a->groupCount, (unsigned long long)a->pipeline_obj->id, groups);
      return;
   }
   VkPhysicalDeviceRayTracingPipelinePropertiesKHR rt = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_PROPERTIES_KHR,
   };
   VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &rt };
   const struct vs_object *physical = vs_device_from(a->device_obj)->physical;
   physical->it->GetPhysicalDeviceProperties2(vs_physical_device_from(physical)->host, &props);
   if (!a->pData || a->dataSize < (uint64_t)a->groupCount * rt.shaderGroupHandleSize) {
      vs_runner_fail(runner, "vkGetRayTracingShaderGroupHandlesKHR: %zu bytes for %u handles of %u bytes",
                     a->pData ? a->dataSize : 0, a->groupCount, rt.shaderGroupHandleSize);
      return;
   }
   vn_default_vkGetRayTracingShaderGroupHandlesKHR(runner, a);
}

#define HOST_COMMAND_REFUSED(name)                                                                    \
   static void vs_exec_##name(struct vs_runner *runner, struct vn_args_##name *a)                      \
   {                                                                                                 \
      (void)a;                                                                                       \
      vs_runner_fail(runner, #name ": host acceleration structure commands are not offered "          \
                           "(accelerationStructureHostCommands is VK_FALSE)");                      \
   }

HOST_COMMAND_REFUSED(vkBuildAccelerationStructuresKHR)
HOST_COMMAND_REFUSED(vkCopyAccelerationStructureKHR)
HOST_COMMAND_REFUSED(vkCopyAccelerationStructureToMemoryKHR)
HOST_COMMAND_REFUSED(vkCopyMemoryToAccelerationStructureKHR)
HOST_COMMAND_REFUSED(vkWriteAccelerationStructuresPropertiesKHR)

static void
vs_exec_vkGetRayTracingCaptureReplayShaderGroupHandlesKHR(
   struct vs_runner *runner, struct vn_args_vkGetRayTracingCaptureReplayShaderGroupHandlesKHR *a)
{
   (void)a;
   vs_runner_fail(runner, "vkGetRayTracingCaptureReplayShaderGroupHandlesKHR: shader group handle capture/replay "
                        "is not offered (rayTracingPipelineShaderGroupHandleCaptureReplay is VK_FALSE)");
}

void
vs_ray_tracing_register(struct vn_exec_table *t)
{
   t->vkGetPhysicalDeviceFeatures2 = vs_exec_vkGetPhysicalDeviceFeatures2;
   t->vkBuildAccelerationStructuresKHR = vs_exec_vkBuildAccelerationStructuresKHR;
   t->vkCopyAccelerationStructureKHR = vs_exec_vkCopyAccelerationStructureKHR;
   t->vkCopyAccelerationStructureToMemoryKHR = vs_exec_vkCopyAccelerationStructureToMemoryKHR;
   t->vkCopyMemoryToAccelerationStructureKHR = vs_exec_vkCopyMemoryToAccelerationStructureKHR;
   t->vkWriteAccelerationStructuresPropertiesKHR = vs_exec_vkWriteAccelerationStructuresPropertiesKHR;
   t->vkCreateRayTracingPipelinesKHR = vs_exec_vkCreateRayTracingPipelinesKHR;
   t->vkGetRayTracingShaderGroupHandlesKHR = vs_exec_vkGetRayTracingShaderGroupHandlesKHR;
   t->vkGetRayTracingCaptureReplayShaderGroupHandlesKHR = vs_exec_vkGetRayTracingCaptureReplayShaderGroupHandlesKHR;
}

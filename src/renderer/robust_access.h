/* SPDX-License-Identifier: MIT */
/* Robust access where tenants share a process (renderer options'
 * robust_access): shaders cannot reach outside their bindings. Each host
 * device gets robustBufferAccess, and VK_EXT_robustness2's buffer and
 * image access where the host has them; a pipeline's or a shader stage's
 * VK_EXT_pipeline_robustness opt-out is raised to the device's behaviour.
 * With a process per tenant the guest's own choices stand, as natively:
 * what its shaders reach is that process's (the host driver's per-process
 * GPU address space, or a CPU driver's worker in its sandbox). */
#ifndef VS_RENDERER_ROBUST_ACCESS_H
#define VS_RENDERER_ROBUST_ACCESS_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

struct vs_physical_device;
struct vn_exec_table;

/* Storage the forced features may need where the guest gave none. */
struct vs_robust_device_features {
   VkPhysicalDeviceFeatures features;
   VkPhysicalDeviceRobustness2FeaturesEXT robustness2;
};

/* Turns robust access on in `ci`, the host's copy of a guest's device
 * create info (its feature structs are decoded copies, changed in place).
 * True when robustness2 is on: its extension must then be enabled. */
bool vs_robust_access_force_device(const struct vs_physical_device *phys, VkDeviceCreateInfo *ci,
                                   struct vs_robust_device_features *storage);

/* Raises every VK_EXT_pipeline_robustness opt-out (DISABLED) in the pNext
 * chain `chain` (a pipeline's or a stage's create info, decoded copies) to
 * the device's behaviour. Returns how many behaviours it raised. */
unsigned vs_robust_access_raise(const void *chain);

/* The same over a ray tracing pipeline's create info and its stages. */
unsigned vs_robust_access_raise_ray_tracing(const VkRayTracingPipelineCreateInfoKHR *info);

/* vkCreateComputePipelines and vkCreateGraphicsPipelines raise the
 * opt-outs of their create infos when the renderer forces robust access. */
void vs_robust_access_register(struct vn_exec_table *t);

#endif

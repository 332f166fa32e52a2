/* SPDX-License-Identifier: MIT */
/* Physical-device queries that involve the server's own capabilities
 * (renderer/caps/caps.h): DRM format modifiers, external memory handle types and
 * sync-fd semaphores are answered here; the rest goes to the host. */
#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/caps/caps.h"
#include "renderer/memory/memory_share.h"
#include "renderer/memory/shareable_types.h"
#include "wire/runner.h"
#include "renderer/sync/sync_fd.h"
#include "base/chain.h"
#include "vn_wire.h"

static void
vs_exec_vkGetPhysicalDeviceFormatProperties2(struct vs_runner *runner,
                                             struct vn_args_vkGetPhysicalDeviceFormatProperties2 *a)
{
   VkFormatProperties2 *props = a->pFormatProperties;
   if (!props) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceFormatProperties2: no output");
      return;
   }
   struct vs_chain_cut list2 = vs_chain_cut(props, VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_2_EXT);
   struct vs_chain_cut list = vs_chain_cut(props, VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_EXT);
   vn_default_vkGetPhysicalDeviceFormatProperties2(runner, a);
   vs_chain_restore(list);
   vs_chain_restore(list2);
   VkFormatFeatureFlags linear = props->formatProperties.linearTilingFeatures;
   if (list.s)
      vs_caps_fill_modifier_list((VkDrmFormatModifierPropertiesListEXT *)list.s, linear);
   if (list2.s) {
      const VkFormatProperties3 *p3 = vs_chain_find(props, VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_3);
      vs_caps_fill_modifier_list2((VkDrmFormatModifierPropertiesList2EXT *)list2.s,
                                  p3 ? p3->linearTilingFeatures : linear);
   }
}

static void
vs_exec_vkGetPhysicalDeviceImageFormatProperties2(struct vs_runner *runner,
                                                  struct vn_args_vkGetPhysicalDeviceImageFormatProperties2 *a)
{
   if (!a->pImageFormatInfo || !a->pImageFormatProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceImageFormatProperties2: no info or output");
      return;
   }
   bool external;
   a->ret = vs_caps_image_format_info_to_host((VkPhysicalDeviceImageFormatInfo2 *)a->pImageFormatInfo, &external);
   if (a->ret != VK_SUCCESS)
      return;
   /* Without the external info the host ignores VkExternalImageFormatProperties. */
   vn_default_vkGetPhysicalDeviceImageFormatProperties2(runner, a);
   if (a->ret == VK_SUCCESS)
      vs_caps_fill_image_format(a->pImageFormatProperties, external);
}

static void
vs_exec_vkGetPhysicalDeviceExternalBufferProperties(struct vs_runner *runner,
                                                    struct vn_args_vkGetPhysicalDeviceExternalBufferProperties *a)
{
   if (!a->pExternalBufferInfo || !a->pExternalBufferProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceExternalBufferProperties: no info or output");
      return;
   }
   vs_caps_external_memory_properties(a->pExternalBufferInfo->handleType,
                                      &a->pExternalBufferProperties->externalMemoryProperties);
}

static void
vs_exec_vkGetPhysicalDeviceExternalSemaphoreProperties(
   struct vs_runner *runner, struct vn_args_vkGetPhysicalDeviceExternalSemaphoreProperties *a)
{
   if (!a->pExternalSemaphoreInfo || !a->pExternalSemaphoreProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceExternalSemaphoreProperties: no info or output");
      return;
   }
   vs_sync_fd_semaphore_properties(a->pExternalSemaphoreInfo->handleType, a->pExternalSemaphoreProperties);
}

/* Memory types the server cannot share lose their host access here too
 * (renderer/memory/shareable_types.h): the guest never plans to map them. Heaps and
 * their budget are what this client may hold (renderer/memory/memory_share.h). */
static void
vs_exec_vkGetPhysicalDeviceMemoryProperties(struct vs_runner *runner,
                                            struct vn_args_vkGetPhysicalDeviceMemoryProperties *a)
{
   if (!a->pMemoryProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceMemoryProperties: no output");
      return;
   }
   vn_default_vkGetPhysicalDeviceMemoryProperties(runner, a);
   vs_memory_hide_host_access(a->pMemoryProperties,
                              vs_physical_device_from(a->physicalDevice_obj)->unshareable_types);
   vs_memory_share_report(runner->renderer, a->physicalDevice_obj, a->pMemoryProperties, NULL);
}

static void
vs_exec_vkGetPhysicalDeviceMemoryProperties2(struct vs_runner *runner,
                                             struct vn_args_vkGetPhysicalDeviceMemoryProperties2 *a)
{
   if (!a->pMemoryProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceMemoryProperties2: no output");
      return;
   }
   vn_default_vkGetPhysicalDeviceMemoryProperties2(runner, a);
   vs_memory_hide_host_access(&a->pMemoryProperties->memoryProperties,
                              vs_physical_device_from(a->physicalDevice_obj)->unshareable_types);
   vs_memory_share_report(runner->renderer, a->physicalDevice_obj, &a->pMemoryProperties->memoryProperties,
                          vs_chain_find(a->pMemoryProperties, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT));
}

static void
vs_exec_vkGetPhysicalDeviceProperties2(struct vs_runner *runner, struct vn_args_vkGetPhysicalDeviceProperties2 *a)
{
   if (!a->pProperties) {
      vs_runner_fail(runner, "vkGetPhysicalDeviceProperties2: no output");
      return;
   }
   vn_default_vkGetPhysicalDeviceProperties2(runner, a);
   VkPhysicalDeviceNestedCommandBufferPropertiesEXT *nested =
      vs_chain_find(a->pProperties, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_NESTED_COMMAND_BUFFER_PROPERTIES_EXT);
   if (nested && nested->maxCommandBufferNestingLevel > VS_NESTING_LIMIT)
      nested->maxCommandBufferNestingLevel = VS_NESTING_LIMIT;
}

void
vs_physical_device_register(struct vn_exec_table *t)
{
   t->vkGetPhysicalDeviceProperties2 = vs_exec_vkGetPhysicalDeviceProperties2;
   t->vkGetPhysicalDeviceMemoryProperties = vs_exec_vkGetPhysicalDeviceMemoryProperties;
   t->vkGetPhysicalDeviceMemoryProperties2 = vs_exec_vkGetPhysicalDeviceMemoryProperties2;
   t->vkGetPhysicalDeviceFormatProperties2 = vs_exec_vkGetPhysicalDeviceFormatProperties2;
   t->vkGetPhysicalDeviceImageFormatProperties2 = vs_exec_vkGetPhysicalDeviceImageFormatProperties2;
   t->vkGetPhysicalDeviceExternalBufferProperties = vs_exec_vkGetPhysicalDeviceExternalBufferProperties;
   t->vkGetPhysicalDeviceExternalSemaphoreProperties = vs_exec_vkGetPhysicalDeviceExternalSemaphoreProperties;
}

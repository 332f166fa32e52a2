/* SPDX-License-Identifier: MIT */
/* Which host device extensions a guest is offered (device_extensions.h):
 * two tables of data, a deny list and the requirements between extensions,
 * over the host's list and what the generated codec can carry. */
#include "renderer/device_extensions.h"

#include <string.h>

#include "vn_wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Extensions a guest cannot use through this server even though the host
 * has them and their structs would decode: they hand host pointers or
 * platform objects across, which cannot cross the wire. */
static const char *const denied[] = {
   "VK_EXT_external_memory_host",
   "VK_EXT_device_memory_report",
   "VK_EXT_debug_marker",
   "VK_EXT_tooling_info",
};

/* Extensions that mean nothing without another one, which vk.xml's
 * "depends" requires outright (not as one of alternatives): each is offered
 * only while the other is. The other may be missing on the host, or be one
 * whose structs cannot cross the wire: a guest offered ray queries without
 * acceleration structures would be told a lie.
 * Acyclic, as vk.xml's dependencies are. */
static const struct {
   const char *name;
   const char *requires;
} requirements[] = {
   { "VK_KHR_ray_query", "VK_KHR_acceleration_structure" },
   { "VK_KHR_ray_tracing_maintenance1", "VK_KHR_acceleration_structure" },
   { "VK_KHR_ray_tracing_position_fetch", "VK_KHR_acceleration_structure" },
   { "VK_EXT_ray_tracing_invocation_reorder", "VK_KHR_ray_tracing_pipeline" },
   { "VK_NV_ray_tracing_invocation_reorder", "VK_KHR_ray_tracing_pipeline" },
   { "VK_ARM_pipeline_opacity_micromap", "VK_EXT_opacity_micromap" },
};

static bool
listed(const VkExtensionProperties *host, uint32_t count, const char *name)
{
   for (uint32_t i = 0; i < count; i++) {
      if (strncmp(host[i].extensionName, name, sizeof(host[i].extensionName)) == 0)
         return true;
   }
   return false;
}

bool
vs_device_extension_offered(const VkExtensionProperties *host, uint32_t count, const char *name)
{
   for (size_t i = 0; i < ARRAY_LEN(denied); i++) {
      if (strcmp(name, denied[i]) == 0)
         return false;
   }
   if (!vn_extension_decodable(name) || !listed(host, count, name))
      return false;
   for (size_t i = 0; i < ARRAY_LEN(requirements); i++) {
      if (strcmp(name, requirements[i].name) == 0 && !vs_device_extension_offered(host, count, requirements[i].requires))
         return false;
   }
   return true;
}

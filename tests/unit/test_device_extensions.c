/* SPDX-License-Identifier: MIT */
/* renderer/device_extensions.c: the host extensions a guest is offered. The
 * codec's answer (vn_extension_decodable) is stubbed: `undecodable` names
 * the extensions whose structs cannot cross the wire, as acceleration
 * structures cannot in the generated codec. */
#include <stdio.h>
#include <string.h>

#include "renderer/device_extensions.h"
#include "unit.h"
#include "vn_wire.h"

static const char *undecodable[4];

bool
vn_extension_decodable(const char *name)
{
   for (size_t i = 0; i < sizeof(undecodable) / sizeof(undecodable[0]); i++) {
      if (undecodable[i] && strcmp(undecodable[i], name) == 0)
         return false;
   }
   return true;
}

/* A host list of up to 8 names. */
struct host {
   VkExtensionProperties props[8];
   uint32_t count;
};

static struct host
host_of(const char *const *names)
{
   struct host h = { .count = 0 };
   for (; *names; names++)
      snprintf(h.props[h.count++].extensionName, VK_MAX_EXTENSION_NAME_SIZE, "%s", *names);
   return h;
}

#define OFFERED(h, name) vs_device_extension_offered((h).props, (h).count, name)

TEST(ray_query_with_acceleration_structures)
{
   memset(undecodable, 0, sizeof(undecodable));
   struct host h = host_of((const char *[]){ "VK_KHR_ray_query", "VK_KHR_acceleration_structure", NULL });
   CHECK(OFFERED(h, "VK_KHR_acceleration_structure"));
   CHECK(OFFERED(h, "VK_KHR_ray_query"));
}

TEST(ray_query_denied_when_the_host_lacks_acceleration_structures)
{
   memset(undecodable, 0, sizeof(undecodable));
   struct host h = host_of((const char *[]){ "VK_KHR_ray_query", "VK_KHR_ray_tracing_maintenance1",
                                             "VK_KHR_maintenance5", NULL });
   CHECK(!OFFERED(h, "VK_KHR_ray_query"));
   CHECK(!OFFERED(h, "VK_KHR_ray_tracing_maintenance1"));
   CHECK(OFFERED(h, "VK_KHR_maintenance5"));
}

TEST(ray_query_denied_when_acceleration_structures_cannot_cross_the_wire)
{
   memset(undecodable, 0, sizeof(undecodable));
   undecodable[0] = "VK_KHR_acceleration_structure";
   struct host h = host_of((const char *[]){ "VK_KHR_ray_query", "VK_KHR_acceleration_structure",
                                             "VK_KHR_ray_tracing_position_fetch", NULL });
   CHECK(!OFFERED(h, "VK_KHR_acceleration_structure"));
   CHECK(!OFFERED(h, "VK_KHR_ray_query"));
   CHECK(!OFFERED(h, "VK_KHR_ray_tracing_position_fetch"));
}

TEST(requirements_follow_chains)
{
   memset(undecodable, 0, sizeof(undecodable));
   struct host with = host_of((const char *[]){ "VK_ARM_pipeline_opacity_micromap", "VK_EXT_opacity_micromap", NULL });
   struct host without = host_of((const char *[]){ "VK_ARM_pipeline_opacity_micromap", NULL });
   CHECK(OFFERED(with, "VK_ARM_pipeline_opacity_micromap"));
   CHECK(!OFFERED(without, "VK_ARM_pipeline_opacity_micromap"));
   undecodable[0] = "VK_KHR_ray_tracing_pipeline";
   struct host rt = host_of((const char *[]){ "VK_EXT_ray_tracing_invocation_reorder", "VK_KHR_ray_tracing_pipeline",
                                              "VK_KHR_acceleration_structure", NULL });
   CHECK(!OFFERED(rt, "VK_EXT_ray_tracing_invocation_reorder"));
}

TEST(denied_and_absent_extensions)
{
   memset(undecodable, 0, sizeof(undecodable));
   struct host h = host_of((const char *[]){ "VK_EXT_external_memory_host", "VK_KHR_maintenance5", NULL });
   CHECK(!OFFERED(h, "VK_EXT_external_memory_host"));
   CHECK(!OFFERED(h, "VK_KHR_maintenance6"));
   CHECK(OFFERED(h, "VK_KHR_maintenance5"));
}

UNIT_MAIN(UNIT(ray_query_with_acceleration_structures), UNIT(ray_query_denied_when_the_host_lacks_acceleration_structures),
          UNIT(ray_query_denied_when_acceleration_structures_cannot_cross_the_wire), UNIT(requirements_follow_chains),
          UNIT(denied_and_absent_extensions))

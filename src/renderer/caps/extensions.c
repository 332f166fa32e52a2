/* SPDX-License-Identifier: MIT */
/* Which device extensions are the server's (see caps.h) and how they join
 * the host's list. */
#include <stdlib.h>
#include <string.h>

#include "renderer/caps/caps.h"
#include "vn_wire.h"

struct provided_extension {
   const char *name;
   uint32_t spec_version;
   bool unless_host_has; /* the host's own is used when it has one */
};

static const struct provided_extension provided[] = {
   { VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, 1, false },
   { VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME, 1, false },
   { VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME, 2, false },
   { VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME, 1, false },
   { VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME, 1, true },
};

_Static_assert(sizeof(provided) / sizeof(provided[0]) <= VS_CAPS_PROVIDED_MAX, "room for provided extensions");

static const struct provided_extension *
find_provided(const char *name)
{
   for (size_t i = 0; i < sizeof(provided) / sizeof(provided[0]); i++) {
      if (strcmp(provided[i].name, name) == 0)
         return &provided[i];
   }
   return NULL;
}

bool
vs_caps_host_has_extension(const struct vn_instance_table *it, VkPhysicalDevice phys, const char *name)
{
   uint32_t count = 0;
   if (it->EnumerateDeviceExtensionProperties(phys, NULL, &count, NULL) != VK_SUCCESS)
      return false;
   VkExtensionProperties *props = calloc(count ? count : 1, sizeof(*props));
   bool found = false;
   if (props && it->EnumerateDeviceExtensionProperties(phys, NULL, &count, props) >= VK_SUCCESS) {
      for (uint32_t i = 0; i < count && !found; i++)
         found = strcmp(props[i].extensionName, name) == 0;
   }
   free(props);
   return found;
}

uint32_t
vs_caps_merge_extensions(VkExtensionProperties *props, uint32_t count, bool host_has_foreign)
{
   uint32_t kept = 0;
   for (uint32_t i = 0; i < count; i++) {
      if (!vs_caps_provides(props[i].extensionName, host_has_foreign))
         props[kept++] = props[i];
   }
   for (size_t i = 0; i < sizeof(provided) / sizeof(provided[0]); i++) {
      if (provided[i].unless_host_has && host_has_foreign)
         continue;
      VkExtensionProperties *p = &props[kept++];
      memset(p, 0, sizeof(*p));
      strncpy(p->extensionName, provided[i].name, sizeof(p->extensionName) - 1);
      p->specVersion = provided[i].spec_version;
   }
   return kept;
}

bool
vs_caps_provides(const char *name, bool host_has_foreign)
{
   const struct provided_extension *p = find_provided(name);
   return p && !(p->unless_host_has && host_has_foreign);
}

/* SPDX-License-Identifier: MIT */
/* External memory as the guest sees it: dma-buf and opaque-fd handle types
 * whose memory the server shares through blobs (src/renderer/memory/). The host is
 * never asked about them and never sees them in a create info. */
#include "renderer/caps/caps.h"
#include "base/chain.h"

void
vs_caps_external_memory_properties(VkExternalMemoryHandleTypeFlagBits type, VkExternalMemoryProperties *out)
{
   if (type & VS_CAPS_MEMORY_HANDLE_TYPES) {
      /* Exportable as a blob. Importable too as far as the query goes: Mesa
       * masks import off itself over vtest, which has no import path. */
      out->externalMemoryFeatures = VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT |
                                    VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
      out->exportFromImportedHandleTypes = VS_CAPS_MEMORY_HANDLE_TYPES;
      out->compatibleHandleTypes = VS_CAPS_MEMORY_HANDLE_TYPES;
   } else {
      out->externalMemoryFeatures = 0;
      out->exportFromImportedHandleTypes = 0;
      out->compatibleHandleTypes = type;
   }
}

void
vs_caps_strip_external_memory(const void *create_info, VkStructureType stype)
{
   /* VkExternalMemoryImageCreateInfo and VkExternalMemoryBufferCreateInfo
    * have the same layout. */
   VkExternalMemoryImageCreateInfo *ext = vs_chain_find(create_info, stype);
   if (!ext)
      return;
   ext->handleTypes &= ~(VkExternalMemoryHandleTypeFlags)VS_CAPS_MEMORY_HANDLE_TYPES;
   if (!ext->handleTypes)
      vs_chain_cut(create_info, stype);
}

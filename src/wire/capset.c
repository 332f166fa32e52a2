/* SPDX-License-Identifier: MIT */
/* The Venus capset: what the guest learns about the protocol this server
 * speaks before creating anything. */
#include <string.h>

#include "wire/capset.h"
#include "vn_wire.h"

struct venus_capset {
   uint32_t wire_format_version;
   uint32_t vk_xml_version;
   uint32_t vk_ext_command_serialization_spec_version;
   uint32_t vk_mesa_venus_protocol_spec_version;
   uint32_t supports_blob_id_0;
   uint32_t vk_extension_mask1[32];
   uint32_t allow_vk_wait_syncs;
   uint32_t supports_multiple_timelines;
   uint32_t use_guest_vram;
};

_Static_assert(sizeof(struct venus_capset) == VS_CAPSET_VENUS_SIZE, "capset layout");

bool
vs_capset_get(uint32_t capset_id, uint32_t version, void *out, size_t out_size)
{
   if (capset_id != VS_CAPSET_VENUS || version != 0 || out_size < sizeof(struct venus_capset))
      return false;
   struct venus_capset c = {
      .wire_format_version = VN_WIRE_FORMAT_VERSION,
      .vk_xml_version = VN_VK_XML_VERSION,
      .vk_ext_command_serialization_spec_version = VN_EXT_COMMAND_SERIALIZATION_SPEC_VERSION,
      .vk_mesa_venus_protocol_spec_version = VN_MESA_VENUS_PROTOCOL_SPEC_VERSION,
      .supports_blob_id_0 = 1,
      .allow_vk_wait_syncs = 1,
      .supports_multiple_timelines = 1,
      .use_guest_vram = 0,
   };
   /* Bit 0 says the mask is meaningful; the rest are the extensions whose
    * structs our decoder knows. */
   memcpy(c.vk_extension_mask1, vn_extension_mask, sizeof(c.vk_extension_mask1));
   memcpy(out, &c, sizeof(c));
   return true;
}

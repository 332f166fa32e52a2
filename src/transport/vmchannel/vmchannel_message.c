/* SPDX-License-Identifier: MIT */
/* The VM channel's guest messages: framing and stateless checks
 * (vmchannel_message.h). Everything the guest sends is hostile: sizes are
 * checked before a byte of the body is kept, arithmetic on its fields is
 * done in 64 bits. */
#include "transport/vmchannel/vmchannel_message.h"

#include <stdio.h>
#include <string.h>

#include "vm/resource_table.h"

#define BLOB_FLAG_SHAREABLE 0x2u

const char *
vs_vmch_type_name(uint32_t type)
{
   switch (type) {
   case VS_VMCH_HELLO: return "HELLO";
   case VS_VMCH_ATTACH: return "ATTACH";
   case VS_VMCH_COMMIT: return "COMMIT";
   case VS_VMCH_DESTROY: return "DESTROY";
   default: return "message";
   }
}

/* The size a guest message of `type` has; 0 for a type the guest may not
 * send. */
static uint32_t
guest_message_size(uint32_t type)
{
   switch (type) {
   case VS_VMCH_HELLO: return sizeof(struct vs_vmch_hello);
   case VS_VMCH_ATTACH: return sizeof(struct vs_vmch_attach);
   case VS_VMCH_COMMIT: return sizeof(struct vs_vmch_commit);
   case VS_VMCH_DESTROY: return sizeof(struct vs_vmch_surface);
   default: return 0;
   }
}

static bool
check_attach(const struct vs_vmch_attach *a, char *why, size_t why_size)
{
   if (a->surface == 0) {
      snprintf(why, why_size, "ATTACH to surface 0");
      return false;
   }
   if (a->drm_fourcc != VS_VMCH_FORMAT_XRGB8888 && a->drm_fourcc != VS_VMCH_FORMAT_ARGB8888) {
      snprintf(why, why_size, "ATTACH of format 0x%08x (XRGB8888 or ARGB8888 only)", a->drm_fourcc);
      return false;
   }
   if (a->width == 0 || a->height == 0 || a->width > VS_VMCH_MAX_DIM || a->height > VS_VMCH_MAX_DIM) {
      snprintf(why, why_size, "ATTACH of %ux%u pixels (1..%u each)", a->width, a->height, VS_VMCH_MAX_DIM);
      return false;
   }
   if ((uint64_t)a->stride < (uint64_t)a->width * 4 || a->stride % 4 || a->offset % 4) {
      snprintf(why, why_size, "ATTACH with stride %u, offset %u for width %u (stride >= width x 4, both multiples "
               "of 4)", a->stride, a->offset, a->width);
      return false;
   }
   if (a->reserved) {
      snprintf(why, why_size, "ATTACH with reserved field 0x%x", a->reserved);
      return false;
   }
   return true;
}

/* The checks of a whole message that need no state. */
static bool
check_message(const union vs_vmch_message *m, char *why, size_t why_size)
{
   switch (m->header.type) {
   case VS_VMCH_HELLO:
      if (m->hello.version != VS_VMCH_VERSION || m->hello.flags) {
         snprintf(why, why_size, "HELLO of version %u, flags 0x%x (version %u, flags 0 served)", m->hello.version,
                  m->hello.flags, VS_VMCH_VERSION);
         return false;
      }
      return true;
   case VS_VMCH_ATTACH:
      return check_attach(&m->attach, why, why_size);
   case VS_VMCH_COMMIT:
      if (m->commit.surface == 0) {
         snprintf(why, why_size, "COMMIT of surface 0");
         return false;
      }
      return true;
   case VS_VMCH_DESTROY:
      if (m->surface.surface == 0 || m->surface.reserved) {
         snprintf(why, why_size, "DESTROY of surface %u, reserved 0x%x", m->surface.surface, m->surface.reserved);
         return false;
      }
      return true;
   }
   return false;
}

enum vs_vmch_read_result
vs_vmch_read(struct vs_vmch_reader *r, const uint8_t *data, size_t size, size_t *used, union vs_vmch_message *msg,
             char *why, size_t why_size)
{
   size_t taken = 0;
   if (r->skip) {
      size_t n = size < r->skip ? size : r->skip;
      r->skip -= (uint32_t)n;
      taken += n;
   }
   while (taken < size) {
      uint32_t want = r->have < sizeof(struct vs_vmch_header) ? (uint32_t)sizeof(struct vs_vmch_header)
                                                                : r->pending.header.size;
      size_t n = size - taken < want - r->have ? size - taken : want - r->have;
      memcpy(r->pending.bytes + r->have, data + taken, n);
      r->have += (uint32_t)n;
      taken += n;
      if (r->have < want)
         break;
      if (r->have == sizeof(struct vs_vmch_header) && want == sizeof(struct vs_vmch_header)) {
         /* The header is whole: check the size before keeping a body. */
         const struct vs_vmch_header h = r->pending.header;
         if (h.size < sizeof(struct vs_vmch_header) || h.size > VS_VMCH_MAX_MESSAGE || h.size % 4) {
            snprintf(why, why_size, "a message of type %u claims %u bytes (8 to %u, a multiple of 4)", h.type,
                     h.size, VS_VMCH_MAX_MESSAGE);
            *used = taken;
            r->have = 0;
            return VS_VMCH_READ_BROKEN;
         }
         uint32_t expected = guest_message_size(h.type);
         if (expected != h.size) {
            if (expected)
               snprintf(why, why_size, "%s of %u bytes, expected %u", vs_vmch_type_name(h.type), h.size, expected);
            else
               snprintf(why, why_size, "unknown message type %u (%u bytes)", h.type, h.size);
            r->skip = h.size - (uint32_t)sizeof(struct vs_vmch_header);
            r->have = 0;
            size_t drop = size - taken < r->skip ? size - taken : r->skip;
            r->skip -= (uint32_t)drop;
            *used = taken + drop;
            return VS_VMCH_READ_REFUSED;
         }
         if (h.size > sizeof(struct vs_vmch_header))
            continue;
      }
      /* A whole message. */
      *msg = r->pending;
      r->have = 0;
      *used = taken;
      return check_message(msg, why, why_size) ? VS_VMCH_READ_MESSAGE : VS_VMCH_READ_REFUSED;
   }
   *used = taken;
   return VS_VMCH_READ_MORE;
}

bool
vs_vmch_attach_fits(const struct vs_vmch_attach *a, const struct vs_resource_info *res, char *why, size_t why_size)
{
   if (!(res->blob_flags & BLOB_FLAG_SHAREABLE)) {
      snprintf(why, why_size, "ATTACH of resource %u, not a SHAREABLE blob (flags 0x%x)", a->res_id,
               res->blob_flags);
      return false;
   }
   /* At most 2^32 + 2^32 x 2^14: no overflow in 64 bits. */
   uint64_t end = (uint64_t)a->offset + (uint64_t)a->stride * (uint64_t)a->height;
   if (end > res->size) {
      snprintf(why, why_size, "ATTACH of resource %u: offset %u + stride %u x height %u = %llu bytes, the blob has "
               "%llu", a->res_id, a->offset, a->stride, a->height, (unsigned long long)end,
               (unsigned long long)res->size);
      return false;
   }
   return true;
}

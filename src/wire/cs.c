/* SPDX-License-Identifier: MIT */
#include "wire/cs.h"

#include <stdarg.h>
#include <stdio.h>

bool
vn_dec_fail(struct vn_decoder *d, const char *fmt, ...)
{
   if (d->error[0] == '\0') {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(d->error, sizeof(d->error), fmt, ap);
      va_end(ap);
   }
   /* Nothing more is read from a stream once it is known to be bad. */
   d->cur = d->end;
   return false;
}

void
vn_dec_short(struct vn_decoder *d, size_t need)
{
   vn_dec_fail(d, "stream truncated (need %zu bytes, %zu left)", need, (size_t)(d->end - d->cur));
}

bool
vn_dec_truncated(struct vn_decoder *d, void *dst, size_t size, size_t padded)
{
   memset(dst, 0, size); /* callers never see stale values */
   return vn_dec_fail(d, "stream truncated (need %zu bytes, %zu left)", padded, (size_t)(d->end - d->cur));
}

void
vn_dec_bad_marker(struct vn_decoder *d, uint64_t v)
{
   vn_dec_fail(d, "bad pointer marker %llu", (unsigned long long)v);
}

void
vn_dec_bad_array_size(struct vn_decoder *d, uint64_t size, uint64_t expected)
{
   vn_dec_fail(d, "array size %llu does not match count %llu", (unsigned long long)size,
                      (unsigned long long)expected);
}

void
vn_dec_arena_full(struct vn_decoder *d)
{
   vn_dec_fail(d, "command needs more than the %zu-byte decode limit", d->arena->cap);
}

/* elem_size 0: more elements than the stream allows; else more bytes than
 * a size_t holds. */
void
vn_dec_bad_count(struct vn_decoder *d, uint64_t count, size_t elem_size)
{
   if (elem_size)
      vn_dec_fail(d, "array of %llu elements of %zu bytes is too large", (unsigned long long)count, elem_size);
   else
      vn_dec_fail(d, "array of %llu elements is larger than the stream allows", (unsigned long long)count);
}

bool
vn_dec_bytes(struct vn_decoder *d, void *dst, size_t size)
{
   size_t padded = (size + 3) & ~(size_t)3;
   if (padded < size)
      return vn_dec_fail(d, "byte array too large");
   return vn_dec_raw(d, dst, size, padded);
}

bool
vn_dec_string(struct vn_decoder *d, const char **out)
{
   uint64_t n;
   if (!vn_dec_array_size(d, &n))
      return false;
   if (n == 0) {
      *out = NULL;
      return true;
   }
   char *s = vn_dec_alloc_array(d, n, 1, 1);
   if (!s || !vn_dec_bytes(d, s, (size_t)n))
      return false;
   s[n - 1] = '\0';
   *out = s;
   return true;
}

bool
vn_dec_char_array(struct vn_decoder *d, char *dst, size_t size)
{
   if (!vn_dec_bytes(d, dst, size))
      return false;
   if (size)
      dst[size - 1] = '\0';
   return true;
}

/* Out of line: its message buffer would cost every handle a bigger frame. */
static __attribute__((noinline, cold)) bool
unknown_handle(struct vn_decoder *d, uint64_t id, VkObjectType type)
{
   char refusal[VS_OBJECT_REFUSED_WHY];
   if (vs_object_refusal(d->objects, id, refusal, sizeof(refusal)))
      return vn_dec_fail(d, "object id %llu was never created: %s, which the guest did not wait for",
                         (unsigned long long)id, refusal);
   return vn_dec_fail(d, "unknown object id %llu (expected object type %d)", (unsigned long long)id, type);
}

bool
vn_dec_handle_slow(struct vn_decoder *d, uint64_t id, VkObjectType type, bool optional, uint64_t *host,
                   struct vs_object **obj)
{
   if (id == 0) {
      if (!optional)
         return vn_dec_fail(d, "null handle where one is required (object type %d)", type);
      *host = 0;
      if (obj)
         *obj = NULL;
      return true;
   }
   struct vs_object *o = d->cache ? vs_object_lookup_cached(d->objects, d->cache, id, type)
                                  : vs_object_lookup(d->objects, id, type);
   if (!o)
      return unknown_handle(d, id, type);
   *host = o->handle;
   if (obj)
      *obj = o;
   if (!d->named) {
      d->named = d->named_inline;
      d->named_cap = sizeof(d->named_inline) / sizeof(d->named_inline[0]);
   }
   if (d->named_count == d->named_cap) {
      /* As for nested handles: each entry stands for 8 bytes of stream. */
      uint32_t cap = d->named_cap * 2;
      struct vs_object **grown = vn_dec_alloc(d, (size_t)cap * sizeof(*grown));
      if (!grown)
         return false;
      if (d->named_count)
         memcpy(grown, d->named, d->named_count * sizeof(*grown));
      d->named = grown;
      d->named_cap = cap;
   }
   d->named[d->named_count++] = o;
   return true;
}

bool
vn_dec_chain_unique(struct vn_decoder *d, const void *head)
{
   for (const VkBaseInStructure *a = ((const VkBaseInStructure *)head)->pNext; a; a = a->pNext) {
      for (const VkBaseInStructure *b = a->pNext; b; b = b->pNext) {
         if (a->sType == b->sType)
            return vn_dec_fail(d, "sType %d twice in one pNext chain", (int)a->sType);
      }
   }
   return true;
}

bool
vn_dec_nested_handle(struct vn_decoder *d, VkObjectType type, bool optional, uint64_t *host,
                     const void *field)
{
   struct vs_object *obj;
   if (!vn_dec_handle(d, type, optional, host, &obj))
      return false;
   if (!obj)
      return true;
   if (d->nested_count == d->nested_cap) {
      /* The arena frees the old array with the command; each entry stands
       * for 8 bytes of stream, so the total stays proportional to it. */
      uint32_t cap = d->nested_cap ? d->nested_cap * 2 : 16;
      struct vn_nested_handle *grown = vn_dec_alloc(d, (size_t)cap * sizeof(*grown));
      if (!grown)
         return false;
      if (d->nested_count)
         memcpy(grown, d->nested, d->nested_count * sizeof(*grown));
      d->nested = grown;
      d->nested_cap = cap;
   }
   d->nested[d->nested_count++] = (struct vn_nested_handle){ .field = field, .obj = obj };
   return true;
}

struct vs_object *
vn_dec_nested_object(const struct vn_decoder *d, const void *field)
{
   for (uint32_t i = 0; i < d->nested_count; i++) {
      if (d->nested[i].field == field)
         return d->nested[i].obj;
   }
   return NULL;
}

bool
vn_dec_new_id(struct vn_decoder *d, uint64_t *id)
{
   if (!vn_dec_u64(d, id))
      return false;
   if (*id == 0)
      return vn_dec_fail(d, "object id 0 for a new object");
   if (vs_object_contains(d->objects, *id))
      return vn_dec_fail(d, "object id %llu is already in use", (unsigned long long)*id);
   return true;
}

bool
vn_dec_handle_id(struct vn_decoder *d, uint64_t *id)
{
   return vn_dec_u64(d, id);
}

bool
vn_dec_VkClearColorValue(struct vn_decoder *d, VkClearColorValue *v)
{
   uint32_t tag;
   uint64_t n;
   if (!vn_dec_u32(d, &tag) || !vn_dec_array_size(d, &n))
      return false;
   if (tag > 2 || n != 4)
      return vn_dec_fail(d, "bad VkClearColorValue (tag %u, size %llu)", tag, (unsigned long long)n);
   /* All three views are 16 raw bytes. */
   return vn_dec_raw(d, v, 16, 16);
}

bool
vn_dec_VkClearValue(struct vn_decoder *d, VkClearValue *v)
{
   uint32_t tag;
   if (!vn_dec_u32(d, &tag))
      return false;
   if (tag == 0)
      return vn_dec_VkClearColorValue(d, &v->color);
   if (tag == 1)
      return vn_dec_f32(d, &v->depthStencil.depth) && vn_dec_u32(d, &v->depthStencil.stencil);
   return vn_dec_fail(d, "bad VkClearValue tag %u", tag);
}

/* Tag 0 is the device address; tag 1, a host address, crosses only as its
 * absence (Venus encodes the pointer's presence, never what it points to). */
static bool
dec_device_or_host_address(struct vn_decoder *d, VkDeviceAddress *address)
{
   uint32_t tag;
   bool host = false;
   if (!vn_dec_u32(d, &tag))
      return false;
   if (tag == 0)
      return vn_dec_u64(d, address);
   if (tag != 1)
      return vn_dec_fail(d, "bad VkDeviceOrHostAddressKHR tag %u", tag);
   if (!vn_dec_marker(d, &host))
      return false;
   if (host)
      return vn_dec_fail(d, "VkDeviceOrHostAddressKHR: a host address cannot cross the wire");
   *address = 0;
   return true;
}

bool
vn_dec_VkDeviceOrHostAddressKHR(struct vn_decoder *d, VkDeviceOrHostAddressKHR *v)
{
   return dec_device_or_host_address(d, &v->deviceAddress);
}

bool
vn_dec_VkDeviceOrHostAddressConstKHR(struct vn_decoder *d, VkDeviceOrHostAddressConstKHR *v)
{
   return dec_device_or_host_address(d, &v->deviceAddress);
}

void
vn_enc_handle(struct vn_encoder *e, VkObjectType type, uint64_t host)
{
   struct vs_object *o = host ? vs_object_find_handle(e->objects, type, host) : NULL;
   vn_enc_u64(e, o ? o->id : 0);
}

void
vn_enc_VkClearColorValue(struct vn_encoder *e, const VkClearColorValue *v)
{
   vn_enc_u32(e, 2);
   vn_enc_array_size(e, 4);
   vn_enc_raw(e, v, 16, 16);
}

void
vn_enc_VkClearValue(struct vn_encoder *e, const VkClearValue *v)
{
   vn_enc_u32(e, 0);
   vn_enc_VkClearColorValue(e, &v->color);
}

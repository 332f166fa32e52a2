/* SPDX-License-Identifier: MIT */
/* Venus command-stream primitives: a bounds-checked reader for guest
 * commands and a bounds-checked writer for replies. The generated codec
 * (vn_wire.c) is built from these; nothing else reads guest bytes.
 *
 * Wire rules: every item is a multiple of 4 bytes and only 4-byte aligned;
 * 64-bit items are read with memcpy; padding bytes are garbage. */
#ifndef VS_CS_H
#define VS_CS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "base/arena.h"
#include "wire/object_table.h"

/* Limits on what one command may ask the decoder to build. */
#define VN_MAX_CHAIN_DEPTH 256 /* a chain nests one level per struct */
#define VN_MAX_OUTPUT_COUNT (1u << 20)

/* A handle decoded inside a struct: where it was stored, and its object. */
struct vn_nested_handle {
   const void *field;
   struct vs_object *obj;
};

struct vn_decoder {
   const uint8_t *cur;
   const uint8_t *end;
   struct vs_arena *arena;
   struct vs_object_table *objects;
   unsigned depth;
   /* Handles inside structs, in decoding order (in the arena). */
   struct vn_nested_handle *nested;
   uint32_t nested_count, nested_cap;
   /* Every object the command names, top level and nested, in decoding
    * order (in the arena): what a recorded command buffer holds. */
   struct vs_object **named;
   uint32_t named_count, named_cap;
   /* Where named starts: most commands name no more than this. */
   struct vs_object *named_inline[8];
   struct vs_object_cache *cache; /* the dispatcher's lookups (NULL: none) */
   char error[192]; /* first error, empty while none */
};

struct vn_encoder {
   uint8_t *cur;
   uint8_t *end;
   struct vs_object_table *objects;
   bool overflow;
};

bool vn_dec_fail(struct vn_decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vn_dec_raw's failure: dst zeroed, the stream marked bad. */
bool vn_dec_truncated(struct vn_decoder *d, void *dst, size_t size, size_t padded);

/* The decoder's primitives are inline, forced: the generated decoders are
 * too big for the compiler to inline them on its own, and each call would
 * cost more than the few instructions of its common path. What fails
 * (messages, zeroing) stays out of line. */
#define VN_INLINE static inline __attribute__((always_inline))
#define VN_COLD __attribute__((cold))

/* The generated decoders check the room for a run of fixed-size items at
 * once (vn_dec_need), then read them with the vn_take_ forms below, which
 * are the vn_dec_ ones less their own check (`reserved`). */
VN_COLD void vn_dec_short(struct vn_decoder *d, size_t need);

VN_INLINE bool
vn_dec_need(struct vn_decoder *d, size_t n)
{
   if ((size_t)(d->end - d->cur) >= n)
      return true;
   vn_dec_short(d, n);
   return false;
}

VN_INLINE bool
vn_read(struct vn_decoder *d, void *dst, size_t size, size_t padded, bool reserved)
{
   if (!reserved && __builtin_expect((size_t)(d->end - d->cur) < padded, 0))
      return vn_dec_truncated(d, dst, size, padded);
   memcpy(dst, d->cur, size);
   d->cur += padded;
   return true;
}

VN_INLINE bool
vn_dec_raw(struct vn_decoder *d, void *dst, size_t size, size_t padded)
{
   return vn_read(d, dst, size, padded, false);
}

VN_INLINE size_t
vn_dec_remaining(const struct vn_decoder *d)
{
   return (size_t)(d->end - d->cur);
}

#define VN_SCALAR(name, type, size, padded)                                                        \
   VN_INLINE bool vn_dec_##name(struct vn_decoder *d, type *v) { return vn_read(d, v, size, padded, false); } \
   VN_INLINE bool vn_take_##name(struct vn_decoder *d, type *v) { return vn_read(d, v, size, padded, true); }
VN_SCALAR(u32, uint32_t, 4, 4)
VN_SCALAR(i32, int32_t, 4, 4)
VN_SCALAR(u64, uint64_t, 8, 8)
VN_SCALAR(i64, int64_t, 8, 8)
VN_SCALAR(f32, float, 4, 4)
VN_SCALAR(f64, double, 8, 8)
/* 8- and 16-bit scalars occupy 4 bytes; only the low bytes are meaningful. */
VN_SCALAR(u8, uint8_t, 1, 4)
VN_SCALAR(i8, int8_t, 1, 4)
VN_SCALAR(u16, uint16_t, 2, 4)
VN_SCALAR(i16, int16_t, 2, 4)
VN_SCALAR(enum, void, 4, 4)
#undef VN_SCALAR

VN_INLINE bool
vn_dec_size(struct vn_decoder *d, size_t *v)
{
   uint64_t u;
   bool ok = vn_dec_u64(d, &u);
   if (ok && u > SIZE_MAX)
      ok = vn_dec_fail(d, "size_t value %llu out of range", (unsigned long long)u);
   *v = ok ? (size_t)u : 0; /* like vn_dec_raw: no stale value on failure */
   return ok;
}

/* The failures of the inline primitives below. */
VN_COLD void vn_dec_bad_marker(struct vn_decoder *d, uint64_t v);
VN_COLD void vn_dec_bad_array_size(struct vn_decoder *d, uint64_t size, uint64_t expected);
VN_COLD void vn_dec_arena_full(struct vn_decoder *d);
VN_COLD void vn_dec_bad_count(struct vn_decoder *d, uint64_t count, size_t elem_size);

/* A pointer marker: 1 when the pointee follows, 0 for NULL. */
VN_INLINE bool
vn_read_marker(struct vn_decoder *d, bool *present, bool reserved)
{
   uint64_t v;
   if (!vn_read(d, &v, 8, 8, reserved))
      return false;
   if (v > 1) {
      vn_dec_bad_marker(d, v);
      return false;
   }
   *present = v == 1;
   return true;
}
VN_INLINE bool vn_dec_marker(struct vn_decoder *d, bool *present) { return vn_read_marker(d, present, false); }
VN_INLINE bool vn_take_marker(struct vn_decoder *d, bool *present) { return vn_read_marker(d, present, true); }

VN_INLINE bool vn_dec_array_size(struct vn_decoder *d, uint64_t *size) { return vn_dec_u64(d, size); }
VN_INLINE bool vn_take_array_size(struct vn_decoder *d, uint64_t *size) { return vn_take_u64(d, size); }

/* An array size that must be 0 (absent) or `expected`. */
VN_INLINE bool
vn_read_array_size_opt(struct vn_decoder *d, uint64_t expected, bool *present, bool reserved)
{
   uint64_t n;
   if (!vn_read(d, &n, 8, 8, reserved))
      return false;
   if (n != 0 && n != expected) {
      vn_dec_bad_array_size(d, n, expected);
      return false;
   }
   *present = n != 0;
   return true;
}
VN_INLINE bool
vn_dec_array_size_opt(struct vn_decoder *d, uint64_t expected, bool *present)
{
   return vn_read_array_size_opt(d, expected, present, false);
}
VN_INLINE bool
vn_take_array_size_opt(struct vn_decoder *d, uint64_t expected, bool *present)
{
   return vn_read_array_size_opt(d, expected, present, true);
}

VN_INLINE void *
vn_dec_alloc(struct vn_decoder *d, size_t size)
{
   void *p = vs_arena_alloc(d->arena, size);
   if (!p)
      vn_dec_arena_full(d);
   return p;
}

/* Arena allocation of count elements, refused when count elements of at
 * least min_wire bytes each cannot fit in what is left of the stream (so
 * input-driven allocations stay proportional to the input), or over the
 * output cap when min_wire is 0. min_wire and elem_size are constants in
 * the generated code: the checks fold to a compare or two. */
VN_INLINE void *
vn_dec_alloc_array(struct vn_decoder *d, uint64_t count, size_t elem_size, size_t min_wire)
{
   if (min_wire ? count > vn_dec_remaining(d) / min_wire : count > VN_MAX_OUTPUT_COUNT) {
      vn_dec_bad_count(d, count, 0);
      return NULL;
   }
   if (count == 0)
      return NULL;
   if (elem_size && count > SIZE_MAX / elem_size) {
      vn_dec_bad_count(d, count, elem_size);
      return NULL;
   }
   return vn_dec_alloc(d, (size_t)count * elem_size);
}

/* Packed byte arrays (uint8_t[], char[], opaque blobs): padded to 4. */
bool vn_dec_bytes(struct vn_decoder *d, void *dst, size_t size);
/* A NUL-terminated string: array size then bytes; size 0 means NULL. */
bool vn_dec_string(struct vn_decoder *d, const char **out);
/* A fixed char array member (e.g. deviceName[256]): the result is always
 * NUL-terminated. */
bool vn_dec_char_array(struct vn_decoder *d, char *dst, size_t size);

/* A pNext chain names each sType at most once (the host would see only
 * one of two, and which one differs between drivers). */
bool vn_dec_chain_unique(struct vn_decoder *d, const void *head);

/* vn_dec_handle's way when its inline path does not do: a null, an id not
 * in the dispatcher's memo (or no memo), an unknown id, no room in named. */
bool vn_dec_handle_slow(struct vn_decoder *d, uint64_t id, VkObjectType type, bool optional, uint64_t *host,
                        struct vs_object **obj);

/* A handle: the guest id, translated to the host handle of that type.
 * id 0 is VK_NULL_HANDLE, refused unless `optional`. Inline for what a
 * recording names again and again: an id in the memo, room in named. */
VN_INLINE bool
vn_read_handle(struct vn_decoder *d, VkObjectType type, bool optional, uint64_t *host, struct vs_object **obj,
               bool reserved)
{
   uint64_t id;
   if (!vn_read(d, &id, 8, 8, reserved))
      return false;
   struct vs_object *o = d->cache ? vs_object_cache_probe(d->objects, d->cache, id, type) : NULL;
   if (__builtin_expect(!o || d->named_count == d->named_cap, 0))
      return vn_dec_handle_slow(d, id, type, optional, host, obj);
   *host = o->handle;
   if (obj)
      *obj = o;
   d->named[d->named_count++] = o;
   return true;
}
VN_INLINE bool
vn_dec_handle(struct vn_decoder *d, VkObjectType type, bool optional, uint64_t *host, struct vs_object **obj)
{
   return vn_read_handle(d, type, optional, host, obj, false);
}
VN_INLINE bool
vn_take_handle(struct vn_decoder *d, VkObjectType type, bool optional, uint64_t *host, struct vs_object **obj)
{
   return vn_read_handle(d, type, optional, host, obj, true);
}
/* A handle inside a struct: as vn_dec_handle, and the object is recorded
 * under `field` (where the caller stores the host handle), so handlers
 * resolve it by guest id rather than by a host handle that may alias. */
bool vn_dec_nested_handle(struct vn_decoder *d, VkObjectType type, bool optional, uint64_t *host,
                          const void *field);
/* The object recorded for `field`, NULL if none. */
struct vs_object *vn_dec_nested_object(const struct vn_decoder *d, const void *field);
/* The guest-chosen id of an object being created: non-zero, not in use. */
bool vn_dec_new_id(struct vn_decoder *d, uint64_t *id);
/* A handle in an output skeleton: the raw id, not looked up. */
bool vn_dec_handle_id(struct vn_decoder *d, uint64_t *id);

/* The unions of the protocol with a codec of their own: a tag then the
 * chosen member. */
bool vn_dec_VkClearColorValue(struct vn_decoder *d, VkClearColorValue *v);
bool vn_dec_VkClearValue(struct vn_decoder *d, VkClearValue *v);
bool vn_dec_VkDeviceOrHostAddressKHR(struct vn_decoder *d, VkDeviceOrHostAddressKHR *v);
bool vn_dec_VkDeviceOrHostAddressConstKHR(struct vn_decoder *d, VkDeviceOrHostAddressConstKHR *v);

/* ---- reply encoding ---- */

static inline void
vn_enc_raw(struct vn_encoder *e, const void *src, size_t size, size_t padded)
{
   if (e->overflow || (size_t)(e->end - e->cur) < padded) {
      e->overflow = true;
      return;
   }
   memcpy(e->cur, src, size);
   if (padded > size)
      memset(e->cur + size, 0, padded - size);
   e->cur += padded;
}

static inline void vn_enc_u32(struct vn_encoder *e, uint32_t v) { vn_enc_raw(e, &v, 4, 4); }
static inline void vn_enc_u64(struct vn_encoder *e, uint64_t v) { vn_enc_raw(e, &v, 8, 8); }
static inline void vn_enc_i32(struct vn_encoder *e, int32_t v) { vn_enc_raw(e, &v, 4, 4); }
static inline void vn_enc_i64(struct vn_encoder *e, int64_t v) { vn_enc_raw(e, &v, 8, 8); }
static inline void vn_enc_f32(struct vn_encoder *e, float v) { vn_enc_raw(e, &v, 4, 4); }
static inline void vn_enc_f64(struct vn_encoder *e, double v) { vn_enc_raw(e, &v, 8, 8); }
static inline void vn_enc_u8(struct vn_encoder *e, uint8_t v) { vn_enc_u32(e, v); }
static inline void vn_enc_i8(struct vn_encoder *e, int8_t v) { vn_enc_i32(e, v); }
static inline void vn_enc_u16(struct vn_encoder *e, uint16_t v) { vn_enc_u32(e, v); }
static inline void vn_enc_i16(struct vn_encoder *e, int16_t v) { vn_enc_i32(e, v); }
static inline void vn_enc_size(struct vn_encoder *e, size_t v) { vn_enc_u64(e, (uint64_t)v); }
static inline void vn_enc_enum(struct vn_encoder *e, const void *v) { vn_enc_raw(e, v, 4, 4); }
static inline void vn_enc_marker(struct vn_encoder *e, bool present) { vn_enc_u64(e, present ? 1 : 0); }
static inline void vn_enc_array_size(struct vn_encoder *e, uint64_t n) { vn_enc_u64(e, n); }
static inline void
vn_enc_bytes(struct vn_encoder *e, const void *src, size_t size)
{
   vn_enc_raw(e, src, size, (size + 3) & ~(size_t)3);
}

/* Host handle back to the guest id it is bound to (0 if none). Replies
 * only carry dispatchable handles this way (physical devices), which are
 * unique pointers. */
void vn_enc_handle(struct vn_encoder *e, VkObjectType type, uint64_t host);
void vn_enc_VkClearColorValue(struct vn_encoder *e, const VkClearColorValue *v);
void vn_enc_VkClearValue(struct vn_encoder *e, const VkClearValue *v);

#endif

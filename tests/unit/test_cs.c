/* SPDX-License-Identifier: MIT */
/* wire/cs.c: the bounds-checked decoder primitives every generated codec
 * is built from, and the reply encoder. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wire/cs.h"

/* ---- building streams ---- */

struct wire {
   uint8_t b[1024];
   size_t n;
};

static void
w32(struct wire *w, uint32_t v)
{
   memcpy(w->b + w->n, &v, 4);
   w->n += 4;
}

static void
w64(struct wire *w, uint64_t v)
{
   memcpy(w->b + w->n, &v, 8);
   w->n += 8;
}

/* Bytes padded to 4 with garbage (padding is never read). */
static void
wbytes(struct wire *w, const void *p, size_t size)
{
   memcpy(w->b + w->n, p, size);
   size_t padded = (size + 3) & ~(size_t)3;
   memset(w->b + w->n + size, 0xcc, padded - size);
   w->n += padded;
}

/* ---- a decoder over a stream, with its arena and object table ---- */

struct fixture {
   struct vs_arena arena;
   struct vs_object_table objects;
   struct vn_decoder d;
};

static void
fixture_init(struct fixture *f, size_t arena_cap)
{
   memset(f, 0, sizeof(*f));
   vs_arena_init(&f->arena, arena_cap);
   vs_object_table_init(&f->objects);
   /* A buffer (id 5) and an image (id 6) known to the table. */
   vs_object_add(&f->objects, 5, VK_OBJECT_TYPE_BUFFER, 0x1234, NULL);
   vs_object_add(&f->objects, 6, VK_OBJECT_TYPE_IMAGE, 0x5678, NULL);
}

static void
fixture_fini(struct fixture *f)
{
   vs_object_table_fini(&f->objects);
   vs_arena_fini(&f->arena);
}

static struct vn_decoder *
decode(struct fixture *f, const void *data, size_t size)
{
   vs_arena_reset(&f->arena);
   memset(&f->d, 0, sizeof(f->d));
   f->d.cur = data;
   f->d.end = (const uint8_t *)data + size;
   f->d.arena = &f->arena;
   f->d.objects = &f->objects;
   return &f->d;
}

/* ---- truncation of every primitive ---- */

/* Each case decodes one item from `d` (which holds a valid encoding of it,
 * built by `build`, possibly cut short). */
struct prim {
   const char *name;
   void (*build)(struct wire *w);
   bool (*dec)(struct vn_decoder *d);
};

static void b_u32(struct wire *w) { w32(w, 0x11223344); }
static void b_u64(struct wire *w) { w64(w, 0x1122334455667788ull); }
static void b_marker(struct wire *w) { w64(w, 1); }
static void b_count3(struct wire *w) { w64(w, 3); }
static void b_bytes5(struct wire *w) { wbytes(w, "hello", 5); }
static void b_string(struct wire *w) { w64(w, 3); wbytes(w, "ab", 3); }
static void b_char6(struct wire *w) { wbytes(w, "abcdef", 6); }
static void b_id5(struct wire *w) { w64(w, 5); }
static void b_id9(struct wire *w) { w64(w, 9); }
static void
b_color(struct wire *w)
{
   w32(w, 1);
   w64(w, 4);
   for (int i = 0; i < 4; i++)
      w32(w, (uint32_t)i);
}
static void b_clear0(struct wire *w) { w32(w, 0); b_color(w); }
static void b_clear1(struct wire *w) { w32(w, 1); w32(w, 0x3f800000); w32(w, 7); }

#define SCALAR_DEC(fn, type)                                                               \
   static bool d_##fn(struct vn_decoder *d)                                              \
   {                                                                                      \
      type v;                                                                             \
      memset(&v, 0xee, sizeof(v));                                                        \
      bool ok = vn_dec_##fn(d, &v);                                                       \
      if (!ok) {                                                                          \
         type zero;                                                                       \
         memset(&zero, 0, sizeof(zero));                                                  \
         /* callers never see stale values */                                             \
         if (memcmp(&v, &zero, sizeof(v)) != 0)                                           \
            unit_fail(__FILE__, __LINE__, "vn_dec_" #fn " left a stale value");           \
      }                                                                                   \
      return ok;                                                                          \
   }
SCALAR_DEC(u32, uint32_t)
SCALAR_DEC(i32, int32_t)
SCALAR_DEC(u64, uint64_t)
SCALAR_DEC(i64, int64_t)
SCALAR_DEC(f32, float)
SCALAR_DEC(f64, double)
SCALAR_DEC(u8, uint8_t)
SCALAR_DEC(i8, int8_t)
SCALAR_DEC(u16, uint16_t)
SCALAR_DEC(i16, int16_t)
SCALAR_DEC(size, size_t)
SCALAR_DEC(array_size, uint64_t)
SCALAR_DEC(handle_id, uint64_t)

static bool d_enum(struct vn_decoder *d) { VkFormat f; return vn_dec_enum(d, &f); }
static bool d_marker(struct vn_decoder *d) { bool p; return vn_dec_marker(d, &p); }
static bool d_size_opt(struct vn_decoder *d) { bool p; return vn_dec_array_size_opt(d, 3, &p); }
static bool d_bytes5(struct vn_decoder *d) { char b[5]; return vn_dec_bytes(d, b, 5); }
static bool d_string(struct vn_decoder *d) { const char *s; return vn_dec_string(d, &s); }
static bool d_char6(struct vn_decoder *d) { char b[6]; return vn_dec_char_array(d, b, 6); }
static bool
d_handle(struct vn_decoder *d)
{
   uint64_t h;
   return vn_dec_handle(d, VK_OBJECT_TYPE_BUFFER, false, &h, NULL);
}
static bool d_new_id(struct vn_decoder *d) { uint64_t id; return vn_dec_new_id(d, &id); }
static bool
d_color(struct vn_decoder *d)
{
   VkClearColorValue v;
   return vn_dec_VkClearColorValue(d, &v);
}
static bool d_clear(struct vn_decoder *d) { VkClearValue v; return vn_dec_VkClearValue(d, &v); }

static const struct prim prims[] = {
   { "u32", b_u32, d_u32 }, { "i32", b_u32, d_i32 }, { "f32", b_u32, d_f32 },
   { "u8", b_u32, d_u8 }, { "i8", b_u32, d_i8 }, { "u16", b_u32, d_u16 },
   { "i16", b_u32, d_i16 }, { "enum", b_u32, d_enum },
   { "u64", b_u64, d_u64 }, { "i64", b_u64, d_i64 }, { "f64", b_u64, d_f64 },
   { "size", b_count3, d_size }, { "array_size", b_u64, d_array_size },
   { "handle_id", b_u64, d_handle_id }, { "marker", b_marker, d_marker },
   { "array_size_opt", b_count3, d_size_opt }, { "bytes", b_bytes5, d_bytes5 },
   { "string", b_string, d_string }, { "char_array", b_char6, d_char6 },
   { "handle", b_id5, d_handle }, { "new_id", b_id9, d_new_id },
   { "VkClearColorValue", b_color, d_color }, { "VkClearValue/color", b_clear0, d_clear },
   { "VkClearValue/depth", b_clear1, d_clear },
};

TEST(cs_truncation)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
      const struct prim *p = &prims[i];
      struct wire w = { .n = 0 };
      p->build(&w);
      /* The whole encoding decodes and is consumed exactly. */
      struct vn_decoder *d = decode(&f, w.b, w.n);
      CHECK_MSG(p->dec(d), "%s: %s", p->name, d->error);
      CHECK_MSG(vn_dec_remaining(d) == 0, "%s: %zu bytes left", p->name, vn_dec_remaining(d));
      CHECK_STR_EQ(d->error, "");
      /* Every shorter stream fails cleanly: an error, nothing more read. */
      for (size_t len = 0; len < w.n; len++) {
         d = decode(&f, w.b, len);
         CHECK_MSG(!p->dec(d), "%s: decoded from %zu of %zu bytes", p->name, len, w.n);
         CHECK(!unit_failed());
         CHECK_MSG(d->error[0] != '\0', "%s: no error text", p->name);
         CHECK_EQ(vn_dec_remaining(d), (size_t)0);
         /* The first error is the one kept. */
         char first[sizeof(d->error)];
         memcpy(first, d->error, sizeof(first));
         uint32_t v;
         CHECK(!vn_dec_u32(d, &v));
         CHECK_EQ(v, 0u);
         CHECK_STR_EQ(d->error, first);
      }
   }
   fixture_fini(&f);
}

TEST(cs_truncation_message)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   uint8_t six[6] = { 0 };
   struct vn_decoder *d = decode(&f, six, 6);
   uint32_t v;
   uint64_t u;
   CHECK(vn_dec_u32(d, &v));
   CHECK(!vn_dec_u64(d, &u));
   CHECK_STR_EQ(d->error, "stream truncated (need 8 bytes, 2 left)");
   /* vn_dec_fail keeps the first message. */
   CHECK(!vn_dec_fail(d, "second %d", 2));
   CHECK_STR_EQ(d->error, "stream truncated (need 8 bytes, 2 left)");
   /* u8 takes a whole word. */
   d = decode(&f, six, 3);
   uint8_t b;
   CHECK(!vn_dec_u8(d, &b));
   CHECK_STR_CONTAINS(d->error, "need 4 bytes, 3 left");
   fixture_fini(&f);
}

TEST(cs_markers)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   const struct {
      uint64_t v;
      bool ok, present;
   } cases[] = {
      { 0, true, false }, { 1, true, true }, { 2, false, false }, { 0x100000000ull, false, false },
      { 0x100000001ull, false, false }, { UINT64_MAX, false, false },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct wire w = { .n = 0 };
      w64(&w, cases[i].v);
      struct vn_decoder *d = decode(&f, w.b, w.n);
      bool present = !cases[i].present;
      bool ok = vn_dec_marker(d, &present);
      CHECK_MSG(ok == cases[i].ok, "marker %llu", (unsigned long long)cases[i].v);
      if (ok)
         CHECK_EQ(present, cases[i].present);
      else
         CHECK_STR_CONTAINS(d->error, "bad pointer marker");
   }
   fixture_fini(&f);
}

TEST(cs_array_sizes)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   const struct {
      uint64_t n, expected;
      bool ok, present;
   } cases[] = {
      { 0, 3, true, false }, { 3, 3, true, true }, { 2, 3, false, false },
      { 4, 3, false, false }, { 0, 0, true, false }, { 1, 0, false, false },
      { UINT64_MAX, 3, false, false }, { 3 | 1ull << 32, 3, false, false },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct wire w = { .n = 0 };
      w64(&w, cases[i].n);
      struct vn_decoder *d = decode(&f, w.b, w.n);
      bool present = !cases[i].present;
      bool ok = vn_dec_array_size_opt(d, cases[i].expected, &present);
      CHECK_MSG(ok == cases[i].ok, "size %llu for count %llu", (unsigned long long)cases[i].n,
                (unsigned long long)cases[i].expected);
      if (ok)
         CHECK_EQ(present, cases[i].present);
      else
         CHECK_STR_CONTAINS(d->error, "does not match count");
   }
   fixture_fini(&f);
}

TEST(cs_alloc_array)
{
   struct fixture f;
   fixture_init(&f, 64 << 20);
   uint8_t data[16] = { 0 };
   /* Counts are bounded by what is left of the stream. */
   struct vn_decoder *d = decode(&f, data, 16);
   CHECK_NOT_NULL(vn_dec_alloc_array(d, 4, 8, 4));
   CHECK_NOT_NULL(vn_dec_alloc_array(d, 16, 1, 1));
   CHECK_NOT_NULL(vn_dec_alloc_array(d, 2, 100, 8));
   CHECK_STR_EQ(d->error, "");
   CHECK_NULL(vn_dec_alloc_array(d, 5, 8, 4));
   CHECK_STR_CONTAINS(d->error, "larger than the stream allows");

   d = decode(&f, data, 16);
   CHECK_NULL(vn_dec_alloc_array(d, 17, 1, 1));
   CHECK(d->error[0]);
   d = decode(&f, data, 16);
   CHECK_NULL(vn_dec_alloc_array(d, UINT64_MAX, 1, 1));
   CHECK(d->error[0]);
   d = decode(&f, data, 16);
   CHECK_NULL(vn_dec_alloc_array(d, 1ull << 62, 8, 4));
   CHECK(d->error[0]);

   /* A count of 0 is no array, and no error. */
   d = decode(&f, data, 0);
   CHECK_NULL(vn_dec_alloc_array(d, 0, 8, 4));
   CHECK_STR_EQ(d->error, "");

   /* Output arrays (min_wire 0) are capped by count, not by the stream. */
   d = decode(&f, data, 0);
   uint8_t *out = vn_dec_alloc_array(d, VN_MAX_OUTPUT_COUNT, 1, 0);
   CHECK_NOT_NULL(out);
   CHECK_EQ(out[VN_MAX_OUTPUT_COUNT - 1], 0);
   CHECK_NULL(vn_dec_alloc_array(d, (uint64_t)VN_MAX_OUTPUT_COUNT + 1, 1, 0));
   CHECK_STR_CONTAINS(d->error, "larger than the stream allows");

   /* count * elem_size must not wrap into a small allocation. */
   d = decode(&f, data, 16);
   CHECK_NULL(vn_dec_alloc_array(d, 2, SIZE_MAX / 2 + 1, 0));
   CHECK(d->error[0]);
   d = decode(&f, data, 16);
   CHECK_NULL(vn_dec_alloc_array(d, 4, SIZE_MAX / 4 + 1, 1));
   CHECK(d->error[0]);

   /* And the arena's cap holds. */
   fixture_fini(&f);
   fixture_init(&f, 64);
   d = decode(&f, data, 0);
   CHECK_NOT_NULL(vn_dec_alloc_array(d, 64, 1, 0));
   CHECK_NULL(vn_dec_alloc_array(d, 1, 1, 0));
   CHECK_STR_CONTAINS(d->error, "decode limit");
   fixture_fini(&f);
}

TEST(cs_strings)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   struct wire w = { .n = 0 };
   w64(&w, 0);            /* NULL */
   w64(&w, 3);            /* "ab" with its NUL */
   wbytes(&w, "ab", 3);
   w64(&w, 3);            /* no NUL: cut to "ab" */
   wbytes(&w, "abc", 3);
   w64(&w, 1);            /* "" */
   wbytes(&w, "", 1);
   w64(&w, 5);            /* NUL inside */
   wbytes(&w, "a\0cde", 5);
   w32(&w, 0xfeedf00d);   /* what follows is still aligned */
   struct vn_decoder *d = decode(&f, w.b, w.n);
   const char *s = "stale";
   CHECK(vn_dec_string(d, &s));
   CHECK_NULL(s);
   CHECK(vn_dec_string(d, &s));
   CHECK_STR_EQ(s, "ab");
   CHECK(vn_dec_string(d, &s));
   CHECK_STR_EQ(s, "ab");
   CHECK(vn_dec_string(d, &s));
   CHECK_STR_EQ(s, "");
   CHECK(vn_dec_string(d, &s));
   CHECK_STR_EQ(s, "a");
   uint32_t v;
   CHECK(vn_dec_u32(d, &v));
   CHECK_EQ(v, 0xfeedf00du);
   CHECK_EQ(vn_dec_remaining(d), (size_t)0);

   /* A length past the stream is refused before any allocation. */
   w.n = 0;
   w64(&w, 1ull << 40);
   wbytes(&w, "abcd", 4);
   d = decode(&f, w.b, w.n);
   CHECK(!vn_dec_string(d, &s));
   CHECK_STR_CONTAINS(d->error, "larger than the stream allows");
   CHECK_EQ(f.arena.used_total, (size_t)0);
   fixture_fini(&f);
}

TEST(cs_char_arrays)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   struct wire w = { .n = 0 };
   wbytes(&w, "abcd", 4);
   wbytes(&w, "x", 1);
   wbytes(&w, "ABCDEFG", 7);
   struct vn_decoder *d = decode(&f, w.b, w.n);
   char four[4], one[1], seven[7];
   CHECK(vn_dec_char_array(d, four, 4));
   CHECK_STR_EQ(four, "abc"); /* always NUL-terminated */
   CHECK(vn_dec_char_array(d, one, 1));
   CHECK_STR_EQ(one, "");
   CHECK(vn_dec_char_array(d, seven, 7));
   CHECK_STR_EQ(seven, "ABCDEF");
   CHECK_EQ(vn_dec_remaining(d), (size_t)0);

   /* Size 0 reads nothing and writes nothing (not even a NUL before the
    * array). */
   char buf[2] = { 'Z', 'Z' };
   d = decode(&f, w.b, w.n);
   CHECK(vn_dec_char_array(d, buf + 1, 0));
   CHECK_EQ(buf[0], 'Z');
   CHECK_EQ(buf[1], 'Z');
   CHECK_EQ(vn_dec_remaining(d), w.n);
   fixture_fini(&f);
}

TEST(cs_handles)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   struct wire w = { .n = 0 };
   w64(&w, 5);
   struct vn_decoder *d = decode(&f, w.b, w.n);
   uint64_t host = 0;
   struct vs_object *obj = NULL;
   CHECK(vn_dec_handle(d, VK_OBJECT_TYPE_BUFFER, false, &host, &obj));
   CHECK_EQ(host, 0x1234u);
   CHECK_NOT_NULL(obj);
   CHECK_EQ(obj->id, 5u);

   /* id 0: VK_NULL_HANDLE, only where optional. */
   w.n = 0;
   w64(&w, 0);
   d = decode(&f, w.b, w.n);
   host = 99;
   obj = (struct vs_object *)&f;
   CHECK(vn_dec_handle(d, VK_OBJECT_TYPE_BUFFER, true, &host, &obj));
   CHECK_EQ(host, 0u);
   CHECK_NULL(obj);
   d = decode(&f, w.b, w.n);
   CHECK(!vn_dec_handle(d, VK_OBJECT_TYPE_BUFFER, false, &host, NULL));
   CHECK_STR_CONTAINS(d->error, "null handle");

   /* Unknown ids and the wrong type fail, optional or not. */
   const uint64_t bad[] = { 7, 6, 1ull << 32 | 5 };
   for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      w.n = 0;
      w64(&w, bad[i]);
      d = decode(&f, w.b, w.n);
      CHECK_MSG(!vn_dec_handle(d, VK_OBJECT_TYPE_BUFFER, true, &host, NULL), "id %llu",
                (unsigned long long)bad[i]);
      CHECK_STR_CONTAINS(d->error, "unknown object id");
   }

   /* Output-skeleton ids are taken as they come. */
   w.n = 0;
   w64(&w, 12345);
   d = decode(&f, w.b, w.n);
   uint64_t id;
   CHECK(vn_dec_handle_id(d, &id));
   CHECK_EQ(id, 12345u);
   fixture_fini(&f);
}

TEST(cs_new_ids)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   const struct {
      uint64_t id;
      bool ok;
      const char *why;
   } cases[] = {
      { 9, true, NULL }, { 0, false, "id 0" }, { 5, false, "already in use" },
      { 6, false, "already in use" }, { UINT64_MAX, true, NULL },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct wire w = { .n = 0 };
      w64(&w, cases[i].id);
      struct vn_decoder *d = decode(&f, w.b, w.n);
      uint64_t id = 0;
      CHECK_EQ(vn_dec_new_id(d, &id), cases[i].ok);
      if (cases[i].ok)
         CHECK_EQ(id, cases[i].id);
      else
         CHECK_STR_CONTAINS(d->error, cases[i].why);
   }
   fixture_fini(&f);
}

TEST(cs_unions)
{
   struct fixture f;
   fixture_init(&f, 1 << 20);
   struct wire w = { .n = 0 };
   w32(&w, 3); /* tag out of range */
   w64(&w, 4);
   for (int i = 0; i < 4; i++)
      w32(&w, 0);
   VkClearColorValue c;
   struct vn_decoder *d = decode(&f, w.b, w.n);
   CHECK(!vn_dec_VkClearColorValue(d, &c));
   CHECK_STR_CONTAINS(d->error, "bad VkClearColorValue");
   w.n = 0;
   w32(&w, 0);
   w64(&w, 3); /* wrong size */
   for (int i = 0; i < 4; i++)
      w32(&w, 0);
   d = decode(&f, w.b, w.n);
   CHECK(!vn_dec_VkClearColorValue(d, &c));
   w.n = 0;
   w32(&w, 2); /* VkClearValue tag 2 */
   d = decode(&f, w.b, w.n);
   VkClearValue cv;
   CHECK(!vn_dec_VkClearValue(d, &cv));
   CHECK_STR_CONTAINS(d->error, "bad VkClearValue tag");

   w.n = 0;
   b_clear1(&w);
   d = decode(&f, w.b, w.n);
   CHECK(vn_dec_VkClearValue(d, &cv));
   CHECK(cv.depthStencil.depth == 1.0f);
   CHECK_EQ(cv.depthStencil.stencil, 7u);
   fixture_fini(&f);
}

TEST(cs_encoder)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   vs_object_add(&t, 5, VK_OBJECT_TYPE_BUFFER, 0x1234, NULL);

   uint8_t buf[64];
   memset(buf, 0xee, sizeof(buf));
   struct vn_encoder e = { .cur = buf, .end = buf + 40, .objects = &t };
   vn_enc_u32(&e, 0x11223344);
   vn_enc_u8(&e, 0xff);                /* a whole word */
   vn_enc_bytes(&e, "abc", 3);         /* padded with zeros */
   vn_enc_marker(&e, true);            /* u64 1 */
   vn_enc_handle(&e, VK_OBJECT_TYPE_BUFFER, 0x1234); /* -> id 5 */
   vn_enc_handle(&e, VK_OBJECT_TYPE_IMAGE, 0x1234);  /* unknown -> 0 */
   CHECK(!e.overflow);
   CHECK_EQ((size_t)(e.cur - buf), (size_t)36);
   uint32_t u32;
   uint64_t u64;
   memcpy(&u32, buf, 4);
   CHECK_EQ(u32, 0x11223344u);
   memcpy(&u32, buf + 4, 4);
   CHECK_EQ(u32, 0xffu);
   CHECK(memcmp(buf + 8, "abc\0", 4) == 0);
   memcpy(&u64, buf + 12, 8);
   CHECK_EQ(u64, 1u);
   memcpy(&u64, buf + 20, 8);
   CHECK_EQ(u64, 5u);
   memcpy(&u64, buf + 28, 8);
   CHECK_EQ(u64, 0u);

   /* 4 bytes left: a u64 overflows, writes nothing, and the flag sticks
    * even for a u32 that would fit. */
   vn_enc_u64(&e, 1);
   CHECK(e.overflow);
   CHECK_EQ((size_t)(e.cur - buf), (size_t)36);
   vn_enc_u32(&e, 2);
   CHECK_EQ((size_t)(e.cur - buf), (size_t)36);
   for (size_t i = 36; i < sizeof(buf); i++)
      CHECK_EQ(buf[i], 0xee);

   /* Encoded unions decode back. */
   VkClearValue in, out;
   memset(&in, 0, sizeof(in));
   in.color.uint32[0] = 1;
   in.color.uint32[3] = 4;
   e = (struct vn_encoder){ .cur = buf, .end = buf + sizeof(buf), .objects = &t };
   vn_enc_VkClearValue(&e, &in);
   CHECK(!e.overflow);
   struct vs_arena arena;
   vs_arena_init(&arena, 4096);
   struct vn_decoder d = { .cur = buf, .end = e.cur, .arena = &arena, .objects = &t };
   CHECK(vn_dec_VkClearValue(&d, &out));
   CHECK(memcmp(&in.color, &out.color, sizeof(in.color)) == 0);
   CHECK_EQ(vn_dec_remaining(&d), (size_t)0);
   vs_arena_fini(&arena);
   vs_object_table_fini(&t);
}

UNIT_MAIN(UNIT(cs_truncation), UNIT(cs_truncation_message), UNIT(cs_markers),
          UNIT(cs_array_sizes), UNIT(cs_alloc_array), UNIT(cs_strings), UNIT(cs_char_arrays),
          UNIT(cs_handles), UNIT(cs_new_ids), UNIT(cs_unions), UNIT(cs_encoder))

/* SPDX-License-Identifier: MIT */
/* transport/vmchannel/vmchannel_message.c: framing the guest's byte stream
 * and the checks of its messages, hostile sizes and types included. */
#include <string.h>

#include "unit.h"
#include "vm/resource_table.h"
#include "transport/vmchannel/vmchannel_message.h"

#define XR24 0x34325258u
#define AR24 0x34325241u

static struct vs_vmch_attach
attach(uint32_t surface, uint32_t res, uint32_t offset, uint32_t stride, uint32_t w, uint32_t h, uint32_t fourcc)
{
   return (struct vs_vmch_attach){ { VS_VMCH_ATTACH, sizeof(struct vs_vmch_attach) }, surface, res, offset, stride,
                                   w, h, fourcc, 0 };
}

/* Feeds `size` bytes `step` at a time; returns the results in order (up to
 * 8) and their count. */
static int
feed(struct vs_vmch_reader *r, const void *bytes, size_t size, size_t step, enum vs_vmch_read_result *out,
     union vs_vmch_message *msgs, char why[][160])
{
   int n = 0;
   const uint8_t *p = bytes;
   size_t off = 0;
   while (off < size && n < 8) {
      size_t chunk = size - off < step ? size - off : step;
      size_t used = 0;
      enum vs_vmch_read_result res = vs_vmch_read(r, p + off, chunk, &used, &msgs[n], why[n], 160);
      if (used > chunk)
         return -1;
      off += used;
      if (res != VS_VMCH_READ_MORE)
         out[n++] = res;
      if (res == VS_VMCH_READ_BROKEN)
         break;
      if (used == 0 && res == VS_VMCH_READ_MORE)
         return -1; /* no progress */
   }
   return n;
}

TEST(vmch_frames_messages_at_any_split)
{
   struct {
      struct vs_vmch_hello hello;
      struct vs_vmch_attach attach;
      struct vs_vmch_commit commit;
      struct vs_vmch_surface destroy;
   } stream = {
      { { VS_VMCH_HELLO, sizeof(struct vs_vmch_hello) }, VS_VMCH_VERSION, 0 },
      attach(3, 9, 0, 5120, 1280, 800, XR24),
      { { VS_VMCH_COMMIT, sizeof(struct vs_vmch_commit) }, 3, 1 },
      { { VS_VMCH_DESTROY, sizeof(struct vs_vmch_surface) }, 3, 0 },
   };
   for (size_t step = 1; step <= sizeof(stream); step++) {
      struct vs_vmch_reader r = { 0 };
      enum vs_vmch_read_result res[8];
      union vs_vmch_message m[8];
      char why[8][160];
      CHECK_EQ(feed(&r, &stream, sizeof(stream), step, res, m, why), 4);
      for (int i = 0; i < 4; i++)
         CHECK_EQ(res[i], VS_VMCH_READ_MESSAGE);
      CHECK_EQ(m[0].header.type, (uint32_t)VS_VMCH_HELLO);
      CHECK_EQ(m[1].attach.stride, 5120u);
      CHECK_EQ(m[1].attach.res_id, 9u);
      CHECK_EQ(m[2].commit.serial, 1u);
      CHECK_EQ(m[3].surface.surface, 3u);
      CHECK_EQ(r.have, 0u);
   }
}

TEST(vmch_refuses_and_skips_bad_types_and_sizes)
{
   /* An unknown type of a frameable size, a host type from the guest, a
    * known type of the wrong size: each refused and skipped, and the
    * COMMIT after them read. */
   uint32_t words[] = {
      99, 16, 0xaaaaaaaa, 0xbbbbbbbb,           /* unknown type */
      VS_VMCH_FRAME, 24, 1, 2, 3, 4,            /* host -> guest type */
      VS_VMCH_COMMIT, 20, 1, 2, 3,              /* COMMIT of 20 bytes */
      VS_VMCH_COMMIT, 16, 7, 8,                 /* fine */
   };
   for (size_t step = 1; step <= sizeof(words); step += 3) {
      struct vs_vmch_reader r = { 0 };
      enum vs_vmch_read_result res[8];
      union vs_vmch_message m[8];
      char why[8][160];
      CHECK_EQ(feed(&r, words, sizeof(words), step, res, m, why), 4);
      CHECK_EQ(res[0], VS_VMCH_READ_REFUSED);
      CHECK(strstr(why[0], "unknown message type 99") != NULL);
      CHECK_EQ(res[1], VS_VMCH_READ_REFUSED);
      CHECK(strstr(why[1], "unknown message type 18") != NULL);
      CHECK_EQ(res[2], VS_VMCH_READ_REFUSED);
      CHECK(strstr(why[2], "COMMIT of 20 bytes, expected 16") != NULL);
      CHECK_EQ(res[3], VS_VMCH_READ_MESSAGE);
      CHECK_EQ(m[3].commit.surface, 7u);
      CHECK_EQ(m[3].commit.serial, 8u);
   }
}

TEST(vmch_unframeable_sizes_break_the_stream)
{
   const uint32_t sizes[] = { 0, 4, 7, 66, 68, 4096, 0xffffffffu, 0x80000008u };
   for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      uint32_t words[] = { VS_VMCH_ATTACH, sizes[i], 0, 0 };
      struct vs_vmch_reader r = { 0 };
      enum vs_vmch_read_result res[8];
      union vs_vmch_message m[8];
      char why[8][160];
      CHECK_EQ(feed(&r, words, sizeof(words), 5, res, m, why), 1);
      CHECK_EQ(res[0], VS_VMCH_READ_BROKEN);
      CHECK(strstr(why[0], "claims") != NULL);
   }
}

TEST(vmch_checks_fields)
{
   struct {
      struct vs_vmch_attach a;
      const char *why;
   } cases[] = {
      { attach(0, 9, 0, 4096, 1024, 8, XR24), "surface 0" },
      { attach(1, 9, 0, 4096, 1024, 8, 0x3231564e /* NV12 */), "format" },
      { attach(1, 9, 0, 4096, 0, 8, XR24), "pixels" },
      { attach(1, 9, 0, 4096, 1024, 16385, XR24), "pixels" },
      { attach(1, 9, 0, 4092, 1024, 8, XR24), "stride" },
      { attach(1, 9, 0, 0xffffffffu, 0x40000000u, 8, XR24), "pixels" },
      { attach(1, 9, 2, 4096, 1024, 8, AR24), "offset" },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct vs_vmch_reader r = { 0 };
      union vs_vmch_message m;
      char why[160];
      size_t used;
      CHECK_EQ(vs_vmch_read(&r, (const uint8_t *)&cases[i].a, sizeof(cases[i].a), &used, &m, why, sizeof(why)),
               VS_VMCH_READ_REFUSED);
      CHECK_EQ(used, sizeof(cases[i].a));
      if (!strstr(why, cases[i].why))
         unit_note("case %zu: %s", i, why);
      CHECK(strstr(why, cases[i].why) != NULL);
   }
   struct vs_vmch_attach reserved = attach(1, 9, 0, 4096, 1024, 8, XR24);
   reserved.reserved = 1;
   struct vs_vmch_hello hello = { { VS_VMCH_HELLO, sizeof(hello) }, 2, 0 };
   struct vs_vmch_surface destroy = { { VS_VMCH_DESTROY, sizeof(destroy) }, 0, 0 };
   struct vs_vmch_commit commit = { { VS_VMCH_COMMIT, sizeof(commit) }, 0, 5 };
   const void *bad[] = { &reserved, &hello, &destroy, &commit };
   const size_t bad_size[] = { sizeof(reserved), sizeof(hello), sizeof(destroy), sizeof(commit) };
   for (size_t i = 0; i < 4; i++) {
      struct vs_vmch_reader r = { 0 };
      union vs_vmch_message m;
      char why[160];
      size_t used;
      CHECK_EQ(vs_vmch_read(&r, bad[i], bad_size[i], &used, &m, why, sizeof(why)), VS_VMCH_READ_REFUSED);
   }
}

TEST(vmch_attach_fits_the_blob)
{
   struct vs_resource_info res = { .res_id = 9, .ctx_id = 2, .size = 1024u * 8 * 4, .blob_flags = 3 };
   char why[160];
   struct vs_vmch_attach a = attach(1, 9, 0, 4096, 1024, 8, XR24);
   CHECK(vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   /* One byte past the blob. */
   a.offset = 4;
   CHECK(!vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   CHECK(strstr(why, "the blob has 32768") != NULL);
   /* Sizes whose product wraps in 32 bits. */
   a = attach(1, 9, 0xfffffffcu, 0x100000u, 1024, 16384, XR24);
   CHECK(!vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   a = attach(1, 9, 0, 0x40000000u, 1, 4, XR24); /* 2^32 exactly */
   res.size = 0x100000000ull;
   CHECK(vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   res.size--;
   CHECK(!vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   /* Not SHAREABLE. */
   res.size = 1ull << 40;
   res.blob_flags = 1;
   CHECK(!vs_vmch_attach_fits(&a, &res, why, sizeof(why)));
   CHECK(strstr(why, "not a SHAREABLE blob") != NULL);
}

UNIT_MAIN(UNIT(vmch_frames_messages_at_any_split), UNIT(vmch_refuses_and_skips_bad_types_and_sizes),
          UNIT(vmch_unframeable_sizes_break_the_stream), UNIT(vmch_checks_fields), UNIT(vmch_attach_fits_the_blob))

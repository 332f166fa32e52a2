/* SPDX-License-Identifier: MIT */
/* Test client: scale.comp over persistently mapped HOST_VISIBLE|HOST_COHERENT
 * buffers, checking every word, several rounds through the same mappings
 * with no flush or invalidate (coherence in both directions).
 *
 *   vk_compute [--mib N] [--seed S] [--rounds R] [--pause-ms M]
 *              [--check-foreign P]... [--print-marker]
 *
 * Isolation: each client has a 64-bit marker derived from its seed
 * (--print-marker prints it and exits). Every round it allocates a scratch
 * buffer, fills it with its marker, and frees it only after the round (and
 * the pause), so its marked memory is live, then released, while another
 * client runs. Every freshly allocated mapping (src, dst, each scratch) is
 * scanned first for the markers given with --check-foreign: seeing another
 * client's marker means memory leaked across clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_util.h"

#define MAX_FOREIGN 8

struct opts {
   uint32_t mib, seed, rounds, pause_ms;
   uint64_t foreign[MAX_FOREIGN];
   unsigned nforeign;
   bool print_marker;
};

static uint64_t
marker_of(uint32_t seed)
{
   /* splitmix64: distinct seeds give unrelated, non-trivial patterns. */
   uint64_t z = seed + 0x6D61726B65720000ull + 0x9E3779B97F4A7C15ull;
   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
   z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
   z ^= z >> 31;
   return z ? z : 0x6D61726B65720001ull;
}

/* Input word i of `round`: differs between rounds, so a stale read shows. */
static uint32_t
value_of(uint32_t seed, uint32_t round, uint32_t i)
{
   uint32_t x = (i * 0x9E3779B1u) ^ (seed * 0x85EBCA77u + round * 0xC2B2AE3Du + 1u);
   x ^= x >> 15;
   x *= 0x2C1B3C6Du;
   x ^= x >> 12;
   return x;
}

static bool
parse_u32(const char *s, uint32_t *out)
{
   char *end;
   unsigned long long v = strtoull(s, &end, 0);
   if (!*s || *end || v > UINT32_MAX)
      return false;
   *out = (uint32_t)v;
   return true;
}

static bool
parse_args(int argc, char **argv, struct opts *o)
{
   *o = (struct opts){ .mib = 64, .seed = 1, .rounds = 2 };
   for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      bool ok = v != NULL;
      if (!strcmp(a, "--print-marker")) {
         o->print_marker = true;
         continue;
      } else if (!strcmp(a, "--mib")) {
         ok = ok && parse_u32(v, &o->mib) && o->mib > 0 && o->mib <= 1024;
      } else if (!strcmp(a, "--seed")) {
         ok = ok && parse_u32(v, &o->seed);
      } else if (!strcmp(a, "--rounds")) {
         ok = ok && parse_u32(v, &o->rounds) && o->rounds > 0;
      } else if (!strcmp(a, "--pause-ms")) {
         ok = ok && parse_u32(v, &o->pause_ms);
      } else if (!strcmp(a, "--check-foreign")) {
         char *end;
         ok = ok && o->nforeign < MAX_FOREIGN;
         if (ok) {
            o->foreign[o->nforeign++] = strtoull(v, &end, 0);
            ok = *v && !*end;
         }
      } else {
         ok = false;
      }
      if (!ok) {
         fprintf(stderr, "usage: vk_compute [--mib N (1..1024)] [--seed S] [--rounds R] [--pause-ms M]\n"
                         "                  [--check-foreign MARKER]... [--print-marker]\n");
         return false;
      }
      i++;
   }
   return true;
}

/* error line if the fresh mapping `b` holds any of the foreign markers. */
static void
scan_foreign(struct vkt *t, const struct opts *o, const struct vkt_buffer *b, const char *name)
{
   const uint64_t *w = (const uint64_t *)b->map;
   size_t n = (size_t)(b->size / sizeof(uint64_t));
   for (unsigned f = 0; f < o->nforeign; f++) {
      size_t hits = 0, first = 0;
      for (size_t i = 0; i < n; i++) {
         if (w[i] == o->foreign[f] && hits++ == 0)
            first = i;
      }
      if (hits)
         vkt_error(t, "fresh %s memory holds foreign marker 0x%016llx: %zu words, first at byte %zu",
                   name, (unsigned long long)o->foreign[f], hits, first * sizeof(uint64_t));
      else
         vkt_ok(t, "fresh %s memory (%u MiB) holds no foreign marker 0x%016llx", name,
                (unsigned)(b->size >> 20), (unsigned long long)o->foreign[f]);
   }
}

/* Check every word of dst after round `r`; the host poisoned dst with ~expected
 * before the dispatch, so the two coherence directions can be told apart. */
static void
verify_round(struct vkt *t, const struct opts *o, uint32_t r, const struct vkt_buffer *src,
             const struct vkt_buffer *dst, uint32_t count, uint32_t mul, uint32_t add)
{
   size_t stale = 0, wrong = 0, first_stale = 0, first_wrong = 0;
   for (uint32_t i = 0; i < count; i++) {
      uint32_t want = vkt_scale_expect(src->map[i], i, mul, add);
      uint32_t got = dst->map[i];
      if (got == want)
         continue;
      if (got == ~want) {
         if (stale++ == 0)
            first_stale = i;
      } else if (wrong++ == 0) {
         first_wrong = i;
      }
   }
   if (stale)
      vkt_error(t, "round %u: shader writes -> host reads: %zu of %u words still hold the host's "
                "pre-dispatch value (first at word %zu)", r, stale, count, first_stale);
   else
      vkt_ok(t, "round %u: shader writes -> host reads: all %u words visible through the mapping", r, count);

   if (wrong) {
      uint32_t i = (uint32_t)first_wrong;
      uint32_t got = dst->map[i];
      bool prev = r > 0 && got == vkt_scale_expect(value_of(o->seed, r - 1, i), i, mul, add);
      vkt_error(t, "round %u: host writes -> shader reads: %zu of %u words wrong; word %u = 0x%08x, "
                "want 0x%08x%s", r, wrong, count, i, got, vkt_scale_expect(src->map[i], i, mul, add),
                prev ? " (computed from the previous round's input: stale read)" : "");
   } else if (stale) {
      vkt_error(t, "round %u: host writes -> shader reads: not verified (shader output not visible)", r);
   } else {
      vkt_ok(t, "round %u: host writes -> shader reads: all %u results match", r, count);
   }
}

int
main(int argc, char **argv)
{
   struct opts o;
   if (!parse_args(argc, argv, &o))
      return 2;
   const uint64_t marker = marker_of(o.seed);
   if (o.print_marker) {
      printf("0x%016llx\n", (unsigned long long)marker);
      return 0;
   }
   setvbuf(stdout, NULL, _IOLBF, 0);

   struct vkt t;
   if (!vkt_init(&t, 1, NULL)) {
      vkt_fini(&t);
      return 1;
   }
   printf("info: device %s, seed %u, marker 0x%016llx\n", t.props.deviceName, o.seed,
          (unsigned long long)marker);

   const VkDeviceSize size = (VkDeviceSize)o.mib << 20;
   const uint32_t count = (uint32_t)(size / sizeof(uint32_t));
   struct vkt_buffer src = { 0 }, dst = { 0 };
   struct vkt_scale s = { 0 };
   const char *what = "";
   VkResult r = vkt_buffer_create(&t, size, &src, &what);
   if (r == VK_SUCCESS)
      r = vkt_buffer_create(&t, size, &dst, &what);
   if (r != VK_SUCCESS) {
      vkt_error(&t, "src/dst buffers of %u MiB: %s: %s", o.mib, what, vkt_result(r));
      goto out;
   }
   vkt_ok(&t, "src and dst: %u MiB each, host-visible coherent, mapped", o.mib);
   scan_foreign(&t, &o, &src, "src");
   scan_foreign(&t, &o, &dst, "dst");

   if ((r = vkt_scale_init(&t, &s, &what)) != VK_SUCCESS) {
      vkt_error(&t, "compute pipeline: %s: %s", what, vkt_result(r));
      goto out;
   }

   double compute_ms = 0, start_ms = vkt_now_ms();
   /* Flushed: a test may wait for the rounds to begin. */
   printf("info: rounds begin\n");
   fflush(stdout);
   for (uint32_t round = 0; round < o.rounds && t.failures == 0; round++) {
      struct vkt_buffer scratch;
      r = vkt_buffer_create(&t, size, &scratch, &what);
      if (r != VK_SUCCESS) {
         vkt_error(&t, "round %u: scratch buffer: %s: %s", round, what, vkt_result(r));
         vkt_buffer_destroy(&t, &scratch);
         break;
      }
      scan_foreign(&t, &o, &scratch, "scratch");
      uint64_t *mw = (uint64_t *)scratch.map;
      for (size_t i = 0; i < size / sizeof(uint64_t); i++)
         mw[i] = marker;

      const uint32_t mul = 2 * o.seed + 3 + 2 * round;
      const uint32_t add = o.seed * 0x10001u + round;
      for (uint32_t i = 0; i < count; i++) {
         src.map[i] = value_of(o.seed, round, i);
         dst.map[i] = ~vkt_scale_expect(src.map[i], i, mul, add);
      }
      double t0 = vkt_now_ms();
      r = vkt_scale_run(&t, &s, &src, &dst, count, mul, add, &what);
      compute_ms += vkt_now_ms() - t0;
      if (r != VK_SUCCESS)
         vkt_error(&t, "round %u: dispatch: %s: %s", round, what, vkt_result(r));
      else
         verify_round(&t, &o, round, &src, &dst, count, mul, add);

      /* The marked scratch stays live across the pause, then is freed. */
      if (o.pause_ms)
         vkt_sleep_ms(o.pause_ms);
      vkt_buffer_destroy(&t, &scratch);
   }
   printf("info: compute time %.1f ms for %u round(s) of %u MiB\n", compute_ms, o.rounds, o.mib);
   /* System-wide clock: lets a script see whether two clients overlapped. */
   printf("info: rounds ran from %.0f to %.0f ms (CLOCK_MONOTONIC)\n", start_ms, vkt_now_ms());

out:
   if (t.device)
      vkDeviceWaitIdle(t.device);
   vkt_scale_fini(&t, &s);
   vkt_buffer_destroy(&t, &src);
   vkt_buffer_destroy(&t, &dst);
   vkt_fini(&t);
   printf("%s: %d error(s)\n", t.failures ? "FAILED" : "PASSED", t.failures);
   return t.failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* transport/vtest/vtest_sync.c: per-client sync objects, waits through pollable
 * fds, signals retired by timelines, and the per-client limits. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/parcel.h"
#include "os/os.h"
#include "unit.h"
#include "transport/vtest/vtest_protocol.h"
#include "transport/vtest/vtest_sync.h"

/* Wire entries: id, value low, value high. */
struct entries {
   uint32_t w[64 * VTEST_SYNC_ENTRY_WORDS];
   uint32_t count;
};

static void
entry(struct entries *e, uint32_t id, uint64_t value)
{
   uint32_t *p = e->w + e->count * VTEST_SYNC_ENTRY_WORDS;
   p[0] = id;
   p[1] = (uint32_t)value;
   p[2] = (uint32_t)(value >> 32);
   e->count++;
}

static bool
readable(int fd, int timeout_ms)
{
   struct pollfd p = { .fd = fd, .events = POLLIN };
   return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static uint64_t
value_of(struct vtest_sync_table *t, uint32_t id)
{
   uint64_t v = UINT64_MAX;
   if (!vtest_sync_read(t, id, &v))
      unit_fail(__FILE__, __LINE__, "sync %u unknown", id);
   return v;
}

TEST(sync_basic)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   CHECK_NOT_NULL(t);
   uint32_t a = 0, b = 0;
   CHECK_EQ(vtest_sync_create(t, 5, &a), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 1ull << 40, &b), VTEST_SYNC_OK);
   CHECK_EQ(a, 1u); /* ids from 1 */
   CHECK_EQ(b, 2u);
   CHECK_EQ(value_of(t, a), 5u);
   CHECK_EQ(value_of(t, b), 1ull << 40);
   CHECK(vtest_sync_write(t, a, 9));
   CHECK_EQ(value_of(t, a), 9u);
   CHECK(vtest_sync_write(t, a, 3)); /* lowering is a reset, allowed */
   CHECK_EQ(value_of(t, a), 3u);
   CHECK(vtest_sync_unref(t, a));
   uint64_t v = 77;
   CHECK(!vtest_sync_read(t, a, &v));
   CHECK_EQ(v, 77u);
   CHECK(!vtest_sync_write(t, a, 1));
   CHECK(!vtest_sync_unref(t, a));
   CHECK_EQ(value_of(t, b), 1ull << 40);
   /* Ids are not reused before the counter wraps. */
   uint32_t c;
   CHECK_EQ(vtest_sync_create(t, 0, &c), VTEST_SYNC_OK);
   CHECK_EQ(c, 3u);
   vtest_sync_table_destroy(t);
   vtest_sync_table_destroy(NULL);
}

TEST(sync_unknown_ids)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a;
   CHECK_EQ(vtest_sync_create(t, 0, &a), VTEST_SYNC_OK);
   uint64_t v;
   CHECK(!vtest_sync_read(t, 0, &v));
   CHECK(!vtest_sync_read(t, 999, &v));
   CHECK(!vtest_sync_write(t, 999, 1));
   CHECK(!vtest_sync_unref(t, 0));
   /* The index of the first unknown entry is reported. */
   struct entries e = { .count = 0 };
   entry(&e, a, 1);
   entry(&e, a, 1);
   entry(&e, 999, 1);
   entry(&e, 1000, 1);
   int fd = -1;
   uint32_t bad = 77;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_UNKNOWN_ID);
   CHECK_EQ(bad, 2u);
   CHECK_EQ(fd, -1);
   struct vtest_sync_signal *s = NULL;
   bad = 77;
   CHECK_EQ(vtest_sync_signal_create(t, e.w + 3, 3, &s, &bad), VTEST_SYNC_UNKNOWN_ID);
   CHECK_EQ(bad, 1u);
   CHECK_NULL(s);
   /* A failed wait or signal holds nothing: the sync can go. */
   CHECK(vtest_sync_unref(t, a));
   vtest_sync_table_destroy(t);
}

TEST(sync_wait_satisfied)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a, b;
   CHECK_EQ(vtest_sync_create(t, 5, &a), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 0, &b), VTEST_SYNC_OK);
   struct entries e = { .count = 0 };
   entry(&e, a, 3);
   int fd = -1;
   uint32_t bad;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_OK);
   CHECK_GE(fd, 0);
   CHECK(readable(fd, 0));
   close(fd);
   /* Equal is reached. */
   e.count = 0;
   entry(&e, a, 5);
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_OK);
   CHECK(readable(fd, 0));
   close(fd);
   /* count 0: satisfied at once, all or any. */
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 0, &fd, &bad), VTEST_SYNC_OK);
   CHECK(readable(fd, 0));
   close(fd);
   CHECK_EQ(vtest_sync_wait(t, true, VTEST_SYNC_WAIT_INFINITE, e.w, 0, &fd, &bad), VTEST_SYNC_OK);
   CHECK(readable(fd, 0));
   close(fd);
   /* any: one reached entry is enough. */
   e.count = 0;
   entry(&e, b, 1);
   entry(&e, a, 5);
   CHECK_EQ(vtest_sync_wait(t, true, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_OK);
   CHECK(readable(fd, 0));
   close(fd);
   /* all: not while b is behind. */
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_OK);
   CHECK(!readable(fd, 0));
   CHECK(vtest_sync_write(t, b, 1));
   CHECK(readable(fd, 0));
   close(fd);
   vtest_sync_table_destroy(t);
}

TEST(sync_wait_pending)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a, b;
   CHECK_EQ(vtest_sync_create(t, 0, &a), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 0, &b), VTEST_SYNC_OK);
   struct entries e = { .count = 0 };
   entry(&e, a, 10);
   entry(&e, b, 1ull << 33); /* the high word counts */
   int all = -1, any = -1, one = -1;
   uint32_t bad;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &all, &bad), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_wait(t, true, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &any, &bad), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &one, &bad), VTEST_SYNC_OK);
   CHECK(!readable(all, 0) && !readable(any, 0) && !readable(one, 0));
   CHECK(vtest_sync_write(t, a, 9));
   CHECK(!readable(all, 0) && !readable(any, 0) && !readable(one, 0));
   CHECK(vtest_sync_write(t, b, 1ull << 32));
   CHECK(!readable(all, 0) && !readable(any, 0));
   CHECK(vtest_sync_write(t, a, 10));
   CHECK(readable(any, 0));
   CHECK(readable(one, 0));
   CHECK(!readable(all, 0));
   /* A reached value later lowered again does not un-signal a wait. */
   CHECK(vtest_sync_write(t, a, 0));
   CHECK(readable(one, 0));
   CHECK(vtest_sync_write(t, b, 1ull << 33));
   CHECK(!readable(all, 0)); /* a is back at 0 */
   CHECK(vtest_sync_write(t, a, 11));
   CHECK(readable(all, 0));
   close(all);
   close(any);
   close(one);

   /* The syncs of a pending wait may be unref'd: the wait never
    * completes, and destroy frees it. */
   e.count = 0;
   entry(&e, a, 100);
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &one, &bad), VTEST_SYNC_OK);
   CHECK(!readable(one, 0));
   CHECK(vtest_sync_unref(t, a));
   CHECK(!readable(one, 0));
   vtest_sync_table_destroy(t);
   /* The client's fd outlives the table; it never became readable. */
   CHECK(!readable(one, 0));
   close(one);
}

TEST(sync_signals)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a, b;
   CHECK_EQ(vtest_sync_create(t, 1, &a), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 1, &b), VTEST_SYNC_OK);
   struct entries e = { .count = 0 };
   entry(&e, a, 5);
   entry(&e, b, 7);
   struct vtest_sync_signal *s = NULL;
   uint32_t bad;
   CHECK_EQ(vtest_sync_signal_create(t, e.w, e.count, &s, &bad), VTEST_SYNC_OK);
   CHECK_NOT_NULL(s);
   int fd;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, e.count, &fd, &bad), VTEST_SYNC_OK);
   CHECK(!readable(fd, 0));
   /* Creating a signal changes nothing until it retires. */
   CHECK_EQ(value_of(t, a), 1u);
   vtest_sync_signal_retire(s);
   CHECK_EQ(value_of(t, a), 5u);
   CHECK_EQ(value_of(t, b), 7u);
   CHECK(readable(fd, 0));
   close(fd);

   /* Retiring sets the values, even lower ones. */
   e.count = 0;
   entry(&e, a, 2);
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &s, &bad), VTEST_SYNC_OK);
   vtest_sync_signal_retire(s);
   CHECK_EQ(value_of(t, a), 2u);

   /* A cancelled signal sets nothing. */
   e.count = 0;
   entry(&e, a, 100);
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &s, &bad), VTEST_SYNC_OK);
   vtest_sync_signal_cancel(s);
   CHECK_EQ(value_of(t, a), 2u);

   /* A signal holds its syncs: unref'ing them before it retires is safe. */
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &s, &bad), VTEST_SYNC_OK);
   CHECK(vtest_sync_unref(t, a));
   vtest_sync_signal_retire(s);
   CHECK(!vtest_sync_read(t, a, &(uint64_t){ 0 }));

   /* Signals with no entries, and pending ones left for destroy. */
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 0, &s, &bad), VTEST_SYNC_OK);
   vtest_sync_signal_retire(s);
   e.count = 0;
   entry(&e, b, 9);
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &s, &bad), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &s, &bad), VTEST_SYNC_OK);
   vtest_sync_table_destroy(t);
}

struct retire_later {
   struct vtest_sync_signal *signal;
   unsigned delay_ms;
};

static void *
retire_thread(void *arg)
{
   struct retire_later *r = arg;
   nanosleep(&(struct timespec){ .tv_nsec = (long)r->delay_ms * 1000000 }, NULL);
   vtest_sync_signal_retire(r->signal);
   return NULL;
}

TEST(sync_retire_on_another_thread)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a;
   CHECK_EQ(vtest_sync_create(t, 0, &a), VTEST_SYNC_OK);
   for (int round = 1; round <= 20; round++) {
      struct entries e = { .count = 0 };
      entry(&e, a, (uint64_t)round);
      struct retire_later r = { .delay_ms = (unsigned)(round % 3) * 5 };
      uint32_t bad;
      int fd;
      CHECK_EQ(vtest_sync_signal_create(t, e.w, 1, &r.signal, &bad), VTEST_SYNC_OK);
      CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &fd, &bad), VTEST_SYNC_OK);
      pthread_t th;
      CHECK_EQ(pthread_create(&th, NULL, retire_thread, &r), 0);
      bool ok = readable(fd, 10000);
      pthread_join(th, NULL);
      close(fd);
      CHECK_MSG(ok, "round %d: the wait fd never became readable", round);
      CHECK_EQ(value_of(t, a), (uint64_t)round);
   }
   vtest_sync_table_destroy(t);
}

TEST(sync_limit_syncs)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t id, first = 0, last = 0;
   for (uint32_t i = 0; i < VTEST_SYNC_MAX_SYNCS; i++) {
      CHECK_EQ(vtest_sync_create(t, i, &id), VTEST_SYNC_OK);
      if (i == 0)
         first = id;
      last = id;
   }
   CHECK_EQ(vtest_sync_create(t, 0, &id), VTEST_SYNC_LIMIT);
   CHECK_EQ(vtest_sync_create(t, 0, &id), VTEST_SYNC_LIMIT);
   CHECK_EQ(value_of(t, last), (uint64_t)VTEST_SYNC_MAX_SYNCS - 1);
   /* One freed, one more allowed. */
   CHECK(vtest_sync_unref(t, first));
   CHECK_EQ(vtest_sync_create(t, 42, &id), VTEST_SYNC_OK);
   CHECK_EQ(value_of(t, id), 42u);
   CHECK_EQ(vtest_sync_create(t, 0, &id), VTEST_SYNC_LIMIT);
   vtest_sync_table_destroy(t);
}

TEST(sync_limit_waiters)
{
   /* Each pending wait keeps an fd open in the table. */
   struct rlimit rl;
   CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
   rlim_t want = VTEST_SYNC_MAX_WAITERS + 64;
   if (rl.rlim_cur < want) {
      if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
         SKIP("RLIMIT_NOFILE hard limit %llu < %llu", (unsigned long long)rl.rlim_max,
              (unsigned long long)want);
      rl.rlim_cur = want;
      CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
   }
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a;
   CHECK_EQ(vtest_sync_create(t, 0, &a), VTEST_SYNC_OK);
   struct entries e = { .count = 0 };
   entry(&e, a, 1);
   uint32_t bad;
   int fd;
   for (int i = 0; i < VTEST_SYNC_MAX_WAITERS; i++) {
      CHECK_MSG(vtest_sync_wait(t, i % 2, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &fd, &bad) == VTEST_SYNC_OK, "wait %d", i);
      close(fd);
   }
   fd = -1;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &fd, &bad), VTEST_SYNC_LIMIT);
   CHECK_EQ(fd, -1);
   /* A wait already satisfied is not pending: still allowed. */
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 0, &fd, &bad), VTEST_SYNC_OK);
   CHECK(readable(fd, 0));
   close(fd);
   /* Once the waits complete, new ones are accepted again. */
   CHECK(vtest_sync_write(t, a, 1));
   e.count = 0;
   entry(&e, a, 2);
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &fd, &bad), VTEST_SYNC_OK);
   CHECK(!readable(fd, 0));
   close(fd);
   vtest_sync_table_destroy(t);
}

TEST(sync_timed_out_waits_are_freed)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a;
   CHECK_EQ(vtest_sync_create(t, 0, &a), VTEST_SYNC_OK);
   struct entries e = { .count = 0 };
   entry(&e, a, 1);
   uint32_t bad;
   int fd;
   /* As Mesa's vtest client does: wait with a timeout, poll the fd for as
    * long, then close it. The sync never signals. */
#ifdef VS_OS_LINUX
   const int rounds = 16 * VTEST_SYNC_MAX_WAITERS;
#else
   const int rounds = 2 * VTEST_SYNC_MAX_WAITERS;
#endif
   for (int i = 0; i < rounds; i++) {
#ifndef VS_OS_LINUX
      /* A pipe's waiter goes only 5 s after its timeout (a closed write
       * end would read as a signal to a client still polling). */
      if (i && i % (VTEST_SYNC_MAX_WAITERS - 1) == 0)
         usleep(5200000);
#endif
      CHECK_MSG(vtest_sync_wait(t, false, 1, e.w, 1, &fd, &bad) == VTEST_SYNC_OK, "wait %d", i);
      CHECK(!readable(fd, 1));
      close(fd);
   }
#ifndef VS_OS_LINUX
   usleep(5200000);
#endif
   /* Waits without a timeout stay pending and still hit the limit. */
   int fds[VTEST_SYNC_MAX_WAITERS];
   for (int i = 0; i < VTEST_SYNC_MAX_WAITERS; i++)
      CHECK_MSG(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, e.w, 1, &fds[i], &bad) ==
                   VTEST_SYNC_OK,
                "infinite wait %d", i);
   CHECK_EQ(vtest_sync_wait(t, false, 1, e.w, 1, &fd, &bad), VTEST_SYNC_LIMIT);
   /* ...and are woken as before. */
   CHECK(vtest_sync_write(t, a, 1));
   for (int i = 0; i < VTEST_SYNC_MAX_WAITERS; i++) {
      CHECK_MSG(readable(fds[i], 0), "infinite wait %d", i);
      close(fds[i]);
   }
   vtest_sync_table_destroy(t);
}

/* A hand-over's part (vtest_sync_table_write/read): ids, values and the
 * next id cross whole; a pending signal or wait refuses it; a hostile
 * part is refused. */
TEST(sync_table_crosses_a_hand_over)
{
   struct vtest_sync_table *t = vtest_sync_table_create();
   uint32_t a, b, c;
   CHECK_EQ(vtest_sync_create(t, 3, &a), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 1ull << 40, &b), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_create(t, 0, &c), VTEST_SYNC_OK);
   CHECK(vtest_sync_unref(t, a));
   char why[192];
   uint32_t waits = 0;
   struct vs_parcel out = { 0 };
   CHECK(vtest_sync_table_write(t, &out, 0, &waits, why, sizeof(why)));
   struct vtest_sync_table *u = vtest_sync_table_create();
   CHECK(vtest_sync_table_read(u, &out, true, why, sizeof(why)));
   CHECK_EQ(value_of(u, b), 1ull << 40);
   CHECK_EQ(value_of(u, c), 0u);
   uint64_t v;
   CHECK(!vtest_sync_read(u, a, &v));
   /* The next id goes on where it was. */
   uint32_t d;
   CHECK_EQ(vtest_sync_create(u, 0, &d), VTEST_SYNC_OK);
   CHECK_EQ(d, c + 1);
   vtest_sync_table_destroy(u);
   vs_parcel_fini(&out);

   /* A signal not retired refuses it. */
   struct entries e = { .count = 0 };
   entry(&e, b, (1ull << 40) + 1);
   struct vtest_sync_signal *s = NULL;
   uint32_t bad;
   CHECK_EQ(vtest_sync_signal_create(t, e.w, e.count, &s, &bad), VTEST_SYNC_OK);
   CHECK(!vtest_sync_table_write(t, &out, 0, &waits, why, sizeof(why)));
   CHECK(strstr(why, "not set yet") != NULL);
   vs_parcel_fini(&out);
   vtest_sync_signal_retire(s);

   /* Pending waits cross, and the next table signals the client's fds:
    * one on c, one on any of b and x, which the client unref'd. */
   uint32_t x;
   CHECK_EQ(vtest_sync_create(t, 0, &x), VTEST_SYNC_OK);
   struct entries w = { .count = 0 };
   entry(&w, c, 9);
   entry(&w, x, 5);
   entry(&w, b, 1ull << 41);
   int on_c, on_any;
   CHECK_EQ(vtest_sync_wait(t, false, VTEST_SYNC_WAIT_INFINITE, w.w, 1, &on_c, &bad), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_wait(t, true, 60000, w.w + VTEST_SYNC_ENTRY_WORDS, 2, &on_any, &bad), VTEST_SYNC_OK);
   CHECK(vtest_sync_unref(t, x));
   CHECK(vtest_sync_table_write(t, &out, 0, &waits, why, sizeof(why)));
   CHECK_EQ(waits, 2u);
   vtest_sync_table_destroy(t); /* the worker before ends */
   u = vtest_sync_table_create();
   CHECK(vtest_sync_table_read(u, &out, true, why, sizeof(why)));
   vs_parcel_fini(&out);
   CHECK(!readable(on_c, 0) && !readable(on_any, 0));
   CHECK(!vtest_sync_read(u, x, &v));
   CHECK(vtest_sync_write(u, c, 9));
   CHECK(readable(on_c, 0) && !readable(on_any, 0));
   CHECK(vtest_sync_write(u, b, 1ull << 41));
   CHECK(readable(on_any, 0));
   close(on_c);
   close(on_any);
   vtest_sync_table_destroy(u);

   /* Hostile parts (next id, count, then id and value's two words each):
    * id 0, an id twice, a next id of 0, more syncs than bytes. */
   static const struct {
      uint32_t words[8];
      size_t count;
   } parts[] = {
      { { 5, 1, 0, 0, 0 }, 5 },
      { { 5, 2, 7, 0, 0, 7, 0, 0 }, 8 },
      { { 0, 0 }, 2 },
      { { 5, 3, 7, 0, 0 }, 5 },
   };
   for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
      struct vs_parcel in = { 0 };
      vs_parcel_put(&in, parts[i].words, parts[i].count * 4);
      struct vtest_sync_table *h = vtest_sync_table_create();
      CHECK_MSG(!vtest_sync_table_read(h, &in, true, why, sizeof(why)), "part %zu was read", i);
      CHECK(strstr(why, "its snapshot is bad") != NULL);
      vtest_sync_table_destroy(h);
      vs_parcel_fini(&in);
   }

   /* An older writer's part ends after its syncs. */
   {
      struct vs_parcel in = { 0 };
      const uint32_t older[] = { 8, 1, 7, 5, 0 };
      vs_parcel_put(&in, older, sizeof(older));
      struct vtest_sync_table *h = vtest_sync_table_create();
      CHECK(vtest_sync_table_read(h, &in, false, why, sizeof(why)));
      CHECK_EQ(value_of(h, 7), 5u);
      vtest_sync_table_destroy(h);
      vs_parcel_fini(&in);
   }

   /* Hostile waits (one sync, 7, listed; then the waits): a wait's fd that
    * is no wakeup object, a listed target the table lacks, a target's
    * listed word past 1, more waits than the limit, more targets than a
    * SYNC_WAIT may name; the bytes for all of them there. */
   const int not_event = open("/dev/null", O_RDWR | O_CLOEXEC);
   CHECK(not_event >= 0);
   static uint8_t padding[(VTEST_MAX_WAIT_SYNCS + 1) * 24];
   for (int i = 0; i < 5; i++) {
      struct vs_parcel in = { 0 };
      const uint32_t head[] = { 8, 1, 7, 0, 0 };
      vs_parcel_put(&in, head, sizeof(head));
      vs_parcel_put_u32(&in, i == 3 ? VTEST_SYNC_MAX_WAITERS + 1 : 1);
      vs_parcel_put_u32(&in, 0);
      vs_parcel_put_u64(&in, 0);
      const int event = i == 0 ? dup(not_event) : os_signalled_fd();
      vs_parcel_put_fd(&in, event);
      close(event);
      vs_parcel_put_u32(&in, i == 4 ? VTEST_MAX_WAIT_SYNCS + 1 : 1);
      vs_parcel_put_u32(&in, i == 1 ? 8 : 7);
      vs_parcel_put_u32(&in, i == 2 ? 2 : 1);
      vs_parcel_put_u64(&in, 0);
      vs_parcel_put_u64(&in, 1);
      vs_parcel_put(&in, padding, sizeof(padding));
      struct vtest_sync_table *h = vtest_sync_table_create();
      CHECK_MSG(!vtest_sync_table_read(h, &in, true, why, sizeof(why)), "wait %d was read", i);
      CHECK(strstr(why, "its snapshot is bad") != NULL);
      vtest_sync_table_destroy(h);
      vs_parcel_fini(&in);
   }
   close(not_event);
}

UNIT_MAIN(UNIT(sync_basic), UNIT(sync_unknown_ids), UNIT(sync_wait_satisfied),
          UNIT(sync_wait_pending), UNIT(sync_signals), UNIT(sync_retire_on_another_thread),
          UNIT(sync_limit_syncs), UNIT(sync_limit_waiters),
          UNIT(sync_timed_out_waits_are_freed), UNIT(sync_table_crosses_a_hand_over))

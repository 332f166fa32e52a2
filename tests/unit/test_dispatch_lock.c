/* SPDX-License-Identifier: MIT */
/* wire/dispatch_lock.c: readers together, a writer alone, writers first. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "unit.h"
#include "wire/dispatch_lock.h"

static struct vs_dispatch_lock lock;
static atomic_int readers_in, writers_in;
static atomic_bool broken;

static void *
reader(void *arg)
{
   for (int i = 0; i < 20000; i++) {
      vs_dispatch_lock(&lock, VS_DISPATCH_SHARED);
      atomic_fetch_add(&readers_in, 1);
      if (atomic_load(&writers_in))
         atomic_store(&broken, true);
      atomic_fetch_sub(&readers_in, 1);
      vs_dispatch_unlock(&lock, VS_DISPATCH_SHARED);
   }
   return arg;
}

static void *
writer(void *arg)
{
   for (int i = 0; i < 2000; i++) {
      vs_dispatch_lock(&lock, VS_DISPATCH_EXCLUSIVE);
      if (atomic_fetch_add(&writers_in, 1) || atomic_load(&readers_in))
         atomic_store(&broken, true);
      atomic_fetch_sub(&writers_in, 1);
      vs_dispatch_unlock(&lock, VS_DISPATCH_EXCLUSIVE);
   }
   return arg;
}

TEST(dispatch_lock_excludes)
{
   vs_dispatch_lock_init(&lock);
   pthread_t t[6];
   for (int i = 0; i < 6; i++)
      pthread_create(&t[i], NULL, i < 4 ? reader : writer, NULL);
   for (int i = 0; i < 6; i++)
      pthread_join(t[i], NULL);
   CHECK(!atomic_load(&broken));
   CHECK(!vs_dispatch_lock_contended(&lock));
   /* Free again: both ways go through at once. */
   vs_dispatch_lock(&lock, VS_DISPATCH_EXCLUSIVE);
   vs_dispatch_unlock(&lock, VS_DISPATCH_EXCLUSIVE);
   vs_dispatch_lock(&lock, VS_DISPATCH_SHARED);
   vs_dispatch_lock(&lock, VS_DISPATCH_SHARED);
   vs_dispatch_unlock(&lock, VS_DISPATCH_SHARED);
   vs_dispatch_unlock(&lock, VS_DISPATCH_SHARED);
   vs_dispatch_lock_fini(&lock);
}

static atomic_bool writer_done;

static void *
one_writer(void *arg)
{
   vs_dispatch_lock(&lock, VS_DISPATCH_EXCLUSIVE);
   atomic_store(&writer_done, true);
   vs_dispatch_unlock(&lock, VS_DISPATCH_EXCLUSIVE);
   return arg;
}

static void *
late_reader(void *arg)
{
   vs_dispatch_lock(&lock, VS_DISPATCH_SHARED);
   /* Writers go first: the writer that waited when this reader came ran. */
   if (!atomic_load(&writer_done))
      atomic_store(&broken, true);
   vs_dispatch_unlock(&lock, VS_DISPATCH_SHARED);
   return arg;
}

static void
settle(void)
{
   nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
}

TEST(dispatch_lock_writers_first)
{
   vs_dispatch_lock_init(&lock);
   atomic_store(&broken, false);
   vs_dispatch_lock(&lock, VS_DISPATCH_SHARED);
   CHECK(!vs_dispatch_lock_contended(&lock));
   pthread_t w, r;
   pthread_create(&w, NULL, one_writer, NULL);
   while (!vs_dispatch_lock_contended(&lock))
      settle();
   /* A reader that comes while a writer waits waits too. */
   pthread_create(&r, NULL, late_reader, NULL);
   settle();
   CHECK(!atomic_load(&writer_done));
   vs_dispatch_unlock(&lock, VS_DISPATCH_SHARED);
   pthread_join(w, NULL);
   pthread_join(r, NULL);
   CHECK(atomic_load(&writer_done));
   CHECK(!atomic_load(&broken));
   CHECK(!vs_dispatch_lock_contended(&lock));
   vs_dispatch_lock_fini(&lock);
}

UNIT_MAIN(UNIT(dispatch_lock_excludes), UNIT(dispatch_lock_writers_first))

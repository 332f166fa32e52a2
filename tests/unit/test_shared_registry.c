/* SPDX-License-Identifier: MIT */
/* renderer/memory/shared_registry.c: host-pointer memfds found by inode, pinned
 * while read; freeing waits for the reader; a read waits for the client's
 * rings to reach their marks. (The fences need a device:
 * tests/test_display.sh covers them.) */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renderer/objects.h"
#include "renderer/memory/shared_registry.h"
#include "os/os.h"
#include "unit.h"

static int
region(size_t size, void **map)
{
   int fd = os_shm_create("registry-test", size);
   *map = fd >= 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
   return fd;
}

/* A context without a registry (no display) registers nothing. */
TEST(registry_none_registers_nothing)
{
   void *map;
   int fd = region(4096, &map);
   CHECK(fd >= 0 && map != MAP_FAILED);
   CHECK(vs_shared_register(NULL, NULL, 1, fd, map, 4096, NULL, NULL) == NULL);
}

TEST(registry_finds_by_inode)
{
   struct vs_shared_registry *reg = vs_shared_registry_create();
   CHECK(reg);
   void *map_a, *map_b;
   int a = region(4096, &map_a), b = region(8192, &map_b);
   CHECK(a >= 0 && b >= 0);
   struct vs_shared_entry *ea = vs_shared_register(reg, NULL, 7, a, map_a, 4096, NULL, NULL);
   struct vs_shared_entry *eb = vs_shared_register(reg, NULL, 8, b, map_b, 8192, NULL, NULL);
   CHECK(ea && eb);
   CHECK_EQ(vs_shared_registry_count(reg), 2u);
   /* A dup (what the client hands the compositor) has the same inode. */
   int dup_b = dup(b);
   struct stat st;
   CHECK(fstat(dup_b, &st) == 0);
   struct vs_shared_view v;
   CHECK(vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   CHECK(v.map == map_b);
   CHECK_EQ(v.size, (size_t)8192);
   CHECK_EQ(v.ctx_id, 8u);
   vs_shared_release(&v);
   CHECK(!vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino + 1000000, &v));
   vs_shared_unregister(eb);
   CHECK(!vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   vs_shared_unregister(ea);
   CHECK_EQ(vs_shared_registry_count(reg), 0u);
   vs_shared_registry_destroy(reg);
}

static atomic_bool unregistered;

static void *
unregister_thread(void *entry)
{
   vs_shared_unregister(entry);
   atomic_store(&unregistered, true);
   return NULL;
}

TEST(registry_free_waits_for_reader)
{
   struct vs_shared_registry *reg = vs_shared_registry_create();
   CHECK(reg);
   void *map;
   int fd = region(4096, &map);
   struct vs_shared_entry *e = vs_shared_register(reg, NULL, 1, fd, map, 4096, NULL, NULL);
   CHECK(e);
   struct stat st;
   CHECK(fstat(fd, &st) == 0);
   struct vs_shared_view v;
   CHECK(vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   pthread_t t;
   CHECK(pthread_create(&t, NULL, unregister_thread, e) == 0);
   usleep(100000);
   CHECK(!atomic_load(&unregistered));
   vs_shared_release(&v);
   pthread_join(t, NULL);
   CHECK(atomic_load(&unregistered));
   CHECK_EQ(vs_shared_registry_count(reg), 0u);
   vs_shared_registry_destroy(reg);
}

static int refreshes;
static bool refresh_result;
static void *refresh_data;
static uint64_t refresh_timeout;

static bool
count_refresh(void *data, uint64_t timeout_ns)
{
   refresh_data = data;
   refresh_timeout = timeout_ns;
   refreshes++;
   return refresh_result;
}

/* A linear mirror's copy runs once per read, after the fences, and a
 * failed copy means the frame is not shown. */
TEST(registry_refresh_before_read)
{
   struct vs_shared_registry *reg = vs_shared_registry_create();
   CHECK(reg);
   void *map;
   int fd = region(4096, &map);
   struct vs_shared_entry *e = vs_shared_register(reg, NULL, 1, fd, map, 4096, count_refresh, &refreshes);
   CHECK(e);
   struct stat st;
   CHECK(fstat(fd, &st) == 0);
   struct vs_shared_view v;
   CHECK(vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   CHECK(!v.refreshed);
   refresh_result = true;
   CHECK(vs_shared_fence_wait(&v, 5));
   CHECK(v.refreshed);
   CHECK_EQ(refreshes, 1);
   CHECK(refresh_data == &refreshes);
   CHECK_EQ(refresh_timeout, (uint64_t)5);
   vs_shared_release(&v);
   CHECK(vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   refresh_result = false;
   CHECK(!vs_shared_fence_wait(&v, 5));
   CHECK_EQ(refreshes, 2);
   vs_shared_release(&v);
   vs_shared_unregister(e);
   vs_shared_registry_destroy(reg);
}

/* A fake client: two rings whose heads the test moves. */
static _Atomic uint32_t fake_head[2];
static uint32_t fake_tail[2] = { 40, 96 };
static int marks;

static void
fake_mark(void *data, struct vs_work_mark *mark)
{
   marks++;
   for (uint32_t i = 0; i < 2; i++) {
      mark->ring_id[mark->count] = 100 + i;
      mark->tail[mark->count++] = fake_tail[i];
   }
}

static bool
fake_reached(void *data, const struct vs_work_mark *mark)
{
   for (uint32_t i = 0; i < mark->count; i++)
      if ((int32_t)(atomic_load(&fake_head[mark->ring_id[i] - 100]) - mark->tail[i]) < 0)
         return false;
   return true;
}

static void *
advance_rings(void *arg)
{
   usleep(50000);
   atomic_store(&fake_head[0], 40);
   usleep(50000);
   atomic_store(&fake_head[1], 100);
   return NULL;
}

/* The commit marks the rings; the read waits until every ring has executed
 * up to its mark (Mesa's fast present commits before the ring has run its
 * submission), and gives up after the timeout. An unmarked view (no
 * commit) waits for nothing. */
TEST(registry_read_waits_for_ring_marks)
{
   struct vs_shared_registry *reg = vs_shared_registry_create();
   CHECK(reg);
   struct vs_renderer renderer = { .work = { fake_mark, fake_reached, NULL } };
   struct vs_device dev = { .renderer = &renderer };
   void *map;
   int fd = region(4096, &map);
   struct vs_shared_entry *e = vs_shared_register(reg, &dev, 1, fd, map, 4096, NULL, NULL);
   CHECK(e);
   struct stat st;
   CHECK(fstat(fd, &st) == 0);
   struct vs_shared_view v;
   CHECK(vs_shared_acquire(reg, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &v));
   CHECK(vs_shared_fence_wait(&v, 1000));
   CHECK_EQ(marks, 0);
   vs_shared_mark(&v);
   CHECK_EQ(marks, 1);
   CHECK_EQ(v.work.count, 2u);
   CHECK(!vs_shared_fence_wait(&v, 20000000ull)); /* nothing moves: 20 ms, then no */
   pthread_t t;
   CHECK(pthread_create(&t, NULL, advance_rings, NULL) == 0);
   uint64_t t0 = os_now_ns();
   CHECK(vs_shared_fence_wait(&v, 5000000000ull));
   CHECK(os_now_ns() - t0 >= 90000000ull); /* both rings had to move */
   CHECK(atomic_load(&fake_head[1]) == 100);
   pthread_join(t, NULL);
   vs_shared_release(&v);
   vs_shared_unregister(e);
   vs_shared_registry_destroy(reg);
}

/* What a worker's publisher sees (worker/link_worker.c): an entry is
 * announced before anyone can find it, and found no more once its end is
 * announced, so that what names it (a VM resource) never reaches the
 * server outside that span. */
struct announced {
   struct vs_shared_registry *reg;
   uint64_t st_dev, st_ino;
   int born, gone, found_at_born, found_at_gone;
};

static void
on_born(void *data, uint64_t id, int fd, size_t size)
{
   struct announced *a = data;
   struct vs_shared_view v;
   a->born++;
   if (vs_shared_acquire(a->reg, a->st_dev, a->st_ino, &v)) {
      a->found_at_born++;
      vs_shared_release(&v);
   }
}

static void
on_gone(void *data, uint64_t id)
{
   struct announced *a = data;
   struct vs_shared_view v;
   a->gone++;
   if (vs_shared_acquire(a->reg, a->st_dev, a->st_ino, &v)) {
      a->found_at_gone++;
      vs_shared_release(&v);
   }
}

TEST(registry_findable_only_between_its_announcements)
{
   struct announced a = { .reg = vs_shared_registry_create() };
   CHECK(a.reg);
   const struct vs_shared_publisher publisher = { .born = on_born, .gone = on_gone, .data = &a };
   vs_shared_registry_publish(a.reg, &publisher);
   void *map;
   int fd = region(4096, &map);
   struct stat st;
   CHECK(fd >= 0 && fstat(fd, &st) == 0);
   a.st_dev = (uint64_t)st.st_dev;
   a.st_ino = (uint64_t)st.st_ino;
   struct vs_shared_entry *e = vs_shared_register(a.reg, NULL, 3, fd, map, 4096, NULL, NULL);
   CHECK(e);
   struct vs_shared_view v;
   CHECK(vs_shared_acquire(a.reg, a.st_dev, a.st_ino, &v));
   vs_shared_release(&v);
   vs_shared_unregister(e);
   CHECK_EQ(a.born, 1);
   CHECK_EQ(a.gone, 1);
   CHECK_EQ(a.found_at_born, 0);
   CHECK_EQ(a.found_at_gone, 0);
   vs_shared_registry_destroy(a.reg);
}

UNIT_MAIN(UNIT(registry_none_registers_nothing), UNIT(registry_finds_by_inode), UNIT(registry_free_waits_for_reader),
          UNIT(registry_refresh_before_read), UNIT(registry_read_waits_for_ring_marks),
          UNIT(registry_findable_only_between_its_announcements))

/* SPDX-License-Identifier: MIT */
/* worker/link_server.c: the server's end of a worker link maps the memfds
 * a worker sends as remote registry entries, lists the resources that name
 * them, and ends the link (not the server) at the first message it cannot
 * accept, dropping what that worker had shared. What a worker may have
 * mapped is bounded, and a link stalled mid-message delays nobody. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fair_share.h"
#include "base/log.h"

#include "vm/resource_table.h"
#include "renderer/memory/shared_registry.h"
#include "os/os.h"
#include "unit.h"
#include "worker/link_message.h"
#include "worker/worker_link.h"

struct served {
   struct vs_server_link *link;
   struct vs_shared_registry *registry;
   struct vs_vm_resource_table *resources;
   pthread_t thread;
   atomic_bool done;
};

static void *
serve(void *arg)
{
   struct served *s = arg;
   vs_server_link_serve(s->link, -1);
   atomic_store(&s->done, true);
   return NULL;
}

static int
start(struct served *s)
{
   int fds[2];
   if (vs_link_pair(fds) != 0)
      return -1;
   s->registry = vs_shared_registry_create();
   s->resources = vs_vm_resources_create();
   s->link = vs_server_link_open(fds[0], 7, s->registry, s->resources);
   atomic_init(&s->done, false);
   pthread_create(&s->thread, NULL, serve, s);
   return fds[1];
}

/* Waits for the reader to return: the link ended. */
static void
finish(struct served *s)
{
   pthread_join(s->thread, NULL);
}

static void
cleanup(struct served *s)
{
   vs_vm_resources_destroy(s->resources);
   vs_shared_registry_destroy(s->registry);
}

/* Until the reader has taken the messages sent so far (the deadline only
 * catches a hang). */
static bool
registry_reaches(struct vs_shared_registry *registry, uint32_t count)
{
   for (int i = 0; i < 10000 && vs_shared_registry_count(registry) != count; i++)
      os_sleep_ns(1000000ull);
   return vs_shared_registry_count(registry) == count;
}

static bool
born(int sock, uint64_t id, int memfd, uint64_t size)
{
   const struct vs_link_message m = { .type = VS_LINK_BORN, .entry_id = id, .size = size };
   return vs_link_send(sock, &m, memfd, false);
}

static bool
resource(int sock, uint32_t res_id, int memfd, uint64_t size)
{
   struct stat st;
   fstat(memfd, &st);
   const struct vs_link_message m = { .type = VS_LINK_RESOURCE_ADD, .res_id = res_id, .st_dev = (uint64_t)st.st_dev,
                                      .st_ino = (uint64_t)st.st_ino, .size = size };
   return vs_link_send(sock, &m, -1, false);
}

TEST(link_maps_memory_and_lists_its_resources)
{
   struct served s;
   int sock = start(&s);
   CHECK(sock >= 0);
   int memfd = os_shm_create("link-test", 8192);
   CHECK(born(sock, 1, memfd, 8192));
   CHECK(registry_reaches(s.registry, 1));
   CHECK(resource(sock, 42, memfd, 4096));
   struct stat st;
   fstat(memfd, &st);
   struct vs_shared_view view;
   CHECK(vs_shared_acquire(s.registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view));
   CHECK_EQ(view.ctx_id, 7u);
   CHECK(view.size == 8192);
   vs_shared_release(&view);
   struct vs_resource_info info;
   for (int i = 0; i < 10000 && !vs_vm_resources_find(s.resources, 42, &info); i++)
      os_sleep_ns(1000000ull);
   CHECK(vs_vm_resources_find(s.resources, 42, &info));
   CHECK_EQ(info.ctx_id, 7u);
   const struct vs_link_message gone = { .type = VS_LINK_GONE, .entry_id = 1 };
   CHECK(vs_link_send(sock, &gone, -1, false));
   CHECK(registry_reaches(s.registry, 0));
   /* The worker's end closes (it exited): its resources go. */
   close(sock);
   finish(&s);
   CHECK(!vs_vm_resources_find(s.resources, 42, &info));
   cleanup(&s);
   close(memfd);
}

TEST(link_refuses_memory_the_worker_did_not_share)
{
   struct served s;
   int sock = start(&s);
   int mine = os_shm_create("link-mine", 4096), other = os_shm_create("link-other", 4096);
   CHECK(born(sock, 1, mine, 4096));
   CHECK(registry_reaches(s.registry, 1));
   CHECK(resource(sock, 5, other, 4096));
   /* The link ends: the reader returns with the worker's end still open,
    * and what it had shared is gone. */
   finish(&s);
   CHECK_EQ(vs_shared_registry_count(s.registry), 0u);
   cleanup(&s);
   close(sock);
   close(mine);
   close(other);
}

TEST(link_refuses_bad_messages)
{
   const struct vs_link_message bad[] = {
      { .type = 99 },
      { .type = VS_LINK_GONE, .entry_id = 3 },          /* never born */
      { .type = VS_LINK_FENCED, .request = 1 },         /* never asked */
      { .type = VS_LINK_BORN, .entry_id = 1, .size = 4096 }, /* no fd */
      { .type = VS_LINK_BORN, .entry_id = 1, .size = 1u << 20 }, /* larger than its file */
   };
   for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      struct served s;
      int sock = start(&s);
      int memfd = bad[i].size == (1u << 20) ? os_shm_create("link-small", 4096) : -1;
      CHECK(vs_link_send(sock, &bad[i], memfd, false));
      finish(&s);
      CHECK_EQ(vs_shared_registry_count(s.registry), 0u);
      cleanup(&s);
      close(sock);
      if (memfd >= 0)
         close(memfd);
   }
   /* A message cut short, then the end. */
   struct served s;
   int sock = start(&s);
   CHECK(write(sock, "short", 5) == 5);
   close(sock);
   finish(&s);
   cleanup(&s);
}

/* An exact-size memfd shared at 1216 bytes, later grown to the guest's
 * page-rounded blob: its resource is listed at what the server has. */
TEST(link_lists_a_resource_at_what_was_shared)
{
   struct served s;
   int sock = start(&s);
   CHECK(sock >= 0);
   int memfd = os_shm_create("link-grown", 1216);
   CHECK(born(sock, 1, memfd, 1216));
   CHECK(registry_reaches(s.registry, 1));
   CHECK(ftruncate(memfd, 4096) == 0);
   CHECK(resource(sock, 12, memfd, 4096));
   struct vs_resource_info info;
   for (int i = 0; i < 10000 && !vs_vm_resources_find(s.resources, 12, &info); i++)
      os_sleep_ns(1000000ull);
   CHECK(vs_vm_resources_find(s.resources, 12, &info));
   CHECK_EQ(info.size, 1216u);
   CHECK_EQ(vs_shared_registry_count(s.registry), 1u);
   close(sock);
   finish(&s);
   cleanup(&s);
   close(memfd);
}

static void *
serve_late(void *arg)
{
   os_sleep_ns(200000000ull);
   return serve(arg);
}

/* The worker sends as soon as it has its end, before the thread that
 * serves the link reads: a SYNC is answered once everything before it is
 * handled, so the resource is there when the answer comes, with no wait
 * of the reader's. */
TEST(link_sync_answers_after_what_came_before)
{
   int fds[2];
   CHECK(vs_link_pair(fds) == 0);
   struct served s = { .registry = vs_shared_registry_create(), .resources = vs_vm_resources_create() };
   s.link = vs_server_link_open(fds[0], 7, s.registry, s.resources);
   CHECK(s.link != NULL);
   int memfd = os_shm_create("link-early", 4096);
   CHECK(born(fds[1], 1, memfd, 4096));
   CHECK(resource(fds[1], 30, memfd, 4096));
   const struct vs_link_message sync = { .type = VS_LINK_SYNC, .request = 5 };
   CHECK(vs_link_send(fds[1], &sync, -1, false));
   pthread_create(&s.thread, NULL, serve_late, &s);
   struct vs_link_message m;
   int fd;
   CHECK(vs_link_recv(fds[1], &m, &fd) == VS_LINK_RECV_OK);
   CHECK_EQ(m.type, (uint32_t)VS_LINK_SYNCED);
   CHECK_EQ(m.request, 5u);
   struct vs_resource_info info;
   CHECK(vs_vm_resources_find(s.resources, 30, &info));
   CHECK_EQ(vs_shared_registry_count(s.registry), 1u);
   close(fds[1]);
   finish(&s);
   cleanup(&s);
   close(memfd);
}

/* The worker's own end: its registry announces the memory, it lists a
 * resource on it and syncs; once the sync returns the server has both. */
TEST(link_worker_sync_orders_its_resource)
{
   struct served s;
   int sock = start(&s);
   CHECK(sock >= 0);
   struct vs_worker_link *worker = vs_worker_link_start(sock, 7);
   CHECK(worker != NULL);
   int memfd = os_shm_create("link-worker", 8192);
   void *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
   CHECK(map != MAP_FAILED);
   struct vs_shared_entry *entry = vs_shared_register(vs_worker_link_registry(worker), NULL, 7, memfd, map, 8192,
                                                      NULL, NULL);
   CHECK(entry != NULL);
   vs_worker_link_resource_created(worker, 44, memfd, 8192, 1);
   CHECK(vs_worker_link_sync(worker));
   struct vs_resource_info info;
   CHECK(vs_vm_resources_find(s.resources, 44, &info));
   CHECK_EQ(info.size, 8192u);
   CHECK_EQ(vs_shared_registry_count(s.registry), 1u);
   vs_shared_unregister(entry);
   CHECK(vs_worker_link_sync(worker));
   CHECK_EQ(vs_shared_registry_count(s.registry), 0u);
   /* The link ends: a sync has nothing to wait for. */
   shutdown(sock, SHUT_RDWR);
   finish(&s);
   uint64_t start_ns = os_now_ns();
   CHECK(vs_worker_link_sync(worker));
   CHECK_LT(os_now_ns() - start_ns, 1000000000ull);
   vs_worker_link_stop(worker);
   cleanup(&s);
   munmap(map, 8192);
   close(memfd);
}

/* A link whose worker never started goes without a reader. */
TEST(link_closed_unserved)
{
   int fds[2];
   CHECK(vs_link_pair(fds) == 0);
   struct vs_server_link *link = vs_server_link_open(fds[0], 7, NULL, NULL);
   CHECK(link != NULL);
   vs_server_link_close(link);
   char c;
   CHECK(read(fds[1], &c, 1) == 0);
   close(fds[1]);
}

/* The link lines logged, for the tests that count them. */
static pthread_mutex_t lines_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned dropped_lines;
static char last_dropped[512];

static void
count_lines(enum vs_log_level level, const char *line, void *data)
{
   (void)data;
   if (level != VS_LOG_ERROR || !strstr(line, "dropping the link of a worker process"))
      return;
   pthread_mutex_lock(&lines_lock);
   dropped_lines++;
   snprintf(last_dropped, sizeof(last_dropped), "%s", line);
   pthread_mutex_unlock(&lines_lock);
}

static unsigned
dropped(char *line, size_t size)
{
   pthread_mutex_lock(&lines_lock);
   unsigned n = dropped_lines;
   snprintf(line, size, "%s", last_dropped);
   dropped_lines = 0;
   last_dropped[0] = '\0';
   pthread_mutex_unlock(&lines_lock);
   return n;
}

/* Until the reader has returned: the link ended (false if it has not in
 * ten seconds). */
static bool
link_ended(struct served *s)
{
   for (int i = 0; i < 10000 && !atomic_load(&s->done); i++)
      os_sleep_ns(1000000ull);
   return atomic_load(&s->done);
}

/* This process's address space in KiB (Linux), 0 where unknown. */
static uint64_t
address_space_kib(void)
{
   FILE *f = fopen("/proc/self/status", "r");
   char line[256];
   uint64_t kib = 0;
   while (f && fgets(line, sizeof(line), f)) {
      if (!strncmp(line, "VmSize:", 7))
         kib = strtoull(line + 7, NULL, 10);
   }
   if (f)
      fclose(f);
   return kib;
}

/* A worker announces sparse memfds far larger than its tenant may hold
 * (they cost it nothing): each is refused before the server maps it, with
 * one line naming the numbers, and ends that worker's link alone. */
TEST(link_refuses_memory_past_what_its_tenant_may_hold)
{
   const struct vs_server_link_limits limits = { .worker_bytes = 1u << 20 };
   vs_server_links_limit(&limits);
   vs_log_set_sink(count_lines, NULL);
   char line[512];
   dropped(line, sizeof(line));
   const uint64_t before = address_space_kib();
   for (unsigned i = 0; i < 7; i++) {
      struct served s;
      int sock = start(&s);
      CHECK(sock >= 0);
      int small = os_shm_create("link-small", 512 << 10);
      int huge = os_shm_create("link-sparse", 4096);
      CHECK(huge >= 0 && ftruncate(huge, (off_t)(16ull << 40)) == 0);
      CHECK(born(sock, 1, small, 512 << 10));
      CHECK(registry_reaches(s.registry, 1));
      CHECK(born(sock, 2, huge, 16ull << 40));
      CHECK(link_ended(&s));
      finish(&s);
      CHECK_EQ(vs_shared_registry_count(s.registry), 0u);
      CHECK_EQ(dropped(line, sizeof(line)), 1u);
      CHECK_STR_CONTAINS(line, "shared memory 2 of 17592186044416 bytes on top of the 524288 bytes it has mapped "
                               "passes the 1048576 its tenant may hold");
      cleanup(&s);
      close(sock);
      /* Within the bound, summed over what lives: 512 KiB twice fits, a
       * third time not. */
      sock = start(&s);
      CHECK(born(sock, 1, small, 512 << 10));
      CHECK(born(sock, 2, small, 512 << 10));
      CHECK(registry_reaches(s.registry, 2));
      const struct vs_link_message gone = { .type = VS_LINK_GONE, .entry_id = 1 };
      CHECK(vs_link_send(sock, &gone, -1, false));
      CHECK(registry_reaches(s.registry, 1));
      CHECK(born(sock, 3, small, 512 << 10));
      CHECK(registry_reaches(s.registry, 2));
      CHECK(born(sock, 4, small, 512 << 10));
      CHECK(link_ended(&s));
      finish(&s);
      CHECK_EQ(dropped(line, sizeof(line)), 1u);
      cleanup(&s);
      close(sock);
      close(small);
      close(huge);
   }
   if (before)
      CHECK_LT(address_space_kib(), before + (1u << 20)); /* under 1 GiB more, not 7 x 16 TiB */
   vs_log_set_sink(NULL, NULL);
   vs_server_links_limit(&(struct vs_server_link_limits){ 0 });
}

/* All links together map no more than the server-wide budget, shared out
 * fairly; and each memory counts in the server's share of mappings. */
TEST(link_refuses_memory_past_the_servers_budget)
{
   struct vs_fair_pool bytes, mappings;
   vs_fair_pool_init(&bytes, "mapped bytes", 1u << 20, 2u << 20); /* 1 MiB each, 2 MiB lent */
   vs_fair_pool_init(&mappings, "mappings", 0, 1024);
   vs_server_links_limit(&(struct vs_server_link_limits){ .bytes = &bytes, .mappings = &mappings });
   vs_log_set_sink(count_lines, NULL);
   char line[512];
   dropped(line, sizeof(line));
   struct served a, b, c;
   int sock_a = start(&a), sock_b = start(&b);
   int memfd = os_shm_create("link-budget", 3u << 20);
   CHECK(born(sock_a, 1, memfd, 3u << 20));
   CHECK(registry_reaches(a.registry, 1));
   /* 2 MiB: 1 of its own, 1 more to borrow of none left. */
   CHECK(born(sock_b, 1, memfd, 2u << 20));
   CHECK(link_ended(&b));
   finish(&b);
   CHECK_EQ(vs_shared_registry_count(b.registry), 0u);
   CHECK_EQ(vs_shared_registry_count(a.registry), 1u);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "no room to map shared memory 1 of 2097152 bytes: this client holds 0 mapped bytes");
   /* Once a's memory is gone, what it borrowed is there again. */
   const struct vs_link_message gone = { .type = VS_LINK_GONE, .entry_id = 1 };
   CHECK(vs_link_send(sock_a, &gone, -1, false));
   CHECK(registry_reaches(a.registry, 0));
   CHECK_EQ(bytes.lent, 0u);
   int sock_c = start(&c);
   CHECK(born(sock_c, 1, memfd, 2u << 20));
   CHECK(registry_reaches(c.registry, 1));
   CHECK(mappings.lent == 1 || mappings.lent == 3); /* sealed, or between two guards */
   close(sock_a);
   close(sock_c);
   finish(&a);
   finish(&c);
   CHECK_EQ(bytes.lent, 0u);
   CHECK_EQ(mappings.lent, 0u);
   cleanup(&a);
   cleanup(&b);
   cleanup(&c);
   close(sock_b);
   /* No mapping left to the link: its first memory is refused. */
   vs_fair_pool_init(&mappings, "mappings", 0, 0);
   sock_a = start(&a);
   CHECK(born(sock_a, 1, memfd, 4096));
   CHECK(link_ended(&a));
   finish(&a);
   CHECK_EQ(vs_shared_registry_count(a.registry), 0u);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "no room to map shared memory 1: this client holds 0 mappings");
   cleanup(&a);
   close(sock_a);
   close(memfd);
   vs_log_set_sink(NULL, NULL);
   vs_server_links_limit(&(struct vs_server_link_limits){ 0 });
}

/* A worker that sends half a message and stops delays no lookup (each
 * link has a reader of its own; a lookup never reads a link): the other
 * worker's memory is found, a foreign inode answered at once, and the
 * stalled message counts once it is whole. */
TEST(link_stalled_mid_message_delays_no_lookup)
{
   struct vs_shared_registry *registry = vs_shared_registry_create();
   struct served stalled = { .registry = registry };
   int fds[2];
   CHECK(vs_link_pair(fds) == 0);
   stalled.link = vs_server_link_open(fds[0], 7, registry, NULL);
   pthread_create(&stalled.thread, NULL, serve, &stalled);
   int stalled_sock = fds[1];
   int stalled_memfd = os_shm_create("link-stalled", 4096);
   const struct vs_link_message half = { .type = VS_LINK_BORN, .entry_id = 1, .size = 4096 };
   CHECK(os_send_fds(stalled_sock, &half, 10, &stalled_memfd, 1, 0) == 10);
   /* The other worker's message is whole in its link. */
   CHECK(vs_link_pair(fds) == 0);
   struct served other = { .registry = registry };
   other.link = vs_server_link_open(fds[0], 8, registry, NULL);
   pthread_create(&other.thread, NULL, serve, &other);
   int memfd = os_shm_create("link-whole", 4096);
   CHECK(born(fds[1], 1, memfd, 4096));
   CHECK(registry_reaches(registry, 1));
   struct stat st;
   fstat(memfd, &st);
   struct vs_shared_view view;
   uint64_t start_ns = os_now_ns();
   CHECK(vs_shared_acquire(registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view));
   CHECK_EQ(view.ctx_id, 8u);
   vs_shared_release(&view);
   /* A foreign inode: not found, without waiting for the stalled link
    * (which used to cost a second). */
   CHECK(!vs_shared_acquire(registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino + 1000000, &view));
   CHECK_LT(os_now_ns() - start_ns, 500000000ull);
   fstat(stalled_memfd, &st);
   CHECK(!vs_shared_acquire(registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view));
   CHECK(write(stalled_sock, (const uint8_t *)&half + 10, sizeof(half) - 10) == (ssize_t)(sizeof(half) - 10));
   CHECK(registry_reaches(registry, 2));
   CHECK(vs_shared_acquire(registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view));
   CHECK_EQ(view.ctx_id, 7u);
   vs_shared_release(&view);
   close(stalled_sock);
   finish(&stalled);
   close(fds[1]);
   finish(&other);
   CHECK_EQ(vs_shared_registry_count(registry), 0u);
   close(memfd);
   close(stalled_memfd);
   vs_shared_registry_destroy(registry);
}

#ifdef __linux__
/* A memfd the worker can still shrink (os_shm_create seals it at once). */
static int
shrinkable(const char *name, off_t size)
{
   int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd >= 0 && ftruncate(fd, size) != 0) {
      close(fd);
      return -1;
   }
   return fd;
}

/* Cuts the memfd and grows it back, over and over, each size held a
 * moment, until it finds it sealed while cut (left so) or cannot cut it
 * (sealed while whole), or is told to stop. */
struct toggler {
   int fd;
   off_t big;
   atomic_bool stop;
   pthread_t thread;
};

static void *
toggle(void *arg)
{
   struct toggler *k = arg;
   while (!atomic_load(&k->stop)) {
      if (ftruncate(k->fd, 4096) != 0)
         break;
      for (volatile unsigned i = 0; i < 2000; i++)
         ;
      if ((fcntl(k->fd, F_GET_SEALS) & F_SEAL_SHRINK) || ftruncate(k->fd, k->big) != 0)
         break;
      for (volatile unsigned i = 0; i < 2000; i++)
         ;
   }
   return NULL;
}
#endif

/* A worker that cuts its memfd while the server takes it in (BORN) never
 * leaves the server a mapping past the end of the file: the file is
 * sealed against shrinking before its size is measured, so the memory is
 * either refused (cut first) or kept whole (the cut comes too late). A
 * memfd sealed smaller than announced is refused. Every memory accepted
 * is read to its last byte: the server survives. */
TEST(link_born_races_no_shrink_past_the_seal)
{
#ifdef __linux__
   vs_log_set_sink(count_lines, NULL);
   char line[512];
   dropped(line, sizeof(line));
   const uint64_t big = 1u << 20;
   struct served s;
   int sock = start(&s);
   int sealed_small = shrinkable("link-sealed-small", 4096);
   CHECK(sealed_small >= 0 && fcntl(sealed_small, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
   CHECK(born(sock, 1, sealed_small, big));
   CHECK(link_ended(&s));
   finish(&s);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "shared memory 1 of 1048576 bytes is no file that large");
   cleanup(&s);
   close(sock);
   close(sealed_small);

   unsigned accepted = 0, refused = 0;
   for (unsigned attempt = 0; attempt < 200; attempt++) {
      sock = start(&s);
      struct toggler k = { .fd = shrinkable("link-race", (off_t)big), .big = (off_t)big };
      CHECK(k.fd >= 0);
      atomic_init(&k.stop, false);
      struct stat st;
      CHECK(fstat(k.fd, &st) == 0);
      pthread_create(&k.thread, NULL, toggle, &k);
      CHECK(born(sock, 1, k.fd, big));
      /* Taken in or refused: a SYNC is answered only on a live link. */
      const struct vs_link_message sync = { .type = VS_LINK_SYNC, .request = 1 };
      struct vs_link_message m;
      int fd;
      bool live = vs_link_send(sock, &sync, -1, false) && vs_link_recv(sock, &m, &fd) == VS_LINK_RECV_OK;
      atomic_store(&k.stop, true);
      pthread_join(k.thread, NULL);
      struct vs_shared_view view;
      if (live && vs_shared_acquire(s.registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view)) {
         accepted++;
         struct stat now;
         CHECK(fstat(k.fd, &now) == 0);
         CHECK_MSG((uint64_t)now.st_size >= view.size, "memory kept at %llu bytes, its file sealed at %llu",
                   (unsigned long long)view.size, (unsigned long long)now.st_size);
         CHECK_EQ(((const volatile uint8_t *)view.map)[view.size - 1], 0);
         vs_shared_release(&view);
      } else {
         refused++;
      }
      close(sock);
      finish(&s);
      cleanup(&s);
      close(k.fd);
   }
   unit_note("%u memories taken whole, %u refused as cut", accepted, refused);
   dropped(line, sizeof(line));
   vs_log_set_sink(NULL, NULL);
#else
   SKIP("memfd seals are Linux's");
#endif
}

/* What a worker lists is bounded by the `resources` limit, counted over
 * what it has not removed; a resource listed twice ends its link with one
 * line, not a line for each time. */
TEST(link_bounds_the_resources_a_worker_lists)
{
   vs_server_links_limit(&(struct vs_server_link_limits){ .resources = 4 });
   vs_log_set_sink(count_lines, NULL);
   char line[512];
   dropped(line, sizeof(line));
   struct served s;
   int sock = start(&s);
   int memfd = os_shm_create("link-resources", 4096);
   CHECK(born(sock, 1, memfd, 4096));
   for (uint32_t id = 1; id <= 4; id++)
      CHECK(resource(sock, id, memfd, 4096));
   const struct vs_link_message removed = { .type = VS_LINK_RESOURCE_REMOVE, .res_id = 2 };
   CHECK(vs_link_send(sock, &removed, -1, false));
   CHECK(resource(sock, 5, memfd, 4096));
   const struct vs_link_message sync = { .type = VS_LINK_SYNC, .request = 1 };
   struct vs_link_message m;
   int fd;
   CHECK(vs_link_send(sock, &sync, -1, false));
   CHECK(vs_link_recv(sock, &m, &fd) == VS_LINK_RECV_OK);
   struct vs_resource_info info;
   CHECK(vs_vm_resources_find(s.resources, 5, &info));
   CHECK(resource(sock, 6, memfd, 4096));
   CHECK(link_ended(&s));
   finish(&s);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "resource 6: more than 4 resources listed at once (limit resources)");
   CHECK(!vs_vm_resources_find(s.resources, 5, &info));
   cleanup(&s);
   close(sock);

   sock = start(&s);
   CHECK(born(sock, 1, memfd, 4096));
   for (int i = 0; i < 100; i++)
      (void)resource(sock, 9, memfd, 4096);
   CHECK(link_ended(&s));
   finish(&s);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "resource 9 listed twice");
   cleanup(&s);
   close(sock);
   close(memfd);
   vs_log_set_sink(NULL, NULL);
   vs_server_links_limit(&(struct vs_server_link_limits){ 0 });
}

/* A memfd that cannot be sealed is mapped fault-safe, and read-only like
 * every worker memory the server maps. */
TEST(link_maps_unsealable_memory_read_only)
{
#ifdef __linux__
   struct served s;
   int sock = start(&s);
   int memfd = memfd_create("link-unsealable", MFD_CLOEXEC); /* F_SEAL_SEAL from birth */
   CHECK(memfd >= 0 && ftruncate(memfd, 8192) == 0);
   CHECK(born(sock, 1, memfd, 8192));
   CHECK(registry_reaches(s.registry, 1));
   struct stat st;
   fstat(memfd, &st);
   struct vs_shared_view view;
   CHECK(vs_shared_acquire(s.registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view));
   FILE *maps = fopen("/proc/self/maps", "r");
   CHECK(maps != NULL);
   char line[512], perms[8] = "";
   unsigned long lo, hi;
   while (fgets(line, sizeof(line), maps))
      if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= (uintptr_t)view.map && (uintptr_t)view.map < hi)
         break;
   fclose(maps);
   vs_shared_release(&view);
   CHECK_STR_EQ(perms, "r--s");
   close(sock);
   finish(&s);
   cleanup(&s);
   close(memfd);
#else
   SKIP("memfd seals are Linux's");
#endif
}

/* Memory that can still shrink takes one of the process's fault-safe
 * mappings (os_map_guarded_max): a link takes its share of them, so two
 * links cannot take them all. */
TEST(link_takes_its_share_of_fault_safe_mappings)
{
#ifdef VS_OS_LINUX
   struct vs_fair_pool guarded;
   vs_fair_pool_init(&guarded, "fault-safe mappings", 1, 2); /* 1 each, 2 lent */
   vs_server_links_limit(&(struct vs_server_link_limits){ .guarded = &guarded });
   vs_log_set_sink(count_lines, NULL);
   char line[512];
   dropped(line, sizeof(line));
   struct served a, b;
   int sock_a = start(&a), sock_b = start(&b);
   int memfd = memfd_create("link-unsealable", MFD_CLOEXEC); /* F_SEAL_SEAL from birth */
   CHECK(memfd >= 0 && ftruncate(memfd, 4096) == 0);
   int sealable = os_shm_create("link-sealable", 4096);
   /* a: its own and all the lent ones; its fourth is refused. */
   for (uint64_t id = 1; id <= 3; id++)
      CHECK(born(sock_a, id, memfd, 4096));
   CHECK(registry_reaches(a.registry, 3));
   CHECK_EQ(guarded.lent, 2u);
   /* Memory sealed against shrinking takes none. */
   CHECK(born(sock_b, 1, sealable, 4096));
   /* b still has its own. */
   CHECK(born(sock_b, 2, memfd, 4096));
   CHECK(registry_reaches(b.registry, 2));
   CHECK(born(sock_a, 4, memfd, 4096));
   CHECK(link_ended(&a));
   finish(&a);
   CHECK_EQ(dropped(line, sizeof(line)), 1u);
   CHECK_STR_CONTAINS(line, "no room to map shared memory 4 that can still shrink: this client holds 3 fault-safe "
                            "mappings");
   CHECK_EQ(guarded.lent, 0u);
   close(sock_b);
   finish(&b);
   cleanup(&a);
   cleanup(&b);
   close(sock_a);
   close(memfd);
   close(sealable);
   vs_log_set_sink(NULL, NULL);
   vs_server_links_limit(&(struct vs_server_link_limits){ 0 });
#else
   SKIP("memfd seals are the Linux backend's");
#endif
}

UNIT_MAIN(UNIT(link_maps_memory_and_lists_its_resources), UNIT(link_refuses_memory_the_worker_did_not_share),
          UNIT(link_refuses_bad_messages), UNIT(link_lists_a_resource_at_what_was_shared),
          UNIT(link_sync_answers_after_what_came_before), UNIT(link_worker_sync_orders_its_resource),
          UNIT(link_closed_unserved),
          UNIT(link_refuses_memory_past_what_its_tenant_may_hold), UNIT(link_refuses_memory_past_the_servers_budget),
          UNIT(link_stalled_mid_message_delays_no_lookup), UNIT(link_born_races_no_shrink_past_the_seal),
          UNIT(link_bounds_the_resources_a_worker_lists), UNIT(link_maps_unsealable_memory_read_only),
          UNIT(link_takes_its_share_of_fault_safe_mappings))

/* SPDX-License-Identifier: MIT */
/* worker/link_server.c: the server's end of a worker link maps the memfds
 * a worker sends as remote registry entries, lists the resources that name
 * them, and ends the link (not the server) at the first message it cannot
 * accept, dropping what that worker had shared. */
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory/resource_table.h"
#include "memory/shared_registry.h"
#include "os/os.h"
#include "unit.h"
#include "worker/link_message.h"
#include "worker/worker_link.h"

struct served {
   struct vs_server_link *link;
   struct vs_shared_registry *registry;
   struct vs_vm_resource_table *resources;
   pthread_t thread;
};

static void *
serve(void *arg)
{
   struct served *s = arg;
   vs_server_link_serve(s->link, s->registry, s->resources);
   return NULL;
}

static int
start(struct served *s)
{
   int fds[2];
   if (vs_link_pair(fds) != 0)
      return -1;
   s->link = vs_server_link_open(fds[0], 7);
   s->registry = vs_shared_registry_create();
   s->resources = vs_vm_resources_create();
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

/* The worker sends as soon as it has its end, perhaps before the thread
 * that serves the link reads: catch-up waits for those messages too (a VM
 * channel's ATTACH of a blob the worker already listed is not refused). */
TEST(link_catch_up_waits_for_a_link_not_yet_served)
{
   int fds[2];
   CHECK(vs_link_pair(fds) == 0);
   struct served s = { .link = vs_server_link_open(fds[0], 7), .registry = vs_shared_registry_create(),
                       .resources = vs_vm_resources_create() };
   CHECK(s.link != NULL);
   int memfd = os_shm_create("link-early", 4096);
   CHECK(born(fds[1], 1, memfd, 4096));
   CHECK(resource(fds[1], 30, memfd, 4096));
   pthread_create(&s.thread, NULL, serve_late, &s);
   vs_server_links_catch_up();
   struct vs_resource_info info;
   CHECK(vs_vm_resources_find(s.resources, 30, &info));
   close(fds[1]);
   finish(&s);
   cleanup(&s);
   close(memfd);
}

/* A link whose worker never started goes without a reader. */
TEST(link_closed_unserved)
{
   int fds[2];
   CHECK(vs_link_pair(fds) == 0);
   struct vs_server_link *link = vs_server_link_open(fds[0], 7);
   CHECK(link != NULL);
   vs_server_link_close(link);
   char c;
   CHECK(read(fds[1], &c, 1) == 0);
   close(fds[1]);
}

UNIT_MAIN(UNIT(link_maps_memory_and_lists_its_resources), UNIT(link_refuses_memory_the_worker_did_not_share),
          UNIT(link_refuses_bad_messages), UNIT(link_lists_a_resource_at_what_was_shared),
          UNIT(link_catch_up_waits_for_a_link_not_yet_served), UNIT(link_closed_unserved))

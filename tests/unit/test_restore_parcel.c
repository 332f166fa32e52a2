/* SPDX-License-Identifier: MIT */
/* base/parcel.c and renderer/restore_parcel.c: a restore's state written
 * as a snapshot, sent over a socket and read back the same, each region
 * and copy mapped again from its fd onto the same bytes; and what a bad
 * snapshot's reader refuses, every fd it brought closed. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/parcel.h"
#include "os/os.h"
#include "renderer/memory/device_memory.h"
#include "renderer/objects.h"
#include "renderer/restore.h"
#include "unit.h"

static int
open_fds(void)
{
   int n = 0;
   DIR *d = opendir("/proc/self/fd");
   while (d && readdir(d))
      n++;
   if (d)
      closedir(d);
   return n;
}

/* A state as a take leaves it: one region, one copy, one image with its
 * copy and layouts by subresource, a fence and a binary semaphore. */
static void
make_state(struct vs_restore *s)
{
   const size_t page = os_page_size();
   *s = (struct vs_restore){ .keep_fds = true };
   s->regions.items = calloc(1, sizeof(*s->regions.items));
   s->regions.cap = 1;
   struct vs_kept_region *g = &s->regions.items[s->regions.count++];
   *g = (struct vs_kept_region){ .memory_id = 11, .map_size = 2 * page, .granule = page, .exported = true,
                                 .charged_fds = 1, .charged_mappings = VS_GUARDED_MAPPINGS };
   CHECK(vs_host_region_create(g->map_size, g->map_size, page, &g->fd, &g->map));
   memcpy(g->map, "region", 7);
   s->contents = calloc(1, sizeof(*s->contents));
   s->content_cap = 1;
   struct vs_restore_contents *c = &s->contents[s->content_count++];
   *c = (struct vs_restore_contents){ .memory_id = 12, .size = page + 5, .map_size = 2 * page, .granule = page };
   CHECK(vs_host_region_create(c->map_size, c->map_size, page, &c->fd, &c->bytes));
   memcpy(c->bytes, "contents", 9);
   s->images = calloc(1, sizeof(*s->images));
   s->image_cap = 1;
   struct vs_restore_image *e = &s->images[s->image_count++];
   *e = (struct vs_restore_image){ .id = 13, .memory_id = 12, .offset = 64, .size = 256, .total = 100,
                                   .map_size = page, .granule = page, .each_count = 3 };
   e->layouts = (struct vs_image_layouts){ .all = VK_IMAGE_LAYOUT_GENERAL, .aspects = 1, .family = 2 };
   e->layouts.each = malloc(3 * sizeof(*e->layouts.each));
   e->layouts.each[0] = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
   e->layouts.each[1] = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
   e->layouts.each[2] = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
   CHECK(vs_host_region_create(e->map_size, e->map_size, page, &e->fd, &e->bytes));
   memcpy(e->bytes, "texels", 7);
   s->syncs = calloc(2, sizeof(*s->syncs));
   s->sync_cap = 2;
   s->syncs[s->sync_count++] = (struct vs_restore_sync){ 14, VK_OBJECT_TYPE_FENCE, 1 };
   s->syncs[s->sync_count++] = (struct vs_restore_sync){ 15, VK_OBJECT_TYPE_SEMAPHORE, VS_OBJECT_SIGNAL_PENDING };
}

struct sender {
   int sock;
   struct vs_parcel *p;
   int result;
};

static void *
send_it(void *data)
{
   struct sender *job = data;
   job->result = vs_parcel_send(job->sock, job->p);
   close(job->sock);
   return NULL;
}

TEST(snapshot_round_trip)
{
   const int before = open_fds();
   struct vs_restore s, back;
   make_state(&s);
   char why[192] = "";
   struct vs_parcel out = { 0 }, in = { 0 };
   CHECK(vs_restore_write(&s, &out, why, sizeof(why)));
   CHECK_EQ(out.fd_count, 3u);
   int sv[2];
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   struct sender job = { sv[0], &out, -1 };
   pthread_t t;
   CHECK(pthread_create(&t, NULL, send_it, &job) == 0);
   const int got = vs_parcel_recv(sv[1], &in, 1u << 20, 16, why, sizeof(why));
   pthread_join(t, NULL);
   close(sv[1]);
   CHECK_MSG(got == 0 && job.result == 0, "%s", why);
   CHECK_EQ(in.fd_count, 3u);
   vs_parcel_fini(&out);
   CHECK_MSG(vs_restore_read(&in, &back, why, sizeof(why)), "%s", why);
   CHECK_EQ(in.at, in.size);
   vs_parcel_fini(&in);

   /* The same values, and the same bytes through new mappings. */
   CHECK_EQ(back.regions.count, 1u);
   CHECK_EQ(back.regions.items[0].memory_id, 11u);
   CHECK(back.regions.items[0].map != s.regions.items[0].map);
   CHECK(memcmp(back.regions.items[0].map, "region", 7) == 0);
   CHECK(back.regions.items[0].exported && !back.regions.items[0].imported);
   CHECK_EQ(back.regions.items[0].fd_size, 2 * os_page_size());
   CHECK_EQ(back.regions.items[0].charged_mappings, (uint32_t)VS_GUARDED_MAPPINGS);
   CHECK_EQ(back.content_count, 1u);
   CHECK_EQ(back.contents[0].size, (VkDeviceSize)os_page_size() + 5);
   CHECK(memcmp(back.contents[0].bytes, "contents", 9) == 0);
   /* A write on one side is seen on the other: the same pages. */
   memcpy(s.contents[0].bytes, "CONTENTS", 9);
   CHECK(memcmp(back.contents[0].bytes, "CONTENTS", 9) == 0);
   CHECK_EQ(back.image_count, 1u);
   const struct vs_restore_image *e = &back.images[0];
   CHECK_EQ(e->id, 13u);
   CHECK_EQ(e->total, 100u);
   CHECK_EQ(e->each_count, 3u);
   CHECK_EQ(e->layouts.all, VK_IMAGE_LAYOUT_GENERAL);
   CHECK_EQ(e->layouts.each[2], VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
   CHECK_EQ(e->layouts.family, 2u);
   CHECK(memcmp(e->bytes, "texels", 7) == 0);
   CHECK_EQ(back.images_copied, 1u);
   CHECK_EQ(back.content_bytes, (uint64_t)os_page_size() + 5 + 100);
   CHECK_EQ(back.sync_count, 2u);
   CHECK_EQ(back.syncs[1].id, 15u);
   CHECK_EQ(back.syncs[1].value, (uint64_t)VS_OBJECT_SIGNAL_PENDING);
   vs_restore_fini(&back);
   vs_restore_fini(&s);
   CHECK_EQ(open_fds(), before);
}

/* A state of regions alone: the parcel's tail is short (no copies,
 * images or syncs), so each region's size must be counted exactly. */
TEST(snapshot_of_regions_alone)
{
   const size_t page = os_page_size();
   struct vs_restore s = { .keep_fds = true }, back;
   s.regions.items = calloc(8, sizeof(*s.regions.items));
   s.regions.cap = 8;
   for (uint32_t i = 0; i < 8; i++) {
      struct vs_kept_region *g = &s.regions.items[s.regions.count++];
      *g = (struct vs_kept_region){ .memory_id = 20 + i, .map_size = page, .granule = page };
      CHECK(vs_host_region_create(page, page, page, &g->fd, &g->map));
   }
   char why[192] = "";
   struct vs_parcel p = { 0 };
   CHECK(vs_restore_write(&s, &p, why, sizeof(why)));
   CHECK_MSG(vs_restore_read(&p, &back, why, sizeof(why)), "%s", why);
   CHECK_EQ(back.regions.count, 8u);
   CHECK_EQ(back.regions.items[7].memory_id, 27u);
   vs_restore_fini(&back);
   vs_parcel_fini(&p);
   vs_restore_fini(&s);
}

/* Writes the state, lets `spoil` change the parcel, reads it back:
 * whether the read succeeded; every fd closed either way. */
static bool
read_spoiled(void (*spoil)(struct vs_parcel *p), char *why, size_t why_size)
{
   const int before = open_fds();
   struct vs_restore s, back;
   make_state(&s);
   struct vs_parcel p = { 0 };
   bool ok = vs_restore_write(&s, &p, why, why_size);
   vs_restore_fini(&s);
   spoil(&p);
   ok = ok && vs_restore_read(&p, &back, why, why_size);
   if (ok)
      vs_restore_fini(&back);
   vs_parcel_fini(&p);
   return open_fds() == before ? ok : (snprintf(why, why_size, "an fd was left open"), true);
}

/* Offsets into make_state's parcel: the region's fd index, its granule;
 * the copy's size; the sync section's second value. */
#define REGION_FD_AT 12
#define REGION_GRANULE_AT 24
#define CONTENTS_SIZE_AT (48 + 8)

static void
put_u32_at(struct vs_parcel *p, size_t at, uint32_t v)
{
   memcpy(p->bytes + at, &v, sizeof(v));
}

static void
put_u64_at(struct vs_parcel *p, size_t at, uint64_t v)
{
   memcpy(p->bytes + at, &v, sizeof(v));
}

static void
fd_taken_twice(struct vs_parcel *p)
{
   put_u32_at(p, 48 + 16, 0); /* the copy names the region's fd */
}

static void
fd_out_of_range(struct vs_parcel *p)
{
   put_u32_at(p, REGION_FD_AT, 7);
}

static void
granule_not_power_of_two(struct vs_parcel *p)
{
   put_u64_at(p, REGION_GRANULE_AT, 3 * os_page_size());
}

static void
copy_larger_than_its_map(struct vs_parcel *p)
{
   put_u64_at(p, CONTENTS_SIZE_AT, 64 * os_page_size());
}

static void
cut_short(struct vs_parcel *p)
{
   p->size -= 3;
}

static void
fence_value_not_a_flag(struct vs_parcel *p)
{
   /* The last sync's value, then copy_ns: the first sync is a fence. */
   put_u64_at(p, p->size - 8 - 20 - 8, 2);
}

static void
region_fd_too_short(struct vs_parcel *p)
{
   put_u64_at(p, REGION_GRANULE_AT - 8, os_page_size()); /* map_size below the fd's size */
}

TEST(snapshot_refusals)
{
   char why[192];
   void (*const spoil[])(struct vs_parcel *) = {
      fd_taken_twice, fd_out_of_range, granule_not_power_of_two, copy_larger_than_its_map,
      cut_short, fence_value_not_a_flag, region_fd_too_short,
   };
   for (size_t i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
      why[0] = '\0';
      CHECK_MSG(!read_spoiled(spoil[i], why, sizeof(why)), "spoil %zu was read", i);
      CHECK_MSG(strstr(why, "its snapshot is bad: ") == why, "spoil %zu: '%s'", i, why);
   }
}

TEST(parcel_recv_refuses_what_it_is_not_told)
{
   char why[192];
   struct vs_parcel in;
   int sv[2];
   /* No parcel at all. */
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   CHECK(write(sv[0], "not a parcel of any kind", 24) == 24);
   close(sv[0]);
   CHECK(vs_parcel_recv(sv[1], &in, 1024, 4, why, sizeof(why)) < 0);
   CHECK(strstr(why, "no parcel") != NULL);
   close(sv[1]);
   /* Over the receiver's limit of fds. */
   struct vs_parcel out = { 0 };
   for (int i = 0; i < 5; i++)
      vs_parcel_put_fd(&out, 0);
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   CHECK(vs_parcel_send(sv[0], &out) == 0);
   close(sv[0]);
   CHECK(vs_parcel_recv(sv[1], &in, 1024, 4, why, sizeof(why)) < 0);
   CHECK(strstr(why, "too big") != NULL);
   close(sv[1]);
   vs_parcel_fini(&out);
}

/* A parcel kept in shared memory waits whole in a socket nobody reads
 * (a worker handing its tenant over ends first), and a socket too small
 * for it refuses it rather than blocking. */
TEST(kept_parcel_waits_in_the_socket)
{
   char why[192];
   struct vs_parcel out = { 0 }, in;
   static uint8_t big[1 << 20];
   for (size_t i = 0; i < sizeof(big); i++)
      big[i] = (uint8_t)(i * 7);
   vs_parcel_put(&out, big, sizeof(big));
   int memfd = os_shm_create("kept-test", 4096);
   CHECK(memfd >= 0);
   for (int i = 0; i < 40; i++)
      vs_parcel_put_fd(&out, memfd);
   int sv[2];
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   CHECK(os_set_nonblocking(sv[0], true) == 0);
   CHECK(vs_parcel_send_kept(sv[0], &out) == 0);
   close(sv[0]);
   /* The sender is gone; what it sent is all there. */
   CHECK_MSG(vs_parcel_recv_kept(sv[1], &in, out.size, 40, why, sizeof(why)) == 0, "%s", why);
   close(sv[1]);
   CHECK(in.size == out.size && memcmp(in.bytes, out.bytes, out.size) == 0);
   CHECK(in.fd_count == 40);
   vs_parcel_fini(&in);
   /* Over the receiver's byte limit: refused. */
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   CHECK(vs_parcel_send_kept(sv[0], &out) == 0);
   close(sv[0]);
   CHECK(vs_parcel_recv_kept(sv[1], &in, out.size - 1, 40, why, sizeof(why)) < 0);
   CHECK(strstr(why, "too many") != NULL);
   close(sv[1]);
   /* A socket that cannot hold its fds: refused, not blocked. */
   struct vs_parcel many = { 0 };
   for (int i = 0; i < 500; i++)
      vs_parcel_put_fd(&many, memfd);
   CHECK(!many.failed);
   CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
   const int smallest = 1;
   CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &smallest, sizeof(smallest)) == 0);
   CHECK(os_set_nonblocking(sv[0], true) == 0);
   CHECK(vs_parcel_send_kept(sv[0], &many) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
   close(sv[0]);
   close(sv[1]);
   vs_parcel_fini(&many);
   vs_parcel_fini(&out);
   close(memfd);
}

UNIT_MAIN(UNIT(snapshot_round_trip), UNIT(snapshot_of_regions_alone), UNIT(snapshot_refusals), UNIT(parcel_recv_refuses_what_it_is_not_told),
          UNIT(kept_parcel_waits_in_the_socket))

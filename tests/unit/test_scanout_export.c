/* SPDX-License-Identifier: MIT */
/* A VM device's scanout from its worker to the server
 * (transport/vhost_user/scanout_export.h): frames cross in order, each
 * acknowledged before the next is written; a malformed announcement ends
 * the server's end without showing anything. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"
#include "transport/vhost_user/scanout_export.h"
#include "unit.h"

#define W 8
#define H 4

struct shown {
   unsigned frames;
   uint32_t width, height;
   uint8_t first, last;
};

static void
record_frame(void *data, uint32_t device, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride)
{
   struct shown *shown = data;
   shown->frames++;
   shown->width = width;
   shown->height = height;
   shown->first = pixels[0];
   shown->last = pixels[(size_t)(height - 1) * stride + width * 4 - 1];
}

struct server_end {
   const uint8_t *map;
   int fd;
   struct shown shown;
};

static void *
run_server_end(void *arg)
{
   struct server_end *end = arg;
   vs_scanout_import_run(1, end->map, vs_scanout_framebuffer_size(W, H), end->fd, record_frame, &end->shown);
   return NULL;
}

TEST(scanout_frames_cross_in_order)
{
   uint64_t size = vs_scanout_framebuffer_size(W, H);
   int memfd = os_shm_create("test-scanout", size);
   int pair[2];
   CHECK(memfd >= 0);
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
   struct server_end end = { .map = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0), .fd = pair[0] };
   CHECK(end.map != MAP_FAILED);
   struct vs_scanout_export *exp = vs_scanout_export_create(1, dup(memfd), size, pair[1]);
   CHECK(exp != NULL);
   pthread_t thread;
   CHECK(pthread_create(&thread, NULL, run_server_end, &end) == 0);
   uint8_t pixels[H][W * 4 + 8]; /* a stride beyond the row */
   for (uint8_t i = 1; i <= 3; i++) {
      memset(pixels, i, sizeof(pixels));
      vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]));
   }
   /* Larger than the framebuffer: not exported. */
   vs_scanout_export_frame(exp, &pixels[0][0], W, H + 1, sizeof(pixels[0]));
   vs_scanout_export_destroy(exp);
   pthread_join(thread, NULL);
   CHECK_EQ(end.shown.frames, 3u);
   CHECK_EQ(end.shown.width, (uint32_t)W);
   CHECK_EQ(end.shown.height, (uint32_t)H);
   CHECK_EQ(end.shown.first, 3);
   CHECK_EQ(end.shown.last, 3);
   munmap((void *)end.map, size);
   close(pair[0]);
   close(memfd);
}

/* One raw message to the server's end, which must return without
 * showing it. */
static void
refuses(const void *msg, size_t size)
{
   uint64_t fb_size = vs_scanout_framebuffer_size(W, H);
   static const uint8_t framebuffer[W * H * 4];
   int pair[2];
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
   CHECK(send(pair[1], msg, size, 0) == (ssize_t)size);
   struct shown shown = { 0 };
   vs_scanout_import_run(1, framebuffer, fb_size, pair[0], record_frame, &shown);
   CHECK_EQ(shown.frames, 0u);
   close(pair[0]);
   close(pair[1]);
}

TEST(scanout_refuses_malformed_announcements)
{
   const struct vs_scanout_announce ok = { .seq = 1, .width = W, .height = H };
   refuses(&ok, sizeof(ok) - 1);
   uint8_t longer[sizeof(ok) + 4] = { 0 };
   memcpy(longer, &ok, sizeof(ok));
   refuses(longer, sizeof(longer));
   refuses(&(struct vs_scanout_announce){ .seq = 2, .width = W, .height = H }, sizeof(ok));
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = W, .height = H + 1 }, sizeof(ok));
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = 0x40000000, .height = 4 }, sizeof(ok));
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = 0, .height = H }, sizeof(ok));
}

UNIT_MAIN(UNIT(scanout_frames_cross_in_order), UNIT(scanout_refuses_malformed_announcements))

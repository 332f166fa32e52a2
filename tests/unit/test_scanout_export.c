/* SPDX-License-Identifier: MIT */
/* A VM device's scanout from its worker to the server
 * (transport/vhost_user/scanout_export.h): frames cross in order, each
 * acknowledged before the next is written, the acknowledgements paced at
 * the display's frame interval; a malformed announcement ends the
 * server's end without showing anything; a loop that parks leaves the
 * next one what it needs, and the worker shows its frame again for it. */
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
#define FRAME_INTERVAL_NS 20000000ull

static const uint8_t BGRX[3] = { 0, 1, 2 };

struct shown {
   unsigned frames, cursors;
   uint32_t cursor_width, cursor_hot_x;
   uint8_t cursor_first;
   uint64_t first_ns, last_ns;
   uint32_t width, height;
   uint8_t first, last;
};

static void
record_frame(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height,
             uint32_t stride)
{
   struct shown *shown = data;
   shown->last_ns = os_now_ns();
   if (!shown->frames++)
      shown->first_ns = shown->last_ns;
   shown->width = width;
   shown->height = height;
   shown->first = pixels[0];
   shown->last = pixels[(size_t)(height - 1) * stride + width * 4 - 1];
}

static void
record_cursor(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height,
              uint32_t hot_x, uint32_t hot_y)
{
   struct shown *shown = data;
   shown->cursors++;
   shown->cursor_width = width;
   shown->cursor_hot_x = hot_x;
   shown->cursor_first = pixels ? pixels[0] : 0;
}

/* The server's end of device 1's scanout 0 over `framebuffer` and
 * `notify_fd`, unparked and unpaced. */
static struct vs_scanout_import
import_of(const uint8_t *framebuffer, uint64_t size, int notify_fd, struct shown *shown)
{
   return (struct vs_scanout_import){
      .device = 1, .framebuffer = framebuffer, .size = size, .notify_fd = notify_fd, .park_fd = -1,
      .show = record_frame, .cursor = record_cursor, .data = shown,
   };
}

/* The server's end of a WxH framebuffer, run on a thread of its own. */
struct server_end {
   int memfd, pair[2];
   const uint8_t *map;
   pthread_t thread;
   struct shown shown;
   struct vs_scanout_import import;
   bool parked;
};

static void *
run_server_end(void *arg)
{
   struct server_end *end = arg;
   end->parked = vs_scanout_import_run(&end->import);
   return NULL;
}

/* The framebuffer, the pair, the server's end running; *exp: the worker's
 * end (NULL if any of it failed). */
static void
server_end_start_parking(struct server_end *end, struct vs_scanout_export **exp, int park_fd)
{
   *exp = NULL;
   const uint64_t size = vs_scanout_framebuffer_size((uint64_t)W * H);
   *end = (struct server_end){ .memfd = os_shm_create("test-scanout", size) };
   CHECK(end->memfd >= 0);
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, end->pair) == 0);
   end->map = mmap(NULL, size, PROT_READ, MAP_SHARED, end->memfd, 0);
   CHECK(end->map != MAP_FAILED);
   struct vs_scanout_export *made = vs_scanout_export_create(1, 0, dup(end->memfd), size, end->pair[1]);
   CHECK(made != NULL);
   end->import = import_of(end->map, size, end->pair[0], &end->shown);
   end->import.frame_interval_ns = park_fd < 0 ? FRAME_INTERVAL_NS : 0;
   end->import.park_fd = park_fd;
   CHECK(pthread_create(&end->thread, NULL, run_server_end, end) == 0);
   *exp = made;
}

static void
server_end_start(struct server_end *end, struct vs_scanout_export **exp)
{
   server_end_start_parking(end, exp, -1);
}

/* The worker's end goes; the server's end returns. */
static void
server_end_finish(struct server_end *end, struct vs_scanout_export *exp)
{
   vs_scanout_export_destroy(exp);
   pthread_join(end->thread, NULL);
   munmap((void *)end->map, vs_scanout_framebuffer_size((uint64_t)W * H));
   close(end->pair[0]);
   close(end->memfd);
}

TEST(scanout_frames_cross_in_order)
{
   struct server_end end;
   struct vs_scanout_export *exp;
   server_end_start(&end, &exp);
   CHECK(exp != NULL);
   uint8_t pixels[H][W * 4 + 8]; /* a stride beyond the row */
   for (uint8_t i = 1; i <= 3; i++) {
      memset(pixels, i, sizeof(pixels));
      vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]), BGRX);
   }
   /* Larger than the framebuffer: not exported. */
   vs_scanout_export_frame(exp, &pixels[0][0], W, H + 1, sizeof(pixels[0]), BGRX);
   /* A cursor between frames, then none: neither touches the frame. */
   uint8_t cursor[2][2 * 4 + 4];
   memset(cursor, 9, sizeof(cursor));
   vs_scanout_export_cursor(exp, &cursor[0][0], 2, 2, sizeof(cursor[0]), 1, 1);
   server_end_finish(&end, exp);
   CHECK_EQ(end.shown.cursors, 1u);
   CHECK_EQ(end.shown.cursor_width, 2u);
   CHECK_EQ(end.shown.cursor_hot_x, 1u);
   CHECK_EQ(end.shown.cursor_first, 9);
   CHECK_EQ(end.shown.frames, 3u);
   CHECK_EQ(end.shown.width, (uint32_t)W);
   CHECK_EQ(end.shown.height, (uint32_t)H);
   CHECK_EQ(end.shown.first, 3);
   CHECK_EQ(end.shown.last, 3);
   /* Frame 3 is written after the second acknowledgement, which waited a
    * frame interval after the first. */
   CHECK(end.shown.last_ns - end.shown.first_ns >= FRAME_INTERVAL_NS);
}

/* One raw message to the server's end, which must return without
 * showing it. */
static void
refuses(const void *msg, size_t size)
{
   uint64_t fb_size = vs_scanout_framebuffer_size((uint64_t)W * H);
   static const uint8_t framebuffer[VS_SCANOUT_CURSOR_BYTES + W * H * 4];
   int pair[2];
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
   CHECK(send(pair[1], msg, size, 0) == (ssize_t)size);
   struct shown shown = { 0 };
   struct vs_scanout_import imp = import_of(framebuffer, fb_size, pair[0], &shown);
   CHECK(!vs_scanout_import_run(&imp));
   CHECK_EQ(shown.frames, 0u);
   CHECK_EQ(shown.cursors, 0u);
   close(pair[0]);
   close(pair[1]);
}

/* A frame of another byte order (R G B X) arrives as B G R X. */
TEST(scanout_frames_reordered)
{
   struct server_end end;
   struct vs_scanout_export *exp;
   server_end_start(&end, &exp);
   CHECK(exp != NULL);
   uint8_t pixels[H][W * 4];
   for (size_t i = 0; i < sizeof(pixels); i++)
      (&pixels[0][0])[i] = (uint8_t)(1 + i % 4); /* R 1, G 2, B 3, X 4 */
   static const uint8_t rgbx[3] = { 2, 1, 0 };
   vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]), rgbx);
   server_end_finish(&end, exp);
   CHECK_EQ(end.shown.frames, 1u);
   CHECK_EQ(end.shown.first, 3);
   CHECK_EQ(end.shown.last, 0xff);
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
   /* Cursors: larger than the cursor area, one side 0, the hotspot out. */
   const uint64_t c = VS_SCANOUT_CURSOR;
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = 65, .height = 2, .buffer = c }, sizeof(ok));
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = 0, .height = 2, .buffer = c }, sizeof(ok));
   refuses(&(struct vs_scanout_announce){ .seq = 1, .width = 2, .height = 2, .buffer = c, .hot_x = 64 },
           sizeof(ok));
}

/* Frames shown in place from buffers: each buffer's fd crosses once while
 * the server holds it, the offset and stride are honoured, and a fifth
 * buffer takes the least recently shown one's slot on both ends. */
TEST(scanout_buffers_shown_in_place)
{
   struct server_end end;
   struct vs_scanout_export *exp;
   server_end_start(&end, &exp);
   CHECK(exp != NULL);
   enum { BUFFERS = VS_SCANOUT_BUFFERS + 1, STRIDE = W * 4 + 16, OFFSET = 64 };
   const uint64_t size = OFFSET + (uint64_t)STRIDE * H;
   int fds[BUFFERS];
   for (int b = 0; b < BUFFERS; b++) {
      fds[b] = os_shm_create("test-scanout-buffer", size);
      CHECK(fds[b] >= 0);
      uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[b], 0);
      CHECK(p != MAP_FAILED);
      memset(p, 0xee, size);
      memset(p + OFFSET, 10 + b, (size_t)STRIDE * (H - 1) + W * 4);
      munmap(p, size);
   }
   /* Double buffering over the first two, then every buffer in turn. */
   const int order[] = { 0, 1, 0, 1, 2, 3, 4, 0 };
   for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
      vs_scanout_export_buffer(exp, 100 + order[k], fds[order[k]], size, OFFSET, STRIDE, W, H);
      CHECK_EQ(end.shown.frames, k + 1);
      CHECK_EQ(end.shown.first, 10 + order[k]);
      CHECK_EQ(end.shown.last, 10 + order[k]);
   }
   /* A frame with more pixels than the framebuffer, though inside its
    * buffer: not announced. */
   vs_scanout_export_buffer(exp, 100, fds[0], size, 0, STRIDE, W + 1, H);
   CHECK_EQ(end.shown.frames, 8u);
   /* A frame in the framebuffer between them. */
   uint8_t pixels[H][W * 4];
   memset(pixels, 7, sizeof(pixels));
   vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]), BGRX);
   vs_scanout_export_buffer(exp, 101, fds[1], size, OFFSET, STRIDE, W, H);
   server_end_finish(&end, exp);
   CHECK_EQ(end.shown.frames, 10u);
   CHECK_EQ(end.shown.first, 11);
   for (int b = 0; b < BUFFERS; b++)
      close(fds[b]);
}

/* One raw buffer announcement with `fd` (or none) to the server's end,
 * which must refuse it without showing anything. */
static void
refuses_buffer(const struct vs_scanout_announce *msg, int fd)
{
   static const uint8_t framebuffer[VS_SCANOUT_CURSOR_BYTES + W * H * 4];
   int pair[2];
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
   CHECK(os_send_fds(pair[1], msg, sizeof(*msg), fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, 0) == (ssize_t)sizeof(*msg));
   struct shown shown = { 0 };
   struct vs_scanout_import imp = import_of(framebuffer, sizeof(framebuffer), pair[0], &shown);
   CHECK(!vs_scanout_import_run(&imp));
   CHECK_EQ(shown.frames, 0u);
   close(pair[0]);
   close(pair[1]);
}

TEST(scanout_refuses_buffer_lies)
{
   const uint64_t size = (uint64_t)W * 4 * H;
   int fd = os_shm_create("test-scanout-buffer", size);
   CHECK(fd >= 0);
   const struct vs_scanout_announce ok = { .seq = 1, .width = W, .height = H, .stride = W * 4, .buffer = 5,
                                           .buffer_size = size };
   /* A new buffer without its fd. */
   refuses_buffer(&ok, -1);
   /* Larger than its file. */
   struct vs_scanout_announce m = ok;
   m.buffer_size = size * 2;
   m.height = H * 2;
   refuses_buffer(&m, fd);
   /* A frame past its end: by offset, by stride, by a short stride. */
   m = ok;
   m.offset = 4;
   refuses_buffer(&m, fd);
   m = ok;
   m.stride = W * 4 + 4;
   refuses_buffer(&m, fd);
   m = ok;
   m.stride = W * 4 - 4;
   refuses_buffer(&m, fd);
   /* Sizes whose arithmetic would wrap. */
   m = ok;
   m.width = 0xffffffffu;
   m.height = 0xffffffffu;
   m.stride = 0xffffffffu;
   m.offset = 0;
   refuses_buffer(&m, fd);
   m = ok;
   m.offset = UINT64_MAX;
   refuses_buffer(&m, fd);
   /* A framebuffer frame with an fd. */
   m = ok;
   m.buffer = 0;
   refuses_buffer(&m, fd);
   close(fd);
   /* Inside its buffer, but with more pixels than the framebuffer. */
   fd = os_shm_create("test-scanout-buffer", size * 4);
   CHECK(fd >= 0);
   m = ok;
   m.width = W * 2;
   m.height = H * 2;
   m.stride = W * 8;
   m.buffer_size = size * 4;
   refuses_buffer(&m, fd);
   close(fd);
}

/* The server's mode requests reach the worker's end whenever they come:
 * one before an acknowledgement is kept while the worker waits for it,
 * and only the latest is taken. */
TEST(scanout_mode_requests)
{
   const uint64_t size = vs_scanout_framebuffer_size((uint64_t)W * H);
   int memfd = os_shm_create("test-scanout", size), pair[2];
   CHECK(memfd >= 0);
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
   struct vs_scanout_export *exp = vs_scanout_export_create(1, 0, memfd, size, pair[1]);
   CHECK(exp != NULL);
   CHECK_EQ(vs_scanout_export_fd(exp), pair[1]);
   uint8_t pixels[H][W * 4];
   memset(pixels, 1, sizeof(pixels));
   vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]), BGRX);
   CHECK(vs_scanout_request_mode(pair[0], 96, 64));
   const struct vs_scanout_reply ack = { .kind = VS_SCANOUT_REPLY_ACK, .seq = 1 };
   CHECK(send(pair[0], &ack, sizeof(ack), 0) == (ssize_t)sizeof(ack));
   /* The second frame waits for the first's acknowledgement, past the
    * request. */
   vs_scanout_export_frame(exp, &pixels[0][0], W, H, sizeof(pixels[0]), BGRX);
   uint32_t width = 0, height = 0;
   CHECK(vs_scanout_export_take_mode(exp, false, &width, &height));
   CHECK_EQ(width, 96u);
   CHECK_EQ(height, 64u);
   CHECK(!vs_scanout_export_take_mode(exp, true, &width, &height));
   CHECK(vs_scanout_request_mode(pair[0], 80, 60));
   CHECK(vs_scanout_request_mode(pair[0], 72, 40));
   CHECK(vs_scanout_export_take_mode(exp, true, &width, &height));
   CHECK_EQ(width, 72u);
   CHECK_EQ(height, 40u);
   /* Both frames were announced, in order. */
   struct vs_scanout_announce msg;
   for (uint32_t seq = 1; seq <= 2; seq++) {
      CHECK(recv(pair[0], &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg));
      CHECK_EQ(msg.seq, seq);
   }
   vs_scanout_export_destroy(exp);
   close(pair[0]);
}


/* A loop parks between frames; the next one, on the same worker, asks
 * for the frame again: what the worker announced before its reset in a
 * buffer the first loop held is acknowledged unseen, the reset makes
 * both ends forget their buffers, and the buffer's fd crosses again. */
TEST(scanout_parked_loop_resumes_with_a_reshow)
{
   struct os_event park;
   CHECK(os_event_init(&park) == 0);
   struct server_end end;
   struct vs_scanout_export *exp;
   server_end_start_parking(&end, &exp, park.read_fd);
   CHECK(exp != NULL);
   const uint64_t size = (uint64_t)W * 4 * H;
   int fd = os_shm_create("test-scanout-buffer", size);
   CHECK(fd >= 0);
   uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   CHECK(p != MAP_FAILED);
   memset(p, 21, size);
   vs_scanout_export_buffer(exp, 100, fd, size, 0, W * 4, W, H);
   CHECK_EQ(end.shown.frames, 1u);
   /* The loop waits in its read: the event parks it. */
   os_event_signal(&park);
   pthread_join(end.thread, NULL);
   CHECK(end.parked);
   CHECK(end.import.reshow);
   CHECK_EQ(end.import.seq, 1u);
   CHECK(!vs_scanout_export_take_reshow(exp));
   os_event_drain(&park);
   CHECK(pthread_create(&end.thread, NULL, run_server_end, &end) == 0);
   /* Without its fd: the worker holds it shown; unseen. */
   memset(p, 22, size);
   vs_scanout_export_buffer(exp, 100, fd, size, 0, W * 4, W, H);
   CHECK_EQ(end.shown.frames, 1u);
   CHECK(vs_scanout_export_take_reshow(exp));
   CHECK(!vs_scanout_export_take_reshow(exp));
   vs_scanout_export_buffer(exp, 100, fd, size, 0, W * 4, W, H);
   CHECK_EQ(end.shown.frames, 2u);
   CHECK_EQ(end.shown.first, 22);
   vs_scanout_export_buffer(exp, 100, fd, size, 0, W * 4, W, H);
   server_end_finish(&end, exp);
   CHECK(!end.parked);
   CHECK_EQ(end.shown.frames, 3u);
   os_event_fini(&park);
   munmap(p, size);
   close(fd);
}

UNIT_MAIN(UNIT(scanout_frames_cross_in_order), UNIT(scanout_mode_requests), UNIT(scanout_frames_reordered),
          UNIT(scanout_refuses_malformed_announcements), UNIT(scanout_buffers_shown_in_place),
          UNIT(scanout_refuses_buffer_lies), UNIT(scanout_parked_loop_resumes_with_a_reshow))

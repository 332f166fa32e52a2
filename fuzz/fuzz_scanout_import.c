/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a hostile device worker against the server's end of
 * its scanout (vs_scanout_import_run, transport/vhost_user/
 * scanout_export.h). The input is a list of records, each one message on
 * the SOCK_SEQPACKET pair, sent before the server's end runs and followed
 * by the worker's end of the pair:
 *   op                  bit 6: raw bytes (bit 7: a length byte first, up
 *                       to 57) instead of a frame built from 4 bytes
 *                       (sequence number kept one past the last where bit
 *                       3 says so, sizes, stride, one of 7 buffer ids
 *                       against the 4 slots, the cursor (its hotspot
 *                       from the last byte) or the framebuffer, offset,
 *                       buffer size near its frame's or near UINT64_MAX);
 *                       bit 0: the message carries fds, bits 1-2 which:
 *                       a memfd, a memfd the worker shrinks once the
 *                       server shows a frame, a pipe, or two memfds.
 *                       Buffer id 7 is the reset when bits 4-5 are 2.
 * The first record's bit 7, on a built frame, starts the server's end as
 * after a park: it asks for the frame again, and takes announcements of
 * buffers it does not hold as made before the worker's reset.
 * show() reads every byte of every frame it is handed, cursor() of every
 * cursor image (ASan, and the
 * SIGBUS guard for a shrunk file, see what it may not), and every fd the
 * server received must be closed when it returns. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/scanout_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FB_SIDE 64
#define MAX_RECORDS 48
#define MAX_SHRINK 64

static volatile uint64_t sink;
static struct {
   int fd;
   uint64_t size;
} shrink[MAX_SHRINK];
static unsigned shrink_count;

static void
show(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height,
     uint32_t stride)
{
   uint64_t sum = 0;
   for (uint32_t y = 0; y < height; y++)
      for (uint64_t x = 0; x < (uint64_t)width * 4; x++)
         sum += pixels[(uint64_t)y * stride + x];
   sink += sum;
   /* The worker shrinks its files once the server holds them mapped. */
   for (unsigned i = 0; i < shrink_count; i++)
      if (ftruncate(shrink[i].fd, (off_t)shrink[i].size) != 0)
         abort();
   (*(unsigned *)data)++;
}

static void
cursor(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height,
       uint32_t hot_x, uint32_t hot_y)
{
   uint64_t sum = hot_x + hot_y;
   for (uint64_t i = 0; pixels && i < (uint64_t)width * height * 4; i++)
      sum += pixels[i];
   sink += sum;
}

static int
open_fds(void)
{
   int n = 0;
   DIR *d = opendir("/proc/self/fd");
   for (struct dirent *e; d && (e = readdir(d));)
      n++;
   if (d)
      closedir(d);
   return n;
}

/* A worker's file, which it may shrink (os_shm_create's are sealed). */
static int
memfd_of(uint64_t size)
{
   int fd = memfd_create("fuzz-scanout", MFD_CLOEXEC);
   if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
      abort();
   return fd;
}

static uint8_t
next(const uint8_t **data, size_t *size)
{
   if (!*size)
      return 0;
   (*size)--;
   return *(*data)++;
}

/* A frame announcement from four bytes. */
static struct vs_scanout_announce
frame_of(uint8_t op, const uint8_t b[4], uint32_t *seq)
{
   struct vs_scanout_announce m = { 0 };
   m.seq = (op & 0x08) ? *seq + 1 + (b[0] >> 7) : b[0];
   m.width = 1 + (b[0] & 0x3f);
   m.height = 1 + (b[1] & 0x3f);
   m.stride = m.width * 4 + (uint32_t)(b[1] >> 6) * 4 - ((b[2] & 1) ? 4 : 0);
   m.buffer = (op & 0x30) == 0x30 ? 0 : (b[2] >> 5) == 7 ? VS_SCANOUT_CURSOR : 1 + (b[2] >> 5);
   if ((op & 0x30) == 0x20 && m.buffer == 7) {
      m.buffer = VS_SCANOUT_RESET;
      m.width = m.height = (b[3] & 1) ? 0 : m.width;
   }
   if (m.buffer == VS_SCANOUT_CURSOR) {
      m.hot_x = (b[3] & 0x7) * 10;
      m.hot_y = (b[3] >> 3) * 3;
   }
   m.offset = (uint64_t)((b[2] >> 1) & 0xf) * 4;
   m.buffer_size = (uint64_t)m.stride * (m.height - 1) + m.width * 4 + m.offset + (uint64_t)(b[3] & 0x7) * 512 -
                   ((b[3] & 0x80) ? 4 : 0);
   if ((b[3] & 0x60) == 0x60)
      m.buffer_size = UINT64_MAX - (b[3] & 0x1f);
   *seq = m.seq;
   return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   /* Counted afresh for each input: between inputs the sanitizers' runtime
    * may open fds of its own for good (the two pipes to llvm-symbolizer,
    * started the first time libFuzzer prints a NEW_FUNC line), which a count
    * taken once at the first input would blame on the server's end. */
   const int fds_at_start = open_fds();
   const uint64_t fb_size = vs_scanout_framebuffer_size((uint64_t)FB_SIDE * FB_SIDE);
   const int fb_fd = memfd_of(fb_size);
   const uint8_t *fb = mmap(NULL, fb_size, PROT_READ, MAP_SHARED, fb_fd, 0);
   int pair[2];
   if (fb == MAP_FAILED || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
      abort();
   uint32_t seq = 0;
   shrink_count = 0;
   const bool reshow = size && (data[0] & 0xc0) == 0x80;
   for (unsigned rec = 0; rec < MAX_RECORDS && size; rec++) {
      const uint8_t op = next(&data, &size);
      uint8_t raw[64] = { 0 };
      size_t len = sizeof(struct vs_scanout_announce);
      uint64_t file_size = 4096;
      if (op & 0x40) {
         if (op & 0x80)
            len = next(&data, &size) % 58;
         for (size_t i = 0; i < len; i++)
            raw[i] = next(&data, &size);
      } else {
         uint8_t b[4];
         for (int i = 0; i < 4; i++)
            b[i] = next(&data, &size);
         const struct vs_scanout_announce m = frame_of(op, b, &seq);
         memcpy(raw, &m, sizeof(m));
         if (m.buffer_size && m.buffer_size < (1u << 20))
            file_size = m.buffer_size;
      }
      int fds[2] = { -1, -1 };
      unsigned fd_count = 0;
      if (op & 0x01) {
         const uint8_t kind = (op >> 1) & 3, s = next(&data, &size);
         if (s & 1)
            file_size = (uint64_t)(s >> 1) * 256;
         if (kind == 2) {
            int p[2];
            if (pipe(p) != 0)
               abort();
            close(p[1]);
            fds[fd_count++] = p[0];
         } else {
            fds[fd_count++] = memfd_of(file_size);
         }
         if (kind == 3)
            fds[fd_count++] = memfd_of(4096);
         if (kind == 1 && shrink_count < MAX_SHRINK) {
            shrink[shrink_count].fd = dup(fds[0]);
            shrink[shrink_count++].size = file_size / 2;
         }
      }
      const ssize_t r = os_send_fds(pair[1], raw, len, fd_count ? fds : NULL, fd_count, MSG_DONTWAIT | MSG_NOSIGNAL);
      for (unsigned i = 0; i < fd_count; i++)
         close(fds[i]);
      if (r < 0)
         break;
   }
   shutdown(pair[1], SHUT_WR);
   unsigned shown = 0;
   struct vs_scanout_import imp = {
      .device = 1, .framebuffer = fb, .size = fb_size, .notify_fd = pair[0], .park_fd = -1, .show = show,
      .cursor = cursor, .data = &shown, .reshow = reshow,
   };
   if (vs_scanout_import_run(&imp))
      abort(); /* it parks only on its event */
   for (unsigned i = 0; i < shrink_count; i++)
      close(shrink[i].fd);
   close(pair[0]);
   close(pair[1]);
   munmap((void *)fb, fb_size);
   close(fb_fd);
   if (open_fds() != fds_at_start) {
      fprintf(stderr, "fuzz_scanout_import: %d fds open, %d at the start: the server's end kept one\n", open_fds(),
              fds_at_start);
      abort();
   }
   return 0;
}

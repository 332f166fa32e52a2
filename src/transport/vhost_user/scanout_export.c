/* SPDX-License-Identifier: MIT */
/* The scanout's hand-over between a device's worker and the server
 * (scanout_export.h): a framebuffer memfd and a SOCK_SEQPACKET pair whose
 * messages are announcements one way and acknowledgements the other. */
#include "transport/vhost_user/scanout_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

uint64_t
vs_scanout_framebuffer_size(uint32_t width, uint32_t height)
{
   return (uint64_t)width * height * 4;
}

struct vs_scanout_export {
   uint32_t device;
   uint8_t *map;
   uint64_t size;
   int notify_fd;    /* -1 once the server's end is gone */
   uint32_t seq;     /* the last frame announced */
   bool unacked;     /* the server may be reading the framebuffer */
   bool said_large;
};

struct vs_scanout_export *
vs_scanout_export_create(uint32_t device, int framebuffer_fd, uint64_t size, int notify_fd)
{
   struct vs_scanout_export *exp = calloc(1, sizeof(*exp));
   void *map = exp && size ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, framebuffer_fd, 0) : MAP_FAILED;
   close(framebuffer_fd);
   if (map == MAP_FAILED) {
      vs_error(0, "vhost-user device %u: cannot map its framebuffer: %s", device, strerror(errno));
      close(notify_fd);
      free(exp);
      return NULL;
   }
   *exp = (struct vs_scanout_export){ .device = device, .map = map, .size = size, .notify_fd = notify_fd };
   return exp;
}

void
vs_scanout_export_destroy(struct vs_scanout_export *exp)
{
   if (!exp)
      return;
   munmap(exp->map, exp->size);
   if (exp->notify_fd >= 0)
      close(exp->notify_fd);
   free(exp);
}

static void
export_gone(struct vs_scanout_export *exp, const char *why)
{
   vs_warn(0, "vhost-user device %u: the display's end is gone (%s): its scanout is no longer shown", exp->device,
           why);
   close(exp->notify_fd);
   exp->notify_fd = -1;
}

/* The server's acknowledgement of the frame announced last. */
static bool
wait_ack(struct vs_scanout_export *exp)
{
   uint32_t ack;
   ssize_t n;
   do
      n = recv(exp->notify_fd, &ack, sizeof(ack), 0);
   while (n < 0 && errno == EINTR);
   if (n != (ssize_t)sizeof(ack) || ack != exp->seq) {
      export_gone(exp, n < 0 ? strerror(errno) : n == 0 ? "closed" : "a bad acknowledgement");
      return false;
   }
   exp->unacked = false;
   return true;
}

void
vs_scanout_export_frame(struct vs_scanout_export *exp, const uint8_t *pixels, uint32_t width, uint32_t height,
                        uint32_t stride)
{
   if (!exp || exp->notify_fd < 0)
      return;
   if (vs_scanout_framebuffer_size(width, height) > exp->size || stride < width * 4) {
      if (!exp->said_large)
         vs_warn(0, "vhost-user device %u: a %ux%u frame does not fit its framebuffer: not shown", exp->device,
                 width, height);
      exp->said_large = true;
      return;
   }
   if (exp->unacked && !wait_ack(exp))
      return;
   size_t row = (size_t)width * 4;
   for (uint32_t y = 0; y < height; y++)
      memcpy(exp->map + y * row, pixels + (size_t)y * stride, row);
   const struct vs_scanout_announce msg = { .seq = exp->seq + 1, .width = width, .height = height };
   ssize_t n;
   do
      n = send(exp->notify_fd, &msg, sizeof(msg), MSG_NOSIGNAL);
   while (n < 0 && errno == EINTR);
   if (n != (ssize_t)sizeof(msg)) {
      export_gone(exp, n < 0 ? strerror(errno) : "a short send");
      return;
   }
   exp->seq = msg.seq;
   exp->unacked = true;
}

void
vs_scanout_import_run(uint32_t device, const uint8_t *framebuffer, uint64_t size, int notify_fd,
                      vs_scanout_show_fn show, void *data)
{
   uint32_t seq = 0;
   for (;;) {
      struct vs_scanout_announce msg;
      ssize_t n;
      do
         n = recv(notify_fd, &msg, sizeof(msg), MSG_TRUNC); /* a longer one says its length */
      while (n < 0 && errno == EINTR);
      /* A worker that ends with an acknowledgement unread resets the pair. */
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
         vs_info(0, "vhost-user device %u: its worker closed its frames after %u; its scanout leaves the display",
                 device, seq);
         return;
      }
      if (n != (ssize_t)sizeof(msg) || msg.seq != seq + 1 || msg.width == 0 || msg.height == 0 ||
          vs_scanout_framebuffer_size(msg.width, msg.height) > size) {
         if (n < 0)
            vs_warn(0, "vhost-user device %u: its frame announcements: %s; its scanout is no longer shown", device,
                    strerror(errno));
         else
            vs_warn(0, "vhost-user device %u: a malformed frame announcement (%zd bytes, sequence %u after %u, "
                       "%ux%u); its scanout is no longer shown",
                    device, n, n == (ssize_t)sizeof(msg) ? msg.seq : 0, seq, n == (ssize_t)sizeof(msg) ? msg.width : 0,
                    n == (ssize_t)sizeof(msg) ? msg.height : 0);
         return;
      }
      seq = msg.seq;
      show(data, device, framebuffer, msg.width, msg.height, msg.width * 4);
      do
         n = send(notify_fd, &seq, sizeof(seq), MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n != (ssize_t)sizeof(seq))
         return; /* the worker ended: the next recv says so, or nothing waits */
   }
}

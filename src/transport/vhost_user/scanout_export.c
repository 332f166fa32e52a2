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
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"

uint64_t
vs_scanout_framebuffer_size(uint64_t pixels)
{
   return VS_SCANOUT_CURSOR_BYTES + pixels * 4;
}

unsigned
vs_scanout_buffers_slot(struct vs_scanout_buffers *buffers, uint64_t id, uint32_t seq, bool *fresh)
{
   unsigned pick = 0;
   for (unsigned i = 0; i < VS_SCANOUT_BUFFERS; i++) {
      if (buffers->slot[i].id == id) {
         buffers->slot[i].last = seq;
         *fresh = false;
         return i;
      }
      if (!buffers->slot[i].id || (buffers->slot[pick].id && buffers->slot[i].last < buffers->slot[pick].last))
         pick = i;
   }
   buffers->slot[pick].id = id;
   buffers->slot[pick].last = seq;
   *fresh = true;
   return pick;
}

struct vs_scanout_export {
   uint32_t device, scanout;
   uint8_t *map;
   uint64_t size;
   int notify_fd;    /* -1 once the server's end is gone */
   uint32_t seq;     /* the last frame announced */
   bool unacked;     /* the server may be reading the framebuffer */
   bool mode_asked;  /* a mode request not yet taken: */
   uint32_t mode_width, mode_height;
   bool reset_asked;  /* the server holds no buffer: the reset is due */
   bool reshow_asked; /* ...and the frame again, not yet taken */
   bool said_large;
   struct vs_scanout_buffers buffers; /* those the server holds */
};

struct vs_scanout_export *
vs_scanout_export_create(uint32_t device, uint32_t scanout, int framebuffer_fd, uint64_t size, int notify_fd)
{
   struct vs_scanout_export *exp = calloc(1, sizeof(*exp));
   void *map = exp && size ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, framebuffer_fd, 0) : MAP_FAILED;
   close(framebuffer_fd);
   if (map == MAP_FAILED) {
      vs_error(0, "vhost-user device %u: cannot map scanout %u's framebuffer: %s", device, scanout, strerror(errno));
      close(notify_fd);
      free(exp);
      return NULL;
   }
   *exp = (struct vs_scanout_export){
      .device = device, .scanout = scanout, .map = map, .size = size, .notify_fd = notify_fd,
   };
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

static bool announce(struct vs_scanout_export *exp, const struct vs_scanout_announce *msg, int fd);

static void
export_gone(struct vs_scanout_export *exp, const char *why)
{
   vs_warn(0, "vhost-user device %u: the display's end of scanout %u is gone (%s): it is no longer shown",
           exp->device, exp->scanout, why);
   close(exp->notify_fd);
   exp->notify_fd = -1;
}

/* One message from the server (waiting for it unless `flags` says
 * MSG_DONTWAIT): an acknowledgement of the frame announced last, or a
 * mode or reshow request, kept. false when none was read; the server's end is gone
 * unless nothing was there to read. */
static bool
receive(struct vs_scanout_export *exp, int flags)
{
   struct vs_scanout_reply reply;
   ssize_t n;
   do
      n = recv(exp->notify_fd, &reply, sizeof(reply), flags);
   while (n < 0 && errno == EINTR);
   if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return false;
   const bool ack = n == (ssize_t)sizeof(reply) && reply.kind == VS_SCANOUT_REPLY_ACK && exp->unacked &&
                    reply.seq == exp->seq;
   const bool mode = n == (ssize_t)sizeof(reply) && reply.kind == VS_SCANOUT_REPLY_MODE;
   const bool reshow = n == (ssize_t)sizeof(reply) && reply.kind == VS_SCANOUT_REPLY_RESHOW;
   if (!ack && !mode && !reshow) {
      export_gone(exp, n < 0 ? strerror(errno) : n == 0 ? "closed" : "a bad acknowledgement");
      return false;
   }
   if (ack)
      exp->unacked = false;
   if (mode) {
      exp->mode_asked = true;
      exp->mode_width = reply.width;
      exp->mode_height = reply.height;
   }
   if (reshow)
      exp->reset_asked = exp->reshow_asked = true;
   return true;
}

/* The server's acknowledgement of the frame announced last; a mode
 * request before it is kept. */
static bool
wait_ack(struct vs_scanout_export *exp)
{
   while (exp->unacked) {
      if (!receive(exp, 0))
         return false;
   }
   return true;
}

/* Before an announcement: the one before acknowledged, and a reset the
 * server asked for announced (and acknowledged) first. */
static bool
ready(struct vs_scanout_export *exp)
{
   if (!wait_ack(exp))
      return false;
   if (!exp->reset_asked)
      return true;
   exp->reset_asked = false;
   exp->buffers = (struct vs_scanout_buffers){ 0 };
   const struct vs_scanout_announce msg = { .seq = exp->seq + 1, .buffer = VS_SCANOUT_RESET };
   return announce(exp, &msg, -1) && wait_ack(exp);
}

int
vs_scanout_export_fd(const struct vs_scanout_export *exp)
{
   return exp ? exp->notify_fd : -1;
}

bool
vs_scanout_export_take_mode(struct vs_scanout_export *exp, bool readable, uint32_t *width, uint32_t *height)
{
   if (!exp)
      return false;
   while (readable && exp->notify_fd >= 0 && receive(exp, MSG_DONTWAIT))
      ;
   if (!exp->mode_asked)
      return false;
   exp->mode_asked = false;
   *width = exp->mode_width;
   *height = exp->mode_height;
   return true;
}

bool
vs_scanout_export_take_reshow(struct vs_scanout_export *exp)
{
   if (!exp || !exp->reshow_asked)
      return false;
   exp->reshow_asked = false;
   return exp->notify_fd >= 0 && ready(exp);
}

void
vs_scanout_export_frame(struct vs_scanout_export *exp, const uint8_t *pixels, uint32_t width, uint32_t height,
                        uint32_t stride, const uint8_t bgr[3])
{
   if (!exp || exp->notify_fd < 0)
      return;
   if (vs_scanout_framebuffer_size((uint64_t)width * height) > exp->size || stride < width * 4) {
      if (!exp->said_large)
         vs_warn(0, "vhost-user device %u: a %ux%u frame does not fit scanout %u's framebuffer: not shown",
                 exp->device, width, height, exp->scanout);
      exp->said_large = true;
      return;
   }
   if (!ready(exp))
      return;
   size_t row = (size_t)width * 4;
   const bool in_order = bgr[0] == 0 && bgr[1] == 1 && bgr[2] == 2;
   for (uint32_t y = 0; y < height; y++) {
      uint8_t *out = exp->map + VS_SCANOUT_CURSOR_BYTES + y * row;
      const uint8_t *in = pixels + (size_t)y * stride;
      if (in_order) {
         memcpy(out, in, row);
         continue;
      }
      for (uint32_t x = 0; x < width; x++, out += 4, in += 4) {
         out[0] = in[bgr[0]];
         out[1] = in[bgr[1]];
         out[2] = in[bgr[2]];
         out[3] = 0xff;
      }
   }
   const struct vs_scanout_announce msg = { .seq = exp->seq + 1, .width = width, .height = height };
   announce(exp, &msg, -1);
}

void
vs_scanout_export_cursor(struct vs_scanout_export *exp, const uint8_t *pixels, uint32_t width, uint32_t height,
                         uint32_t stride, uint32_t hot_x, uint32_t hot_y)
{
   if (!exp || exp->notify_fd < 0)
      return;
   if (!pixels || width > VS_SCANOUT_CURSOR_SIDE || height > VS_SCANOUT_CURSOR_SIDE || stride < width * 4)
      width = height = 0;
   if (!ready(exp))
      return;
   for (uint32_t y = 0; y < height; y++)
      memcpy(exp->map + (size_t)y * width * 4, pixels + (size_t)y * stride, (size_t)width * 4);
   const struct vs_scanout_announce msg = {
      .seq = exp->seq + 1, .width = width, .height = height, .stride = width * 4, .buffer = VS_SCANOUT_CURSOR,
      .hot_x = hot_x < VS_SCANOUT_CURSOR_SIDE ? hot_x : 0, .hot_y = hot_y < VS_SCANOUT_CURSOR_SIDE ? hot_y : 0,
   };
   announce(exp, &msg, -1);
}

/* Sends `msg` (with `fd` unless -1); the frame is then unacknowledged. */
static bool
announce(struct vs_scanout_export *exp, const struct vs_scanout_announce *msg, int fd)
{
   ssize_t n = os_send_fds(exp->notify_fd, msg, sizeof(*msg), fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, MSG_NOSIGNAL);
   if (n != (ssize_t)sizeof(*msg)) {
      export_gone(exp, n < 0 ? strerror(errno) : "a short send");
      return false;
   }
   exp->seq = msg->seq;
   exp->unacked = true;
   return true;
}

void
vs_scanout_export_buffer(struct vs_scanout_export *exp, uint64_t buffer, int fd, uint64_t size, uint64_t offset,
                         uint32_t stride, uint32_t width, uint32_t height)
{
   if (!exp || exp->notify_fd < 0 || buffer == 0)
      return;
   if (vs_scanout_framebuffer_size((uint64_t)width * height) > exp->size) {
      if (!exp->said_large)
         vs_warn(0, "vhost-user device %u: a %ux%u frame is larger than scanout %u's framebuffer: not shown",
                 exp->device, width, height, exp->scanout);
      exp->said_large = true;
      return;
   }
   if (!ready(exp))
      return;
   const struct vs_scanout_announce msg = {
      .seq = exp->seq + 1, .width = width, .height = height, .stride = stride, .buffer = buffer, .offset = offset,
      .buffer_size = size,
   };
   bool fresh;
   vs_scanout_buffers_slot(&exp->buffers, buffer, msg.seq, &fresh);
   if (announce(exp, &msg, fresh ? fd : -1))
      wait_ack(exp);
}

/* Whether frame `msg` lies inside its buffer of `size` bytes and has no
 * more pixels than the device's framebuffer of `framebuffer_size` bytes
 * (what the display copies of each frame). */
static bool
frame_fits(const struct vs_scanout_announce *msg, uint64_t size, uint64_t framebuffer_size)
{
   const uint64_t row = (uint64_t)msg->width * 4;
   return msg->width <= VS_SCANOUT_MAX_SIDE && msg->height <= VS_SCANOUT_MAX_SIDE && msg->stride >= row &&
          vs_scanout_framebuffer_size((uint64_t)msg->width * msg->height) <= framebuffer_size &&
          msg->offset <= size &&
          (uint64_t)(msg->height - 1) * msg->stride + row <= size - msg->offset;
}

/* A buffer's mapping: its size in whole pages (at most SIZE_MAX - page). */
static size_t
map_size(uint64_t size)
{
   const size_t page = os_page_size();
   return (size_t)((size + page - 1) / page * page);
}

/* The server's end of one frame in a buffer: its mapping, mapped now when
 * the message brought its fd (taken). NULL (why) on a lie. */
static const uint8_t *
import_buffer(struct vs_scanout_buffers *buffers, const struct vs_scanout_announce *msg, int fd,
              uint64_t framebuffer_size, const char **why)
{
   bool fresh;
   const unsigned i = vs_scanout_buffers_slot(buffers, msg->buffer, msg->seq, &fresh);
   if (!fresh) {
      if (fd >= 0) {
         close(fd);
         *why = "a buffer the server holds came with its fd again";
         return NULL;
      }
      if (!frame_fits(msg, buffers->slot[i].size, framebuffer_size)) {
         *why = "a frame outside its buffer or larger than the framebuffer";
         return NULL;
      }
      return buffers->slot[i].map + msg->offset;
   }
   if (buffers->slot[i].map)
      os_unmap_guarded((void *)buffers->slot[i].map, map_size(buffers->slot[i].size), 0);
   buffers->slot[i].map = NULL;
   buffers->slot[i].size = 0;
   buffers->slot[i].id = 0;
   struct stat st;
   if (fd < 0 || msg->buffer_size == 0 || msg->buffer_size > SIZE_MAX - os_page_size() || fstat(fd, &st) != 0 ||
       (S_ISREG(st.st_mode) && (uint64_t)st.st_size < msg->buffer_size) ||
       !frame_fits(msg, msg->buffer_size, framebuffer_size)) {
      *why = "a new buffer without its fd, larger than its file, or a frame outside it or larger than the "
             "framebuffer";
      if (fd >= 0)
         close(fd);
      return NULL;
   }
   /* Fault-safe: the worker could shrink the file under the server. */
   const uint8_t *map = os_map_guarded(fd, map_size(msg->buffer_size), 0);
   close(fd);
   if (!map) {
      *why = "its buffer cannot be mapped";
      return NULL;
   }
   buffers->slot[i].id = msg->buffer;
   buffers->slot[i].map = map;
   buffers->slot[i].size = msg->buffer_size;
   return map + msg->offset;
}

static void
drop_buffers(struct vs_scanout_buffers *buffers)
{
   for (unsigned i = 0; i < VS_SCANOUT_BUFFERS; i++) {
      if (buffers->slot[i].map)
         os_unmap_guarded((void *)buffers->slot[i].map, map_size(buffers->slot[i].size), 0);
   }
}

/* Sends a reply; false when the worker ended, or reads none of them (its
 * socket is full: the server never waits on a worker that does not read). */
static bool
reply(int notify_fd, uint32_t kind, uint32_t seq, uint32_t width, uint32_t height)
{
   const struct vs_scanout_reply r = { .kind = kind, .seq = seq, .width = width, .height = height };
   ssize_t n;
   do
      n = send(notify_fd, &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT);
   while (n < 0 && errno == EINTR);
   return n == (ssize_t)sizeof(r);
}

bool
vs_scanout_request_mode(int notify_fd, uint32_t width, uint32_t height)
{
   return reply(notify_fd, VS_SCANOUT_REPLY_MODE, 0, width, height);
}

/* Whether a cursor announcement is one: no fd, at most the cursor area's
 * side each way, both sides 0 or neither, the hotspot inside the area. */
static bool
cursor_valid(const struct vs_scanout_announce *msg, int fd)
{
   return fd < 0 && msg->width <= VS_SCANOUT_CURSOR_SIDE && msg->height <= VS_SCANOUT_CURSOR_SIDE &&
          (msg->width == 0) == (msg->height == 0) && msg->hot_x < VS_SCANOUT_CURSOR_SIDE &&
          msg->hot_y < VS_SCANOUT_CURSOR_SIDE;
}

/* Acknowledges the frame announced last; false when the worker ended, or
 * reads no acknowledgement (one line). */
static bool
acknowledge(const struct vs_scanout_import *imp)
{
   if (reply(imp->notify_fd, VS_SCANOUT_REPLY_ACK, imp->seq, 0, 0))
      return true;
   if (errno == EAGAIN || errno == EWOULDBLOCK)
      vs_warn(0, "vhost-user device %u: scanout %u's worker reads no acknowledgement; the scanout is no longer shown",
              imp->device, imp->scanout);
   return false;
}

/* Whether a buffer is held (without touching the slots). */
static bool
buffer_held(const struct vs_scanout_buffers *buffers, uint64_t id)
{
   for (unsigned i = 0; i < VS_SCANOUT_BUFFERS; i++)
      if (buffers->slot[i].id == id)
         return true;
   return false;
}

bool
vs_scanout_import_run(struct vs_scanout_import *imp)
{
   const uint32_t device = imp->device, scanout = imp->scanout;
   const uint8_t *framebuffer = imp->framebuffer;
   const int notify_fd = imp->notify_fd;
   uint64_t acked_ns = 0;
   struct vs_scanout_buffers buffers = { 0 };
   /* Until the worker's reset, what it announces may name a buffer an
    * earlier loop held. */
   bool resetting = false;
   if (imp->reshow) {
      if (!reply(notify_fd, VS_SCANOUT_REPLY_RESHOW, 0, 0, 0)) {
         vs_warn(0, "vhost-user device %u: scanout %u's worker takes no request to show its frame again (%s); the "
                    "scanout is no longer shown", device, scanout, strerror(errno));
         return false;
      }
      imp->reshow = false;
      resetting = true;
   }
   bool park = false;
   for (;;) {
      if (!os_await_readable(notify_fd, imp->park_fd)) {
         park = true;
         break;
      }
      /* One byte more than a message: a longer one reads as too long. */
      uint8_t raw[sizeof(struct vs_scanout_announce) + 1];
      struct vs_scanout_announce msg = { 0 };
      int fd = -1;
      unsigned fd_count = 0;
      bool excess = false;
      ssize_t n = os_recv_fds(notify_fd, raw, sizeof(raw), &fd, 1, &fd_count, &excess);
      memcpy(&msg, raw, n <= 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg));
      if (!fd_count)
         fd = -1;
      /* A worker that ends with an acknowledgement unread resets the pair.
       * An empty message reads as the end too; an fd it carried is closed. */
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
         if (fd >= 0)
            close(fd);
         vs_info(0, "vhost-user device %u: its worker closed scanout %u's frames after %u; it leaves the display",
                 device, scanout, imp->seq);
         break;
      }
      const bool whole = n == (ssize_t)sizeof(msg) && !excess && msg.seq == imp->seq + 1;
      if (whole && msg.buffer == VS_SCANOUT_RESET && fd < 0 && !msg.width && !msg.height) {
         drop_buffers(&buffers);
         buffers = (struct vs_scanout_buffers){ 0 };
         resetting = false;
         imp->seq = msg.seq;
         if (!acknowledge(imp))
            break;
         continue;
      }
      if (whole && resetting && fd < 0 && msg.buffer && msg.buffer != VS_SCANOUT_CURSOR &&
          !buffer_held(&buffers, msg.buffer)) {
         /* Announced before the reset, in a buffer an earlier loop held. */
         imp->seq = msg.seq;
         if (!acknowledge(imp))
            break;
         continue;
      }
      const uint8_t *pixels = framebuffer + VS_SCANOUT_CURSOR_BYTES;
      const char *why = NULL;
      if (whole && msg.buffer == VS_SCANOUT_CURSOR) {
         if (!cursor_valid(&msg, fd)) {
            vs_warn(0, "vhost-user device %u: a malformed cursor announcement on scanout %u (%ux%u, hotspot %u,%u%s); "
                       "the scanout is no longer shown", device, scanout, msg.width, msg.height, msg.hot_x, msg.hot_y,
                    fd >= 0 ? ", with an fd" : "");
            if (fd >= 0)
               close(fd);
            break;
         }
         imp->seq = msg.seq;
         if (imp->cursor)
            imp->cursor(imp->data, device, scanout, msg.width ? framebuffer : NULL, msg.width, msg.height, msg.hot_x,
                        msg.hot_y);
         if (!acknowledge(imp))
            break;
         continue;
      }
      if (whole && msg.width && msg.height && msg.buffer) {
         pixels = import_buffer(&buffers, &msg, fd, imp->size, &why);
         fd = -1;
      } else if (n == (ssize_t)sizeof(msg)) {
         msg.stride = msg.width * 4;
         if (fd >= 0)
            why = "a framebuffer frame with an fd";
      }
      if (fd >= 0)
         close(fd);
      if (why && !pixels) {
         vs_warn(0, "vhost-user device %u: scanout %u's frame %u: %s; the scanout is no longer shown", device, scanout,
                 msg.seq, why);
         break;
      }
      if (!whole || why || msg.width == 0 || msg.height == 0 ||
          (!msg.buffer && vs_scanout_framebuffer_size((uint64_t)msg.width * msg.height) > imp->size)) {
         if (n < 0)
            vs_warn(0, "vhost-user device %u: scanout %u's frame announcements: %s; the scanout is no longer shown",
                    device, scanout, strerror(errno));
         else
            vs_warn(0, "vhost-user device %u: a malformed frame announcement on scanout %u (%zd bytes, sequence %u after "
                       "%u, %ux%u); the scanout is no longer shown",
                    device, scanout, n, n == (ssize_t)sizeof(msg) ? msg.seq : 0, imp->seq,
                    n == (ssize_t)sizeof(msg) ? msg.width : 0, n == (ssize_t)sizeof(msg) ? msg.height : 0);
         break;
      }
      imp->seq = msg.seq;
      imp->show(imp->data, device, scanout, pixels, msg.width, msg.height, msg.stride);
      /* The worker writes its next frame, or answers a blob's flush, on
       * this acknowledgement: at the display's rate at most. */
      uint64_t now = os_now_ns();
      if (acked_ns && now < acked_ns + imp->frame_interval_ns)
         os_sleep_ns(acked_ns + imp->frame_interval_ns - now);
      acked_ns = os_now_ns();
      if (!acknowledge(imp))
         break;
   }
   drop_buffers(&buffers);
   /* The next loop holds no buffer: it asks for the frame again. */
   imp->reshow = park;
   return park;
}

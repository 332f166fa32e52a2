/* SPDX-License-Identifier: MIT */
/* The port, framed by the protocol's `size` (virtio-serial keeps no
 * message boundaries), non-blocking on the compositor's event loop. Writes
 * the port does not take at once wait in a bounded queue; a host that
 * lets it fill is taken as gone. A closed or silent host end is retried
 * every RETRY_MS; state changes are logged once each. */
#include "channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "base/log.h"

#define RETRY_MS 500
#define OUT_MAX 16384

struct vgp_channel {
   struct wl_event_loop *loop;
   struct vgp_channel_events events;
   char *port;                  /* given, or NULL: looked up at each opening */
   int fd;
   struct wl_event_source *source, *retry;
   bool ready;
   bool logged_waiting;
   uint8_t in[VS_VMCH_MAX_MESSAGE];
   size_t in_len;
   uint8_t out[OUT_MAX];
   size_t out_len;
};

int
vgp_port_find(char *path, size_t size)
{
   DIR *dir = opendir("/sys/class/virtio-ports");
   if (!dir)
      return -1;
   struct dirent *e;
   int found = -1;
   while (found < 0 && (e = readdir(dir))) {
      if (e->d_name[0] == '.')
         continue;
      char name_path[512], name[128] = "";
      snprintf(name_path, sizeof(name_path), "/sys/class/virtio-ports/%s/name", e->d_name);
      FILE *f = fopen(name_path, "re");
      if (!f)
         continue;
      if (fgets(name, sizeof(name), f)) {
         name[strcspn(name, "\n")] = '\0';
         if (strcmp(name, VS_VMCH_PORT_NAME) == 0 && (size_t)snprintf(path, size, "/dev/%s", e->d_name) < size)
            found = 0;
      }
      fclose(f);
   }
   closedir(dir);
   return found;
}

size_t
vgp_host_message_size(uint32_t type)
{
   switch (type) {
   case VS_VMCH_HELLO: return sizeof(struct vs_vmch_hello);
   case VS_VMCH_CONFIGURE: return sizeof(struct vs_vmch_configure);
   case VS_VMCH_RELEASE: return sizeof(struct vs_vmch_release);
   case VS_VMCH_FRAME: return sizeof(struct vs_vmch_frame);
   case VS_VMCH_POINTER_MOTION: return sizeof(struct vs_vmch_pointer_motion);
   case VS_VMCH_POINTER_BUTTON: return sizeof(struct vs_vmch_input);
   case VS_VMCH_POINTER_AXIS: return sizeof(struct vs_vmch_pointer_axis);
   case VS_VMCH_KEY: return sizeof(struct vs_vmch_input);
   default: return 0;
   }
}

static void channel_open(struct vgp_channel *ch);

/* Ends the session (if one was ready) and tries again later. */
static void
channel_close(struct vgp_channel *ch)
{
   if (ch->source)
      wl_event_source_remove(ch->source);
   ch->source = NULL;
   if (ch->fd >= 0)
      close(ch->fd);
   ch->fd = -1;
   ch->in_len = ch->out_len = 0;
   bool was_ready = ch->ready;
   ch->ready = false;
   if (was_ready) {
      vs_info(0, "channel: the host went away; waiting for it again");
      ch->logged_waiting = true;
      ch->events.ready(ch->events.data, false);
   }
   wl_event_source_timer_update(ch->retry, RETRY_MS);
}

static bool
flush_out(struct vgp_channel *ch)
{
   size_t done = 0;
   while (done < ch->out_len) {
      ssize_t n = write(ch->fd, ch->out + done, ch->out_len - done);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0 && errno == EAGAIN)
         break;
      if (n <= 0)
         return false;
      done += (size_t)n;
   }
   memmove(ch->out, ch->out + done, ch->out_len - done);
   ch->out_len -= done;
   wl_event_source_fd_update(ch->source, WL_EVENT_READABLE | (ch->out_len ? WL_EVENT_WRITABLE : 0));
   return true;
}

static bool
queue_out(struct vgp_channel *ch, const void *message)
{
   const struct vs_vmch_header *h = message;
   if (ch->out_len + h->size > OUT_MAX) {
      vs_warn(0, "channel: the host has not read %zu bytes; reopening the port", ch->out_len);
      return false;
   }
   memcpy(ch->out + ch->out_len, message, h->size);
   ch->out_len += h->size;
   return flush_out(ch);
}

/* Whole messages out of `in`; false if one is malformed. */
static bool
take_messages(struct vgp_channel *ch)
{
   while (ch->in_len >= sizeof(struct vs_vmch_header)) {
      struct vs_vmch_header h;
      memcpy(&h, ch->in, sizeof(h));
      size_t want = vgp_host_message_size(h.type);
      if (!want || h.size != want) {
         vs_error(0, "channel: the host sent type %u size %u (want %zu); reopening the port", h.type, h.size,
                  want);
         return false;
      }
      if (ch->in_len < want)
         return true;
      union {
         struct vs_vmch_header header;
         uint8_t bytes[VS_VMCH_MAX_MESSAGE];
      } m;
      memcpy(m.bytes, ch->in, want);
      memmove(ch->in, ch->in + want, ch->in_len - want);
      ch->in_len -= want;
      if (h.type == VS_VMCH_HELLO) {
         const struct vs_vmch_hello *hello = (const void *)m.bytes;
         if (hello->version != VS_VMCH_VERSION) {
            vs_error(0, "channel: the host speaks version %u, this compositor %u; reopening the port",
                     hello->version, VS_VMCH_VERSION);
            return false;
         }
         if (!ch->ready) {
            ch->ready = true;
            ch->logged_waiting = false;
            /* test_vm_display.sh waits for this line. */
            vs_info(0, "channel: connected to the host (protocol %u)", VS_VMCH_VERSION);
            ch->events.ready(ch->events.data, true);
         }
      } else if (ch->ready) {
         ch->events.message(ch->events.data, &m.header);
      }
      if (ch->fd < 0)
         return true; /* a handler closed the session */
   }
   return true;
}

static int
on_port(int fd, uint32_t mask, void *data)
{
   struct vgp_channel *ch = data;
   if (mask & WL_EVENT_WRITABLE) {
      if (!flush_out(ch)) {
         channel_close(ch);
         return 0;
      }
   }
   if (mask & WL_EVENT_READABLE) {
      ssize_t n = read(fd, ch->in + ch->in_len, sizeof(ch->in) - ch->in_len);
      if (n > 0) {
         ch->in_len += (size_t)n;
         if (!take_messages(ch))
            channel_close(ch);
         return 0;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
         return 0;
      channel_close(ch); /* EOF: no host process on the other end */
      return 0;
   }
   if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR))
      channel_close(ch);
   return 0;
}

static void
channel_open(struct vgp_channel *ch)
{
   char found[280];
   const char *path = ch->port;
   if (!path && vgp_port_find(found, sizeof(found)) == 0)
      path = found;
   if (path)
      ch->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
   struct pollfd pfd = { .fd = ch->fd, .events = POLLOUT };
   /* A port with no host end polls HUP at once. */
   if (ch->fd >= 0 && poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLHUP | POLLERR))) {
      ch->source = wl_event_loop_add_fd(ch->loop, ch->fd, WL_EVENT_READABLE, on_port, ch);
      const struct vs_vmch_hello hello = {
         .header = { .type = VS_VMCH_HELLO, .size = sizeof(hello) }, .version = VS_VMCH_VERSION,
      };
      if (ch->source && queue_out(ch, &hello))
         return;
   }
   if (!ch->logged_waiting) {
      if (!path)
         vs_info(0, "channel: no virtio-serial port named %s yet; waiting for it", VS_VMCH_PORT_NAME);
      else if (ch->fd < 0)
         vs_info(0, "channel: cannot open %s (%s); waiting", path, strerror(errno));
      else
         vs_info(0, "channel: %s has no host end yet; waiting for the host", path);
      ch->logged_waiting = true;
   }
   channel_close(ch);
}

static int
on_retry(void *data)
{
   struct vgp_channel *ch = data;
   if (ch->fd < 0)
      channel_open(ch);
   return 0;
}

struct vgp_channel *
vgp_channel_start(struct wl_event_loop *loop, const char *port, const struct vgp_channel_events *events)
{
   struct vgp_channel *ch = calloc(1, sizeof(*ch));
   if (!ch)
      return NULL;
   ch->loop = loop;
   ch->events = *events;
   ch->fd = -1;
   ch->port = port ? strdup(port) : NULL;
   ch->retry = wl_event_loop_add_timer(loop, on_retry, ch);
   if (!ch->retry || (port && !ch->port)) {
      vgp_channel_stop(ch);
      return NULL;
   }
   channel_open(ch);
   return ch;
}

bool
vgp_channel_ready(const struct vgp_channel *ch)
{
   return ch->ready;
}

bool
vgp_channel_send(struct vgp_channel *ch, const void *message)
{
   if (!ch->ready)
      return false;
   if (queue_out(ch, message))
      return true;
   channel_close(ch);
   return false;
}

void
vgp_channel_stop(struct vgp_channel *ch)
{
   if (!ch)
      return;
   if (ch->source)
      wl_event_source_remove(ch->source);
   if (ch->fd >= 0)
      close(ch->fd);
   if (ch->retry)
      wl_event_source_remove(ch->retry);
   free(ch->port);
   free(ch);
}

/* SPDX-License-Identifier: MIT */
/* The VM presentation channel's connection and semantics (vmchannel.h):
 * the Unix socket (connected or listening, reconnected), the guest
 * session's surfaces, ATTACH resolved through the VM's resource table,
 * COMMIT handed to the display, and what the host says back. */
#include "transport/vmchannel/vmchannel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "base/log.h"
#include "compositor/input.h"
#include "vm/resource_table.h"
#include "os/os.h"
#include "transport/vmchannel/vmchannel_message.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE instead (os_socket_prepare) */
#endif

#define RETRY_MS 1000
/* Host messages waiting for the guest to read; past it they are dropped
 * (a guest that reads nothing must not stall the display). */
#define OUT_MAX 16384u
/* A guest's messages within a second before its connection is closed as a
 * flood: far above what 64 surfaces at 60 Hz send (an ATTACH and a COMMIT
 * a frame each), and a few compositor restarts. The channel shares the
 * display's thread: a flood would starve every window. */
#define FLOOD_MESSAGES 16384u
#define FLOOD_HELLOS 16u

struct vm_surface {
   uint32_t id;               /* 0: free slot */
   bool attached;
   bool gone; /* the attached resource went before the guest said so */
   struct vs_vmch_attach attach;
};

struct vs_vmchannel {
   struct wl_event_loop *loop;
   char *path;
   bool listening;
   int listen_fd, fd;
   struct wl_event_source *listen_source, *source, *retry;
   bool said_waiting;
   struct vs_vm_resource_table *resources;
   struct vs_vmchannel_display display;
   struct vs_vmch_reader reader;
   uint64_t session;          /* the open guest session (after HELLO); 0: none */
   uint64_t sessions;
   uint32_t strikes;          /* bad messages this connection */
   uint64_t window_start_ns;  /* the flood check's current second */
   uint32_t window_messages, window_hellos;
   struct vm_surface surfaces[VS_VMCH_MAX_SURFACES];
   uint32_t config_width, config_height;
   uint8_t out[OUT_MAX];
   uint32_t out_len;
   uint64_t dropped_out;
};

static void schedule_retry(struct vs_vmchannel *ch);

static void
end_session(struct vs_vmchannel *ch)
{
   for (uint32_t i = 0; i < VS_VMCH_MAX_SURFACES; i++) {
      if (ch->surfaces[i].id) {
         ch->display.destroy(ch->display.data, ch->surfaces[i].id);
         ch->surfaces[i].id = 0;
      }
   }
   ch->session = 0;
}

static void
disconnect(struct vs_vmchannel *ch)
{
   end_session(ch);
   if (ch->source)
      wl_event_source_remove(ch->source);
   ch->source = NULL;
   if (ch->fd >= 0)
      close(ch->fd);
   ch->fd = -1;
   ch->reader = (struct vs_vmch_reader){ 0 };
   ch->strikes = 0;
   ch->window_messages = ch->window_hellos = 0;
   ch->out_len = 0;
   if (!ch->listening)
      schedule_retry(ch);
}

/* --- host -> guest ------------------------------------------------------ */

static void
flush_out(struct vs_vmchannel *ch)
{
   while (ch->out_len) {
      ssize_t n = send(ch->fd, ch->out, ch->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0)
         break;
      memmove(ch->out, ch->out + n, ch->out_len - (size_t)n);
      ch->out_len -= (uint32_t)n;
   }
   if (ch->source)
      wl_event_source_fd_update(ch->source, WL_EVENT_READABLE | (ch->out_len ? WL_EVENT_WRITABLE : 0));
}

static void
send_message(struct vs_vmchannel *ch, const void *msg, uint32_t size)
{
   if (ch->fd < 0)
      return;
   if (ch->out_len + size > OUT_MAX) {
      if (ch->dropped_out++ == 0)
         vs_warn(0, "vm channel: the guest reads nothing: host messages dropped (FRAME, RELEASE, input)");
      return;
   }
   memcpy(ch->out + ch->out_len, msg, size);
   ch->out_len += size;
   flush_out(ch);
}

void
vs_vmchannel_release(struct vs_vmchannel *ch, uint64_t session, uint32_t surface, uint32_t res_id)
{
   if (!ch || !session || session != ch->session)
      return;
   const struct vs_vmch_release m = { { VS_VMCH_RELEASE, sizeof(m) }, surface, res_id };
   send_message(ch, &m, sizeof(m));
}

void
vs_vmchannel_frame(struct vs_vmchannel *ch, uint64_t session, uint32_t surface, uint32_t serial, uint32_t time_ms)
{
   if (!ch || !session || session != ch->session)
      return;
   const struct vs_vmch_frame m = { { VS_VMCH_FRAME, sizeof(m) }, surface, serial, time_ms, 0 };
   send_message(ch, &m, sizeof(m));
}

void
vs_vmchannel_configure(struct vs_vmchannel *ch, uint32_t width, uint32_t height)
{
   if (!ch)
      return;
   ch->config_width = width;
   ch->config_height = height;
   if (!ch->session)
      return;
   const struct vs_vmch_configure m = { { VS_VMCH_CONFIGURE, sizeof(m) }, width, height };
   send_message(ch, &m, sizeof(m));
}

void
vs_vmchannel_input(struct vs_vmchannel *ch, uint32_t surface, const struct vs_input_event *e)
{
   if (!ch || !ch->session)
      return;
   if (e->type == VS_INPUT_MOTION) {
      const struct vs_vmch_pointer_motion m = { { VS_VMCH_POINTER_MOTION, sizeof(m) }, surface, e->time_ms, e->x,
                                                e->y };
      send_message(ch, &m, sizeof(m));
   } else if (e->type == VS_INPUT_AXIS) {
      const struct vs_vmch_pointer_axis m = { { VS_VMCH_POINTER_AXIS, sizeof(m) }, surface, e->time_ms, e->code,
                                              e->x };
      send_message(ch, &m, sizeof(m));
   } else if (e->type == VS_INPUT_BUTTON || e->type == VS_INPUT_KEY) {
      const struct vs_vmch_input m = { { e->type == VS_INPUT_KEY ? VS_VMCH_KEY : VS_VMCH_POINTER_BUTTON, sizeof(m) },
                                       surface, e->time_ms, e->code, e->state };
      send_message(ch, &m, sizeof(m));
   }
}

/* --- guest -> host ------------------------------------------------------ */

static struct vm_surface *
find_surface(struct vs_vmchannel *ch, uint32_t id)
{
   for (uint32_t i = 0; i < VS_VMCH_MAX_SURFACES; i++)
      if (ch->surfaces[i].id == id)
         return &ch->surfaces[i];
   return NULL;
}

enum resolved { RESOLVED, RESOLVED_GONE, RESOLVED_BAD };

/* Whether `a` names a live SHAREABLE blob of this VM it fits in (fills
 * *res), a resource that went while the guest's message was on its way
 * (destroyed, or its context ended: not hostile, and not shown), or
 * neither (why says so). */
static enum resolved
resolve(struct vs_vmchannel *ch, const struct vs_vmch_attach *a, struct vs_resource_info *res, char *why,
        size_t why_size)
{
   /* The table has every resource whose CREATE_RESOURCE the VMM has had
    * the reply to (vm/resource_table.h): a miss is final. */
   if (!vs_vm_resources_find(ch->resources, a->res_id, res)) {
      enum vs_vm_retired retired = vs_vm_resources_retired(ch->resources, a->res_id);
      if (retired == VS_VM_RETIRED)
         vs_warn(0, "vm channel: resource %u is gone (destroyed, or its context ended) but the guest still names "
                 "it: not shown", a->res_id);
      if (retired != VS_VM_NOT_RETIRED)
         return RESOLVED_GONE;
      snprintf(why, why_size, "ATTACH of resource %u, which the VM does not have", a->res_id);
      return RESOLVED_BAD;
   }
   return vs_vmch_attach_fits(a, res, why, why_size) ? RESOLVED : RESOLVED_BAD;
}

static bool
handle(struct vs_vmchannel *ch, const union vs_vmch_message *m, char *why, size_t why_size)
{
   if (m->header.type == VS_VMCH_HELLO) {
      /* A new session: the guest (re)started its compositor. */
      end_session(ch);
      ch->session = ++ch->sessions;
      const struct vs_vmch_hello hello = { { VS_VMCH_HELLO, sizeof(hello) }, VS_VMCH_VERSION, 0 };
      send_message(ch, &hello, sizeof(hello));
      vs_vmchannel_configure(ch, ch->config_width, ch->config_height);
      vs_info(0, "vm channel: guest session %llu (protocol version %u)", (unsigned long long)ch->session,
              VS_VMCH_VERSION);
      return true;
   }
   if (!ch->session) {
      snprintf(why, why_size, "%s before HELLO", vs_vmch_type_name(m->header.type));
      return false;
   }
   struct vs_resource_info res;
   switch (m->header.type) {
   case VS_VMCH_ATTACH: {
      const struct vs_vmch_attach *a = &m->attach;
      struct vm_surface *s = find_surface(ch, a->surface);
      if (!s && !(s = find_surface(ch, 0))) {
         snprintf(why, why_size, "ATTACH to a new surface %u: the guest has %u already", a->surface,
                  VS_VMCH_MAX_SURFACES);
         return false;
      }
      enum resolved r = resolve(ch, a, &res, why, why_size);
      if (r == RESOLVED_BAD)
         return false;
      s->id = a->surface;
      s->attached = true;
      s->gone = r == RESOLVED_GONE;
      s->attach = *a;
      return true;
   }
   case VS_VMCH_COMMIT: {
      struct vm_surface *s = find_surface(ch, m->commit.surface);
      if (!s || !s->attached) {
         snprintf(why, why_size, "COMMIT of surface %u, which has no ATTACH", m->commit.surface);
         return false;
      }
      /* The resource may have gone since the ATTACH: the guest gets its
       * buffer back, as for a commit not shown. */
      enum resolved r = s->gone ? RESOLVED_GONE : resolve(ch, &s->attach, &res, why, why_size);
      if (r == RESOLVED_BAD)
         return false;
      if (r == RESOLVED_GONE) {
         s->gone = true;
         vs_vmchannel_release(ch, ch->session, s->id, s->attach.res_id);
         return true;
      }
      const struct vs_vmch_image image = {
         .res_id = res.res_id, .ctx_id = res.ctx_id, .st_dev = res.st_dev, .st_ino = res.st_ino,
         .offset = s->attach.offset, .stride = s->attach.stride, .width = s->attach.width,
         .height = s->attach.height, .fourcc = s->attach.drm_fourcc,
      };
      return ch->display.commit(ch->display.data, ch->session, s->id, m->commit.serial, &image, why, why_size);
   }
   case VS_VMCH_DESTROY: {
      struct vm_surface *s = find_surface(ch, m->surface.surface);
      if (!s) {
         snprintf(why, why_size, "DESTROY of surface %u, which does not exist", m->surface.surface);
         return false;
      }
      ch->display.destroy(ch->display.data, s->id);
      *s = (struct vm_surface){ 0 };
      return true;
   }
   }
   return false;
}

/* One line per bad message; the second closes the connection. False
 * then. */
static bool
refuse(struct vs_vmchannel *ch, const char *why)
{
   if (++ch->strikes >= 2) {
      vs_error(0, "vm channel: closing the guest's connection: %s (its second bad message)", why);
      disconnect(ch);
      return false;
   }
   vs_error(0, "vm channel: refusing a guest message: %s", why);
   return true;
}

/* Counts a message against this second's share; false (the connection
 * closed, one line) for a flood. */
static bool
within_rate(struct vs_vmchannel *ch, bool hello)
{
   uint64_t now = os_now_ns();
   if (now - ch->window_start_ns >= 1000000000ull) {
      ch->window_start_ns = now;
      ch->window_messages = ch->window_hellos = 0;
   }
   ch->window_hellos += hello;
   if (++ch->window_messages <= FLOOD_MESSAGES && ch->window_hellos <= FLOOD_HELLOS)
      return true;
   vs_error(0, "vm channel: closing the guest's connection: a flood: more than %u %s within a second",
            hello ? FLOOD_HELLOS : FLOOD_MESSAGES, hello ? "HELLOs" : "messages");
   disconnect(ch);
   return false;
}

static int
on_data(int fd, uint32_t mask, void *data)
{
   struct vs_vmchannel *ch = data;
   if (mask & WL_EVENT_WRITABLE)
      flush_out(ch);
   if (!(mask & (WL_EVENT_READABLE | WL_EVENT_HANGUP | WL_EVENT_ERROR)))
      return 0;
   uint8_t buf[4096];
   ssize_t n = recv(ch->fd, buf, sizeof(buf), MSG_DONTWAIT);
   if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return 0;
   if (n <= 0) {
      vs_info(0, "vm channel: the guest's side closed the connection%s%s", n < 0 ? ": " : "",
              n < 0 ? strerror(errno) : "");
      disconnect(ch);
      return 0;
   }
   size_t off = 0;
   while (off < (size_t)n) {
      union vs_vmch_message m;
      char why[256];
      size_t used = 0;
      enum vs_vmch_read_result r = vs_vmch_read(&ch->reader, buf + off, (size_t)n - off, &used, &m, why, sizeof(why));
      off += used;
      if (r == VS_VMCH_READ_BROKEN) {
         vs_error(0, "vm channel: closing the guest's connection: %s", why);
         disconnect(ch);
         return 0;
      }
      if ((r == VS_VMCH_READ_MESSAGE || r == VS_VMCH_READ_REFUSED) &&
          !within_rate(ch, r == VS_VMCH_READ_MESSAGE && m.header.type == VS_VMCH_HELLO))
         return 0;
      if (r == VS_VMCH_READ_REFUSED || (r == VS_VMCH_READ_MESSAGE && !handle(ch, &m, why, sizeof(why)))) {
         if (!refuse(ch, why))
            return 0;
      }
   }
   return 0;
}

static void
connected(struct vs_vmchannel *ch, int fd)
{
   ch->fd = fd;
   if (os_set_nonblocking(fd, true) != 0 || os_set_cloexec(fd) != 0 || os_socket_prepare(fd) != 0 ||
       !(ch->source = wl_event_loop_add_fd(ch->loop, fd, WL_EVENT_READABLE, on_data, ch))) {
      vs_error(0, "vm channel: cannot serve the connection on %s: %s", ch->path, strerror(errno));
      disconnect(ch);
      return;
   }
   ch->said_waiting = false;
   vs_info(0, "vm channel: connected on %s", ch->path);
}

static bool
socket_address(const char *path, struct sockaddr_un *addr)
{
   memset(addr, 0, sizeof(*addr));
   addr->sun_family = AF_UNIX;
   if (strlen(path) >= sizeof(addr->sun_path))
      return false;
   memcpy(addr->sun_path, path, strlen(path));
   return true;
}

static int
on_retry(void *data)
{
   struct vs_vmchannel *ch = data;
   struct sockaddr_un addr;
   socket_address(ch->path, &addr);
   int fd = socket(AF_UNIX, SOCK_STREAM, 0);
   if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
      connected(ch, fd);
      return 0;
   }
   if (!ch->said_waiting)
      vs_info(0, "vm channel: waiting for %s (%s)", ch->path, strerror(errno));
   ch->said_waiting = true;
   if (fd >= 0)
      close(fd);
   schedule_retry(ch);
   return 0;
}

static void
schedule_retry(struct vs_vmchannel *ch)
{
   if (ch->retry)
      wl_event_source_timer_update(ch->retry, RETRY_MS);
}

static int
on_accept(int fd, uint32_t mask, void *data)
{
   struct vs_vmchannel *ch = data;
   int conn = accept(ch->listen_fd, NULL, NULL);
   if (conn < 0)
      return 0;
   if (ch->fd >= 0) {
      vs_warn(0, "vm channel: a second connection on %s refused (one VM, one guest)", ch->path);
      close(conn);
      return 0;
   }
   connected(ch, conn);
   return 0;
}

static bool
start_listening(struct vs_vmchannel *ch)
{
   struct sockaddr_un addr;
   struct stat st;
   /* A socket left by an earlier server goes; anything else stays. */
   if (lstat(ch->path, &st) == 0 && S_ISSOCK(st.st_mode))
      unlink(ch->path);
   socket_address(ch->path, &addr);
   ch->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
   if (ch->listen_fd < 0 || os_set_cloexec(ch->listen_fd) != 0 ||
       bind(ch->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(ch->listen_fd, 4) != 0) {
      vs_error(0, "vm channel: cannot listen on %s: %s", ch->path, strerror(errno));
      return false;
   }
   ch->listen_source = wl_event_loop_add_fd(ch->loop, ch->listen_fd, WL_EVENT_READABLE, on_accept, ch);
   return ch->listen_source != NULL;
}

struct vs_vmchannel *
vs_vmchannel_start(struct wl_event_loop *loop, const char *spec, struct vs_vm_resource_table *resources,
                   const struct vs_vmchannel_display *display)
{
   struct vs_vmchannel *ch = calloc(1, sizeof(*ch));
   if (!ch) {
      vs_error(0, "vm channel: out of memory");
      return NULL;
   }
   ch->loop = loop;
   ch->listen_fd = ch->fd = -1;
   ch->resources = resources;
   ch->display = *display;
   ch->listening = strncmp(spec, "listen:", 7) == 0;
   ch->path = strdup(ch->listening ? spec + 7 : spec);
   struct sockaddr_un addr;
   if (!ch->path || !*ch->path || !socket_address(ch->path, &addr)) {
      vs_error(0, "vm channel: unusable path '%s' (at most %zu bytes)", spec, sizeof(addr.sun_path) - 1);
      vs_vmchannel_stop(ch);
      return NULL;
   }
   if (ch->listening) {
      if (!start_listening(ch)) {
         vs_vmchannel_stop(ch);
         return NULL;
      }
      vs_info(0, "vm channel: listening on %s", ch->path);
   } else {
      ch->retry = wl_event_loop_add_timer(loop, on_retry, ch);
      if (!ch->retry) {
         vs_vmchannel_stop(ch);
         return NULL;
      }
      wl_event_source_timer_update(ch->retry, 1);
   }
   return ch;
}

void
vs_vmchannel_stop(struct vs_vmchannel *ch)
{
   if (!ch)
      return;
   if (ch->retry)
      wl_event_source_remove(ch->retry);
   ch->retry = NULL; /* disconnect schedules no retry */
   if (ch->fd >= 0)
      disconnect(ch);
   if (ch->listen_source)
      wl_event_source_remove(ch->listen_source);
   if (ch->listen_fd >= 0) {
      close(ch->listen_fd);
      unlink(ch->path);
   }
   if (ch->dropped_out)
      vs_info(0, "vm channel: %llu host messages dropped (the guest did not read them)",
              (unsigned long long)ch->dropped_out);
   free(ch->path);
   free(ch);
}

/* SPDX-License-Identifier: MIT */
/* The input router (input_router.h): devices in a list under one lock,
 * reports sent with MSG_DONTWAIT so the display's thread never waits on a
 * worker. */
#include "transport/vhost_user/input_router.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* there os_socket_prepare's SO_NOSIGPIPE guards the socket */
#endif

struct routed_device {
   uint32_t id;
   pid_t vmm;
   int events_fd;  /* an input device's; -1 for a GPU device */
   bool said;      /* a GPU device: its unpaired input was logged; an input device: its lost reports */
   struct routed_device *next;
};

struct vs_input_router {
   pthread_mutex_t lock;
   struct routed_device *devices; /* under lock */
};

struct vs_input_router *
vs_input_router_create(void)
{
   struct vs_input_router *router = calloc(1, sizeof(*router));
   if (!router) {
      vs_error(0, "vhost-user: out of memory for the input router");
      return NULL;
   }
   pthread_mutex_init(&router->lock, NULL);
   return router;
}

void
vs_input_router_destroy(struct vs_input_router *router)
{
   if (!router)
      return;
   while (router->devices) {
      struct routed_device *d = router->devices;
      router->devices = d->next;
      if (d->events_fd >= 0)
         close(d->events_fd);
      free(d);
   }
   pthread_mutex_destroy(&router->lock);
   free(router);
}

static bool
add(struct vs_input_router *router, uint32_t id, pid_t vmm, int events_fd)
{
   struct routed_device *d = calloc(1, sizeof(*d));
   if (!d) {
      vs_error(0, "vhost-user device %u: out of memory for its input route", id);
      if (events_fd >= 0)
         close(events_fd);
      return false;
   }
   *d = (struct routed_device){ .id = id, .vmm = vmm, .events_fd = events_fd };
   pthread_mutex_lock(&router->lock);
   d->next = router->devices;
   router->devices = d;
   pthread_mutex_unlock(&router->lock);
   return true;
}

bool
vs_input_router_add_gpu(struct vs_input_router *router, uint32_t id, pid_t vmm)
{
   return add(router, id, vmm, -1);
}

bool
vs_input_router_add_input(struct vs_input_router *router, uint32_t id, pid_t vmm, int events_fd)
{
   return add(router, id, vmm, events_fd);
}

int
vs_input_router_events_fd(struct vs_input_router *router, uint32_t id)
{
   int fd = -1;
   pthread_mutex_lock(&router->lock);
   for (const struct routed_device *d = router->devices; d; d = d->next)
      if (d->id == id)
         fd = d->events_fd;
   pthread_mutex_unlock(&router->lock);
   return fd;
}

void
vs_input_router_remove(struct vs_input_router *router, uint32_t id)
{
   pthread_mutex_lock(&router->lock);
   for (struct routed_device **link = &router->devices; *link; link = &(*link)->next) {
      struct routed_device *d = *link;
      if (d->id != id)
         continue;
      *link = d->next;
      if (d->events_fd >= 0)
         close(d->events_fd);
      free(d);
      break;
   }
   pthread_mutex_unlock(&router->lock);
}

/* A surface coordinate (wl_fixed) on the device's 0..ABS_MAX axis. */
static uint32_t
scale(int32_t fixed, uint32_t size)
{
   const uint64_t last = (uint64_t)(size ? size : 1) * 256 - 1;
   const uint64_t v = (uint64_t)vs_input_clamp_fixed(fixed, size);
   return last ? (uint32_t)((v * VS_VIRTIO_INPUT_ABS_MAX + last / 2) / last) : 0;
}

unsigned
vs_input_report(const struct vs_input_event *e, uint32_t width, uint32_t height,
                struct vs_virtio_input_event report[VS_VIRTIO_INPUT_REPORT_MAX])
{
   unsigned n = 0;
   switch (e->type) {
   case VS_INPUT_MOTION:
      report[n++] = (struct vs_virtio_input_event){ VS_EV_ABS, VS_ABS_X, scale(e->x, width) };
      report[n++] = (struct vs_virtio_input_event){ VS_EV_ABS, VS_ABS_Y, scale(e->y, height) };
      break;
   case VS_INPUT_BUTTON:
   case VS_INPUT_KEY:
      if (e->code > UINT16_MAX || e->state > 1 || !vs_virtio_input_offers(VS_EV_KEY, (uint16_t)e->code))
         return 0;
      report[n++] = (struct vs_virtio_input_event){ VS_EV_KEY, (uint16_t)e->code, e->state };
      break;
   case VS_INPUT_AXIS:
      /* One click per event, its sign evdev's: a wheel turned away from
       * the user (the page's negative deltaY) is positive. */
      if (e->code > 1 || e->x == 0)
         return 0;
      if (e->code == 0)
         report[n++] = (struct vs_virtio_input_event){ VS_EV_REL, VS_REL_WHEEL, e->x < 0 ? 1u : (uint32_t)-1 };
      else
         report[n++] = (struct vs_virtio_input_event){ VS_EV_REL, VS_REL_HWHEEL, e->x > 0 ? 1u : (uint32_t)-1 };
      break;
   default:
      return 0;
   }
   report[n++] = (struct vs_virtio_input_event){ VS_EV_SYN, VS_SYN_REPORT, 0 };
   return n;
}

void
vs_input_router_send(struct vs_input_router *router, uint32_t gpu, uint32_t width, uint32_t height,
                     const struct vs_input_event *event)
{
   struct vs_virtio_input_event report[VS_VIRTIO_INPUT_REPORT_MAX];
   const unsigned n = vs_input_report(event, width, height, report);
   if (!n)
      return;
   pthread_mutex_lock(&router->lock);
   struct routed_device *source = router->devices;
   while (source && (source->id != gpu || source->events_fd >= 0))
      source = source->next;
   unsigned sent = 0;
   for (struct routed_device *d = router->devices; source && source->vmm && d; d = d->next) {
      if (d->events_fd < 0 || d->vmm != source->vmm)
         continue;
      sent++;
      ssize_t w;
      do
         w = send(d->events_fd, report, n * sizeof(report[0]), MSG_DONTWAIT | MSG_NOSIGNAL);
      while (w < 0 && errno == EINTR);
      if (w >= 0) {
         d->said = false;
      } else if (!d->said && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
         vs_warn(0, "vhost-user device %u: its worker takes no input reports; dropping input until it does", d->id);
         d->said = true;
      }
   }
   if (source && !sent && !source->said) {
      vs_warn(0, "vhost-user device %u: viewer input for its scanout, but no input device of its VMM (pid %d) is "
                 "connected; dropped", gpu, (int)source->vmm);
      source->said = true;
   }
   pthread_mutex_unlock(&router->lock);
}

/* SPDX-License-Identifier: MIT */
/* One vhost-user connection's back end (vhost_user_device.h). Requests are
 * checked by the codec for their shape and here against the device's
 * state: queue indices, ring sizes, negotiated features. */
#include "transport/vhost_user/vhost_user_device.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/shmem_echo.h"
#include "worker/activity.h"

/* A VMM sends SET_OWNER first thing when it connects (QEMU's
 * vhost_dev_init); a connection that does not within this long holds a
 * device slot and a worker for nothing. The rest of the handshake waits
 * for the guest's driver, which may take any time. */
#define OWNER_DEADLINE_MS 10000u
/* A message once begun comes whole within this long: the front end writes
 * each at once, and one that stops halfway holds the device's slot. */
#define MESSAGE_DEADLINE_MS 10000u
/* A front end that echoes maps (shmem_echo.h) sends the echo right after
 * its answer. The first map tells whether it does; later ones wait this
 * long at most, then the map is answered without it (one line). */
#define FIRST_ECHO_MS 500u
#define ECHO_DEADLINE_MS 2000u

#define PROTOCOL_FEATURES_BASE                                                                            \
   ((1ull << VS_VU_PROTOCOL_F_REPLY_ACK) | (1ull << VS_VU_PROTOCOL_F_BACKEND_REQ) |                      \
    (1ull << VS_VU_PROTOCOL_F_CONFIG) | (1ull << VS_VU_PROTOCOL_F_BACKEND_SEND_FD) |                     \
    (1ull << VS_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

struct vs_vu_device {
   int sock;
   uint32_t id;
   struct vs_vu_device_type type;
   struct vs_activity *activity; /* told when a queue first runs; NULL: nobody */
   uint64_t features;           /* negotiated */
   uint64_t protocol_features;  /* negotiated */
   bool features_set;
   bool owned;                  /* SET_OWNER came */
   uint64_t owner_deadline_ns;
   bool failed;                 /* vs_vu_device_fail: the connection ends */
   int backend_fd;              /* BACKEND_REQ channel, -1 until given */
   struct vs_guest_memory mem;
   struct vs_virtqueue queues[VS_VU_QUEUES_MAX];
   /* The message being served, and the one being received: a request
    * served while a map waits (below) comes in beside the one it
    * interrupts and leaves it as it was. */
   struct vs_vu_message msg;
   struct vs_vu_message in;
   uint64_t message_deadline_ns; /* part of `in` came: whole by then; 0: none came */
   char why[256];
   /* While a back-end request waits for its reply, the front end's own
    * requests are served (it may send SET_MEM_TABLE before it answers:
    * the mapping changed its memory map). Guest RAM that such a nested
    * request replaces stays mapped until the outer request is done, since
    * the chain being answered points into it. */
   unsigned nesting;
   bool closing; /* a nested request ended the connection */
   /* A queue is served one at a time and never inside another: a kick
    * that comes while one is served (a nested SET_VRING_KICK or ENABLE)
    * sets its queue's bit here, and the queue runs once the one being
    * served (and the request it waits on) is done. */
   bool serving;
   uint32_t kicks_pending;
   unsigned stale_count, stale_cap;
   struct vs_guest_region *stale;
   /* The front end's echoes of the maps, and whether it echoes at all
    * (learnt at the first map; only a front end that adds regions one at
    * a time can). */
   struct vs_shmem_echoes echoes;
   enum { ECHOES_UNKNOWN, ECHOES_COME, ECHOES_NEVER } echoes_come;
   bool echo_late_told;
   /* Regions past the table's slots, answered and left out (buffers
    * there are refused): they may be taken out again. */
   unsigned regions_left_out;
};

/* After the outermost request: guest RAM replaced meanwhile goes. */
static void
release_stale_memory(struct vs_vu_device *dev)
{
   if (dev->nesting)
      return;
   for (unsigned i = 0; i < dev->stale_count; i++)
      vs_guest_region_unmap(&dev->stale[i]);
   dev->stale_count = 0;
}

/* A region that goes: unmapped now, or once the outer request is done. */
static bool
retire_region(struct vs_vu_device *dev, struct vs_guest_region *region)
{
   if (!dev->nesting) {
      vs_guest_region_unmap(region);
      return true;
   }
   if (dev->stale_count == dev->stale_cap) {
      const unsigned cap = dev->stale_cap ? 2 * dev->stale_cap : 16;
      struct vs_guest_region *bigger = realloc(dev->stale, cap * sizeof(*bigger));
      if (!bigger) {
         vs_guest_region_unmap(region);
         return false;
      }
      dev->stale = bigger;
      dev->stale_cap = cap;
   }
   dev->stale[dev->stale_count++] = *region;
   return true;
}

static uint64_t
offered_protocol_features(const struct vs_vu_device *dev)
{
   return PROTOCOL_FEATURES_BASE | (dev->type.shmem_size ? 1ull << VS_VU_PROTOCOL_F_SHMEM : 0);
}

static uint64_t
offered_features(const struct vs_vu_device *dev)
{
   return dev->type.features | (1ull << VS_VU_F_PROTOCOL_FEATURES);
}

struct vs_vu_device *
vs_vu_device_create(int sock, uint32_t id, const struct vs_vu_device_type *type)
{
   const size_t page = os_page_size();
   if (type->num_queues == 0 || type->num_queues > VS_VU_QUEUES_MAX || type->config_size > VS_VU_CONFIG_MAX ||
       (type->shmem_size % page) || !type->queue_kicked || (type->config_size && !type->read_config)) {
      vs_error(0, "vhost-user device %u: invalid device type (%u queues, %u config bytes, region of %llu bytes)",
               id, type->num_queues, type->config_size, (unsigned long long)type->shmem_size);
      return NULL;
   }
   /* Reads never wait: a front end that sends part of a message stalls
    * neither the queues nor a map's wait for its reply. */
   if (os_set_nonblocking(sock, true) < 0) {
      vs_error(0, "vhost-user device %u: cannot make its socket non-blocking: %s", id, strerror(errno));
      return NULL;
   }
   struct vs_vu_device *dev = calloc(1, sizeof(*dev));
   if (!dev)
      return NULL;
   dev->sock = sock;
   dev->id = id;
   dev->type = *type;
   dev->backend_fd = -1;
   dev->owner_deadline_ns = os_now_ns() + OWNER_DEADLINE_MS * 1000000ull;
   for (unsigned i = 0; i < VS_VU_QUEUES_MAX; i++)
      vs_virtqueue_init(&dev->queues[i]);
   return dev;
}

void
vs_vu_device_destroy(struct vs_vu_device *dev)
{
   if (!dev)
      return;
   for (unsigned i = 0; i < VS_VU_QUEUES_MAX; i++)
      vs_virtqueue_fini(&dev->queues[i]);
   vs_guest_memory_unmap(&dev->mem);
   vs_vu_message_close_fds(&dev->in);
   release_stale_memory(dev);
   free(dev->stale);
   vs_shmem_echoes_fini(&dev->echoes);
   if (dev->backend_fd >= 0)
      close(dev->backend_fd);
   close(dev->sock);
   free(dev);
}

uint32_t
vs_vu_device_id(const struct vs_vu_device *dev)
{
   return dev->id;
}

uint64_t
vs_vu_device_features(const struct vs_vu_device *dev)
{
   return dev->features;
}

const struct vs_guest_memory *
vs_vu_device_memory(const struct vs_vu_device *dev)
{
   return &dev->mem;
}

struct vs_virtqueue *
vs_vu_device_queue(struct vs_vu_device *dev, unsigned index)
{
   return index < dev->type.num_queues ? &dev->queues[index] : NULL;
}

bool
vs_vu_device_can_map(const struct vs_vu_device *dev)
{
   const uint64_t need = (1ull << VS_VU_PROTOCOL_F_SHMEM) | (1ull << VS_VU_PROTOCOL_F_BACKEND_REQ) |
                         (1ull << VS_VU_PROTOCOL_F_BACKEND_SEND_FD);
   return dev->type.shmem_size && (dev->protocol_features & need) == need && dev->backend_fd >= 0;
}

bool
vs_vu_device_notify_config(struct vs_vu_device *dev, char *why, size_t why_size)
{
   const uint64_t need = (1ull << VS_VU_PROTOCOL_F_CONFIG) | (1ull << VS_VU_PROTOCOL_F_BACKEND_REQ);
   if ((dev->protocol_features & need) != need || dev->backend_fd < 0) {
      snprintf(why, why_size, "the front end takes no config change (protocol features 0x%llx%s)",
               (unsigned long long)dev->protocol_features, dev->backend_fd < 0 ? ", no backend channel" : "");
      return false;
   }
   /* No reply asked: the front end acts on it in its own time. */
   const uint8_t none = 0;
   return vs_vu_backend_send(dev->backend_fd, VS_VU_BACKEND_CONFIG_CHANGE, &none, 0, -1, false, why, why_size);
}

static bool missed_deadline(const struct vs_vu_device *dev);

/* While the device waits on the front end (a reply, an echo): the
 * connection's deadlines, and a request it sent meanwhile (`readable`),
 * served nested. false (why) once the connection ended. */
static bool
serve_while_waiting(struct vs_vu_device *dev, bool readable, const char *awaited, char *why, size_t why_size)
{
   bool ok = !missed_deadline(dev);
   if (ok && readable) {
      dev->nesting++;
      ok = vs_vu_device_handle_message(dev);
      dev->nesting--;
   }
   if (!ok) {
      dev->closing = true;
      snprintf(why, why_size, "the connection ended while it waited for its %s", awaited);
   }
   return ok;
}

static bool
shmem_request(struct vs_vu_device *dev, uint32_t request, int fd, const struct vs_vu_shmem_map *map, char *why,
              size_t why_size)
{
   if (!vs_vu_device_can_map(dev)) {
      snprintf(why, why_size, "the front end maps no shared memory (protocol features 0x%llx%s)",
               (unsigned long long)dev->protocol_features, dev->backend_fd < 0 ? ", no backend channel" : "");
      return false;
   }
   const bool ack = dev->protocol_features & (1ull << VS_VU_PROTOCOL_F_REPLY_ACK);
   if (!vs_vu_backend_send(dev->backend_fd, request, map, sizeof(*map), fd, ack, why, why_size))
      return false;
   while (ack) {
      struct pollfd fds[2] = { { .fd = dev->backend_fd, .events = POLLIN }, { .fd = dev->sock, .events = POLLIN } };
      const int ready = poll(fds, 2, vs_vu_device_poll_timeout(dev));
      if (ready < 0) {
         if (errno == EINTR)
            continue;
         snprintf(why, why_size, "waiting for its reply: %s", strerror(errno));
         return false;
      }
      const bool reply = fds[0].revents;
      if (!serve_while_waiting(dev, !reply && fds[1].revents, "reply", why, why_size))
         return false;
      if (reply)
         return vs_vu_backend_read_reply(dev->backend_fd, request, why, why_size);
   }
   return true;
}

/* Serves the front end's requests until the map at `shm_offset` is echoed
 * (the guest can reach it), or the echo is overdue: the map is answered
 * either way, but the first map of a front end that never echoes tells
 * the device not to wait again. false when the connection ended. */
static bool
wait_for_echo(struct vs_vu_device *dev, uint64_t shm_offset, char *why, size_t why_size)
{
   const unsigned wait_ms = dev->echoes_come == ECHOES_COME ? ECHO_DEADLINE_MS : FIRST_ECHO_MS;
   const uint64_t start = os_now_ns(), end = start + (uint64_t)wait_ms * 1000000u;
   while (!vs_shmem_echoes_seen(&dev->echoes, shm_offset)) {
      const uint64_t now = os_now_ns();
      if (now >= end) {
         if (dev->echoes_come == ECHOES_UNKNOWN) {
            dev->echoes_come = ECHOES_NEVER;
            vs_info(0, "vhost-user device %u: the front end does not hand maps back as memory regions; maps are "
                       "answered on its reply", dev->id);
         } else if (!dev->echo_late_told) {
            dev->echo_late_told = true;
            vs_warn(0, "vhost-user device %u: the front end did not hand the map at 0x%llx of the host-visible "
                       "region back within %u ms; answered without it (further ones are not logged)",
                    dev->id, (unsigned long long)shm_offset, wait_ms);
         }
         return true;
      }
      int timeout = (int)((end - now + 999999) / 1000000);
      const int deadline = vs_vu_device_poll_timeout(dev);
      if (deadline >= 0 && deadline < timeout)
         timeout = deadline;
      struct pollfd fd = { .fd = dev->sock, .events = POLLIN };
      const int ready = poll(&fd, 1, timeout);
      if (ready < 0 && errno != EINTR) {
         snprintf(why, why_size, "waiting for its echo: %s", strerror(errno));
         return false;
      }
      if (!serve_while_waiting(dev, ready > 0, "echo", why, why_size))
         return false;
   }
   if (dev->echoes_come == ECHOES_UNKNOWN)
      vs_debug(0, "vhost-user device %u: the front end hands maps back as memory regions: each map is answered "
                  "once it did (%llu us for the first)", dev->id, (unsigned long long)((os_now_ns() - start) / 1000));
   dev->echoes_come = ECHOES_COME;
   return true;
}

bool
vs_vu_device_shmem_map(struct vs_vu_device *dev, int fd, uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
                       bool writable, char *why, size_t why_size)
{
   const struct vs_vu_shmem_map map = {
      .shmid = VS_VU_SHMEM_ID, .fd_offset = fd_offset, .shm_offset = shm_offset, .len = len,
      .flags = writable ? VS_VU_SHMEM_MAP_WRITABLE : 0,
   };
   if (!shmem_request(dev, VS_VU_BACKEND_SHMEM_MAP, fd, &map, why, why_size))
      return false;
   const bool slots = dev->protocol_features & (1ull << VS_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
   if (!slots || dev->echoes_come == ECHOES_NEVER || !vs_shmem_echoes_mapped(&dev->echoes, fd, fd_offset, len, shm_offset))
      return true;
   return wait_for_echo(dev, shm_offset, why, why_size);
}

bool
vs_vu_device_shmem_unmap(struct vs_vu_device *dev, uint64_t shm_offset, uint64_t len, char *why, size_t why_size)
{
   const struct vs_vu_shmem_map map = { .shmid = VS_VU_SHMEM_ID, .shm_offset = shm_offset, .len = len };
   if (!shmem_request(dev, VS_VU_BACKEND_SHMEM_UNMAP, -1, &map, why, why_size))
      return false;
   vs_shmem_echoes_unmapped(&dev->echoes, shm_offset);
   return true;
}

static bool
refuse(struct vs_vu_device *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool
refuse(struct vs_vu_device *dev, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
   va_end(ap);
   return false;
}

void
vs_vu_device_fail(struct vs_vu_device *dev, const char *fmt, ...)
{
   if (dev->failed)
      return;
   char why[256];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(why, sizeof(why), fmt, ap);
   va_end(ap);
   vs_error(0, "vhost-user device %u: refused %s; the connection ends", dev->id, why);
   dev->failed = true;
}

bool
vs_vu_device_failed(const struct vs_vu_device *dev)
{
   return dev->failed;
}

static bool
reply_u64(struct vs_vu_device *dev, uint64_t value)
{
   return vs_vu_reply(dev->sock, dev->msg.header.request, &value, sizeof(value)) ||
          refuse(dev, "reply: %s", strerror(errno));
}

/* The queue a ring request names, or NULL (refused). */
static struct vs_virtqueue *
queue_of(struct vs_vu_device *dev, uint32_t index)
{
   if (index >= dev->type.num_queues) {
      refuse(dev, "queue %u of a device with %u", index, dev->type.num_queues);
      return NULL;
   }
   return &dev->queues[index];
}

/* Maps a ring when it has all it needs; a ring outside guest RAM is the
 * front end's error. */
static bool
map_queue(struct vs_vu_device *dev, struct vs_virtqueue *vq)
{
   if (!vq->size || !vq->addr_set || !dev->mem.count) {
      vq->mapped = false;
      return true;
   }
   return vs_virtqueue_map(vq, &dev->mem, dev->why, sizeof(dev->why));
}

static void
kick(struct vs_vu_device *dev, unsigned index)
{
   dev->kicks_pending |= 1u << index;
   if (dev->serving)
      return;
   dev->serving = true;
   while (dev->kicks_pending && !dev->closing && !dev->failed) {
      const unsigned i = (unsigned)__builtin_ctz(dev->kicks_pending);
      dev->kicks_pending &= ~(1u << i);
      if (vs_virtqueue_ready(&dev->queues[i])) {
         vs_activity_start(dev->activity);
         dev->type.queue_kicked(dev->type.data, dev, i);
      }
   }
   dev->serving = false;
}

void
vs_vu_device_report_start(struct vs_vu_device *dev, struct vs_activity *activity)
{
   dev->activity = activity;
}

static bool
set_features(struct vs_vu_device *dev, uint64_t features)
{
   if (features & ~offered_features(dev))
      return refuse(dev, "features 0x%llx beyond the offered 0x%llx", (unsigned long long)features,
                    (unsigned long long)offered_features(dev));
   dev->features = features;
   dev->features_set = true;
   for (unsigned i = 0; i < VS_VU_QUEUES_MAX; i++)
      dev->queues[i].indirect = features & (1ull << VS_VIRTIO_F_INDIRECT_DESC);
   return true;
}

static bool
set_mem_table(struct vs_vu_device *dev)
{
   const struct vs_vu_mem_table *table = &dev->msg.payload.mem;
   bool kept = true;
   for (unsigned i = 0; i < dev->mem.count; i++)
      kept &= retire_region(dev, &dev->mem.regions[i]);
   dev->mem.count = 0;
   if (!kept)
      return refuse(dev, "out of memory keeping the old table mapped");
   if (!vs_guest_memory_map(&dev->mem, table, dev->msg.fds, dev->why, sizeof(dev->why)))
      return false;
   /* The rings' host pointers were into the old mappings. */
   for (unsigned i = 0; i < dev->type.num_queues; i++) {
      if (!map_queue(dev, &dev->queues[i]))
         return false;
   }
   return true;
}

/* ADD_MEM_REG / REM_MEM_REG: one region at a time. */
static bool
change_mem_region(struct vs_vu_device *dev, uint32_t request)
{
   const struct vs_vu_mem_region *region = &dev->msg.payload.mem_reg.region;
   if (!(dev->protocol_features & (1ull << VS_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)))
      return refuse(dev, "a memory region alone without its protocol feature");
   uint64_t shm_offset;
   if (request == VS_VU_ADD_MEM_REG && vs_shmem_echoes_add(&dev->echoes, region, dev->msg.fds[0], &shm_offset)) {
      vs_debug(0, "vhost-user device %u: memory region at guest 0x%llx is the map at 0x%llx of the host-visible "
               "region, handed back: recorded, not mapped", dev->id, (unsigned long long)region->guest_addr,
               (unsigned long long)shm_offset);
      return true;
   }
   if (request == VS_VU_REM_MEM_REG && vs_shmem_echoes_remove(&dev->echoes, region))
      return true;
   if (request == VS_VU_ADD_MEM_REG && dev->mem.count == VS_VU_MEM_SLOTS_MAX) {
      /* Another device's maps come back to this one too: a full table
       * leaves them out rather than ending the device. */
      if (!dev->regions_left_out++)
         vs_info(0, "vhost-user device %u: the front end's memory passes the device's %u regions: the region of "
                    "0x%llx bytes at guest 0x%llx and any further are left out (buffers there are refused)",
                 dev->id, VS_VU_MEM_SLOTS_MAX, (unsigned long long)region->size,
                 (unsigned long long)region->guest_addr);
      return true;
   }
   if (request == VS_VU_ADD_MEM_REG) {
      if (!vs_guest_memory_add(&dev->mem, region, dev->msg.fds[0], dev->why, sizeof(dev->why)))
         return false;
   } else {
      struct vs_guest_region removed;
      if (!vs_guest_memory_remove(&dev->mem, region, &removed, dev->why, sizeof(dev->why))) {
         if (!dev->regions_left_out)
            return false;
         dev->regions_left_out--; /* one of those left out */
         return true;
      }
      if (!retire_region(dev, &removed))
         return refuse(dev, "out of memory keeping a removed region mapped");
   }
   vs_debug(0, "vhost-user device %u: memory region %s: guest 0x%llx, 0x%llx bytes (%u regions)", dev->id,
            request == VS_VU_ADD_MEM_REG ? "added" : "removed", (unsigned long long)region->guest_addr,
            (unsigned long long)region->size, dev->mem.count);
   for (unsigned i = 0; i < dev->type.num_queues; i++) {
      if (!map_queue(dev, &dev->queues[i]))
         return false;
   }
   return true;
}

static bool
set_vring_fd(struct vs_vu_device *dev, uint32_t request)
{
   const uint64_t value = dev->msg.payload.u64;
   struct vs_virtqueue *vq = queue_of(dev, value & VS_VU_VRING_INDEX_MASK);
   if (!vq)
      return false;
   const int fd = vs_vu_message_take_fd(&dev->msg, 0);
   if (request == VS_VU_SET_VRING_KICK && fd < 0)
      return refuse(dev, "a kick without an fd (polling rings are not served)");
   /* A kick fd is read until empty and a call fd written: any other file
    * (one that never empties, or blocks) would stall the device. */
   if (fd >= 0 && !os_fd_is_event(fd)) {
      close(fd);
      return refuse(dev, "queue %u: its fd is no event fd (an eventfd, or where there is none a FIFO)",
                    (unsigned)(value & VS_VU_VRING_INDEX_MASK));
   }
   int *slot = request == VS_VU_SET_VRING_KICK ? &vq->kick_fd
               : request == VS_VU_SET_VRING_CALL ? &vq->call_fd
                                                 : &vq->err_fd;
   if (*slot >= 0)
      close(*slot);
   *slot = fd;
   if (fd >= 0 && os_set_nonblocking(fd, true) < 0)
      return refuse(dev, "fcntl: %s", strerror(errno));
   if (request == VS_VU_SET_VRING_KICK) {
      vq->started = true;
      /* Without protocol features a ring is enabled as it starts. */
      if (!(dev->features & (1ull << VS_VU_F_PROTOCOL_FEATURES)))
         vq->enabled = true;
   }
   return true;
}

static bool
get_config(struct vs_vu_device *dev)
{
   struct vs_vu_config *c = &dev->msg.payload.config;
   if ((uint64_t)c->offset + c->size > dev->type.config_size)
      return refuse(dev, "config bytes %u..%u of %u", c->offset, c->offset + c->size, dev->type.config_size);
   uint8_t space[VS_VU_CONFIG_MAX] = { 0 };
   if (dev->type.config_size)
      dev->type.read_config(dev->type.data, space);
   memcpy(c->region, space + c->offset, c->size);
   return vs_vu_reply(dev->sock, VS_VU_GET_CONFIG, c, VS_VU_CONFIG_HEADER_SIZE + c->size) ||
          refuse(dev, "reply: %s", strerror(errno));
}

static bool
set_config(struct vs_vu_device *dev)
{
   const struct vs_vu_config *c = &dev->msg.payload.config;
   if ((uint64_t)c->offset + c->size > dev->type.config_size)
      return refuse(dev, "config bytes %u..%u of %u", c->offset, c->offset + c->size, dev->type.config_size);
   if (dev->type.write_config && c->size)
      dev->type.write_config(dev->type.data, dev, c->offset, c->region, c->size);
   return !dev->failed;
}

static bool
get_shmem_config(struct vs_vu_device *dev)
{
   struct vs_vu_shmem_config shmem = { 0 };
   if (dev->type.shmem_size) {
      shmem.nregions = 1;
      shmem.sizes[VS_VU_SHMEM_ID] = dev->type.shmem_size;
   }
   return vs_vu_reply(dev->sock, VS_VU_GET_SHMEM_CONFIG, &shmem, sizeof(shmem)) ||
          refuse(dev, "reply: %s", strerror(errno));
}

/* The SET_VRING_* requests: a ring's size, addresses, base, fds, state. */
static bool
set_vring(struct vs_vu_device *dev)
{
   const struct vs_vu_message *m = &dev->msg;
   const union vs_vu_payload *p = &m->payload;
   switch (m->header.request) {
   case VS_VU_SET_VRING_NUM: {
      struct vs_virtqueue *vq = queue_of(dev, p->state.index);
      if (!vq)
         return false;
      if (p->state.num == 0 || p->state.num > VS_VQ_SIZE_MAX || (p->state.num & (p->state.num - 1)))
         return refuse(dev, "a ring of %u entries (a power of two up to %u)", p->state.num, VS_VQ_SIZE_MAX);
      vq->size = (uint16_t)p->state.num;
      return map_queue(dev, vq);
   }
   case VS_VU_SET_VRING_ADDR: {
      struct vs_virtqueue *vq = queue_of(dev, p->addr.index);
      if (!vq)
         return false;
      if (p->addr.flags)
         return refuse(dev, "ring address flags 0x%x (logging is not offered)", p->addr.flags);
      vq->desc_user = p->addr.desc;
      vq->avail_user = p->addr.avail;
      vq->used_user = p->addr.used;
      vq->addr_set = true;
      return map_queue(dev, vq);
   }
   case VS_VU_SET_VRING_BASE: {
      struct vs_virtqueue *vq = queue_of(dev, p->state.index);
      if (!vq)
         return false;
      if (p->state.num > UINT16_MAX)
         return refuse(dev, "a ring base of %u (split rings count to 65535)", p->state.num);
      /* Every chain is answered before the next is read, so none is in
       * flight: the used index starts where the available one does. */
      vq->last_avail = vq->used_idx = (uint16_t)p->state.num;
      return true;
   }
   case VS_VU_SET_VRING_KICK:
   case VS_VU_SET_VRING_CALL:
   case VS_VU_SET_VRING_ERR:
      if (!set_vring_fd(dev, m->header.request))
         return false;
      if (m->header.request == VS_VU_SET_VRING_KICK)
         kick(dev, p->u64 & VS_VU_VRING_INDEX_MASK);
      return true;
   case VS_VU_SET_VRING_ENABLE: {
      struct vs_virtqueue *vq = queue_of(dev, p->state.index);
      if (!vq)
         return false;
      if (!(dev->features & (1ull << VS_VU_F_PROTOCOL_FEATURES)) || p->state.num > 1)
         return refuse(dev, "SET_VRING_ENABLE %u %s", p->state.num,
                       p->state.num > 1 ? "(0 or 1)" : "without protocol features");
      vq->enabled = p->state.num;
      if (vq->enabled)
         kick(dev, p->state.index);
      return true;
   }
   default:
      return refuse(dev, "request %u is not a ring's", m->header.request);
   }
}

/* Serves the checked message in dev->msg; false refuses it (dev->why).
 * *replied says whether the request's own reply went out. */
static bool
serve(struct vs_vu_device *dev, bool *replied)
{
   struct vs_vu_message *m = &dev->msg;
   const union vs_vu_payload *p = &m->payload;
   *replied = true;
   switch (m->header.request) {
   case VS_VU_GET_FEATURES:
      return reply_u64(dev, offered_features(dev));
   case VS_VU_GET_PROTOCOL_FEATURES:
      return reply_u64(dev, offered_protocol_features(dev));
   case VS_VU_GET_QUEUE_NUM:
      return reply_u64(dev, dev->type.num_queues);
   case VS_VU_GET_MAX_MEM_SLOTS:
      return reply_u64(dev, VS_VU_MEM_SLOTS_MAX);
   case VS_VU_GET_SHMEM_CONFIG:
      return get_shmem_config(dev);
   case VS_VU_GET_CONFIG:
      return get_config(dev);
   case VS_VU_GET_VRING_BASE: {
      struct vs_virtqueue *vq = queue_of(dev, p->state.index);
      if (!vq)
         return false;
      /* Stops the ring: no kick is served until the next SET_VRING_KICK. */
      vq->started = false;
      if (vq->kick_fd >= 0)
         close(vq->kick_fd);
      vq->kick_fd = -1;
      struct vs_vu_vring_state state = { p->state.index, vq->last_avail };
      return vs_vu_reply(dev->sock, VS_VU_GET_VRING_BASE, &state, sizeof(state)) ||
             refuse(dev, "reply: %s", strerror(errno));
   }
   default:
      break;
   }
   *replied = false;
   switch (m->header.request) {
   case VS_VU_SET_FEATURES:
      return set_features(dev, p->u64);
   case VS_VU_SET_PROTOCOL_FEATURES:
      if (p->u64 & ~offered_protocol_features(dev))
         return refuse(dev, "protocol features 0x%llx beyond the offered 0x%llx", (unsigned long long)p->u64,
                       (unsigned long long)offered_protocol_features(dev));
      dev->protocol_features = p->u64;
      return true;
   case VS_VU_SET_OWNER:
      dev->owned = true;
      return true;
   case VS_VU_SET_BACKEND_REQ_FD:
      if (!(dev->protocol_features & (1ull << VS_VU_PROTOCOL_F_BACKEND_REQ)))
         return refuse(dev, "a backend channel without its protocol feature");
      /* The request waiting for its reply polls the channel in use. */
      if (dev->nesting)
         return refuse(dev, "a new backend channel while a request waits for its reply on the old one");
      if (dev->backend_fd >= 0)
         close(dev->backend_fd);
      dev->backend_fd = vs_vu_message_take_fd(m, 0);
      return true;
   case VS_VU_SET_CONFIG:
      return set_config(dev);
   case VS_VU_SET_MEM_TABLE:
      return set_mem_table(dev);
   case VS_VU_ADD_MEM_REG:
   case VS_VU_REM_MEM_REG:
      return change_mem_region(dev, m->header.request);
   case VS_VU_SET_VRING_NUM:
   case VS_VU_SET_VRING_ADDR:
   case VS_VU_SET_VRING_BASE:
   case VS_VU_SET_VRING_KICK:
   case VS_VU_SET_VRING_CALL:
   case VS_VU_SET_VRING_ERR:
   case VS_VU_SET_VRING_ENABLE:
      return set_vring(dev);
   default:
      return refuse(dev, "request %u is not served", m->header.request);
   }
}

bool
vs_vu_device_handle_message(struct vs_vu_device *dev)
{
   dev->why[0] = '\0';
   switch (vs_vu_message_read(dev->sock, &dev->in, dev->why, sizeof(dev->why))) {
   case VS_VU_READ_MORE:
      if (dev->in.received && !dev->message_deadline_ns)
         dev->message_deadline_ns = os_now_ns() + MESSAGE_DEADLINE_MS * 1000000ull;
      return true;
   case VS_VU_READ_CLOSED:
      vs_info(0, "vhost-user device %u: the front end closed the connection", dev->id);
      return false;
   case VS_VU_READ_BAD:
      vs_error(0, "vhost-user device %u: refused a message: %s; the connection ends", dev->id, dev->why);
      return false;
   case VS_VU_READ_MESSAGE:
      break;
   }
   dev->message_deadline_ns = 0;
   /* The request this one interrupts, if any (a map's wait), is served
    * on once this one is done. Its fds are now `msg`'s. */
   const struct vs_vu_message interrupted = dev->msg;
   dev->msg = dev->in;
   dev->in.fd_count = 0;
   struct vs_vu_message *m = &dev->msg;
   bool replied = false;
   bool ok = serve(dev, &replied) && !dev->failed;
   vs_vu_message_close_fds(m);
   if (!replied && (m->header.flags & VS_VU_FLAG_NEED_REPLY) &&
       (dev->protocol_features & (1ull << VS_VU_PROTOCOL_F_REPLY_ACK))) {
      const uint64_t status = ok ? 0 : 1;
      if (!vs_vu_reply(dev->sock, m->header.request, &status, sizeof(status)) && ok)
         ok = refuse(dev, "reply: %s", strerror(errno));
   }
   /* A device type's refusal was logged as it came. */
   if (!ok && !dev->failed) {
      char buf[32];
      vs_error(0, "vhost-user device %u: refused %s: %s; the connection ends", dev->id,
               vs_vu_request_name(m->header.request, buf, sizeof(buf)), dev->why);
   }
   dev->msg = interrupted;
   return ok;
}

unsigned
vs_vu_device_pollfds(const struct vs_vu_device *dev, struct pollfd *fds, unsigned max)
{
   unsigned n = 0;
   if (n < max)
      fds[n++] = (struct pollfd){ .fd = dev->sock, .events = POLLIN };
   for (unsigned i = 0; i < dev->type.num_queues && n < max; i++) {
      if (dev->queues[i].started && dev->queues[i].kick_fd >= 0)
         fds[n++] = (struct pollfd){ .fd = dev->queues[i].kick_fd, .events = POLLIN };
   }
   if (dev->type.woken && n < max)
      fds[n++] = (struct pollfd){ .fd = dev->type.wake_fd, .events = POLLIN };
   return n;
}

/* Reads of a kick fd per wakeup: an eventfd empties in one, a FIFO of
 * 8-byte kicks in a few; what is left wakes poll() again. */
#define DRAIN_READS_MAX 4

/* Empties a kick eventfd (or FIFO): one kick serves all that is pending. */
static void
drain(int fd)
{
   uint8_t buf[64];
   for (unsigned i = 0; i < DRAIN_READS_MAX; i++) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
         continue;
      if (n < (ssize_t)sizeof(buf))
         return;
   }
}

/* The nearest deadline the front end has to meet: SET_OWNER's until it
 * came, and a begun message's; 0 when there is none. */
static uint64_t
next_deadline_ns(const struct vs_vu_device *dev)
{
   uint64_t deadline = dev->owned ? 0 : dev->owner_deadline_ns;
   if (dev->message_deadline_ns && (!deadline || dev->message_deadline_ns < deadline))
      deadline = dev->message_deadline_ns;
   return deadline;
}

int
vs_vu_device_poll_timeout(const struct vs_vu_device *dev)
{
   const uint64_t deadline = next_deadline_ns(dev);
   if (!deadline)
      return -1;
   const uint64_t now = os_now_ns();
   return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Whether the front end is past a deadline (logged): the connection ends. */
static bool
missed_deadline(const struct vs_vu_device *dev)
{
   const uint64_t now = os_now_ns();
   if (!dev->owned && now >= dev->owner_deadline_ns) {
      vs_error(0, "vhost-user device %u: the front end sent no SET_OWNER within %u s of connecting%s; the "
               "connection ends", dev->id, OWNER_DEADLINE_MS / 1000,
               dev->in.received ? " (part of a message came)" : "");
      return true;
   }
   if (dev->message_deadline_ns && now >= dev->message_deadline_ns) {
      vs_error(0, "vhost-user device %u: the front end sent %u bytes of a message and not the rest within %u s; "
               "the connection ends", dev->id, dev->in.received, MESSAGE_DEADLINE_MS / 1000);
      return true;
   }
   return false;
}

bool
vs_vu_device_dispatch(struct vs_vu_device *dev, const struct pollfd *fds, unsigned count)
{
   for (unsigned f = 1; f < count; f++) {
      if (!fds[f].revents)
         continue;
      if (dev->type.woken && fds[f].fd == dev->type.wake_fd) {
         dev->type.woken(dev->type.data, dev);
         continue;
      }
      for (unsigned i = 0; i < dev->type.num_queues; i++) {
         if (dev->queues[i].kick_fd == fds[f].fd && dev->queues[i].started) {
            drain(fds[f].fd);
            kick(dev, i);
         }
      }
   }
   /* A request served inside a map's wait above leaves the socket's
    * readiness stale: the read then finds nothing, and waits for none. */
   bool ok = !dev->closing && !dev->failed;
   if (ok && count && fds[0].revents)
      ok = vs_vu_device_handle_message(dev);
   release_stale_memory(dev);
   /* After the message: a SET_OWNER that came as the deadline passed counts. */
   if (ok && missed_deadline(dev))
      ok = false;
   return ok && !dev->closing && !dev->failed;
}

/* SPDX-License-Identifier: MIT */
/* The virtio-input device type (virtio_input.h). Its config space answers
 * the driver's select/subsel; events leave on the eventq, one per buffer,
 * as the guest hands buffers over: a report the server sends waits in a
 * bounded queue until then. Nothing of the eventq is popped before an
 * event is there for it, so no chain is ever held across requests (a new
 * mem table cannot leave one pointing into old mappings). */
#include "transport/vhost_user/virtio_input.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtqueue.h"

#define DEVICE_NAME "venus-server input"
/* Evdev keys the viewer's keymap has (evdev + 8 <= 255). */
#define KEY_FIRST 1u
#define KEY_LAST 247u
/* The devids: a virtual bus, virtio's PCI vendor and virtio-input's
 * modern PCI device id. */
#define DEVIDS_VENDOR 0x1af4u
#define DEVIDS_PRODUCT 0x1052u

struct vs_virtio_input {
   uint32_t id;
   struct vs_vu_device *dev;
   uint8_t select, subsel;
   /* Events not yet in the guest's buffers, a ring. */
   struct vs_virtio_input_event pending[VS_VIRTIO_INPUT_PENDING_MAX];
   unsigned head, count;
   bool dropping; /* said once per run of dropped reports */
   uint64_t delivered, dropped;
   struct vs_vq_chain chain;
};

bool
vs_virtio_input_offers(uint16_t type, uint16_t code)
{
   switch (type) {
   case VS_EV_SYN:
      return code == VS_SYN_REPORT;
   case VS_EV_KEY:
      return (code >= KEY_FIRST && code <= KEY_LAST) || (code >= VS_BTN_LEFT && code <= VS_BTN_TASK);
   case VS_EV_REL:
      return code == VS_REL_WHEEL || code == VS_REL_HWHEEL;
   case VS_EV_ABS:
      return code == VS_ABS_X || code == VS_ABS_Y;
   default:
      return false;
   }
}

static void
set_bit(uint8_t *bitmap, unsigned bit)
{
   bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* The bitmap of `type`'s codes; its size in bytes (0: the type is not
 * offered). EV_REP's is empty but present: the driver then repeats keys. */
static uint8_t
event_bits(uint8_t type, uint8_t *bitmap)
{
   unsigned last = 0;
   switch (type) {
   case VS_EV_KEY:
      for (unsigned code = KEY_FIRST; code <= KEY_LAST; code++)
         set_bit(bitmap, code);
      for (unsigned code = VS_BTN_LEFT; code <= VS_BTN_TASK; code++)
         set_bit(bitmap, code);
      last = VS_BTN_TASK;
      break;
   case VS_EV_REL:
      set_bit(bitmap, VS_REL_HWHEEL);
      set_bit(bitmap, VS_REL_WHEEL);
      last = VS_REL_WHEEL;
      break;
   case VS_EV_ABS:
      set_bit(bitmap, VS_ABS_X);
      set_bit(bitmap, VS_ABS_Y);
      last = VS_ABS_Y;
      break;
   case VS_EV_REP:
      break;
   default:
      return 0;
   }
   return (uint8_t)(last / 8 + 1);
}

static void
read_config(void *data, uint8_t *bytes)
{
   struct vs_virtio_input *input = data;
   struct vs_virtio_input_config c = { .select = input->select, .subsel = input->subsel };
   switch (input->select) {
   case VS_VIRTIO_INPUT_CFG_ID_NAME:
      if (input->subsel == 0) {
         c.size = sizeof(DEVICE_NAME) - 1;
         memcpy(c.u.string, DEVICE_NAME, c.size);
      }
      break;
   case VS_VIRTIO_INPUT_CFG_ID_SERIAL:
      if (input->subsel == 0)
         c.size = (uint8_t)snprintf(c.u.string, sizeof(c.u.string), "vhost-user-input-%u", input->id);
      break;
   case VS_VIRTIO_INPUT_CFG_ID_DEVIDS:
      if (input->subsel == 0) {
         c.u.ids = (struct vs_virtio_input_devids){ VS_BUS_VIRTUAL, DEVIDS_VENDOR, DEVIDS_PRODUCT, 1 };
         c.size = sizeof(c.u.ids);
      }
      break;
   case VS_VIRTIO_INPUT_CFG_EV_BITS:
      c.size = input->subsel <= VS_EV_MAX ? event_bits(input->subsel, c.u.bitmap) : 0;
      break;
   case VS_VIRTIO_INPUT_CFG_ABS_INFO:
      if (input->subsel == VS_ABS_X || input->subsel == VS_ABS_Y) {
         c.u.abs = (struct vs_virtio_input_absinfo){ .min = 0, .max = VS_VIRTIO_INPUT_ABS_MAX };
         c.size = sizeof(c.u.abs);
      }
      break;
   default: /* UNSET, and PROP_BITS: no input properties */
      break;
   }
   memcpy(bytes, &c, sizeof(c));
}

static bool
select_known(uint8_t select)
{
   switch (select) {
   case VS_VIRTIO_INPUT_CFG_UNSET:
   case VS_VIRTIO_INPUT_CFG_ID_NAME:
   case VS_VIRTIO_INPUT_CFG_ID_SERIAL:
   case VS_VIRTIO_INPUT_CFG_ID_DEVIDS:
   case VS_VIRTIO_INPUT_CFG_PROP_BITS:
   case VS_VIRTIO_INPUT_CFG_EV_BITS:
   case VS_VIRTIO_INPUT_CFG_ABS_INFO:
      return true;
   default:
      return false;
   }
}

/* Only select (byte 0) and subsel (byte 1) are the driver's. QEMU writes
 * the whole config back at each byte the guest writes, so the other bytes
 * are its copy of ours and are ignored; and between the driver's two
 * writes the device sees the new select with the old subsel, so a subsel
 * the select has nothing for is answered with size 0, as virtio says, not
 * refused. */
static void
write_config(void *data, struct vs_vu_device *dev, uint32_t offset, const uint8_t *bytes, uint32_t size)
{
   struct vs_virtio_input *input = data;
   if (offset == 0 && size >= 1) {
      if (!select_known(bytes[0])) {
         vs_vu_device_fail(dev, "config select 0x%02x (subsel 0x%02x): not a virtio-input select", bytes[0],
                           size >= 2 ? bytes[1] : input->subsel);
         return;
      }
      input->select = bytes[0];
   }
   if (offset <= 1 && offset + size >= 2)
      input->subsel = bytes[1 - offset];
}

/* Events into the eventq's buffers, one per buffer, while both last. */
static void
deliver(struct vs_virtio_input *input)
{
   struct vs_virtqueue *vq = vs_vu_device_queue(input->dev, VS_VIRTIO_INPUT_QUEUE_EVENT);
   if (!vs_virtqueue_ready(vq))
      return;
   const struct vs_guest_memory *mem = vs_vu_device_memory(input->dev);
   bool pushed = false;
   char why[256];
   while (input->count && !vs_vu_device_failed(input->dev)) {
      const enum vs_vq_pop_result r = vs_virtqueue_pop(vq, mem, &input->chain, why, sizeof(why));
      if (r == VS_VQ_EMPTY)
         break;
      if (r != VS_VQ_CHAIN) {
         vs_vu_device_fail(input->dev, "the eventq: %s", why);
         break;
      }
      if (input->chain.readable || input->chain.writable_len < sizeof(struct vs_virtio_input_event)) {
         vs_vu_device_fail(input->dev,
                           "eventq buffer %u: %llu device-readable and %llu device-writable bytes (an event "
                           "needs %zu writable and none readable)",
                           input->chain.head, (unsigned long long)input->chain.readable_len,
                           (unsigned long long)input->chain.writable_len, sizeof(struct vs_virtio_input_event));
         break;
      }
      const struct vs_virtio_input_event *e = &input->pending[input->head];
      vs_vq_chain_write(&input->chain, 0, e, sizeof(*e));
      vs_virtqueue_push(vq, input->chain.head, sizeof(*e));
      pushed = true;
      input->head = (input->head + 1) % VS_VIRTIO_INPUT_PENDING_MAX;
      input->count--;
      input->delivered++;
   }
   if (pushed)
      vs_virtqueue_notify(vq);
   if (!input->count)
      input->dropping = false;
}

/* The statusq's buffers (LEDs the driver sets) go back unread. */
static void
drop_status(struct vs_virtio_input *input)
{
   struct vs_virtqueue *vq = vs_vu_device_queue(input->dev, VS_VIRTIO_INPUT_QUEUE_STATUS);
   const struct vs_guest_memory *mem = vs_vu_device_memory(input->dev);
   bool pushed = false;
   char why[256];
   for (;;) {
      const enum vs_vq_pop_result r = vs_virtqueue_pop(vq, mem, &input->chain, why, sizeof(why));
      if (r == VS_VQ_EMPTY)
         break;
      if (r != VS_VQ_CHAIN) {
         vs_vu_device_fail(input->dev, "the statusq: %s", why);
         break;
      }
      if (input->chain.writable) {
         vs_vu_device_fail(input->dev, "statusq buffer %u: %llu device-writable bytes (status is the driver's)",
                           input->chain.head, (unsigned long long)input->chain.writable_len);
         break;
      }
      vs_virtqueue_push(vq, input->chain.head, 0);
      pushed = true;
   }
   if (pushed)
      vs_virtqueue_notify(vq);
}

static void
queue_kicked(void *data, struct vs_vu_device *dev, unsigned index)
{
   (void)dev;
   struct vs_virtio_input *input = data;
   if (index == VS_VIRTIO_INPUT_QUEUE_EVENT)
      deliver(input);
   else
      drop_status(input);
}

struct vs_virtio_input *
vs_virtio_input_create(int sock, uint32_t id)
{
   struct vs_virtio_input *input = calloc(1, sizeof(*input));
   if (!input) {
      vs_error(0, "vhost-user device %u: out of memory for its input device", id);
      close(sock);
      return NULL;
   }
   input->id = id;
   const struct vs_vu_device_type type = {
      .features = 1ull << VS_VIRTIO_F_VERSION_1,
      .num_queues = 2,
      .config_size = sizeof(struct vs_virtio_input_config),
      .read_config = read_config,
      .write_config = write_config,
      .queue_kicked = queue_kicked,
      .data = input,
   };
   if (!(input->dev = vs_vu_device_create(sock, id, &type))) {
      close(sock);
      free(input);
      return NULL;
   }
   return input;
}

void
vs_virtio_input_destroy(struct vs_virtio_input *input)
{
   if (!input)
      return;
   vs_vu_device_destroy(input->dev);
   free(input);
}

struct vs_vu_device *
vs_virtio_input_device(struct vs_virtio_input *input)
{
   return input->dev;
}

uint64_t
vs_virtio_input_delivered(const struct vs_virtio_input *input)
{
   return input->delivered;
}

uint64_t
vs_virtio_input_dropped(const struct vs_virtio_input *input)
{
   return input->dropped;
}

/* A report: 1..VS_VIRTIO_INPUT_REPORT_MAX offered events, SYN_REPORT last
 * and only there, pointer positions inside the range, keys 0 or 1. */
static bool
report_valid(const struct vs_virtio_input_event *events, unsigned count, char *why, size_t why_size)
{
   if (count == 0 || count > VS_VIRTIO_INPUT_REPORT_MAX) {
      snprintf(why, why_size, "%u events (1..%u)", count, VS_VIRTIO_INPUT_REPORT_MAX);
      return false;
   }
   for (unsigned i = 0; i < count; i++) {
      const struct vs_virtio_input_event *e = &events[i];
      const bool last = i + 1 == count;
      if (!vs_virtio_input_offers(e->type, e->code) || (e->type == VS_EV_SYN) != last ||
          (e->type == VS_EV_ABS && e->value > VS_VIRTIO_INPUT_ABS_MAX) || (e->type == VS_EV_KEY && e->value > 1)) {
         snprintf(why, why_size, "event %u of %u: type %u code %u value %u", i, count, e->type, e->code, e->value);
         return false;
      }
   }
   return true;
}

bool
vs_virtio_input_send(struct vs_virtio_input *input, const struct vs_virtio_input_event *events, unsigned count)
{
   char why[128];
   if (!report_valid(events, count, why, sizeof(why))) {
      vs_error(0, "vhost-user device %u: a malformed input report from the server: %s; the device ends", input->id,
               why);
      return false;
   }
   if (VS_VIRTIO_INPUT_PENDING_MAX - input->count < count) {
      input->dropped += count;
      if (!input->dropping)
         vs_warn(0, "vhost-user device %u: the guest takes no input events (%u wait for eventq buffers); dropping "
                    "input until it does", input->id, input->count);
      input->dropping = true;
      return true;
   }
   for (unsigned i = 0; i < count; i++)
      input->pending[(input->head + input->count + i) % VS_VIRTIO_INPUT_PENDING_MAX] = events[i];
   input->count += count;
   deliver(input);
   return !vs_vu_device_failed(input->dev);
}

bool
vs_virtio_input_take_report(struct vs_virtio_input *input, int events_fd)
{
   struct vs_virtio_input_event events[VS_VIRTIO_INPUT_REPORT_MAX + 1];
   ssize_t n;
   do
      n = recv(events_fd, events, sizeof(events), MSG_DONTWAIT | MSG_TRUNC);
   while (n < 0 && errno == EINTR);
   if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK;
   if (n == 0)
      return false;
   if ((size_t)n > VS_VIRTIO_INPUT_REPORT_MAX * sizeof(events[0]) || n % sizeof(events[0])) {
      vs_error(0, "vhost-user device %u: an input report of %zd bytes from the server (whole events, at most %u); "
                  "the device ends", input->id, n, VS_VIRTIO_INPUT_REPORT_MAX);
      return false;
   }
   return vs_virtio_input_send(input, events, (unsigned)(n / sizeof(events[0])));
}

void
vs_virtio_input_run(struct vs_virtio_input *input, int events_fd)
{
   struct pollfd fds[2 + VS_VU_QUEUES_MAX];
   for (;;) {
      fds[0] = (struct pollfd){ .fd = events_fd, .events = POLLIN };
      const unsigned n = vs_vu_device_pollfds(input->dev, fds + 1, 1 + VS_VU_QUEUES_MAX);
      if (poll(fds, n + 1, vs_vu_device_poll_timeout(input->dev)) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "vhost-user device %u: poll: %s", input->id, strerror(errno));
         return;
      }
      if (fds[0].revents && !vs_virtio_input_take_report(input, events_fd))
         return;
      if (!vs_vu_device_dispatch(input->dev, fds + 1, n))
         return;
   }
}

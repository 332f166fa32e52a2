/* SPDX-License-Identifier: MIT */
/* transport/vhost_user/virtio_input: a fake front end drives the input
 * device as QEMU's vhost-user-input-pci does: the handshake, the config
 * space the guest's driver queries, reports from the server's side of the
 * events socket reaching the eventq, and hostile config values, buffers
 * and reports, each ending the device; and the server's side: viewer
 * events made reports and routed to the input devices of the GPU device's
 * VMM only. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/vhost_user/input_router.h"
#include "transport/vhost_user/vhost_user_message.h"
#include "transport/vhost_user/virtio_input.h"
#include "transport/vhost_user/virtqueue.h"
#include "unit.h"
#include "vhost_user_front_end.h"

#define EVENTS_GPA 0x10000u

struct input_fe {
   struct vu_front_end vu;
   struct vs_virtio_input *input;
   int events[2]; /* [0] the server's end, [1] the worker's */
};

static void
fe_close(struct input_fe *fe)
{
   vs_virtio_input_destroy(fe->input);
   vu_fe_close(&fe->vu);
   if (fe->events[0] >= 0)
      close(fe->events[0]);
   close(fe->events[1]);
}

static bool
fe_open(struct input_fe *fe)
{
   memset(fe, 0, sizeof(*fe));
   int sock;
   if (!vu_fe_open(&fe->vu, &sock) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fe->events) < 0)
      return false;
   fe->input = vs_virtio_input_create(sock, 3);
   fe->vu.dev = fe->input ? vs_virtio_input_device(fe->input) : NULL;
   return fe->vu.dev != NULL;
}

static bool
fe_start(struct input_fe *fe)
{
   return fe_open(fe) && vu_fe_handshake(&fe->vu);
}

/* What QEMU sends at each config byte the guest writes: the whole config
 * space, its copy of ours with the byte changed. */
static bool
set_select(struct input_fe *fe, uint8_t select, uint8_t subsel)
{
   struct vs_vu_config c = { .offset = 0, .size = sizeof(struct vs_virtio_input_config) };
   memset(c.region, 0x5a, c.size);
   c.region[0] = select;
   c.region[1] = subsel;
   return vu_fe_send(&fe->vu, VS_VU_SET_CONFIG, VS_VU_VERSION, &c, VS_VU_CONFIG_HEADER_SIZE + c.size, NULL, 0);
}

static bool
get_config(struct input_fe *fe, struct vs_virtio_input_config *out)
{
   struct vs_vu_config c = { .offset = 0, .size = sizeof(*out) };
   if (!vu_fe_send(&fe->vu, VS_VU_GET_CONFIG, VS_VU_VERSION, &c, VS_VU_CONFIG_HEADER_SIZE + c.size, NULL, 0) ||
       !vu_fe_reply(&fe->vu, VS_VU_GET_CONFIG, &c, VS_VU_CONFIG_HEADER_SIZE + sizeof(*out)))
      return false;
   memcpy(out, c.region, sizeof(*out));
   return true;
}

static bool
bit(const uint8_t *bitmap, unsigned n)
{
   return bitmap[n / 8] & (1u << (n % 8));
}

/* The server's side: one report on the events socket, taken by the device. */
static bool
send_report(struct input_fe *fe, const struct vs_virtio_input_event *events, size_t bytes)
{
   return send(fe->events[0], events, bytes, 0) == (ssize_t)bytes &&
          vs_virtio_input_take_report(fe->input, fe->events[1]);
}

static bool
key_report(struct input_fe *fe, uint16_t code, uint32_t value)
{
   const struct vs_virtio_input_event r[2] = { { VS_EV_KEY, code, value }, { VS_EV_SYN, VS_SYN_REPORT, 0 } };
   return send_report(fe, r, sizeof(r));
}

/* Eventq buffers 0..n-1, 8 writable bytes each at EVENTS_GPA + 16 i. */
static void
offer_event_buffers(struct input_fe *fe, unsigned first, unsigned n, uint32_t len, uint16_t flags)
{
   for (unsigned i = first; i < first + n; i++) {
      vu_put_desc(&fe->vu, DESC(0), i, EVENTS_GPA + 16 * i, len, flags, 0);
      vu_fe_offer(&fe->vu, 0, (uint16_t)i);
   }
}

TEST(handshake)
{
   struct input_fe fe;
   CHECK(fe_open(&fe));
   const uint64_t features = vu_fe_get_u64(&fe.vu, VS_VU_GET_FEATURES);
   CHECK(features & (1ull << VS_VIRTIO_F_VERSION_1));
   CHECK(features & (1ull << VS_VU_F_PROTOCOL_FEATURES));
   const uint64_t protocol = vu_fe_get_u64(&fe.vu, VS_VU_GET_PROTOCOL_FEATURES);
   CHECK(protocol & (1ull << VS_VU_PROTOCOL_F_CONFIG));
   CHECK(!(protocol & (1ull << VS_VU_PROTOCOL_F_SHMEM)));
   CHECK_EQ(vu_fe_get_u64(&fe.vu, VS_VU_GET_QUEUE_NUM), 2u);
   fe_close(&fe);
   CHECK(fe_start(&fe));
   fe_close(&fe);
}

TEST(config_space)
{
   struct input_fe fe;
   CHECK(fe_start(&fe));
   struct vs_virtio_input_config c;
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ID_NAME, 0));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.select, VS_VIRTIO_INPUT_CFG_ID_NAME);
   CHECK_EQ(c.size, strlen("venus-server input"));
   CHECK(memcmp(c.u.string, "venus-server input", c.size) == 0);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ID_SERIAL, 0));
   CHECK(get_config(&fe, &c));
   CHECK(c.size > 0 && memcmp(c.u.string, "vhost-user-input-3", c.size) == 0);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ID_DEVIDS, 0));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 8u);
   CHECK_EQ(c.u.ids.bustype, VS_BUS_VIRTUAL);
   /* Keys and buttons; not a code beyond them. */
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_EV_BITS, VS_EV_KEY));
   CHECK(get_config(&fe, &c));
   CHECK(c.size >= VS_BTN_TASK / 8 + 1);
   CHECK(bit(c.u.bitmap, 30));  /* KEY_A */
   CHECK(bit(c.u.bitmap, 1));   /* KEY_ESC */
   CHECK(bit(c.u.bitmap, VS_BTN_LEFT));
   CHECK(bit(c.u.bitmap, VS_BTN_LEFT + 2));
   CHECK(!bit(c.u.bitmap, 0));
   CHECK(!bit(c.u.bitmap, 0x100)); /* BTN_0 */
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_EV_BITS, VS_EV_ABS));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 1u);
   CHECK_EQ(c.u.bitmap[0], 0x03);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_EV_BITS, VS_EV_REL));
   CHECK(get_config(&fe, &c));
   CHECK(bit(c.u.bitmap, VS_REL_WHEEL) && bit(c.u.bitmap, VS_REL_HWHEEL));
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_EV_BITS, VS_EV_REP));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 1u);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_EV_BITS, 0x11)); /* EV_LED: none */
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 0u);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ABS_INFO, VS_ABS_Y));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, sizeof(struct vs_virtio_input_absinfo));
   CHECK_EQ(c.u.abs.min, 0u);
   CHECK_EQ(c.u.abs.max, VS_VIRTIO_INPUT_ABS_MAX);
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ABS_INFO, 0x05));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 0u);
   /* Between the driver's two writes: a new select with the old subsel
    * is answered with nothing, not refused; then the subsel alone. */
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_ID_NAME, 0x30));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 0u);
   struct vs_vu_config one = { .offset = 1, .size = 1, .region = { 0 } };
   CHECK(vu_fe_send(&fe.vu, VS_VU_SET_CONFIG, VS_VU_VERSION, &one, VS_VU_CONFIG_HEADER_SIZE + 1, NULL, 0));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.subsel, 0u);
   CHECK_EQ(c.size, strlen("venus-server input"));
   CHECK(set_select(&fe, VS_VIRTIO_INPUT_CFG_PROP_BITS, 0));
   CHECK(get_config(&fe, &c));
   CHECK_EQ(c.size, 0u);
   fe_close(&fe);
}

TEST(events_reach_the_eventq)
{
   struct input_fe fe;
   CHECK(fe_start(&fe));
   /* Before any buffer: the report waits. */
   CHECK(key_report(&fe, 30, 1));
   uint32_t id, len;
   CHECK(!vu_fe_used(&fe.vu, 0, &id, &len));
   offer_event_buffers(&fe, 0, 4, 8, VS_VQ_DESC_F_WRITE);
   CHECK(vu_fe_kick(&fe.vu, 0));
   struct vs_virtio_input_event e;
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len));
   CHECK_EQ(id, 0u);
   CHECK_EQ(len, 8u);
   memcpy(&e, fe.vu.ram + EVENTS_GPA, sizeof(e));
   CHECK_EQ(e.type, VS_EV_KEY);
   CHECK_EQ(e.code, 30u);
   CHECK_EQ(e.value, 1u);
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len));
   CHECK_EQ(id, 1u);
   memcpy(&e, fe.vu.ram + EVENTS_GPA + 16, sizeof(e));
   CHECK_EQ(e.type, VS_EV_SYN);
   CHECK(!vu_fe_used(&fe.vu, 0, &id, &len));
   uint8_t call[8];
   CHECK(read(fe.vu.call[0][0], call, sizeof(call)) == 8);
   /* With buffers there: at once, pointer position and button. */
   const struct vs_virtio_input_event click[4] = {
      { VS_EV_ABS, VS_ABS_X, 16384 }, { VS_EV_ABS, VS_ABS_Y, 32767 }, { VS_EV_KEY, VS_BTN_LEFT, 1 },
      { VS_EV_SYN, VS_SYN_REPORT, 0 },
   };
   offer_event_buffers(&fe, 4, 2, 8, VS_VQ_DESC_F_WRITE);
   CHECK(send_report(&fe, click, sizeof(click)));
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 2);
   memcpy(&e, fe.vu.ram + EVENTS_GPA + 32, sizeof(e));
   CHECK_EQ(e.type, VS_EV_ABS);
   CHECK_EQ(e.code, VS_ABS_X);
   CHECK_EQ(e.value, 16384u);
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 3);
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 4);
   memcpy(&e, fe.vu.ram + EVENTS_GPA + 64, sizeof(e));
   CHECK_EQ(e.code, VS_BTN_LEFT);
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 5);
   CHECK(!vu_fe_used(&fe.vu, 0, &id, &len));
   CHECK_EQ(vs_virtio_input_delivered(fe.input), 6u);
   /* A report larger than the buffers there: its rest waits for the next. */
   offer_event_buffers(&fe, 6, 1, 8, VS_VQ_DESC_F_WRITE);
   CHECK(key_report(&fe, 30, 0));
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 6);
   CHECK(!vu_fe_used(&fe.vu, 0, &id, &len));
   offer_event_buffers(&fe, 7, 1, 8, VS_VQ_DESC_F_WRITE);
   CHECK(vu_fe_kick(&fe.vu, 0));
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 7);
   memcpy(&e, fe.vu.ram + EVENTS_GPA + 112, sizeof(e));
   CHECK_EQ(e.type, VS_EV_SYN);
   /* The statusq's LED events go back unread. */
   vu_put_desc(&fe.vu, DESC(1), 0, EVENTS_GPA + 0x1000, 8, 0, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 1, 0), 0);
   CHECK(!vs_vu_device_failed(fe.vu.dev));
   fe_close(&fe);
}

TEST(a_guest_that_takes_nothing)
{
   struct input_fe fe;
   CHECK(fe_start(&fe));
   for (unsigned i = 0; i < VS_VIRTIO_INPUT_PENDING_MAX; i++)
      CHECK(key_report(&fe, 30, i & 1));
   CHECK_EQ(vs_virtio_input_dropped(fe.input), VS_VIRTIO_INPUT_PENDING_MAX);
   /* The oldest wait and go out once the guest has buffers. */
   offer_event_buffers(&fe, 0, 1, 8, VS_VQ_DESC_F_WRITE);
   CHECK(vu_fe_kick(&fe.vu, 0));
   struct vs_virtio_input_event e;
   memcpy(&e, fe.vu.ram + EVENTS_GPA, sizeof(e));
   CHECK_EQ(e.code, 30u);
   CHECK_EQ(e.value, 0u);
   CHECK(!vs_vu_device_failed(fe.vu.dev));
   fe_close(&fe);
}

TEST(hostile_guest)
{
   struct input_fe fe;
   /* A select virtio-input does not have. */
   CHECK(fe_start(&fe));
   CHECK(!set_select(&fe, 0x42, 0));
   CHECK(vs_vu_device_failed(fe.vu.dev));
   fe_close(&fe);
   /* An eventq buffer the device may not write. */
   CHECK(fe_start(&fe));
   offer_event_buffers(&fe, 0, 1, 8, 0);
   CHECK(vu_fe_kick(&fe.vu, 0)); /* nothing popped before an event is there */
   CHECK(!key_report(&fe, 30, 1));
   CHECK(vs_vu_device_failed(fe.vu.dev));
   uint32_t id, len;
   CHECK(!vu_fe_used(&fe.vu, 0, &id, &len));
   fe_close(&fe);
   /* One too short for an event. */
   CHECK(fe_start(&fe));
   offer_event_buffers(&fe, 0, 1, 4, VS_VQ_DESC_F_WRITE);
   CHECK(!key_report(&fe, 30, 1));
   CHECK(vs_vu_device_failed(fe.vu.dev));
   fe_close(&fe);
   /* One outside guest RAM. */
   CHECK(fe_start(&fe));
   CHECK(key_report(&fe, 30, 1));
   vu_put_desc(&fe.vu, DESC(0), 0, RAM_SIZE - 4, 8, VS_VQ_DESC_F_WRITE, 0);
   vu_fe_offer(&fe.vu, 0, 0);
   CHECK(!vu_fe_kick(&fe.vu, 0));
   fe_close(&fe);
   /* A statusq buffer the device would write. */
   CHECK(fe_start(&fe));
   vu_put_desc(&fe.vu, DESC(1), 0, EVENTS_GPA, 8, VS_VQ_DESC_F_WRITE, 0);
   vu_fe_offer(&fe.vu, 1, 0);
   CHECK(!vu_fe_kick(&fe.vu, 1));
   fe_close(&fe);
}

TEST(malformed_reports)
{
   struct input_fe fe;
   const struct vs_virtio_input_event no_syn[1] = { { VS_EV_KEY, 30, 1 } };
   const struct vs_virtio_input_event bad_key[2] = { { VS_EV_KEY, 0x200, 1 }, { VS_EV_SYN, 0, 0 } };
   const struct vs_virtio_input_event abs_out[2] = { { VS_EV_ABS, VS_ABS_X, 40000 }, { VS_EV_SYN, 0, 0 } };
   const struct vs_virtio_input_event too_many[9] = { { 0 } };
   const uint8_t partial[12] = { 0 };
   CHECK(fe_start(&fe));
   CHECK(!send_report(&fe, no_syn, sizeof(no_syn)));
   fe_close(&fe);
   CHECK(fe_start(&fe));
   CHECK(!send_report(&fe, bad_key, sizeof(bad_key)));
   fe_close(&fe);
   CHECK(fe_start(&fe));
   CHECK(!send_report(&fe, abs_out, sizeof(abs_out)));
   fe_close(&fe);
   CHECK(fe_start(&fe));
   CHECK(!send_report(&fe, too_many, sizeof(too_many)));
   fe_close(&fe);
   CHECK(fe_start(&fe));
   CHECK(send(fe.events[0], partial, sizeof(partial), 0) == sizeof(partial));
   CHECK(!vs_virtio_input_take_report(fe.input, fe.events[1]));
   /* The server's end closing ends the device's run too. */
   close(fe.events[0]);
   fe.events[0] = -1;
   CHECK(!vs_virtio_input_take_report(fe.input, fe.events[1]));
   fe_close(&fe);
}

TEST(viewer_events_as_reports)
{
   struct vs_virtio_input_event r[VS_VIRTIO_INPUT_REPORT_MAX];
   /* A 1024x768 surface: its last pixel is the axis's end, the middle its middle. */
   struct vs_input_event e = { .type = VS_INPUT_MOTION, .x = 1023 * 256 + 255, .y = 384 * 256 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 3u);
   CHECK(r[0].type == VS_EV_ABS && r[0].code == VS_ABS_X && r[0].value == VS_VIRTIO_INPUT_ABS_MAX);
   CHECK(r[1].type == VS_EV_ABS && r[1].code == VS_ABS_Y);
   CHECK(r[1].value >= 16383 && r[1].value <= 16406);
   CHECK(r[2].type == VS_EV_SYN && r[2].code == VS_SYN_REPORT);
   e.x = -5000; /* the page rounds past the edge */
   e.y = 1 << 30;
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 3u);
   CHECK_EQ(r[0].value, 0u);
   CHECK_EQ(r[1].value, VS_VIRTIO_INPUT_ABS_MAX);
   e = (struct vs_input_event){ .type = VS_INPUT_BUTTON, .code = VS_BTN_LEFT + 1, .state = 1 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 2u);
   CHECK(r[0].type == VS_EV_KEY && r[0].code == VS_BTN_LEFT + 1 && r[0].value == 1);
   e = (struct vs_input_event){ .type = VS_INPUT_KEY, .code = 28, .state = 0 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 2u);
   CHECK(r[0].type == VS_EV_KEY && r[0].code == 28 && r[0].value == 0);
   /* The page's wheel turned towards the user (deltaY > 0) scrolls down. */
   e = (struct vs_input_event){ .type = VS_INPUT_AXIS, .code = 0, .x = 100 * 256 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 2u);
   CHECK(r[0].type == VS_EV_REL && r[0].code == VS_REL_WHEEL && (int32_t)r[0].value == -1);
   e.code = 1;
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 2u);
   CHECK(r[0].code == VS_REL_HWHEEL && r[0].value == 1);
   /* What the device does not offer makes no report. */
   e = (struct vs_input_event){ .type = VS_INPUT_KEY, .code = 300, .state = 1 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 0u);
   e = (struct vs_input_event){ .type = VS_INPUT_AXIS, .code = 0, .x = 0 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 0u);
   e = (struct vs_input_event){ .type = 9 };
   CHECK_EQ(vs_input_report(&e, 1024, 768, r), 0u);
}

/* The server's side end to end: a viewer's key on GPU device 1's scanout
 * reaches the eventq of input device 2, the same VMM's, not another's. */
TEST(routed_to_the_same_vmm)
{
   struct input_fe fe;
   CHECK(fe_start(&fe));
   int other[2];
   CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, other) == 0);
   struct vs_input_router *router = vs_input_router_create();
   CHECK(router);
   CHECK(vs_input_router_add_gpu(router, 1, 100));
   CHECK(vs_input_router_add_input(router, 2, 100, fe.events[0]));
   fe.events[0] = -1;
   CHECK(vs_input_router_add_input(router, 4, 200, other[0]));
   offer_event_buffers(&fe, 0, 2, 8, VS_VQ_DESC_F_WRITE);
   const struct vs_input_event key = { .type = VS_INPUT_KEY, .code = 30, .state = 1 };
   vs_input_router_send(router, 1, 640, 480, &key);
   CHECK(vs_virtio_input_take_report(fe.input, fe.events[1]));
   uint32_t id, len;
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 0 && len == 8);
   struct vs_virtio_input_event e;
   memcpy(&e, fe.vu.ram + EVENTS_GPA, sizeof(e));
   CHECK(e.type == VS_EV_KEY && e.code == 30 && e.value == 1);
   CHECK(vu_fe_used(&fe.vu, 0, &id, &len) && id == 1);
   uint8_t buf[64];
   CHECK(recv(other[1], buf, sizeof(buf), MSG_DONTWAIT) < 0);
   /* Input for a device the router does not know goes nowhere. */
   vs_input_router_send(router, 3, 640, 480, &key);
   CHECK(recv(other[1], buf, sizeof(buf), MSG_DONTWAIT) < 0);
   /* Once device 2 is gone its socket is closed: its worker's reading ends. */
   vs_input_router_remove(router, 2);
   CHECK(!vs_virtio_input_take_report(fe.input, fe.events[1]));
   vs_input_router_send(router, 1, 640, 480, &key); /* said once: no input device */
   vs_input_router_send(router, 1, 640, 480, &key);
   vs_input_router_destroy(router);
   close(other[1]);
   fe_close(&fe);
}

UNIT_MAIN(UNIT(handshake), UNIT(config_space), UNIT(events_reach_the_eventq), UNIT(a_guest_that_takes_nothing),
          UNIT(hostile_guest), UNIT(malformed_reports), UNIT(viewer_events_as_reports), UNIT(routed_to_the_same_vmm))

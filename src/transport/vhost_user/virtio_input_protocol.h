/* SPDX-License-Identifier: MIT */
/* virtio-input's wire (virtio 1.x, 5.8): the config space the driver
 * queries with select/subsel, and the 8-byte events of its queues. Linux
 * evdev numbers (type, code) are the event vocabulary. All little-endian;
 * the device runs on little-endian hosts only, as the rest of
 * transport/vhost_user does. */
#ifndef VS_VIRTIO_INPUT_PROTOCOL_H
#define VS_VIRTIO_INPUT_PROTOCOL_H

#include <stdint.h>

#define VS_VIRTIO_ID_INPUT 18u
#define VS_VIRTIO_INPUT_QUEUE_EVENT 0u  /* device -> driver */
#define VS_VIRTIO_INPUT_QUEUE_STATUS 1u /* driver -> device (LEDs): read and dropped */

/* config.select */
enum vs_virtio_input_select {
   VS_VIRTIO_INPUT_CFG_UNSET = 0x00,
   VS_VIRTIO_INPUT_CFG_ID_NAME = 0x01,
   VS_VIRTIO_INPUT_CFG_ID_SERIAL = 0x02,
   VS_VIRTIO_INPUT_CFG_ID_DEVIDS = 0x03,
   VS_VIRTIO_INPUT_CFG_PROP_BITS = 0x10,
   VS_VIRTIO_INPUT_CFG_EV_BITS = 0x11,
   VS_VIRTIO_INPUT_CFG_ABS_INFO = 0x12,
};

struct vs_virtio_input_absinfo {
   uint32_t min, max, fuzz, flat, res;
};

struct vs_virtio_input_devids {
   uint16_t bustype, vendor, product, version;
};

struct vs_virtio_input_config {
   uint8_t select;
   uint8_t subsel;
   uint8_t size;     /* bytes of `u` that answer select/subsel; 0: none */
   uint8_t reserved[5];
   union {
      char string[128];
      uint8_t bitmap[128];
      struct vs_virtio_input_absinfo abs;
      struct vs_virtio_input_devids ids;
   } u;
};
_Static_assert(sizeof(struct vs_virtio_input_config) == 136, "virtio_input_config is 136 bytes");

struct vs_virtio_input_event {
   uint16_t type;
   uint16_t code;
   uint32_t value;
};
_Static_assert(sizeof(struct vs_virtio_input_event) == 8, "virtio_input_event is 8 bytes");

/* evdev numbers (linux/input-event-codes.h) the device uses. */
#define VS_EV_SYN 0x00u
#define VS_EV_KEY 0x01u
#define VS_EV_REL 0x02u
#define VS_EV_ABS 0x03u
#define VS_EV_REP 0x14u
#define VS_EV_MAX 0x1fu
#define VS_SYN_REPORT 0u
#define VS_REL_HWHEEL 0x06u
#define VS_REL_WHEEL 0x08u
#define VS_ABS_X 0x00u
#define VS_ABS_Y 0x01u
#define VS_ABS_MAX 0x3fu
#define VS_BTN_LEFT 0x110u
#define VS_BTN_TASK 0x117u
#define VS_BUS_VIRTUAL 0x06u

#endif

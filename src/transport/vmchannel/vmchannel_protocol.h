/* SPDX-License-Identifier: MIT */
/* The VM presentation channel's wire format: what a VM guest's compositor
 * (guest/present/) and venus-server say over a virtio-serial port whose
 * host end is a Unix socket (docs/vm-display.md). Shared by both ends, so
 * it holds only layouts and limits, no code.
 *
 * Every message is a header and a body, little-endian, 4-byte aligned:
 * `size` counts the whole message (header included) and is exactly the
 * size its type defines. A reader that sees an unknown type, a size that
 * is not the type's, or a size over VS_VMCH_MAX_MESSAGE refuses the
 * message. The stream is a byte stream (virtio-serial keeps no message
 * boundaries): a reader frames it by `size`.
 *
 * The guest speaks first (HELLO); the host answers HELLO and CONFIGURE.
 * A guest that reboots reconnects and starts again with HELLO: the host
 * forgets every surface of the earlier session. */
#ifndef VS_VMCHANNEL_PROTOCOL_H
#define VS_VMCHANNEL_PROTOCOL_H

#include <stdint.h>

#define VS_VMCH_VERSION 1
/* The virtio-serial port name a guest looks for under
 * /sys/class/virtio-ports/\*\/name. */
#define VS_VMCH_PORT_NAME "org.venus-server.display.0"
#define VS_VMCH_MAX_MESSAGE 64
/* Surfaces one guest session may have at once. */
#define VS_VMCH_MAX_SURFACES 64
/* What an ATTACH may show: LINEAR images of these DRM formats (fourccs
 * 'XR24', 'AR24'), each side 1..VS_VMCH_MAX_DIM. */
#define VS_VMCH_FORMAT_XRGB8888 0x34325258u
#define VS_VMCH_FORMAT_ARGB8888 0x34325241u
#define VS_VMCH_MAX_DIM 16384u

enum vs_vmch_type {
   /* guest -> host */
   VS_VMCH_HELLO = 1,      /* both ways: struct vs_vmch_hello */
   VS_VMCH_ATTACH = 2,     /* struct vs_vmch_attach */
   VS_VMCH_COMMIT = 3,     /* struct vs_vmch_commit */
   VS_VMCH_DESTROY = 4,    /* struct vs_vmch_surface */
   /* host -> guest */
   VS_VMCH_CONFIGURE = 16, /* struct vs_vmch_configure */
   VS_VMCH_RELEASE = 17,   /* struct vs_vmch_release */
   VS_VMCH_FRAME = 18,     /* struct vs_vmch_frame */
   VS_VMCH_POINTER_MOTION = 19, /* struct vs_vmch_pointer_motion */
   VS_VMCH_POINTER_BUTTON = 20, /* struct vs_vmch_input */
   VS_VMCH_POINTER_AXIS = 21,   /* struct vs_vmch_pointer_axis */
   VS_VMCH_KEY = 22,            /* struct vs_vmch_input */
};

struct vs_vmch_header {
   uint32_t type;
   uint32_t size;
};

struct vs_vmch_hello {
   struct vs_vmch_header header;
   uint32_t version; /* VS_VMCH_VERSION */
   uint32_t flags;   /* 0 */
};

/* Surface `surface` (a guest-chosen id, not 0) shows, from its next
 * COMMIT, the host resource `res_id`: the id the guest kernel reports for
 * the dma-buf (DRM_IOCTL_VIRTGPU_RESOURCE_INFO res_handle). The image is
 * one plane, LINEAR, `drm_fourcc` (XRGB8888 or ARGB8888), at `offset`
 * bytes into the resource, `stride` bytes per row. */
struct vs_vmch_attach {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t res_id;
   uint32_t offset;
   uint32_t stride;
   uint32_t width;
   uint32_t height;
   uint32_t drm_fourcc;
   uint32_t reserved; /* 0 */
};

/* The attached resource is the surface's new content. `serial` counts the
 * surface's commits; FRAME and RELEASE name it back. */
struct vs_vmch_commit {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t serial;
};

struct vs_vmch_surface {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t reserved; /* 0 */
};

/* The size the host shows the guest's surfaces at (the page's canvas). */
struct vs_vmch_configure {
   struct vs_vmch_header header;
   uint32_t width;
   uint32_t height;
};

/* The host no longer reads `res_id` for `surface` (wl_buffer.release). */
struct vs_vmch_release {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t res_id;
};

/* A good time to draw the surface's next frame (the frame callback of the
 * commit `serial`); `time_ms` is the host's clock, for the callback. */
struct vs_vmch_frame {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t serial;
   uint32_t time_ms;
   uint32_t reserved;
};

/* Surface-local position in 24.8 fixed point, as wl_fixed_t. */
struct vs_vmch_pointer_motion {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t time_ms;
   int32_t x;
   int32_t y;
};

/* A button (Linux evdev code, BTN_LEFT...) or a key (evdev KEY_*):
 * state 1 pressed, 0 released. */
struct vs_vmch_input {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t time_ms;
   uint32_t code;
   uint32_t state;
};

/* axis 0 vertical, 1 horizontal (wl_pointer.axis); value in 24.8 fixed. */
struct vs_vmch_pointer_axis {
   struct vs_vmch_header header;
   uint32_t surface;
   uint32_t time_ms;
   uint32_t axis;
   int32_t value;
};

#endif

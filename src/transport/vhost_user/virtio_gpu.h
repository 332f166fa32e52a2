/* SPDX-License-Identifier: MIT */
/* A VM's virtio-gpu device over vhost-user: the device type on top of
 * vhost_user_device.h. Served: the control queue's 2D commands (what a
 * stock kernel's console and fbdev use), guest blobs, the Venus capset's
 * info and bytes, EDID, the cursor queue (its image handed on) and, with context
 * options, Venus contexts with their host blobs, mappings and fences
 * (virtio_gpu_contexts.h). Host copies of the guest's 2D resources are
 * bounded per device; each flush of a resource on a scanout (of up to
 * VS_VIRTIO_GPU_MAX_SCANOUTS, each with a mode of its own) is handed to
 * `on_flush`. */
#ifndef VS_VIRTIO_GPU_H
#define VS_VIRTIO_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "context/context.h"
#include "transport/vhost_user/virtio_gpu_protocol.h"

struct vs_vu_device;
struct vs_virtio_gpu;

/* Where the blue, green and red bytes of a pixel of a virtio-gpu format
 * are among its 4 (each format names its bytes in memory); false for a
 * format the device does not serve. */
bool vs_virtio_gpu_format_order(uint32_t format, uint8_t bgr[3]);

/* The scanout's visible pixels after a flush: `pixels` is its top-left
 * pixel inside the resource (4 bytes a pixel in `format`, one that
 * vs_virtio_gpu_format_order knows), rows `stride` bytes apart. Valid
 * during the call only. */
typedef void (*vs_virtio_gpu_flush_fn)(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width,
                                       uint32_t height, uint32_t stride, uint32_t format);

/* A host blob's frame, shown in place: `fd` (the device's, valid during
 * the call) holds `size` bytes, the frame's first pixel `offset` bytes in,
 * rows `stride` apart. `buffer` names the blob: no other blob of the
 * device ever has its number. The callee returns once the frame was read:
 * the guest may draw into it as soon as the flush is answered. */
struct vs_virtio_gpu_buffer_frame {
   uint64_t buffer;
   int fd;
   uint64_t size, offset;
   uint32_t stride, width, height;
};
typedef void (*vs_virtio_gpu_flush_buffer_fn)(void *data, uint32_t scanout,
                                              const struct vs_virtio_gpu_buffer_frame *frame);

/* The cursor queue's image after an UPDATE_CURSOR on `scanout` (each
 * scanout has a cursor of its own, as each monitor's plane): the cursor
 * resource's top-left `width` x `height` pixels (B8G8R8A8 as the guest
 * wrote them, rows `stride` apart), valid during the call, and its
 * hotspot; NULL: the guest shows no cursor there, or one the device
 * cannot show (logged once). */
typedef void (*vs_virtio_gpu_cursor_fn)(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width,
                                        uint32_t height, uint32_t stride, uint32_t hot_x, uint32_t hot_y);

struct render_client;

struct vs_virtio_gpu_options {
   uint32_t id;                  /* names the device in log lines */
   uint32_t width, height;       /* each scanout's mode at start, 1..4095 each */
   uint32_t scanouts;            /* 1..VS_VIRTIO_GPU_MAX_SCANOUTS, each enabled */
   /* The most pixels a mode (and a frame) may have; at least width x
    * height. */
   uint64_t max_pixels;
   uint64_t shmem_size;          /* the host-visible region, a page multiple (0: none) */
   uint64_t max_resource_bytes;  /* host copies of 2D resources, in all */
   uint32_t max_resources;
   /* The Venus contexts' options; NULL: the device offers no 3D. */
   const struct vs_context_options *context_options;
   /* Where each Venus context runs in a worker of its own
    * (transport/vmm/render_client.h; the device takes it, even when its
    * creation fails); NULL: in this process. */
   struct render_client *contexts_apart;
   vs_virtio_gpu_flush_fn on_flush; /* may be NULL */
   /* A host blob's frames; NULL: they go to on_flush, from a mapping. */
   vs_virtio_gpu_flush_buffer_fn on_flush_buffer;
   vs_virtio_gpu_cursor_fn on_cursor; /* may be NULL */
   void *flush_data;
};

/* What the cursor queue last said. */
struct vs_virtio_gpu_cursor {
   uint32_t scanout, x, y;
   uint32_t resource_id, hot_x, hot_y;
};

/* A device on a connected vhost-user socket (owned from now on). NULL with
 * a log line when the options are invalid. */
struct vs_virtio_gpu *vs_virtio_gpu_create(int sock, const struct vs_virtio_gpu_options *options);
void vs_virtio_gpu_destroy(struct vs_virtio_gpu *gpu);

/* The vhost-user device to poll and run. */
struct vs_vu_device *vs_virtio_gpu_device(struct vs_virtio_gpu *gpu);
struct vs_virtio_gpu_cursor vs_virtio_gpu_cursor(const struct vs_virtio_gpu *gpu);

/* What scanout `scanout` shows, and the cursor if it is on it, handed on
 * again as a flush hands them (the display lost them). */
void vs_virtio_gpu_reshow(struct vs_virtio_gpu *gpu, uint32_t scanout);

/* Scanout `scanout`'s mode (< options.scanouts; the others' stay) becomes
 * about `width` x `height` (a viewer's window):
 * each side kept within 16..4095 and the area within max_pixels, keeping
 * the shape. When that changes it, the guest is told as a monitor's
 * hotplug tells it (VIRTIO_GPU_EVENT_DISPLAY, once until the guest clears
 * it), and its next GET_DISPLAY_INFO and GET_EDID answer the new mode.
 * Returns whether the mode changed; *width, *height: the mode now. false
 * with why when the front end could not be told (the mode stays). */
bool vs_virtio_gpu_set_mode(struct vs_virtio_gpu *gpu, uint32_t scanout, uint32_t *width, uint32_t *height,
                            char *why, size_t why_size);

#endif

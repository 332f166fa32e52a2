/* SPDX-License-Identifier: MIT */
/* Between the parts of vs-guest-present: main.c owns struct vgp and the
 * event loop; compositor.c serves the surfaces, shells and the output and
 * speaks for them on the channel (channel.c); dmabuf.c makes the
 * buffers. Everything runs on the one Wayland thread. */
#ifndef VGP_PRESENT_H
#define VGP_PRESENT_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "compositor/dmabuf.h"
#include "compositor/surface.h"
#include "transport/vmchannel/vmchannel_protocol.h"

struct vgp_channel;
struct vs_seat;
struct vs_xdg_shell;

struct vgp {
   struct wl_display *display;
   struct wl_event_loop *loop;
   struct vs_compositor_config compositor; /* compositor.c's surfaces */
   struct vs_dmabuf_config dmabuf;      /* dmabuf.c's buffers */
   struct vgp_channel *channel;
   int drm_fd;                          /* the guest's virtio-gpu */
   struct wl_list surfaces;             /* struct vgp_surface, by link */
   struct vs_xdg_shell *shell;          /* xdg_wm_base, its toplevels */
   struct wl_list outputs;              /* wl_output resources */
   struct wl_list local_callbacks;      /* frame callbacks the host will not answer */
   struct wl_event_source *local_tick;
   bool local_tick_armed;
   struct vs_seat *seat;
   uint32_t next_surface_id;
   uint32_t input_surface;              /* the surface the host's last input named */
   uint32_t width, height;              /* the host's CONFIGURE (the output's mode) */
   /* figures */
   uint64_t commits, forwarded, fence_waits, releases, frames, refused_buffers;
};

/* A dma-buf wl_buffer (dmabuf.c). Its storage outlives the wl_buffer
 * while commits or the host still hold it. */
struct vgp_buffer {
   struct vs_dmabuf_buffer base;        /* its wl_buffer */
   int fd;                              /* the dma-buf: keeps the host resource alive, carries its fences */
   uint32_t res_id, offset, stride, width, height, fourcc;
   uint32_t refs;                       /* waiting commits and host attachments */
   uint32_t host_holds;                 /* ATTACHes the host has not RELEASEd */
};

/* compositor.c */
bool vgp_compositor_init(struct vgp *p);
void vgp_compositor_fini(struct vgp *p);
void vgp_on_channel_ready(void *data, bool ready);
void vgp_on_host_message(void *data, const struct vs_vmch_header *message);

/* dmabuf.c */
bool vgp_dmabuf_init(struct vgp *p);
/* The buffer behind a wl_buffer, or NULL if it is not one of ours. */
struct vgp_buffer *vgp_buffer_from_resource(struct wl_resource *resource);
void vgp_buffer_ref(struct vgp_buffer *b);
void vgp_buffer_unref(struct vgp_buffer *b);

#endif

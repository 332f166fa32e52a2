/* SPDX-License-Identifier: MIT */
/* The VM presentation channel, host side (docs/vm-display.md): a VM guest's
 * compositor says over a virtio-serial port "surface S shows resource R",
 * and the display shows the server's own memory behind R. The display
 * starts it in its event loop (it runs on the display's Wayland thread)
 * and is reached only through the hooks below; its wire format is
 * vmchannel_protocol.h, which the guest's compositor shares.
 *
 * The port's host end is a Unix socket: QEMU's `-chardev socket` as the
 * server (the channel connects to PATH, again and again while it is
 * absent or after it closes) or as the client (`listen:PATH`: the channel
 * listens and serves one connection at a time). Each HELLO starts a guest
 * session; the surfaces of the one before are forgotten. A bad message is
 * refused with one log line; a second one in a session closes the
 * connection (the guest reconnects); the VM's contexts go on. */
#ifndef VS_VMCHANNEL_H
#define VS_VMCHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_input_event;
struct vs_vm_resource_table;
struct wl_event_loop;

/* A checked image a COMMIT shows: a SHAREABLE blob's memory, by inode. */
struct vs_vmch_image {
   uint32_t res_id, ctx_id;
   uint64_t st_dev, st_ino;
   uint32_t offset, stride, width, height, fourcc;
};

/* What the channel asks of the display, on the display's thread. */
struct vs_vmchannel_display {
   /* Shows `image` as surface `surface`'s new content (commit `serial` of
    * guest session `session`). False (why filled) when the memory cannot be
    * read: the COMMIT is refused. The display answers RELEASE and FRAME
    * later through vs_vmchannel_release / vs_vmchannel_frame. */
   bool (*commit)(void *data, uint64_t session, uint32_t surface, uint32_t serial, const struct vs_vmch_image *image,
                  char *why, size_t why_size);
   /* The surface is gone (DESTROY, or the end of its session). */
   void (*destroy)(void *data, uint32_t surface);
   void *data;
};

/* `spec`: PATH (connect) or listen:PATH. NULL (the reason logged) if it
 * cannot be set up. */
struct vs_vmchannel *vs_vmchannel_start(struct wl_event_loop *loop, const char *spec,
                                        struct vs_vm_resource_table *resources,
                                        const struct vs_vmchannel_display *display);
/* Closes the connection (its surfaces destroyed) and frees the channel. */
void vs_vmchannel_stop(struct vs_vmchannel *channel);

/* Host -> guest; dropped unless `session` is the open guest session. */
void vs_vmchannel_release(struct vs_vmchannel *channel, uint64_t session, uint32_t surface, uint32_t res_id);
void vs_vmchannel_frame(struct vs_vmchannel *channel, uint64_t session, uint32_t surface, uint32_t serial,
                        uint32_t time_ms);
/* The page's input for the shown guest surface (surface coordinates). */
void vs_vmchannel_input(struct vs_vmchannel *channel, uint32_t surface, const struct vs_input_event *event);
/* The size the guest's surfaces are shown at; sent now and after each HELLO. */
void vs_vmchannel_configure(struct vs_vmchannel *channel, uint32_t width, uint32_t height);

#endif

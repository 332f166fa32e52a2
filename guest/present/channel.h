/* SPDX-License-Identifier: MIT */
/* The guest's end of the presentation channel: the virtio-serial port
 * named VS_VMCH_PORT_NAME (src/transport/vmchannel/vmchannel_protocol.h),
 * a character device. It is reopened whenever the host end is not there
 * (the port reads EOF and polls HUP until a host process connects to
 * QEMU's chardev) or says something malformed; each opening starts a
 * session with HELLO, and the session is ready once the host's HELLO came
 * back. */
#ifndef VGP_CHANNEL_H
#define VGP_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "transport/vmchannel/vmchannel_protocol.h"

struct wl_event_loop;

struct vgp_channel_events {
   /* The session became ready (true) or ended (false). */
   void (*ready)(void *data, bool ready);
   /* One host message, size-checked against its type; only while ready. */
   void (*message)(void *data, const struct vs_vmch_header *message);
   void *data;
};

/* /dev/vportNpM of the port named VS_VMCH_PORT_NAME: 0, or -1 if none. */
int vgp_port_find(char *path, size_t size);
/* The byte size a message of `type` has, or 0 for a type the host does
 * not send. */
size_t vgp_host_message_size(uint32_t type);

struct vgp_channel;
/* `port`: a path to use instead of looking the port up (NULL: look). */
struct vgp_channel *vgp_channel_start(struct wl_event_loop *loop, const char *port,
                                      const struct vgp_channel_events *events);
bool vgp_channel_ready(const struct vgp_channel *channel);
/* Queues one message (header.size bytes); false (the session then ends)
 * if the host has stopped reading. Nothing is sent while not ready. */
bool vgp_channel_send(struct vgp_channel *channel, const void *message);
void vgp_channel_stop(struct vgp_channel *channel);

#endif

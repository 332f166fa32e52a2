/* SPDX-License-Identifier: MIT */
/* The compositors' seat (seat.c): the display's, driven by the browser
 * viewers, and vs-guest-present's (guest/present/), driven by the VM
 * channel's input. */
#ifndef VS_COMPOSITOR_SEAT_H
#define VS_COMPOSITOR_SEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "compositor/input.h"

struct wl_display;
struct wl_resource;


/* The seat's view of the display: the shown surface (the focus) and its
 * buffer size; NULL if none. */
struct vs_seat_focus {
   struct wl_resource *(*shown)(void *data, uint32_t *width, uint32_t *height);
   /* On the Wayland thread, before delivery: true if the event went
    * elsewhere (the shown surface is a VM guest's); NULL: never. */
   bool (*divert)(void *data, const struct vs_input_event *event);
   void *data;
};
struct vs_seat;
struct vs_seat *vs_seat_start(struct wl_display *display, const struct vs_seat_focus *focus);
void vs_seat_stop(struct vs_seat *seat);
/* Any thread; the Wayland thread delivers it (a full queue drops it). */
void vs_seat_queue(struct vs_seat *seat, const struct vs_input_event *event);

#endif

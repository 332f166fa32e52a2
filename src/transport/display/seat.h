/* SPDX-License-Identifier: MIT */
/* The display's seat (seat.c) and the input events it delivers: apart
 * from the rest of the display, because the VM guest's compositor
 * (guest/present/) serves its clients with the same seat, driven by the
 * presentation channel instead of the browser viewers. */
#ifndef VS_DISPLAY_SEAT_H
#define VS_DISPLAY_SEAT_H

#include <stdint.h>

struct wl_display;
struct wl_resource;

/* Input, delivered to the shown surface. */
enum vs_input_type {
   VS_INPUT_MOTION = 3,   /* x, y: surface coordinates, wl_fixed (24.8) */
   VS_INPUT_BUTTON = 4,   /* code: evdev button (BTN_LEFT 0x110...), state 0/1 */
   VS_INPUT_AXIS = 5,     /* code: 0 vertical, 1 horizontal; x: wl_fixed */
   VS_INPUT_KEY = 6,      /* code: evdev key, state 0/1 */
};
struct vs_input_event {
   uint32_t type, code, state, time_ms;
   int32_t x, y;
};

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

/* SPDX-License-Identifier: MIT */
/* The input a compositor's seat (seat.c) delivers to the shown surface,
 * wherever it comes from: the browser viewers (the display's HTTP side),
 * or the VM channel's host messages (vs-guest-present). Apart from the
 * seat, so that what parses input needs no Wayland. */
#ifndef VS_COMPOSITOR_INPUT_H
#define VS_COMPOSITOR_INPUT_H

#include <stdint.h>

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

/* A pointer coordinate (wl_fixed) within a surface of `size` pixels (0:
 * one): the page may round past its edge. Any size a Wayland client gives
 * (a wl_shm buffer may be 2^24 wide or more). */
int32_t vs_input_clamp_fixed(int32_t v, uint32_t size);

#endif

/* SPDX-License-Identifier: MIT */
/* A Wayland client that records the input it receives, for the display's
 * browser test: a WIDTHxHEIGHT wl_shm toplevel redrawn at every frame
 * callback (a moving bar, and a cross where the last button went down),
 * a wl_seat's pointer and keyboard. The keymap the seat sends is compiled
 * with libxkbcommon, and each key press is turned into text through it and
 * the modifiers the seat reports, as a real toolkit would. One line per
 * event on stdout (flushed):
 *   keymap ok | keymap FAILED
 *   pointer enter X Y | motion X Y | button CODE STATE X Y | axis AXIS VALUE
 *   key CODE STATE | text TEXT-SO-FAR   (after each press that makes text)
 *
 *   wl_input WIDTH HEIGHT SECONDS     (WAYLAND_DISPLAY names the display) */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include <xkbcommon/xkbcommon.h>

#include "xdg-shell-client-protocol.h"

static struct wl_compositor *compositor;
static struct wl_shm *shm;
static struct wl_seat *seat;
static struct xdg_wm_base *wm;
static struct wl_surface *surface;
static struct wl_buffer *buffer;
static uint32_t *pixels;
static int width, height;
static bool configured;
static unsigned frame;
static double px, py, cross_x = -1, cross_y = -1;
static struct xkb_context *xkb;
static struct xkb_keymap *keymap;
static struct xkb_state *xkb_state;
static char text[256];

static void
global(void *data, struct wl_registry *reg, uint32_t name, const char *iface, uint32_t version)
{
   if (!strcmp(iface, "wl_compositor"))
      compositor = wl_registry_bind(reg, name, &wl_compositor_interface, 4);
   else if (!strcmp(iface, "wl_shm"))
      shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
   else if (!strcmp(iface, "wl_seat"))
      seat = wl_registry_bind(reg, name, &wl_seat_interface, version < 5 ? version : 5);
   else if (!strcmp(iface, "xdg_wm_base"))
      wm = wl_registry_bind(reg, name, &xdg_wm_base_interface, 1);
}

static void
global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
}

static const struct wl_registry_listener reg_listener = { global, global_remove };

static void
wm_ping(void *data, struct xdg_wm_base *base, uint32_t serial)
{
   xdg_wm_base_pong(base, serial);
}

static const struct xdg_wm_base_listener wm_listener = { wm_ping };

static void
xs_configure(void *data, struct xdg_surface *xs, uint32_t serial)
{
   xdg_surface_ack_configure(xs, serial);
   configured = true;
}

static const struct xdg_surface_listener xs_listener = { xs_configure };

/* --- pointer ---------------------------------------------------------- */

static void
p_enter(void *d, struct wl_pointer *p, uint32_t serial, struct wl_surface *s, wl_fixed_t x, wl_fixed_t y)
{
   px = wl_fixed_to_double(x);
   py = wl_fixed_to_double(y);
   printf("pointer enter %.2f %.2f\n", px, py);
}

static void
p_leave(void *d, struct wl_pointer *p, uint32_t serial, struct wl_surface *s)
{
   printf("pointer leave\n");
}

static void
p_motion(void *d, struct wl_pointer *p, uint32_t time, wl_fixed_t x, wl_fixed_t y)
{
   px = wl_fixed_to_double(x);
   py = wl_fixed_to_double(y);
   printf("motion %.2f %.2f\n", px, py);
}

static void
p_button(void *d, struct wl_pointer *p, uint32_t serial, uint32_t time, uint32_t button, uint32_t state)
{
   printf("button 0x%x %u %.2f %.2f\n", button, state, px, py);
   if (state) {
      cross_x = px;
      cross_y = py;
   }
}

static void
p_axis(void *d, struct wl_pointer *p, uint32_t time, uint32_t axis, wl_fixed_t value)
{
   printf("axis %u %.2f\n", axis, wl_fixed_to_double(value));
}

static void
p_frame(void *d, struct wl_pointer *p)
{
}

static void
p_axis_source(void *d, struct wl_pointer *p, uint32_t source)
{
}

static void
p_axis_stop(void *d, struct wl_pointer *p, uint32_t time, uint32_t axis)
{
}

static void
p_axis_discrete(void *d, struct wl_pointer *p, uint32_t axis, int32_t discrete)
{
}

static const struct wl_pointer_listener pointer_listener = {
   .enter = p_enter, .leave = p_leave, .motion = p_motion, .button = p_button, .axis = p_axis, .frame = p_frame,
   .axis_source = p_axis_source, .axis_stop = p_axis_stop, .axis_discrete = p_axis_discrete,
};

/* --- keyboard ------------------------------------------------------------ */

static void
k_keymap(void *d, struct wl_keyboard *k, uint32_t format, int32_t fd, uint32_t size)
{
   char *map = format == WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1 ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)
                                                         : MAP_FAILED;
   close(fd);
   if (map != MAP_FAILED) {
      keymap = xkb_keymap_new_from_buffer(xkb, map, strnlen(map, size), XKB_KEYMAP_FORMAT_TEXT_V1, 0);
      munmap(map, size);
   }
   if (keymap)
      xkb_state = xkb_state_new(keymap);
   printf("keymap %s\n", xkb_state ? "ok" : "FAILED");
}

static void
k_enter(void *d, struct wl_keyboard *k, uint32_t serial, struct wl_surface *s, struct wl_array *keys)
{
   printf("keyboard enter\n");
}

static void
k_leave(void *d, struct wl_keyboard *k, uint32_t serial, struct wl_surface *s)
{
   printf("keyboard leave\n");
}

static void
k_key(void *d, struct wl_keyboard *k, uint32_t serial, uint32_t time, uint32_t key, uint32_t state)
{
   printf("key %u %u\n", key, state);
   if (!state || !xkb_state)
      return;
   char utf8[8];
   int n = xkb_state_key_get_utf8(xkb_state, key + 8, utf8, sizeof(utf8));
   if (n > 0 && (unsigned char)utf8[0] >= 0x20 && strlen(text) + (size_t)n < sizeof(text)) {
      strcat(text, utf8);
      printf("text %s\n", text);
   }
}

static void
k_modifiers(void *d, struct wl_keyboard *k, uint32_t serial, uint32_t depressed, uint32_t latched, uint32_t locked,
            uint32_t group)
{
   if (xkb_state)
      xkb_state_update_mask(xkb_state, depressed, latched, locked, 0, 0, group);
}

static void
k_repeat(void *d, struct wl_keyboard *k, int32_t rate, int32_t delay)
{
}

static const struct wl_keyboard_listener keyboard_listener = {
   .keymap = k_keymap, .enter = k_enter, .leave = k_leave, .key = k_key, .modifiers = k_modifiers,
   .repeat_info = k_repeat,
};

/* --- drawing ------------------------------------------------------------- */

static void redraw(void);

static void
frame_done(void *data, struct wl_callback *cb, uint32_t time)
{
   wl_callback_destroy(cb);
   redraw();
}

static const struct wl_callback_listener frame_listener = { frame_done };

static void
redraw(void)
{
   frame++;
   int bar = (int)(frame * 4 % (unsigned)width);
   for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
         uint32_t c = 0xff004000u | (uint32_t)(x * 255 / width) << 16 | (uint32_t)(y * 255 / height);
         if (x >= bar && x < bar + 8)
            c = 0xffffffffu;
         if (cross_x >= 0 && ((abs(x - (int)cross_x) < 2 && abs(y - (int)cross_y) < 12) ||
                              (abs(y - (int)cross_y) < 2 && abs(x - (int)cross_x) < 12)))
            c = 0xffff2020u;
         pixels[y * width + x] = c;
      }
   wl_surface_attach(surface, buffer, 0, 0);
   wl_surface_damage(surface, 0, 0, width, height);
   wl_callback_add_listener(wl_surface_frame(surface), &frame_listener, NULL);
   wl_surface_commit(surface);
}

int
main(int argc, char **argv)
{
   if (argc != 4) {
      fprintf(stderr, "usage: wl_input WIDTH HEIGHT SECONDS\n");
      return 2;
   }
   width = atoi(argv[1]);
   height = atoi(argv[2]);
   double seconds = atof(argv[3]);
   setvbuf(stdout, NULL, _IOLBF, 0);
   xkb = xkb_context_new(XKB_CONTEXT_NO_DEFAULT_INCLUDES | XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
   struct wl_display *dpy = wl_display_connect(NULL);
   if (!dpy || !xkb) {
      fprintf(stderr, "wl_input: cannot connect to the display\n");
      return 1;
   }
   struct wl_registry *reg = wl_display_get_registry(dpy);
   wl_registry_add_listener(reg, &reg_listener, NULL);
   wl_display_roundtrip(dpy);
   if (!compositor || !shm || !wm || !seat) {
      fprintf(stderr, "wl_input: the display lacks wl_compositor, wl_shm, xdg_wm_base or wl_seat\n");
      return 1;
   }
   xdg_wm_base_add_listener(wm, &wm_listener, NULL);
   wl_pointer_add_listener(wl_seat_get_pointer(seat), &pointer_listener, NULL);
   wl_keyboard_add_listener(wl_seat_get_keyboard(seat), &keyboard_listener, NULL);

   size_t size = (size_t)width * height * 4;
   int fd = memfd_create("wl_input", MFD_CLOEXEC);
   if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
      return 1;
   pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
   buffer = wl_shm_pool_create_buffer(pool, 0, width, height, width * 4, WL_SHM_FORMAT_XRGB8888);
   surface = wl_compositor_create_surface(compositor);
   struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(wm, surface);
   xdg_surface_add_listener(xs, &xs_listener, NULL);
   xdg_toplevel_set_title(xdg_surface_get_toplevel(xs), "wl_input");
   wl_surface_commit(surface);
   while (!configured && wl_display_dispatch(dpy) >= 0) {
   }
   redraw();
   printf("ready\n");

   struct timespec t0, t;
   clock_gettime(CLOCK_MONOTONIC, &t0);
   for (;;) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      double left = seconds - ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
      if (left <= 0)
         break;
      wl_display_flush(dpy);
      struct pollfd pfd = { wl_display_get_fd(dpy), POLLIN, 0 };
      if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0 && wl_display_dispatch(dpy) < 0) {
         fprintf(stderr, "wl_input: the display closed the connection\n");
         return 1;
      }
   }
   printf("done\n");
   return 0;
}

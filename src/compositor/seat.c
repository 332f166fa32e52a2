/* SPDX-License-Identifier: MIT */
/* A compositor's wl_seat (v5): one pointer and one keyboard, driven by the
 * owner's input (the display's browser viewers, only with --input; the VM
 * channel in vs-guest-present) and delivered to the shown surface, which is
 * the focused one. Events come from any thread (the display's HTTP thread)
 * through a bounded queue and an event fd into the Wayland loop.
 * Every wl_keyboard gets the US keymap of keymap.c in its own sealed
 * shared-memory copy, so no client can change another's. Modifiers are the
 * compositor's to track: the seat keeps the held modifier keys and Caps
 * Lock and sends wl_keyboard.modifiers when they change. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "compositor/seat.h"
#include "os/os.h"
#include "base/log.h"

#define SEAT_VERSION 5
#define QUEUE_MAX 512
#define MAX_HELD 64

extern const char vs_keymap_text[];

/* Core modifier bits (XKB's real modifiers, the keymap's modifier_map). */
#define MOD_SHIFT 0x01u
#define MOD_LOCK 0x02u
#define MOD_CONTROL 0x04u
#define MOD_ALT 0x08u
#define MOD_SUPER 0x40u

struct vs_seat {
   struct wl_display *display;
   struct vs_seat_focus focus;
   struct wl_global *global;
   struct wl_event_source *source;
   struct os_event wake;
   pthread_mutex_t lock;
   struct vs_input_event queue[QUEUE_MAX];
   uint32_t head, len;
   uint64_t overflowed;
   struct wl_list pointers, keyboards;     /* resources, by their links */
   struct wl_resource *pointer_focus, *keyboard_focus;  /* surfaces */
   struct wl_listener pointer_focus_gone, keyboard_focus_gone;
   int32_t x, y;                           /* wl_fixed, surface coordinates */
   uint32_t held[MAX_HELD], n_held;        /* evdev key codes */
   uint32_t depressed, locked;
   uint64_t delivered;
};

static uint32_t
modifier_of(uint32_t key)
{
   switch (key) {
   case 42: case 54: return MOD_SHIFT;
   case 29: case 97: return MOD_CONTROL;
   case 56: case 100: return MOD_ALT;
   case 125: case 126: return MOD_SUPER;
   default: return 0;
   }
}

static uint32_t
held_modifiers(const struct vs_seat *seat)
{
   uint32_t m = 0;
   for (uint32_t i = 0; i < seat->n_held; i++)
      m |= modifier_of(seat->held[i]);
   return m;
}

void
vs_seat_queue(struct vs_seat *seat, const struct vs_input_event *e)
{
   pthread_mutex_lock(&seat->lock);
   if (seat->len == QUEUE_MAX) {
      seat->overflowed++;
   } else {
      seat->queue[(seat->head + seat->len) % QUEUE_MAX] = *e;
      seat->len++;
   }
   pthread_mutex_unlock(&seat->lock);
   os_event_signal(&seat->wake);
}

/* --- focus ------------------------------------------------------------ */

static void
pointer_focus_gone(struct wl_listener *l, void *data)
{
   struct vs_seat *seat = wl_container_of(l, seat, pointer_focus_gone);
   seat->pointer_focus = NULL;
   wl_list_remove(&l->link);
   wl_list_init(&l->link);
}

static void
keyboard_focus_gone(struct wl_listener *l, void *data)
{
   struct vs_seat *seat = wl_container_of(l, seat, keyboard_focus_gone);
   seat->keyboard_focus = NULL;
   wl_list_remove(&l->link);
   wl_list_init(&l->link);
}

static void
send_modifiers(const struct vs_seat *seat, struct wl_resource *kb, uint32_t serial)
{
   wl_keyboard_send_modifiers(kb, serial, seat->depressed, 0, seat->locked, 0);
}

static void
keyboard_enter(const struct vs_seat *seat, struct wl_resource *kb, struct wl_resource *surface, uint32_t serial)
{
   struct wl_array keys;
   wl_array_init(&keys);
   uint32_t *k = wl_array_add(&keys, seat->n_held * sizeof(uint32_t));
   if (k)
      memcpy(k, seat->held, seat->n_held * sizeof(uint32_t));
   wl_keyboard_send_enter(kb, serial, surface, &keys);
   wl_array_release(&keys);
   send_modifiers(seat, kb, serial);
}

/* Moves a focus to the shown surface, with leave and enter events. */
static void
update_focus(struct vs_seat *seat, struct wl_resource **focus, struct wl_listener *gone, struct wl_list *devices,
             bool keyboard)
{
   struct wl_resource *shown = seat->focus.shown(seat->focus.data, NULL, NULL);
   if (shown == *focus)
      return;
   struct wl_resource *r;
   if (*focus) {
      uint32_t serial = wl_display_next_serial(seat->display);
      wl_resource_for_each(r, devices)
         if (wl_resource_get_client(r) == wl_resource_get_client(*focus)) {
            if (keyboard)
               wl_keyboard_send_leave(r, serial, *focus);
            else
               wl_pointer_send_leave(r, serial, *focus);
         }
      wl_list_remove(&gone->link);
      wl_list_init(&gone->link);
   }
   *focus = shown;
   if (!shown)
      return;
   wl_resource_add_destroy_listener(shown, gone);
   uint32_t serial = wl_display_next_serial(seat->display);
   wl_resource_for_each(r, devices)
      if (wl_resource_get_client(r) == wl_resource_get_client(shown)) {
         if (keyboard) {
            keyboard_enter(seat, r, shown, serial);
         } else {
            wl_pointer_send_enter(r, serial, shown, seat->x, seat->y);
            if (wl_resource_get_version(r) >= WL_POINTER_FRAME_SINCE_VERSION)
               wl_pointer_send_frame(r);
         }
      }
}

/* --- delivery ------------------------------------------------------------ */

static void
deliver_pointer(struct vs_seat *seat, const struct vs_input_event *e)
{
   uint32_t w = 0, h = 0;
   seat->focus.shown(seat->focus.data, &w, &h);
   if (e->type == VS_INPUT_MOTION) {
      /* Clamped to the surface: the page may round past its edge. */
      seat->x = vs_input_clamp_fixed(e->x, w);
      seat->y = vs_input_clamp_fixed(e->y, h);
   }
   update_focus(seat, &seat->pointer_focus, &seat->pointer_focus_gone, &seat->pointers, false);
   if (!seat->pointer_focus)
      return;
   struct wl_client *client = wl_resource_get_client(seat->pointer_focus);
   struct wl_resource *r;
   uint32_t serial = e->type == VS_INPUT_BUTTON ? wl_display_next_serial(seat->display) : 0;
   wl_resource_for_each(r, &seat->pointers) {
      if (wl_resource_get_client(r) != client)
         continue;
      if (e->type == VS_INPUT_MOTION)
         wl_pointer_send_motion(r, e->time_ms, seat->x, seat->y);
      else if (e->type == VS_INPUT_BUTTON)
         wl_pointer_send_button(r, serial, e->time_ms, e->code, e->state);
      else
         wl_pointer_send_axis(r, e->time_ms, e->code, e->x);
      if (wl_resource_get_version(r) >= WL_POINTER_FRAME_SINCE_VERSION)
         wl_pointer_send_frame(r);
   }
   seat->delivered++;
}

static void
deliver_key(struct vs_seat *seat, const struct vs_input_event *e)
{
   /* The held set is the seat's whatever the focus: enter lists it. */
   uint32_t i = 0;
   while (i < seat->n_held && seat->held[i] != e->code)
      i++;
   if (e->state && i == seat->n_held) {
      if (seat->n_held == MAX_HELD)
         return;
      seat->held[seat->n_held++] = e->code;
      if (e->code == 58)
         seat->locked ^= MOD_LOCK;
   } else if (!e->state && i < seat->n_held) {
      seat->held[i] = seat->held[--seat->n_held];
   } else {
      return; /* a press of a held key, or a release of a free one */
   }
   uint32_t mods = held_modifiers(seat);
   bool mods_changed = mods != seat->depressed || e->code == 58;
   seat->depressed = mods;
   update_focus(seat, &seat->keyboard_focus, &seat->keyboard_focus_gone, &seat->keyboards, true);
   if (!seat->keyboard_focus)
      return;
   struct wl_client *client = wl_resource_get_client(seat->keyboard_focus);
   uint32_t serial = wl_display_next_serial(seat->display);
   struct wl_resource *r;
   wl_resource_for_each(r, &seat->keyboards) {
      if (wl_resource_get_client(r) != client)
         continue;
      wl_keyboard_send_key(r, serial, e->time_ms, e->code,
                           e->state ? WL_KEYBOARD_KEY_STATE_PRESSED : WL_KEYBOARD_KEY_STATE_RELEASED);
      if (mods_changed)
         send_modifiers(seat, r, serial);
   }
   seat->delivered++;
}

static int
on_input(int fd, uint32_t mask, void *data)
{
   struct vs_seat *seat = data;
   os_event_drain(&seat->wake);
   for (;;) {
      pthread_mutex_lock(&seat->lock);
      if (!seat->len) {
         pthread_mutex_unlock(&seat->lock);
         break;
      }
      struct vs_input_event e = seat->queue[seat->head];
      seat->head = (seat->head + 1) % QUEUE_MAX;
      seat->len--;
      pthread_mutex_unlock(&seat->lock);
      if (seat->focus.divert && seat->focus.divert(seat->focus.data, &e))
         continue;
      if (e.type == VS_INPUT_KEY)
         deliver_key(seat, &e);
      else
         deliver_pointer(seat, &e);
   }
   return 0;
}

/* --- protocol ------------------------------------------------------------ */

static void
release_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

static void
device_destroyed(struct wl_resource *resource)
{
   wl_list_remove(wl_resource_get_link(resource));
}

static void
pointer_set_cursor(struct wl_client *client, struct wl_resource *resource, uint32_t serial,
                   struct wl_resource *surface, int32_t x, int32_t y)
{
   /* No cursor is drawn: the browser shows its own. */
}

static const struct wl_pointer_interface pointer_impl = {
   .set_cursor = pointer_set_cursor,
   .release = release_resource,
};

static const struct wl_keyboard_interface keyboard_impl = {
   .release = release_resource,
};

static const struct wl_touch_interface touch_impl = {
   .release = release_resource,
};

static void
seat_get_pointer(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct vs_seat *seat = wl_resource_get_user_data(resource);
   struct wl_resource *r = wl_resource_create(client, &wl_pointer_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &pointer_impl, NULL, device_destroyed);
   wl_list_insert(&seat->pointers, wl_resource_get_link(r));
   if (seat->pointer_focus && wl_resource_get_client(seat->pointer_focus) == client) {
      wl_pointer_send_enter(r, wl_display_next_serial(seat->display), seat->pointer_focus, seat->x, seat->y);
      if (wl_resource_get_version(r) >= WL_POINTER_FRAME_SINCE_VERSION)
         wl_pointer_send_frame(r);
   }
}

/* A private, sealed copy of the keymap for one keyboard. */
static int
keymap_fd(size_t *size)
{
   *size = strlen(vs_keymap_text) + 1;
   int fd = os_shm_create("venus-keymap", *size);
   if (fd < 0)
      return -1;
   os_shm_seal_size(fd);
   size_t off = 0;
   while (off < *size) {
      ssize_t n = pwrite(fd, vs_keymap_text + off, *size - off, (off_t)off);
      if (n <= 0) {
         close(fd);
         return -1;
      }
      off += (size_t)n;
   }
#ifdef F_ADD_SEALS
   fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
#endif
   return fd;
}

static void
seat_get_keyboard(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct vs_seat *seat = wl_resource_get_user_data(resource);
   struct wl_resource *r = wl_resource_create(client, &wl_keyboard_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &keyboard_impl, NULL, device_destroyed);
   wl_list_insert(&seat->keyboards, wl_resource_get_link(r));
   size_t size;
   int fd = keymap_fd(&size);
   if (fd < 0) {
      vs_error(0, "display: cannot make the keymap's shared memory: %s", strerror(errno));
      wl_client_post_no_memory(client);
      return;
   }
   wl_keyboard_send_keymap(r, WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1, fd, (uint32_t)size);
   close(fd);
   if (wl_resource_get_version(r) >= WL_KEYBOARD_REPEAT_INFO_SINCE_VERSION)
      wl_keyboard_send_repeat_info(r, 25, 600);
   if (seat->keyboard_focus && wl_resource_get_client(seat->keyboard_focus) == client)
      keyboard_enter(seat, r, seat->keyboard_focus, wl_display_next_serial(seat->display));
}

static void
seat_get_touch(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   /* No touch capability is advertised; the object is inert. */
   struct wl_resource *r = wl_resource_create(client, &wl_touch_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &touch_impl, NULL, NULL);
}

static const struct wl_seat_interface seat_impl = {
   .get_pointer = seat_get_pointer,
   .get_keyboard = seat_get_keyboard,
   .get_touch = seat_get_touch,
   .release = release_resource,
};

static void
bind_seat(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &wl_seat_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &seat_impl, data, NULL);
   wl_seat_send_capabilities(r, WL_SEAT_CAPABILITY_POINTER | WL_SEAT_CAPABILITY_KEYBOARD);
   if (version >= WL_SEAT_NAME_SINCE_VERSION)
      wl_seat_send_name(r, "browser");
}

struct vs_seat *
vs_seat_start(struct wl_display *display, const struct vs_seat_focus *focus)
{
   struct vs_seat *seat = calloc(1, sizeof(*seat));
   if (!seat)
      return NULL;
   seat->display = display;
   seat->focus = *focus;
   seat->wake = (struct os_event){ -1, -1 };
   wl_list_init(&seat->pointers);
   wl_list_init(&seat->keyboards);
   wl_list_init(&seat->pointer_focus_gone.link);
   wl_list_init(&seat->keyboard_focus_gone.link);
   seat->pointer_focus_gone.notify = pointer_focus_gone;
   seat->keyboard_focus_gone.notify = keyboard_focus_gone;
   pthread_mutex_init(&seat->lock, NULL);
   if (os_event_init(&seat->wake) == 0) {
      seat->global = wl_global_create(display, &wl_seat_interface, SEAT_VERSION, seat, bind_seat);
      seat->source = wl_event_loop_add_fd(wl_display_get_event_loop(display), seat->wake.read_fd, WL_EVENT_READABLE,
                                         on_input, seat);
   }
   if (!seat->global || !seat->source) {
      vs_seat_stop(seat);
      return NULL;
   }
   return seat;
}

void
vs_seat_stop(struct vs_seat *seat)
{
   if (!seat)
      return;
   if (seat->delivered || seat->overflowed)
      vs_info(0, "display: seat: %llu input events delivered, %llu dropped (queue full)",
              (unsigned long long)seat->delivered, (unsigned long long)seat->overflowed);
   if (seat->source)
      wl_event_source_remove(seat->source);
   if (seat->global)
      wl_global_destroy(seat->global);
   wl_list_remove(&seat->pointer_focus_gone.link);
   wl_list_remove(&seat->keyboard_focus_gone.link);
   if (seat->wake.read_fd >= 0)
      os_event_fini(&seat->wake);
   pthread_mutex_destroy(&seat->lock);
   free(seat);
}

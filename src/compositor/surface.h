/* SPDX-License-Identifier: MIT */
/* wl_compositor v4, its wl_surfaces and wl_regions, for the compositors of
 * this repository (the display, vs-guest-present): a surface keeps what its
 * requests set until the commit (the attached buffer, the frame callbacks)
 * and hands it to its owner then; damage, regions, transform, scale and
 * offset are taken and ignored (a surface is shown as it is drawn). */
#ifndef VS_COMPOSITOR_SURFACE_H
#define VS_COMPOSITOR_SURFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <wayland-server-core.h>

struct vs_compositor_config;

/* The start of the owner's surface struct. */
struct vs_surface {
   struct wl_resource *resource;      /* NULL for a surface of no Wayland client */
   struct wl_list frame_callbacks;    /* wl_callbacks asked for the next commit, by their links */
   /* surface.c's: the owner's hooks, what was attached since the last commit */
   const struct vs_compositor_config *config;
   bool attached;
   struct wl_resource *pending_buffer;
   struct wl_listener pending_destroy;
};

/* What the owner does with surfaces, on the Wayland thread. It must
 * outlive the wl_display. */
struct vs_compositor_config {
   size_t surface_size;               /* the owner's struct, which starts with struct vs_surface */
   /* A new surface, zeroed past its struct vs_surface: false refuses it,
    * the hook having posted the error on `compositor`. */
   bool (*created)(void *data, struct vs_surface *surface, struct wl_resource *compositor);
   /* wl_surface.commit: `attached` whether wl_surface.attach came since the
    * last commit, `buffer` what it attached (NULL: none, or destroyed
    * since). The owner takes the commit's frame_callbacks. */
   void (*commit)(void *data, struct vs_surface *surface, bool attached, struct wl_resource *buffer);
   /* The wl_surface is destroyed; the surface is freed after this. */
   void (*destroyed)(void *data, struct vs_surface *surface);
   void *data;
};

/* The wl_compositor global; false if it cannot be made. */
bool vs_compositor_create(struct wl_display *display, const struct vs_compositor_config *config);

#endif

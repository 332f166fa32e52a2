/* SPDX-License-Identifier: MIT */
/* zwp_linux_dmabuf_v1 v3 for the compositors of this repository: buffers
 * of one LINEAR plane in a format the owner offers. This file checks what
 * every owner refuses (params used twice, a plane other than 0 or none, a
 * format not offered, a modifier other than LINEAR, a side outside
 * 1..VS_DMABUF_MAX_DIM); the owner imports the plane or says why not, and
 * the client gets the protocol error. */
#ifndef VS_COMPOSITOR_DMABUF_H
#define VS_COMPOSITOR_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wl_display;
struct wl_resource;

#define VS_DMABUF_MAX_DIM 16384u

/* A checked plane. */
struct vs_dmabuf_plane {
   int fd;
   uint32_t offset, stride, width, height, fourcc;
};

/* The start of the owner's buffer struct: its wl_buffer. */
struct vs_dmabuf_config;
struct vs_dmabuf_buffer {
   struct wl_resource *resource;      /* NULL once the client destroyed it */
   const struct vs_dmabuf_config *config; /* dmabuf.c's */
};

/* What the owner does with buffers, on the Wayland thread. It must outlive
 * the wl_display. */
struct vs_dmabuf_config {
   const uint32_t *formats;           /* DRM fourccs */
   size_t format_count;
   const char *format_names;          /* the refusal says "only LINEAR <format_names>" */
   size_t buffer_size;                /* the owner's struct, which starts with struct vs_dmabuf_buffer */
   /* Fills `buffer` (zeroed past its struct vs_dmabuf_buffer) from the
    * plane and takes plane->fd; false refuses it, with the
    * zwp_linux_buffer_params_v1 error and why. */
   bool (*import)(void *data, struct vs_dmabuf_buffer *buffer, const struct vs_dmabuf_plane *plane, uint32_t *error,
                  char *why, size_t why_size);
   /* A plane refused, here or by import, before the client gets the error. */
   void (*refused)(void *data, const char *why);
   /* The wl_buffer is gone, or could not be made (buffer->resource is
    * NULL): the owner frees the buffer once it holds it no more. */
   void (*destroyed)(void *data, struct vs_dmabuf_buffer *buffer);
   void *data;
};

/* The zwp_linux_dmabuf_v1 global; false if it cannot be made. */
bool vs_dmabuf_create(struct wl_display *display, const struct vs_dmabuf_config *config);
/* The buffer behind a wl_buffer, or NULL if it is not one of these. */
struct vs_dmabuf_buffer *vs_dmabuf_buffer_from_resource(struct wl_resource *resource);

#endif

/* SPDX-License-Identifier: MIT */
#include "compositor/dmabuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "linux-dmabuf-unstable-v1-server-protocol.h"

#define MODIFIER_LINEAR 0ull
#define MODIFIER_INVALID 0x00ffffffffffffffull

struct params {
   const struct vs_dmabuf_config *config;
   int fd;
   uint32_t offset, stride;
   uint64_t modifier;
   bool used;
};

static void
destroy_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

/* --- buffers ----------------------------------------------------------- */

static void
buffer_resource_destroyed(struct wl_resource *resource)
{
   struct vs_dmabuf_buffer *b = wl_resource_get_user_data(resource);
   b->resource = NULL;
   b->config->destroyed(b->config->data, b);
}

static const struct wl_buffer_interface buffer_impl = { .destroy = destroy_resource };

struct vs_dmabuf_buffer *
vs_dmabuf_buffer_from_resource(struct wl_resource *resource)
{
   if (!wl_resource_instance_of(resource, &wl_buffer_interface, &buffer_impl))
      return NULL;
   return wl_resource_get_user_data(resource);
}

/* --- params ------------------------------------------------------------ */

static void
params_destroyed(struct wl_resource *resource)
{
   struct params *p = wl_resource_get_user_data(resource);
   if (p->fd >= 0)
      close(p->fd);
   free(p);
}

static void
params_add(struct wl_client *client, struct wl_resource *resource, int32_t fd, uint32_t plane_idx, uint32_t offset,
           uint32_t stride, uint32_t modifier_hi, uint32_t modifier_lo)
{
   struct params *p = wl_resource_get_user_data(resource);
   if (p->used) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used");
   } else if (plane_idx != 0) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_IDX,
                             "plane %u: only single-plane formats are offered", plane_idx);
   } else if (p->fd >= 0) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_SET, "plane 0 already set");
   } else {
      p->fd = fd;
      p->offset = offset;
      p->stride = stride;
      p->modifier = ((uint64_t)modifier_hi << 32) | modifier_lo;
   }
}

static bool
format_offered(const struct vs_dmabuf_config *config, uint32_t fourcc)
{
   for (size_t i = 0; i < config->format_count; i++)
      if (config->formats[i] == fourcc)
         return true;
   return false;
}

/* The plane's checks, then the owner's import; on failure the client gets
 * the error (NULL). */
static struct vs_dmabuf_buffer *
params_import(struct wl_resource *resource, int32_t width, int32_t height, uint32_t format)
{
   struct params *p = wl_resource_get_user_data(resource);
   const struct vs_dmabuf_config *config = p->config;
   if (p->used) {
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used");
      return NULL;
   }
   p->used = true;
   if (p->fd < 0) {
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE, "no plane added");
      return NULL;
   }
   char why[256];
   uint32_t error;
   struct vs_dmabuf_buffer *b = NULL;
   if (!format_offered(config, format) || (p->modifier != MODIFIER_LINEAR && p->modifier != MODIFIER_INVALID)) {
      error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT;
      snprintf(why, sizeof(why), "format 0x%08x modifier 0x%llx: only LINEAR %s", format,
               (unsigned long long)p->modifier, config->format_names);
   } else if (width <= 0 || height <= 0 || (uint32_t)width > VS_DMABUF_MAX_DIM ||
              (uint32_t)height > VS_DMABUF_MAX_DIM) {
      error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS;
      snprintf(why, sizeof(why), "size %dx%d (1..%u)", width, height, VS_DMABUF_MAX_DIM);
   } else if (!(b = calloc(1, config->buffer_size))) {
      wl_client_post_no_memory(wl_resource_get_client(resource));
      return NULL;
   } else {
      const struct vs_dmabuf_plane plane = { .fd = p->fd, .offset = p->offset, .stride = p->stride,
                                             .width = (uint32_t)width, .height = (uint32_t)height, .fourcc = format };
      b->config = config;
      if (config->import(config->data, b, &plane, &error, why, sizeof(why))) {
         p->fd = -1;
         return b;
      }
      free(b);
   }
   config->refused(config->data, why);
   wl_resource_post_error(resource, error, "%s", why);
   return NULL;
}

static bool
buffer_create_resource(struct wl_client *client, struct vs_dmabuf_buffer *b, uint32_t id)
{
   b->resource = wl_resource_create(client, &wl_buffer_interface, 1, id);
   if (!b->resource) {
      b->config->destroyed(b->config->data, b);
      wl_client_post_no_memory(client);
      return false;
   }
   wl_resource_set_implementation(b->resource, &buffer_impl, b, buffer_resource_destroyed);
   return true;
}

static void
params_create(struct wl_client *client, struct wl_resource *resource, int32_t width, int32_t height, uint32_t format,
              uint32_t flags)
{
   struct vs_dmabuf_buffer *b = params_import(resource, width, height, format);
   if (b && buffer_create_resource(client, b, 0))
      zwp_linux_buffer_params_v1_send_created(resource, b->resource);
}

static void
params_create_immed(struct wl_client *client, struct wl_resource *resource, uint32_t id, int32_t width,
                    int32_t height, uint32_t format, uint32_t flags)
{
   struct vs_dmabuf_buffer *b = params_import(resource, width, height, format);
   if (b)
      buffer_create_resource(client, b, id);
}

static const struct zwp_linux_buffer_params_v1_interface params_impl = {
   .destroy = destroy_resource,
   .add = params_add,
   .create = params_create,
   .create_immed = params_create_immed,
};

/* --- the global -------------------------------------------------------- */

static void
dmabuf_create_params(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct params *p = calloc(1, sizeof(*p));
   struct wl_resource *r =
      p ? wl_resource_create(client, &zwp_linux_buffer_params_v1_interface, wl_resource_get_version(resource), id)
        : NULL;
   if (!r) {
      free(p);
      wl_client_post_no_memory(client);
      return;
   }
   p->config = wl_resource_get_user_data(resource);
   p->fd = -1;
   wl_resource_set_implementation(r, &params_impl, p, params_destroyed);
}

/* The v4 feedback requests never reach a v3 global: libwayland refuses
 * them by version. */
static const struct zwp_linux_dmabuf_v1_interface dmabuf_impl = {
   .destroy = destroy_resource,
   .create_params = dmabuf_create_params,
};

static void
bind_dmabuf(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   const struct vs_dmabuf_config *config = data;
   struct wl_resource *r = wl_resource_create(client, &zwp_linux_dmabuf_v1_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &dmabuf_impl, data, NULL);
   for (size_t i = 0; i < config->format_count; i++) {
      zwp_linux_dmabuf_v1_send_format(r, config->formats[i]);
      if (version >= ZWP_LINUX_DMABUF_V1_MODIFIER_SINCE_VERSION)
         zwp_linux_dmabuf_v1_send_modifier(r, config->formats[i], 0, 0); /* LINEAR */
   }
}

bool
vs_dmabuf_create(struct wl_display *display, const struct vs_dmabuf_config *config)
{
   return wl_global_create(display, &zwp_linux_dmabuf_v1_interface, 3, (void *)config, bind_dmabuf) != NULL;
}

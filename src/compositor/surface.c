/* SPDX-License-Identifier: MIT */
#include "compositor/surface.h"

#include <stdlib.h>
#include <wayland-server-protocol.h>

static void
destroy_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

static void
ignore_rect(struct wl_client *client, struct wl_resource *resource, int32_t x, int32_t y, int32_t w, int32_t h)
{
}

static void
callback_destroyed(struct wl_resource *resource)
{
   wl_list_remove(wl_resource_get_link(resource));
}

static void
forget_pending_buffer(struct vs_surface *s)
{
   s->pending_buffer = NULL;
   wl_list_remove(&s->pending_destroy.link);
   wl_list_init(&s->pending_destroy.link);
}

static void
pending_buffer_destroyed(struct wl_listener *listener, void *data)
{
   struct vs_surface *s = wl_container_of(listener, s, pending_destroy);
   forget_pending_buffer(s);
}

static void
surface_attach(struct wl_client *client, struct wl_resource *resource, struct wl_resource *buffer, int32_t x,
               int32_t y)
{
   struct vs_surface *s = wl_resource_get_user_data(resource);
   forget_pending_buffer(s);
   s->pending_buffer = buffer;
   s->attached = true;
   if (buffer)
      wl_resource_add_destroy_listener(buffer, &s->pending_destroy);
}

static void
surface_frame(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct vs_surface *s = wl_resource_get_user_data(resource);
   struct wl_resource *cb = wl_resource_create(client, &wl_callback_interface, 1, id);
   if (!cb) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(cb, NULL, NULL, callback_destroyed);
   wl_list_insert(s->frame_callbacks.prev, wl_resource_get_link(cb));
}

static void
surface_commit(struct wl_client *client, struct wl_resource *resource)
{
   struct vs_surface *s = wl_resource_get_user_data(resource);
   bool attached = s->attached;
   struct wl_resource *buffer = attached ? s->pending_buffer : NULL;
   s->attached = false;
   forget_pending_buffer(s);
   s->config->commit(s->config->data, s, attached, buffer);
}

static void
surface_set_region(struct wl_client *client, struct wl_resource *resource, struct wl_resource *region)
{
}

static void
surface_set_int(struct wl_client *client, struct wl_resource *resource, int32_t v)
{
}

static void
surface_offset(struct wl_client *client, struct wl_resource *resource, int32_t x, int32_t y)
{
}

static const struct wl_surface_interface surface_impl = {
   .destroy = destroy_resource,
   .attach = surface_attach,
   .damage = ignore_rect,
   .frame = surface_frame,
   .set_opaque_region = surface_set_region,
   .set_input_region = surface_set_region,
   .commit = surface_commit,
   .set_buffer_transform = surface_set_int,
   .set_buffer_scale = surface_set_int,
   .damage_buffer = ignore_rect,
   .offset = surface_offset,
};

static void
surface_destroyed(struct wl_resource *resource)
{
   struct vs_surface *s = wl_resource_get_user_data(resource);
   s->config->destroyed(s->config->data, s);
   struct wl_resource *cb, *tmp;
   wl_resource_for_each_safe(cb, tmp, &s->frame_callbacks)
      wl_resource_destroy(cb);
   wl_list_remove(&s->pending_destroy.link);
   free(s);
}

static const struct wl_region_interface region_impl = {
   .destroy = destroy_resource,
   .add = ignore_rect,
   .subtract = ignore_rect,
};

static void
compositor_create_surface(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   const struct vs_compositor_config *config = wl_resource_get_user_data(resource);
   struct vs_surface *s = calloc(1, config->surface_size);
   struct wl_resource *r =
      s ? wl_resource_create(client, &wl_surface_interface, wl_resource_get_version(resource), id) : NULL;
   if (!r) {
      free(s);
      wl_client_post_no_memory(client);
      return;
   }
   s->resource = r;
   s->config = config;
   wl_list_init(&s->frame_callbacks);
   wl_list_init(&s->pending_destroy.link);
   s->pending_destroy.notify = pending_buffer_destroyed;
   if (!config->created(config->data, s, resource)) {
      wl_resource_destroy(r);
      free(s);
      return;
   }
   wl_resource_set_implementation(r, &surface_impl, s, surface_destroyed);
}

static void
compositor_create_region(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &wl_region_interface, 1, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &region_impl, NULL, NULL);
}

static const struct wl_compositor_interface compositor_impl = {
   .create_surface = compositor_create_surface,
   .create_region = compositor_create_region,
};

static void
bind_compositor(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &wl_compositor_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &compositor_impl, data, NULL);
}

bool
vs_compositor_create(struct wl_display *display, const struct vs_compositor_config *config)
{
   return wl_global_create(display, &wl_compositor_interface, 4, (void *)config, bind_compositor) != NULL;
}

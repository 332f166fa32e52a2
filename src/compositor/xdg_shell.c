/* SPDX-License-Identifier: MIT */
#include "compositor/xdg_shell.h"

#include <stdlib.h>
#include <wayland-server-core.h>

#include "xdg-shell-server-protocol.h"

struct vs_xdg_shell {
   struct vs_xdg_shell_config config;
   struct wl_display *display;
   struct wl_list toplevels; /* xdg_toplevel resources, by their links */
};

static void
destroy_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

static void ignored(void) {}
#define IGNORED() ((void *)ignored)

static const struct xdg_positioner_interface positioner_impl = {
   .destroy = destroy_resource,
   .set_size = IGNORED(), .set_anchor_rect = IGNORED(), .set_anchor = IGNORED(), .set_gravity = IGNORED(),
   .set_constraint_adjustment = IGNORED(), .set_offset = IGNORED(), .set_reactive = IGNORED(),
   .set_parent_size = IGNORED(), .set_parent_configure = IGNORED(),
};

static const struct xdg_toplevel_interface toplevel_impl = {
   .destroy = destroy_resource,
   .set_parent = IGNORED(), .set_title = IGNORED(), .set_app_id = IGNORED(), .show_window_menu = IGNORED(),
   .move = IGNORED(), .resize = IGNORED(), .set_max_size = IGNORED(), .set_min_size = IGNORED(),
   .set_maximized = IGNORED(), .unset_maximized = IGNORED(), .set_fullscreen = IGNORED(),
   .unset_fullscreen = IGNORED(), .set_minimized = IGNORED(),
};

static const struct xdg_popup_interface popup_impl = {
   .destroy = destroy_resource, .grab = IGNORED(), .reposition = IGNORED(),
};

/* The toplevel's user data is its xdg_surface. */
static void
configure_toplevel(struct vs_xdg_shell *shell, struct wl_resource *toplevel)
{
   uint32_t width = 0, height = 0;
   if (shell->config.size)
      shell->config.size(shell->config.data, &width, &height);
   struct wl_array states;
   wl_array_init(&states);
   xdg_toplevel_send_configure(toplevel, (int32_t)width, (int32_t)height, &states);
   wl_array_release(&states);
   xdg_surface_send_configure(wl_resource_get_user_data(toplevel), wl_display_next_serial(shell->display));
}

static void
toplevel_destroyed(struct wl_resource *resource)
{
   wl_list_remove(wl_resource_get_link(resource));
}

static void
xdg_surface_get_toplevel(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct vs_xdg_shell *shell = wl_resource_get_user_data(resource);
   struct wl_resource *r = wl_resource_create(client, &xdg_toplevel_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   /* xdg-shell makes the client destroy the toplevel before its xdg_surface. */
   wl_resource_set_implementation(r, &toplevel_impl, resource, toplevel_destroyed);
   wl_list_insert(&shell->toplevels, wl_resource_get_link(r));
   configure_toplevel(shell, r);
}

static void
xdg_surface_get_popup(struct wl_client *client, struct wl_resource *resource, uint32_t id,
                      struct wl_resource *parent, struct wl_resource *positioner)
{
   struct wl_resource *r = wl_resource_create(client, &xdg_popup_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &popup_impl, NULL, NULL);
   xdg_popup_send_configure(r, 0, 0, 1, 1);
   xdg_surface_send_configure(resource, wl_display_next_serial(wl_client_get_display(client)));
}

/* A client that destroys the xdg_surface before its toplevel (a protocol
 * error xdg-shell leaves to the compositor) leaves no toplevel to
 * configure through it. */
static void
xdg_surface_destroyed(struct wl_resource *resource)
{
   struct vs_xdg_shell *shell = wl_resource_get_user_data(resource);
   struct wl_resource *r, *tmp;
   wl_resource_for_each_safe(r, tmp, &shell->toplevels)
      if (wl_resource_get_user_data(r) == resource) {
         wl_list_remove(wl_resource_get_link(r));
         wl_list_init(wl_resource_get_link(r));
      }
}

static const struct xdg_surface_interface xdg_surface_impl = {
   .destroy = destroy_resource,
   .get_toplevel = xdg_surface_get_toplevel,
   .get_popup = xdg_surface_get_popup,
   .set_window_geometry = IGNORED(),
   .ack_configure = IGNORED(),
};

static void
wm_create_positioner(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &xdg_positioner_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &positioner_impl, NULL, NULL);
}

static void
wm_get_xdg_surface(struct wl_client *client, struct wl_resource *resource, uint32_t id, struct wl_resource *surface)
{
   struct wl_resource *r = wl_resource_create(client, &xdg_surface_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &xdg_surface_impl, wl_resource_get_user_data(resource), xdg_surface_destroyed);
}

static const struct xdg_wm_base_interface wm_impl = {
   .destroy = destroy_resource,
   .create_positioner = wm_create_positioner,
   .get_xdg_surface = wm_get_xdg_surface,
   .pong = IGNORED(),
};

static void
bind_wm(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &xdg_wm_base_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &wm_impl, data, NULL);
}

struct vs_xdg_shell *
vs_xdg_shell_create(struct wl_display *display, const struct vs_xdg_shell_config *config)
{
   struct vs_xdg_shell *shell = calloc(1, sizeof(*shell));
   if (!shell)
      return NULL;
   shell->config = *config;
   shell->display = display;
   wl_list_init(&shell->toplevels);
   if (!wl_global_create(display, &xdg_wm_base_interface, 1, shell, bind_wm)) {
      free(shell);
      return NULL;
   }
   return shell;
}

void
vs_xdg_shell_configure_all(struct vs_xdg_shell *shell)
{
   struct wl_resource *r;
   wl_resource_for_each(r, &shell->toplevels)
      configure_toplevel(shell, r);
}

void
vs_xdg_shell_free(struct vs_xdg_shell *shell)
{
   free(shell);
}

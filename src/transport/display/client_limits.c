/* SPDX-License-Identifier: MIT */
/* Per-client caps on what a Wayland client can make the display hold.
 *
 * Every wl_shm_pool is a mapping of the client's file in the server: 65k
 * pools from one client exhaust vm.max_map_count for the whole server
 * (vtest clients included). Buffers pin pool memory or dma-buf mappings.
 * libwayland has no limit of its own, so each new pool or buffer counts the
 * client's live ones; past the cap the client gets a no-memory error
 * (libwayland then disconnects it) and the server logs one line. */
#include "transport/display/display_internal.h"

#include <stdlib.h>
#include <string.h>
#include <wayland-server-core.h>

#include "base/log.h"

struct count_args {
   const char *class;
   unsigned n;
};

static enum wl_iterator_result
count_class(struct wl_resource *resource, void *data)
{
   struct count_args *args = data;
   if (!strcmp(wl_resource_get_class(resource), args->class))
      args->n++;
   return WL_ITERATOR_CONTINUE;
}

static void
on_resource_created(struct wl_listener *listener, void *data)
{
   struct wl_resource *resource = data;
   const char *class = wl_resource_get_class(resource);
   unsigned cap;
   if (!strcmp(class, "wl_shm_pool"))
      cap = VS_DISPLAY_MAX_SHM_POOLS;
   else if (!strcmp(class, "wl_buffer"))
      cap = VS_DISPLAY_MAX_BUFFERS;
   else
      return;
   struct wl_client *client = wl_resource_get_client(resource);
   struct count_args args = { class, 0 };
   wl_client_for_each_resource(client, count_class, &args);
   if (args.n <= cap)
      return;
   pid_t pid = 0;
   wl_client_get_credentials(client, &pid, NULL, NULL);
   vs_warn(0, "display: dropping Wayland client (pid %d): more than %u live %s objects", (int)pid, cap, class);
   wl_resource_post_no_memory(resource);
}

struct client_watch {
   struct wl_listener resource_created;
   struct wl_listener destroyed;
   struct vs_display_clients *clients;
};

static void
on_client_destroyed(struct wl_listener *listener, void *data)
{
   struct client_watch *watch = wl_container_of(listener, watch, destroyed);
   atomic_fetch_sub(&watch->clients->count, 1);
   wl_list_remove(&watch->resource_created.link);
   wl_list_remove(&watch->destroyed.link);
   free(watch);
}

static void
on_client_created(struct wl_listener *listener, void *data)
{
   struct wl_client *client = data;
   struct vs_display_clients *clients = wl_container_of(listener, clients, created);
   struct client_watch *watch = calloc(1, sizeof(*watch));
   if (!watch) {
      wl_client_post_no_memory(client);
      return;
   }
   watch->clients = clients;
   atomic_fetch_add(&clients->count, 1);
   watch->resource_created.notify = on_resource_created;
   watch->destroyed.notify = on_client_destroyed;
   wl_client_add_resource_created_listener(client, &watch->resource_created);
   wl_client_add_destroy_listener(client, &watch->destroyed);
}

void
vs_display_limit_clients(struct wl_display *display, struct vs_display_clients *clients)
{
   atomic_init(&clients->count, 0);
   clients->created.notify = on_client_created;
   wl_display_add_client_created_listener(display, &clients->created);
}

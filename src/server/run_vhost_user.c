/* SPDX-License-Identifier: MIT */
/* VMs' whole virtio-gpu devices (--vhost-user PATH): each connection to
 * PATH is a VMM's vhost-user front end, one VM's device, served in a
 * worker process of its own (src/transport/vhost_user/), until SIGTERM or
 * SIGINT. With --display, each scanout of each device (--vm-scanouts of
 * them) is a surface there, on an output of its own, and a live upgrade
 * hands the scanouts, the viewers' socket and their tokens over;
 * with --vhost-user-input, VMs' input devices too, which with --input get
 * the viewers' input on their VM's scanout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"
#include "server/upgrade.h"
#include "base/log.h"
#include "transport/vhost_user/input_router.h"
#include "transport/vhost_user/vhost_user_server.h"
#ifdef VS_HAVE_DISPLAY
#include "transport/display/display.h"
#endif

/* VM devices served at once: each holds a worker process and maps its
 * guest's RAM there. */
#define VHOST_USER_DEVICES_MAX 16
/* The VMMs of one uid (a host's libvirt runs all its VMs as one) hold at
 * most this many; the rest is a reserve for other uids. */
#define VHOST_USER_DEVICES_PER_PEER 12
#define VM_HOSTMEM_MIB_DEFAULT 256
#define VM_WIDTH_DEFAULT 1280
#define VM_HEIGHT_DEFAULT 800
/* The largest mode a viewer may ask a VM for, in pixels (a 4K monitor's):
 * each VM's framebuffer holds that many. */
#define VM_MODE_PIXELS_MAX (3840ull * 2160)

static void *
create_workers(struct vs_server_config *config)
{
   return vs_vhost_user_workers_create(&config->context, config->ready_workers, !config->vm_contexts_shared);
}

static void
destroy_workers(void *workers)
{
   vs_vhost_user_workers_destroy(workers);
}

static const struct vs_server_workers vhost_user_workers = { create_workers, destroy_workers };

#ifdef VS_HAVE_DISPLAY
static void
show_scanout(void *display, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width,
             uint32_t height, uint32_t stride)
{
   vs_display_show_frame(display, device, scanout, pixels, width, height, stride);
}

static void
show_cursor(void *display, uint32_t device, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height,
            uint32_t hot_x, uint32_t hot_y)
{
   vs_display_show_cursor(display, device, scanout, pixels, width, height, hot_x, hot_y);
}

static void
hide_scanout(void *display, uint32_t device, uint32_t scanout)
{
   vs_display_hide_frame(display, device, scanout);
}

static void
listen_modes(void *display, vs_scanout_mode_fn request, void *data)
{
   vs_display_set_source_mode(display, request, data);
}

static void
route_input(void *router, uint32_t source, uint32_t width, uint32_t height, const struct vs_input_event *event)
{
   vs_input_router_send(router, source, width, height, event);
}
#endif

int
vs_run_vhost_user(struct vs_server_config *config)
{
   int stop_fd = vs_server_stop_on_signals();
   int upgrade_fd = stop_fd < 0 ? -1 : vs_server_upgrade_on_signal();
   if (upgrade_fd < 0) {
      fprintf(stderr, "venus-server: stop or upgrade event, or sigaction: %s\n", strerror(errno));
      return 1;
   }
   /* Started by a live upgrade in place: the devices are the old image's. */
   static struct vs_upgrade upgrade;
   struct vs_live_upgrade upgrade_hooks;
   int rc = vs_upgrade_init(&upgrade, config, upgrade_fd, &upgrade_hooks);
   if (rc)
      return rc == VS_UPGRADE_PROBED ? 0 : rc;
   struct vs_hand_over_socket taken[VS_HAND_OVER_SOCKETS];
   for (unsigned k = 0; k < upgrade.from.sockets; k++)
      taken[k] = (struct vs_hand_over_socket){ .fd = upgrade.from.socket[k].fd, .path = upgrade.from.socket[k].path,
                                               .owns_file = upgrade.from.socket[k].owns_file };
   /* The display's viewers keep their URLs, its recordings their files. */
   config->display_hand_over = upgrade.display_hand_over;
   config->record_append = upgrade.taken;
   struct vs_server_started started;
   rc = vs_server_start(config, &vhost_user_workers, &started);
   if (rc)
      return rc;
#ifdef VS_HAVE_DISPLAY
   upgrade.display = started.display;
#endif
   struct vs_vhost_user_options options = {
      .width = config->vm_width ? config->vm_width : VM_WIDTH_DEFAULT,
      .height = config->vm_height ? config->vm_height : VM_HEIGHT_DEFAULT,
      .scanouts = config->vm_scanouts ? config->vm_scanouts : 1,
      .hostmem_bytes = (uint64_t)(config->vm_hostmem_mib ? config->vm_hostmem_mib : VM_HOSTMEM_MIB_DEFAULT) << 20,
      .max_devices = VHOST_USER_DEVICES_MAX,
      .max_devices_per_peer = VHOST_USER_DEVICES_PER_PEER,
      .worker_starts_per_min = config->server.worker_starts_per_min,
      .idle_timeout_ms = config->server.idle_timeout_ms,
      .memory_per_peer = config->server.memory_per_peer,
      .activated = config->activated,
      .activated_count = config->activated_count,
      .upgrade = &upgrade_hooks,
      .taken = taken,
      .taken_count = upgrade.taken ? upgrade.from.sockets : 0,
   };
   options.max_pixels = (uint64_t)options.width * options.height;
#ifdef VS_HAVE_DISPLAY
   if (started.display) {
      options.show = show_scanout;
      options.cursor = show_cursor;
      options.hide = hide_scanout;
      options.display = started.display;
      options.frame_interval_ns = 1000000000ull / (config->fps ? config->fps : 60);
      /* Viewers that may type may size the VM's screen too. */
      if (config->input && !config->vm_fixed_size) {
         options.listen_modes = listen_modes;
         if (options.max_pixels < VM_MODE_PIXELS_MAX)
            options.max_pixels = VM_MODE_PIXELS_MAX;
      }
   }
#endif
   struct vs_input_router *router = NULL;
   if (config->vhost_user_input_path) {
      if (!(router = vs_input_router_create())) {
         vs_server_stop(config, &started);
         return 1;
      }
      options.input_path = config->vhost_user_input_path;
      options.router = router;
#ifdef VS_HAVE_DISPLAY
      if (started.display && config->input)
         vs_display_set_source_input(started.display, route_input, router);
      else
#endif
         vs_info(0, "vhost-user: input devices send nothing: viewers' input reaches them with --display, "
                    "--http and --input");
   }
   rc = vs_vhost_user_server_run(config->vhost_user_path, &options, started.workers, stop_fd);
   /* The display's thread routes no more input once it has stopped. */
   vs_server_stop(config, &started);
   vs_input_router_destroy(router);
   return rc;
}

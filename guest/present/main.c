/* SPDX-License-Identifier: MIT */
/* vs-guest-present: the Wayland compositor a VM guest's Vulkan programs
 * present to, so that their windows show on venus-server's display
 * (docs/vm-display.md, "Guest side"). It serves WAYLAND_DISPLAY and tells
 * the host over the presentation channel which host resource each surface
 * shows; the pixels never leave the host.
 *
 *   vs-guest-present [--socket NAME] [--port PATH] [--log-level LEVEL]
 *
 * --socket: the Wayland socket's name in $XDG_RUNTIME_DIR (default:
 * $WAYLAND_DISPLAY, else wayland-0); --port: the virtio-serial port
 * (default: the one named org.venus-server.display.0). Runs until SIGTERM
 * or SIGINT, then prints its figures. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include "channel.h"
#include "present.h"
#include "compositor/xdg_shell.h"
#include "virtgpu.h"
#include "base/log.h"

/* Lines say who wrote them: base/log.c prefixes "venus-server". */
static void
log_sink(enum vs_log_level level, const char *line, void *data)
{
   static const char server[] = "venus-server";
   if (strncmp(line, server, sizeof(server) - 1) == 0)
      line += sizeof(server) - 1;
   char out[1100];
   int n = snprintf(out, sizeof(out), "vs-guest-present%s", line);
   /* One write per line: whole lines on a console shared with the tests. */
   if (n > 0 && write(STDERR_FILENO, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1) < 0)
      return;
}

static int
on_signal(int signal_number, void *data)
{
   wl_display_terminate(data);
   return 0;
}

static void
usage(void)
{
   fprintf(stderr, "usage: vs-guest-present [--socket NAME] [--port PATH] [--log-level error|warn|info|debug]\n");
   exit(2);
}

int
main(int argc, char **argv)
{
   const char *socket_name = getenv("WAYLAND_DISPLAY"), *port = NULL;
   vs_log_set_sink(log_sink, NULL);
   for (int i = 1; i < argc; i++) {
      if (i + 1 >= argc)
         usage();
      if (!strcmp(argv[i], "--socket"))
         socket_name = argv[++i];
      else if (!strcmp(argv[i], "--port"))
         port = argv[++i];
      else if (!strcmp(argv[i], "--log-level") && vs_log_parse_level(argv[i + 1], &vs_log_threshold))
         i++;
      else
         usage();
   }
   if (!socket_name || !*socket_name)
      socket_name = "wayland-0";
   if (!getenv("XDG_RUNTIME_DIR")) {
      vs_error(0, "XDG_RUNTIME_DIR is unset: the Wayland socket needs a directory");
      return 1;
   }
   signal(SIGPIPE, SIG_IGN);
   struct vgp p = { .drm_fd = vgp_virtgpu_open() };
   if (p.drm_fd < 0)
      vs_warn(0, "no virtio-gpu render node (%s): every dma-buf will be refused", strerror(errno));
   p.display = wl_display_create();
   if (!p.display)
      return 1;
   p.loop = wl_display_get_event_loop(p.display);
   if (wl_display_add_socket(p.display, socket_name) != 0) {
      vs_error(0, "cannot create the Wayland socket %s/%s: %s", getenv("XDG_RUNTIME_DIR"), socket_name,
               strerror(errno));
      return 1;
   }
   if (!vgp_compositor_init(&p) || !vgp_dmabuf_init(&p)) {
      vs_error(0, "cannot create the Wayland globals");
      return 1;
   }
   wl_event_loop_add_signal(p.loop, SIGTERM, on_signal, p.display);
   wl_event_loop_add_signal(p.loop, SIGINT, on_signal, p.display);
   const struct vgp_channel_events events = {
      .ready = vgp_on_channel_ready, .message = vgp_on_host_message, .data = &p,
   };
   p.channel = vgp_channel_start(p.loop, port, &events);
   if (!p.channel) {
      vs_error(0, "cannot start the channel");
      return 1;
   }
   vs_info(0, "serving WAYLAND_DISPLAY=%s", socket_name);
   wl_display_run(p.display);
   wl_display_destroy_clients(p.display);
   vs_info(0, "%llu commits, %llu forwarded to the host (%llu waited for their fence), %llu releases, %llu frame "
              "events, %llu buffers refused",
           (unsigned long long)p.commits, (unsigned long long)p.forwarded, (unsigned long long)p.fence_waits,
           (unsigned long long)p.releases, (unsigned long long)p.frames, (unsigned long long)p.refused_buffers);
   vgp_channel_stop(p.channel);
   vgp_compositor_fini(&p);
   wl_display_destroy(p.display);
   vs_xdg_shell_free(p.shell);
   if (p.drm_fd >= 0)
      close(p.drm_fd);
   return 0;
}

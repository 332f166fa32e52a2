/* SPDX-License-Identifier: MIT */
/* The vtest server (the default run mode): clients connect to a Unix
 * socket (src/transport/vtest/), each served by a worker process of its
 * own (--isolate process) or a thread (--isolate thread), until SIGTERM or
 * SIGINT, or until SIGUSR2's live upgrade handed the socket to a new
 * process (server/upgrade.h) and the last client here ended. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "os/mapping_capture.h"
#include "server/server.h"
#include "server/upgrade.h"
#include "transport/vtest/vtest.h"

static void *
create_workers(struct vs_server_config *config)
{
   return vtest_workers_create(&config->context, &config->server, config->ready_workers);
}

static void
destroy_workers(void *workers)
{
   vtest_workers_destroy(workers);
}

static const struct vs_server_workers vtest_workers = { create_workers, destroy_workers };

int
vs_run_vtest(struct vs_server_config *config)
{
   int stop_fd = vs_server_stop_on_signals();
   int upgrade_fd = stop_fd < 0 ? -1 : vs_server_upgrade_on_signal();
   if (upgrade_fd < 0) {
      fprintf(stderr, "venus-server: stop or upgrade event, or sigaction: %s\n", strerror(errno));
      return 1;
   }
   /* Started by a live upgrade: the socket is the old process's. */
   static struct vs_upgrade upgrade;
   struct vs_live_upgrade upgrade_hooks;
   int rc = vs_upgrade_init(&upgrade, config, upgrade_fd, &upgrade_hooks);
   if (rc)
      return rc == VS_UPGRADE_PROBED ? 0 : rc;
   vs_server_warn_thread_isolation(config, "every client", "the first client's uid; other uids are refused");
   /* Host-visible video memory that nothing else shares is lent through
    * the host driver's own mapping where each client has a worker process
    * of its own: what it was lent stays its own until that process ends
    * (renderer/memory/lent_pool.h). */
   config->context.renderer.lend_driver_mappings = config->isolate == VS_ISOLATE_PROCESS;
   /* Tenants sharing a process would share what their shaders can reach. */
   config->context.renderer.robust_access = config->isolate != VS_ISOLATE_PROCESS;
   if (config->context.renderer.lend_driver_mappings) {
      /* Before any thread and any worker: the driver's mmap calls are
       * watched from now on (os/mapping_capture.h). */
      os_mapping_capture_enable();
   }
   if (config->activated_count > 1) {
      vs_error(0, "socket activation: LISTEN_FDS=%u: venus-server listens on exactly one socket (the vtest one)",
               config->activated_count);
      return 1;
   }
   const struct vs_activated_socket *activated = config->activated_count ? &config->activated[0] : NULL;
   const char *socket_path = upgrade.taken ? upgrade.from.socket[0].path : activated ? activated->path : config->socket_path;
   if (upgrade.taken && activated) {
      vs_error(0, "upgrade: a hand-over and a socket-activated socket both passed; one socket is served");
      return 1;
   }
   vs_server_fit_kernel_limits(config);
   struct vs_server_started started;
   rc = vs_server_start(config, &vtest_workers, &started);
   if (rc)
      return rc;
   const struct vtest_server_setup setup = {
      .workers = started.workers,
      .stop_fd = stop_fd,
      .activated_fd = upgrade.taken ? upgrade.from.socket[0].fd : activated ? activated->fd : 0,
      .owns_socket_file = upgrade.taken && upgrade.from.socket[0].owns_file,
      .upgrade = &upgrade_hooks,
   };
   rc = vtest_server_run_limited(socket_path, &config->context, &config->server, &setup);
   if (rc == VTEST_SERVER_ABANDONED)
      vs_server_abandon(&started);
   vs_server_stop(config, &started);
   return rc;
}

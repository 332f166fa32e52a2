/* SPDX-License-Identifier: MIT */
/* A VMM's render server (--socket-fd N, RENDER_SERVER_EXEC_PATH): serves
 * virglrenderer's render-server protocol to the VMM's proxy on socket N
 * (src/transport/vmm/), one worker per context, until the proxy closes
 * it. */
#include "base/log.h"
#include "server/server.h"
#include "transport/vmm/render.h"

static void *
create_workers(struct vs_server_config *config)
{
   return render_workers_create(&config->context, config->ready_workers);
}

static void
destroy_workers(void *workers)
{
   render_workers_destroy(workers);
}

static const struct vs_server_workers render_workers = { create_workers, destroy_workers };

int
vs_run_render_server(struct vs_server_config *config)
{
   vs_server_quiet_stdout();
   vs_server_warn_thread_isolation(config, "every context", "the VM");
   struct vs_server_started started;
   int rc = vs_server_start(config, &render_workers, &started);
   if (rc)
      return rc;
   const struct render_server_options rs = {
      .isolate = config->isolate,
      .workers = started.workers,
      .stream_framing = config->stream_framing,
      .exec_path = config->exec_path,
      .worker_args = config->worker_args,
      .worker_arg_count = config->worker_arg_count,
      .max_contexts = config->server.clients,
      .worker_starts_per_min = config->server.worker_starts_per_min,
      .memory = config->server.memory_per_peer,
   };
   rc = render_server_run(config->socket_fd, &config->context, &rs);
   vs_server_stop(config, &started);
   return rc;
}

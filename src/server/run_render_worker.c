/* SPDX-License-Identifier: MIT */
/* One context's worker that a render server spawned (--isolate spawn, or
 * upstream virglrenderer's: --worker-context-fd and friends): serves that
 * context on its socket, tied to its server. */
#include <sys/types.h>
#include <unistd.h>

#include "server/server.h"
#include "transport/vmm/render.h"
#include "worker/worker_process.h"

int
vs_run_render_worker(struct vs_server_config *config)
{
   vs_server_quiet_stdout();
   vs_worker_bound_memory(config->worker_memory_bytes);
   int status = render_worker_main(config->worker.fd, config->worker.id, config->worker.name,
                                   config->worker.init_flags, (pid_t)config->worker.server_pid,
                                   config->worker.tie_fd, config->worker.ledger_fd, &config->context,
                                   config->stream_framing);
   /* Sandboxed by now: it ends as pooled workers do, without the exit-time
    * work of libraries, some of which (a leak checker's stop-the-world)
    * needs what the sandbox refuses. */
   _exit(status);
}

/* SPDX-License-Identifier: MIT */
#include "transport/vmm/render_worker.h"

#include <string.h>

#include "context/context.h"
#include "os/os.h"
#include "renderer/warm_up.h"
#include "worker/ledger_channel.h"
#include "worker/placement.h"
#include "worker/worker_link.h"

/* Before its job: the host driver warmed up. */
bool
render_worker_prepare(void *data)
{
   const struct render_workers *workers = data;
   struct vs_renderer_options options = workers->options->renderer;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &options);
   return vs_renderer_prewarm(&options);
}

int
render_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   const struct render_workers *workers = data;
   struct render_context_job cj;
   if (job_size != sizeof(cj) || fd_count < 2)
      return 1;
   memcpy(&cj, job, sizeof(cj));
   cj.name[sizeof(cj.name) - 1] = '\0';
   /* The socket, the ledger channel, then the link and the line budget
    * where the job has them. */
   const unsigned link_fds = fd_count - 2 - (cj.shared_lines != 0);
   if (fd_count > 4 || link_fds > 1)
      return 1;
   const int fd = fds[0];
   /* The worker serves this context alone, in its sandbox (entered when
    * it was forked). The server's registry and resource table are the
    * server process's: this one tells them over its link, if any. */
   struct vs_context_options worker_options = *workers->options;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &worker_options.renderer);
   /* Its first device may be the one its warm-up prepared. */
   worker_options.renderer.device_hook = &vs_warm_up_device_hook;
   _Atomic uint32_t *lines_left = NULL;
   const size_t page = os_page_size();
   if (cj.shared_lines && !(lines_left = os_map_guarded(fds[fd_count - 1], page, 0)))
      return 1;
   worker_options.lines_left = lines_left;
   /* Its device memory in host RAM is charged to the VM's share. */
   struct vs_ledger_port *ledger = vs_ledger_remote_port_create(fds[1], cj.ctx_id);
   if (!ledger) {
      if (lines_left)
         os_unmap_guarded((void *)lines_left, page, 0);
      return 1;
   }
   worker_options.renderer.ledger = ledger;
   worker_options.worker_link = link_fds ? vs_worker_link_start(fds[2], cj.ctx_id) : NULL;
   worker_options.renderer.shared_registry = vs_worker_link_registry(worker_options.worker_link);
   worker_options.resource_table = NULL;
   render_context_serve(fd, cj.ctx_id, cj.name, &worker_options, cj.framing);
   vs_worker_link_stop(worker_options.worker_link);
   vs_ledger_remote_port_destroy(ledger);
   if (lines_left)
      os_unmap_guarded((void *)lines_left, page, 0);
   return 0;
}

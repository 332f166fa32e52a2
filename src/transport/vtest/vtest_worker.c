/* SPDX-License-Identifier: MIT */
#include "transport/vtest/vtest_worker.h"

#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parcel.h"
#include "context/context.h"
#include "renderer/warm_up.h"
#include "transport/vtest/vtest_protocol.h"
#include "worker/activity.h"
#include "worker/first_message.h"
#include "worker/ledger_channel.h"
#include "worker/placement.h"
#include "worker/worker_link.h"
#include "worker/worker_pool.h"

struct vtest_client_limits
vtest_client_limits_of(const struct vtest_server_limits *limits, struct vs_ledger_port *ledger, struct vs_activity *activity)
{
   return (struct vtest_client_limits){
      .message_timeout_ms = limits->message_timeout_ms,
      .work_timeout_ms = limits->work_timeout_ms,
      .partial_bytes = limits->partial_bytes,
      .ledger = ledger,
      .activity = activity,
   };
}

/* Before its job: the host driver warmed up. */
bool
vtest_worker_prepare(void *data)
{
   const struct vtest_workers *workers = data;
   struct vs_renderer_options options = workers->options->renderer;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &options);
   return vs_renderer_prewarm(&options);
}

/* A vtest message's size from its header: CREATE_RENDERER counts its
 * payload in bytes, the rest in words. */
static uint64_t
vtest_message_size(const uint8_t *header)
{
   uint32_t hdr[VTEST_HDR_WORDS];
   memcpy(hdr, header, sizeof(hdr));
   const uint64_t payload =
      hdr[VTEST_HDR_ID] == VTEST_CMD_CREATE_RENDERER ? hdr[VTEST_HDR_LEN] : (uint64_t)hdr[VTEST_HDR_LEN] * 4;
   return sizeof(hdr) + payload;
}

/* In a worker handed a client (worker/first_message.h). A client silent
 * past message-timeout-ms is claimed, and its session drops it for that. */
bool
vtest_worker_claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   const struct vtest_workers *workers = data;
   static const struct vs_message_framing framing = { VTEST_HDR_WORDS * 4, vtest_message_size };
   struct vtest_client_job cj;
   /* A client handed over has worked: it is served at once. */
   if (job_size == sizeof(cj) && (memcpy(&cj, job, sizeof(cj)), cj.flags & VTEST_JOB_SNAPSHOT))
      return true;
   return vs_first_message_wait(fds[0], &framing, workers->limits.message_timeout_ms) != VS_FIRST_MESSAGE_LEFT;
}

/* The most a snapshot may hold: the journal's limit and more, and an fd
 * per resource, region and host copy. */
#define SNAPSHOT_MAX_BYTES (1ull << 30)
#define SNAPSHOT_MAX_FDS (1u << 18)

/* fds: as struct vtest_client_job says. */
int
vtest_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   struct vtest_workers *workers = data;
   struct vtest_client_job cj;
   if (job_size != sizeof(cj))
      return 1;
   memcpy(&cj, job, sizeof(cj));
   if (fd_count != vtest_job_fd_count(cj.flags))
      return 1;
   unsigned next = 3;
   const int hand_over_fd = cj.flags & VTEST_JOB_HAND_OVER ? fds[next++] : -1;
   const int snapshot_fd = cj.flags & VTEST_JOB_SNAPSHOT ? fds[next++] : -1;
   const int link_fd = cj.flags & VTEST_JOB_LINK ? fds[next++] : -1;
   const int checkpoint_fd = cj.flags & VTEST_JOB_CHECKPOINT ? fds[next++] : -1;
   struct vs_activity *activity = vs_activity_map(fds[1]);
   close(fds[1]);
   struct vs_ledger_port *ledger = vs_ledger_remote_port_create(fds[2], cj.ctx_id);
   if (!ledger)
      return 1;
   const struct vtest_client_limits limits = vtest_client_limits_of(&workers->limits, ledger, activity);
   /* The worker serves this client alone, in its sandbox (entered when it
    * was forked). */
   struct vs_context_options worker_options = *workers->options;
   worker_options.renderer.ledger = ledger;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &worker_options.renderer);
   /* Its first device may be the one its warm-up prepared. */
   worker_options.renderer.device_hook = &vs_warm_up_device_hook;
   /* The display's registry is the server process's: this one tells it. */
   struct vs_worker_link *link = link_fd >= 0 ? vs_worker_link_start(link_fd, cj.ctx_id) : NULL;
   worker_options.renderer.shared_registry = vs_worker_link_registry(link);
   worker_options.worker_link = link;
   struct vs_parcel snapshot;
   struct vtest_client_move move = { hand_over_fd, NULL, checkpoint_fd, workers->options->checkpoint_quiet_ms };
   int rc = 0;
   if (snapshot_fd >= 0) {
      char why[192];
      rc = vs_parcel_recv_kept(snapshot_fd, &snapshot, SNAPSHOT_MAX_BYTES, SNAPSHOT_MAX_FDS, why, sizeof(why));
      close(snapshot_fd);
      if (rc < 0)
         vs_error(cj.ctx_id, "dropping client: its snapshot from the worker before could not be read: %s", why);
      else
         move.snapshot = &snapshot;
   }
   if (rc == 0)
      rc = vtest_client_serve_limited(fds[0], cj.ctx_id, &worker_options, &limits, &move) == 0 ? 0 : 1;
   else
      rc = 1;
   if (move.snapshot)
      vs_parcel_fini(&snapshot);
   if (hand_over_fd >= 0)
      close(hand_over_fd);
   if (checkpoint_fd >= 0)
      close(checkpoint_fd);
   vs_worker_link_stop(link);
   vs_ledger_remote_port_destroy(ledger);
   /* Host work a CPU driver keeps running (gpu-timeout-ms) ends with this process. */
   return vs_context_abandoned_host_work() ? VS_WORKER_EXIT_ABANDONED : rc;
}

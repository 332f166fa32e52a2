/* SPDX-License-Identifier: MIT */
#include "worker/tenant.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "worker/hand_over.h"
#include "worker/ledger_channel.h"
#include "worker/placement.h"
#include "worker/start_ration.h"
#include "worker/worker_pool.h"

enum vs_tenant_start
vs_tenant_start(const struct vs_tenant_request *request, struct vs_tenant *tenant, int *err)
{
   *tenant = (struct vs_tenant){ .pid = 0, .gpu = -1 };
   *err = 0;
   int *ledger_fd = request->ledger ? &request->fds[request->ledger_slot] : NULL;
   if (ledger_fd) {
      tenant->ledger = vs_ledger_channel_open(request->ledger, (uint32_t)request->uid, request->ctx_id, ledger_fd);
      if (!tenant->ledger) {
         *err = errno;
         *ledger_fd = -1;
         return VS_TENANT_NO_LEDGER;
      }
   }
   /* The tenant's messages wait in its socket meanwhile. */
   pid_t pid = 0;
   int gpu = -1;
   if (vs_start_ration_wait(request->starts, request->uid, request->fds[0], request->waiting, request->data)) {
      gpu = !request->same_gpu ? vs_placement_take(request->placement, request->uid)
            : vs_placement_retake(request->placement, request->gpu) ? request->gpu
                                                                    : -1;
      pid = request->spawn ? request->spawn(request->data, vs_placement_device_index(request->placement, gpu),
                                            request->fds, request->fd_count)
                           : vs_worker_pool_run(request->pool, request->uid, gpu, request->fds, request->fd_count,
                                                request->job, request->job_size);
      *err = pid < 0 ? errno : 0;
      if (pid <= 0)
         vs_start_ration_give_back(request->starts, request->uid);
   }
   if (ledger_fd) {
      close(*ledger_fd);
      *ledger_fd = -1;
   }
   if (pid <= 0) {
      vs_placement_give_back(request->placement, gpu);
      vs_ledger_channel_close(tenant->ledger);
      tenant->ledger = NULL;
      return pid < 0 ? VS_TENANT_NO_WORKER : VS_TENANT_LEFT;
   }
   tenant->pid = pid;
   tenant->placement = request->placement;
   tenant->gpu = gpu;
   vs_placement_announce(request->placement, gpu, request->noun, request->ctx_id, request->uid, pid);
   return VS_TENANT_STARTED;
}

void
vs_tenant_end(struct vs_tenant *tenant)
{
   vs_ledger_channel_close(tenant->ledger);
   tenant->ledger = NULL;
   vs_placement_give_back(tenant->placement, tenant->gpu);
   tenant->placement = NULL;
   tenant->gpu = -1;
}

void
vs_tenant_hand_over(struct vs_tenant *tenant, struct vs_hand_over_tenant *record)
{
   record->pid = tenant->pid;
   record->gpu = tenant->gpu;
   record->ledger_fd = tenant->ledger ? vs_ledger_channel_park(tenant->ledger, record->held) : -1;
}

void
vs_tenant_resume(struct vs_tenant *tenant)
{
   if (tenant->ledger)
      vs_ledger_channel_resume(tenant->ledger);
}

void
vs_tenant_adopt(const struct vs_hand_over_tenant *record, struct vs_placement *placement, struct vs_ledger *ledger,
                struct vs_tenant *tenant)
{
   *tenant = (struct vs_tenant){ .pid = record->pid, .placement = placement, .gpu = -1 };
   if (record->gpu >= 0 && vs_placement_retake(placement, record->gpu))
      tenant->gpu = record->gpu;
   if (record->ledger_fd < 0)
      return;
   tenant->ledger = ledger ? vs_ledger_channel_adopt(ledger, record->uid, record->id, record->ledger_fd, record->held)
                           : NULL;
   if (!tenant->ledger) {
      vs_error(record->id, "upgrade: cannot serve the ledger channel of worker process %d (%s); its charges are "
               "refused from now on", (int)record->pid, ledger ? strerror(errno) : "no ledger");
      close(record->ledger_fd);
   }
}

unsigned
vs_tenant_record_fds(const struct vs_hand_over_tenant *record, int *fds)
{
   const int own[VS_HAND_OVER_TENANT_FDS] = { record->fd,        record->activity_fd,   record->ledger_fd,
                                              record->aux_fd,    record->checkpoint_fd, record->checkpoint_kept_fd };
   unsigned n = 0;
   for (unsigned i = 0; i < VS_HAND_OVER_TENANT_FDS; i++)
      if (own[i] >= 0)
         fds[n++] = own[i];
   return n;
}

void
vs_tenant_drop(const struct vs_hand_over_tenant *record)
{
   int fds[VS_HAND_OVER_TENANT_FDS];
   const unsigned n = vs_tenant_record_fds(record, fds);
   for (unsigned i = 0; i < n; i++)
      close(fds[i]);
}

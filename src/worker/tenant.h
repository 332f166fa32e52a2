/* SPDX-License-Identifier: MIT */
/* A tenant's worker process, started by one recipe on every door (vtest
 * clients, a render server's contexts, VM devices): an account in the
 * server's ledger over a channel of its own (ledger_channel.h), one of
 * its uid's worker starts (start_ration.h), and a worker that claims the
 * tenant once its first message is whole (worker_pool.h), the start given
 * back when it does not; on a host of several GPUs, the GPU it is placed
 * on (worker/placement.h). A door supplies only what is its own: its job,
 * the fds it hands over and the words of its lines. */
#ifndef VS_WORKER_TENANT_H
#define VS_WORKER_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_ledger;
struct vs_ledger_channel;
struct vs_placement;
struct vs_start_ration;
struct vs_worker_pool;

struct vs_tenant_request {
   struct vs_worker_pool *pool;
   struct vs_start_ration *starts;
   /* NULL: the tenant sees every GPU (or --device's). */
   struct vs_placement *placement;
   const char *noun; /* what the tenant is, in the placement line: "client" */
   /* A tenant that moves to a fresh worker stays on its GPU: `gpu` (from
    * its last vs_tenant's) where `same_gpu`; else it is placed anew. */
   bool same_gpu;
   int gpu;
   /* NULL: no account for this worker (another's is charged). */
   struct vs_ledger *ledger;
   uid_t uid;
   uint32_t ctx_id; /* names the ledger channel's lines */
   /* Handed to the worker, the tenant's connection first; fds[ledger_slot]
    * is set to the worker's end of the ledger channel, and closed (-1)
    * once the worker has its copy. */
   int *fds;
   unsigned fd_count;
   unsigned ledger_slot;
   const void *job;
   size_t job_size;
   /* Told once, with how long, when the uid's starts are taken for now;
    * may be NULL. */
   void (*waiting)(void *data, uint32_t wait_ms);
   /* Starts the worker another way than the pool (a render server's
    * spawned worker), on host physical device `device_index` (-1: every
    * one, or --device's); NULL: from the pool. -1
    * with errno set on failure. */
   pid_t (*spawn)(void *data, int gpu, const int *fds, unsigned fd_count);
   void *data;
};

enum vs_tenant_start {
   VS_TENANT_STARTED,
   VS_TENANT_LEFT,      /* the tenant hung up, or sent nothing whole, before a worker claimed it */
   VS_TENANT_NO_LEDGER, /* no ledger channel (errno in *err) */
   VS_TENANT_NO_WORKER, /* no worker could be started (errno in *err) */
};

/* What a started tenant holds in the server until its worker has ended. */
struct vs_tenant {
   pid_t pid;
   struct vs_ledger_channel *ledger;
   struct vs_placement *placement;
   int gpu; /* placed on; -1: none */
};

/* Starts `request`'s worker: VS_TENANT_STARTED with *tenant filled in
 * (end it with vs_tenant_end once the worker has ended); otherwise
 * nothing is held and, for a failure, *err says why. */
enum vs_tenant_start vs_tenant_start(const struct vs_tenant_request *request, struct vs_tenant *tenant, int *err);

/* Once the worker has ended: all the tenant held of the ledger, and its
 * place on its GPU, are back. */
void vs_tenant_end(struct vs_tenant *tenant);

/* A live upgrade in place (worker/hand_over.h), the pool frozen: the
 * tenant's worker and GPU into `record`, and its ledger channel parked
 * (what it holds with it); vs_tenant_resume undoes that when the exec
 * failed. */
struct vs_hand_over_tenant;
void vs_tenant_hand_over(struct vs_tenant *tenant, struct vs_hand_over_tenant *record);
void vs_tenant_resume(struct vs_tenant *tenant);
/* In the process the upgrade started: the running tenant `record` (its
 * worker adopted by its pool), its GPU counted again and its account in
 * `ledger` reopened holding what it held; a channel that cannot be is
 * closed, with one line (its worker's charges are refused from then on). */
void vs_tenant_adopt(const struct vs_hand_over_tenant *record, struct vs_placement *placement,
                     struct vs_ledger *ledger, struct vs_tenant *tenant);
/* The fds `record` holds (at most VS_HAND_OVER_TENANT_FDS): their count. */
unsigned vs_tenant_record_fds(const struct vs_hand_over_tenant *record, int *fds);
/* A running tenant `record` that cannot be taken over: its fds closed
 * (its worker is the caller's to end). */
void vs_tenant_drop(const struct vs_hand_over_tenant *record);

#endif

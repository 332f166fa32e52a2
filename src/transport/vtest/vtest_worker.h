/* SPDX-License-Identifier: MIT */
/* The vtest door's part of a worker process (--isolate process), inside
 * its sandbox: the pool's callbacks (worker/worker_pool.h) that warm up,
 * claim a client once its first message is whole and serve it. The
 * server process's part is vtest_server.c. */
#ifndef VS_VTEST_WORKER_H
#define VS_VTEST_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vtest/vtest.h"
#include "transport/vtest/vtest_client.h"

struct vs_activity;
struct vs_ledger_port;

/* The pool's data: what every worker serves with. */
struct vtest_workers {
   const struct vs_context_options *options;
   struct vtest_server_limits limits;
   struct vs_worker_pool *pool;
};

/* What a worker is told of its client, beside the socket. Its fds: the
 * client's socket, its activity record, its ledger channel, then as the
 * flags say its hand-over socket, the snapshot it is served from, its
 * link to the server and its checkpoints' socket. */
#define VTEST_JOB_HAND_OVER 0x1u  /* it may hand the client over (vtest_client_move) */
#define VTEST_JOB_SNAPSHOT 0x2u   /* it serves a client another worker handed over, or a checkpoint */
#define VTEST_JOB_LINK 0x4u       /* the display reads its memory (worker/worker_link.h) */
#define VTEST_JOB_CHECKPOINT 0x8u /* it publishes checkpoints (worker/checkpoint.h) */
struct vtest_client_job {
   uint32_t ctx_id;
   uint32_t flags;
};

/* The fds a job with `flags` hands its worker. */
static inline unsigned
vtest_job_fd_count(uint32_t flags)
{
   return 3 + !!(flags & VTEST_JOB_HAND_OVER) + !!(flags & VTEST_JOB_SNAPSHOT) + !!(flags & VTEST_JOB_LINK) +
          !!(flags & VTEST_JOB_CHECKPOINT);
}

/* A client's limits, in a worker or (--isolate thread) the server. */
struct vtest_client_limits vtest_client_limits_of(const struct vtest_server_limits *limits,
                                                  struct vs_ledger_port *ledger, struct vs_activity *activity);

bool vtest_worker_prepare(void *data);
bool vtest_worker_claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);
int vtest_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);

#endif

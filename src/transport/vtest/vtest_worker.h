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

/* What a worker is told of its client, beside the socket. */
struct vtest_client_job {
   uint32_t ctx_id;
};

/* A client's limits, in a worker or (--isolate thread) the server. */
struct vtest_client_limits vtest_client_limits_of(const struct vtest_server_limits *limits,
                                                  struct vs_ledger_port *ledger, struct vs_activity *activity);

bool vtest_worker_prepare(void *data);
bool vtest_worker_claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);
int vtest_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);

#endif

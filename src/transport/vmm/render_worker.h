/* SPDX-License-Identifier: MIT */
/* The render server's part of a pooled worker process, inside its
 * sandbox: the pool's callbacks (worker/worker_pool.h) that warm up and
 * serve one context. A spawned worker's is render_worker_main
 * (render.h); the server process's part is render_server.c. */
#ifndef VS_RENDER_WORKER_H
#define VS_RENDER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vmm/render.h"

struct vs_context_options;
struct vs_worker_pool;

/* The pool's data: what every worker serves with. */
struct render_workers {
   const struct vs_context_options *options;
   struct vs_worker_pool *pool;
};

/* What a pooled worker is told of its context, beside the socket. */
struct render_context_job {
   uint32_t ctx_id;
   enum render_framing framing;
   char name[32];
   /* Non-zero: the last fd is the tenant's line budget (shared memory
    * every context worker of the VM maps). */
   uint32_t shared_lines;
};

bool render_worker_prepare(void *data);
int render_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);

#endif

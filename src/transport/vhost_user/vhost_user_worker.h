/* SPDX-License-Identifier: MIT */
/* The VM device's part of a worker process, inside its sandbox: the
 * pool's callbacks (worker/worker_pool.h) that warm up, claim a VMM's
 * connection once its first message is whole and serve the device (a
 * virtio-gpu device and its scanouts' frames, or a virtio-input device).
 * The server process's part is vhost_user_server.c. */
#ifndef VS_VHOST_USER_WORKER_H
#define VS_VHOST_USER_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/context.h"

struct render_workers;
struct vs_worker_pool;

/* The pool's data: what every worker serves with. */
struct vs_vhost_user_workers {
   struct vs_worker_pool *pool;
   const struct vs_context_options *options;
   /* --vm-contexts apart: the Venus contexts' workers (a render server's,
    * transport/vmm/render.h), and the options their server is run with;
    * NULL: each VM's contexts in its device's worker. */
   struct render_workers *contexts;
   struct vs_context_options contexts_options;
};

enum vs_vu_device_kind { VS_VU_DEVICE_GPU, VS_VU_DEVICE_INPUT, VS_VU_DEVICE_KINDS };

/* What a worker is told of its device, beside the VMM's socket: all of it
 * from the server's own options. */
struct vs_vu_device_job {
   uint32_t kind; /* enum vs_vu_device_kind */
   uint32_t id;
   uint32_t width, height; /* each scanout's mode at start */
   uint32_t scanouts;      /* 1..VS_VIRTIO_GPU_MAX_SCANOUTS: a GPU device's */
   uint64_t max_pixels;    /* its framebuffer's: the largest mode */
   uint64_t hostmem_bytes;
   /* Non-zero: the second fd is a socket to the render server that runs
    * each Venus context in a worker of its own (no ledger channel then:
    * the device holds no device memory). */
   uint32_t contexts_apart;
};

/* How long a VMM has for its first whole message (QEMU sends SET_OWNER
 * as it connects): a connection that sends nothing, or part of a
 * message, holds a device slot for nothing. */
#define VS_VU_FIRST_MESSAGE_MS 10000u

bool vs_vu_worker_prepare(void *data);
bool vs_vu_worker_claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);
int vs_vu_worker_serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);

#endif

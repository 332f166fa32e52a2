/* SPDX-License-Identifier: MIT */
/* One vtest connection: reads VCMDs from a connected stream socket and
 * drives a Venus context with them. */
#ifndef VTEST_CLIENT_H
#define VTEST_CLIENT_H

#include <stdint.h>

struct vs_context_options;
struct vs_ledger_port;

/* Serves the client on `fd` until it disconnects or breaks the protocol
 * (one error line says why). The Venus context, created on demand and named
 * `ctx_id` in logs and made with `options`, is destroyed before returning. The caller keeps
 * ownership of `fd` and closes it afterwards. Returns 0 when the peer went
 * away, -1 when the client was dropped. */
int vtest_client_serve(int fd, uint32_t ctx_id, const struct vs_context_options *options);

/* Per-connection limits (vtest.h's vtest_server_limits); 0 means none.
 * `ledger`, when set, is charged the payload bytes buffered for a message
 * larger than the buffer a client keeps anyway (all clients together
 * against partial-total-mib, base/ledger.h). */
struct vtest_client_limits {
   uint32_t message_timeout_ms;
   uint32_t work_timeout_ms;     /* first SUBMIT_CMD2 due this long after connecting */
   uint64_t partial_bytes;
   struct vs_ledger_port *ledger;
   /* Where the client's activity is told (worker/activity.h); NULL: nowhere. */
   struct vs_activity *activity;
};

/* A client that moves between worker processes (context.h:
 * vs_context_hand_over): the socket its state is sent on when it is
 * handed to a fresh worker (-1: it is not), the state it is served from
 * (NULL: a new client), and the socket its checkpoints go to, taken at
 * quiet points after `checkpoint_quiet_ms` without activity
 * (worker/checkpoint.h; -1: none). */
struct vs_parcel;
struct vtest_client_move {
   int hand_over_fd;
   struct vs_parcel *snapshot;
   int checkpoint_fd;
   uint32_t checkpoint_quiet_ms;
};

/* vtest_client_serve under `limits` (vtest_client_serve has none); `move`
 * may be NULL. A client handed over does not return: its worker process
 * ends at once with VS_WORKER_EXIT_HANDED_OVER (context.h), tearing
 * nothing down. */
int vtest_client_serve_limited(int fd, uint32_t ctx_id, const struct vs_context_options *options,
                               const struct vtest_client_limits *limits, const struct vtest_client_move *move);

#endif

/* SPDX-License-Identifier: MIT */
/* The VMM's side of the render-server protocol (render_protocol.h): what a
 * VM device uses to run each of its guest's Venus contexts in a worker
 * process of its own, as a VMM's libvirglrenderer proxy does with its
 * render server. One client per device, on a socket to a render server
 * (render_server_run with a tenant, in the server process); one socket per
 * context, to its worker.
 *
 * The calls mirror context/context.h's, so the device drives a context in
 * a worker as it drives one in its own process. Nothing a worker sends is
 * trusted: a blob's fd must be what its reply says, of the size asked,
 * and shared memory is sealed against shrinking before anyone maps it; a
 * worker that breaks the protocol, hangs up or dies ends its context
 * alone. Fences retire on the client's thread, which watches every
 * context's fence table (one eventfd wakes it) and its socket (a worker's
 * end retires its context's fences at once). */
#ifndef VS_RENDER_CLIENT_H
#define VS_RENDER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/context.h"

struct render_client;
struct render_client_context;

/* Takes `fd` (a SOCK_SEQPACKET socket to a render server) and starts the
 * thread that retires fences; `device_id` labels the log lines. NULL
 * (logged, `fd` closed) on failure. */
struct render_client *render_client_create(int fd, uint32_t device_id);
/* After every context of it is destroyed: ends the thread, closes the
 * socket (the render server then ends its workers). */
void render_client_destroy(struct render_client *client);

/* CREATE_CONTEXT and the context's INIT; its worker starts meanwhile and
 * takes the messages that follow in order. NULL (logged) when refused. */
struct render_client_context *render_client_context_create(struct render_client *client, uint32_t ctx_id,
                                                           const char *name);
/* Ends the context's worker; its fences not yet retired retire now, and no
 * retire callback of it runs after this returns. */
void render_client_context_destroy(struct render_client_context *ctx);
/* False once the worker ended the context (its own line says why), hung
 * up or broke the protocol. */
bool render_client_context_running(const struct render_client_context *ctx);
/* Why the context ended, as this side saw it ("its worker took no message
 * for 10 s"), or NULL while it runs. */
const char *render_client_context_end_reason(const struct render_client_context *ctx);

/* As vs_context_submit: false when the context has ended. The worker
 * checks the stream; a bad one ends the context later. */
bool render_client_context_submit(struct render_client_context *ctx, const void *cmds, size_t size);
/* As vs_context_create_blob (a HOST3D blob): waits for the worker's reply.
 * False when it refused or the reply was not what was asked (the context
 * has then ended). */
bool render_client_context_create_blob(struct render_client_context *ctx, uint32_t res_id, uint32_t flags,
                                       uint64_t size, uint64_t blob_id, struct vs_blob *out);
/* As vs_context_import_resource: takes `fd` either way. */
bool render_client_context_import(struct render_client_context *ctx, uint32_t res_id, int fd,
                                  enum vs_fd_type fd_type, uint64_t size);
void render_client_context_destroy_resource(struct render_client_context *ctx, uint32_t res_id);
/* As vs_context_submit_fence: `retire(data)` on the client's thread once
 * the worker has finished everything before it on `ring_idx`, or once the
 * context ends. False (the context ended) for a ring outside the fence
 * table. */
bool render_client_context_submit_fence(struct render_client_context *ctx, uint32_t ring_idx, vs_retire_fn retire,
                                        void *data);

#endif

/* The render-server transport: venus-server as the render server a VMM's
 * libvirglrenderer starts (RENDER_SERVER_EXEC_PATH, `--socket-fd N`).
 * One client connection (the VMM's proxy) on the given socket; one worker
 * per context on a socket of the same type, created at CREATE_CONTEXT. */
#ifndef VS_RENDER_H
#define VS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_context_options;

/* How each context (render server) or client (vtest) runs. */
enum vs_isolate {
   VS_ISOLATE_THREAD,  /* a thread of the server process */
   VS_ISOLATE_PROCESS, /* a forked worker process that never shares the
                        * host driver with another context */
};

/* Serves the proxy on `fd` until it closes the socket (returns 0) or
 * breaks the protocol (logged; returns 1). Never writes to stdout. */
int render_server_run(int fd, const struct vs_context_options *options, enum vs_isolate isolate);

/* One context on its socket `fd` (taken): the worker's loop, exposed for
 * the fuzzer. Returns when the socket closes or the context ends. */
void render_context_serve(int fd, uint32_t ctx_id, const char *name, const struct vs_context_options *options);

#endif

/* SPDX-License-Identifier: MIT */
/* The render-server transport: venus-server as the render server a VMM's
 * libvirglrenderer starts (RENDER_SERVER_EXEC_PATH, `--socket-fd N`).
 * One client connection (the VMM's proxy) on the given socket; one worker
 * per context on a socket of the same type, created at CREATE_CONTEXT. */
#ifndef VS_RENDER_H
#define VS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/memory_shares.h"

struct vs_context_options;

/* How each context (render server) or client (vtest) runs. */
enum vs_isolate {
   VS_ISOLATE_THREAD,  /* a thread of the server process */
   VS_ISOLATE_PROCESS, /* a forked worker process that never shares the
                        * host driver with another context */
   VS_ISOLATE_SPAWN,   /* render server only: a worker process started with
                        * posix_spawn of the server's own program and
                        * upstream virglrenderer's --worker-context-*
                        * arguments, a fresh process image (macOS's Metal
                        * breaks in a child forked without exec) */
};

/* Message framing of the render-server sockets (render_socket.h). */
enum render_framing {
   RENDER_FRAMING_SEQPACKET,
   RENDER_FRAMING_HEADER8,
   RENDER_FRAMING_BE32,
   RENDER_FRAMING_AUTO, /* STREAM: the first message received decides */
};

/* "seqpacket", "header8", "be32", "auto". */
const char *render_framing_name(enum render_framing f);
/* Parses a --stream-framing value (auto, header8, be32). */
bool render_framing_parse(const char *name, enum render_framing *out);

struct render_hand_over;
struct render_workers;
struct vs_ledger;
struct vs_start_ration;

/* A render server whose proxy is a VM device's worker (vhost-user): the
 * VM's contexts belong to the device's tenant, whose worker starts and
 * device memory the device's server rations and charges. */
struct render_tenant {
   uint32_t device_id; /* labels the lines */
   uid_t uid;          /* the VMM's */
   struct vs_start_ration *starts;
   struct vs_ledger *ledger;
   /* Lines above debug level the VM's contexts may log about themselves
    * (why one was dropped, or its worker died), all of them together:
    * their creation and end are debug lines (vs_context_options's
    * lines_left, shared with each worker through memory). */
   uint32_t context_lines;
   /* Where a live upgrade stops it (NULL: nowhere); in the process an
    * upgrade in place started, its contexts taken over (their workers
    * adopted by the pool already), its line budget's memory (-1: a new
    * one) and its VMM's INIT flags. */
   struct render_hand_over *hand_over;
   const struct vs_hand_over_tenant *adopted;
   unsigned adopted_count;
   int lines_fd;
   uint32_t init_flags;
};

/* A live upgrade in place (worker/hand_over.h) of a VM device's render
 * server, the contexts' pool frozen: render_hand_over_freeze stops the
 * server between two requests and lists its running contexts into
 * `contexts` (at most `max`), their ledger channels parked, and its
 * VMM's INIT flags and line budget into `device`: their count, or -1
 * (nothing held) while a context is starting or ending, or when the
 * server did not stop within `wait_ms` or ended meanwhile. One that had
 * ended lists none, and sets device->fd (its socket) to -1.
 * render_hand_over_thaw undoes it when the exec failed. */
struct vs_hand_over_tenant;
struct render_hand_over *render_hand_over_create(void);
void render_hand_over_destroy(struct render_hand_over *hand_over);
int render_hand_over_freeze(struct render_hand_over *hand_over, struct vs_hand_over_tenant *device,
                            struct vs_hand_over_tenant *contexts, unsigned max, unsigned wait_ms);
void render_hand_over_thaw(struct render_hand_over *hand_over);

struct render_server_options {
   enum vs_isolate isolate;
   enum render_framing stream_framing; /* for SOCK_STREAM sockets */
   /* VS_ISOLATE_PROCESS: the contexts' worker processes. */
   struct render_workers *workers;
   /* VS_ISOLATE_SPAWN: the program to spawn and the server's own options
    * to repeat to it (--socket-fd and --isolate left out). */
   const char *exec_path;
   char *const *worker_args;
   int worker_arg_count;
   /* What the VM's contexts may take together (0: no bound): contexts at
    * once (--limit clients), worker processes started a minute
    * (worker-starts-per-min, worker/start_ration.h) and device memory
    * (worker/memory_shares.h, charged through a ledger of the render
    * server's, base/ledger.h). */
   uint32_t max_contexts;
   uint32_t worker_starts_per_min;
   struct vs_memory_shares memory;
   /* NULL: the VMM on the socket is the tenant, with a ration and a ledger
    * of this server's own (worker_starts_per_min, memory). */
   const struct render_tenant *tenant;
};

/* The worker processes of --isolate process (the default): `ready` kept
 * started, their host driver initialised, ahead of demand
 * (worker/worker_pool.h). Made before the process starts any thread
 * (worker/forker.h says why), with the `options` render_server_run then
 * gets. NULL on failure (logged). */
struct render_workers *render_workers_create(const struct vs_context_options *options, unsigned ready);
/* After render_server_run: ends the workers it did not hand out. */
void render_workers_destroy(struct render_workers *workers);

/* Serves the proxy on `fd` until it closes the socket (returns 0) or
 * breaks the protocol (logged; returns 1). Never writes to stdout. */
int render_server_run(int fd, const struct vs_context_options *options, const struct render_server_options *rs);

/* One context on its socket `fd` (taken), in `framing` (AUTO: detected):
 * the worker's loop, exposed for the fuzzer and spawned workers. Returns
 * when the socket closes or the context ends. */
void render_context_serve(int fd, uint32_t ctx_id, const char *name, const struct vs_context_options *options,
                          enum render_framing framing);

/* A worker spawned with upstream's arguments (--worker-context-fd and
 * friends): ties itself to the server `server_pid` (0: no tie; POSIX
 * backend: through `tie_fd` too), charges its device memory over the
 * ledger channel `ledger_fd` (-1: none, upstream's server), then serves
 * its one context. Returns the exit status. */
int render_worker_main(int fd, uint32_t ctx_id, const char *name, uint32_t init_flags, pid_t server_pid,
                       int tie_fd, int ledger_fd, const struct vs_context_options *options,
                       enum render_framing framing);

#endif

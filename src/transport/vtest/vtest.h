/* SPDX-License-Identifier: MIT */
/* The vtest server: listens on a Unix socket and serves each connection
 * (one Venus context per connection) on its own thread. */
#ifndef VTEST_H
#define VTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ledger.h"
#include "worker/hand_over.h"
#include "worker/memory_shares.h"
#include "worker/worker_pool.h"

struct vs_context_options;
struct vtest_workers;

#define VTEST_SERVER_ABANDONED 3
#define VTEST_STOP_TIMEOUT_MS 10000

/* How the server runs, besides its limits. */
struct vtest_server_setup {
   /* Each client is served by a worker process of these (its context
    * never shares the host driver with another client's); a worker that
    * dies is logged once and takes only its client. NULL: every client on
    * a thread of the server (--isolate thread). */
   struct vtest_workers *workers;
   /* The server stops once this fd is readable: an os_event's read end,
    * which the owner signals (async-signal-safe, so from a signal handler
    * too) and drains. */
   int stop_fd;
   /* A listening socket the service manager passed (base/socket_activation.h:
    * 3 or above), served instead of binding socket_path, and left to its
    * owner at exit; 0: none. */
   int activated_fd;
   /* With activated_fd: the socket's file is this server's to remove at
    * exit (one a live upgrade handed over from a server that bound it). */
   bool owns_socket_file;
   /* The live upgrade (docs/deployment.md "Live upgrade"); NULL: none. */
   const struct vs_live_upgrade *upgrade;
};

/* What the transport allows, server-wide and per connection; 0 means no
 * limit. Each refusal or drop is one log line naming the limit. */
struct vtest_server_limits {
   uint32_t clients;              /* connections served at once; more are refused */
   uint32_t message_timeout_ms;   /* a message, once begun, must arrive whole within
                                     this; so must a client's first message and
                                     every reply's reading by the client */
   uint32_t work_timeout_ms;      /* a client that sent no Venus work (SUBMIT_CMD2)
                                     this long after connecting is dropped */
   uint32_t clients_per_peer;     /* connections one peer (uid, SO_PEERCRED) holds
                                     at once: the other slots stay for other users */
   uint32_t idle_timeout_ms;      /* when a uid's (or the server's) slots are full,
                                     the uid's client idle longest past this is
                                     dropped for its newcomer (worker/activity.h) */
   uint32_t teardown_timeout_ms;  /* a client gone this long whose context is
                                     still being torn down gives up its slot
                                     (its worker process is ended) */
   uint32_t worker_starts_per_min; /* workers one uid's clients may take a
                                      minute (each is replaced by a warm-up),
                                      with a burst of a quarter of it: a
                                      client past it waits for its worker */
   uint64_t partial_bytes;        /* payload bytes buffered for one client */
   uint64_t partial_total_bytes;  /* payload bytes buffered for all clients */
   uint64_t partial_per_peer_bytes; /* of those, for one uid's clients together */
   struct vs_memory_shares memory_per_peer; /* device memory one uid's clients
                                               hold together (worker/memory_shares.h) */
};

/* Defaults a multi-tenant host can use. */
void vtest_server_limits_default(struct vtest_server_limits *limits);

/* The worker processes of --isolate process (the default): `ready` kept
 * started, their host driver initialised, ahead of demand
 * (worker/worker_pool.h). Made before the process starts any thread
 * (worker/forker.h says why), with the `options` and `limits` that
 * vtest_server_run_limited then gets. NULL on failure (logged). */
struct vtest_workers *vtest_workers_create(const struct vs_context_options *options,
                                           const struct vtest_server_limits *limits, unsigned ready);
/* After vtest_server_run_limited: ends the workers it did not hand out. */
void vtest_workers_destroy(struct vtest_workers *workers);

/* Runs until setup->stop_fd is readable, or until a live upgrade handed
 * the socket over and the last client ended. Prints "venus-server: listening
 * on PATH" to stdout once clients can connect (on setup->activated_fd if
 * set, socket_path then only names it). On stop, disconnects every
 * client, waits for their threads (each destroys its context) and removes
 * the socket file. Returns 0, or 1 if the socket could not be set up (the
 * reason is logged), or VTEST_SERVER_ABANDONED if some client threads did
 * not finish within VTEST_STOP_TIMEOUT_MS (stuck inside the host driver,
 * on a hung GPU): they still run, so the caller must end the process at
 * once (_exit). Every client's context is made with `options`. */
int vtest_server_run_limited(const char *socket_path, const struct vs_context_options *options,
                             const struct vtest_server_limits *limits, const struct vtest_server_setup *setup);

#endif

/* SPDX-License-Identifier: MIT */
/* The link between the server process and one worker process (--isolate
 * process) whose tenant's memory the server reads: the display's Wayland
 * clients pass dma-bufs of it, the VM channel names its blobs by resource
 * id. A socket pair made per job, one end handed to the worker with the
 * job.
 *
 * The worker tells the server of its shared memory (each memfd of its
 * registry, renderer/memory/shared_registry.h, and the render server's blob
 * resources); the server maps each memfd read-only and lists it in its own
 * registry as a remote entry, whose mark, fence wait and refresh it asks
 * of the worker, which runs them on its own entry in a thread of the link
 * (link_worker.c). The link is the order: before a blob's fd leaves the
 * worker (the VMM's CREATE_RESOURCE reply, vtest's blob), the worker
 * syncs, so the server has its memory and resource before a guest or a
 * Wayland client can name them. The server's end (link_server.c) trusts
 * nothing: the
 * worker's guest may own it. A message it cannot accept ends that link
 * with one log line; the worker's memory is gone from the display and the
 * resource table then, the worker itself goes on. */
#ifndef VS_WORKER_WORKER_LINK_H
#define VS_WORKER_WORKER_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_fair_pool;
struct vs_server_link;
struct vs_vm_resource_table;
struct vs_shared_registry;
struct vs_worker_link;
struct vs_worker_pool;

/* A connected pair, both ends CLOEXEC and SIGPIPE-free: [0] the server's,
 * [1] the worker's. 0, or -1 with errno. */
int vs_link_pair(int fds[2]);

/* What the memory that workers announce may cost the server, set once
 * before the first link opens. Past any of it the memory is refused and
 * that worker's link ends. */
struct vs_server_link_limits {
   /* Bytes one worker may have mapped in the server at once: what its
    * tenant may hold; 0: no bound. */
   uint64_t worker_bytes;
   /* The server-wide budget of bytes all links map, and the server's
    * mappings for clients' shared memory (base/fair_share.h), each link
    * counting as a client; NULL: counted, never refused. */
   struct vs_fair_pool *bytes;
   struct vs_fair_pool *mappings;
   /* The server's fault-safe mappings (os_map_guarded_max) that memory
    * which can still shrink takes, each link counting as a client; NULL:
    * counted, never refused. */
   struct vs_fair_pool *guarded;
   /* Resources one worker may have listed at once (the `resources`
    * limit); 0: no bound. */
   uint32_t resources;
};
void vs_server_links_limit(const struct vs_server_link_limits *limits);

/* In the server, before the worker is given its end: takes the server's
 * end `fd`. What the worker shares goes into `registry` and `resources`
 * (NULL: vtest). NULL (logged, `fd` closed) when out of memory. */
struct vs_server_link *vs_server_link_open(int fd, uint32_t ctx_id, struct vs_shared_registry *registry,
                                           struct vs_vm_resource_table *resources);
/* On the thread that waits for the worker: serves `link` until the worker
 * closes its end, breaks the protocol or has ended (`ended_fd` readable;
 * -1: not watched), then drops what the worker had shared (its registry
 * entries, its resources) and frees the link. A worker may have passed its
 * end to another process, so its end closing is not its exit. */
void vs_server_link_serve(struct vs_server_link *link, int ended_fd);
/* vs_server_link_serve until pooled worker `pid` has ended, then its
 * waitpid status (vs_worker_pool_wait). */
int vs_server_link_serve_worker(struct vs_server_link *link, struct vs_worker_pool *pool, pid_t pid);
/* A link never served (its worker did not start); NULL does nothing. */
void vs_server_link_close(struct vs_server_link *link);

/* In the worker, before its context exists: takes `fd`, starts the
 * thread that answers the server's requests. NULL (logged) on failure. */
struct vs_worker_link *vs_worker_link_start(int fd, uint32_t ctx_id);
/* The registry the worker's contexts fill (vs_renderer_options.shared_registry). */
struct vs_shared_registry *vs_worker_link_registry(struct vs_worker_link *link);
/* The render server's blob resources: told only for a memfd the registry
 * holds (the server accepts no other). */
void vs_worker_link_resource_created(struct vs_worker_link *link, uint32_t res_id, int fd, uint64_t size,
                                     uint32_t blob_flags);
/* Waits until the server has taken in everything this worker told it
 * before: called before a blob's fd leaves the worker, so that the server
 * knows its memory (and resource) before anyone can name it to the server.
 * True at once without a link or once the server has ended it; false
 * when the server did not answer in 10 s (the caller ends its context). */
bool vs_worker_link_sync(struct vs_worker_link *link);
void vs_worker_link_resource_destroyed(struct vs_worker_link *link, uint32_t res_id);
void vs_worker_link_context_ended(struct vs_worker_link *link);
/* After the context is destroyed: ends the thread, frees the registry. */
void vs_worker_link_stop(struct vs_worker_link *link);

#endif

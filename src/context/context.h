/* SPDX-License-Identifier: MIT */
/* The renderer API: a Venus context is everything one guest client owns:
 * its resources (blobs and imported fds, under ids the caller chooses),
 * its rings, its guest-id -> host-object table and the host Vulkan objects
 * behind it. Transports (src/vtest today; a VMM's render-server socket)
 * drive it through this interface only, and receive its log lines through
 * base/log.h's sink. */
#ifndef VS_CONTEXT_H
#define VS_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "renderer/renderer.h"
#include "renderer/sync/retire.h"
#include "wire/capset.h"

struct vs_fair_pool;
struct vs_vm_resource_table;
struct vs_worker_link;

struct vs_context;

/* What one context may hold at once; 0 means no limit. Hitting one ends the
 * context with a log line naming the limit. */
struct vs_context_limits {
   uint32_t rings;
   uint32_t objects;
   uint32_t resources;           /* blobs and imports */
   uint64_t shmem_bytes;         /* plain shared memory the server allocated */
   uint64_t memory_bytes;        /* device memory, all heaps together (each heap's size bounds it anyway) */
   /* Server-wide pools of fds and mappings the server keeps for clients'
    * shared memory, shared fairly (base/fair_share.h); NULL: none. */
   struct vs_fair_pool *fd_pool;
   struct vs_fair_pool *mapping_pool;
};

struct vs_context_options {
   struct vs_renderer_options renderer;
   struct vs_context_limits limits;
   /* Where the contexts of one server count their live host objects (the
    * "live in server" figure of each context's last line); NULL: each
    * context its own. */
   _Atomic uint64_t *live_objects;
   /* Render-server mode: where CREATE_RESOURCE / DESTROY_RESOURCE and the
    * context's end are recorded for the VM channel
    * (vm/resource_table.h); NULL: nowhere. */
   struct vs_vm_resource_table *resource_table;
   /* In a worker process whose server reads its memory: where the
    * resources above are told instead, and what a blob's fd waits on
    * before it leaves the worker (worker/worker_link.h); NULL: none. */
   struct vs_worker_link *worker_link;
   /* For contexts a guest makes and ends at will (a VM device's): the
    * lines they may still log above debug level, shared by the device's
    * contexts. Each one's creation and end are then logged at debug
    * level, and the reason one was dropped takes a line of these (past
    * them, it too goes to debug level). NULL: every line at its level. */
   _Atomic uint32_t *lines_left;
   /* On a host of several GPUs: which one each new tenant is given
    * (worker/placement.h); NULL: every tenant sees every GPU (or
    * --device's). */
   struct vs_placement *placement;
   /* Each context keeps a journal of its lasting commands (wire/journal.h),
    * so that it can be handed to a fresh worker (--upgrade-workers: a
    * live upgrade moves it to the new binary). */
   bool journal;
   /* --worker-checkpoints: each vtest client's worker publishes a
    * checkpoint once the client was this long without activity (0: none;
    * needs `journal`). */
   uint32_t checkpoint_quiet_ms;
};

/* Defaults a multi-tenant host can use. */
void vs_context_options_default(struct vs_context_options *options);

struct vs_context *vs_context_create(uint32_t ctx_id, const char *debug_name,
                                     const struct vs_context_options *options);

/* Destroys every host object of the context, stops its threads, closes its
 * resources. Safe to call at any time, including after a fatal error. */
void vs_context_destroy(struct vs_context *ctx);

/* True once the context hit a fatal error (bad guest input); the transport
 * should then drop the client. The reason was already logged. */
bool vs_context_is_fatal(const struct vs_context *ctx);

/* From now on the context's rings store in *last_ns the time (os_now_ns)
 * of every command stream they run: a client busy through its rings sends
 * nothing on its socket. Call it before the first ring is created. */
void vs_context_track_activity(struct vs_context *ctx, _Atomic uint64_t *last_ns);

/* How a transport tells whether its peer is still there (a vtest client's
 * socket, a VMM's context). Asked from any of the context's threads
 * between the slices of a long wait (host waits, ring waits), at most
 * every VS_CONTEXT_PEER_CHECK_MS: a client that hangs up while the server
 * waits for the host on its behalf is noticed there, the wait abandoned and
 * the context left to the transport's teardown. Must be cheap and must not
 * block (a poll with no timeout). */
typedef bool (*vs_peer_alive_fn)(void *data);
#define VS_CONTEXT_PEER_CHECK_MS 100
void vs_context_watch_peer(struct vs_context *ctx, vs_peer_alive_fn alive, void *data);

/* A guest thread that waited on this context's work is about to go on:
 * its rings look for its next commands without sleeping for a while
 * (vs_ring_expect_commands), so its next frame does not wait out a polling
 * gap. Said by every fence of vs_context_submit_fence as it retires, and
 * by a transport whose guest asks to wait (vtest's SYNC_WAIT). Any
 * thread; cheap. */
void vs_context_expect_commands(struct vs_context *ctx);

/* True once a wait noticed that the peer hung up (logged once). The
 * context's waits and rings stop as for a fatal context, but nothing is
 * logged as a drop. */
bool vs_context_peer_gone(const struct vs_context *ctx);

/* True while the context goes on: neither fatal nor left by its peer. */
bool vs_context_running(const struct vs_context *ctx);

/* Between the slices of a long wait: true if the wait should end (the
 * context is fatal or its peer hung up; asks the transport's probe at most
 * every VS_CONTEXT_PEER_CHECK_MS). Any thread of the context. */
bool vs_context_wait_abandoned(struct vs_context *ctx);

/* Devices this process lost (gpu-timeout-ms) with work a CPU driver keeps
 * running, which only the end of the process stops: a worker process
 * (--isolate process) that served such a client exits with
 * VS_WORKER_EXIT_ABANDONED, and its parent says so. */
uint32_t vs_context_abandoned_host_work(void);
#define VS_WORKER_EXIT_ABANDONED 3
/* A worker whose context was handed over (vs_context_hand_over) exits
 * with this: its parent starts a fresh worker with the snapshot. */
#define VS_WORKER_EXIT_HANDED_OVER 5

/* After each transport message: if shared memory of one of the context's
 * resources shrank under the server (truncated by its owner; the server
 * read zeros instead of dying, see os_map_guarded), the context becomes
 * fatal with one line. False if the context is fatal. */
bool vs_context_check_memory(struct vs_context *ctx);

/* Blob types and flags as vtest and the render server define them. */
#define VS_BLOB_TYPE_GUEST 1
#define VS_BLOB_TYPE_HOST3D 2
#define VS_BLOB_TYPE_HOST3D_GUEST 3
#define VS_BLOB_FLAG_MAPPABLE 0x1
#define VS_BLOB_FLAG_SHAREABLE 0x2
#define VS_BLOB_FLAG_CROSS_DEVICE 0x4

/* What kind of fd a resource is (the render server's numbering). */
enum vs_fd_type {
   VS_FD_TYPE_INVALID = -1,
   VS_FD_TYPE_DMABUF = 0,
   VS_FD_TYPE_OPAQUE = 1,
   VS_FD_TYPE_SHM = 2,
};

/* How the guest should map a blob (VIRGL_RENDERER_MAP_CACHE_*). */
#define VS_MAP_CACHE_CACHED 1
#define VS_MAP_CACHE_UNCACHED 2
#define VS_MAP_CACHE_WC 3

/* For OPAQUE fds: what a VMM needs to import them itself, laid out as
 * the render server's protocol carries it (transport/vmm/render_protocol.h). */
struct vs_blob_vulkan_info {
   uint8_t device_uuid[16];
   uint8_t driver_uuid[16];
   uint64_t allocation_size;
   uint32_t memory_type_index;
   uint32_t pad;
};

struct vs_blob {
   int fd;                     /* new: the caller sends it, then closes it */
   enum vs_fd_type fd_type;
   uint32_t map_info;
   struct vs_blob_vulkan_info vulkan_info;
};

/* Creates blob resource `res_id` (the caller's id: non-zero, unused).
 * blob_id 0 with flags == MAPPABLE: plain shared memory. Otherwise blob_id
 * names a VkDeviceMemory of this context. On failure logs why and returns
 * false (the context is then fatal). */
bool vs_context_create_blob(struct vs_context *ctx, uint32_t res_id, uint32_t type, uint32_t flags,
                            uint64_t size, uint64_t blob_id, struct vs_blob *out);

/* Adds `fd` (SHM or DMABUF, mappable, at least `size` bytes) as resource
 * `res_id`; the context takes the fd either way. False (context fatal) on
 * a bad id, type or size. */
bool vs_context_import_resource(struct vs_context *ctx, uint32_t res_id, int fd, enum vs_fd_type fd_type,
                                uint64_t size);

/* Drops a resource. Unknown ids are logged and ignored. */
void vs_context_destroy_resource(struct vs_context *ctx, uint32_t res_id);

/* Rebuilds the context's Vulkan state in a fresh renderer from its journal
 * (wire/journal.h), its client connected throughout: same guest ids, same
 * shared memory under the guest's mappings, sync objects as they were;
 * with `move`, on the host's next GPU of the same model. Runs on the
 * context side, between its streams; refuses with one line, touching
 * nothing, unless every ring is idle, no work is in flight and every
 * object can be made again (renderer/restore.h). True when rebuilt; a
 * replay that fails drops the client (context fatal). */
bool vs_context_restore(struct vs_context *ctx, bool move);

/* A restore into another worker process: the transport hands the context
 * over between two messages when vs_context_hand_over_due says so (the
 * test switch's :worker, for now). At a quiet point, as a restore's, the
 * context's whole state is written into `out` (base/parcel.h): its
 * resources and rings, the replay and the renderer's taken state. True:
 * the context runs nothing more (the dispatch lock stays held); the
 * transport sends `out` with its own part and ends its process, or, when
 * it cannot, calls vs_context_hand_over_failed. False: refused (one line)
 * or rebuilt here, the context going on. */
struct vs_parcel;
bool vs_context_hand_over_due(const struct vs_context *ctx);
bool vs_context_hand_over(struct vs_context *ctx, struct vs_parcel *out);
/* The transport does not hand the context over after all (one of its own
 * parts cannot be carried): not due any more. */
void vs_context_hand_over_cancel(struct vs_context *ctx);
/* The hand-over's state could not leave: rebuilt here, one warning. */
void vs_context_hand_over_failed(struct vs_context *ctx, const char *why);
/* A checkpoint (--worker-checkpoints): at a quiet point, as a
 * hand-over's, the context's whole state is appended to `out` without
 * stopping the context, and `publish` is called with it while the context
 * runs nothing. Once published, the context calls `spoiled` (set by
 * vs_context_watch_checkpoints) once before it runs anything more: a
 * ring's next commands, or the transport's next request, which the
 * transport announces first with vs_context_checkpoint_spoil. Whoever
 * keeps the checkpoint forgets it then, so a worker killed later is
 * restored only from a state the guest has not moved past. False:
 * nothing made yet, refused (one line per new reason) or not published. */
typedef bool (*vs_checkpoint_publish_fn)(void *data, const struct vs_parcel *state);
typedef void (*vs_checkpoint_spoiled_fn)(void *data);
void vs_context_watch_checkpoints(struct vs_context *ctx, vs_checkpoint_spoiled_fn spoiled, void *data);
bool vs_context_checkpoint(struct vs_context *ctx, struct vs_parcel *out, vs_checkpoint_publish_fn publish,
                           void *data);
void vs_context_checkpoint_spoil(struct vs_context *ctx);
/* A context made from what vs_context_hand_over wrote (hostile input: a
 * worker its guest owns may have written it), in a fresh worker: its
 * resources mapped again, the replay run and settled, and its rings
 * started where they stopped. NULL with `why`. */
struct vs_context *vs_context_from_snapshot(uint32_t ctx_id, const char *debug_name,
                                            const struct vs_context_options *options, struct vs_parcel *in,
                                            char *why, size_t why_size);

/* Executes a context-side Venus command stream (one SUBMIT_CMD2 batch)
 * synchronously. Returns false if the stream was bad (context now fatal). */
bool vs_context_submit(struct vs_context *ctx, const void *cmds, size_t size);

/* A vkWaitRingSeqnoMESA that ends a context-side stream is not waited for
 * at once but before the context side's next step (every function above
 * and below settles it first): Mesa's fast present sends a batch that only
 * waits, once per frame. A transport may settle it earlier, as vtest does
 * once the next request has arrived. False (context fatal) if the ring can
 * never reach the seqno. */
bool vs_context_settle_ring_wait(struct vs_context *ctx);

/* Asks for `retire(data)` to be called once everything submitted so far on
 * timeline `ring_idx` has finished on the host (ring_idx 0 is the CPU
 * timeline: right away). The callback may run on another thread. Returns
 * false for an invalid ring_idx (context now fatal). */
bool vs_context_submit_fence(struct vs_context *ctx, uint32_t ring_idx, vs_retire_fn retire, void *data);

#endif

/* SPDX-License-Identifier: MIT */
/* The inside of a Venus context, shared by the files of src/context only. */
#ifndef VS_CONTEXT_STATE_H
#define VS_CONTEXT_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "context/context.h"
#include "renderer/renderer.h"
#include "wire/journal.h"
#include "wire/runner.h"
#include "wire/object_table.h"
#include "wire/resource.h"
#include "vn_wire.h"

struct vs_ring;
struct vs_restore;

struct vs_context {
   uint32_t id;
   char name[64];
   atomic_bool fatal;
   /* vs_context_watch_peer's probe, and what it found. */
   vs_peer_alive_fn peer_alive;
   void *peer_data;
   atomic_bool peer_gone;
   _Atomic uint32_t *lines_left; /* vs_context_options' */
   _Atomic uint64_t peer_checked_ns; /* when the probe was last asked */
   struct vs_context_limits limits;

   struct vs_object_table objects;
   struct vs_resource_table resources;
   struct vs_renderer renderer;

   /* The handlers every dispatcher of the context runs, and their checks. */
   struct vn_exec_table exec_table;
   struct vn_check_table check_table;
   /* The context-side dispatcher (SUBMIT_CMD2 streams, socket thread). */
   struct vs_runner dispatch;
   /* Taken by every command of every dispatcher of the context
    * (wire/dispatch_lock.h): no destroy runs under a command using it. */
   struct vs_dispatch_lock dispatch_lock;
   /* The lasting commands of every dispatcher (wire/journal.h), kept
    * under $VENUS_SERVER_TEST_JOURNAL only for now. */
   struct vs_journal journal;
   bool journaled;

   pthread_mutex_t rings_lock;
   struct vs_ring *rings;
   uint32_t ring_count;

   /* Ring monitor: sets ALIVE on every ring periodically. */
   pthread_t monitor_thread;
   pthread_mutex_t monitor_lock;
   pthread_cond_t monitor_cond;
   bool monitor_running;
   bool monitor_stop;
   uint32_t monitor_period_us;

   /* Bytes of plain shared memory the context holds, up to
    * limits.shmem_bytes (the pool's guarantee, nothing shared; no pool
    * without a limit). Each resource gives its bytes back when its last
    * holder (the table, a ring, a reply stream) lets go. */
   struct vs_fair_pool shmem_pool;
   struct vs_fair_account shmem;
   /* Destroys of ids it does not hold: the first is a warning, the rest
    * debug lines (a guest may send any number). */
   _Atomic uint32_t unknown_destroys;

   /* Where the rings store when they last ran a command stream (the
    * transport's idle policy reads it, maybe from another process); NULL:
    * nowhere. Set before the first ring exists. */
   _Atomic uint64_t *activity_ns;

   /* os_map_fault_count when the transport last looked (its thread only). */
   uint64_t faults_seen;

   /* A vkWaitRingSeqnoMESA that ended a context-side stream, not waited for
    * yet: only the context side's next step must come after it (context
    * side only; see vs_context_defer_ring_wait). */
   bool ring_wait_deferred;
   uint64_t deferred_ring_id;
   uint32_t deferred_seqno;

   /* Context-side streams run so far ($VENUS_SERVER_TEST_RESTORE counts
    * them), and whether the transport is asked to hand the context over to
    * a fresh worker after this one (its :worker). */
   uint64_t steps;
   bool hand_over_due;
   /* The state a hand-over took, until it is sent or rebuilt here
    * (restore.c); NULL: none. */
   struct vs_context_taken *taken;

   /* Checkpoints (vs_context_checkpoint): `armed` while the newest one
    * the transport published still matches the context (nothing ran
    * since); the transport's note that it spoiled is sent once, under
    * checkpoint_lock, before anything more runs. The newest one's host
    * copies stay here, charged to the client's uid, until the next. */
   vs_checkpoint_spoiled_fn checkpoint_spoiled;
   void *checkpoint_data;
   pthread_mutex_t checkpoint_lock;
   atomic_bool checkpoint_armed;
   struct vs_restore *checkpoint_kept;
   uint32_t checkpoints;
   char checkpoint_refusal[192]; /* the last refusal, said once */
};

/* Frees the newest checkpoint's host copies (restore.c). */
void vs_context_drop_checkpoint(struct vs_context *ctx);

/* Brings up the context's renderer, wired to the context (its resources,
 * rings and limits): at the context's creation and a restore's rebuild. */
void vs_context_start_renderer(struct vs_context *ctx, const struct vs_renderer_options *options);

/* Logs `reason` once and makes the context fatal: every ring stops, and
 * the transport drops the client. */
void vs_context_set_fatal(struct vs_context *ctx, const char *reason);

/* Sets up a dispatcher of this context; `ring` is NULL on the context side. */
void vs_context_init_dispatch(struct vs_context *ctx, struct vs_runner *runner, struct vs_ring *ring);

struct vs_ring *vs_context_find_ring(struct vs_context *ctx, uint64_t ring_id);
/* False when the context is at its ring limit (the ring is not added). */
bool vs_context_add_ring(struct vs_context *ctx, struct vs_ring *ring);
/* Unlinks the ring; the caller destroys it. */
struct vs_ring *vs_context_remove_ring(struct vs_context *ctx, uint64_t ring_id);
/* Starts the monitor (if needed) with at most this period. */
void vs_context_monitor_rings(struct vs_context *ctx, uint32_t period_us);

/* Defers a context-side wait for ring `ring_id` to reach `seqno` until the
 * context side's next step (a stream, a fence, a resource): Mesa's present
 * with implicit fencing sends a batch that only waits, and nothing needs
 * the socket thread blocked for it. A deferred wait on another ring is
 * settled first. False (context fatal) if that one fails. */
bool vs_context_defer_ring_wait(struct vs_context *ctx, uint64_t ring_id, uint32_t seqno);

/* A resource a snapshot carries (context_snapshot.c): shared memory or an
 * import by its fd, or a blob of memory `memory_id` (which the replay
 * allocates again) with the fd it kept (-1: none); charged as when it was
 * made. The fd is taken. False with `why`. */
bool vs_context_adopt_resource(struct vs_context *ctx, uint32_t res_id, int fd, uint64_t size, uint64_t memory_id,
                               bool is_shmem, char *why, size_t why_size);

/* The context's own part of a snapshot (context_snapshot.c): its
 * resources, written before the renderer's state, and its rings and reply
 * windows, after it. At the quiet point of a hand-over. */
struct vs_parcel;
bool vs_context_write_resources(struct vs_context *ctx, struct vs_parcel *out, char *why, size_t why_size);
bool vs_context_write_rings(struct vs_context *ctx, struct vs_parcel *out, char *why, size_t why_size);
/* Read into a context being made from a snapshot: the resources before
 * the replay, the rings (started where they stopped) and reply windows
 * after it. False with `why`. */
bool vs_context_read_resources(struct vs_context *ctx, struct vs_parcel *in, char *why, size_t why_size);
bool vs_context_read_rings(struct vs_context *ctx, struct vs_parcel *in, char *why, size_t why_size);
/* Each blob of memory watches (os_map_faulted) the region the replay
 * imports again for it. */
struct vs_kept_regions;
void vs_context_watch_regions(struct vs_context *ctx, const struct vs_kept_regions *regions);

/* Registers the ring and reply-stream commands (ring_commands.c). */
void vs_ring_commands_register(struct vn_exec_table *t);

#endif

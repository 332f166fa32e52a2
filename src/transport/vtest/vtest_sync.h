/* SPDX-License-Identifier: MIT */
/* vtest sync objects: per-client 64-bit counters named by server-assigned
 * ids (from 1). Clients read and write them directly, wait on them through
 * a pollable fd, and have SUBMIT_CMD2 set them when a timeline retires.
 * All functions are thread-safe; retire callbacks may run on any thread. */
#ifndef VTEST_SYNC_H
#define VTEST_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-client limits, so one client cannot exhaust memory or fds. */
#define VTEST_SYNC_MAX_SYNCS 65536
#define VTEST_SYNC_MAX_WAITERS 64 /* pending at once; Mesa has one per waiting thread */
/* Sync entries of SUBMIT_CMD2 batches whose timelines have not retired
 * yet: Mesa has one or two per submission in flight. */
#define VTEST_SYNC_MAX_PENDING_ENTRIES (1u << 20)

/* A SYNC_WAIT timeout (ms) that never passes. */
#define VTEST_SYNC_WAIT_INFINITE UINT32_MAX

enum vtest_sync_result {
   VTEST_SYNC_OK,
   VTEST_SYNC_UNKNOWN_ID, /* a sync id is not in the table */
   VTEST_SYNC_LIMIT,      /* a per-client limit above was hit */
   VTEST_SYNC_SYSTEM,     /* out of memory or fds; errno is set */
};

struct vtest_sync_table;
struct vtest_sync_signal;
struct vs_activity;

struct vtest_sync_table *vtest_sync_table_create(void);

/* Frees every sync, pending wait and pending signal. Call it only once no
 * retire callback can run any more (after the context is destroyed). */
void vtest_sync_table_destroy(struct vtest_sync_table *table);

/* What a client did with its sync objects, for its end's line: the most
 * it held at once against each limit above, and how many it made and
 * waited on (waits_pending: those not satisfied when asked). */
struct vtest_sync_usage {
   uint32_t most_syncs, most_waiters, most_pending_entries;
   uint64_t made, waits, waits_pending;
};
void vtest_sync_table_usage(struct vtest_sync_table *table, struct vtest_sync_usage *usage);

/* Pending signals count as work in flight in `activity` (worker/activity.h)
 * from now on; their retiring as activity. */
void vtest_sync_table_track(struct vtest_sync_table *table, struct vs_activity *activity);

enum vtest_sync_result vtest_sync_create(struct vtest_sync_table *table, uint64_t value,
                                         uint32_t *id);
/* These return false for an unknown id. */
bool vtest_sync_unref(struct vtest_sync_table *table, uint32_t id);
bool vtest_sync_read(struct vtest_sync_table *table, uint32_t id, uint64_t *value);
bool vtest_sync_write(struct vtest_sync_table *table, uint32_t id, uint64_t value);

/* `entries` holds `count` wire entries (VTEST_SYNC_ENTRY_WORDS each: id,
 * value lo, value hi). On VTEST_SYNC_UNKNOWN_ID, *bad_index names the
 * entry. */

/* Returns in *fd a new fd (the caller sends then closes it) that becomes
 * readable once every sync (any sync, if `any`) has reached its value;
 * already readable if that holds now. count 0 is satisfied at once.
 * After `timeout_ms` (VTEST_SYNC_WAIT_INFINITE: never) the wait is
 * abandoned: its fd never becomes readable and it no longer counts
 * against VTEST_SYNC_MAX_WAITERS. */
enum vtest_sync_result vtest_sync_wait(struct vtest_sync_table *table, bool any,
                                       uint32_t timeout_ms, const uint32_t *entries,
                                       uint32_t count, int *fd, uint32_t *bad_index);

/* A pending "set these syncs to these values", for vs_context_submit_fence:
 * pass vtest_sync_signal_retire as the callback and the signal as its data.
 * If the context refuses the fence, call vtest_sync_signal_cancel instead.
 * The syncs are held, so unref'ing them meanwhile is safe. */
enum vtest_sync_result vtest_sync_signal_create(struct vtest_sync_table *table,
                                                const uint32_t *entries, uint32_t count,
                                                struct vtest_sync_signal **signal,
                                                uint32_t *bad_index);
void vtest_sync_signal_retire(void *signal);
void vtest_sync_signal_cancel(struct vtest_sync_signal *signal);

/* The table as its part of a worker's hand-over (base/parcel.h): every
 * sync's id and value, and each pending SYNC_WAIT with its wakeup
 * object's signalling end. A submission's pending signal is waited for
 * until `deadline_ns` (os_now_ns); one still pending then cannot be
 * carried: false with `why`. *waits: how many SYNC_WAITs it carries. */
struct vs_parcel;
bool vtest_sync_table_write(struct vtest_sync_table *table, struct vs_parcel *out, uint64_t deadline_ns,
                            uint32_t *waits, char *why, size_t why_size);
/* Into a table that has no sync yet; every id checked; the pending
 * SYNC_WAITs too if `waits_follow` (what an older writer lacks). False
 * with `why`. */
bool vtest_sync_table_read(struct vtest_sync_table *table, struct vs_parcel *in, bool waits_follow, char *why,
                           size_t why_size);

#endif

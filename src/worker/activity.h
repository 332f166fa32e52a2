/* SPDX-License-Identifier: MIT */
/* What a tenant's worker tells the server of its activity, for the doors'
 * rules on who gives a slot up: only when a uid's slots (or the server's)
 * are full and a newcomer of that uid arrives.
 *   vtest: the uid's client idle longest, past idle-timeout-ms, is dropped
 *     to make room. Idle means: no message on its socket, no command
 *     stream run by its rings and no SUBMIT_CMD2 fence pending on the host
 *     for that long. A slow program is never dropped for being slow, and
 *     one that holds a device and thinks keeps it while nobody of its uid
 *     is refused.
 *   vhost-user: the uid's device that started no queue within
 *     idle-timeout-ms of connecting is ended (a VM's device that ever ran
 *     is never taken from it). */
#ifndef VS_WORKER_ACTIVITY_H
#define VS_WORKER_ACTIVITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What a client's server-side thread or worker process (it lives in
 * shared memory, so a worker's writes reach the server) tells the server
 * about its activity. */
struct vs_activity {
   _Atomic uint64_t last_ns;   /* os_now_ns of the last message, ring command stream or retired fence */
   _Atomic uint32_t in_flight; /* SUBMIT_CMD2 fences not retired yet: work on the host */
   _Atomic uint32_t started;   /* a VM device: non-zero once one of its queues ran */
};

/* A record in shared memory of its own, last_ns now, and in *fd the
 * memory, for the client's worker process to map (vs_activity_map);
 * NULL with errno on failure. One record per client: a worker reaches no
 * other client's. */
struct vs_activity *vs_activity_create(int *fd);
struct vs_activity *vs_activity_map(int fd);
void vs_activity_destroy(struct vs_activity *activity);

/* The client did something now. */
void vs_activity_touch(struct vs_activity *activity);
/* A fence was submitted (+1) or retired (-1: also activity). */
void vs_activity_work(struct vs_activity *activity, int delta);

/* A VM device's queue ran (the first time counts). */
void vs_activity_start(struct vs_activity *activity);
bool vs_activity_started(const struct vs_activity *activity);

/* How long the client has been idle at `now_ns`: 0 while work is in flight. */
uint64_t vs_activity_idle_ns(const struct vs_activity *activity, uint64_t now_ns);

#endif

/* SPDX-License-Identifier: MIT */
/* When an idle vtest client gives its slot up: only when its uid's slots
 * (or the server's) are full and a new client of that uid arrives; then
 * the uid's client idle longest, past idle-timeout-ms, is dropped to make
 * room. Idle means: no message on its socket, no command stream run by its
 * rings and no SUBMIT_CMD2 fence pending on the host for that long. A
 * slow program is never dropped for being slow, and one that holds a
 * device and thinks keeps it while nobody of its uid is refused. */
#ifndef VTEST_IDLE_POLICY_H
#define VTEST_IDLE_POLICY_H

#include <stdatomic.h>
#include <stdint.h>

/* What a client's server-side thread or worker process (it lives in
 * shared memory, so a worker's writes reach the server) tells the server
 * about its activity. */
struct vtest_activity {
   _Atomic uint64_t last_ns;   /* os_now_ns of the last message, ring command stream or retired fence */
   _Atomic uint32_t in_flight; /* SUBMIT_CMD2 fences not retired yet: work on the host */
};

/* A record in shared memory of its own, last_ns now, and in *fd the
 * memory, for the client's worker process to map (vtest_activity_map);
 * NULL with errno on failure. One record per client: a worker reaches no
 * other client's. */
struct vtest_activity *vtest_activity_create(int *fd);
struct vtest_activity *vtest_activity_map(int fd);
void vtest_activity_destroy(struct vtest_activity *activity);

/* The client did something now. */
void vtest_activity_touch(struct vtest_activity *activity);
/* A fence was submitted (+1) or retired (-1: also activity). */
void vtest_activity_work(struct vtest_activity *activity, int delta);

/* How long the client has been idle at `now_ns`: 0 while work is in flight. */
uint64_t vtest_activity_idle_ns(const struct vtest_activity *activity, uint64_t now_ns);

#endif

/* SPDX-License-Identifier: MIT */
/* A tenant's checkpoints (--worker-checkpoints). At a quiet point its
 * worker publishes the tenant's whole state (context/context.h:
 * vs_context_checkpoint), and the server keeps the newest one until the
 * worker says the tenant moved past it, which the worker says before it
 * runs or reads anything more. When the worker dies killed while the
 * server keeps one, the door starts a fresh worker restoring it: the guest
 * sees a pause and nothing else, since nothing it asked for was lost.
 *
 * One socket per worker, worker to server: a byte 'c' with one fd, a
 * socket holding the state as a kept parcel (base/parcel.h), or 's': the
 * newest one spoiled. The server reads it on a thread of its own (the
 * keeper), so a worker never waits for the server beyond a byte. What a
 * worker sends is input: a malformed message ends its checkpoints, and
 * the state itself is checked by the worker that reads it. */
#ifndef VS_WORKER_CHECKPOINT_H
#define VS_WORKER_CHECKPOINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_parcel;

/* In the worker: `state` sent to the server as its newest checkpoint.
 * False with `why`. */
bool vs_checkpoint_publish(int sock, const struct vs_parcel *state, char *why, size_t why_size);
/* In the worker: the newest checkpoint no longer matches the tenant.
 * False when the server could not be told (it is gone: nothing keeps the
 * checkpoint). */
bool vs_checkpoint_spoil(int sock);

/* In the server: one worker's checkpoints. */
struct vs_checkpoint_keeper {
   int sock;
   uint32_t ctx_id;
   int park_fd;       /* readable: the thread stops between two notes (-1: never) */
   pthread_t thread;
   bool running;
   pthread_mutex_t lock;
   int kept;          /* the newest state's socket; -1: none */
   uint64_t kept_ns;  /* when it came (os_now_ns) */
   bool broken;       /* a malformed message: none is kept any more */
};

/* A socket pair for a worker's checkpoints: [0] the server's, [1] the
 * worker's. 0, or -1 with errno. */
int vs_checkpoint_pair(int pair[2]);
/* Starts reading the worker's checkpoints on `sock` (taken), keeping
 * `kept` (taken; -1: none) of `age_ns` ago, until park_fd is readable.
 * False, with errno, when no thread could be started (both closed). */
bool vs_checkpoint_keeper_start(struct vs_checkpoint_keeper *k, int sock, uint32_t ctx_id, int kept, uint64_t age_ns,
                                int park_fd);
/* Once park_fd is readable: the thread stopped between two notes, the
 * rest left in the socket. What a live upgrade carries: the socket (-1:
 * none, its notes broke), and the newest checkpoint's with its age (-1:
 * none), all the keeper's still. */
void vs_checkpoint_keeper_park(struct vs_checkpoint_keeper *k, int *sock, int *kept, uint64_t *age_ns);
/* After a park, once park_fd is no longer readable: reading again. False,
 * with errno, when no thread could be started (what it held is closed). */
bool vs_checkpoint_keeper_resume(struct vs_checkpoint_keeper *k);
/* Once the worker ended: reads the rest of what it sent and stops. The
 * newest checkpoint's socket, the caller's (for the next worker), or -1;
 * its age in *age_ns. */
int vs_checkpoint_keeper_finish(struct vs_checkpoint_keeper *k, uint64_t *age_ns);

#endif

/* SPDX-License-Identifier: MIT */
/* Worker processes started ahead of demand: each tenant (a vtest client, a
 * render-server context) runs in a process of its own, and the cost of a
 * fresh process (loading and initialising the host driver: about 90 ms of
 * lavapipe's first vkCreateInstance, 45 ms of its first vkCreateDevice) is
 * paid before the tenant arrives, not while it waits.
 *
 * Every worker is forked by the pool's forker (worker/forker.h), a
 * single-threaded process the server forks when it makes the pool, before
 * it has any other thread, and which never touches the host driver (some
 * drivers do not survive fork() after initialisation). A new worker ties
 * itself to the forker (which is tied to the server), runs `prepare` (the
 * host driver's warm-up), says it is ready and waits for its job: a few
 * bytes and the tenant's socket (and what else it needs), passed with
 * SCM_RIGHTS. vs_worker_pool_run hands a job to a prepared worker, else to
 * a cold one started for it (which serves at once, unprepared: a worker
 * still preparing would make the job wait for its whole warm-up), and the
 * pool thread starts a replacement once the worker claimed the job (a
 * worker whose tenant left before it asked for anything goes back to the
 * pool instead). A worker that dies before it has a job is replaced after
 * a delay that doubles with each such death (100 ms to 30 s) and starts
 * again from nothing once a worker gets ready. Whoever ran the job owns the
 * worker from then on: vs_worker_pool_wait for its end, and
 * vs_worker_pool_kill to end it (the forker is its parent, not the caller).
 */
#ifndef VS_WORKER_POOL_H
#define VS_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct os_event;
struct vs_placement;
struct vs_worker_pool;

/* The most job bytes and fds one worker is handed (a VM's GPU device
 * with 16 scanouts takes 35 fds: two per scanout, three besides). */
#define VS_WORKER_JOB_MAX 256
#define VS_WORKER_FDS_MAX 35
/* The most host GPUs prepared workers are spread over. */
#define VS_WORKER_GPUS_MAX 16

struct vs_worker_pool_config {
   /* Workers kept prepared ahead of demand; 0: each job forks a worker
    * of its own, which prepares before it serves. */
   unsigned ready;
   /* The host GPUs tenants are placed on (worker/placement.h): each
    * prepared worker is for one of them, spread so that each GPU has as
    * many; 0 or 1: every worker for every GPU. */
   unsigned gpus;
   /* Told of each prepared worker's verdict on its GPU (with gpus >= 2):
    * one that gave no device is lost, one that did works. */
   struct vs_placement *placement;
   /* In each new worker, before it waits for a job; may be NULL. The GPU
    * it prepares for is vs_placement_worker_gpu's. False: that GPU gave
    * it no device; the worker ends (a death before a job, without a line
    * of its own) and the placement hears its GPU is lost. */
   bool (*prepare)(void *data);
   /* In the pool's process, when a worker died before it had a job (most
    * likely in `prepare`): undoes what may have killed it (shared state
    * the warm-up read); may be NULL. */
   void (*prepare_died)(void *data);
   /* In the worker, handed its job, before `serve`: false when the
    * tenant left before it asked for anything. The worker touched nothing
    * of the tenant's then: it closes the job's fds and goes back to the
    * pool as it was, ready for another job. NULL: every job is served. */
   bool (*claim)(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);
   /* The worker's job: serves as `job` says with `fds` (taken; the
    * tenant's socket first), on the GPU vs_placement_worker_gpu says; the
    * return value is the worker's exit status. */
   int (*serve)(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data);
   void *data;
   /* Names the pool in log lines ("vtest", "render"). */
   const char *name;
};

/* NULL with errno set (and logged) when the forker or the pool thread
 * cannot start. Call it from the thread that lives as long as the pool,
 * before the process starts any other thread (worker/forker.h). */
struct vs_worker_pool *vs_worker_pool_create(const struct vs_worker_pool_config *config);

/* Hands `job` (job_size <= VS_WORKER_JOB_MAX bytes) and copies of `fds`
 * (1 to VS_WORKER_FDS_MAX) of a tenant of `uid` placed on `gpu` (-1:
 * every GPU) to a worker, one prepared for that GPU if one is ready (with
 * the uid's shader cache, worker/shader_cache.h) and returns its pid, which
 * the caller now waits for, once the worker claimed it; 0 when the worker
 * did not (config.claim: the tenant left first), and went back to the
 * pool; -1 with errno set if no worker could be started. Thread-safe. */
pid_t vs_worker_pool_run(struct vs_worker_pool *pool, uid_t uid, int gpu, const int *fds, unsigned fd_count,
                         const void *job, size_t job_size);

/* Waits until a worker is prepared (its warm-up done) and idle, at most
 * `timeout_ms`: a job that may wait a moment runs sooner on it than on a
 * cold worker (a live upgrade's hand-overs, right after the exec). False
 * when none came, or the pool keeps none prepared. */
bool vs_worker_pool_await_prepared(struct vs_worker_pool *pool, uint32_t timeout_ms);
/* The waitpid status of worker `pid` (from vs_worker_pool_run), once it
 * has ended. Thread-safe. */
int vs_worker_pool_wait(struct vs_worker_pool *pool, pid_t pid);

/* Signals `exited` once worker `pid` (from vs_worker_pool_run) has ended,
 * at once if it has: for a caller that serves something of the worker's
 * until then, whoever else holds the worker's end of it. `exited` must
 * outlive vs_worker_pool_wait for `pid`, which forgets it. Thread-safe. */
void vs_worker_pool_watch_exit(struct vs_worker_pool *pool, pid_t pid, struct os_event *exited);

/* SIGKILLs worker `pid` unless it has already ended. Thread-safe. */
void vs_worker_pool_kill(struct vs_worker_pool *pool, pid_t pid);

/* A live upgrade in place (server/upgrade.h): the process execs its new
 * binary and keeps its running workers, whose forkers stay its children.
 * What crosses, per forker: its socket, its pid and, on the POSIX
 * backend, the write end of its tie (-1 on Linux). Index 0 is the pool's
 * own forker; the rest are forkers adopted at an earlier upgrade that
 * still have workers. */
#define VS_WORKER_POOL_FORKERS_MAX 8
struct vs_worker_pool_forkers {
   unsigned count;
   struct {
      int fd;
      pid_t pid;
      int tie_fd;
   } forker[VS_WORKER_POOL_FORKERS_MAX];
};

/* Stops the pool thread (no exit report is read from now on, none is
 * half read) and ends the idle workers; `forkers` gets the forkers. Jobs
 * must not be run meanwhile. Then vs_worker_pool_thaw, or the exec. */
void vs_worker_pool_freeze(struct vs_worker_pool *pool, struct vs_worker_pool_forkers *forkers);
void vs_worker_pool_thaw(struct vs_worker_pool *pool);
/* Which of the frozen pool's forkers (an index of `forkers`) is worker
 * `pid`'s parent. */
unsigned vs_worker_pool_forker_of(struct vs_worker_pool *pool, pid_t pid);
/* Callers blocked in vs_worker_pool_wait whose worker's exit has not
 * been reported: in a frozen pool, they stay blocked. */
unsigned vs_worker_pool_awaiting(struct vs_worker_pool *pool);
/* In the process after the exec: the forkers handed over (fds taken),
 * and the running workers `pids` (`count`), worker i a child of forker
 * forker_of[i], serving a tenant of uids[i] (its shader cache lent anew). Each is waited for and killed as any worker run here; a
 * forker is ended once its last worker has. Before the first job. False
 * (logged, every fd closed) when out of memory. */
bool vs_worker_pool_adopt(struct vs_worker_pool *pool, const struct vs_worker_pool_forkers *forkers, const pid_t *pids,
                          const uid_t *uids, const unsigned *forker_of, unsigned count);

/* Ends the idle workers, the pool thread and the forker. Workers already
 * running a job are the callers' to wait for, before this: they die with
 * the forker. */
void vs_worker_pool_destroy(struct vs_worker_pool *pool);

#endif

/* SPDX-License-Identifier: MIT */
/* The process that forks a worker pool's workers (worker/worker_pool.h).
 *
 * fork() copies only the calling thread: a lock another thread held at
 * that moment stays held in the child for good. The C library's own
 * allocator survives this (it is reset across fork), but others do not:
 * ASan's allocator, for one, deadlocked workers forked from a server whose
 * other threads were allocating. So the server forks once, before it has
 * any other thread, a forker: a single-threaded process that never touches
 * the host driver and forks every worker on request. Being its workers'
 * parent, it also reaps them and reports each exit back.
 *
 * The forker is tied to the server as a worker is (os_worker_start), and
 * its workers to it: none outlives the server. One thread of the server
 * (the pool's) asks for workers and reads the reports; any thread may ask
 * for a kill, which the forker does only to a child it has not reaped (a
 * pid is never reused under it). */
#ifndef VS_WORKER_FORKER_H
#define VS_WORKER_FORKER_H

#include <stdbool.h>
#include <sys/types.h>

struct os_worker_tie;
struct vs_forker;

/* In a new worker, its tie to the forker made and every fd but `fd`
 * closed: the worker's whole life; never returns. */
typedef void (*vs_forker_child_fn)(int fd, bool cold, int gpu, void *data);

/* A worker's exit: its pid and waitpid status. */
typedef void (*vs_forker_exit_fn)(pid_t pid, int status, void *data);

/* Forks the forker; call it before the server starts any thread. NULL
 * with errno set on failure. */
struct vs_forker *vs_forker_start(const struct os_worker_tie *tie, vs_forker_child_fn child, void *data);

/* The forker of the process this one was before a live upgrade's exec
 * (it is still this process's child): `fd`, its socket (taken), and its
 * pid. It forks no more (it runs the old binary); it reports its
 * workers' exits and kills them as before. NULL with errno. */
struct vs_forker *vs_forker_adopt(int fd, pid_t pid);
pid_t vs_forker_pid(const struct vs_forker *f);

/* The fd to poll for reports (vs_forker_read). */
int vs_forker_fd(const struct vs_forker *f);

/* Forks a worker that gets `fd` (a copy), `cold` and `gpu`; its pid, or -1 with
 * errno. Exit reports that arrive meanwhile go to `on_exit`. The
 * reporting thread only. */
pid_t vs_forker_fork(struct vs_forker *f, int fd, bool cold, int gpu, vs_forker_exit_fn on_exit, void *data);

/* Hands the reports waiting on the fd to `on_exit`; false once the
 * forker is gone (every worker with it). The reporting thread only. */
bool vs_forker_read(struct vs_forker *f, vs_forker_exit_fn on_exit, void *data);

/* SIGKILLs worker `pid` if it is still the forker's. Any thread. */
void vs_forker_kill(struct vs_forker *f, pid_t pid);

/* Ends the forker, and with it every worker it still has. */
void vs_forker_stop(struct vs_forker *f);

#endif

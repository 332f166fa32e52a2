/* SPDX-License-Identifier: MIT */
/* What every worker process does first, before it loads the host driver
 * and while it is its only thread: it lets go of the operator's terminal
 * and enters its sandbox (docs/security.md "Workers' sandbox"). A guest
 * that takes its worker over then holds nothing of the operator's and
 * reaches no other process. */
#ifndef VS_WORKER_PROCESS_H
#define VS_WORKER_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

/* A process group of its own and no controlling terminal, stdin from /dev/null,
 * stdout and stderr to `log_fd` (the forker's log relay), or left as
 * they are when `log_fd` is -1. False if any of it failed: the caller
 * ends the worker, which must not serve with the server's terminal. */
bool vs_worker_leave_terminal(int log_fd);

/* In the server before it makes its workers, and in a spawned worker
 * before it enters its sandbox: each worker's private memory (its heap
 * and the host driver's own allocations, not the shared memory of blobs)
 * is bounded by the kernel at `bytes` (0: not) more than it held before
 * the driver loaded, beneath the server's own
 * counts, so that a runaway host driver fails its own allocations in its
 * worker alone. */
void vs_worker_bound_memory(uint64_t bytes);

/* In the server before it makes its workers: each pooled worker's tasks
 * (its threads) are bounded by the kernel at `max_tasks` (0: not), a pids
 * cgroup of its own (os_task_bound_prepare), so that a runaway host driver
 * cannot take the host's tasks. One line where the host allows no bound. */
void vs_worker_bound_tasks(uint32_t max_tasks);

/* Enters the sandbox (os/sandbox.h), with the memory and task bounds, and
 * logs what holds, one line. */
void vs_worker_enter_sandbox(void);

/* Logs, once at start, what every worker's sandbox holds on this host. */
void vs_worker_describe_sandbox(void);

#endif

/* SPDX-License-Identifier: MIT */
/* What every worker process does first, before it loads the host driver
 * and while it is its only thread: it lets go of the operator's terminal
 * and enters its sandbox (docs/security.md "Workers' sandbox"). A guest
 * that takes its worker over then holds nothing of the operator's and
 * reaches no other process. */
#ifndef VS_WORKER_PROCESS_H
#define VS_WORKER_PROCESS_H

/* A session of its own (no controlling terminal), stdin from /dev/null,
 * stdout and stderr to `log_fd` (the forker's log relay), or left as
 * they are when `log_fd` is -1. False if any of it failed: the caller
 * ends the worker, which must not serve with the server's terminal. */
bool vs_worker_leave_terminal(int log_fd);

/* Enters the sandbox (os/sandbox.h) and logs what holds, one line. */
void vs_worker_enter_sandbox(void);

/* Logs, once at start, what every worker's sandbox holds on this host. */
void vs_worker_describe_sandbox(void);

#endif

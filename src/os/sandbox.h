/* SPDX-License-Identifier: MIT */
/* The sandbox a worker process (one tenant's: a vtest client or a
 * render-server context) enters first, before it loads the host driver
 * and while it is its only thread, so that a guest that takes the worker
 * over through a host-driver bug gains nothing else: no new files,
 * sockets or processes, no other process's memory.
 *
 * sandbox_linux.c (meson -Dos=auto on Linux): a seccomp filter on every
 * thread (refused calls fail with EPERM, never kill: drivers degrade and
 * the server logs) and Landlock for files where the kernel has it.
 * sandbox_posix.c (-Dos=posix, macOS): the portable subset, resource
 * limits. docs/security.md "Workers' sandbox" lists what each refuses. */
#ifndef VS_OS_SANDBOX_H
#define VS_OS_SANDBOX_H

#include <stdbool.h>

/* What entering applied, in words for one log line: "seccomp filter (N
 * rules) on all threads, Landlock ABI v8 on all threads", or what not. */
struct os_sandbox_report {
   char what[640];
};

enum os_sandbox_result {
   OS_SANDBOX_ENTERED, /* all the backend has is in force (`what`) */
   OS_SANDBOX_WEAK,    /* its main layer could not apply (`what` says why) */
   OS_SANDBOX_ALREADY, /* entered before: nothing to report */
};

/* Enters the sandbox: for good, for every thread of the process, once.
 * Call it in a worker process while it has no other thread, once it
 * holds its sockets (files are opened later only where the rules allow:
 * the drivers' paths, and `writable_dir`, if not NULL, the one directory
 * the worker may write under: its tenant's shader cache). A WEAK result
 * leaves the worker running with what did apply: the caller logs that,
 * and a kernel without seccomp still serves. */
enum os_sandbox_result os_sandbox_enter(const char *writable_dir, struct os_sandbox_report *report);

/* What a worker's sandbox holds on this host, for the server's start-up
 * line; enters nothing. */
void os_sandbox_describe(struct os_sandbox_report *report);

#endif

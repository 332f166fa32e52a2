/* SPDX-License-Identifier: MIT */
/* The server: the floor above the transports, which src/main.c calls and
 * nothing else does. Process-wide set-up every run mode shares, written
 * once here (server.c): the fd budgets, the stop signals, the workers and
 * the display; and the run modes, one file each (run_vtest.c,
 * run_render_server.c, run_render_worker.c), which a new transport joins
 * as one more file, one more enum vs_server_mode and its options in
 * config.c. */
#ifndef VS_SERVER_SERVER_H
#define VS_SERVER_SERVER_H

#include <stdbool.h>

#include "server/config.h"

struct vs_display;
struct vs_vm_resource_table;

/* First thing in main: no process of the same user reads the server's
 * memory or fds, nor its forker's and workers', which inherit this
 * (docs/security.md). */
void vs_server_refuse_attach(void);

/* Sets the process-wide switches of `config` (the log level, the test
 * faults), then runs the mode it chose. Returns the exit status. */
int vs_server_run(struct vs_server_config *config);

/* --- For the run modes ------------------------------------------------ */

/* A run mode's worker processes (--isolate process), made by `create`
 * from the configuration (NULL on failure, logged) and ended by
 * `destroy`. */
struct vs_server_workers {
   void *(*create)(struct vs_server_config *config);
   void (*destroy)(void *workers);
};

/* What vs_server_start started, for vs_server_stop. */
struct vs_server_started {
   const struct vs_server_workers *kind;
   void *workers;                          /* NULL: none (--isolate thread or spawn) */
   struct vs_display *display;             /* NULL: none */
   struct vs_vm_resource_table *resources; /* the VM's, for --vm-channel; NULL: none */
};

/* What --isolate thread does not protect, said once at start-up (nothing
 * under another --isolate): `who` runs in the server process, for
 * `tenant`. */
void vs_server_warn_thread_isolation(const struct vs_server_config *config, const char *who, const char *tenant);

/* Raises the fd limit and shares what the kernel allows one process (fds,
 * mappings) between config->server.clients clients' shared memory: sets
 * config->context.limits' pools. Before vs_server_start. */
void vs_server_fit_kernel_limits(struct vs_server_config *config);

/* SIGTERM and SIGINT signal an event: returns the fd that then becomes
 * readable (for the process's lifetime), or -1 with errno set. */
int vs_server_stop_on_signals(void);

/* SIGUSR2 (a live upgrade: server/upgrade.h) signals an event: returns
 * the fd that then becomes readable (for the process's lifetime), or -1
 * with errno set; vs_server_upgrade_drain empties it. */
int vs_server_upgrade_on_signal(void);
void vs_server_upgrade_drain(void);

/* A VMM's modes: stdout is the VMM's, so nothing may reach it, not even a
 * driver's stray printf (no signal handlers either: the VMM ends us with
 * SIGKILL). */
void vs_server_quiet_stdout(void);

/* In this order: the budget of what worker processes' memory may cost
 * this process (worker/worker_link.h); the workers, where --isolate
 * process, while the process has no other thread (their forker must be
 * forked so: worker/forker.h); then, where --display, the display and its
 * registry of shared memory (and the VM's resource table for
 * --vm-channel), which start threads. 0, or the exit status (what failed
 * was said). */
int vs_server_start(struct vs_server_config *config, const struct vs_server_workers *workers,
                    struct vs_server_started *started);

/* Ends what vs_server_start started. */
void vs_server_stop(struct vs_server_config *config, struct vs_server_started *started);

/* Client threads are stuck in the host driver and would block exit()'s
 * library destructors too: stops the display and leaves now, status 0. */
_Noreturn void vs_server_abandon(struct vs_server_started *started);

/* The run modes (enum vs_server_mode), one file each. */
int vs_run_vtest(struct vs_server_config *config);
int vs_run_render_server(struct vs_server_config *config);
int vs_run_render_worker(struct vs_server_config *config);
int vs_run_vhost_user(struct vs_server_config *config);
int vs_run_cdi_spec(struct vs_server_config *config);

#endif

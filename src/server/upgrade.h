/* SPDX-License-Identifier: MIT */
/* The live upgrade (docs/deployment.md "Live upgrade"), on SIGUSR2, of
 * the vtest server and of the VM devices' (--vhost-user). With worker
 * processes it is in place: once the new binary passed a check run, the
 * running tenants are frozen (their workers go on serving them), and this
 * process execs the new binary, handing it the listening sockets, each
 * tenant's record (worker/hand_over.h: its sockets, activity record and
 * ledger channel) and the forkers of their workers. In thread mode (vtest
 * only) the new binary is started as a child instead and takes the
 * listening socket over, while this process serves its running clients
 * until they end, then exits. A new binary that fails its check or to
 * start leaves this one serving, with one line.
 *
 * What crosses is a versioned record in shared memory whose fd the new
 * process finds in $VENUS_SERVER_UPGRADE (version 1: the socket, its path,
 * the old pid, when the upgrade was asked for, the answer socket; version
 * 2, in place, a vtest server's: those and its clients and forkers;
 * version 3, in place, either door's: its sockets, tenants and pools;
 * version 4: those, and the VM devices' scanouts on the display, its
 * viewers' socket and their tokens). The new process checks every field (it is input
 * too). A VM server's display crosses; a vtest server's is refused, as
 * is one a Wayland client is connected to (docs/architecture.md "Live
 * upgrade"). */
#ifndef VS_SERVER_UPGRADE_H
#define VS_SERVER_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/socket_activation.h"
#include "server/config.h"
#include "worker/hand_over.h"

/* The hand-over this process was started with. */
struct vs_upgrade_taken {
   unsigned sockets;
   struct {
      int fd;
      char path[VS_ACTIVATED_PATH_SIZE];
      bool owns_file; /* the socket's file is ours to remove at exit */
   } socket[VS_HAND_OVER_SOCKETS];
   pid_t old_pid;
   uint64_t asked_ns; /* when the old process was asked (os_now_ns) */
   unsigned tenants;  /* the old process's tenants then (in thread mode they stay with it) */
   int word_fd;       /* where this process says it took over */
};

struct vs_display;

struct vs_upgrade {
   const struct vs_server_config *config;
   /* This process's display (NULL: none), whose viewers' socket and
    * tokens cross. */
   struct vs_display *display;
   bool taken;                    /* this process was started by an upgrade */
   struct vs_upgrade_taken from;  /* ...and what it took */
   /* An upgrade this process started: the new process (0: none), the
    * socket its word comes on, when it was asked for, the binary. */
   pid_t child;
   int word_fd;
   uint64_t asked_ns;
   pid_t handed_to; /* the process that took the socket; 0: none yet */
   char binary[4096];
   /* Started by an upgrade in place: the running tenants and the forkers
    * of their workers, taken over, and when their charges began to wait. */
   bool in_place;
   struct vs_hand_over_tenant *adopted;
   struct vs_worker_pool_forkers forkers[VS_HAND_OVER_POOLS];
   uint64_t frozen_ns;
   /* ...the VM devices' scanouts, and what crossed of the display (NULL:
    * nothing). */
   struct vs_hand_over_scanout *scanouts;
   unsigned scanout_count;
   struct vs_display_hand_over *display_hand_over;
};

/* vs_upgrade_init's status for a binary only asked whether it reads an
 * in-place hand-over: it does; the process exits 0 at once. */
#define VS_UPGRADE_PROBED (-1)

/* Fills `hooks` (worker/hand_over.h) for the server; with
 * config->upgrade_fd, first reads and checks the hand-over this process
 * was started with (the sockets are then up->from's, and the tenants and
 * forkers the hooks'). 0, or the exit status after one line. */
int vs_upgrade_init(struct vs_upgrade *up, const struct vs_server_config *config, int asked_fd,
                    struct vs_live_upgrade *hooks);

#endif

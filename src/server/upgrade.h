/* SPDX-License-Identifier: MIT */
/* The live upgrade of the vtest server (docs/deployment.md "Live
 * upgrade"): SIGUSR2 makes the server start the binary it was started
 * from, read anew from disk, with the same command line and environment,
 * and hand it the listening socket. While the new process starts, this
 * one goes on accepting; once the new one listens it says so, and this one
 * closes its socket, tells the service manager the new pid
 * (MAINPID=), serves its running clients until they end, and exits. A new
 * binary that fails to start (or does not take over within a minute)
 * leaves this one serving, with one line.
 *
 * What crosses is a versioned record in shared memory whose fd the new
 * process finds in $VENUS_SERVER_UPGRADE: the socket, its path, the old
 * pid, when the upgrade was asked for, and the socket the new process
 * answers on. The new process checks every field (it is input too).
 * Running tenants' workers, the display and the other doors are not
 * handed over yet (docs/architecture.md "Live upgrade"). */
#ifndef VS_SERVER_UPGRADE_H
#define VS_SERVER_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/socket_activation.h"
#include "server/config.h"

/* The hand-over this process was started with. */
struct vs_upgrade_taken {
   int listen_fd;
   char path[VS_ACTIVATED_PATH_SIZE];
   bool owns_file;  /* the socket's file is ours to remove at exit */
   pid_t old_pid;
   uint64_t asked_ns; /* when the old process was asked (os_now_ns) */
   unsigned tenants;  /* the old process's clients then, which stay with it */
   int word_fd;       /* where this process says it took over */
};

struct vs_upgrade {
   const struct vs_server_config *config;
   bool taken;                    /* this process was started by an upgrade */
   struct vs_upgrade_taken from;  /* ...and what it took */
   /* An upgrade this process started: the new process (0: none), the
    * socket its word comes on, when it was asked for, the binary. */
   pid_t child;
   int word_fd;
   uint64_t asked_ns;
   pid_t handed_to; /* the process that took the socket; 0: none yet */
   char binary[4096];
};

/* Fills `hooks` (transport/vtest/vtest.h) for the vtest server; with
 * config->upgrade_fd, first reads and checks the hand-over this process
 * was started with (the socket is then up->from's). 0, or the exit status
 * after one line. */
struct vtest_server_upgrade;
int vs_upgrade_init(struct vs_upgrade *up, const struct vs_server_config *config, int asked_fd,
                    struct vtest_server_upgrade *hooks);

#endif

/* SPDX-License-Identifier: MIT */
/* systemd socket activation (the sd_listen_fds protocol, without
 * libsystemd): a service manager that already listens on the server's
 * sockets passes them from fd 3 on, in the order its unit lists them, with
 * LISTEN_FDS=<count> and LISTEN_PID=<our pid>. Each door takes the one
 * bound to its own path. */
#ifndef VS_BASE_SOCKET_ACTIVATION_H
#define VS_BASE_SOCKET_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a socket's path (sun_path is 104 or 108 bytes). */
#define VS_ACTIVATED_PATH_SIZE 128
/* The most sockets one server is passed: a VM's device and its input
 * device (--vhost-user and --vhost-user-input). */
#define VS_ACTIVATED_MAX 2

struct vs_activated_socket {
   int fd;
   char path[VS_ACTIVATED_PATH_SIZE];
};

/* Given $LISTEN_PID and $LISTEN_FDS (NULL where unset), which the caller
 * reads once, early, and unsets with $LISTEN_FDNAMES before the process
 * has other threads, so that nothing started later takes a socket for its
 * own (src/server/config.c). Fills in `sockets` (made non-blocking and
 * close-on-exec) and returns how many were passed: 0 when none (no
 * LISTEN_PID, or another process's), or -1 after one error line when more
 * than VS_ACTIVATED_MAX were passed or one is not a listening Unix stream
 * socket. */
int vs_socket_activation(const char *listen_pid, const char *listen_fds,
                         struct vs_activated_socket sockets[VS_ACTIVATED_MAX]);

/* Whether `fd` is a listening Unix stream socket; its path goes to `path`
 * (a description where it has none). Also what checks a socket handed
 * over by a live upgrade (src/server/upgrade.c). */
bool vs_listening_unix_socket(int fd, char *path, size_t path_size);

/* The one of `count` sockets bound to `path`, or NULL. */
const struct vs_activated_socket *vs_socket_activation_find(const struct vs_activated_socket *sockets, unsigned count,
                                                            const char *path);

#endif

/* SPDX-License-Identifier: MIT */
/* systemd socket activation (the sd_listen_fds protocol, without
 * libsystemd): a service manager that already listens on the vtest socket
 * passes it as fd 3 with LISTEN_FDS=1 and LISTEN_PID=<our pid>. */
#ifndef VTEST_SOCKET_ACTIVATION_H
#define VTEST_SOCKET_ACTIVATION_H

#include <stddef.h>

/* Room for a socket's path (sun_path is 104 or 108 bytes). */
#define VTEST_ACTIVATED_PATH_SIZE 128

/* Given $LISTEN_PID and $LISTEN_FDS (NULL where unset), which the caller
 * reads once, early, and unsets with $LISTEN_FDNAMES before the process
 * has other threads, so that nothing started later takes the socket for
 * its own (src/server/config.c). Returns the listening socket passed (made
 * non-blocking and close-on-exec) and its path in `path`, 0 when none was
 * passed (no LISTEN_PID, or another process's), or -1 after one error line
 * when what was passed is not one listening Unix stream socket. */
int vtest_socket_activation_fd(const char *listen_pid, const char *listen_fds, char *path, size_t path_size);

#endif

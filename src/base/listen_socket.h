/* SPDX-License-Identifier: MIT */
/* The Unix socket a transport listens on (vtest's, the vhost-user
 * device's): a stale file of a server that died is replaced, a live
 * server's never; on the way out the file goes only if it is still ours. */
#ifndef VS_BASE_LISTEN_SOCKET_H
#define VS_BASE_LISTEN_SOCKET_H

#include <sys/stat.h>

/* A non-blocking, close-on-exec listening socket on `path`, and the socket
 * file's identity for vs_listen_socket_remove; -1 (logged) on failure. */
int vs_listen_socket_open(const char *path, struct stat *identity);

/* Removes the socket file unless someone replaced it meanwhile (or it is
 * not ours: identity NULL). */
void vs_listen_socket_remove(const char *path, const struct stat *identity);

#endif

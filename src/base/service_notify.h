/* SPDX-License-Identifier: MIT */
/* The service manager's notification socket (systemd's sd_notify
 * protocol, without libsystemd): one datagram of "KEY=VALUE" lines to the
 * Unix socket $NOTIFY_SOCKET names ('@' first: an abstract one). */
#ifndef VS_BASE_SERVICE_NOTIFY_H
#define VS_BASE_SERVICE_NOTIFY_H

/* Sends `message` to `socket_path` (the caller's $NOTIFY_SOCKET, read
 * once at start). 0, or -1 with errno (EINVAL: no usable path). */
int vs_service_notify(const char *socket_path, const char *message);

#endif

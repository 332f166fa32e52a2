/* SPDX-License-Identifier: MIT */
/* The viewers' TLS (--http-cert, --http-key), through GnuTLS, the
 * system's library: one credential for the server, a session per viewer
 * connection on its non-blocking socket. Receiving and sending behave as
 * the socket's own: -1 with errno EAGAIN while the handshake or a record
 * waits on the socket, 0 from vs_tls_recv at the peer's end. */
#ifndef VS_DISPLAY_TLS_H
#define VS_DISPLAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vs_tls;
struct vs_tls_session;

/* The certificate chain and its key, PEM files. NULL (logged) when
 * either cannot be read or they do not match. */
struct vs_tls *vs_tls_create(const char *cert_file, const char *key_file);
void vs_tls_destroy(struct vs_tls *tls);

/* A server session on `fd` (still the caller's). NULL when out of memory. */
struct vs_tls_session *vs_tls_session_create(struct vs_tls *tls, int fd);
void vs_tls_session_destroy(struct vs_tls_session *session);

ssize_t vs_tls_recv(struct vs_tls_session *session, void *buf, size_t len);
ssize_t vs_tls_send(struct vs_tls_session *session, const void *buf, size_t len);
/* Whether the handshake waits for the socket to take bytes (POLLOUT)
 * before it can go on; after it, sends wait as the socket's own do. */
bool vs_tls_handshake_wants_write(const struct vs_tls_session *session);

#endif

/* SPDX-License-Identifier: MIT */
/* Message framing of the render-server sockets, chosen per connection:
 *   SOCK_SEQPACKET (Linux, stock virglrenderer): one message per op, fds as
 *     SCM_RIGHTS, no header.
 *   SOCK_STREAM (macOS, which has no SEQPACKET for Unix sockets), in one of
 *   two framings, named by --stream-framing or read off the first message:
 *     header8: a host-endian {u32 size; u32 fd_count} header sent on its
 *       own, the fds on the payload's first bytes (the macOS fork of
 *       virglrenderer the project's seeds came from);
 *     be32: a big-endian u32 length, the fds on the header's own sendmsg
 *       (upstream virglrenderer's macOS proxy and server, after 1.3).
 * Context sockets speak their server socket's framing. */
#ifndef VS_RENDER_SOCKET_H
#define VS_RENDER_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "transport/vmm/render.h"
#include "transport/vmm/render_protocol.h"

struct render_socket {
   int fd;
   enum render_framing framing; /* AUTO until the first message */
};

/* Checks the socket type (SEQPACKET or STREAM) and prepares the socket; a
 * STREAM socket gets `stream_framing` (HEADER8, BE32 or AUTO). False with
 * *why set otherwise. */
bool render_socket_init(struct render_socket *s, int fd, enum render_framing stream_framing, const char **why);

/* The socket type to give new context sockets (same as this one's). */
int render_socket_type(const struct render_socket *s);

enum render_recv_result {
   RENDER_RECV_OK,
   RENDER_RECV_EOF,   /* the peer closed the socket */
   RENDER_RECV_ERROR, /* bad framing: *why says what; no fd is left open */
};

/* Receives one message of at most `cap` bytes and at most RENDER_MAX_FDS
 * fds (new, CLOEXEC, the caller's). A longer message, more fds, or a
 * truncated stream is an error. */
enum render_recv_result render_socket_recv(struct render_socket *s, void *buf, size_t cap, size_t *size,
                                           int *fds, int *fd_count, char *why, size_t why_size);

/* Sends one message with `fd_count` fds (not closed). 0, or an errno. */
int render_socket_send(struct render_socket *s, const void *buf, size_t size, const int *fds, int fd_count);

#endif

/* Message framing of the render-server sockets. SOCK_SEQPACKET (Linux,
 * what stock virglrenderer uses): one message per op, fds as SCM_RIGHTS.
 * SOCK_STREAM (macOS, which has no SEQPACKET for Unix sockets): every
 * message is preceded by a host-endian {u32 size; u32 fd_count} header sent
 * on its own, the fds ride on the payload's first bytes. The type is read
 * from the socket itself (getsockopt SO_TYPE). */
#ifndef VS_RENDER_SOCKET_H
#define VS_RENDER_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "render/render_protocol.h"

struct render_socket {
   int fd;
   bool stream; /* header framing */
};

/* Checks the socket type (SEQPACKET or STREAM) and prepares the socket.
 * False with *why set otherwise. */
bool render_socket_init(struct render_socket *s, int fd, const char **why);

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

/* SPDX-License-Identifier: MIT */
#include "transport/vmm/render_socket.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "os/os.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare() set SO_NOSIGPIPE */
#endif
#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0 /* set by hand below */
#endif

union fd_control {
   struct cmsghdr align;
   char buf[CMSG_SPACE(sizeof(int) * RENDER_MAX_FDS)];
};

static const char *const framing_names[] = {
   [RENDER_FRAMING_SEQPACKET] = "seqpacket",
   [RENDER_FRAMING_HEADER8] = "header8",
   [RENDER_FRAMING_BE32] = "be32",
   [RENDER_FRAMING_AUTO] = "auto",
};

const char *
render_framing_name(enum render_framing f)
{
   return f <= RENDER_FRAMING_AUTO ? framing_names[f] : "?";
}

bool
render_framing_parse(const char *name, enum render_framing *out)
{
   for (int f = RENDER_FRAMING_HEADER8; f <= RENDER_FRAMING_AUTO; f++) {
      if (strcmp(name, framing_names[f]) == 0) {
         *out = (enum render_framing)f;
         return true;
      }
   }
   return false;
}

bool
render_socket_init(struct render_socket *s, int fd, enum render_framing stream_framing, const char **why)
{
   int type = 0;
   socklen_t len = sizeof(type);
   s->fd = fd;
   s->framing = RENDER_FRAMING_SEQPACKET;
   if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
      *why = "not a socket";
      return false;
   }
   if (type != SOCK_SEQPACKET && type != SOCK_STREAM) {
      *why = "neither SOCK_SEQPACKET nor SOCK_STREAM";
      return false;
   }
   if (type == SOCK_STREAM)
      s->framing = stream_framing == RENDER_FRAMING_SEQPACKET ? RENDER_FRAMING_AUTO : stream_framing;
   if (os_set_cloexec(fd) < 0 || os_set_nonblocking(fd, false) < 0 || os_socket_prepare(fd) < 0) {
      *why = "cannot set up the socket";
      return false;
   }
   return true;
}

int
render_socket_type(const struct render_socket *s)
{
   return s->framing == RENDER_FRAMING_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM;
}

static void
close_fds(int *fds, int *count)
{
   for (int i = 0; i < *count; i++)
      close(fds[i]);
   *count = 0;
}

/* Takes the fds of one received control buffer; false if they overflow. */
static bool
take_fds(struct msghdr *msg, int *fds, int *fd_count)
{
   bool ok = true;
   for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
         continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
         int fd;
         memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
         if (MSG_CMSG_CLOEXEC == 0)
            os_set_cloexec(fd);
         if (*fd_count < RENDER_MAX_FDS)
            fds[(*fd_count)++] = fd;
         else {
            close(fd);
            ok = false;
         }
      }
   }
   return ok;
}

static ssize_t
recv_with_fds(int fd, void *buf, size_t cap, int *fds, int *fd_count, int *msg_flags)
{
   union fd_control control;
   struct iovec iov = { .iov_base = buf, .iov_len = cap };
   struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control.buf,
      .msg_controllen = sizeof(control.buf),
   };
   ssize_t n;
   do
      n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
   while (n < 0 && errno == EINTR);
   if (n < 0)
      return n;
   *msg_flags = msg.msg_flags;
   if (!take_fds(&msg, fds, fd_count))
      *msg_flags |= MSG_CTRUNC;
   return n;
}

static enum render_recv_result
fail(char *why, size_t why_size, int *fds, int *fd_count, const char *fmt, unsigned long long a,
     unsigned long long b)
{
   snprintf(why, why_size, fmt, a, b);
   close_fds(fds, fd_count);
   return RENDER_RECV_ERROR;
}

/* Reads exactly `size` bytes of a stream, taking the fds that ride on
 * them. 0, or an errno (EPIPE: the stream ended; EMSGSIZE: too many fds);
 * *got says how many bytes arrived. */
static int
read_exact(int fd, void *buf, size_t size, int *fds, int *fd_count, size_t *got)
{
   *got = 0;
   while (*got < size) {
      int flags = 0;
      ssize_t n = recv_with_fds(fd, (char *)buf + *got, size - *got, fds, fd_count, &flags);
      if (n < 0)
         return errno;
      if (flags & MSG_CTRUNC)
         return EMSGSIZE;
      if (n == 0)
         return EPIPE;
      *got += (size_t)n;
   }
   return 0;
}

/* The first four bytes of a connection's first message are a small size
 * (INIT, NOP or CREATE_CONTEXT: 4 to 40 bytes): its low byte comes first in
 * header8 (little-endian on every host the fork runs on), last in be32. */
static enum render_framing
detect_framing(const uint8_t b[4])
{
   if (b[0] == 0 && b[3] != 0)
      return RENDER_FRAMING_BE32;
   if (b[0] != 0 && b[3] == 0)
      return RENDER_FRAMING_HEADER8;
   return RENDER_FRAMING_AUTO;
}

static enum render_recv_result
recv_stream(struct render_socket *s, void *buf, size_t cap, size_t *size, int *fds, int *fd_count, char *why,
            size_t why_size)
{
   uint8_t head[8];
   size_t got;
   int err = read_exact(s->fd, head, 4, fds, fd_count, &got);
   if (got == 0 && *fd_count == 0 && (err == EPIPE || err == ECONNRESET))
      return RENDER_RECV_EOF;
   if (err)
      return fail(why, why_size, fds, fd_count, "reading a message header failed after %llu bytes (errno %llu)",
                  got, (unsigned long long)err);
   if (s->framing == RENDER_FRAMING_AUTO) {
      s->framing = detect_framing(head);
      if (s->framing == RENDER_FRAMING_AUTO) {
         snprintf(why, why_size,
                  "cannot tell the stream framing from a first message starting %02x %02x %02x %02x "
                  "(start the server with --stream-framing header8 or be32)", head[0], head[1], head[2], head[3]);
         close_fds(fds, fd_count);
         return RENDER_RECV_ERROR;
      }
   }
   uint32_t length, announced = 0;
   if (s->framing == RENDER_FRAMING_BE32) {
      length = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
   } else {
      if (*fd_count)
         return fail(why, why_size, fds, fd_count, "%llu fds arrived with a header8 message header%.0llu",
                     (unsigned long long)*fd_count, 0);
      err = read_exact(s->fd, head + 4, 4, fds, fd_count, &got);
      if (err)
         return fail(why, why_size, fds, fd_count, "connection lost inside a message header (%llu of %llu bytes)",
                     4 + got, sizeof(head));
      memcpy(&length, head, 4);
      memcpy(&announced, head + 4, 4);
      if (announced > RENDER_MAX_FDS)
         return fail(why, why_size, fds, fd_count, "message header announces %llu fds (limit %llu)", announced,
                     RENDER_MAX_FDS);
      if (announced && !length)
         return fail(why, why_size, fds, fd_count, "%llu fds announced on an empty message%.0llu", announced, 0);
   }
   if (length > cap)
      return fail(why, why_size, fds, fd_count, "message of %llu bytes (at most %llu expected)", length, cap);
   int header_fds = *fd_count;
   err = read_exact(s->fd, buf, length, fds, fd_count, &got);
   if (err == EMSGSIZE)
      return fail(why, why_size, fds, fd_count, "more than %llu fds with one message%.0llu", RENDER_MAX_FDS, 0);
   if (err)
      return fail(why, why_size, fds, fd_count, "connection lost after %llu of %llu message bytes", got, length);
   if (s->framing == RENDER_FRAMING_HEADER8 && (uint32_t)*fd_count != announced)
      return fail(why, why_size, fds, fd_count, "message header announces %llu fds, %llu arrived", announced,
                  (unsigned long long)*fd_count);
   if (s->framing == RENDER_FRAMING_BE32 && *fd_count != header_fds)
      return fail(why, why_size, fds, fd_count, "%llu fds arrived with a be32 message's payload, not its header%.0llu",
                  (unsigned long long)(*fd_count - header_fds), 0);
   *size = length;
   return RENDER_RECV_OK;
}

enum render_recv_result
render_socket_recv(struct render_socket *s, void *buf, size_t cap, size_t *size, int *fds, int *fd_count,
                   char *why, size_t why_size)
{
   *fd_count = 0;
   *size = 0;
   if (s->framing != RENDER_FRAMING_SEQPACKET)
      return recv_stream(s, buf, cap, size, fds, fd_count, why, why_size);

   int flags = 0;
   ssize_t n = recv_with_fds(s->fd, buf, cap, fds, fd_count, &flags);
   if (n < 0 && errno == ECONNRESET)
      return RENDER_RECV_EOF;
   if (n < 0)
      return fail(why, why_size, fds, fd_count, "receiving a message failed (errno %llu)%.0llu",
                  (unsigned long long)errno, 0);
   /* A SEQPACKET peer that closes reads as an empty message; stock treats
    * both alike. */
   if (n == 0 && *fd_count == 0)
      return RENDER_RECV_EOF;
   if (flags & MSG_TRUNC)
      return fail(why, why_size, fds, fd_count, "message longer than %llu bytes%.0llu", cap, 0);
   if (flags & MSG_CTRUNC)
      return fail(why, why_size, fds, fd_count, "more than %llu fds with one message%.0llu", RENDER_MAX_FDS, 0);
   *size = (size_t)n;
   return RENDER_RECV_OK;
}

static int
send_all(int fd, const void *buf, size_t size, const int *fds, int fd_count)
{
   union fd_control control;
   const char *p = buf;
   bool first = true;
   do {
      struct iovec iov = { .iov_base = (void *)p, .iov_len = size };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
      if (first && fd_count > 0) {
         memset(&control, 0, sizeof(control));
         msg.msg_control = control.buf;
         msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
         struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
         c->cmsg_level = SOL_SOCKET;
         c->cmsg_type = SCM_RIGHTS;
         c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
         memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)fd_count);
      }
      ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0)
         return errno;
      first = false;
      p += n;
      size -= (size_t)n;
   } while (size > 0);
   return 0;
}

int
render_socket_send(struct render_socket *s, const void *buf, size_t size, const int *fds, int fd_count)
{
   if (fd_count < 0 || fd_count > RENDER_MAX_FDS || (fd_count && !size))
      return EINVAL;
   switch (s->framing) {
   case RENDER_FRAMING_SEQPACKET:
      /* A SEQPACKET send is whole or fails. */
      return send_all(s->fd, buf, size, fds, fd_count);
   case RENDER_FRAMING_HEADER8: {
      const uint32_t hdr[2] = { (uint32_t)size, (uint32_t)fd_count };
      int err = send_all(s->fd, hdr, sizeof(hdr), NULL, 0);
      return err || !size ? err : send_all(s->fd, buf, size, fds, fd_count);
   }
   case RENDER_FRAMING_BE32: {
      const uint8_t hdr[4] = { (uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size };
      int err = send_all(s->fd, hdr, sizeof(hdr), fds, fd_count);
      return err || !size ? err : send_all(s->fd, buf, size, NULL, 0);
   }
   case RENDER_FRAMING_AUTO:
      break;
   }
   /* The server only answers: a message has always arrived first. */
   return EPROTO;
}

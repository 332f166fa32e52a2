#include "render/render_socket.h"

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

struct stream_header {
   uint32_t size;
   uint32_t fd_count;
};

union fd_control {
   struct cmsghdr align;
   char buf[CMSG_SPACE(sizeof(int) * RENDER_MAX_FDS)];
};

bool
render_socket_init(struct render_socket *s, int fd, const char **why)
{
   int type = 0;
   socklen_t len = sizeof(type);
   s->fd = fd;
   s->stream = false;
   if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
      *why = "not a socket";
      return false;
   }
   if (type != SOCK_SEQPACKET && type != SOCK_STREAM) {
      *why = "neither SOCK_SEQPACKET nor SOCK_STREAM";
      return false;
   }
   s->stream = type == SOCK_STREAM;
   if (os_set_cloexec(fd) < 0 || os_set_nonblocking(fd, false) < 0 || os_socket_prepare(fd) < 0) {
      *why = "cannot set up the socket";
      return false;
   }
   return true;
}

int
render_socket_type(const struct render_socket *s)
{
   return s->stream ? SOCK_STREAM : SOCK_SEQPACKET;
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

static enum render_recv_result
recv_stream(struct render_socket *s, void *buf, size_t cap, size_t *size, int *fds, int *fd_count, char *why,
            size_t why_size)
{
   struct stream_header hdr;
   size_t got = 0;
   while (got < sizeof(hdr)) {
      ssize_t n = read(s->fd, (char *)&hdr + got, sizeof(hdr) - got);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0 && errno == ECONNRESET && got == 0)
         return RENDER_RECV_EOF;
      if (n < 0)
         return fail(why, why_size, fds, fd_count, "reading a message header failed (errno %llu)%.0llu",
                     (unsigned long long)errno, 0);
      if (n == 0 && got == 0)
         return RENDER_RECV_EOF;
      if (n == 0)
         return fail(why, why_size, fds, fd_count, "connection closed inside a message header (%llu of %llu bytes)",
                     got, sizeof(hdr));
      got += (size_t)n;
   }
   if (hdr.size > cap)
      return fail(why, why_size, fds, fd_count, "message of %llu bytes (at most %llu expected)", hdr.size, cap);
   if (hdr.fd_count > RENDER_MAX_FDS)
      return fail(why, why_size, fds, fd_count, "message header announces %llu fds (limit %llu)", hdr.fd_count,
                  RENDER_MAX_FDS);
   if (hdr.fd_count && !hdr.size)
      return fail(why, why_size, fds, fd_count, "%llu fds announced on an empty message%.0llu", hdr.fd_count, 0);
   got = 0;
   while (got < hdr.size) {
      int flags = 0;
      ssize_t n = recv_with_fds(s->fd, (char *)buf + got, hdr.size - got, fds, fd_count, &flags);
      if (n < 0)
         return fail(why, why_size, fds, fd_count, "reading a message failed (errno %llu)%.0llu",
                     (unsigned long long)errno, 0);
      if (n == 0)
         return fail(why, why_size, fds, fd_count, "connection closed after %llu of %llu message bytes", got,
                     hdr.size);
      if (flags & MSG_CTRUNC)
         return fail(why, why_size, fds, fd_count, "more than %llu fds with one message%.0llu", RENDER_MAX_FDS, 0);
      got += (size_t)n;
   }
   if ((uint32_t)*fd_count != hdr.fd_count)
      return fail(why, why_size, fds, fd_count, "message header announces %llu fds, %llu arrived", hdr.fd_count,
                  (unsigned long long)*fd_count);
   *size = hdr.size;
   return RENDER_RECV_OK;
}

enum render_recv_result
render_socket_recv(struct render_socket *s, void *buf, size_t cap, size_t *size, int *fds, int *fd_count,
                   char *why, size_t why_size)
{
   *fd_count = 0;
   *size = 0;
   if (s->stream)
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
   if (s->stream) {
      const struct stream_header hdr = { (uint32_t)size, (uint32_t)fd_count };
      int err = send_all(s->fd, &hdr, sizeof(hdr), NULL, 0);
      if (err || !size)
         return err;
   }
   /* A SEQPACKET send is whole or fails. */
   return send_all(s->fd, buf, size, fds, fd_count);
}

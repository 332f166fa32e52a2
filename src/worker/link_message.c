/* SPDX-License-Identifier: MIT */
#include "worker/link_message.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"
#include "worker/worker_link.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare set SO_NOSIGPIPE */
#endif
/* Received fds close on exec at once where the OS can (the pool thread
 * forks workers meanwhile: none may inherit another's memory). */
#ifdef MSG_CMSG_CLOEXEC
#define RECV_FLAGS MSG_CMSG_CLOEXEC
#else
#define RECV_FLAGS 0
#endif

int
vs_link_pair(int fds[2])
{
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
      return -1;
   if (os_set_cloexec(fds[0]) < 0 || os_set_cloexec(fds[1]) < 0 || os_socket_prepare(fds[0]) < 0 ||
       os_socket_prepare(fds[1]) < 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      errno = err;
      return -1;
   }
   return 0;
}

bool
vs_link_send(int sock, const struct vs_link_message *m, int fd, bool nonblocking)
{
   struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
   } control;
   memset(&control, 0, sizeof(control));
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
   if (fd >= 0) {
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof(control.buf);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof(int));
   }
   ssize_t n;
   do
      n = sendmsg(sock, &msg, MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0));
   while (n < 0 && errno == EINTR);
   if (n >= 0 && n != (ssize_t)sizeof(*m))
      errno = EMSGSIZE; /* a stream socket short of room: the rest would follow any later message */
   return n == (ssize_t)sizeof(*m);
}

enum vs_link_recv_result
vs_link_recv(int sock, struct vs_link_message *m, int *fd)
{
   *fd = -1;
   size_t got = 0;
   bool extra_fds = false;
   while (got < sizeof(*m)) {
      union {
         struct cmsghdr align;
         char buf[CMSG_SPACE(sizeof(int) * 4)];
      } control;
      struct iovec iov = { .iov_base = (uint8_t *)m + got, .iov_len = sizeof(*m) - got };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf) };
      ssize_t n = recvmsg(sock, &msg, RECV_FLAGS);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0 && errno == ECONNRESET && got == 0)
         n = 0; /* the worker died with requests unread */
      for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
         if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
         size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
         for (size_t i = 0; i < count; i++) {
            int received;
            memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*fd < 0) {
               *fd = received;
               os_set_cloexec(received);
            } else {
               close(received);
               extra_fds = true;
            }
         }
      }
      if (n < 0 || (msg.msg_flags & MSG_CTRUNC))
         extra_fds = true;
      if (n <= 0)
         break;
      got += (size_t)n;
   }
   if (got == sizeof(*m) && !extra_fds)
      return VS_LINK_RECV_OK;
   if (*fd >= 0)
      close(*fd);
   *fd = -1;
   return got == 0 && !extra_fds ? VS_LINK_RECV_EOF : VS_LINK_RECV_ERROR;
}

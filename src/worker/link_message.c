/* SPDX-License-Identifier: MIT */
#include "worker/link_message.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"
#include "worker/worker_link.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare set SO_NOSIGPIPE */
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
   ssize_t n = os_send_fds(sock, m, sizeof(*m), &fd, fd >= 0, MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0));
   if (n >= 0 && n != (ssize_t)sizeof(*m))
      errno = EMSGSIZE; /* a stream socket short of room: the rest would follow any later message */
   return n == (ssize_t)sizeof(*m);
}

enum vs_link_recv_result
vs_link_recv(int sock, struct vs_link_message *m, int *fd)
{
   size_t got = 0;
   unsigned fd_count = 0;
   bool extra_fds = false;
   while (got < sizeof(*m)) {
      ssize_t n = os_recv_fds(sock, (uint8_t *)m + got, sizeof(*m) - got, fd, 1, &fd_count, &extra_fds);
      if (n < 0 && errno == ECONNRESET && got == 0)
         n = 0; /* the worker died with requests unread */
      if (n < 0)
         extra_fds = true;
      if (n <= 0)
         break;
      got += (size_t)n;
   }
   if (got == sizeof(*m) && !extra_fds) {
      if (!fd_count)
         *fd = -1;
      return VS_LINK_RECV_OK;
   }
   if (fd_count)
      close(*fd);
   *fd = -1;
   return got == 0 && !extra_fds ? VS_LINK_RECV_EOF : VS_LINK_RECV_ERROR;
}

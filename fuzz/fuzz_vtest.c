/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the input is the byte stream a vtest client sends.
 * It is fed to vtest_client_serve over a socketpair by a helper thread that
 * also drains the replies (and closes the fds they carry), so neither side
 * can block on a full socket buffer. Inputs of odd size run with the
 * journal of lasting commands kept (and images' layouts followed), as a
 * context that can be restored. Crashes and leaks are what count. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/test_faults.h"
#include "context/context.h"
#include "transport/vtest/vtest_client.h"

#define MAX_FDS_PER_MESSAGE 16

struct feeder {
   int fd;
   const uint8_t *data;
   size_t size;
};

/* Reads one chunk of replies, closing any fds. Returns false at EOF or on
 * error (the server side is gone). */
static bool
drain_replies(int fd)
{
   char buf[4096];
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)];
   } control;
   struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
   struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control.buf,
      .msg_controllen = sizeof(control.buf),
   };
   ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
   if (n < 0)
      return errno == EINTR || errno == EAGAIN;

   for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
         continue;
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
         int received;
         memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
         close(received);
      }
   }
   return n > 0;
}

static void *
feed(void *arg)
{
   struct feeder *f = arg;
   size_t sent = 0;
   bool writing = true;

   for (;;) {
      if (writing && sent == f->size) {
         /* EOF ends the session once the server has consumed the input. */
         shutdown(f->fd, SHUT_WR);
         writing = false;
      }
      struct pollfd pfd = { .fd = f->fd, .events = POLLIN | (writing ? POLLOUT : 0) };
      if (poll(&pfd, 1, -1) < 0) {
         if (errno == EINTR)
            continue;
         break;
      }
      if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
         if (!drain_replies(f->fd))
            break;
      }
      if (writing && (pfd.revents & POLLOUT)) {
         ssize_t n = send(f->fd, f->data + sent, f->size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
         if (n > 0)
            sent += (size_t)n;
         else if (n < 0 && errno != EAGAIN && errno != EINTR)
            writing = false; /* the server dropped the client */
      }
   }
   return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   static bool initialized;
   if (!initialized) {
      /* Protocol errors are the expected outcome of most inputs. */
      vs_log_threshold = VS_LOG_SILENT;
      signal(SIGPIPE, SIG_IGN);
      initialized = true;
   }

   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return 0;

   struct feeder f = { .fd = sv[1], .data = data, .size = size };
   pthread_t thread;
   if (pthread_create(&thread, NULL, feed, &f) != 0) {
      close(sv[0]);
      close(sv[1]);
      return 0;
   }

   struct vs_context_options options;
   vs_context_options_default(&options);
   vs_test_faults.keep_journal = size & 1;
   vtest_client_serve(sv[0], 1, &options);
   close(sv[0]);
   pthread_join(thread, NULL);
   close(sv[1]);
   return 0;
}

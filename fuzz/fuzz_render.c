/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the render-server protocol (src/transport/vmm/). The input's
 * first byte picks the socket (bit 0: SOCK_STREAM, else SEQPACKET; bit 2:
 * the stream's framing is be32, else header8; the server detects it) and
 * the loop (bit 1: the client loop, render_server_run with thread
 * workers; else one context, render_context_serve, after a valid INIT with
 * a fence table so that context ops reach the Venus context). The rest is
 * records {u16 size; u8 fd_count; size bytes}, each sent as one message
 * with fd_count (mod 10: up to 9, one past the limit) small memfds. A
 * helper thread sends them and drains replies (closing their fds). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "context/context.h"
#include "transport/vmm/render.h"
#include "base/log.h"

struct feeder {
   int fd;
   bool stream;
   bool be32;
   bool context;
   const uint8_t *data;
   size_t size;
};

static void
drain(int fd)
{
   for (;;) {
      char buf[512];
      char control[CMSG_SPACE(sizeof(int) * 8)];
      struct iovec iov = { buf, sizeof(buf) };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof(control) };
      ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (n <= 0)
         return;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
         int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
         for (int i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            close(f);
         }
      }
   }
}

static bool
send_one(struct feeder *f, const void *buf, size_t size, int nfds)
{
   int fds[9];
   for (int i = 0; i < nfds; i++) {
      fds[i] = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fds[i] < 0 || ftruncate(fds[i], 4096) != 0)
         nfds = i;
   }
   if (f->stream && !f->be32) {
      uint32_t hdr[2] = { (uint32_t)size, (uint32_t)nfds };
      if (send(f->fd, hdr, sizeof(hdr), MSG_NOSIGNAL) < 0)
         goto fail;
   }
   /* be32: the big-endian length and the fds in one sendmsg, then the payload. */
   const uint8_t be[4] = { (uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size };
   const bool split = f->stream && f->be32;
   char control[CMSG_SPACE(sizeof(int) * 9)];
   struct iovec iov = { split ? (void *)be : (void *)buf, split ? sizeof(be) : size };
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
   if (nfds) {
      memset(control, 0, sizeof(control));
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
   }
   bool ok = sendmsg(f->fd, &msg, MSG_NOSIGNAL) >= 0 && (!split || !size || send(f->fd, buf, size, MSG_NOSIGNAL) >= 0);
   for (int i = 0; i < nfds; i++)
      close(fds[i]);
   drain(f->fd);
   return ok;
fail:
   for (int i = 0; i < nfds; i++)
      close(fds[i]);
   return false;
}

static void *
feed(void *arg)
{
   struct feeder *f = arg;
   if (f->context) {
      struct {
         uint32_t op, flags;
         uint64_t size;
      } init = { 1, 4, 256 };
      send_one(f, &init, sizeof(init), 1);
   }
   size_t at = 0;
   while (at + 3 <= f->size) {
      size_t len = (size_t)f->data[at] | (size_t)f->data[at + 1] << 8;
      int nfds = f->data[at + 2] % 10;
      at += 3;
      if (len > f->size - at)
         len = f->size - at;
      if (!send_one(f, f->data + at, len, nfds))
         break;
      at += len;
   }
   shutdown(f->fd, SHUT_WR);
   /* Drain until the server side closes. */
   for (;;) {
      struct pollfd p = { f->fd, POLLIN, 0 };
      if (poll(&p, 1, 1000) <= 0)
         break;
      char b[512];
      drain(f->fd);
      if (recv(f->fd, b, sizeof(b), MSG_DONTWAIT) == 0)
         break;
   }
   return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   static bool initialized;
   if (!initialized) {
      vs_log_threshold = VS_LOG_SILENT;
      signal(SIGPIPE, SIG_IGN);
      initialized = true;
   }
   if (size < 1)
      return 0;
   struct feeder f = { .stream = data[0] & 1, .be32 = data[0] & 4, .context = !(data[0] & 2), .data = data + 1, .size = size - 1 };
   int sv[2];
   if (socketpair(AF_UNIX, (f.stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, sv) != 0)
      return 0;
   f.fd = sv[1];
   pthread_t thread;
   if (pthread_create(&thread, NULL, feed, &f) != 0) {
      close(sv[0]);
      close(sv[1]);
      return 0;
   }
   struct vs_context_options options;
   vs_context_options_default(&options);
   options.renderer.exact_shm = true;
   if (f.context) {
      render_context_serve(sv[0], 1, "fuzz", &options, RENDER_FRAMING_AUTO); /* closes sv[0] */
   } else {
      const struct render_server_options rs = { .isolate = VS_ISOLATE_THREAD, .stream_framing = RENDER_FRAMING_AUTO };
      render_server_run(sv[0], &options, &rs);
   }
   pthread_join(thread, NULL);
   close(sv[1]);
   return 0;
}

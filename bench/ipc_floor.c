/* SPDX-License-Identifier: MIT */
/* The floor under a synchronous vtest call: the same round trip as Mesa's
 * vtest reader makes for a SYNC_READ (a header and a payload in two writes,
 * then two blocking reads of the reply), against a responder process that
 * does nothing but answer it, on a Unix stream socket pair.
 *
 * Usage: ipc_floor [--quick] [spin|block]...
 *   spin    the responder spins on a non-blocking recv (no yield): the best a
 *           server can do for a caller it expects
 *   block   the responder blocks in poll until the request arrives
 *
 * Prints "ipc_floor_SPIN_us value" per round trip (bench/exec_bench's
 * format; scripts/gpu-check.sh's latency part takes medians). What the
 * server adds to Mesa's vkGetFenceStatus is exec_bench's fence-status
 * figure less this one. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_HEADER 8 /* vtest: length and id, 32 bits each */
#define REQUEST_PAYLOAD 4 /* SYNC_READ: the sync id */
#define REPLY_BYTES 16 /* header and a 64-bit value */

static void
die(const char *what)
{
   fprintf(stderr, "ipc_floor: %s: %s\n", what, strerror(errno));
   exit(1);
}

static double
now_us(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
read_exact(int fd, void *buf, size_t size)
{
   size_t done = 0;
   while (done < size) {
      ssize_t n = read(fd, (char *)buf + done, size - done);
      if (n > 0)
         done += (size_t)n;
      else if (n == 0)
         exit(0); /* the other end left */
      else if (errno != EINTR)
         die("read");
   }
}

static void
write_exact(int fd, const void *buf, size_t size)
{
   if (write(fd, buf, size) != (ssize_t)size)
      die("write");
}

/* Takes `size` bytes, spinning on a non-blocking recv or blocking in poll. */
static void
take(int fd, void *buf, size_t size, int spin)
{
   size_t done = 0;
   while (done < size) {
      ssize_t n = recv(fd, (char *)buf + done, size - done, MSG_DONTWAIT);
      if (n > 0) {
         done += (size_t)n;
         continue;
      }
      if (n == 0)
         exit(0);
      if (errno != EAGAIN && errno != EINTR)
         die("recv");
      if (!spin) {
         struct pollfd pfd = { .fd = fd, .events = POLLIN };
         if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            die("poll");
      }
   }
}

static void
respond(int fd, int spin)
{
   for (;;) {
      uint8_t request[REQUEST_HEADER + REQUEST_PAYLOAD];
      take(fd, request, sizeof(request), spin);
      const uint32_t reply[REPLY_BYTES / 4] = { 2, 21, 1, 0 };
      write_exact(fd, reply, sizeof(reply));
   }
}

static void
measure(int spin, unsigned warm, unsigned n)
{
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
      die("socketpair");
   pid_t pid = fork();
   if (pid < 0)
      die("fork");
   if (pid == 0) {
      close(sv[0]);
      respond(sv[1], spin);
   }
   close(sv[1]);
   const uint32_t header[2] = { 1, 21 };
   const uint32_t sync_id = 1;
   for (unsigned i = 0; i < warm + n; i++) {
      uint32_t reply_header[2];
      uint64_t value;
      double t0 = now_us();
      write_exact(sv[0], header, sizeof(header));
      write_exact(sv[0], &sync_id, sizeof(sync_id));
      read_exact(sv[0], reply_header, sizeof(reply_header));
      read_exact(sv[0], &value, sizeof(value));
      double t1 = now_us();
      if (i >= warm)
         printf("ipc_floor_%s_us %.3f\n", spin ? "spin" : "block", t1 - t0);
   }
   close(sv[0]);
   waitpid(pid, NULL, 0);
}

int
main(int argc, char **argv)
{
   unsigned n = 20000;
   int ran = 0;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--quick")) {
         n = 5000;
      } else if (!strcmp(argv[i], "spin") || !strcmp(argv[i], "block")) {
         measure(!strcmp(argv[i], "spin"), 1000, n);
         ran = 1;
      } else {
         fprintf(stderr, "usage: ipc_floor [--quick] [spin|block]...\n");
         return 2;
      }
   }
   if (!ran) {
      measure(1, 1000, n);
      measure(0, 1000, n);
   }
   return 0;
}

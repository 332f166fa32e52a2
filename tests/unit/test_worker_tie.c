/* SPDX-License-Identifier: MIT */
/* os/: os_worker_start ties a worker process to the server process that
 * forked it (both backends). A VMM SIGKILLs its render server at any time,
 * including while a worker is still between fork and os_worker_start, and
 * every worker must then go, or its context socket stays open. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"
#include "unit.h"

/* The worker: tells the test on `probe` once tied, then waits to be ended.
 * With `late`, it first waits for the server to be gone (EOF on `gone`, a
 * pipe whose write end only the server holds). */
static void
worker_main(const struct os_worker_tie *tie, int probe, int gone)
{
   char byte = 1;
   if (gone >= 0) {
      while (read(gone, &byte, 1) < 0 && errno == EINTR)
         ;
   }
   if (!os_worker_start(tie, &probe, 1))
      _exit(1);
   if (send(probe, &byte, 1, MSG_NOSIGNAL) != 1)
      _exit(1);
   for (;;)
      pause();
}

/* The server: forks one worker, reports its pid on `report`, then exits
 * (`late`: before the worker has tied itself) or waits to be SIGKILLed. */
static void
server_main(int probe, int report, bool late)
{
   struct os_worker_tie tie;
   int gone[2] = { -1, -1 };
   if (os_worker_tie_init(&tie) < 0 || (late && pipe(gone) < 0))
      _exit(2);
   pid_t worker = fork();
   if (worker == 0) {
      if (late)
         close(gone[1]);
      worker_main(&tie, probe, gone[0]);
   }
   if (write(report, &worker, sizeof(worker)) != (ssize_t)sizeof(worker) || late)
      _exit(0);
   close(probe);
   for (;;)
      pause();
}

/* Reads until EOF within `ms`: true once the peer's every copy is closed. */
static bool
eof_within(int fd, int ms)
{
   struct pollfd p = { .fd = fd, .events = POLLIN };
   for (;;) {
      int ret = poll(&p, 1, ms);
      if (ret < 0 && errno == EINTR)
         continue;
      if (ret != 1)
         return false;
      char buf[16];
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EINTR))
         return true;
   }
}

static void
server_dies(bool late)
{
   int sp[2], rep[2];
   CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
   CHECK_EQ(pipe(rep), 0);
   pid_t server = fork();
   CHECK(server >= 0);
   if (server == 0) {
      close(sp[0]);
      close(rep[0]);
      server_main(sp[1], rep[1], late);
   }
   close(sp[1]);
   close(rep[1]);
   pid_t worker = -1;
   bool reported = read(rep[0], &worker, sizeof(worker)) == (ssize_t)sizeof(worker) && worker > 0;
   bool tied = true;
   if (!late) {
      /* Killed only once tied: the tie must end it. */
      char byte;
      struct pollfd p = { .fd = sp[0], .events = POLLIN };
      tied = poll(&p, 1, 10000) == 1 && read(sp[0], &byte, 1) == 1;
      kill(server, SIGKILL);
   }
   int status = 0;
   waitpid(server, &status, 0);
   bool gone = reported && eof_within(sp[0], 10000);
   if (reported && !gone)
      kill(worker, SIGKILL);
   close(sp[0]);
   close(rep[0]);
   CHECK_MSG(reported, "the server exited with status 0x%x before reporting its worker", status);
   CHECK_MSG(tied, "worker %d never reported being tied", (int)worker);
   CHECK_MSG(gone, "worker %d outlived its server", (int)worker);
}

TEST(worker_dies_with_server)
{
   server_dies(false);
}

/* The server gone before the worker ties itself (it was killed between
 * fork and the tie): no signal will ever come, the worker must notice. */
TEST(worker_starting_after_server_died)
{
   server_dies(true);
}

UNIT_MAIN(UNIT(worker_dies_with_server), UNIT(worker_starting_after_server_died))

/* SPDX-License-Identifier: MIT */
#include "worker/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parcel.h"
#include "os/os.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare set SO_NOSIGPIPE on the pair */
#endif

#define NOTE_PUBLISHED 'c'
#define NOTE_SPOILED 's'

bool
vs_checkpoint_publish(int sock, const struct vs_parcel *state, char *why, size_t why_size)
{
   /* The state waits in a socket of its own, whose reading end the
    * server keeps: nobody reads it unless a next worker restores it. */
   int kept[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, kept) != 0) {
      snprintf(why, why_size, "no socket for it (%s)", strerror(errno));
      return false;
   }
   bool ok = os_socket_prepare(kept[0]) == 0 && os_set_nonblocking(kept[0], true) == 0 &&
             vs_parcel_send_kept(kept[0], state) == 0;
   if (!ok)
      snprintf(why, why_size, "it does not fit a socket (%s)", strerror(errno));
   close(kept[0]);
   const char note = NOTE_PUBLISHED;
   if (ok && os_send_fds(sock, &note, 1, &kept[1], 1, MSG_NOSIGNAL) != 1) {
      snprintf(why, why_size, "the server was not told of it (%s)", strerror(errno));
      ok = false;
   }
   close(kept[1]);
   return ok;
}

bool
vs_checkpoint_spoil(int sock)
{
   /* Blocking: the keeper reads at once, and the note must not be lost
    * while the server keeps the checkpoint it spoils. */
   const char note = NOTE_SPOILED;
   ssize_t n;
   do
      n = send(sock, &note, 1, MSG_NOSIGNAL);
   while (n < 0 && errno == EINTR);
   return n == 1;
}

int
vs_checkpoint_pair(int pair[2])
{
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      return -1;
   if (os_socket_prepare(pair[0]) != 0 || os_socket_prepare(pair[1]) != 0) {
      const int err = errno;
      close(pair[0]);
      close(pair[1]);
      pair[0] = pair[1] = -1;
      errno = err;
      return -1;
   }
   return 0;
}

static void
forget(struct vs_checkpoint_keeper *k)
{
   if (k->kept >= 0)
      close(k->kept);
   k->kept = -1;
}

/* One note; false at the end of the stream or a malformed one. */
static bool
read_note(struct vs_checkpoint_keeper *k)
{
   char note = 0;
   int fd = -1;
   unsigned fds = 0;
   bool excess = false;
   const ssize_t n = os_recv_fds(k->sock, &note, 1, &fd, 1, &fds, &excess);
   if (n <= 0) {
      if (n < 0) {
         /* What the worker said last is unknown: nothing is kept. */
         vs_warn(k->ctx_id, "checkpoint: reading the worker's notes failed (%s); none is kept", strerror(errno));
         pthread_mutex_lock(&k->lock);
         forget(k);
         k->broken = true;
         pthread_mutex_unlock(&k->lock);
      }
      return false;
   }
   struct stat st;
   const bool published = note == NOTE_PUBLISHED && fds == 1 && !excess && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
   const bool spoiled = note == NOTE_SPOILED && fds == 0 && !excess;
   pthread_mutex_lock(&k->lock);
   if (k->broken) {
      /* Read on, so that the worker never blocks on a note. */
   } else if (published) {
      forget(k);
      k->kept = fd;
      fd = -1;
      k->kept_ns = os_now_ns();
   } else if (spoiled) {
      if (k->kept >= 0)
         vs_debug(k->ctx_id, "checkpoint: the client moved on; its checkpoint is forgotten");
      forget(k);
   } else {
      forget(k);
      k->broken = true;
      vs_warn(k->ctx_id, "checkpoint: the worker sent a malformed note (0x%02x with %u fds); none is kept any more",
              (unsigned char)note, fds);
   }
   pthread_mutex_unlock(&k->lock);
   if (fd >= 0)
      close(fd);
   return true;
}

static void *
keeper_main(void *data)
{
   struct vs_checkpoint_keeper *k = data;
   os_thread_set_name("vs-checkpoint");
   while (os_await_readable(k->sock, k->park_fd) && read_note(k)) {
   }
   return NULL;
}

/* The thread; false (what the keeper holds closed) with errno. */
static bool
run_keeper(struct vs_checkpoint_keeper *k)
{
   const int err = pthread_create(&k->thread, NULL, keeper_main, k);
   if (err != 0) {
      pthread_mutex_destroy(&k->lock);
      close(k->sock);
      k->sock = -1;
      forget(k);
      errno = err;
      return false;
   }
   k->running = true;
   return true;
}

bool
vs_checkpoint_keeper_start(struct vs_checkpoint_keeper *k, int sock, uint32_t ctx_id, int kept, uint64_t age_ns,
                           int park_fd)
{
   const uint64_t now = os_now_ns();
   *k = (struct vs_checkpoint_keeper){ .sock = sock, .ctx_id = ctx_id, .park_fd = park_fd, .kept = kept,
                                       .kept_ns = age_ns < now ? now - age_ns : 0 };
   pthread_mutex_init(&k->lock, NULL);
   return run_keeper(k);
}

void
vs_checkpoint_keeper_park(struct vs_checkpoint_keeper *k, int *sock, int *kept, uint64_t *age_ns)
{
   if (k->running)
      pthread_join(k->thread, NULL);
   k->running = false;
   /* A worker whose notes broke keeps no checkpoint across either. */
   *sock = k->broken ? -1 : k->sock;
   *kept = k->broken ? -1 : k->kept;
   *age_ns = *kept >= 0 ? os_now_ns() - k->kept_ns : 0;
}

bool
vs_checkpoint_keeper_resume(struct vs_checkpoint_keeper *k)
{
   return k->sock >= 0 && run_keeper(k);
}

int
vs_checkpoint_keeper_finish(struct vs_checkpoint_keeper *k, uint64_t *age_ns)
{
   *age_ns = 0;
   if (!k->running)
      return -1;
   /* The worker ended: what it sent is all there; past it, the end. */
   shutdown(k->sock, SHUT_RD);
   pthread_join(k->thread, NULL);
   k->running = false;
   close(k->sock);
   k->sock = -1;
   const int kept = k->kept;
   if (kept >= 0)
      *age_ns = os_now_ns() - k->kept_ns;
   k->kept = -1;
   pthread_mutex_destroy(&k->lock);
   return kept;
}

/* SPDX-License-Identifier: MIT */
/* The Linux backend (meson -Dos=auto on Linux): shared memory is a memfd,
 * wakeup objects are eventfds, threads can shorten their timer slack, and
 * worker processes die with the server through PR_SET_PDEATHSIG.
 * Only Linux-only calls live here; the portable core is os_posix.c, which
 * is built with VS_OS_LINUX so that its POSIX backend steps aside. */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int
os_shm_create(const char *name, size_t size)
{
   if (size > (size_t)INT64_MAX) {
      errno = EINVAL;
      return -1;
   }
   /* Sealable: a VMM's render-server proxy seals the blobs it gets. */
   int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd < 0)
      return -1;
   if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
   }
   return fd;
}

bool
os_fd_size_sealed(int fd)
{
   int seals = fcntl(fd, F_GET_SEALS);
   if (seals < 0)
      return false; /* not a memfd */
   /* A memfd the peer left unsealed is sealed here, if it still can be. */
   return (seals & F_SEAL_SHRINK) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0;
}

bool
os_shm_has_seals(void)
{
   return true;
}

void
os_shm_seal_final(int fd)
{
   /* Fails on fds that are no memfd (dma-bufs): nothing to seal there. */
   (void)fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL);
}

void
os_shm_seal_size(int fd)
{
   (void)fcntl(fd, F_ADD_SEALS, F_SEAL_GROW);
}

bool
os_fd_is_event(int fd)
{
   /* An eventfd is an anonymous inode (no file type bits) to which adding
    * 0 succeeds; signalfds, timerfds and epoll fds refuse the write. */
   struct stat st;
   uint64_t zero = 0;
   return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0 && write(fd, &zero, sizeof(zero)) == sizeof(zero);
}

uint64_t
os_max_mappings(void)
{
   FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
   unsigned long long n = 0;
   if (f) {
      if (fscanf(f, "%llu", &n) != 1)
         n = 0;
      fclose(f);
   }
   return n;
}

int
os_event_init(struct os_event *ev)
{
   int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   ev->read_fd = fd;
   ev->write_fd = fd;
   return fd < 0 ? -1 : 0;
}

/* Async-signal-safe: a single write(). A full counter (EAGAIN) is already
 * readable, so failures need no handling. */
void
os_event_signal(struct os_event *ev)
{
   uint64_t one = 1;
   ssize_t ret = write(ev->write_fd, &one, sizeof(one));
   (void)ret;
}

void
os_event_drain(struct os_event *ev)
{
   uint64_t count;
   /* One read resets an eventfd counter; EAGAIN means it was already 0. */
   while (read(ev->read_fd, &count, sizeof(count)) < 0 && errno == EINTR)
      ;
}

void
os_event_fini(struct os_event *ev)
{
   if (ev->read_fd >= 0)
      close(ev->read_fd);
   ev->read_fd = -1;
   ev->write_fd = -1;
}

int
os_signalled_fd(void)
{
   return eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
}

void
os_thread_set_timer_slack_ns(unsigned long ns)
{
   prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

int
os_worker_tie_init(struct os_worker_tie *tie)
{
   tie->server_pid = getpid();
   tie->read_fd = -1;
   tie->write_fd = -1;
   return 0;
}

void
os_worker_tie_fini(struct os_worker_tie *tie)
{
   (void)tie;
}

bool
os_worker_start(const struct os_worker_tie *tie, const int *keep, size_t count)
{
   if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return false;
   /* A server that died between fork and prctl sent no signal: this
    * process was already handed to another parent. */
   if (getppid() != tie->server_pid)
      return false;
   os_close_fds_except(keep, count);
   return true;
}

void
os_shm_forget(pid_t pid)
{
   (void)pid; /* memfds have no name to leave behind */
}

int
os_random_bytes(void *buf, size_t len)
{
   uint8_t *p = buf;
   while (len) {
      ssize_t n = getrandom(p, len, 0);
      if (n < 0) {
         if (errno == EINTR)
            continue;
         return -1;
      }
      p += n;
      len -= (size_t)n;
   }
   return 0;
}

/* What changes a file's bytes or a directory's entries; removals cost
 * nothing, and the watch never follows a link. */
#define DIR_WATCH_MASK (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW)

int
os_dir_watch_open(void)
{
   return inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

int
os_dir_watch_add(int watch_fd, const char *path)
{
   return inotify_add_watch(watch_fd, path, DIR_WATCH_MASK);
}

void
os_dir_watch_remove(int watch_fd, int id)
{
   (void)inotify_rm_watch(watch_fd, id);
}

unsigned
os_dir_watch_read(int watch_fd, int *ids, unsigned max)
{
   unsigned count = 0;
   bool lost = false;
   /* Aligned for the records, each a header and its name. At most 64
    * reads: a writer that never stops is read again at the next poll. */
   char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
   for (unsigned reads = 0; reads < 64; reads++) {
      const ssize_t n = read(watch_fd, buf, sizeof(buf));
      if (n <= 0)
         break;
      for (ssize_t at = 0; at + (ssize_t)sizeof(struct inotify_event) <= n;) {
         const struct inotify_event *e = (const struct inotify_event *)(buf + at);
         at += (ssize_t)(sizeof(*e) + e->len);
         if (e->mask & IN_IGNORED)
            continue;
         const int id = e->mask & IN_Q_OVERFLOW ? -1 : e->wd;
         if (count < max)
            ids[count++] = id;
         else
            lost = true;
      }
   }
   if (lost && max)
      ids[max - 1] = -1;
   return count;
}

/* Other POSIX systems (BSDs, macOS): shared memory is an immediately
 * unlinked POSIX shm object, wakeup objects are non-blocking pipes. */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
set_fd_flags(int fd, int fd_flags, int fl_flags)
{
   int old_fd = fcntl(fd, F_GETFD);
   int old_fl = fcntl(fd, F_GETFL);
   if (old_fd < 0 || old_fl < 0)
      return -1;
   if (fcntl(fd, F_SETFD, old_fd | fd_flags) < 0 || fcntl(fd, F_SETFL, old_fl | fl_flags) < 0)
      return -1;
   return 0;
}

static void
close_keep_errno(int fd)
{
   int err = errno;
   close(fd);
   errno = err;
}

int
os_shm_create(const char *name, size_t size)
{
   static atomic_uint counter;
   (void)name; /* shm names are a global namespace: never use the label */

   if (size > (size_t)INT64_MAX) {
      errno = EINVAL;
      return -1;
   }

   /* A name nobody can predict, unlinked at once: only our fd keeps the
    * object alive. macOS limits shm names to 31 characters. */
   for (int attempt = 0; attempt < 16; attempt++) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      unsigned n = atomic_fetch_add(&counter, 1);
      char shm_name[32];
      snprintf(shm_name, sizeof(shm_name), "/vs-%x-%x-%lx", (unsigned)getpid() & 0xffffff,
               n & 0xffff, (unsigned long)ts.tv_nsec);

      int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
      if (fd < 0) {
         if (errno == EEXIST)
            continue;
         return -1;
      }
      shm_unlink(shm_name);
      if (set_fd_flags(fd, FD_CLOEXEC, 0) < 0 || ftruncate(fd, (off_t)size) != 0) {
         close_keep_errno(fd);
         return -1;
      }
      return fd;
   }
   errno = EEXIST;
   return -1;
}

int
os_event_init(struct os_event *ev)
{
   int fds[2];
   ev->read_fd = -1;
   ev->write_fd = -1;
   if (pipe(fds) < 0)
      return -1;
   if (set_fd_flags(fds[0], FD_CLOEXEC, O_NONBLOCK) < 0 ||
       set_fd_flags(fds[1], FD_CLOEXEC, O_NONBLOCK) < 0) {
      close_keep_errno(fds[0]);
      close_keep_errno(fds[1]);
      return -1;
   }
   ev->read_fd = fds[0];
   ev->write_fd = fds[1];
   return 0;
}

/* Async-signal-safe: a single write(). A full pipe (EAGAIN) is already
 * readable, so failures need no handling. */
void
os_event_signal(struct os_event *ev)
{
   char byte = 1;
   ssize_t ret = write(ev->write_fd, &byte, 1);
   (void)ret;
}

void
os_event_drain(struct os_event *ev)
{
   char buf[64];
   for (;;) {
      ssize_t ret = read(ev->read_fd, buf, sizeof(buf));
      if (ret < 0 && errno == EINTR)
         continue;
      if (ret <= 0)
         break;
   }
}

void
os_event_fini(struct os_event *ev)
{
   if (ev->read_fd >= 0)
      close(ev->read_fd);
   if (ev->write_fd >= 0)
      close(ev->write_fd);
   ev->read_fd = -1;
   ev->write_fd = -1;
}

int
os_signalled_fd(void)
{
   struct os_event ev;
   if (os_event_init(&ev) < 0)
      return -1;
   os_event_signal(&ev);
   /* The byte stays in the pipe after the write end is gone. */
   close(ev.write_fd);
   return ev.read_fd;
}

void
os_thread_set_timer_slack_ns(unsigned long ns)
{
   (void)ns;
}

uint64_t
os_now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t
os_page_size(void)
{
   long size = sysconf(_SC_PAGESIZE);
   return size > 0 ? (size_t)size : 4096;
}

/* SPDX-License-Identifier: MIT */
/* The POSIX OS core, compiled on every host (libuv-style: the portable code
 * lives in one place, each per-OS quirk in one function):
 *   - always: clocks, page size, fd flags, per-socket SIGPIPE, fd passing,
 *     monotonic condition waits, thread names;
 *   - the POSIX backend, unless meson picked the Linux one (VS_OS_LINUX,
 *     os_linux.c): shared memory is an immediately unlinked POSIX shm object
 *     (or, where shm_open is unusable, an unlinked file in the temp dir),
 *     wakeup objects are non-blocking pipes, and there is no timer slack.
 * -Dos=posix builds the backend on Linux too, so the macOS paths run in CI. */
#include "os/os.h"
#include "os/shm_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__APPLE__)
#include <sys/ptrace.h>
#include <sys/types.h>
#endif

#if !defined(SO_NOSIGPIPE) && !defined(MSG_NOSIGNAL)
#error "no SO_NOSIGPIPE and no MSG_NOSIGNAL: a vanished client would raise SIGPIPE"
#endif

/* --- the portable core ------------------------------------------------------ */

uint64_t
os_now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
os_sleep_ns(uint64_t ns)
{
   struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
   while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
}

bool
os_spin_ns(bool (*ready)(void *), void *arg, uint64_t ns)
{
   const uint64_t start = os_now_ns();
   for (;;) {
      /* Several looks per clock read: a look is a load or two. */
      for (int i = 0; i < 16; i++) {
         if (ready(arg))
            return true;
         os_cpu_relax();
      }
      if (os_now_ns() - start >= ns)
         return ready(arg);
   }
}

/* How long os_poll_ns spins between two yields. */
#define POLL_SPIN_NS 1000u

bool
os_poll_ns(bool (*ready)(void *), void *arg, uint64_t ns)
{
   const uint64_t start = os_now_ns();
   for (;;) {
      if (os_spin_ns(ready, arg, POLL_SPIN_NS))
         return true;
      if (os_now_ns() - start >= ns)
         return false;
      sched_yield();
   }
}

size_t
os_page_size(void)
{
   long size = sysconf(_SC_PAGESIZE);
   return size > 0 ? (size_t)size : 4096;
}

uint64_t
os_raise_fd_limit(void)
{
   struct rlimit rl;
   if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
      return 0;
   if (rl.rlim_cur != rl.rlim_max) {
      struct rlimit want = rl;
      want.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &want) == 0)
         rl = want;
#ifdef OPEN_MAX
      /* macOS refuses RLIM_INFINITY (and anything above OPEN_MAX). */
      else if (rl.rlim_cur < OPEN_MAX) {
         want.rlim_cur = OPEN_MAX;
         if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
      }
#endif
   }
   return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* The guard on each side is `align` bytes (at least a page), so the data
 * stays `align`-aligned and the guards cover whole pages. */
static size_t
guard_size(size_t align)
{
   size_t page = os_page_size();
   return align > page ? align : page;
}

void *
os_map_guarded(int fd, size_t size, size_t align)
{
   size_t guard = guard_size(align);
   if (size == 0 || size % os_page_size() || size > SIZE_MAX - 3 * guard) {
      errno = EINVAL;
      return NULL;
   }
   /* Reserve room for both guards plus the slack to align the data. */
   size_t reserve_size = size + 3 * guard;
   uint8_t *reserve = mmap(NULL, reserve_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (reserve == MAP_FAILED)
      return NULL;
   uint8_t *data = (uint8_t *)(((uintptr_t)reserve + 2 * guard - 1) & ~(uintptr_t)(guard - 1));
   if (mmap(data, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
      int err = errno;
      munmap(reserve, reserve_size);
      errno = err;
      return NULL;
   }
   /* Keep [data - guard, data + size + guard) and give back the slack. */
   uint8_t *start = data - guard, *end = data + size + guard;
   if (start > reserve)
      munmap(reserve, (size_t)(start - reserve));
   if (reserve + reserve_size > end)
      munmap(end, (size_t)(reserve + reserve_size - end));
   /* A file that can still shrink, or was sealed shorter than the mapping,
    * is mapped fault-safe (shm_guard.c). Sealed before it is measured: its
    * owner could otherwise cut it between the two. */
   const bool sealed = os_fd_size_sealed(fd);
   struct stat st;
   if (fstat(fd, &st) != 0 ||
       (S_ISREG(st.st_mode) && !(sealed && (uint64_t)st.st_size > size - os_page_size()) &&
        !os_shm_guard_add(data, size))) {
      int err = errno;
      munmap(start, (size_t)(end - start));
      errno = err;
      return NULL;
   }
   return data;
}

void
os_unmap_guarded(void *map, size_t size, size_t align)
{
   if (!map)
      return;
   size_t guard = guard_size(align);
   os_shm_guard_remove(map);
   munmap((uint8_t *)map - guard, size + 2 * guard);
}

int
os_peer_uid(int fd, uid_t *uid)
{
#ifdef SO_PEERCRED
   struct ucred cred;
   socklen_t len = sizeof(cred);
   if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
      return -1;
   *uid = cred.uid;
   return 0;
#else
   gid_t gid;
   return getpeereid(fd, uid, &gid);
#endif
}

int
os_peer_pid(int fd, pid_t *pid)
{
#if defined(SO_PEERCRED)
   struct ucred cred;
   socklen_t len = sizeof(cred);
   if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
      return -1;
   *pid = cred.pid;
   return 0;
#elif defined(LOCAL_PEERPID)
   socklen_t len = sizeof(*pid);
   return getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, pid, &len);
#else
   (void)fd;
   (void)pid;
   errno = ENOSYS;
   return -1;
#endif
}

int
os_set_cloexec(int fd)
{
   int flags = fcntl(fd, F_GETFD);
   if (flags < 0)
      return -1;
   if (flags & FD_CLOEXEC)
      return 0;
   return fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0 ? -1 : 0;
}

int
os_set_nonblocking(int fd, bool nonblocking)
{
   int flags = fcntl(fd, F_GETFL);
   if (flags < 0)
      return -1;
   int want = nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
   if (want == flags)
      return 0;
   return fcntl(fd, F_SETFL, want) < 0 ? -1 : 0;
}

int
os_socket_prepare(int fd)
{
#ifdef SO_NOSIGPIPE
   int on = 1;
   return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
#else
   (void)fd; /* every send passes MSG_NOSIGNAL (checked at the top) */
   return 0;
#endif
}

ssize_t
os_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned fd_count, int flags)
{
   if (fd_count > OS_FDS_MAX) {
      errno = EINVAL;
      return -1;
   }
   struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int) * OS_FDS_MAX)];
   } control;
   memset(&control, 0, sizeof(control));
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
   if (fd_count) {
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * fd_count);
   }
   ssize_t n;
   do
      n = sendmsg(sock, &msg, flags);
   while (n < 0 && errno == EINTR);
   return n;
}

ssize_t
os_recv_fds(int sock, void *buf, size_t len, int *fds, unsigned max, unsigned *fd_count, bool *excess)
{
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int) * OS_FDS_MAX)];
   } control;
   struct iovec iov = { .iov_base = buf, .iov_len = len };
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf) };
   /* Close-on-exec at once where the OS can: another thread may fork
    * meanwhile, and no worker may inherit another tenant's fds. */
#ifdef MSG_CMSG_CLOEXEC
   const int flags = MSG_CMSG_CLOEXEC;
#else
   const int flags = 0;
#endif
   ssize_t n;
   do
      n = recvmsg(sock, &msg, flags);
   while (n < 0 && errno == EINTR);
   if (n < 0)
      return n;
   for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
         continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
         int fd;
         memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
         if (*fd_count < max) {
            os_set_cloexec(fd);
            fds[(*fd_count)++] = fd;
         } else {
            close(fd);
            *excess = true;
         }
      }
   }
   if (msg.msg_flags & MSG_CTRUNC)
      *excess = true;
   return n;
}

int
os_cond_init(pthread_cond_t *cond)
{
#ifdef __APPLE__
   /* pthread_cond_timedwait_relative_np measures on its own clock. */
   return pthread_cond_init(cond, NULL);
#else
   pthread_condattr_t attr;
   int err = pthread_condattr_init(&attr);
   if (err)
      return err;
   err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
   if (!err)
      err = pthread_cond_init(cond, &attr);
   pthread_condattr_destroy(&attr);
   return err;
#endif
}

int
os_cond_timedwait_ns(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t ns)
{
   /* Longer waits are cut to about 68 years: no time_t arithmetic overflows. */
   const uint64_t max_ns = (uint64_t)INT32_MAX * 1000000000ull;
   if (ns > max_ns)
      ns = max_ns;
#ifdef __APPLE__
   struct timespec rel = { .tv_sec = (time_t)(ns / 1000000000ull),
                           .tv_nsec = (long)(ns % 1000000000ull) };
   return pthread_cond_timedwait_relative_np(cond, mutex, &rel);
#else
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   uint64_t nsec = (uint64_t)ts.tv_nsec + ns % 1000000000ull;
   ts.tv_sec += (time_t)(ns / 1000000000ull + nsec / 1000000000ull);
   ts.tv_nsec = (long)(nsec % 1000000000ull);
   return pthread_cond_timedwait(cond, mutex, &ts);
#endif
}

static bool
is_kept(int fd, const int *keep, size_t count)
{
   for (size_t i = 0; i < count; i++) {
      if (keep[i] == fd)
         return true;
   }
   return false;
}

#ifdef __linux__
#include <dirent.h>
/* Closes every fd >= 3 but those in `keep` by listing /proc/self/fd. */
static bool
closefrom_linux(const int *keep, size_t count)
{
   DIR *dir = opendir("/proc/self/fd");
   if (!dir)
      return false;
   int self = dirfd(dir);
   int fds[256];
   for (;;) {
      /* Collect a batch first: closing while reading the directory skips
       * entries. */
      int n = 0;
      struct dirent *e;
      rewinddir(dir);
      while (n < 256 && (e = readdir(dir))) {
         int fd = atoi(e->d_name);
         if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= 3 && fd != self && !is_kept(fd, keep, count))
            fds[n++] = fd;
      }
      if (n == 0)
         break;
      for (int i = 0; i < n; i++)
         close(fds[i]);
   }
   closedir(dir);
   return true;
}
#endif

void
os_close_fds_except(const int *keep, size_t count)
{
   /* Only in a freshly forked child: a plain loop (close_range is not
    * everywhere), bounded so a huge RLIMIT_NOFILE cannot stall it. */
   long max = sysconf(_SC_OPEN_MAX);
   if (max < 0 || max > 65536)
      max = 65536;
#ifdef __linux__
   /* Linux lists what is open: cheaper than closing every number. */
   if (closefrom_linux(keep, count))
      return;
#endif
   for (int fd = 3; fd < max; fd++) {
      if (!is_kept(fd, keep, count))
         close(fd);
   }
}

int
os_refuse_attach(void)
{
#if defined(__linux__)
   return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : errno;
#elif defined(__APPLE__)
   return ptrace(PT_DENY_ATTACH, 0, 0, 0) == 0 ? 0 : errno;
#else
   return ENOSYS;
#endif
}

/* The private memory the kernel counts against RLIMIT_DATA now; 0 where
 * it does not say. */
static uint64_t
private_memory_bytes(void)
{
   uint64_t kib = 0;
#if defined(__linux__)
   FILE *f = fopen("/proc/self/status", "re");
   char line[128];
   while (f && fgets(line, sizeof(line), f)) {
      unsigned long long v;
      if (sscanf(line, "VmData: %llu kB", &v) == 1) {
         kib = v;
         break;
      }
   }
   if (f)
      fclose(f);
#endif
   return kib << 10;
}

int
os_bound_private_memory(uint64_t bytes)
{
   struct rlimit now;
   if (getrlimit(RLIMIT_DATA, &now) != 0)
      return errno;
   const uint64_t held = private_memory_bytes();
   const uint64_t total = bytes <= UINT64_MAX - held ? held + bytes : UINT64_MAX;
   const rlim_t bound = total < (uint64_t)RLIM_INFINITY ? (rlim_t)total : RLIM_INFINITY;
   /* The hard limit too: a worker taken over cannot raise it again. */
   const struct rlimit want = { .rlim_cur = now.rlim_max < bound ? now.rlim_max : bound,
                                .rlim_max = now.rlim_max < bound ? now.rlim_max : bound };
   return setrlimit(RLIMIT_DATA, &want) == 0 ? 0 : errno;
}

void
os_thread_set_name(const char *name)
{
   char buf[16]; /* Linux's limit, with the NUL */
   snprintf(buf, sizeof(buf), "%s", name);
#if defined(__APPLE__)
   pthread_setname_np(buf);
#elif defined(__linux__)
   pthread_setname_np(pthread_self(), buf);
#else
   (void)buf;
#endif
}

bool
os_await_readable(int fd, int park_fd)
{
   struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = park_fd, .events = POLLIN } };
   for (;;) {
      const int n = poll(pfd, park_fd >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
         continue;
      return !(n > 0 && park_fd >= 0 && pfd[1].revents);
   }
}

/* --- the POSIX backend (os_linux.c replaces it on Linux by default) --------- */
#ifndef VS_OS_LINUX

static void
close_keep_errno(int fd)
{
   int err = errno;
   close(fd);
   errno = err;
}

static int
size_fd(int fd, size_t size)
{
   if (os_set_cloexec(fd) < 0 || ftruncate(fd, (off_t)size) != 0) {
      close_keep_errno(fd);
      return -1;
   }
   return fd;
}

/* Where shm_open is missing or unusable (no /dev/shm in a chroot or
 * sandbox): an unlinked file in $TMPDIR or /tmp, mmapped like the rest. */
static int
temp_file_create(size_t size)
{
   const char *dir = getenv("TMPDIR");
   if (!dir || !*dir)
      dir = "/tmp";
   char path[4096];
   if (snprintf(path, sizeof(path), "%s/venus-server-shm.XXXXXX", dir) >= (int)sizeof(path)) {
      errno = ENAMETOOLONG;
      return -1;
   }
   int fd = mkstemp(path);
   if (fd < 0)
      return -1;
   unlink(path);
   return size_fd(fd, size);
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
         if (errno == EMFILE || errno == ENFILE)
            return -1;
         return temp_file_create(size);
      }
      shm_unlink(shm_name);
      return size_fd(fd, size);
   }
   errno = EEXIST;
   return -1;
}

/* os_shm_create's names begin "/vs-<pid in hex>-"; where the objects show
 * as files (Linux's /dev/shm) they can be listed and removed. */
void
os_shm_forget(pid_t pid)
{
#ifdef __linux__
   char prefix[24];
   int len = snprintf(prefix, sizeof(prefix), "vs-%x-", (unsigned)pid & 0xffffff);
   DIR *dir = opendir("/dev/shm");
   if (!dir)
      return;
   for (struct dirent *e; (e = readdir(dir));) {
      if (strncmp(e->d_name, prefix, (size_t)len) == 0) {
         char name[300];
         snprintf(name, sizeof(name), "/%s", e->d_name);
         shm_unlink(name);
      }
   }
   closedir(dir);
#else
   (void)pid;
#endif
}

/* POSIX shm and files have no seals: os_map_guarded maps them fault-safe. */
bool
os_fd_size_sealed(int fd)
{
   (void)fd;
   return false;
}

bool
os_shm_has_seals(void)
{
   return false;
}

void
os_shm_seal_final(int fd)
{
   (void)fd;
}

void
os_shm_seal_size(int fd)
{
   (void)fd;
}

/* Where there are no eventfds a VMM wakes on a pipe (or FIFO); a Linux
 * VMM on this backend still sends an eventfd: an anonymous inode (no file
 * type bits) to which adding 0 succeeds. */
bool
os_fd_is_event(int fd)
{
   struct stat st;
   uint64_t zero = 0;
   if (fstat(fd, &st) != 0)
      return false;
   return S_ISFIFO(st.st_mode) ||
          ((st.st_mode & S_IFMT) == 0 && write(fd, &zero, sizeof(zero)) == (ssize_t)sizeof(zero));
}

/* A pipe whose ends are close-on-exec (and non-blocking if asked). */
static int
pipe_cloexec(int fds[2], bool nonblocking)
{
   if (pipe(fds) < 0)
      return -1;
   for (int i = 0; i < 2; i++) {
      if (os_set_cloexec(fds[i]) < 0 || (nonblocking && os_set_nonblocking(fds[i], true) < 0)) {
         close_keep_errno(fds[0]);
         close_keep_errno(fds[1]);
         return -1;
      }
   }
   return 0;
}

int
os_event_init(struct os_event *ev)
{
   int fds[2];
   ev->read_fd = -1;
   ev->write_fd = -1;
   if (pipe_cloexec(fds, true) < 0)
      return -1;
   ev->read_fd = fds[0];
   ev->write_fd = fds[1];
   return 0;
}

/* Async-signal-safe: a single write(). A full pipe (EAGAIN) is already
 * readable, so failures need no handling. The read end outlives every
 * signal (os_event_fini closes both), so the write cannot raise SIGPIPE. */
void
os_event_signal(struct os_event *ev)
{
   char byte = 1;
   ssize_t ret = write(ev->write_fd, &byte, 1);
   (void)ret;
}

void
os_event_adopt(struct os_event *ev, int fd)
{
   ev->read_fd = -1;
   ev->write_fd = fd;
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

/* POSIX has no such query (macOS's map entry limit is not exposed). */
uint64_t
os_max_mappings(void)
{
   return 0;
}

int
os_worker_tie_init(struct os_worker_tie *tie)
{
   /* Blocking: the workers' watch threads sleep in read(). */
   int fds[2];
   tie->read_fd = -1;
   tie->write_fd = -1;
   if (pipe_cloexec(fds, false) < 0)
      return -1;
   tie->read_fd = fds[0];
   tie->write_fd = fds[1];
   return 0;
}

void
os_worker_tie_fini(struct os_worker_tie *tie)
{
   if (tie->read_fd >= 0)
      close(tie->read_fd);
   if (tie->write_fd >= 0)
      close(tie->write_fd);
   tie->read_fd = -1;
   tie->write_fd = -1;
}

/* Nobody writes to the pipe: read() returns once no write end is left,
 * that is once the server process has died (siblings drop their copies
 * right after fork). */
static void *
watch_server(void *arg)
{
   int fd = (int)(intptr_t)arg;
   char byte;
   while (read(fd, &byte, 1) < 0 && errno == EINTR)
      ;
   _exit(1);
}

bool
os_worker_start(const struct os_worker_tie *tie, const int *keep, size_t count)
{
   /* The inherited write end goes with the rest, before the watch starts:
    * a server that died at any point since fork still reads as EOF. */
   int kept[5] = { tie->read_fd };
   if (count > 4)
      return false;
   memcpy(kept + 1, keep, count * sizeof(*keep));
   os_close_fds_except(kept, count + 1);
   pthread_attr_t attr;
   pthread_t thread;
   if (pthread_attr_init(&attr) != 0)
      return false;
   int err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
   if (!err)
      err = pthread_create(&thread, &attr, watch_server, (void *)(intptr_t)tie->read_fd);
   pthread_attr_destroy(&attr);
   return err == 0;
}

int
os_random_bytes(void *buf, size_t len)
{
   int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
   if (fd < 0)
      return -1;
   uint8_t *p = buf;
   while (len) {
      ssize_t n = read(fd, p, len);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0) {
         close_keep_errno(fd);
         if (n == 0)
            errno = EIO;
         return -1;
      }
      p += n;
      len -= (size_t)n;
   }
   close(fd);
   return 0;
}

/* No directory watch here: the cache's bound is checked when a worker
 * ends only. */
int
os_dir_watch_open(void)
{
   errno = ENOSYS;
   return -1;
}

int
os_dir_watch_add(int watch_fd, const char *path)
{
   (void)watch_fd;
   (void)path;
   errno = ENOSYS;
   return -1;
}

void
os_dir_watch_remove(int watch_fd, int id)
{
   (void)watch_fd;
   (void)id;
}

unsigned
os_dir_watch_read(int watch_fd, int *ids, unsigned max)
{
   (void)watch_fd;
   (void)ids;
   (void)max;
   return 0;
}

int
os_task_bound_prepare(char *why, size_t why_size)
{
   snprintf(why, why_size, "no task bound on this OS layer");
   return ENOSYS;
}

int
os_task_bound_enter(uint32_t max_tasks)
{
   (void)max_tasks;
   return ENOSYS;
}

void
os_task_bound_release(pid_t pid)
{
   (void)pid;
}

#endif /* !VS_OS_LINUX */

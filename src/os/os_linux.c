/* SPDX-License-Identifier: MIT */
/* The Linux backend (meson -Dos=auto on Linux): shared memory is a memfd,
 * wakeup objects are eventfds, threads can shorten their timer slack, and
 * worker processes die with the server through PR_SET_PDEATHSIG and have
 * their tasks bounded by a pids cgroup each.
 * Only Linux-only calls live here; the portable core is os_posix.c, which
 * is built with VS_OS_LINUX so that its POSIX backend steps aside. */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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
os_event_adopt(struct os_event *ev, int fd)
{
   ev->read_fd = ev->write_fd = fd;
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

/* Where workers' cgroups go once prepared ("" before): a pooled worker
 * inherits it from the server through the forker. */
static char task_cgroup_root[512];

static int
write_text(const char *path, const char *text)
{
   int fd = open(path, O_WRONLY | O_CLOEXEC);
   if (fd < 0)
      return errno;
   const size_t size = strlen(text);
   const ssize_t n = write(fd, text, size);
   const int err = n == (ssize_t)size ? 0 : n < 0 ? errno : EIO;
   close(fd);
   return err;
}

/* The calling process's cgroup in the v1 hierarchy of `controller`, or in
 * the unified (v2) one where `controller` is NULL: its path from
 * /proc/self/cgroup ("" for the root). */
static bool
own_cgroup(const char *controller, char *path, size_t size)
{
   FILE *f = fopen("/proc/self/cgroup", "re");
   char line[1024];
   bool found = false;
   while (f && !found && fgets(line, sizeof(line), f)) {
      char *controllers = strchr(line, ':');
      char *where = controllers ? strchr(controllers + 1, ':') : NULL;
      if (!where)
         continue;
      *controllers++ = '\0';
      *where++ = '\0';
      where[strcspn(where, "\n")] = '\0';
      if (controller) {
         for (char *save = NULL, *c = strtok_r(controllers, ",", &save); c && !found; c = strtok_r(NULL, ",", &save))
            found = strcmp(c, controller) == 0;
      } else {
         found = strcmp(line, "0") == 0 && controllers[0] == '\0';
      }
      if (found)
         found = snprintf(path, size, "%s", strcmp(where, "/") == 0 ? "" : where) < (int)size;
   }
   if (f)
      fclose(f);
   return found;
}

/* Whether `list` (a cgroup's controller list) names `name`. */
static bool
names_controller(const char *list, const char *name)
{
   const size_t len = strlen(name);
   for (const char *p = list; (p = strstr(p, name)); p += len)
      if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' ' || p[len] == '\n'))
         return true;
   return false;
}

/* The cgroups of workers that are gone without their release (a server
 * killed with them): removed. One whose worker lives is left (and one in
 * use could not be removed). */
static void
sweep_task_cgroups(void)
{
   DIR *d = opendir(task_cgroup_root);
   for (struct dirent *e; d && (e = readdir(d));) {
      int pid;
      char end;
      if (sscanf(e->d_name, "vs-worker-%d%c", &pid, &end) != 1 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
         continue;
      char dir[800];
      snprintf(dir, sizeof(dir), "%s/%s", task_cgroup_root, e->d_name);
      (void)rmdir(dir);
   }
   if (d)
      closedir(d);
}

int
os_task_bound_prepare(char *why, size_t why_size)
{
   char path[384], file[600], list[256] = "";
   if (own_cgroup("pids", path, sizeof(path))) {
      snprintf(task_cgroup_root, sizeof(task_cgroup_root), "/sys/fs/cgroup/pids%s", path);
      snprintf(file, sizeof(file), "%s/cgroup.procs", task_cgroup_root);
      if (access(file, W_OK) == 0) {
         sweep_task_cgroups();
         return 0;
      }
      const int err = errno;
      snprintf(why, why_size, "cannot write the server's pids cgroup %s (%s)", task_cgroup_root, strerror(err));
      task_cgroup_root[0] = '\0';
      return err;
   }
   if (!own_cgroup(NULL, path, sizeof(path)) || access("/sys/fs/cgroup/cgroup.controllers", R_OK) != 0) {
      snprintf(why, why_size, "no pids cgroup: neither a v1 pids hierarchy nor cgroup v2 at /sys/fs/cgroup");
      return ENOSYS;
   }
   char base[512];
   snprintf(base, sizeof(base), "/sys/fs/cgroup%s", path);
   /* Only a cgroup delegated to the server is the server's to split. */
   if (getxattr(base, "trusted.delegate", NULL, 0) < 0 && getxattr(base, "user.delegate", NULL, 0) < 0) {
      snprintf(why, why_size, "the server's cgroup %s is not delegated to it (systemd: Delegate=pids)", base);
      return EPERM;
   }
   snprintf(file, sizeof(file), "%s/cgroup.controllers", base);
   FILE *f = fopen(file, "re");
   if (f) {
      if (!fgets(list, sizeof(list), f))
         list[0] = '\0';
      fclose(f);
   }
   if (!names_controller(list, "pids")) {
      snprintf(why, why_size, "no pids controller in the server's cgroup %s", base);
      return ENOSYS;
   }
   /* No process may sit beside child cgroups that use a controller: the
    * server goes into a leaf first. */
   char text[32];
   snprintf(file, sizeof(file), "%s/server", base);
   int err = mkdir(file, 0755) == 0 || errno == EEXIST ? 0 : errno;
   snprintf(file, sizeof(file), "%s/server/cgroup.procs", base);
   snprintf(text, sizeof(text), "%d", (int)getpid());
   if (!err)
      err = write_text(file, text);
   snprintf(file, sizeof(file), "%s/cgroup.subtree_control", base);
   if (!err)
      err = write_text(file, "+pids");
   if (err) {
      snprintf(why, why_size, "cannot split the server's cgroup %s: %s", base, strerror(err));
      return err;
   }
   snprintf(task_cgroup_root, sizeof(task_cgroup_root), "%s", base);
   sweep_task_cgroups();
   return 0;
}

int
os_task_bound_enter(uint32_t max_tasks)
{
   if (!task_cgroup_root[0])
      return ENOSYS;
   char dir[600], file[640], text[32];
   snprintf(dir, sizeof(dir), "%s/vs-worker-%d", task_cgroup_root, (int)getpid());
   if (mkdir(dir, 0755) != 0 && errno != EEXIST)
      return errno;
   snprintf(file, sizeof(file), "%s/pids.max", dir);
   snprintf(text, sizeof(text), "%u", max_tasks);
   int err = write_text(file, text);
   snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
   snprintf(text, sizeof(text), "%d", (int)getpid());
   if (!err)
      err = write_text(file, text);
   if (err)
      (void)rmdir(dir);
   return err;
}

void
os_task_bound_release(pid_t pid)
{
   if (!task_cgroup_root[0])
      return;
   char dir[600];
   snprintf(dir, sizeof(dir), "%s/vs-worker-%d", task_cgroup_root, (int)pid);
   (void)rmdir(dir);
}

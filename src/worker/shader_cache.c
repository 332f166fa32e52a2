/* SPDX-License-Identifier: MIT */
/* Each tenant's shader cache (shader_cache.h). Trees are walked through
 * directory fds, never following a link, at most TREE_DEPTH deep and
 * TREE_ENTRIES entries a directory: what a worker left in its directory
 * is untrusted. */
#include "worker/shader_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"

#define TREE_DEPTH 4
#define TREE_ENTRIES 4096
/* While it runs, a worker's directory holds the tenant's files (within
 * the bound) and its driver's new ones (the driver keeps those within the
 * bound too): past twice the bound, or past WATCH_DIRS directories, the
 * worker is no driver and is ended. */
#define RUN_BOUND_FACTOR 2u
#define WATCH_DIRS 1024u
/* A worker's directory is counted again at most this often, and never
 * more than a tenth of the time: a writer that never stops costs the
 * watch thread little. */
#define COUNT_GAP_NS (100u * 1000000u)
#define COUNT_SHARE 10u

/* A worker lent a tenant's files, and watched until it ends. */
struct lend {
   pid_t pid;
   uid_t uid;
   uint64_t serial;                    /* told apart from a later worker of the same pid */
   void (*end)(void *data, pid_t pid); /* its pool's way to end it */
   void *end_data;
   int *watches; /* its directories' watch ids */
   unsigned watch_count, watch_cap;
   bool dirty, ended;
   uint64_t next_count_ns;
};

static struct {
   bool on;
   /* Short enough that every path made of them fits PATH_MAX. */
   char root[PATH_MAX / 2];
   char workers[PATH_MAX / 2 + 64]; /* ROOT/workers/SERVER_PID */
   char own[PATH_MAX / 2 + 128];    /* in a worker: its directory */
   uint64_t bytes;
   pthread_mutex_t lock;
   struct lend *lends; /* under lock */
   unsigned lend_count, lend_cap;
   uint64_t serials;   /* under lock */
   /* The watch of the workers' directories (-1: none on this OS), and its
    * thread, started at the first lend (the pools fork first). */
   int watch_fd;
   bool watching, stopping; /* stopping: under lock */
   bool short_of_watches;   /* said so (the watch thread's) */
   pthread_t watcher;
   struct os_event wake;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER, .watch_fd = -1 };

static bool
make_dir(const char *path)
{
   return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* Paths of PATH_MAX bytes (the roots are short enough to fit). */
static void
tenant_path(uid_t uid, char *path)
{
   snprintf(path, PATH_MAX, "%s/tenants/%u", cache.root, (unsigned)uid);
}

static void
worker_path(pid_t pid, char *path)
{
   snprintf(path, PATH_MAX, "%s/%d", cache.workers, (int)pid);
}

static int
open_dir_at(int parent, const char *name)
{
   return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The names in directory `fd` (not . and ..), at most TREE_ENTRIES, in
 * one buffer of NUL-ended names; NULL when there are none or no memory. */
static char *
list_names(int fd, unsigned *count)
{
   *count = 0;
   int copy = dup(fd);
   DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
   if (!d) {
      if (copy >= 0)
         close(copy);
      return NULL;
   }
   rewinddir(d);
   size_t used = 0, cap = 0;
   char *names = NULL;
   for (struct dirent *e; *count < TREE_ENTRIES && (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
         continue;
      const size_t len = strlen(e->d_name) + 1;
      if (used + len > cap) {
         cap = cap ? 2 * cap : 4096;
         char *bigger = realloc(names, cap);
         if (!bigger)
            break;
         names = bigger;
      }
      memcpy(names + used, e->d_name, len);
      used += len;
      (*count)++;
   }
   closedir(d);
   return names;
}

/* Removes everything under directory `fd`. */
static void
remove_entries(int fd, unsigned depth)
{
   unsigned count;
   char *names = list_names(fd, &count);
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH) {
         int sub = open_dir_at(fd, name);
         if (sub >= 0) {
            remove_entries(sub, depth + 1);
            close(sub);
         }
         unlinkat(fd, name, AT_REMOVEDIR);
      } else {
         unlinkat(fd, name, 0);
      }
   }
   free(names);
}

static void
remove_tree(const char *path)
{
   int fd = open_dir_at(AT_FDCWD, path);
   if (fd < 0)
      return;
   remove_entries(fd, 0);
   close(fd);
   rmdir(path);
}

/* Bytes of the regular files under directory `fd`. */
static uint64_t
tree_bytes(int fd, unsigned depth)
{
   unsigned count;
   char *names = list_names(fd, &count);
   uint64_t total = 0;
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      if (S_ISREG(st.st_mode)) {
         total += (uint64_t)st.st_size;
      } else if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH) {
         int sub = open_dir_at(fd, name);
         if (sub >= 0) {
            total += tree_bytes(sub, depth + 1);
            close(sub);
         }
      }
   }
   free(names);
   return total;
}

/* What a running worker's directory holds, counted as the disk holds it:
 * each entry at least a block, a file at least the blocks it has (space
 * kept past its size counts); and the ids of its directories' watches. */
struct tally {
   uint64_t bytes;
   unsigned dirs;
   int watches[WATCH_DIRS];
};

static void
tally_tree(int fd, char *path, size_t len, unsigned depth, struct tally *t)
{
   if (t->dirs >= WATCH_DIRS)
      return;
   const int id = os_dir_watch_add(cache.watch_fd, path);
   t->watches[t->dirs++] = id;
   if (id < 0 && errno == ENOSPC && !cache.short_of_watches) {
      cache.short_of_watches = true;
      vs_warn(0, "shader cache: no watch left for %s (fs.inotify.max_user_watches): changes there, and in other "
                 "directories short of one, are seen when something else in their worker's directory changes, or "
                 "when it ends",
              path);
   }
   unsigned count;
   char *names = list_names(fd, &count);
   const char *name = names;
   for (unsigned i = 0; i < count && t->dirs < WATCH_DIRS; i++, name += strlen(name) + 1) {
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
      if ((uint64_t)st.st_blocks * 512u > size)
         size = (uint64_t)st.st_blocks * 512u;
      t->bytes += size > 4096 ? size : 4096;
      if (!S_ISDIR(st.st_mode) || depth >= TREE_DEPTH)
         continue;
      const size_t sub_len = len + 1 + strlen(name);
      int sub = sub_len < PATH_MAX ? open_dir_at(fd, name) : -1;
      if (sub < 0)
         continue;
      path[len] = '/';
      memcpy(path + len + 1, name, sub_len - len);
      tally_tree(sub, path, sub_len, depth + 1, t);
      path[len] = 0;
      close(sub);
   }
   free(names);
}

/* What carrying a tree does with each regular file: a tenant's files are
 * lent (linked), a worker's new files returned (moved, within a budget;
 * the tenant's file of the same name, lent and written in place or made
 * again by the warm-up, stays). */
struct carry {
   bool lend;
   uint64_t budget;       /* returning: bytes the tenant may still get */
   unsigned done, left;   /* files linked or moved; not moved */
};

static void
carry_file(int from, int to, const char *name, const struct stat *st, struct carry *c)
{
   struct stat there;
   if (c->lend) {
      c->done += linkat(from, name, to, name, 0) == 0;
   } else if (fstatat(to, name, &there, AT_SYMLINK_NOFOLLOW) != 0) {
      const uint64_t size = (uint64_t)st->st_size;
      if (size > c->budget || renameat(from, name, to, name) != 0) {
         c->left++;
      } else {
         c->budget -= size;
         c->done++;
      }
   }
}

/* Carries every regular file under `from` to the same place under `to`,
 * making the folders on the way. */
static void
carry_tree(int from, int to, unsigned depth, struct carry *c)
{
   unsigned count;
   char *names = list_names(from, &count);
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      struct stat st;
      if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      if (S_ISREG(st.st_mode)) {
         carry_file(from, to, name, &st, c);
      } else if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH) {
         int sub_from = open_dir_at(from, name);
         int sub_to = mkdirat(to, name, 0700) == 0 || errno == EEXIST ? open_dir_at(to, name) : -1;
         if (sub_from >= 0 && sub_to >= 0)
            carry_tree(sub_from, sub_to, depth + 1, c);
         if (sub_from >= 0)
            close(sub_from);
         if (sub_to >= 0)
            close(sub_to);
      }
   }
   free(names);
}

/* Carries the tree at path `from` to path `to`. */
static void
carry_path(const char *from, const char *to, struct carry *c)
{
   int from_fd = open_dir_at(AT_FDCWD, from), to_fd = open_dir_at(AT_FDCWD, to);
   if (from_fd >= 0 && to_fd >= 0) {
      if (!c->lend) {
         const uint64_t held = tree_bytes(to_fd, 0);
         c->budget = held < cache.bytes ? cache.bytes - held : 0;
      }
      carry_tree(from_fd, to_fd, 0, c);
   }
   if (from_fd >= 0)
      close(from_fd);
   if (to_fd >= 0)
      close(to_fd);
}

/* Directories of servers that are gone (killed before they cleaned up). */
static void
remove_stale_servers(const char *workers_root)
{
   int fd = open_dir_at(AT_FDCWD, workers_root);
   if (fd < 0)
      return;
   unsigned count;
   char *names = list_names(fd, &count);
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      char *end;
      const long pid = strtol(name, &end, 10);
      if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
         continue;
      int sub = open_dir_at(fd, name);
      if (sub >= 0) {
         remove_entries(sub, 0);
         close(sub);
      }
      unlinkat(fd, name, AT_REMOVEDIR);
   }
   free(names);
   close(fd);
}

/* Under lock: the lend of `pid`, made as `serial` when serial is not 0. */
static struct lend *
find_lend(pid_t pid, uint64_t serial)
{
   for (unsigned i = 0; i < cache.lend_count; i++)
      if (cache.lends[i].pid == pid && (!serial || cache.lends[i].serial == serial))
         return &cache.lends[i];
   return NULL;
}

/* Under lock: `l`'s directories are watched by `ids` too (-1s skipped). */
static void
keep_watches(struct lend *l, const int *ids, unsigned count)
{
   for (unsigned i = 0; i < count; i++) {
      bool known = ids[i] < 0;
      for (unsigned k = 0; !known && k < l->watch_count; k++)
         known = l->watches[k] == ids[i];
      if (known)
         continue;
      if (l->watch_count == l->watch_cap) {
         const unsigned cap = l->watch_cap ? 2 * l->watch_cap : 8;
         int *bigger = realloc(l->watches, cap * sizeof(*bigger));
         if (!bigger)
            return;
         l->watches = bigger;
         l->watch_cap = cap;
      }
      l->watches[l->watch_count++] = ids[i];
   }
}

/* Under lock: `l` forgotten, its watches ended. */
static void
forget_lend_at(struct lend *l)
{
   for (unsigned k = 0; k < l->watch_count; k++)
      os_dir_watch_remove(cache.watch_fd, l->watches[k]);
   free(l->watches);
   *l = cache.lends[--cache.lend_count];
}

/* Under lock: the lends whose directories changed are counted again. */
static void
mark_changed(const int *ids, unsigned count)
{
   for (unsigned i = 0; i < count; i++)
      for (unsigned j = 0; j < cache.lend_count; j++)
         for (unsigned k = 0; k < cache.lends[j].watch_count; k++)
            if (ids[i] < 0 || cache.lends[j].watches[k] == ids[i]) {
               cache.lends[j].dirty = true;
               break;
            }
}

/* Counts one lend whose directory changed and is due, outside the lock
 * (its directory may go meanwhile: then nothing is kept); ends it past
 * its bound. How long until the next one is due: 0 now, -1 none. */
static int
count_due(struct tally *t)
{
   pthread_mutex_lock(&cache.lock);
   uint64_t now = os_now_ns(), next = UINT64_MAX;
   struct lend *due = NULL;
   for (unsigned i = 0; i < cache.lend_count; i++) {
      struct lend *l = &cache.lends[i];
      if (!l->dirty || l->ended)
         continue;
      if (l->next_count_ns <= now && !due)
         due = l;
      else if (l->next_count_ns < next)
         next = l->next_count_ns;
   }
   if (!due) {
      pthread_mutex_unlock(&cache.lock);
      return next == UINT64_MAX ? -1 : (int)((next - now) / 1000000u) + 1;
   }
   const pid_t pid = due->pid;
   const uint64_t serial = due->serial;
   due->dirty = false;
   pthread_mutex_unlock(&cache.lock);

   char path[PATH_MAX];
   worker_path(pid, path);
   t->bytes = 0;
   t->dirs = 0;
   int fd = open_dir_at(AT_FDCWD, path);
   if (fd >= 0) {
      tally_tree(fd, path, strlen(path), 0, t);
      close(fd);
   }
   const uint64_t took = os_now_ns() - now;
   const bool over = t->bytes / RUN_BOUND_FACTOR > cache.bytes || t->dirs >= WATCH_DIRS;

   pthread_mutex_lock(&cache.lock);
   struct lend *l = find_lend(pid, serial);
   uid_t uid = 0;
   if (l) {
      uid = l->uid;
      keep_watches(l, t->watches, t->dirs);
      l->next_count_ns = now + (took * COUNT_SHARE > COUNT_GAP_NS ? took * COUNT_SHARE : COUNT_GAP_NS);
      if (over) {
         l->ended = true;
         l->end(l->end_data, pid);
      }
   }
   pthread_mutex_unlock(&cache.lock);
   if (l && over && t->dirs >= WATCH_DIRS)
      vs_warn(0, "shader cache: worker process %d of uid %u made more than %u directories in its cache directory: "
                 "ending it", (int)pid, (unsigned)uid, WATCH_DIRS);
   else if (l && over)
      vs_warn(0, "shader cache: worker process %d of uid %u holds %" PRIu64 " MiB in its cache directory, more than "
                 "twice the uid's %" PRIu64 " MiB (limit shader-cache-mib): ending it",
              (int)pid, (unsigned)uid, t->bytes >> 20, cache.bytes >> 20);
   return 0;
}

/* The watch thread: the kernel announces each change in a watched
 * directory, a lend announces a new worker (cache.wake); their lends are
 * counted when due. */
static void *
watch_thread(void *arg)
{
   (void)arg;
   os_thread_set_name("vs-cache-watch");
   struct tally *t = malloc(sizeof(*t));
   int timeout = -1;
   while (t) {
      struct pollfd pfds[2] = { { .fd = cache.watch_fd, .events = POLLIN },
                                { .fd = cache.wake.read_fd, .events = POLLIN } };
      if (poll(pfds, 2, timeout) < 0 && errno != EINTR)
         break;
      if (pfds[1].revents)
         os_event_drain(&cache.wake);
      int ids[256];
      const unsigned n = pfds[0].revents ? os_dir_watch_read(cache.watch_fd, ids, 256) : 0;
      pthread_mutex_lock(&cache.lock);
      const bool stopping = cache.stopping;
      mark_changed(ids, n);
      pthread_mutex_unlock(&cache.lock);
      if (stopping)
         break;
      while ((timeout = count_due(t)) == 0)
         ;
   }
   free(t);
   return NULL;
}

bool
vs_shader_cache_configure(const char *root, uint64_t bytes)
{
   char tenants[PATH_MAX / 2 + 64], workers_root[PATH_MAX / 2 + 64];
   if (snprintf(cache.root, sizeof(cache.root), "%s", root) >= (int)sizeof(cache.root) ||
       snprintf(tenants, sizeof(tenants), "%s/tenants", root) >= (int)sizeof(tenants) ||
       snprintf(workers_root, sizeof(workers_root), "%s/workers", root) >= (int)sizeof(workers_root) ||
       snprintf(cache.workers, sizeof(cache.workers), "%s/%d", workers_root, (int)getpid()) >=
          (int)sizeof(cache.workers)) {
      vs_warn(0, "shader cache: the path %s is too long; workers run without a cache", root);
      return false;
   }
   /* The root's parents may be the operator's (~/.cache): made as needed. */
   for (char *slash = strchr(cache.root + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
      *slash = 0;
      (void)mkdir(cache.root, 0700);
      *slash = '/';
   }
   if (!make_dir(cache.root) || !make_dir(tenants) || !make_dir(workers_root) || !make_dir(cache.workers) ||
       access(cache.root, W_OK) != 0) {
      vs_warn(0, "shader cache: cannot use %s (%s); workers run without a cache (--shader-cache DIR or none)",
              cache.root, strerror(errno));
      return false;
   }
   remove_stale_servers(workers_root);
   cache.bytes = bytes;
   cache.watch_fd = os_dir_watch_open();
   if (cache.watch_fd >= 0 && os_event_init(&cache.wake) != 0) {
      close(cache.watch_fd);
      cache.watch_fd = -1;
   }
   if (cache.watch_fd < 0)
      vs_info(0, "shader cache: no watch of workers' directories here (%s): each is bounded when its worker ends only",
              strerror(errno));
   cache.on = true;
   vs_info(0, "shader cache: each tenant's (uid's) its own under %s, at most %" PRIu64 " MiB each (limit "
              "shader-cache-mib)", tenants, bytes >> 20);
   return true;
}

void
vs_shader_cache_fini(void)
{
   if (!cache.on)
      return;
   if (cache.watching) {
      pthread_mutex_lock(&cache.lock);
      cache.stopping = true;
      pthread_mutex_unlock(&cache.lock);
      os_event_signal(&cache.wake);
      pthread_join(cache.watcher, NULL);
      cache.watching = cache.stopping = false;
   }
   remove_tree(cache.workers);
   pthread_mutex_lock(&cache.lock);
   while (cache.lend_count)
      forget_lend_at(&cache.lends[0]);
   free(cache.lends);
   cache.lends = NULL;
   cache.lend_cap = 0;
   pthread_mutex_unlock(&cache.lock);
   if (cache.watch_fd >= 0) {
      close(cache.watch_fd);
      os_event_fini(&cache.wake);
      cache.watch_fd = -1;
   }
   cache.on = false;
}

const char *
vs_shader_cache_worker_dir(void)
{
   if (!cache.on ||
       snprintf(cache.own, sizeof(cache.own), "%s/%d", cache.workers, (int)getpid()) >= (int)sizeof(cache.own) ||
       !make_dir(cache.own))
      return NULL;
   char bytes[32], mib[32];
   snprintf(bytes, sizeof(bytes), "%" PRIu64, cache.bytes);
   snprintf(mib, sizeof(mib), "%" PRIu64 "M", cache.bytes >> 20);
   /* Mesa's, whose multi-file cache opens each entry when it needs it (a
    * tenant's entries, lent later, are found), and NVIDIA's. */
   setenv("MESA_SHADER_CACHE_DIR", cache.own, 1);
   setenv("MESA_DISK_CACHE_MULTI_FILE", "1", 1);
   setenv("MESA_SHADER_CACHE_MAX_SIZE", mib, 1);
   setenv("__GL_SHADER_DISK_CACHE", "1", 1);
   setenv("__GL_SHADER_DISK_CACHE_PATH", cache.own, 1);
   setenv("__GL_SHADER_DISK_CACHE_SIZE", bytes, 1);
   setenv("__GL_SHADER_DISK_CACHE_SKIP_CLEANUP", "1", 1);
   return cache.own;
}

void
vs_shader_cache_lend(pid_t pid, uid_t uid, void (*end)(void *data, pid_t pid), void *end_data)
{
   if (!cache.on)
      return;
   char tenant[PATH_MAX], worker[PATH_MAX];
   tenant_path(uid, tenant);
   worker_path(pid, worker);
   pthread_mutex_lock(&cache.lock);
   if (cache.lend_count == cache.lend_cap) {
      const unsigned cap = cache.lend_cap ? 2 * cache.lend_cap : 16;
      struct lend *bigger = realloc(cache.lends, cap * sizeof(*bigger));
      if (!bigger) {
         pthread_mutex_unlock(&cache.lock);
         return;
      }
      cache.lends = bigger;
      cache.lend_cap = cap;
   }
   /* Counted once lent, then whenever its directory changes. */
   cache.lends[cache.lend_count++] = (struct lend){
      .pid = pid, .uid = uid, .serial = ++cache.serials, .end = end, .end_data = end_data, .dirty = true
   };
   struct carry lent = { .lend = true };
   if (make_dir(tenant) && make_dir(worker))
      carry_path(tenant, worker, &lent);
   if (cache.watch_fd >= 0 && !cache.watching)
      cache.watching = pthread_create(&cache.watcher, NULL, watch_thread, NULL) == 0;
   const bool watching = cache.watching;
   pthread_mutex_unlock(&cache.lock);
   if (watching)
      os_event_signal(&cache.wake);
   vs_debug(0, "shader cache: worker process %d serves uid %u: %u of its files lent", (int)pid, (unsigned)uid,
            lent.done);
}

/* Under lock: whether `pid` was lent a tenant's files (whose uid), now
 * forgotten and no longer watched. */
static bool
forget_lend(pid_t pid, uid_t *uid)
{
   struct lend *l = find_lend(pid, 0);
   if (!l)
      return false;
   *uid = l->uid;
   forget_lend_at(l);
   return true;
}

void
vs_shader_cache_take_back(pid_t pid)
{
   if (!cache.on)
      return;
   char worker[PATH_MAX];
   worker_path(pid, worker);
   pthread_mutex_lock(&cache.lock);
   uid_t uid;
   (void)forget_lend(pid, &uid);
   int fd = open_dir_at(AT_FDCWD, worker);
   if (fd >= 0) {
      remove_entries(fd, 0);
      close(fd);
   }
   pthread_mutex_unlock(&cache.lock);
}

void
vs_shader_cache_return(pid_t pid)
{
   if (!cache.on)
      return;
   char worker[PATH_MAX], tenant[PATH_MAX];
   worker_path(pid, worker);
   pthread_mutex_lock(&cache.lock);
   uid_t uid = 0;
   const bool lent = forget_lend(pid, &uid);
   struct carry back = { .lend = false };
   if (lent) {
      tenant_path(uid, tenant);
      carry_path(worker, tenant, &back);
   }
   remove_tree(worker);
   pthread_mutex_unlock(&cache.lock);
   if (back.left)
      vs_info(0, "shader cache: worker process %d of uid %u made %u files the uid's %" PRIu64 " MiB do not hold "
                 "(limit shader-cache-mib); they are dropped", (int)pid, (unsigned)uid, back.left, cache.bytes >> 20);
   if (lent)
      vs_debug(0, "shader cache: worker process %d gave uid %u %u new files", (int)pid, (unsigned)uid, back.done);
}

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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define TREE_DEPTH 4
#define TREE_ENTRIES 4096

struct lend {
   pid_t pid;
   uid_t uid;
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
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool
make_dir(const char *path)
{
   return mkdir(path, 0700) == 0 || errno == EEXIST;
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
   int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

/* Links every regular file under `from` into the same place under `to`;
 * returns how many. */
static unsigned
link_tree(int from, int to, unsigned depth)
{
   unsigned count, linked = 0;
   char *names = list_names(from, &count);
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      struct stat st;
      if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      if (S_ISREG(st.st_mode)) {
         linked += linkat(from, name, to, name, 0) == 0;
      } else if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH) {
         int sub_from = open_dir_at(from, name);
         int sub_to = mkdirat(to, name, 0700) == 0 || errno == EEXIST ? open_dir_at(to, name) : -1;
         if (sub_from >= 0 && sub_to >= 0)
            linked += link_tree(sub_from, sub_to, depth + 1);
         if (sub_from >= 0)
            close(sub_from);
         if (sub_to >= 0)
            close(sub_to);
      }
   }
   free(names);
   return linked;
}

/* Moves the regular files under `from` that `to` has no file of the same
 * name for there, while `*budget` bytes allow; counts what moved and what
 * was left out. */
static void
return_tree(int from, int to, unsigned depth, uint64_t *budget, unsigned *moved, unsigned *left)
{
   unsigned count;
   char *names = list_names(from, &count);
   const char *name = names;
   for (unsigned i = 0; i < count; i++, name += strlen(name) + 1) {
      struct stat st, there;
      if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
         continue;
      if (S_ISREG(st.st_mode)) {
         /* The tenant's own file (lent, written in place), or one of the
          * same name (an entry the warm-up made too): the tenant's stays. */
         if (fstatat(to, name, &there, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
         const uint64_t size = (uint64_t)st.st_size;
         if (size > *budget || renameat(from, name, to, name) != 0) {
            (*left)++;
            continue;
         }
         *budget -= size;
         (*moved)++;
      } else if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH) {
         int sub_from = open_dir_at(from, name);
         int sub_to = mkdirat(to, name, 0700) == 0 || errno == EEXIST ? open_dir_at(to, name) : -1;
         if (sub_from >= 0 && sub_to >= 0)
            return_tree(sub_from, sub_to, depth + 1, budget, moved, left);
         if (sub_from >= 0)
            close(sub_from);
         if (sub_to >= 0)
            close(sub_to);
      }
   }
   free(names);
}

/* Directories of servers that are gone (killed before they cleaned up). */
static void
remove_stale_servers(const char *workers_root)
{
   int fd = open(workers_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
   remove_tree(cache.workers);
   pthread_mutex_lock(&cache.lock);
   free(cache.lends);
   cache.lends = NULL;
   cache.lend_count = cache.lend_cap = 0;
   pthread_mutex_unlock(&cache.lock);
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
vs_shader_cache_lend(pid_t pid, uid_t uid)
{
   if (!cache.on)
      return;
   char tenant[PATH_MAX], worker[PATH_MAX];
   snprintf(tenant, sizeof(tenant), "%s/tenants/%u", cache.root, (unsigned)uid);
   snprintf(worker, sizeof(worker), "%s/%d", cache.workers, (int)pid);
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
   cache.lends[cache.lend_count++] = (struct lend){ pid, uid };
   int from = make_dir(tenant) ? open(tenant, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
   int to = make_dir(worker) ? open(worker, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
   const unsigned linked = from >= 0 && to >= 0 ? link_tree(from, to, 0) : 0;
   pthread_mutex_unlock(&cache.lock);
   if (from >= 0)
      close(from);
   if (to >= 0)
      close(to);
   vs_debug(0, "shader cache: worker process %d serves uid %u: %u of its files lent", (int)pid, (unsigned)uid,
            linked);
}

/* Under lock: whether `pid` was lent a tenant's files (whose uid), now
 * forgotten. */
static bool
forget_lend(pid_t pid, uid_t *uid)
{
   for (unsigned i = 0; i < cache.lend_count; i++) {
      if (cache.lends[i].pid == pid) {
         *uid = cache.lends[i].uid;
         cache.lends[i] = cache.lends[--cache.lend_count];
         return true;
      }
   }
   return false;
}

void
vs_shader_cache_take_back(pid_t pid)
{
   if (!cache.on)
      return;
   char worker[PATH_MAX];
   snprintf(worker, sizeof(worker), "%s/%d", cache.workers, (int)pid);
   pthread_mutex_lock(&cache.lock);
   uid_t uid;
   (void)forget_lend(pid, &uid);
   int fd = open(worker, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
   char worker[PATH_MAX];
   snprintf(worker, sizeof(worker), "%s/%d", cache.workers, (int)pid);
   pthread_mutex_lock(&cache.lock);
   uid_t uid = 0;
   const bool lent = forget_lend(pid, &uid);
   unsigned moved = 0, left = 0;
   uint64_t budget = 0;
   if (lent) {
      char tenant[PATH_MAX];
      snprintf(tenant, sizeof(tenant), "%s/tenants/%u", cache.root, (unsigned)uid);
      int from = open(worker, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int to = open(tenant, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (from >= 0 && to >= 0) {
         const uint64_t held = tree_bytes(to, 0);
         budget = held < cache.bytes ? cache.bytes - held : 0;
         return_tree(from, to, 0, &budget, &moved, &left);
      }
      if (from >= 0)
         close(from);
      if (to >= 0)
         close(to);
   }
   remove_tree(worker);
   pthread_mutex_unlock(&cache.lock);
   if (left)
      vs_info(0, "shader cache: worker process %d of uid %u made %u files the uid's %" PRIu64 " MiB do not hold "
                 "(limit shader-cache-mib); they are dropped", (int)pid, (unsigned)uid, left, cache.bytes >> 20);
   if (lent)
      vs_debug(0, "shader cache: worker process %d gave uid %u %u new files", (int)pid, (unsigned)uid, moved);
}

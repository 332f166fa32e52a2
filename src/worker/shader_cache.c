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
   cache.lends[cache.lend_count++] = (struct lend){ pid, uid };
   struct carry lent = { .lend = true };
   if (make_dir(tenant) && make_dir(worker))
      carry_path(tenant, worker, &lent);
   pthread_mutex_unlock(&cache.lock);
   vs_debug(0, "shader cache: worker process %d serves uid %u: %u of its files lent", (int)pid, (unsigned)uid,
            lent.done);
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

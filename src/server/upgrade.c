/* SPDX-License-Identifier: MIT */
#include "server/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/service_notify.h"
#include "os/os.h"
#include "server/server.h"
#include "worker/hand_over.h"
#include "worker/tenant.h"
#include "transport/display/display.h"

extern char **environ;

/* The hand-over record: the first version. A later one (running tenants'
 * workers, docs/architecture.md "Live upgrade") is a new version that an
 * older binary refuses, so the old process goes on serving. */
#define RECORD_MAGIC 0x50555356u /* "VSUP" */
#define RECORD_VERSION 1u
/* In place, a vtest server's (struct in_place_v2), read still. */
#define RECORD_VERSION_IN_PLACE_V2 2u
/* In place, either door's: the record then its running tenants (struct
 * in_place), read still. */
#define RECORD_VERSION_IN_PLACE_V3 3u
/* In place, with the display's part (struct record_display) between the
 * record and the tenants, the scanouts after them: the version this
 * binary writes. */
#define RECORD_VERSION_IN_PLACE 4u
#define ENV_NAME "VENUS_SERVER_UPGRADE"
/* The new process must have taken over by then, or it is ended. */
#define TAKE_OVER_TIMEOUT_MS 60000u
/* A new process that closed its end unasked has this long to exit. */
#define EXIT_WAIT_MS 1000u
/* More clients than any limit allows: a record that says so is broken. */
#define TENANTS_MAX (1u << 20)

struct record {
   uint32_t magic, version, size;
   int32_t old_pid;
   uint64_t asked_ns;
   int32_t listen_fd, word_fd;
   uint32_t owns_file, tenants;
   char path[VS_ACTIVATED_PATH_SIZE];
};

/* The forkers of one pool, as they cross. */
struct record_forkers {
   uint32_t count, reserved;
   int32_t fd[VS_WORKER_POOL_FORKERS_MAX], pid[VS_WORKER_POOL_FORKERS_MAX];
   int32_t tie_fd[VS_WORKER_POOL_FORKERS_MAX];
};

/* Version 2: a vtest server execs its new binary and keeps its workers. */
struct in_place_v2 {
   struct record head;
   struct record_forkers forkers;
   uint64_t frozen_ns;
   /* head.tenants of struct tenant_v2 follow. */
};
struct tenant_v2 {
   uint32_t ctx_id, uid;
   int32_t pid, gpu, client_fd, activity_fd, ledger_fd;
   uint32_t forker;
   uint64_t held[VS_LEDGER_POOLS];
};

/* A version 3 record's tenant: version 4's without its checkpoint. */
struct tenant_v3 {
   uint32_t kind, id, uid, device;
   int32_t pid, gpu;
   uint32_t pool, forker;
   int32_t fd, activity_fd, ledger_fd, vmm, aux_fd;
   uint32_t init_flags;
   char name[VS_HAND_OVER_NAME_SIZE];
   uint64_t held[VS_LEDGER_POOLS];
};

/* Versions 3 and 4: either door; head's socket is the first of `socket`. */
struct in_place {
   struct record head;
   uint32_t sockets, reserved;
   struct {
      int32_t fd;
      uint32_t owns_file;
      char path[VS_ACTIVATED_PATH_SIZE];
   } socket[VS_HAND_OVER_SOCKETS];
   struct record_forkers forkers[VS_HAND_OVER_POOLS];
   uint64_t frozen_ns;
   /* Version 4: struct record_display. Then head.tenants of struct
    * vs_hand_over_tenant, and in version 4 the display's scanouts of
    * struct vs_hand_over_scanout. */
};

/* Version 4: the display's part. */
struct record_display {
   uint32_t scanouts;
   uint32_t has_display;
   struct vs_display_hand_over display;
};

/* What the new process answers once it listens. */
#define WORD_READY 'r'

/* --- the old process: starting the new one ------------------------------- */

/* This process's environment without a hand-over of its own, with the new
 * one's: NULL when out of memory. */
static char **
child_environment(char *upgrade_var)
{
   size_t n = 0;
   while (environ[n])
      n++;
   char **env = calloc(n + 2, sizeof(*env));
   if (!env)
      return NULL;
   size_t k = 0;
   for (size_t i = 0; i < n; i++)
      if (strncmp(environ[i], ENV_NAME "=", sizeof(ENV_NAME)) != 0)
         env[k++] = environ[i];
   env[k] = upgrade_var;
   return env;
}

/* An fd the new process inherits: a dup without close-on-exec, made just
 * for the spawn (nothing else in this process execs meanwhile). */
static int
inheritable(int fd)
{
   return fcntl(fd, F_DUPFD, 3);
}

/* What every upgrade needs: no door that is not handed over, and the
 * binary as it is on disk now (argv[0], a path or a name that $PATH
 * finds, copied to up->binary). argv[0], or NULL after one line. */
static const char *
upgradable(struct vs_upgrade *up)
{
   if (up->config->display && !up->config->vhost_user_path) {
      vs_warn(0, "upgrade refused: a vtest server's display (--display) is not handed over; this process goes on "
                 "serving");
      return NULL;
   }
#ifdef VS_HAVE_DISPLAY
   const unsigned wayland_clients = up->display ? vs_display_wayland_clients(up->display) : 0;
   if (wayland_clients) {
      vs_warn(0, "upgrade refused: %u Wayland client%s connected to the display, and a Wayland connection cannot "
                 "be handed over; this process goes on serving", wayland_clients,
              wayland_clients == 1 ? " is" : "s are");
      return NULL;
   }
#endif
   const char *arg0 = up->config->argv ? up->config->argv[0] : NULL;
   if (!arg0 || !*arg0 || snprintf(up->binary, sizeof(up->binary), "%s", arg0) >= (int)sizeof(up->binary)) {
      vs_warn(0, "upgrade refused: cannot tell which binary this process was started from; it goes on serving");
      return NULL;
   }
   return arg0;
}

static int
upgrade_start(void *data, const struct vs_hand_over_offer *offer)
{
   struct vs_upgrade *up = data;
   vs_server_upgrade_drain();
   const uint64_t asked_ns = os_now_ns();
   if (up->handed_to) {
      vs_warn(0, "upgrade refused: this process handed its socket to pid %d already", (int)up->handed_to);
      return -1;
   }
   if (up->child) {
      vs_warn(0, "upgrade refused: one is under way (new process %d)", (int)up->child);
      return -1;
   }
   const char *arg0 = upgradable(up);
   if (!arg0)
      return -1;
   struct record r = {
      .magic = RECORD_MAGIC, .version = RECORD_VERSION, .size = sizeof(r), .old_pid = (int32_t)getpid(),
      .asked_ns = asked_ns, .owns_file = offer->socket[0].owns_file, .tenants = offer->tenants,
   };
   if (snprintf(r.path, sizeof(r.path), "%s", offer->socket[0].path) >= (int)sizeof(r.path)) {
      vs_warn(0, "upgrade refused: the socket's path is longer than a hand-over holds; this process goes on serving");
      return -1;
   }
   /* The new process's copies: the record, the socket, its answer's end. */
   int word[2] = { -1, -1 }, shm = -1, rec = -1, listen_copy = -1, word_copy = -1, err = 0;
   char var[sizeof(ENV_NAME) + 16];
   char **env = NULL;
   pid_t pid = -1;
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, word) != 0 || os_set_cloexec(word[0]) != 0 ||
       os_set_cloexec(word[1]) != 0 || os_socket_prepare(word[0]) != 0 || os_socket_prepare(word[1]) != 0 ||
       (shm = os_shm_create("venus-server-upgrade", sizeof(r))) < 0 || (rec = inheritable(shm)) < 0 ||
       (listen_copy = inheritable(offer->socket[0].fd)) < 0 || (word_copy = inheritable(word[1])) < 0) {
      err = errno;
   } else {
      r.listen_fd = listen_copy;
      r.word_fd = word_copy;
      snprintf(var, sizeof(var), ENV_NAME "=%d", rec);
      if (pwrite(rec, &r, sizeof(r), 0) != (ssize_t)sizeof(r) || !(env = child_environment(var)))
         err = errno ? errno : ENOMEM;
      else
         err = (strchr(arg0, '/') ? posix_spawn : posix_spawnp)(&pid, up->binary, NULL, NULL, up->config->argv, env);
   }
   free(env);
   const int copies[] = { shm, rec, listen_copy, word_copy, word[1] };
   for (size_t i = 0; i < sizeof(copies) / sizeof(copies[0]); i++)
      if (copies[i] >= 0)
         close(copies[i]);
   if (err) {
      if (word[0] >= 0)
         close(word[0]);
      vs_warn(0, "upgrade refused: cannot start %s: %s; this process goes on serving", up->binary, strerror(err));
      return -1;
   }
   up->child = pid;
   up->word_fd = word[0];
   up->asked_ns = asked_ns;
   vs_info(0, "upgrade: started %s as pid %d to take over the socket; this process serves meanwhile", up->binary,
           (int)pid);
   return word[0];
}

/* The new process that did not take over: its end, in words. */
static void
child_end(pid_t pid, char *why, size_t size)
{
   int status = 0;
   pid_t got = 0;
   for (unsigned waited = 0; (got = waitpid(pid, &status, WNOHANG)) == 0 && waited < EXIT_WAIT_MS; waited += 10)
      (void)poll(NULL, 0, 10);
   if (got == 0) {
      kill(pid, SIGKILL);
      got = waitpid(pid, &status, 0);
   }
   if (got != pid)
      snprintf(why, size, "its end is unknown");
   else if (WIFEXITED(status))
      snprintf(why, size, "it exited with status %d", WEXITSTATUS(status));
   else
      snprintf(why, size, "it was killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static bool
upgrade_finish(void *data, enum vs_upgrade_end end, unsigned tenants)
{
   struct vs_upgrade *up = data;
   char word = 0;
   ssize_t n = 0;
   if (end == VS_UPGRADE_WORD)
      while ((n = recv(up->word_fd, &word, 1, MSG_DONTWAIT)) < 0 && errno == EINTR)
         ;
   close(up->word_fd);
   up->word_fd = -1;
   const pid_t pid = up->child;
   up->child = 0;
   const unsigned long long ms = (os_now_ns() - up->asked_ns) / 1000000u;
   if (n == 1 && word == WORD_READY) {
      up->handed_to = pid;
      vs_info(0, "upgrade: pid %d (%s) took over the socket in %llu ms; this process serves its %u client(s) until "
                 "they end, then exits", (int)pid, up->binary, ms, tenants);
      char message[32];
      snprintf(message, sizeof(message), "MAINPID=%d", (int)pid);
      if (up->config->notify_socket && vs_service_notify(up->config->notify_socket, message) != 0)
         vs_warn(0, "upgrade: cannot tell the service manager that pid %d is the service now: %s", (int)pid,
                 strerror(errno));
      return true;
   }
   char why[96];
   if (end != VS_UPGRADE_WORD)
      kill(pid, SIGKILL);
   child_end(pid, why, sizeof(why));
   if (end == VS_UPGRADE_STOPPING) {
      vs_warn(0, "upgrade abandoned: this server stops; the new binary %s (pid %d) was ended", up->binary, (int)pid);
      return false;
   }
   if (end == VS_UPGRADE_LATE)
      snprintf(why, sizeof(why), "it did not take over within %u s, ended", TAKE_OVER_TIMEOUT_MS / 1000u);
   vs_warn(0, "upgrade refused: the new binary %s (pid %d) did not take over: %s; this process goes on serving",
           up->binary, (int)pid, why);
   return false;
}

/* --- the old process: the new binary in its place ------------------------- */

/* Whether `path` (argv[0]) names a binary that reads an in-place
 * hand-over: started with the probe value instead of a record, it parses
 * its configuration and exits 0. 0, or -1 after one line. */
static int
upgrade_in_place(void *data)
{
   struct vs_upgrade *up = data;
   vs_server_upgrade_drain();
   const char *arg0 = upgradable(up);
   if (!arg0)
      return -1;
   char var[sizeof(ENV_NAME) + 16];
   snprintf(var, sizeof(var), ENV_NAME "=probe-%u", RECORD_VERSION_IN_PLACE);
   char **env = child_environment(var);
   pid_t pid = -1;
   int err = env ? (strchr(arg0, '/') ? posix_spawn : posix_spawnp)(&pid, up->binary, NULL, NULL, up->config->argv, env)
                 : ENOMEM;
   free(env);
   int status = 0;
   if (!err)
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
         ;
   if (err)
      vs_warn(0, "upgrade refused: cannot start %s: %s; this process goes on serving", up->binary, strerror(err));
   else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      vs_warn(0, "upgrade refused: the new binary %s cannot take running clients (its check %s %d); this process "
                 "goes on serving", up->binary, WIFEXITED(status) ? "exited with status" : "was killed by signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
   return err || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ? -1 : 0;
}

static void
set_close_on_exec(int fd, bool on)
{
   const int flags = fcntl(fd, F_GETFD);
   if (flags >= 0)
      (void)fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/* `name` as exec finds it: itself with a '/', else the first executable
 * of that name in $PATH. False with errno. */
static bool
find_binary(const char *name, char *path, size_t size)
{
   if (strchr(name, '/')) {
      if (snprintf(path, size, "%s", name) < (int)size)
         return true;
      errno = ENAMETOOLONG;
      return false;
   }
   const char *dirs = getenv("PATH");
   for (const char *d = dirs ? dirs : "/usr/bin:/bin"; *d;) {
      const size_t len = strcspn(d, ":");
      if (snprintf(path, size, "%.*s/%s", (int)len, len ? d : ".", name) < (int)size && access(path, X_OK) == 0)
         return true;
      d += len + (d[len] == ':');
   }
   errno = ENOENT;
   return false;
}

/* Sets or clears close-on-exec on each fd of the hand-over. */
static void
hand_over_fds(const struct vs_hand_over_offer *offer, bool keep)
{
   for (unsigned k = 0; k < offer->sockets; k++)
      set_close_on_exec(offer->socket[k].fd, !keep);
   for (unsigned p = 0; p < VS_HAND_OVER_POOLS; p++) {
      const struct vs_worker_pool_forkers *forkers = offer->forkers[p];
      for (unsigned f = 0; forkers && f < forkers->count; f++) {
         set_close_on_exec(forkers->forker[f].fd, !keep);
         if (forkers->forker[f].tie_fd >= 0)
            set_close_on_exec(forkers->forker[f].tie_fd, !keep);
      }
   }
   for (unsigned t = 0; t < offer->tenants; t++) {
      int fds[VS_HAND_OVER_TENANT_FDS];
      const unsigned n = vs_tenant_record_fds(&offer->running[t], fds);
      for (unsigned i = 0; i < n; i++)
         set_close_on_exec(fds[i], !keep);
   }
   for (unsigned k = 0; k < offer->scanouts; k++) {
      set_close_on_exec(offer->scanout[k].framebuffer_fd, !keep);
      set_close_on_exec(offer->scanout[k].notify_fd, !keep);
   }
}

/* The record, then the exec; returns only when the exec failed. */
static void
upgrade_exec(void *data, const struct vs_hand_over_offer *offer)
{
   struct vs_upgrade *up = data;
   const size_t tenants_at = sizeof(struct in_place) + sizeof(struct record_display);
   const size_t scanouts_at = tenants_at + (size_t)offer->tenants * sizeof(struct vs_hand_over_tenant);
   const size_t size = scanouts_at + (size_t)offer->scanouts * sizeof(struct vs_hand_over_scanout);
   struct in_place *r = calloc(1, size);
   int shm = -1, rec = -1, err = r ? 0 : ENOMEM, http_fd = -1;
   char **env = NULL;
   char var[sizeof(ENV_NAME) + 16];
   for (unsigned k = 0; !err && k < offer->sockets; k++) {
      r->socket[k].fd = offer->socket[k].fd;
      r->socket[k].owns_file = offer->socket[k].owns_file;
      if (snprintf(r->socket[k].path, sizeof(r->socket[k].path), "%s", offer->socket[k].path) >=
          (int)sizeof(r->socket[k].path))
         err = ENAMETOOLONG;
   }
   if (!err) {
      r->head = (struct record){
         .magic = RECORD_MAGIC, .version = RECORD_VERSION_IN_PLACE, .size = (uint32_t)size,
         .old_pid = (int32_t)getpid(), .asked_ns = offer->frozen_ns, .listen_fd = offer->socket[0].fd,
         .word_fd = -1, .owns_file = offer->socket[0].owns_file, .tenants = offer->tenants,
      };
      memcpy(r->head.path, r->socket[0].path, sizeof(r->head.path));
      r->sockets = offer->sockets;
      for (unsigned p = 0; p < VS_HAND_OVER_POOLS; p++) {
         const struct vs_worker_pool_forkers *forkers = offer->forkers[p];
         r->forkers[p].count = forkers ? forkers->count : 0;
         for (unsigned f = 0; forkers && f < forkers->count; f++) {
            r->forkers[p].fd[f] = forkers->forker[f].fd;
            r->forkers[p].pid[f] = forkers->forker[f].pid;
            r->forkers[p].tie_fd[f] = forkers->forker[f].tie_fd;
         }
      }
      r->frozen_ns = offer->frozen_ns;
      struct record_display *display = (struct record_display *)(r + 1);
      display->scanouts = offer->scanouts;
#ifdef VS_HAVE_DISPLAY
      if (up->display) {
         vs_display_hand_over(up->display, &display->display);
         display->has_display = 1;
         http_fd = display->display.http_fd;
      }
#endif
      if (offer->tenants)
         memcpy((char *)r + tenants_at, offer->running, (size_t)offer->tenants * sizeof(struct vs_hand_over_tenant));
      if (offer->scanouts)
         memcpy((char *)r + scanouts_at, offer->scanout, (size_t)offer->scanouts * sizeof(struct vs_hand_over_scanout));
      if ((shm = os_shm_create("venus-server-upgrade", size)) < 0 || (rec = inheritable(shm)) < 0 ||
          pwrite(rec, r, size, 0) != (ssize_t)size)
         err = errno ? errno : EIO;
      snprintf(var, sizeof(var), ENV_NAME "=%d", rec);
      if (!err && !(env = child_environment(var)))
         err = ENOMEM;
   }
   if (!err) {
      vs_info(0, "upgrade: running %s in this process's place, with its %u tenant(s) and their workers%s; their "
                 "charges wait meanwhile", up->binary, offer->tenants, offer->scanouts ? " and scanouts" : "");
      hand_over_fds(offer, true);
      if (http_fd >= 0)
         set_close_on_exec(http_fd, false);
      char path[sizeof(up->binary)];
      if (find_binary(up->binary, path, sizeof(path)))
         execve(path, up->config->argv, env);
      err = errno;
      hand_over_fds(offer, false);
      if (http_fd >= 0)
         set_close_on_exec(http_fd, true);
   }
   free(env);
   free(r);
   if (shm >= 0)
      close(shm);
   if (rec >= 0)
      close(rec);
   vs_warn(0, "upgrade refused: cannot run %s in place: %s; this process goes on serving", up->binary, strerror(err));
}

/* --- the new process: taking over ----------------------------------------- */

static bool
is_kind(int fd, mode_t kind)
{
   struct stat st;
   return fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

/* A pool's forkers as they crossed, each fd's kind checked. */
static bool
take_forkers(const struct record_forkers *r, bool first, struct vs_worker_pool_forkers *forkers)
{
   if ((first && r->count < 1) || r->count > VS_WORKER_POOL_FORKERS_MAX)
      return false;
   forkers->count = r->count;
   for (unsigned f = 0; f < r->count; f++) {
      if (r->pid[f] <= 0 || !is_kind(r->fd[f], S_IFSOCK) || (r->tie_fd[f] >= 0 && !is_kind(r->tie_fd[f], S_IFIFO)))
         return false;
      forkers->forker[f].fd = r->fd[f];
      forkers->forker[f].pid = r->pid[f];
      forkers->forker[f].tie_fd = r->tie_fd[f] >= 0 ? r->tie_fd[f] : -1;
   }
   return true;
}

/* Whether tenant `t` of the record is what its kind says, against the
 * forkers taken and the tenants before it. */
static bool
tenant_valid(const struct vs_hand_over_tenant *t, const struct vs_upgrade *up, unsigned index)
{
   if (t->kind < VS_HAND_OVER_CLIENT || t->kind >= VS_HAND_OVER_KINDS || !t->id || t->pid <= 0 || t->gpu < -1 ||
       t->pool >= VS_HAND_OVER_POOLS || t->forker >= up->forkers[t->pool].count ||
       !memchr(t->name, '\0', sizeof(t->name)) || (t->ledger_fd >= 0 && !is_kind(t->ledger_fd, S_IFSOCK)))
      return false;
   const bool context = t->kind == VS_HAND_OVER_VM_CONTEXT;
   if (context ? t->activity_fd != -1 : !is_kind(t->activity_fd, S_IFREG))
      return false;
   /* A client's checkpoints: its worker's socket, then the newest kept. */
   if (t->checkpoint_fd < 0 ? t->checkpoint_fd != -1 || t->checkpoint_kept_fd != -1
                            : t->kind != VS_HAND_OVER_CLIENT || !is_kind(t->checkpoint_fd, S_IFSOCK) ||
                                 (t->checkpoint_kept_fd != -1 && !is_kind(t->checkpoint_kept_fd, S_IFSOCK)))
      return false;
   if (t->kind == VS_HAND_OVER_VM_GPU) {
      if (t->fd >= 0 && !is_kind(t->fd, S_IFSOCK))
         return false;
      return t->aux_fd < 0 ? t->aux_fd == -1 : t->fd >= 0 && is_kind(t->aux_fd, S_IFREG);
   }
   if (!is_kind(t->fd, S_IFSOCK) ||
       (t->kind == VS_HAND_OVER_CLIENT ? t->aux_fd != -1 && !is_kind(t->aux_fd, S_IFSOCK) : t->aux_fd != -1))
      return false;
   if (!context)
      return true;
   /* A context follows the device whose contexts are apart. */
   for (unsigned i = 0; i < index; i++) {
      const struct vs_hand_over_tenant *d = &up->adopted[i];
      if (d->kind == VS_HAND_OVER_VM_GPU && d->id == t->device && d->fd >= 0)
         return true;
   }
   return false;
}

/* A version 2 record's tenants (vtest clients), as version 3's. */
static bool
read_v2_tenants(int fd, struct vs_upgrade *up, unsigned count)
{
   for (unsigned i = 0; i < count; i++) {
      struct tenant_v2 v;
      if (pread(fd, &v, sizeof(v), (off_t)(sizeof(struct in_place_v2) + (size_t)i * sizeof(v))) != (ssize_t)sizeof(v))
         return false;
      up->adopted[i] = (struct vs_hand_over_tenant){
         .kind = VS_HAND_OVER_CLIENT, .id = v.ctx_id, .uid = v.uid, .pid = v.pid, .gpu = v.gpu,
         .forker = v.forker, .fd = v.client_fd, .activity_fd = v.activity_fd, .ledger_fd = v.ledger_fd,
         .aux_fd = -1, .checkpoint_fd = -1, .checkpoint_kept_fd = -1,
      };
      memcpy(up->adopted[i].held, v.held, sizeof(v.held));
   }
   return true;
}

/* A version 3 record's tenants, as version 4's (no checkpoint). */
static bool
read_v3_tenants(int fd, struct vs_upgrade *up, unsigned count)
{
   for (unsigned i = 0; i < count; i++) {
      struct tenant_v3 v;
      if (pread(fd, &v, sizeof(v), (off_t)(sizeof(struct in_place) + (size_t)i * sizeof(v))) != (ssize_t)sizeof(v))
         return false;
      up->adopted[i] = (struct vs_hand_over_tenant){
         .kind = v.kind, .id = v.id, .uid = v.uid, .device = v.device, .pid = v.pid, .gpu = v.gpu, .pool = v.pool,
         .forker = v.forker, .fd = v.fd, .activity_fd = v.activity_fd, .ledger_fd = v.ledger_fd, .vmm = v.vmm,
         .aux_fd = v.aux_fd, .init_flags = v.init_flags, .checkpoint_fd = -1, .checkpoint_kept_fd = -1,
      };
      memcpy(up->adopted[i].name, v.name, sizeof(v.name));
      memcpy(up->adopted[i].held, v.held, sizeof(v.held));
   }
   return true;
}

/* A version 4 record's display part, at `scanouts_at` its scanouts (the
 * record's size was checked against their count). */
static bool
take_display(int fd, struct vs_upgrade *up, size_t scanouts_at)
{
   struct record_display d;
   if (pread(fd, &d, sizeof(d), sizeof(struct in_place)) != (ssize_t)sizeof(d) || d.has_display > 1 ||
       d.scanouts > TENANTS_MAX * VS_HAND_OVER_SCANOUTS_PER_DEVICE)
      return false;
   if (d.has_display) {
      if (!(up->display_hand_over = malloc(sizeof(*up->display_hand_over))))
         return false;
      /* The display checks its socket and each token. */
      *up->display_hand_over = d.display;
      if (!is_kind(d.display.http_fd, S_IFSOCK))
         up->display_hand_over->http_fd = -1;
   }
   const size_t bytes = (size_t)d.scanouts * sizeof(*up->scanouts);
   up->scanouts = d.scanouts ? calloc(d.scanouts, sizeof(*up->scanouts)) : NULL;
   if (d.scanouts && (!up->scanouts || pread(fd, up->scanouts, bytes, (off_t)scanouts_at) != (ssize_t)bytes))
      return false;
   up->scanout_count = d.scanouts;
   return true;
}

/* Whether scanout `index` of the record is one: a VM GPU device's taken
 * over, a scanout number a device may have, once, and fds of their kinds
 * (its framebuffer's size is the door's to check). */
static bool
scanout_valid(const struct vs_hand_over_scanout *h, const struct vs_upgrade *up, unsigned index, unsigned tenants)
{
   if (h->index >= VS_HAND_OVER_SCANOUTS_PER_DEVICE || !is_kind(h->framebuffer_fd, S_IFREG) ||
       !is_kind(h->notify_fd, S_IFSOCK) || h->framebuffer_fd == h->notify_fd)
      return false;
   for (unsigned i = 0; i < index; i++) {
      const struct vs_hand_over_scanout *o = &up->scanouts[i];
      if ((o->device == h->device && o->index == h->index) || o->framebuffer_fd == h->framebuffer_fd ||
          o->notify_fd == h->notify_fd || o->framebuffer_fd == h->notify_fd || o->notify_fd == h->framebuffer_fd)
         return false;
   }
   for (unsigned t = 0; t < tenants; t++) {
      const struct vs_hand_over_tenant *a = &up->adopted[t];
      int fds[VS_HAND_OVER_TENANT_FDS];
      const unsigned n = vs_tenant_record_fds(a, fds);
      for (unsigned f = 0; f < n; f++)
         if (fds[f] == h->framebuffer_fd || fds[f] == h->notify_fd)
            return false;
   }
   for (unsigned t = 0; t < tenants; t++)
      if (up->adopted[t].kind == VS_HAND_OVER_VM_GPU && up->adopted[t].id == h->device)
         return true;
   return false;
}

/* The in-place part of a version 2, 3 or 4 record at `fd`: the sockets,
 * the forkers and the tenants, each fd's kind checked. NULL, or why not. */
static const char *
take_in_place(int fd, const struct record *head, struct vs_upgrade *up, char *why, size_t size)
{
   struct vs_upgrade_taken *taken = &up->from;
   const unsigned count = head->tenants;
   up->adopted = count ? calloc(count, sizeof(*up->adopted)) : NULL;
   if (count && !up->adopted)
      return "its tenants cannot be read";
   if (head->version == RECORD_VERSION_IN_PLACE_V2) {
      struct in_place_v2 r;
      if (pread(fd, &r, sizeof(r), 0) != (ssize_t)sizeof(r) || !take_forkers(&r.forkers, true, &up->forkers[0]) ||
          r.frozen_ns > os_now_ns())
         return "its forkers are out of range";
      if (!read_v2_tenants(fd, up, count))
         return "its tenants cannot be read";
      up->frozen_ns = r.frozen_ns;
      taken->sockets = 1;
      taken->socket[0].fd = head->listen_fd;
      taken->socket[0].owns_file = head->owns_file;
      memcpy(taken->socket[0].path, head->path, sizeof(head->path));
   } else {
      struct in_place r;
      if (pread(fd, &r, sizeof(r), 0) != (ssize_t)sizeof(r) || r.frozen_ns > os_now_ns())
         return "it cannot be read";
      for (unsigned p = 0; p < VS_HAND_OVER_POOLS; p++)
         if (!take_forkers(&r.forkers[p], p == 0, &up->forkers[p]))
            return "its forkers are out of range";
      const bool v4 = head->version == RECORD_VERSION_IN_PLACE;
      const size_t tenants_at = sizeof(r) + sizeof(struct record_display);
      const size_t bytes = (size_t)count * sizeof(*up->adopted);
      if (v4 ? count && pread(fd, up->adopted, bytes, (off_t)tenants_at) != (ssize_t)bytes
             : !read_v3_tenants(fd, up, count))
         return "its tenants cannot be read";
      if (v4 && !take_display(fd, up, tenants_at + bytes))
         return "its display's part cannot be read";
      if (r.sockets < 1 || r.sockets > VS_HAND_OVER_SOCKETS || r.socket[0].fd != head->listen_fd)
         return "its sockets are out of range";
      up->frozen_ns = r.frozen_ns;
      taken->sockets = r.sockets;
      for (unsigned k = 0; k < r.sockets; k++) {
         taken->socket[k].fd = r.socket[k].fd;
         taken->socket[k].owns_file = r.socket[k].owns_file == 1;
         if (r.socket[k].owns_file > 1)
            return "its sockets are out of range";
         memcpy(taken->socket[k].path, r.socket[k].path, sizeof(r.socket[k].path));
      }
   }
   for (unsigned t = 0; t < count; t++) {
      const struct vs_hand_over_tenant *a = &up->adopted[t];
      if (!tenant_valid(a, up, t)) {
         snprintf(why, size, "tenant %u (kind %u, id %u, worker %d) is not what it should be", t, a->kind, a->id,
                  (int)a->pid);
         return why;
      }
   }
   for (unsigned k = 0; k < up->scanout_count; k++) {
      const struct vs_hand_over_scanout *h = &up->scanouts[k];
      if (!scanout_valid(h, up, k, count)) {
         snprintf(why, size, "scanout %u (device %u's scanout %u) is not what it should be", k, h->device, h->index);
         return why;
      }
   }
   return NULL;
}

static const char *
take(int fd, struct vs_upgrade *up, char *why, size_t size)
{
   struct vs_upgrade_taken *t = &up->from;
   struct record r;
   struct stat st;
   const bool read_whole = fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(r) &&
                           pread(fd, &r, sizeof(r), 0) == (ssize_t)sizeof(r);
   if (!read_whole) {
      close(fd);
      return "it is not one record of this binary's size";
   }
   if (r.magic != RECORD_MAGIC) {
      close(fd);
      return "it is no hand-over";
   }
   const bool in_place = r.version == RECORD_VERSION_IN_PLACE || r.version == RECORD_VERSION_IN_PLACE_V3 ||
                         r.version == RECORD_VERSION_IN_PLACE_V2;
   /* Version 4's scanouts follow its tenants: their count is in its
    * display's part (a record too short to hold one reads as none). */
   uint32_t scanouts = 0;
   if (r.version == RECORD_VERSION_IN_PLACE &&
       pread(fd, &scanouts, sizeof(scanouts), sizeof(struct in_place)) != (ssize_t)sizeof(scanouts))
      scanouts = 0;
   const size_t expected =
      r.version == RECORD_VERSION_IN_PLACE
         ? sizeof(struct in_place) + sizeof(struct record_display) +
              (size_t)r.tenants * sizeof(struct vs_hand_over_tenant) +
              (size_t)scanouts * sizeof(struct vs_hand_over_scanout)
      : r.version == RECORD_VERSION_IN_PLACE_V3 ? sizeof(struct in_place) + (size_t)r.tenants * sizeof(struct tenant_v3)
      : in_place                                ? sizeof(struct in_place_v2) + (size_t)r.tenants * sizeof(struct tenant_v2)
                                                : sizeof(r);
   if ((r.version != RECORD_VERSION && !in_place) || r.tenants > TENANTS_MAX || r.size != expected ||
       st.st_size != (off_t)expected) {
      close(fd);
      snprintf(why, size, "its format is version %u (%u bytes); this binary reads versions %u to %u", r.version,
               r.size, RECORD_VERSION, RECORD_VERSION_IN_PLACE);
      return why;
   }
   if (!in_place) {
      t->sockets = 1;
      t->socket[0].fd = r.listen_fd;
      t->socket[0].owns_file = r.owns_file == 1;
      memcpy(t->socket[0].path, r.path, sizeof(r.path));
   }
   const char *refused = in_place ? take_in_place(fd, &r, up, why, size) : NULL;
   close(fd);
   if (refused)
      return refused;
   const pid_t expected_pid = in_place ? getpid() : getppid();
   if (r.old_pid <= 0 || r.old_pid != expected_pid) {
      snprintf(why, size, "it names pid %d, not %s %d", (int)r.old_pid, in_place ? "this process" : "this process's parent",
               (int)expected_pid);
      return why;
   }
   if (r.owns_file > 1 || r.tenants > TENANTS_MAX || r.asked_ns > os_now_ns())
      return "its fields are out of range";
   for (unsigned k = 0; k < t->sockets; k++) {
      const int listen_fd = t->socket[k].fd;
      if (!memchr(t->socket[k].path, '\0', sizeof(t->socket[k].path)) || !t->socket[k].path[0])
         return "its socket path is no string";
      if (listen_fd < 3 || listen_fd == fd || (k && listen_fd == t->socket[0].fd) ||
          (!in_place && (r.word_fd < 3 || listen_fd == r.word_fd || r.word_fd == fd)))
         return "its fds are not distinct passed fds";
      char name[VS_ACTIVATED_PATH_SIZE];
      if (!vs_listening_unix_socket(listen_fd, name, sizeof(name)))
         return "its listening fd is no listening Unix stream socket";
      if (os_set_cloexec(listen_fd) < 0 || os_set_nonblocking(listen_fd, true) < 0)
         return "its fds cannot be set up";
   }
   if (!in_place && (!is_kind(r.word_fd, S_IFSOCK) || os_set_cloexec(r.word_fd) < 0))
      return "its answer fd is no socket";
   /* What the exec kept open is this process's alone from now on. */
   for (unsigned p = 0; in_place && p < VS_HAND_OVER_POOLS; p++) {
      for (unsigned f = 0; f < up->forkers[p].count; f++) {
         os_set_cloexec(up->forkers[p].forker[f].fd);
         if (up->forkers[p].forker[f].tie_fd >= 0)
            os_set_cloexec(up->forkers[p].forker[f].tie_fd);
      }
   }
   for (unsigned i = 0; in_place && i < r.tenants; i++) {
      int fds[VS_HAND_OVER_TENANT_FDS];
      const unsigned n = vs_tenant_record_fds(&up->adopted[i], fds);
      for (unsigned k = 0; k < n; k++)
         os_set_cloexec(fds[k]);
   }
   for (unsigned k = 0; k < up->scanout_count; k++) {
      os_set_cloexec(up->scanouts[k].framebuffer_fd);
      os_set_cloexec(up->scanouts[k].notify_fd);
   }
   if (up->display_hand_over && up->display_hand_over->http_fd >= 0)
      os_set_cloexec(up->display_hand_over->http_fd);
   up->in_place = in_place;
   t->old_pid = r.old_pid;
   t->asked_ns = r.asked_ns;
   t->tenants = r.tenants;
   t->word_fd = in_place ? -1 : r.word_fd;
   return NULL;
}

/* The sockets taken over, in words: "PATH" or "PATH, PATH". */
static void
socket_paths(const struct vs_upgrade_taken *t, char *out, size_t size)
{
   size_t used = 0;
   out[0] = '\0';
   for (unsigned k = 0; k < t->sockets && used < size; k++)
      used += (size_t)snprintf(out + used, size - used, "%s%s", k ? ", " : "", t->socket[k].path);
}

/* Listening on the sockets taken over: the old process may close its own. */
static void
upgrade_listening(void *data)
{
   struct vs_upgrade *up = data;
   if (up->taken && up->in_place) {
      const uint64_t now = os_now_ns();
      char paths[2 * VS_ACTIVATED_PATH_SIZE + 4];
      socket_paths(&up->from, paths, sizeof(paths));
      vs_info(0, "upgrade: took over %u tenants, their workers and %u listening socket%s (%s) in place in %llu ms; "
                 "their charges waited %llu ms", up->from.tenants, up->from.sockets, up->from.sockets == 1 ? "" : "s",
              paths, (unsigned long long)((now - up->from.asked_ns) / 1000000u),
              (unsigned long long)((now - up->frozen_ns) / 1000000u));
      return;
   }
   if (!up->taken || up->from.word_fd < 0)
      return;
   const char word = WORD_READY;
   const bool told = os_send_fds(up->from.word_fd, &word, 1, NULL, 0, 0) == 1;
   close(up->from.word_fd);
   up->from.word_fd = -1;
   const unsigned long long ms = (os_now_ns() - up->from.asked_ns) / 1000000u;
   if (told)
      vs_info(0, "upgrade: took over 0 tenants, 1 listening socket (%s) from pid %d in %llu ms; its %u client(s) "
                 "stay with it until they end", up->from.socket[0].path, (int)up->from.old_pid, ms, up->from.tenants);
   else
      vs_warn(0, "upgrade: took over the listening socket (%s), but pid %d did not hear it (%s); both serve it",
              up->from.socket[0].path, (int)up->from.old_pid, strerror(errno));
}

int
vs_upgrade_init(struct vs_upgrade *up, const struct vs_server_config *config, int asked_fd,
                struct vs_live_upgrade *hooks)
{
   *up = (struct vs_upgrade){ .config = config, .word_fd = -1, .from = { .word_fd = -1 } };
   for (unsigned k = 0; k < VS_HAND_OVER_SOCKETS; k++)
      up->from.socket[k].fd = -1;
   *hooks = (struct vs_live_upgrade){
      .asked_fd = asked_fd, .start = upgrade_start, .finish = upgrade_finish,
      .timeout_ms = TAKE_OVER_TIMEOUT_MS, .listening = upgrade_listening, .in_place = upgrade_in_place,
      .exec = upgrade_exec, .data = up,
   };
   if (config->upgrade_probe) {
      /* An old process asks whether this binary reads its hand-over. */
      const bool reads = config->upgrade_probe == RECORD_VERSION_IN_PLACE ||
                         config->upgrade_probe == RECORD_VERSION_IN_PLACE_V3 ||
                         config->upgrade_probe == RECORD_VERSION_IN_PLACE_V2;
      return reads ? VS_UPGRADE_PROBED : 1;
   }
   if (config->upgrade_fd < 0)
      return 0;
   char why[128];
   const char *refused = take(config->upgrade_fd, up, why, sizeof(why));
   if (refused) {
      vs_error(0, "upgrade: refusing the hand-over: %s", refused);
      return 1;
   }
   up->taken = true;
   if (up->in_place) {
      hooks->adopted = up->adopted;
      hooks->adopted_count = up->from.tenants;
      hooks->adopted_scanouts = up->scanouts;
      hooks->adopted_scanout_count = up->scanout_count;
      for (unsigned p = 0; p < VS_HAND_OVER_POOLS; p++)
         hooks->adopted_forkers[p] = up->forkers[p].count ? &up->forkers[p] : NULL;
   }
   return 0;
}

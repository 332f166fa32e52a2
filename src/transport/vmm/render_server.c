/* SPDX-License-Identifier: MIT */
/* The render server's client loop: the VMM's proxy on --socket-fd, one
 * worker per context (a thread; with --isolate process a forked process
 * that alone touches the host driver for that context; with --isolate
 * spawn such a process started afresh with posix_spawn). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ledger.h"
#include "context/context.h"
#include "renderer/device_snapshot.h"
#include "os/os.h"
#include "transport/vmm/render.h"
#include "transport/vmm/render_socket.h"
#include "transport/vmm/render_worker.h"
#include "base/log.h"
#include "worker/connection_lines.h"
#include "worker/hand_over.h"
#include "worker/placement.h"
#include "worker/start_ration.h"
#include "worker/tenant.h"
#include "worker/worker_link.h"
#include "worker/worker_pool.h"

struct worker {
   struct worker *next;
   struct server *server;
   uint32_t ctx_id;
   char name[32];
   int fd;            /* the worker's end of the context socket */
   pthread_t thread;
   _Atomic int pid;   /* process mode: the worker process, 0 before fork */
   atomic_bool killed; /* we ended it: its death is no news */
   bool destroyed;     /* DESTROY_CONTEXT/RESET seen: the id is free again */
   atomic_bool done;
   /* Its worker's, while its thread waits for that worker to end (under
    * the lock): what a live upgrade in place hands over. */
   struct vs_tenant *tenant;
   /* Taken over from the process before a live upgrade: its thread only
    * waits for its worker. */
   const struct vs_hand_over_tenant *adopted;
};

struct server {
   struct render_socket sock;
   const struct vs_context_options *options;
   const struct render_server_options *rs;
   enum vs_isolate isolate;
   uint32_t init_flags; /* the VMM's, from INIT */
   pthread_mutex_t lock;
   struct worker *workers;
   uint32_t live;
   struct os_event reap_event;
   struct os_worker_tie tie; /* spawn mode */
   struct vs_worker_pool *pool; /* process mode: rs->workers' */
   /* The VM's tenant recipe: one uid (the VMM's) for every context, its
    * worker starts rationed, its device memory charged to its accounts. */
   uid_t vmm_uid;
   struct vs_start_ration *starts;
   struct vs_ledger *ledger;
   /* A context costs the guest nothing: the lines of its creation and
    * refusal are bounded (worker/connection_lines.h). */
   struct vs_connection_lines context_lines;
   /* With a tenant: the budget of its contexts' lines, in shared memory
    * that every context worker maps (its lines_left); NULL otherwise. */
   _Atomic uint32_t *lines_left;
   int lines_fd;
};

/* A live upgrade's hold on a VM device's render server: `server` while
 * it runs; it parks (between two requests) while `park` is set. */
struct render_hand_over {
   pthread_mutex_t lock;
   pthread_cond_t changed;
   struct os_event asked;
   struct server *server;
   bool park, parked;
};

/* In the server process: a worker died warming up. The device snapshot
 * it may have warmed up from goes, lest every next worker die of it. */
static void
worker_prepare_died(void *data)
{
   const struct render_workers *workers = data;
   if (workers->options->renderer.device_snapshots)
      vs_device_snapshot_drop(workers->options->renderer.device_snapshots, -1);
}

/* A line about one context: with a tenant, only while its budget lasts
 * (then at debug level); its creation and end always at debug level. */
static enum vs_log_level
context_line_level(struct server *s, enum vs_log_level level)
{
   return !s->lines_left || vs_log_take_line(s->lines_left) ? level : VS_LOG_DEBUG;
}

extern char **environ;

/* Starts a worker as upstream virglrenderer does on macOS: the server's
 * own program, posix_spawn'ed with --worker-context-fd/-id/-init-flags/
 * -name (the context socket as fd 3), plus the server's options, its
 * ledger channel (fd 5) and what ties the worker to this process. -1 with
 * errno on failure. */
static pid_t
spawn_worker(void *data, int device_index, const int *fds, unsigned fd_count)
{
   (void)fd_count;
   struct worker *w = data;
   const int ledger_channel = fds[1];
   struct server *s = w->server;
   const struct render_server_options *rs = s->rs;
   char fd_arg[] = "3", tie_fd_arg[] = "4", ledger_fd_arg[] = "5", id[16], flags[16], pid[24], device[16];
   snprintf(device, sizeof(device), "%d", device_index);
   snprintf(id, sizeof(id), "%u", w->ctx_id);
   snprintf(flags, sizeof(flags), "%u", s->init_flags);
   snprintf(pid, sizeof(pid), "%ld", (long)getpid());
   const char *extra[] = {
      "--worker-context-fd", fd_arg, "--worker-context-id", id, "--worker-context-init-flags", flags,
      "--worker-context-name", w->name, "--stream-framing",
      render_framing_name(s->sock.framing == RENDER_FRAMING_SEQPACKET ? RENDER_FRAMING_AUTO : s->sock.framing),
      "--worker-ledger-fd", ledger_fd_arg, "--worker-server-pid", pid,
      /* Its placement (worker/placement.h), after the server's options. */
      "--device", device,
      s->tie.read_fd >= 0 ? "--worker-tie-fd" : NULL, tie_fd_arg, NULL,
   };
   const int n_extra = (int)(sizeof(extra) / sizeof(extra[0]));
   char **argv = calloc((size_t)rs->worker_arg_count + (size_t)n_extra + 2, sizeof(char *));
   /* Sources above fd 5, so that no dup2 clobbers another's. */
   int ctx_fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 10);
   int tie_fd = s->tie.read_fd >= 0 ? fcntl(s->tie.read_fd, F_DUPFD_CLOEXEC, 10) : -1;
   int ledger_fd = fcntl(ledger_channel, F_DUPFD_CLOEXEC, 10);
   posix_spawn_file_actions_t actions;
   int err = !argv || ctx_fd < 0 || ledger_fd < 0 || (s->tie.read_fd >= 0 && tie_fd < 0) ? errno ? errno : ENOMEM
             : posix_spawn_file_actions_init(&actions);
   pid_t child = -1;
   if (!err) {
      int a = 0;
      argv[a++] = (char *)rs->exec_path;
      for (int i = 0; i < rs->worker_arg_count; i++)
         argv[a++] = rs->worker_args[i];
      for (int i = 0; i < n_extra && extra[i]; i++) {
         if (device_index < 0 && !strcmp(extra[i], "--device"))
            i++;
         else
            argv[a++] = (char *)extra[i];
      }
      argv[a] = NULL;
      err = posix_spawn_file_actions_adddup2(&actions, ctx_fd, 3);
      if (!err)
         err = posix_spawn_file_actions_adddup2(&actions, ledger_fd, 5);
      if (!err && tie_fd >= 0)
         err = posix_spawn_file_actions_adddup2(&actions, tie_fd, 4);
      if (!err)
         err = posix_spawn(&child, rs->exec_path, &actions, NULL, argv, environ);
      posix_spawn_file_actions_destroy(&actions);
   }
   free(argv);
   if (ctx_fd >= 0)
      close(ctx_fd);
   if (tie_fd >= 0)
      close(tie_fd);
   if (ledger_fd >= 0)
      close(ledger_fd);
   errno = err;
   return err ? -1 : child;
}

/* A spawned worker is this process's child; a pooled one the forker's
 * (worker/forker.h). */
static void
kill_worker(struct server *s, pid_t pid)
{
   if (s->isolate == VS_ISOLATE_SPAWN)
      kill(pid, SIGKILL);
   else
      vs_worker_pool_kill(s->pool, pid);
}

static int
wait_worker(struct server *s, pid_t pid)
{
   if (s->isolate != VS_ISOLATE_SPAWN)
      return vs_worker_pool_wait(s->pool, pid);
   int status = 0;
   while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
   return status;
}

/* A context past the VM's worker starts waits for one (one line). */
static void
waits_for_start(void *data, uint32_t wait_ms)
{
   const struct worker *w = data;
   /* A VM device's guest makes contexts at will: a debug line. */
   if (vs_connection_lines_pass(&w->server->context_lines))
      vs_log(w->server->lines_left ? VS_LOG_DEBUG : VS_LOG_INFO, w->ctx_id,
             "context \"%s\": the VM has taken its worker processes for now (limit worker-starts-per-min=%u); it "
             "waits %u ms for one", w->name, vs_start_ration_per_min(w->server->starts), wait_ms);
}

/* A thread worker: the context on a thread of this process, charging the
 * VM's account straight. */
static void
serve_on_thread(struct worker *w)
{
   struct server *s = w->server;
   /* The worker gets its own copy: w->fd stays the server's, to shut
    * down, until the worker is reaped. */
   int fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
   struct vs_ledger_direct_port ledger;
   vs_ledger_direct_port_init(&ledger, fd >= 0 ? vs_ledger_open(s->ledger, (uint32_t)s->vmm_uid) : NULL);
   if (!ledger.account) {
      vs_error(w->ctx_id, "dropping context \"%s\": %s", w->name, fd < 0 ? strerror(errno) : "out of memory");
      if (fd >= 0)
         close(fd);
      return;
   }
   struct vs_context_options options = *s->options;
   options.renderer.ledger = &ledger.port;
   const int gpu = vs_placement_take(options.placement, s->vmm_uid);
   vs_placement_expose(options.placement, gpu, &options.renderer);
   vs_placement_announce(options.placement, gpu, "context", w->ctx_id, s->vmm_uid, getpid());
   render_context_serve(fd, w->ctx_id, w->name, &options, s->sock.framing);
   vs_placement_give_back(options.placement, gpu);
   vs_ledger_close(ledger.account);
}

/* Until the context's worker process has ended; all `tenant` held is
 * back then. */
static void
await_worker(struct worker *w, struct vs_tenant *tenant, struct vs_server_link *served)
{
   struct server *s = w->server;
   const pid_t pid = tenant->pid;
   atomic_store(&w->pid, pid);
   if (atomic_load(&w->killed))
      kill_worker(s, pid);
   pthread_mutex_lock(&s->lock);
   w->tenant = tenant;
   pthread_mutex_unlock(&s->lock);
   /* A link is only a pooled worker's. */
   int status = served ? vs_server_link_serve_worker(served, s->pool, pid) : wait_worker(s, pid);
   pthread_mutex_lock(&s->lock);
   w->tenant = NULL;
   pthread_mutex_unlock(&s->lock);
   vs_tenant_end(tenant);
   if (WIFSIGNALED(status) && !atomic_load(&w->killed))
      vs_log(context_line_level(s, VS_LOG_ERROR), w->ctx_id,
             "context \"%s\": worker process %d killed by signal %d; only this context is gone", w->name,
               (int)pid, WTERMSIG(status));
   else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      vs_log(context_line_level(s, VS_LOG_ERROR), w->ctx_id, "context \"%s\": worker process %d exited with status %d",
             w->name, (int)pid,
               WEXITSTATUS(status));
}

/* A worker process (pooled or spawned), once one of the VM's worker
 * starts is there; this thread waits for it, so it outlives it, as
 * os_worker_start's tie on Linux needs. */
static void
serve_in_process(struct worker *w)
{
   struct server *s = w->server;
   struct render_context_job job = { .ctx_id = w->ctx_id, .framing = s->sock.framing, .shared_lines = s->lines_left != NULL };
   memcpy(job.name, w->name, sizeof(job.name));
   /* A pooled worker whose memory the server reads (a display's registry)
    * gets a link to tell it over (worker/worker_link.h). */
   const struct vs_context_options *options = s->options;
   int link[2] = { -1, -1 };
   if (s->isolate == VS_ISOLATE_PROCESS && options->renderer.shared_registry && vs_link_pair(link) != 0)
      vs_error(w->ctx_id, "context \"%s\": no link to its worker (%s); its memory is not shown", w->name,
               strerror(errno));
   /* Open before the worker starts, which may send at once: its messages
    * wait in the socket until this thread serves the link. */
   struct vs_server_link *served =
      link[0] >= 0 ? vs_server_link_open(link[0], w->ctx_id, options->renderer.shared_registry, options->resource_table)
                   : NULL;
   /* Its account in the VM's share, over a channel this process serves;
    * one of the VM's worker starts first (worker/tenant.h). */
   int fds[4] = { w->fd, -1 };
   unsigned fd_count = 2;
   if (link[1] >= 0)
      fds[fd_count++] = link[1];
   if (s->lines_left)
      fds[fd_count++] = s->lines_fd;
   const struct vs_tenant_request request = {
      .pool = s->pool, .starts = s->starts, .placement = options->placement, .noun = "context",
      .ledger = s->ledger, .uid = s->vmm_uid, .ctx_id = w->ctx_id,
      .fds = fds, .fd_count = fd_count, .ledger_slot = 1, .job = &job, .job_size = sizeof(job),
      .waiting = waits_for_start, .spawn = s->isolate == VS_ISOLATE_SPAWN ? spawn_worker : NULL, .data = w,
   };
   struct vs_tenant tenant;
   int err;
   const enum vs_tenant_start started = vs_tenant_start(&request, &tenant, &err);
   if (link[1] >= 0)
      close(link[1]);
   if (started != VS_TENANT_STARTED)
      vs_server_link_close(served);
   if (started == VS_TENANT_LEFT) {
      if (vs_connection_lines_pass(&s->context_lines))
         vs_info(w->ctx_id, "context \"%s\" ended before its worker started", w->name);
      return;
   }
   if (started != VS_TENANT_STARTED) {
      const char *what = started == VS_TENANT_NO_LEDGER       ? "no ledger channel for its worker"
                         : s->isolate == VS_ISOLATE_SPAWN ? "cannot spawn its worker"
                                                          : "cannot start its worker";
      vs_error(w->ctx_id, "dropping context \"%s\": %s: %s", w->name, what, strerror(err));
      return;
   }
   vs_log(s->lines_left ? VS_LOG_DEBUG : VS_LOG_INFO, w->ctx_id, "context \"%s\" served by worker process %d",
          w->name, (int)tenant.pid);
   await_worker(w, &tenant, served);
}

/* A context taken over by a live upgrade in place: its worker serves it
 * already. */
static void
serve_adopted(struct worker *w)
{
   struct vs_tenant tenant;
   vs_tenant_adopt(w->adopted, w->server->options->placement, w->server->ledger, &tenant);
   await_worker(w, &tenant, NULL);
}

static void *
worker_thread(void *arg)
{
   struct worker *w = arg;
   char name[16];
   snprintf(name, sizeof(name), "vs-ctx-%u", w->ctx_id);
   os_thread_set_name(name);
   if (w->adopted)
      serve_adopted(w);
   else if (w->server->isolate == VS_ISOLATE_THREAD)
      serve_on_thread(w);
   else
      serve_in_process(w);
   atomic_store(&w->done, true);
   os_event_signal(&w->server->reap_event);
   return NULL;
}

/* Stops a worker: its socket is shut down (its loop ends, destroying its
 * context); a worker process is SIGKILLed as the stock server does. */
static void
worker_stop(struct worker *w)
{
   w->destroyed = true;
   atomic_store(&w->killed, true);
   if (w->fd >= 0)
      shutdown(w->fd, SHUT_RDWR);
   int pid = atomic_load(&w->pid);
   if (pid > 0)
      kill_worker(w->server, pid);
}

static void
reap_workers(struct server *s, bool all)
{
   pthread_mutex_lock(&s->lock);
   struct worker **link = &s->workers;
   struct worker *finished = NULL;
   while (*link) {
      struct worker *w = *link;
      if (all || atomic_load(&w->done)) {
         *link = w->next;
         w->next = finished;
         finished = w;
         if (!w->destroyed)
            s->live--;
      } else {
         link = &w->next;
      }
   }
   pthread_mutex_unlock(&s->lock);
   while (finished) {
      struct worker *w = finished;
      finished = w->next;
      pthread_join(w->thread, NULL);
      if (w->fd >= 0)
         close(w->fd);
      free(w);
   }
}

static void
stop_all(struct server *s)
{
   pthread_mutex_lock(&s->lock);
   for (struct worker *w = s->workers; w; w = w->next) {
      if (!w->destroyed) {
         worker_stop(w);
         s->live--;
      }
   }
   pthread_mutex_unlock(&s->lock);
}

static struct worker *
find_live(struct server *s, uint32_t ctx_id)
{
   for (struct worker *w = s->workers; w; w = w->next) {
      if (w->ctx_id == ctx_id && !w->destroyed)
         return w;
   }
   return NULL;
}

static const char *
isolate_name(enum vs_isolate isolate)
{
   return isolate == VS_ISOLATE_SPAWN ? "spawned process" : isolate == VS_ISOLATE_PROCESS ? "process" : "thread";
}

/* The name only labels logs: keep it printable. */
static void
sanitize_name(char *out, const char *in, size_t size)
{
   size_t n = 0;
   while (n < size - 1 && in[n]) {
      unsigned char c = (unsigned char)in[n];
      out[n] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
      n++;
   }
   out[n] = '\0';
}

static bool
send_create_reply(struct server *s, bool ok, int fd)
{
   const struct render_client_op_create_context_reply reply = { .ok = ok };
   int err = render_socket_send(&s->sock, &reply, sizeof(reply), ok ? &fd : NULL, ok ? 1 : 0);
   if (err) {
      vs_error(0, "render server: sending a CREATE_CONTEXT reply failed: %s", strerror(err));
      return false;
   }
   return true;
}

static bool
create_context(struct server *s, const struct render_client_op_create_context_request *req)
{
   char name[32];
   sanitize_name(name, req->ctx_name, sizeof(name));
   pthread_mutex_lock(&s->lock);
   const bool in_use = find_live(s, req->ctx_id) != NULL;
   const uint32_t live = s->live;
   pthread_mutex_unlock(&s->lock);
   if (in_use) {
      if (vs_connection_lines_pass(&s->context_lines))
         vs_error(req->ctx_id, "CREATE_CONTEXT \"%s\" refused: the id is in use", name);
      return send_create_reply(s, false, -1);
   }
   if (s->rs->max_contexts && live >= s->rs->max_contexts) {
      if (vs_connection_lines_pass(&s->context_lines))
         vs_error(req->ctx_id, "CREATE_CONTEXT \"%s\" refused: the VM holds %u contexts, the most (limit clients=%u)",
                  name, live, s->rs->max_contexts);
      return send_create_reply(s, false, -1);
   }

   int pair[2];
   struct worker *w = calloc(1, sizeof(*w));
   if (!w || socketpair(AF_UNIX, render_socket_type(&s->sock), 0, pair) != 0) {
      vs_error(req->ctx_id, "CREATE_CONTEXT \"%s\" refused: %s", name, w ? strerror(errno) : "out of memory");
      free(w);
      return send_create_reply(s, false, -1);
   }
   os_set_cloexec(pair[0]);
   os_set_cloexec(pair[1]);
   w->server = s;
   w->ctx_id = req->ctx_id;
   memcpy(w->name, name, sizeof(name));
   w->fd = pair[1];
   pthread_mutex_lock(&s->lock);
   int err = pthread_create(&w->thread, NULL, worker_thread, w);
   if (!err) {
      w->next = s->workers;
      s->workers = w;
      s->live++;
   }
   pthread_mutex_unlock(&s->lock);
   if (err) {
      vs_error(req->ctx_id, "CREATE_CONTEXT \"%s\" refused: cannot start its worker: %s", name, strerror(err));
      close(pair[0]);
      close(pair[1]);
      free(w);
      return send_create_reply(s, false, -1);
   }
   if (s->lines_left)
      vs_debug(req->ctx_id, "context \"%s\" created (%s worker)", name, isolate_name(s->isolate));
   else if (vs_connection_lines_pass(&s->context_lines))
      vs_info(req->ctx_id, "context \"%s\" created (%s worker)", name, isolate_name(s->isolate));
   bool ok = send_create_reply(s, true, pair[0]);
   close(pair[0]);
   return ok;
}

static void
destroy_context(struct server *s, uint32_t ctx_id)
{
   pthread_mutex_lock(&s->lock);
   struct worker *w = find_live(s, ctx_id);
   if (w) {
      worker_stop(w);
      s->live--;
   }
   pthread_mutex_unlock(&s->lock);
   if (!w)
      vs_debug(ctx_id, "DESTROY_CONTEXT of a context that is already gone");
}

static const char *const client_op_names[RENDER_CLIENT_OP_COUNT] = {
   "NOP", "INIT", "RESET", "CREATE_CONTEXT", "DESTROY_CONTEXT",
};
static const size_t client_op_sizes[RENDER_CLIENT_OP_COUNT] = {
   4, sizeof(struct render_client_op_init_request), 4, sizeof(struct render_client_op_create_context_request),
   sizeof(struct render_client_op_destroy_context_request),
};

/* Returns false when the proxy broke the protocol (logged once). */
static bool
handle(struct server *s, const void *buf, size_t size, int fd_count)
{
   uint32_t op = 0;
   if (size >= sizeof(op))
      memcpy(&op, buf, sizeof(op));
   if (size < sizeof(op) || op >= RENDER_CLIENT_OP_COUNT) {
      vs_error(0, "render server: unknown client op %u (%zu bytes); closing", op, size);
      return false;
   }
   if (size != client_op_sizes[op] || fd_count) {
      vs_error(0, "render server: %s of %zu bytes with %d fds, expected %zu and none; closing",
               client_op_names[op], size, fd_count, client_op_sizes[op]);
      return false;
   }
   switch (op) {
   case RENDER_CLIENT_OP_NOP:
      return true;
   case RENDER_CLIENT_OP_INIT: {
      const struct render_client_op_init_request *req = buf;
      if (!s->rs->tenant)
         vs_info(0, "render server: INIT, VMM flags 0x%x", req->flags);
      s->init_flags = req->flags;
      if (!(req->flags & RENDER_VMM_FLAG_VENUS))
         vs_warn(0, "render server: the VMM did not ask for Venus (flags 0x%x)", req->flags);
      return true;
   }
   case RENDER_CLIENT_OP_RESET:
      vs_info(0, "render server: RESET, destroying every context");
      stop_all(s);
      return true;
   case RENDER_CLIENT_OP_CREATE_CONTEXT:
      return create_context(s, buf);
   case RENDER_CLIENT_OP_DESTROY_CONTEXT: {
      const struct render_client_op_destroy_context_request *req = buf;
      destroy_context(s, req->ctx_id);
      return true;
   }
   }
   return false;
}

/* The line budget a live upgrade handed over: `fd` (taken on success). */
static bool
adopt_line_budget(struct server *s, int fd)
{
   s->lines_left = os_map_guarded(fd, os_page_size(), 0);
   if (!s->lines_left)
      return false;
   s->lines_fd = fd;
   return true;
}

/* The tenant's line budget: a page of shared memory, sealed, holding the
 * count every context worker takes its lines from. */
static bool
open_line_budget(struct server *s, uint32_t lines)
{
   const size_t page = os_page_size();
   s->lines_fd = os_shm_create("vs-context-lines", page);
   if (s->lines_fd < 0)
      return false;
   os_shm_seal_size(s->lines_fd);
   s->lines_left = os_map_guarded(s->lines_fd, page, 0);
   if (!s->lines_left) {
      close(s->lines_fd);
      s->lines_fd = -1;
      return false;
   }
   atomic_store(s->lines_left, lines);
   return true;
}

/* A context a live upgrade in place handed over: a thread that waits for
 * its worker (adopted by the pool already); its worker is ended when no
 * thread can be had. */
static void
adopt_context(struct server *s, const struct vs_hand_over_tenant *a)
{
   struct worker *w = calloc(1, sizeof(*w));
   if (w) {
      *w = (struct worker){ .server = s, .ctx_id = a->id, .fd = a->fd, .adopted = a };
      memcpy(w->name, a->name, sizeof(w->name));
      atomic_store(&w->pid, a->pid);
      pthread_mutex_lock(&s->lock);
      const int err = pthread_create(&w->thread, NULL, worker_thread, w);
      if (!err) {
         w->next = s->workers;
         s->workers = w;
         s->live++;
      }
      pthread_mutex_unlock(&s->lock);
      if (!err)
         return;
      errno = err;
   }
   vs_error(a->id, "upgrade: cannot take over context \"%s\" of worker process %d (%s); ending it", a->name,
            (int)a->pid, w ? strerror(errno) : "out of memory");
   free(w);
   kill_worker(s, a->pid);
   vs_tenant_drop(a);
}

/* On the server's thread, between two requests: parked while a live
 * upgrade holds it. */
static void
park(struct render_hand_over *h)
{
   pthread_mutex_lock(&h->lock);
   if (h->park) {
      h->parked = true;
      pthread_cond_broadcast(&h->changed);
      while (h->park)
         pthread_cond_wait(&h->changed, &h->lock);
      h->parked = false;
   }
   pthread_mutex_unlock(&h->lock);
}

struct render_hand_over *
render_hand_over_create(void)
{
   struct render_hand_over *h = calloc(1, sizeof(*h));
   if (!h)
      return NULL;
   if (os_event_init(&h->asked) < 0) {
      free(h);
      return NULL;
   }
   if (pthread_mutex_init(&h->lock, NULL) != 0 || os_cond_init(&h->changed) != 0) {
      os_event_fini(&h->asked);
      free(h);
      return NULL;
   }
   return h;
}

void
render_hand_over_destroy(struct render_hand_over *h)
{
   if (!h)
      return;
   os_event_fini(&h->asked);
   pthread_cond_destroy(&h->changed);
   pthread_mutex_destroy(&h->lock);
   free(h);
}

/* Under h->lock and the server's: its contexts each with a worker its
 * thread waits for, none starting or ending, and at most `max`. */
static bool
contexts_settled(const struct server *s, unsigned max)
{
   unsigned n = 0;
   for (const struct worker *w = s->workers; w; w = w->next) {
      if (atomic_load(&w->done))
         continue;
      if (w->destroyed || !w->tenant || ++n > max)
         return false;
   }
   return true;
}

static void
unpark(struct render_hand_over *h)
{
   h->park = false;
   pthread_cond_broadcast(&h->changed);
}

int
render_hand_over_freeze(struct render_hand_over *h, struct vs_hand_over_tenant *device,
                        struct vs_hand_over_tenant *contexts, unsigned max, unsigned wait_ms)
{
   pthread_mutex_lock(&h->lock);
   struct server *s = h->server;
   if (!s) {
      /* Its socket closed with it. */
      device->fd = -1;
      device->aux_fd = -1;
      pthread_mutex_unlock(&h->lock);
      return 0;
   }
   h->park = true;
   os_event_signal(&h->asked);
   const uint64_t deadline = os_now_ns() + (uint64_t)wait_ms * 1000000u;
   for (uint64_t now = os_now_ns(); !h->parked && h->server == s && now < deadline; now = os_now_ns())
      os_cond_timedwait_ns(&h->changed, &h->lock, deadline - now);
   if (!h->parked) {
      /* Ended meanwhile (its device's worker is ending: not settled
       * either), or busy. */
      unpark(h);
      pthread_mutex_unlock(&h->lock);
      return -1;
   }
   pthread_mutex_lock(&s->lock);
   if (!contexts_settled(s, max)) {
      pthread_mutex_unlock(&s->lock);
      unpark(h);
      pthread_mutex_unlock(&h->lock);
      return -1;
   }
   unsigned n = 0;
   for (struct worker *w = s->workers; w; w = w->next) {
      if (atomic_load(&w->done))
         continue;
      struct vs_hand_over_tenant *t = &contexts[n++];
      *t = (struct vs_hand_over_tenant){
         .kind = VS_HAND_OVER_VM_CONTEXT, .id = w->ctx_id, .uid = (uint32_t)s->vmm_uid,
         .device = s->rs->tenant->device_id, .pool = 1, .forker = vs_worker_pool_forker_of(s->pool, w->tenant->pid),
         .fd = w->fd, .activity_fd = -1, .aux_fd = -1, .checkpoint_fd = -1, .checkpoint_kept_fd = -1,
      };
      memcpy(t->name, w->name, sizeof(t->name));
      vs_tenant_hand_over(w->tenant, t);
   }
   pthread_mutex_unlock(&s->lock);
   device->init_flags = s->init_flags;
   device->aux_fd = s->lines_fd;
   /* Parked until the exec, or render_hand_over_thaw. */
   pthread_mutex_unlock(&h->lock);
   return (int)n;
}

void
render_hand_over_thaw(struct render_hand_over *h)
{
   pthread_mutex_lock(&h->lock);
   struct server *s = h->server;
   if (s && h->parked) {
      pthread_mutex_lock(&s->lock);
      for (struct worker *w = s->workers; w; w = w->next)
         if (!atomic_load(&w->done) && w->tenant)
            vs_tenant_resume(w->tenant);
      pthread_mutex_unlock(&s->lock);
   }
   unpark(h);
   pthread_mutex_unlock(&h->lock);
}

int
render_server_run(int fd, const struct vs_context_options *options, const struct render_server_options *rs)
{
   struct server s = { .options = options, .rs = rs, .isolate = rs->isolate };
   const char *why;
   if (!render_socket_init(&s.sock, fd, rs->stream_framing, &why)) {
      vs_error(0, "render server: --socket-fd %d is %s", fd, why);
      return 1;
   }
   if (s.isolate == VS_ISOLATE_PROCESS && !rs->workers) {
      vs_error(0, "render server: process isolation without its workers");
      return 1;
   }
   s.pool = s.isolate == VS_ISOLATE_PROCESS ? rs->workers->pool : NULL;
   /* Every context is the VM's: one uid, the VMM's (ours where the
    * socket does not say), or the tenant's that the caller names. */
   const struct render_tenant *tenant = rs->tenant;
   if (tenant)
      s.vmm_uid = tenant->uid;
   else if (os_peer_uid(fd, &s.vmm_uid) != 0)
      s.vmm_uid = getuid();
   struct vs_ledger_limits ledger_limits = { .scope = { 0 } };
   vs_memory_shares_apply(&rs->memory, &ledger_limits);
   s.starts = tenant ? tenant->starts : vs_start_ration_create(rs->worker_starts_per_min);
   s.ledger = tenant ? tenant->ledger : vs_ledger_create(&ledger_limits);
   if (!s.starts || !s.ledger || pthread_mutex_init(&s.lock, NULL) != 0 || os_event_init(&s.reap_event) < 0 ||
       (s.isolate == VS_ISOLATE_SPAWN && os_worker_tie_init(&s.tie) < 0)) {
      vs_error(0, "render server: cannot set up: %s", strerror(errno ? errno : ENOMEM));
      if (!tenant) {
         vs_start_ration_destroy(s.starts);
         vs_ledger_destroy(s.ledger);
      }
      return 1;
   }
   vs_connection_lines_init(&s.context_lines, "render server: ", "contexts");
   s.lines_fd = -1;
   if (tenant && tenant->lines_fd >= 0 && !adopt_line_budget(&s, tenant->lines_fd)) {
      vs_error(0, "vhost-user device %u: cannot map its contexts' line budget: %s", tenant->device_id,
               strerror(errno));
      close(tenant->lines_fd);
   }
   if (tenant && !s.lines_left && !open_line_budget(&s, tenant->context_lines)) {
      vs_error(0, "vhost-user device %u: no line budget for its contexts: %s", tenant->device_id, strerror(errno));
      vs_connection_lines_fini(&s.context_lines);
      os_event_fini(&s.reap_event);
      pthread_mutex_destroy(&s.lock);
      close(fd);
      return 1;
   }
   if (tenant) {
      vs_debug(0, "vhost-user device %u: its contexts' render server serves fd %d", tenant->device_id, fd);
   } else {
      vs_info(0, "render server: serving fd %d (%s framing, %s workers)", fd, render_framing_name(s.sock.framing),
              isolate_name(s.isolate));
      vs_info(0, "render server: the VM's contexts: %u at once (limit clients), %u worker starts a minute (limit "
                 "worker-starts-per-min)", rs->max_contexts, rs->worker_starts_per_min);
      vs_memory_shares_log("render server: the VM's ", &rs->memory);
   }

   if (tenant) {
      s.init_flags = tenant->init_flags;
      for (unsigned i = 0; i < tenant->adopted_count; i++)
         adopt_context(&s, &tenant->adopted[i]);
   }
   struct render_hand_over *hand_over = tenant ? tenant->hand_over : NULL;
   if (hand_over) {
      pthread_mutex_lock(&hand_over->lock);
      hand_over->server = &s;
      pthread_mutex_unlock(&hand_over->lock);
   }
   int rc = 0;
   for (;;) {
      struct pollfd pfds[3] = {
         { .fd = fd, .events = POLLIN },
         { .fd = s.reap_event.read_fd, .events = POLLIN },
         { .fd = hand_over ? hand_over->asked.read_fd : -1, .events = POLLIN },
      };
      if (poll(pfds, 3, -1) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "render server: poll: %s", strerror(errno));
         rc = 1;
         break;
      }
      if (pfds[1].revents) {
         os_event_drain(&s.reap_event);
         reap_workers(&s, false);
      }
      if (pfds[2].revents) {
         os_event_drain(&hand_over->asked);
         park(hand_over);
         continue;
      }
      if (!pfds[0].revents)
         continue;
      union {
         uint32_t op;
         uint64_t align;
         uint8_t bytes[RENDER_CLIENT_MAX_REQUEST];
      } buf;
      size_t size;
      int fds[RENDER_MAX_FDS], fd_count;
      char reason[160];
      const enum render_framing framing = s.sock.framing;
      enum render_recv_result r = render_socket_recv(&s.sock, &buf, sizeof(buf), &size, fds, &fd_count, reason,
                                                     sizeof(reason));
      if (framing != s.sock.framing)
         vs_info(0, "render server: the VMM speaks the %s stream framing", render_framing_name(s.sock.framing));
      if (r == RENDER_RECV_EOF) {
         if (!tenant)
            vs_info(0, "render server: the VMM closed the socket");
         break;
      }
      if (r == RENDER_RECV_ERROR) {
         vs_error(0, "render server: %s; closing", reason);
         rc = 1;
         break;
      }
      for (int i = 0; i < fd_count; i++)
         close(fds[i]);
      if (!handle(&s, &buf, size, fd_count)) {
         rc = 1;
         break;
      }
   }
   if (hand_over) {
      pthread_mutex_lock(&hand_over->lock);
      hand_over->server = NULL;
      pthread_cond_broadcast(&hand_over->changed);
      pthread_mutex_unlock(&hand_over->lock);
   }
   stop_all(&s);
   reap_workers(&s, true);
   vs_connection_lines_fini(&s.context_lines);
   if (s.lines_left) {
      os_unmap_guarded((void *)s.lines_left, os_page_size(), 0);
      close(s.lines_fd);
   }
   if (!tenant) {
      vs_ledger_destroy(s.ledger);
      vs_start_ration_destroy(s.starts);
   }
   if (s.isolate == VS_ISOLATE_SPAWN)
      os_worker_tie_fini(&s.tie);
   os_event_fini(&s.reap_event);
   pthread_mutex_destroy(&s.lock);
   close(fd);
   return rc;
}

struct render_workers *
render_workers_create(const struct vs_context_options *options, unsigned ready)
{
   struct render_workers *w = calloc(1, sizeof(*w));
   if (!w) {
      vs_error(0, "render server: cannot set up the worker processes: %s", strerror(errno));
      return NULL;
   }
   w->options = options;
   const struct vs_worker_pool_config pool = {
      .ready = ready,
      .gpus = vs_placement_gpu_count(options->placement),
      .placement = options->placement,
      .prepare = render_worker_prepare,
      .prepare_died = worker_prepare_died,
      .serve = render_worker_serve,
      .data = w,
      .name = "render",
   };
   w->pool = vs_worker_pool_create(&pool);
   if (!w->pool) {
      free(w);
      return NULL;
   }
   return w;
}

void
render_workers_destroy(struct render_workers *w)
{
   if (!w)
      return;
   vs_worker_pool_destroy(w->pool);
   free(w);
}

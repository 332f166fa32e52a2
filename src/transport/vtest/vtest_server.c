/* SPDX-License-Identifier: MIT */
#include "transport/vtest/vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"
#include "base/ledger.h"
#include "base/listen_socket.h"
#include "base/log.h"
#include "base/test_faults.h"
#include "context/context.h"
#include "renderer/device_snapshot.h"
#include "worker/activity.h"
#include "worker/checkpoint.h"
#include "transport/vtest/vtest_client.h"
#include "transport/vtest/vtest_protocol.h"
#include "transport/vtest/vtest_worker.h"
#include "worker/connection_lines.h"
#include "worker/ledger_channel.h"
#include "worker/start_ration.h"
#include "worker/placement.h"
#include "worker/tenant.h"
#include "worker/worker_link.h"
#include "worker/worker_pool.h"

/* How long accepting pauses when out of fds, in ms. */
#define ACCEPT_BACKOFF_MS 100

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare set SO_NOSIGPIPE on the hand-over socket */
#endif

struct client_thread {
   struct client_thread *next;
   struct server *server;
   pthread_t thread;
   int fd; /* -1 once the thread has closed it */
   uint32_t ctx_id;
   uid_t peer_uid;
   bool done;
   bool evicted; /* dropped idle to make room: its slot is the newcomer's */
   /* Gone past teardown-timeout-ms with its context still being torn
    * down: it no longer holds a slot (release_stuck_teardowns). */
   bool slot_released;
   uint64_t gone_ns; /* when its peer was first seen hung up; 0: not yet */
   pid_t worker;     /* its worker process; 0 in thread mode or until known */
   struct vs_activity *activity;
   int activity_fd; /* its shared memory, for a worker process to map */
   /* Its worker's, while the thread waits for that worker to end (under
    * the lock): what a live upgrade in place hands over. */
   struct vs_tenant *tenant;
   /* Taken over from the process before a live upgrade: its thread waits
    * for its worker first. */
   const struct vs_hand_over_tenant *adopted;
   /* The server's end of its worker's hand-over socket (-1: none), under
    * the lock: what a live upgrade carries for it. */
   int hand_over_fd;
   /* Its worker's checkpoints (--worker-checkpoints), while the thread
    * waits for that worker (under the lock): a live upgrade carries them. */
   struct vs_checkpoint_keeper *keeper;
};

struct server {
   pthread_mutex_t lock;
   struct client_thread *clients;
   uint32_t active;            /* client threads not yet done, under lock */
   uint64_t refused;           /* clients refused over the cap */
   struct vtest_server_limits limits;
   /* What clients hold of the pools they share (base/ledger.h): this
    * process's alone, charged by worker processes over their channels. */
   struct vs_ledger *ledger;
   struct os_event reap_event; /* a client thread finished */
   uint32_t next_ctx_id;
   const struct vs_context_options *options;
   struct vtest_server_setup setup;
   struct vs_worker_pool *pool; /* setup.workers' */
   /* Without workers, the one tenant: its uid, once known. */
   bool tenant_known;
   uid_t tenant_uid;
   /* With workers: each uid's worker starts. */
   struct vs_start_ration *starts;
   /* The lines connections cause. */
   struct vs_connection_lines connection_lines;
   /* A live upgrade under way: the fd its word comes on (-1: none), and
    * when it is late; handed_over once the new process took the socket. */
   int upgrade_word_fd;
   uint64_t upgrade_deadline_ns;
   bool handed_over;
   const char *socket_path;
   /* Signalled while a live upgrade holds the checkpoint keepers. */
   struct os_event park;
};

/* In the server process: a worker died warming up. The device snapshot
 * it may have warmed up from goes, lest every next worker die of it. */
static void
worker_prepare_died(void *data)
{
   const struct vtest_workers *workers = data;
   if (workers->options->renderer.device_snapshots)
      vs_device_snapshot_drop(workers->options->renderer.device_snapshots, -1);
}

/* A client past its uid's worker starts waits for one (one line). */
static void
client_waits_for_start(void *data, uint32_t wait_ms)
{
   const struct client_thread *ct = data;
   vs_info(ct->ctx_id, "uid %u has taken its worker processes for now (limit worker-starts-per-min=%u); the client "
                       "waits %u ms for one", (unsigned)ct->peer_uid, ct->server->limits.worker_starts_per_min,
           wait_ms);
}

/* Whether the client's socket still holds a peer: a client gone, or
 * disconnected by a stop, is not restored. */
static bool
client_connected(const struct client_thread *ct)
{
   struct pollfd pfd = { .fd = ct->fd, .events = POLLIN };
   return poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* Its worker process started (or taken over): waits for its end, which
 * is its exit status. A worker killed while the server kept a checkpoint
 * of its client leaves it in *checkpoint (else -1) for the next. */
static int
await_worker(struct client_thread *ct, struct vs_tenant *tenant, struct vs_server_link *served,
             struct vs_checkpoint_keeper *keeper, int *checkpoint)
{
   struct server *server = ct->server;
   const pid_t pid = tenant->pid;
   pthread_mutex_lock(&server->lock);
   ct->worker = pid;
   ct->tenant = served ? NULL : tenant;
   ct->keeper = keeper;
   pthread_mutex_unlock(&server->lock);
   int status = served ? vs_server_link_serve_worker(served, server->pool, pid)
                       : vs_worker_pool_wait(server->pool, pid);
   pthread_mutex_lock(&server->lock);
   ct->tenant = NULL;
   ct->keeper = NULL;
   bool ended_stuck = ct->slot_released; /* reported when it was ended */
   pthread_mutex_unlock(&server->lock);
   uint64_t age_ns = 0;
   *checkpoint = keeper ? vs_checkpoint_keeper_finish(keeper, &age_ns) : -1;
   const bool killed = WIFSIGNALED(status) && !ended_stuck;
   if (*checkpoint >= 0 && (!killed || !client_connected(ct))) {
      close(*checkpoint);
      *checkpoint = -1;
   }
   if (WIFEXITED(status) && WEXITSTATUS(status) == VS_WORKER_EXIT_HANDED_OVER)
      vs_info(ct->ctx_id, "client worker process %d handed the client over", (int)pid);
   else if (WIFEXITED(status) && WEXITSTATUS(status) == VS_WORKER_EXIT_ABANDONED)
      vs_info(ct->ctx_id, "client worker process %d exited, ending the host work it lost its device to", (int)pid);
   else if (killed && *checkpoint >= 0)
      vs_warn(ct->ctx_id, "client worker process %d killed by signal %d; the client is restored from its checkpoint "
              "of %.1f s ago in a fresh worker", (int)pid, WTERMSIG(status), (double)age_ns / 1e9);
   else if (killed)
      vs_error(ct->ctx_id, "client worker process %d killed by signal %d; only this client is gone", (int)pid,
               WTERMSIG(status));
   /* Whatever the worker held of the shared pools is back by now. */
   vs_tenant_end(tenant);
   return status;
}

static void
client_done(struct client_thread *ct)
{
   struct server *server = ct->server;
   /* Closed under the lock so that shutdown never hits a reused fd. */
   pthread_mutex_lock(&server->lock);
   close(ct->fd);
   ct->fd = -1;
   ct->done = true;
   if (!ct->slot_released)
      server->active--;
   pthread_mutex_unlock(&server->lock);
   os_event_signal(&server->reap_event);
}

/* The worker's job: its client, then, as the flags say, the socket it
 * hands the client over on (the server keeps the other end, which the
 * next worker reads the snapshot from), the snapshot, and its link to
 * this process when a display reads its memory (worker/worker_link.h). */
static enum vs_tenant_start
start_worker(struct client_thread *ct, struct vs_tenant *tenant, int *err, int hand_over, int snapshot,
             int link, int checkpoint, int gpu, bool asked)
{
   struct server *server = ct->server;
   struct vtest_client_job job = { .ctx_id = ct->ctx_id };
   int fds[7] = { ct->fd, ct->activity_fd, -1 };
   unsigned n = 3;
   if (hand_over >= 0) {
      job.flags |= VTEST_JOB_HAND_OVER;
      fds[n++] = hand_over;
   }
   if (snapshot >= 0) {
      job.flags |= VTEST_JOB_SNAPSHOT;
      fds[n++] = snapshot;
   }
   if (link >= 0) {
      job.flags |= VTEST_JOB_LINK;
      fds[n++] = link;
   }
   if (checkpoint >= 0) {
      job.flags |= VTEST_JOB_CHECKPOINT;
      fds[n++] = checkpoint;
   }
   /* Its account in this process's ledger, over a channel of its own;
    * one of its uid's worker starts first (worker/tenant.h), unless this
    * server asked for the hand-over: a worker handing its client over at
    * will (its guest may own it) takes starts as new clients do. A worker
    * that takes over a handed client serves on its GPU: it is the same
    * tenant, whose guest read that GPU. */
   const struct vs_tenant_request request = {
      .pool = server->pool, .starts = asked ? NULL : server->starts,
      .placement = server->options->placement, .noun = "client", .same_gpu = snapshot >= 0, .gpu = gpu,
      .ledger = server->ledger, .uid = ct->peer_uid,
      .ctx_id = ct->ctx_id, .fds = fds, .fd_count = n, .ledger_slot = 2, .job = &job, .job_size = sizeof(job),
      .waiting = client_waits_for_start, .data = ct,
   };
   return vs_tenant_start(&request, tenant, err);
}

/* A hand-over socket: [0] the server keeps, [1] the worker's. Only where a
 * context may be handed over (--upgrade-workers, the test switch's
 * :worker). */
static void
hand_over_pair(struct client_thread *ct, int pair[2])
{
   pair[0] = pair[1] = -1;
   if (!ct->server->options->journal && !vs_test_faults.restore_worker)
      return;
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 || os_socket_prepare(pair[0]) != 0 ||
       os_socket_prepare(pair[1]) != 0) {
      vs_warn(ct->ctx_id, "no hand-over socket for the client's worker (%s): it stays in that worker",
              strerror(errno));
      if (pair[0] >= 0) {
         close(pair[0]);
         close(pair[1]);
      }
      pair[0] = pair[1] = -1;
   }
}

/* The server's end of the client's hand-over socket, where a live
 * upgrade finds it. */
static void
set_hand_over_fd(struct client_thread *ct, int fd)
{
   pthread_mutex_lock(&ct->server->lock);
   ct->hand_over_fd = fd;
   pthread_mutex_unlock(&ct->server->lock);
}

/* Whether the worker that ended with `status` handed the client over:
 * then the snapshot waits in the socket for the next worker (*snapshot),
 * and the next worker gets a hand-over socket of its own (pair). */
static bool
handed_over(struct client_thread *ct, int status, int pair[2], int *snapshot)
{
   if (pair[0] < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != VS_WORKER_EXIT_HANDED_OVER)
      return false;
   /* The old socket is the snapshot's from now on: no upgrade carries it. */
   *snapshot = pair[0];
   hand_over_pair(ct, pair);
   set_hand_over_fd(ct, pair[0]);
   return true;
}

/* A worker killed while the server kept a checkpoint of its client: the
 * next one restores it (*snapshot), with a hand-over socket of its own. */
static bool
restore_checkpoint(struct client_thread *ct, int checkpoint, int pair[2], int *snapshot)
{
   if (checkpoint < 0)
      return false;
   *snapshot = checkpoint;
   set_hand_over_fd(ct, -1);
   if (pair[0] >= 0)
      close(pair[0]);
   hand_over_pair(ct, pair);
   set_hand_over_fd(ct, pair[0]);
   return true;
}

/* The GPU the next worker of a handed client serves on: its own, or under
 * the test switch's :move another of the same model (one line either way). */
static int
next_gpu(const struct client_thread *ct, int gpu)
{
   if (!vs_test_faults.restore_move)
      return gpu;
   struct vs_placement *placement = ct->server->options->placement;
   const int target = vs_placement_move_target(placement, gpu, ct->peer_uid);
   if (target < 0) {
      vs_info(ct->ctx_id, "hand-over: no other GPU of its GPU's model to move to; the client stays on it");
      return gpu;
   }
   vs_info(ct->ctx_id, "hand-over: the client moves from GPU %d to GPU %d", vs_placement_device_index(placement, gpu),
           vs_placement_device_index(placement, target));
   return target;
}

static void
finish_hand_over(struct client_thread *ct, int fd)
{
   set_hand_over_fd(ct, -1);
   if (fd >= 0)
      close(fd);
}

/* How long a live upgrade's hand-over waits for a prepared worker. */
#define HAND_OVER_PREPARED_WAIT_MS 10000

/* A live upgrade took the client over: its worker, of the binary before,
 * is asked to hand it to a fresh one of this binary. */
static void
ask_to_move(struct client_thread *ct, int fd)
{
   const char ask = 'm';
   if (send(fd, &ask, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
      vs_info(ct->ctx_id, "upgrade: worker process %d asked to hand the client to a worker of the new binary",
              (int)ct->worker);
   else
      vs_warn(ct->ctx_id, "upgrade: cannot ask worker process %d to hand the client over (%s); it stays there",
              (int)ct->worker, strerror(errno));
}

/* A client a live upgrade took over: its worker's checkpoints, kept on
 * from where the process before left them (NULL: none). */
static struct vs_checkpoint_keeper *
adopt_keeper(struct client_thread *ct, struct vs_checkpoint_keeper *keeper)
{
   const struct vs_hand_over_tenant *a = ct->adopted;
   if (a->checkpoint_fd < 0)
      return NULL;
   if (!ct->server->options->checkpoint_quiet_ms) {
      /* This binary keeps none: the worker finds its socket closed. */
      close(a->checkpoint_fd);
      if (a->checkpoint_kept_fd >= 0)
         close(a->checkpoint_kept_fd);
      return NULL;
   }
   if (vs_checkpoint_keeper_start(keeper, a->checkpoint_fd, ct->ctx_id, a->checkpoint_kept_fd, a->checkpoint_age_ns,
                                  ct->server->park.read_fd))
      return keeper;
   vs_warn(ct->ctx_id, "upgrade: no thread to keep the client's checkpoints (%s); if its worker dies, the client is "
                       "gone", strerror(errno));
   return NULL;
}

/* The client's workers, one after another: each that hands the client
 * over is followed by a fresh one reading its snapshot. A client a live
 * upgrade took over starts with its worker of the binary before, which is
 * asked to hand it to one of this binary's. */
static void
serve_by_workers(struct client_thread *ct)
{
   struct server *server = ct->server;
   int pair[2] = { -1, -1 }, snapshot = -1, gpu = -1;
   bool asked = false;
   struct vs_tenant tenant;
   if (ct->adopted) {
      vs_tenant_adopt(ct->adopted, server->options->placement, server->ledger, &tenant);
      pair[0] = ct->hand_over_fd;
      /* The new pool's first workers are still warming up: the client
       * pauses for a prepared worker's restore, not a cold one's host
       * driver start. */
      if (pair[0] >= 0) {
         vs_worker_pool_await_prepared(server->pool, HAND_OVER_PREPARED_WAIT_MS);
         ask_to_move(ct, pair[0]);
         asked = true;
      }
      gpu = tenant.gpu; /* the end gives it back */
      struct vs_checkpoint_keeper keeper, *kept = adopt_keeper(ct, &keeper);
      int checkpoint;
      const int status = await_worker(ct, &tenant, NULL, kept, &checkpoint);
      if (!handed_over(ct, status, pair, &snapshot) && !restore_checkpoint(ct, checkpoint, pair, &snapshot)) {
         finish_hand_over(ct, pair[0]);
         return;
      }
   } else {
      hand_over_pair(ct, pair);
      set_hand_over_fd(ct, pair[0]);
   }
   /* With a display, each worker has a link to tell this process of its
    * memory (worker/worker_link.h): a worker taking a handed client over
    * tells it of the same memory again, by the same inodes. */
   struct vs_shared_registry *registry = server->options->renderer.shared_registry;
   for (;; asked = false) {
      int link[2] = { -1, -1 };
      if (registry && vs_link_pair(link) != 0)
         vs_error(ct->ctx_id, "no link to the client's worker (%s); the display cannot show its memory",
                  strerror(errno));
      struct vs_server_link *served =
         link[0] >= 0 ? vs_server_link_open(link[0], ct->ctx_id, registry, NULL) : NULL;
      int checkpoints[2] = { -1, -1 };
      if (server->options->checkpoint_quiet_ms && vs_checkpoint_pair(checkpoints) != 0)
         vs_warn(ct->ctx_id, "no checkpoint socket for the client's worker (%s); if it dies, the client is gone",
                 strerror(errno));
      int err;
      const enum vs_tenant_start started =
         start_worker(ct, &tenant, &err, pair[1], snapshot, served ? link[1] : -1, checkpoints[1], gpu, asked);
      if (checkpoints[1] >= 0)
         close(checkpoints[1]);
      struct vs_checkpoint_keeper keeper, *kept = NULL;
      if (checkpoints[0] >= 0 && started == VS_TENANT_STARTED) {
         if (vs_checkpoint_keeper_start(&keeper, checkpoints[0], ct->ctx_id, -1, 0, server->park.read_fd))
            kept = &keeper;
         else
            vs_warn(ct->ctx_id, "no thread to keep the client's checkpoints (%s); if its worker dies, the client is "
                    "gone", strerror(errno));
      } else if (checkpoints[0] >= 0) {
         close(checkpoints[0]);
      }
      if (link[1] >= 0)
         close(link[1]);
      if (pair[1] >= 0)
         close(pair[1]);
      if (snapshot >= 0)
         close(snapshot);
      snapshot = -1;
      if (started != VS_TENANT_STARTED)
         vs_server_link_close(served);
      if (started == VS_TENANT_NO_LEDGER) {
         vs_error(ct->ctx_id, "dropping client: no ledger channel for its worker: %s", strerror(err));
      } else if (started == VS_TENANT_LEFT) {
         if (vs_connection_lines_pass(&server->connection_lines))
            vs_info(ct->ctx_id, "client left before its first message; no worker process served it");
      } else if (started == VS_TENANT_NO_WORKER) {
         vs_error(ct->ctx_id, "dropping client: no worker process for it: %s", strerror(err));
      } else {
         vs_info(ct->ctx_id, "client served by worker process %d", (int)tenant.pid);
         gpu = tenant.gpu;
         int checkpoint;
         const int status = await_worker(ct, &tenant, served, kept, &checkpoint);
         if (handed_over(ct, status, pair, &snapshot)) {
            gpu = next_gpu(ct, gpu);
            continue;
         }
         if (restore_checkpoint(ct, checkpoint, pair, &snapshot))
            continue;
      }
      break;
   }
   finish_hand_over(ct, pair[0]);
}

static void *
client_main(void *arg)
{
   struct client_thread *ct = arg;
   struct server *server = ct->server;
   char name[16];
   snprintf(name, sizeof(name), "vs-client-%u", ct->ctx_id);
   os_thread_set_name(name);

   if (!server->pool) {
      struct vs_ledger_direct_port ledger;
      vs_ledger_direct_port_init(&ledger, vs_ledger_open(server->ledger, (uint32_t)ct->peer_uid));
      if (!ledger.account) {
         vs_error(ct->ctx_id, "dropping client: out of memory for its ledger account");
      } else {
         const struct vtest_client_limits limits = vtest_client_limits_of(&server->limits, &ledger.port, ct->activity);
         struct vs_context_options options = *server->options;
         options.renderer.ledger = &ledger.port;
         const int gpu = vs_placement_take(options.placement, ct->peer_uid);
         vs_placement_expose(options.placement, gpu, &options.renderer);
         vs_placement_announce(options.placement, gpu, "client", ct->ctx_id, ct->peer_uid, getpid());
         vtest_client_serve_limited(ct->fd, ct->ctx_id, &options, &limits, NULL);
         vs_placement_give_back(options.placement, gpu);
         vs_ledger_close(ledger.account);
      }
   } else {
      /* The client's worker process, from the pool; this thread waits
       * for it, and for each next one it hands the client to. */
      serve_by_workers(ct);
   }
   client_done(ct);
   return NULL;
}

/* A client taken over by a live upgrade in place: its worker serves it
 * already; this thread answers its ledger channel and waits. */
static void *
adopted_main(void *arg)
{
   struct client_thread *ct = arg;
   char name[16];
   snprintf(name, sizeof(name), "vs-client-%u", ct->ctx_id);
   os_thread_set_name(name);
   serve_by_workers(ct);
   client_done(ct);
   return NULL;
}

/* A client that hung up while its context is still being torn down past
 * teardown-timeout-ms (a host driver stuck in a destroy, or in a wait no
 * slice can leave) holds no slot any more, so its uid's later clients are
 * served; reported once. A worker process is ended, and its host work
 * with it; a thread cannot be, and is left to finish. Under the lock. */
static void
release_stuck_teardowns(struct server *server)
{
   const uint64_t now = os_now_ns(), limit = (uint64_t)server->limits.teardown_timeout_ms * 1000000u;
   for (struct client_thread *ct = server->clients; ct; ct = ct->next) {
      if (ct->done || ct->slot_released || ct->fd < 0)
         continue;
      /* A hung-up socket reports POLLHUP even with requests unread. */
      struct pollfd pfd = { .fd = ct->fd, .events = 0 };
      if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLHUP | POLLERR)))
         continue;
      if (!ct->gone_ns)
         ct->gone_ns = now;
      if (now - ct->gone_ns < limit)
         continue;
      ct->slot_released = true;
      server->active--;
      const unsigned long long gone_s = (now - ct->gone_ns) / 1000000000u;
      if (ct->worker > 0) {
         vs_error(ct->ctx_id, "client gone %llu s ago and its worker process %d still tearing its context down "
                              "(limit teardown-timeout-ms=%u); ending the process, its slot is free",
                  gone_s, (int)ct->worker, server->limits.teardown_timeout_ms);
         vs_worker_pool_kill(server->pool, ct->worker);
      } else {
         vs_error(ct->ctx_id, "client gone %llu s ago and its context still being torn down (limit "
                              "teardown-timeout-ms=%u; stuck in the host driver?); its slot is free, its "
                              "thread left to finish", gone_s, server->limits.teardown_timeout_ms);
      }
   }
}

/* Joins finished client threads (all of them when `all`). */
static void
reap_clients(struct server *server, bool all)
{
   struct client_thread *finished = NULL;

   pthread_mutex_lock(&server->lock);
   struct client_thread **link = &server->clients;
   while (*link) {
      struct client_thread *ct = *link;
      if (all || ct->done) {
         *link = ct->next;
         ct->next = finished;
         finished = ct;
      } else {
         link = &ct->next;
      }
   }
   pthread_mutex_unlock(&server->lock);

   while (finished) {
      struct client_thread *ct = finished;
      finished = ct->next;
      pthread_join(ct->thread, NULL);
      vs_activity_destroy(ct->activity);
      close(ct->activity_fd);
      free(ct);
   }
}

/* Under the lock, slots full: drops uid's client idle longest past
 * idle-timeout-ms (worker/activity.h), whose slot the newcomer then takes. */
static bool
evict_idle(struct server *server, uid_t uid, bool server_full)
{
   const uint64_t now = os_now_ns(), min_idle = (uint64_t)server->limits.idle_timeout_ms * 1000000u;
   struct client_thread *victim = NULL;
   uint64_t victim_idle = 0;
   for (struct client_thread *ct = server->clients; min_idle && ct; ct = ct->next) {
      if (ct->done || ct->evicted || ct->slot_released || ct->peer_uid != uid || ct->fd < 0)
         continue;
      uint64_t idle = vs_activity_idle_ns(ct->activity, now);
      if (idle >= min_idle && idle > victim_idle) {
         victim = ct;
         victim_idle = idle;
      }
   }
   if (!victim)
      return false;
   if (server_full)
      vs_error(victim->ctx_id, "dropping client: idle for %llu s while the server's slots are full (limit clients=%u)",
               (unsigned long long)(victim_idle / 1000000000u), server->limits.clients);
   else
      vs_error(victim->ctx_id, "dropping client: idle for %llu s while uid %u's slots are full (limit "
               "clients-per-peer=%u)", (unsigned long long)(victim_idle / 1000000000u), (unsigned)uid,
               server->limits.clients_per_peer);
   /* Its thread (or worker) sees the end of the stream and ends the session. */
   victim->evicted = true;
   shutdown(victim->fd, SHUT_RDWR);
   return true;
}

static void
start_client(struct server *server, int fd)
{
   /* Over the cap: refuse at once (the client sees its connection close)
    * rather than queue it behind the others. One peer (uid) may not hold
    * every slot: clients-per-peer of them, the rest stay for other users. */
   uid_t uid = 0;
   bool known = os_peer_uid(fd, &uid) == 0;
   pthread_mutex_lock(&server->lock);
   uint32_t active = server->active, of_peer = 0;
   for (struct client_thread *ct = server->clients; known && ct; ct = ct->next)
      of_peer += !ct->done && !ct->evicted && !ct->slot_released && ct->peer_uid == uid;
   /* Threads share one address space: a second tenant could reach the
    * first one's memory through device addresses (docs/security.md). */
   bool foreign = false;
   if (!server->pool) {
      if (!server->tenant_known && known) {
         server->tenant_known = true;
         server->tenant_uid = uid;
      }
      foreign = !known || uid != server->tenant_uid;
   }
   bool full = server->limits.clients && active >= server->limits.clients;
   bool peer_full = known && server->limits.clients_per_peer && of_peer >= server->limits.clients_per_peer;
   if (!foreign && (full || peer_full) && known && evict_idle(server, uid, full && !peer_full))
      full = peer_full = false;
   if (foreign || full || peer_full)
      server->refused++;
   else
      server->active++;
   pthread_mutex_unlock(&server->lock);
   const bool told = (foreign || full || peer_full) && vs_connection_lines_pass(&server->connection_lines);
   if (foreign) {
      if (told)
         vs_warn(0, "refusing client: uid %d is not this server's tenant (uid %u): --isolate thread serves one "
                    "trusted tenant",
                 known ? (int)uid : -1, (unsigned)server->tenant_uid);
      close(fd);
      return;
   }
   if (full) {
      if (told)
         vs_warn(0, "refusing client: %u clients connected (limit clients=%u)", active, server->limits.clients);
      close(fd);
      return;
   }
   if (peer_full) {
      if (told)
         vs_warn(0, "refusing client: uid %u holds %u connections (limit clients-per-peer=%u)", (unsigned)uid,
                 of_peer, server->limits.clients_per_peer);
      close(fd);
      return;
   }

   struct client_thread *ct = calloc(1, sizeof(*ct));
   int activity_fd = -1;
   struct vs_activity *activity = ct ? vs_activity_create(&activity_fd) : NULL;
   if (!activity) {
      vs_error(0, "out of memory accepting a client");
      free(ct);
      close(fd);
      pthread_mutex_lock(&server->lock);
      server->active--;
      pthread_mutex_unlock(&server->lock);
      return;
   }
   ct->server = server;
   ct->activity = activity;
   ct->activity_fd = activity_fd;
   ct->hand_over_fd = -1;
   ct->fd = fd;
   ct->peer_uid = known ? uid : (uid_t)-1;
   ct->ctx_id = server->next_ctx_id++;
   if (server->next_ctx_id == 0)
      server->next_ctx_id = 1;

   if (vs_connection_lines_pass(&server->connection_lines))
      vs_info(ct->ctx_id, "client connected");

   pthread_mutex_lock(&server->lock);
   ct->next = server->clients;
   server->clients = ct;
   int err = pthread_create(&ct->thread, NULL, client_main, ct);
   if (err != 0) {
      server->clients = ct->next;
      server->active--;
   }
   pthread_mutex_unlock(&server->lock);

   if (err != 0) {
      vs_error(ct->ctx_id, "dropping client: cannot start its thread: %s", strerror(err));
      close(fd);
      vs_activity_destroy(ct->activity);
      close(ct->activity_fd);
      free(ct);
   }
}

/* Returns false when accepting should pause (out of fds or memory). */
static bool
accept_client(struct server *server, int listen_fd)
{
   int fd = accept(listen_fd, NULL, NULL);
   if (fd < 0) {
      switch (errno) {
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
         return true;
      case EMFILE:
      case ENFILE:
         vs_warn(0, "accept: %s (out of fds); pausing new connections for %d ms", strerror(errno),
                 ACCEPT_BACKOFF_MS);
         return false;
      default:
         vs_warn(0, "accept: %s; pausing new connections", strerror(errno));
         return false;
      }
   }
   /* Accepted sockets inherit O_NONBLOCK on some systems; clients block.
    * A client that vanishes mid-reply must not raise SIGPIPE: the process's
    * signal dispositions are not ours to rely on. */
   if (os_set_cloexec(fd) < 0 || os_set_nonblocking(fd, false) < 0 || os_socket_prepare(fd) < 0) {
      vs_error(0, "setting up a new client socket: %s", strerror(errno));
      close(fd);
      return true;
   }
   start_client(server, fd);
   return true;
}

/* How often clients' teardowns are looked at while any is connected. */
#define TEARDOWN_WATCH_MS 1000

/* Clients connected, each holding a slot. */
static unsigned
tenant_count(struct server *server)
{
   pthread_mutex_lock(&server->lock);
   const unsigned active = server->active;
   pthread_mutex_unlock(&server->lock);
   return active;
}

/* An upgrade was asked for: the new process starts while this one goes
 * on accepting. */
static void
upgrade_start(struct server *server, int listen_fd)
{
   const struct vs_live_upgrade *up = server->setup.upgrade;
   const struct vs_hand_over_offer offer = {
      .sockets = 1,
      .socket[0] = { .fd = listen_fd, .path = server->socket_path,
                     .owns_file = server->setup.activated_fd <= 0 || server->setup.owns_socket_file },
      .tenants = tenant_count(server),
   };
   const int fd = up->start(up->data, &offer);
   if (fd >= 0 && server->upgrade_word_fd < 0) {
      server->upgrade_word_fd = fd;
      server->upgrade_deadline_ns = os_now_ns() + (uint64_t)up->timeout_ms * 1000000u;
   }
}

/* Under the lock: the clients not done, each with a running worker that
 * its thread waits for (and none starting or ending), or -1. */
static int
settled_clients(struct server *server)
{
   unsigned n = 0;
   for (struct client_thread *ct = server->clients; ct; ct = ct->next) {
      if (ct->done)
         continue;
      if (!ct->tenant)
         return -1;
      n++;
   }
   return n == vs_worker_pool_awaiting(server->pool) ? (int)n : -1;
}

/* With worker processes: the upgrade runs the new binary in this process
 * (server/upgrade.h); the running clients' workers go on serving them,
 * while their charges wait. Returns when it could not (one line said
 * why), everything thawed. */
static void
upgrade_in_place(struct server *server, int listen_fd)
{
   const struct vs_live_upgrade *up = server->setup.upgrade;
   if (up->in_place(up->data) != 0)
      return;
   const uint64_t frozen_ns = os_now_ns();
   struct vs_worker_pool_forkers forkers;
   vs_worker_pool_freeze(server->pool, &forkers);
   /* No worker's exit is read from now on: a client whose worker ended
    * before is let finish, one still starting is waited for. */
   int count = -1;
   for (;;) {
      pthread_mutex_lock(&server->lock);
      count = settled_clients(server);
      pthread_mutex_unlock(&server->lock);
      if (count >= 0 || os_now_ns() - frozen_ns > VS_HAND_OVER_SETTLE_MS * 1000000ull)
         break;
      struct pollfd pfd = { .fd = server->reap_event.read_fd, .events = POLLIN };
      if (poll(&pfd, 1, 20) > 0)
         os_event_drain(&server->reap_event);
      reap_clients(server, false);
   }
   struct vs_hand_over_tenant *running = count > 0 ? calloc((size_t)count, sizeof(*running)) : NULL;
   if (count < 0 || (count > 0 && !running)) {
      if (count < 0)
         vs_warn(0, "upgrade refused: a client was still starting or ending %u ms after the upgrade was asked for; "
                    "this process goes on serving (ask again)", VS_HAND_OVER_SETTLE_MS);
      else
         vs_warn(0, "upgrade refused: out of memory listing the clients; this process goes on serving");
      vs_worker_pool_thaw(server->pool);
      return;
   }
   /* Each client's ledger channel parked between two messages, and its
    * checkpoints' keeper between two notes. */
   os_event_signal(&server->park);
   unsigned i = 0;
   pthread_mutex_lock(&server->lock);
   for (struct client_thread *ct = server->clients; ct && i < (unsigned)count; ct = ct->next) {
      if (ct->done)
         continue;
      struct vs_hand_over_tenant *t = &running[i++];
      *t = (struct vs_hand_over_tenant){
         .kind = VS_HAND_OVER_CLIENT, .id = ct->ctx_id, .uid = (uint32_t)ct->peer_uid, .fd = ct->fd,
         .activity_fd = ct->activity_fd, .vmm = 0, .aux_fd = ct->hand_over_fd,
         .forker = vs_worker_pool_forker_of(server->pool, ct->worker), .checkpoint_fd = -1,
         .checkpoint_kept_fd = -1,
      };
      vs_tenant_hand_over(ct->tenant, t);
      /* Its checkpoints' keeper stops between two notes; the rest waits
       * in the socket for the new binary's. */
      if (ct->keeper) {
         int kept = -1;
         vs_checkpoint_keeper_park(ct->keeper, &t->checkpoint_fd, &kept, &t->checkpoint_age_ns);
         t->checkpoint_kept_fd = t->checkpoint_fd >= 0 ? kept : -1;
      }
   }
   const struct vs_hand_over_offer offer = {
      .sockets = 1,
      .socket[0] = { .fd = listen_fd, .path = server->socket_path,
                     .owns_file = server->setup.activated_fd <= 0 || server->setup.owns_socket_file },
      .tenants = (unsigned)count, .running = running, .forkers = { &forkers }, .frozen_ns = frozen_ns,
   };
   up->exec(up->data, &offer);
   os_event_drain(&server->park);
   for (struct client_thread *ct = server->clients; ct; ct = ct->next) {
      if (ct->done)
         continue;
      vs_tenant_resume(ct->tenant);
      if (ct->keeper && !vs_checkpoint_keeper_resume(ct->keeper))
         vs_warn(ct->ctx_id, "no thread to keep the client's checkpoints (%s); if its worker dies, the client is "
                             "gone", strerror(errno));
   }
   pthread_mutex_unlock(&server->lock);
   free(running);
   vs_worker_pool_thaw(server->pool);
}

/* Started by a live upgrade in place: a thread per running client. */
static void
adopt_clients(struct server *server)
{
   const struct vs_live_upgrade *up = server->setup.upgrade;
   const unsigned n = up->adopted_count;
   pid_t *pids = calloc(n, sizeof(*pids));
   uid_t *uids = calloc(n, sizeof(*uids));
   unsigned *forker_of = calloc(n, sizeof(*forker_of));
   const bool listed = pids && uids && forker_of;
   for (unsigned i = 0; listed && i < n; i++) {
      pids[i] = up->adopted[i].pid;
      uids[i] = (uid_t)up->adopted[i].uid;
      forker_of[i] = up->adopted[i].forker;
   }
   /* Out of memory: no worker is adopted, and each forker, ended, ends
    * its workers. */
   vs_worker_pool_adopt(server->pool, up->adopted_forkers[0], pids, uids, forker_of, listed ? n : 0);
   free(pids);
   free(uids);
   free(forker_of);
   for (unsigned i = 0; i < n; i++) {
      const struct vs_hand_over_tenant *a = &up->adopted[i];
      if (!listed || a->kind != VS_HAND_OVER_CLIENT) {
         vs_error(a->id, "upgrade: %s the tenant of worker process %d; it ends",
                  listed ? "a vtest server cannot take over" : "out of memory taking over", (int)a->pid);
         if (listed)
            vs_worker_pool_kill(server->pool, a->pid);
         vs_tenant_drop(a);
         continue;
      }
      struct client_thread *ct = calloc(1, sizeof(*ct));
      struct vs_activity *activity = ct ? vs_activity_map(a->activity_fd) : NULL;
      if (a->id >= server->next_ctx_id)
         server->next_ctx_id = a->id + 1 ? a->id + 1 : 1;
      if (activity) {
         *ct = (struct client_thread){ .server = server, .fd = a->fd, .ctx_id = a->id,
                                       .peer_uid = (uid_t)a->uid, .worker = a->pid, .activity = activity,
                                       .activity_fd = a->activity_fd, .adopted = a, .hand_over_fd = a->aux_fd };
         pthread_mutex_lock(&server->lock);
         ct->next = server->clients;
         server->clients = ct;
         server->active++;
         if (pthread_create(&ct->thread, NULL, adopted_main, ct) == 0) {
            pthread_mutex_unlock(&server->lock);
            continue;
         }
         server->clients = ct->next;
         server->active--;
         pthread_mutex_unlock(&server->lock);
         vs_activity_destroy(activity);
      }
      vs_error(a->id, "upgrade: cannot take over the client of worker process %d (%s); ending it", (int)a->pid,
               strerror(errno ? errno : ENOMEM));
      vs_worker_pool_kill(server->pool, a->pid);
      free(ct);
      vs_tenant_drop(a);
   }
}

/* The new process's word came, or it is late. */
static void
upgrade_finish(struct server *server, int *listen_fd, enum vs_upgrade_end end)
{
   const struct vs_live_upgrade *up = server->setup.upgrade;
   server->upgrade_word_fd = -1;
   if (!up->finish(up->data, end, tenant_count(server)))
      return;
   /* The socket is the new process's now: connections waiting to be
    * accepted are its own. */
   close(*listen_fd);
   *listen_fd = -1;
   server->handed_over = true;
}

/* Until stopped (returns false), or handed over with no client left
 * (returns true). */
static bool
accept_loop(struct server *server, int *listen_fd_io)
{
   bool backoff = false;
   uint64_t watched_ns = 0;
   const struct vs_live_upgrade *up = server->setup.upgrade;
   for (;;) {
      const int listen_fd = *listen_fd_io;
      if (server->handed_over) {
         reap_clients(server, false);
         pthread_mutex_lock(&server->lock);
         const bool none = server->clients == NULL;
         pthread_mutex_unlock(&server->lock);
         if (none)
            return true;
      }
      int timeout_ms = backoff ? ACCEPT_BACKOFF_MS : -1;
      if (server->upgrade_word_fd >= 0) {
         const uint64_t now = os_now_ns();
         const uint64_t left_ms =
            now < server->upgrade_deadline_ns ? (server->upgrade_deadline_ns - now) / 1000000u + 1 : 0;
         if (timeout_ms < 0 || left_ms < (uint64_t)timeout_ms)
            timeout_ms = (int)left_ms;
      }
      if (server->limits.teardown_timeout_ms) {
         pthread_mutex_lock(&server->lock);
         const uint64_t now = os_now_ns();
         if (server->clients && now - watched_ns >= TEARDOWN_WATCH_MS * 1000000ull) {
            release_stuck_teardowns(server);
            watched_ns = now;
         }
         if (server->clients && timeout_ms < 0)
            timeout_ms = TEARDOWN_WATCH_MS;
         pthread_mutex_unlock(&server->lock);
      }
      struct pollfd pfds[5] = {
         { .fd = server->setup.stop_fd, .events = POLLIN },
         { .fd = backoff ? -1 : listen_fd, .events = POLLIN },
         { .fd = server->reap_event.read_fd, .events = POLLIN },
         { .fd = up ? up->asked_fd : -1, .events = POLLIN },
         { .fd = server->upgrade_word_fd, .events = POLLIN },
      };
      int ret = poll(pfds, 5, timeout_ms);
      if (ret < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "poll: %s", strerror(errno));
         return false;
      }
      if (pfds[0].revents)
         return false;
      backoff = false;
      if (pfds[2].revents) {
         os_event_drain(&server->reap_event);
         reap_clients(server, false);
      }
      if (pfds[1].revents & POLLIN)
         backoff = !accept_client(server, listen_fd);
      if (pfds[3].revents && server->pool && up->in_place)
         upgrade_in_place(server, listen_fd);
      else if (pfds[3].revents)
         upgrade_start(server, listen_fd);
      if (server->upgrade_word_fd >= 0 && (pfds[4].revents || os_now_ns() >= server->upgrade_deadline_ns))
         upgrade_finish(server, listen_fd_io, pfds[4].revents ? VS_UPGRADE_WORD : VS_UPGRADE_LATE);
   }
}

/* Disconnects every client and joins the threads that finish within
 * VTEST_STOP_TIMEOUT_MS. False if some did not (the rest stay listed). */
static bool
stop_clients(struct server *server)
{
   pthread_mutex_lock(&server->lock);
   for (struct client_thread *ct = server->clients; ct; ct = ct->next) {
      if (ct->fd >= 0)
         shutdown(ct->fd, SHUT_RDWR);
   }
   pthread_mutex_unlock(&server->lock);
   const uint64_t deadline = os_now_ns() + VTEST_STOP_TIMEOUT_MS * 1000000ull;
   for (;;) {
      reap_clients(server, false);
      unsigned left = 0;
      pthread_mutex_lock(&server->lock);
      for (struct client_thread *ct = server->clients; ct; ct = ct->next)
         left++;
      pthread_mutex_unlock(&server->lock);
      if (!left)
         return true;
      uint64_t now = os_now_ns();
      if (now >= deadline) {
         vs_error(0, "%u client thread(s) still busy %d s after shutdown began (stuck in the host "
                     "driver?); exiting without them", left, VTEST_STOP_TIMEOUT_MS / 1000);
         return false;
      }
      struct pollfd pfd = { .fd = server->reap_event.read_fd, .events = POLLIN };
      int ms = (int)((deadline - now) / 1000000ull) + 1;
      if (poll(&pfd, 1, ms) > 0)
         os_event_drain(&server->reap_event);
   }
}

/* The machine's RAM; 0 where the system does not say. */
void
vtest_server_limits_default(struct vtest_server_limits *limits)
{
   *limits = (struct vtest_server_limits){
      /* Each client is a thread, a host VkDevice and its fds. */
      .clients = 32,
      /* Mesa writes a whole message at once: seconds mean a stalled peer. */
      .message_timeout_ms = 10000,
      /* Mesa submits its first commands (vkCreateInstance) right after the
       * handshake: a connection that sent none for this long only holds a
       * slot. */
      .work_timeout_ms = 30000,
      /* One user cannot lock the others out; a single-user host (all
       * clients of one uid) keeps 24 of its 32 slots. */
      .clients_per_peer = 24,
      /* Past this, an idle client gives its slot to a newcomer of its uid
       * when that uid's slots are full (worker/activity.h). */
      .idle_timeout_ms = 60000,
      /* Past gpu-timeout-ms's 30 s, after which a context's waits end. */
      .teardown_timeout_ms = 60000,
      /* A warm-up costs lavapipe about a quarter of a CPU second: one
       * uid's connections cost the host at most half a CPU, past a burst
       * of 30 at once (more than a uid's slots). */
      .worker_starts_per_min = 120,
      /* The largest SUBMIT_CMD2 the protocol allows... */
      .partial_bytes = (uint64_t)VTEST_MAX_SUBMIT_WORDS * 4,
      /* ...but not 32 of them at once. */
      .partial_total_bytes = 256ull << 20,
      .partial_per_peer_bytes = 128ull << 20,
      .memory_per_peer = vs_memory_shares_default(),
   };
}

int
vtest_server_run_limited(const char *socket_path, const struct vs_context_options *options,
                         const struct vtest_server_limits *limits, const struct vtest_server_setup *setup)
{
   struct stat socket_file;
   const struct stat *identity = NULL;
   int listen_fd = setup->activated_fd;
   if (listen_fd <= 0) {
      listen_fd = vs_listen_socket_open(socket_path, &socket_file);
      identity = &socket_file;
   } else if (setup->owns_socket_file && stat(socket_path, &socket_file) == 0) {
      identity = &socket_file;
   }
   if (listen_fd < 0)
      return 1;

   struct server server = { .clients = NULL, .next_ctx_id = 1, .options = options, .limits = *limits,
                            .setup = *setup, .pool = setup->workers ? setup->workers->pool : NULL,
                            .upgrade_word_fd = -1, .socket_path = socket_path };
   struct vs_ledger_limits ledger_limits = {
      .scope = { [VS_LEDGER_BUFFERED] = limits->partial_total_bytes },
      .account = { [VS_LEDGER_BUFFERED] = limits->partial_bytes },
      .peer = { [VS_LEDGER_BUFFERED] = limits->partial_per_peer_bytes },
   };
   vs_memory_shares_apply(&limits->memory_per_peer, &ledger_limits);
   server.ledger = vs_ledger_create(&ledger_limits);
   server.starts = vs_start_ration_create(limits->worker_starts_per_min);
   vs_connection_lines_init(&server.connection_lines, "", "clients");
   int err = server.ledger && server.starts ? pthread_mutex_init(&server.lock, NULL) : ENOMEM;
   bool event = err == 0 && os_event_init(&server.reap_event) == 0;
   if (event && os_event_init(&server.park) != 0) {
      os_event_fini(&server.reap_event);
      event = false;
   }
   if (!event) {
      vs_error(0, "cannot set up the server: %s", strerror(err ? err : errno));
      if (err == 0)
         pthread_mutex_destroy(&server.lock);
      vs_ledger_destroy(server.ledger);
      vs_start_ration_destroy(server.starts);
      vs_connection_lines_fini(&server.connection_lines);
      close(listen_fd);
      vs_listen_socket_remove(socket_path, identity);
      return 1;
   }

   vs_memory_shares_log("memory: ", &limits->memory_per_peer);
   if (setup->upgrade && setup->upgrade->adopted_forkers[0] && server.pool)
      adopt_clients(&server);
   printf("venus-server: listening on %s\n", socket_path);
   fflush(stdout);
   if (setup->upgrade && setup->upgrade->listening)
      setup->upgrade->listening(setup->upgrade->data);

   const bool drained = accept_loop(&server, &listen_fd);
   if (server.upgrade_word_fd >= 0)
      setup->upgrade->finish(setup->upgrade->data, VS_UPGRADE_STOPPING, 0);

   vs_info(0, drained ? "last client gone since the upgrade: exiting" : "shutting down");
   if (listen_fd >= 0)
      close(listen_fd);
   /* Handed over, the socket's file is the new process's. */
   if (server.handed_over)
      identity = NULL;
   if (!stop_clients(&server)) {
      /* Their threads still use the server's lock and events. */
      vs_listen_socket_remove(socket_path, identity);
      return VTEST_SERVER_ABANDONED;
   }
   vs_listen_socket_remove(socket_path, identity);
   os_event_fini(&server.reap_event);
   os_event_fini(&server.park);
   pthread_mutex_destroy(&server.lock);
   vs_ledger_destroy(server.ledger);
   vs_start_ration_destroy(server.starts);
   vs_connection_lines_fini(&server.connection_lines);
   return 0;
}

struct vtest_workers *
vtest_workers_create(const struct vs_context_options *options, const struct vtest_server_limits *limits,
                     unsigned ready)
{
   struct vtest_workers *w = calloc(1, sizeof(*w));
   if (!w) {
      vs_error(0, "cannot set up the worker processes: %s", strerror(errno));
      return NULL;
   }
   w->options = options;
   w->limits = *limits;
   const struct vs_worker_pool_config pool = {
      .ready = ready,
      .gpus = vs_placement_gpu_count(options->placement),
      .placement = options->placement,
      .prepare = vtest_worker_prepare,
      .prepare_died = worker_prepare_died,
      .claim = vtest_worker_claim,
      .serve = vtest_worker_serve,
      .data = w,
      .name = "vtest",
   };
   w->pool = vs_worker_pool_create(&pool);
   if (!w->pool) {
      free(w);
      return NULL;
   }
   return w;
}

void
vtest_workers_destroy(struct vtest_workers *w)
{
   if (!w)
      return;
   vs_worker_pool_destroy(w->pool);
   free(w);
}

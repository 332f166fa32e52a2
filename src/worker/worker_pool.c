/* SPDX-License-Identifier: MIT */
#include "worker/worker_pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "worker/forker.h"
#include "worker/placement.h"
#include "worker/shader_cache.h"

/* A worker forked and not yet handed a job. */
struct idle_worker {
   struct idle_worker *next;
   pid_t pid;
   int ctl;    /* the pool's end of the worker's control socket */
   bool cold;  /* started for a waiting job: serves at once, unprepared */
   bool ready; /* prepared (or cold): its ready byte arrived */
   int gpu;    /* the host GPU it was prepared for; -1: every one (or cold) */
};

/* An idle worker whose socket closed, and the GPU it was prepared for. */
struct idle_dead {
   pid_t pid;
   int gpu;
};

/* A worker's exit, reported by the forker, until its waiter takes it. */
struct worker_exit {
   struct worker_exit *next;
   pid_t pid;
   int status;
   bool idle; /* it died before it had a job: the pool logs it */
};

/* A caller told of a worker's exit (vs_worker_pool_watch_exit). */
struct exit_watch {
   struct exit_watch *next;
   pid_t pid;
   struct os_event *exited;
};

/* A forker adopted at a live upgrade, until its last worker has ended. */
struct adopted_forker {
   struct vs_forker *forker;
   int tie_fd;
   pid_t *pids; /* its workers still running */
   unsigned count;
};
#define ADOPTED_MAX (VS_WORKER_POOL_FORKERS_MAX - 1)

struct vs_worker_pool {
   struct vs_worker_pool_config config;
   struct os_worker_tie tie; /* the forker's to the server */
   struct vs_forker *forker;
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t changed; /* a worker was added or got ready, a start failed, an exit came, or stopping */
   struct os_event wake;   /* the pool thread's: demand changed, ctl fds to close */
   /* Under lock: */
   struct idle_worker *idle;
   unsigned idle_count;
   unsigned waiting;   /* callers waiting for a worker */
   unsigned awaiting;  /* callers in vs_worker_pool_wait with no exit yet */
   int start_error;    /* errno of the last failed start; 0 once one starts */
   bool stopping;
   bool frozen;        /* for a live upgrade: the pool thread stops */
   bool forker_gone;   /* every worker went with it */
   struct adopted_forker adopted[ADOPTED_MAX];
   unsigned adopted_count;
   unsigned lent_warm; /* prepared workers handed a job, not yet claimed */
   unsigned lent_gpu[VS_WORKER_GPUS_MAX]; /* the same, per GPU they were prepared for */
   int *retired;       /* ctl fds of workers handed out, closed by the pool thread */
   unsigned retired_count, retired_cap;
   struct worker_exit *exits;  /* reported, not yet taken */
   struct exit_watch *watches; /* running workers whose exit a caller awaits */
   struct idle_dead *idle_dead; /* idle workers whose socket closed, exit not yet reported */
   unsigned idle_dead_count, idle_dead_cap;
   /* The pool thread's: deaths before a job delay the next start. */
   unsigned backoff_ms;    /* 0: none */
   uint64_t next_start_ns; /* no prepared worker starts before this */
};

/* A worker that died before its job is replaced after this, doubled for
 * each such death in a row, up to the most: a warm-up that crashes
 * every time (a host driver bug, shared state that kills it) costs a
 * few restarts, not the host's CPUs. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MOST_MS 30000

/* A worker's answer to its job (config.claim), after its ready byte. */
enum { CLAIMED = 's', UNCLAIMED = 'u' };

/* The exit status of a prepared worker whose GPU gave it no device
 * (config.prepare). */
#define EXIT_GPU_LOST 4

/* The job on the control socket: its size, then its bytes; the tenant's
 * socket rides on the first byte. */
struct job_message {
   uint32_t size;
   int32_t gpu; /* the host GPU the tenant is placed on; -1: every one */
   uint8_t bytes[VS_WORKER_JOB_MAX];
};

_Static_assert(VS_WORKER_FDS_MAX <= OS_FDS_MAX, "a job's fds go in one os_send_fds");

static bool
send_job(int ctl, int gpu, const int *fds, unsigned fd_count, const void *job, size_t size)
{
   struct job_message m = { .size = (uint32_t)size, .gpu = gpu };
   memcpy(m.bytes, job, size);
   const size_t len = offsetof(struct job_message, bytes) + size;
   return os_send_fds(ctl, &m, len, fds, fd_count, 0) == (ssize_t)len;
}

/* In the worker: the job and its fds, or false (the pool closed the
 * control socket: no job is coming). */
static bool
receive_job(int ctl, struct job_message *m, int *fds, unsigned *fd_count)
{
   *fd_count = 0;
   size_t got = 0;
   bool excess = false; /* more fds than a job has: closed */
   for (;;) {
      ssize_t n = os_recv_fds(ctl, (uint8_t *)m + got, sizeof(*m) - got, fds, VS_WORKER_FDS_MAX, fd_count, &excess);
      if (n <= 0)
         break;
      got += (size_t)n;
      if (got >= offsetof(struct job_message, bytes) &&
          (m->size > VS_WORKER_JOB_MAX || got >= offsetof(struct job_message, bytes) + m->size))
         break;
   }
   bool whole = !excess && *fd_count > 0 && got >= offsetof(struct job_message, bytes) && m->size <= VS_WORKER_JOB_MAX &&
                got == offsetof(struct job_message, bytes) + m->size;
   if (!whole) {
      for (unsigned i = 0; i < *fd_count; i++)
         close(fds[i]);
   }
   return whole;
}

/* A new worker, forked by the forker, its tie made: the pool's memory is
 * the forker's copy, made when the pool was created. */
static void
worker_main(int ctl, bool cold, int gpu, void *data)
{
   struct vs_worker_pool *pool = data;
   vs_placement_worker_set(gpu);
   if (pool->config.prepare && !cold && !pool->config.prepare(pool->config.data) && gpu >= 0)
      _exit(EXIT_GPU_LOST);
   /* A cold worker may have its job already: the caller waiting for its
    * answer skips the ready byte (read_answer). A pool gone meanwhile
    * closed its end: the byte is for nobody then. */
   const char ready = 'r';
   signal(SIGPIPE, SIG_IGN);
   if (write(ctl, &ready, 1) != 1 && errno != EPIPE)
      _exit(0);
   signal(SIGPIPE, SIG_DFL);
   struct job_message m;
   int fds[VS_WORKER_FDS_MAX];
   unsigned fd_count;
   for (;;) {
      if (!receive_job(ctl, &m, fds, &fd_count))
         _exit(0);
      const bool claimed =
         !pool->config.claim || pool->config.claim(fds, fd_count, m.bytes, m.size, pool->config.data);
      const char answer = claimed ? CLAIMED : UNCLAIMED;
      if (write(ctl, &answer, 1) != 1 && !claimed)
         _exit(0);
      if (claimed)
         break;
      for (unsigned i = 0; i < fd_count; i++)
         close(fds[i]);
   }
   close(ctl);
   /* The pool checked it against its GPUs; -1 (none) is every GPU. */
   vs_placement_worker_set(m.gpu);
   _exit(pool->config.serve(fds, fd_count, m.bytes, m.size, pool->config.data));
}

/* The pool thread: an idle worker's socket closed, it is dying. Idle
 * workers die only of their own accord (a host driver that aborts in its
 * warm-up, shared state the warm-up read, an OOM kill): what they read
 * goes, and the pool replaces them, later each time. */
static void
idle_dying(struct vs_worker_pool *pool)
{
   if (pool->config.prepare_died)
      pool->config.prepare_died(pool->config.data);
   pool->backoff_ms = pool->backoff_ms ? pool->backoff_ms * 2 : BACKOFF_FIRST_MS;
   if (pool->backoff_ms > BACKOFF_MOST_MS)
      pool->backoff_ms = BACKOFF_MOST_MS;
   pool->next_start_ns = os_now_ns() + (uint64_t)pool->backoff_ms * 1000000u;
}

/* The pool thread: an idle worker's exit, once reported (idle_dying came
 * first); it was prepared for `gpu`. A GPU that gave no device is the
 * placement's to say. */
static void
idle_death(struct vs_worker_pool *pool, pid_t pid, int gpu, int status)
{
   if (gpu >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_GPU_LOST)
      vs_placement_gpu_lost(pool->config.placement, gpu);
   else if (WIFSIGNALED(status))
      vs_warn(0, "%s worker pool: worker process %d killed by signal %d before it had a tenant; replacing it in "
                 "%u ms", pool->config.name, (int)pid, WTERMSIG(status), pool->backoff_ms);
   else
      vs_warn(0, "%s worker pool: worker process %d exited (status %d) before it had a tenant; replacing it in "
                 "%u ms", pool->config.name, (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              pool->backoff_ms);
}

/* Under lock: the idle_dead entry of `pid`, taken (its GPU in `gpu`);
 * false if none. */
static bool
take_idle_dead(struct vs_worker_pool *pool, pid_t pid, int *gpu)
{
   for (unsigned i = 0; i < pool->idle_dead_count; i++)
      if (pool->idle_dead[i].pid == pid) {
         *gpu = pool->idle_dead[i].gpu;
         pool->idle_dead[i] = pool->idle_dead[--pool->idle_dead_count];
         return true;
      }
   return false;
}

/* Under lock: the reported exit of `pid`, taken; NULL if none yet. */
static struct worker_exit *
take_exit(struct vs_worker_pool *pool, pid_t pid)
{
   for (struct worker_exit **link = &pool->exits; *link; link = &(*link)->next)
      if ((*link)->pid == pid) {
         struct worker_exit *e = *link;
         *link = e->next;
         return e;
      }
   return NULL;
}

/* Under lock: forgets the watches of `pid` (of every pid when 0), having
 * signalled them if `signal`. */
static void
end_watches(struct vs_worker_pool *pool, pid_t pid, bool signal)
{
   for (struct exit_watch **link = &pool->watches; *link;) {
      struct exit_watch *w = *link;
      if (pid && w->pid != pid) {
         link = &w->next;
         continue;
      }
      *link = w->next;
      if (signal)
         os_event_signal(w->exited);
      free(w);
   }
}

/* The forker reported a worker's exit (the pool thread). */
static void
on_worker_exit(pid_t pid, int status, void *data)
{
   struct vs_worker_pool *pool = data;
   pthread_mutex_lock(&pool->lock);
   int gpu = -1;
   bool idle = take_idle_dead(pool, pid, &gpu);
   struct worker_exit *e = idle ? NULL : calloc(1, sizeof(*e));
   if (e) {
      *e = (struct worker_exit){ .next = pool->exits, .pid = pid, .status = status };
      pool->exits = e;
      pthread_cond_broadcast(&pool->changed);
   }
   if (!idle)
      end_watches(pool, pid, true);
   pthread_mutex_unlock(&pool->lock);
   if (idle) {
      vs_shader_cache_return(pid);
      idle_death(pool, pid, gpu, status);
   }
   else if (!e)
      vs_error(0, "%s worker pool: out of memory: the exit of worker process %d is lost", pool->config.name, (int)pid);
}

/* Under lock: the adopted forker running worker `pid`; -1 if none. */
static int
adopted_of(const struct vs_worker_pool *pool, pid_t pid)
{
   for (unsigned i = 0; i < pool->adopted_count; i++)
      for (unsigned k = 0; k < pool->adopted[i].count; k++)
         if (pool->adopted[i].pids[k] == pid)
            return (int)i;
   return -1;
}

/* An adopted forker reported an exit (the pool thread): one of the
 * workers it kept, or an idle one ended before the upgrade (nobody's). */
static void
on_adopted_exit(pid_t pid, int status, void *data)
{
   struct vs_worker_pool *pool = data;
   pthread_mutex_lock(&pool->lock);
   const int i = adopted_of(pool, pid);
   if (i >= 0) {
      struct adopted_forker *a = &pool->adopted[i];
      for (unsigned k = 0; k < a->count; k++)
         if (a->pids[k] == pid)
            a->pids[k] = a->pids[--a->count];
   }
   pthread_mutex_unlock(&pool->lock);
   if (i >= 0)
      on_worker_exit(pid, status, pool);
}

/* The pool thread: adopted forkers with no worker left (or gone) end. */
static void
end_adopted(struct vs_worker_pool *pool, const bool *gone)
{
   struct adopted_forker ended[ADOPTED_MAX];
   unsigned n = 0;
   pthread_mutex_lock(&pool->lock);
   for (unsigned i = 0, k = 0; i < pool->adopted_count; i++) {
      if (gone && gone[i]) {
         /* Its workers went with it (their tie). */
         while (pool->adopted[i].count) {
            const pid_t pid = pool->adopted[i].pids[--pool->adopted[i].count];
            pthread_mutex_unlock(&pool->lock);
            on_worker_exit(pid, SIGKILL, pool);
            pthread_mutex_lock(&pool->lock);
         }
      }
      if (pool->adopted[i].count)
         pool->adopted[k++] = pool->adopted[i];
      else
         ended[n++] = pool->adopted[i];
   }
   pool->adopted_count -= n;
   pthread_mutex_unlock(&pool->lock);
   for (unsigned i = 0; i < n; i++) {
      vs_info(0, "%s worker pool: the forker %d of the binary before the upgrade has no worker left; ending it",
              pool->config.name, (int)vs_forker_pid(ended[i].forker));
      vs_forker_stop(ended[i].forker);
      if (ended[i].tie_fd >= 0)
         close(ended[i].tie_fd);
      free(ended[i].pids);
   }
}

/* Forks one worker into the idle list; false with errno on failure. A
 * cold one is for a job that waits now: preparing first would only make
 * that job wait longer. */
static bool
start_worker(struct vs_worker_pool *pool, bool cold, int gpu)
{
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
      return false;
   if (os_set_cloexec(sv[0]) < 0 || os_set_cloexec(sv[1]) < 0 || os_socket_prepare(sv[0]) < 0) {
      int err = errno;
      close(sv[0]);
      close(sv[1]);
      errno = err;
      return false;
   }
   struct idle_worker *w = calloc(1, sizeof(*w));
   pid_t pid = w ? vs_forker_fork(pool->forker, sv[1], cold, gpu, on_worker_exit, pool) : -1;
   int err = w ? errno : ENOMEM;
   close(sv[1]);
   if (pid < 0) {
      close(sv[0]);
      free(w);
      errno = err;
      return false;
   }
   w->pid = pid;
   w->ctl = sv[0];
   w->cold = cold;
   w->gpu = gpu;
   pthread_mutex_lock(&pool->lock);
   w->next = pool->idle;
   pool->idle = w;
   pool->idle_count++;
   pool->start_error = 0;
   pthread_cond_broadcast(&pool->changed);
   pthread_mutex_unlock(&pool->lock);
   return true;
}

static void
close_retired(struct vs_worker_pool *pool)
{
   pthread_mutex_lock(&pool->lock);
   for (unsigned i = 0; i < pool->retired_count; i++)
      close(pool->retired[i]);
   pool->retired_count = 0;
   pthread_mutex_unlock(&pool->lock);
}

/* An idle worker's control socket was readable: its ready byte, or its end. */
static void
idle_worker_event(struct vs_worker_pool *pool, pid_t pid, int ctl)
{
   pthread_mutex_lock(&pool->lock);
   struct idle_worker **link = &pool->idle, *w = NULL;
   while (*link && ((*link)->pid != pid || (*link)->ctl != ctl))
      link = &(*link)->next;
   /* Read under the lock, and only while the worker is idle: a worker
    * handed a job since answers its caller on this socket (and one that
    * went back to the pool may have nothing left to read). */
   char byte;
   ssize_t n = *link ? recv(ctl, &byte, 1, MSG_DONTWAIT) : 0;
   if (*link && n < 0 && (errno == EINTR || errno == EAGAIN)) {
      pthread_mutex_unlock(&pool->lock);
      return;
   }
   int works_gpu = -1; /* a GPU whose warm-up ended well */
   if (*link && n == 1) {
      (*link)->ready = true;
      /* A warm-up that ended well: the next death starts the delays anew. */
      if (!(*link)->cold) {
         pool->backoff_ms = 0;
         works_gpu = (*link)->gpu;
      }
      pthread_cond_broadcast(&pool->changed);
   } else if (*link) {
      w = *link;
      *link = w->next;
      pool->idle_count--;
   }
   /* Its exit is logged once reported, which may have been already. */
   struct worker_exit *e = w ? take_exit(pool, w->pid) : NULL;
   bool noted = !w || e;
   if (!noted && pool->idle_dead_count == pool->idle_dead_cap) {
      unsigned cap = pool->idle_dead_cap ? 2 * pool->idle_dead_cap : 8;
      struct idle_dead *grown = realloc(pool->idle_dead, cap * sizeof(*grown));
      if (grown) {
         pool->idle_dead = grown;
         pool->idle_dead_cap = cap;
      }
   }
   if (!noted && pool->idle_dead_count < pool->idle_dead_cap)
      pool->idle_dead[pool->idle_dead_count++] = (struct idle_dead){ w->pid, w->cold ? -1 : w->gpu };
   pthread_mutex_unlock(&pool->lock);
   if (works_gpu >= 0)
      vs_placement_gpu_works(pool->config.placement, works_gpu);
   if (!w)
      return;
   idle_dying(pool);
   if (e)
      idle_death(pool, e->pid, w->cold ? -1 : w->gpu, e->status);
   free(e);
   close(w->ctl);
   free(w);
}

/* The forker died (it should not: it only forks and reaps): every worker
 * died with it, and no more can start. Whoever waits is told. */
static void
forker_lost(struct vs_worker_pool *pool)
{
   vs_error(0, "%s worker pool: the forker process is gone, and every worker with it; no client can be served now",
            pool->config.name);
   pthread_mutex_lock(&pool->lock);
   pool->forker_gone = true;
   pool->start_error = EPIPE;
   pthread_cond_broadcast(&pool->changed);
   end_watches(pool, 0, true);
   pthread_mutex_unlock(&pool->lock);
}

/* The GPU the next prepared worker is for: the one with the fewest now
 * (ties: the lowest index), as tenants are spread (worker/placement.h);
 * -1 (every GPU) with fewer than two. */
static int
next_warm_gpu(struct vs_worker_pool *pool)
{
   if (pool->config.gpus < 2)
      return -1;
   unsigned count[VS_WORKER_GPUS_MAX];
   pthread_mutex_lock(&pool->lock);
   memcpy(count, pool->lent_gpu, sizeof(count));
   for (struct idle_worker *w = pool->idle; w; w = w->next) {
      if (!w->cold && w->gpu >= 0)
         count[w->gpu]++;
   }
   pthread_mutex_unlock(&pool->lock);
   unsigned best = 0;
   for (unsigned g = 1; g < pool->config.gpus; g++) {
      if (count[g] < count[best])
         best = g;
   }
   return (int)best;
}

static void *
pool_thread(void *arg)
{
   struct vs_worker_pool *pool = arg;
   os_thread_set_name("vs-worker-pool");
   bool backoff = false;
   for (;;) {
      close_retired(pool);
      os_event_drain(&pool->wake);
      pthread_mutex_lock(&pool->lock);
      bool stopping = pool->stopping || pool->frozen;
      unsigned warm = pool->lent_warm, cold = 0;
      for (struct idle_worker *w = pool->idle; w; w = w->next) {
         warm += !w->cold;
         cold += w->cold;
      }
      /* A cold worker for each job that waits, beside `ready` warm ones. */
      unsigned want_cold = pool->waiting > cold ? pool->waiting - cold : 0;
      unsigned want_warm = pool->config.ready > warm ? pool->config.ready - warm : 0;
      pthread_mutex_unlock(&pool->lock);
      if (stopping)
         break;
      /* Prepared workers wait out the delay of the last deaths; cold ones
       * are for jobs that wait now, and do not prepare. */
      const uint64_t now = os_now_ns();
      int delay_ms = -1;
      if (want_warm && now < pool->next_start_ns) {
         delay_ms = (int)((pool->next_start_ns - now) / 1000000u) + 1;
         want_warm = 0;
      }
      for (unsigned k = 0; !backoff && !pool->forker_gone && k < want_cold + want_warm; k++) {
         const bool start_cold = k < want_cold;
         if (!start_worker(pool, start_cold, start_cold ? -1 : next_warm_gpu(pool))) {
            int err = errno;
            vs_error(0, "%s worker pool: cannot start a worker process: %s; retrying in 1 s", pool->config.name,
                     strerror(err));
            pthread_mutex_lock(&pool->lock);
            pool->start_error = err;
            pthread_cond_broadcast(&pool->changed);
            pthread_mutex_unlock(&pool->lock);
            backoff = true;
         }
      }

      /* Snapshot of the idle workers' sockets: only this thread closes
       * them (close_retired), so they stay valid through the poll. */
      pthread_mutex_lock(&pool->lock);
      const unsigned adopted = pool->adopted_count, first = 2 + adopted;
      unsigned n = first + pool->idle_count;
      struct pollfd *pfds = calloc(n, sizeof(*pfds));
      pid_t *pids = calloc(n, sizeof(*pids));
      if (!pfds || !pids)
         n = 2;
      for (unsigned a = 0; n > 2 && a < adopted; a++)
         pfds[2 + a] = (struct pollfd){ .fd = vs_forker_fd(pool->adopted[a].forker), .events = POLLIN };
      unsigned i = first;
      for (struct idle_worker *w = pool->idle; w && i < n; w = w->next, i++) {
         pfds[i] = (struct pollfd){ .fd = w->ctl, .events = w->ready ? 0 : POLLIN };
         pids[i] = w->pid;
      }
      bool forker_gone = pool->forker_gone;
      pthread_mutex_unlock(&pool->lock);
      struct pollfd fixed[2] = { { .fd = pool->wake.read_fd, .events = POLLIN },
                                 { .fd = forker_gone ? -1 : vs_forker_fd(pool->forker), .events = POLLIN } };
      struct pollfd *poll_set = pfds && pids ? pfds : fixed;
      poll_set[0] = fixed[0];
      poll_set[1] = fixed[1];
      int ret = poll(poll_set, n, backoff ? 1000 : delay_ms);
      backoff = false;
      if (ret > 0 && poll_set[1].revents && !vs_forker_read(pool->forker, on_worker_exit, pool))
         forker_lost(pool);
      if (n > 2 && adopted) {
         /* Only this thread changes the adopted list: index a is still a. */
         bool gone[ADOPTED_MAX] = { false };
         for (unsigned a = 0; ret > 0 && a < adopted; a++)
            gone[a] = pfds[2 + a].revents && !vs_forker_read(pool->adopted[a].forker, on_adopted_exit, pool);
         end_adopted(pool, gone);
      }
      for (unsigned k = first; ret > 0 && k < n; k++) {
         if (poll_set[k].revents)
            idle_worker_event(pool, pids[k], poll_set[k].fd);
      }
      free(pfds);
      free(pids);
   }

   /* Idle workers hold no tenant: end them now rather than wait for
    * their warm-up. */
   pthread_mutex_lock(&pool->lock);
   struct idle_worker *idle = pool->idle;
   pool->idle = NULL;
   pool->idle_count = 0;
   pthread_mutex_unlock(&pool->lock);
   while (idle) {
      struct idle_worker *w = idle;
      idle = w->next;
      vs_forker_kill(pool->forker, w->pid);
      close(w->ctl);
      free(w);
   }
   close_retired(pool);
   return NULL;
}

struct vs_worker_pool *
vs_worker_pool_create(const struct vs_worker_pool_config *config)
{
   struct vs_worker_pool *pool = calloc(1, sizeof(*pool));
   if (!pool) {
      vs_error(0, "%s worker pool: out of memory", config->name);
      errno = ENOMEM;
      return NULL;
   }
   pool->config = *config;
   if (pool->config.gpus > VS_WORKER_GPUS_MAX)
      pool->config.gpus = VS_WORKER_GPUS_MAX;
   int err = pthread_mutex_init(&pool->lock, NULL);
   if (!err)
      err = os_cond_init(&pool->changed);
   if (!err && os_event_init(&pool->wake) != 0)
      err = errno;
   bool tied = !err && os_worker_tie_init(&pool->tie) == 0;
   if (!err && !tied)
      err = errno;
   /* Forked now, while the server has no other thread (worker/forker.h). */
   if (!err && !(pool->forker = vs_forker_start(&pool->tie, worker_main, pool)))
      err = errno;
   if (!err)
      err = pthread_create(&pool->thread, NULL, pool_thread, pool);
   if (err) {
      vs_error(0, "%s worker pool: cannot start: %s", config->name, strerror(err));
      vs_forker_stop(pool->forker);
      if (tied)
         os_worker_tie_fini(&pool->tie);
      free(pool);
      errno = err;
      return NULL;
   }
   return pool;
}

/* The shader cache's way to end a worker whose directory outgrew it. */
static void
end_worker(void *pool, pid_t pid)
{
   vs_worker_pool_kill(pool, pid);
}

/* A worker prepared for the tenant's GPU, then one prepared for another
 * (its host driver is loaded), then a cold one (which a job that waited
 * for it may have left idle): the cold one has not warmed up. */
static int
idle_rank(const struct idle_worker *w, int gpu)
{
   if (w->ready && !w->cold)
      return w->gpu == gpu ? 3 : 2;
   return w->ready ? 1 : 0;
}

/* Under lock: a prepared worker, for `gpu` if one is, else a cold one,
 * else NULL (one still preparing goes on for a later job: handed this
 * one, it would make it wait for the whole warm-up). */
static struct idle_worker *
take_idle(struct vs_worker_pool *pool, int gpu)
{
   struct idle_worker **best = NULL;
   for (struct idle_worker **link = &pool->idle; *link; link = &(*link)->next) {
      if (!(*link)->ready && !(*link)->cold)
         continue;
      if (!best || idle_rank(*link, gpu) > idle_rank(*best, gpu))
         best = link;
   }
   if (!best)
      return NULL;
   struct idle_worker *w = *best;
   *best = w->next;
   pool->idle_count--;
   return w;
}

/* Hands a worker's control socket to the pool thread to close. */
static void
retire_ctl(struct vs_worker_pool *pool, int ctl)
{
   pthread_mutex_lock(&pool->lock);
   if (pool->retired_count == pool->retired_cap) {
      unsigned cap = pool->retired_cap ? 2 * pool->retired_cap : 16;
      int *grown = realloc(pool->retired, cap * sizeof(*grown));
      if (grown) {
         pool->retired = grown;
         pool->retired_cap = cap;
      }
   }
   bool queued = pool->retired_count < pool->retired_cap;
   if (queued)
      pool->retired[pool->retired_count++] = ctl;
   pthread_mutex_unlock(&pool->lock);
   if (!queued) {
      /* Out of memory: leaking one fd beats closing it under the poll. */
      vs_error(0, "%s worker pool: out of memory: one control socket stays open", pool->config.name);
   }
   os_event_signal(&pool->wake);
}

/* A worker's answer to its job: CLAIMED, UNCLAIMED, or 0 when it died
 * first. A cold worker's ready byte may come before it. */
static char
read_answer(int ctl)
{
   for (;;) {
      char byte;
      ssize_t n = read(ctl, &byte, 1);
      if (n < 0 && errno == EINTR)
         continue;
      if (n != 1)
         return 0;
      if (byte == CLAIMED || byte == UNCLAIMED)
         return byte;
   }
}

bool
vs_worker_pool_await_prepared(struct vs_worker_pool *pool, uint32_t timeout_ms)
{
   if (!pool->config.ready)
      return false;
   const uint64_t deadline_ns = os_now_ns() + (uint64_t)timeout_ms * 1000000u;
   bool found = false;
   pthread_mutex_lock(&pool->lock);
   for (;;) {
      for (const struct idle_worker *w = pool->idle; w && !found; w = w->next)
         found = w->ready && !w->cold;
      const uint64_t now_ns = os_now_ns();
      if (found || pool->stopping || now_ns >= deadline_ns)
         break;
      os_cond_timedwait_ns(&pool->changed, &pool->lock, deadline_ns - now_ns);
   }
   pthread_mutex_unlock(&pool->lock);
   return found;
}

pid_t
vs_worker_pool_run(struct vs_worker_pool *pool, uid_t uid, int gpu, const int *fds, unsigned fd_count,
                   const void *job, size_t job_size)
{
   if (job_size > VS_WORKER_JOB_MAX || !fd_count || fd_count > VS_WORKER_FDS_MAX ||
       (gpu >= 0 && (unsigned)gpu >= pool->config.gpus)) {
      errno = EMSGSIZE;
      return -1;
   }
   /* A worker can die between its ready byte and its job: try another. */
   for (int attempt = 0; attempt < 3; attempt++) {
      pthread_mutex_lock(&pool->lock);
      struct idle_worker *w;
      int err = 0;
      while (!(w = take_idle(pool, gpu)) && !pool->stopping && !err) {
         pool->waiting++;
         os_event_signal(&pool->wake);
         pthread_cond_wait(&pool->changed, &pool->lock);
         pool->waiting--;
         err = pool->start_error;
      }
      if (!w && !err)
         err = ESHUTDOWN;
      if (!w) {
         pthread_mutex_unlock(&pool->lock);
         errno = err;
         return -1;
      }
      /* Counted as there until it claims the job: a tenant that leaves
       * first costs no new worker. */
      pool->lent_warm += !w->cold;
      if (!w->cold && w->gpu >= 0)
         pool->lent_gpu[w->gpu]++;
      pthread_mutex_unlock(&pool->lock);
      vs_shader_cache_lend(w->pid, uid, end_worker, pool);
      bool sent = send_job(w->ctl, gpu, fds, fd_count, job, job_size);
      int send_err = errno;
      char answer = 0;
      if (sent)
         answer = read_answer(w->ctl);
      pid_t pid = w->pid;
      pthread_mutex_lock(&pool->lock);
      pool->lent_warm -= !w->cold;
      if (!w->cold && w->gpu >= 0)
         pool->lent_gpu[w->gpu]--;
      if (answer == UNCLAIMED) {
         w->ready = true;
         w->next = pool->idle;
         pool->idle = w;
         pool->idle_count++;
         pthread_cond_broadcast(&pool->changed);
      }
      pthread_mutex_unlock(&pool->lock);
      os_event_signal(&pool->wake); /* start its replacement, or poll it again */
      if (answer == UNCLAIMED) {
         vs_shader_cache_take_back(pid);
         return 0;
      }
      retire_ctl(pool, w->ctl);
      free(w);
      if (answer == CLAIMED)
         return pid;
      if (sent)
         send_err = EPIPE;
      vs_warn(0, "%s worker pool: worker process %d did not take its job: %s", pool->config.name, (int)pid,
              strerror(send_err));
      /* Its control socket closes in the pool thread: it exits at once. */
      vs_worker_pool_wait(pool, pid);
   }
   errno = EPIPE;
   return -1;
}

int
vs_worker_pool_wait(struct vs_worker_pool *pool, pid_t pid)
{
   pthread_mutex_lock(&pool->lock);
   struct worker_exit *e;
   pool->awaiting++;
   while (!(e = take_exit(pool, pid)) && !pool->forker_gone)
      pthread_cond_wait(&pool->changed, &pool->lock);
   pool->awaiting--;
   end_watches(pool, pid, false);
   pthread_mutex_unlock(&pool->lock);
   vs_shader_cache_return(pid);
   /* A lost forker took its workers with it (their tie). */
   int status = e ? e->status : SIGKILL;
   free(e);
   return status;
}

void
vs_worker_pool_watch_exit(struct vs_worker_pool *pool, pid_t pid, struct os_event *exited)
{
   pthread_mutex_lock(&pool->lock);
   bool ended = pool->forker_gone;
   for (struct worker_exit *e = pool->exits; e && !ended; e = e->next)
      ended = e->pid == pid;
   struct exit_watch *w = ended ? NULL : malloc(sizeof(*w));
   if (w) {
      *w = (struct exit_watch){ .next = pool->watches, .pid = pid, .exited = exited };
      pool->watches = w;
   }
   pthread_mutex_unlock(&pool->lock);
   /* Ended, or out of memory: nothing would tell the caller later. */
   if (!w)
      os_event_signal(exited);
}

void
vs_worker_pool_kill(struct vs_worker_pool *pool, pid_t pid)
{
   /* Under the lock: an adopted forker ends only once taken off it. */
   pthread_mutex_lock(&pool->lock);
   const int a = adopted_of(pool, pid);
   if (a >= 0)
      vs_forker_kill(pool->adopted[a].forker, pid);
   pthread_mutex_unlock(&pool->lock);
   if (a < 0)
      vs_forker_kill(pool->forker, pid);
}

void
vs_worker_pool_freeze(struct vs_worker_pool *pool, struct vs_worker_pool_forkers *forkers)
{
   pthread_mutex_lock(&pool->lock);
   pool->frozen = true;
   pthread_mutex_unlock(&pool->lock);
   os_event_signal(&pool->wake);
   pthread_join(pool->thread, NULL);
   *forkers = (struct vs_worker_pool_forkers){ .count = 1 + pool->adopted_count };
   forkers->forker[0].fd = vs_forker_fd(pool->forker);
   forkers->forker[0].pid = vs_forker_pid(pool->forker);
   forkers->forker[0].tie_fd = pool->tie.write_fd;
   for (unsigned a = 0; a < pool->adopted_count; a++) {
      forkers->forker[1 + a].fd = vs_forker_fd(pool->adopted[a].forker);
      forkers->forker[1 + a].pid = vs_forker_pid(pool->adopted[a].forker);
      forkers->forker[1 + a].tie_fd = pool->adopted[a].tie_fd;
   }
}

void
vs_worker_pool_thaw(struct vs_worker_pool *pool)
{
   pthread_mutex_lock(&pool->lock);
   pool->frozen = false;
   pthread_mutex_unlock(&pool->lock);
   int err = pthread_create(&pool->thread, NULL, pool_thread, pool);
   if (err) {
      /* No thread reads the forker's reports: as good as gone. */
      vs_error(0, "%s worker pool: cannot restart its thread: %s", pool->config.name, strerror(err));
      forker_lost(pool);
   }
}

unsigned
vs_worker_pool_forker_of(struct vs_worker_pool *pool, pid_t pid)
{
   pthread_mutex_lock(&pool->lock);
   const int a = adopted_of(pool, pid);
   pthread_mutex_unlock(&pool->lock);
   return a < 0 ? 0 : 1 + (unsigned)a;
}

unsigned
vs_worker_pool_awaiting(struct vs_worker_pool *pool)
{
   pthread_mutex_lock(&pool->lock);
   unsigned n = pool->awaiting;
   for (struct worker_exit *e = pool->exits; e; e = e->next)
      n -= n > 0; /* its waiter is about to take it */
   pthread_mutex_unlock(&pool->lock);
   return n;
}

bool
vs_worker_pool_adopt(struct vs_worker_pool *pool, const struct vs_worker_pool_forkers *forkers, const pid_t *pids,
                     const uid_t *uids, const unsigned *forker_of, unsigned count)
{
   /* Their shader caches lent anew: the lease lived in the old image. */
   for (unsigned i = 0; i < count; i++)
      vs_shader_cache_lend(pids[i], uids[i], end_worker, pool);
   bool ok = forkers->count <= VS_WORKER_POOL_FORKERS_MAX;
   pthread_mutex_lock(&pool->lock);
   for (unsigned f = 0; f < forkers->count && f < VS_WORKER_POOL_FORKERS_MAX; f++) {
      struct adopted_forker a = { .tie_fd = forkers->forker[f].tie_fd };
      for (unsigned i = 0; i < count; i++)
         a.count += forker_of[i] == f;
      a.pids = a.count ? calloc(a.count, sizeof(*a.pids)) : NULL;
      a.forker = (!a.count || a.pids) ? vs_forker_adopt(forkers->forker[f].fd, forkers->forker[f].pid) : NULL;
      if (!a.forker || pool->adopted_count == ADOPTED_MAX) {
         ok = false;
         free(a.pids);
         close(forkers->forker[f].fd);
         if (a.tie_fd >= 0)
            close(a.tie_fd);
         vs_forker_stop(a.forker);
         continue;
      }
      a.count = 0;
      for (unsigned i = 0; i < count; i++)
         if (forker_of[i] == f)
            a.pids[a.count++] = pids[i];
      /* One with no worker left ends at the pool thread's next round. */
      pool->adopted[pool->adopted_count++] = a;
   }
   pthread_mutex_unlock(&pool->lock);
   os_event_signal(&pool->wake);
   if (!ok)
      vs_error(0, "%s worker pool: out of memory adopting the forkers of a live upgrade; the workers of those not "
                  "adopted are ended", pool->config.name);
   return ok;
}

void
vs_worker_pool_destroy(struct vs_worker_pool *pool)
{
   if (!pool)
      return;
   pthread_mutex_lock(&pool->lock);
   pool->stopping = true;
   pthread_cond_broadcast(&pool->changed);
   pthread_mutex_unlock(&pool->lock);
   os_event_signal(&pool->wake);
   pthread_join(pool->thread, NULL);
   vs_forker_stop(pool->forker);
   for (unsigned a = 0; a < pool->adopted_count; a++) {
      vs_forker_stop(pool->adopted[a].forker);
      if (pool->adopted[a].tie_fd >= 0)
         close(pool->adopted[a].tie_fd);
      free(pool->adopted[a].pids);
   }
   os_worker_tie_fini(&pool->tie);
   os_event_fini(&pool->wake);
   pthread_cond_destroy(&pool->changed);
   pthread_mutex_destroy(&pool->lock);
   free(pool->retired);
   free(pool->idle_dead);
   end_watches(pool, 0, false);
   while (pool->exits) {
      struct worker_exit *e = pool->exits;
      pool->exits = e->next;
      free(e);
   }
   free(pool);
}

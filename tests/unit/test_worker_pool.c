/* SPDX-License-Identifier: MIT */
/* worker/worker_pool.c and worker/forker.c: jobs reach prepared workers
 * with their fds (a job that finds none gets a cold worker, unprepared),
 * the pool keeps `ready` workers prepared ahead of demand and replaces
 * those that die idle (later each time), takes back a worker whose job
 * it did not claim, and ends the idle ones when destroyed; workers are
 * the forker's children, waited for and killed through the pool, and
 * start whatever the server's other threads are doing meanwhile; with
 * several GPUs, the ready workers are spread over them and a job takes one
 * prepared for its GPU. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "os/os.h"
#include "worker/placement.h"
#include "worker/worker_link.h"
#include "worker/worker_pool.h"
#include "worker/worker_process.h"

/* Generous: only a hang misses it. */
#define DEADLINE_NS (60ull * 1000000000ull)
#define MAX_PREPARED 64

/* Shared with the workers (MAP_SHARED before the pool forks them). */
struct shared {
   atomic_uint prepared;
   _Atomic pid_t prepared_pids[MAX_PREPARED];
};

static struct shared *shared;
static bool prepared_here; /* in a worker: its prepare ran */
static int prepared_gpu = -2; /* in a worker: the GPU its prepare was for */

static bool
prepare(void *data)
{
   (void)data;
   unsigned i = atomic_fetch_add(&shared->prepared, 1);
   if (i < MAX_PREPARED)
      atomic_store(&shared->prepared_pids[i], getpid());
   prepared_here = true;
   prepared_gpu = vs_placement_worker_gpu();
   return true;
}

/* Answers on fds[0]: its pid, whether it was prepared, the job's bytes,
 * and how many fds it got. */
struct answer {
   pid_t pid;
   int prepared;
   int prepared_gpu, placed_gpu;
   unsigned fd_count;
   char job[32];
};

static int
serve(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   (void)data;
   struct answer a = { .pid = getpid(), .prepared = prepared_here, .fd_count = fd_count,
                       .prepared_gpu = prepared_gpu, .placed_gpu = vs_placement_worker_gpu() };
   memcpy(a.job, job, job_size < sizeof(a.job) ? job_size : sizeof(a.job));
   if (write(fds[0], &a, sizeof(a)) != (ssize_t)sizeof(a))
      return 1;
   /* "log": one line of its own. */
   if (!strcmp(a.job, "log")) {
      char line[96];
      int n = snprintf(line, sizeof(line), "venus-server: info: the line of worker %d\n", (int)getpid());
      (void)!write(STDERR_FILENO, line, (size_t)n);
   }
   /* "flood": half a line, then once told, newlines until told again;
    * then how many it wrote. */
   char byte;
   if (!strcmp(a.job, "flood")) {
      (void)!write(STDERR_FILENO, "venus-server: error: ctx 1: half", 32);
      if (read(fds[0], &byte, 1) != 1)
         return 1;
      static char flood[4096];
      memset(flood, '\n', sizeof(flood));
      uint64_t written = 0;
      bool told = false;
      struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
      while (poll(&pfd, 1, 0) == 0) {
         ssize_t n = write(STDERR_FILENO, flood, sizeof(flood));
         if (n > 0)
            written += (uint64_t)n;
         /* A mebibyte is through the relay (the pipe holds far less). */
         if (!told && written >= 1u << 20)
            told = write(fds[0], "m", 1) == 1;
      }
      return write(fds[0], &written, sizeof(written)) == (ssize_t)sizeof(written) ? 7 : 1;
   }
   /* "pass": hands its second fd to the caller, then exits. */
   if (!strcmp(a.job, "pass"))
      return fd_count == 2 && os_send_fds(fds[0], "p", 1, &fds[1], 1, 0) == 1 ? 7 : 1;
   /* "wait": until the socket closes (or the worker is killed). */
   while (!strcmp(a.job, "wait") && read(fds[0], &byte, 1) > 0)
      ;
   return 7;
}

static struct vs_worker_pool *
make_pool_gpus(unsigned ready, unsigned gpus)
{
   shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
   if (shared == MAP_FAILED)
      return NULL;
   memset(shared, 0, sizeof(*shared));
   const struct vs_worker_pool_config config = {
      .ready = ready, .gpus = gpus, .prepare = prepare, .serve = serve, .name = "test",
   };
   return vs_worker_pool_create(&config);
}

static struct vs_worker_pool *
make_pool(unsigned ready)
{
   return make_pool_gpus(ready, 0);
}

static bool
wait_prepared(unsigned n)
{
   const uint64_t deadline = os_now_ns() + DEADLINE_NS;
   while (atomic_load(&shared->prepared) < n) {
      if (os_now_ns() > deadline)
         return false;
      usleep(10000);
   }
   return true;
}

/* The GPU run_job's tenant is placed on. */
static int run_gpu = -1;

/* Runs one job; its answer and exit status. */
static bool
run_job(struct vs_worker_pool *pool, const char *text, struct answer *a, int *status)
{
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
      return false;
   const int fds[] = { sv[1], sv[1] };
   pid_t pid = vs_worker_pool_run(pool, getuid(), run_gpu, fds, 2, text, strlen(text) + 1);
   close(sv[1]);
   bool ok = pid > 0 && read(sv[0], a, sizeof(*a)) == (ssize_t)sizeof(*a) && a->pid == pid;
   close(sv[0]);
   if (pid > 0)
      *status = vs_worker_pool_wait(pool, pid);
   return ok;
}

TEST(job_reaches_a_prepared_worker)
{
   struct vs_worker_pool *pool = make_pool(2);
   CHECK_NOT_NULL(pool);
   CHECK(wait_prepared(2));
   struct answer a;
   int status = 0;
   CHECK(run_job(pool, "hello worker", &a, &status));
   CHECK(a.pid != getpid());
   CHECK_EQ(a.prepared, 1);
   CHECK_EQ(a.fd_count, 2u);
   CHECK_STR_EQ(a.job, "hello worker");
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   /* Its replacement is prepared ahead of the next job. */
   CHECK(wait_prepared(3));
   vs_worker_pool_destroy(pool);
}

/* With two GPUs, the ready workers are one for each, and a job placed on
 * a GPU takes the one prepared for it. */
TEST(jobs_take_a_worker_prepared_for_their_gpu)
{
   struct vs_worker_pool *pool = make_pool_gpus(2, 2);
   CHECK_NOT_NULL(pool);
   CHECK(wait_prepared(2));
   struct answer a;
   int status = 0;
   for (int gpu = 1; gpu >= 0; gpu--) {
      run_gpu = gpu;
      CHECK(run_job(pool, "placed", &a, &status));
      CHECK_EQ(a.prepared, 1);
      CHECK_EQ(a.prepared_gpu, gpu);
      CHECK_EQ(a.placed_gpu, gpu);
      CHECK(wait_prepared(4 - (unsigned)gpu));
   }
   /* The replacements were prepared one for each GPU again. */
   run_gpu = 1;
   CHECK(run_job(pool, "placed again", &a, &status));
   CHECK_EQ(a.prepared_gpu, 1);
   /* One that names no GPU of the pool's is refused. */
   int fds[] = { 0 };
   CHECK_EQ(vs_worker_pool_run(pool, getuid(), 2, fds, 1, "x", 1), -1);
   run_gpu = -1;
   vs_worker_pool_destroy(pool);
}

TEST(no_ready_workers_still_serves)
{
   struct vs_worker_pool *pool = make_pool(0);
   CHECK_NOT_NULL(pool);
   struct answer a;
   int status = 0;
   CHECK(run_job(pool, "on demand", &a, &status));
   /* Started for a job that waits: it serves at once, unprepared. */
   CHECK_EQ(a.prepared, 0);
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   /* None is started ahead. */
   usleep(200000);
   CHECK_EQ(atomic_load(&shared->prepared), 0u);
   vs_worker_pool_destroy(pool);
}

TEST(idle_worker_that_dies_is_replaced)
{
   struct vs_worker_pool *pool = make_pool(1);
   CHECK_NOT_NULL(pool);
   CHECK(wait_prepared(1));
   pid_t first = atomic_load(&shared->prepared_pids[0]);
   CHECK(first > 0);
   CHECK_EQ(kill(first, SIGKILL), 0);
   CHECK(wait_prepared(2));
   struct answer a;
   int status = 0;
   CHECK(run_job(pool, "after a death", &a, &status));
   CHECK(a.pid != first);
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   vs_worker_pool_destroy(pool);
}

struct concurrent_job {
   struct vs_worker_pool *pool;
   pid_t pid;
   bool ok;
};

static void *
concurrent_job_thread(void *arg)
{
   struct concurrent_job *j = arg;
   struct answer a;
   int status = 0;
   j->ok = run_job(j->pool, "concurrent", &a, &status) && WIFEXITED(status) && WEXITSTATUS(status) == 7;
   j->pid = a.pid;
   return NULL;
}

TEST(concurrent_jobs_get_workers_of_their_own)
{
   struct vs_worker_pool *pool = make_pool(2);
   CHECK_NOT_NULL(pool);
   enum { N = 8 };
   struct concurrent_job jobs[N];
   pthread_t threads[N];
   for (int i = 0; i < N; i++) {
      jobs[i] = (struct concurrent_job){ .pool = pool };
      CHECK_EQ(pthread_create(&threads[i], NULL, concurrent_job_thread, &jobs[i]), 0);
   }
   for (int i = 0; i < N; i++)
      pthread_join(threads[i], NULL);
   for (int i = 0; i < N; i++) {
      CHECK(jobs[i].ok);
      for (int k = 0; k < i; k++)
         CHECK(jobs[i].pid != jobs[k].pid);
   }
   vs_worker_pool_destroy(pool);
}

TEST(destroy_ends_idle_workers)
{
   struct vs_worker_pool *pool = make_pool(2);
   CHECK_NOT_NULL(pool);
   CHECK(wait_prepared(2));
   pid_t idle[2] = { atomic_load(&shared->prepared_pids[0]), atomic_load(&shared->prepared_pids[1]) };
   vs_worker_pool_destroy(pool);
   /* Reaped too: no zombie is left behind. */
   for (int i = 0; i < 2; i++)
      CHECK(kill(idle[i], 0) != 0 && errno == ESRCH);
}

TEST(job_limits_are_refused)
{
   struct vs_worker_pool *pool = make_pool(0);
   CHECK_NOT_NULL(pool);
   char big[VS_WORKER_JOB_MAX + 1] = { 0 };
   const int fds[VS_WORKER_FDS_MAX + 1] = { 0 };
   CHECK_EQ(vs_worker_pool_run(pool, getuid(), -1, fds, 1, big, sizeof(big)), -1);
   CHECK_EQ(errno, EMSGSIZE);
   CHECK_EQ(vs_worker_pool_run(pool, getuid(), -1, fds, VS_WORKER_FDS_MAX + 1, "x", 1), -1);
   CHECK_EQ(vs_worker_pool_run(pool, getuid(), -1, fds, 0, "x", 1), -1);
   vs_worker_pool_destroy(pool);
}

/* A job whose serve blocks until its socket closes: the caller ends it. */
TEST(kill_ends_a_running_worker)
{
   struct vs_worker_pool *pool = make_pool(0);
   CHECK_NOT_NULL(pool);
   int sv[2];
   CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
   const int fds[] = { sv[1], sv[1] };
   pid_t pid = vs_worker_pool_run(pool, getuid(), -1, fds, 2, "wait", 5);
   close(sv[1]);
   CHECK(pid > 0);
   struct answer a;
   CHECK_EQ(read(sv[0], &a, sizeof(a)), (ssize_t)sizeof(a));
   /* The forker is its parent, not this process. */
   CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD);
   vs_worker_pool_kill(pool, pid);
   int status = vs_worker_pool_wait(pool, pid);
   CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
   close(sv[0]);
   vs_worker_pool_destroy(pool);
}

struct link_serving {
   struct vs_server_link *link;
   struct vs_worker_pool *pool;
   pid_t pid;
   int status;
   atomic_bool done;
};

static void *
serve_link_thread(void *arg)
{
   struct link_serving *s = arg;
   s->status = vs_server_link_serve_worker(s->link, s->pool, s->pid);
   atomic_store(&s->done, true);
   return NULL;
}

/* A worker that passed its end of the link to another process (here this
 * one) and exited: the server's end is served until the worker's exit, not
 * until every copy of the worker's end is closed, so nothing of the link
 * outlives its worker. */
TEST(a_link_passed_out_ends_with_its_worker)
{
   struct vs_worker_pool *pool = make_pool(0);
   CHECK_NOT_NULL(pool);
   int sv[2], link[2];
   CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
   CHECK_EQ(vs_link_pair(link), 0);
   struct link_serving s = { .link = vs_server_link_open(link[0], 9, NULL, NULL), .pool = pool };
   CHECK_NOT_NULL(s.link);
   const int fds[] = { sv[1], link[1] };
   s.pid = vs_worker_pool_run(pool, getuid(), -1, fds, 2, "pass", 5);
   close(sv[1]);
   close(link[1]);
   CHECK(s.pid > 0);
   atomic_init(&s.done, false);
   pthread_t thread;
   CHECK_EQ(pthread_create(&thread, NULL, serve_link_thread, &s), 0);
   struct answer a;
   char byte;
   int held = -1;
   unsigned count = 0;
   bool excess = false;
   CHECK_EQ(read(sv[0], &a, sizeof(a)), (ssize_t)sizeof(a));
   CHECK_EQ(os_recv_fds(sv[0], &byte, 1, &held, 1, &count, &excess), 1);
   CHECK_EQ(count, 1u);
   const uint64_t deadline = os_now_ns() + DEADLINE_NS;
   while (!atomic_load(&s.done) && os_now_ns() < deadline)
      usleep(10000);
   bool ended = atomic_load(&s.done);
   /* The server's end is shut down: the copy held here reads its end. */
   struct pollfd pfd = { .fd = held, .events = POLLIN };
   bool hung_up = poll(&pfd, 1, 0) == 1 && read(held, &byte, 1) == 0;
   close(held); /* lets a thread that still serves the link end */
   pthread_join(thread, NULL);
   close(sv[0]);
   vs_worker_pool_destroy(pool);
   CHECK_MSG(ended, "the link was still served after its worker exited");
   CHECK(hung_up);
   CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7);
}

static bool
prepare_and_die(void *data)
{
   (void)data;
   atomic_fetch_add(&shared->prepared, 1);
   kill(getpid(), SIGKILL);
   return true;
}

static atomic_uint prepare_deaths; /* in this process: prepare_died calls */

static void
count_prepare_death(void *data)
{
   (void)data;
   atomic_fetch_add(&prepare_deaths, 1);
}

/* A warm-up that dies every time (before, the pool replaced each at once:
 * tens of deaths a second, for good) is retried after 100 ms, then 200,
 * 400, 800: in 1.2 s, at most 5 deaths, each told to prepare_died. */
TEST(warm_up_deaths_back_off)
{
   shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
   CHECK(shared != MAP_FAILED);
   memset(shared, 0, sizeof(*shared));
   atomic_store(&prepare_deaths, 0);
   const struct vs_worker_pool_config config = {
      .ready = 1, .prepare = prepare_and_die, .prepare_died = count_prepare_death, .serve = serve, .name = "test",
   };
   struct vs_worker_pool *pool = vs_worker_pool_create(&config);
   CHECK_NOT_NULL(pool);
   usleep(1200000);
   unsigned started = atomic_load(&shared->prepared);
   vs_worker_pool_destroy(pool);
   CHECK(started >= 2);
   CHECK(started <= 5);
   CHECK(atomic_load(&prepare_deaths) >= started - 1);
}

/* A warm-up on GPU 1 gets no device there. */
static bool
prepare_gpu1_lost(void *data)
{
   prepare(data);
   return vs_placement_worker_gpu() != 1;
}

/* A worker whose GPU gave it no device is not kept: retried with the
 * deaths' delays, never handed a job; a job placed on that GPU gets the
 * worker prepared for the other one. */
TEST(a_worker_whose_gpu_gave_no_device_is_not_kept)
{
   shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
   CHECK(shared != MAP_FAILED);
   memset(shared, 0, sizeof(*shared));
   const struct vs_worker_pool_config config = {
      .ready = 2, .gpus = 2, .prepare = prepare_gpu1_lost, .serve = serve, .name = "test",
   };
   struct vs_worker_pool *pool = vs_worker_pool_create(&config);
   CHECK_NOT_NULL(pool);
   /* GPU 0's, GPU 1's, and GPU 1's again after the first delay. */
   CHECK(wait_prepared(3));
   usleep(100000);
   struct answer a;
   int status = 0;
   run_gpu = 1;
   CHECK(run_job(pool, "on lost", &a, &status));
   run_gpu = -1;
   CHECK_EQ(a.prepared, 1);
   CHECK_EQ(a.prepared_gpu, 0);
   CHECK_EQ(a.placed_gpu, 1);
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   vs_worker_pool_destroy(pool);
}

/* The worker's claim: a job "leave" is a tenant that left first. */
static bool
claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   (void)fds, (void)fd_count, (void)data;
   return !(job_size == 6 && memcmp(job, "leave", 6) == 0);
}

/* A job its worker does not claim leaves the worker in the pool as it
 * was: no replacement warms up, and the next job gets that worker. */
TEST(unclaimed_job_returns_the_worker)
{
   shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
   CHECK(shared != MAP_FAILED);
   memset(shared, 0, sizeof(*shared));
   const struct vs_worker_pool_config config = {
      .ready = 1, .prepare = prepare, .claim = claim, .serve = serve, .name = "test",
   };
   struct vs_worker_pool *pool = vs_worker_pool_create(&config);
   CHECK_NOT_NULL(pool);
   CHECK(wait_prepared(1));
   int sv[2];
   CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
   const int fds[] = { sv[1], sv[1] };
   for (int i = 0; i < 5; i++)
      CHECK_EQ(vs_worker_pool_run(pool, getuid(), -1, fds, 2, "leave", 6), 0);
   close(sv[1]);
   close(sv[0]);
   usleep(200000);
   CHECK_EQ(atomic_load(&shared->prepared), 1u);
   struct answer a;
   int status = 0;
   CHECK(run_job(pool, "stay", &a, &status));
   CHECK_EQ(a.pid, atomic_load(&shared->prepared_pids[0]));
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   vs_worker_pool_destroy(pool);
}

static atomic_bool allocating;

static void *
allocate_thread(void *arg)
{
   (void)arg;
   while (atomic_load(&allocating)) {
      void *blocks[64];
      for (int i = 0; i < 64; i++)
         blocks[i] = malloc((size_t)(16 + 64 * i));
      for (int i = 0; i < 64; i++)
         free(blocks[i]);
   }
   return NULL;
}

/* Workers fork from the forker, not from a process whose other threads
 * hold allocator locks (under ASan a worker forked from such a process
 * hung in its first malloc): every job ends while four threads allocate. */
TEST(workers_start_while_other_threads_allocate)
{
   struct vs_worker_pool *pool = make_pool(2);
   CHECK_NOT_NULL(pool);
   atomic_store(&allocating, true);
   pthread_t threads[4];
   for (int i = 0; i < 4; i++)
      CHECK_EQ(pthread_create(&threads[i], NULL, allocate_thread, NULL), 0);
   for (int i = 0; i < 24; i++) {
      struct answer a;
      int status = 0;
      CHECK(run_job(pool, "busy", &a, &status));
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   }
   atomic_store(&allocating, false);
   for (int i = 0; i < 4; i++)
      pthread_join(threads[i], NULL);
   vs_worker_pool_destroy(pool);
}

/* A worker that floods its log delays no other worker's start, forges no
 * line of another's, and reaches the log at a bounded rate, each of its
 * lines led by its pid. */
TEST(a_flooding_worker_delays_and_forges_nothing)
{
   char path[] = "/tmp/vs-test-log-XXXXXX";
   int log_fd = mkstemp(path);
   CHECK(log_fd >= 0);
   unlink(path);
   /* The forker writes the workers' lines to the stderr it starts with. */
   int saved = dup(STDERR_FILENO);
   CHECK(saved >= 0 && dup2(log_fd, STDERR_FILENO) == STDERR_FILENO);
   struct vs_worker_pool *pool = make_pool(0);
   dup2(saved, STDERR_FILENO);
   close(saved);
   CHECK_NOT_NULL(pool);
   int flood[2];
   CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, flood), 0);
   const int fds[] = { flood[1], flood[1] };
   pid_t flooder = vs_worker_pool_run(pool, getuid(), -1, fds, 2, "flood", 6);
   close(flood[1]);
   CHECK(flooder > 0);
   struct answer a;
   CHECK_EQ(read(flood[0], &a, sizeof(a)), (ssize_t)sizeof(a));
   /* Another worker logs a whole line after the flooder's half line. */
   struct answer b;
   int status = 0;
   CHECK(run_job(pool, "log", &b, &status));
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   const pid_t logger = b.pid;
   char byte;
   CHECK_EQ(write(flood[0], "g", 1), 1);
   CHECK_EQ(read(flood[0], &byte, 1), 1);
   /* While it floods, more workers start and end. */
   for (int i = 0; i < 4; i++) {
      CHECK(run_job(pool, "during the flood", &b, &status));
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   }
   CHECK_EQ(write(flood[0], "s", 1), 1);
   uint64_t written = 0;
   CHECK_EQ(read(flood[0], &written, sizeof(written)), (ssize_t)sizeof(written));
   close(flood[0]);
   status = vs_worker_pool_wait(pool, flooder);
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
   vs_worker_pool_destroy(pool); /* the forker has written everything */

   static char text[4 << 20];
   ssize_t got = pread(log_fd, text, sizeof(text) - 1, 0);
   close(log_fd);
   CHECK(got > 0);
   text[got] = 0;
   char honest_line[128];
   snprintf(honest_line, sizeof(honest_line), "worker process %d: venus-server: info: the line of worker %d",
            (int)logger, (int)logger);
   unsigned flooder_lines = 0, forged = 0;
   bool honest = false, told = false, half = false;
   char prefix[64];
   snprintf(prefix, sizeof(prefix), "worker process %d: ", (int)flooder);
   for (char *line = text, *end; *line; line = end + 1) {
      end = strchr(line, '\n');
      if (!end)
         break;
      *end = 0;
      if (!strncmp(line, prefix, strlen(prefix))) {
         flooder_lines++;
         half |= !strcmp(line + strlen(prefix), "venus-server: error: ctx 1: half");
      } else if (strstr(line, "lines from worker process") && strstr(line, "dropped")) {
         told |= !strncmp(line, "venus-server: warn: ", 20) && atoi(line + 20) > 0;
      } else if (strncmp(line, "worker process ", 15)) {
         forged += strstr(line, "ctx 1: half") != NULL; /* a line not led by its worker */
      }
      honest |= !strcmp(line, honest_line);
   }
   unit_note("the flooder wrote %llu newlines; %u of its lines reached the log", (unsigned long long)written,
             flooder_lines);
   CHECK(honest);
   CHECK(half);
   CHECK_EQ(forged, 0u);
   CHECK(told);
   CHECK(written >= 1u << 20);
   CHECK_LT((uint64_t)flooder_lines, written / 64);
}

/* A worker lets go of the server's controlling terminal and takes a
 * process group of its own, but stays in the server's session (the
 * kernel's scheduling group for it). Played under a pseudo-terminal that
 * the test makes the controlling terminal of a session of its own. */
TEST(a_worker_leaves_the_terminal_not_the_session)
{
   int master = posix_openpt(O_RDWR | O_NOCTTY);
   if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
      SKIP("no pseudo-terminal here: %s", strerror(errno));
   const char *slave = ptsname(master);
   CHECK(slave != NULL);
   pid_t leader = fork();
   CHECK(leader >= 0);
   if (leader == 0) {
      /* Opened by a session leader with none, the terminal becomes its
       * controlling terminal. */
      int tty;
      if (setsid() < 0 || (tty = open(slave, O_RDWR)) < 0 || open("/dev/tty", O_RDWR) < 0)
         _exit(10);
      pid_t worker = fork();
      if (worker == 0) {
         if (!vs_worker_leave_terminal(-1))
            _exit(11);
         if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
            _exit(12);
         if (getpgrp() != getpid())
            _exit(13);
         _exit(getsid(0) == getppid() ? 0 : 14);
      }
      int status = 0;
      if (worker < 0 || waitpid(worker, &status, 0) != worker || !WIFEXITED(status))
         _exit(15);
      /* The leader keeps its terminal. */
      _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : open("/dev/tty", O_RDWR) >= 0 ? 0 : 16);
   }
   int status = 0;
   CHECK_EQ(waitpid(leader, &status, 0), leader);
   close(master);
   CHECK(WIFEXITED(status));
   unit_note("exit 10: no terminal made; 11: leaving failed; 12: still a terminal; 13: no group of its own; "
             "14: another session; 15: the worker died; 16: the server lost its terminal");
   CHECK_EQ(WEXITSTATUS(status), 0);
}

UNIT_MAIN(UNIT(job_reaches_a_prepared_worker), UNIT(no_ready_workers_still_serves),
          UNIT(idle_worker_that_dies_is_replaced), UNIT(concurrent_jobs_get_workers_of_their_own),
          UNIT(destroy_ends_idle_workers), UNIT(job_limits_are_refused), UNIT(kill_ends_a_running_worker),
          UNIT(workers_start_while_other_threads_allocate), UNIT(warm_up_deaths_back_off),
          UNIT(a_worker_whose_gpu_gave_no_device_is_not_kept),
          UNIT(unclaimed_job_returns_the_worker), UNIT(a_flooding_worker_delays_and_forges_nothing),
          UNIT(a_link_passed_out_ends_with_its_worker), UNIT(jobs_take_a_worker_prepared_for_their_gpu),
          UNIT(a_worker_leaves_the_terminal_not_the_session))

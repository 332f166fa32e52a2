/* SPDX-License-Identifier: MIT */
#include "worker/forker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "worker/log_relay.h"
#include "worker/worker_process.h"

/* Server -> forker (a FORK brings the worker's fd). */
enum { REQUEST_FORK = 1, REQUEST_KILL = 2 };
struct request {
   uint32_t op;
   int32_t pid;  /* KILL */
   uint32_t cold; /* FORK */
   int32_t gpu;   /* FORK */
};

/* Forker -> server. */
enum { REPORT_FORKED = 1, REPORT_EXITED = 2 };
struct report {
   uint32_t op;
   int32_t pid;   /* FORKED: the worker, or -1 */
   int32_t value; /* FORKED: errno when pid is -1; EXITED: the waitpid status */
};

struct vs_forker {
   pid_t pid;
   int sock;
   pthread_mutex_t send_lock;
};

static bool
write_all(int fd, const void *buf, size_t size)
{
   const uint8_t *p = buf;
   while (size) {
      ssize_t n = write(fd, p, size);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return false;
      p += n;
      size -= (size_t)n;
   }
   return true;
}

/* Reads `size` bytes; the first part may carry one fd (*passed, else
 * -1; any more are closed). */
static bool
read_all(int fd, void *buf, size_t size, int *passed)
{
   uint8_t *p = buf;
   int got_fd = -1;
   unsigned fd_count = 0;
   bool excess = false;
   while (size) {
      ssize_t n = os_recv_fds(fd, p, size, &got_fd, 1, &fd_count, &excess);
      if (n <= 0) {
         if (fd_count)
            close(got_fd);
         return false;
      }
      p += n;
      size -= (size_t)n;
   }
   if (passed)
      *passed = fd_count ? got_fd : -1;
   else if (fd_count)
      close(got_fd);
   return true;
}

/* --- the forker process ---------------------------------------------------- */

static int child_exited_fd = -1; /* the self-pipe's write end */

static void
on_sigchld(int sig)
{
   (void)sig;
   int saved = errno;
   const char byte = 'c';
   (void)!write(child_exited_fd, &byte, 1);
   errno = saved;
}

/* A worker, with the read end of its own log pipe (-1 once it ended). */
struct child {
   pid_t pid;
   int log_fd;
   struct vs_log_relay *relay;
};

struct children {
   struct child *c;
   size_t count, cap;
};

static bool
children_add(struct children *c, pid_t pid, int log_fd, struct vs_log_relay *relay)
{
   if (c->count == c->cap) {
      size_t cap = c->cap ? 2 * c->cap : 32;
      struct child *grown = realloc(c->c, cap * sizeof(*grown));
      if (!grown)
         return false;
      c->c = grown;
      c->cap = cap;
   }
   c->c[c->count++] = (struct child){ .pid = pid, .log_fd = log_fd, .relay = relay };
   return true;
}

/* One read of what a worker logged: at most a buffer per poll round, so
 * that a worker that never stops writing delays neither the requests nor
 * the other workers' lines. What read(2) returned. */
static ssize_t
relay_once(struct child *child)
{
   char bytes[4096];
   ssize_t n;
   do
      n = read(child->log_fd, bytes, sizeof(bytes));
   while (n < 0 && errno == EINTR);
   if (n > 0)
      vs_log_relay_feed(child->relay, bytes, (size_t)n, os_now_ns());
   return n;
}

/* The end of a worker's pipe: what was left unfinished and the count of
 * lines dropped. */
static void
relay_close(struct child *child)
{
   close(child->log_fd);
   child->log_fd = -1;
   vs_log_relay_flush(child->relay, os_now_ns());
}

/* At a worker's exit: its last lines, at most what a pipe holds (it may
 * have handed its write end to a process that keeps writing). */
static void
relay_end(struct child *child)
{
   if (child->log_fd < 0)
      return;
   for (unsigned i = 0; i < 16 && relay_once(child) > 0; i++)
      ;
   relay_close(child);
}

static void
child_end(struct children *c, size_t i)
{
   relay_end(&c->c[i]);
   free(c->c[i].relay);
   c->c[i] = c->c[--c->count];
}

static void
report_exits(int sock, struct children *children)
{
   int status;
   pid_t pid;
   while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (size_t i = 0; i < children->count; i++)
         if (children->c[i].pid == pid) {
            child_end(children, i);
            break;
         }
      os_shm_forget(pid);
      os_task_bound_release(pid);
      const struct report r = { .op = REPORT_EXITED, .pid = pid, .value = status };
      (void)write_all(sock, &r, sizeof(r));
   }
}

/* A pipe for a worker's log: the read end the forker's (non-blocking),
 * the write end the worker's stdout and stderr. 0, or -1 with errno. */
static int
log_pipe(int fds[2])
{
   if (pipe(fds) != 0)
      return -1;
   if (os_set_cloexec(fds[0]) < 0 || os_set_cloexec(fds[1]) < 0 || os_set_nonblocking(fds[0], true) < 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      errno = err;
      return -1;
   }
   return 0;
}

static void
fork_worker(int sock, const struct os_worker_tie *tie, int fd, bool cold, int gpu, struct children *children,
            vs_forker_child_fn child, void *data)
{
   /* Each worker logs into a pipe of its own: one that floods it, sets it
    * non-blocking or leaves half a line there touches no other worker's
    * lines, and blocks only itself once the pipe is full. */
   int log[2];
   struct vs_log_relay *relay = malloc(sizeof(*relay));
   if (!relay || log_pipe(log) != 0) {
      int err = relay ? errno : ENOMEM;
      free(relay);
      close(fd);
      const struct report r = { .op = REPORT_FORKED, .pid = -1, .value = err };
      (void)write_all(sock, &r, sizeof(r));
      return;
   }
   pid_t pid = fork();
   if (pid == 0) {
      signal(SIGCHLD, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGPIPE, SIG_DFL);
      signal(SIGUSR2, SIG_DFL);
      if (!vs_worker_leave_terminal(log[1]) || !os_worker_start(tie, &fd, 1))
         _exit(1);
      vs_worker_enter_sandbox();
      child(fd, cold, gpu, data);
      _exit(1);
   }
   int err = errno;
   close(fd);
   close(log[1]);
   if (pid > 0) {
      vs_log_relay_init(relay, STDERR_FILENO, (int)pid, os_now_ns());
      if (!children_add(children, pid, log[0], relay)) {
         /* Untracked, it could not be killed safely later: end it now. */
         kill(pid, SIGKILL);
         pid = -1;
         err = ENOMEM;
      }
   }
   if (pid <= 0) {
      close(log[0]);
      free(relay);
   }
   const struct report r = { .op = REPORT_FORKED, .pid = pid > 0 ? pid : -1, .value = pid > 0 ? 0 : err };
   (void)write_all(sock, &r, sizeof(r));
}

static _Noreturn void
forker_main(int sock, const struct os_worker_tie *server_tie, vs_forker_child_fn child, void *data)
{
   /* The server's live upgrade (SIGUSR2) is not this process's: first,
    * before its handler could write to an fd number closed next. */
   signal(SIGUSR2, SIG_IGN);
   if (!os_worker_start(server_tie, &sock, 1))
      _exit(1);
   os_thread_set_name("vs-forker");
   /* It ends with the server (its tie) or when the pool closes its
    * socket, not on a signal meant for the server. */
   signal(SIGINT, SIG_IGN);
   signal(SIGTERM, SIG_IGN);
   signal(SIGPIPE, SIG_IGN);
   struct os_worker_tie tie; /* its workers' tie to it */
   int exited[2];
   if (os_worker_tie_init(&tie) != 0 || pipe(exited) != 0 || os_set_cloexec(exited[0]) < 0 ||
       os_set_cloexec(exited[1]) < 0 || fcntl(exited[0], F_SETFL, O_NONBLOCK) < 0 ||
       fcntl(exited[1], F_SETFL, O_NONBLOCK) < 0)
      _exit(1);
   /* Workers write their log into pipes of their own; this process passes
    * it on to the server's stderr (worker/log_relay.h). It needs no
    * terminal input. */
   (void)vs_worker_leave_terminal(-1);
   child_exited_fd = exited[1];
   struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
   sigemptyset(&sa.sa_mask);
   if (sigaction(SIGCHLD, &sa, NULL) != 0)
      _exit(1);

   struct children children = { 0 };
   struct pollfd *pfds = NULL;
   size_t pfds_cap = 0;
   for (;;) {
      if (pfds_cap < 2 + children.count) {
         size_t cap = 2 + children.cap;
         struct pollfd *grown = realloc(pfds, cap * sizeof(*grown));
         if (!grown)
            break;
         pfds = grown;
         pfds_cap = cap;
      }
      pfds[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
      pfds[1] = (struct pollfd){ .fd = exited[0], .events = POLLIN };
      const size_t polled = children.count;
      for (size_t i = 0; i < polled; i++)
         pfds[2 + i] = (struct pollfd){ .fd = children.c[i].log_fd, .events = POLLIN };
      if (poll(pfds, (nfds_t)(2 + polled), -1) < 0) {
         if (errno == EINTR)
            continue;
         break;
      }
      /* Requests first; a fork only appends to `children`, so the log
       * fds polled keep their places until the exits are reported. */
      if (pfds[0].revents) {
         struct request q;
         int fd;
         if (!read_all(sock, &q, sizeof(q), &fd))
            break;
         if (q.op == REQUEST_FORK && fd >= 0) {
            fork_worker(sock, &tie, fd, q.cold != 0, q.gpu, &children, child, data);
         } else {
            if (fd >= 0)
               close(fd);
            /* Only a child not reaped yet: its pid is still its own. */
            for (size_t i = 0; q.op == REQUEST_KILL && i < children.count; i++)
               if (children.c[i].pid == q.pid)
                  kill(q.pid, SIGKILL);
         }
      }
      for (size_t i = 0; i < polled; i++) {
         if (!pfds[2 + i].revents || children.c[i].log_fd < 0)
            continue;
         ssize_t n = relay_once(&children.c[i]);
         if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            relay_close(&children.c[i]);
      }
      if (pfds[1].revents) {
         char drain[64];
         while (read(exited[0], drain, sizeof(drain)) > 0)
            ;
         report_exits(sock, &children);
      }
   }
   /* The pool is gone: so are the workers it did not hand out. */
   for (size_t i = 0; i < children.count; i++)
      kill(children.c[i].pid, SIGKILL);
   for (pid_t pid; (pid = waitpid(-1, NULL, 0)) > 0 || errno == EINTR;)
      if (pid > 0)
         os_task_bound_release(pid);
   /* The workers' last lines. */
   while (children.count)
      child_end(&children, children.count - 1);
   _exit(0);
}

/* --- the server's side ----------------------------------------------------- */

struct vs_forker *
vs_forker_start(const struct os_worker_tie *tie, vs_forker_child_fn child, void *data)
{
   struct vs_forker *f = calloc(1, sizeof(*f));
   if (!f) {
      errno = ENOMEM;
      return NULL;
   }
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
      free(f);
      return NULL;
   }
   if (os_set_cloexec(sv[0]) < 0 || os_set_cloexec(sv[1]) < 0 || os_socket_prepare(sv[0]) < 0) {
      int err = errno;
      close(sv[0]);
      close(sv[1]);
      free(f);
      errno = err;
      return NULL;
   }
   pid_t pid = fork();
   if (pid == 0) {
      close(sv[0]);
      forker_main(sv[1], tie, child, data);
   }
   int err = errno;
   close(sv[1]);
   if (pid < 0) {
      close(sv[0]);
      free(f);
      errno = err;
      return NULL;
   }
   f->pid = pid;
   f->sock = sv[0];
   vs_worker_describe_sandbox();
   pthread_mutex_init(&f->send_lock, NULL);
   return f;
}

struct vs_forker *
vs_forker_adopt(int fd, pid_t pid)
{
   struct vs_forker *f = calloc(1, sizeof(*f));
   if (!f) {
      errno = ENOMEM;
      return NULL;
   }
   f->pid = pid;
   f->sock = fd;
   pthread_mutex_init(&f->send_lock, NULL);
   return f;
}

pid_t
vs_forker_pid(const struct vs_forker *f)
{
   return f->pid;
}

int
vs_forker_fd(const struct vs_forker *f)
{
   return f->sock;
}

static bool
send_request(struct vs_forker *f, const struct request *q, int fd)
{
   pthread_mutex_lock(&f->send_lock);
   ssize_t n = os_send_fds(f->sock, q, sizeof(*q), &fd, fd >= 0, 0);
   /* The rest of a short write (a full socket): no fd rides on it. */
   bool sent = n > 0 && (n == (ssize_t)sizeof(*q) || write_all(f->sock, (const uint8_t *)q + n, sizeof(*q) - (size_t)n));
   int err = errno;
   pthread_mutex_unlock(&f->send_lock);
   errno = sent ? 0 : (err ? err : EPIPE);
   return sent;
}

static bool
read_report(struct vs_forker *f, struct report *r)
{
   return read_all(f->sock, r, sizeof(*r), NULL);
}

pid_t
vs_forker_fork(struct vs_forker *f, int fd, bool cold, int gpu, vs_forker_exit_fn on_exit, void *data)
{
   const struct request q = { .op = REQUEST_FORK, .cold = cold, .gpu = gpu };
   if (!send_request(f, &q, fd))
      return -1;
   struct report r;
   while (read_report(f, &r)) {
      if (r.op == REPORT_EXITED) {
         on_exit(r.pid, r.value, data);
      } else if (r.op == REPORT_FORKED) {
         if (r.pid > 0)
            return r.pid;
         errno = r.value ? r.value : EAGAIN;
         return -1;
      }
   }
   errno = EPIPE;
   return -1;
}

bool
vs_forker_read(struct vs_forker *f, vs_forker_exit_fn on_exit, void *data)
{
   struct report r;
   if (!read_report(f, &r))
      return false;
   if (r.op == REPORT_EXITED)
      on_exit(r.pid, r.value, data);
   return true;
}

void
vs_forker_kill(struct vs_forker *f, pid_t pid)
{
   const struct request q = { .op = REQUEST_KILL, .pid = pid };
   (void)send_request(f, &q, -1);
}

void
vs_forker_stop(struct vs_forker *f)
{
   if (!f)
      return;
   close(f->sock);
   while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
      ;
   pthread_mutex_destroy(&f->send_lock);
   free(f);
}

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
#include "transport/vtest/vtest.h"

extern char **environ;

/* The hand-over record: the first version. A later one (running tenants'
 * workers, docs/architecture.md "Live upgrade") is a new version that an
 * older binary refuses, so the old process goes on serving. */
#define RECORD_MAGIC 0x50555356u /* "VSUP" */
#define RECORD_VERSION 1u
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

static int
upgrade_start(void *data, const struct vtest_upgrade_offer *offer)
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
   if (up->config->display) {
      vs_warn(0, "upgrade refused: the display (--display) is not handed over yet; this process goes on serving");
      return -1;
   }
   /* The binary as it is on disk now: argv[0], a path or a name that
    * $PATH finds. */
   const char *arg0 = up->config->argv ? up->config->argv[0] : NULL;
   if (!arg0 || !*arg0 || snprintf(up->binary, sizeof(up->binary), "%s", arg0) >= (int)sizeof(up->binary)) {
      vs_warn(0, "upgrade refused: cannot tell which binary this process was started from; it goes on serving");
      return -1;
   }
   struct record r = {
      .magic = RECORD_MAGIC, .version = RECORD_VERSION, .size = sizeof(r), .old_pid = (int32_t)getpid(),
      .asked_ns = asked_ns, .owns_file = offer->owns_file, .tenants = offer->tenants,
   };
   if (snprintf(r.path, sizeof(r.path), "%s", offer->path) >= (int)sizeof(r.path)) {
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
       (listen_copy = inheritable(offer->listen_fd)) < 0 || (word_copy = inheritable(word[1])) < 0) {
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
upgrade_finish(void *data, enum vtest_upgrade_end end, unsigned tenants)
{
   struct vs_upgrade *up = data;
   char word = 0;
   ssize_t n = 0;
   if (end == VTEST_UPGRADE_WORD)
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
   if (end != VTEST_UPGRADE_WORD)
      kill(pid, SIGKILL);
   child_end(pid, why, sizeof(why));
   if (end == VTEST_UPGRADE_STOPPING) {
      vs_warn(0, "upgrade abandoned: this server stops; the new binary %s (pid %d) was ended", up->binary, (int)pid);
      return false;
   }
   if (end == VTEST_UPGRADE_LATE)
      snprintf(why, sizeof(why), "it did not take over within %u s, ended", TAKE_OVER_TIMEOUT_MS / 1000u);
   vs_warn(0, "upgrade refused: the new binary %s (pid %d) did not take over: %s; this process goes on serving",
           up->binary, (int)pid, why);
   return false;
}

/* --- the new process: taking over ----------------------------------------- */

/* Reads and checks the record at `fd` (closed); NULL, or why not. */
static const char *
take(int fd, struct vs_upgrade_taken *t, char *why, size_t size)
{
   struct record r;
   struct stat st;
   const bool read_whole = fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(r) &&
                           pread(fd, &r, sizeof(r), 0) == (ssize_t)sizeof(r);
   close(fd);
   if (!read_whole)
      return "it is not one record of this binary's size";
   if (r.magic != RECORD_MAGIC)
      return "it is no hand-over";
   if (r.version != RECORD_VERSION || r.size != sizeof(r)) {
      snprintf(why, size, "its format is version %u (%u bytes); this binary reads version %u", r.version, r.size,
               RECORD_VERSION);
      return why;
   }
   if (r.old_pid <= 0 || r.old_pid != getppid()) {
      snprintf(why, size, "it names pid %d, not this process's parent %d", (int)r.old_pid, (int)getppid());
      return why;
   }
   if (!memchr(r.path, '\0', sizeof(r.path)) || !r.path[0])
      return "its socket path is no string";
   if (r.owns_file > 1 || r.tenants > TENANTS_MAX || r.asked_ns > os_now_ns())
      return "its fields are out of range";
   if (r.listen_fd < 3 || r.word_fd < 3 || r.listen_fd == r.word_fd || r.listen_fd == fd || r.word_fd == fd)
      return "its fds are not distinct passed fds";
   char name[VS_ACTIVATED_PATH_SIZE];
   if (!vs_listening_unix_socket(r.listen_fd, name, sizeof(name)))
      return "its listening fd is no listening Unix stream socket";
   if (fstat(r.word_fd, &st) != 0 || !S_ISSOCK(st.st_mode))
      return "its answer fd is no socket";
   if (os_set_cloexec(r.listen_fd) < 0 || os_set_nonblocking(r.listen_fd, true) < 0 || os_set_cloexec(r.word_fd) < 0)
      return "its fds cannot be set up";
   *t = (struct vs_upgrade_taken){
      .listen_fd = r.listen_fd, .owns_file = r.owns_file != 0, .old_pid = r.old_pid, .asked_ns = r.asked_ns,
      .tenants = r.tenants, .word_fd = r.word_fd,
   };
   memcpy(t->path, r.path, sizeof(t->path));
   return NULL;
}

/* Listening on the socket taken over: the old process may close its own. */
static void
upgrade_listening(void *data)
{
   struct vs_upgrade *up = data;
   if (!up->taken || up->from.word_fd < 0)
      return;
   const char word = WORD_READY;
   const bool told = os_send_fds(up->from.word_fd, &word, 1, NULL, 0, 0) == 1;
   close(up->from.word_fd);
   up->from.word_fd = -1;
   const unsigned long long ms = (os_now_ns() - up->from.asked_ns) / 1000000u;
   if (told)
      vs_info(0, "upgrade: took over 0 tenants, 1 listening socket (%s) from pid %d in %llu ms; its %u client(s) "
                 "stay with it until they end", up->from.path, (int)up->from.old_pid, ms, up->from.tenants);
   else
      vs_warn(0, "upgrade: took over the listening socket (%s), but pid %d did not hear it (%s); both serve it",
              up->from.path, (int)up->from.old_pid, strerror(errno));
}

int
vs_upgrade_init(struct vs_upgrade *up, const struct vs_server_config *config, int asked_fd,
                struct vtest_server_upgrade *hooks)
{
   *up = (struct vs_upgrade){ .config = config, .word_fd = -1, .from = { .word_fd = -1, .listen_fd = -1 } };
   *hooks = (struct vtest_server_upgrade){
      .asked_fd = asked_fd, .start = upgrade_start, .finish = upgrade_finish,
      .timeout_ms = TAKE_OVER_TIMEOUT_MS, .listening = upgrade_listening, .data = up,
   };
   if (config->upgrade_fd < 0)
      return 0;
   char why[128];
   const char *refused = take(config->upgrade_fd, &up->from, why, sizeof(why));
   if (refused) {
      vs_error(0, "upgrade: refusing the hand-over from pid %d: %s", (int)getppid(), refused);
      return 1;
   }
   up->taken = true;
   return 0;
}

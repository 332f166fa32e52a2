/* SPDX-License-Identifier: MIT */
/* os/: the worker's sandbox (os_sandbox_enter). Each check runs in a child
 * that enters the sandbox first and reports on a pipe, so the test itself
 * can still clean up after it (and under ASan the child ends with _exit:
 * LeakSanitizer's tracer would be a refused process).
 *
 * The Linux backend must refuse new processes, sockets, signals to others
 * and writing files, and must leave the driver's needs alone: threads,
 * memfds, mappings, reading its manifests and libraries. The POSIX
 * backend (-Dos=posix) applies only resource limits. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"
#include "os/sandbox.h"
#include "unit.h"

static int report_fd = -1;
static struct os_sandbox_report entered;

/* In the sandboxed child: reports a broken expectation (the first wins). */
static void
expect_at(bool holds, int line, const char *fmt, ...) UNIT_PRINTF(3, 4);
static void
expect_at(bool holds, int line, const char *fmt, ...)
{
   if (holds)
      return;
   char msg[512];
   int n = snprintf(msg, sizeof(msg), "line %d: ", line);
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
   va_end(ap);
   size_t len = strlen(msg);
   msg[len] = '\n';
   if (write(report_fd, msg, len + 1) < 0)
      _exit(3);
}
#define EXPECT(cond, ...) expect_at((cond), __LINE__, __VA_ARGS__)

/* A call refused with `err`; `ret` is its result. */
#define EXPECT_REFUSED(ret, err, what)                                                    \
   do {                                                                                   \
      long r_ = (long)(ret);                                                              \
      int e_ = errno;                                                                     \
      EXPECT(r_ == -1 && e_ == (err), "%s: returned %ld (%s), not refused with %s", what, r_, \
             r_ == -1 ? strerror(e_) : "ok", strerror(err));                              \
   } while (0)

/* Runs `before` (if any), enters the sandbox and runs `check`, in a child;
 * fails the test with the child's first broken expectation. */
static void
run_sandboxed(void (*before)(void), void (*check)(void))
{
   int fds[2];
   CHECK_EQ(pipe(fds), 0);
   pid_t pid = fork();
   CHECK(pid >= 0);
   if (pid == 0) {
      close(fds[0]);
      report_fd = fds[1];
      if (before)
         before();
      EXPECT(os_sandbox_enter(NULL, &entered) == OS_SANDBOX_ENTERED, "os_sandbox_enter: %s", entered.what);
      check();
      _exit(0);
   }
   close(fds[1]);
   char msg[1024];
   size_t len = 0;
   ssize_t n;
   while (len < sizeof(msg) - 1 && ((n = read(fds[0], msg + len, sizeof(msg) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
      len += n > 0 ? (size_t)n : 0;
   msg[len] = 0;
   close(fds[0]);
   int status = 0;
   while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
   CHECK_MSG(len == 0, "%s", msg);
   CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sandboxed child ended with status %#x", status);
}

#ifdef VS_OS_LINUX
static bool
landlock_here(void)
{
   return strstr(entered.what, "Landlock ABI") != NULL;
}
#endif

static void *
thread_maps_memory(void *arg)
{
   int fd = os_shm_create("vs-sandbox-thread", 65536);
   void *map = fd >= 0 ? mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
   bool ok = map != MAP_FAILED;
   if (ok) {
      memset(map, 0x5a, 65536);
      munmap(map, 65536);
   }
   if (fd >= 0)
      close(fd);
   *(bool *)arg = ok;
   return NULL;
}

static volatile sig_atomic_t got_signal;
static void
on_signal(int sig)
{
   got_signal = sig;
}

/* What a driver and the server need after device creation stays. */
static void
check_driver_needs(void)
{
   bool ok = false;
   pthread_t t;
   int err = pthread_create(&t, NULL, thread_maps_memory, &ok);
   EXPECT(err == 0, "pthread_create: %s", strerror(err));
   if (err == 0) {
      pthread_join(t, NULL);
      EXPECT(ok, "a new thread could not create and map shared memory");
   }
   int shm = os_shm_create("vs-sandbox", 4096);
   EXPECT(shm >= 0, "os_shm_create: %s", strerror(errno));
   if (shm >= 0) {
      void *map = os_map_guarded(shm, 4096, 0);
      EXPECT(map != NULL, "os_map_guarded: %s", strerror(errno));
      if (map)
         os_unmap_guarded(map, 4096, 0);
      close(shm);
   }
   void *anon = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   EXPECT(anon != MAP_FAILED, "anonymous mmap: %s", strerror(errno));
   /* Drivers that JIT (lavapipe's LLVM) make pages executable. */
   EXPECT(anon == MAP_FAILED || mprotect(anon, 4096, PROT_READ | PROT_EXEC) == 0, "mprotect(PROT_EXEC): %s",
          strerror(errno));

   /* The loader's manifests and the libraries they name stay readable. */
   glob_t g;
   if (glob("/usr/share/vulkan/icd.d/*.json", 0, NULL, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; i++) {
         int fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC);
         char byte;
         EXPECT(fd >= 0 && read(fd, &byte, 1) == 1, "reading %s: %s", g.gl_pathv[i], strerror(errno));
         if (fd >= 0)
            close(fd);
      }
      globfree(&g);
   }
   int lib = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
   EXPECT(lib >= 0, "reading /proc/self/maps: %s", strerror(errno));
   if (lib >= 0)
      close(lib);
   int null = open("/dev/null", O_RDWR | O_CLOEXEC);
   EXPECT(null >= 0, "opening /dev/null read-write: %s", strerror(errno));
   if (null >= 0)
      close(null);

   /* abort() and pthread_kill signal the worker itself. */
   signal(SIGUSR1, on_signal);
   EXPECT(raise(SIGUSR1) == 0 && got_signal == SIGUSR1, "raise(SIGUSR1): %s", strerror(errno));
   EXPECT(kill(getpid(), 0) == 0, "kill(own pid, 0): %s", strerror(errno));
}

TEST(sandbox_keeps_what_drivers_need)
{
   run_sandboxed(NULL, check_driver_needs);
}

#ifdef VS_OS_LINUX
/* True when /proc/net/unix lists the abstract name `name`. */
static bool
abstract_name_listed(const char *name)
{
   FILE *f = fopen("/proc/net/unix", "re");
   if (!f)
      return false;
   char line[512];
   bool found = false;
   while (!found && fgets(line, sizeof(line), f)) {
      const char *at = strchr(line, '@');
      found = at && strncmp(at + 1, name, strlen(name)) == 0;
   }
   fclose(f);
   return found;
}

/* A Unix stream or seqpacket socket may be made (NVIDIA's driver makes
 * one), and its bind and listen succeed without taking place: no name is
 * taken, nothing can connect. */
static void
check_unix_socket(int type)
{
   int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
   EXPECT(fd >= 0, "socket(AF_UNIX, %d): %s", type, strerror(errno));
   if (fd < 0)
      return;
   struct sockaddr_un addr = { .sun_family = AF_UNIX };
   char name[64];
   snprintf(name, sizeof(name), "vs-sandbox-test-%d-%d", (int)getpid(), type);
   memcpy(addr.sun_path + 1, name, strlen(name));
   const socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
   EXPECT(bind(fd, (struct sockaddr *)&addr, len) == 0, "bind: %s", strerror(errno));
   EXPECT(listen(fd, 1) == 0, "listen: %s", strerror(errno));
   EXPECT(!abstract_name_listed(name), "bind took the abstract name %s", name);
   struct sockaddr_un got;
   socklen_t got_len = sizeof(got);
   EXPECT(getsockname(fd, (struct sockaddr *)&got, &got_len) == 0 && got_len == sizeof(sa_family_t),
          "the socket has a name (%u bytes)", (unsigned)got_len);
   EXPECT_REFUSED(connect(fd, (struct sockaddr *)&addr, len), EPERM, "connect(AF_UNIX)");
   close(fd);
}
#endif

static void
check_processes_and_sockets(void)
{
#ifdef VS_OS_LINUX
   errno = 0;
   pid_t pid = fork();
   if (pid == 0)
      _exit(0);
   EXPECT_REFUSED(pid, EPERM, "fork");
   char *const argv[] = { "/bin/true", NULL };
   EXPECT_REFUSED(execve("/bin/true", argv, environ), EPERM, "execve");
   EXPECT_REFUSED(syscall(SYS_clone3, NULL, 0), ENOSYS, "clone3");
   EXPECT_REFUSED(socket(AF_INET, SOCK_STREAM, 0), EPERM, "socket(AF_INET)");
   EXPECT_REFUSED(socket(AF_INET6, SOCK_DGRAM, 0), EPERM, "socket(AF_INET6)");
   EXPECT_REFUSED(socket(AF_UNIX, SOCK_DGRAM, 0), EPERM, "socket(AF_UNIX, SOCK_DGRAM)");
   EXPECT_REFUSED(socket(AF_UNIX, SOCK_RAW, 0), EPERM, "socket(AF_UNIX, SOCK_RAW)");
   check_unix_socket(SOCK_STREAM);
   check_unix_socket(SOCK_SEQPACKET);
   EXPECT_REFUSED(kill(getppid(), 0), EPERM, "kill(parent)");
   EXPECT_REFUSED(kill(0, 0), EPERM, "kill(own process group)");
   EXPECT_REFUSED(syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, getppid(), 0, 0), EPERM, "ptrace");
   EXPECT_REFUSED(syscall(SYS_unshare, 0), EPERM, "unshare");
   EXPECT(strstr(entered.what, "seccomp filter ("), "no seccomp filter: %s", entered.what);
#else
   /* The portable subset: no core files; Linux leaves RLIMIT_NPROC alone. */
   struct rlimit core;
   EXPECT(getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0,
          "RLIMIT_CORE is not 0: %s", entered.what);
#endif
}

TEST(sandbox_refuses_processes_and_sockets)
{
   run_sandboxed(NULL, check_processes_and_sockets);
}

/* Files made before the sandbox: one in the test's temp dir, one under
 * $HOME/tmp (or $HOME) as a stand-in for the user's files. */
static char temp_file[256];
static char home_file[512];

/* A thread started before the sandbox (as a driver's are), held until
 * the sandbox is in force: Landlock may not reach it (before ABI v8), the
 * seccomp filter must. */
static pthread_t old_thread;
static int old_thread_err = -1;
static pthread_mutex_t old_thread_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
old_thread_main(void *arg)
{
   pthread_mutex_lock(&old_thread_lock);
   pthread_mutex_unlock(&old_thread_lock);
   int fd = open(temp_file, O_WRONLY | O_CLOEXEC);
   old_thread_err = fd >= 0 ? 0 : errno;
   if (fd >= 0)
      close(fd);
   return arg;
}

static void
start_old_thread(void)
{
   pthread_mutex_lock(&old_thread_lock);
   int err = pthread_create(&old_thread, NULL, old_thread_main, NULL);
   EXPECT(err == 0, "pthread_create: %s", strerror(err));
}

static void
check_files(void)
{
#ifdef VS_OS_LINUX
   EXPECT_REFUSED(open(temp_file, O_WRONLY | O_CLOEXEC), EPERM, "open(temp file, O_WRONLY)");
   EXPECT_REFUSED(open(temp_file, O_RDONLY | O_TRUNC | O_CLOEXEC), EPERM, "open(temp file, O_TRUNC)");
   EXPECT_REFUSED(open("new-file", O_RDWR | O_CREAT | O_CLOEXEC, 0600), EPERM, "open(new file, O_CREAT)");
   EXPECT_REFUSED(open("/etc/hostname", O_WRONLY | O_CLOEXEC), EPERM, "open(/etc/hostname, O_WRONLY)");
   /* File tree changes: Landlock's EACCES where it covers every thread,
    * else the filter's EPERM. */
   EXPECT(unlink(temp_file) != 0 && (errno == EACCES || errno == EPERM), "unlink(temp file): %s",
          strerror(errno));
   EXPECT(mkdir("new-dir", 0700) != 0 && (errno == EACCES || errno == EPERM), "mkdir: %s", strerror(errno));
   if (home_file[0]) {
      EXPECT_REFUSED(open(home_file, O_WRONLY | O_APPEND | O_CLOEXEC), EPERM, "open($HOME file, O_APPEND)");
      /* Reading and read-write opens: Landlock's (on the entering thread). */
      if (landlock_here()) {
         EXPECT_REFUSED(open(home_file, O_RDONLY | O_CLOEXEC), EACCES, "open($HOME file, O_RDONLY)");
         EXPECT_REFUSED(open(temp_file, O_RDWR | O_CLOEXEC), EACCES, "open(temp file, O_RDWR)");
      }
   }
#else
   /* No file rules in the portable subset (docs/security.md says so). */
   int fd = open(temp_file, O_WRONLY | O_CLOEXEC);
   EXPECT(fd >= 0, "the POSIX sandbox refused a write open: %s", strerror(errno));
   if (fd >= 0)
      close(fd);
#endif
}

static void
check_files_on_all_threads(void)
{
   check_files();
   pthread_mutex_unlock(&old_thread_lock);
   pthread_join(old_thread, NULL);
#ifdef VS_OS_LINUX
   EXPECT(old_thread_err == EPERM || old_thread_err == EACCES,
          "a thread started before the sandbox opened a file for writing (%s)",
          old_thread_err ? strerror(old_thread_err) : "allowed");
#endif
}

static void
make_files(void)
{
   snprintf(temp_file, sizeof(temp_file), "vs-sandbox-XXXXXX");
   int fd = mkstemp(temp_file);
   if (fd >= 0)
      close(fd);
   home_file[0] = 0;
   const char *home = getenv("HOME");
   struct stat st;
   if (home && home[0]) {
      snprintf(home_file, sizeof(home_file), "%s/tmp", home);
      if (stat(home_file, &st) != 0 || !S_ISDIR(st.st_mode))
         snprintf(home_file, sizeof(home_file), "%s", home);
      size_t len = strlen(home_file);
      snprintf(home_file + len, sizeof(home_file) - len, "/.vs-sandbox-XXXXXX");
      fd = mkstemp(home_file);
      if (fd >= 0)
         close(fd);
      else
         home_file[0] = 0; /* $HOME not writable: that part is skipped */
   }
}

TEST(sandbox_refuses_files)
{
   make_files();
   CHECK(temp_file[0]);
   run_sandboxed(start_old_thread, check_files_on_all_threads);
   unlink(temp_file);
   if (home_file[0])
      unlink(home_file);
}

/* No reach into other processes: a sandboxed worker reads and writes no
 * memory but its own, whatever its uid (a worker started as root loses
 * CAP_SYS_PTRACE), and sends no keystrokes into a terminal. */
static void
check_other_processes(void)
{
#ifdef VS_OS_LINUX
   char path[64];
   snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
   int fd = open(path, O_RDWR | O_CLOEXEC);
   EXPECT(fd < 0, "opened %s read-write: %s", path, entered.what);
   if (fd >= 0)
      close(fd);
   snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
   fd = open(path, O_RDONLY | O_CLOEXEC);
   EXPECT(fd < 0 || !landlock_here(), "read the parent's environment: %s", entered.what);
   if (fd >= 0)
      close(fd);
   const char keystroke = 'x';
   EXPECT_REFUSED(ioctl(STDIN_FILENO, TIOCSTI, &keystroke), EPERM, "ioctl(TIOCSTI)");
#endif
#ifdef __linux__
   EXPECT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "still dumpable: %s", entered.what);
#endif
}

TEST(sandbox_keeps_other_processes_out_of_reach)
{
   /* As the server does for itself: then even without Landlock a
    * worker with no capabilities cannot open its memory. */
   CHECK_EQ(os_refuse_attach(), 0);
   run_sandboxed(NULL, check_other_processes);
}

/* Entering twice is harmless (a worker may create several devices). */
static void
check_enter_twice(void)
{
   struct os_sandbox_report again;
   EXPECT(os_sandbox_enter(NULL, &again) == OS_SANDBOX_ALREADY, "second os_sandbox_enter: %s", again.what);
}

TEST(sandbox_enter_twice)
{
   run_sandboxed(NULL, check_enter_twice);
}

UNIT_MAIN(UNIT(sandbox_keeps_what_drivers_need), UNIT(sandbox_refuses_processes_and_sockets),
          UNIT(sandbox_refuses_files), UNIT(sandbox_keeps_other_processes_out_of_reach),
          UNIT(sandbox_enter_twice))

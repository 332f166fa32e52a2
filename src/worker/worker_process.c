/* SPDX-License-Identifier: MIT */
#include "worker/worker_process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "os/sandbox.h"
#include "worker/shader_cache.h"

/* Set before the workers are made; a pooled worker inherits them. */
static uint64_t memory_bound;
static uint32_t task_bound;

bool
vs_worker_leave_terminal(int log_fd)
{
   /* A process group of its own, so that the terminal's signals (^C, a
    * hang-up) reach the server alone, and no controlling terminal. Not a
    * session of its own: where the kernel schedules each session as one
    * group (autogroup), a worker in a session of its own gets no more CPU
    * than its client, and a client that yields while it waits for a
    * fence no longer hands its CPU to the worker that would signal it. */
   bool left;
   int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
   if (tty < 0 && errno != ENXIO) {
      /* A terminal that cannot be opened may still be ours: a session of
       * its own (and so a group of its own) is the sure way out. ENXIO:
       * there is none. */
      left = setsid() >= 0;
   } else {
      left = setpgid(0, 0) == 0;
      if (tty >= 0) {
         /* Not a session leader: this detaches the worker alone. */
         left = left && ioctl(tty, TIOCNOTTY) == 0;
         close(tty);
      }
   }
   if (!left)
      return false;
   int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
   if (null_fd < 0)
      return false;
   bool ok = dup2(null_fd, STDIN_FILENO) == STDIN_FILENO;
   close(null_fd);
   if (log_fd >= 0)
      ok = ok && dup2(log_fd, STDOUT_FILENO) == STDOUT_FILENO && dup2(log_fd, STDERR_FILENO) == STDERR_FILENO;
   return ok;
}

void
vs_worker_bound_memory(uint64_t bytes)
{
   memory_bound = bytes;
}

void
vs_worker_bound_tasks(uint32_t max_tasks)
{
   char why[600];
   if (!max_tasks)
      return;
   if (os_task_bound_prepare(why, sizeof(why)) != 0) {
      vs_info(0, "worker tasks: no kernel bound on a worker's tasks: %s", why);
      return;
   }
   task_bound = max_tasks;
}

void
vs_worker_enter_sandbox(void)
{
   /* Before the sandbox, which refuses setrlimit and cgroup writes. */
   char tasks[96] = "";
   if (task_bound) {
      const int err = os_task_bound_enter(task_bound);
      if (err)
         snprintf(tasks, sizeof(tasks), ", tasks not bounded (%s)", strerror(err));
      else
         snprintf(tasks, sizeof(tasks), ", tasks at most %u (limit worker-tasks)", task_bound);
   }
   char memory[128] = "";
   int memory_err = memory_bound ? os_bound_private_memory(memory_bound) : 0;
   if (memory_bound && !memory_err)
      snprintf(memory, sizeof(memory), ", private memory at most %llu MiB (limit worker-memory-mib)",
               (unsigned long long)(memory_bound >> 20));
   else if (memory_bound)
      snprintf(memory, sizeof(memory), ", private memory not bounded (%s)", strerror(memory_err));
   struct os_sandbox_report report;
   const enum os_sandbox_result result = os_sandbox_enter(vs_shader_cache_worker_dir(), &report);
   if (result == OS_SANDBOX_ENTERED && !memory_err)
      vs_info(0, "sandbox: worker %d: %s%s%s in force", (int)getpid(), report.what, memory, tasks);
   else if (result != OS_SANDBOX_ALREADY)
      vs_warn(0, "sandbox: worker %d: not fully applied: %s%s%s; the worker keeps serving", (int)getpid(),
              report.what, memory, tasks);
}

void
vs_worker_describe_sandbox(void)
{
   struct os_sandbox_report report;
   os_sandbox_describe(&report);
   vs_info(0, "sandbox: each worker process enters it before it loads the host driver: %s", report.what);
}

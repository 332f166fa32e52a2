/* SPDX-License-Identifier: MIT */
#include <stdbool.h>

#include "worker/worker_process.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "os/sandbox.h"
#include "worker/shader_cache.h"

bool
vs_worker_leave_terminal(int log_fd)
{
   /* A forked child is never a process group leader: setsid succeeds. */
   if (setsid() < 0)
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
vs_worker_enter_sandbox(void)
{
   struct os_sandbox_report report;
   switch (os_sandbox_enter(vs_shader_cache_worker_dir(), &report)) {
   case OS_SANDBOX_ENTERED:
      vs_info(0, "sandbox: worker %d: %s in force", (int)getpid(), report.what);
      break;
   case OS_SANDBOX_WEAK:
      vs_warn(0, "sandbox: worker %d: not fully applied: %s; the worker keeps serving", (int)getpid(), report.what);
      break;
   case OS_SANDBOX_ALREADY:
      break;
   }
}

void
vs_worker_describe_sandbox(void)
{
   struct os_sandbox_report report;
   os_sandbox_describe(&report);
   vs_info(0, "sandbox: each worker process enters it before it loads the host driver: %s", report.what);
}

/* SPDX-License-Identifier: MIT */
#include "worker/worker_process.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "os/sandbox.h"
#include "worker/shader_cache.h"

/* Set before the workers are made; a pooled worker inherits it. */
static uint64_t memory_bound;

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
vs_worker_bound_memory(uint64_t bytes)
{
   memory_bound = bytes;
}

void
vs_worker_enter_sandbox(void)
{
   /* Before the sandbox, which refuses setrlimit. */
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
      vs_info(0, "sandbox: worker %d: %s%s in force", (int)getpid(), report.what, memory);
   else if (result != OS_SANDBOX_ALREADY)
      vs_warn(0, "sandbox: worker %d: not fully applied: %s%s; the worker keeps serving", (int)getpid(), report.what,
              memory);
}

void
vs_worker_describe_sandbox(void)
{
   struct os_sandbox_report report;
   os_sandbox_describe(&report);
   vs_info(0, "sandbox: each worker process enters it before it loads the host driver: %s", report.what);
}

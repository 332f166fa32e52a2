/* SPDX-License-Identifier: MIT */
/* The worker's sandbox off Linux (and with meson -Dos=posix): the portable
 * subset, resource limits lowered for good (soft and hard).
 *
 * RLIMIT_CORE 0: a crashed worker leaves no core with its tenant's data.
 * RLIMIT_NPROC 0: no new processes where the limit counts processes
 * (macOS, the BSDs); it binds only a worker that is not root. Linux counts
 * threads against it too, so there it would stop the driver's threads:
 * the -Dos=posix build on Linux leaves it out.
 *
 * Files and sockets stay open to the worker here. macOS would close them
 * with a Seatbelt profile (sandbox_init(3): deny network*, file-write*,
 * process-fork, process-exec, file-read* but the system's and the GPU's
 * paths); that is not written yet (docs/security.md "Workers' sandbox"). */
#include "os/sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "os/os.h"

static const char *
limit_to_zero(int resource)
{
   const struct rlimit zero = { 0, 0 };
   return setrlimit(resource, &zero) == 0 ? NULL : strerror(errno);
}

enum os_sandbox_result
os_sandbox_enter(const char *writable_dir, struct os_sandbox_report *report)
{
   (void)writable_dir; /* no file rules here */
   static int entered;
   report->what[0] = 0;
   if (__atomic_exchange_n(&entered, 1, __ATOMIC_ACQ_REL))
      return OS_SANDBOX_ALREADY;
   const int attach_err = os_refuse_attach();
   const char *attach_why = attach_err ? strerror(attach_err) : NULL;
   const char *core_why = limit_to_zero(RLIMIT_CORE);
#ifdef __linux__
   const char *nproc = "RLIMIT_NPROC left alone (Linux counts threads)";
#else
   const char *nproc_why = limit_to_zero(RLIMIT_NPROC);
   char nproc[96];
   if (nproc_why)
      snprintf(nproc, sizeof(nproc), "RLIMIT_NPROC not lowered (%s)", nproc_why);
   else
      snprintf(nproc, sizeof(nproc), "RLIMIT_NPROC 0%s", geteuid() == 0 ? " (not binding: root)" : "");
#endif
   char attach[96];
   snprintf(attach, sizeof(attach), "%s%s", attach_why ? "others may attach: " : "no attaching",
            attach_why ? attach_why : "");
   if (core_why)
      snprintf(report->what, sizeof(report->what), "%s, RLIMIT_CORE not lowered (%s), %s; no file or socket rules",
               attach, core_why, nproc);
   else
      snprintf(report->what, sizeof(report->what), "%s, RLIMIT_CORE 0, %s; no file or socket rules", attach, nproc);
#ifdef __linux__
   return core_why || attach_why ? OS_SANDBOX_WEAK : OS_SANDBOX_ENTERED;
#else
   return core_why || nproc_why || attach_why ? OS_SANDBOX_WEAK : OS_SANDBOX_ENTERED;
#endif
}

void
os_sandbox_describe(struct os_sandbox_report *report)
{
   snprintf(report->what, sizeof(report->what),
            "no attaching, RLIMIT_CORE 0, no controlling terminal, stdin from /dev/null and its log through the "
            "server; no file or socket rules (this build has no seccomp or Landlock backend)");
}

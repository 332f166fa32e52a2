/* SPDX-License-Identifier: MIT */
/* Plays a guest that owns its worker process: makes one of the worker's own
 * threads run a system call of the test's choosing (ptrace: the thread is
 * stopped, its registers pointed at a `syscall` instruction it was blocked
 * in, one step run, everything put back). What the call returns is what a
 * guest that took the worker over through a host-driver bug would get:
 * the worker's sandbox, not this program, decides it.
 *
 *   worker_inject TID open PATH FLAGS   open(PATH, FLAGS): fd or -errno
 *                                       (an fd it got is closed again)
 *   worker_inject TID ioctl FD REQUEST  ioctl(FD, REQUEST, "x"): -errno or 0
 *
 * Prints the result as a decimal number; exits 2 when the thread cannot be
 * used (not stopped in a system call, or not x86-64): the caller skips it.
 * Needs CAP_SYS_PTRACE (the worker is not dumpable). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)

/* Where the argument bytes go: below the thread's stack pointer, past the
 * red zone. */
#define SCRATCH_BELOW 4096
#define SCRATCH_WORDS 64

static int
usage(void)
{
   fprintf(stderr, "usage: worker_inject TID open PATH FLAGS | worker_inject TID ioctl FD REQUEST\n");
   return 1;
}

static long
inject(pid_t tid, const struct user_regs_struct *saved, uint64_t at, long nr, const uint64_t *args)
{
   struct user_regs_struct regs = *saved;
   regs.rax = (uint64_t)nr;
   regs.orig_rax = (uint64_t)-1; /* not a system call to restart */
   regs.rdi = args[0];
   regs.rsi = args[1];
   regs.rdx = args[2];
   regs.r10 = args[3];
   regs.rip = at;
   int status;
   if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) != 0 || ptrace(PTRACE_SINGLESTEP, tid, NULL, NULL) != 0 ||
       waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status) || ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0)
      return LONG_MIN;
   return (long)regs.rax;
}

int
main(int argc, char **argv)
{
   if (argc != 5)
      return usage();
   const pid_t tid = (pid_t)atoi(argv[1]);
   const bool is_open = strcmp(argv[2], "open") == 0;
   if (!is_open && strcmp(argv[2], "ioctl") != 0)
      return usage();

   int status;
   if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0 || ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 ||
       waitpid(tid, &status, __WALL) != tid) {
      fprintf(stderr, "worker_inject: cannot stop thread %d: %s\n", (int)tid, strerror(errno));
      return 2;
   }
   struct user_regs_struct saved;
   if (ptrace(PTRACE_GETREGS, tid, NULL, &saved) != 0)
      return 2;
   /* A thread stopped in a blocking call sits just past its `syscall`. */
   errno = 0;
   long code = ptrace(PTRACE_PEEKTEXT, tid, (void *)(saved.rip - 2), NULL);
   if (errno || (code & 0xffff) != 0x050f) {
      ptrace(PTRACE_DETACH, tid, NULL, NULL);
      fprintf(stderr, "worker_inject: thread %d is not in a system call\n", (int)tid);
      return 2;
   }
   const uint64_t scratch = (saved.rsp - SCRATCH_BELOW) & ~(uint64_t)15;
   uint64_t kept[SCRATCH_WORDS];
   for (unsigned i = 0; i < SCRATCH_WORDS; i++)
      kept[i] = (uint64_t)ptrace(PTRACE_PEEKDATA, tid, (void *)(scratch + 8 * i), NULL);
   char bytes[SCRATCH_WORDS * 8] = { 0 };
   snprintf(bytes, sizeof(bytes), "%s", is_open ? argv[3] : "x");
   for (unsigned i = 0; i < SCRATCH_WORDS; i++) {
      uint64_t word;
      memcpy(&word, bytes + 8 * i, 8);
      ptrace(PTRACE_POKEDATA, tid, (void *)(scratch + 8 * i), (void *)word);
   }

   long result;
   if (is_open) {
      const uint64_t args[4] = { (uint64_t)-100 /* AT_FDCWD */, scratch, strtoull(argv[4], NULL, 0), 0 };
      result = inject(tid, &saved, saved.rip - 2, SYS_openat, args);
      if (result >= 0) {
         const uint64_t close_args[4] = { (uint64_t)result, 0, 0, 0 };
         inject(tid, &saved, saved.rip - 2, SYS_close, close_args);
      }
   } else {
      const uint64_t args[4] = { strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0), scratch, 0 };
      result = inject(tid, &saved, saved.rip - 2, SYS_ioctl, args);
   }

   for (unsigned i = 0; i < SCRATCH_WORDS; i++)
      ptrace(PTRACE_POKEDATA, tid, (void *)(scratch + 8 * i), (void *)kept[i]);
   ptrace(PTRACE_SETREGS, tid, NULL, &saved);
   ptrace(PTRACE_DETACH, tid, NULL, NULL);
   if (result == LONG_MIN)
      return 2;
   printf("%ld\n", result);
   return 0;
}

#else

int
main(void)
{
   fprintf(stderr, "worker_inject: x86-64 only\n");
   return 2;
}

#endif

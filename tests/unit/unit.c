/* SPDX-License-Identifier: MIT */
/* The runner behind unit.h. */
#include "unit.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds one test may run in its child before it is failed. */
#define UNIT_TIMEOUT_S 60

static char fail_reason[1024];
static char skip_reason[512];

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
   if (fail_reason[0])
      return;
   int n = snprintf(fail_reason, sizeof(fail_reason), "%s:%d: ", file, line);
   if (n < 0 || (size_t)n >= sizeof(fail_reason))
      n = 0;
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(fail_reason + n, sizeof(fail_reason) - (size_t)n, fmt, ap);
   va_end(ap);
   /* Keep the FAIL line one line. */
   for (char *c = fail_reason; *c; c++) {
      if (*c == '\n')
         *c = ' ';
   }
}

void
unit_skip(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
   va_end(ap);
   if (!skip_reason[0])
      snprintf(skip_reason, sizeof(skip_reason), "skipped");
}

bool
unit_failed(void)
{
   return fail_reason[0] != '\0';
}

void
unit_note(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("# ", stdout);
   vprintf(fmt, ap);
   fputc('\n', stdout);
   va_end(ap);
   fflush(stdout);
}

struct unit_val
unit_val_i(long long v)
{
   return (struct unit_val){ .kind = UNIT_I, .i = v };
}

struct unit_val
unit_val_u(unsigned long long v)
{
   return (struct unit_val){ .kind = UNIT_U, .u = v };
}

struct unit_val
unit_val_f(double v)
{
   return (struct unit_val){ .kind = UNIT_F, .f = v };
}

struct unit_val
unit_val_p(const volatile void *v)
{
   return (struct unit_val){ .kind = UNIT_P, .p = v };
}

static double
as_double(struct unit_val v)
{
   switch (v.kind) {
   case UNIT_I: return (double)v.i;
   case UNIT_U: return (double)v.u;
   case UNIT_F: return v.f;
   default: return (double)(uintptr_t)v.p;
   }
}

static uintptr_t
as_address(struct unit_val v)
{
   return v.kind == UNIT_P ? (uintptr_t)v.p : v.kind == UNIT_I ? (uintptr_t)v.i : (uintptr_t)v.u;
}

int
unit_val_cmp(struct unit_val a, struct unit_val b)
{
   if (a.kind == UNIT_F || b.kind == UNIT_F) {
      double x = as_double(a), y = as_double(b);
      return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2; /* NaN: unequal to all */
   }
   if (a.kind == UNIT_P || b.kind == UNIT_P) {
      uintptr_t x = as_address(a), y = as_address(b);
      return x < y ? -1 : x > y;
   }
   if (a.kind == UNIT_I && b.kind == UNIT_I)
      return a.i < b.i ? -1 : a.i > b.i;
   /* At least one is unsigned: a negative signed value is below it. */
   if (a.kind == UNIT_I && a.i < 0)
      return -1;
   if (b.kind == UNIT_I && b.i < 0)
      return 1;
   unsigned long long x = a.kind == UNIT_I ? (unsigned long long)a.i : a.u;
   unsigned long long y = b.kind == UNIT_I ? (unsigned long long)b.i : b.u;
   return x < y ? -1 : x > y;
}

static void
format_val(char *buf, size_t size, struct unit_val v)
{
   switch (v.kind) {
   case UNIT_I:
      snprintf(buf, size, "%lld", v.i);
      break;
   case UNIT_U:
      if (v.u > 9)
         snprintf(buf, size, "%llu (0x%llx)", v.u, v.u);
      else
         snprintf(buf, size, "%llu", v.u);
      break;
   case UNIT_F:
      snprintf(buf, size, "%.17g", v.f);
      break;
   default:
      if (v.p)
         snprintf(buf, size, "%p", (const void *)v.p);
      else
         snprintf(buf, size, "NULL");
      break;
   }
}

bool
unit_check_cmp(bool holds, const char *file, int line, const char *expr, struct unit_val a,
               struct unit_val b)
{
   if (holds)
      return true;
   char x[64], y[64];
   format_val(x, sizeof(x), a);
   format_val(y, sizeof(y), b);
   unit_fail(file, line, "CHECK(%s) failed: %s vs %s", expr, x, y);
   return false;
}

bool
unit_str_eq(const char *a, const char *b)
{
   if (!a || !b)
      return a == b;
   return strcmp(a, b) == 0;
}

bool
unit_str_contains(const char *s, const char *sub)
{
   return s && sub && strstr(s, sub) != NULL;
}

enum outcome { PASSED, FAILED, SKIPPED };

/* Runs one test in this process. */
static enum outcome
run_here(const struct unit_test *t)
{
   fail_reason[0] = '\0';
   skip_reason[0] = '\0';
   t->fn();
   return unit_failed() ? FAILED : skip_reason[0] ? SKIPPED : PASSED;
}

/* Runs one test in a child, which reports its failure (F) or skip (S)
 * reason through a pipe; a crash, an exit or a hang in the test fails it. */
static enum outcome
run_forked(const struct unit_test *t, char *why, size_t why_size)
{
   int fds[2];
   if (pipe(fds) != 0) {
      snprintf(why, why_size, "pipe failed");
      return FAILED;
   }
   fflush(stdout);
   fflush(stderr);
   pid_t pid = fork();
   if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      snprintf(why, why_size, "fork failed");
      return FAILED;
   }
   if (pid == 0) {
      close(fds[0]);
      alarm(UNIT_TIMEOUT_S);
      enum outcome o = run_here(t);
      if (o != PASSED) {
         char msg[sizeof(fail_reason) + 1];
         snprintf(msg, sizeof(msg), "%c%s", o == FAILED ? 'F' : 'S',
                  o == FAILED ? fail_reason : skip_reason);
         size_t len = strlen(msg);
         const char *p = msg;
         while (len > 0) {
            ssize_t n = write(fds[1], p, len);
            if (n <= 0)
               break;
            p += n;
            len -= (size_t)n;
         }
      }
      fflush(stdout);
      fflush(stderr);
      /* exit, not _exit: LeakSanitizer runs at exit. */
      exit(o == FAILED ? 1 : 0);
   }
   close(fds[1]);
   size_t got = 0;
   for (;;) {
      ssize_t n = read(fds[0], why + got, why_size - 1 - got);
      if (n <= 0)
         break;
      got += (size_t)n;
      if (got == why_size - 1)
         break;
   }
   why[got] = '\0';
   close(fds[0]);
   char kind = why[0];
   if (got > 0)
      memmove(why, why + 1, got); /* drop the kind, keep the NUL */
   int status;
   while (waitpid(pid, &status, 0) < 0) {
   }
   if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      if (kind != 'F')
         snprintf(why, why_size, "%s (signal %d)",
                  sig == SIGALRM ? "timed out" : "crashed", sig);
      return FAILED;
   }
   if (WEXITSTATUS(status) != 0) {
      if (kind != 'F')
         snprintf(why, why_size, "exited with status %d", WEXITSTATUS(status));
      return FAILED;
   }
   return kind == 'F' ? FAILED : kind == 'S' ? SKIPPED : PASSED;
}

int
unit_main(const struct unit_test *tests, size_t count, int argc, char **argv)
{
   const char *filters[64];
   size_t n_filters = 0;
   for (int i = 1; i < argc; i++) {
      struct stat st;
      if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
         if (chdir(argv[i]) != 0) {
            fprintf(stderr, "cannot enter %s\n", argv[i]);
            return 2;
         }
      } else if (n_filters < sizeof(filters) / sizeof(filters[0])) {
         filters[n_filters++] = argv[i];
      }
   }
   const char *nofork = getenv("UNIT_NOFORK");
   bool fork_each = !(nofork && nofork[0] && strcmp(nofork, "0") != 0);
   setvbuf(stdout, NULL, _IOLBF, 0);

   unsigned passed = 0, failed = 0, skipped = 0;
   for (size_t i = 0; i < count; i++) {
      const struct unit_test *t = &tests[i];
      bool selected = n_filters == 0;
      for (size_t f = 0; f < n_filters && !selected; f++)
         selected = strstr(t->name, filters[f]) != NULL;
      if (!selected)
         continue;
      char why[1100];
      enum outcome o;
      if (fork_each) {
         o = run_forked(t, why, sizeof(why));
      } else {
         o = run_here(t);
         snprintf(why, sizeof(why), "%s", o == FAILED ? fail_reason : skip_reason);
      }
      if (o == PASSED) {
         printf("PASS %s\n", t->name);
         passed++;
      } else if (o == SKIPPED) {
         printf("SKIP %s: %s\n", t->name, why);
         skipped++;
      } else {
         printf("FAIL %s: %s\n", t->name, why);
         failed++;
      }
   }
   printf("# %u passed, %u failed, %u skipped\n", passed, failed, skipped);
   return failed ? 1 : 0;
}

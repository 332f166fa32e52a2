/* SPDX-License-Identifier: MIT */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum vs_log_level vs_log_threshold = VS_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void
stderr_sink(enum vs_log_level level, const char *line, void *data)
{
   /* One write(2) per line keeps lines from concurrent threads whole, and
    * takes no stdio lock: safe in a worker process forked while another
    * thread was logging. */
   size_t len = strlen(line);
   while (len) {
      ssize_t n = write(STDERR_FILENO, line, len);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return;
      line += n;
      len -= (size_t)n;
   }
}

static vs_log_sink_fn log_sink = stderr_sink;
static void *log_sink_data;

void
vs_log_set_sink(vs_log_sink_fn sink, void *data)
{
   log_sink_data = data;
   log_sink = sink ? sink : stderr_sink;
}

int
vs_log_parse_level(const char *name, enum vs_log_level *out)
{
   for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
      if (strcmp(name, level_names[i]) == 0) {
         *out = (enum vs_log_level)i;
         return 1;
      }
   }
   return 0;
}

void
vs_log_msg(enum vs_log_level level, uint32_t ctx_id, const char *fmt, ...)
{
   char line[1024];
   int n = ctx_id ? snprintf(line, sizeof(line), "venus-server: %s: ctx %u: ", level_names[level], ctx_id)
                  : snprintf(line, sizeof(line), "venus-server: %s: ", level_names[level]);
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
   va_end(ap);
   size_t len = strlen(line);
   if (len < sizeof(line) - 1) {
      line[len] = '\n';
      line[len + 1] = '\0';
   }
   log_sink(level, line, log_sink_data);
}

uint32_t
vs_log_take_line(_Atomic uint32_t *left)
{
   uint32_t was = atomic_load(left);
   while (was && !atomic_compare_exchange_weak(left, &was, was - 1)) {
   }
   return was;
}

#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum vs_log_level vs_log_threshold = VS_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void
stderr_sink(enum vs_log_level level, const char *line, void *data)
{
   /* One fputs per line keeps lines from concurrent threads whole. */
   fputs(line, stderr);
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

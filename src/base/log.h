/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, prefixed with level and, where known, the
 * context id. Level from --log-level or $VENUS_SERVER_LOG
 * (error, warn, info, debug). */
#ifndef VS_LOG_H
#define VS_LOG_H

#include <stdint.h>

enum vs_log_level { VS_LOG_SILENT = -1, VS_LOG_ERROR, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };

extern enum vs_log_level vs_log_threshold;

/* Returns false if the name is not a level. */
int vs_log_parse_level(const char *name, enum vs_log_level *out);

/* Where finished lines go (default: stderr). A render-server worker or an
 * embedding VMM forwards them instead; the sink may be called from any
 * thread and gets the whole line, newline included. */
typedef void (*vs_log_sink_fn)(enum vs_log_level level, const char *line, void *data);
void vs_log_set_sink(vs_log_sink_fn sink, void *data);

void vs_log_msg(enum vs_log_level level, uint32_t ctx_id, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

#define vs_log(level, ctx_id, ...)                                                        \
   do {                                                                                \
      if ((level) <= vs_log_threshold)                                                \
         vs_log_msg((level), (ctx_id), __VA_ARGS__);                                    \
   } while (0)

/* A budget of lines above debug level that many threads (or processes,
 * through shared memory) take from: takes one if any is left and returns
 * how many there were (0: none, log at debug level; 1: this was the
 * last). */
uint32_t vs_log_take_line(_Atomic uint32_t *left);

/* ctx_id 0 means "no context" (server-wide events). */
#define vs_error(ctx_id, ...) vs_log(VS_LOG_ERROR, ctx_id, __VA_ARGS__)
#define vs_warn(ctx_id, ...) vs_log(VS_LOG_WARN, ctx_id, __VA_ARGS__)
#define vs_info(ctx_id, ...) vs_log(VS_LOG_INFO, ctx_id, __VA_ARGS__)
#define vs_debug(ctx_id, ...) vs_log(VS_LOG_DEBUG, ctx_id, __VA_ARGS__)

#endif

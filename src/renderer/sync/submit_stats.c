/* SPDX-License-Identifier: MIT */
#include "renderer/sync/submit_stats.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

static const char *const stage_names[VS_STAGE_COUNT] = {
   [VS_STAGE_PICKUP] = "pickup",     [VS_STAGE_WAKE] = "wake",         [VS_STAGE_DISPATCH] = "dispatch",
   [VS_STAGE_SUBMIT] = "submit",     [VS_STAGE_COMPLETE] = "complete", [VS_STAGE_WAIT] = "wait",
};

void
vs_submit_stats_init(struct vs_submit_stats *s, uint32_t command_types)
{
   s->on = true;
   s->command_count = calloc(command_types, sizeof(*s->command_count));
   s->command_ns = calloc(command_types, sizeof(*s->command_ns));
   if (s->command_count && s->command_ns)
      s->command_types = command_types;
}

void
vs_submit_stats_fini(struct vs_submit_stats *s)
{
   free(s->command_count);
   free(s->command_ns);
   s->command_count = s->command_ns = NULL;
   s->command_types = 0;
}

void
vs_submit_stats_add_command(struct vs_submit_stats *s, uint32_t type, uint64_t ns)
{
   if (type >= s->command_types)
      return;
   atomic_fetch_add_explicit(&s->command_count[type], 1, memory_order_relaxed);
   atomic_fetch_add_explicit(&s->command_ns[type], ns, memory_order_relaxed);
}

void
vs_submit_stats_add(struct vs_submit_stats *s, enum vs_submit_stage stage, uint64_t ns)
{
   atomic_fetch_add_explicit(&s->count[stage], 1, memory_order_relaxed);
   atomic_fetch_add_explicit(&s->total_ns[stage], ns, memory_order_relaxed);
   uint64_t max = atomic_load_explicit(&s->max_ns[stage], memory_order_relaxed);
   while (ns > max && !atomic_compare_exchange_weak(&s->max_ns[stage], &max, ns))
      ;
}

/* The commands with the most total time, most first. */
#define TOP_COMMANDS 16

static void
log_commands(const struct vs_submit_stats *s, uint32_t ctx_id, const char *(*command_name)(uint32_t))
{
   uint32_t top[TOP_COMMANDS];
   uint32_t n_top = 0;
   for (uint32_t t = 0; t < s->command_types; t++) {
      uint64_t ns = atomic_load(&s->command_ns[t]);
      if (!atomic_load(&s->command_count[t]))
         continue;
      uint32_t at = n_top;
      while (at > 0 && atomic_load(&s->command_ns[top[at - 1]]) < ns)
         at--;
      if (at >= TOP_COMMANDS)
         continue;
      uint32_t last = n_top < TOP_COMMANDS ? n_top++ : TOP_COMMANDS - 1;
      for (uint32_t i = last; i > at; i--)
         top[i] = top[i - 1];
      top[at] = t;
   }
   char line[1024];
   int n = 0;
   for (uint32_t i = 0; i < n_top && n < (int)sizeof(line); i++) {
      uint64_t count = atomic_load(&s->command_count[top[i]]), total = atomic_load(&s->command_ns[top[i]]);
      n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s %llu x %.2f us", i ? "; " : "",
                    command_name(top[i]), (unsigned long long)count, (double)total / 1000.0 / (double)count);
   }
   if (n_top)
      vs_info(ctx_id, "command stats: %s", line);
}

void
vs_submit_stats_log(const struct vs_submit_stats *s, uint32_t ctx_id, const char *(*command_name)(uint32_t))
{
   if (!s->on)
      return;
   char line[512];
   int n = 0;
   for (int i = 0; i < VS_STAGE_COUNT && n < (int)sizeof(line); i++) {
      uint64_t count = atomic_load(&s->count[i]), total = atomic_load(&s->total_ns[i]);
      n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s %llu x %.2f us (total %.0f us, max %.0f us)",
                    i ? "; " : "", stage_names[i], (unsigned long long)count,
                    count ? (double)total / 1000.0 / (double)count : 0.0, (double)total / 1000.0,
                    (double)atomic_load(&s->max_ns[i]) / 1000.0);
   }
   vs_info(ctx_id, "submit stats: %s", line);
   log_commands(s, ctx_id, command_name);
}

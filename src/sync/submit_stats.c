/* SPDX-License-Identifier: MIT */
#include "sync/submit_stats.h"

#include <stdio.h>

#include "base/log.h"

static const char *const stage_names[VS_STAGE_COUNT] = {
   [VS_STAGE_PICKUP] = "pickup",     [VS_STAGE_WAKE] = "wake",         [VS_STAGE_DISPATCH] = "dispatch",
   [VS_STAGE_SUBMIT] = "submit",     [VS_STAGE_COMPLETE] = "complete", [VS_STAGE_WAIT] = "wait",
};

void
vs_submit_stats_add(struct vs_submit_stats *s, enum vs_submit_stage stage, uint64_t ns)
{
   atomic_fetch_add_explicit(&s->count[stage], 1, memory_order_relaxed);
   atomic_fetch_add_explicit(&s->total_ns[stage], ns, memory_order_relaxed);
   uint64_t max = atomic_load_explicit(&s->max_ns[stage], memory_order_relaxed);
   while (ns > max && !atomic_compare_exchange_weak(&s->max_ns[stage], &max, ns))
      ;
}

void
vs_submit_stats_log(const struct vs_submit_stats *s, uint32_t ctx_id)
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
}

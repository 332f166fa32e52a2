/* SPDX-License-Identifier: MIT */
/* A context's restore (context.h: vs_context_restore): at a quiet point,
 * under the dispatch lock held exclusive, the renderer is torn down and a
 * fresh one rebuilt by replaying the journal through a runner of the
 * context side, as the guest's own commands (every check runs again; the
 * replies go nowhere: the guest had them). Rings, resources and the
 * object table's ids stay the context's. */
#include "context/context_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/ring.h"
#include "renderer/restore.h"
#include "os/os.h"
#include "base/log.h"

/* The journal's commands, one stream, their reply flags cleared. */
struct replay {
   uint8_t *bytes;
   size_t size, cap;
   uint32_t commands;
};

static bool
append_command(void *data, const void *bytes, size_t size)
{
   struct replay *p = data;
   if (size < 8)
      return false;
   if (size > p->cap - p->size) {
      size_t cap = p->cap ? p->cap : 1u << 16;
      while (cap - p->size < size)
         cap *= 2;
      uint8_t *grown = realloc(p->bytes, cap);
      if (!grown)
         return false;
      p->bytes = grown;
      p->cap = cap;
   }
   memcpy(p->bytes + p->size, bytes, size);
   /* The header is the command's type, then its flags. */
   memset(p->bytes + p->size + 4, 0, 4);
   p->size += size;
   p->commands++;
   return true;
}

/* Every ring has run all the guest gave it: under the exclusive lock, no
 * ring is inside a command either. */
static bool
rings_idle(struct vs_context *ctx)
{
   bool idle = true;
   pthread_mutex_lock(&ctx->rings_lock);
   for (struct vs_ring *r = ctx->rings; r && idle; r = r->next)
      idle = vs_ring_reached(r, atomic_load_explicit(r->tail, memory_order_acquire));
   pthread_mutex_unlock(&ctx->rings_lock);
   return idle;
}

/* Why the context cannot be restored now; "" when it can. */
static void
check(struct vs_context *ctx, uint64_t deadline_ns, char *why, size_t why_size)
{
   why[0] = '\0';
   if (!ctx->journaled)
      snprintf(why, why_size, "it keeps no journal");
   else if (ctx->journal.refused[0])
      snprintf(why, why_size, "its journal was refused: %.160s", ctx->journal.refused);
   else if (!rings_idle(ctx))
      snprintf(why, why_size, "a ring has commands not run yet");
   else
      vs_renderer_restore_check(&ctx->renderer, deadline_ns, why, why_size);
}

/* Tears the renderer down (in *teardown_ns), brings a fresh one up (on
 * host GPU `gpu`, unless -1) and replays `p` into it. False, the context
 * fatal, when the replay failed. */
static bool
rebuild(struct vs_context *ctx, const struct replay *p, struct vs_restore *s, int gpu, uint64_t *teardown_ns)
{
   struct vs_renderer_options options = ctx->renderer.options;
   if (gpu >= 0)
      options.device_index = gpu;
   const uint64_t start_ns = os_now_ns();
   vs_renderer_fini(&ctx->renderer);
   *teardown_ns = os_now_ns() - start_ns;
   vs_context_start_renderer(ctx, &options);

   /* The replay keeps what it runs in a journal of its own. */
   const size_t limit = ctx->journal.limit_bytes;
   const vs_journal_alive_fn alive = ctx->journal.alive;
   void *alive_data = ctx->journal.alive_data;
   vs_journal_fini(&ctx->journal);
   if (!vs_journal_init(&ctx->journal, limit, alive, alive_data)) {
      ctx->journaled = false;
      vs_context_set_fatal(ctx, "restore: out of memory for the journal");
      return false;
   }

   struct vs_runner replay;
   vs_context_init_dispatch(ctx, &replay, NULL);
   replay.lock = NULL; /* held exclusive by the restore */
   ctx->renderer.kept_regions = &s->regions;
   bool ok = vs_runner_stream(&replay, p->bytes, p->size, NULL, NULL);
   ctx->renderer.kept_regions = NULL;
   vs_runner_fini(&replay);
   char why[192];
   if (ok && !vs_renderer_restore_settle(&ctx->renderer, s, why, sizeof(why))) {
      char reason[256];
      snprintf(reason, sizeof(reason), "restore: %s", why);
      vs_context_set_fatal(ctx, reason);
      ok = false;
   }
   return ok;
}

/* How long a restore waits for the rings to run what they were given,
 * and the host queues to finish it. */
#define RESTORE_SETTLE_MS 200

bool
vs_context_restore(struct vs_context *ctx, bool move)
{
   const uint64_t start_ns = os_now_ns(), deadline_ns = start_ns + RESTORE_SETTLE_MS * 1000000ull;
   /* The guest wrote its rings before it sent this context-side stream;
    * the rings' threads run that meanwhile, with no lock of ours held. */
   while (!rings_idle(ctx) && os_now_ns() < deadline_ns && vs_context_running(ctx))
      os_sleep_ns(1000000);
   vs_dispatch_lock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   if (!ctx->renderer.instance) {
      /* Nothing made yet, or all of it destroyed: nothing to rebuild. */
      vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
      return true;
   }
   char why[192];
   check(ctx, deadline_ns, why, sizeof(why));
   const int from = ctx->renderer.options.device_index;
   const int gpu = !why[0] && move ? vs_renderer_restore_next_gpu(&ctx->renderer, why, sizeof(why)) : -1;
   struct replay p = { 0 };
   struct vs_restore s = { 0 };
   const uint64_t quiet_ns = os_now_ns();
   /* What no living object needs (a freed allocation's create and free)
    * would cost the replay for nothing. */
   if (!why[0])
      vs_journal_prune(&ctx->journal);
   if (!why[0] && !vs_journal_walk(&ctx->journal, append_command, &p))
      snprintf(why, sizeof(why), "out of memory for its replay");
   if (!why[0])
      vs_renderer_restore_take(&ctx->renderer, &s, why, sizeof(why));
   if (why[0]) {
      vs_restore_fini(&s);
      vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
      free(p.bytes);
      vs_info(ctx->id, "restore refused: %s; the context goes on as it was", why);
      return false;
   }
   const uint32_t regions = s.regions.count, syncs = s.sync_count, copies = s.content_count;
   const uint32_t images = s.images_copied;
   const uint64_t copied_bytes = s.content_bytes;
   uint64_t teardown_ns = 0;
   bool ok = rebuild(ctx, &p, &s, gpu, &teardown_ns);
   const uint64_t copy_ns = s.copy_ns;
   vs_restore_fini(&s);
   vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   free(p.bytes);
   char moved[48] = "";
   if (gpu >= 0)
      snprintf(moved, sizeof(moved), " on GPU %d, moved from GPU %d", gpu, from);
   if (ok)
      vs_info(ctx->id, "restore: rebuilt%s from %u lasting commands (%zu bytes) in %.1f ms (%.1f of them tearing "
              "down) after %.1f ms waiting for a quiet point; %u memory regions imported again, %u allocations "
              "and %u images copied through the GPU (%llu bytes, %.1f ms out and back), %u sync objects set as they "
              "were", moved, p.commands, p.size, (double)(os_now_ns() - quiet_ns) / 1e6, (double)teardown_ns / 1e6,
              (double)(quiet_ns - start_ns) / 1e6, regions, copies, images, (unsigned long long)copied_bytes,
              (double)copy_ns / 1e6, syncs);
   return ok;
}

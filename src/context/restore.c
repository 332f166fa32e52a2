/* SPDX-License-Identifier: MIT */
/* A context's restore (context.h: vs_context_restore): at a quiet point,
 * under the dispatch lock held exclusive, the renderer is torn down and a
 * fresh one rebuilt by replaying the journal through a runner of the
 * context side, as the guest's own commands (every check runs again; the
 * replies go nowhere: the guest had them). Rings, resources and the
 * object table's ids stay the context's. */
#include "context/context_state.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "context/ring.h"
#include "renderer/restore.h"
#include "os/os.h"
#include "base/log.h"
#include "base/parcel.h"
#include "base/test_faults.h"

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

/* A snapshot: the replay's stream, then the renderer's state. */
static bool
snapshot_write(const struct replay *p, const struct vs_restore *s, struct vs_parcel *out, char *why, size_t why_size)
{
   vs_parcel_put_u32(out, p->commands);
   vs_parcel_put_u64(out, p->size);
   vs_parcel_put(out, p->bytes, p->size);
   return vs_restore_write(s, out, why, why_size);
}

static bool
snapshot_read(struct vs_parcel *in, struct replay *p, struct vs_restore *s, char *why, size_t why_size)
{
   uint64_t size = 0;
   *p = (struct replay){ 0 };
   if (!vs_parcel_take_u32(in, &p->commands) || !vs_parcel_take_u64(in, &size) || size > in->size - in->at ||
       !(p->bytes = malloc(size ? size : 1))) {
      snprintf(why, why_size, "its snapshot is bad: its replay");
      return false;
   }
   vs_parcel_take(in, p->bytes, size);
   p->size = p->cap = size;
   if (!vs_restore_read(in, s, why, why_size)) {
      free(p->bytes);
      *p = (struct replay){ 0 };
      return false;
   }
   return true;
}

struct send_job {
   int sock;
   const struct vs_parcel *parcel;
   int result, error;
};

static void *
send_parcel(void *data)
{
   struct send_job *job = data;
   job->result = vs_parcel_send(job->sock, job->parcel);
   job->error = job->result < 0 ? errno : 0;
   close(job->sock);
   return NULL;
}

/* The test switch's :snapshot: the taken state crosses a socket as a
 * snapshot (bytes and fds, no pointer) and is read back, as a fresh
 * worker would read it; on success *p and *s are what was read. */
static bool
through_snapshot(struct replay *p, struct vs_restore *s, char *said, size_t said_size, char *why, size_t why_size)
{
   struct vs_parcel out = { 0 }, in = { 0 };
   int sv[2];
   if (!snapshot_write(p, s, &out, why, why_size)) {
      vs_parcel_fini(&out);
      return false;
   }
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      snprintf(why, why_size, "no socket for its snapshot: %s", strerror(errno));
      vs_parcel_fini(&out);
      return false;
   }
   struct send_job job = { sv[0], &out, 0, 0 };
   pthread_t sender;
   if (pthread_create(&sender, NULL, send_parcel, &job) != 0) {
      snprintf(why, why_size, "no thread to send its snapshot");
      close(sv[0]);
      close(sv[1]);
      vs_parcel_fini(&out);
      return false;
   }
   const int got = vs_parcel_recv(sv[1], &in, SIZE_MAX / 2, UINT32_MAX / 2, why, why_size);
   close(sv[1]);
   pthread_join(sender, NULL);
   const size_t bytes = out.size;
   const uint32_t fds = out.fd_count;
   vs_parcel_fini(&out);
   if (job.result < 0 && got == 0)
      snprintf(why, why_size, "sending its snapshot failed: %s", strerror(job.error));
   struct replay read_p;
   struct vs_restore read_s;
   const bool ok = got == 0 && job.result == 0 && snapshot_read(&in, &read_p, &read_s, why, why_size);
   vs_parcel_fini(&in);
   if (!ok)
      return false;
   /* The copies' charge is the state's, wherever it was read. */
   read_s.ledger = s->ledger;
   read_s.charged = s->charged;
   s->charged = 0;
   free(p->bytes);
   vs_restore_fini(s);
   *p = read_p;
   *s = read_s;
   snprintf(said, said_size, "; its state crossed as a snapshot of %zu bytes and %u fds", bytes, fds);
   return true;
}

/* How long a restore waits for the rings to run what they were given,
 * and the host queues to finish it. */
#define RESTORE_SETTLE_MS 200

/* What a restore took at its quiet point, the dispatch lock held
 * exclusive until it is rebuilt (here or in another worker). */
struct vs_context_taken {
   struct replay p;
   struct vs_restore s;
   int gpu, from; /* rebuilt on host GPU `gpu` (-1: its own), moved from `from` */
   uint64_t start_ns, quiet_ns;
   char why[192]; /* a refusal's */
};

enum take_result { TAKEN, NOTHING_MADE, REFUSED };

/* The quiet point, the check and the take: TAKEN with the dispatch lock
 * held exclusive and *t filled in; else the context goes on as it was,
 * a refusal's reason in t->why. A checkpoint's take (`borrow`) leaves
 * every allocation its region. */
static enum take_result
take(struct vs_context *ctx, bool move, bool keep_fds, bool borrow, struct vs_context_taken *t)
{
   *t = (struct vs_context_taken){ .gpu = -1, .start_ns = os_now_ns() };
   const uint64_t deadline_ns = t->start_ns + RESTORE_SETTLE_MS * 1000000ull;
   /* The guest wrote its rings before it sent this context-side stream;
    * the rings' threads run that meanwhile, with no lock of ours held. */
   while (!rings_idle(ctx) && os_now_ns() < deadline_ns && vs_context_running(ctx))
      os_sleep_ns(1000000);
   vs_dispatch_lock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   if (!ctx->renderer.instance) {
      /* Nothing made yet, or all of it destroyed: nothing to rebuild. */
      vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
      return NOTHING_MADE;
   }
   char *why = t->why;
   const size_t why_size = sizeof(t->why);
   check(ctx, deadline_ns, why, why_size);
   t->from = ctx->renderer.options.device_index;
   t->gpu = !why[0] && move ? vs_renderer_restore_next_gpu(&ctx->renderer, why, why_size) : -1;
   t->quiet_ns = os_now_ns();
   /* What no living object needs (a freed allocation's create and free)
    * would cost the replay for nothing. */
   if (!why[0])
      vs_journal_prune(&ctx->journal);
   if (!why[0] && !vs_journal_walk(&ctx->journal, append_command, &t->p))
      snprintf(why, why_size, "out of memory for its replay");
   t->s.keep_fds = keep_fds;
   t->s.borrow_regions = borrow;
   if (!why[0])
      vs_renderer_restore_take(&ctx->renderer, &t->s, why, why_size);
   if (why[0]) {
      vs_restore_fini(&t->s);
      vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
      free(t->p.bytes);
      t->p.bytes = NULL;
      return REFUSED;
   }
   return TAKEN;
}

static void
log_refusal(const struct vs_context *ctx, const char *verb, const struct vs_context_taken *t)
{
   vs_info(ctx->id, "%s refused: %s; the context goes on as it was", verb, t->why);
}

/* Rebuilds the taken state in this context, logs it (`said` ends the
 * line), frees *t and lets the context run again. */
static bool
rebuild_taken(struct vs_context *ctx, struct vs_context_taken *t, const char *said)
{
   const uint32_t regions = t->s.regions.count, syncs = t->s.sync_count, copies = t->s.content_count;
   const uint32_t images = t->s.images_copied;
   const uint64_t copied_bytes = t->s.content_bytes;
   uint64_t teardown_ns = 0;
   const bool ok = rebuild(ctx, &t->p, &t->s, t->gpu, &teardown_ns);
   const uint64_t copy_ns = t->s.copy_ns;
   vs_restore_fini(&t->s);
   vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   free(t->p.bytes);
   char moved[48] = "";
   if (t->gpu >= 0)
      snprintf(moved, sizeof(moved), " on GPU %d, moved from GPU %d", t->gpu, t->from);
   if (ok)
      vs_info(ctx->id, "restore: rebuilt%s from %u lasting commands (%zu bytes) in %.1f ms (%.1f of them tearing "
              "down) after %.1f ms waiting for a quiet point; %u memory regions imported again, %u allocations "
              "and %u images copied through the GPU (%llu bytes, %.1f ms out and back), %u sync objects set as they "
              "were%s", moved, t->p.commands, t->p.size, (double)(os_now_ns() - t->quiet_ns) / 1e6,
              (double)teardown_ns / 1e6, (double)(t->quiet_ns - t->start_ns) / 1e6, regions, copies, images,
              (unsigned long long)copied_bytes, (double)copy_ns / 1e6, syncs, said);
   return ok;
}

bool
vs_context_restore(struct vs_context *ctx, bool move)
{
   struct vs_context_taken t;
   const enum take_result taken = take(ctx, move, vs_test_faults.restore_snapshot, false, &t);
   if (taken == REFUSED)
      log_refusal(ctx, "restore", &t);
   if (taken != TAKEN)
      return taken == NOTHING_MADE;
   /* Taken: the allocations no longer hold their regions, so a snapshot
    * that fails falls back on the state as taken. */
   char snapshot_why[192] = "", snapshot[80] = "";
   if (vs_test_faults.restore_snapshot &&
       !through_snapshot(&t.p, &t.s, snapshot, sizeof(snapshot), snapshot_why, sizeof(snapshot_why)))
      vs_warn(ctx->id, "restore: %s; rebuilt from the state as taken", snapshot_why);
   return rebuild_taken(ctx, &t, snapshot);
}

/* The snapshot's version: a worker reads only its own. */
#define CONTEXT_SNAPSHOT_VERSION 1

/* The context's whole state as taken: `why` set when it could not be
 * written. */
static void
write_taken(struct vs_context *ctx, const struct vs_context_taken *t, struct vs_parcel *out, char *why,
            size_t why_size)
{
   vs_parcel_put_u32(out, CONTEXT_SNAPSHOT_VERSION);
   vs_parcel_put_u64(out, ctx->steps);
   /* The pause the fresh worker reports: the clock is the host's. */
   vs_parcel_put_u64(out, t->quiet_ns);
   if (vs_context_write_resources(ctx, out, why, why_size) && snapshot_write(&t->p, &t->s, out, why, why_size))
      vs_context_write_rings(ctx, out, why, why_size);
}

bool
vs_context_hand_over(struct vs_context *ctx, struct vs_parcel *out)
{
   ctx->hand_over_due = false;
   if (!vs_context_settle_ring_wait(ctx))
      return false;
   struct vs_context_taken *t = malloc(sizeof(*t));
   if (!t) {
      vs_info(ctx->id, "hand-over refused: out of memory; the context goes on as it was");
      return false;
   }
   const enum take_result taken = take(ctx, false, true, false, t);
   if (taken == REFUSED)
      log_refusal(ctx, "hand-over", t);
   if (taken != TAKEN) {
      free(t);
      return false;
   }
   char why[192] = "";
   write_taken(ctx, t, out, why, sizeof(why));
   ctx->taken = t;
   if (why[0]) {
      vs_context_hand_over_failed(ctx, why);
      return false;
   }
   return true;
}

void
vs_context_watch_checkpoints(struct vs_context *ctx, vs_checkpoint_spoiled_fn spoiled, void *data)
{
   ctx->checkpoint_spoiled = spoiled;
   ctx->checkpoint_data = data;
}

void
vs_context_drop_checkpoint(struct vs_context *ctx)
{
   if (!ctx->checkpoint_kept)
      return;
   vs_restore_fini(ctx->checkpoint_kept);
   free(ctx->checkpoint_kept);
   ctx->checkpoint_kept = NULL;
}

bool
vs_context_checkpoint(struct vs_context *ctx, struct vs_parcel *out, vs_checkpoint_publish_fn publish, void *data)
{
   if (!ctx->checkpoint_spoiled || !vs_context_settle_ring_wait(ctx))
      return false;
   struct vs_context_taken *t = malloc(sizeof(*t));
   if (!t)
      return false;
   const enum take_result taken = take(ctx, false, true, true, t);
   if (taken != TAKEN) {
      /* A reason that lasts (a query pool) is said once, not per quiet point. */
      if (taken == REFUSED && strcmp(t->why, ctx->checkpoint_refusal) != 0) {
         snprintf(ctx->checkpoint_refusal, sizeof(ctx->checkpoint_refusal), "%s", t->why);
         vs_info(ctx->id, "checkpoint refused: %s; until one is taken, a client whose worker dies is not restored",
                 t->why);
      }
      free(t);
      return false;
   }
   ctx->checkpoint_refusal[0] = '\0';
   char why[192] = "";
   write_taken(ctx, t, out, why, sizeof(why));
   /* Published while nothing runs: a ring that saw new commands waits on
    * the dispatch lock and spoils the checkpoint before it runs them. */
   bool published = !why[0] && publish(data, out);
   if (published) {
      pthread_mutex_lock(&ctx->checkpoint_lock);
      atomic_store_explicit(&ctx->checkpoint_armed, true, memory_order_release);
      pthread_mutex_unlock(&ctx->checkpoint_lock);
   } else if (why[0]) {
      vs_info(ctx->id, "checkpoint not taken: %s", why);
   }
   vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   free(t->p.bytes);
   const uint32_t commands = t->p.commands;
   const uint64_t copied = t->s.content_bytes;
   const double ms = (double)(os_now_ns() - t->start_ns) / 1e6;
   /* The newest checkpoint's host copies stay charged while it is kept. */
   vs_context_drop_checkpoint(ctx);
   if (published) {
      ctx->checkpoint_kept = malloc(sizeof(*ctx->checkpoint_kept));
      if (ctx->checkpoint_kept)
         *ctx->checkpoint_kept = t->s;
      else
         vs_restore_fini(&t->s);
      /* The first one said, the rest at debug level. */
      const enum vs_log_level level = ctx->checkpoints++ ? VS_LOG_DEBUG : VS_LOG_INFO;
      vs_log(level, ctx->id,
             "checkpoint: %u lasting commands and %llu bytes copied through the GPU, %zu bytes and %u fds in all, "
             "taken in %.1f ms", commands, (unsigned long long)copied, out->size, out->fd_count, ms);
   } else {
      vs_restore_fini(&t->s);
   }
   free(t);
   return published;
}

void
vs_context_checkpoint_spoil(struct vs_context *ctx)
{
   if (!atomic_load_explicit(&ctx->checkpoint_armed, memory_order_acquire))
      return;
   pthread_mutex_lock(&ctx->checkpoint_lock);
   if (atomic_load_explicit(&ctx->checkpoint_armed, memory_order_relaxed)) {
      ctx->checkpoint_spoiled(ctx->checkpoint_data);
      atomic_store_explicit(&ctx->checkpoint_armed, false, memory_order_release);
   }
   pthread_mutex_unlock(&ctx->checkpoint_lock);
}

void
vs_context_hand_over_cancel(struct vs_context *ctx)
{
   ctx->hand_over_due = false;
}

void
vs_context_hand_over_failed(struct vs_context *ctx, const char *why)
{
   struct vs_context_taken *t = ctx->taken;
   ctx->taken = NULL;
   vs_warn(ctx->id, "hand-over: %s; rebuilt here from the state as taken", why);
   rebuild_taken(ctx, t, "");
   free(t);
}

struct vs_context *
vs_context_from_snapshot(uint32_t ctx_id, const char *debug_name, const struct vs_context_options *options,
                         struct vs_parcel *in, char *why, size_t why_size)
{
   const uint64_t start_ns = os_now_ns();
   uint32_t version = 0;
   uint64_t steps = 0, quiet_ns = 0;
   if (!vs_parcel_take_u32(in, &version) || version != CONTEXT_SNAPSHOT_VERSION || !vs_parcel_take_u64(in, &steps) ||
       !vs_parcel_take_u64(in, &quiet_ns)) {
      snprintf(why, why_size, "its snapshot is bad: not of version %u", CONTEXT_SNAPSHOT_VERSION);
      return NULL;
   }
   struct vs_context *ctx = vs_context_create(ctx_id, debug_name, options);
   if (!ctx) {
      snprintf(why, why_size, "out of memory for its context");
      return NULL;
   }
   ctx->steps = steps;
   struct replay p = { 0 };
   struct vs_restore s = { 0 };
   if (!ctx->journaled) {
      snprintf(why, why_size, "this worker keeps no journal");
      goto fail;
   }
   if (!vs_context_read_resources(ctx, in, why, why_size) || !snapshot_read(in, &p, &s, why, why_size))
      goto fail;
   vs_context_watch_regions(ctx, &s.regions);
   vs_dispatch_lock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   uint64_t teardown_ns = 0;
   const uint32_t regions = s.regions.count, syncs = s.sync_count, copies = s.content_count;
   bool ok = rebuild(ctx, &p, &s, -1, &teardown_ns);
   vs_restore_fini(&s);
   /* The rings start under the lock: none runs a command before its reply
    * window is set. */
   ok = ok && vs_context_read_rings(ctx, in, why, why_size);
   vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_EXCLUSIVE);
   if (!ok) {
      if (!why[0] || vs_context_is_fatal(ctx))
         snprintf(why, why_size, "its replay failed");
      goto fail;
   }
   /* Only a line says it: a writer's clock in the future reads as 0. */
   const uint64_t now_ns = os_now_ns(), paused_ns = quiet_ns < now_ns ? now_ns - quiet_ns : 0;
   vs_info(ctx->id, "restore: made from a snapshot of %u lasting commands (%zu bytes) in %.1f ms, %.1f ms after its "
           "quiet point in the worker before; %u resources, %u rings, %u memory regions, %u host copies, %u sync "
           "objects", p.commands, p.size, (double)(now_ns - start_ns) / 1e6, (double)paused_ns / 1e6,
           ctx->resources.count, ctx->ring_count, regions, copies, syncs);
   free(p.bytes);
   return ctx;
fail:
   free(p.bytes);
   vs_context_destroy(ctx);
   return NULL;
}

/* SPDX-License-Identifier: MIT */
#include "context/ring.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"
#include "base/log.h"
#include "context/context_state.h"
#include "wire/resource.h"


/* How long after activity the ring polls without sleeping: it spins on
 * the tail a microsecond at a time and yields the CPU in between
 * (os_poll_ns). Past it, short timed sleeps until the idle timeout. */
#define RING_SPIN_NS 50000ull

/* The longest a ring polls after activity before it goes idle, whatever
 * idleTimeout the guest asks for (Mesa: 1 ms): idle rings cost nothing,
 * polling ones a wakeup every 20 us. Mesa rate-limits its notifies to one
 * a millisecond, which any idle timeout of at least that keeps safe. */
#define RING_IDLE_TIMEOUT_MAX_NS 10000000ull

static void
publish_head(void *data, size_t consumed)
{
   struct vs_ring *ring = data;
   uint32_t head = ring->cur + (uint32_t)consumed;
   atomic_store_explicit(ring->head, head, memory_order_release);
   atomic_store(&ring->published_head, head);
   pthread_mutex_lock(&ring->lock);
   pthread_cond_broadcast(&ring->head_cond);
   pthread_mutex_unlock(&ring->lock);
}

/* Copies the pending bytes (which may wrap) out of the shared buffer, so the
 * guest cannot change a command while it is being decoded. */
static void
copy_pending(struct vs_ring *ring, uint32_t len)
{
   uint32_t pos = ring->cur & (ring->buffer_size - 1);
   uint32_t first = ring->buffer_size - pos < len ? ring->buffer_size - pos : len;
   memcpy(ring->cmds, ring->buffer + pos, first);
   memcpy(ring->cmds + first, ring->buffer, len - first);
}

bool
vs_ring_should_stop(struct vs_ring *ring)
{
   return atomic_load_explicit(&ring->stop, memory_order_acquire) || !vs_context_running(ring->ctx);
}

/* Whether the guest's tail moved past what the ring has taken. */
static bool
tail_moved(void *data)
{
   struct vs_ring *ring = data;
   return atomic_load_explicit(ring->tail, memory_order_relaxed) != ring->cur;
}

/* The first look at the tail after going idle, and the longest gap
 * between looks. */
#define RING_IDLE_LOOK_NS 1000000ull
#define RING_IDLE_LOOK_MAX_NS 1000000000ull

/* Sleeps until notified, unless the guest wrote more meanwhile. Mesa
 * stores the tail with release order and then loads the status: on x86
 * that load may pass the store, so a submission racing IDLE can find the
 * ring busy and send no notify while its tail is not visible here yet.
 * Such a tail shows within microseconds: the ring looks again after 1 ms,
 * then at doubling gaps up to 1 s, so no submission waits for a notify
 * that never comes. */
static void
ring_idle(struct vs_ring *ring)
{
   pthread_mutex_lock(&ring->lock);
   ring->notified = false;
   pthread_mutex_unlock(&ring->lock);

   atomic_fetch_or(ring->status, VS_RING_STATUS_IDLE);
   uint64_t gap_ns = RING_IDLE_LOOK_NS;
   pthread_mutex_lock(&ring->lock);
   while (!ring->notified && !ring->stop && atomic_load(ring->tail) == ring->cur) {
      os_cond_timedwait_ns(&ring->cond, &ring->lock, gap_ns);
      if (gap_ns < RING_IDLE_LOOK_MAX_NS)
         gap_ns *= 2;
   }
   pthread_mutex_unlock(&ring->lock);
   atomic_fetch_and(ring->status, ~VS_RING_STATUS_IDLE);
}

/* New commands spoil a checkpoint the transport published: said before
 * they run, under the dispatch lock, which a checkpoint holds exclusive
 * from its check that every ring is idle until it is published. */
static void
spoil_checkpoint(struct vs_context *ctx)
{
   vs_dispatch_lock(&ctx->dispatch_lock, VS_DISPATCH_SHARED);
   vs_context_checkpoint_spoil(ctx);
   vs_dispatch_unlock(&ctx->dispatch_lock, VS_DISPATCH_SHARED);
}

static void *
ring_thread(void *arg)
{
   struct vs_ring *ring = arg;
   struct vs_submit_stats *stats = &ring->ctx->renderer.stats;
   uint64_t last_active = os_now_ns();
   /* Submit stats: when the tail was last seen unchanged, and whether the
    * ring slept idle since (then: when it was notified). */
   uint64_t last_look = last_active;
   bool woke = false;
   os_thread_set_name("vs-ring");
   /* The short sleeps below are only worth it if the kernel honours them. */
   os_thread_set_timer_slack_ns(1000);

   while (!vs_ring_should_stop(ring)) {
      uint32_t tail = atomic_load_explicit(ring->tail, memory_order_acquire);
      uint32_t pending = tail - ring->cur;
      if (pending) {
         if (pending > ring->buffer_size || pending % 4) {
            vs_context_set_fatal(ring->ctx, "ring tail moved by an impossible amount");
            break;
         }
         uint64_t found = stats->on ? os_now_ns() : 0;
         if (found)
            vs_submit_stats_add(stats, woke ? VS_STAGE_WAKE : VS_STAGE_PICKUP, found - last_look);
         copy_pending(ring, pending);
         if (ring->ctx->checkpoint_spoiled)
            spoil_checkpoint(ring->ctx);
         bool ok = vs_runner_stream(&ring->dispatch, ring->cmds, pending, publish_head, ring);
         if (!ok)
            break;
         ring->cur = tail;
         last_active = last_look = os_now_ns();
         if (ring->ctx->activity_ns)
            atomic_store_explicit(ring->ctx->activity_ns, last_active, memory_order_relaxed);
         woke = false;
         if (found)
            vs_submit_stats_add(stats, VS_STAGE_DISPATCH, last_active - found);
         continue;
      }
      /* Never idle sooner than idleTimeout after activity: the guest
       * rate-limits its notifies on that promise. */
      last_look = os_now_ns();
      const uint64_t expected = atomic_load_explicit(&ring->expect_ns, memory_order_relaxed);
      if (expected > last_active && expected <= last_look)
         last_active = expected;
      woke = false;
      uint64_t quiet_ns = last_look - last_active;
      if (quiet_ns >= ring->idle_timeout_ns) {
         ring_idle(ring);
         last_active = os_now_ns();
         uint64_t notified = atomic_load(&ring->notify_ns);
         last_look = notified > last_look ? notified : last_active;
         woke = true;
         continue;
      }
      /* Until then the guest will not notify, so poll: spin right after
       * activity (the next command usually follows within microseconds;
       * a microsecond at a time, yielding the CPU in between), then sleep
       * briefly. The pickup latency is what a guest round trip costs, so
       * the sleeps stay short; they only happen in the idle window after
       * activity, and a wait on this ring's progress from the context
       * side (vkWaitRingSeqnoMESA: the guest wrote the commands it waits
       * for) cuts them short. */
      if (quiet_ns < RING_SPIN_NS) {
         if (!os_spin_ns(tail_moved, ring, 1000))
            sched_yield();
      } else {
         pthread_mutex_lock(&ring->lock);
         if (!ring->notified && !ring->stop)
            os_cond_timedwait_ns(&ring->cond, &ring->lock, quiet_ns < 4 * RING_SPIN_NS ? 5000 : 20000);
         ring->notified = false;
         pthread_mutex_unlock(&ring->lock);
      }
   }

   if (vs_runner_failed(&ring->dispatch) || !vs_context_running(ring->ctx))
      atomic_fetch_or(ring->status, VS_RING_STATUS_FATAL);
   pthread_mutex_lock(&ring->lock);
   ring->stopped = true;
   pthread_cond_broadcast(&ring->head_cond);
   pthread_mutex_unlock(&ring->lock);
   return NULL;
}

static void
ring_dispatch_fatal(void *data, const char *reason)
{
   struct vs_ring *ring = data;
   vs_context_set_fatal(ring->ctx, reason);
}

static bool
ring_dispatch_should_stop(void *data)
{
   return vs_ring_should_stop(data);
}

static bool
ring_dispatch_wait_abandoned(void *data)
{
   struct vs_ring *ring = data;
   return vs_ring_should_stop(ring) || vs_context_wait_abandoned(ring->ctx);
}

struct vs_runner_hooks
vs_ring_dispatch_hooks(struct vs_ring *ring)
{
   return (struct vs_runner_hooks){ ring_dispatch_fatal, ring_dispatch_should_stop, ring_dispatch_wait_abandoned,
                                    ring };
}

struct vs_ring *
vs_ring_create(struct vs_context *ctx, uint64_t id, struct vs_resource *res,
               const struct vs_ring_layout *l, uint32_t monitor_period_us, uint32_t start, const char **why)
{
   *why = res->is_shmem ? vs_ring_layout_check(l, res->size)
                        : "ring resource is not shared memory";
   if (*why)
      return NULL;
   uint8_t *base = res->map + l->offset;
   _Atomic uint32_t *head = (_Atomic uint32_t *)(base + l->head_offset);
   _Atomic uint32_t *status = (_Atomic uint32_t *)(base + l->status_offset);
   /* A ring made again from a snapshot starts where its head stopped;
    * its status is the guest's to read and stays as it is. */
   if (atomic_load(head) != start || (start == 0 && atomic_load(status) != 0)) {
      *why = start ? "ring head is not where its snapshot says" : "ring head or status not zero at creation";
      return NULL;
   }

   /* The ring's private copy of its buffer counts as the client's shared
    * memory: it is as large as the buffer, up to every ring's. */
   if (!vs_fair_take(&ctx->shmem, l->buffer_size, NULL, 0)) {
      *why = "its private copy of the buffer would pass the shared-memory limit";
      return NULL;
   }
   struct vs_ring *ring = calloc(1, sizeof(*ring));
   if (!ring || !(ring->cmds = malloc(l->buffer_size))) {
      free(ring);
      vs_fair_give(&ctx->shmem, l->buffer_size);
      *why = "out of memory";
      return NULL;
   }
   ring->id = id;
   ring->ctx = ctx;
   ring->res = res;
   ring->head = head;
   ring->tail = (_Atomic uint32_t *)(base + l->tail_offset);
   ring->status = status;
   ring->buffer = base + l->buffer_offset;
   ring->buffer_size = (uint32_t)l->buffer_size;
   ring->extra = base + l->extra_offset;
   ring->extra_size = l->extra_size;
   ring->idle_timeout_ns = l->idle_timeout_ns < RING_IDLE_TIMEOUT_MAX_NS ? l->idle_timeout_ns : RING_IDLE_TIMEOUT_MAX_NS;
   ring->monitor_period_us = monitor_period_us;
   ring->layout = *l;
   ring->cur = start; /* head and tail both start there */
   atomic_store(&ring->published_head, start);
   pthread_mutex_init(&ring->lock, NULL);
   os_cond_init(&ring->cond);
   os_cond_init(&ring->head_cond);
   vs_context_init_dispatch(ctx, &ring->dispatch, ring);

   if (pthread_create(&ring->thread, NULL, ring_thread, ring) != 0) {
      vs_runner_fini(&ring->dispatch);
      free(ring->cmds);
      free(ring);
      vs_fair_give(&ctx->shmem, l->buffer_size);
      *why = "cannot start the ring thread";
      return NULL;
   }
   return ring;
}

void
vs_ring_destroy(struct vs_ring *ring)
{
   pthread_mutex_lock(&ring->lock);
   ring->stop = true;
   pthread_cond_broadcast(&ring->cond);
   pthread_mutex_unlock(&ring->lock);
   pthread_join(ring->thread, NULL);
   vs_runner_fini(&ring->dispatch);
   vs_resource_put(&ring->ctx->resources, ring->res);
   pthread_cond_destroy(&ring->head_cond);
   pthread_cond_destroy(&ring->cond);
   pthread_mutex_destroy(&ring->lock);
   free(ring->cmds);
   vs_fair_give(&ring->ctx->shmem, ring->buffer_size);
   free(ring);
}

void
vs_ring_notify(struct vs_ring *ring)
{
   atomic_store(&ring->notify_ns, os_now_ns());
   pthread_mutex_lock(&ring->lock);
   ring->notified = true;
   pthread_cond_broadcast(&ring->cond);
   pthread_mutex_unlock(&ring->lock);
}

void
vs_ring_expect_commands(struct vs_ring *ring)
{
   atomic_store_explicit(&ring->expect_ns, os_now_ns(), memory_order_relaxed);
}

void
vs_ring_set_alive(struct vs_ring *ring)
{
   atomic_fetch_or(ring->status, VS_RING_STATUS_ALIVE);
}

void
vs_ring_set_fatal(struct vs_ring *ring)
{
   atomic_fetch_or(ring->status, VS_RING_STATUS_FATAL);
   vs_ring_notify(ring);
}

void
vs_ring_submit_virtqueue_seqno(struct vs_ring *ring, uint64_t seqno)
{
   pthread_mutex_lock(&ring->lock);
   ring->virtqueue_seqno = seqno;
   ring->notified = true;
   pthread_cond_broadcast(&ring->cond);
   pthread_mutex_unlock(&ring->lock);
}

/* A ring and the seqno a context-side wait wants of it. */
struct seqno_wait {
   struct vs_ring *ring;
   uint64_t seqno;
};

static bool
virtqueue_seqno_reached(void *data)
{
   const struct seqno_wait *w = data;
   return atomic_load(&w->ring->virtqueue_seqno) >= w->seqno;
}

static bool
head_reached(void *data)
{
   const struct seqno_wait *w = data;
   return (int32_t)(atomic_load(&w->ring->published_head) - (uint32_t)w->seqno) >= 0;
}

bool
vs_ring_wait_virtqueue_seqno(struct vs_ring *ring, uint64_t seqno)
{
   /* The guest sends the seqno on the virtqueue just before it writes
    * this wait into the ring: it is usually microseconds away. Poll first
    * rather than add a second wakeup to the socket thread's. */
   struct seqno_wait w = { ring, seqno };
   if (os_poll_ns(virtqueue_seqno_reached, &w, RING_SPIN_NS))
      return true;
   pthread_mutex_lock(&ring->lock);
   while (ring->virtqueue_seqno < seqno && !ring->stop) {
      pthread_mutex_unlock(&ring->lock);
      bool abandoned = vs_context_wait_abandoned(ring->ctx);
      pthread_mutex_lock(&ring->lock);
      if (abandoned || ring->virtqueue_seqno >= seqno || ring->stop)
         break;
      /* Timed, so a context that turns fatal elsewhere, or a client that
       * hangs up, is noticed. */
      os_cond_timedwait_ns(&ring->cond, &ring->lock, (uint64_t)VS_CONTEXT_PEER_CHECK_MS * 1000000u);
   }
   bool ok = ring->virtqueue_seqno >= seqno;
   pthread_mutex_unlock(&ring->lock);
   return ok;
}

bool
vs_ring_wait_seqno(struct vs_ring *ring, uint32_t seqno)
{
   /* Mostly reached already (Mesa 26 waits for its ring's seqno behind
    * every fence, with or without new ring work): then the ring thread is
    * left alone. Else it is usually microseconds away (the guest asks
    * right after submitting): wake the ring should it sleep, and poll
    * rather than pay for a wakeup of our own. */
   struct seqno_wait w = { ring, seqno };
   if (head_reached(&w))
      return true;
   vs_ring_notify(ring);
   if (os_poll_ns(head_reached, &w, RING_SPIN_NS))
      return true;
   pthread_mutex_lock(&ring->lock);
   for (;;) {
      uint32_t head = atomic_load(&ring->published_head);
      if ((int32_t)(head - seqno) >= 0)
         break;
      if (ring->stopped || !vs_context_running(ring->ctx)) {
         pthread_mutex_unlock(&ring->lock);
         return false;
      }
      /* Caught up with the guest's tail yet still short of seqno: the guest
       * waits for something it never wrote. */
      uint32_t tail = atomic_load(ring->tail);
      if (head == tail && (int32_t)(tail - seqno) < 0) {
         pthread_mutex_unlock(&ring->lock);
         return false;
      }
      os_cond_timedwait_ns(&ring->head_cond, &ring->lock, 10 * 1000 * 1000);
      /* The ring may be stuck in a host wait: a client that hangs up
       * meanwhile is noticed here (its socket thread waits here). */
      pthread_mutex_unlock(&ring->lock);
      bool abandoned = vs_context_wait_abandoned(ring->ctx);
      pthread_mutex_lock(&ring->lock);
      if (abandoned) {
         pthread_mutex_unlock(&ring->lock);
         return false;
      }
   }
   pthread_mutex_unlock(&ring->lock);
   return true;
}

bool
vs_ring_reached(struct vs_ring *ring, uint32_t tail)
{
   if ((int32_t)(atomic_load(&ring->published_head) - tail) >= 0)
      return true;
   pthread_mutex_lock(&ring->lock);
   bool stopped = ring->stopped;
   pthread_mutex_unlock(&ring->lock);
   return stopped;
}

bool
vs_ring_write_extra(struct vs_ring *ring, uint64_t offset, uint32_t value)
{
   if (offset % 4 || offset > ring->extra_size || ring->extra_size - offset < 4)
      return false;
   atomic_store((_Atomic uint32_t *)(ring->extra + offset), value);
   return true;
}

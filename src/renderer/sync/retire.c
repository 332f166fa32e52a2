/* SPDX-License-Identifier: MIT */
#include "renderer/sync/retire.h"

#include <pthread.h>
#include <stdlib.h>

#include "os/os.h"
#include "base/log.h"
#include "vn_vk.h"

/* A host wait longer than this is re-issued, so that stop requests and a
 * queue given up are noticed; it is not a poll (the thread sleeps inside). */
#define RETIRE_WAIT_SLICE_NS 100000000ull

/* How long the thread polls an entry's fence or timeline before blocking
 * in the host's wait: a guest waits on the fence (Mesa 26's SYNC_WAIT) and
 * most work it fences is microseconds long, while a driver's blocking
 * wait costs an interrupt and a thread wakeup on top (tens of
 * microseconds on NVIDIA). Bounded, so an idle or long-busy queue costs
 * no core. */
#define RETIRE_SPIN_NS 50000ull

struct retire_entry {
   VkFence fence;         /* or, if VK_NULL_HANDLE: */
   VkSemaphore timeline;  /* reaching `value` */
   uint64_t value;
   vs_retire_fn retire;
   void *data;
   struct retire_entry *next;
};

struct vs_retire_queue {
   uint32_t ctx_id;
   uint32_t ring_idx;
   const struct vn_device_table *dt;
   VkDevice device;
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   struct retire_entry *head, *tail;
   bool busy; /* an entry is out of the list, being waited for */
   bool stop;
   bool given_up; /* vs_retire_queue_give_up */
};

/* Whether entries are no longer waited for: stopping, or given up. */
static bool
waits_ended(struct vs_retire_queue *q)
{
   pthread_mutex_lock(&q->lock);
   bool ended = q->stop || q->given_up;
   pthread_mutex_unlock(&q->lock);
   return ended;
}

/* An entry and its queue, for the poll before the blocking wait. */
struct entry_poll {
   struct vs_retire_queue *q;
   struct retire_entry *e;
   VkResult status; /* VK_NOT_READY until the poll saw an end */
};

static bool
entry_done(void *data)
{
   struct entry_poll *p = data;
   struct vs_retire_queue *q = p->q;
   struct retire_entry *e = p->e;
   VkResult r;
   if (e->fence) {
      r = q->dt->GetFenceStatus(q->device, e->fence);
   } else {
      uint64_t value = 0;
      r = q->dt->GetSemaphoreCounterValue(q->device, e->timeline, &value);
      if (r == VK_SUCCESS && value < e->value)
         r = VK_NOT_READY;
   }
   if (r == VK_NOT_READY)
      return false;
   p->status = r;
   return true;
}

static void
retire_entry(struct vs_retire_queue *q, struct retire_entry *e)
{
   VkResult r;
   const VkSemaphoreWaitInfo wait = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
      .semaphoreCount = 1,
      .pSemaphores = &e->timeline,
      .pValues = &e->value,
   };
   bool ended = waits_ended(q);
   /* Polled done: the wait below only confirms it. An error the poll saw
    * (device loss) is left to the wait, which reports it the usual way. */
   struct entry_poll poll = { q, e, VK_NOT_READY };
   const bool pollable = e->fence || q->dt->GetSemaphoreCounterValue;
   bool done = !ended && pollable && os_poll_ns(entry_done, &poll, RETIRE_SPIN_NS) && poll.status == VK_SUCCESS;
   for (;;) {
      const uint64_t slice = ended || done ? 0 : RETIRE_WAIT_SLICE_NS;
      r = e->fence ? q->dt->WaitForFences(q->device, 1, &e->fence, VK_TRUE, slice)
                   : q->dt->WaitSemaphores(q->device, &wait, slice);
      done = false;
      if (r != VK_TIMEOUT || ended)
         break;
      ended = waits_ended(q);
   }
   /* Retire even on device loss, and when stopped or given up with the
    * work still running (its device is leaked or lost): a guest must never
    * wait forever, and the callback's data must go. */
   if (r != VK_SUCCESS && r != VK_TIMEOUT)
      vs_warn(q->ctx_id, "timeline %u fence: %s; retiring it anyway", q->ring_idx, vn_result_name(r));
   else if (r == VK_TIMEOUT)
      vs_debug(q->ctx_id, "timeline %u: work still running on the host; retiring it anyway", q->ring_idx);
   /* A pending fence cannot be destroyed: it goes with its device. */
   if (e->fence && r != VK_TIMEOUT)
      q->dt->DestroyFence(q->device, e->fence, NULL);
   e->retire(e->data);
   free(e);
}

static void *
retire_thread(void *arg)
{
   struct vs_retire_queue *q = arg;
   os_thread_set_name("vs-retire");
   pthread_mutex_lock(&q->lock);
   for (;;) {
      while (!q->head && !q->stop)
         pthread_cond_wait(&q->cond, &q->lock);
      struct retire_entry *e = q->head;
      if (!e)
         break;
      q->head = e->next;
      if (!q->head)
         q->tail = NULL;
      q->busy = true;
      pthread_mutex_unlock(&q->lock);
      retire_entry(q, e);
      pthread_mutex_lock(&q->lock);
      q->busy = false;
   }
   pthread_mutex_unlock(&q->lock);
   return NULL;
}

struct vs_retire_queue *
vs_retire_queue_create(uint32_t ctx_id, uint32_t ring_idx, const struct vn_device_table *dt,
                       VkDevice device)
{
   struct vs_retire_queue *q = calloc(1, sizeof(*q));
   if (!q)
      return NULL;
   q->ctx_id = ctx_id;
   q->ring_idx = ring_idx;
   q->dt = dt;
   q->device = device;
   pthread_mutex_init(&q->lock, NULL);
   pthread_cond_init(&q->cond, NULL);
   if (pthread_create(&q->thread, NULL, retire_thread, q) != 0) {
      pthread_cond_destroy(&q->cond);
      pthread_mutex_destroy(&q->lock);
      free(q);
      return NULL;
   }
   return q;
}

static bool
push(struct vs_retire_queue *q, const struct retire_entry *entry)
{
   struct retire_entry *e = malloc(sizeof(*e));
   if (!e)
      return false;
   *e = *entry;
   pthread_mutex_lock(&q->lock);
   if (q->tail)
      q->tail->next = e;
   else
      q->head = e;
   q->tail = e;
   pthread_cond_signal(&q->cond);
   pthread_mutex_unlock(&q->lock);
   return true;
}

bool
vs_retire_queue_push(struct vs_retire_queue *q, VkFence fence, vs_retire_fn retire, void *data)
{
   return push(q, &(struct retire_entry){ .fence = fence, .retire = retire, .data = data });
}

bool
vs_retire_queue_push_value(struct vs_retire_queue *q, VkSemaphore timeline, uint64_t value, vs_retire_fn retire,
                           void *data)
{
   return push(q, &(struct retire_entry){ .timeline = timeline, .value = value, .retire = retire, .data = data });
}

bool
vs_retire_queue_idle(struct vs_retire_queue *q)
{
   pthread_mutex_lock(&q->lock);
   bool idle = !q->head && !q->busy;
   pthread_mutex_unlock(&q->lock);
   return idle;
}

void
vs_retire_queue_give_up(struct vs_retire_queue *q)
{
   pthread_mutex_lock(&q->lock);
   q->given_up = true;
   pthread_mutex_unlock(&q->lock);
}

void
vs_retire_queue_destroy(struct vs_retire_queue *q)
{
   if (!q)
      return;
   pthread_mutex_lock(&q->lock);
   q->stop = true;
   pthread_cond_signal(&q->cond);
   pthread_mutex_unlock(&q->lock);
   pthread_join(q->thread, NULL);
   pthread_cond_destroy(&q->cond);
   pthread_mutex_destroy(&q->lock);
   free(q);
}

/* SPDX-License-Identifier: MIT */
#include "renderer/sync/gpu_watchdog.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"
#include "os/os.h"
#include "renderer/renderer_state.h"
#include "renderer/sync/retire.h"

struct queue_watch {
   uint64_t done;     /* the serial timeline's value when last seen */
   uint64_t since_ns; /* since when the oldest unfinished submission has been that; 0: idle */
};

struct vs_gpu_watchdog {
   struct vs_device *dev;
   struct vs_object *device_obj;
   uint64_t timeout_ns;
   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   bool stop;
   struct queue_watch *queues;
};

static uint32_t abandoned;

uint32_t
vs_gpu_watchdog_abandoned(void)
{
   return __atomic_load_n(&abandoned, __ATOMIC_ACQUIRE);
}

static void
lose_device(struct vs_gpu_watchdog *w, uint32_t q)
{
   struct vs_device *dev = w->dev;
   __atomic_fetch_or(&w->device_obj->flags, VS_OBJECT_DEVICE_LOST, __ATOMIC_ACQ_REL);
   const struct vs_physical_device *phys = vs_physical_device_from(dev->physical);
   const bool cpu = phys->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
   vs_error(dev->renderer->ctx_id, "device lost: submission on queue %u not finished after %llu ms (limit "
            "gpu-timeout-ms)%s", q, (unsigned long long)(w->timeout_ns / 1000000u),
            cpu ? "; the host's CPU driver cannot stop it: its host threads stay busy until this client's worker "
                  "process ends (--isolate process) or the server does"
                : "");
   if (cpu)
      __atomic_fetch_add(&abandoned, 1, __ATOMIC_ACQ_REL);
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      vs_queue_lock(&dev->queues[i]);
      if (dev->queues[i].retire)
         vs_retire_queue_give_up(dev->queues[i].retire);
      vs_queue_unlock(&dev->queues[i]);
   }
}

/* True once queue q has run one submission for longer than the limit. */
static bool
overdue(struct vs_gpu_watchdog *w, uint32_t q, uint64_t now)
{
   struct vs_queue *queue = &w->dev->queues[q];
   struct queue_watch *watch = &w->queues[q];
   uint64_t done = 0;
   if (!queue->serial_timeline ||
       w->dev->dt.GetSemaphoreCounterValue(w->dev->host, queue->serial_timeline, &done) != VK_SUCCESS)
      return false;
   const uint64_t submitted = __atomic_load_n(&queue->serial_submitted, __ATOMIC_ACQUIRE);
   const uint64_t waiting = __atomic_load_n(&queue->serial_waiting, __ATOMIC_ACQUIRE);
   if (done >= submitted || done < waiting) {
      watch->since_ns = 0; /* idle, or behind a semaphore wait: untimed */
      return false;
   }
   if (!watch->since_ns || done != watch->done) {
      watch->done = done;
      watch->since_ns = now;
      return false;
   }
   return now - watch->since_ns > w->timeout_ns;
}

static void *
watchdog_thread(void *arg)
{
   struct vs_gpu_watchdog *w = arg;
   os_thread_set_name("vs-watchdog");
   const uint64_t period = w->timeout_ns / 4 < 500000000ull ? w->timeout_ns / 4 : 500000000ull;
   pthread_mutex_lock(&w->lock);
   while (!w->stop) {
      os_cond_timedwait_ns(&w->cond, &w->lock, period);
      if (w->stop)
         break;
      pthread_mutex_unlock(&w->lock);
      const uint64_t now = os_now_ns();
      bool lost = false;
      for (uint32_t q = 0; q < w->dev->queue_count && !lost; q++) {
         if (overdue(w, q, now)) {
            lose_device(w, q);
            lost = true;
         }
      }
      pthread_mutex_lock(&w->lock);
      if (lost)
         break; /* the device is lost: nothing more to time */
   }
   pthread_mutex_unlock(&w->lock);
   return NULL;
}

struct vs_gpu_watchdog *
vs_gpu_watchdog_start(struct vs_device *dev, struct vs_object *device_obj, uint32_t timeout_ms)
{
   if (!timeout_ms || !dev->queue_count)
      return NULL;
   struct vs_gpu_watchdog *w = calloc(1, sizeof(*w));
   if (w)
      w->queues = calloc(dev->queue_count, sizeof(*w->queues));
   if (!w || !w->queues) {
      free(w);
      return NULL;
   }
   w->dev = dev;
   w->device_obj = device_obj;
   w->timeout_ns = (uint64_t)timeout_ms * 1000000u;
   pthread_mutex_init(&w->lock, NULL);
   os_cond_init(&w->cond);
   if (pthread_create(&w->thread, NULL, watchdog_thread, w) != 0) {
      pthread_cond_destroy(&w->cond);
      pthread_mutex_destroy(&w->lock);
      free(w->queues);
      free(w);
      return NULL;
   }
   return w;
}

void
vs_gpu_watchdog_stop(struct vs_gpu_watchdog *w)
{
   if (!w)
      return;
   pthread_mutex_lock(&w->lock);
   w->stop = true;
   pthread_cond_broadcast(&w->cond);
   pthread_mutex_unlock(&w->lock);
   pthread_join(w->thread, NULL);
   pthread_cond_destroy(&w->cond);
   pthread_mutex_destroy(&w->lock);
   free(w->queues);
   free(w);
}

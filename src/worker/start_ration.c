/* SPDX-License-Identifier: MIT */
#include "worker/start_ration.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include "os/os.h"

/* The uids counted at once: a uid whose bucket is full again needs no
 * entry, and past this many mid-refill the fullest is forgotten. */
#define BUCKETS 64

struct bucket {
   uid_t uid;
   bool used;
   double tokens;
   uint64_t at_ns; /* when `tokens` was last brought up to date */
};

struct vs_start_ration {
   pthread_mutex_t lock;
   uint32_t per_min;
   struct bucket buckets[BUCKETS]; /* under lock */
};

struct vs_start_ration *
vs_start_ration_create(uint32_t per_min)
{
   struct vs_start_ration *ration = calloc(1, sizeof(*ration));
   if (!ration)
      return NULL;
   pthread_mutex_init(&ration->lock, NULL);
   ration->per_min = per_min;
   return ration;
}

void
vs_start_ration_destroy(struct vs_start_ration *ration)
{
   if (!ration)
      return;
   pthread_mutex_destroy(&ration->lock);
   free(ration);
}

uint32_t
vs_start_ration_per_min(const struct vs_start_ration *ration)
{
   return ration->per_min;
}

bool
vs_start_ration_take(struct vs_start_ration *ration, uid_t uid, uint32_t *wait_ms)
{
   const uint32_t rate = ration ? ration->per_min : 0;
   if (!rate)
      return true;
   const double burst = rate / 4 ? rate / 4 : 1;
   const uint64_t now = os_now_ns();
   pthread_mutex_lock(&ration->lock);
   struct bucket *b = NULL, *fullest = &ration->buckets[0];
   for (unsigned i = 0; i < BUCKETS; i++) {
      struct bucket *e = &ration->buckets[i];
      if (e->used) {
         e->tokens += (double)(now - e->at_ns) * rate / 60e9;
         e->at_ns = now;
         if (e->tokens >= burst)
            e->used = false; /* full again: as good as never seen */
      }
      if (e->used && e->uid == uid)
         b = e;
      if (!e->used || (fullest->used && e->tokens > fullest->tokens))
         fullest = e;
   }
   if (!b) {
      b = fullest;
      *b = (struct bucket){ .uid = uid, .used = true, .tokens = burst, .at_ns = now };
   }
   const bool took = b->tokens >= 1;
   if (took)
      b->tokens -= 1;
   else
      *wait_ms = (uint32_t)((1 - b->tokens) * 60000 / rate) + 1;
   pthread_mutex_unlock(&ration->lock);
   return took;
}

bool
vs_start_ration_wait(struct vs_start_ration *ration, uid_t uid, int fd,
                     void (*waiting)(void *data, uint32_t wait_ms), void *data)
{
   for (bool said = false;;) {
      uint32_t wait_ms = 0;
      if (vs_start_ration_take(ration, uid, &wait_ms))
         return true;
      if (!said && waiting)
         waiting(data, wait_ms);
      said = true;
      /* Only a hang-up (or an error) wakes this before the start is there. */
#ifdef POLLRDHUP
      struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
#else
      struct pollfd pfd = { .fd = fd, .events = 0 };
#endif
      if (poll(&pfd, 1, (int)wait_ms) > 0)
         return false;
   }
}

void
vs_start_ration_give_back(struct vs_start_ration *ration, uid_t uid)
{
   if (!ration)
      return;
   pthread_mutex_lock(&ration->lock);
   for (unsigned i = 0; i < BUCKETS; i++) {
      if (ration->buckets[i].used && ration->buckets[i].uid == uid)
         ration->buckets[i].tokens += 1;
   }
   pthread_mutex_unlock(&ration->lock);
}

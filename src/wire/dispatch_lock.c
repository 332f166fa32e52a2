/* SPDX-License-Identifier: MIT */
#include "wire/dispatch_lock.h"

#include <string.h>

#include "os/os.h"

void
vs_dispatch_lock_init(struct vs_dispatch_lock *l)
{
   memset(l, 0, sizeof(*l));
   pthread_mutex_init(&l->mutex, NULL);
   os_cond_init(&l->cond);
}

void
vs_dispatch_lock_fini(struct vs_dispatch_lock *l)
{
   pthread_cond_destroy(&l->cond);
   pthread_mutex_destroy(&l->mutex);
}

/* A reader counts itself in unless a writer holds or waits. */
static bool
try_shared(struct vs_dispatch_lock *l)
{
   uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
   while (!(s & VS_DISPATCH_WRITER)) {
      if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1, memory_order_acquire,
                                                memory_order_relaxed))
         return true;
   }
   return false;
}

void
vs_dispatch_lock_slow(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode)
{
   pthread_mutex_lock(&l->mutex);
   if (mode == VS_DISPATCH_SHARED) {
      while (!try_shared(l))
         pthread_cond_wait(&l->cond, &l->mutex);
   } else {
      l->writers_waiting++;
      while (l->writer)
         pthread_cond_wait(&l->cond, &l->mutex);
      l->writers_waiting--;
      l->writer = true;
      /* New readers stay out from here on; the last one out wakes us. */
      atomic_fetch_or_explicit(&l->state, VS_DISPATCH_WRITER, memory_order_relaxed);
      while (atomic_load_explicit(&l->state, memory_order_acquire) != VS_DISPATCH_WRITER)
         pthread_cond_wait(&l->cond, &l->mutex);
   }
   pthread_mutex_unlock(&l->mutex);
}

void
vs_dispatch_wake_writer(struct vs_dispatch_lock *l)
{
   /* Under the mutex, so the writer is either before its check or inside
    * its wait. */
   pthread_mutex_lock(&l->mutex);
   pthread_cond_broadcast(&l->cond);
   pthread_mutex_unlock(&l->mutex);
}

void
vs_dispatch_unlock_exclusive(struct vs_dispatch_lock *l)
{
   pthread_mutex_lock(&l->mutex);
   l->writer = false;
   /* Writers go first: a waiting one inherits the bit, so readers keep out. */
   if (!l->writers_waiting)
      atomic_fetch_and_explicit(&l->state, ~VS_DISPATCH_WRITER, memory_order_release);
   pthread_cond_broadcast(&l->cond);
   pthread_mutex_unlock(&l->mutex);
}

bool
vs_dispatch_lock_contended(struct vs_dispatch_lock *l)
{
   return atomic_load_explicit(&l->state, memory_order_relaxed) & VS_DISPATCH_WRITER;
}

static bool
starts_with(const char *s, const char *prefix)
{
   return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The commands of VK_MESA_venus_protocol that order the channels and
 * carry streams (context/ring_commands.c). The reply window's
 * (vkSet/SeekReplyCommandStreamMESA) are not among them: they hold the
 * lock shared, so that a hand-over, holding it exclusive, reads each
 * ring's window as the head it published left it. */
static const char *const transport_commands[] = {
   "vkExecuteCommandStreamsMESA", "vkCreateRingMESA",           "vkDestroyRingMESA",
   "vkNotifyRingMESA",            "vkWriteRingExtraMESA",       "vkSubmitVirtqueueSeqnoMESA",
   "vkWaitVirtqueueSeqnoMESA",    "vkWaitRingSeqnoMESA",
};

enum vs_dispatch_mode
vs_dispatch_mode_of(const char *command)
{
   for (size_t i = 0; i < sizeof(transport_commands) / sizeof(transport_commands[0]); i++) {
      if (strcmp(command, transport_commands[i]) == 0)
         return VS_DISPATCH_UNLOCKED;
   }
   /* Resetting a pool frees its command buffers' recordings or its sets. */
   if (starts_with(command, "vkDestroy") || starts_with(command, "vkFree") ||
       strcmp(command, "vkResetCommandPool") == 0 || strcmp(command, "vkResetDescriptorPool") == 0)
      return VS_DISPATCH_EXCLUSIVE;
   return VS_DISPATCH_SHARED;
}

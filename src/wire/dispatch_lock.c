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

void
vs_dispatch_lock(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode)
{
   if (mode == VS_DISPATCH_UNLOCKED)
      return;
   pthread_mutex_lock(&l->mutex);
   if (mode == VS_DISPATCH_SHARED) {
      while (l->writer || l->writers_waiting)
         pthread_cond_wait(&l->cond, &l->mutex);
      l->readers++;
   } else {
      l->writers_waiting++;
      while (l->writer || l->readers)
         pthread_cond_wait(&l->cond, &l->mutex);
      l->writers_waiting--;
      l->writer = true;
   }
   pthread_mutex_unlock(&l->mutex);
}

void
vs_dispatch_unlock(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode)
{
   if (mode == VS_DISPATCH_UNLOCKED)
      return;
   pthread_mutex_lock(&l->mutex);
   if (mode == VS_DISPATCH_SHARED)
      l->readers--;
   else
      l->writer = false;
   if (!l->readers)
      pthread_cond_broadcast(&l->cond);
   pthread_mutex_unlock(&l->mutex);
}

bool
vs_dispatch_lock_contended(struct vs_dispatch_lock *l)
{
   pthread_mutex_lock(&l->mutex);
   bool contended = l->writers_waiting != 0;
   pthread_mutex_unlock(&l->mutex);
   return contended;
}

static bool
starts_with(const char *s, const char *prefix)
{
   return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The commands of VK_MESA_venus_protocol that order the channels and
 * carry streams (context/ring_commands.c). */
static const char *const transport_commands[] = {
   "vkSetReplyCommandStreamMESA", "vkSeekReplyCommandStreamMESA", "vkExecuteCommandStreamsMESA",
   "vkCreateRingMESA",            "vkDestroyRingMESA",            "vkNotifyRingMESA",
   "vkWriteRingExtraMESA",        "vkSubmitVirtqueueSeqnoMESA",   "vkWaitVirtqueueSeqnoMESA",
   "vkWaitRingSeqnoMESA",
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

/* SPDX-License-Identifier: MIT */
#include "base/test_faults.h"

#include <pthread.h>
#include <string.h>

#include "base/log.h"

struct vs_test_faults vs_test_faults;

/* The contexts the device-lost fault applies to, alive at once: a test
 * runs a few; one past these is left alone (logged). */
#define WATCHED_MAX 64

static pthread_mutex_t watched_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
   const void *owner;
   uint32_t submits;
} watched[WATCHED_MAX];

void
vs_test_faults_set(const struct vs_test_faults *faults)
{
   vs_test_faults = *faults;
}

void
vs_test_faults_watch(const void *owner, const char *client_name)
{
   if (!vs_test_faults.lose_device_at_submit || !vs_test_faults.lose_device_client ||
       strcmp(vs_test_faults.lose_device_client, client_name) != 0)
      return;
   pthread_mutex_lock(&watched_lock);
   unsigned i = 0;
   while (i < WATCHED_MAX && watched[i].owner)
      i++;
   if (i < WATCHED_MAX) {
      watched[i].owner = owner;
      watched[i].submits = 0;
   }
   pthread_mutex_unlock(&watched_lock);
   if (i == WATCHED_MAX)
      vs_warn(0, "fault injection: more than %u contexts of \"%s\" at once; this one keeps its device",
              WATCHED_MAX, client_name);
}

void
vs_test_faults_forget(const void *owner)
{
   if (!vs_test_faults.lose_device_at_submit)
      return;
   pthread_mutex_lock(&watched_lock);
   for (unsigned i = 0; i < WATCHED_MAX; i++)
      if (watched[i].owner == owner)
         watched[i].owner = NULL;
   pthread_mutex_unlock(&watched_lock);
}

bool
vs_test_faults_submission_loses_device(const void *owner)
{
   bool loses = false;
   pthread_mutex_lock(&watched_lock);
   for (unsigned i = 0; i < WATCHED_MAX; i++)
      if (watched[i].owner == owner)
         loses = ++watched[i].submits == vs_test_faults.lose_device_at_submit;
   pthread_mutex_unlock(&watched_lock);
   return loses;
}

bool
vs_test_faults_gpu_lost(uint32_t host_index, uint64_t now_ns)
{
   return now_ns < vs_test_faults.lose_gpu_until_ns && host_index == vs_test_faults.lose_gpu_index;
}

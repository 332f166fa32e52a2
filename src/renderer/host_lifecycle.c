/* SPDX-License-Identifier: MIT */
/* One host instance or device created or destroyed at a time (host_lifecycle.h). */
#include "renderer/host_lifecycle.h"

#include <pthread.h>

static pthread_mutex_t host_lifecycle = PTHREAD_MUTEX_INITIALIZER;

void
vs_host_lifecycle_lock(void)
{
   pthread_mutex_lock(&host_lifecycle);
}

void
vs_host_lifecycle_unlock(void)
{
   pthread_mutex_unlock(&host_lifecycle);
}

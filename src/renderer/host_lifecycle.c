/* SPDX-License-Identifier: MIT */
/* One host instance or device created or destroyed at a time, none while a
 * host submission runs (host_lifecycle.h). */
#include "renderer/host_lifecycle.h"

#include <pthread.h>

#include "wire/dispatch_lock.h"

/* Shared by submissions, exclusive for a create or destroy; writers go
 * first, so tenants submitting back to back never keep one out. */
static struct vs_dispatch_lock host_lifecycle;
static pthread_once_t host_lifecycle_once = PTHREAD_ONCE_INIT;

static void
host_lifecycle_init(void)
{
   vs_dispatch_lock_init(&host_lifecycle);
}

static void
host_lifecycle_take(enum vs_dispatch_mode mode)
{
   pthread_once(&host_lifecycle_once, host_lifecycle_init);
   vs_dispatch_lock(&host_lifecycle, mode);
}

void
vs_host_lifecycle_lock(void)
{
   host_lifecycle_take(VS_DISPATCH_EXCLUSIVE);
}

void
vs_host_lifecycle_unlock(void)
{
   vs_dispatch_unlock(&host_lifecycle, VS_DISPATCH_EXCLUSIVE);
}

void
vs_host_lifecycle_lock_shared(void)
{
   host_lifecycle_take(VS_DISPATCH_SHARED);
}

void
vs_host_lifecycle_unlock_shared(void)
{
   vs_dispatch_unlock(&host_lifecycle, VS_DISPATCH_SHARED);
}

/* SPDX-License-Identifier: MIT */
#include "transport/vtest/idle_policy.h"

#include <stddef.h>
#include <sys/mman.h>

#include "os/os.h"

struct vtest_activity *
vtest_activity_create(void)
{
   /* Shared, so that a client served by a forked worker process updates
    * the record the server reads. */
   void *map = mmap(NULL, sizeof(struct vtest_activity), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
   if (map == MAP_FAILED)
      return NULL;
   struct vtest_activity *activity = map;
   atomic_init(&activity->last_ns, os_now_ns());
   atomic_init(&activity->in_flight, 0);
   return activity;
}

void
vtest_activity_destroy(struct vtest_activity *activity)
{
   if (activity)
      munmap(activity, sizeof(*activity));
}

void
vtest_activity_touch(struct vtest_activity *activity)
{
   if (activity)
      atomic_store_explicit(&activity->last_ns, os_now_ns(), memory_order_relaxed);
}

void
vtest_activity_work(struct vtest_activity *activity, int delta)
{
   if (!activity)
      return;
   /* A long job that just finished ends the idle time, not starts it. */
   if (delta < 0)
      vtest_activity_touch(activity);
   atomic_fetch_add(&activity->in_flight, (uint32_t)delta);
}

uint64_t
vtest_activity_idle_ns(const struct vtest_activity *activity, uint64_t now_ns)
{
   if (atomic_load(&activity->in_flight))
      return 0;
   uint64_t last = atomic_load_explicit(&activity->last_ns, memory_order_relaxed);
   return now_ns > last ? now_ns - last : 0;
}

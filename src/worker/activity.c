/* SPDX-License-Identifier: MIT */
#include "worker/activity.h"

#include <errno.h>

#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/os.h"

static size_t
record_size(void)
{
   return os_page_size();
}

struct vs_activity *
vs_activity_map(int fd)
{
   /* Shorter, it would fault past its end. */
   struct stat st;
   if (fstat(fd, &st) != 0 || st.st_size < (off_t)record_size()) {
      errno = EINVAL;
      return NULL;
   }
   void *map = mmap(NULL, record_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   return map == MAP_FAILED ? NULL : map;
}

struct vs_activity *
vs_activity_create(int *fd)
{
   /* Shared, so that a client served by a worker process updates the
    * record the server reads. */
   *fd = os_shm_create("vs-activity", record_size());
   if (*fd < 0)
      return NULL;
   struct vs_activity *activity = vs_activity_map(*fd);
   if (!activity) {
      close(*fd);
      *fd = -1;
      return NULL;
   }
   atomic_init(&activity->last_ns, os_now_ns());
   atomic_init(&activity->in_flight, 0);
   atomic_init(&activity->started, 0);
   return activity;
}

void
vs_activity_destroy(struct vs_activity *activity)
{
   if (activity)
      munmap(activity, record_size());
}

void
vs_activity_touch(struct vs_activity *activity)
{
   if (activity)
      atomic_store_explicit(&activity->last_ns, os_now_ns(), memory_order_relaxed);
}

void
vs_activity_work(struct vs_activity *activity, int delta)
{
   if (!activity)
      return;
   /* A long job that just finished ends the idle time, not starts it. */
   if (delta < 0)
      vs_activity_touch(activity);
   atomic_fetch_add(&activity->in_flight, (uint32_t)delta);
}

void
vs_activity_start(struct vs_activity *activity)
{
   if (activity && !atomic_load_explicit(&activity->started, memory_order_relaxed))
      atomic_store(&activity->started, 1);
}

bool
vs_activity_started(const struct vs_activity *activity)
{
   return atomic_load(&activity->started) != 0;
}

uint64_t
vs_activity_idle_ns(const struct vs_activity *activity, uint64_t now_ns)
{
   if (atomic_load(&activity->in_flight))
      return 0;
   uint64_t last = atomic_load_explicit(&activity->last_ns, memory_order_relaxed);
   return now_ns > last ? now_ns - last : 0;
}

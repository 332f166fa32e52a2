/* SPDX-License-Identifier: MIT */
/* worker/activity.c: what counts as an idle client, and that a
 * forked worker's activity reaches the server's record. */
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "os/os.h"
#include "worker/activity.h"
#include "transport/vtest/vtest_protocol.h"
#include "transport/vtest/vtest_sync.h"

#define SECOND 1000000000ull

TEST(idle_since_last_activity)
{
   int fd;
   struct vs_activity *a = vs_activity_create(&fd);
   CHECK(a != NULL);
   close(fd);
   uint64_t last = atomic_load(&a->last_ns);
   CHECK_EQ(vs_activity_idle_ns(a, last + 90 * SECOND), 90 * SECOND);
   /* A clock read before the last activity is no idle time. */
   CHECK_EQ(vs_activity_idle_ns(a, last - 1), 0);
   vs_activity_touch(a);
   CHECK(atomic_load(&a->last_ns) >= last);
   vs_activity_destroy(a);
}

TEST(work_in_flight_is_never_idle)
{
   int fd;
   struct vs_activity *a = vs_activity_create(&fd);
   CHECK(a != NULL);
   close(fd);
   uint64_t start = atomic_load(&a->last_ns);
   vs_activity_work(a, 1);
   vs_activity_work(a, 1);
   CHECK_EQ(vs_activity_idle_ns(a, start + 3600 * SECOND), 0);
   vs_activity_work(a, -1);
   CHECK_EQ(vs_activity_idle_ns(a, start + 3600 * SECOND), 0);
   /* A long job that just retired: idle from its end, not from its start. */
   atomic_store(&a->last_ns, start);
   vs_activity_work(a, -1);
   uint64_t retired = atomic_load(&a->last_ns);
   CHECK(retired >= start);
   CHECK_EQ(vs_activity_idle_ns(a, retired + 5 * SECOND), 5 * SECOND);
   vs_activity_destroy(a);
}

/* A client served by a forked worker: its record is shared memory. */
TEST(worker_process_activity_is_shared)
{
   int fd;
   struct vs_activity *a = vs_activity_create(&fd);
   CHECK(a != NULL);
   atomic_store(&a->last_ns, 1);
   pid_t pid = fork();
   if (pid == 0) {
      /* As a pooled worker does: its own mapping of the record's fd. */
      struct vs_activity *mine = vs_activity_map(fd);
      if (!mine)
         _exit(1);
      vs_activity_touch(mine);
      vs_activity_work(mine, 1);
      _exit(0);
   }
   CHECK(pid > 0);
   int status = 0;
   CHECK(waitpid(pid, &status, 0) == pid);
   CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
   close(fd);
   CHECK(atomic_load(&a->last_ns) > 1);
   CHECK_EQ(atomic_load(&a->in_flight), 1);
   vs_activity_destroy(a);
}

/* A SUBMIT_CMD2 fence pending on the host is work in flight until it
 * retires (or is cancelled). */
TEST(pending_sync_signal_is_work)
{
   int fd;
   struct vs_activity *a = vs_activity_create(&fd);
   close(fd);
   struct vtest_sync_table *t = vtest_sync_table_create();
   CHECK(a && t);
   vtest_sync_table_track(t, a);
   uint32_t id, bad;
   CHECK_EQ(vtest_sync_create(t, 0, &id), VTEST_SYNC_OK);
   const uint32_t entry[VTEST_SYNC_ENTRY_WORDS] = { id, 1, 0 };
   struct vtest_sync_signal *s1, *s2;
   CHECK_EQ(vtest_sync_signal_create(t, entry, 1, &s1, &bad), VTEST_SYNC_OK);
   CHECK_EQ(vtest_sync_signal_create(t, entry, 1, &s2, &bad), VTEST_SYNC_OK);
   CHECK_EQ(atomic_load(&a->in_flight), 2);
   CHECK_EQ(vs_activity_idle_ns(a, os_now_ns() + 3600 * SECOND), 0);
   vtest_sync_signal_retire(s1);
   CHECK_EQ(atomic_load(&a->in_flight), 1);
   vtest_sync_signal_cancel(s2);
   CHECK_EQ(atomic_load(&a->in_flight), 0);
   CHECK(vs_activity_idle_ns(a, os_now_ns() + 3600 * SECOND) > 0);
   vtest_sync_table_destroy(t);
   vs_activity_destroy(a);
}

UNIT_MAIN(UNIT(idle_since_last_activity), UNIT(work_in_flight_is_never_idle), UNIT(worker_process_activity_is_shared),
          UNIT(pending_sync_signal_is_work))

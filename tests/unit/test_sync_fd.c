/* SPDX-License-Identifier: MIT */
/* renderer/sync/sync_fd.c: a binary semaphore's WSI mark, pending host
 * signal and owed signal never pass each other: a wait that went to the
 * host owing a signal gets the next one, whether a host submission's or
 * the guest WSI's import (which then signals on the host, not marks). */
#include "unit.h"
#include "renderer/sync/sync_fd.h"
#include "wire/object_table.h"

TEST(mark_then_wait_leaves_the_wait_out)
{
   struct vs_object sem = { 0 };
   CHECK(!vs_sync_fd_mark_signalled(&sem));
   CHECK(vs_semaphore_take_mark_or_owe(&sem));
   CHECK_EQ(sem.flags, 0u);
}

TEST(wait_before_import_is_owed_the_import)
{
   struct vs_object sem = { 0 };
   /* The wait came first (the import's ring was behind): it owes. */
   CHECK(!vs_semaphore_take_mark_or_owe(&sem));
   CHECK_EQ(sem.flags, (uint32_t)VS_OBJECT_SIGNAL_OWED);
   /* The import pays: the caller signals the host semaphore, no mark. */
   CHECK(vs_sync_fd_mark_signalled(&sem));
   CHECK_EQ(sem.flags, 0u);
   /* The next frame's import marks again. */
   CHECK(!vs_sync_fd_mark_signalled(&sem));
   CHECK_EQ(sem.flags, (uint32_t)VS_OBJECT_CPU_SIGNALLED);
}

TEST(wait_before_host_signal_is_owed_the_signal)
{
   struct vs_object sem = { 0 };
   CHECK(!vs_semaphore_take_mark_or_owe(&sem));
   /* A host submission's signal goes to the owed wait: nothing pending. */
   vs_semaphore_set_pending(&sem);
   CHECK_EQ(sem.flags, 0u);
   CHECK(!vs_semaphore_take_pending(&sem));
   /* Without a debt, a signal is pending for the next wait. */
   vs_semaphore_set_pending(&sem);
   CHECK(!vs_semaphore_take_mark_or_owe(&sem));
   CHECK_EQ(sem.flags, 0u);
}

TEST(timeline_flag_is_kept)
{
   struct vs_object sem = { .flags = VS_OBJECT_TIMELINE_SEMAPHORE };
   CHECK(!vs_semaphore_take_mark_or_owe(&sem));
   CHECK(vs_sync_fd_mark_signalled(&sem));
   CHECK_EQ(sem.flags, (uint32_t)VS_OBJECT_TIMELINE_SEMAPHORE);
}

UNIT_MAIN(UNIT(mark_then_wait_leaves_the_wait_out), UNIT(wait_before_import_is_owed_the_import),
          UNIT(wait_before_host_signal_is_owed_the_signal), UNIT(timeline_flag_is_kept))

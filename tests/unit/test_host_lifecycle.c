/* SPDX-License-Identifier: MIT */
/* renderer/host_lifecycle.c: submissions together, a host create or
 * destroy alone, and a create or destroy waiting goes before later
 * submissions. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "renderer/host_lifecycle.h"
#include "unit.h"

static atomic_bool destroyed, submitted_late, late_before_destroy;

static void
settle(void)
{
   nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
}

static void *
destroy_device(void *arg)
{
   vs_host_lifecycle_lock();
   atomic_store(&destroyed, true);
   vs_host_lifecycle_unlock();
   return arg;
}

static void *
late_submission(void *arg)
{
   vs_host_lifecycle_lock_shared();
   if (!atomic_load(&destroyed))
      atomic_store(&late_before_destroy, true);
   atomic_store(&submitted_late, true);
   vs_host_lifecycle_unlock_shared();
   return arg;
}

TEST(host_lifecycle_destroy_waits_for_submissions)
{
   /* Two submissions in flight at once (another thread's too). */
   vs_host_lifecycle_lock_shared();
   pthread_t other;
   atomic_store(&destroyed, true); /* the late submission below must not report */
   pthread_create(&other, NULL, late_submission, NULL);
   pthread_join(other, NULL);
   CHECK(atomic_load(&submitted_late));
   atomic_store(&destroyed, false);
   atomic_store(&submitted_late, false);

   /* A destroy waits for the submission in flight... */
   pthread_t d, s;
   pthread_create(&d, NULL, destroy_device, NULL);
   settle();
   CHECK(!atomic_load(&destroyed));
   /* ...and a submission that comes meanwhile waits for the destroy. */
   pthread_create(&s, NULL, late_submission, NULL);
   settle();
   CHECK(!atomic_load(&submitted_late));
   vs_host_lifecycle_unlock_shared();
   pthread_join(d, NULL);
   pthread_join(s, NULL);
   CHECK(atomic_load(&destroyed));
   CHECK(atomic_load(&submitted_late));
   CHECK(!atomic_load(&late_before_destroy));
}

TEST(host_lifecycle_submission_waits_for_destroy)
{
   vs_host_lifecycle_lock();
   pthread_t s;
   pthread_create(&s, NULL, late_submission, NULL);
   settle();
   CHECK(!atomic_load(&submitted_late));
   atomic_store(&destroyed, true);
   vs_host_lifecycle_unlock();
   pthread_join(s, NULL);
   CHECK(atomic_load(&submitted_late));
   CHECK(!atomic_load(&late_before_destroy));
}

UNIT_MAIN(UNIT(host_lifecycle_destroy_waits_for_submissions), UNIT(host_lifecycle_submission_waits_for_destroy))

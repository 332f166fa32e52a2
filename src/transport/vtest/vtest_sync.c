/* SPDX-License-Identifier: MIT */
#include "transport/vtest/vtest_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/parcel.h"
#include "os/os.h"
#include "worker/activity.h"
#include "transport/vtest/vtest_protocol.h"

#define SYNC_BUCKETS 1024 /* power of two */

struct sync {
   uint32_t id;
   uint64_t value;
   /* One for the table while the id is live, one per waiter/signal entry. */
   unsigned refs;
   struct sync *next;
};

/* A sync and the value a waiter or signal attaches to it. */
struct sync_target {
   struct sync *sync;
   uint64_t value;
};

struct waiter {
   struct waiter *next;
   struct os_event event;
   uint64_t expires_ns; /* 0: never */
   bool any;
   uint32_t count;
   struct sync_target targets[];
};

struct vtest_sync_signal {
   struct vtest_sync_table *table;
   /* Pending signals are listed so that destroy can free the ones whose
    * timeline never retired. */
   struct vtest_sync_signal *prev, *next;
   uint32_t count;
   struct sync_target targets[];
};

struct vtest_sync_table {
   pthread_mutex_t lock;
   struct sync *buckets[SYNC_BUCKETS];
   uint32_t sync_count;
   uint32_t next_id;
   struct waiter *waiters;
   uint32_t waiter_count;
   struct vtest_sync_signal *pending;
   uint32_t pending_entries; /* over every pending signal */
   struct vs_activity *activity; /* NULL: not tracked */
   struct vtest_sync_usage usage;
};

/* Under the lock: a count now, against the most it was. */
static void
note_most(uint32_t *most, uint32_t now)
{
   if (now > *most)
      *most = now;
}

static uint64_t
entry_value(const uint32_t *entry)
{
   return (uint64_t)entry[1] | (uint64_t)entry[2] << 32;
}

static struct sync **
find_slot(struct vtest_sync_table *table, uint32_t id)
{
   struct sync **slot = &table->buckets[id & (SYNC_BUCKETS - 1)];
   while (*slot && (*slot)->id != id)
      slot = &(*slot)->next;
   return slot;
}

static struct sync *
find_sync(struct vtest_sync_table *table, uint32_t id)
{
   return *find_slot(table, id);
}

static void
release_sync(struct sync *sync)
{
   if (--sync->refs == 0)
      free(sync);
}

static void
release_targets(struct sync_target *targets, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++)
      release_sync(targets[i].sync);
}

/* Resolves wire entries to held syncs; takes no reference on failure. */
static enum vtest_sync_result
resolve_targets(struct vtest_sync_table *table, const uint32_t *entries, uint32_t count,
                struct sync_target *targets, uint32_t *bad_index)
{
   for (uint32_t i = 0; i < count; i++) {
      const uint32_t *entry = entries + (size_t)i * VTEST_SYNC_ENTRY_WORDS;
      struct sync *sync = find_sync(table, entry[0]);
      if (!sync) {
         *bad_index = i;
         return VTEST_SYNC_UNKNOWN_ID;
      }
      targets[i].sync = sync;
      targets[i].value = entry_value(entry);
   }
   for (uint32_t i = 0; i < count; i++)
      targets[i].sync->refs++;
   return VTEST_SYNC_OK;
}

static bool
targets_reached(const struct sync_target *targets, uint32_t count, bool any)
{
   if (count == 0)
      return true;
   for (uint32_t i = 0; i < count; i++) {
      bool reached = targets[i].sync->value >= targets[i].value;
      if (reached == any)
         return any;
   }
   return !any;
}

static void
free_waiter(struct waiter *waiter)
{
   release_targets(waiter->targets, waiter->count);
   os_event_fini(&waiter->event);
   free(waiter);
}

/* Called with the lock held after any value changed. */
static void
wake_waiters(struct vtest_sync_table *table)
{
   struct waiter **link = &table->waiters;
   while (*link) {
      struct waiter *waiter = *link;
      if (targets_reached(waiter->targets, waiter->count, waiter->any)) {
         *link = waiter->next;
         table->waiter_count--;
         /* The client holds its own copy of the read end, which stays
          * readable after ours is closed. */
         os_event_signal(&waiter->event);
         free_waiter(waiter);
      } else {
         link = &waiter->next;
      }
   }
}

/* How long after its timeout a waiter on a pipe (the POSIX backend's
 * wakeup object) is kept: closing its write end makes the client's copy
 * readable, which a client still polling would take for the signal. Its
 * poll began after the server's clock did and lasts as long. */
#define PIPE_WAITER_GRACE_NS (5ull * 1000000000ull)

/* Whether an expired waiter can be freed now without looking like a
 * signal: an eventfd at once (the client's copy is unaffected), a pipe
 * once the client's poll is surely over. */
static bool
waiter_free_is_silent(const struct waiter *waiter, uint64_t now_ns)
{
   if (waiter->event.read_fd == waiter->event.write_fd)
      return true;
   return now_ns >= waiter->expires_ns + PIPE_WAITER_GRACE_NS;
}

/* Called with the lock held. A waiter past its timeout is one the client
 * has given up on: like Mesa's vtest client, it polls its copy of the fd
 * with the same timeout and then closes it, so nothing is signalled. */
static void
drop_expired_waiters(struct vtest_sync_table *table, uint64_t now_ns)
{
   struct waiter **link = &table->waiters;
   while (*link) {
      struct waiter *waiter = *link;
      if (waiter->expires_ns && waiter->expires_ns <= now_ns && waiter_free_is_silent(waiter, now_ns)) {
         *link = waiter->next;
         table->waiter_count--;
         free_waiter(waiter);
      } else {
         link = &waiter->next;
      }
   }
}

struct vtest_sync_table *
vtest_sync_table_create(void)
{
   struct vtest_sync_table *table = calloc(1, sizeof(*table));
   if (!table)
      return NULL;
   if (pthread_mutex_init(&table->lock, NULL) != 0) {
      free(table);
      return NULL;
   }
   table->next_id = 1;
   return table;
}

void
vtest_sync_table_track(struct vtest_sync_table *table, struct vs_activity *activity)
{
   pthread_mutex_lock(&table->lock);
   table->activity = activity;
   pthread_mutex_unlock(&table->lock);
}

void
vtest_sync_table_usage(struct vtest_sync_table *table, struct vtest_sync_usage *usage)
{
   pthread_mutex_lock(&table->lock);
   *usage = table->usage;
   pthread_mutex_unlock(&table->lock);
}

void
vtest_sync_table_destroy(struct vtest_sync_table *table)
{
   if (!table)
      return;
   while (table->waiters) {
      struct waiter *waiter = table->waiters;
      table->waiters = waiter->next;
      free_waiter(waiter);
   }
   while (table->pending) {
      struct vtest_sync_signal *signal = table->pending;
      table->pending = signal->next;
      release_targets(signal->targets, signal->count);
      free(signal);
   }
   for (unsigned b = 0; b < SYNC_BUCKETS; b++) {
      while (table->buckets[b]) {
         struct sync *sync = table->buckets[b];
         table->buckets[b] = sync->next;
         release_sync(sync);
      }
   }
   pthread_mutex_destroy(&table->lock);
   free(table);
}

enum vtest_sync_result
vtest_sync_create(struct vtest_sync_table *table, uint64_t value, uint32_t *id)
{
   struct sync *sync = calloc(1, sizeof(*sync));
   if (!sync)
      return VTEST_SYNC_SYSTEM;

   pthread_mutex_lock(&table->lock);
   if (table->sync_count >= VTEST_SYNC_MAX_SYNCS) {
      pthread_mutex_unlock(&table->lock);
      free(sync);
      return VTEST_SYNC_LIMIT;
   }
   /* Ids are never 0; after wrapping, skip the ones still live. */
   do {
      sync->id = table->next_id++;
      if (table->next_id == 0)
         table->next_id = 1;
   } while (find_sync(table, sync->id));

   struct sync **slot = find_slot(table, sync->id);
   sync->value = value;
   sync->refs = 1;
   *slot = sync;
   table->sync_count++;
   table->usage.made++;
   note_most(&table->usage.most_syncs, table->sync_count);
   *id = sync->id;
   pthread_mutex_unlock(&table->lock);
   return VTEST_SYNC_OK;
}

bool
vtest_sync_unref(struct vtest_sync_table *table, uint32_t id)
{
   pthread_mutex_lock(&table->lock);
   struct sync **slot = find_slot(table, id);
   struct sync *sync = *slot;
   if (sync) {
      *slot = sync->next;
      table->sync_count--;
      release_sync(sync);
   }
   pthread_mutex_unlock(&table->lock);
   return sync != NULL;
}

bool
vtest_sync_read(struct vtest_sync_table *table, uint32_t id, uint64_t *value)
{
   pthread_mutex_lock(&table->lock);
   struct sync *sync = find_sync(table, id);
   if (sync)
      *value = sync->value;
   pthread_mutex_unlock(&table->lock);
   return sync != NULL;
}

bool
vtest_sync_write(struct vtest_sync_table *table, uint32_t id, uint64_t value)
{
   pthread_mutex_lock(&table->lock);
   struct sync *sync = find_sync(table, id);
   if (sync) {
      /* Lowering the value is allowed: that is how clients reset a sync. */
      sync->value = value;
      wake_waiters(table);
   }
   pthread_mutex_unlock(&table->lock);
   return sync != NULL;
}

enum vtest_sync_result
vtest_sync_wait(struct vtest_sync_table *table, bool any, uint32_t timeout_ms,
                const uint32_t *entries, uint32_t count, int *fd, uint32_t *bad_index)
{
   const uint64_t now_ns = os_now_ns();
   struct waiter *waiter = malloc(sizeof(*waiter) + (size_t)count * sizeof(waiter->targets[0]));
   if (!waiter)
      return VTEST_SYNC_SYSTEM;

   pthread_mutex_lock(&table->lock);
   table->usage.waits++;
   enum vtest_sync_result result =
      resolve_targets(table, entries, count, waiter->targets, bad_index);
   if (result != VTEST_SYNC_OK) {
      pthread_mutex_unlock(&table->lock);
      free(waiter);
      return result;
   }
   waiter->any = any;
   waiter->count = count;
   /* Counted from when the request arrives, so never before the client's
    * own timeout, which starts once the reply is back. */
   waiter->expires_ns = timeout_ms == VTEST_SYNC_WAIT_INFINITE
                           ? 0
                           : now_ns + (uint64_t)timeout_ms * 1000000;

   if (targets_reached(waiter->targets, count, any)) {
      release_targets(waiter->targets, count);
      pthread_mutex_unlock(&table->lock);
      free(waiter);
      *fd = os_signalled_fd();
      return *fd < 0 ? VTEST_SYNC_SYSTEM : VTEST_SYNC_OK;
   }

   drop_expired_waiters(table, now_ns);
   if (table->waiter_count >= VTEST_SYNC_MAX_WAITERS) {
      result = VTEST_SYNC_LIMIT;
   } else if (os_event_init(&waiter->event) < 0) {
      result = VTEST_SYNC_SYSTEM;
   } else {
      /* The client gets its own fd: ours closes when the wait completes,
       * possibly on a retire thread before the client fd is even sent. */
      *fd = fcntl(waiter->event.read_fd, F_DUPFD_CLOEXEC, 0);

      if (*fd < 0) {
         os_event_fini(&waiter->event);
         result = VTEST_SYNC_SYSTEM;
      }
   }
   if (result != VTEST_SYNC_OK) {
      int err = errno;
      release_targets(waiter->targets, count);
      pthread_mutex_unlock(&table->lock);
      free(waiter);
      errno = err;
      return result;
   }
   waiter->next = table->waiters;
   table->waiters = waiter;
   table->waiter_count++;
   table->usage.waits_pending++;
   note_most(&table->usage.most_waiters, table->waiter_count);
   pthread_mutex_unlock(&table->lock);
   return VTEST_SYNC_OK;
}

enum vtest_sync_result
vtest_sync_signal_create(struct vtest_sync_table *table, const uint32_t *entries,
                         uint32_t count, struct vtest_sync_signal **out, uint32_t *bad_index)
{
   struct vtest_sync_signal *signal =
      malloc(sizeof(*signal) + (size_t)count * sizeof(signal->targets[0]));
   if (!signal)
      return VTEST_SYNC_SYSTEM;

   pthread_mutex_lock(&table->lock);
   enum vtest_sync_result result =
      count > VTEST_SYNC_MAX_PENDING_ENTRIES - table->pending_entries
         ? VTEST_SYNC_LIMIT
         : resolve_targets(table, entries, count, signal->targets, bad_index);
   if (result != VTEST_SYNC_OK) {
      pthread_mutex_unlock(&table->lock);
      free(signal);
      return result;
   }
   signal->table = table;
   signal->count = count;
   table->pending_entries += count;
   note_most(&table->usage.most_pending_entries, table->pending_entries);
   signal->prev = NULL;
   signal->next = table->pending;
   if (table->pending)
      table->pending->prev = signal;
   table->pending = signal;
   vs_activity_work(table->activity, 1);
   pthread_mutex_unlock(&table->lock);
   *out = signal;
   return VTEST_SYNC_OK;
}

/* Called with the lock held. */
static void
unlist_signal(struct vtest_sync_signal *signal)
{
   struct vtest_sync_table *table = signal->table;
   if (signal->prev)
      signal->prev->next = signal->next;
   else
      table->pending = signal->next;
   if (signal->next)
      signal->next->prev = signal->prev;
   table->pending_entries -= signal->count;
   vs_activity_work(table->activity, -1);
}

void
vtest_sync_signal_retire(void *data)
{
   struct vtest_sync_signal *signal = data;
   struct vtest_sync_table *table = signal->table;

   pthread_mutex_lock(&table->lock);
   for (uint32_t i = 0; i < signal->count; i++)
      signal->targets[i].sync->value = signal->targets[i].value;
   wake_waiters(table);
   unlist_signal(signal);
   release_targets(signal->targets, signal->count);
   pthread_mutex_unlock(&table->lock);
   free(signal);
}

void
vtest_sync_signal_cancel(struct vtest_sync_signal *signal)
{
   struct vtest_sync_table *table = signal->table;

   pthread_mutex_lock(&table->lock);
   unlist_signal(signal);
   release_targets(signal->targets, signal->count);
   pthread_mutex_unlock(&table->lock);
   free(signal);
}

bool
vtest_sync_table_write(struct vtest_sync_table *table, struct vs_parcel *out, uint64_t deadline_ns, uint32_t *waits,
                       char *why, size_t why_size)
{
   /* A submission's signal retires once its work has: the hand-over's
    * quiet point is after this, so it is waited for here. */
   pthread_mutex_lock(&table->lock);
   while (table->pending && os_now_ns() < deadline_ns) {
      pthread_mutex_unlock(&table->lock);
      os_sleep_ns(1000000);
      pthread_mutex_lock(&table->lock);
   }
   drop_expired_waiters(table, os_now_ns());
   if (table->pending) {
      snprintf(why, why_size, "a submission's sync objects are not set yet");
      pthread_mutex_unlock(&table->lock);
      return false;
   }
   vs_parcel_put_u32(out, table->next_id);
   vs_parcel_put_u32(out, table->sync_count);
   for (unsigned b = 0; b < SYNC_BUCKETS; b++) {
      for (const struct sync *sync = table->buckets[b]; sync; sync = sync->next) {
         vs_parcel_put_u32(out, sync->id);
         vs_parcel_put_u64(out, sync->value);
      }
   }
   /* A SYNC_WAIT still pending crosses with the signalling end of its
    * wakeup object: the client polls its own read end, which the next
    * worker signals. A sync the client unref'd meanwhile crosses as its
    * value, which nothing can change any more. */
   vs_parcel_put_u32(out, table->waiter_count);
   *waits = table->waiter_count;
   for (const struct waiter *waiter = table->waiters; waiter; waiter = waiter->next) {
      vs_parcel_put_u32(out, waiter->any);
      vs_parcel_put_u64(out, waiter->expires_ns);
      vs_parcel_put_fd(out, waiter->event.write_fd);
      vs_parcel_put_u32(out, waiter->count);
      for (uint32_t i = 0; i < waiter->count; i++) {
         const struct sync *sync = waiter->targets[i].sync;
         vs_parcel_put_u32(out, sync->id);
         vs_parcel_put_u32(out, find_sync(table, sync->id) == sync);
         vs_parcel_put_u64(out, sync->value);
         vs_parcel_put_u64(out, waiter->targets[i].value);
      }
   }
   pthread_mutex_unlock(&table->lock);
   if (out->failed)
      snprintf(why, why_size, "out of memory for its sync objects");
   return !out->failed;
}

/* One target of a carried waiter: a listed sync, or one the client
 * unref'd, made apart with its value. */
static bool
read_target(struct vtest_sync_table *table, struct vs_parcel *in, struct sync_target *target)
{
   uint32_t id = 0, listed = 0;
   uint64_t value = 0;
   vs_parcel_take_u32(in, &id);
   vs_parcel_take_u32(in, &listed);
   vs_parcel_take_u64(in, &value);
   vs_parcel_take_u64(in, &target->value);
   if (in->failed || listed > 1)
      return false;
   if (listed) {
      target->sync = find_sync(table, id);
      if (!target->sync)
         return false;
      target->sync->refs++;
      return true;
   }
   target->sync = calloc(1, sizeof(*target->sync));
   if (!target->sync)
      return false;
   *target->sync = (struct sync){ .id = id, .value = value, .refs = 1 };
   return true;
}

/* The carried SYNC_WAITs, under the lock: each target checked, each fd a
 * wakeup object. */
static bool
read_waiters(struct vtest_sync_table *table, struct vs_parcel *in, char *why, size_t why_size)
{
   uint32_t count = 0;
   if (!vs_parcel_take_count(in, &count, 20) || count > VTEST_SYNC_MAX_WAITERS) {
      snprintf(why, why_size, "its snapshot is bad: its pending SYNC_WAITs");
      return false;
   }
   for (uint32_t w = 0; w < count; w++) {
      uint32_t any = 0, targets = 0;
      uint64_t expires_ns = 0;
      vs_parcel_take_u32(in, &any);
      vs_parcel_take_u64(in, &expires_ns);
      const int fd = in->failed ? -1 : vs_parcel_take_fd(in);
      /* No more targets than a SYNC_WAIT may name at the door. */
      if (fd < 0 || any > 1 || !os_fd_is_event(fd) || !vs_parcel_take_count(in, &targets, 24) ||
          targets > VTEST_MAX_WAIT_SYNCS) {
         if (fd >= 0)
            close(fd);
         snprintf(why, why_size, "its snapshot is bad: pending SYNC_WAIT %u", w);
         return false;
      }
      struct waiter *waiter = malloc(sizeof(*waiter) + (size_t)targets * sizeof(waiter->targets[0]));
      if (!waiter) {
         close(fd);
         snprintf(why, why_size, "out of memory for its pending SYNC_WAITs");
         return false;
      }
      os_event_adopt(&waiter->event, fd);
      waiter->expires_ns = expires_ns;
      waiter->any = any;
      waiter->count = 0;
      while (waiter->count < targets && read_target(table, in, &waiter->targets[waiter->count]))
         waiter->count++;
      /* Listed now: the table's end frees it, whole or not. */
      waiter->next = table->waiters;
      table->waiters = waiter;
      table->waiter_count++;
      if (waiter->count < targets) {
         snprintf(why, why_size, "its snapshot is bad: a sync object of pending SYNC_WAIT %u", w);
         return false;
      }
   }
   return true;
}

bool
vtest_sync_table_read(struct vtest_sync_table *table, struct vs_parcel *in, bool waits_follow, char *why,
                      size_t why_size)
{
   uint32_t next_id = 0, count = 0;
   if (!vs_parcel_take_u32(in, &next_id) || !vs_parcel_take_count(in, &count, 12) || next_id == 0 ||
       count > VTEST_SYNC_MAX_SYNCS) {
      snprintf(why, why_size, "its snapshot is bad: its sync objects");
      return false;
   }
   pthread_mutex_lock(&table->lock);
   bool ok = table->sync_count == 0;
   for (uint32_t i = 0; ok && i < count; i++) {
      uint32_t id = 0;
      uint64_t value = 0;
      vs_parcel_take_u32(in, &id);
      vs_parcel_take_u64(in, &value);
      struct sync *sync = id && !in->failed && !find_sync(table, id) ? calloc(1, sizeof(*sync)) : NULL;
      ok = sync != NULL;
      if (ok) {
         sync->id = id;
         sync->value = value;
         sync->refs = 1;
         *find_slot(table, id) = sync;
         table->sync_count++;
      }
   }
   table->next_id = next_id;
   if (!ok) {
      pthread_mutex_unlock(&table->lock);
      snprintf(why, why_size, "its snapshot is bad: a sync object is 0 or named twice");
      return false;
   }
   ok = !waits_follow || read_waiters(table, in, why, why_size);
   wake_waiters(table);
   pthread_mutex_unlock(&table->lock);
   return ok;
}

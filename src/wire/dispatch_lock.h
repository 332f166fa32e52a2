/* SPDX-License-Identifier: MIT */
/* A context's dispatch lock: what keeps a command on one dispatcher (a
 * ring thread, or the context side) from running while a command on
 * another destroys what it uses. Each command holds it for its decoding,
 * checks, handler and reply, never across commands:
 *  - most commands hold it shared, so the rings of several guest threads
 *    keep running in parallel;
 *  - commands that destroy or free objects (vkDestroy*, vkFree*,
 *    vkResetCommandPool, vkResetDescriptorPool) hold it exclusive: they
 *    start once no command that may have resolved their objects runs;
 *  - the transport commands (rings, command streams, seqno waits) take
 *    none: they wait for other dispatchers, which must be able to run
 *    meanwhile, and touch no Vulkan object; the reply window's hold it
 *    shared (dispatch_lock.c).
 * Writers go first: a shared request waits while a writer waits, so a
 * destroy is never starved by the rings. A command that waits on the host
 * for long under the shared lock lets a waiting writer in between two
 * slices of its wait (vs_runner_wait_yield, wire/runner.h). */
#ifndef VS_WIRE_DISPATCH_LOCK_H
#define VS_WIRE_DISPATCH_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Taken by every command, so a shared take or release is one atomic on
 * `state` while no writer is about; the mutex and condition serve writers
 * and whoever waits for one. */
struct vs_dispatch_lock {
   pthread_mutex_t mutex;
   pthread_cond_t cond;
   /* VS_DISPATCH_WRITER while a writer holds the lock or waits for it,
    * plus the count of readers holding it. */
   _Atomic uint32_t state;
   uint32_t writers_waiting; /* under mutex: writers waiting for another writer */
   bool writer;              /* under mutex: a writer owns VS_DISPATCH_WRITER */
};

#define VS_DISPATCH_WRITER (1u << 31)

enum vs_dispatch_mode {
   VS_DISPATCH_UNLOCKED,
   VS_DISPATCH_SHARED,
   VS_DISPATCH_EXCLUSIVE,
};

void vs_dispatch_lock_init(struct vs_dispatch_lock *l);
void vs_dispatch_lock_fini(struct vs_dispatch_lock *l);

/* The out-of-line parts of the two below: any take but a shared one with
 * no writer about, the wake of a waiting writer by the last reader out,
 * an exclusive release. */
void vs_dispatch_lock_slow(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode);
void vs_dispatch_wake_writer(struct vs_dispatch_lock *l);
void vs_dispatch_unlock_exclusive(struct vs_dispatch_lock *l);

/* Takes / lets go of the lock in `mode` (nothing for UNLOCKED). Inline:
 * every command takes it, and a shared take or release with no writer
 * about is one atomic. */
static inline void
vs_dispatch_lock(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode)
{
   uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
   if (mode == VS_DISPATCH_SHARED && !(s & VS_DISPATCH_WRITER) &&
       atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1, memory_order_acquire, memory_order_relaxed))
      return;
   if (mode != VS_DISPATCH_UNLOCKED)
      vs_dispatch_lock_slow(l, mode);
}

static inline void
vs_dispatch_unlock(struct vs_dispatch_lock *l, enum vs_dispatch_mode mode)
{
   if (mode == VS_DISPATCH_SHARED) {
      if (atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) == (VS_DISPATCH_WRITER | 1))
         vs_dispatch_wake_writer(l);
   } else if (mode == VS_DISPATCH_EXCLUSIVE) {
      vs_dispatch_unlock_exclusive(l);
   }
}

/* Whether a writer waits for the lock (a reader in a long wait yields). */
bool vs_dispatch_lock_contended(struct vs_dispatch_lock *l);

/* The mode a command holds the lock in, by its name (see above). */
enum vs_dispatch_mode vs_dispatch_mode_of(const char *command);

#endif

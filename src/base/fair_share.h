/* SPDX-License-Identifier: MIT */
/* What the kernel bounds per process rather than per client (fds under
 * RLIMIT_NOFILE, mappings under vm.max_map_count), shared fairly by the
 * clients of one server process: each client is guaranteed `guaranteed`
 * units, and beyond that borrows from one common pool of `shared` units
 * while any is left. One busy client can so hold far more than an equal
 * split of the process's limit, and no client can take what another is
 * guaranteed. A forked worker (--isolate process) gets a copy of the pool
 * and is alone in its own process, as the copy then says. */
#ifndef VS_UTIL_FAIR_SHARE_H
#define VS_UTIL_FAIR_SHARE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vs_fair_pool {
   pthread_mutex_t lock;
   const char *unit;     /* "fds", "mappings": for log lines */
   uint64_t guaranteed;  /* per client */
   uint64_t shared;      /* lendable to any client */
   uint64_t lent;        /* of `shared`, held beyond guarantees now */
};

/* One client's holdings in a pool; pool NULL: counted, never refused. */
struct vs_fair_account {
   struct vs_fair_pool *pool;
   _Atomic uint64_t held;  /* changed under the pool's lock, if any */
};

void vs_fair_pool_init(struct vs_fair_pool *pool, const char *unit, uint64_t guaranteed, uint64_t shared);
void vs_fair_account_init(struct vs_fair_account *account, struct vs_fair_pool *pool);

/* Takes n units for the account. False (nothing taken) when that would
 * pass its guarantee and the shared pool has not enough left; `why` (may
 * be NULL) then gets one line's worth of explanation. */
bool vs_fair_take(struct vs_fair_account *account, uint64_t n, char *why, size_t why_size);
/* Gives back n units the account took. */
void vs_fair_give(struct vs_fair_account *account, uint64_t n);

#endif

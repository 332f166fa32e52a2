/* SPDX-License-Identifier: MIT */
#include "base/fair_share.h"

#include <stdio.h>

void
vs_fair_pool_init(struct vs_fair_pool *pool, const char *unit, uint64_t guaranteed, uint64_t shared)
{
   pthread_mutex_init(&pool->lock, NULL);
   pool->unit = unit;
   pool->guaranteed = guaranteed;
   pool->shared = shared;
   pool->lent = 0;
}

void
vs_fair_account_init(struct vs_fair_account *account, struct vs_fair_pool *pool)
{
   account->pool = pool;
   atomic_init(&account->held, 0);
}

/* Units of `held` beyond the guarantee: what the shared pool lends. */
static uint64_t
borrowed(const struct vs_fair_pool *pool, uint64_t held)
{
   return held > pool->guaranteed ? held - pool->guaranteed : 0;
}

bool
vs_fair_take(struct vs_fair_account *account, uint64_t n, char *why, size_t why_size)
{
   struct vs_fair_pool *pool = account->pool;
   if (!pool) {
      atomic_fetch_add(&account->held, n);
      return true;
   }
   pthread_mutex_lock(&pool->lock);
   const uint64_t held = atomic_load(&account->held);
   const uint64_t more = n > UINT64_MAX - held ? UINT64_MAX : borrowed(pool, held + n) - borrowed(pool, held);
   const bool ok = more <= pool->shared - pool->lent;
   if (ok) {
      pool->lent += more;
      atomic_store(&account->held, held + n);
   } else if (why) {
      snprintf(why, why_size, "this client holds %llu %s (%llu guaranteed) and the %llu shared by all clients "
               "are lent out", (unsigned long long)held, pool->unit, (unsigned long long)pool->guaranteed,
               (unsigned long long)pool->shared);
   }
   pthread_mutex_unlock(&pool->lock);
   return ok;
}

void
vs_fair_give(struct vs_fair_account *account, uint64_t n)
{
   struct vs_fair_pool *pool = account->pool;
   if (!pool) {
      uint64_t held = atomic_load(&account->held);
      while (!atomic_compare_exchange_weak(&account->held, &held, held - (n < held ? n : held)))
         ;
      return;
   }
   pthread_mutex_lock(&pool->lock);
   const uint64_t held = atomic_load(&account->held);
   n = n < held ? n : held;
   pool->lent -= borrowed(pool, held) - borrowed(pool, held - n);
   atomic_store(&account->held, held - n);
   pthread_mutex_unlock(&pool->lock);
}

#include "util/fair_share.h"

#include <stdio.h>

/* Accounts without a pool still count under a lock. */
static pthread_mutex_t unpooled_lock = PTHREAD_MUTEX_INITIALIZER;

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
   account->held = 0;
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
      pthread_mutex_lock(&unpooled_lock);
      account->held += n;
      pthread_mutex_unlock(&unpooled_lock);
      return true;
   }
   pthread_mutex_lock(&pool->lock);
   const uint64_t held = account->held;
   const uint64_t more = n > UINT64_MAX - held ? UINT64_MAX : borrowed(pool, held + n) - borrowed(pool, held);
   const bool ok = more <= pool->shared - pool->lent;
   if (ok) {
      pool->lent += more;
      account->held = held + n;
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
   pthread_mutex_t *lock = pool ? &pool->lock : &unpooled_lock;
   pthread_mutex_lock(lock);
   n = n < account->held ? n : account->held;
   if (pool)
      pool->lent -= borrowed(pool, account->held) - borrowed(pool, account->held - n);
   account->held -= n;
   pthread_mutex_unlock(lock);
}

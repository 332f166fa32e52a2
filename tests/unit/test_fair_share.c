/* SPDX-License-Identifier: MIT */
/* base/fair_share.c: guarantees per client, one shared pool beyond. */
#include <string.h>

#include "unit.h"
#include "base/fair_share.h"

TEST(fair_guarantee_then_shared)
{
   struct vs_fair_pool pool;
   vs_fair_pool_init(&pool, "fds", 10, 100);
   struct vs_fair_account a, b, c;
   vs_fair_account_init(&a, &pool);
   vs_fair_account_init(&b, &pool);
   vs_fair_account_init(&c, &pool);
   /* One busy client takes its guarantee and the whole shared pool. */
   CHECK(vs_fair_take(&a, 10, NULL, 0));
   CHECK_EQ(pool.lent, 0u);
   CHECK(vs_fair_take(&a, 100, NULL, 0));
   CHECK_EQ(pool.lent, 100u);
   char why[160] = "";
   CHECK(!vs_fair_take(&a, 1, why, sizeof(why)));
   CHECK(strstr(why, "holds 110 fds (10 guaranteed)") != NULL);
   CHECK_EQ(a.held, 110u);
   /* The others still get their guarantees, and nothing more. */
   CHECK(vs_fair_take(&b, 10, NULL, 0));
   CHECK(!vs_fair_take(&b, 1, NULL, 0));
   CHECK(vs_fair_take(&c, 7, NULL, 0));
   CHECK(!vs_fair_take(&c, 4, NULL, 0));
   CHECK_EQ(c.held, 7u);
   /* What the busy one gives back beyond its guarantee is lendable again. */
   vs_fair_give(&a, 30);
   CHECK_EQ(pool.lent, 70u);
   CHECK(vs_fair_take(&b, 30, NULL, 0));
   CHECK_EQ(pool.lent, 100u);
   /* Giving back within the guarantee returns nothing to the pool. */
   vs_fair_give(&c, 7);
   CHECK_EQ(pool.lent, 100u);
   vs_fair_give(&a, 80);
   vs_fair_give(&b, 40);
   CHECK_EQ(pool.lent, 0u);
   CHECK_EQ(a.held, 0u);
   CHECK_EQ(b.held, 0u);
}

TEST(fair_take_is_all_or_nothing)
{
   struct vs_fair_pool pool;
   vs_fair_pool_init(&pool, "mappings", 3, 3);
   struct vs_fair_account a;
   vs_fair_account_init(&a, &pool);
   CHECK(vs_fair_take(&a, 5, NULL, 0));
   CHECK(!vs_fair_take(&a, 2, NULL, 0)); /* one left: not two */
   CHECK_EQ(a.held, 5u);
   CHECK_EQ(pool.lent, 2u);
   CHECK(!vs_fair_take(&a, UINT64_MAX, NULL, 0));
   CHECK(vs_fair_take(&a, 1, NULL, 0));
   /* More given back than held is clamped, never wraps. */
   vs_fair_give(&a, 100);
   CHECK_EQ(a.held, 0u);
   CHECK_EQ(pool.lent, 0u);
}

TEST(fair_no_pool_counts_only)
{
   struct vs_fair_account a;
   vs_fair_account_init(&a, NULL);
   CHECK(vs_fair_take(&a, 1000000, NULL, 0));
   CHECK_EQ(a.held, 1000000u);
   vs_fair_give(&a, 1000000);
   CHECK_EQ(a.held, 0u);
}

UNIT_MAIN(UNIT(fair_guarantee_then_shared), UNIT(fair_take_is_all_or_nothing), UNIT(fair_no_pool_counts_only))

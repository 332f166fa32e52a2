/* SPDX-License-Identifier: MIT */
/* wire/lifetime.c: holders keep targets alive; the guest's destroy of a
 * held object makes a zombie that the release hook destroys when its last
 * holder lets go; holds are deduplicated or counted; the hold limit; gone
 * objects found in a holder; teardown forgetting holds. */
#include <stdlib.h>

#include "unit.h"
#include "wire/lifetime.h"
#include "wire/object_table.h"

#define BUF VK_OBJECT_TYPE_BUFFER
#define MEM VK_OBJECT_TYPE_DEVICE_MEMORY
#define CMD VK_OBJECT_TYPE_COMMAND_BUFFER
#define SET VK_OBJECT_TYPE_DESCRIPTOR_SET

/* The release hook records what it released (host destroy stand-in). */
static uint64_t released[16];
static unsigned released_count;
static uint8_t released_state[16];

static void
record_release(void *data, struct vs_object *obj)
{
   struct vs_object_table *t = data;
   if (released_count < 16) {
      released_state[released_count] = obj->state;
      released[released_count++] = obj->id;
   }
   vs_object_remove(t, obj);
}

static void
table(struct vs_object_table *t)
{
   vs_object_table_init(t);
   t->release = record_release;
   t->release_data = t;
   released_count = 0;
}

TEST(unheld_destroy_is_immediate)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *b = vs_object_add(&t, 1, BUF, 0x10, NULL);
   CHECK(vs_object_retire(&t, b, VS_OBJECT_ZOMBIE));
   CHECK_EQ(b->state, VS_OBJECT_LIVE);
   vs_object_remove(&t, b);
   CHECK_EQ(t.count, 0u);
   CHECK_EQ(released_count, 0u);
   vs_object_table_fini(&t);
}

TEST(held_destroy_waits_for_last_holder)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *cb1 = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *cb2 = vs_object_add(&t, 2, CMD, 0x20, NULL);
   struct vs_object *b = vs_object_add(&t, 3, BUF, 0x30, NULL);
   CHECK(vs_object_hold(&t, cb1, b, true));
   CHECK(vs_object_hold(&t, cb1, b, true)); /* once: no second hold */
   CHECK(vs_object_hold(&t, cb2, b, true));
   CHECK_EQ(b->refs, 2u);
   CHECK_EQ(t.hold_count, 2u);
   CHECK(!vs_object_retire(&t, b, VS_OBJECT_ZOMBIE));
   CHECK_EQ(b->state, VS_OBJECT_ZOMBIE);
   /* Its id is gone at once; the entry is not. */
   CHECK_NULL(vs_object_lookup(&t, 3, BUF));
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0x30));
   CHECK_EQ(t.count, 3u);
   vs_object_drop_holds(&t, cb1);
   CHECK_EQ(released_count, 0u);
   CHECK_EQ(b->refs, 1u);
   /* Removing the last holder releases the zombie, host object first. */
   vs_object_remove(&t, cb2);
   CHECK_EQ(released_count, 1u);
   CHECK_EQ(released[0], 3u);
   CHECK_EQ(released_state[0], VS_OBJECT_ZOMBIE);
   CHECK_EQ(t.count, 1u);
   CHECK_EQ(t.hold_count, 0u);
   vs_object_table_fini(&t);
}

TEST(chain_releases_in_turn)
{
   /* cb -> buffer -> memory: freeing memory and destroying the buffer while
    * the cb holds the buffer keeps both until the cb lets go. */
   struct vs_object_table t;
   table(&t);
   struct vs_object *cb = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *b = vs_object_add(&t, 2, BUF, 0x20, NULL);
   struct vs_object *m = vs_object_add(&t, 3, MEM, 0x30, NULL);
   CHECK(vs_object_hold(&t, b, m, true));
   CHECK(vs_object_hold(&t, cb, b, true));
   CHECK(!vs_object_retire(&t, m, VS_OBJECT_ZOMBIE));
   CHECK(!vs_object_retire(&t, b, VS_OBJECT_ZOMBIE));
   CHECK_EQ(released_count, 0u);
   vs_object_drop_holds(&t, cb);
   CHECK_EQ(released_count, 2u);
   CHECK_EQ(released[0], 2u);
   CHECK_EQ(released[1], 3u);
   CHECK_EQ(t.count, 1u);
   vs_object_table_fini(&t);
}

TEST(counted_holds)
{
   /* A descriptor set naming one buffer in two slots. */
   struct vs_object_table t;
   table(&t);
   struct vs_object *set = vs_object_add(&t, 1, SET, 0x10, NULL);
   struct vs_object *b = vs_object_add(&t, 2, BUF, 0x20, NULL);
   CHECK(vs_object_hold(&t, set, b, false));
   CHECK(vs_object_hold(&t, set, b, false));
   CHECK_EQ(vs_object_hold_count(&t, set, b), 2u);
   CHECK_EQ(b->refs, 1u);
   CHECK(!vs_object_retire(&t, b, VS_OBJECT_ZOMBIE));
   vs_object_unhold(&t, set, b);
   CHECK_EQ(released_count, 0u);
   vs_object_unhold(&t, set, b);
   CHECK_EQ(released_count, 1u);
   CHECK_EQ(t.hold_count, 0u);
   /* Unholding what is not held is nothing. */
   struct vs_object *c = vs_object_add(&t, 3, BUF, 0x30, NULL);
   vs_object_unhold(&t, set, c);
   CHECK_EQ(c->refs, 0u);
   vs_object_table_fini(&t);
}

TEST(many_targets_survive_growth_and_deletion)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *cb = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *objs[300];
   for (unsigned i = 0; i < 300; i++) {
      objs[i] = vs_object_add(&t, 100 + i, BUF, 0x1000 + i, NULL);
      CHECK(vs_object_hold(&t, cb, objs[i], false));
   }
   CHECK_EQ(t.hold_count, 300u);
   /* Delete every other one (backward shift keeps the rest findable). */
   for (unsigned i = 0; i < 300; i += 2)
      vs_object_unhold(&t, cb, objs[i]);
   for (unsigned i = 0; i < 300; i++)
      CHECK_EQ(vs_object_hold_count(&t, cb, objs[i]), i % 2 ? 1u : 0u);
   CHECK_EQ(t.hold_count, 150u);
   vs_object_drop_holds(&t, cb);
   CHECK_EQ(t.hold_count, 0u);
   for (unsigned i = 0; i < 300; i++)
      CHECK_EQ(objs[i]->refs, 0u);
   vs_object_table_fini(&t);
}

TEST(hold_limit)
{
   struct vs_object_table t;
   table(&t);
   t.hold_limit = 3;
   struct vs_object *cb = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *b[4];
   for (unsigned i = 0; i < 4; i++)
      b[i] = vs_object_add(&t, 10 + i, BUF, 0x100 + i, NULL);
   CHECK(vs_object_hold(&t, cb, b[0], true));
   CHECK(vs_object_hold(&t, cb, b[1], true));
   CHECK(vs_object_hold(&t, cb, b[2], true));
   CHECK(!vs_object_hold(&t, cb, b[3], true));
   /* Holding again what is held costs nothing. */
   CHECK(vs_object_hold(&t, cb, b[0], true));
   CHECK_EQ(b[3]->refs, 0u);
   /* Nothing holds itself. */
   CHECK(vs_object_hold(&t, cb, cb, true));
   CHECK_EQ(cb->refs, 0u);
   vs_object_table_fini(&t);
}

TEST(gone_found_through_secondaries)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *primary = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *secondary = vs_object_add(&t, 2, CMD, 0x20, NULL);
   struct vs_object *set = vs_object_add(&t, 3, SET, 0x30, NULL);
   CHECK(vs_object_hold(&t, primary, secondary, true));
   CHECK(vs_object_hold(&t, secondary, set, true));
   uint32_t gen = 0;
   CHECK_NULL(vs_object_find_gone(&t, primary, &gen));
   CHECK(!vs_object_retire(&t, set, VS_OBJECT_GONE));
   CHECK(vs_object_find_gone(&t, primary, &gen) == set);
   CHECK(vs_object_find_gone(&t, secondary, &gen) == set);
   /* Re-recorded: nothing gone, and the gone set is released. */
   vs_object_drop_holds(&t, secondary);
   CHECK_EQ(released_count, 1u);
   CHECK_EQ(released_state[0], VS_OBJECT_GONE);
   CHECK_NULL(vs_object_find_gone(&t, primary, &gen));
   CHECK_EQ(gen, t.gone_generation);
   vs_object_table_fini(&t);
}

TEST(forget_touches_no_target)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *cb = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *b = vs_object_add(&t, 2, BUF, 0x20, NULL);
   CHECK(vs_object_hold(&t, cb, b, true));
   CHECK(!vs_object_retire(&t, b, VS_OBJECT_ZOMBIE));
   /* Teardown: holds forgotten first, then entries go in any order. */
   vs_object_forget_holds(&t, cb);
   CHECK_EQ(t.hold_count, 0u);
   vs_object_remove(&t, b);
   vs_object_remove(&t, cb);
   CHECK_EQ(released_count, 0u);
   CHECK_EQ(t.count, 0u);
   vs_object_table_fini(&t);
}

/* A hold found through the holder's hints is a hold the table has: once
 * the holder lets go (a reset recording, an overwritten slot), naming the
 * target again holds it anew. */
TEST(hinted_holds_follow_the_table)
{
   struct vs_object_table t;
   table(&t);
   struct vs_object *cb = vs_object_add(&t, 1, CMD, 0x10, NULL);
   struct vs_object *b = vs_object_add(&t, 2, BUF, 0x20, NULL);
   struct vs_object *set = vs_object_add(&t, 3, SET, 0x30, NULL);
   for (int i = 0; i < 3; i++)
      CHECK(vs_object_hold(&t, cb, b, true));
   CHECK_EQ(b->refs, 1u);
   CHECK_EQ(t.hold_count, 1u);
   vs_object_drop_holds(&t, cb);
   CHECK_EQ(b->refs, 0u);
   CHECK(vs_object_hold(&t, cb, b, true));
   CHECK_EQ(b->refs, 1u);
   CHECK_EQ(vs_object_hold_count(&t, cb, b), 1u);
   vs_object_forget_holds(&t, cb);
   b->refs = 0; /* what forgetting leaves to the caller */
   CHECK(vs_object_hold(&t, cb, b, true));
   CHECK_EQ(t.hold_count, 1u);
   /* A counted hold let go down to none. */
   CHECK(vs_object_hold(&t, set, b, false));
   vs_object_unhold(&t, set, b);
   CHECK_EQ(vs_object_hold_count(&t, set, b), 0u);
   CHECK(vs_object_hold(&t, set, b, true));
   CHECK_EQ(vs_object_hold_count(&t, set, b), 1u);
   CHECK_EQ(b->refs, 2u);
   vs_object_table_fini(&t);
}

UNIT_MAIN(UNIT(unheld_destroy_is_immediate), UNIT(held_destroy_waits_for_last_holder), UNIT(chain_releases_in_turn),
          UNIT(counted_holds), UNIT(many_targets_survive_growth_and_deletion), UNIT(hold_limit),
          UNIT(gone_found_through_secondaries), UNIT(forget_touches_no_target),
          UNIT(hinted_holds_follow_the_table))

/* SPDX-License-Identifier: MIT */
/* wire/object_table.c: guest ids -> host objects, the (type, handle)
 * index and the per-parent child lists. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wire/object_table.h"

#define BUF VK_OBJECT_TYPE_BUFFER
#define IMG VK_OBJECT_TYPE_IMAGE
#define DEV VK_OBJECT_TYPE_DEVICE
#define POOL VK_OBJECT_TYPE_COMMAND_POOL
#define CMD VK_OBJECT_TYPE_COMMAND_BUFFER

TEST(object_add_lookup)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   struct vs_object *a = vs_object_add(&t, 1, BUF, 0x1000, NULL);
   struct vs_object *b = vs_object_add(&t, 2, IMG, 0x2000, NULL);
   CHECK_NOT_NULL(a);
   CHECK_NOT_NULL(b);
   CHECK_EQ(a->id, 1u);
   CHECK_EQ(a->type, BUF);
   CHECK_EQ(a->handle, 0x1000u);
   CHECK_NULL(a->parent);
   CHECK_EQ(t.count, 2u);
   CHECK(vs_object_lookup(&t, 1, BUF) == a);
   CHECK(vs_object_lookup(&t, 2, IMG) == b);
   /* The wrong type is as good as unknown. */
   CHECK_NULL(vs_object_lookup(&t, 1, IMG));
   CHECK_NULL(vs_object_lookup(&t, 2, BUF));
   CHECK_NULL(vs_object_lookup(&t, 3, BUF));
   CHECK_NULL(vs_object_lookup(&t, 0, BUF));
   CHECK(vs_object_contains(&t, 1));
   CHECK(!vs_object_contains(&t, 3));
   CHECK(!vs_object_contains(&t, 0));
   /* Ids are 64-bit: the high half matters. */
   struct vs_object *hi = vs_object_add(&t, 1ull | 1ull << 40, BUF, 0x3000, NULL);
   CHECK_NOT_NULL(hi);
   CHECK(vs_object_lookup(&t, 1ull | 1ull << 40, BUF) == hi);
   CHECK(vs_object_lookup(&t, 1, BUF) == a);
   vs_object_table_fini(&t);
}

TEST(object_bad_ids_refused)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   CHECK_NULL(vs_object_add(&t, 0, BUF, 0x1000, NULL));
   struct vs_object *a = vs_object_add(&t, 7, BUF, 0x1000, NULL);
   CHECK_NOT_NULL(a);
   /* A duplicate id is refused whatever its type or handle, and leaves
    * the first one alone. */
   CHECK_NULL(vs_object_add(&t, 7, BUF, 0x1000, NULL));
   CHECK_NULL(vs_object_add(&t, 7, IMG, 0x9999, NULL));
   CHECK_EQ(t.count, 1u);
   CHECK(vs_object_lookup(&t, 7, BUF) == a);
   CHECK_NULL(vs_object_lookup(&t, 7, IMG));
   CHECK(vs_object_find_handle(&t, BUF, 0x1000) == a);
   CHECK_NULL(vs_object_find_handle(&t, IMG, 0x9999));
   vs_object_table_fini(&t);
}

TEST(object_refusals_remembered)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   char why[VS_OBJECT_REFUSED_WHY];
   CHECK(!vs_object_refusal(&t, 5, why, sizeof(why)));
   CHECK(!vs_object_refusal(&t, 0, why, sizeof(why))); /* empty slots hold id 0 */
   vs_object_note_refused(&t, 5, "vkAllocateMemory failed");
   CHECK(vs_object_refusal(&t, 5, why, sizeof(why)));
   CHECK(strcmp(why, "vkAllocateMemory failed") == 0);
   CHECK_NULL(vs_object_lookup(&t, 5, BUF)); /* still no object */
   /* The latest VS_OBJECT_REFUSED_SLOTS are remembered, older ones go. */
   for (uint64_t id = 100; id < 100 + VS_OBJECT_REFUSED_SLOTS; id++)
      vs_object_note_refused(&t, id, "later");
   CHECK(!vs_object_refusal(&t, 5, why, sizeof(why)));
   CHECK(vs_object_refusal(&t, 100, why, sizeof(why)));
   CHECK(vs_object_refusal(&t, 99 + VS_OBJECT_REFUSED_SLOTS, why, sizeof(why)));
   /* A reason longer than a slot is cut, never overruns. */
   char longer[300];
   memset(longer, 'x', sizeof(longer) - 1);
   longer[sizeof(longer) - 1] = '\0';
   vs_object_note_refused(&t, 7, longer);
   CHECK(vs_object_refusal(&t, 7, why, sizeof(why)));
   CHECK_EQ(strlen(why), (size_t)VS_OBJECT_REFUSED_WHY - 1);
   vs_object_table_fini(&t);
}

TEST(object_remove)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   struct vs_object *a = vs_object_add(&t, 1, BUF, 0x10, NULL);
   struct vs_object *b = vs_object_add(&t, 2, BUF, 0x20, NULL);
   CHECK_NOT_NULL(a);
   CHECK_NOT_NULL(b);
   vs_object_remove(&t, a);
   CHECK_EQ(t.count, 1u);
   CHECK_NULL(vs_object_lookup(&t, 1, BUF));
   CHECK(!vs_object_contains(&t, 1));
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0x10));
   CHECK(vs_object_lookup(&t, 2, BUF) == b);
   /* A removed id can be used again. */
   a = vs_object_add(&t, 1, IMG, 0x30, NULL);
   CHECK_NOT_NULL(a);
   CHECK(vs_object_lookup(&t, 1, IMG) == a);
   vs_object_table_fini(&t);
}

TEST(object_find_handle)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   /* The same handle value under two types is two objects. */
   struct vs_object *buf = vs_object_add(&t, 1, BUF, 0xabc, NULL);
   struct vs_object *img = vs_object_add(&t, 2, IMG, 0xabc, NULL);
   CHECK(vs_object_find_handle(&t, BUF, 0xabc) == buf);
   CHECK(vs_object_find_handle(&t, IMG, 0xabc) == img);
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0xabd));
   CHECK_NULL(vs_object_find_handle(&t, POOL, 0xabc));
   /* A driver that aliases non-dispatchable handles: either object may be
    * returned, and removing one leaves the other findable. */
   struct vs_object *buf2 = vs_object_add(&t, 3, BUF, 0xabc, NULL);
   CHECK_NOT_NULL(buf2);
   struct vs_object *f = vs_object_find_handle(&t, BUF, 0xabc);
   CHECK(f == buf || f == buf2);
   vs_object_remove(&t, buf);
   CHECK(vs_object_find_handle(&t, BUF, 0xabc) == buf2);
   vs_object_remove(&t, buf2);
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0xabc));
   CHECK(vs_object_find_handle(&t, IMG, 0xabc) == img);
   vs_object_table_fini(&t);
}

/* A buffer that keeps the second of its two host buffers is found by the
 * new handle only. */
TEST(object_rehandle)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   struct vs_object *buf = vs_object_add(&t, 1, BUF, 0xabc, NULL);
   vs_object_rehandle(&t, buf, 0xdef);
   CHECK_EQ(buf->handle, (uint64_t)0xdef);
   CHECK(vs_object_find_handle(&t, BUF, 0xdef) == buf);
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0xabc));
   CHECK(vs_object_lookup(&t, 1, BUF) == buf);
   vs_object_remove(&t, buf);
   CHECK_NULL(vs_object_find_handle(&t, BUF, 0xdef));
   vs_object_table_fini(&t);
}

struct visit {
   struct vs_object_table *t;
   unsigned calls;
   uint64_t id_sum;
   bool remove;
};

static void
visit_cb(struct vs_object *o, void *data)
{
   struct visit *v = data;
   v->calls++;
   v->id_sum += o->id;
   if (v->remove)
      vs_object_remove(v->t, o);
}

TEST(object_children)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   struct vs_object *dev = vs_object_add(&t, 1, DEV, 0x1, NULL);
   struct vs_object *pool = vs_object_add(&t, 2, POOL, 0x2, dev);
   CHECK_NOT_NULL(dev);
   CHECK_NOT_NULL(pool);
   CHECK(pool->parent == dev);
   uint64_t cmd_sum = 0;
   for (uint64_t id = 10; id < 20; id++) {
      CHECK_NOT_NULL(vs_object_add(&t, id, CMD, 0x100 + id, pool));
      cmd_sum += id;
   }
   CHECK_NOT_NULL(vs_object_add(&t, 30, BUF, 0x30, dev));
   CHECK_NOT_NULL(vs_object_add(&t, 31, BUF, 0x31, dev));
   CHECK_EQ(dev->child_count, 3u);
   CHECK_EQ(pool->child_count, 10u);

   /* By type, and any type. */
   struct visit v = { .t = &t };
   vs_object_foreach_child(&t, dev, BUF, visit_cb, &v);
   CHECK_EQ(v.calls, 2u);
   CHECK_EQ(v.id_sum, 61u);
   v = (struct visit){ .t = &t };
   vs_object_foreach_child(&t, dev, VK_OBJECT_TYPE_UNKNOWN, visit_cb, &v);
   CHECK_EQ(v.calls, 3u);
   CHECK_EQ(v.id_sum, 63u);
   v = (struct visit){ .t = &t };
   vs_object_foreach_child(&t, pool, BUF, visit_cb, &v);
   CHECK_EQ(v.calls, 0u);

   /* Removing a middle child unlinks it. */
   vs_object_remove(&t, vs_object_lookup(&t, 15, CMD));
   cmd_sum -= 15;
   CHECK_EQ(pool->child_count, 9u);

   /* The callback removes every child it is given. */
   v = (struct visit){ .t = &t, .remove = true };
   vs_object_foreach_child(&t, pool, CMD, visit_cb, &v);
   CHECK_EQ(v.calls, 9u);
   CHECK_EQ(v.id_sum, cmd_sum);
   CHECK_EQ(pool->child_count, 0u);
   CHECK_NULL(pool->first_child);
   for (uint64_t id = 10; id < 20; id++)
      CHECK(!vs_object_contains(&t, id));
   CHECK_EQ(t.count, 4u);

   /* A childless parent: no call. */
   v = (struct visit){ .t = &t };
   vs_object_foreach_child(&t, pool, VK_OBJECT_TYPE_UNKNOWN, visit_cb, &v);
   CHECK_EQ(v.calls, 0u);

   /* Children inherit the parent's entry-point tables. */
   struct vs_object *dev2 = vs_object_add(&t, 40, DEV, 0x40, NULL);
   dev2->dt = (const struct vn_device_table *)&t;
   struct vs_object *child = vs_object_add(&t, 41, BUF, 0x41, dev2);
   CHECK(child->dt == dev2->dt);

   /* Removing a parent first orphans its children. */
   vs_object_remove(&t, dev2);
   CHECK_NULL(child->parent);
   vs_object_remove(&t, child);

   /* Removing the device's children one by one through the callback,
    * then the device. */
   v = (struct visit){ .t = &t, .remove = true };
   vs_object_foreach_child(&t, dev, VK_OBJECT_TYPE_UNKNOWN, visit_cb, &v);
   CHECK_EQ(v.calls, 3u);
   CHECK_EQ(dev->child_count, 0u);
   vs_object_remove(&t, dev);
   CHECK_EQ(t.count, 0u);
   vs_object_table_fini(&t);
}

TEST(object_growth)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   uint32_t initial_buckets = t.bucket_count;
   const uint64_t n = 20000;
   struct vs_object *dev = vs_object_add(&t, 1, DEV, 0xd, NULL);
   CHECK_NOT_NULL(dev);
   /* Spread ids (as a 64-bit guest counter might be) and handles. */
   for (uint64_t i = 0; i < n; i++) {
      uint64_t id = 1000 + i * 7919;
      CHECK_NOT_NULL(vs_object_add(&t, id, i % 2 ? BUF : IMG, 0x10000 + i * 64, dev));
   }
   CHECK_EQ(t.count, (uint32_t)n + 1);
   CHECK_GE(t.bucket_count, initial_buckets * 8);
   CHECK_EQ(dev->child_count, (uint32_t)n);
   for (uint64_t i = 0; i < n; i++) {
      uint64_t id = 1000 + i * 7919;
      VkObjectType type = i % 2 ? BUF : IMG;
      struct vs_object *o = vs_object_lookup(&t, id, type);
      CHECK_MSG(o != NULL, "id %llu", (unsigned long long)id);
      CHECK_EQ(o->handle, 0x10000 + i * 64);
      CHECK(vs_object_find_handle(&t, type, 0x10000 + i * 64) == o);
      CHECK(vs_object_lookup(&t, id + 1, type) == NULL);
   }
   /* Remove every other one, then check the rest. */
   for (uint64_t i = 0; i < n; i += 2)
      vs_object_remove(&t, vs_object_lookup(&t, 1000 + i * 7919, IMG));
   CHECK_EQ(t.count, (uint32_t)n / 2 + 1);
   CHECK_EQ(dev->child_count, (uint32_t)n / 2);
   for (uint64_t i = 0; i < n; i++) {
      struct vs_object *o = vs_object_find_handle(&t, i % 2 ? BUF : IMG, 0x10000 + i * 64);
      CHECK((o != NULL) == (i % 2 == 1));
   }
   vs_object_table_fini(&t);
}

/* Two tables counting into one server-wide count, as contexts do. */
TEST(object_live_count)
{
   _Atomic uint64_t server;
   atomic_init(&server, 0);
   struct vs_object_table t, u;
   vs_object_table_init(&t);
   vs_object_table_init(&u);
   t.live = u.live = &server;
   struct vs_object *a = vs_object_add(&t, 1, BUF, 1, NULL);
   CHECK_NOT_NULL(vs_object_add(&t, 2, BUF, 2, NULL));
   CHECK_NOT_NULL(vs_object_add(&u, 1, BUF, 1, NULL));
   CHECK_EQ(vs_object_table_live(&t), 3u);
   CHECK_EQ(vs_object_table_live(&u), 3u);
   /* Refused adds count nothing. */
   CHECK_NULL(vs_object_add(&t, 1, BUF, 1, NULL));
   CHECK_NULL(vs_object_add(&t, 0, BUF, 1, NULL));
   CHECK_EQ(vs_object_table_live(&t), 3u);
   vs_object_remove(&t, a);
   CHECK_EQ(vs_object_table_live(&t), 2u);
   /* fini releases what is left, table by table. */
   vs_object_table_fini(&t);
   CHECK_EQ(atomic_load(&server), 1u);
   vs_object_table_fini(&u);
   CHECK_EQ(atomic_load(&server), 0u);
   /* Without a server-wide count, a table counts its own. */
   struct vs_object_table own;
   vs_object_table_init(&own);
   CHECK_NOT_NULL(vs_object_add(&own, 1, BUF, 1, NULL));
   CHECK_EQ(vs_object_table_live(&own), 1u);
   CHECK_EQ(atomic_load(&server), 0u);
   vs_object_table_fini(&own);
}

/* A dispatcher's memo answers as the table does: an id that left the
 * index (destroyed, or a held one retired) is never found in it, nor an id
 * taken again by another object. */
TEST(object_lookup_memo)
{
   struct vs_object_table t;
   vs_object_table_init(&t);
   struct vs_object_cache c = { 0 };
   struct vs_object *a = vs_object_add(&t, 1, BUF, 0x1000, NULL);
   CHECK(vs_object_lookup_cached(&t, &c, 1, BUF) == a);
   CHECK(vs_object_lookup_cached(&t, &c, 1, BUF) == a);
   CHECK_NULL(vs_object_lookup_cached(&t, &c, 1, IMG));
   CHECK_NULL(vs_object_lookup_cached(&t, &c, 2, BUF));
   /* Ids in one slot take turns. */
   struct vs_object *b = vs_object_add(&t, 1 + VS_OBJECT_CACHE_SLOTS, IMG, 0x2000, NULL);
   CHECK(vs_object_lookup_cached(&t, &c, 1 + VS_OBJECT_CACHE_SLOTS, IMG) == b);
   CHECK(vs_object_lookup_cached(&t, &c, 1, BUF) == a);
   vs_object_remove(&t, a);
   CHECK_NULL(vs_object_lookup_cached(&t, &c, 1, BUF));
   struct vs_object *again = vs_object_add(&t, 1, IMG, 0x3000, NULL);
   CHECK(vs_object_lookup_cached(&t, &c, 1, IMG) == again);
   CHECK_NULL(vs_object_lookup_cached(&t, &c, 1, BUF));
   vs_object_unlink(&t, b);
   CHECK_NULL(vs_object_lookup_cached(&t, &c, 1 + VS_OBJECT_CACHE_SLOTS, IMG));
   vs_object_remove(&t, b);
   vs_object_table_fini(&t);
}

UNIT_MAIN(UNIT(object_add_lookup), UNIT(object_bad_ids_refused), UNIT(object_refusals_remembered), UNIT(object_remove),
          UNIT(object_find_handle), UNIT(object_children), UNIT(object_growth),
          UNIT(object_live_count), UNIT(object_lookup_memo), UNIT(object_rehandle))

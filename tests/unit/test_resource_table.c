/* SPDX-License-Identifier: MIT */
/* vm/resource_table.c: the VM's resources by id. */
#include <pthread.h>

#include "unit.h"
#include "vm/resource_table.h"

/* Owner 100 + ctx_id: one lifetime per context, unless a test says. */
static struct vs_resource_info
info(uint32_t res_id, uint32_t ctx_id)
{
   return (struct vs_resource_info){ .res_id = res_id, .ctx_id = ctx_id, .owner = 100u + ctx_id, .st_dev = 7,
                                     .st_ino = 1000u + res_id, .size = 4096u * res_id, .blob_flags = 3 };
}

TEST(resource_table_add_find_remove)
{
   struct vs_vm_resource_table *t = vs_vm_resources_create();
   CHECK(t != NULL);
   struct vs_resource_info a = info(9, 2), out;
   CHECK(vs_vm_resources_add(t, &a));
   CHECK(vs_vm_resources_find(t, 9, &out));
   CHECK_EQ(out.ctx_id, 2u);
   CHECK_EQ(out.st_ino, 1009u);
   CHECK_EQ(out.size, 9u * 4096u);
   /* The same owner twice: the first stays. */
   struct vs_resource_info again = info(9, 2);
   again.st_ino = 1;
   CHECK(!vs_vm_resources_add(t, &again));
   CHECK(vs_vm_resources_find(t, 9, &out));
   CHECK_EQ(out.st_ino, 1009u);
   /* Id 0 is no resource. */
   struct vs_resource_info zero = info(0, 2);
   CHECK(!vs_vm_resources_add(t, &zero));
   CHECK(!vs_vm_resources_find(t, 0, &out));
   /* Only the owner removes it. */
   vs_vm_resources_remove(t, 103, 9);
   CHECK(vs_vm_resources_find(t, 9, &out));
   vs_vm_resources_remove(t, 102, 9);
   CHECK(!vs_vm_resources_find(t, 9, &out));
   vs_vm_resources_remove(t, 102, 9); /* absent: nothing */
   vs_vm_resources_destroy(t);
}

/* QEMU reuses context ids and the guest kernel resource ids; the old
 * context's end (a worker's late message) must not take the new one's. */
TEST(resource_table_reused_ids)
{
   struct vs_vm_resource_table *t = vs_vm_resources_create();
   CHECK(t != NULL);
   struct vs_resource_info old_ctx = info(14, 2), out;
   old_ctx.owner = vs_vm_resources_new_owner();
   CHECK(vs_vm_resources_add(t, &old_ctx));
   struct vs_resource_info new_ctx = info(14, 2);
   new_ctx.owner = vs_vm_resources_new_owner();
   CHECK(new_ctx.owner != old_ctx.owner);
   new_ctx.st_ino = 5;
   struct vs_resource_info other = info(15, 2);
   other.owner = new_ctx.owner;
   /* The newest CREATE_RESOURCE of an id wins. */
   CHECK(vs_vm_resources_add(t, &new_ctx));
   CHECK(vs_vm_resources_add(t, &other));
   vs_vm_resources_remove(t, old_ctx.owner, 14);
   vs_vm_resources_remove_owner(t, old_ctx.owner);
   CHECK(vs_vm_resources_find(t, 14, &out));
   CHECK_EQ(out.st_ino, 5u);
   CHECK(vs_vm_resources_find(t, 15, &out));
   vs_vm_resources_remove_owner(t, new_ctx.owner);
   CHECK(!vs_vm_resources_find(t, 14, &out));
   CHECK(!vs_vm_resources_find(t, 15, &out));
   vs_vm_resources_destroy(t);
}

/* A guest message on its way when the resource went names it: told apart
 * from an id never listed, once loudly; listed again, it is live. */
TEST(resource_table_retired_ids)
{
   struct vs_vm_resource_table *t = vs_vm_resources_create();
   CHECK(t != NULL);
   struct vs_resource_info a = info(14, 2), b = info(15, 3), out;
   CHECK(vs_vm_resources_add(t, &a));
   CHECK(vs_vm_resources_add(t, &b));
   CHECK_EQ(vs_vm_resources_retired(t, 14), VS_VM_NOT_RETIRED); /* live */
   CHECK_EQ(vs_vm_resources_retired(t, 99), VS_VM_NOT_RETIRED); /* never listed */
   vs_vm_resources_remove_owner(t, 102);
   vs_vm_resources_remove(t, 103, 15);
   CHECK_EQ(vs_vm_resources_retired(t, 14), VS_VM_RETIRED);
   CHECK_EQ(vs_vm_resources_retired(t, 14), VS_VM_RETIRED_NAMED_BEFORE);
   CHECK_EQ(vs_vm_resources_retired(t, 15), VS_VM_RETIRED);
   /* The guest kernel reuses the id: live again. */
   CHECK(vs_vm_resources_add(t, &a));
   CHECK(vs_vm_resources_find(t, 14, &out));
   CHECK_EQ(vs_vm_resources_retired(t, 14), VS_VM_NOT_RETIRED);
   /* Only the most recent removals are remembered. */
   for (uint32_t id = 1000; id < 2000; id++) {
      struct vs_resource_info i = info(id, 4);
      CHECK(vs_vm_resources_add(t, &i));
      vs_vm_resources_remove(t, 104, id);
   }
   CHECK_EQ(vs_vm_resources_retired(t, 15), VS_VM_NOT_RETIRED);
   CHECK_EQ(vs_vm_resources_retired(t, 1999), VS_VM_RETIRED);
   vs_vm_resources_destroy(t);
}

TEST(resource_table_context_end_and_growth)
{
   struct vs_vm_resource_table *t = vs_vm_resources_create();
   CHECK(t != NULL);
   /* Past the initial size, with removals leaving tombstones between. */
   for (uint32_t round = 0; round < 4; round++) {
      for (uint32_t id = 1; id <= 1000; id++) {
         struct vs_resource_info i = info(id + round * 1000, id % 3 + 1);
         CHECK(vs_vm_resources_add(t, &i));
      }
      for (uint32_t id = 1; id <= 1000; id += 2)
         vs_vm_resources_remove(t, 100u + id % 3 + 1, id + round * 1000);
   }
   struct vs_resource_info out;
   for (uint32_t round = 0; round < 4; round++) {
      CHECK(!vs_vm_resources_find(t, 1 + round * 1000, &out));
      CHECK(vs_vm_resources_find(t, 2 + round * 1000, &out));
      CHECK_EQ(out.st_ino, 1002u + round * 1000);
   }
   vs_vm_resources_remove_owner(t, 101);
   uint32_t left = 0;
   for (uint32_t id = 1; id <= 4000; id++) {
      if (vs_vm_resources_find(t, id, &out)) {
         CHECK(out.ctx_id != 1);
         left++;
      }
   }
   /* Even ids of each round, less context 1's (id % 3 == 0). */
   uint32_t want = 0;
   for (uint32_t round = 0; round < 4; round++)
      for (uint32_t id = 2; id <= 1000; id += 2)
         want += id % 3 != 0;
   CHECK_EQ(left, want);
   vs_vm_resources_destroy(t);
}

static void *
churn(void *arg)
{
   struct vs_vm_resource_table *t = arg;
   static _Atomic uint32_t next_ctx = 10;
   uint32_t ctx = next_ctx++;
   for (uint32_t n = 0; n < 2000; n++) {
      struct vs_resource_info i = info(ctx * 100000 + n, ctx), out;
      if (!vs_vm_resources_add(t, &i) || !vs_vm_resources_find(t, i.res_id, &out) || out.ctx_id != ctx)
         return (void *)1;
      if (n % 2)
         vs_vm_resources_remove(t, 100u + ctx, i.res_id);
   }
   vs_vm_resources_remove_owner(t, 100u + ctx);
   return NULL;
}

TEST(resource_table_threads)
{
   struct vs_vm_resource_table *t = vs_vm_resources_create();
   CHECK(t != NULL);
   pthread_t th[4];
   for (int i = 0; i < 4; i++)
      CHECK(pthread_create(&th[i], NULL, churn, t) == 0);
   for (int i = 0; i < 4; i++) {
      void *r;
      pthread_join(th[i], &r);
      CHECK(r == NULL);
   }
   vs_vm_resources_destroy(t);
}

UNIT_MAIN(UNIT(resource_table_add_find_remove), UNIT(resource_table_reused_ids),
          UNIT(resource_table_retired_ids), UNIT(resource_table_context_end_and_growth),
          UNIT(resource_table_threads))

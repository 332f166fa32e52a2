/* SPDX-License-Identifier: MIT */
/* Query pools keep their size, so that query indices can be checked
 * (protocol/checks.txt): a host writes query results where the index says. */
#include <stdlib.h>

#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/validate.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkCreateQueryPool(struct vs_runner *runner, struct vn_args_vkCreateQueryPool *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(runner, "vkCreateQueryPool: no create info");
      return;
   }
   struct vs_query_pool *pool = calloc(1, sizeof(*pool));
   if (!pool) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   /* Result copies are checked against what each query writes: a type
    * without a known size is never passed to the host. */
   if (!vs_query_pool_shape(a->pCreateInfo, pool)) {
      free(pool);
      vs_runner_fail(runner, "vkCreateQueryPool: query type %d has no result size the server knows",
                       (int)a->pCreateInfo->queryType);
      return;
   }
   vn_default_vkCreateQueryPool(runner, a);
   struct vs_object *obj = vs_runner_created(runner, a->ret, a->pQueryPool_id, VK_OBJECT_TYPE_QUERY_POOL);
   if (!obj) {
      free(pool);
      return;
   }
   obj->data = pool;
   obj->data_free = free;
}

void
vs_query_register(struct vn_exec_table *t)
{
   t->vkCreateQueryPool = vs_exec_vkCreateQueryPool;
}

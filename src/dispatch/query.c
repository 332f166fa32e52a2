/* Query pools keep their size, so that query indices can be checked
 * (protocol/checks.txt): a host writes query results where the index says. */
#include <stdlib.h>

#include "dispatch/families.h"
#include "dispatch/objects.h"
#include "venus/dispatch.h"
#include "vn_wire.h"

static void
vs_exec_vkCreateQueryPool(struct vs_dispatch *disp, struct vn_args_vkCreateQueryPool *a)
{
   if (!a->pCreateInfo) {
      vs_dispatch_fail(disp, "vkCreateQueryPool: no create info");
      return;
   }
   struct vs_query_pool *pool = calloc(1, sizeof(*pool));
   if (!pool) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   vn_default_vkCreateQueryPool(disp, a);
   struct vs_object *obj = vs_dispatch_created(disp, a->ret, a->pQueryPool_id, VK_OBJECT_TYPE_QUERY_POOL);
   if (!obj) {
      free(pool);
      return;
   }
   const VkQueryPoolCreateInfo *ci = a->pCreateInfo;
   pool->count = ci->queryCount;
   switch (ci->queryType) {
   case VK_QUERY_TYPE_PIPELINE_STATISTICS:
      pool->values = (uint32_t)__builtin_popcount(ci->pipelineStatistics);
      break;
   case VK_QUERY_TYPE_TRANSFORM_FEEDBACK_STREAM_EXT:
      pool->values = 2;
      break;
   case VK_QUERY_TYPE_OCCLUSION:
   case VK_QUERY_TYPE_TIMESTAMP:
      pool->values = 1;
      break;
   default:
      pool->values = 16; /* more than any type writes: checks stay on the safe side */
      break;
   }
   obj->data = pool;
   obj->data_free = free;
}

void
vs_query_register(struct vn_exec_table *t)
{
   t->vkCreateQueryPool = vs_exec_vkCreateQueryPool;
}

/* Command buffers remember which pipelines their current recording bound:
 * a dispatch or draw with none makes host drivers dereference a null
 * pipeline (lavapipe does, on its queue thread), so the checks of
 * protocol/checks.txt refuse it first. */
#include "dispatch/families.h"
#include "dispatch/validate.h"
#include "venus/dispatch.h"
#include "venus/object_table.h"
#include "vn_wire.h"

#define PIPELINE_BOUND_FLAGS (VS_OBJECT_COMPUTE_PIPELINE_BOUND | VS_OBJECT_GRAPHICS_PIPELINE_BOUND)

static void
vs_exec_vkBeginCommandBuffer(struct vs_dispatch *disp, struct vn_args_vkBeginCommandBuffer *a)
{
   a->commandBuffer_obj->flags &= ~PIPELINE_BOUND_FLAGS;
   vn_default_vkBeginCommandBuffer(disp, a);
}

static void
vs_exec_vkCmdBindPipeline(struct vs_dispatch *disp, struct vn_args_vkCmdBindPipeline *a)
{
   vn_default_vkCmdBindPipeline(disp, a);
   if (a->pipelineBindPoint == VK_PIPELINE_BIND_POINT_COMPUTE)
      a->commandBuffer_obj->flags |= VS_OBJECT_COMPUTE_PIPELINE_BOUND;
   else if (a->pipelineBindPoint == VK_PIPELINE_BIND_POINT_GRAPHICS)
      a->commandBuffer_obj->flags |= VS_OBJECT_GRAPHICS_PIPELINE_BOUND;
}

void
vs_command_buffer_register(struct vn_exec_table *t)
{
   t->vkBeginCommandBuffer = vs_exec_vkBeginCommandBuffer;
   t->vkCmdBindPipeline = vs_exec_vkCmdBindPipeline;
}

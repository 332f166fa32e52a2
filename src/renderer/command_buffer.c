/* SPDX-License-Identifier: MIT */
/* Command buffers hold what their recording names until it is reset
 * (wire/lifetime.h), and remember which pipelines it bound: a dispatch
 * or draw with none makes host drivers dereference a null
 * pipeline (lavapipe does, on its queue thread), so the checks of
 * protocol/checks.txt refuse it first. */
#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/validate.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "wire/object_table.h"
#include "vn_wire.h"

#define PIPELINE_BOUND_FLAGS (VS_OBJECT_COMPUTE_PIPELINE_BOUND | VS_OBJECT_GRAPHICS_PIPELINE_BOUND)

/* A reset lets go of what the recording held, once no submission of it
 * is pending (renderer/lifetime.c): false if the context stops first. */
static bool
release_recording(struct vs_runner *disp, struct vs_object *cb)
{
   if (!vs_command_buffer_wait_idle(disp, cb))
      return false;
   vs_object_drop_holds(disp->objects, cb);
   cb->flags &= ~PIPELINE_BOUND_FLAGS;
   return true;
}

static void
vs_exec_vkBeginCommandBuffer(struct vs_runner *disp, struct vn_args_vkBeginCommandBuffer *a)
{
   if (release_recording(disp, a->commandBuffer_obj))
      vn_default_vkBeginCommandBuffer(disp, a);
}

static void
vs_exec_vkResetCommandBuffer(struct vs_runner *disp, struct vn_args_vkResetCommandBuffer *a)
{
   if (release_recording(disp, a->commandBuffer_obj))
      vn_default_vkResetCommandBuffer(disp, a);
}

static void
vs_exec_vkCmdBindPipeline(struct vs_runner *disp, struct vn_args_vkCmdBindPipeline *a)
{
   vn_default_vkCmdBindPipeline(disp, a);
   if (a->pipelineBindPoint == VK_PIPELINE_BIND_POINT_COMPUTE)
      a->commandBuffer_obj->flags |= VS_OBJECT_COMPUTE_PIPELINE_BOUND;
   else if (a->pipelineBindPoint == VK_PIPELINE_BIND_POINT_GRAPHICS)
      a->commandBuffer_obj->flags |= VS_OBJECT_GRAPHICS_PIPELINE_BOUND;
   else if (a->pipelineBindPoint == VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR)
      a->commandBuffer_obj->flags |= VS_OBJECT_RAY_TRACING_PIPELINE_BOUND;
}

void
vs_command_buffer_register(struct vn_exec_table *t)
{
   t->vkBeginCommandBuffer = vs_exec_vkBeginCommandBuffer;
   t->vkResetCommandBuffer = vs_exec_vkResetCommandBuffer;
   t->vkCmdBindPipeline = vs_exec_vkCmdBindPipeline;
}

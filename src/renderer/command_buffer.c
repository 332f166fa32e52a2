/* SPDX-License-Identifier: MIT */
/* Command buffers hold what their recording names until it is reset
 * (wire/lifetime.h), and remember which pipelines it bound: a dispatch
 * or draw with none makes host drivers dereference a null
 * pipeline (lavapipe does, on its queue thread), so the checks of
 * protocol/checks.txt refuse it first. Host drivers run secondaries
 * recursively: one that executes itself, directly or through others,
 * overflows the host's stack, so vkCmdExecuteCommands is refused where
 * Vulkan forbids it (a primary executed, a secondary executing without
 * nestedCommandBuffer or deeper than maxCommandBufferNestingLevel, which
 * rules out every cycle too). */
#include "renderer/families.h"
#include "renderer/image_layout.h"
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
release_recording(struct vs_runner *runner, struct vs_object *cb)
{
   if (!vs_command_buffer_wait_idle(runner, cb))
      return false;
   vs_object_drop_holds(runner->objects, cb);
   vs_layouts_clear(&vs_command_buffer_from(cb)->layouts);
   cb->flags &= ~PIPELINE_BOUND_FLAGS;
   return true;
}

static void
vs_exec_vkBeginCommandBuffer(struct vs_runner *runner, struct vn_args_vkBeginCommandBuffer *a)
{
   if (release_recording(runner, a->commandBuffer_obj))
      vn_default_vkBeginCommandBuffer(runner, a);
}

static void
vs_exec_vkResetCommandBuffer(struct vs_runner *runner, struct vn_args_vkResetCommandBuffer *a)
{
   if (release_recording(runner, a->commandBuffer_obj))
      vn_default_vkResetCommandBuffer(runner, a);
}

/* Why secondary may not be executed in cb (NULL: it may). */
static const char *
execute_refusal(struct vs_runner *runner, struct vs_object *cb, struct vs_object *secondary, uint32_t nesting)
{
   if (!vs_command_buffer_from(secondary)->secondary)
      return "is a primary command buffer";
   if (secondary == cb)
      return "is the command buffer recording it (it would execute itself)";
   if (!vs_command_buffer_from(cb)->secondary)
      return NULL; /* nothing holds a primary: no cycle through one */
   if (!nesting)
      return "is executed in a secondary command buffer, and the device has no nestedCommandBuffer enabled";
   /* Vulkan: its nesting level (0: it executes none) below the limit. */
   struct vs_command_walk walk;
   vs_object_walk_commands(runner->objects, secondary, cb, nesting - 1, &walk);
   if (walk.out_of_memory)
      return "cannot be walked (out of memory)";
   if (walk.found || walk.cycle)
      return "executes, through secondaries, the command buffer recording it";
   if (walk.too_deep)
      return "nests secondaries as deep as maxCommandBufferNestingLevel already";
   return NULL;
}

static void
vs_exec_vkCmdExecuteCommands(struct vs_runner *runner, struct vn_args_vkCmdExecuteCommands *a)
{
   struct vs_object *cb = a->commandBuffer_obj;
   uint32_t nesting = vs_device_from(vs_object_ancestor(cb, VK_OBJECT_TYPE_DEVICE))->command_buffer_nesting;
   for (uint32_t i = 0; i < a->commandBufferCount; i++) {
      struct vs_object *secondary = a->pCommandBuffers_objs ? a->pCommandBuffers_objs[i] : NULL;
      const char *why = secondary ? execute_refusal(runner, cb, secondary, nesting) : "is null";
      if (why) {
         vs_runner_fail(runner, "vkCmdExecuteCommands: command buffer %llu executes command buffer %llu, which %s",
                        (unsigned long long)cb->id, (unsigned long long)(secondary ? secondary->id : 0), why);
         return;
      }
   }
   vn_default_vkCmdExecuteCommands(runner, a);
   vs_layouts_execute(runner, cb, a->pCommandBuffers_objs, a->pCommandBuffers_objs ? a->commandBufferCount : 0);
}

static void
vs_exec_vkCmdBindPipeline(struct vs_runner *runner, struct vn_args_vkCmdBindPipeline *a)
{
   vn_default_vkCmdBindPipeline(runner, a);
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
   t->vkCmdExecuteCommands = vs_exec_vkCmdExecuteCommands;
}

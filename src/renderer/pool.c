/* SPDX-License-Identifier: MIT */
/* Command pools and descriptor pools own their command buffers and sets:
 * those are bound under the pool, and freeing, resetting or destroying the
 * pool drops their ids too (the host frees them implicitly). */
#include <stdlib.h>

#include "renderer/families.h"
#include "renderer/image_layout.h"
#include "renderer/objects.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

/* Objects the host frees with their pool (or by a free command): one still
 * held by a recorded command buffer stays as a gone entry, which makes
 * that command buffer's submission refused (wire/lifetime.h). */
static bool
forget_freed(struct vs_runner *runner, struct vs_object *obj)
{
   if (vs_object_retire(runner->objects, obj, VS_OBJECT_GONE)) {
      vs_runner_remove_object(runner, obj);
      return false;
   }
   vs_debug(runner->ctx_id, "object %llu (type %d) freed while held by a command buffer",
            (unsigned long long)obj->id, obj->type);
   return true;
}

static void
forget_child_cb(struct vs_object *obj, void *data)
{
   forget_freed(data, obj);
}

/* The pool goes: what stays held of it moves under the device. */
static void
outlive_pool_cb(struct vs_object *obj, void *data)
{
   struct vs_runner *runner = data;
   struct vs_object *pool = obj->parent;
   if (forget_freed(runner, obj))
      vs_object_reparent(runner->objects, obj, pool->parent);
}

struct child_walk {
   struct vs_runner *runner;
   bool ok;
   bool held;
};

static void
wait_idle_cb(struct vs_object *obj, void *data)
{
   struct child_walk *w = data;
   w->ok = w->ok && vs_command_buffer_wait_idle(w->runner, obj);
}

/* Every command buffer of the pool is no longer pending. */
static bool
pool_idle(struct vs_runner *runner, struct vs_object *pool)
{
   struct child_walk w = { .runner = runner, .ok = true };
   vs_object_foreach_child(runner->objects, pool, VK_OBJECT_TYPE_COMMAND_BUFFER, wait_idle_cb, &w);
   return w.ok;
}

static void
held_cb(struct vs_object *obj, void *data)
{
   struct child_walk *w = data;
   w->held = w->held || vs_object_held(w->runner->objects, obj);
}

/* Before the host frees descriptor sets that recorded command buffers
 * hold: those may be pending, so wait for what the device runs. */
static bool
sets_freeable(struct vs_runner *runner, struct vs_object *device_obj, struct vs_object *pool,
              struct vs_object *const *sets, uint32_t count)
{
   struct child_walk w = { .runner = runner };
   if (pool)
      vs_object_foreach_child(runner->objects, pool, VK_OBJECT_TYPE_DESCRIPTOR_SET, held_cb, &w);
   for (uint32_t i = 0; sets && i < count; i++)
      w.held = w.held || (sets[i] && vs_object_held(runner->objects, sets[i]));
   return !w.held || vs_device_wait_submitted(runner, device_obj);
}

/* Checks that every non-null object of the array belongs to the pool. */
static bool
owned_by(struct vs_runner *runner, const char *cmd, struct vs_object *pool, struct vs_object *const *objs,
         uint32_t count)
{
   for (uint32_t i = 0; objs && i < count; i++) {
      if (objs[i] && objs[i]->parent != pool) {
         vs_runner_fail(runner, "%s: object %llu is not from pool %llu", cmd,
                          (unsigned long long)objs[i]->id, (unsigned long long)pool->id);
         return false;
      }
   }
   return true;
}

static void
forget_all(struct vs_runner *runner, struct vs_object *const *objs, uint32_t count)
{
   for (uint32_t i = 0; objs && i < count; i++) {
      if (objs[i])
         forget_freed(runner, objs[i]);
   }
}

static struct vs_object *
lookup_pool(struct vs_runner *runner, const char *cmd, const void *pool_field, struct vs_object *device_obj)
{
   /* The allocate infos carry the pool inside a struct: resolve it by the
    * guest id it was decoded from. It must be one of this device's. */
   struct vs_object *pool = vs_runner_nested_object(runner, pool_field);
   if (!pool || pool->parent != device_obj) {
      vs_runner_fail(runner, "%s: pool is not an object of this device", cmd);
      return NULL;
   }
   return pool;
}

static void
command_buffer_free(void *data)
{
   struct vs_command_buffer *cb = data;
   free(cb->layouts.items);
   free(cb);
}

static void
vs_exec_vkAllocateCommandBuffers(struct vs_runner *runner, struct vn_args_vkAllocateCommandBuffers *a)
{
   const VkCommandBufferAllocateInfo *info = a->pAllocateInfo;
   if (!info || a->pCommandBuffers_count != info->commandBufferCount) {
      vs_runner_fail(runner, "vkAllocateCommandBuffers: count mismatch");
      return;
   }
   struct vs_object *pool = lookup_pool(runner, "vkAllocateCommandBuffers", &info->commandPool, a->device_obj);
   if (!pool)
      return;
   a->ret = a->device_obj->dt->AllocateCommandBuffers(a->device, info, a->pCommandBuffers);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->pCommandBuffers_count; i++) {
      struct vs_command_buffer *cb = calloc(1, sizeof(*cb));
      struct vs_object *obj = cb ? vs_runner_add_object(runner, VK_OBJECT_TYPE_COMMAND_BUFFER, a->pCommandBuffers_ids[i],
                                                          (uint64_t)(uintptr_t)a->pCommandBuffers[i], pool)
                                 : NULL;
      if (!obj) {
         if (!cb)
            vs_runner_fail(runner, "vkAllocateCommandBuffers: out of memory");
         free(cb);
         a->device_obj->dt->FreeCommandBuffers(a->device, info->commandPool, a->pCommandBuffers_count - i,
                                               a->pCommandBuffers + i);
         return;
      }
      cb->secondary = info->level == VK_COMMAND_BUFFER_LEVEL_SECONDARY;
      obj->data = cb;
      obj->data_free = command_buffer_free;
   }
}

static void
vs_exec_vkFreeCommandBuffers(struct vs_runner *runner, struct vn_args_vkFreeCommandBuffers *a)
{
   if (!owned_by(runner, "vkFreeCommandBuffers", a->commandPool_obj, a->pCommandBuffers_objs,
                 a->commandBufferCount))
      return;
   for (uint32_t i = 0; a->pCommandBuffers_objs && i < a->commandBufferCount; i++) {
      if (a->pCommandBuffers_objs[i] && !vs_command_buffer_wait_idle(runner, a->pCommandBuffers_objs[i]))
         return;
   }
   a->device_obj->dt->FreeCommandBuffers(a->device, a->commandPool, a->commandBufferCount, a->pCommandBuffers);
   forget_all(runner, a->pCommandBuffers_objs, a->commandBufferCount);
}

static void
drop_holds_cb(struct vs_object *obj, void *data)
{
   struct vs_runner *runner = data;
   vs_object_drop_holds(runner->objects, obj);
   vs_layouts_clear(&vs_command_buffer_from(obj)->layouts);
   vs_command_buffer_from(obj)->queue = NULL;
}

static void
vs_exec_vkResetCommandPool(struct vs_runner *runner, struct vn_args_vkResetCommandPool *a)
{
   if (!pool_idle(runner, a->commandPool_obj))
      return;
   a->ret = a->device_obj->dt->ResetCommandPool(a->device, a->commandPool, a->flags);
   vs_object_foreach_child(runner->objects, a->commandPool_obj, VK_OBJECT_TYPE_COMMAND_BUFFER, drop_holds_cb, runner);
}

static void
vs_exec_vkDestroyCommandPool(struct vs_runner *runner, struct vn_args_vkDestroyCommandPool *a)
{
   if (!a->commandPool_obj || !pool_idle(runner, a->commandPool_obj))
      return;
   a->device_obj->dt->DestroyCommandPool(a->device, a->commandPool, NULL);
   vs_object_foreach_child(runner->objects, a->commandPool_obj, VK_OBJECT_TYPE_UNKNOWN, outlive_pool_cb, runner);
   vs_runner_remove_object(runner, a->commandPool_obj);
}

static void
vs_exec_vkAllocateDescriptorSets(struct vs_runner *runner, struct vn_args_vkAllocateDescriptorSets *a)
{
   const VkDescriptorSetAllocateInfo *info = a->pAllocateInfo;
   if (!info || a->pDescriptorSets_count != info->descriptorSetCount) {
      vs_runner_fail(runner, "vkAllocateDescriptorSets: count mismatch");
      return;
   }
   struct vs_object *pool = lookup_pool(runner, "vkAllocateDescriptorSets", &info->descriptorPool, a->device_obj);
   if (!pool)
      return;
   struct vs_descriptor_set **sets = vs_descriptor_sets_prepare(runner, a->device_obj, info, &a->ret);
   if (!sets)
      return;
   a->ret = a->device_obj->dt->AllocateDescriptorSets(a->device, info, a->pDescriptorSets);
   uint32_t i = 0;
   for (; a->ret == VK_SUCCESS && i < a->pDescriptorSets_count; i++) {
      struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_DESCRIPTOR_SET, a->pDescriptorSets_ids[i],
                                                     (uint64_t)a->pDescriptorSets[i], pool);
      if (!obj)
         break;
      obj->data = sets[i];
      obj->data_free = vs_descriptor_set_free;
   }
   for (; i < a->pDescriptorSets_count; i++)
      vs_descriptor_set_free(sets[i]);
   free(sets);
}

static void
vs_exec_vkFreeDescriptorSets(struct vs_runner *runner, struct vn_args_vkFreeDescriptorSets *a)
{
   if (!owned_by(runner, "vkFreeDescriptorSets", a->descriptorPool_obj, a->pDescriptorSets_objs,
                 a->descriptorSetCount))
      return;
   if (!sets_freeable(runner, a->device_obj, NULL, a->pDescriptorSets_objs, a->descriptorSetCount))
      return;
   a->ret = a->device_obj->dt->FreeDescriptorSets(a->device, a->descriptorPool, a->descriptorSetCount,
                                                  a->pDescriptorSets);
   forget_all(runner, a->pDescriptorSets_objs, a->descriptorSetCount);
}

static void
vs_exec_vkResetDescriptorPool(struct vs_runner *runner, struct vn_args_vkResetDescriptorPool *a)
{
   if (!sets_freeable(runner, a->device_obj, a->descriptorPool_obj, NULL, 0))
      return;
   a->ret = a->device_obj->dt->ResetDescriptorPool(a->device, a->descriptorPool, a->flags);
   vs_object_foreach_child(runner->objects, a->descriptorPool_obj, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                           forget_child_cb, runner);
}

static void
vs_exec_vkDestroyDescriptorPool(struct vs_runner *runner, struct vn_args_vkDestroyDescriptorPool *a)
{
   if (!a->descriptorPool_obj || !sets_freeable(runner, a->device_obj, a->descriptorPool_obj, NULL, 0))
      return;
   a->device_obj->dt->DestroyDescriptorPool(a->device, a->descriptorPool, NULL);
   vs_object_foreach_child(runner->objects, a->descriptorPool_obj, VK_OBJECT_TYPE_UNKNOWN, outlive_pool_cb,
                           runner);
   vs_runner_remove_object(runner, a->descriptorPool_obj);
}

void
vs_pool_register(struct vn_exec_table *t)
{
   t->vkAllocateCommandBuffers = vs_exec_vkAllocateCommandBuffers;
   t->vkFreeCommandBuffers = vs_exec_vkFreeCommandBuffers;
   t->vkResetCommandPool = vs_exec_vkResetCommandPool;
   t->vkDestroyCommandPool = vs_exec_vkDestroyCommandPool;
   t->vkAllocateDescriptorSets = vs_exec_vkAllocateDescriptorSets;
   t->vkFreeDescriptorSets = vs_exec_vkFreeDescriptorSets;
   t->vkResetDescriptorPool = vs_exec_vkResetDescriptorPool;
   t->vkDestroyDescriptorPool = vs_exec_vkDestroyDescriptorPool;
}

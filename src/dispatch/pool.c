/* Command pools and descriptor pools own their command buffers and sets:
 * those are bound under the pool, and freeing, resetting or destroying the
 * pool drops their ids too (the host frees them implicitly). */
#include <stdlib.h>

#include "dispatch/families.h"
#include "dispatch/objects.h"
#include "util/log.h"
#include "venus/dispatch.h"
#include "vn_wire.h"

static void
remove_child_cb(struct vs_object *obj, void *data)
{
   vs_dispatch_remove_object(data, obj);
}

/* Checks that every non-null object of the array belongs to the pool. */
static bool
owned_by(struct vs_dispatch *disp, const char *cmd, struct vs_object *pool, struct vs_object *const *objs,
         uint32_t count)
{
   for (uint32_t i = 0; objs && i < count; i++) {
      if (objs[i] && objs[i]->parent != pool) {
         vs_dispatch_fail(disp, "%s: object %llu is not from pool %llu", cmd,
                          (unsigned long long)objs[i]->id, (unsigned long long)pool->id);
         return false;
      }
   }
   return true;
}

static void
remove_all(struct vs_dispatch *disp, struct vs_object *const *objs, uint32_t count)
{
   for (uint32_t i = 0; objs && i < count; i++) {
      if (objs[i])
         vs_dispatch_remove_object(disp, objs[i]);
   }
}

static struct vs_object *
lookup_pool(struct vs_dispatch *disp, const char *cmd, const void *pool_field, struct vs_object *device_obj)
{
   /* The allocate infos carry the pool inside a struct: resolve it by the
    * guest id it was decoded from. It must be one of this device's. */
   struct vs_object *pool = vs_dispatch_nested_object(disp, pool_field);
   if (!pool || pool->parent != device_obj) {
      vs_dispatch_fail(disp, "%s: pool is not an object of this device", cmd);
      return NULL;
   }
   return pool;
}

static void
vs_exec_vkAllocateCommandBuffers(struct vs_dispatch *disp, struct vn_args_vkAllocateCommandBuffers *a)
{
   const VkCommandBufferAllocateInfo *info = a->pAllocateInfo;
   if (!info || a->pCommandBuffers_count != info->commandBufferCount) {
      vs_dispatch_fail(disp, "vkAllocateCommandBuffers: count mismatch");
      return;
   }
   struct vs_object *pool = lookup_pool(disp, "vkAllocateCommandBuffers", &info->commandPool, a->device_obj);
   if (!pool)
      return;
   a->ret = a->device_obj->dt->AllocateCommandBuffers(a->device, info, a->pCommandBuffers);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->pCommandBuffers_count; i++) {
      if (!vs_dispatch_add_object(disp, VK_OBJECT_TYPE_COMMAND_BUFFER, a->pCommandBuffers_ids[i],
                                  (uint64_t)(uintptr_t)a->pCommandBuffers[i], pool)) {
         a->device_obj->dt->FreeCommandBuffers(a->device, info->commandPool, a->pCommandBuffers_count - i,
                                               a->pCommandBuffers + i);
         return;
      }
   }
}

static void
vs_exec_vkFreeCommandBuffers(struct vs_dispatch *disp, struct vn_args_vkFreeCommandBuffers *a)
{
   if (!owned_by(disp, "vkFreeCommandBuffers", a->commandPool_obj, a->pCommandBuffers_objs,
                 a->commandBufferCount))
      return;
   a->device_obj->dt->FreeCommandBuffers(a->device, a->commandPool, a->commandBufferCount, a->pCommandBuffers);
   remove_all(disp, a->pCommandBuffers_objs, a->commandBufferCount);
}

static void
vs_exec_vkDestroyCommandPool(struct vs_dispatch *disp, struct vn_args_vkDestroyCommandPool *a)
{
   if (!a->commandPool_obj)
      return;
   a->device_obj->dt->DestroyCommandPool(a->device, a->commandPool, NULL);
   vs_object_foreach_child(disp->objects, a->commandPool_obj, VK_OBJECT_TYPE_UNKNOWN, remove_child_cb, disp);
   vs_dispatch_remove_object(disp, a->commandPool_obj);
}

static void
vs_exec_vkAllocateDescriptorSets(struct vs_dispatch *disp, struct vn_args_vkAllocateDescriptorSets *a)
{
   const VkDescriptorSetAllocateInfo *info = a->pAllocateInfo;
   if (!info || a->pDescriptorSets_count != info->descriptorSetCount) {
      vs_dispatch_fail(disp, "vkAllocateDescriptorSets: count mismatch");
      return;
   }
   struct vs_object *pool = lookup_pool(disp, "vkAllocateDescriptorSets", &info->descriptorPool, a->device_obj);
   if (!pool)
      return;
   struct vs_descriptor_set **sets = vs_descriptor_sets_prepare(disp, a->device_obj, info, &a->ret);
   if (!sets)
      return;
   a->ret = a->device_obj->dt->AllocateDescriptorSets(a->device, info, a->pDescriptorSets);
   uint32_t i = 0;
   for (; a->ret == VK_SUCCESS && i < a->pDescriptorSets_count; i++) {
      struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_DESCRIPTOR_SET, a->pDescriptorSets_ids[i],
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
vs_exec_vkFreeDescriptorSets(struct vs_dispatch *disp, struct vn_args_vkFreeDescriptorSets *a)
{
   if (!owned_by(disp, "vkFreeDescriptorSets", a->descriptorPool_obj, a->pDescriptorSets_objs,
                 a->descriptorSetCount))
      return;
   a->ret = a->device_obj->dt->FreeDescriptorSets(a->device, a->descriptorPool, a->descriptorSetCount,
                                                  a->pDescriptorSets);
   remove_all(disp, a->pDescriptorSets_objs, a->descriptorSetCount);
}

static void
vs_exec_vkResetDescriptorPool(struct vs_dispatch *disp, struct vn_args_vkResetDescriptorPool *a)
{
   a->ret = a->device_obj->dt->ResetDescriptorPool(a->device, a->descriptorPool, a->flags);
   vs_object_foreach_child(disp->objects, a->descriptorPool_obj, VK_OBJECT_TYPE_DESCRIPTOR_SET,
                           remove_child_cb, disp);
}

static void
vs_exec_vkDestroyDescriptorPool(struct vs_dispatch *disp, struct vn_args_vkDestroyDescriptorPool *a)
{
   if (!a->descriptorPool_obj)
      return;
   a->device_obj->dt->DestroyDescriptorPool(a->device, a->descriptorPool, NULL);
   vs_object_foreach_child(disp->objects, a->descriptorPool_obj, VK_OBJECT_TYPE_UNKNOWN, remove_child_cb,
                           disp);
   vs_dispatch_remove_object(disp, a->descriptorPool_obj);
}

void
vs_pool_register(struct vn_exec_table *t)
{
   t->vkAllocateCommandBuffers = vs_exec_vkAllocateCommandBuffers;
   t->vkFreeCommandBuffers = vs_exec_vkFreeCommandBuffers;
   t->vkDestroyCommandPool = vs_exec_vkDestroyCommandPool;
   t->vkAllocateDescriptorSets = vs_exec_vkAllocateDescriptorSets;
   t->vkFreeDescriptorSets = vs_exec_vkFreeDescriptorSets;
   t->vkResetDescriptorPool = vs_exec_vkResetDescriptorPool;
   t->vkDestroyDescriptorPool = vs_exec_vkDestroyDescriptorPool;
}

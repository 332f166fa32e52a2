/* vkAllocateMemory and vkFreeMemory: the object-table side of device
 * memory; how memory is made shareable lives in src/memory/. */
#include "dispatch/dispatch.h"
#include "dispatch/instance.h"
#include "memory/memory.h"
#include "util/log.h"
#include "venus/context_state.h"

void
vs_exec_vkAllocateMemory(struct vs_dispatch *disp, struct vn_args_vkAllocateMemory *a)
{
   struct vs_device *dev = a->device_obj->data;
   VkMemoryAllocateInfo *info = (VkMemoryAllocateInfo *)a->pAllocateInfo;
   if (!info || info->memoryTypeIndex >= dev->mem.props.memoryTypeCount || info->allocationSize == 0) {
      vs_dispatch_fail(disp, "vkAllocateMemory: invalid memory type or size");
      return;
   }
   struct vs_device_memory *mem;
   a->ret = vs_memory_allocate(disp->ctx, dev, info, &mem);
   if (a->ret != VK_SUCCESS)
      return;
   struct vs_object *obj = vs_dispatch_add_object(disp, VK_OBJECT_TYPE_DEVICE_MEMORY, a->pMemory_id,
                                                  (uint64_t)mem->host, a->device_obj);
   if (!obj) {
      vs_memory_free(disp->ctx, dev, mem);
      return;
   }
   obj->data = mem;
   *a->pMemory = mem->host;
   vs_debug(disp->ctx->id, "memory %llu: %llu bytes, type %u, shared by %s", (unsigned long long)obj->id,
            (unsigned long long)mem->size, mem->type_index, vs_memory_strategy_name(mem->shared_by));
}

void
vs_exec_vkFreeMemory(struct vs_dispatch *disp, struct vn_args_vkFreeMemory *a)
{
   if (!a->memory_obj)
      return;
   if (a->memory_obj->parent != a->device_obj) {
      vs_dispatch_fail(disp, "vkFreeMemory: memory %llu belongs to another device",
                       (unsigned long long)a->memory_obj->id);
      return;
   }
   vs_memory_free(disp->ctx, a->device_obj->data, a->memory_obj->data);
   vs_dispatch_remove_object(disp, a->memory_obj);
}

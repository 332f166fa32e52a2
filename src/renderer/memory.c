/* SPDX-License-Identifier: MIT */
/* vkAllocateMemory and vkFreeMemory: the object-table side of device
 * memory; how memory is made shareable lives in src/renderer/memory/. */
#include <stdio.h>
#include <unistd.h>

#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "renderer/memory/device_memory.h"
#include "base/chain.h"
#include "base/log.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkAllocateMemory(struct vs_runner *runner, struct vn_args_vkAllocateMemory *a)
{
   struct vs_device *dev = vs_device_from(a->device_obj);
   VkMemoryAllocateInfo *info = (VkMemoryAllocateInfo *)a->pAllocateInfo;
   if (!info || info->memoryTypeIndex >= dev->mem.props.memoryTypeCount || info->allocationSize == 0) {
      vs_runner_fail(runner, "vkAllocateMemory: invalid memory type or size");
      return;
   }
   /* The image of a dedicated allocation, when it is this device's. */
   const VkMemoryDedicatedAllocateInfo *dedicated =
      vs_chain_find(info, VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO);
   struct vs_object *image_obj = dedicated ? vs_runner_nested_object(runner, &dedicated->image) : NULL;
   if (image_obj && (image_obj->type != VK_OBJECT_TYPE_IMAGE || image_obj->parent != a->device_obj))
      image_obj = NULL;
   /* A buffer with two host buffers keeps the one this type needs. */
   struct vs_object *buffer_obj = dedicated ? vs_runner_nested_object(runner, &dedicated->buffer) : NULL;
   if (buffer_obj && buffer_obj->type == VK_OBJECT_TYPE_BUFFER && buffer_obj->parent == a->device_obj)
      ((VkMemoryDedicatedAllocateInfo *)dedicated)->buffer =
         vs_buffer_settle(runner, buffer_obj, info->memoryTypeIndex);
   struct vs_device_memory *mem;
   a->ret = vs_memory_allocate(runner->renderer, dev, a->pMemory_id, info, image_obj ? vs_image_from(image_obj) : NULL, &mem);
   if (a->ret != VK_SUCCESS) {
      char why[VS_OBJECT_REFUSED_WHY];
      snprintf(why, sizeof(why), "vkAllocateMemory of %llu bytes failed with %s (logged above)",
               (unsigned long long)info->allocationSize, vn_result_name(a->ret));
      vs_object_note_refused(runner->renderer->objects, a->pMemory_id, why);
      return;
   }
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_DEVICE_MEMORY, a->pMemory_id,
                                                  (uint64_t)mem->host, a->device_obj);
   if (!obj) {
      vs_memory_free(dev, mem);
      return;
   }
   obj->data = mem;
   *a->pMemory = mem->host;
   vs_debug(runner->ctx_id, "memory %llu: %llu bytes, type %u, shared by %s", (unsigned long long)obj->id,
            (unsigned long long)mem->size, mem->type_index, vs_memory_strategy_name(mem->shared_by));
}

void
vs_memory_release(struct vs_renderer *r, struct vs_object *memory_obj, bool free_host)
{
   struct vs_device *dev = vs_device_of(memory_obj);
   struct vs_device_memory *mem = vs_device_memory_from(memory_obj);
   pthread_mutex_lock(&r->memory_lock);
   vs_object_remove(r->objects, memory_obj);
   pthread_mutex_unlock(&r->memory_lock);
   if (free_host)
      vs_memory_free(dev, mem);
}

static void
vs_exec_vkFreeMemory(struct vs_runner *runner, struct vn_args_vkFreeMemory *a)
{
   if (!a->memory_obj)
      return;
   if (a->memory_obj->parent != a->device_obj) {
      vs_runner_fail(runner, "vkFreeMemory: memory %llu belongs to another device",
                       (unsigned long long)a->memory_obj->id);
      return;
   }
   /* Held by a buffer or image a command buffer may still run: freed with
    * its last holder (wire/lifetime.h). */
   if (!vs_runner_retire_object(runner, a->memory_obj))
      return;
   vs_debug(runner->ctx_id, "object %llu destroyed (type %d)", (unsigned long long)a->memory_obj->id,
            a->memory_obj->type);
   vs_memory_release(runner->renderer, a->memory_obj, true);
}

static void
vs_exec_vkGetMemoryResourcePropertiesMESA(struct vs_runner *runner,
                                          struct vn_args_vkGetMemoryResourcePropertiesMESA *a)
{
   /* A resource with an fd (an import of the transport, shared memory, a
    * shareable blob of this context's memory) can back any memory type
    * that takes host-pointer imports (vs_memory_allocate maps it). */
   struct vs_renderer *r = runner->renderer;
   uint64_t size = 0;
   int fd = r->resolve_resource && a->resourceId ? r->resolve_resource(r->resolve_data, a->resourceId, &size) : -1;
   if (fd < 0) {
      a->ret = VK_ERROR_INVALID_EXTERNAL_HANDLE;
      return;
   }
   close(fd);
   VkMemoryResourcePropertiesMESA *props = a->pMemoryResourceProperties;
   if (props) {
      props->memoryTypeBits = vs_device_from(a->device_obj)->mem.host_pointer_types;
      for (VkBaseOutStructure *s = props->pNext; s; s = s->pNext) {
         if ((int)s->sType == (int)VK_STRUCTURE_TYPE_MEMORY_RESOURCE_ALLOCATION_SIZE_PROPERTIES_MESA)
            ((VkMemoryResourceAllocationSizePropertiesMESA *)s)->allocationSize = size;
      }
   }
   a->ret = VK_SUCCESS;
}

void
vs_memory_commands_register(struct vn_exec_table *t)
{
   t->vkAllocateMemory = vs_exec_vkAllocateMemory;
   t->vkFreeMemory = vs_exec_vkFreeMemory;
   t->vkGetMemoryResourcePropertiesMESA = vs_exec_vkGetMemoryResourcePropertiesMESA;
}

/* SPDX-License-Identifier: MIT */
/* Buffers: the guest's external handle types are the server's (see
 * renderer/caps/caps.h), so they are dropped before the host sees the create info;
 * the host-pointer type the server's own memory needs is declared instead
 * (memory/import_types.h). */
#include <stdlib.h>

#include "renderer/caps/caps.h"
#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/validate.h"
#include "memory/driver_mapping.h"
#include "memory/import_types.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

static void
vs_exec_vkCreateBuffer(struct vs_runner *disp, struct vn_args_vkCreateBuffer *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(disp, "vkCreateBuffer: no create info");
      return;
   }
   vs_caps_strip_external_memory(a->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
   VkExternalMemoryImageCreateInfo declared; /* the buffer struct's layout */
   vs_memory_declare_import_types((void *)a->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                  vs_memory_buffer_import_types(vs_device_from(a->device_obj), a->pCreateInfo),
                                  &declared);
   struct vs_buffer *buffer = calloc(1, sizeof(*buffer));
   if (!buffer) {
      a->ret = VK_ERROR_OUT_OF_HOST_MEMORY;
      return;
   }
   vn_default_vkCreateBuffer(disp, a);
   struct vs_object *obj = vs_runner_created(disp, a->ret, a->pBuffer_id, VK_OBJECT_TYPE_BUFFER);
   if (!obj) {
      free(buffer);
      return;
   }
   buffer->size = a->pCreateInfo->size;
   buffer->usage = a->pCreateInfo->usage;
   buffer->sparse = (a->pCreateInfo->flags & VK_BUFFER_CREATE_SPARSE_BINDING_BIT) != 0;
   obj->data = buffer;
   obj->data_free = free;
}

/* The binding must fit the memory, as the host's requirements say: the host
 * trusts the offset, and memory past the allocation is someone else's. */
static bool
buffer_bind_ok(struct vs_runner *disp, const char *cmd, struct vs_object *device_obj, struct vs_object *buffer_obj,
               struct vs_object *memory_obj, VkDeviceSize offset)
{
   if (!buffer_obj || buffer_obj->parent != device_obj) {
      vs_runner_fail(disp, "%s: buffer is not an object of this device", cmd);
      return false;
   }
   VkMemoryRequirements req;
   device_obj->dt->GetBufferMemoryRequirements(vs_device_from(device_obj)->host,
                                              (VkBuffer)(uintptr_t)buffer_obj->handle, &req);
   return vs_check_bind(disp, cmd, device_obj, buffer_obj, memory_obj, offset, &req,
                        vs_buffer_from(buffer_obj)->memory_id != 0);
}

/* The buffer keeps its memory alive (wire/lifetime.h). */
static void
buffer_bound(struct vs_runner *disp, struct vs_object *buffer_obj, struct vs_object *memory_obj,
             VkDeviceSize offset)
{
   struct vs_buffer *buffer = vs_buffer_from(buffer_obj);
   buffer->memory_id = memory_obj->id;
   buffer->memory_offset = offset;
   if (!vs_object_hold(disp->objects, buffer_obj, memory_obj, true))
      vs_runner_fail(disp, "buffer %llu cannot hold memory %llu: over the hold limit or out of memory",
                       (unsigned long long)buffer_obj->id, (unsigned long long)memory_obj->id);
}

static void
vs_exec_vkBindBufferMemory(struct vs_runner *disp, struct vn_args_vkBindBufferMemory *a)
{
   if (!buffer_bind_ok(disp, "vkBindBufferMemory", a->device_obj, a->buffer_obj, a->memory_obj, a->memoryOffset))
      return;
   vn_default_vkBindBufferMemory(disp, a);
   if (a->ret == VK_SUCCESS)
      buffer_bound(disp, a->buffer_obj, a->memory_obj, a->memoryOffset);
}

static void
vs_exec_vkBindBufferMemory2(struct vs_runner *disp, struct vn_args_vkBindBufferMemory2 *a)
{
   if (a->bindInfoCount && !a->pBindInfos) {
      vs_runner_fail(disp, "vkBindBufferMemory2: no bind infos");
      return;
   }
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindBufferMemoryInfo *b = &a->pBindInfos[i];
      if (!buffer_bind_ok(disp, "vkBindBufferMemory2", a->device_obj, vs_runner_nested_object(disp, &b->buffer),
                          vs_runner_nested_object(disp, &b->memory), b->memoryOffset))
         return;
   }
   vn_default_vkBindBufferMemory2(disp, a);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindBufferMemoryInfo *b = &a->pBindInfos[i];
      buffer_bound(disp, vs_runner_nested_object(disp, &b->buffer), vs_runner_nested_object(disp, &b->memory),
                   b->memoryOffset);
   }
}

static void
vs_exec_vkGetBufferMemoryRequirements(struct vs_runner *disp, struct vn_args_vkGetBufferMemoryRequirements *a)
{
   vn_default_vkGetBufferMemoryRequirements(disp, a);
   if (a->pMemoryRequirements && !vs_runner_failed(disp))
      vs_driver_mapping_size_requirements(&vs_device_from(a->device_obj)->mem, a->pMemoryRequirements);
}

static void
vs_exec_vkGetBufferMemoryRequirements2(struct vs_runner *disp, struct vn_args_vkGetBufferMemoryRequirements2 *a)
{
   vn_default_vkGetBufferMemoryRequirements2(disp, a);
   if (a->pMemoryRequirements && !vs_runner_failed(disp))
      vs_driver_mapping_size_requirements(&vs_device_from(a->device_obj)->mem,
                                         &a->pMemoryRequirements->memoryRequirements);
}

static void
vs_exec_vkGetDeviceBufferMemoryRequirements(struct vs_runner *disp,
                                            struct vn_args_vkGetDeviceBufferMemoryRequirements *a)
{
   if (!a->pInfo || !a->pInfo->pCreateInfo || !a->pMemoryRequirements) {
      vs_runner_fail(disp, "vkGetDeviceBufferMemoryRequirements: no create info or output");
      return;
   }
   vs_caps_strip_external_memory(a->pInfo->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
   VkExternalMemoryImageCreateInfo declared;
   vs_memory_declare_import_types((void *)a->pInfo->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                  vs_memory_buffer_import_types(vs_device_from(a->device_obj), a->pInfo->pCreateInfo),
                                  &declared);
   vn_default_vkGetDeviceBufferMemoryRequirements(disp, a);
   if (!vs_runner_failed(disp))
      vs_driver_mapping_size_requirements(&vs_device_from(a->device_obj)->mem,
                                         &a->pMemoryRequirements->memoryRequirements);
}

void
vs_buffer_register(struct vn_exec_table *t)
{
   t->vkCreateBuffer = vs_exec_vkCreateBuffer;
   t->vkBindBufferMemory = vs_exec_vkBindBufferMemory;
   t->vkBindBufferMemory2 = vs_exec_vkBindBufferMemory2;
   t->vkGetDeviceBufferMemoryRequirements = vs_exec_vkGetDeviceBufferMemoryRequirements;
   t->vkGetBufferMemoryRequirements = vs_exec_vkGetBufferMemoryRequirements;
   t->vkGetBufferMemoryRequirements2 = vs_exec_vkGetBufferMemoryRequirements2;
}

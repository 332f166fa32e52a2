/* SPDX-License-Identifier: MIT */
/* Buffers: the guest's external handle types are the server's (see
 * renderer/caps/caps.h), so they are dropped before the host sees the create info;
 * the host-pointer type the server's own memory needs is declared instead
 * (renderer/memory/import_types.h).
 *
 * That declaration can cost a buffer memory types: NVIDIA keeps a buffer
 * declared for host-pointer import out of its BAR type, the one whose
 * driver mappings the server lends (renderer/memory/driver_mapping.h),
 * and llama.cpp's ggml writes its inputs there with memcpy when a buffer
 * may live there (else each write is a staging copy, a submit and a wait).
 * Which memory a buffer gets is known only when it is bound, so where the
 * declaration costs lent types a second host buffer is made without it;
 * the guest is told the types of both, and the first bind (or a dedicated
 * allocation) keeps the one its memory type needs. */
#include <stdlib.h>

#include "renderer/caps/caps.h"
#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/validate.h"
#include "renderer/memory/driver_mapping.h"
#include "renderer/memory/import_types.h"
#include "wire/runner.h"
#include "wire/lifetime.h"
#include "vn_wire.h"

/* The host-pointer declaration out of, or back into, a buffer create info. */
static VkExternalMemoryHandleTypeFlags
undeclare(const void *create_info)
{
   return vs_memory_undeclare_import_types((void *)create_info, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
}

static void
redeclare(const void *create_info, VkExternalMemoryHandleTypeFlags types)
{
   vs_memory_redeclare_import_types((void *)create_info, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, types);
}

static void
buffer_free(void *data)
{
   struct vs_buffer *buffer = data;
   if (buffer->undeclared)
      buffer->dt->DestroyBuffer(buffer->host_device, buffer->undeclared, NULL);
   free(buffer);
}

/* After the declared buffer was made: the undeclared one, kept where it
 * may use lent types the declared one may not. */
static void
make_undeclared(struct vs_device *dev, struct vs_buffer *buffer, VkBuffer declared, const VkBufferCreateInfo *ci)
{
   VkExternalMemoryHandleTypeFlags cleared = undeclare(ci);
   if (!cleared)
      return;
   VkBuffer undeclared = VK_NULL_HANDLE;
   VkResult r = dev->dt.CreateBuffer(dev->host, ci, NULL, &undeclared);
   redeclare(ci, cleared);
   if (r != VK_SUCCESS)
      return; /* the declared buffer serves alone */
   VkMemoryRequirements with, without;
   dev->dt.GetBufferMemoryRequirements(dev->host, declared, &with);
   dev->dt.GetBufferMemoryRequirements(dev->host, undeclared, &without);
   buffer->undeclared_types =
      vs_driver_mapping_undeclared_types(dev->mem.lent_types, with.memoryTypeBits, without.memoryTypeBits);
   if (!buffer->undeclared_types) {
      dev->dt.DestroyBuffer(dev->host, undeclared, NULL);
      return;
   }
   buffer->undeclared = undeclared;
   buffer->host_device = dev->host;
   buffer->dt = &dev->dt;
}

VkBuffer
vs_buffer_settle(struct vs_runner *runner, struct vs_object *buffer_obj, uint32_t type_index)
{
   struct vs_buffer *buffer = vs_buffer_from(buffer_obj);
   VkBuffer kept = (VkBuffer)(uintptr_t)buffer_obj->handle;
   if (!buffer || !buffer->undeclared)
      return kept;
   VkBuffer dropped = buffer->undeclared;
   if (type_index < 32 && (buffer->undeclared_types & (1u << type_index))) {
      dropped = kept;
      kept = buffer->undeclared;
      vs_object_rehandle(runner->renderer->objects, buffer_obj, (uint64_t)(uintptr_t)kept);
   }
   buffer->dt->DestroyBuffer(buffer->host_device, dropped, NULL);
   buffer->undeclared = VK_NULL_HANDLE;
   buffer->undeclared_types = 0;
   return kept;
}

static void
vs_exec_vkCreateBuffer(struct vs_runner *runner, struct vn_args_vkCreateBuffer *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(runner, "vkCreateBuffer: no create info");
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
   vn_default_vkCreateBuffer(runner, a);
   struct vs_object *obj = vs_runner_created(runner, a->ret, a->pBuffer_id, VK_OBJECT_TYPE_BUFFER);
   if (!obj) {
      free(buffer);
      return;
   }
   buffer->size = a->pCreateInfo->size;
   buffer->usage = a->pCreateInfo->usage;
   buffer->sparse = (a->pCreateInfo->flags & VK_BUFFER_CREATE_SPARSE_BINDING_BIT) != 0;
   struct vs_device *dev = vs_device_from(a->device_obj);
   if (dev->mem.lent_types && !buffer->sparse)
      make_undeclared(dev, buffer, *a->pBuffer, a->pCreateInfo);
   obj->data = buffer;
   obj->data_free = buffer_free;
}

/* The binding must fit the memory, as the host's requirements say: the host
 * trusts the offset, and memory past the allocation is someone else's. */
static bool
buffer_bind_ok(struct vs_runner *runner, const char *cmd, struct vs_object *device_obj, struct vs_object *buffer_obj,
               struct vs_object *memory_obj, VkDeviceSize offset, VkBuffer *host)
{
   if (!buffer_obj || buffer_obj->parent != device_obj) {
      vs_runner_fail(runner, "%s: buffer is not an object of this device", cmd);
      return false;
   }
   if (memory_obj && memory_obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY && memory_obj->parent == device_obj)
      *host = vs_buffer_settle(runner, buffer_obj, vs_device_memory_from(memory_obj)->type_index);
   VkMemoryRequirements req;
   device_obj->dt->GetBufferMemoryRequirements(vs_device_from(device_obj)->host,
                                              (VkBuffer)(uintptr_t)buffer_obj->handle, &req);
   return vs_check_bind(runner, cmd, device_obj, buffer_obj, memory_obj, offset, &req,
                        vs_buffer_from(buffer_obj)->memory_id != 0);
}

/* The buffer keeps its memory alive (wire/lifetime.h). */
static void
buffer_bound(struct vs_runner *runner, struct vs_object *buffer_obj, struct vs_object *memory_obj,
             VkDeviceSize offset)
{
   struct vs_buffer *buffer = vs_buffer_from(buffer_obj);
   buffer->memory_id = memory_obj->id;
   buffer->memory_offset = offset;
   if (!vs_object_hold(runner->objects, buffer_obj, memory_obj, true))
      vs_runner_fail(runner, "buffer %llu cannot hold memory %llu: over the hold limit or out of memory",
                       (unsigned long long)buffer_obj->id, (unsigned long long)memory_obj->id);
}

static void
vs_exec_vkBindBufferMemory(struct vs_runner *runner, struct vn_args_vkBindBufferMemory *a)
{
   if (!buffer_bind_ok(runner, "vkBindBufferMemory", a->device_obj, a->buffer_obj, a->memory_obj, a->memoryOffset,
                       &a->buffer))
      return;
   vn_default_vkBindBufferMemory(runner, a);
   if (a->ret == VK_SUCCESS)
      buffer_bound(runner, a->buffer_obj, a->memory_obj, a->memoryOffset);
}

static void
vs_exec_vkBindBufferMemory2(struct vs_runner *runner, struct vn_args_vkBindBufferMemory2 *a)
{
   if (a->bindInfoCount && !a->pBindInfos) {
      vs_runner_fail(runner, "vkBindBufferMemory2: no bind infos");
      return;
   }
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      VkBindBufferMemoryInfo *b = (VkBindBufferMemoryInfo *)&a->pBindInfos[i];
      if (!buffer_bind_ok(runner, "vkBindBufferMemory2", a->device_obj, vs_runner_nested_object(runner, &b->buffer),
                          vs_runner_nested_object(runner, &b->memory), b->memoryOffset, &b->buffer))
         return;
   }
   vn_default_vkBindBufferMemory2(runner, a);
   if (a->ret != VK_SUCCESS)
      return;
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindBufferMemoryInfo *b = &a->pBindInfos[i];
      buffer_bound(runner, vs_runner_nested_object(runner, &b->buffer), vs_runner_nested_object(runner, &b->memory),
                   b->memoryOffset);
   }
}

/* A buffer's requirements as the guest is told them: those of both host
 * buffers while it has two, sized for lent memory. */
static void
guest_buffer_requirements(struct vs_object *device_obj, struct vs_object *buffer_obj, VkMemoryRequirements *req)
{
   struct vs_device *dev = vs_device_from(device_obj);
   struct vs_buffer *buffer = buffer_obj ? vs_buffer_from(buffer_obj) : NULL;
   if (buffer && buffer->undeclared) {
      VkMemoryRequirements undeclared;
      dev->dt.GetBufferMemoryRequirements(dev->host, buffer->undeclared, &undeclared);
      vs_driver_mapping_merge_requirements(req, &undeclared, buffer->undeclared_types);
   }
   if (buffer)
      vs_driver_mapping_buffer_requirements(&dev->mem, buffer->usage, req);
   else
      vs_driver_mapping_size_requirements(&dev->mem, req);
}

static void
vs_exec_vkGetBufferMemoryRequirements(struct vs_runner *runner, struct vn_args_vkGetBufferMemoryRequirements *a)
{
   vn_default_vkGetBufferMemoryRequirements(runner, a);
   if (a->pMemoryRequirements && !vs_runner_failed(runner))
      guest_buffer_requirements(a->device_obj, a->buffer_obj, a->pMemoryRequirements);
}

static void
vs_exec_vkGetBufferMemoryRequirements2(struct vs_runner *runner, struct vn_args_vkGetBufferMemoryRequirements2 *a)
{
   vn_default_vkGetBufferMemoryRequirements2(runner, a);
   if (a->pMemoryRequirements && a->pInfo && !vs_runner_failed(runner))
      guest_buffer_requirements(a->device_obj, vs_runner_nested_object(runner, &a->pInfo->buffer),
                                &a->pMemoryRequirements->memoryRequirements);
}

static void
vs_exec_vkGetDeviceBufferMemoryRequirements(struct vs_runner *runner,
                                            struct vn_args_vkGetDeviceBufferMemoryRequirements *a)
{
   if (!a->pInfo || !a->pInfo->pCreateInfo || !a->pMemoryRequirements) {
      vs_runner_fail(runner, "vkGetDeviceBufferMemoryRequirements: no create info or output");
      return;
   }
   vs_caps_strip_external_memory(a->pInfo->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
   VkExternalMemoryImageCreateInfo declared;
   vs_memory_declare_import_types((void *)a->pInfo->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                  vs_memory_buffer_import_types(vs_device_from(a->device_obj), a->pInfo->pCreateInfo),
                                  &declared);
   vn_default_vkGetDeviceBufferMemoryRequirements(runner, a);
   if (vs_runner_failed(runner))
      return;
   struct vs_device *dev = vs_device_from(a->device_obj);
   VkMemoryRequirements *req = &a->pMemoryRequirements->memoryRequirements;
   VkExternalMemoryHandleTypeFlags cleared = dev->mem.lent_types ? undeclare(a->pInfo->pCreateInfo) : 0;
   if (cleared) {
      /* What vkCreateBuffer's undeclared buffer would allow. */
      VkMemoryRequirements2 undeclared = { .sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2 };
      dev->dt.GetDeviceBufferMemoryRequirements(dev->host, a->pInfo, &undeclared);
      redeclare(a->pInfo->pCreateInfo, cleared);
      vs_driver_mapping_merge_requirements(
         req, &undeclared.memoryRequirements,
         vs_driver_mapping_undeclared_types(dev->mem.lent_types, req->memoryTypeBits,
                                            undeclared.memoryRequirements.memoryTypeBits));
   }
   vs_driver_mapping_buffer_requirements(&dev->mem, a->pInfo->pCreateInfo->usage, req);
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

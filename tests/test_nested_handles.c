/* SPDX-License-Identifier: MIT */
/* Handles inside structs are resolved by guest id, not by host handle.
 *
 * Vulkan lets a driver give two non-dispatchable objects the same handle
 * value. This test is such a driver: a shim device whose two command pools
 * share one host handle. Through the real decoder and the real pool
 * handlers (the renderer layer, linked without the context), allocating a
 * command buffer from each pool must put it under that pool, and a pool of
 * another device must be refused. A lookup by host handle would put both
 * buffers under one pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/renderer.h"
#include "base/log.h"
#include "wire/runner.h"
#include "wire/object_table.h"
#include "vn_wire.h"

static int failures;

#define CHECK(cond, ...)                                                                             \
   do {                                                                                              \
      if (cond) {                                                                                    \
         printf("PASS test_nested_handles: ");                                                       \
      } else {                                                                                       \
         printf("FAIL test_nested_handles: %s:%d: ", __FILE__, __LINE__);                            \
         failures++;                                                                                 \
      }                                                                                              \
      printf(__VA_ARGS__);                                                                           \
      printf("\n");                                                                                  \
   } while (0)

/* The shim driver: every command buffer it allocates gets a new handle. */
static uintptr_t next_command_buffer = 0x5000;

static VkResult VKAPI_PTR
shim_allocate_command_buffers(VkDevice device, const VkCommandBufferAllocateInfo *info, VkCommandBuffer *out)
{
   for (uint32_t i = 0; i < info->commandBufferCount; i++)
      out[i] = (VkCommandBuffer)next_command_buffer++;
   return VK_SUCCESS;
}

static char fatal_reason[512];

static void
on_fatal(void *data, const char *reason)
{
   snprintf(fatal_reason, sizeof(fatal_reason), "%s", reason);
}

static bool
never_stop(void *data)
{
   return false;
}

/* A little command writer, in the wire's 4-byte units. */
struct stream {
   uint32_t words[64];
   size_t n;
};

static void
put32(struct stream *s, uint32_t v)
{
   s->words[s->n++] = v;
}

static void
put64(struct stream *s, uint64_t v)
{
   put32(s, (uint32_t)v);
   put32(s, (uint32_t)(v >> 32));
}

/* vkAllocateCommandBuffers(device, &{pool, PRIMARY, 1}, [new id]). */
static void
allocate_command_buffer(struct stream *s, uint64_t device_id, uint64_t pool_id, uint64_t new_id)
{
   s->n = 0;
   put32(s, VN_CMD_vkAllocateCommandBuffers);
   put32(s, 0);                                   /* flags: no reply */
   put64(s, device_id);
   put64(s, 1);                                   /* pAllocateInfo present */
   put32(s, VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
   put64(s, 0);                                   /* no pNext */
   put64(s, pool_id);
   put32(s, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
   put32(s, 1);
   put64(s, 1);                                   /* one output handle */
   put64(s, new_id);
}

int
main(void)
{
   vs_log_threshold = VS_LOG_SILENT;
   struct vs_object_table objects;
   if (!vs_object_table_init(&objects))
      return 1;
   struct vn_device_table dt = { .AllocateCommandBuffers = shim_allocate_command_buffers };

   /* Two devices; device 1 has two pools with the same host handle. */
   struct vs_object *dev1 = vs_object_add(&objects, 1, VK_OBJECT_TYPE_DEVICE, 0x1000, NULL);
   struct vs_object *dev2 = vs_object_add(&objects, 2, VK_OBJECT_TYPE_DEVICE, 0x2000, NULL);
   dev1->dt = dev2->dt = &dt;
   const uint64_t shared_handle = 0x42;
   struct vs_object *pool_a = vs_object_add(&objects, 10, VK_OBJECT_TYPE_COMMAND_POOL, shared_handle, dev1);
   struct vs_object *pool_b = vs_object_add(&objects, 11, VK_OBJECT_TYPE_COMMAND_POOL, shared_handle, dev1);
   struct vs_object *pool_c = vs_object_add(&objects, 12, VK_OBJECT_TYPE_COMMAND_POOL, shared_handle, dev2);
   CHECK(pool_a && pool_b && pool_c, "three pools share host handle 0x%llx", (unsigned long long)shared_handle);

   struct vn_exec_table exec;
   vn_exec_table_init(&exec);
   vs_renderer_register(&exec);
   struct vs_runner runner;
   vs_runner_init(&runner, &(struct vs_runner_desc){
                              .ctx_id = 1,
                              .hooks = { on_fatal, never_stop, never_stop, NULL },
                              .exec = &exec,
                              .objects = &objects,
                           });

   struct stream s;
   allocate_command_buffer(&s, 1, 11, 100);
   bool ok = vs_runner_stream(&runner, s.words, s.n * 4, NULL, NULL);
   struct vs_object *cb = vs_object_lookup(&objects, 100, VK_OBJECT_TYPE_COMMAND_BUFFER);
   CHECK(ok && cb && cb->parent == pool_b, "a buffer from pool 11 is a child of pool 11 (parent %llu) %s",
         cb && cb->parent ? (unsigned long long)cb->parent->id : 0ull, fatal_reason);

   allocate_command_buffer(&s, 1, 10, 101);
   ok = vs_runner_stream(&runner, s.words, s.n * 4, NULL, NULL);
   cb = vs_object_lookup(&objects, 101, VK_OBJECT_TYPE_COMMAND_BUFFER);
   CHECK(ok && cb && cb->parent == pool_a, "a buffer from pool 10 is a child of pool 10 (parent %llu) %s",
         cb && cb->parent ? (unsigned long long)cb->parent->id : 0ull, fatal_reason);
   CHECK(pool_a->child_count == 1 && pool_b->child_count == 1, "each pool holds exactly its own buffer");

   /* Pool 12 aliases too, but it belongs to device 2. */
   allocate_command_buffer(&s, 1, 12, 102);
   ok = vs_runner_stream(&runner, s.words, s.n * 4, NULL, NULL);
   CHECK(!ok && strstr(fatal_reason, "pool is not an object of this device") &&
            !vs_object_lookup(&objects, 102, VK_OBJECT_TYPE_COMMAND_BUFFER),
         "a pool of another device with the same handle is refused (%s)", fatal_reason);

   vs_runner_fini(&runner);
   vs_object_table_fini(&objects);
   return failures ? 1 : 0;
}

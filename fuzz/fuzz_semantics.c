/* SPDX-License-Identifier: MIT */
/* libFuzzer target that reaches semantics: from the fuzz input it builds a
 * valid-looking Venus command stream with hostile numbers (offsets, sizes,
 * counts, ids) and executes it context-side (as SUBMIT_CMD2 would) on the
 * host driver (lavapipe), so that the arguments of real GPU work matter:
 *
 *   vkCreateInstance, vkEnumeratePhysicalDevices, vkCreateDevice (fuzzed
 *   family and queueCount), vkGetDeviceQueue2 (with a fuzzed
 *   VkDeviceQueueTimelineInfoMESA ring), two vkAllocateMemory, three
 *   vkCreateBuffer, vkBindBufferMemory at fuzzed offsets (or not at all), a
 *   command pool and buffer, then fuzzed vkCmdFillBuffer, vkCmdCopyBuffer,
 *   vkCmdUpdateBuffer, vkCmdBindIndexBuffer and (with
 *   FUZZ_SEMANTICS_PIPELINELESS=1) vkCmdDispatchIndirect / vkCmdDrawIndirect,
 *   vkEndCommandBuffer, a fence, vkQueueSubmit, vkWaitForFences.
 *   Lifetimes: an event and a query pool are recorded too (vkCmdSetEvent,
 *   vkCmdResetQueryPool, vkCmdWriteTimestamp), and between recording and
 *   submitting, then again between submitting and waiting (while the work
 *   may be pending), fuzzed destroys and frees: buffers, memory, the event,
 *   the query pool, the command buffer (reset or freed) and its pool.
 *
 * Numbers come from the input: a byte picks a "nice" value (what a real
 * client would send), an edge value (0, page-1, the allocation size, 4 GiB,
 * 2^64-1, ...) or eight raw bytes. Crashes and sanitizer reports are what
 * count: a valid-usage violation must end the context, never reach the
 * host driver. FUZZ_SEMANTICS_DUMP=PATH writes the stream of the one input
 * run, framed as a vtest session (handshake, CONTEXT_INIT, SUBMIT_CMD2), as
 * a seed for fuzz_vtest. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context/context.h"
#include "base/log.h"
#include "vn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- the fuzz input ------------------------------------------------------- */

struct input {
   const uint8_t *p;
   size_t left;
};

static uint8_t
in_u8(struct input *in)
{
   if (!in->left)
      return 0;
   in->left--;
   return *in->p++;
}

static uint64_t
in_raw64(struct input *in)
{
   uint64_t v = 0;
   for (int i = 0; i < 8; i++)
      v |= (uint64_t)in_u8(in) << (8 * i);
   return v;
}

/* A number around `nice` (what a well-behaved client sends), related to
 * `limit` (the size it must stay within), or anything. */
static uint64_t
in_num(struct input *in, uint64_t nice, uint64_t limit)
{
   uint8_t sel = in_u8(in);
   switch (sel % 16) {
   case 0: case 1: case 2: case 3: case 4: case 5: return nice;
   case 6: return 0;
   case 7: return limit;
   case 8: return limit - 4;
   case 9: return limit + 4;
   case 10: return 1ull << 32;
   case 11: return UINT64_MAX;
   case 12: return UINT64_MAX - 3;
   case 13: return (uint64_t)in_u8(in) << 12;
   case 14: return 1ull << 30;
   default: return in_raw64(in);
   }
}

/* --- the stream writer (the wire's 4-byte units) ------------------------------ */

struct stream {
   uint32_t *w;
   size_t n, cap;
};

static void
put32(struct stream *s, uint32_t v)
{
   if (s->n == s->cap) {
      s->cap = s->cap ? s->cap * 2 : 1024;
      s->w = realloc(s->w, s->cap * 4);
      if (!s->w)
         abort();
   }
   s->w[s->n++] = v;
}

static void
put64(struct stream *s, uint64_t v)
{
   put32(s, (uint32_t)v);
   put32(s, (uint32_t)(v >> 32));
}

static void
cmd(struct stream *s, uint32_t type)
{
   put32(s, type);
   put32(s, 0); /* flags: no reply */
}

static void
put_string(struct stream *s, const char *str)
{
   size_t n = strlen(str) + 1;
   put64(s, n);
   uint32_t word = 0;
   for (size_t i = 0; i < n; i++) {
      word |= (uint32_t)(uint8_t)str[i] << (8 * (i % 4));
      if (i % 4 == 3) {
         put32(s, word);
         word = 0;
      }
   }
   if (n % 4)
      put32(s, word);
}

/* Guest ids. */
enum {
   ID_INSTANCE = 1,
   ID_PHYS = 2,
   ID_DEVICE = 3,
   ID_QUEUE = 4,
   ID_MEM = 10,    /* + 0, 1 */
   ID_BUF = 20,    /* + 0, 1, 2 */
   ID_POOL = 30,
   ID_CMD = 31,
   ID_FENCE = 40,
   ID_EVENT = 50,
   ID_QUERY_POOL = 51,
};

static void
create_instance(struct stream *s)
{
   cmd(s, VN_CMD_vkCreateInstance);
   put64(s, 1); /* pCreateInfo */
   put32(s, VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
   put64(s, 0); /* pNext */
   put32(s, 0); /* flags */
   put64(s, 1); /* pApplicationInfo */
   put32(s, VK_STRUCTURE_TYPE_APPLICATION_INFO);
   put64(s, 0);
   put_string(s, "fuzz_semantics");
   put32(s, 1);
   put_string(s, "venus-server");
   put32(s, 1);
   put32(s, VK_API_VERSION_1_3);
   put32(s, 0); /* layers */
   put64(s, 0);
   put32(s, 0); /* extensions */
   put64(s, 0);
   put64(s, 0); /* pAllocator */
   put64(s, 1); /* pInstance */
   put64(s, ID_INSTANCE);
}

static void
enumerate_physical_devices(struct stream *s)
{
   cmd(s, VN_CMD_vkEnumeratePhysicalDevices);
   put64(s, ID_INSTANCE);
   put64(s, 1); /* pPhysicalDeviceCount */
   put32(s, 1);
   put64(s, 1); /* one id */
   put64(s, ID_PHYS);
}

static void
create_device(struct stream *s, struct input *in)
{
   uint32_t family = (uint32_t)in_num(in, 0, 4);
   uint32_t count = (uint32_t)in_num(in, 1, 65536);
   if (count > 65536)
      count = 65536; /* the priorities must fit the stream */
   cmd(s, VN_CMD_vkCreateDevice);
   put64(s, ID_PHYS);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO);
   put64(s, 0);
   put32(s, 0); /* flags */
   put32(s, 1); /* queueCreateInfoCount */
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
   put64(s, 0);
   put32(s, 0);
   put32(s, family);
   put32(s, count);
   put64(s, count);
   for (uint32_t i = 0; i < count; i++)
      put32(s, 0x3f800000u); /* 1.0f */
   put32(s, 0); /* layers */
   put64(s, 0);
   put32(s, 0); /* extensions */
   put64(s, 0);
   put64(s, 0); /* pEnabledFeatures */
   put64(s, 0); /* pAllocator */
   put64(s, 1);
   put64(s, ID_DEVICE);
}

static void
get_device_queue2(struct stream *s, struct input *in)
{
   cmd(s, VN_CMD_vkGetDeviceQueue2);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_DEVICE_QUEUE_INFO_2);
   put64(s, 1); /* pNext: VkDeviceQueueTimelineInfoMESA */
   put32(s, VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA);
   put64(s, 0);
   put32(s, (uint32_t)in_num(in, 1, 64));  /* ringIdx */
   put32(s, 0);                            /* flags */
   put32(s, (uint32_t)in_num(in, 0, 1));   /* queueFamilyIndex */
   put32(s, (uint32_t)in_num(in, 0, 1));   /* queueIndex */
   put64(s, 1);
   put64(s, ID_QUEUE);
}

static void
allocate_memory(struct stream *s, uint64_t id, uint64_t size, uint32_t type)
{
   cmd(s, VN_CMD_vkAllocateMemory);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
   put64(s, 0);
   put64(s, size);
   put32(s, type);
   put64(s, 0);
   put64(s, 1);
   put64(s, id);
}

static void
create_buffer(struct stream *s, uint64_t id, uint64_t size)
{
   cmd(s, VN_CMD_vkCreateBuffer);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
   put64(s, 0);
   put32(s, 0); /* flags */
   put64(s, size);
   put32(s, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
               VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
               VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT);
   put32(s, VK_SHARING_MODE_EXCLUSIVE);
   put32(s, 0);
   put64(s, 0);
   put64(s, 0);
   put64(s, 1);
   put64(s, id);
}

static void
bind_buffer_memory(struct stream *s, uint64_t buffer, uint64_t memory, uint64_t offset)
{
   cmd(s, VN_CMD_vkBindBufferMemory);
   put64(s, ID_DEVICE);
   put64(s, buffer);
   put64(s, memory);
   put64(s, offset);
}

static void
command_buffer_begin(struct stream *s)
{
   cmd(s, VN_CMD_vkCreateCommandPool);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
   put64(s, 0);
   put32(s, 0);
   put32(s, 0); /* queueFamilyIndex */
   put64(s, 0);
   put64(s, 1);
   put64(s, ID_POOL);

   cmd(s, VN_CMD_vkAllocateCommandBuffers);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
   put64(s, 0);
   put64(s, ID_POOL);
   put32(s, VK_COMMAND_BUFFER_LEVEL_PRIMARY);
   put32(s, 1);
   put64(s, 1);
   put64(s, ID_CMD);

   cmd(s, VN_CMD_vkBeginCommandBuffer);
   put64(s, ID_CMD);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
   put64(s, 0);
   put32(s, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   put64(s, 0);
}

static void
create_event_and_query_pool(struct stream *s)
{
   cmd(s, VN_CMD_vkCreateEvent);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_EVENT_CREATE_INFO);
   put64(s, 0);
   put32(s, 0);
   put64(s, 0);
   put64(s, 1);
   put64(s, ID_EVENT);

   cmd(s, VN_CMD_vkCreateQueryPool);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
   put64(s, 0);
   put32(s, 0);
   put32(s, VK_QUERY_TYPE_TIMESTAMP);
   put32(s, 4);
   put32(s, 0);
   put64(s, 0);
   put64(s, 1);
   put64(s, ID_QUERY_POOL);
}

/* A destroy or free of a device child: (device, object, pAllocator). */
static void
destroy(struct stream *s, uint32_t type, uint64_t id)
{
   cmd(s, type);
   put64(s, ID_DEVICE);
   put64(s, id);
   put64(s, 0);
}

/* One fuzzed lifetime event: something the recorded work names goes. */
static void
lifetime_one(struct stream *s, struct input *in)
{
   uint8_t op = in_u8(in);
   switch (op % 8) {
   case 0:
   case 1:
      destroy(s, VN_CMD_vkDestroyBuffer, ID_BUF + (op >> 3) % 3);
      break;
   case 2:
   case 3:
      destroy(s, VN_CMD_vkFreeMemory, ID_MEM + (op >> 3) % 2);
      break;
   case 4:
      destroy(s, VN_CMD_vkDestroyEvent, ID_EVENT);
      break;
   case 5:
      destroy(s, VN_CMD_vkDestroyQueryPool, ID_QUERY_POOL);
      break;
   case 6:
      if (op & 0x80) {
         cmd(s, VN_CMD_vkResetCommandBuffer);
         put64(s, ID_CMD);
         put32(s, 0);
      } else {
         cmd(s, VN_CMD_vkFreeCommandBuffers);
         put64(s, ID_DEVICE);
         put64(s, ID_POOL);
         put32(s, 1);
         put64(s, 1);
         put64(s, ID_CMD);
      }
      break;
   default:
      destroy(s, VN_CMD_vkDestroyCommandPool, ID_POOL);
      break;
   }
}

/* One fuzzed transfer/bind/draw/dispatch command. */
static void
record_one(struct stream *s, struct input *in, const uint64_t *buf_size, bool pipelineless)
{
   uint8_t op = in_u8(in);
   uint32_t b = op >> 4 & 3, b2 = op >> 6;
   if (b > 2)
      b = 2;
   if (b2 > 2)
      b2 = 0;
   uint64_t size = buf_size[b];
   switch (op % 8) {
   case 6: /* event */
      cmd(s, VN_CMD_vkCmdSetEvent);
      put64(s, ID_CMD);
      put64(s, ID_EVENT);
      put32(s, VK_PIPELINE_STAGE_TRANSFER_BIT);
      return;
   case 7: /* queries */
      cmd(s, VN_CMD_vkCmdResetQueryPool);
      put64(s, ID_CMD);
      put64(s, ID_QUERY_POOL);
      put32(s, 0);
      put32(s, 4);
      cmd(s, VN_CMD_vkCmdWriteTimestamp);
      put64(s, ID_CMD);
      put32(s, VK_PIPELINE_STAGE_TRANSFER_BIT);
      put64(s, ID_QUERY_POOL);
      put32(s, (uint32_t)in_num(in, 1, 4));
      return;
   case 0: /* fill */
      cmd(s, VN_CMD_vkCmdFillBuffer);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, in_num(in, 0, size));
      put64(s, in_num(in, VK_WHOLE_SIZE, size));
      put32(s, 0x41414141u);
      break;
   case 1: { /* copy, 1 to 3 regions */
      uint32_t count = 1 + in_u8(in) % 3;
      cmd(s, VN_CMD_vkCmdCopyBuffer);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, ID_BUF + b2);
      put32(s, count);
      put64(s, count);
      for (uint32_t i = 0; i < count; i++) {
         put64(s, in_num(in, 0, size));            /* srcOffset */
         put64(s, in_num(in, 0, buf_size[b2]));    /* dstOffset */
         put64(s, in_num(in, 4, size));            /* size */
      }
      break;
   }
   case 2: { /* update: the data itself must fit the stream */
      uint64_t off = in_num(in, 0, size);
      uint32_t n = (in_u8(in) % 16 + 1) * 4;
      cmd(s, VN_CMD_vkCmdUpdateBuffer);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, off);
      put64(s, n);
      put64(s, n);
      for (uint32_t i = 0; i < n / 4; i++)
         put32(s, 0x42424242u);
      break;
   }
   case 3: /* index buffer */
      cmd(s, VN_CMD_vkCmdBindIndexBuffer);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, in_num(in, 0, size));
      put32(s, in_u8(in) & 1 ? VK_INDEX_TYPE_UINT32 : VK_INDEX_TYPE_UINT16);
      break;
   case 4: /* dispatch indirect (no pipeline bound: opt-in) */
      if (!pipelineless)
         break;
      cmd(s, VN_CMD_vkCmdDispatchIndirect);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, in_num(in, 0, size));
      break;
   default: /* draw indirect (outside a render pass: opt-in) */
      if (!pipelineless)
         break;
      cmd(s, VN_CMD_vkCmdDrawIndirect);
      put64(s, ID_CMD);
      put64(s, ID_BUF + b);
      put64(s, in_num(in, 0, size));
      put32(s, (uint32_t)in_num(in, 1, 16));
      put32(s, (uint32_t)in_num(in, 16, 16));
      break;
   }
}

static void
submit_and_wait(struct stream *s, struct input *in)
{
   cmd(s, VN_CMD_vkEndCommandBuffer);
   put64(s, ID_CMD);
   for (uint32_t n = in_u8(in) % 4; n; n--)
      lifetime_one(s, in);

   cmd(s, VN_CMD_vkCreateFence);
   put64(s, ID_DEVICE);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
   put64(s, 0);
   put32(s, 0);
   put64(s, 0);
   put64(s, 1);
   put64(s, ID_FENCE);

   cmd(s, VN_CMD_vkQueueSubmit);
   put64(s, ID_QUEUE);
   put32(s, 1);
   put64(s, 1);
   put32(s, VK_STRUCTURE_TYPE_SUBMIT_INFO);
   put64(s, 0);
   put32(s, 0); /* waits */
   put64(s, 0);
   put64(s, 0);
   put32(s, 1); /* command buffers */
   put64(s, 1);
   put64(s, ID_CMD);
   put32(s, 0); /* signals */
   put64(s, 0);
   put64(s, ID_FENCE);
   for (uint32_t n = in_u8(in) % 4; n; n--)
      lifetime_one(s, in);

   cmd(s, VN_CMD_vkWaitForFences);
   put64(s, ID_DEVICE);
   put32(s, 1);
   put64(s, 1);
   put64(s, ID_FENCE);
   put32(s, 1);
   put64(s, 5000000000ull);
}

static void
build(struct stream *s, struct input *in, bool pipelineless)
{
   create_instance(s);
   enumerate_physical_devices(s);
   create_device(s, in);
   get_device_queue2(s, in);

   uint64_t mem_size[2];
   for (int i = 0; i < 2; i++) {
      mem_size[i] = in_num(in, 65536, 1ull << 20);
      allocate_memory(s, ID_MEM + i, mem_size[i], (uint32_t)in_num(in, 0, 1));
   }
   uint64_t buf_size[3];
   for (int i = 0; i < 3; i++) {
      buf_size[i] = in_num(in, 4096, mem_size[i % 2]);
      create_buffer(s, ID_BUF + i, buf_size[i]);
   }
   for (int i = 0; i < 3; i++) {
      uint8_t how = in_u8(in) % 4;
      if (how == 3)
         continue; /* left unbound */
      bind_buffer_memory(s, ID_BUF + i, ID_MEM + (how == 2 ? 1 - i % 2 : i % 2),
                         in_num(in, 0, mem_size[i % 2]));
   }
   create_event_and_query_pool(s);
   command_buffer_begin(s);
   for (int i = 0; i < 16 && in->left; i++)
      record_one(s, in, buf_size, pipelineless);
   submit_and_wait(s, in);
}

/* The stream as a vtest session, for fuzz_vtest's corpus. */
static void
dump_vtest(const char *path, const struct stream *s)
{
   FILE *f = fopen(path, "wb");
   if (!f)
      return;
   struct stream v = { 0 };
   /* CREATE_RENDERER: the length is in bytes and the name unpadded, so
    * the name (with its NUL) is a whole number of words. */
   static const char name[] = "fuzz-seed-1";
   _Static_assert(sizeof(name) % 4 == 0, "whole words");
   put32(&v, sizeof(name));
   put32(&v, 8);
   uint32_t nw[sizeof(name) / 4];
   memcpy(nw, name, sizeof(name));
   for (size_t i = 0; i < sizeof(name) / 4; i++)
      put32(&v, nw[i]);
   put32(&v, 1); put32(&v, 11); put32(&v, 3);             /* PROTOCOL_VERSION 3 */
   put32(&v, 1); put32(&v, 15); put32(&v, 1);             /* GET_PARAM max timelines */
   put32(&v, 2); put32(&v, 16); put32(&v, 4); put32(&v, 0); /* GET_CAPSET venus */
   put32(&v, 1); put32(&v, 17); put32(&v, 4);             /* CONTEXT_INIT venus */
   /* RESOURCE_CREATE_BLOB: HOST3D, MAPPABLE, 64 KiB of shared memory */
   put32(&v, 6); put32(&v, 18); put32(&v, 2); put32(&v, 1); put32(&v, 65536); put32(&v, 0);
   put32(&v, 0); put32(&v, 0);
   /* SUBMIT_CMD2: one batch with the stream, ring 0 */
   put32(&v, (uint32_t)(1 + 6 + s->n));
   put32(&v, 24);
   put32(&v, 1);
   put32(&v, 0); put32(&v, 7); put32(&v, (uint32_t)s->n); put32(&v, 0); put32(&v, 0); put32(&v, 0);
   for (size_t i = 0; i < s->n; i++)
      put32(&v, s->w[i]);
   fwrite(v.w, 4, v.n, f);
   fclose(f);
   free(v.w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   static bool pipelineless, initialized;
   if (!initialized) {
      vs_log_threshold = getenv("FUZZ_SEMANTICS_LOG") ? VS_LOG_INFO : VS_LOG_SILENT;
      const char *p = getenv("FUZZ_SEMANTICS_PIPELINELESS");
      pipelineless = p && *p == '1';
      initialized = true;
   }
   struct input in = { data, size };
   struct stream s = { 0 };
   build(&s, &in, pipelineless);

   const char *dump = getenv("FUZZ_SEMANTICS_DUMP");
   if (dump)
      dump_vtest(dump, &s);

   struct vs_context_options options;
   vs_context_options_default(&options);
   struct vs_context *ctx = vs_context_create(1, "fuzz_semantics", &options);
   if (ctx) {
      vs_context_submit(ctx, s.w, s.n * 4);
      vs_context_destroy(ctx);
   }
   free(s.w);
   return 0;
}

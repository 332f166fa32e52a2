/* SPDX-License-Identifier: MIT */
#include "renderer/memory/host_memory.h"

#include <pthread.h>

#include "renderer/renderer_state.h"
#include "base/chain.h"
#include "base/ledger.h"
#include "base/log.h"

/* What the ledger is asked for at a time, and what a client keeps granted
 * beyond its allocations: a program's many small allocations cost a round
 * trip to the server now and then, and one uid's clients leave at most a
 * chunk each unused of their bound. */
#define CHUNK_BYTES (32ull << 20)

bool
vs_heap_in_host_ram(VkPhysicalDeviceType type, const VkMemoryHeap *heap)
{
   return type == VK_PHYSICAL_DEVICE_TYPE_CPU || type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
          !(heap->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
}

bool
vs_host_memory_take(struct vs_memory_usage *usage, uint32_t ctx_id, VkDeviceSize size)
{
   struct vs_ledger_port *ledger = usage->ledger;
   if (!ledger)
      return true;
   const uint64_t spare = usage->host_granted - usage->host_bytes;
   if (size <= spare) {
      usage->host_bytes += size;
      return true;
   }
   /* A chunk's worth if the bound has room for it, else exactly what this
    * allocation needs. */
   const uint64_t need = size - spare;
   uint64_t ask = need <= UINT64_MAX - (CHUNK_BYTES - 1) ? (need + CHUNK_BYTES - 1) / CHUNK_BYTES * CHUNK_BYTES : need;
   struct vs_ledger_answer answer;
   ledger->charge(ledger, VS_LEDGER_HOST_MEMORY, ask, &answer);
   if (!answer.granted && ask > need) {
      ask = need;
      ledger->charge(ledger, VS_LEDGER_HOST_MEMORY, ask, &answer);
   }
   if (!answer.granted && !answer.limit) {
      vs_warn(ctx_id, "vkAllocateMemory: %llu bytes in host RAM: the server's ledger did not grant them (logged "
              "above): VK_ERROR_OUT_OF_DEVICE_MEMORY", (unsigned long long)size);
      return false;
   }
   if (!answer.granted) {
      vs_warn(ctx_id, "vkAllocateMemory: %llu bytes in host RAM on top of the %llu this uid's clients hold exceed "
              "their %llu (limit memory-per-peer-mib=%llu): VK_ERROR_OUT_OF_DEVICE_MEMORY",
              (unsigned long long)size, (unsigned long long)answer.held, (unsigned long long)answer.limit,
              (unsigned long long)(answer.limit >> 20));
      return false;
   }
   usage->host_granted += ask;
   usage->host_bytes += size;
   return true;
}

void
vs_host_memory_give(struct vs_memory_usage *usage, VkDeviceSize size)
{
   if (!usage->ledger)
      return;
   usage->host_bytes -= size < usage->host_bytes ? size : usage->host_bytes;
   const uint64_t keep = usage->host_bytes + CHUNK_BYTES;
   if (usage->host_granted > keep + CHUNK_BYTES) {
      usage->ledger->give(usage->ledger, VS_LEDGER_HOST_MEMORY, usage->host_granted - keep);
      usage->host_granted = keep;
   }
}

void
vs_host_memory_fini(struct vs_memory_usage *usage)
{
   if (usage->ledger && usage->host_granted)
      usage->ledger->give(usage->ledger, VS_LEDGER_HOST_MEMORY, usage->host_granted);
   usage->host_granted = 0;
   usage->host_bytes = 0;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
   return a < b ? a : b;
}

void
vs_host_memory_report(struct vs_renderer *r, struct vs_object *phys_obj, VkPhysicalDeviceMemoryProperties *props,
                      VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget)
{
   const VkPhysicalDeviceType type = vs_physical_device_from(phys_obj)->props.deviceType;
   struct vs_memory_usage *usage = &r->memory_usage;

   pthread_mutex_lock(&usage->lock);
   uint64_t host_bound = UINT64_MAX, host_left = UINT64_MAX;
   if (usage->ledger) {
      struct vs_ledger_answer answer;
      usage->ledger->charge(usage->ledger, VS_LEDGER_HOST_MEMORY, 0, &answer);
      const uint64_t spare = usage->host_granted - usage->host_bytes;
      host_left = !answer.granted ? 0 : answer.left > UINT64_MAX - spare ? UINT64_MAX : answer.left + spare;
      if (answer.limit)
         host_bound = answer.limit;
   }
   const uint64_t limit_left = !usage->bytes_limit ? UINT64_MAX
                               : usage->bytes_limit > usage->bytes ? usage->bytes_limit - usage->bytes : 0;
   const VkDeviceSize *used_on = NULL;
   for (uint32_t i = 0; i < VS_MEMORY_USAGE_DEVICES && !used_on; i++) {
      if (usage->devices[i].physical == phys_obj)
         used_on = usage->devices[i].used;
   }
   for (uint32_t h = 0; h < props->memoryHeapCount && h < VK_MAX_MEMORY_HEAPS; h++) {
      VkMemoryHeap *heap = &props->memoryHeaps[h];
      const bool host_ram = vs_heap_in_host_ram(type, heap);
      /* A guest without VK_EXT_memory_budget (Mesa 25.0's Venus) plans by
       * the heap's size: no more than this client may ever hold there. */
      if (usage->bytes_limit)
         heap->size = min_u64(heap->size, usage->bytes_limit);
      if (host_ram)
         heap->size = min_u64(heap->size, host_bound);
      if (!budget)
         continue;
      const VkDeviceSize used = used_on ? used_on[h] : 0;
      uint64_t may = heap->size > used ? heap->size - used : 0;
      may = min_u64(may, budget->heapBudget[h] > budget->heapUsage[h] ? budget->heapBudget[h] - budget->heapUsage[h] : 0);
      may = min_u64(may, limit_left);
      if (host_ram)
         may = min_u64(may, host_left);
      budget->heapUsage[h] = used;
      budget->heapBudget[h] = used + may;
   }
   pthread_mutex_unlock(&usage->lock);
}

/* SPDX-License-Identifier: MIT */
#include "renderer/memory/memory_share.h"

#include <pthread.h>

#include "renderer/renderer_state.h"
#include "base/chain.h"
#include "base/log.h"

/* What the ledger is asked for at a time, and what a client keeps granted
 * beyond its allocations: a program's many small allocations cost a round
 * trip to the server now and then, and one uid's clients leave at most a
 * chunk each unused of their bound. */
#define CHUNK_BYTES (32ull << 20)

enum vs_ledger_pool
vs_heap_pool(VkPhysicalDeviceType type, const VkMemoryHeap *heap)
{
   const bool host_ram = type == VK_PHYSICAL_DEVICE_TYPE_CPU || type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                         !(heap->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
   return host_ram ? VS_LEDGER_HOST_MEMORY : VS_LEDGER_VRAM;
}

static const char *
pool_words(enum vs_ledger_pool pool)
{
   return pool == VS_LEDGER_VRAM ? "in GPU memory" : "in host RAM";
}

static const char *
pool_limit(enum vs_ledger_pool pool)
{
   return pool == VS_LEDGER_VRAM ? "vram-per-peer-mib" : "memory-per-peer-mib";
}

bool
vs_memory_share_take(struct vs_memory_usage *usage, uint32_t ctx_id, enum vs_ledger_pool pool, VkDeviceSize size)
{
   struct vs_ledger_port *ledger = usage->ledger;
   if (!ledger)
      return true;
   const uint64_t spare = usage->share_granted[pool] - usage->share_bytes[pool];
   if (size <= spare) {
      usage->share_bytes[pool] += size;
      return true;
   }
   /* A chunk's worth if the bound has room for it, else exactly what this
    * allocation needs. */
   const uint64_t need = size - spare;
   uint64_t ask = need <= UINT64_MAX - (CHUNK_BYTES - 1) ? (need + CHUNK_BYTES - 1) / CHUNK_BYTES * CHUNK_BYTES : need;
   struct vs_ledger_answer answer;
   ledger->charge(ledger, pool, ask, &answer);
   if (!answer.granted && ask > need) {
      ask = need;
      ledger->charge(ledger, pool, ask, &answer);
   }
   if (!answer.granted && !answer.limit) {
      vs_warn(ctx_id, "vkAllocateMemory: %llu bytes %s: the server's ledger did not grant them (logged above): "
              "VK_ERROR_OUT_OF_DEVICE_MEMORY", (unsigned long long)size, pool_words(pool));
      return false;
   }
   if (!answer.granted) {
      vs_warn(ctx_id, "vkAllocateMemory: %llu bytes %s on top of the %llu this uid's clients hold there exceed "
              "their %llu (limit %s=%llu): VK_ERROR_OUT_OF_DEVICE_MEMORY",
              (unsigned long long)size, pool_words(pool), (unsigned long long)answer.held,
              (unsigned long long)answer.limit, pool_limit(pool), (unsigned long long)(answer.limit >> 20));
      return false;
   }
   usage->share_granted[pool] += ask;
   usage->share_bytes[pool] += size;
   return true;
}

void
vs_memory_share_give(struct vs_memory_usage *usage, enum vs_ledger_pool pool, VkDeviceSize size)
{
   if (!usage->ledger)
      return;
   usage->share_bytes[pool] -= size < usage->share_bytes[pool] ? size : usage->share_bytes[pool];
   const uint64_t keep = usage->share_bytes[pool] + CHUNK_BYTES;
   if (usage->share_granted[pool] > keep + CHUNK_BYTES) {
      usage->ledger->give(usage->ledger, pool, usage->share_granted[pool] - keep);
      usage->share_granted[pool] = keep;
   }
}

void
vs_memory_share_fini(struct vs_memory_usage *usage)
{
   for (unsigned pool = 0; pool < VS_LEDGER_POOLS; pool++) {
      if (usage->ledger && usage->share_granted[pool])
         usage->ledger->give(usage->ledger, (enum vs_ledger_pool)pool, usage->share_granted[pool]);
      usage->share_granted[pool] = 0;
      usage->share_bytes[pool] = 0;
   }
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
   return a < b ? a : b;
}

/* Under usage->lock: the uid's bound in `pool` and what this client may
 * still get there (UINT64_MAX: no bound). */
static void
share_left(struct vs_memory_usage *usage, enum vs_ledger_pool pool, uint64_t *bound, uint64_t *left)
{
   *bound = *left = UINT64_MAX;
   if (!usage->ledger)
      return;
   struct vs_ledger_answer answer;
   usage->ledger->charge(usage->ledger, pool, 0, &answer);
   const uint64_t spare = usage->share_granted[pool] - usage->share_bytes[pool];
   *left = !answer.granted ? 0 : answer.left > UINT64_MAX - spare ? UINT64_MAX : answer.left + spare;
   if (answer.limit)
      *bound = answer.limit;
}

void
vs_memory_share_report(struct vs_renderer *r, struct vs_object *phys_obj, VkPhysicalDeviceMemoryProperties *props,
                       VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget)
{
   const VkPhysicalDeviceType type = vs_physical_device_from(phys_obj)->props.deviceType;
   struct vs_memory_usage *usage = &r->memory_usage;

   pthread_mutex_lock(&usage->lock);
   /* Each pool the device's heaps are in, asked once. */
   bool asked[VS_LEDGER_POOLS] = { false };
   uint64_t bound[VS_LEDGER_POOLS], left[VS_LEDGER_POOLS];
   const uint64_t limit_left = !usage->bytes_limit ? UINT64_MAX
                               : usage->bytes_limit > usage->bytes ? usage->bytes_limit - usage->bytes : 0;
   const VkDeviceSize *used_on = NULL;
   for (uint32_t i = 0; i < VS_MEMORY_USAGE_DEVICES && !used_on; i++) {
      if (usage->devices[i].physical == phys_obj)
         used_on = usage->devices[i].used;
   }
   for (uint32_t h = 0; h < props->memoryHeapCount && h < VK_MAX_MEMORY_HEAPS; h++) {
      VkMemoryHeap *heap = &props->memoryHeaps[h];
      const enum vs_ledger_pool pool = vs_heap_pool(type, heap);
      if (!asked[pool]) {
         share_left(usage, pool, &bound[pool], &left[pool]);
         asked[pool] = true;
      }
      /* A guest without VK_EXT_memory_budget (Mesa 25.0's Venus) plans by
       * the heap's size: no more than this client may ever hold there. */
      if (usage->bytes_limit)
         heap->size = min_u64(heap->size, usage->bytes_limit);
      heap->size = min_u64(heap->size, bound[pool]);
      if (!budget)
         continue;
      const VkDeviceSize used = used_on ? used_on[h] : 0;
      uint64_t may = heap->size > used ? heap->size - used : 0;
      may = min_u64(may, budget->heapBudget[h] > budget->heapUsage[h] ? budget->heapBudget[h] - budget->heapUsage[h] : 0);
      may = min_u64(may, limit_left);
      may = min_u64(may, left[pool]);
      budget->heapUsage[h] = used;
      budget->heapBudget[h] = used + may;
   }
   pthread_mutex_unlock(&usage->lock);
}

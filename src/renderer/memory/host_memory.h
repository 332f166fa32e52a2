/* SPDX-License-Identifier: MIT */
/* Device memory in host RAM: every heap of a CPU driver (lavapipe) or an
 * integrated GPU, and the heaps of other devices that are not
 * DEVICE_LOCAL. What one uid's clients hold there together is bounded
 * (memory-per-peer-mib, by default half of the RAM): each client's
 * renderer asks the server's ledger (base/ledger.h) for it in chunks, so
 * that an allocation costs a round trip to the server only now and then,
 * and tells the guest, through VK_EXT_memory_budget, no more than it may
 * still get. */
#ifndef VS_RENDERER_MEMORY_HOST_MEMORY_H
#define VS_RENDERER_MEMORY_HOST_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vs_memory_usage;
struct vs_object;
struct vs_renderer;

/* Whether `heap` of a physical device of `type` is host RAM. */
bool vs_heap_in_host_ram(VkPhysicalDeviceType type, const VkMemoryHeap *heap);

/* Under usage->lock: counts `size` more bytes in host RAM, asking the
 * ledger for more when what it granted runs out. False, having logged one
 * line naming the limit, when the ledger refuses. */
bool vs_host_memory_take(struct vs_memory_usage *usage, uint32_t ctx_id, VkDeviceSize size);
/* Under usage->lock: `size` bytes freed; gives back what the client no
 * longer needs beyond a chunk. */
void vs_host_memory_give(struct vs_memory_usage *usage, VkDeviceSize size);
/* Gives back all that was granted (the client's memory is all freed). */
void vs_host_memory_fini(struct vs_memory_usage *usage);

/* What the guest is told of the heaps of `phys_obj` (`props`, the host's):
 * a heap is no larger than the client may hold there (memory-mib, and in
 * host RAM its uid's bound); with VK_EXT_memory_budget's `budget` (NULL:
 * not asked), each heap's usage is what this client holds there and its
 * budget that plus what it may still get (within the heap, the host's
 * budget, memory-mib and its uid's bound). */
void vs_host_memory_report(struct vs_renderer *r, struct vs_object *phys_obj, VkPhysicalDeviceMemoryProperties *props,
                           VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget);

#endif

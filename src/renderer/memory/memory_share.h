/* SPDX-License-Identifier: MIT */
/* What one uid's clients hold of device memory together, in the two
 * pools the server's ledger (base/ledger.h) counts per uid: host RAM
 * (every heap of a CPU driver such as lavapipe or of an integrated GPU,
 * and other devices' heaps that are not DEVICE_LOCAL; memory-per-peer-mib,
 * by default half of the RAM) and a GPU's own memory (its DEVICE_LOCAL
 * heaps; vram-per-peer-mib, by default no bound). Each client's renderer
 * asks the ledger in chunks, so that an allocation costs a round trip to
 * the server only now and then, and tells the guest, through each heap's
 * size and VK_EXT_memory_budget, no more than it may still get. */
#ifndef VS_RENDERER_MEMORY_MEMORY_SHARE_H
#define VS_RENDERER_MEMORY_MEMORY_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "base/ledger.h"

struct vs_memory_usage;
struct vs_object;
struct vs_renderer;

/* The ledger's pool for `heap` of a physical device of `type`:
 * VS_LEDGER_HOST_MEMORY or VS_LEDGER_VRAM. */
enum vs_ledger_pool vs_heap_pool(VkPhysicalDeviceType type, const VkMemoryHeap *heap);

/* Under usage->lock: counts `size` more bytes of `pool`, asking the
 * ledger for more when what it granted runs out. False, having logged one
 * line naming the limit, when the ledger refuses. */
bool vs_memory_share_take(struct vs_memory_usage *usage, uint32_t ctx_id, enum vs_ledger_pool pool, VkDeviceSize size);
/* Under usage->lock: `size` bytes of `pool` freed; gives back what the
 * client no longer needs beyond a chunk. */
void vs_memory_share_give(struct vs_memory_usage *usage, enum vs_ledger_pool pool, VkDeviceSize size);
/* Gives back all that was granted (the client's memory is all freed). */
void vs_memory_share_fini(struct vs_memory_usage *usage);

/* What the guest is told of the heaps of `phys_obj` (`props`, the host's):
 * a heap is no larger than the client may hold there (memory-mib, and its
 * uid's bound in the heap's pool); with VK_EXT_memory_budget's `budget`
 * (NULL: not asked), each heap's usage is what this client holds there and
 * its budget that plus what it may still get (within the heap, the host's
 * budget, memory-mib and its uid's bound). */
void vs_memory_share_report(struct vs_renderer *r, struct vs_object *phys_obj, VkPhysicalDeviceMemoryProperties *props,
                            VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget);

#endif

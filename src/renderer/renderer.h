/* SPDX-License-Identifier: MIT */
/* The renderer: one context's Vulkan state on the host, and the handlers of
 * every hand-written command family (src/renderer/<family>.c, with
 * src/memory, src/caps and src/sync below them). The context layer owns
 * one per context and runs commands into it through a vs_runner; nothing
 * here calls back up. */
#ifndef VS_RENDERER_H
#define VS_RENDERER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "renderer/renderer_state.h"
#include "renderer/memory/device_memory.h"
#include "renderer/sync/retire.h"

struct vn_exec_table;
struct vs_object;
struct vs_object_table;

void vs_renderer_init(struct vs_renderer *r, uint32_t ctx_id, const struct vs_renderer_options *options,
                      struct vs_object_table *objects);
/* Destroys every host object of the context. */
void vs_renderer_fini(struct vs_renderer *r);

/* In a fresh worker process, before its tenant arrives: loads and
 * initialises the host driver and leaves a host instance in the pool the
 * tenant's vkCreateInstance takes from (worker/worker_pool.h). */
void vs_renderer_prewarm(const struct vs_renderer_options *options);
/* Once the tenant has a device of its own: the warm-up's go. */
void vs_renderer_end_warm_up(void);
/* The warm-up's device on `physical` if it was created as `host_ci` asks
 * (renderer/device_snapshot.h), now the caller's; VK_NULL_HANDLE if none. */
VkDevice vs_renderer_take_warm_device(VkPhysicalDevice physical, const VkDeviceCreateInfo *host_ci);
/* After the worker's first device: leaves its create info for the next
 * workers' warm-up (options->device_snapshots). */
void vs_renderer_remember_device(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                                 const VkDeviceCreateInfo *host_ci);

/* Registers the handler of every hand-written Vulkan command. */
void vs_renderer_register(struct vn_exec_table *t);

/* Asks for `retire(data)` once everything submitted so far on timeline
 * `ring_idx` has finished on the host (ring 0, the CPU timeline: at once).
 * False with *why set when the timeline is invalid. */
bool vs_renderer_submit_fence(struct vs_renderer *r, uint32_t ring_idx, vs_retire_fn retire, void *data,
                              const char **why);

#endif

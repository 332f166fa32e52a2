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

/* What vkCreateDevice calls, in this order, where a worker set it
 * (options->device_hook; renderer/warm_up.h has the pooled worker's): at
 * each of the context's vkCreateDevice, so that a tenant's first device
 * can be the one the worker prepared. */
struct vs_device_hook {
   /* Before the host vkCreateDevice: a host device already created as
    * `host_ci` asks on `physical`, now the caller's; VK_NULL_HANDLE: none. */
   VkDevice (*take)(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                    const VkDeviceCreateInfo *host_ci);
   /* Once the host device exists, taken or created. */
   void (*created)(const struct vs_renderer_options *options, VkPhysicalDevice physical,
                   const VkDeviceCreateInfo *host_ci);
   /* Once the guest's device is whole: the context has a device of its own. */
   void (*ready)(const struct vs_renderer_options *options);
};

/* Registers the handler of every hand-written Vulkan command. */
void vs_renderer_register(struct vn_exec_table *t);

/* Asks for `retire(data)` once everything submitted so far on timeline
 * `ring_idx` has finished on the host (ring 0, the CPU timeline: at once).
 * False with *why set when the timeline is invalid. */
bool vs_renderer_submit_fence(struct vs_renderer *r, uint32_t ring_idx, vs_retire_fn retire, void *data,
                              const char **why);

#endif

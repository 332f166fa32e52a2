/* SPDX-License-Identifier: MIT */
/* A pooled worker's warm-up (worker/worker_pool.h): before its tenant
 * arrives it loads the host driver, leaves a host instance in the pool
 * (renderer/instance_pool.h), and keeps a device on each physical device,
 * the last tenant's first device where the slot has one
 * (renderer/device_snapshot.h), until the tenant has its own. */
#ifndef VS_RENDERER_WARM_UP_H
#define VS_RENDERER_WARM_UP_H

#include <stdbool.h>

struct vs_renderer_options;

/* In a fresh worker process, before its tenant arrives. False when a
 * physical device it was made for gave no device (a GPU gone, or its
 * driver failing), or the instance lists none of them: not when the host
 * instance itself failed, which says nothing of one GPU. */
bool vs_renderer_prewarm(const struct vs_renderer_options *options);

/* What the worker sets as its tenant's options->device_hook: the tenant's
 * vkCreateDevice takes the warm-up's device when it asks for the same, its
 * first device is left in the slot for the next workers, and the warm-up's
 * devices go once the tenant has one of its own. */
extern const struct vs_device_hook vs_warm_up_device_hook;

/* Before a host instance goes: none of the warm-up's devices is left. */
void vs_warm_up_finish(void);

#endif

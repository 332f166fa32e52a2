/* SPDX-License-Identifier: MIT */
/* Where fences retire. Each host queue that has timeline work gets one
 * retire thread: it blocks in vkWaitForFences on the oldest pending host
 * fence, or in vkWaitSemaphores on the queue's serial timeline (no
 * polling; in slices of 100 ms), then calls that entry's retire callback, in submission order. Retiring is what signals vtest sync objects of a
 * SUBMIT_CMD2 batch on a queue's timeline. */
#ifndef VS_RENDERER_SYNC_RETIRE_H
#define VS_RENDERER_SYNC_RETIRE_H

#include <stdbool.h>
#include <vulkan/vulkan.h>


struct vn_device_table;
struct vs_retire_queue;

/* Called once a submission has finished on the host; may run on any
 * thread. */
typedef void (*vs_retire_fn)(void *data);

struct vs_retire_queue *vs_retire_queue_create(uint32_t ctx_id, uint32_t ring_idx,
                                               const struct vn_device_table *dt, VkDevice device);

/* Hands over `fence` (already submitted): the thread destroys it after
 * calling retire(data). False if the thread could not take it. */
bool vs_retire_queue_push(struct vs_retire_queue *q, VkFence fence, vs_retire_fn retire, void *data);

/* The same for a point on a timeline semaphore the queue signals: no
 * host fence and no extra submission. */
bool vs_retire_queue_push_value(struct vs_retire_queue *q, VkSemaphore timeline, uint64_t value, vs_retire_fn retire,
                                void *data);

/* Whether nothing is pending: a callback may then run at once without
 * overtaking an earlier one. Only meaningful to the pushing thread, under
 * the queue's lock (nothing is pushed meanwhile). */
bool vs_retire_queue_idle(struct vs_retire_queue *q);

/* The queue's work is no longer waited for (its device is lost for the
 * guest, yet the host may still run it): every entry, pending or pushed
 * later, retires at once. */
void vs_retire_queue_give_up(struct vs_retire_queue *q);

/* Retires everything still pending and stops the thread: the entry being
 * waited for is waited for until the end of its slice (100 ms), the others
 * not at all, so work that never ends (behind a semaphore nobody signals,
 * in a shader that never ends) is retired anyway. */
void vs_retire_queue_destroy(struct vs_retire_queue *q);

#endif

/* SPDX-License-Identifier: MIT */
/* --limit gpu-timeout-ms: work that a queue of a device does not finish in
 * time costs its own client the device. A thread per device looks at each
 * queue's serial timeline (renderer/sync/host_queue.h) a few times per limit: while the
 * oldest unfinished submission stays the same for longer than the limit,
 * the device is lost for the guest (VS_OBJECT_DEVICE_LOST: its waits and
 * later calls return VK_ERROR_DEVICE_LOST) with one line, and its retire
 * threads stop waiting. A submission that waits on a semaphore is not
 * timed (the guest may signal it whenever it likes), nor is anything
 * behind it until it finished. A CPU driver (lavapipe) cannot stop a
 * shader: its threads stay busy until the process ends, which is the
 * client's worker with --isolate process (vs_gpu_watchdog_abandoned). */
#ifndef VS_RENDERER_SYNC_GPU_WATCHDOG_H
#define VS_RENDERER_SYNC_GPU_WATCHDOG_H

#include <stdint.h>

struct vs_device;
struct vs_object;
struct vs_gpu_watchdog;

/* NULL if timeout_ms is 0 or the thread cannot start (then nothing is
 * timed). */
struct vs_gpu_watchdog *vs_gpu_watchdog_start(struct vs_device *dev, struct vs_object *device_obj,
                                              uint32_t timeout_ms);
void vs_gpu_watchdog_stop(struct vs_gpu_watchdog *w);

/* Devices of this process lost with work a CPU driver keeps running. */
uint32_t vs_gpu_watchdog_abandoned(void);

#endif

/* SPDX-License-Identifier: MIT */
/* Host instances and devices are created and destroyed one at a time in
 * the process, with a device's dispatch table loaded under the same lock:
 * the Vulkan loader's global vkGetDeviceProcAddr was seen to crash under
 * concurrent device creation, and NVIDIA's driver to spin when many
 * devices went at once (--isolate thread, where one process serves every
 * client; a worker process holds one tenant's).
 *
 * Submissions to host queues hold the same lock shared, so that no
 * device is created or destroyed while another device of the process is
 * inside a submission: NVIDIA's vkDestroyDevice was seen to wait forever
 * for a driver thread of its own that spun on its way out while other
 * devices' submissions sat blocked on the driver's process-wide lock,
 * wedging every tenant of the process (32 tenants rendering under
 * --isolate thread). A submission never waits for the GPU, so a create
 * or destroy waits at most for the submissions in flight; waiting for
 * one, it goes before the submissions that come after. */
#ifndef VS_RENDERER_HOST_LIFECYCLE_H
#define VS_RENDERER_HOST_LIFECYCLE_H

void vs_host_lifecycle_lock(void);
void vs_host_lifecycle_unlock(void);

/* Around a host vkQueueSubmit, vkQueueSubmit2 or vkQueueBindSparse; never
 * nested, never with the lock held exclusively. */
void vs_host_lifecycle_lock_shared(void);
void vs_host_lifecycle_unlock_shared(void);

#endif

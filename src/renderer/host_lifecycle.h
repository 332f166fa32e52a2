/* SPDX-License-Identifier: MIT */
/* Host instances and devices are created and destroyed one at a time in
 * the process, with a device's dispatch table loaded under the same lock:
 * the Vulkan loader's global vkGetDeviceProcAddr was seen to crash under
 * concurrent device creation, and NVIDIA's driver to spin when many
 * devices went at once (--isolate thread, where one process serves every
 * client; a worker process holds one tenant's). */
#ifndef VS_RENDERER_HOST_LIFECYCLE_H
#define VS_RENDERER_HOST_LIFECYCLE_H

void vs_host_lifecycle_lock(void);
void vs_host_lifecycle_unlock(void);

#endif

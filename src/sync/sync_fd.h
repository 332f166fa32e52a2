/* SPDX-License-Identifier: MIT */
/* Sync-fd semaphores for the guest's WSI: VK_KHR_external_semaphore_fd as
 * the server provides it (see renderer/caps/caps.h). No fd crosses vtest: the guest
 * waits on its sync fd itself, then asks for the host semaphore to be
 * signalled (vkImportSemaphoreResourceMESA with resource 0), and after an
 * fd export it asks for the host semaphore's signal to be consumed
 * (vkWaitSemaphoreResourceMESA). Both are empty submissions on the device's
 * first queue, so they need nothing from the host driver. Binary
 * semaphores only. */
#ifndef VS_SYNC_FD_H
#define VS_SYNC_FD_H

#include <vulkan/vulkan.h>

struct vs_device;

void vs_sync_fd_semaphore_properties(VkExternalSemaphoreHandleTypeFlagBits type,
                                     VkExternalSemaphoreProperties *out);

/* Signals a binary semaphore, as an import of an already signalled fd. */
VkResult vs_sync_fd_signal(struct vs_device *dev, VkSemaphore semaphore);

/* Consumes a binary semaphore's signal, as an fd export does. */
VkResult vs_sync_fd_consume(struct vs_device *dev, VkSemaphore semaphore);

#endif

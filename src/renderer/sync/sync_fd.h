/* SPDX-License-Identifier: MIT */
/* Sync-fd semaphores for the guest's WSI: VK_KHR_external_semaphore_fd as
 * the server provides it (see renderer/caps/caps.h). No fd crosses vtest: the guest
 * waits on its sync fd itself, then asks for the host semaphore to be
 * signalled (vkImportSemaphoreResourceMESA with resource 0), and after an
 * fd export it asks for the host semaphore's signal to be consumed
 * (vkWaitSemaphoreResourceMESA). Where the host must act, it is an empty
 * submission on the device's first queue, which needs nothing from the
 * host driver. Binary semaphores only.
 *
 * Mesa's WSI signals every frame's acquire semaphore this way, and the
 * semaphore's next use is the frame's first submission, waiting on it. An
 * empty submission per frame is not free, and where the host has a submit
 * thread (lavapipe) a later vkQueueSubmit that waits on a binary semaphore
 * blocks until that thread has taken the signalling one: the server's
 * ring would run in step with the host queue. So the import only marks
 * the semaphore (VS_OBJECT_CPU_SIGNALLED). A submission that waits on it
 * takes the mark and leaves the wait out (the host semaphore stays
 * unsignalled, as after the wait); an fd export takes it with nothing to
 * submit; a sparse bind signals it on the host first. */
#ifndef VS_RENDERER_SYNC_SYNC_FD_H
#define VS_RENDERER_SYNC_SYNC_FD_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

struct vs_device;
struct vs_object;

void vs_sync_fd_semaphore_properties(VkExternalSemaphoreHandleTypeFlagBits type,
                                     VkExternalSemaphoreProperties *out);

/* Signals a binary semaphore, as an import of an already signalled fd. */
VkResult vs_sync_fd_signal(struct vs_device *dev, VkSemaphore semaphore);

/* Consumes a binary semaphore's signal, as an fd export does. */
VkResult vs_sync_fd_consume(struct vs_device *dev, VkSemaphore semaphore);

/* A binary semaphore's pending signal: set when a host submission that
 * signals it was made, taken by the wait that consumes it. A wait with
 * neither this nor the mark below would wait forever (invalid usage,
 * VUID-vkQueueSubmit-pWaitSemaphores-03238; lavapipe blocks in
 * vkQueueSubmit itself): renderer/queue.c refuses it. */
void vs_semaphore_set_pending(struct vs_object *semaphore);
/* True if a signal was pending (it is no longer). */
bool vs_semaphore_take_pending(struct vs_object *semaphore);

/* Marks a binary semaphore signalled without a host submission (above). */
void vs_sync_fd_mark_signalled(struct vs_object *semaphore);
/* Takes the mark: true if the semaphore was marked (it is no longer). */
bool vs_sync_fd_take_mark(struct vs_object *semaphore);

#endif

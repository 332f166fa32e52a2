/* SPDX-License-Identifier: MIT */
/* Fences and semaphores as the guest's WSI uses them: the sync-fd
 * semaphore commands of VK_MESA_venus_protocol, which the server provides
 * itself (renderer/sync/sync_fd.h). */
#include "renderer/families.h"
#include "renderer/objects.h"
#include "renderer/sync/sync_fd.h"
#include "base/log.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkResetFenceResourceMESA(struct vs_runner *runner, struct vn_args_vkResetFenceResourceMESA *a)
{
   /* The host fence payload never left the server; nothing to consume. */
}

/* The host semaphore behind a guest WSI semaphore (renderer/sync/sync_fd.h):
 * binary, and of this device. */
static struct vs_device *
wsi_semaphore_device(struct vs_runner *runner, const char *cmd, struct vs_object *device_obj,
                     struct vs_object *sem_obj)
{
   if (!sem_obj || sem_obj->parent != device_obj) {
      vs_runner_fail(runner, "%s: semaphore is not of this device", cmd);
      return NULL;
   }
   if (sem_obj->flags & VS_OBJECT_TIMELINE_SEMAPHORE) {
      vs_runner_fail(runner, "%s: semaphore %llu is a timeline semaphore", cmd, (unsigned long long)sem_obj->id);
      return NULL;
   }
   return vs_device_from(device_obj);
}

static void
vs_exec_vkWaitSemaphoreResourceMESA(struct vs_runner *runner,
                                    struct vn_args_vkWaitSemaphoreResourceMESA *a)
{
   struct vs_device *dev =
      wsi_semaphore_device(runner, "vkWaitSemaphoreResourceMESA", a->device_obj, a->semaphore_obj);
   if (!dev)
      return;
   /* A marked semaphore was never signalled on the host: taking the mark
    * consumes the signal. */
   enum vs_semaphore_wait w = vs_semaphore_take_signal(runner, "vkWaitSemaphoreResourceMESA (an fd export)",
                                                        "VUID-VkSemaphoreGetFdInfoKHR-handleType-03254",
                                                        a->semaphore_obj);
   if (w != VS_WAIT_KEEP)
      return;
   VkResult r = vs_sync_fd_consume(dev, a->semaphore);
   if (r != VK_SUCCESS)
      vs_warn(runner->ctx_id, "semaphore %llu: consuming the signal failed: %s",
              (unsigned long long)a->semaphore_obj->id, vn_result_name(r));
}

static void
vs_exec_vkImportSemaphoreResourceMESA(struct vs_runner *runner,
                                      struct vn_args_vkImportSemaphoreResourceMESA *a)
{
   const VkImportSemaphoreResourceInfoMESA *info = a->pImportSemaphoreResourceInfo;
   if (!info) {
      vs_runner_fail(runner, "vkImportSemaphoreResourceMESA: no info");
      return;
   }
   /* Resource 0 is an already signalled sync fd; vtest has no others. */
   if (info->resourceId != 0) {
      vs_runner_fail(runner, "vkImportSemaphoreResourceMESA: resource %u: only resource 0 is supported",
                       info->resourceId);
      return;
   }
   struct vs_object *sem_obj = vs_runner_nested_object(runner, &info->semaphore);
   struct vs_device *dev =
      wsi_semaphore_device(runner, "vkImportSemaphoreResourceMESA", a->device_obj, sem_obj);
   if (dev)
      vs_sync_fd_mark_signalled(sem_obj);
}

void
vs_sync_register(struct vn_exec_table *t)
{
   t->vkResetFenceResourceMESA = vs_exec_vkResetFenceResourceMESA;
   t->vkWaitSemaphoreResourceMESA = vs_exec_vkWaitSemaphoreResourceMESA;
   t->vkImportSemaphoreResourceMESA = vs_exec_vkImportSemaphoreResourceMESA;
}

/* Buffers: the guest's external handle types are the server's (see
 * caps/caps.h), so they are dropped before the host sees the create info. */
#include "dispatch/families.h"
#include "caps/caps.h"
#include "venus/dispatch.h"
#include "vn_wire.h"

static void
vs_exec_vkCreateBuffer(struct vs_dispatch *disp, struct vn_args_vkCreateBuffer *a)
{
   if (!a->pCreateInfo) {
      vs_dispatch_fail(disp, "vkCreateBuffer: no create info");
      return;
   }
   vs_caps_strip_external_memory(a->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
   vn_default_vkCreateBuffer(disp, a);
}

static void
vs_exec_vkGetDeviceBufferMemoryRequirements(struct vs_dispatch *disp,
                                            struct vn_args_vkGetDeviceBufferMemoryRequirements *a)
{
   if (!a->pInfo || !a->pInfo->pCreateInfo || !a->pMemoryRequirements) {
      vs_dispatch_fail(disp, "vkGetDeviceBufferMemoryRequirements: no create info or output");
      return;
   }
   vs_caps_strip_external_memory(a->pInfo->pCreateInfo, VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO);
   vn_default_vkGetDeviceBufferMemoryRequirements(disp, a);
}

void
vs_buffer_register(struct vn_exec_table *t)
{
   t->vkCreateBuffer = vs_exec_vkCreateBuffer;
   t->vkGetDeviceBufferMemoryRequirements = vs_exec_vkGetDeviceBufferMemoryRequirements;
}

/* SPDX-License-Identifier: MIT */
/* vkCmdDrawMultiEXT and vkCmdDrawMultiIndexedEXT: the guest's `stride`
 * describes its own array, but the decoder packed the records it sent, so
 * the host must walk them at their size: with the guest's stride it would
 * read past the decoded array (and wrong records even for a valid padded
 * stride). */
#include "renderer/families.h"
#include "wire/runner.h"
#include "vn_wire.h"

static void
vs_exec_vkCmdDrawMultiEXT(struct vs_runner *runner, struct vn_args_vkCmdDrawMultiEXT *a)
{
   a->stride = sizeof(VkMultiDrawInfoEXT);
   vn_default_vkCmdDrawMultiEXT(runner, a);
}

static void
vs_exec_vkCmdDrawMultiIndexedEXT(struct vs_runner *runner, struct vn_args_vkCmdDrawMultiIndexedEXT *a)
{
   a->stride = sizeof(VkMultiDrawIndexedInfoEXT);
   vn_default_vkCmdDrawMultiIndexedEXT(runner, a);
}

void
vs_draw_multi_register(struct vn_exec_table *t)
{
   t->vkCmdDrawMultiEXT = vs_exec_vkCmdDrawMultiEXT;
   t->vkCmdDrawMultiIndexedEXT = vs_exec_vkCmdDrawMultiIndexedEXT;
}

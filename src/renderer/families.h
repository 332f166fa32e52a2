/* SPDX-License-Identifier: MIT */
/* Each hand-written family registers its handlers (the commands that
 * protocol/semantics.txt lists) into the table a context runs. */
#ifndef VS_RENDERER_FAMILIES_H
#define VS_RENDERER_FAMILIES_H

struct vn_exec_table;

void vs_instance_register(struct vn_exec_table *t);
void vs_physical_device_register(struct vn_exec_table *t);
void vs_device_register(struct vn_exec_table *t);
void vs_queue_register(struct vn_exec_table *t);
void vs_sync_register(struct vn_exec_table *t);
void vs_memory_commands_register(struct vn_exec_table *t);
void vs_pool_register(struct vn_exec_table *t);
void vs_image_register(struct vn_exec_table *t);
void vs_buffer_register(struct vn_exec_table *t);
void vs_barrier_register(struct vn_exec_table *t);
void vs_query_register(struct vn_exec_table *t);
void vs_descriptor_register(struct vn_exec_table *t);
void vs_command_buffer_register(struct vn_exec_table *t);
void vs_host_copy_register(struct vn_exec_table *t);
void vs_draw_multi_register(struct vn_exec_table *t);
void vs_ray_tracing_register(struct vn_exec_table *t);

#endif

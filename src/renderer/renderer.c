/* SPDX-License-Identifier: MIT */
/* The renderer's lifetime and its entry points for the context layer. */
#include "renderer/renderer.h"

#include <string.h>

#include "renderer/families.h"
#include "renderer/image_layout.h"
#include "renderer/objects.h"
#include "renderer/robust_access.h"
#include "vn_wire.h"

void
vs_renderer_init(struct vs_renderer *r, uint32_t ctx_id, const struct vs_renderer_options *options,
                 struct vs_object_table *objects)
{
   memset(r, 0, sizeof(*r));
   r->ctx_id = ctx_id;
   r->options = *options;
   r->objects = objects;
   if (options->submit_stats)
      vs_submit_stats_init(&r->stats, VN_CMD_TYPE_COUNT);
   pthread_mutex_init(&r->memory_lock, NULL);
   pthread_mutex_init(&r->timeline_lock, NULL);
   pthread_mutex_init(&r->layout_lock, NULL);
   vs_memory_usage_init(&r->memory_usage);
   r->memory_usage.ledger = options->ledger;
   vs_lifetime_init(r);
}

void
vs_renderer_fini(struct vs_renderer *r)
{
   vs_instance_destroy_all(r);
   vs_submit_stats_log(&r->stats, r->ctx_id, vn_command_name); /* every completion has retired */
   vs_submit_stats_fini(&r->stats);
   vs_memory_usage_fini(&r->memory_usage);
   pthread_mutex_destroy(&r->layout_lock);
   pthread_mutex_destroy(&r->timeline_lock);
   pthread_mutex_destroy(&r->memory_lock);
}

void
vs_renderer_register(struct vn_exec_table *t)
{
   vs_instance_register(t);
   vs_physical_device_register(t);
   vs_device_register(t);
   vs_queue_register(t);
   vs_sync_register(t);
   vs_memory_commands_register(t);
   vs_pool_register(t);
   vs_image_register(t);
   vs_buffer_register(t);
   vs_barrier_register(t);
   vs_query_register(t);
   vs_descriptor_register(t);
   vs_command_buffer_register(t);
   vs_image_layout_register(t);
   vs_host_copy_register(t);
   vs_draw_multi_register(t);
   vs_ray_tracing_register(t);
   vs_robust_access_register(t);
}

bool
vs_renderer_submit_fence(struct vs_renderer *r, uint32_t ring_idx, vs_retire_fn retire, void *data,
                         const char **why)
{
   if (ring_idx >= VS_MAX_TIMELINES) {
      *why = "fence on a timeline out of range";
      return false;
   }
   if (ring_idx == 0) {
      retire(data);
      return true;
   }
   pthread_mutex_lock(&r->timeline_lock);
   struct vs_object *queue = r->timeline_queue[ring_idx];
   pthread_mutex_unlock(&r->timeline_lock);
   if (!queue) {
      *why = "fence on a timeline with no queue bound";
      return false;
   }
   return vs_queue_submit_fence(r, queue, retire, data);
}

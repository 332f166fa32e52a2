/* The inside of a Venus context, shared by src/venus and src/dispatch. */
#ifndef VS_CONTEXT_STATE_H
#define VS_CONTEXT_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "dispatch/dispatch.h"
#include "venus/context.h"
#include "venus/object_table.h"
#include "venus/resource.h"

struct vs_ring;
struct vs_object;

struct vs_context {
   uint32_t id;
   char name[64];
   atomic_bool fatal;

   struct vs_object_table objects;
   struct vs_resource_table resources;
   /* Interim: the last resource id picked for a blob (see
    * vs_context_pick_resource_id) until the transport picks them. */
   _Atomic uint32_t last_resource_id;

   /* The context-side dispatcher (SUBMIT_CMD2 streams, socket thread). */
   struct vs_dispatch dispatch;

   pthread_mutex_t rings_lock;
   struct vs_ring *rings;

   /* Ring monitor: sets ALIVE on every ring periodically. */
   pthread_t monitor_thread;
   pthread_mutex_t monitor_lock;
   pthread_cond_t monitor_cond;
   bool monitor_running;
   bool monitor_stop;
   uint32_t monitor_period_us;

   /* Serializes blob export against vkFreeMemory. */
   pthread_mutex_t memory_lock;

   /* The guest's VkInstance (one per context). */
   struct vs_object *instance;

   /* Timelines: ring_idx -> VkQueue object bound by vkGetDeviceQueue2. */
   pthread_mutex_t timeline_lock;
   struct vs_object *timeline_queue[VS_MAX_TIMELINES];
};

/* Logs `reason` once and makes the context fatal: every ring stops, and
 * the transport drops the client. */
void vs_context_set_fatal(struct vs_context *ctx, const char *reason);

/* Interim: a resource id for a new blob, never 0 and not in use. */
uint32_t vs_context_pick_resource_id(struct vs_context *ctx);

struct vs_ring *vs_context_find_ring(struct vs_context *ctx, uint64_t ring_id);
void vs_context_add_ring(struct vs_context *ctx, struct vs_ring *ring);
/* Unlinks the ring; the caller destroys it. */
struct vs_ring *vs_context_remove_ring(struct vs_context *ctx, uint64_t ring_id);
/* Starts the monitor (if needed) with at most this period. */
void vs_context_monitor_rings(struct vs_context *ctx, uint32_t period_us);

#endif

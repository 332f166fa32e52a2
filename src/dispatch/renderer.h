/* The renderer: one context's Vulkan state on the host, and the handlers of
 * every hand-written command family (src/dispatch/<family>.c, with
 * src/memory, src/caps and src/sync below them). The context layer owns
 * one per context and runs commands into it through a vs_dispatch; nothing
 * here calls back up. */
#ifndef VS_RENDERER_H
#define VS_RENDERER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/device_memory.h"
#include "sync/retire.h"
#include "sync/submit_stats.h"

struct vn_exec_table;
struct vs_object;
struct vs_object_table;
struct vs_shared_registry;

/* Timelines (rings of queues) a context supports; answered to GET_PARAM. */
#define VS_MAX_TIMELINES 64

/* Whether guest LINEAR-modifier color attachments become OPTIMAL host
 * images (struct vs_device.modifier_color_optimal). */
enum vs_modifier_color {
   VS_MODIFIER_COLOR_AUTO,     /* by vendor: NVIDIA's cannot be mapped */
   VS_MODIFIER_COLOR_OPTIMAL,  /* always, even where LINEAR ones map */
   VS_MODIFIER_COLOR_LINEAR,   /* never */
};

struct vs_renderer_options {
   int device_index;                   /* host physical device to expose; -1: all */
   enum vs_memory_strategy memory;     /* how host-visible memory is shared */
   size_t page_size;                   /* granule of shared memory; 0: the system's */
   /* Host-pointer memory is shared as an fd of exactly allocationSize
    * bytes (the render server's proxy checks a blob's size and seals it),
    * never reused after an export. */
   bool exact_shm;
   /* Time each stage of a submission (sync/submit_stats.h): --submit-stats. */
   bool submit_stats;
   enum vs_modifier_color modifier_color; /* $VENUS_SERVER_MODIFIER_COLOR */
   /* Where host-pointer memory is registered for an in-process reader
    * (the display: memory/shared_registry.h); NULL: no reader, and guest
    * WSI images get no linear mirror. */
   struct vs_shared_registry *shared_registry;
   /* Test-only fault injection (vs_context_options.lose_device_client):
    * the client's Nth queue submission reports VK_ERROR_DEVICE_LOST; 0: never. */
   uint32_t lose_device_at_submit;
};

/* Resolves a resource of the context (VkImportMemoryResourceInfoMESA,
 * vkGetMemoryResourcePropertiesMESA): a new fd of its mappable memory,
 * its size in bytes, or -1 if the context has no such resource. Set by the
 * context layer; the renderer never sees the resource table. */
typedef int (*vs_resolve_resource_fn)(void *data, uint32_t res_id, uint64_t *size);

/* Where the client's rings stood at one moment: what it had written to
 * them by then has reached the host queues once each ring has executed up
 * to its mark. A consumer that learns of client work through another
 * channel (the display: a Wayland commit) marks at once and waits for the
 * marks before fencing the queues. */
#define VS_WORK_MARK_RINGS 16
struct vs_work_mark {
   uint32_t count;
   uint64_t ring_id[VS_WORK_MARK_RINGS];
   uint32_t tail[VS_WORK_MARK_RINGS];
};
/* Set by the context layer (the renderer never sees rings): `mark` records
 * every ring's tail; `reached` says whether every marked ring has executed
 * up to its mark (a ring that went away counts as reached). */
struct vs_work_hooks {
   void (*mark)(void *data, struct vs_work_mark *mark);
   bool (*reached)(void *data, const struct vs_work_mark *mark);
   void *data;
};

struct vs_renderer {
   uint32_t ctx_id;
   struct vs_renderer_options options;
   struct vs_object_table *objects;    /* the context's */

   /* Serializes blob export against vkFreeMemory. */
   pthread_mutex_t memory_lock;
   /* Device memory and memory fds the client holds (memory/device_memory.h). */
   struct vs_memory_usage memory_usage;
   /* The guest's VkInstance (one per context). */
   struct vs_object *instance;
   /* Timelines: ring_idx -> VkQueue object bound by vkGetDeviceQueue2. */
   pthread_mutex_t timeline_lock;
   struct vs_object *timeline_queue[VS_MAX_TIMELINES];
   /* Resource lookups for memory imports; NULL: imports are refused. */
   vs_resolve_resource_fn resolve_resource;
   void *resolve_data;
   /* Queue submissions so far, counted for options.lose_device_at_submit. */
   uint32_t submits;
   /* Where submissions spend their time, if options.submit_stats. */
   struct vs_submit_stats stats;
   /* The client's rings, for consumers of its memory; NULL mark: none. */
   struct vs_work_hooks work;
};

void vs_renderer_init(struct vs_renderer *r, uint32_t ctx_id, const struct vs_renderer_options *options,
                      struct vs_object_table *objects);
/* Destroys every host object of the context. */
void vs_renderer_fini(struct vs_renderer *r);

/* Registers the handler of every hand-written Vulkan command. */
void vs_renderer_register(struct vn_exec_table *t);

/* Asks for `retire(data)` once everything submitted so far on timeline
 * `ring_idx` has finished on the host (ring 0, the CPU timeline: at once).
 * False with *why set when the timeline is invalid. */
bool vs_renderer_submit_fence(struct vs_renderer *r, uint32_t ring_idx, vs_retire_fn retire, void *data,
                              const char **why);

#endif

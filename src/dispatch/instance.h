/* Instance, physical devices, devices and queues: the objects whose
 * lifetime the server manages by hand. */
#ifndef VS_DISPATCH_INSTANCE_H
#define VS_DISPATCH_INSTANCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "memory/memory.h"
#include "venus/context.h"
#include "vn_wire.h"

struct vs_context;
struct vs_object;
struct vs_retire_queue;

struct vs_instance {
   VkInstance host;
   struct vn_instance_table it;
   uint32_t api_version;
   uint32_t physical_count;          /* exposed host physical devices */
   VkPhysicalDevice *physical;
   bool physical_bound;              /* ids bound by vkEnumeratePhysicalDevices */
};

struct vs_queue_slot {
   VkDeviceQueueCreateFlags flags;
   uint32_t family;
   uint32_t index;
   VkQueue host;
   /* Vulkan wants host access to a queue serialized: rings, the retire
    * path and vkDeviceWaitIdle all take this. */
   pthread_mutex_t lock;
   struct vs_object *obj;            /* bound by vkGetDeviceQueue2 */
   uint32_t ring_idx;
   struct vs_retire_queue *retire;   /* started on first timeline fence */
};

struct vs_device {
   VkDevice host;
   struct vn_device_table dt;
   struct vs_object *physical;
   uint32_t queue_count;
   struct vs_queue_slot *queues;
   /* Host extensions the server enabled for sharing memory. */
   bool has_external_memory_host;
   bool has_external_memory_fd;
   bool has_external_memory_dma_buf;
   /* The guest enabled VK_EXT_queue_family_foreign and the host has none:
    * barriers naming the foreign family are rewritten (barrier.c). */
   bool foreign_by_server;
   /* Guest images with the LINEAR DRM modifier that are color attachments
    * are created OPTIMAL on the host (dispatch/image.c): set on NVIDIA,
    * whose driver loses the device when a LINEAR color attachment is
    * rendered together with a depth attachment. */
   bool modifier_color_optimal;
   struct vs_memory_caps mem;
   struct vs_region_cache regions;
};

bool vs_device_extension_allowed(const char *name);
struct vs_instance *vs_instance_of(struct vs_object *obj);

/* Destroys the context's instance with everything under it. */
void vs_instance_destroy_all(struct vs_context *ctx);
/* Destroys one device and every object under it. */
void vs_device_destroy(struct vs_context *ctx, struct vs_object *device_obj);

/* Waits for every queue of the device to go idle (see queue.c). */
bool vs_device_drain_queues(struct vs_context *ctx, struct vs_object *device_obj);

/* Calls retire(data) once everything submitted so far to the queue has
 * finished on the host. */
bool vs_queue_submit_fence(struct vs_context *ctx, struct vs_object *queue, vs_retire_fn retire,
                           void *data);

#endif

/* Instance, physical devices, devices and queues: the objects whose
 * lifetime the server manages by hand. */
#ifndef VS_DISPATCH_INSTANCE_H
#define VS_DISPATCH_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "venus/context.h"
#include "vn_wire.h"

struct vs_context;
struct vs_object;

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
   struct vs_object *obj;            /* bound by vkGetDeviceQueue2 */
   uint32_t ring_idx;
};

struct vs_device {
   VkDevice host;
   struct vn_device_table dt;
   struct vs_object *physical;
   uint32_t queue_count;
   struct vs_queue_slot *queues;
};

bool vs_device_extension_allowed(const char *name);
struct vs_instance *vs_instance_of(struct vs_object *obj);

/* Destroys the context's instance with everything under it. */
void vs_instance_destroy_all(struct vs_context *ctx);
/* Destroys one device and every object under it. */
void vs_device_destroy(struct vs_context *ctx, struct vs_object *device_obj);

/* Device-memory blobs (src/dispatch/memory.c). */
bool vs_memory_export_blob(struct vs_context *ctx, uint32_t flags, uint64_t size, uint64_t memory_id,
                           uint32_t *res_id, int *fd);

/* Calls retire(data) once everything submitted so far to the queue has
 * finished on the host. */
bool vs_queue_submit_fence(struct vs_context *ctx, struct vs_object *queue, vs_retire_fn retire,
                           void *data);

#endif

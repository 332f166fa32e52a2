/* SPDX-License-Identifier: MIT */
/* The state the server keeps per Vulkan object family, and checked casts
 * from a table entry to it, private to the handlers of src/dispatch. Only
 * the families that need more than a host handle have state: instances,
 * physical devices, devices, queues, device memory and images (in
 * renderer/renderer_state.h, which the rest of the renderer reaches),
 * buffers, query pools and the descriptor family (here). */
#ifndef VS_RENDERER_OBJECTS_H
#define VS_RENDERER_OBJECTS_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/renderer_state.h"
#include "renderer/validate.h"
#include "renderer/memory/device_memory.h"
#include "renderer/sync/host_queue.h"
#include "renderer/sync/retire.h"
#include "wire/object_table.h"
#include "vn_vk.h"

struct vs_runner;
struct vs_renderer;
struct vs_retire_queue;

/* A buffer's size and binding: what range checks measure against. */
struct vs_buffer {
   VkDeviceSize size;
   VkBufferUsageFlags usage;
   bool sparse;                      /* bound through vkQueueBindSparse, if at all */
   uint64_t memory_id;               /* bound VkDeviceMemory, 0 while unbound */
   VkDeviceSize memory_offset;
   /* Where the device lends driver mappings and the host-pointer import
    * declaration costs the buffer lent types (renderer/buffer.c): a second
    * host buffer without it, until the first bind or dedicated allocation
    * picks one of the two; the types only it may use; what destroys it. */
   VkBuffer undeclared;
   uint32_t undeclared_types;
   VkDevice host_device;
   const struct vn_device_table *dt;
};

/* The host buffer to use with memory of `type_index` (renderer/buffer.c):
 * where the buffer still has two, the one that type needs becomes its
 * host handle and the other is destroyed. */
VkBuffer vs_buffer_settle(struct vs_runner *runner, struct vs_object *buffer_obj, uint32_t type_index);

/* A layout a recording leaves part of an image in (renderer/image_layout.h). */
struct vs_layout_change {
   uint64_t image_id;
   VkImageSubresourceRange range;
   VkImageLayout layout;
};

/* A recording's layout changes, in the order they run. */
struct vs_layout_changes {
   struct vs_layout_change *items;
   uint32_t count, cap;
   bool lost;                        /* one could not be kept */
};

/* A command buffer's last submission (renderer/lifetime.c): until it
 * retires, resetting or freeing it waits. */
struct vs_command_buffer {
   struct vs_queue *queue;           /* NULL: none since its last reset */
   bool many_queues;                 /* submitted to more than one queue: wait for all */
   uint64_t serial;                  /* on `queue` */
   uint32_t gone_checked;            /* gone generation its holds were checked at */
   bool secondary;                   /* allocated at VK_COMMAND_BUFFER_LEVEL_SECONDARY */
   struct vs_layout_changes layouts; /* where the renderer keeps layouts */
};

/* How many queries a pool holds: query indices are checked against it. */
struct vs_query_pool {
   uint32_t count;
   uint32_t values;                  /* result values per query, availability aside */
   uint32_t value_bytes;             /* bytes per value; 0: 4, or 8 with VK_QUERY_RESULT_64_BIT */
};

/* One binding of a descriptor set layout. */
struct vs_descriptor_binding {
   uint32_t binding;
   VkDescriptorType type;
   uint32_t count;                   /* descriptors; bytes for an inline uniform block */
   bool immutable_samplers;          /* a SAMPLER binding then reads no pImageInfo */
   uint64_t first_slot;              /* its first descriptor among the set's slots */
};

/* A descriptor set layout's bindings, by ascending binding number: what
 * descriptor updates are checked against. Sets and pipeline layouts keep
 * a reference, since Vulkan lets the layout be destroyed before them. */
struct vs_descriptor_layout {
   uint32_t refs;                    /* atomic: owners die on any ring thread */
   /* The last binding's count is a maximum; each set's own is given at
    * allocation (VARIABLE_DESCRIPTOR_COUNT). */
   bool variable;
   uint32_t binding_count;
   struct vs_descriptor_binding bindings[];
};

/* What each descriptor names, two objects a slot (the view, buffer or
 * buffer view, and the sampler); the set holds each (wire/lifetime.h).
 * Inline uniform blocks have no slots. */
struct vs_descriptor_set {
   struct vs_descriptor_layout *layout;
   uint32_t variable_count;          /* the last binding's count, if layout->variable */
   uint64_t slot_count;
   struct vs_object **slots;         /* 2 * slot_count, allocated on the first write */
};

/* The set layouts, for vkCmdPushDescriptorSet and vkCmdBindDescriptorSets;
 * the push constant ranges, for vkCmdPushConstants. */
struct vs_pipeline_layout {
   uint32_t push_range_count;
   VkPushConstantRange *push_ranges;
   uint32_t set_count;
   struct vs_descriptor_layout *sets[]; /* NULL where the guest gave none */
};

VS_DEFINE_OBJECT_CAST(vs_buffer_from, VK_OBJECT_TYPE_BUFFER, struct vs_buffer)
VS_DEFINE_OBJECT_CAST(vs_query_pool_from, VK_OBJECT_TYPE_QUERY_POOL, struct vs_query_pool)
VS_DEFINE_OBJECT_CAST(vs_descriptor_layout_from, VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, struct vs_descriptor_layout)
VS_DEFINE_OBJECT_CAST(vs_descriptor_set_from, VK_OBJECT_TYPE_DESCRIPTOR_SET, struct vs_descriptor_set)
VS_DEFINE_OBJECT_CAST(vs_pipeline_layout_from, VK_OBJECT_TYPE_PIPELINE_LAYOUT, struct vs_pipeline_layout)
VS_DEFINE_OBJECT_CAST(vs_command_buffer_from, VK_OBJECT_TYPE_COMMAND_BUFFER, struct vs_command_buffer)


/* Destroys the renderer's instance with everything under it. */
void vs_instance_destroy_all(struct vs_renderer *r);
/* What the server keeps of a host physical device: read once. NULL when
 * out of memory. */
struct vs_physical_device *vs_physical_device_create(const struct vs_instance *inst, VkPhysicalDevice host);
void vs_physical_device_free(void *data);
/* Destroys one device and every object under it. */
void vs_device_destroy(struct vs_renderer *r, struct vs_object *device_obj);

/* Takes a VkDeviceMemory out of the table, under the lock that blob export
 * looks it up with, then frees it (the host memory too if free_host). */
void vs_memory_release(struct vs_renderer *r, struct vs_object *memory_obj, bool free_host);

/* The state of each set vkAllocateDescriptorSets is about to make, from
 * its layout (of this device) and variable descriptor count, which are
 * checked. NULL after failing the context, or when out of memory (then
 * *result says so). Each set is freed by vs_descriptor_set_free. */
struct vs_descriptor_set **vs_descriptor_sets_prepare(struct vs_runner *runner, struct vs_object *device_obj,
                                                      const VkDescriptorSetAllocateInfo *info, VkResult *result);
void vs_descriptor_set_free(void *set);

/* Object lifetimes on the host (renderer/lifetime.c): the release hook
 * that destroys a zombie's host object. */
void vs_lifetime_init(struct vs_renderer *r);
/* The value a submission of batches to `queue` signals on
 * queue->serial_timeline, after its batches (its lock held); 0 when the
 * queue has no serial timeline. Batches without command buffers signal it
 * too, so that a fence after them (a Mesa 26 guest's present waits on
 * one) retires on the serial rather than on a host fence. */
uint64_t vs_queue_next_serial(struct vs_queue *queue);
/* After a submission to `queue` that ran command buffers or signalled a
 * serial (its lock held): its serial (signalled by it, or by a host fence
 * after it) marks its end and each command buffer remembers it. */
void vs_queue_mark_submitted(struct vs_device *dev, struct vs_queue *queue, struct vs_object *const *cbs,
                             uint32_t count);
/* Refuses (fails the context) the submission of a command buffer that is
 * a secondary one, runs secondaries nested deeper than its device allows
 * (a secondary re-recorded after it was executed can make them deeper),
 * or holds, at any depth of what it runs, an object freed with its pool. */
bool vs_command_buffer_check_submit(struct vs_runner *runner, const char *cmd, struct vs_object *cb);
/* Waits until no submission of the command buffer is pending on the
 * host, then forgets it; false if the context is stopping first. */
bool vs_command_buffer_wait_idle(struct vs_runner *runner, struct vs_object *cb);
/* Waits for everything submitted so far with command buffers on every
 * queue of the device. */
bool vs_device_wait_submitted(struct vs_runner *runner, struct vs_object *device_obj);
/* Destroys a queue's fences and serial timeline (the queue is idle). */
void vs_queue_serials_fini(struct vs_device *dev, struct vs_queue *queue);

/* Waits for every queue of the device to go idle (see queue.c). */
bool vs_device_drain_queues(struct vs_renderer *r, struct vs_object *device_obj);

/* What becomes of a guest's wait on a semaphore (renderer/sync/sync_fd.h). */
enum vs_semaphore_wait {
   VS_WAIT_KEEP,    /* a timeline, or a binary semaphore whose pending signal it takes */
   VS_WAIT_MARKED,  /* the guest's WSI signalled it: the mark is taken, no host wait */
   VS_WAIT_REFUSED, /* nothing will ever signal it: the context failed */
};
/* A wait on `sem` (`what` waits, for the log): takes the binary
 * semaphore's signal. Where none is pending, the client's other rings are
 * given time to catch up first (a signal the guest submitted before may be
 * on one of them, the guest WSI's mark of an acquire semaphore most of
 * all), for as long as they are behind, up to a minute; still none after
 * they caught up is refused, naming `vuid`, as the host would wait forever
 * (lavapipe in vkQueueSubmit itself). Still unsure after a minute, the
 * wait is kept, with one line. */
enum vs_semaphore_wait vs_semaphore_take_signal(struct vs_runner *runner, const char *what, const char *vuid,
                                                struct vs_object *sem);

/* Calls retire(data) once everything submitted so far to the queue has
 * finished on the host. */
bool vs_queue_submit_fence(struct vs_renderer *r, struct vs_object *queue, vs_retire_fn retire, void *data);

#endif

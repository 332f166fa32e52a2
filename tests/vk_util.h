/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the Vulkan test clients (vk_compute, vk_sync,
 * vk_oom, vk_render, vk_modifier): instance/device/queue setup, check
 * reporting, memory-type choice, buffers with persistently mapped memory,
 * images with their views, layout transitions and readback, and the
 * scale.comp pipeline. */
#ifndef VK_UTIL_H
#define VK_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vkt {
   VkInstance instance;
   VkPhysicalDevice phys;
   VkPhysicalDeviceProperties props;
   VkPhysicalDeviceMemoryProperties mem_props;
   VkDevice device;
   /* queues[0] is on a compute-capable family; queues[1] is a distinct queue
    * when the device has one, else the same as queues[0]. */
   VkQueue queues[2];
   uint32_t families[2];
   bool two_queues;
   VkQueueFlags queue_flags; /* of families[0] */
   uint32_t timestamp_bits;  /* of families[0] */
   int failures;
};

/* One line per check: "ok: ..." or "error: ..." (the latter counted). */
void vkt_ok(struct vkt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vkt_error(struct vkt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ok/error line for a call's result; returns true on VK_SUCCESS. */
bool vkt_check(struct vkt *t, VkResult r, const char *what);

const char *vkt_result(VkResult r);
double vkt_now_ms(void);
void vkt_sleep_ms(unsigned ms);

/* Instance (API 1.2), first physical device, device with `want_queues`
 * (1 or 2) queues; `features` is chained into VkDeviceCreateInfo.pNext. On
 * failure prints an error line and returns false. */
bool vkt_init(struct vkt *t, uint32_t want_queues, const void *features);
/* vkt_init in two steps, for a client that chooses its device features and
 * extensions from the physical device: the instance asking for
 * `api_version`, the first physical device and its properties; then the
 * device with the `ext_count` extensions `exts` enabled. */
bool vkt_init_instance(struct vkt *t, uint32_t api_version);
bool vkt_init_device(struct vkt *t, uint32_t want_queues, const void *features, uint32_t ext_count,
                     const char *const *exts);
void vkt_fini(struct vkt *t);
/* Whether the physical device lists the device extension `name`. */
bool vkt_has_device_extension(const struct vkt *t, const char *name);

/* First memory type allowed by `type_bits` having all of `want`, or -1. */
int vkt_memory_type(const struct vkt *t, uint32_t type_bits, VkMemoryPropertyFlags want);
/* A device-local type of `type_bits` without host access where the device
 * has one, else any device-local type (lavapipe's only one); -1 if none. */
int vkt_device_local_type(const struct vkt *t, uint32_t type_bits);

struct vkt_buffer {
   VkBuffer buffer;
   VkDeviceMemory memory;
   VkDeviceSize size;
   uint32_t *map; /* persistently mapped when host visible, else NULL */
};

/* Storage buffer of `size` bytes in its own HOST_VISIBLE|HOST_COHERENT
 * allocation, mapped. `what` names the failing step in *what on error. */
VkResult vkt_buffer_create(struct vkt *t, VkDeviceSize size, struct vkt_buffer *b, const char **what);
/* The same with the given usage. */
VkResult vkt_buffer_create_usage(struct vkt *t, VkDeviceSize size, VkBufferUsageFlags usage,
                                 struct vkt_buffer *b, const char **what);
/* The same with `buffer_next` chained into the VkBufferCreateInfo and
 * `alloc_next` into the VkMemoryAllocateInfo (external memory, say). */
VkResult vkt_buffer_create_chained(struct vkt *t, VkDeviceSize size, VkBufferUsageFlags usage,
                                   const void *buffer_next, const void *alloc_next, struct vkt_buffer *b,
                                   const char **what);
void vkt_buffer_destroy(struct vkt *t, struct vkt_buffer *b);

/* A 2D optimal-tiling image in its own allocation (device-local where a
 * type allows it), with a view of its whole aspect unless its usage is
 * transfers only. */
struct vkt_image {
   VkImage image;
   VkDeviceMemory memory;
   VkImageView view; /* VK_NULL_HANDLE for a transfer-only image */
   VkFormat format;
   VkImageAspectFlags aspect; /* depth (and stencil) for depth formats, else color */
   uint32_t width, height;
};

VkResult vkt_image_create(struct vkt *t, VkFormat format, uint32_t width, uint32_t height,
                          VkSampleCountFlagBits samples, VkImageUsageFlags usage, struct vkt_image *img,
                          const char **what);
void vkt_image_destroy(struct vkt *t, struct vkt_image *img);
/* Record a layout transition of the whole image, ordered after `src_stage`
 * / `src_access` and before `dst_stage` / `dst_access`. */
void vkt_image_barrier(VkCommandBuffer cmd, const struct vkt_image *img, VkImageLayout from, VkImageLayout to,
                       VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                       VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);
/* Record a copy of the whole color or depth-only image, in
 * TRANSFER_SRC_OPTIMAL, into `buffer` at `offset`, rows tightly packed. */
void vkt_image_to_buffer(VkCommandBuffer cmd, const struct vkt_image *img, VkBuffer buffer, VkDeviceSize offset);

/* Submit `cmd` alone on queues[0] with `fence` (reset first) and wait for
 * it, bounded so that a lost submission reports VK_TIMEOUT. */
VkResult vkt_submit_wait(struct vkt *t, VkCommandBuffer cmd, VkFence fence, const char **what);

/* The scale.comp pipeline: dst[i] = src[i] * mul + add + i. */
struct vkt_scale {
   VkDescriptorSetLayout set_layout;
   VkPipelineLayout layout;
   VkShaderModule module;
   VkPipeline pipeline;
   VkDescriptorPool pool;
   VkDescriptorSet set;
   VkCommandPool cmd_pool;
   VkCommandBuffer cmd;
   VkFence fence;
};

VkResult vkt_scale_init(struct vkt *t, struct vkt_scale *s, const char **what);
/* The same layout with spin.comp, a shader that never ends. */
/* The scale pipeline with `pipeline_next` and `stage_next` chained to its
 * create info and its stage's. */
VkResult vkt_scale_init_chained(struct vkt *t, struct vkt_scale *s, const void *pipeline_next,
                                const void *stage_next, const char **what);
VkResult vkt_spin_init(struct vkt *t, struct vkt_scale *s, const char **what);
/* The same layout with peek.comp: dst[i] = word i at the device address
 * in src's first 8 bytes (the device needs bufferDeviceAddress). */
VkResult vkt_peek_init(struct vkt *t, struct vkt_scale *s, const char **what);
void vkt_scale_fini(struct vkt *t, struct vkt_scale *s);
/* Bind src/dst, record the dispatch over `count` words (with a barrier making
 * the shader's writes visible to the host), submit on queues[0] with the
 * fence and wait for it. */
VkResult vkt_scale_run(struct vkt *t, struct vkt_scale *s, const struct vkt_buffer *src,
                       const struct vkt_buffer *dst, uint32_t count, uint32_t mul, uint32_t add,
                       const char **what);

static inline uint32_t
vkt_scale_expect(uint32_t src, uint32_t i, uint32_t mul, uint32_t add)
{
   return src * mul + add + i;
}

#endif

/* Small helpers shared by the Vulkan test clients (vk_compute, vk_sync,
 * vk_oom): instance/device/queue setup, check reporting, memory-type choice,
 * buffers with persistently mapped memory, and the scale.comp pipeline. */
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
   uint32_t timestamp_bits; /* of families[0] */
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
void vkt_fini(struct vkt *t);

/* First memory type allowed by `type_bits` having all of `want`, or -1. */
int vkt_memory_type(const struct vkt *t, uint32_t type_bits, VkMemoryPropertyFlags want);

struct vkt_buffer {
   VkBuffer buffer;
   VkDeviceMemory memory;
   VkDeviceSize size;
   uint32_t *map; /* persistently mapped when host visible, else NULL */
};

/* Storage buffer of `size` bytes in its own HOST_VISIBLE|HOST_COHERENT
 * allocation, mapped. `what` names the failing step in *what on error. */
VkResult vkt_buffer_create(struct vkt *t, VkDeviceSize size, struct vkt_buffer *b, const char **what);
void vkt_buffer_destroy(struct vkt *t, struct vkt_buffer *b);

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

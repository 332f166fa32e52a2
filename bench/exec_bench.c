/* SPDX-License-Identifier: MIT */
/* Execution benchmark client: a plain Vulkan program that bench/run.sh runs
 * natively, through venus-server and through virglrenderer to compare the
 * cost of execution paths.
 *
 * Usage: exec_bench [--quick] WORKLOAD...   (--quick: fewer iterations)
 *
 * Each workload prints one "figure value" line per sample (one timed
 * iteration, batch or pass), never a summary: bench/run.sh pools the samples
 * of every run and takes the median and the 99th percentile, which a single
 * run's mean would hide (on a small shared host a few preempted iterations
 * moved a mean by up to a fifth). Lines starting with '#' give context.
 * Workloads run in one process one after the other; run.sh starts one
 * process per workload so that a server dropping the client for one of them
 * (virglrenderer cannot map memory on lavapipe) costs only that one. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "scale.comp.h"

#define CHECK(call)                                                                          \
   do {                                                                                      \
      VkResult r_ = (call);                                                                  \
      if (r_ != VK_SUCCESS)                                                                  \
         die("line %d: %s failed: %d", __LINE__, #call, (int)r_);                           \
   } while (0)

/* A fence that takes this long means the run is broken, not slow. */
#define FENCE_TIMEOUT_NS (20ull * 1000 * 1000 * 1000)
#define MIB (1024ull * 1024)

static struct {
   VkInstance instance;
   VkPhysicalDevice phys;
   VkDevice device;
   VkQueue queue;
   uint32_t family;
   uint32_t host_type; /* first HOST_VISIBLE|HOST_COHERENT type for storage buffers */
   int quick;
} g;

static void
die(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("exec_bench: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   exit(1);
}

static double
now_us(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Prints `figure` once per step(arg) timed, in us, after `warm` untimed steps. */
static void
sample_steps(const char *figure, unsigned warm, unsigned n, void (*step)(void *), void *arg)
{
   for (unsigned i = 0; i < warm + n; i++) {
      double t0 = now_us();
      step(arg);
      double t1 = now_us();
      if (i >= warm)
         printf("%s %.3f\n", figure, t1 - t0);
   }
}

static void
init(void)
{
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "exec_bench", .apiVersion = VK_API_VERSION_1_1,
   };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
   CHECK(vkCreateInstance(&ici, NULL, &g.instance));
   uint32_t count = 1;
   VkResult r = vkEnumeratePhysicalDevices(g.instance, &count, &g.phys);
   if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0)
      die("no physical device");

   VkPhysicalDeviceProperties props;
   vkGetPhysicalDeviceProperties(g.phys, &props);
   printf("# device %s\n", props.deviceName);

   VkQueueFamilyProperties families[16];
   uint32_t nfam = 16;
   vkGetPhysicalDeviceQueueFamilyProperties(g.phys, &nfam, families);
   while (g.family < nfam && !(families[g.family].queueFlags & VK_QUEUE_COMPUTE_BIT))
      g.family++;
   if (g.family == nfam)
      die("no compute queue family");

   const float prio = 1.0f;
   const VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = g.family, .queueCount = 1, .pQueuePriorities = &prio,
   };
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
   };
   CHECK(vkCreateDevice(g.phys, &dci, NULL, &g.device));
   vkGetDeviceQueue(g.device, g.family, 0, &g.queue);
}

static VkBuffer
create_buffer(VkDeviceSize size, VkMemoryRequirements *req)
{
   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkBuffer buf;
   CHECK(vkCreateBuffer(g.device, &bci, NULL, &buf));
   vkGetBufferMemoryRequirements(g.device, buf, req);
   return buf;
}

/* Picks the memory type every figure uses, from a storage buffer's
 * requirements, so that alloc_map_free measures the memory the others use. */
static void
pick_host_type(void)
{
   VkPhysicalDeviceMemoryProperties mem;
   vkGetPhysicalDeviceMemoryProperties(g.phys, &mem);
   VkMemoryRequirements req;
   VkBuffer probe = create_buffer(MIB, &req);
   vkDestroyBuffer(g.device, probe, NULL);
   const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   while (g.host_type < mem.memoryTypeCount &&
          (!(req.memoryTypeBits & (1u << g.host_type)) || (mem.memoryTypes[g.host_type].propertyFlags & want) != want))
      g.host_type++;
   if (g.host_type == mem.memoryTypeCount)
      die("no host-visible coherent memory type for storage buffers");
   printf("# memory_type %u flags 0x%x\n", g.host_type, (unsigned)mem.memoryTypes[g.host_type].propertyFlags);
}

struct mapped_buffer {
   VkBuffer buf;
   VkDeviceMemory mem;
   void *ptr;
};

static struct mapped_buffer
mapped_buffer(VkDeviceSize size)
{
   struct mapped_buffer b;
   VkMemoryRequirements req;
   b.buf = create_buffer(size, &req);
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = g.host_type,
   };
   CHECK(vkAllocateMemory(g.device, &ai, NULL, &b.mem));
   CHECK(vkBindBufferMemory(g.device, b.buf, b.mem, 0));
   CHECK(vkMapMemory(g.device, b.mem, 0, VK_WHOLE_SIZE, 0, &b.ptr));
   return b;
}

static void
free_mapped_buffer(struct mapped_buffer *b)
{
   vkDestroyBuffer(g.device, b->buf, NULL);
   vkFreeMemory(g.device, b->mem, NULL); /* unmaps implicitly */
}

static VkFence
create_fence(void)
{
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence fence;
   CHECK(vkCreateFence(g.device, &fci, NULL, &fence));
   return fence;
}

/* Number of timed samples: --quick divides it by ten. Warm-up counts stay
 * whole: through a server the first hundred or so round trips can be many
 * times slower than the steady state, which a short run would report. */
static unsigned
iters(unsigned n)
{
   return g.quick ? (n + 9) / 10 : n;
}

static void
submit_step(void *arg)
{
   VkFence *fence = arg;
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   CHECK(vkQueueSubmit(g.queue, 1, &si, *fence));
   CHECK(vkWaitForFences(g.device, 1, fence, VK_TRUE, FENCE_TIMEOUT_NS));
   CHECK(vkResetFences(g.device, 1, fence));
}

/* An empty submit and the wait for its fence: the latency floor of any GPU
 * work through the transport. */
static void
bench_submit(void)
{
   VkFence fence = create_fence();
   sample_steps("submit_roundtrip_us", 200, iters(2000), submit_step, &fence);
   vkDestroyFence(g.device, fence, NULL);
}

/* One command buffer re-recorded for each step, and its fence. */
struct record_submit {
   VkCommandPool pool;
   VkCommandBuffer cmd;
   VkBuffer buf;
   VkFence fence;
};

static void
record_submit_init(struct record_submit *rs)
{
   const VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = g.family,
   };
   CHECK(vkCreateCommandPool(g.device, &pci, NULL, &rs->pool));
   const VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = rs->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
   };
   CHECK(vkAllocateCommandBuffers(g.device, &cai, &rs->cmd));
   rs->fence = create_fence();
}

static void
record_submit_fini(struct record_submit *rs)
{
   vkDestroyCommandPool(g.device, rs->pool, NULL);
   vkDestroyFence(g.device, rs->fence, NULL);
}

static void
record_begin(struct record_submit *rs)
{
   const VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   CHECK(vkBeginCommandBuffer(rs->cmd, &bi));
}

/* Ends the recording, submits it and waits for it. */
static void
record_end_submit_wait(struct record_submit *rs)
{
   CHECK(vkEndCommandBuffer(rs->cmd));
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                             .pCommandBuffers = &rs->cmd };
   CHECK(vkQueueSubmit(g.queue, 1, &si, rs->fence));
   CHECK(vkWaitForFences(g.device, 1, &rs->fence, VK_TRUE, FENCE_TIMEOUT_NS));
   CHECK(vkResetFences(g.device, 1, &rs->fence));
}

static void
record_submit_step(void *arg)
{
   struct record_submit *rs = arg;
   record_begin(rs);
   vkCmdFillBuffer(rs->cmd, rs->buf, 0, 4096, 0x2a2a2a2au);
   record_end_submit_wait(rs);
}

/* Many small commands a recording (llama.cpp records ~1600 per generated
 * token: barriers, descriptor binds, dispatches): what each costs on the
 * way, decoded and checked one by one on the server's side. */
#define RECORD_MANY_COMMANDS 1600

static void
record_many_step(void *arg)
{
   struct record_submit *rs = arg;
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT,
   };
   record_begin(rs);
   for (uint32_t i = 0; i < RECORD_MANY_COMMANDS; i++)
      vkCmdPipelineBarrier(rs->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                           &barrier, 0, NULL, 0, NULL);
   record_end_submit_wait(rs);
}

/* A command buffer re-recorded (one small fill), submitted and waited for
 * each time: the per-frame path, with what the server does for command
 * buffers (their objects held, their submission tracked). */
static void
bench_record_submit(void)
{
   struct mapped_buffer b = mapped_buffer(4096);
   struct record_submit rs = { .buf = b.buf };
   record_submit_init(&rs);
   sample_steps("record_submit_us", 200, iters(2000), record_submit_step, &rs);
   record_submit_fini(&rs);
   free_mapped_buffer(&b);
}

static void
bench_record_many(void)
{
   struct record_submit rs = { 0 };
   record_submit_init(&rs);
   printf("# %u vkCmdPipelineBarrier a recording\n", RECORD_MANY_COMMANDS);
   sample_steps("record_many_us", 20, iters(300), record_many_step, &rs);
   record_submit_fini(&rs);
}

static void
submit_spin_step(void *arg)
{
   VkFence *fence = arg;
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   CHECK(vkQueueSubmit(g.queue, 1, &si, *fence));
   VkResult r;
   while ((r = vkGetFenceStatus(g.device, *fence)) == VK_NOT_READY)
      ;
   CHECK(r);
   CHECK(vkResetFences(g.device, 1, fence));
}

/* The same round trip, but the client spins on vkGetFenceStatus instead of
 * vkWaitForFences: through Venus that reads the fence's feedback slot with
 * no sleep, so this is the transport's own latency (the ring picking the
 * submit up, the host submit, the GPU writing the feedback), without the
 * client's wait policy (Mesa yields, then sleeps at least 160 us). */
static void
bench_submit_spin(void)
{
   VkFence fence = create_fence();
   sample_steps("submit_spin_us", 200, iters(2000), submit_spin_step, &fence);
   vkDestroyFence(g.device, fence, NULL);
}

static void
fence_status_step(void *arg)
{
   if (vkGetFenceStatus(g.device, *(VkFence *)arg) != VK_SUCCESS)
      die("a signalled fence does not read as signalled");
}

/* vkGetFenceStatus of a signalled fence: what a frame loop polling for its
 * previous frame pays. Mesa's Venus driver answers it from shared memory when
 * fence feedback is on, with a server round trip otherwise. */
static void
bench_fence_status(void)
{
   VkFence fence = create_fence();
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   CHECK(vkQueueSubmit(g.queue, 1, &si, fence));
   CHECK(vkWaitForFences(g.device, 1, &fence, VK_TRUE, FENCE_TIMEOUT_NS));
   sample_steps("fence_status_us", 500, iters(5000), fence_status_step, &fence);
   vkDestroyFence(g.device, fence, NULL);
}

struct layout_arg {
   VkImage image;
   VkDeviceSize pitch;
};

/* Through Venus, vkGetImageSubresourceLayout of a linear image is a
 * synchronous call answered by the server: a pure protocol round trip. */
static void
layout_step(void *arg)
{
   struct layout_arg *a = arg;
   const VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
   VkSubresourceLayout layout;
   vkGetImageSubresourceLayout(g.device, a->image, &sub, &layout);
   a->pitch |= layout.rowPitch;
}

static void
bench_sync_call(void)
{
   const VkImageCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D,
      .format = VK_FORMAT_R8G8B8A8_UNORM, .extent = { 64, 64, 1 }, .mipLevels = 1, .arrayLayers = 1,
      .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_LINEAR,
      .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   struct layout_arg la = { 0 };
   CHECK(vkCreateImage(g.device, &ici, NULL, &la.image));
   sample_steps("sync_call_us", 500, iters(5000), layout_step, &la);
   if (la.pitch < 64 * 4)
      die("vkGetImageSubresourceLayout returned a row pitch below the image width");
   vkDestroyImage(g.device, la.image, NULL);
}

/* Submissions per batch of the throughput figure: enough that the final
 * fence wait is a small part of a batch. */
#define RATE_BATCH 250

/* Many tiny submits back to back, a fence on the last of each batch: how
 * many submissions per second the transport sustains when nothing waits. */
static void
bench_submit_rate(void)
{
   VkFence fence = create_fence();
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   for (unsigned b = 0; b < 2 + iters(20); b++) {
      double t0 = now_us();
      for (unsigned i = 1; i < RATE_BATCH; i++)
         CHECK(vkQueueSubmit(g.queue, 1, &si, VK_NULL_HANDLE));
      submit_step(&fence);
      double t1 = now_us();
      if (b >= 2)
         printf("submit_rate_kps %.2f\n", RATE_BATCH / (t1 - t0) * 1e3);
   }
   vkDestroyFence(g.device, fence, NULL);
}

/* 1 MiB of the host-visible type every other figure uses, mapped or not,
 * freed at once. */
static void
alloc_free(int map)
{
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = MIB, .memoryTypeIndex = g.host_type,
   };
   VkDeviceMemory mem;
   CHECK(vkAllocateMemory(g.device, &ai, NULL, &mem));
   if (map) {
      void *ptr;
      CHECK(vkMapMemory(g.device, mem, 0, VK_WHOLE_SIZE, 0, &ptr));
   }
   vkFreeMemory(g.device, mem, NULL);
}

static void
alloc_free_step(void *arg)
{
   alloc_free(0);
}

/* Through Venus the map is where shared memory is set up, so this is the
 * cost of memory a client can touch. */
static void
alloc_map_free_step(void *arg)
{
   alloc_free(1);
}

static void
bench_alloc_free(void)
{
   sample_steps("alloc_free_us", 100, iters(2000), alloc_free_step, NULL);
}

static void
bench_alloc_map_free(void)
{
   sample_steps("alloc_map_free_us", 100, iters(2000), alloc_map_free_step, NULL);
}

/* Four independent sums so the loop is bound by memory, not by one add chain. */
static uint64_t
sum_words(const uint64_t *w, size_t n)
{
   uint64_t a = 0, b = 0, c = 0, d = 0;
   for (size_t i = 0; i < n; i += 4) {
      a += w[i];
      b += w[i + 1];
      c += w[i + 2];
      d += w[i + 3];
   }
   return a + b + c + d;
}

/* Host writes and reads of a mapped 256 MiB buffer, one sample of each per
 * pass. GB/s is 1e9 bytes/s. */
static void
bench_bandwidth(void)
{
   const size_t size = 256 * MIB, words = size / 8;
   const unsigned passes = iters(10);
   struct mapped_buffer b = mapped_buffer(size);
   /* Untimed pass: the first touch of each page faults it in. */
   memset(b.ptr, 0xff, size);
   for (unsigned p = 0; p < passes; p++) {
      const uint8_t v = (uint8_t)(p + 1);
      double t0 = now_us();
      memset(b.ptr, v, size);
      double t1 = now_us();
      uint64_t sum = sum_words(b.ptr, words);
      double t2 = now_us();
      /* Checking the sum both uses it and proves the write landed. */
      if (sum != (uint64_t)words * (0x0101010101010101ull * v))
         die("read-back sum does not match what was written");
      printf("write_gbps %.2f\n", (double)size / ((t1 - t0) * 1e3));
      printf("read_gbps %.2f\n", (double)size / ((t2 - t1) * 1e3));
   }
   free_mapped_buffer(&b);
}

/* scale.comp's pipeline with one set: binding 0 read, binding 1 written;
 * push constants { count, mul, add }. */
struct scale_pipeline {
   VkShaderModule module;
   VkDescriptorSetLayout dsl;
   VkPipelineLayout layout;
   VkPipeline pipe;
   VkDescriptorPool dpool;
   VkDescriptorSet set;
};

static struct scale_pipeline
scale_pipeline(VkBuffer src, VkBuffer dst)
{
   struct scale_pipeline sp;
   const VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = sizeof(scale_comp_spv), .pCode = scale_comp_spv,
   };
   CHECK(vkCreateShaderModule(g.device, &smci, NULL, &sp.module));
   const VkDescriptorSetLayoutBinding bindings[2] = {
      { 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
      { 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings,
   };
   CHECK(vkCreateDescriptorSetLayout(g.device, &dslci, NULL, &sp.dsl));
   const VkPushConstantRange range = { VK_SHADER_STAGE_COMPUTE_BIT, 0, 3 * sizeof(uint32_t) };
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &sp.dsl,
      .pushConstantRangeCount = 1, .pPushConstantRanges = &range,
   };
   CHECK(vkCreatePipelineLayout(g.device, &plci, NULL, &sp.layout));
   const VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                 .module = sp.module, .pName = "main" },
      .layout = sp.layout,
   };
   CHECK(vkCreateComputePipelines(g.device, VK_NULL_HANDLE, 1, &cpci, NULL, &sp.pipe));

   const VkDescriptorPoolSize pool_size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1,
      .poolSizeCount = 1, .pPoolSizes = &pool_size,
   };
   CHECK(vkCreateDescriptorPool(g.device, &dpci, NULL, &sp.dpool));
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = sp.dpool, .descriptorSetCount = 1,
      .pSetLayouts = &sp.dsl,
   };
   CHECK(vkAllocateDescriptorSets(g.device, &dsai, &sp.set));
   const VkDescriptorBufferInfo infos[2] = { { src, 0, VK_WHOLE_SIZE }, { dst, 0, VK_WHOLE_SIZE } };
   const VkWriteDescriptorSet write = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = sp.set, .dstBinding = 0, .descriptorCount = 2,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = infos,
   };
   vkUpdateDescriptorSets(g.device, 1, &write, 0, NULL);
   return sp;
}

static void
scale_pipeline_destroy(struct scale_pipeline *sp)
{
   vkDestroyDescriptorPool(g.device, sp->dpool, NULL);
   vkDestroyPipeline(g.device, sp->pipe, NULL);
   vkDestroyPipelineLayout(g.device, sp->layout, NULL);
   vkDestroyDescriptorSetLayout(g.device, sp->dsl, NULL);
   vkDestroyShaderModule(g.device, sp->module, NULL);
}

/* A 64 MiB compute pass (submit to fence signalled), one sample per pass
 * after a warm-up, in GB/s of buffer data through the shader (64 MiB read,
 * 64 MiB written): a rate, so that like every other rate higher is better.
 * Each pass uses a different `add`, and a sample of every pass's output is
 * checked, so a pass that did not run cannot pass for a fast one. */
static void
bench_compute(void)
{
   const size_t size = 64 * MIB;
   const uint32_t count = (uint32_t)(size / 4), mul = 3;
   const unsigned warm = g.quick ? 1 : 2, n = g.quick ? 3 : 15;
   struct mapped_buffer src = mapped_buffer(size), dst = mapped_buffer(size);
   uint32_t *s = src.ptr;
   const uint32_t *d = dst.ptr;
   for (uint32_t i = 0; i < count; i++)
      s[i] = i * 2654435761u;
   memset(dst.ptr, 0, size);

   struct scale_pipeline sp = scale_pipeline(src.buf, dst.buf);

   const VkCommandPoolCreateInfo cpoolci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = g.family,
   };
   VkCommandPool cpool;
   CHECK(vkCreateCommandPool(g.device, &cpoolci, NULL, &cpool));
   const VkCommandBufferAllocateInfo cbai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cpool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   VkCommandBuffer cmd;
   CHECK(vkAllocateCommandBuffers(g.device, &cbai, &cmd));
   VkFence fence = create_fence();

   unsigned checked = 0;
   const VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
   };
   /* Shader writes must be made visible to the host reads that check them. */
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   /* 2D grid: more than 65535 groups of 256 are needed (see scale.comp). */
   const uint32_t groups = (count + 255) / 256, gx = groups < 32768 ? groups : 32768;
   for (unsigned p = 0; p < warm + n; p++) {
      const uint32_t add = 1000 + p, pc[3] = { count, mul, add };
      CHECK(vkBeginCommandBuffer(cmd, &begin));
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, sp.pipe);
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, sp.layout, 0, 1, &sp.set, 0, NULL);
      vkCmdPushConstants(cmd, sp.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
      vkCmdDispatch(cmd, gx, (groups + gx - 1) / gx, 1);
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier,
                           0, NULL, 0, NULL);
      CHECK(vkEndCommandBuffer(cmd));
      const VkSubmitInfo si = {
         .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd,
      };
      double t0 = now_us();
      CHECK(vkQueueSubmit(g.queue, 1, &si, fence));
      CHECK(vkWaitForFences(g.device, 1, &fence, VK_TRUE, FENCE_TIMEOUT_NS));
      double t1 = now_us();
      CHECK(vkResetFences(g.device, 1, &fence));
      if (p >= warm)
         printf("compute_gbps %.3f\n", 2.0 * (double)size / ((t1 - t0) * 1e3));
      /* A prime stride spreads the samples over the whole buffer (one per
       * 16 KiB); the last word checks that the 2D grid reaches the end. */
      for (uint32_t k = 0; k <= count / 4093; k++, checked++) {
         const uint32_t i = k < count / 4093 ? k * 4093 : count - 1;
         if (d[i] != s[i] * mul + add + i)
            die("compute pass %u: dst[%u] = %u, want %u", p, i, d[i], s[i] * mul + add + i);
      }
   }
   printf("# compute checked %u sampled words over %u passes\n", checked, warm + n);

   vkDestroyFence(g.device, fence, NULL);
   vkDestroyCommandPool(g.device, cpool, NULL);
   scale_pipeline_destroy(&sp);
   free_mapped_buffer(&src);
   free_mapped_buffer(&dst);
}

/* llama.cpp's shape of a recording (bench/llama.sh): per dispatch a
 * descriptor bind, push constants, a one-group dispatch and a barrier,
 * RECORD_MANY_COMMANDS commands in all; submitted and waited for. What
 * the server adds per command for the binds and dispatches it checks
 * (their sets, layouts and pipeline), beside record-many's barriers. */
struct record_dispatch {
   struct record_submit rs;
   struct scale_pipeline sp;
};

static void
record_dispatch_step(void *arg)
{
   struct record_dispatch *rd = arg;
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT,
   };
   const VkMemoryBarrier to_host = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   VkCommandBuffer cmd = rd->rs.cmd;
   record_begin(&rd->rs);
   vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, rd->sp.pipe);
   for (uint32_t i = 0; i < RECORD_MANY_COMMANDS / 4; i++) {
      const uint32_t pc[3] = { 64, 3, i };
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, rd->sp.layout, 0, 1, &rd->sp.set, 0, NULL);
      vkCmdPushConstants(cmd, rd->sp.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
      vkCmdDispatch(cmd, 1, 1, 1);
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                           &barrier, 0, NULL, 0, NULL);
   }
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0,
                        NULL, 0, NULL);
   record_end_submit_wait(&rd->rs);
}

static void
bench_record_dispatch(void)
{
   struct mapped_buffer src = mapped_buffer(4096), dst = mapped_buffer(4096);
   memset(src.ptr, 0, 4096);
   struct record_dispatch rd = { .sp = scale_pipeline(src.buf, dst.buf) };
   record_submit_init(&rd.rs);
   printf("# %u commands a recording: bind set, push constants, dispatch, barrier\n", RECORD_MANY_COMMANDS);
   sample_steps("record_dispatch_us", 20, iters(300), record_dispatch_step, &rd);
   /* Every dispatch ran: the last one's add (i) is in dst. */
   const uint32_t *d = dst.ptr;
   if (d[63] != RECORD_MANY_COMMANDS / 4 - 1 + 63)
      die("record-dispatch: dst[63] = %u, want %u", d[63], RECORD_MANY_COMMANDS / 4 - 1 + 63);
   record_submit_fini(&rd.rs);
   scale_pipeline_destroy(&rd.sp);
   free_mapped_buffer(&src);
   free_mapped_buffer(&dst);
}

/* Guest threads that record and submit at once (each its own pool and
 * command buffer; the queue, externally synchronised, behind a mutex): the
 * same work on 1 and on 2 threads. Where the server runs a client's
 * threads in parallel, 2 threads take about the time 1 takes for its
 * share; where it serialised them, twice that. */
#define RECORD_THREADS_STEPS 40

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
record_thread_main(void *arg)
{
   struct record_submit *rs = arg;
   const VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT,
   };
   for (unsigned step = 0; step < RECORD_THREADS_STEPS; step++) {
      record_begin(rs);
      for (uint32_t i = 0; i < RECORD_MANY_COMMANDS; i++)
         vkCmdPipelineBarrier(rs->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                              1, &barrier, 0, NULL, 0, NULL);
      CHECK(vkEndCommandBuffer(rs->cmd));
      const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                .pCommandBuffers = &rs->cmd };
      pthread_mutex_lock(&queue_lock);
      VkResult r = vkQueueSubmit(g.queue, 1, &si, rs->fence);
      pthread_mutex_unlock(&queue_lock);
      CHECK(r);
      CHECK(vkWaitForFences(g.device, 1, &rs->fence, VK_TRUE, FENCE_TIMEOUT_NS));
      CHECK(vkResetFences(g.device, 1, &rs->fence));
   }
   return NULL;
}

/* us for `threads` threads to each run RECORD_THREADS_STEPS recordings. */
static double
record_threads_run(unsigned threads)
{
   struct record_submit rs[2] = { 0 };
   pthread_t tid[2];
   for (unsigned t = 0; t < threads; t++)
      record_submit_init(&rs[t]);
   double t0 = now_us();
   for (unsigned t = 0; t < threads; t++)
      if (pthread_create(&tid[t], NULL, record_thread_main, &rs[t]) != 0)
         die("record-threads: pthread_create failed");
   for (unsigned t = 0; t < threads; t++)
      pthread_join(tid[t], NULL);
   double us = now_us() - t0;
   for (unsigned t = 0; t < threads; t++)
      record_submit_fini(&rs[t]);
   return us;
}

static void
bench_record_threads(void)
{
   printf("# %u recordings of %u vkCmdPipelineBarrier on each of 1 and 2 threads; "
          "record_threads_2_per_1: 2 threads' time over 1's (1.0: in parallel, 2.0: one after the other)\n",
          RECORD_THREADS_STEPS, RECORD_MANY_COMMANDS);
   record_threads_run(2);
   for (unsigned i = 0; i < iters(10); i++) {
      double one = record_threads_run(1), two = record_threads_run(2);
      printf("record_threads_1_us %.3f\nrecord_threads_2_us %.3f\nrecord_threads_2_per_1 %.3f\n", one, two, two / one);
   }
}

/* Creates the device, says so, and sleeps until killed: the client whose
 * cost to an idle server bench/run.sh measures. */
static void
bench_idle(void)
{
   printf("# idle: device created\n");
   for (;;)
      pause();
}

static const struct workload {
   const char *name;
   void (*run)(void);
} workloads[] = {
   { "submit", bench_submit },
   { "submit-spin", bench_submit_spin },
   { "record-submit", bench_record_submit },
   { "record-many", bench_record_many },
   { "record-dispatch", bench_record_dispatch },
   { "record-threads", bench_record_threads },
   { "fence-status", bench_fence_status },
   { "sync-call", bench_sync_call },
   { "submit-rate", bench_submit_rate },
   { "alloc-free", bench_alloc_free },
   { "alloc-map-free", bench_alloc_map_free },
   { "bandwidth", bench_bandwidth },
   { "compute", bench_compute },
   { "idle", bench_idle },
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static const struct workload *
find_workload(const char *name)
{
   for (size_t i = 0; i < N_WORKLOADS; i++)
      if (strcmp(workloads[i].name, name) == 0)
         return &workloads[i];
   return NULL;
}

static int
usage(void)
{
   fprintf(stderr, "usage: exec_bench [--quick] WORKLOAD...\nworkloads:");
   for (size_t i = 0; i < N_WORKLOADS; i++)
      fprintf(stderr, " %s", workloads[i].name);
   fputc('\n', stderr);
   return 2;
}

int
main(int argc, char **argv)
{
   int first = 1;
   if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
      g.quick = 1;
      first = 2;
   }
   if (first >= argc)
      return usage();
   /* Check every name before the slow device set-up. */
   for (int i = first; i < argc; i++)
      if (!find_workload(argv[i]))
         return usage();
   /* bench/run.sh sends samples to a file; line buffering keeps the ones
    * already measured if a later step hangs and is killed. */
   setvbuf(stdout, NULL, _IOLBF, 0);
   init();
   pick_host_type();
   for (int i = first; i < argc; i++)
      find_workload(argv[i])->run();
   vkDestroyDevice(g.device, NULL);
   vkDestroyInstance(g.instance, NULL);
   return 0;
}

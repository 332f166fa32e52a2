/* Execution benchmark client: a plain Vulkan program that bench/exec.sh runs
 * natively and through venus-server to compare the cost of execution paths.
 * Prints one "name value" line per figure (machine-readable); lines starting
 * with '#' give context. Per-call figures are medians of per-iteration times,
 * not means: on a small shared host a few preempted iterations moved the mean
 * by up to a fifth between otherwise alike runs, and the median by ~1%.
 *
 * Usage: exec_bench [--quick]   (--quick: fewer iterations, for smoke tests) */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static int
cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return (x > y) - (x < y);
}

static double
median(double *v, unsigned n)
{
   qsort(v, n, sizeof(*v), cmp_double);
   return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median time in us of one step(arg), after `warm` untimed steps. */
static double
time_steps(unsigned warm, unsigned n, void (*step)(void *), void *arg)
{
   double *t = malloc(n * sizeof(*t));
   if (!t)
      die("out of memory");
   for (unsigned i = 0; i < warm + n; i++) {
      double t0 = now_us();
      step(arg);
      double t1 = now_us();
      if (i >= warm)
         t[i - warm] = t1 - t0;
   }
   double m = median(t, n);
   free(t);
   return m;
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

static void
submit_step(void *arg)
{
   VkFence *fence = arg;
   const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO };
   CHECK(vkQueueSubmit(g.queue, 1, &si, *fence));
   CHECK(vkWaitForFences(g.device, 1, fence, VK_TRUE, FENCE_TIMEOUT_NS));
   CHECK(vkResetFences(g.device, 1, fence));
}

struct layout_arg {
   VkImage image;
   VkDeviceSize pitch;
};

/* Through Venus, vkGetImageSubresourceLayout of a linear image is a
 * synchronous call answered by the server, unlike vkGetFenceStatus. */
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
alloc_map_free_step(void *arg)
{
   const VkMemoryAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = MIB, .memoryTypeIndex = g.host_type,
   };
   VkDeviceMemory mem;
   void *ptr;
   CHECK(vkAllocateMemory(g.device, &ai, NULL, &mem));
   CHECK(vkMapMemory(g.device, mem, 0, VK_WHOLE_SIZE, 0, &ptr));
   vkFreeMemory(g.device, mem, NULL);
}

static void
bench_calls(void)
{
   const unsigned q = g.quick ? 10 : 1;
   VkFence fence = create_fence();
   printf("submit_roundtrip_us %.3f\n", time_steps(200 / q, 2000 / q, submit_step, &fence));
   vkDestroyFence(g.device, fence, NULL);

   const VkImageCreateInfo ici = {
      .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D,
      .format = VK_FORMAT_R8G8B8A8_UNORM, .extent = { 64, 64, 1 }, .mipLevels = 1, .arrayLayers = 1,
      .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_LINEAR,
      .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   struct layout_arg la = { 0 };
   CHECK(vkCreateImage(g.device, &ici, NULL, &la.image));
   printf("protocol_roundtrip_us %.3f\n", time_steps(500 / q, 5000 / q, layout_step, &la));
   if (la.pitch < 64 * 4)
      die("vkGetImageSubresourceLayout returned a row pitch below the image width");
   vkDestroyImage(g.device, la.image, NULL);

   printf("alloc_map_free_us %.3f\n", time_steps(100 / q, 2000 / q, alloc_map_free_step, NULL));
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

/* Best of a few passes: interference can only lower bandwidth, so the best
 * pass is the closest to what the mapping allows. GB/s is 1e9 bytes/s. */
static void
bench_bandwidth(void)
{
   const size_t size = 256 * MIB, words = size / 8;
   const unsigned passes = g.quick ? 2 : 5;
   struct mapped_buffer b = mapped_buffer(size);
   /* Untimed pass: the first touch of each page faults it in. */
   memset(b.ptr, 0xff, size);
   double best_w = 0, best_r = 0;
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
      double w = (double)size / ((t1 - t0) * 1e3), r = (double)size / ((t2 - t1) * 1e3);
      best_w = w > best_w ? w : best_w;
      best_r = r > best_r ? r : best_r;
   }
   printf("write_gbps %.2f\n", best_w);
   printf("read_gbps %.2f\n", best_r);
   free_mapped_buffer(&b);
}

/* Median of several timed passes (submit to fence signalled) after a warm-up.
 * Each pass uses a different `add`, and a sample of every pass's output is
 * checked, so a pass that did not run cannot pass for a fast one. */
static void
bench_compute(void)
{
   const size_t size = 64 * MIB;
   const uint32_t count = (uint32_t)(size / 4), mul = 3;
   const unsigned warm = g.quick ? 1 : 2, n = g.quick ? 3 : 15;
   double t[15]; /* n times */
   struct mapped_buffer src = mapped_buffer(size), dst = mapped_buffer(size);
   uint32_t *s = src.ptr;
   const uint32_t *d = dst.ptr;
   for (uint32_t i = 0; i < count; i++)
      s[i] = i * 2654435761u;
   memset(dst.ptr, 0, size);

   const VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = sizeof(scale_comp_spv), .pCode = scale_comp_spv,
   };
   VkShaderModule module;
   CHECK(vkCreateShaderModule(g.device, &smci, NULL, &module));
   const VkDescriptorSetLayoutBinding bindings[2] = {
      { 0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
      { 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL },
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings,
   };
   VkDescriptorSetLayout dsl;
   CHECK(vkCreateDescriptorSetLayout(g.device, &dslci, NULL, &dsl));
   const VkPushConstantRange range = { VK_SHADER_STAGE_COMPUTE_BIT, 0, 3 * sizeof(uint32_t) };
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl,
      .pushConstantRangeCount = 1, .pPushConstantRanges = &range,
   };
   VkPipelineLayout layout;
   CHECK(vkCreatePipelineLayout(g.device, &plci, NULL, &layout));
   const VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                 .module = module, .pName = "main" },
      .layout = layout,
   };
   VkPipeline pipe;
   CHECK(vkCreateComputePipelines(g.device, VK_NULL_HANDLE, 1, &cpci, NULL, &pipe));

   const VkDescriptorPoolSize pool_size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 };
   const VkDescriptorPoolCreateInfo dpci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1,
      .poolSizeCount = 1, .pPoolSizes = &pool_size,
   };
   VkDescriptorPool dpool;
   CHECK(vkCreateDescriptorPool(g.device, &dpci, NULL, &dpool));
   const VkDescriptorSetAllocateInfo dsai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 1,
      .pSetLayouts = &dsl,
   };
   VkDescriptorSet set;
   CHECK(vkAllocateDescriptorSets(g.device, &dsai, &set));
   const VkDescriptorBufferInfo infos[2] = { { src.buf, 0, VK_WHOLE_SIZE }, { dst.buf, 0, VK_WHOLE_SIZE } };
   const VkWriteDescriptorSet write = {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 0, .descriptorCount = 2,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = infos,
   };
   vkUpdateDescriptorSets(g.device, 1, &write, 0, NULL);

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
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
      vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), pc);
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
         t[p - warm] = (t1 - t0) / 1e3;
      /* A prime stride spreads the samples over the whole buffer (one per
       * 16 KiB); the last word checks that the 2D grid reaches the end. */
      for (uint32_t k = 0; k <= count / 4093; k++, checked++) {
         const uint32_t i = k < count / 4093 ? k * 4093 : count - 1;
         if (d[i] != s[i] * mul + add + i)
            die("compute pass %u: dst[%u] = %u, want %u", p, i, d[i], s[i] * mul + add + i);
      }
   }
   printf("# compute checked %u sampled words over %u passes\n", checked, warm + n);
   printf("compute_ms %.2f\n", median(t, n));

   vkDestroyFence(g.device, fence, NULL);
   vkDestroyCommandPool(g.device, cpool, NULL);
   vkDestroyDescriptorPool(g.device, dpool, NULL);
   vkDestroyPipeline(g.device, pipe, NULL);
   vkDestroyPipelineLayout(g.device, layout, NULL);
   vkDestroyDescriptorSetLayout(g.device, dsl, NULL);
   vkDestroyShaderModule(g.device, module, NULL);
   free_mapped_buffer(&src);
   free_mapped_buffer(&dst);
}

int
main(int argc, char **argv)
{
   g.quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
   if (argc > 1 + g.quick) {
      fprintf(stderr, "usage: exec_bench [--quick]\n");
      return 2;
   }
   /* bench/exec.sh sends figures to a file; line buffering keeps the ones
    * already measured if a later step hangs and is killed. */
   setvbuf(stdout, NULL, _IOLBF, 0);
   init();
   pick_host_type();
   bench_calls();
   bench_bandwidth();
   bench_compute();
   vkDestroyDevice(g.device, NULL);
   vkDestroyInstance(g.instance, NULL);
   return 0;
}

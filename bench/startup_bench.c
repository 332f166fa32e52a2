/* SPDX-License-Identifier: MIT */
/* Start-up latency of a tenant: the time from a client's vkCreateInstance
 * (where Mesa's Venus driver connects to the server) to its first
 * vkCreateDevice returning, natively and through the server alike.
 *
 * Usage: startup_bench [--runs N] [--gap-ms MS]
 *   (default 9 runs, 1000 ms apart: tenants arriving one by one, the
 *   server's ready workers refilled in between)
 *
 * Output: one line per run, then
 *   startup: median_ms: M min_ms: A max_ms: B runs: N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "vk_util.h"

static int
compare_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return x < y ? -1 : x > y;
}

/* One tenant's start; < 0 on failure. */
static double
one_start(void)
{
   const double t0 = vkt_now_ms();
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "startup_bench",
      .apiVersion = VK_API_VERSION_1_3,
   };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
   VkInstance instance;
   VkResult r = vkCreateInstance(&ici, NULL, &instance);
   if (r != VK_SUCCESS) {
      fprintf(stderr, "startup_bench: vkCreateInstance: %s\n", vkt_result(r));
      return -1;
   }
   uint32_t count = 1;
   VkPhysicalDevice physical;
   r = vkEnumeratePhysicalDevices(instance, &count, &physical);
   double ms = -1;
   if ((r == VK_SUCCESS || r == VK_INCOMPLETE) && count) {
      const float priority = 1.0f;
      const VkDeviceQueueCreateInfo queue = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
         .queueCount = 1,
         .pQueuePriorities = &priority,
      };
      const VkDeviceCreateInfo dci = {
         .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
         .queueCreateInfoCount = 1,
         .pQueueCreateInfos = &queue,
      };
      VkDevice device;
      r = vkCreateDevice(physical, &dci, NULL, &device);
      if (r == VK_SUCCESS) {
         ms = vkt_now_ms() - t0;
         vkDestroyDevice(device, NULL);
      } else {
         fprintf(stderr, "startup_bench: vkCreateDevice: %s\n", vkt_result(r));
      }
   } else {
      fprintf(stderr, "startup_bench: no physical device (%s)\n", vkt_result(r));
   }
   vkDestroyInstance(instance, NULL);
   return ms;
}

int
main(int argc, char **argv)
{
   int runs = 9, gap_ms = 1000;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--runs") && i + 1 < argc)
         runs = atoi(argv[++i]);
      else if (!strcmp(argv[i], "--gap-ms") && i + 1 < argc)
         gap_ms = atoi(argv[++i]);
      else {
         fprintf(stderr, "usage: startup_bench [--runs N] [--gap-ms MS]\n");
         return 2;
      }
   }
   if (runs < 1 || runs > 1000 || gap_ms < 0) {
      fprintf(stderr, "startup_bench: --runs 1 to 1000, --gap-ms >= 0\n");
      return 2;
   }
   double *ms = calloc((size_t)runs, sizeof(*ms));
   if (!ms)
      return 1;
   for (int i = 0; i < runs; i++) {
      if (i)
         vkt_sleep_ms((unsigned)gap_ms);
      ms[i] = one_start();
      if (ms[i] < 0)
         return 1;
      printf("run %d: %.1f ms\n", i + 1, ms[i]);
   }
   qsort(ms, (size_t)runs, sizeof(*ms), compare_double);
   printf("startup: median_ms: %.1f min_ms: %.1f max_ms: %.1f runs: %d\n", ms[runs / 2], ms[0], ms[runs - 1], runs);
   free(ms);
   return 0;
}

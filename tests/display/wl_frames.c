/* SPDX-License-Identifier: MIT */
/* Presents N numbered frames through Vulkan's Wayland WSI (Venus through
 * the server, in the tests), for the display's fence test: each frame is
 * heavy GPU work (fills and copies through a large buffer) whose last step
 * writes the whole swapchain image with the frame's number, so a display
 * that read the image before the GPU finished would show the previous
 * frame's number (stale) or a mix (torn).
 *
 * The picture: 16 vertical bars, bar i white when bit i of the frame number
 * is set, in the top half and again in the bottom half; test_display.sh
 * decodes the stream and checks every frame.
 *
 *   wl_frames FRAMES [WIDTH HEIGHT [FIRST [SECONDS]]]    (WAYLAND_DISPLAY names the display)
 *
 * FIRST (default 1) is the first frame's number: runs recorded into one
 * stream number on from each other (test_vm_display.sh). SECONDS (default
 * none) ends the run early, once that long has passed (bench/vm-paths.sh).
 * With $WL_FRAMES_ALLOC_EVERY=K, every Kth frame also allocates, maps and
 * frees a small host-visible buffer, as an application's allocations come
 * and go: each is a round trip through the server's context side, where
 * tests/test_restore.sh restores the context mid-swapchain. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wayland-client.h>
#define VK_USE_PLATFORM_WAYLAND_KHR
#include <vulkan/vulkan.h>

#include "frame_work.h"
#include "xdg-shell-client-protocol.h"

#define HEAVY_BYTES (32u << 20)
#define HEAVY_ROUNDS 6

#define CHECK(call)                                                                  \
   do {                                                                              \
      VkResult r_ = (call);                                                          \
      if (r_ != VK_SUCCESS) {                                                        \
         fprintf(stderr, "wl_frames: %s failed: %d (line %d)\n", #call, r_, __LINE__); \
         exit(1);                                                                    \
      }                                                                              \
   } while (0)

static struct wl_compositor *compositor;
static struct xdg_wm_base *wm;
static bool configured;

static void
global(void *data, struct wl_registry *reg, uint32_t name, const char *iface, uint32_t version)
{
   if (!strcmp(iface, "wl_compositor"))
      compositor = wl_registry_bind(reg, name, &wl_compositor_interface, 4);
   else if (!strcmp(iface, "xdg_wm_base"))
      wm = wl_registry_bind(reg, name, &xdg_wm_base_interface, 1);
}

static void
global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
}

static const struct wl_registry_listener reg_listener = { global, global_remove };

static void
wm_ping(void *data, struct xdg_wm_base *base, uint32_t serial)
{
   xdg_wm_base_pong(base, serial);
}

static const struct xdg_wm_base_listener wm_listener = { wm_ping };

static void
xs_configure(void *data, struct xdg_surface *xs, uint32_t serial)
{
   xdg_surface_ack_configure(xs, serial);
   configured = true;
}

static const struct xdg_surface_listener xs_listener = { xs_configure };

int
main(int argc, char **argv)
{
   uint32_t frames = argc > 1 ? (uint32_t)atoi(argv[1]) : 300;
   uint32_t width = argc > 3 ? (uint32_t)atoi(argv[2]) : 320, height = argc > 3 ? (uint32_t)atoi(argv[3]) : 240;
   uint32_t first = argc > 4 ? (uint32_t)atoi(argv[4]) : 1;
   const double seconds = argc > 5 ? atof(argv[5]) : 0;

   struct wl_display *display = wl_display_connect(NULL);
   if (!display) {
      fprintf(stderr, "wl_frames: cannot connect to the Wayland display\n");
      return 1;
   }
   struct wl_registry *reg = wl_display_get_registry(display);
   wl_registry_add_listener(reg, &reg_listener, NULL);
   wl_display_roundtrip(display);
   if (!compositor || !wm) {
      fprintf(stderr, "wl_frames: wl_compositor or xdg_wm_base missing\n");
      return 1;
   }
   xdg_wm_base_add_listener(wm, &wm_listener, NULL);
   struct wl_surface *surface = wl_compositor_create_surface(compositor);
   struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(wm, surface);
   xdg_surface_add_listener(xs, &xs_listener, NULL);
   struct xdg_toplevel *top = xdg_surface_get_toplevel(xs);
   xdg_toplevel_set_title(top, "wl_frames");
   wl_surface_commit(surface);
   while (!configured && wl_display_dispatch(display) >= 0)
      ;

   const char *inst_exts[] = { VK_KHR_SURFACE_EXTENSION_NAME, VK_KHR_WAYLAND_SURFACE_EXTENSION_NAME };
   const VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1 };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
                                      .enabledExtensionCount = 2, .ppEnabledExtensionNames = inst_exts };
   VkInstance inst;
   CHECK(vkCreateInstance(&ici, NULL, &inst));
   uint32_t n = 1;
   VkPhysicalDevice phys;
   VkResult er = vkEnumeratePhysicalDevices(inst, &n, &phys);
   if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || n == 0) {
      fprintf(stderr, "wl_frames: no physical device\n");
      return 1;
   }
   const VkWaylandSurfaceCreateInfoKHR sci = { .sType = VK_STRUCTURE_TYPE_WAYLAND_SURFACE_CREATE_INFO_KHR,
                                               .display = display, .surface = surface };
   VkSurfaceKHR vsurf;
   CHECK(vkCreateWaylandSurfaceKHR(inst, &sci, NULL, &vsurf));
   VkBool32 supported = VK_FALSE;
   CHECK(vkGetPhysicalDeviceSurfaceSupportKHR(phys, 0, vsurf, &supported));
   if (!supported) {
      fprintf(stderr, "wl_frames: queue family 0 cannot present\n");
      return 1;
   }
   const float prio = 1.0f;
   const VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0,
                                         .queueCount = 1, .pQueuePriorities = &prio };
   const char *dev_exts[] = { VK_KHR_SWAPCHAIN_EXTENSION_NAME };
   const VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci, .enabledExtensionCount = 1,
                                    .ppEnabledExtensionNames = dev_exts };
   VkDevice dev;
   CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
   VkQueue queue;
   vkGetDeviceQueue(dev, 0, 0, &queue);

   uint32_t nf = 16;
   VkSurfaceFormatKHR fmts[16];
   CHECK(vkGetPhysicalDeviceSurfaceFormatsKHR(phys, vsurf, &nf, fmts));
   VkFormat format = VK_FORMAT_UNDEFINED;
   for (uint32_t i = 0; i < nf; i++)
      if (fmts[i].format == VK_FORMAT_B8G8R8A8_UNORM || fmts[i].format == VK_FORMAT_R8G8B8A8_UNORM) {
         format = fmts[i].format;
         break;
      }
   if (format == VK_FORMAT_UNDEFINED) {
      fprintf(stderr, "wl_frames: no 8-bit UNORM surface format\n");
      return 1;
   }
   VkSurfaceCapabilitiesKHR caps;
   CHECK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(phys, vsurf, &caps));
   const VkSwapchainCreateInfoKHR swci = {
      .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR, .surface = vsurf,
      .minImageCount = caps.minImageCount > 3 ? caps.minImageCount : 3, .imageFormat = format,
      .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR, .imageExtent = { width, height }, .imageArrayLayers = 1,
      .imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT, .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
      .preTransform = VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR, .compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
      .presentMode = VK_PRESENT_MODE_FIFO_KHR, .clipped = VK_TRUE,
   };
   VkSwapchainKHR swapchain;
   CHECK(vkCreateSwapchainKHR(dev, &swci, NULL, &swapchain));
   uint32_t image_count = 0;
   CHECK(vkGetSwapchainImagesKHR(dev, swapchain, &image_count, NULL));
   VkImage *images = calloc(image_count, sizeof(VkImage));
   CHECK(vkGetSwapchainImagesKHR(dev, swapchain, &image_count, images));

   /* The heavy buffer (device memory) and one staging pattern per frame in flight. */
   VkBuffer heavy, staging;
   VkDeviceMemory heavy_mem, staging_mem;
   VkDeviceSize frame_bytes = (VkDeviceSize)width * height * 4;
   CHECK(frame_work_buffer(phys, dev, HEAVY_BYTES, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, false, &heavy, &heavy_mem));
   CHECK(frame_work_buffer(phys, dev, frame_bytes * 2, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                           VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, false, &staging,
                           &staging_mem));
   uint32_t *pattern;
   CHECK(vkMapMemory(dev, staging_mem, 0, VK_WHOLE_SIZE, 0, (void **)&pattern));

   const VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
   VkCommandPool pool;
   CHECK(vkCreateCommandPool(dev, &pci, NULL, &pool));
   VkCommandBuffer cbs[2];
   const VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                             .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                             .commandBufferCount = 2 };
   CHECK(vkAllocateCommandBuffers(dev, &cai, cbs));
   VkSemaphore acquired[2], rendered[2];
   VkFence done[2];
   const VkSemaphoreCreateInfo semi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
   const VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT };
   for (int i = 0; i < 2; i++) {
      CHECK(vkCreateSemaphore(dev, &semi, NULL, &acquired[i]));
      CHECK(vkCreateSemaphore(dev, &semi, NULL, &rendered[i]));
      CHECK(vkCreateFence(dev, &fi, NULL, &done[i]));
   }

   const char *alloc_every_env = getenv("WL_FRAMES_ALLOC_EVERY");
   const uint32_t alloc_every = alloc_every_env ? (uint32_t)atoi(alloc_every_env) : 0;
   struct timespec start, now;
   clock_gettime(CLOCK_MONOTONIC, &start);
   uint32_t shown = 0;
   for (uint32_t f = first; f < first + frames; f++, shown++) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (seconds > 0 && (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > seconds)
         break;
      uint32_t slot = f % 2;
      if (alloc_every && f % alloc_every == 0) {
         VkBuffer scratch;
         VkDeviceMemory scratch_mem;
         void *map;
         CHECK(frame_work_buffer(phys, dev, 4096, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, false,
                                 &scratch, &scratch_mem));
         CHECK(vkMapMemory(dev, scratch_mem, 0, VK_WHOLE_SIZE, 0, &map));
         vkDestroyBuffer(dev, scratch, NULL);
         vkFreeMemory(dev, scratch_mem, NULL);
      }
      CHECK(vkWaitForFences(dev, 1, &done[slot], VK_TRUE, UINT64_MAX));
      CHECK(vkResetFences(dev, 1, &done[slot]));
      uint32_t idx;
      CHECK(vkAcquireNextImageKHR(dev, swapchain, UINT64_MAX, acquired[slot], VK_NULL_HANDLE, &idx));
      uint32_t *px = pattern + (size_t)slot * width * height;
      for (uint32_t y = 0; y < height; y++)
         frame_work_row(px + (size_t)y * width, width, f);
      VkCommandBuffer cb = cbs[slot];
      const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
      CHECK(vkBeginCommandBuffer(cb, &bi));
      /* Heavy work, every step depending on the one before. */
      frame_work_heavy(cb, heavy, HEAVY_BYTES, HEAVY_ROUNDS, f);
      /* The frame's number goes through the heavy buffer into the image last. */
      const VkBufferCopy in = { (VkDeviceSize)slot * frame_bytes, 0, frame_bytes };
      vkCmdCopyBuffer(cb, staging, heavy, 1, &in);
      frame_work_barrier(cb, heavy);
      VkImageMemoryBarrier ib = { .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                                  .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                  .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                                  .newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                                  .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                                  .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .image = images[idx],
                                  .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 } };
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 0, NULL,
                           1, &ib);
      const VkBufferImageCopy copy = { .bufferOffset = 0,
                                       .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
                                       .imageExtent = { width, height, 1 } };
      vkCmdCopyBufferToImage(cb, heavy, images[idx], VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
      ib.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      ib.dstAccessMask = 0;
      ib.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
      ib.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 0,
                           NULL, 1, &ib);
      CHECK(vkEndCommandBuffer(cb));
      const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
      const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .waitSemaphoreCount = 1,
                                .pWaitSemaphores = &acquired[slot], .pWaitDstStageMask = &wait_stage,
                                .commandBufferCount = 1, .pCommandBuffers = &cb, .signalSemaphoreCount = 1,
                                .pSignalSemaphores = &rendered[slot] };
      CHECK(vkQueueSubmit(queue, 1, &si, done[slot]));
      const VkPresentInfoKHR pi = { .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, .waitSemaphoreCount = 1,
                                    .pWaitSemaphores = &rendered[slot], .swapchainCount = 1,
                                    .pSwapchains = &swapchain, .pImageIndices = &idx };
      CHECK(vkQueuePresentKHR(queue, &pi));
   }
   CHECK(vkDeviceWaitIdle(dev));
   printf("wl_frames: presented %u frames %ux%u\n", shown, width, height);
   vkDestroySwapchainKHR(dev, swapchain, NULL);
   for (int i = 0; i < 2; i++) {
      vkDestroySemaphore(dev, acquired[i], NULL);
      vkDestroySemaphore(dev, rendered[i], NULL);
      vkDestroyFence(dev, done[i], NULL);
   }
   vkDestroyCommandPool(dev, pool, NULL);
   vkDestroyBuffer(dev, heavy, NULL);
   vkDestroyBuffer(dev, staging, NULL);
   vkFreeMemory(dev, heavy_mem, NULL);
   vkFreeMemory(dev, staging_mem, NULL);
   vkDestroyDevice(dev, NULL);
   vkDestroySurfaceKHR(inst, vsurf, NULL);
   vkDestroyInstance(inst, NULL);
   xdg_toplevel_destroy(top);
   xdg_surface_destroy(xs);
   wl_surface_destroy(surface);
   wl_display_disconnect(display);
   return 0;
}

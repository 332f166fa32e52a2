/* SPDX-License-Identifier: MIT */
/* The VM display test's hostile guest (tests/test_vm_display.sh): speaks
 * the presentation channel directly, as a compromised guest compositor
 * could, in a session of its own for each (the host closes a session at
 * its second bad message):
 *   1. ATTACH naming a resource id that does not exist;
 *   2. ATTACH naming a real Venus blob (64 KiB of exported Vulkan memory)
 *      with stride x height past its end;
 *   3. ATTACH naming a blob of a context that ended (made by a process of
 *      its own, which exited: the host's table must have let it go).
 * No COMMIT follows either: after a refused ATTACH it would be a second
 * bad message (a COMMIT of a surface with no ATTACH), a second line.
 * Prints one `vmch_hostile: sent ...` line per step; the host must refuse
 * each with one line. vs-guest-present must not hold the port (the port
 * opens once at a time).
 *
 *   vmch_hostile      (VK_ICD_FILENAMES: the guest's Venus driver) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "channel.h"
#include "virtgpu.h"

#define BLOB_BYTES (64u << 10)
#define MISSING_RES_ID 0x7ffffff0u

static void
die(const char *what)
{
   fprintf(stderr, "vmch_hostile: %s\n", what);
   exit(1);
}

/* A dma-buf of exported Vulkan memory: a blob the host's server made. */
static int
venus_dmabuf(void)
{
   const VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1 };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
   VkInstance instance;
   if (vkCreateInstance(&ici, NULL, &instance) != VK_SUCCESS)
      die("vkCreateInstance failed");
   uint32_t n = 1;
   VkPhysicalDevice phys;
   if (vkEnumeratePhysicalDevices(instance, &n, &phys) < 0 || n == 0)
      die("no physical device");
   const float prio = 1.0f;
   const VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1,
                                         .pQueuePriorities = &prio };
   const char *exts[] = { "VK_KHR_external_memory_fd", "VK_EXT_external_memory_dma_buf" };
   const VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci, .enabledExtensionCount = 2,
                                    .ppEnabledExtensionNames = exts };
   VkDevice dev;
   if (vkCreateDevice(phys, &dci, NULL, &dev) != VK_SUCCESS)
      die("vkCreateDevice with external dma-buf memory failed");
   PFN_vkGetMemoryFdKHR get_fd = (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(dev, "vkGetMemoryFdKHR");
   VkPhysicalDeviceMemoryProperties mp;
   vkGetPhysicalDeviceMemoryProperties(phys, &mp);
   for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
      const VkExportMemoryAllocateInfo export = { .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
                                                  .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
      const VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = &export,
                                         .allocationSize = BLOB_BYTES, .memoryTypeIndex = i };
      VkDeviceMemory mem;
      if (vkAllocateMemory(dev, &mai, NULL, &mem) != VK_SUCCESS)
         continue;
      const VkMemoryGetFdInfoKHR gfi = { .sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, .memory = mem,
                                         .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
      int fd = -1;
      if (get_fd && get_fd(dev, &gfi, &fd) == VK_SUCCESS)
         return fd; /* the memory stays allocated until the process exits */
      vkFreeMemory(dev, mem, NULL);
   }
   die("no memory type exports a dma-buf");
   return -1;
}

/* False if the port takes nothing for 10 s or has no host end. */
static bool
send_all(int fd, const void *m)
{
   const struct vs_vmch_header *h = m;
   size_t done = 0;
   while (done < h->size) {
      struct pollfd pfd = { .fd = fd, .events = POLLOUT };
      if (poll(&pfd, 1, 10000) <= 0 || (pfd.revents & (POLLHUP | POLLERR)))
         return false;
      ssize_t n = write(fd, (const char *)m + done, h->size - done);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
         continue;
      if (n <= 0)
         return false;
      done += (size_t)n;
   }
   return true;
}

/* Opens the port and waits for the host's HELLO (the host end may still
 * be connecting: retried for about a minute). */
static int
session_open(void)
{
   char path[280];
   for (int attempt = 0; attempt < 60; attempt++, sleep(1)) {
      if (vgp_port_find(path, sizeof(path)) != 0)
         continue;
      int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
         continue;
      const struct vs_vmch_hello hello = { .header = { VS_VMCH_HELLO, sizeof(hello) }, .version = VS_VMCH_VERSION };
      if (!send_all(fd, &hello)) {
         close(fd);
         continue;
      }
      struct vs_vmch_header h;
      size_t got = 0;
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      while (got < sizeof(h) && poll(&pfd, 1, 5000) > 0 && !(pfd.revents & POLLHUP)) {
         ssize_t n = read(fd, (char *)&h + got, sizeof(h) - got);
         if (n <= 0)
            break;
         got += (size_t)n;
      }
      if (got == sizeof(h) && h.type == VS_VMCH_HELLO)
         return fd; /* the rest (HELLO's body, CONFIGURE) is never read */
      close(fd);
   }
   die("no host answered HELLO on the port");
   return -1;
}

/* The resource id of a blob whose context ended: this program again, in a
 * process of its own (fresh Vulkan, its own render node), prints the id
 * of its blob and exits, which ends its context and frees the blob. */
static uint32_t
ended_context_res_id(void)
{
   int p[2];
   if (pipe(p) != 0)
      die("pipe failed");
   pid_t pid = fork();
   if (pid == 0) {
      dup2(p[1], STDOUT_FILENO);
      execl("/proc/self/exe", "vmch_hostile", "--print-blob", (char *)NULL);
      _exit(127);
   }
   close(p[1]);
   char line[32] = { 0 };
   ssize_t n = pid > 0 ? read(p[0], line, sizeof(line) - 1) : -1;
   close(p[0]);
   int status = 0;
   if (pid > 0)
      waitpid(pid, &status, 0);
   unsigned long id = n > 0 ? strtoul(line, NULL, 10) : 0;
   if (!id || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("the process making the ended context's blob failed");
   return (uint32_t)id;
}

static void
attach(uint32_t surface, uint32_t res_id, uint32_t stride, uint32_t width, uint32_t height)
{
   int fd = session_open();
   const struct vs_vmch_attach attach = {
      .header = { VS_VMCH_ATTACH, sizeof(attach) }, .surface = surface, .res_id = res_id, .stride = stride,
      .width = width, .height = height, .drm_fourcc = 0x34325258u /* XR24 */,
   };
   if (!send_all(fd, &attach))
      die("the host stopped reading the port");
   /* Give the host time to read it before the session ends. */
   sleep(2);
   close(fd);
}

int
main(int argc, char **argv)
{
   int drm = vgp_virtgpu_open();
   if (drm < 0)
      die("no virtio-gpu render node");
   int dmabuf = venus_dmabuf();
   if (argc > 1 && !strcmp(argv[1], "--print-blob")) {
      struct vgp_resource_info blob;
      if (vgp_virtgpu_resource(drm, dmabuf, &blob) < 0)
         die("RESOURCE_INFO on the exported memory failed");
      printf("%u\n", blob.res_id);
      return 0;
   }
   /* Made after this process's own blob, so that no later blob takes its
    * freed id. */
   uint32_t ended_id = ended_context_res_id();
   struct vgp_resource_info info;
   int r = vgp_virtgpu_resource(drm, dmabuf, &info);
   if (r < 0)
      die("RESOURCE_INFO on the exported memory failed");
   attach(1, MISSING_RES_ID, 1024, 256, 64);
   printf("vmch_hostile: sent ATTACH of missing resource %u\n", MISSING_RES_ID);
   fflush(stdout);
   uint32_t height = info.size / 4096 + 16;
   attach(2, info.res_id, 4096, 1024, height);
   printf("vmch_hostile: sent ATTACH of resource %u (%u bytes) with stride 4096 x height %u = %u bytes\n", info.res_id,
          info.size, height, 4096 * height);
   fflush(stdout);
   attach(3, ended_id, 1024, 256, 64);
   printf("vmch_hostile: sent ATTACH of resource %u, of a context that ended\n", ended_id);
   return 0;
}

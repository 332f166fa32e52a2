/* SPDX-License-Identifier: MIT */
/* Lending the host driver's mapping of video memory (driver_mapping.h). */
#include "renderer/memory/driver_mapping.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "renderer/memory/device_memory.h"
#include "renderer/renderer_state.h"
#include "os/mapping_capture.h"
#include "os/os.h"

VkResult
vs_driver_mapping_allocate(struct vs_device *dev, const VkMemoryAllocateInfo *info, VkDeviceMemory *out,
                           void **map, int *fd, size_t *len)
{
   *fd = -1;
   *map = NULL;
   /* NVIDIA maps in vkAllocateMemory; another driver may wait for
    * vkMapMemory: both are watched. The mapping stays until vkFreeMemory. */
   os_mapping_capture_begin();
   VkResult r = dev->dt.AllocateMemory(dev->host, info, NULL, out);
   if (r == VK_SUCCESS && dev->dt.MapMemory(dev->host, *out, 0, VK_WHOLE_SIZE, 0, map) != VK_SUCCESS)
      *map = NULL;
   *fd = os_mapping_capture_end(*map, len);
   return r;
}

bool
vs_driver_mapping_probe(struct vs_device *dev, uint32_t type, size_t *granule)
{
   const VkMemoryAllocateInfo info = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = os_page_size(),
      .memoryTypeIndex = type,
   };
   VkDeviceMemory mem;
   void *map;
   int fd;
   size_t len = 0;
   if (vs_driver_mapping_allocate(dev, &info, &mem, &map, &fd, &len) != VK_SUCCESS)
      return false;
   bool ok = false;
   volatile uint32_t *host_view = map;
   if (fd >= 0 && host_view && len >= os_page_size()) {
      /* A second mapping of the file must be the same memory. */
      volatile uint32_t *lent_view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (lent_view != MAP_FAILED) {
         ok = vs_memory_views_alias(host_view, lent_view, os_page_size());
         munmap((void *)lent_view, len);
      }
      *granule = len;
   }
   if (fd >= 0)
      close(fd);
   dev->dt.FreeMemory(dev->host, mem, NULL);
   return ok && (*granule & (*granule - 1)) == 0;
}

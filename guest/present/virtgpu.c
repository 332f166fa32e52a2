/* SPDX-License-Identifier: MIT */
/* The two ioctls that turn a dma-buf into its host resource id: PRIME
 * import (a GEM handle in our own file) and virtio-gpu's RESOURCE_INFO on
 * that handle. The handle is closed at once: the dma-buf fd, which the
 * compositor keeps while the wl_buffer lives, is what keeps the resource
 * alive. The uapi layouts are spelled out here (linux/virtgpu_drm.h is in
 * libdrm-dev, which the guest build does not otherwise need). */
#include "virtgpu.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct vgp_drm_prime_handle {
   uint32_t handle;
   uint32_t flags;
   int32_t fd;
};
struct vgp_drm_gem_close {
   uint32_t handle;
   uint32_t pad;
};
struct vgp_drm_virtgpu_resource_info {
   uint32_t bo_handle;
   uint32_t res_handle;
   uint32_t size;
   uint32_t blob_mem;
};
#define VGP_DRM_IOCTL_GEM_CLOSE _IOW('d', 0x09, struct vgp_drm_gem_close)
#define VGP_DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct vgp_drm_prime_handle)
/* DRM_COMMAND_BASE 0x40 + DRM_VIRTGPU_RESOURCE_INFO 0x05 */
#define VGP_DRM_IOCTL_VIRTGPU_RESOURCE_INFO _IOWR('d', 0x45, struct vgp_drm_virtgpu_resource_info)

static int
xioctl(int fd, unsigned long request, void *arg)
{
   int r;
   do
      r = ioctl(fd, request, arg);
   while (r < 0 && (errno == EINTR || errno == EAGAIN));
   return r;
}

int
vgp_virtgpu_open(void)
{
   int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
   if (fd < 0)
      fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
   return fd;
}

int
vgp_virtgpu_resource(int drm_fd, int dmabuf_fd, struct vgp_resource_info *info)
{
   struct vgp_drm_prime_handle prime = { .fd = dmabuf_fd };
   if (xioctl(drm_fd, VGP_DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime) < 0)
      return -errno;
   struct vgp_drm_virtgpu_resource_info ri = { .bo_handle = prime.handle };
   int r = xioctl(drm_fd, VGP_DRM_IOCTL_VIRTGPU_RESOURCE_INFO, &ri) < 0 ? -errno : 0;
   struct vgp_drm_gem_close gc = { .handle = prime.handle };
   xioctl(drm_fd, VGP_DRM_IOCTL_GEM_CLOSE, &gc);
   if (r == 0)
      *info = (struct vgp_resource_info){ .res_id = ri.res_handle, .size = ri.size, .blob_mem = ri.blob_mem };
   return r;
}

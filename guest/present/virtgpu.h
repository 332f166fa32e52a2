/* SPDX-License-Identifier: MIT */
/* The guest's virtio-gpu, asked which host resource a dma-buf is: the id
 * the host's render server created the memory under (its CREATE_RESOURCE),
 * which is what the presentation channel names. */
#ifndef VGP_VIRTGPU_H
#define VGP_VIRTGPU_H

#include <stdint.h>

struct vgp_resource_info {
   uint32_t res_id;   /* host resource id; 0 never names one */
   uint32_t size;     /* bytes of the resource */
   uint32_t blob_mem; /* VGP_BLOB_MEM_HOST3D for memory the host's contexts made */
};
#define VGP_BLOB_MEM_HOST3D 2

/* The render node (else card0), or -1 with errno. */
int vgp_virtgpu_open(void);
/* 0, or -errno: the fd is no dma-buf of this device (EINVAL, ENODEV...). */
int vgp_virtgpu_resource(int drm_fd, int dmabuf_fd, struct vgp_resource_info *info);

#endif

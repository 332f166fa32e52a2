/* SPDX-License-Identifier: MIT */
/* zwp_linux_dmabuf_v1 (src/compositor/dmabuf.c) of the channel's formats.
 * Each buffer is resolved once, at creation, to the host resource behind
 * it (virtgpu.c); a dma-buf that is not a host3d blob of this virtio-gpu
 * (so not memory the host's Venus contexts made), or that the image would
 * overrun, is refused with a protocol error and one log line: the host
 * would refuse it anyway, and the client learns why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "present.h"
#include "virtgpu.h"
#include "base/log.h"
#include "linux-dmabuf-unstable-v1-server-protocol.h"

static const uint32_t formats[] = { VS_VMCH_FORMAT_XRGB8888, VS_VMCH_FORMAT_ARGB8888 };

/* --- buffers ----------------------------------------------------------- */

static void
buffer_free_if_unused(struct vgp_buffer *b)
{
   if (b->base.resource || b->refs)
      return;
   close(b->fd);
   free(b);
}

void
vgp_buffer_ref(struct vgp_buffer *b)
{
   b->refs++;
}

void
vgp_buffer_unref(struct vgp_buffer *b)
{
   b->refs--;
   buffer_free_if_unused(b);
}

static void
buffer_destroyed(void *data, struct vs_dmabuf_buffer *buffer)
{
   struct vgp_buffer *b = wl_container_of(buffer, b, base);
   buffer_free_if_unused(b);
}

struct vgp_buffer *
vgp_buffer_from_resource(struct wl_resource *resource)
{
   struct vs_dmabuf_buffer *buffer = vs_dmabuf_buffer_from_resource(resource);
   struct vgp_buffer *b;
   return buffer ? wl_container_of(buffer, b, base) : NULL;
}

/* --- import ------------------------------------------------------------ */

static bool
buffer_import(void *data, struct vs_dmabuf_buffer *buffer, const struct vs_dmabuf_plane *plane, uint32_t *error,
              char *why, size_t why_size)
{
   struct vgp *p = data;
   struct vgp_buffer *b = wl_container_of(buffer, b, base);
   struct vgp_resource_info info;
   int r = p->drm_fd >= 0 ? vgp_virtgpu_resource(p->drm_fd, plane->fd, &info) : -ENODEV;
   if (r < 0 || info.res_id == 0 || info.blob_mem != VGP_BLOB_MEM_HOST3D) {
      *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER;
      snprintf(why, why_size,
               "not a host blob of this virtio-gpu (%s, blob_mem %u): only Vulkan (Venus) memory is shown",
               r < 0 ? strerror(-r) : "ok", r < 0 ? 0 : info.blob_mem);
      return false;
   }
   uint64_t need = (uint64_t)plane->offset + (uint64_t)plane->stride * (uint64_t)plane->height;
   if (plane->stride < plane->width * 4u || plane->stride % 4 || plane->offset % 4 || need > info.size) {
      *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS;
      snprintf(why, why_size, "offset %u + stride %u x height %u passes resource %u (%u bytes), or the stride is "
               "below width x 4", plane->offset, plane->stride, plane->height, info.res_id, info.size);
      return false;
   }
   b->fd = plane->fd;
   b->res_id = info.res_id;
   b->offset = plane->offset;
   b->stride = plane->stride;
   b->width = plane->width;
   b->height = plane->height;
   b->fourcc = plane->fourcc;
   return true;
}

/* Logged once (the client is gone after its error) and counted. */
static void
buffer_refused(void *data, const char *why)
{
   struct vgp *p = data;
   p->refused_buffers++;
   vs_error(0, "dropping client: dma-buf refused: %s", why);
}

bool
vgp_dmabuf_init(struct vgp *p)
{
   p->dmabuf = (struct vs_dmabuf_config){
      .formats = formats, .format_count = sizeof(formats) / sizeof(formats[0]),
      .format_names = "XRGB8888/ARGB8888", .buffer_size = sizeof(struct vgp_buffer), .import = buffer_import,
      .refused = buffer_refused, .destroyed = buffer_destroyed, .data = p,
   };
   return vs_dmabuf_create(p->display, &p->dmabuf);
}

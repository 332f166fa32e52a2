/* SPDX-License-Identifier: MIT */
/* zwp_linux_dmabuf_v1 v3: one plane, LINEAR, XRGB8888 or ARGB8888 (the
 * channel's formats). Each buffer is resolved once, at creation, to the
 * host resource behind it (virtgpu.c); a dma-buf that is not a host3d blob
 * of this virtio-gpu (so not memory the host's Venus contexts made), or
 * that the image would overrun, is refused with a protocol error and one
 * log line: the host would refuse it anyway, and the client learns why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "present.h"
#include "virtgpu.h"
#include "base/log.h"
#include "linux-dmabuf-unstable-v1-server-protocol.h"

#define FMT_XRGB8888 0x34325258u /* 'XR24' */
#define FMT_ARGB8888 0x34325241u /* 'AR24' */
#define MAX_DIM 16384u

static const uint32_t formats[] = { FMT_XRGB8888, FMT_ARGB8888 };

struct params {
   struct vgp *p;
   int fd;
   uint32_t offset, stride;
   uint64_t modifier;
   bool used;
};

static void
destroy_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

/* --- buffers ----------------------------------------------------------- */

static void
buffer_free_if_unused(struct vgp_buffer *b)
{
   if (b->resource || b->refs)
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
buffer_resource_destroyed(struct wl_resource *resource)
{
   struct vgp_buffer *b = wl_resource_get_user_data(resource);
   b->resource = NULL;
   buffer_free_if_unused(b);
}

static const struct wl_buffer_interface buffer_impl = { .destroy = destroy_resource };

struct vgp_buffer *
vgp_buffer_from_resource(struct wl_resource *resource)
{
   if (!wl_resource_instance_of(resource, &wl_buffer_interface, &buffer_impl))
      return NULL;
   return wl_resource_get_user_data(resource);
}

/* --- params ------------------------------------------------------------ */

static void
params_destroyed(struct wl_resource *resource)
{
   struct params *pa = wl_resource_get_user_data(resource);
   if (pa->fd >= 0)
      close(pa->fd);
   free(pa);
}

static void
params_add(struct wl_client *client, struct wl_resource *resource, int32_t fd, uint32_t plane_idx, uint32_t offset,
           uint32_t stride, uint32_t modifier_hi, uint32_t modifier_lo)
{
   struct params *pa = wl_resource_get_user_data(resource);
   if (pa->used) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used");
   } else if (plane_idx != 0) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_IDX,
                             "plane %u: only single-plane formats are offered", plane_idx);
   } else if (pa->fd >= 0) {
      close(fd);
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_SET, "plane 0 already set");
   } else {
      pa->fd = fd;
      pa->offset = offset;
      pa->stride = stride;
      pa->modifier = ((uint64_t)modifier_hi << 32) | modifier_lo;
   }
}

/* Posts the error, logs it once (the client is gone after it) and counts it. */
static void
refuse(struct params *pa, struct wl_resource *resource, uint32_t code, const char *why)
{
   pa->p->refused_buffers++;
   vs_error(0, "dropping client: dma-buf refused: %s", why);
   wl_resource_post_error(resource, code, "%s", why);
}

static struct vgp_buffer *
params_import(struct wl_resource *resource, int32_t width, int32_t height, uint32_t format)
{
   struct params *pa = wl_resource_get_user_data(resource);
   char why[256];
   if (pa->used) {
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used");
      return NULL;
   }
   pa->used = true;
   if (pa->fd < 0) {
      wl_resource_post_error(resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE, "no plane added");
      return NULL;
   }
   if ((format != FMT_XRGB8888 && format != FMT_ARGB8888) || (pa->modifier != 0 && pa->modifier != 0x00ffffffffffffffull)) {
      snprintf(why, sizeof(why), "format 0x%08x modifier 0x%llx: only LINEAR XRGB8888/ARGB8888", format,
               (unsigned long long)pa->modifier);
      refuse(pa, resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT, why);
      return NULL;
   }
   if (width <= 0 || height <= 0 || (uint32_t)width > MAX_DIM || (uint32_t)height > MAX_DIM) {
      snprintf(why, sizeof(why), "size %dx%d (1..%u)", width, height, MAX_DIM);
      refuse(pa, resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS, why);
      return NULL;
   }
   struct vgp_resource_info info;
   int r = pa->p->drm_fd >= 0 ? vgp_virtgpu_resource(pa->p->drm_fd, pa->fd, &info) : -ENODEV;
   if (r < 0 || info.res_id == 0 || info.blob_mem != VGP_BLOB_MEM_HOST3D) {
      snprintf(why, sizeof(why),
               "not a host blob of this virtio-gpu (%s, blob_mem %u): only Vulkan (Venus) memory is shown",
               r < 0 ? strerror(-r) : "ok", r < 0 ? 0 : info.blob_mem);
      refuse(pa, resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER, why);
      return NULL;
   }
   uint64_t need = (uint64_t)pa->offset + (uint64_t)pa->stride * (uint64_t)height;
   if (pa->stride < (uint32_t)width * 4u || pa->stride % 4 || pa->offset % 4 || need > info.size) {
      snprintf(why, sizeof(why), "offset %u + stride %u x height %d passes resource %u (%u bytes), or the stride is "
               "below width x 4", pa->offset, pa->stride, height, info.res_id, info.size);
      refuse(pa, resource, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS, why);
      return NULL;
   }
   struct vgp_buffer *b = calloc(1, sizeof(*b));
   if (!b) {
      wl_client_post_no_memory(wl_resource_get_client(resource));
      return NULL;
   }
   *b = (struct vgp_buffer){ .fd = pa->fd, .res_id = info.res_id, .offset = pa->offset, .stride = pa->stride,
                             .width = (uint32_t)width, .height = (uint32_t)height, .fourcc = format };
   pa->fd = -1;
   return b;
}

static bool
buffer_create_resource(struct wl_client *client, struct vgp_buffer *b, uint32_t id)
{
   b->resource = wl_resource_create(client, &wl_buffer_interface, 1, id);
   if (!b->resource) {
      buffer_free_if_unused(b);
      wl_client_post_no_memory(client);
      return false;
   }
   wl_resource_set_implementation(b->resource, &buffer_impl, b, buffer_resource_destroyed);
   return true;
}

static void
params_create(struct wl_client *client, struct wl_resource *resource, int32_t width, int32_t height, uint32_t format,
              uint32_t flags)
{
   struct vgp_buffer *b = params_import(resource, width, height, format);
   if (b && buffer_create_resource(client, b, 0))
      zwp_linux_buffer_params_v1_send_created(resource, b->resource);
}

static void
params_create_immed(struct wl_client *client, struct wl_resource *resource, uint32_t id, int32_t width,
                    int32_t height, uint32_t format, uint32_t flags)
{
   struct vgp_buffer *b = params_import(resource, width, height, format);
   if (b)
      buffer_create_resource(client, b, id);
}

static const struct zwp_linux_buffer_params_v1_interface params_impl = {
   .destroy = destroy_resource,
   .add = params_add,
   .create = params_create,
   .create_immed = params_create_immed,
};

/* --- the global -------------------------------------------------------- */

static void
dmabuf_create_params(struct wl_client *client, struct wl_resource *resource, uint32_t id)
{
   struct params *pa = calloc(1, sizeof(*pa));
   struct wl_resource *r =
      pa ? wl_resource_create(client, &zwp_linux_buffer_params_v1_interface, wl_resource_get_version(resource), id)
         : NULL;
   if (!r) {
      free(pa);
      wl_client_post_no_memory(client);
      return;
   }
   pa->p = wl_resource_get_user_data(resource);
   pa->fd = -1;
   wl_resource_set_implementation(r, &params_impl, pa, params_destroyed);
}

static const struct zwp_linux_dmabuf_v1_interface dmabuf_impl = {
   .destroy = destroy_resource,
   .create_params = dmabuf_create_params,
};

static void
bind_dmabuf(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &zwp_linux_dmabuf_v1_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &dmabuf_impl, data, NULL);
   for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
      zwp_linux_dmabuf_v1_send_format(r, formats[i]);
      zwp_linux_dmabuf_v1_send_modifier(r, formats[i], 0, 0); /* LINEAR */
   }
}

bool
vgp_dmabuf_init(struct vgp *p)
{
   return wl_global_create(p->display, &zwp_linux_dmabuf_v1_interface, 3, p, bind_dmabuf) != NULL;
}

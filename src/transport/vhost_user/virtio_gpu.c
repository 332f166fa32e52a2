/* SPDX-License-Identifier: MIT */
/* virtio-gpu's control and cursor queues (virtio_gpu.h). Every command is
 * copied out of guest RAM before it is checked, every id, size, rectangle
 * and backing page is checked before use, and a refused command gets an
 * error response with one log line: the guest's driver goes on. Commands
 * run synchronously; a fenced command of a context's ring is answered
 * once its ring reaches the fence (virtio_gpu_contexts.h), any other
 * fence with the response itself. */
#include "transport/vhost_user/virtio_gpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/edid.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtio_gpu_contexts.h"
#include "transport/vmm/render_client.h"
#include "transport/vhost_user/virtio_gpu_protocol.h"
#include "wire/capset.h"

#define NUM_CAPSETS 1u
#define MAX_RESOURCE_DIM 16384u
/* A 1 GiB resource of 4 KiB pages. */
#define MAX_BACKING_ENTRIES 262144u
/* Refusals logged per device; a guest that keeps sending bad commands
 * does not flood the log. */
#define MAX_LOGGED 32u
#define BPP 4u
/* The largest command stream one SUBMIT_3D carries (Mesa's guest sends
 * its large data through shared memory, not here). */
#define MAX_SUBMIT_BYTES (16u << 20)

/* A guest blob (blob_mem GUEST, what a blob-capable kernel makes its dumb
 * buffers of) lives in its backing pages; its host copy is the scanout
 * rectangle alone, refreshed at each flush, and width/height/stride
 * describe that copy once SET_SCANOUT_BLOB has named it (0 before). */
struct gpu_resource {
   uint32_t id, format, width, height, stride;
   uint8_t *pixels;
   bool blob;
   uint64_t blob_size;
   uint64_t blob_offset; /* the scanout rectangle's first byte in the backing */
   uint32_t blob_stride;
   struct vs_gpu_mem_entry *backing; /* NULL until attached */
   uint32_t backing_count;
   uint64_t backing_len;
};

/* One scanout: its mode (what the guest is told) and what it shows. */
struct gpu_scanout {
   uint32_t mode_width, mode_height;
   uint32_t resource_id; /* 0: disabled */
   struct vs_gpu_rect r;
   /* A host blob on it, shown in place: handed on as a buffer, or mapped
    * read-only here for on_flush. */
   struct {
      bool on;
      const uint8_t *map; /* NULL unless mapped */
      size_t map_size;
      struct vs_virtio_gpu_buffer_frame frame; /* offset: the rectangle's first byte */
   } host;
};

struct vs_virtio_gpu {
   struct vs_virtio_gpu_options options;
   struct vs_vu_device *dev;
   struct vs_gpu_config config;
   struct gpu_scanout scanouts[VS_VIRTIO_GPU_MAX_SCANOUTS]; /* options.scanouts of them */
   struct gpu_resource *resources;
   uint32_t resource_count;
   /* Held for the guest, within options.max_resource_bytes: host copies
    * of resources and their backing entries (up to 4 MiB each). */
   uint64_t resource_bytes;
   struct vs_gpu_contexts *contexts;
   uint8_t *submit;      /* the last SUBMIT_3D's bytes */
   size_t submit_size;
   /* The fenced request just answered: deferred when it is a ring's. */
   struct {
      bool ring;
      uint32_t ctx_id, ring_idx;
   } fence;
   struct vs_virtio_gpu_cursor cursor;
   bool cursor_said;      /* a cursor resource not shown was logged */
   unsigned logged;
   struct vs_vq_chain chain;
};

union gpu_command {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_resource_create_2d create_2d;
   struct vs_gpu_resource_id resource;
   struct vs_gpu_set_scanout set_scanout;
   struct vs_gpu_resource_flush flush;
   struct vs_gpu_transfer_to_host_2d transfer;
   struct vs_gpu_resource_attach_backing attach;
   struct vs_gpu_get_capset_info capset_info;
   struct vs_gpu_get_capset capset;
   struct vs_gpu_get_edid edid;
   struct vs_gpu_update_cursor cursor;
   struct vs_gpu_resource_create_blob create_blob;
   struct vs_gpu_set_scanout_blob set_scanout_blob;
   struct vs_gpu_ctx_create ctx_create;
   struct vs_gpu_ctx_resource ctx_resource;
   struct vs_gpu_cmd_submit submit;
   struct vs_gpu_resource_map_blob map_blob;
   struct vs_gpu_resource_unmap_blob unmap_blob;
};

union gpu_response {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_resp_display_info display;
   struct vs_gpu_resp_capset_info capset_info;
   struct vs_gpu_resp_edid edid;
   struct vs_gpu_resp_map_info map_info;
   uint8_t bytes[sizeof(struct vs_gpu_resp_edid)];
};
_Static_assert(sizeof(struct vs_gpu_hdr) + VS_CAPSET_VENUS_SIZE <= sizeof(union gpu_response), "capset reply");

static void gpu_refuse(struct vs_virtio_gpu *gpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
gpu_refuse(struct vs_virtio_gpu *gpu, const char *fmt, ...)
{
   if (gpu->logged > MAX_LOGGED)
      return;
   char line[256];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(line, sizeof(line), fmt, ap);
   va_end(ap);
   if (gpu->logged++ == MAX_LOGGED)
      vs_warn(0, "virtio-gpu %u: %s (further refusals are not logged)", gpu->options.id, line);
   else
      vs_warn(0, "virtio-gpu %u: %s", gpu->options.id, line);
}

static const char *
command_name(uint32_t type)
{
   switch (type) {
   case VS_GPU_CMD_GET_DISPLAY_INFO: return "GET_DISPLAY_INFO";
   case VS_GPU_CMD_RESOURCE_CREATE_2D: return "RESOURCE_CREATE_2D";
   case VS_GPU_CMD_RESOURCE_UNREF: return "RESOURCE_UNREF";
   case VS_GPU_CMD_SET_SCANOUT: return "SET_SCANOUT";
   case VS_GPU_CMD_RESOURCE_FLUSH: return "RESOURCE_FLUSH";
   case VS_GPU_CMD_TRANSFER_TO_HOST_2D: return "TRANSFER_TO_HOST_2D";
   case VS_GPU_CMD_RESOURCE_ATTACH_BACKING: return "RESOURCE_ATTACH_BACKING";
   case VS_GPU_CMD_RESOURCE_DETACH_BACKING: return "RESOURCE_DETACH_BACKING";
   case VS_GPU_CMD_GET_CAPSET_INFO: return "GET_CAPSET_INFO";
   case VS_GPU_CMD_GET_CAPSET: return "GET_CAPSET";
   case VS_GPU_CMD_GET_EDID: return "GET_EDID";
   case VS_GPU_CMD_RESOURCE_CREATE_BLOB: return "RESOURCE_CREATE_BLOB";
   case VS_GPU_CMD_SET_SCANOUT_BLOB: return "SET_SCANOUT_BLOB";
   case VS_GPU_CMD_CTX_CREATE: return "CTX_CREATE";
   case VS_GPU_CMD_CTX_DESTROY: return "CTX_DESTROY";
   case VS_GPU_CMD_CTX_ATTACH_RESOURCE: return "CTX_ATTACH_RESOURCE";
   case VS_GPU_CMD_CTX_DETACH_RESOURCE: return "CTX_DETACH_RESOURCE";
   case VS_GPU_CMD_SUBMIT_3D: return "SUBMIT_3D";
   case VS_GPU_CMD_RESOURCE_MAP_BLOB: return "RESOURCE_MAP_BLOB";
   case VS_GPU_CMD_RESOURCE_UNMAP_BLOB: return "RESOURCE_UNMAP_BLOB";
   case VS_GPU_CMD_UPDATE_CURSOR: return "UPDATE_CURSOR";
   case VS_GPU_CMD_MOVE_CURSOR: return "MOVE_CURSOR";
   default: return NULL;
   }
}

/* The size of a control command of `type`; 0 for types not served. */
static size_t
control_command_size(uint32_t type)
{
   switch (type) {
   case VS_GPU_CMD_GET_DISPLAY_INFO: return sizeof(struct vs_gpu_hdr);
   case VS_GPU_CMD_RESOURCE_CREATE_2D: return sizeof(struct vs_gpu_resource_create_2d);
   case VS_GPU_CMD_RESOURCE_UNREF:
   case VS_GPU_CMD_RESOURCE_DETACH_BACKING: return sizeof(struct vs_gpu_resource_id);
   case VS_GPU_CMD_SET_SCANOUT: return sizeof(struct vs_gpu_set_scanout);
   case VS_GPU_CMD_RESOURCE_FLUSH: return sizeof(struct vs_gpu_resource_flush);
   case VS_GPU_CMD_TRANSFER_TO_HOST_2D: return sizeof(struct vs_gpu_transfer_to_host_2d);
   case VS_GPU_CMD_RESOURCE_ATTACH_BACKING: return sizeof(struct vs_gpu_resource_attach_backing);
   case VS_GPU_CMD_GET_CAPSET_INFO: return sizeof(struct vs_gpu_get_capset_info);
   case VS_GPU_CMD_GET_CAPSET: return sizeof(struct vs_gpu_get_capset);
   case VS_GPU_CMD_GET_EDID: return sizeof(struct vs_gpu_get_edid);
   case VS_GPU_CMD_RESOURCE_CREATE_BLOB: return sizeof(struct vs_gpu_resource_create_blob);
   case VS_GPU_CMD_SET_SCANOUT_BLOB: return sizeof(struct vs_gpu_set_scanout_blob);
   case VS_GPU_CMD_CTX_CREATE: return sizeof(struct vs_gpu_ctx_create);
   case VS_GPU_CMD_CTX_DESTROY: return sizeof(struct vs_gpu_hdr);
   case VS_GPU_CMD_CTX_ATTACH_RESOURCE:
   case VS_GPU_CMD_CTX_DETACH_RESOURCE: return sizeof(struct vs_gpu_ctx_resource);
   case VS_GPU_CMD_SUBMIT_3D: return sizeof(struct vs_gpu_cmd_submit);
   case VS_GPU_CMD_RESOURCE_MAP_BLOB: return sizeof(struct vs_gpu_resource_map_blob);
   case VS_GPU_CMD_RESOURCE_UNMAP_BLOB: return sizeof(struct vs_gpu_resource_unmap_blob);
   default: return 0;
   }
}

/* Whether a new resource may take `id`: non-zero and no resource's. */
static bool id_taken(struct vs_virtio_gpu *gpu, uint32_t id);

/* Resource `id` (0: none) is on scanout `s` from now on; a host blob that
 * was goes from it. */
static void
show_resource(struct gpu_scanout *s, uint32_t id)
{
   if (s->host.map)
      munmap((void *)s->host.map, s->host.map_size);
   s->host.map = NULL;
   s->host.on = false;
   s->resource_id = id;
}

/* Resource `id` leaves every scanout that shows it. */
static void
hide_resource(struct vs_virtio_gpu *gpu, uint32_t id)
{
   for (uint32_t k = 0; k < gpu->options.scanouts; k++) {
      if (gpu->scanouts[k].resource_id == id)
         show_resource(&gpu->scanouts[k], 0);
   }
}

static struct gpu_resource *
find_resource(struct vs_virtio_gpu *gpu, uint32_t id)
{
   for (uint32_t i = 0; id && i < gpu->resource_count; i++) {
      if (gpu->resources[i].id == id)
         return &gpu->resources[i];
   }
   return NULL;
}

/* Whether rectangle r lies inside the resource (in 64 bits: no wrap). */
bool
vs_virtio_gpu_format_order(uint32_t format, uint8_t bgr[3])
{
   static const struct {
      uint32_t format;
      uint8_t b, g, r;
   } orders[] = {
      { VS_GPU_FORMAT_B8G8R8A8_UNORM, 0, 1, 2 }, { VS_GPU_FORMAT_B8G8R8X8_UNORM, 0, 1, 2 },
      { VS_GPU_FORMAT_A8R8G8B8_UNORM, 3, 2, 1 }, { VS_GPU_FORMAT_X8R8G8B8_UNORM, 3, 2, 1 },
      { VS_GPU_FORMAT_R8G8B8A8_UNORM, 2, 1, 0 }, { VS_GPU_FORMAT_R8G8B8X8_UNORM, 2, 1, 0 },
      { VS_GPU_FORMAT_X8B8G8R8_UNORM, 1, 2, 3 }, { VS_GPU_FORMAT_A8B8G8R8_UNORM, 1, 2, 3 },
   };
   for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
      if (orders[i].format == format) {
         bgr[0] = orders[i].b;
         bgr[1] = orders[i].g;
         bgr[2] = orders[i].r;
         return true;
      }
   }
   return false;
}

static bool
format_served(uint32_t format)
{
   uint8_t bgr[3];
   return vs_virtio_gpu_format_order(format, bgr);
}

static bool
rect_inside(const struct vs_gpu_rect *r, const struct gpu_resource *res)
{
   return (uint64_t)r->x + r->width <= res->width && (uint64_t)r->y + r->height <= res->height;
}

/* The resource a command names, or NULL after refusing it. */
static struct gpu_resource *
resource_of(struct vs_virtio_gpu *gpu, const char *name, uint32_t id, uint32_t *status)
{
   struct gpu_resource *res = find_resource(gpu, id);
   if (!res) {
      gpu_refuse(gpu, "%s of resource %u, which does not exist", name, id);
      *status = VS_GPU_RESP_ERR_INVALID_RESOURCE_ID;
   }
   return res;
}

static uint32_t
create_2d(struct vs_virtio_gpu *gpu, const struct vs_gpu_resource_create_2d *c)
{
   if (id_taken(gpu, c->resource_id)) {
      gpu_refuse(gpu, "RESOURCE_CREATE_2D of resource %u, %s", c->resource_id,
                 c->resource_id ? "which exists" : "an invalid id");
      return VS_GPU_RESP_ERR_INVALID_RESOURCE_ID;
   }
   if (!format_served(c->format) || c->width == 0 || c->height == 0 || c->width > MAX_RESOURCE_DIM ||
       c->height > MAX_RESOURCE_DIM) {
      gpu_refuse(gpu, "RESOURCE_CREATE_2D of format %u, %ux%u (formats 1-4, 67, 68, 121, 134; 1..%u pixels a side)",
                 c->format, c->width, c->height, MAX_RESOURCE_DIM);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   const uint64_t bytes = (uint64_t)c->width * c->height * BPP;
   if (gpu->resource_count >= gpu->options.max_resources ||
       bytes > gpu->options.max_resource_bytes - gpu->resource_bytes) {
      gpu_refuse(gpu, "RESOURCE_CREATE_2D of %llu bytes: the device holds %u resources of %llu bytes (at most %u "
                 "of %llu)", (unsigned long long)bytes, gpu->resource_count,
                 (unsigned long long)gpu->resource_bytes, gpu->options.max_resources,
                 (unsigned long long)gpu->options.max_resource_bytes);
      return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
   }
   uint8_t *pixels = calloc(1, (size_t)bytes);
   if (!pixels) {
      gpu_refuse(gpu, "RESOURCE_CREATE_2D of %llu bytes: out of memory", (unsigned long long)bytes);
      return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
   }
   gpu->resources[gpu->resource_count++] = (struct gpu_resource){
      .id = c->resource_id,
      .format = c->format,
      .width = c->width,
      .height = c->height,
      .stride = c->width * BPP,
      .pixels = pixels,
   };
   gpu->resource_bytes += bytes;
   return VS_GPU_RESP_OK_NODATA;
}

/* The bytes a resource's list of `count` backing entries holds. */
static uint64_t
backing_bytes(uint32_t count)
{
   return (uint64_t)count * sizeof(struct vs_gpu_mem_entry);
}

static void
detach(struct vs_virtio_gpu *gpu, struct gpu_resource *res)
{
   gpu->resource_bytes -= backing_bytes(res->backing_count);
   free(res->backing);
   res->backing = NULL;
   res->backing_count = 0;
   res->backing_len = 0;
}

static uint32_t
unref(struct vs_virtio_gpu *gpu, const struct vs_gpu_resource_id *c)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   if (vs_gpu_contexts_has_blob(gpu->contexts, c->resource_id)) {
      hide_resource(gpu, c->resource_id);
      struct vs_gpu_refusal refusal = { { 0 } };
      vs_gpu_contexts_unref_blob(gpu->contexts, gpu->dev, c->resource_id, &refusal);
      if (refusal.why[0])
         gpu_refuse(gpu, "RESOURCE_UNREF: %s", refusal.why);
      return status;
   }
   struct gpu_resource *res = resource_of(gpu, "RESOURCE_UNREF", c->resource_id, &status);
   if (!res)
      return status;
   hide_resource(gpu, res->id);
   detach(gpu, res);
   free(res->pixels);
   gpu->resource_bytes -= (uint64_t)res->stride * res->height;
   *res = gpu->resources[--gpu->resource_count];
   return status;
}

/* Reads the nr_entries backing entries that follow a command of `header`
 * bytes and checks each lies in guest RAM and the list within the
 * device's bytes; NULL after refusing them. The caller counts the list's
 * bytes (backing_bytes) once it keeps it. */
static struct vs_gpu_mem_entry *
read_entries(struct vs_virtio_gpu *gpu, const char *name, uint32_t id, size_t header, uint32_t nr_entries,
             uint64_t *total, uint32_t *status)
{
   const uint64_t entries_len = backing_bytes(nr_entries);
   if (nr_entries == 0 || nr_entries > MAX_BACKING_ENTRIES || gpu->chain.readable_len < header + entries_len) {
      gpu_refuse(gpu, "%s of %u entries (1..%u, all in the command) to resource %u", name, nr_entries,
                 MAX_BACKING_ENTRIES, id);
      *status = VS_GPU_RESP_ERR_INVALID_PARAMETER;
      return NULL;
   }
   if (entries_len > gpu->options.max_resource_bytes - gpu->resource_bytes) {
      gpu_refuse(gpu, "%s of %u entries (%llu bytes) to resource %u: the device holds %llu bytes of resources and "
                 "backing (at most %llu)", name, nr_entries, (unsigned long long)entries_len, id,
                 (unsigned long long)gpu->resource_bytes, (unsigned long long)gpu->options.max_resource_bytes);
      *status = VS_GPU_RESP_ERR_OUT_OF_MEMORY;
      return NULL;
   }
   struct vs_gpu_mem_entry *entries = malloc((size_t)entries_len);
   if (!entries) {
      *status = VS_GPU_RESP_ERR_OUT_OF_MEMORY;
      return NULL;
   }
   vs_vq_chain_read(&gpu->chain, header, entries, (size_t)entries_len);
   const struct vs_guest_memory *mem = vs_vu_device_memory(gpu->dev);
   *total = 0;
   for (uint32_t i = 0; i < nr_entries; i++) {
      struct iovec iov[VS_VU_MEM_REGIONS_MAX];
      unsigned n = 0;
      if (!vs_guest_memory_gpa_iov(mem, entries[i].addr, entries[i].length, iov, &n, VS_VU_MEM_REGIONS_MAX)) {
         gpu_refuse(gpu, "%s to resource %u: entry %u of %u bytes at guest 0x%llx is outside guest RAM", name, id, i,
                    entries[i].length, (unsigned long long)entries[i].addr);
         free(entries);
         *status = VS_GPU_RESP_ERR_INVALID_PARAMETER;
         return NULL;
      }
      *total += entries[i].length;
   }
   return entries;
}

static uint32_t
attach_backing(struct vs_virtio_gpu *gpu, const struct vs_gpu_resource_attach_backing *c)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   struct gpu_resource *res = resource_of(gpu, "RESOURCE_ATTACH_BACKING", c->resource_id, &status);
   if (!res)
      return status;
   if (res->backing) {
      gpu_refuse(gpu, "RESOURCE_ATTACH_BACKING to resource %u, which has backing", res->id);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   uint64_t total;
   struct vs_gpu_mem_entry *entries =
      read_entries(gpu, "RESOURCE_ATTACH_BACKING", res->id, sizeof(*c), c->nr_entries, &total, &status);
   if (!entries)
      return status;
   res->backing = entries;
   res->backing_count = c->nr_entries;
   res->backing_len = total;
   gpu->resource_bytes += backing_bytes(c->nr_entries);
   return status;
}

static bool
id_taken(struct vs_virtio_gpu *gpu, uint32_t id)
{
   return id == 0 || find_resource(gpu, id) || vs_gpu_contexts_has_blob(gpu->contexts, id);
}


/* Guest blobs live here; host blobs belong to Venus contexts. */
static uint32_t
create_blob(struct vs_virtio_gpu *gpu, const struct vs_gpu_resource_create_blob *c)
{
   if (id_taken(gpu, c->resource_id)) {
      gpu_refuse(gpu, "RESOURCE_CREATE_BLOB of resource %u, %s", c->resource_id,
                 c->resource_id ? "which exists" : "an invalid id");
      return VS_GPU_RESP_ERR_INVALID_RESOURCE_ID;
   }
   if (c->blob_mem != VS_GPU_BLOB_MEM_GUEST || c->size == 0) {
      gpu_refuse(gpu, "RESOURCE_CREATE_BLOB of blob_mem %u, %llu bytes (only guest blobs of 1 byte or more)",
                 c->blob_mem, (unsigned long long)c->size);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   if (gpu->resource_count >= gpu->options.max_resources) {
      gpu_refuse(gpu, "RESOURCE_CREATE_BLOB: the device holds %u resources (at most %u)", gpu->resource_count,
                 gpu->options.max_resources);
      return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
   }
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   uint64_t total;
   struct vs_gpu_mem_entry *entries =
      read_entries(gpu, "RESOURCE_CREATE_BLOB", c->resource_id, sizeof(*c), c->nr_entries, &total, &status);
   if (!entries)
      return status;
   if (total < c->size) {
      gpu_refuse(gpu, "RESOURCE_CREATE_BLOB of %llu bytes on %llu bytes of backing", (unsigned long long)c->size,
                 (unsigned long long)total);
      free(entries);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   gpu->resources[gpu->resource_count++] = (struct gpu_resource){
      .id = c->resource_id,
      .blob = true,
      .blob_size = c->size,
      .backing = entries,
      .backing_count = c->nr_entries,
      .backing_len = total,
   };
   gpu->resource_bytes += backing_bytes(c->nr_entries);
   return status;
}

/* Copies `len` bytes at `offset` of the resource's backing into dst. The
 * pages are translated at each use: the mem table may have changed since
 * they were attached. `*entry`/`*entry_start` carry the position between
 * calls of ascending offsets. */
static bool
read_backing(const struct vs_guest_memory *mem, const struct gpu_resource *res, uint32_t *entry,
             uint64_t *entry_start, uint64_t offset, uint8_t *dst, uint64_t len)
{
   while (len) {
      if (*entry >= res->backing_count)
         return false;
      const struct vs_gpu_mem_entry *e = &res->backing[*entry];
      if (offset >= *entry_start + e->length) {
         *entry_start += e->length;
         (*entry)++;
         continue;
      }
      const uint64_t within = offset - *entry_start;
      const uint64_t part = len < e->length - within ? len : e->length - within;
      struct iovec iov[VS_VU_MEM_REGIONS_MAX];
      unsigned n = 0;
      if (!vs_guest_memory_gpa_iov(mem, e->addr + within, part, iov, &n, VS_VU_MEM_REGIONS_MAX))
         return false;
      for (unsigned i = 0; i < n; i++) {
         memcpy(dst, iov[i].iov_base, iov[i].iov_len);
         dst += iov[i].iov_len;
      }
      offset += part;
      len -= part;
   }
   return true;
}

static uint32_t
transfer_to_host_2d(struct vs_virtio_gpu *gpu, const struct vs_gpu_transfer_to_host_2d *c)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   struct gpu_resource *res = resource_of(gpu, "TRANSFER_TO_HOST_2D", c->resource_id, &status);
   if (!res || res->blob) /* a blob's pixels stay in guest RAM until a flush */
      return status;
   const struct vs_gpu_rect *r = &c->r;
   if (!res->backing || !rect_inside(r, res)) {
      gpu_refuse(gpu, "TRANSFER_TO_HOST_2D of %ux%u at %u,%u to resource %u of %ux%u%s", r->width, r->height, r->x,
                 r->y, res->id, res->width, res->height, res->backing ? "" : " without backing");
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   if (r->width == 0 || r->height == 0)
      return status;
   const uint64_t row = (uint64_t)r->width * BPP;
   const uint64_t span = (uint64_t)(r->height - 1) * res->stride + row;
   if (c->offset > res->backing_len || span > res->backing_len - c->offset) {
      gpu_refuse(gpu, "TRANSFER_TO_HOST_2D of %llu bytes at offset %llu of resource %u's %llu bytes of backing",
                 (unsigned long long)span, (unsigned long long)c->offset, res->id,
                 (unsigned long long)res->backing_len);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   const struct vs_guest_memory *mem = vs_vu_device_memory(gpu->dev);
   uint32_t entry = 0;
   uint64_t entry_start = 0;
   for (uint32_t y = 0; y < r->height; y++) {
      uint8_t *dst = res->pixels + (uint64_t)(r->y + y) * res->stride + (uint64_t)r->x * BPP;
      if (!read_backing(mem, res, &entry, &entry_start, c->offset + (uint64_t)y * res->stride, dst, row)) {
         gpu_refuse(gpu, "TRANSFER_TO_HOST_2D to resource %u: its backing is no longer in guest RAM", res->id);
         return VS_GPU_RESP_ERR_INVALID_PARAMETER;
      }
   }
   return status;
}

static uint32_t
set_scanout(struct vs_virtio_gpu *gpu, const struct vs_gpu_set_scanout *c)
{
   if (c->scanout_id >= gpu->options.scanouts) {
      gpu_refuse(gpu, "SET_SCANOUT of scanout %u (the device has %u)", c->scanout_id, gpu->options.scanouts);
      return VS_GPU_RESP_ERR_INVALID_SCANOUT_ID;
   }
   struct gpu_scanout *s = &gpu->scanouts[c->scanout_id];
   if (c->resource_id == 0) {
      show_resource(s, 0);
      return VS_GPU_RESP_OK_NODATA;
   }
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   struct gpu_resource *res = resource_of(gpu, "SET_SCANOUT", c->resource_id, &status);
   if (!res)
      return status;
   if (res->blob || c->r.width == 0 || c->r.height == 0 || !rect_inside(&c->r, res)) {
      gpu_refuse(gpu, "SET_SCANOUT of %ux%u at %u,%u of resource %u of %ux%u%s", c->r.width, c->r.height, c->r.x,
                 c->r.y, res->id, res->width, res->height, res->blob ? " (a blob)" : "");
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   show_resource(s, res->id);
   s->r = c->r;
   return status;
}

/* Whether SET_SCANOUT_BLOB's rectangle, format and layout fit a blob of
 * `size` bytes; *first is then the rectangle's first byte. A host blob,
 * read in place by the display, is B8G8R8X8 or B8G8R8A8; a guest blob's
 * copy is converted: any format served. */
static bool
scanout_blob_fits(const struct vs_gpu_set_scanout_blob *c, bool host, uint64_t size, uint64_t *first)
{
   const struct vs_gpu_rect *r = &c->r;
   const uint64_t row = (uint64_t)r->width * BPP;
   /* In 64 bits: the last row's end, which must lie inside the blob. */
   *first = c->offsets[0] + (uint64_t)r->y * c->strides[0] + (uint64_t)r->x * BPP;
   const bool format_ok = host ? c->format == VS_GPU_FORMAT_B8G8R8X8_UNORM || c->format == VS_GPU_FORMAT_B8G8R8A8_UNORM
                               : format_served(c->format);
   return format_ok && c->width != 0 && c->height != 0 && c->width <= MAX_RESOURCE_DIM && c->height <= MAX_RESOURCE_DIM &&
          r->width != 0 && r->height != 0 && (uint64_t)r->x + r->width <= c->width &&
          (uint64_t)r->y + r->height <= c->height && c->strides[0] >= (uint64_t)c->width * BPP &&
          *first + (uint64_t)(r->height - 1) * c->strides[0] + row <= size;
}

/* A host blob (a Venus context's memory) on the scanout: its frames are
 * handed on in place, or read from a read-only mapping here. */
static uint32_t
set_scanout_host_blob(struct vs_virtio_gpu *gpu, struct gpu_scanout *s, const struct vs_gpu_set_scanout_blob *c)
{
   uint64_t size = 0, first, serial = 0;
   const int fd = vs_gpu_contexts_blob_fd(gpu->contexts, c->resource_id, &size, &serial);
   if (fd < 0 || !scanout_blob_fits(c, true, size, &first)) {
      gpu_refuse(gpu, "SET_SCANOUT_BLOB of %ux%u at %u,%u of host blob %u as %ux%u, format %u, stride %u, offset %u "
                 "(%llu bytes%s)", c->r.width, c->r.height, c->r.x, c->r.y, c->resource_id, c->width, c->height,
                 c->format, c->strides[0], c->offsets[0], (unsigned long long)size,
                 fd < 0 ? ", not mappable" : "");
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   /* Each frame is read (copied, or mapped and copied by the display) in
    * full: no larger than the largest mode, as a 2D or guest blob frame's
    * copy. */
   if ((uint64_t)c->r.width * c->r.height > gpu->options.max_pixels) {
      gpu_refuse(gpu, "SET_SCANOUT_BLOB of %ux%u of host blob %u: more than the scanout's %llu pixels", c->r.width,
                 c->r.height, c->resource_id, (unsigned long long)gpu->options.max_pixels);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   const size_t page = os_page_size();
   const size_t map_size = (size_t)((size + page - 1) / page * page);
   void *map = NULL;
   if (!gpu->options.on_flush_buffer && (map = mmap(NULL, map_size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
      gpu_refuse(gpu, "SET_SCANOUT_BLOB of host blob %u: cannot map its %llu bytes: %s", c->resource_id,
                 (unsigned long long)size, strerror(errno));
      return VS_GPU_RESP_ERR_UNSPEC;
   }
   if (s->resource_id != c->resource_id)
      vs_debug(0, "virtio-gpu %u: scanout %u shows host blob %u (%ux%u, stride %u), in place", gpu->options.id,
               c->scanout_id, c->resource_id, c->r.width, c->r.height, c->strides[0]);
   show_resource(s, c->resource_id);
   s->host.on = true;
   s->host.map = map;
   s->host.map_size = map_size;
   s->host.frame = (struct vs_virtio_gpu_buffer_frame){
      .buffer = serial, .fd = fd, .size = size, .offset = first, .stride = c->strides[0], .width = c->r.width,
      .height = c->r.height,
   };
   s->r = (struct vs_gpu_rect){ 0, 0, c->r.width, c->r.height };
   return VS_GPU_RESP_OK_NODATA;
}

static uint32_t
set_scanout_blob(struct vs_virtio_gpu *gpu, const struct vs_gpu_set_scanout_blob *c)
{
   if (c->scanout_id >= gpu->options.scanouts) {
      gpu_refuse(gpu, "SET_SCANOUT_BLOB of scanout %u (the device has %u)", c->scanout_id, gpu->options.scanouts);
      return VS_GPU_RESP_ERR_INVALID_SCANOUT_ID;
   }
   struct gpu_scanout *s = &gpu->scanouts[c->scanout_id];
   if (c->resource_id == 0) {
      show_resource(s, 0);
      return VS_GPU_RESP_OK_NODATA;
   }
   if (vs_gpu_contexts_has_blob(gpu->contexts, c->resource_id))
      return set_scanout_host_blob(gpu, s, c);
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   struct gpu_resource *res = resource_of(gpu, "SET_SCANOUT_BLOB", c->resource_id, &status);
   if (!res)
      return status;
   const struct vs_gpu_rect *r = &c->r;
   const uint64_t row = (uint64_t)r->width * BPP;
   uint64_t first;
   if (!res->blob || !scanout_blob_fits(c, false, res->blob_size, &first)) {
      gpu_refuse(gpu, "SET_SCANOUT_BLOB of %ux%u at %u,%u of resource %u as %ux%u, format %u, stride %u, offset %u "
                 "(%s%llu bytes)", r->width, r->height, r->x, r->y, res->id, c->width, c->height, c->format,
                 c->strides[0], c->offsets[0], res->blob ? "a blob of " : "not a blob, ",
                 (unsigned long long)res->blob_size);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   const uint64_t old = (uint64_t)res->stride * res->height, bytes = row * r->height;
   if (bytes != old) {
      if (bytes > gpu->options.max_resource_bytes - (gpu->resource_bytes - old)) {
         gpu_refuse(gpu, "SET_SCANOUT_BLOB of %llu bytes: the device holds %llu bytes of resources (at most %llu)",
                    (unsigned long long)bytes, (unsigned long long)gpu->resource_bytes,
                    (unsigned long long)gpu->options.max_resource_bytes);
         return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
      }
      uint8_t *pixels = calloc(1, (size_t)bytes);
      if (!pixels)
         return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
      free(res->pixels);
      res->pixels = pixels;
      gpu->resource_bytes = gpu->resource_bytes - old + bytes;
   }
   res->format = c->format;
   res->width = r->width;
   res->height = r->height;
   res->stride = (uint32_t)row;
   res->blob_offset = first;
   res->blob_stride = c->strides[0];
   show_resource(s, res->id);
   s->r = (struct vs_gpu_rect){ 0, 0, r->width, r->height };
   return status;
}

/* A blob on the scanout: its rectangle, from guest RAM into the host copy. */
static bool
refresh_blob(struct vs_virtio_gpu *gpu, struct gpu_resource *res)
{
   const struct vs_guest_memory *mem = vs_vu_device_memory(gpu->dev);
   uint32_t entry = 0;
   uint64_t entry_start = 0;
   for (uint32_t y = 0; y < res->height; y++) {
      if (!read_backing(mem, res, &entry, &entry_start, res->blob_offset + (uint64_t)y * res->blob_stride,
                        res->pixels + (uint64_t)y * res->stride, res->stride))
         return false;
   }
   return true;
}

/* Whether scanout `k` shows resource `id`, and a flush there goes anywhere. */
static bool
flushed_on(const struct vs_virtio_gpu *gpu, uint32_t k, uint32_t id)
{
   return gpu->scanouts[k].resource_id == id && gpu->options.on_flush;
}

/* Scanout `k`'s host blob, its frame handed on. */
static void
show_host_blob(struct vs_virtio_gpu *gpu, uint32_t k)
{
   const struct gpu_scanout *s = &gpu->scanouts[k];
   const struct vs_virtio_gpu_buffer_frame *f = &s->host.frame;
   if (gpu->options.on_flush_buffer)
      gpu->options.on_flush_buffer(gpu->options.flush_data, k, f);
   else if (gpu->options.on_flush)
      gpu->options.on_flush(gpu->options.flush_data, k, s->host.map + f->offset, f->width, f->height, f->stride,
                            VS_GPU_FORMAT_B8G8R8X8_UNORM);
}

/* A host blob's flush: each scanout showing it hands its frame on. */
static void
flush_host_blob(struct vs_virtio_gpu *gpu, uint32_t id)
{
   /* The guest waited for its rendering before the flush (the fence of
    * its submission, implicitly or not): the blob holds the frame. */
   for (uint32_t k = 0; k < gpu->options.scanouts; k++)
      if (gpu->scanouts[k].resource_id == id && gpu->scanouts[k].host.on)
         show_host_blob(gpu, k);
}

/* Scanout `k`'s frame from resource `res`'s host copy: a guest blob's
 * rectangle (refreshed by its flush), or a 2D resource's. */
static void
show_copy(struct vs_virtio_gpu *gpu, uint32_t k, const struct gpu_resource *res)
{
   const struct vs_gpu_rect *r = &gpu->scanouts[k].r;
   if (res->blob)
      gpu->options.on_flush(gpu->options.flush_data, k, res->pixels, res->width, res->height, res->stride,
                            res->format);
   else
      gpu->options.on_flush(gpu->options.flush_data, k,
                            res->pixels + (uint64_t)r->y * res->stride + (uint64_t)r->x * BPP, r->width, r->height,
                            res->stride, res->format);
}

static uint32_t
resource_flush(struct vs_virtio_gpu *gpu, const struct vs_gpu_resource_flush *c)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   if (vs_gpu_contexts_has_blob(gpu->contexts, c->resource_id)) {
      flush_host_blob(gpu, c->resource_id);
      return status;
   }
   struct gpu_resource *res = resource_of(gpu, "RESOURCE_FLUSH", c->resource_id, &status);
   if (!res)
      return status;
   if (res->blob) {
      /* The guest flushes blobs it has not yet scanned out: nothing to
       * show. Its host copy is refreshed once for every scanout showing it. */
      bool refreshed = false;
      for (uint32_t k = 0; k < gpu->options.scanouts; k++) {
         if (!flushed_on(gpu, k, res->id))
            continue;
         if (!refreshed && !refresh_blob(gpu, res)) {
            gpu_refuse(gpu, "RESOURCE_FLUSH of resource %u: its backing is no longer in guest RAM", res->id);
            return VS_GPU_RESP_ERR_INVALID_PARAMETER;
         }
         refreshed = true;
         show_copy(gpu, k, res);
      }
      return status;
   }
   if (!rect_inside(&c->r, res)) {
      gpu_refuse(gpu, "RESOURCE_FLUSH of %ux%u at %u,%u of resource %u of %ux%u", c->r.width, c->r.height, c->r.x,
                 c->r.y, res->id, res->width, res->height);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   for (uint32_t k = 0; k < gpu->options.scanouts; k++)
      if (flushed_on(gpu, k, res->id))
         show_copy(gpu, k, res);
   return status;
}

static size_t
display_info(struct vs_virtio_gpu *gpu, union gpu_response *resp)
{
   resp->display.hdr.type = VS_GPU_RESP_OK_DISPLAY_INFO;
   for (uint32_t k = 0; k < gpu->options.scanouts; k++) {
      resp->display.pmodes[k] = (struct vs_gpu_display_one){
         .r = { 0, 0, gpu->scanouts[k].mode_width, gpu->scanouts[k].mode_height },
         .enabled = 1,
      };
   }
   return sizeof(resp->display);
}

static size_t
get_edid(struct vs_virtio_gpu *gpu, const struct vs_gpu_get_edid *c, union gpu_response *resp)
{
   if (c->scanout >= gpu->options.scanouts) {
      gpu_refuse(gpu, "GET_EDID of scanout %u (the device has %u)", c->scanout, gpu->options.scanouts);
      resp->hdr.type = VS_GPU_RESP_ERR_INVALID_SCANOUT_ID;
      return sizeof(resp->hdr);
   }
   resp->edid.hdr.type = VS_GPU_RESP_OK_EDID;
   resp->edid.size = VS_EDID_SIZE;
   vs_edid_build(gpu->scanouts[c->scanout].mode_width, gpu->scanouts[c->scanout].mode_height, resp->edid.edid);
   return sizeof(resp->edid);
}

static size_t
capset_info(struct vs_virtio_gpu *gpu, const struct vs_gpu_get_capset_info *c, union gpu_response *resp)
{
   if (c->capset_index >= NUM_CAPSETS) {
      gpu_refuse(gpu, "GET_CAPSET_INFO of capset index %u (the device has %u)", c->capset_index, NUM_CAPSETS);
      resp->hdr.type = VS_GPU_RESP_ERR_INVALID_PARAMETER;
      return sizeof(resp->hdr);
   }
   resp->capset_info.hdr.type = VS_GPU_RESP_OK_CAPSET_INFO;
   resp->capset_info.capset_id = VS_CAPSET_VENUS;
   resp->capset_info.capset_max_version = 0;
   resp->capset_info.capset_max_size = VS_CAPSET_VENUS_SIZE;
   return sizeof(resp->capset_info);
}

static size_t
get_capset(struct vs_virtio_gpu *gpu, const struct vs_gpu_get_capset *c, union gpu_response *resp)
{
   if (!vs_capset_get(c->capset_id, c->capset_version, resp->bytes + sizeof(resp->hdr), VS_CAPSET_VENUS_SIZE)) {
      gpu_refuse(gpu, "GET_CAPSET of capset %u version %u (capset %u version 0 only)", c->capset_id,
                 c->capset_version, VS_CAPSET_VENUS);
      resp->hdr.type = VS_GPU_RESP_ERR_INVALID_PARAMETER;
      return sizeof(resp->hdr);
   }
   resp->hdr.type = VS_GPU_RESP_OK_CAPSET;
   return sizeof(resp->hdr) + VS_CAPSET_VENUS_SIZE;
}

/* SUBMIT_3D: the stream follows the command in the chain. An empty one
 * only carries its fence (a guest's sync-only submission). */
static uint32_t
submit_3d(struct vs_virtio_gpu *gpu, const struct vs_gpu_cmd_submit *c, struct vs_gpu_refusal *refusal)
{
   const uint64_t available = gpu->chain.readable_len - sizeof(*c);
   if (c->num_in_fences || c->size % 4 || c->size > MAX_SUBMIT_BYTES || c->size > available) {
      snprintf(refusal->why, sizeof(refusal->why),
               "%u bytes with %u in-fences in context %u (0..%u bytes, a multiple of 4, all in the command: %llu; "
               "no in-fences)", c->size, c->num_in_fences, c->hdr.ctx_id, MAX_SUBMIT_BYTES,
               (unsigned long long)available);
      return VS_GPU_RESP_ERR_INVALID_PARAMETER;
   }
   if (gpu->submit_size < c->size) {
      uint8_t *bigger = realloc(gpu->submit, c->size);
      if (!bigger) {
         snprintf(refusal->why, sizeof(refusal->why), "%u bytes: out of memory", c->size);
         return VS_GPU_RESP_ERR_OUT_OF_MEMORY;
      }
      gpu->submit = bigger;
      gpu->submit_size = c->size;
   }
   vs_vq_chain_read(&gpu->chain, sizeof(*c), gpu->submit, c->size);
   return vs_gpu_contexts_submit(gpu->contexts, c->hdr.ctx_id, gpu->submit, c->size, refusal);
}

/* The context commands; the response's type. */
static uint32_t
context_command(struct vs_virtio_gpu *gpu, const union gpu_command *cmd, union gpu_response *resp, size_t *resp_size)
{
   struct vs_gpu_refusal refusal = { { 0 } };
   uint32_t status = VS_GPU_RESP_ERR_UNSPEC;
   const uint32_t ctx_id = cmd->hdr.ctx_id;
   switch (cmd->hdr.type) {
   case VS_GPU_CMD_CTX_CREATE:
      status = vs_gpu_contexts_create_context(gpu->contexts, &cmd->ctx_create, &refusal);
      break;
   case VS_GPU_CMD_CTX_DESTROY:
      status = vs_gpu_contexts_destroy_context(gpu->contexts, ctx_id, &refusal);
      break;
   case VS_GPU_CMD_CTX_ATTACH_RESOURCE:
   case VS_GPU_CMD_CTX_DETACH_RESOURCE:
      status = vs_gpu_contexts_check_context(gpu->contexts, ctx_id, &refusal);
      if (status == VS_GPU_RESP_OK_NODATA && !id_taken(gpu, cmd->ctx_resource.resource_id)) {
         snprintf(refusal.why, sizeof(refusal.why), "resource %u does not exist", cmd->ctx_resource.resource_id);
         status = VS_GPU_RESP_ERR_INVALID_RESOURCE_ID;
      } else if (status == VS_GPU_RESP_OK_NODATA) {
         status = cmd->hdr.type == VS_GPU_CMD_CTX_ATTACH_RESOURCE
                     ? vs_gpu_contexts_attach(gpu->contexts, ctx_id, cmd->ctx_resource.resource_id, &refusal)
                     : vs_gpu_contexts_detach(gpu->contexts, ctx_id, cmd->ctx_resource.resource_id, &refusal);
      }
      break;
   case VS_GPU_CMD_SUBMIT_3D:
      status = submit_3d(gpu, &cmd->submit, &refusal);
      break;
   case VS_GPU_CMD_RESOURCE_CREATE_BLOB:
      if (id_taken(gpu, cmd->create_blob.resource_id)) {
         snprintf(refusal.why, sizeof(refusal.why), "resource %u: %s", cmd->create_blob.resource_id,
                  cmd->create_blob.resource_id ? "it exists" : "an invalid id");
         status = VS_GPU_RESP_ERR_INVALID_RESOURCE_ID;
      } else {
         status = vs_gpu_contexts_create_blob(gpu->contexts, &cmd->create_blob, &refusal);
      }
      break;
   case VS_GPU_CMD_RESOURCE_MAP_BLOB:
      status = vs_gpu_contexts_map_blob(gpu->contexts, gpu->dev, cmd->map_blob.resource_id, cmd->map_blob.offset,
                                        &resp->map_info.map_info, &refusal);
      if (status == VS_GPU_RESP_OK_MAP_INFO)
         *resp_size = sizeof(resp->map_info);
      break;
   case VS_GPU_CMD_RESOURCE_UNMAP_BLOB:
      status = vs_gpu_contexts_unmap_blob(gpu->contexts, gpu->dev, cmd->unmap_blob.resource_id, &refusal);
      break;
   }
   if (refusal.why[0])
      gpu_refuse(gpu, "%s: %s", command_name(cmd->hdr.type), refusal.why);
   return status;
}

/* Runs the control command in gpu->chain and writes its response. The
 * bytes written into the chain. */
static uint32_t
control_command(struct vs_virtio_gpu *gpu)
{
   union gpu_command cmd;
   union gpu_response resp;
   memset(&cmd, 0, sizeof(cmd));
   memset(&resp, 0, sizeof(resp));
   size_t resp_size = sizeof(resp.hdr);
   const size_t got = vs_vq_chain_read(&gpu->chain, 0, &cmd, sizeof(cmd));
   const char *name = command_name(cmd.hdr.type);
   const size_t size = control_command_size(cmd.hdr.type);
   if (got < sizeof(cmd.hdr)) {
      gpu_refuse(gpu, "a control command of %zu bytes (a header is %zu)", got, sizeof(cmd.hdr));
      resp.hdr.type = VS_GPU_RESP_ERR_UNSPEC;
   } else if (size == 0) {
      gpu_refuse(gpu, "control command 0x%x is not served", cmd.hdr.type);
      resp.hdr.type = VS_GPU_RESP_ERR_UNSPEC;
   } else if (got < size) {
      gpu_refuse(gpu, "%s of %zu bytes (%zu expected)", name, got, size);
      resp.hdr.type = VS_GPU_RESP_ERR_INVALID_PARAMETER;
   } else {
      switch (cmd.hdr.type) {
      case VS_GPU_CMD_GET_DISPLAY_INFO: resp_size = display_info(gpu, &resp); break;
      case VS_GPU_CMD_GET_EDID: resp_size = get_edid(gpu, &cmd.edid, &resp); break;
      case VS_GPU_CMD_GET_CAPSET_INFO: resp_size = capset_info(gpu, &cmd.capset_info, &resp); break;
      case VS_GPU_CMD_GET_CAPSET: resp_size = get_capset(gpu, &cmd.capset, &resp); break;
      case VS_GPU_CMD_RESOURCE_CREATE_2D: resp.hdr.type = create_2d(gpu, &cmd.create_2d); break;
      case VS_GPU_CMD_RESOURCE_UNREF: resp.hdr.type = unref(gpu, &cmd.resource); break;
      case VS_GPU_CMD_RESOURCE_ATTACH_BACKING: resp.hdr.type = attach_backing(gpu, &cmd.attach); break;
      case VS_GPU_CMD_RESOURCE_DETACH_BACKING: {
         uint32_t status = VS_GPU_RESP_OK_NODATA;
         struct gpu_resource *res = resource_of(gpu, name, cmd.resource.resource_id, &status);
         if (res && !res->backing) {
            gpu_refuse(gpu, "%s of resource %u, which has no backing", name, res->id);
            status = VS_GPU_RESP_ERR_INVALID_PARAMETER;
         } else if (res) {
            detach(gpu, res);
         }
         resp.hdr.type = status;
         break;
      }
      case VS_GPU_CMD_TRANSFER_TO_HOST_2D: resp.hdr.type = transfer_to_host_2d(gpu, &cmd.transfer); break;
      case VS_GPU_CMD_SET_SCANOUT: resp.hdr.type = set_scanout(gpu, &cmd.set_scanout); break;
      case VS_GPU_CMD_RESOURCE_FLUSH: resp.hdr.type = resource_flush(gpu, &cmd.flush); break;
      case VS_GPU_CMD_RESOURCE_CREATE_BLOB:
         resp.hdr.type = cmd.create_blob.blob_mem == VS_GPU_BLOB_MEM_GUEST
                            ? create_blob(gpu, &cmd.create_blob)
                            : context_command(gpu, &cmd, &resp, &resp_size);
         break;
      case VS_GPU_CMD_CTX_CREATE:
      case VS_GPU_CMD_CTX_DESTROY:
      case VS_GPU_CMD_CTX_ATTACH_RESOURCE:
      case VS_GPU_CMD_CTX_DETACH_RESOURCE:
      case VS_GPU_CMD_SUBMIT_3D:
      case VS_GPU_CMD_RESOURCE_MAP_BLOB:
      case VS_GPU_CMD_RESOURCE_UNMAP_BLOB: resp.hdr.type = context_command(gpu, &cmd, &resp, &resp_size); break;
      case VS_GPU_CMD_SET_SCANOUT_BLOB: resp.hdr.type = set_scanout_blob(gpu, &cmd.set_scanout_blob); break;
      }
      vs_debug(0, "virtio-gpu %u: %s: response 0x%x", gpu->options.id, name, resp.hdr.type);
   }
   if (got >= sizeof(cmd.hdr) && (cmd.hdr.flags & VS_GPU_FLAG_FENCE)) {
      resp.hdr.flags = cmd.hdr.flags & (VS_GPU_FLAG_FENCE | VS_GPU_FLAG_INFO_RING_IDX);
      resp.hdr.fence_id = cmd.hdr.fence_id;
      resp.hdr.ctx_id = cmd.hdr.ctx_id;
      if (cmd.hdr.flags & VS_GPU_FLAG_INFO_RING_IDX) {
         resp.hdr.ring_idx = cmd.hdr.ring_idx;
         gpu->fence.ring = cmd.hdr.ctx_id != 0;
         gpu->fence.ctx_id = cmd.hdr.ctx_id;
         gpu->fence.ring_idx = cmd.hdr.ring_idx;
      }
   }
   if (gpu->chain.writable_len < resp_size) {
      gpu_refuse(gpu, "%s with %llu bytes for its %zu-byte response", name ? name : "a control command",
                 (unsigned long long)gpu->chain.writable_len, resp_size);
      return 0;
   }
   return (uint32_t)vs_vq_chain_write(&gpu->chain, 0, &resp, resp_size);
}

/* virtio-gpu's cursor image: 64x64 pixels. */
#define CURSOR_SIDE 64u

/* The cursor's image to on_cursor: a 2D resource's host copy in a
 * 32-bit BGR order, its top-left corner of at most 64x64 pixels. */
static void
hand_on_cursor(struct vs_virtio_gpu *gpu, uint32_t scanout, const struct gpu_resource *res, uint32_t hot_x,
               uint32_t hot_y)
{
   if (!gpu->options.on_cursor)
      return;
   const bool shown = res && res->pixels && !res->blob &&
                      (res->format == VS_GPU_FORMAT_B8G8R8A8_UNORM || res->format == VS_GPU_FORMAT_B8G8R8X8_UNORM);
   if (res && !shown && !gpu->cursor_said) {
      vs_info(0, "vhost-user device %u: the cursor's resource %u (%s, format %u) is not shown: the viewers keep their "
                 "own pointer", gpu->options.id, res->id, res->blob ? "a blob" : "2D", res->format);
      gpu->cursor_said = true;
   }
   if (!shown) {
      gpu->options.on_cursor(gpu->options.flush_data, scanout, NULL, 0, 0, 0, 0, 0);
      return;
   }
   gpu->options.on_cursor(gpu->options.flush_data, scanout, res->pixels,
                          res->width < CURSOR_SIDE ? res->width : CURSOR_SIDE,
                          res->height < CURSOR_SIDE ? res->height : CURSOR_SIDE, res->stride, hot_x, hot_y);
}

static void
cursor_command(struct vs_virtio_gpu *gpu)
{
   struct vs_gpu_update_cursor c;
   memset(&c, 0, sizeof(c));
   const size_t got = vs_vq_chain_read(&gpu->chain, 0, &c, sizeof(c));
   if (got < sizeof(c) || (c.hdr.type != VS_GPU_CMD_UPDATE_CURSOR && c.hdr.type != VS_GPU_CMD_MOVE_CURSOR)) {
      gpu_refuse(gpu, "a cursor command 0x%x of %zu bytes (UPDATE_CURSOR or MOVE_CURSOR, %zu bytes)",
                 got >= sizeof(c.hdr) ? c.hdr.type : 0, got, sizeof(c));
      return;
   }
   if (c.pos.scanout_id >= gpu->options.scanouts) {
      gpu_refuse(gpu, "%s on scanout %u (the device has %u)", command_name(c.hdr.type), c.pos.scanout_id,
                 gpu->options.scanouts);
      return;
   }
   gpu->cursor.scanout = c.pos.scanout_id;
   gpu->cursor.x = c.pos.x;
   gpu->cursor.y = c.pos.y;
   if (c.hdr.type == VS_GPU_CMD_UPDATE_CURSOR) {
      if (c.resource_id && !find_resource(gpu, c.resource_id)) {
         gpu_refuse(gpu, "UPDATE_CURSOR to resource %u, which does not exist", c.resource_id);
         return;
      }
      gpu->cursor.resource_id = c.resource_id;
      gpu->cursor.hot_x = c.hot_x;
      gpu->cursor.hot_y = c.hot_y;
      hand_on_cursor(gpu, c.pos.scanout_id, find_resource(gpu, c.resource_id), c.hot_x, c.hot_y);
   }
}

static void
queue_kicked(void *data, struct vs_vu_device *dev, unsigned index)
{
   struct vs_virtio_gpu *gpu = data;
   struct vs_virtqueue *vq = vs_vu_device_queue(dev, index);
   const struct vs_guest_memory *mem = vs_vu_device_memory(dev);
   bool answered = false;
   char why[256];
   for (;;) {
      const enum vs_vq_pop_result r = vs_virtqueue_pop(vq, mem, &gpu->chain, why, sizeof(why));
      if (r == VS_VQ_EMPTY)
         break;
      if (r == VS_VQ_BROKEN) {
         vs_error(0, "virtio-gpu %u: queue %u stops: %s", gpu->options.id, index, why);
         break;
      }
      uint32_t written = 0;
      struct vs_gpu_refusal refusal = { { 0 } };
      gpu->fence.ring = false;
      if (r == VS_VQ_BAD_CHAIN)
         gpu_refuse(gpu, "queue %u: chain %u refused: %s", index, gpu->chain.head, why);
      else if (index == VS_VIRTIO_GPU_QUEUE_CONTROL)
         written = control_command(gpu);
      else
         cursor_command(gpu);
      /* A ring's fence: the used entry waits for the ring. */
      if (gpu->fence.ring && vs_gpu_contexts_defer(gpu->contexts, gpu->fence.ctx_id, gpu->fence.ring_idx,
                                                   gpu->chain.head, written, &refusal))
         continue;
      if (refusal.why[0])
         gpu_refuse(gpu, "queue %u: chain %u: %s", index, gpu->chain.head, refusal.why);
      vs_virtqueue_push(vq, gpu->chain.head, written);
      answered = true;
   }
   if (answered)
      vs_virtqueue_notify(vq);
}

static void
answer_retired(void *data, uint16_t head, uint32_t written)
{
   struct vs_virtio_gpu *gpu = data;
   vs_virtqueue_push(vs_vu_device_queue(gpu->dev, VS_VIRTIO_GPU_QUEUE_CONTROL), head, written);
}

/* Fences retired: their requests' used entries, then one interrupt. */
static void
fences_retired(void *data, struct vs_vu_device *dev)
{
   struct vs_virtio_gpu *gpu = data;
   vs_gpu_contexts_retired(gpu->contexts, answer_retired, gpu);
   vs_virtqueue_notify(vs_vu_device_queue(dev, VS_VIRTIO_GPU_QUEUE_CONTROL));
}

static void
read_config(void *data, uint8_t *config)
{
   struct vs_virtio_gpu *gpu = data;
   memcpy(config, &gpu->config, sizeof(gpu->config));
}

static void
write_config(void *data, struct vs_vu_device *dev, uint32_t offset, const uint8_t *bytes, uint32_t size)
{
   (void)dev;
   struct vs_virtio_gpu *gpu = data;
   uint8_t config[sizeof(gpu->config)];
   memcpy(config, &gpu->config, sizeof(config));
   memcpy(config + offset, bytes, size);
   struct vs_gpu_config written;
   memcpy(&written, config, sizeof(written));
   /* Only events_clear is the driver's to write: it clears events. */
   gpu->config.events_read &= ~written.events_clear;
}

struct vs_virtio_gpu *
vs_virtio_gpu_create(int sock, const struct vs_virtio_gpu_options *options)
{
   if (options->width == 0 || options->height == 0 || options->width > VS_EDID_MAX_DIM ||
       options->height > VS_EDID_MAX_DIM || options->max_resources == 0 ||
       options->max_pixels < (uint64_t)options->width * options->height || options->scanouts == 0 ||
       options->scanouts > VS_VIRTIO_GPU_MAX_SCANOUTS) {
      vs_error(0, "virtio-gpu %u: %u scanouts of %ux%u (at most %llu pixels) and %u resources (1..%u scanouts, "
               "1..%u pixels a side, 1 resource at least)", options->id, options->scanouts, options->width,
               options->height, (unsigned long long)options->max_pixels, options->max_resources,
               VS_VIRTIO_GPU_MAX_SCANOUTS, VS_EDID_MAX_DIM);
      close(sock);
      render_client_destroy(options->contexts_apart);
      return NULL;
   }
   struct vs_virtio_gpu *gpu = calloc(1, sizeof(*gpu));
   if (!gpu) {
      close(sock);
      render_client_destroy(options->contexts_apart);
      return NULL;
   }
   gpu->options = *options;
   for (uint32_t k = 0; k < options->scanouts; k++) {
      gpu->scanouts[k].mode_width = options->width;
      gpu->scanouts[k].mode_height = options->height;
   }
   gpu->resources = calloc(options->max_resources, sizeof(*gpu->resources));
   gpu->contexts = vs_gpu_contexts_create(options->id, options->context_options, options->contexts_apart,
                                          options->max_resources, options->shmem_size);
   gpu->config.num_scanouts = options->scanouts;
   gpu->config.num_capsets = NUM_CAPSETS;
   const struct vs_vu_device_type type = {
      /* VIRGL is what a guest kernel calls "3D": without it, it lets no
       * program create a context or submit. */
      .features = (1ull << VS_VIRTIO_F_VERSION_1) | (1ull << VS_VIRTIO_F_INDIRECT_DESC) |
                  (1ull << VS_VIRTIO_GPU_F_EDID) | (1ull << VS_VIRTIO_GPU_F_RESOURCE_BLOB) |
                  (1ull << VS_VIRTIO_GPU_F_CONTEXT_INIT) |
                  (options->context_options ? 1ull << VS_VIRTIO_GPU_F_VIRGL : 0),
      .num_queues = 2,
      .shmem_size = options->shmem_size,
      .config_size = sizeof(struct vs_gpu_config),
      .read_config = read_config,
      .write_config = write_config,
      .queue_kicked = queue_kicked,
      .woken = gpu->contexts ? fences_retired : NULL,
      .wake_fd = gpu->contexts ? vs_gpu_contexts_wake_fd(gpu->contexts) : -1,
      .data = gpu,
   };
   if (gpu->resources && gpu->contexts)
      gpu->dev = vs_vu_device_create(sock, options->id, &type);
   if (!gpu->dev) {
      close(sock);
      vs_gpu_contexts_destroy(gpu->contexts);
      free(gpu->resources);
      free(gpu);
      return NULL;
   }
   return gpu;
}

void
vs_virtio_gpu_destroy(struct vs_virtio_gpu *gpu)
{
   if (!gpu)
      return;
   for (uint32_t k = 0; k < gpu->options.scanouts; k++)
      show_resource(&gpu->scanouts[k], 0);
   /* The contexts before the device: their threads answer into it. */
   vs_gpu_contexts_destroy(gpu->contexts);
   vs_vu_device_destroy(gpu->dev);
   free(gpu->submit);
   for (uint32_t i = 0; i < gpu->resource_count; i++) {
      detach(gpu, &gpu->resources[i]);
      free(gpu->resources[i].pixels);
   }
   free(gpu->resources);
   free(gpu);
}

struct vs_vu_device *
vs_virtio_gpu_device(struct vs_virtio_gpu *gpu)
{
   return gpu->dev;
}

struct vs_virtio_gpu_cursor
vs_virtio_gpu_cursor(const struct vs_virtio_gpu *gpu)
{
   return gpu->cursor;
}

/* A mode's side: what a monitor's timing can say, and no less than a
 * small window. */
#define MODE_SIDE_MIN 16u

void
vs_virtio_gpu_reshow(struct vs_virtio_gpu *gpu, uint32_t scanout)
{
   if (scanout >= gpu->options.scanouts)
      return;
   const struct gpu_scanout *s = &gpu->scanouts[scanout];
   const struct gpu_resource *res = s->resource_id && !s->host.on ? find_resource(gpu, s->resource_id) : NULL;
   if (s->resource_id && s->host.on)
      show_host_blob(gpu, scanout);
   else if (res && res->pixels && gpu->options.on_flush && (!res->blob || res->width))
      show_copy(gpu, scanout, res);
   if (gpu->cursor.resource_id && gpu->cursor.scanout == scanout)
      hand_on_cursor(gpu, scanout, find_resource(gpu, gpu->cursor.resource_id), gpu->cursor.hot_x, gpu->cursor.hot_y);
}

bool
vs_virtio_gpu_set_mode(struct vs_virtio_gpu *gpu, uint32_t scanout, uint32_t *width, uint32_t *height, char *why,
                       size_t why_size)
{
   if (scanout >= gpu->options.scanouts) {
      snprintf(why, why_size, "scanout %u does not exist (the device has %u)", scanout, gpu->options.scanouts);
      return false;
   }
   struct gpu_scanout *s = &gpu->scanouts[scanout];
   uint64_t w = *width ? *width : 1, h = *height ? *height : 1;
   /* Too large a side or too many pixels: the widest mode of the same
    * shape that fits. */
   if (w > VS_EDID_MAX_DIM || h > VS_EDID_MAX_DIM || w * h > gpu->options.max_pixels) {
      uint64_t lo = 1, hi = w;
      while (lo < hi) {
         const uint64_t mid = (lo + hi + 1) / 2, mid_h = h * mid / w;
         if (mid <= VS_EDID_MAX_DIM && mid_h <= VS_EDID_MAX_DIM && mid * mid_h <= gpu->options.max_pixels)
            lo = mid;
         else
            hi = mid - 1;
      }
      h = h * lo / w;
      w = lo;
   }
   w = w < MODE_SIDE_MIN ? MODE_SIDE_MIN : w;
   h = h < MODE_SIDE_MIN ? MODE_SIDE_MIN : h;
   if (w > VS_EDID_MAX_DIM || h > VS_EDID_MAX_DIM || w * h > gpu->options.max_pixels) {
      w = s->mode_width;
      h = s->mode_height;
   }
   *width = (uint32_t)w;
   *height = (uint32_t)h;
   if (w == s->mode_width && h == s->mode_height)
      return false;
   /* Told once until the guest clears the event: it reads the newest mode
    * when it does. */
   if (!(gpu->config.events_read & VS_VIRTIO_GPU_EVENT_DISPLAY) &&
       !vs_vu_device_notify_config(gpu->dev, why, why_size))
      return false;
   s->mode_width = (uint32_t)w;
   s->mode_height = (uint32_t)h;
   gpu->config.events_read |= VS_VIRTIO_GPU_EVENT_DISPLAY;
   return true;
}

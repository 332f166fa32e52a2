/* SPDX-License-Identifier: MIT */
/* The virtio-gpu device's wire format (virtio 1.2, 5.7): feature bits,
 * config space, the control and cursor queues' commands and responses.
 * All little-endian, as the hosts the server runs on. */
#ifndef VS_VIRTIO_GPU_PROTOCOL_H
#define VS_VIRTIO_GPU_PROTOCOL_H

#include <stdint.h>

#define VS_VIRTIO_GPU_F_VIRGL 0
#define VS_VIRTIO_GPU_F_EDID 1
#define VS_VIRTIO_GPU_F_RESOURCE_BLOB 3
#define VS_VIRTIO_GPU_F_CONTEXT_INIT 4

#define VS_VIRTIO_GPU_MAX_SCANOUTS 16u
#define VS_VIRTIO_GPU_QUEUE_CONTROL 0u
#define VS_VIRTIO_GPU_QUEUE_CURSOR 1u
#define VS_VIRTIO_GPU_EVENT_DISPLAY 1u

enum vs_virtio_gpu_type {
   VS_GPU_CMD_GET_DISPLAY_INFO = 0x0100,
   VS_GPU_CMD_RESOURCE_CREATE_2D = 0x0101,
   VS_GPU_CMD_RESOURCE_UNREF = 0x0102,
   VS_GPU_CMD_SET_SCANOUT = 0x0103,
   VS_GPU_CMD_RESOURCE_FLUSH = 0x0104,
   VS_GPU_CMD_TRANSFER_TO_HOST_2D = 0x0105,
   VS_GPU_CMD_RESOURCE_ATTACH_BACKING = 0x0106,
   VS_GPU_CMD_RESOURCE_DETACH_BACKING = 0x0107,
   VS_GPU_CMD_GET_CAPSET_INFO = 0x0108,
   VS_GPU_CMD_GET_CAPSET = 0x0109,
   VS_GPU_CMD_GET_EDID = 0x010a,
   VS_GPU_CMD_RESOURCE_CREATE_BLOB = 0x010c,
   VS_GPU_CMD_SET_SCANOUT_BLOB = 0x010d,
   VS_GPU_CMD_CTX_CREATE = 0x0200,
   VS_GPU_CMD_CTX_DESTROY = 0x0201,
   VS_GPU_CMD_CTX_ATTACH_RESOURCE = 0x0202,
   VS_GPU_CMD_CTX_DETACH_RESOURCE = 0x0203,
   VS_GPU_CMD_SUBMIT_3D = 0x0207,
   VS_GPU_CMD_RESOURCE_MAP_BLOB = 0x0208,
   VS_GPU_CMD_RESOURCE_UNMAP_BLOB = 0x0209,
   VS_GPU_CMD_UPDATE_CURSOR = 0x0300,
   VS_GPU_CMD_MOVE_CURSOR = 0x0301,

   VS_GPU_RESP_OK_NODATA = 0x1100,
   VS_GPU_RESP_OK_DISPLAY_INFO = 0x1101,
   VS_GPU_RESP_OK_CAPSET_INFO = 0x1102,
   VS_GPU_RESP_OK_CAPSET = 0x1103,
   VS_GPU_RESP_OK_EDID = 0x1104,
   VS_GPU_RESP_OK_MAP_INFO = 0x1106,

   VS_GPU_RESP_ERR_UNSPEC = 0x1200,
   VS_GPU_RESP_ERR_OUT_OF_MEMORY = 0x1201,
   VS_GPU_RESP_ERR_INVALID_SCANOUT_ID = 0x1202,
   VS_GPU_RESP_ERR_INVALID_RESOURCE_ID = 0x1203,
   VS_GPU_RESP_ERR_INVALID_CONTEXT_ID = 0x1204,
   VS_GPU_RESP_ERR_INVALID_PARAMETER = 0x1205,
};

#define VS_GPU_FLAG_FENCE 1u
#define VS_GPU_FLAG_INFO_RING_IDX 2u

/* Each names its bytes in memory, first to last. */
#define VS_GPU_FORMAT_B8G8R8A8_UNORM 1u
#define VS_GPU_FORMAT_B8G8R8X8_UNORM 2u
#define VS_GPU_FORMAT_A8R8G8B8_UNORM 3u
#define VS_GPU_FORMAT_X8R8G8B8_UNORM 4u
#define VS_GPU_FORMAT_R8G8B8A8_UNORM 67u
#define VS_GPU_FORMAT_X8B8G8R8_UNORM 68u
#define VS_GPU_FORMAT_A8B8G8R8_UNORM 121u
#define VS_GPU_FORMAT_R8G8B8X8_UNORM 134u

struct vs_gpu_config {
   uint32_t events_read;
   uint32_t events_clear;
   uint32_t num_scanouts;
   uint32_t num_capsets;
};

struct vs_gpu_hdr {
   uint32_t type;
   uint32_t flags;
   uint64_t fence_id;
   uint32_t ctx_id;
   uint8_t ring_idx;
   uint8_t padding[3];
};

struct vs_gpu_rect {
   uint32_t x, y, width, height;
};

struct vs_gpu_resource_create_2d {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, format, width, height;
};

/* RESOURCE_UNREF and RESOURCE_DETACH_BACKING. */
struct vs_gpu_resource_id {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, padding;
};

struct vs_gpu_set_scanout {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_rect r;
   uint32_t scanout_id, resource_id;
};

struct vs_gpu_resource_flush {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_rect r;
   uint32_t resource_id, padding;
};

struct vs_gpu_transfer_to_host_2d {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_rect r;
   uint64_t offset;
   uint32_t resource_id, padding;
};

struct vs_gpu_mem_entry {
   uint64_t addr;
   uint32_t length, padding;
};

/* Followed by nr_entries struct vs_gpu_mem_entry. */
struct vs_gpu_resource_attach_backing {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, nr_entries;
};

#define VS_GPU_BLOB_MEM_GUEST 1u
#define VS_GPU_BLOB_MEM_HOST3D 2u
#define VS_GPU_BLOB_MEM_HOST3D_GUEST 3u
#define VS_GPU_BLOB_FLAG_USE_MAPPABLE 1u
#define VS_GPU_BLOB_FLAG_USE_SHAREABLE 2u
#define VS_GPU_BLOB_FLAG_USE_CROSS_DEVICE 4u

/* Followed by nr_entries struct vs_gpu_mem_entry. */
struct vs_gpu_resource_create_blob {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, blob_mem, blob_flags, nr_entries;
   uint64_t blob_id, size;
};

struct vs_gpu_set_scanout_blob {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_rect r;
   uint32_t scanout_id, resource_id, width, height, format, padding;
   uint32_t strides[4], offsets[4];
};

struct vs_gpu_display_one {
   struct vs_gpu_rect r;
   uint32_t enabled, flags;
};

struct vs_gpu_resp_display_info {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_display_one pmodes[VS_VIRTIO_GPU_MAX_SCANOUTS];
};

struct vs_gpu_get_capset_info {
   struct vs_gpu_hdr hdr;
   uint32_t capset_index, padding;
};

struct vs_gpu_resp_capset_info {
   struct vs_gpu_hdr hdr;
   uint32_t capset_id, capset_max_version, capset_max_size, padding;
};

/* The response is the header followed by the capset's bytes. */
struct vs_gpu_get_capset {
   struct vs_gpu_hdr hdr;
   uint32_t capset_id, capset_version;
};

struct vs_gpu_get_edid {
   struct vs_gpu_hdr hdr;
   uint32_t scanout, padding;
};

struct vs_gpu_resp_edid {
   struct vs_gpu_hdr hdr;
   uint32_t size, padding;
   uint8_t edid[1024];
};

/* The low 8 bits of context_init name the context's capset. */
#define VS_GPU_CONTEXT_INIT_CAPSET_ID_MASK 0xffu

struct vs_gpu_ctx_create {
   struct vs_gpu_hdr hdr;
   uint32_t nlen, context_init;
   char debug_name[64];
};

/* CTX_DESTROY is the header alone; CTX_ATTACH_RESOURCE and
 * CTX_DETACH_RESOURCE name a resource. */
struct vs_gpu_ctx_resource {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, padding;
};

/* Followed by `size` bytes of the context's command stream. */
struct vs_gpu_cmd_submit {
   struct vs_gpu_hdr hdr;
   uint32_t size, num_in_fences;
};

struct vs_gpu_resource_map_blob {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, padding;
   uint64_t offset;
};

struct vs_gpu_resp_map_info {
   struct vs_gpu_hdr hdr;
   uint32_t map_info, padding;
};

/* RESOURCE_UNMAP_BLOB. */
struct vs_gpu_resource_unmap_blob {
   struct vs_gpu_hdr hdr;
   uint32_t resource_id, padding;
};

struct vs_gpu_cursor_pos {
   uint32_t scanout_id, x, y, padding;
};

/* UPDATE_CURSOR and MOVE_CURSOR. */
struct vs_gpu_update_cursor {
   struct vs_gpu_hdr hdr;
   struct vs_gpu_cursor_pos pos;
   uint32_t resource_id, hot_x, hot_y, padding;
};

_Static_assert(sizeof(struct vs_gpu_hdr) == 24, "virtio-gpu header layout");
_Static_assert(sizeof(struct vs_gpu_transfer_to_host_2d) == 56, "transfer layout");
_Static_assert(sizeof(struct vs_gpu_resp_display_info) == 408, "display info layout");
_Static_assert(sizeof(struct vs_gpu_update_cursor) == 56, "cursor layout");
_Static_assert(sizeof(struct vs_gpu_resp_edid) == 1056, "EDID response layout");
_Static_assert(sizeof(struct vs_gpu_ctx_create) == 96, "context create layout");
_Static_assert(sizeof(struct vs_gpu_resource_map_blob) == 40, "map blob layout");

#endif

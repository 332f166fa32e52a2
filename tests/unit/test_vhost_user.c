/* SPDX-License-Identifier: MIT */
/* transport/vhost_user: a fake front end drives a virtio-gpu device over a
 * socket pair: the handshake, a mem table from shared memory with the
 * queues laid out in it, the 2D commands of a console, and hostile
 * messages, chains and commands, each refused without harm. */
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"
#include "transport/vhost_user/edid.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/vhost_user_message.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "transport/vhost_user/virtio_gpu_protocol.h"
#include "transport/vhost_user/virtqueue.h"
#include "unit.h"
#include "vhost_user_front_end.h"

#define CMD_GPA 0x10000u
#define RESP_GPA 0x20000u
#define INDIRECT_GPA 0x30000u
#define PIXELS_GPA 0x40000u

struct front_end {
   struct vu_front_end vu;
   struct vs_virtio_gpu *gpu;
   unsigned flushes;
   unsigned flushes_of[2];     /* of scanout 0 and 1 */
   uint32_t flushed_width;     /* the last flush's */
   int cursor_scanout;         /* the last cursor's, -1: none */
   uint32_t flushed_format;
   uint8_t flushed[16 * 8 * 4];
};

static void
on_flush(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t w, uint32_t h, uint32_t stride, uint32_t format)
{
   struct front_end *fe = data;
   fe->flushes++;
   if (scanout < 2)
      fe->flushes_of[scanout]++;
   fe->flushed_width = w;
   fe->flushed_format = format;
   for (uint32_t y = 0; y < h && y < 8; y++)
      memcpy(fe->flushed + y * 64, pixels + (size_t)y * stride, w * 4 < 64 ? w * 4 : 64);
}

static void
on_cursor(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t w, uint32_t h, uint32_t stride, uint32_t hot_x,
          uint32_t hot_y)
{
   struct front_end *fe = data;
   fe->cursor_scanout = pixels ? (int)scanout : -1;
}

static void
fe_close(struct front_end *fe)
{
   vs_virtio_gpu_destroy(fe->gpu);
   vu_fe_close(&fe->vu);
}

/* A device of `scanouts` scanouts and its front end's socket, before any
 * request. */
static bool
fe_open_scanouts(struct front_end *fe, uint32_t scanouts)
{
   memset(fe, 0, sizeof(*fe));
   fe->cursor_scanout = -1;
   int sock;
   if (!vu_fe_open(&fe->vu, &sock))
      return false;
   const struct vs_virtio_gpu_options options = {
      .id = 1, .width = 1280, .height = 800, .scanouts = scanouts, .max_pixels = 1920 * 1080,
      .shmem_size = 1u << 20, .max_resource_bytes = 1u << 20,
      .max_resources = 4, .on_flush = on_flush, .on_cursor = on_cursor, .flush_data = fe,
   };
   fe->gpu = vs_virtio_gpu_create(sock, &options);
   fe->vu.dev = fe->gpu ? vs_virtio_gpu_device(fe->gpu) : NULL;
   return fe->vu.dev != NULL;
}

static bool
fe_open(struct front_end *fe)
{
   return fe_open_scanouts(fe, 1);
}

static bool
fe_start(struct front_end *fe)
{
   return fe_open(fe) && vu_fe_handshake(&fe->vu);
}

/* Sends a control command (cmd_size bytes) and returns the response's type. */
static uint32_t
fe_command(struct front_end *fe, const void *cmd, uint32_t cmd_size, uint32_t resp_size)
{
   memcpy(fe->vu.ram + CMD_GPA, cmd, cmd_size);
   memset(fe->vu.ram + RESP_GPA, 0xee, resp_size);
   vu_put_desc(&fe->vu, DESC(0), 0, CMD_GPA, cmd_size, VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe->vu, DESC(0), 1, RESP_GPA, resp_size, VS_VQ_DESC_F_WRITE, 0);
   if (vu_fe_run(&fe->vu, 0, 0) < (int64_t)sizeof(struct vs_gpu_hdr))
      return 0;
   struct vs_gpu_hdr h;
   memcpy(&h, fe->vu.ram + RESP_GPA, sizeof(h));
   return h.type;
}

static struct vs_gpu_hdr
hdr(uint32_t type)
{
   return (struct vs_gpu_hdr){ .type = type };
}

TEST(handshake)
{
   struct front_end fe;
   CHECK(fe_open(&fe));
   const uint64_t features = vu_fe_get_u64(&fe.vu, VS_VU_GET_FEATURES);
   CHECK(features & (1ull << VS_VU_F_PROTOCOL_FEATURES));
   CHECK(features & (1ull << VS_VIRTIO_F_VERSION_1));
   CHECK(features & (1ull << VS_VIRTIO_GPU_F_RESOURCE_BLOB));
   CHECK(features & (1ull << VS_VIRTIO_GPU_F_CONTEXT_INIT));
   CHECK(features & (1ull << VS_VIRTIO_GPU_F_EDID));
   const uint64_t protocol = vu_fe_get_u64(&fe.vu, VS_VU_GET_PROTOCOL_FEATURES);
   CHECK(protocol & (1ull << VS_VU_PROTOCOL_F_SHMEM));
   CHECK(protocol & (1ull << VS_VU_PROTOCOL_F_CONFIG));
   CHECK(protocol & (1ull << VS_VU_PROTOCOL_F_REPLY_ACK));
   CHECK(vu_fe_send(&fe.vu, VS_VU_SET_PROTOCOL_FEATURES, VS_VU_VERSION, &protocol, 8, NULL, 0));
   int backend[2];
   CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, backend) == 0);
   CHECK(vu_fe_send(&fe.vu, VS_VU_SET_BACKEND_REQ_FD, VS_VU_VERSION, NULL, 0, &backend[1], 1));
   close(backend[0]);
   close(backend[1]);
   CHECK(vu_fe_send(&fe.vu, VS_VU_GET_SHMEM_CONFIG, VS_VU_VERSION, NULL, 0, NULL, 0));
   struct vs_vu_shmem_config shmem;
   CHECK(vu_fe_reply(&fe.vu, VS_VU_GET_SHMEM_CONFIG, &shmem, sizeof(shmem)));
   CHECK_EQ(shmem.nregions, 1u);
   CHECK_EQ(shmem.sizes[VS_VU_SHMEM_ID], 1u << 20);
   struct vs_vu_config config = { .offset = 0, .size = sizeof(struct vs_gpu_config) };
   CHECK(vu_fe_send(&fe.vu, VS_VU_GET_CONFIG, VS_VU_VERSION, &config, VS_VU_CONFIG_HEADER_SIZE + config.size, NULL, 0));
   CHECK(vu_fe_reply(&fe.vu, VS_VU_GET_CONFIG, &config, VS_VU_CONFIG_HEADER_SIZE + sizeof(struct vs_gpu_config)));
   struct vs_gpu_config gpu_config;
   memcpy(&gpu_config, config.region, sizeof(gpu_config));
   CHECK_EQ(gpu_config.num_scanouts, 1u);
   CHECK_EQ(gpu_config.num_capsets, 1u);
   CHECK_EQ(vu_fe_get_u64(&fe.vu, VS_VU_GET_MAX_MEM_SLOTS), (uint64_t)VS_VU_MEM_SLOTS_MAX);
   fe_close(&fe);
}

TEST(display_info_and_fence)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   struct vs_gpu_hdr h = { .type = VS_GPU_CMD_GET_DISPLAY_INFO, .flags = VS_GPU_FLAG_FENCE, .fence_id = 77 };
   CHECK_EQ(fe_command(&fe, &h, sizeof(h), sizeof(struct vs_gpu_resp_display_info)), VS_GPU_RESP_OK_DISPLAY_INFO);
   struct vs_gpu_resp_display_info info;
   memcpy(&info, fe.vu.ram + RESP_GPA, sizeof(info));
   CHECK_EQ(info.hdr.flags, VS_GPU_FLAG_FENCE);
   CHECK_EQ(info.hdr.fence_id, 77u);
   CHECK_EQ(info.pmodes[0].r.width, 1280u);
   CHECK_EQ(info.pmodes[0].r.height, 800u);
   CHECK_EQ(info.pmodes[0].enabled, 1u);
   CHECK_EQ(info.pmodes[1].enabled, 0u);
   uint8_t call[8];
   CHECK(read(fe.vu.call[0][0], call, sizeof(call)) == 8);
   fe_close(&fe);
}

TEST(edid_and_capset)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   struct vs_gpu_get_edid e = { hdr(VS_GPU_CMD_GET_EDID), 0, 0 };
   CHECK_EQ(fe_command(&fe, &e, sizeof(e), sizeof(struct vs_gpu_resp_edid)), VS_GPU_RESP_OK_EDID);
   struct vs_gpu_resp_edid edid;
   memcpy(&edid, fe.vu.ram + RESP_GPA, sizeof(edid));
   CHECK_EQ(edid.size, VS_EDID_SIZE);
   uint8_t sum = 0;
   for (unsigned i = 0; i < VS_EDID_SIZE; i++)
      sum = (uint8_t)(sum + edid.edid[i]);
   CHECK_EQ(sum, 0);
   CHECK_EQ(edid.edid[56] | (edid.edid[58] >> 4) << 8, 1280);
   CHECK_EQ(edid.edid[59] | (edid.edid[61] >> 4) << 8, 800);
   e.scanout = 1;
   CHECK_EQ(fe_command(&fe, &e, sizeof(e), sizeof(struct vs_gpu_resp_edid)), VS_GPU_RESP_ERR_INVALID_SCANOUT_ID);

   struct vs_gpu_get_capset_info ci = { hdr(VS_GPU_CMD_GET_CAPSET_INFO), 0, 0 };
   CHECK_EQ(fe_command(&fe, &ci, sizeof(ci), sizeof(struct vs_gpu_resp_capset_info)), VS_GPU_RESP_OK_CAPSET_INFO);
   struct vs_gpu_resp_capset_info info;
   memcpy(&info, fe.vu.ram + RESP_GPA, sizeof(info));
   CHECK_EQ(info.capset_id, 4u);
   CHECK_EQ(info.capset_max_size, 160u);
   ci.capset_index = 1;
   CHECK_EQ(fe_command(&fe, &ci, sizeof(ci), sizeof(struct vs_gpu_resp_capset_info)),
            VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_get_capset cs = { hdr(VS_GPU_CMD_GET_CAPSET), 4, 0 };
   CHECK_EQ(fe_command(&fe, &cs, sizeof(cs), sizeof(struct vs_gpu_hdr) + 160), VS_GPU_RESP_OK_CAPSET);
   cs.capset_id = 2;
   CHECK_EQ(fe_command(&fe, &cs, sizeof(cs), sizeof(struct vs_gpu_hdr) + 160), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   fe_close(&fe);
}

static uint32_t
attach(struct front_end *fe, uint32_t id, const struct vs_gpu_mem_entry *entries, uint32_t n)
{
   uint8_t cmd[sizeof(struct vs_gpu_resource_attach_backing) + 4 * sizeof(struct vs_gpu_mem_entry)];
   struct vs_gpu_resource_attach_backing a = { hdr(VS_GPU_CMD_RESOURCE_ATTACH_BACKING), id, n };
   memcpy(cmd, &a, sizeof(a));
   memcpy(cmd + sizeof(a), entries, n * sizeof(*entries));
   return fe_command(fe, cmd, (uint32_t)(sizeof(a) + n * sizeof(*entries)), sizeof(struct vs_gpu_hdr));
}

static uint32_t
create_blob(struct front_end *fe, uint32_t id, uint32_t blob_mem, uint64_t size,
            const struct vs_gpu_mem_entry *entries, uint32_t n)
{
   uint8_t cmd[sizeof(struct vs_gpu_resource_create_blob) + 4 * sizeof(struct vs_gpu_mem_entry)];
   struct vs_gpu_resource_create_blob c = { hdr(VS_GPU_CMD_RESOURCE_CREATE_BLOB), id, blob_mem, 0, n, 0, size };
   memcpy(cmd, &c, sizeof(c));
   memcpy(cmd + sizeof(c), entries, n * sizeof(*entries));
   return fe_command(fe, cmd, (uint32_t)(sizeof(c) + n * sizeof(*entries)), sizeof(struct vs_gpu_hdr));
}

/* What a blob-capable kernel's fbdev does: its dumb buffer is a guest
 * blob, scanned out with SET_SCANOUT_BLOB; the flush reads guest RAM. */
TEST(blob_console_round)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   const uint32_t R = sizeof(struct vs_gpu_hdr);
   for (unsigned i = 0; i < 1024; i++)
      fe.vu.ram[PIXELS_GPA + (i < 200 ? i : i - 200 + 0x1000)] = (uint8_t)(i * 5);
   const struct vs_gpu_mem_entry entries[2] = { { PIXELS_GPA, 200, 0 }, { PIXELS_GPA + 0x1000, 824, 0 } };
   /* Host blobs need a context; a blob larger than its backing is refused. */
   CHECK_EQ(create_blob(&fe, 7, 2, 1024, entries, 2), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   CHECK_EQ(create_blob(&fe, 7, VS_GPU_BLOB_MEM_GUEST, 1025, entries, 2), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   CHECK_EQ(create_blob(&fe, 7, VS_GPU_BLOB_MEM_GUEST, 1024, entries, 2), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(create_blob(&fe, 7, VS_GPU_BLOB_MEM_GUEST, 1024, entries, 2), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   struct vs_gpu_transfer_to_host_2d t = { hdr(VS_GPU_CMD_TRANSFER_TO_HOST_2D), { 0, 0, 16, 8 }, 0, 7, 0 };
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_set_scanout s2d = { hdr(VS_GPU_CMD_SET_SCANOUT), { 0, 0, 16, 8 }, 0, 7 };
   CHECK_EQ(fe_command(&fe, &s2d, sizeof(s2d), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   /* 16x8 of a 16x16 view whose rows are 64 bytes: rows 8..15 start at 512. */
   struct vs_gpu_set_scanout_blob s = { hdr(VS_GPU_CMD_SET_SCANOUT_BLOB), { 0, 8, 16, 8 }, 0, 7, 16, 16,
                                        VS_GPU_FORMAT_B8G8R8X8_UNORM, 0, { 64 }, { 0 } };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_resource_flush f = { hdr(VS_GPU_CMD_RESOURCE_FLUSH), { 0, 0, 16, 16 }, 7, 0 };
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes, 1u);
   for (unsigned i = 0; i < 512; i++)
      CHECK_EQ(fe.flushed[i], (uint8_t)((512 + i) * 5));
   /* A view past the blob's end, rows narrower than the view, another
    * format the device does not know, a rectangle outside the view, a 2D
    * resource: all refused. */
   struct vs_gpu_set_scanout_blob bad = s;
   bad.offsets[0] = 4;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   bad = s;
   bad.strides[0] = 60;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   bad = s;
   bad.format = 99;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   bad = s;
   bad.r.y = 9;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   bad = s;
   bad.strides[0] = 0xffffffffu;
   bad.offsets[0] = 0xffffffffu;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_resource_create_2d c = { hdr(VS_GPU_CMD_RESOURCE_CREATE_2D), 8, VS_GPU_FORMAT_B8G8R8X8_UNORM, 16,
                                          8 };
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_OK_NODATA);
   bad = s;
   bad.resource_id = 8;
   CHECK_EQ(fe_command(&fe, &bad, sizeof(bad), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   /* Another byte order (R G B A): its flushes say so, for the scanout's
    * copy to put right. */
   struct vs_gpu_set_scanout_blob rgba = s;
   rgba.format = VS_GPU_FORMAT_R8G8B8A8_UNORM;
   CHECK_EQ(fe_command(&fe, &rgba, sizeof(rgba), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes, 2u);
   CHECK_EQ(fe.flushed_format, VS_GPU_FORMAT_R8G8B8A8_UNORM);
   /* Unref of the scanned-out blob disables the scanout. */
   struct vs_gpu_resource_id u = { hdr(VS_GPU_CMD_RESOURCE_UNREF), 7, 0 };
   CHECK_EQ(fe_command(&fe, &u, sizeof(u), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   CHECK_EQ(fe.flushes, 2u);
   fe_close(&fe);
}

TEST(console_round)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   const uint32_t R = sizeof(struct vs_gpu_hdr);
   struct vs_gpu_resource_create_2d c = { hdr(VS_GPU_CMD_RESOURCE_CREATE_2D), 5, VS_GPU_FORMAT_B8G8R8X8_UNORM, 16,
                                          8 };
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_OK_NODATA);
   /* 512 bytes of backing in two pieces. */
   for (unsigned i = 0; i < 512; i++)
      fe.vu.ram[PIXELS_GPA + (i < 200 ? i : i - 200 + 0x1000)] = (uint8_t)(i * 7);
   const struct vs_gpu_mem_entry entries[2] = { { PIXELS_GPA, 200, 0 }, { PIXELS_GPA + 0x1000, 312, 0 } };
   CHECK_EQ(attach(&fe, 5, entries, 2), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_transfer_to_host_2d t = { hdr(VS_GPU_CMD_TRANSFER_TO_HOST_2D), { 0, 0, 16, 8 }, 0, 5, 0 };
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_set_scanout s = { hdr(VS_GPU_CMD_SET_SCANOUT), { 0, 0, 16, 8 }, 0, 5 };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_resource_flush f = { hdr(VS_GPU_CMD_RESOURCE_FLUSH), { 0, 0, 16, 8 }, 5, 0 };
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes, 1u);
   for (unsigned i = 0; i < 512; i++)
      CHECK_EQ(fe.flushed[i], (uint8_t)(i * 7));

   /* The cursor queue records; it answers nothing. */
   struct vs_gpu_update_cursor cur = { hdr(VS_GPU_CMD_UPDATE_CURSOR), { 0, 10, 20, 0 }, 5, 1, 2, 0 };
   memcpy(fe.vu.ram + CMD_GPA, &cur, sizeof(cur));
   vu_put_desc(&fe.vu, DESC(1), 0, CMD_GPA, sizeof(cur), 0, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 1, 0), 0);
   struct vs_virtio_gpu_cursor seen = vs_virtio_gpu_cursor(fe.gpu);
   CHECK_EQ(seen.x, 10u);
   CHECK_EQ(seen.resource_id, 5u);

   struct vs_gpu_resource_id d = { hdr(VS_GPU_CMD_RESOURCE_DETACH_BACKING), 5, 0 };
   CHECK_EQ(fe_command(&fe, &d, sizeof(d), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &d, sizeof(d), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   d.hdr.type = VS_GPU_CMD_RESOURCE_UNREF;
   CHECK_EQ(fe_command(&fe, &d, sizeof(d), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &d, sizeof(d), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   fe_close(&fe);
}

TEST(hostile_commands)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   const uint32_t R = sizeof(struct vs_gpu_hdr);
   struct vs_gpu_resource_create_2d c = { hdr(VS_GPU_CMD_RESOURCE_CREATE_2D), 0, VS_GPU_FORMAT_B8G8R8X8_UNORM, 16,
                                          8 };
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   c.resource_id = 1;
   c.format = 99;
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   c.format = VS_GPU_FORMAT_B8G8R8A8_UNORM;
   c.width = 16385;
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   c.width = 1024;
   c.height = 1024; /* 4 MiB: beyond the device's 1 MiB */
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_ERR_OUT_OF_MEMORY);
   c.width = 16;
   c.height = 8;
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   /* Short command, unknown command. */
   CHECK_EQ(fe_command(&fe, &c, sizeof(c) - 4, R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_hdr unknown = hdr(0x0204); /* RESOURCE_CREATE_3D: virgl's, not served */
   CHECK_EQ(fe_command(&fe, &unknown, sizeof(unknown), R), VS_GPU_RESP_ERR_UNSPEC);
   /* Backing outside guest RAM, wrapping, or more entries than sent. */
   const struct vs_gpu_mem_entry outside = { RAM_SIZE - 16, 512, 0 };
   CHECK_EQ(attach(&fe, 1, &outside, 1), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   const struct vs_gpu_mem_entry wrap = { UINT64_MAX - 8, 512, 0 };
   CHECK_EQ(attach(&fe, 1, &wrap, 1), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_resource_attach_backing lying = { hdr(VS_GPU_CMD_RESOURCE_ATTACH_BACKING), 1, 1000 };
   CHECK_EQ(fe_command(&fe, &lying, sizeof(lying), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   CHECK_EQ(attach(&fe, 7, &outside, 1), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   /* Transfers: no backing, outside the resource, beyond the backing. */
   struct vs_gpu_transfer_to_host_2d t = { hdr(VS_GPU_CMD_TRANSFER_TO_HOST_2D), { 0, 0, 16, 8 }, 0, 1, 0 };
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   const struct vs_gpu_mem_entry small = { PIXELS_GPA, 256, 0 };
   CHECK_EQ(attach(&fe, 1, &small, 1), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(attach(&fe, 1, &small, 1), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   t.r = (struct vs_gpu_rect){ UINT32_MAX, 0, 2, 1 };
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   t.r = (struct vs_gpu_rect){ 0, 0, 16, 4 };
   t.offset = UINT64_MAX - 10;
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   t.offset = 0;
   CHECK_EQ(fe_command(&fe, &t, sizeof(t), R), VS_GPU_RESP_OK_NODATA);
   /* Scanouts and flushes. */
   struct vs_gpu_set_scanout s = { hdr(VS_GPU_CMD_SET_SCANOUT), { 0, 0, 16, 8 }, 3, 1 };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_ERR_INVALID_SCANOUT_ID);
   s.scanout_id = 0;
   s.r.width = 17;
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   s.resource_id = 9;
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   struct vs_gpu_resource_flush f = { hdr(VS_GPU_CMD_RESOURCE_FLUSH), { 8, 0, 9, 8 }, 1, 0 };
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   /* A response buffer too small gets nothing written. */
   struct vs_gpu_hdr info = hdr(VS_GPU_CMD_GET_DISPLAY_INFO);
   memcpy(fe.vu.ram + CMD_GPA, &info, sizeof(info));
   vu_put_desc(&fe.vu, DESC(0), 0, CMD_GPA, sizeof(info), VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe.vu, DESC(0), 1, RESP_GPA, 100, VS_VQ_DESC_F_WRITE, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   CHECK_EQ(fe.flushes, 0u);
   fe_close(&fe);
}

TEST(hostile_chains)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   struct vs_gpu_hdr info = hdr(VS_GPU_CMD_GET_DISPLAY_INFO);
   memcpy(fe.vu.ram + CMD_GPA, &info, sizeof(info));
   /* A buffer outside guest RAM, one that wraps, a head beyond the table. */
   vu_put_desc(&fe.vu, DESC(0), 0, RAM_SIZE - 8, 24, VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe.vu, DESC(0), 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 0, UINT64_MAX - 4, 24, VS_VQ_DESC_F_NEXT, 1);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, QSIZE + 3), 0); /* returned unused under the guest's own id */
   /* A loop, a next index beyond the table, readable after writable. */
   vu_put_desc(&fe.vu, DESC(0), 0, RESP_GPA, 24, VS_VQ_DESC_F_WRITE | VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe.vu, DESC(0), 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE | VS_VQ_DESC_F_NEXT, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 0, CMD_GPA, 24, VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe.vu, DESC(0), 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE | VS_VQ_DESC_F_NEXT, 200);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE | VS_VQ_DESC_F_NEXT, 2);
   vu_put_desc(&fe.vu, DESC(0), 2, CMD_GPA, 24, 0, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   /* Indirect tables: larger than the queue, nested, outside RAM; then a good one. */
   vu_put_desc(&fe.vu, DESC(0), 0, INDIRECT_GPA, (QSIZE + 1) * 16, VS_VQ_DESC_F_INDIRECT, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 0, INDIRECT_GPA, 32, VS_VQ_DESC_F_INDIRECT, 0);
   vu_put_desc(&fe.vu, INDIRECT_GPA, 0, INDIRECT_GPA, 32, VS_VQ_DESC_F_INDIRECT, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 0, RAM_SIZE - 16, 32, VS_VQ_DESC_F_INDIRECT, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   vu_put_desc(&fe.vu, DESC(0), 0, INDIRECT_GPA, 32, VS_VQ_DESC_F_INDIRECT, 0);
   vu_put_desc(&fe.vu, INDIRECT_GPA, 0, CMD_GPA, 24, VS_VQ_DESC_F_NEXT, 1);
   vu_put_desc(&fe.vu, INDIRECT_GPA, 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 408);
   /* An indirect loop. */
   vu_put_desc(&fe.vu, INDIRECT_GPA, 1, RESP_GPA, 408, VS_VQ_DESC_F_WRITE | VS_VQ_DESC_F_NEXT, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), 0);
   /* The device still serves good commands. */
   CHECK_EQ(fe_command(&fe, &info, sizeof(info), 408), VS_GPU_RESP_OK_DISPLAY_INFO);
   /* An available index far ahead stops the queue, nothing else. */
   uint16_t *avail = (uint16_t *)(fe.vu.ram + AVAIL(0));
   fe.vu.avail_idx[0] += 100;
   avail[1] = fe.vu.avail_idx[0];
   CHECK_EQ(vu_fe_run(&fe.vu, 0, 0), -1);
   CHECK(vs_vu_device_queue(fe.vu.dev, 0)->broken);
   CHECK_EQ(vu_fe_get_u64(&fe.vu, VS_VU_GET_QUEUE_NUM), 2u);
   fe_close(&fe);
}

/* A request the device must refuse, ending the connection. */
static bool
refused(uint32_t request, uint32_t flags, const void *payload, uint32_t size, const int *fds, unsigned nfds)
{
   struct front_end fe;
   if (!fe_open(&fe))
      return false;
   const bool served = vu_fe_send(&fe.vu, request, flags, payload, size, fds, nfds);
   fe_close(&fe);
   return !served;
}

TEST(hostile_messages)
{
   const uint64_t zero = 0;
   CHECK(refused(VS_VU_GET_FEATURES, VS_VU_VERSION, &zero, 8, NULL, 0));      /* payload not expected */
   CHECK(refused(VS_VU_SET_FEATURES, VS_VU_VERSION, &zero, 4, NULL, 0));      /* short payload */
   CHECK(refused(VS_VU_SET_FEATURES, 0x2, &zero, 8, NULL, 0));                /* version 2 */
   CHECK(refused(VS_VU_SET_FEATURES, VS_VU_VERSION | VS_VU_FLAG_REPLY, &zero, 8, NULL, 0));
   CHECK(refused(77, VS_VU_VERSION, NULL, 0, NULL, 0));                       /* unknown request */
   const uint64_t too_many = ~0ull;
   CHECK(refused(VS_VU_SET_FEATURES, VS_VU_VERSION, &too_many, 8, NULL, 0));  /* features not offered */
   const uint64_t kick = 5;                                                   /* queue 5 of 2 */
   int p[2];
   CHECK(pipe(p) == 0);
   CHECK(refused(VS_VU_SET_VRING_KICK, VS_VU_VERSION, &kick, 8, &p[0], 1));
   const uint64_t kick0 = 0;
   CHECK(refused(VS_VU_SET_VRING_KICK, VS_VU_VERSION, &kick0, 8, NULL, 0));  /* no fd */
   CHECK(refused(VS_VU_SET_OWNER, VS_VU_VERSION, NULL, 0, &p[0], 1));         /* an fd not expected */
   const struct vs_vu_vring_state num = { 0, 1000 };                          /* not a power of two */
   CHECK(refused(VS_VU_SET_VRING_NUM, VS_VU_VERSION, &num, 8, NULL, 0));
   const struct vs_vu_vring_state big = { 0, 4096 };
   CHECK(refused(VS_VU_SET_VRING_NUM, VS_VU_VERSION, &big, 8, NULL, 0));
   /* Mem tables: regions and fds disagree, a region that wraps, one beyond its file. */
   struct vs_vu_mem_table table = { .nregions = 2, .regions = { { 0, 4096, 0, 0 } } };
   CHECK(refused(VS_VU_SET_MEM_TABLE, VS_VU_VERSION, &table, 8 + 64, &p[0], 1));
   CHECK(refused(VS_VU_SET_MEM_TABLE, VS_VU_VERSION, &table, 8 + 32, &p[0], 1));
   int memfd = os_shm_create("guest-ram", 8192);
   CHECK(memfd >= 0);
   table = (struct vs_vu_mem_table){ .nregions = 1, .regions = { { UINT64_MAX - 100, 4096, 0, 0 } } };
   CHECK(refused(VS_VU_SET_MEM_TABLE, VS_VU_VERSION, &table, 8 + 32, &memfd, 1));
   table.regions[0] = (struct vs_vu_mem_region){ 0, 8192, 0, 4096 };
   CHECK(refused(VS_VU_SET_MEM_TABLE, VS_VU_VERSION, &table, 8 + 32, &memfd, 1));
   /* Config beyond the device's 16 bytes, or beyond the message. */
   struct vs_vu_config config = { .offset = 8, .size = 16 };
   CHECK(refused(VS_VU_GET_CONFIG, VS_VU_VERSION, &config, VS_VU_CONFIG_HEADER_SIZE + 16, NULL, 0));
   config = (struct vs_vu_config){ .offset = 0, .size = 300 };
   CHECK(refused(VS_VU_GET_CONFIG, VS_VU_VERSION, &config, VS_VU_CONFIG_HEADER_SIZE + 16, NULL, 0));
   close(memfd);
   close(p[0]);
   close(p[1]);
}


/* Regions added and removed one by one (CONFIGURE_MEM_SLOTS), as the
 * front end does for each blob it maps into the host-visible region. */
TEST(memory_slots)
{
   struct front_end fe;
   CHECK(fe_start(&fe));
   int memfd = os_shm_create("blob", 65536);
   CHECK(memfd >= 0);
   struct vs_vu_mem_reg reg = { .region = { 0x100000000ull, 65536, 0x7f0000000000ull, 0 } };
   const uint32_t flags = VS_VU_VERSION | VS_VU_FLAG_NEED_REPLY;
   CHECK(vu_fe_send(&fe.vu, VS_VU_ADD_MEM_REG, flags, &reg, sizeof(reg), &memfd, 1));
   CHECK_EQ(vu_fe_get_u64(&fe.vu, VS_VU_GET_FEATURES) != 0, true);
   /* The rings still answer: the first region did not move. */
   struct vs_gpu_hdr info = hdr(VS_GPU_CMD_GET_DISPLAY_INFO);
   CHECK_EQ(fe_command(&fe, &info, sizeof(info), sizeof(struct vs_gpu_resp_display_info)),
            VS_GPU_RESP_OK_DISPLAY_INFO);
   CHECK(vu_fe_send(&fe.vu, VS_VU_REM_MEM_REG, flags, &reg, sizeof(reg), NULL, 0));
   /* Overlapping guest RAM, then removing what is not there: refused. */
   struct vs_vu_mem_reg overlap = { .region = { 0x8000, 65536, 0x7f0000100000ull, 0 } };
   CHECK(!vu_fe_send(&fe.vu, VS_VU_ADD_MEM_REG, flags, &overlap, sizeof(overlap), &memfd, 1));
   close(memfd);
   fe_close(&fe);
   CHECK(fe_start(&fe));
   CHECK(!vu_fe_send(&fe.vu, VS_VU_REM_MEM_REG, flags, &reg, sizeof(reg), NULL, 0));
   fe_close(&fe);
}

/* The 3D commands of a device without contexts, and the checks that come
 * before any context: each refused with its error, the device goes on. */
TEST(contexts_refused)
{
   const uint32_t R = sizeof(struct vs_gpu_hdr);
   struct front_end fe;
   CHECK(fe_start(&fe));
   struct vs_gpu_ctx_create create = { .hdr = hdr(VS_GPU_CMD_CTX_CREATE), .context_init = 4 };
   create.hdr.ctx_id = 1;
   CHECK_EQ(fe_command(&fe, &create, sizeof(create), R), VS_GPU_RESP_ERR_UNSPEC);
   struct vs_gpu_cmd_submit submit = { .hdr = hdr(VS_GPU_CMD_SUBMIT_3D), .size = 8 };
   submit.hdr.ctx_id = 1;
   uint8_t with_stream[sizeof(submit) + 8] = { 0 };
   memcpy(with_stream, &submit, sizeof(submit));
   CHECK_EQ(fe_command(&fe, with_stream, sizeof(with_stream), R), VS_GPU_RESP_ERR_INVALID_CONTEXT_ID);
   /* A stream longer than the command carries, or in-fences. */
   submit.size = 64;
   memcpy(with_stream, &submit, sizeof(submit));
   CHECK_EQ(fe_command(&fe, with_stream, sizeof(with_stream), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   submit.size = 8;
   submit.num_in_fences = 1;
   memcpy(with_stream, &submit, sizeof(submit));
   CHECK_EQ(fe_command(&fe, with_stream, sizeof(with_stream), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_resource_create_blob blob = {
      .hdr = hdr(VS_GPU_CMD_RESOURCE_CREATE_BLOB), .resource_id = 9, .blob_mem = VS_GPU_BLOB_MEM_HOST3D,
      .blob_flags = VS_GPU_BLOB_FLAG_USE_MAPPABLE, .size = 4096,
   };
   blob.hdr.ctx_id = 1;
   CHECK_EQ(fe_command(&fe, &blob, sizeof(blob), R), VS_GPU_RESP_ERR_INVALID_CONTEXT_ID);
   blob.blob_flags = 0x80;
   CHECK_EQ(fe_command(&fe, &blob, sizeof(blob), R), VS_GPU_RESP_ERR_INVALID_PARAMETER);
   struct vs_gpu_resource_map_blob map = { .hdr = hdr(VS_GPU_CMD_RESOURCE_MAP_BLOB), .resource_id = 9 };
   CHECK_EQ(fe_command(&fe, &map, sizeof(map), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   struct vs_gpu_resource_unmap_blob unmap = { .hdr = hdr(VS_GPU_CMD_RESOURCE_UNMAP_BLOB), .resource_id = 9 };
   CHECK_EQ(fe_command(&fe, &unmap, sizeof(unmap), R), VS_GPU_RESP_ERR_INVALID_RESOURCE_ID);
   struct vs_gpu_ctx_resource attach = { .hdr = hdr(VS_GPU_CMD_CTX_ATTACH_RESOURCE), .resource_id = 9 };
   attach.hdr.ctx_id = 1;
   CHECK_EQ(fe_command(&fe, &attach, sizeof(attach), R), VS_GPU_RESP_ERR_INVALID_CONTEXT_ID);
   struct vs_gpu_hdr destroy = hdr(VS_GPU_CMD_CTX_DESTROY);
   destroy.ctx_id = 1;
   CHECK_EQ(fe_command(&fe, &destroy, sizeof(destroy), R), VS_GPU_RESP_ERR_INVALID_CONTEXT_ID);
   struct vs_gpu_hdr info = hdr(VS_GPU_CMD_GET_DISPLAY_INFO);
   CHECK_EQ(fe_command(&fe, &info, sizeof(info), sizeof(struct vs_gpu_resp_display_info)),
            VS_GPU_RESP_OK_DISPLAY_INFO);
   fe_close(&fe);
}

/* --vm-scanouts 2: each scanout enabled with a mode of its own, its own
 * resource and rectangle, flushes and cursor; a mode asked of scanout 1
 * changes that one alone; scanout 2 refused everywhere. */
TEST(two_scanouts)
{
   struct front_end fe;
   CHECK(!fe_open_scanouts(&fe, 17));
   vu_fe_close(&fe.vu);
   CHECK(fe_open_scanouts(&fe, 2));
   CHECK(vu_fe_handshake(&fe.vu));
   const uint32_t R = sizeof(struct vs_gpu_hdr), INFO = sizeof(struct vs_gpu_resp_display_info);
   struct vs_gpu_hdr h = hdr(VS_GPU_CMD_GET_DISPLAY_INFO);
   CHECK_EQ(fe_command(&fe, &h, sizeof(h), INFO), VS_GPU_RESP_OK_DISPLAY_INFO);
   struct vs_gpu_resp_display_info info;
   memcpy(&info, fe.vu.ram + RESP_GPA, sizeof(info));
   for (unsigned k = 0; k < 2; k++) {
      CHECK_EQ(info.pmodes[k].r.width, 1280u);
      CHECK_EQ(info.pmodes[k].r.height, 800u);
      CHECK_EQ(info.pmodes[k].enabled, 1u);
   }
   CHECK_EQ(info.pmodes[2].enabled, 0u);
   struct vs_gpu_get_edid e = { hdr(VS_GPU_CMD_GET_EDID), 1, 0 };
   CHECK_EQ(fe_command(&fe, &e, sizeof(e), sizeof(struct vs_gpu_resp_edid)), VS_GPU_RESP_OK_EDID);
   e.scanout = 2;
   CHECK_EQ(fe_command(&fe, &e, sizeof(e), sizeof(struct vs_gpu_resp_edid)), VS_GPU_RESP_ERR_INVALID_SCANOUT_ID);

   /* One 16x8 resource: all of it on scanout 1, its right half on 0. */
   struct vs_gpu_resource_create_2d c = { hdr(VS_GPU_CMD_RESOURCE_CREATE_2D), 1, VS_GPU_FORMAT_B8G8R8X8_UNORM, 16, 8 };
   CHECK_EQ(fe_command(&fe, &c, sizeof(c), R), VS_GPU_RESP_OK_NODATA);
   const struct vs_gpu_mem_entry entry = { PIXELS_GPA, 16 * 8 * 4, 0 };
   CHECK_EQ(attach(&fe, 1, &entry, 1), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_set_scanout s = { hdr(VS_GPU_CMD_SET_SCANOUT), { 0, 0, 16, 8 }, 2, 1 };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_ERR_INVALID_SCANOUT_ID);
   s.scanout_id = 1;
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_OK_NODATA);
   struct vs_gpu_resource_flush f = { hdr(VS_GPU_CMD_RESOURCE_FLUSH), { 0, 0, 16, 8 }, 1, 0 };
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes_of[0], 0u);
   CHECK_EQ(fe.flushes_of[1], 1u);
   CHECK_EQ(fe.flushed_width, 16u);
   s = (struct vs_gpu_set_scanout){ hdr(VS_GPU_CMD_SET_SCANOUT), { 8, 0, 8, 8 }, 0, 1 };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes_of[0], 1u);
   CHECK_EQ(fe.flushes_of[1], 2u);
   /* Scanout 1 off: a flush shows on scanout 0 alone. */
   s = (struct vs_gpu_set_scanout){ hdr(VS_GPU_CMD_SET_SCANOUT), { 0, 0, 0, 0 }, 1, 0 };
   CHECK_EQ(fe_command(&fe, &s, sizeof(s), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe_command(&fe, &f, sizeof(f), R), VS_GPU_RESP_OK_NODATA);
   CHECK_EQ(fe.flushes_of[0], 2u);
   CHECK_EQ(fe.flushes_of[1], 2u);
   CHECK_EQ(fe.flushed_width, 8u);

   /* The cursor: on scanout 1, and none on scanout 2. */
   struct vs_gpu_update_cursor cur = { .hdr = hdr(VS_GPU_CMD_UPDATE_CURSOR), .pos = { 1, 3, 4, 0 }, .resource_id = 1 };
   memcpy(fe.vu.ram + CMD_GPA, &cur, sizeof(cur));
   vu_put_desc(&fe.vu, DESC(1), 0, CMD_GPA, sizeof(cur), 0, 0);
   CHECK_EQ(vu_fe_run(&fe.vu, 1, 0), 0);
   CHECK_EQ(fe.cursor_scanout, 1);
   cur.pos.scanout_id = 2;
   cur.resource_id = 0;
   memcpy(fe.vu.ram + CMD_GPA, &cur, sizeof(cur));
   CHECK_EQ(vu_fe_run(&fe.vu, 1, 0), 0);
   CHECK_EQ(fe.cursor_scanout, 1);
   CHECK_EQ(vs_virtio_gpu_cursor(fe.gpu).scanout, 1u);

   /* A viewer's size for scanout 1: its mode alone, told once. */
   const uint64_t protocol = vu_fe_get_u64(&fe.vu, VS_VU_GET_PROTOCOL_FEATURES);
   CHECK(vu_fe_send(&fe.vu, VS_VU_SET_PROTOCOL_FEATURES, VS_VU_VERSION, &protocol, 8, NULL, 0));
   int backend[2];
   CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, backend) == 0);
   CHECK(vu_fe_send(&fe.vu, VS_VU_SET_BACKEND_REQ_FD, VS_VU_VERSION, NULL, 0, &backend[1], 1));
   close(backend[1]);
   uint32_t w = 640, hh = 480;
   char why[160] = "";
   CHECK(vs_virtio_gpu_set_mode(fe.gpu, 1, &w, &hh, why, sizeof(why)));
   w = 640;
   hh = 480;
   CHECK(!vs_virtio_gpu_set_mode(fe.gpu, 2, &w, &hh, why, sizeof(why)));
   CHECK(strstr(why, "scanout 2") != NULL);
   CHECK_EQ(fe_command(&fe, &h, sizeof(h), INFO), VS_GPU_RESP_OK_DISPLAY_INFO);
   memcpy(&info, fe.vu.ram + RESP_GPA, sizeof(info));
   CHECK_EQ(info.pmodes[0].r.width, 1280u);
   CHECK_EQ(info.pmodes[0].r.height, 800u);
   CHECK_EQ(info.pmodes[1].r.width, 640u);
   CHECK_EQ(info.pmodes[1].r.height, 480u);
   e.scanout = 1;
   CHECK_EQ(fe_command(&fe, &e, sizeof(e), sizeof(struct vs_gpu_resp_edid)), VS_GPU_RESP_OK_EDID);
   struct vs_gpu_resp_edid edid;
   memcpy(&edid, fe.vu.ram + RESP_GPA, sizeof(edid));
   CHECK_EQ(edid.edid[56] | (edid.edid[58] >> 4) << 8, 640);
   close(backend[0]);
   fe_close(&fe);
}

UNIT_MAIN(UNIT(handshake), UNIT(display_info_and_fence), UNIT(edid_and_capset), UNIT(console_round), UNIT(blob_console_round),
          UNIT(hostile_commands), UNIT(hostile_chains), UNIT(hostile_messages),
          UNIT(memory_slots), UNIT(contexts_refused), UNIT(two_scanouts))

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a hostile front end and a hostile guest against one
 * vhost-user device (src/transport/vhost_user/), a virtio-gpu device, or
 * with bit 1 of byte 0 a virtio-input device:
 *   byte 0 even  the rest is a stream of vhost-user messages (no fds) on
 *                a fresh device's socket, served until it refuses one
 *                (an input device's SET_CONFIG selects and GET_CONFIG
 *                answers among them);
 *   byte 0 odd   a device after QEMU's handshake with 64 KiB of guest RAM:
 *                the rest is written over guest RAM from its start (both
 *                queues' descriptor tables, rings and the commands they
 *                name live there), then both queues are kicked. For an
 *                input device, byte 1 first gives a length (mod 73) and
 *                that many bytes after it are a report from the server,
 *                sent on its events socket after the kicks, then the
 *                eventq is kicked again.
 * Crashes, leaks and sanitizer reports are what count. */
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/vhost_user_message.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "transport/vhost_user/virtio_input.h"

#define RAM_SIZE 0x10000u
#define RAM_USER 0x7f0000000000ull
#define QSIZE 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
request(int sock, struct vs_vu_device *dev, uint32_t req, const void *payload, uint32_t len, const int *fds,
        unsigned nfds, bool reply)
{
   uint8_t buf[sizeof(struct vs_vu_header) + 64];
   const struct vs_vu_header h = { req, VS_VU_VERSION, len };
   memcpy(buf, &h, sizeof(h));
   memcpy(buf + sizeof(h), payload, len);
   if (os_send_fds(sock, buf, sizeof(h) + len, fds, nfds, 0) < 0 || !vs_vu_device_handle_message(dev))
      return false;
   uint8_t drop[sizeof(struct vs_vu_header) + 8];
   return !reply || recv(sock, drop, sizeof(drop), 0) > 0;
}

/* A kick or call fd of the kind the device takes (os_fd_is_event): [0]
 * the device's end, [1] the front end's (the same eventfd, duplicated, on
 * Linux; a pipe's ends elsewhere). */
static bool
event_pair(int fds[2])
{
   struct os_event ev;
   if (os_event_init(&ev) < 0)
      return false;
   fds[0] = ev.read_fd;
   fds[1] = ev.write_fd == ev.read_fd ? dup(ev.write_fd) : ev.write_fd;
   return fds[1] >= 0;
}

/* QEMU's handshake, the RAM and both rings (descriptors at 0x0/0x100,
 * avail at 0x200/0x300, used at 0x400/0x500); false if any step failed. */
static bool
start(int sock, struct vs_vu_device *dev, int memfd, int kick[2][2], bool input)
{
   const uint64_t features = input ? (1ull << 32) | (1ull << 30) : (1ull << 32) | (1ull << 28) | (1ull << 30) | 0x1a;
   const uint64_t protocol = (1ull << VS_VU_PROTOCOL_F_CONFIG) | (input ? 0 : 1ull << VS_VU_PROTOCOL_F_SHMEM);
   const struct vs_vu_mem_table table = { .nregions = 1, .regions = { { 0, RAM_SIZE, RAM_USER, 0 } } };
   if (!request(sock, dev, VS_VU_SET_FEATURES, &features, 8, NULL, 0, false) ||
       !request(sock, dev, VS_VU_SET_PROTOCOL_FEATURES, &protocol, 8, NULL, 0, false) ||
       !request(sock, dev, VS_VU_SET_MEM_TABLE, &table, 8 + 32, &memfd, 1, false))
      return false;
   for (uint32_t q = 0; q < 2; q++) {
      const struct vs_vu_vring_state num = { q, QSIZE }, enable = { q, 1 };
      const struct vs_vu_vring_addr addr = { q, 0, RAM_USER + 0x100 * q, RAM_USER + 0x400 + 0x100 * q,
                                             RAM_USER + 0x200 + 0x100 * q, 0 };
      const uint64_t index = q;
      if (!request(sock, dev, VS_VU_SET_VRING_NUM, &num, 8, NULL, 0, false) ||
          !request(sock, dev, VS_VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, false) ||
          !request(sock, dev, VS_VU_SET_VRING_KICK, &index, 8, &kick[q][0], 1, false) ||
          !request(sock, dev, VS_VU_SET_VRING_ENABLE, &enable, 8, NULL, 0, false))
         return false;
   }
   return true;
}

/* Kicks both queues (or only the eventq) and serves what poll reports. */
static void
kick_queues(struct vs_vu_device *dev, int kick[2][2], unsigned queues)
{
   const uint64_t one = 1;
   for (unsigned q = 0; q < queues; q++)
      if (write(kick[q][1], &one, 8) != 8)
         return;
   struct pollfd fds[4];
   const unsigned n = vs_vu_device_pollfds(dev, fds, 4);
   if (poll(fds, n, 0) > 0)
      vs_vu_device_dispatch(dev, fds, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   if (size < 1)
      return 0;
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
      return 0;
   const bool is_input = data[0] & 2, with_ram = data[0] & 1;
   const struct vs_virtio_gpu_options options = {
      .id = 1, .width = 64, .height = 64, .scanouts = 2, .max_pixels = 256 * 256, .shmem_size = 1u << 16,
      .max_resource_bytes = 1u << 20, .max_resources = 8,
   };
   struct vs_virtio_gpu *gpu = NULL;
   struct vs_virtio_input *input = NULL;
   if (is_input)
      input = vs_virtio_input_create(sv[1], 1);
   else
      gpu = vs_virtio_gpu_create(sv[1], &options);
   if (!gpu && !input) {
      close(sv[0]);
      return 0;
   }
   struct vs_vu_device *dev = gpu ? vs_virtio_gpu_device(gpu) : vs_virtio_input_device(input);
   /* Guest RAM's bytes; before them, an input device's report: byte 1
    * its length, then its bytes. */
   const uint8_t *ram_bytes = data + 1, *report = NULL;
   size_t ram_len = size - 1, report_len = 0;
   if (input && with_ram && size >= 2) {
      report_len = data[1] % 73u;
      if (report_len > size - 2)
         report_len = size - 2;
      report = data + 2;
      ram_bytes = report + report_len;
      ram_len = size - 2 - report_len;
   }
   if (!with_ram) {
      /* At most what the socket buffers: the device reads in this thread. */
      const size_t len = size - 1 < 65536 ? size - 1 : 65536;
      if (len && send(sv[0], data + 1, len, MSG_NOSIGNAL | MSG_DONTWAIT) > 0) {
         shutdown(sv[0], SHUT_WR);
         while (vs_vu_device_handle_message(dev)) {
            uint8_t drop[4096];
            while (recv(sv[0], drop, sizeof(drop), MSG_DONTWAIT) > 0) {
            }
         }
      }
   } else {
      int kick[2][2] = { { -1, -1 }, { -1, -1 } };
      int memfd = os_shm_create("fuzz-ram", RAM_SIZE);
      uint8_t *ram = memfd >= 0 ? mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0) : MAP_FAILED;
      if (ram != MAP_FAILED && event_pair(kick[0]) && event_pair(kick[1]) &&
          start(sv[0], dev, memfd, kick, input != NULL)) {
         if (ram_len)
            memcpy(ram, ram_bytes, ram_len < RAM_SIZE ? ram_len : RAM_SIZE);
         /* A viewer's size from RAM's first bytes: the mode it becomes
          * fits the device, whatever was asked. */
         if (gpu && ram_len >= 8) {
            uint32_t w, h;
            char why[160];
            memcpy(&w, ram_bytes, 4);
            memcpy(&h, ram_bytes + 4, 4);
            /* Scanout 0, 1 or 2 (none such: refused, the size untouched). */
            const uint32_t scanout = ram_bytes[0] % 3u, asked_w = w, asked_h = h;
            const bool set = vs_virtio_gpu_set_mode(gpu, scanout, &w, &h, why, sizeof(why));
            if (scanout < options.scanouts &&
                (w < 16 || h < 16 || w > 4095 || h > 4095 || (uint64_t)w * h > options.max_pixels))
               __builtin_trap();
            if (scanout >= options.scanouts && (set || w != asked_w || h != asked_h))
               __builtin_trap();
         }
         kick_queues(dev, kick, 2);
         int events[2];
         if (input && report_len && socketpair(AF_UNIX, SOCK_SEQPACKET, 0, events) == 0) {
            if (send(events[0], report, report_len, MSG_NOSIGNAL) == (ssize_t)report_len &&
                vs_virtio_input_take_report(input, events[1]))
               kick_queues(dev, kick, 1);
            close(events[0]);
            close(events[1]);
         }
      }
      if (ram != MAP_FAILED)
         munmap(ram, RAM_SIZE);
      if (memfd >= 0)
         close(memfd);
      for (int q = 0; q < 2; q++)
         for (int i = 0; i < 2; i++)
            if (kick[q][i] >= 0)
               close(kick[q][i]);
   }
   vs_virtio_gpu_destroy(gpu);
   vs_virtio_input_destroy(input);
   close(sv[0]);
   return 0;
}

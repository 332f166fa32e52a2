/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a hostile front end and a hostile guest against one
 * vhost-user virtio-gpu device (src/transport/vhost_user/):
 *   byte 0 even  the rest is a stream of vhost-user messages (no fds) on
 *                a fresh device's socket, served until it refuses one;
 *   byte 0 odd   a device after QEMU's handshake with 64 KiB of guest RAM:
 *                the rest is written over guest RAM from its start (both
 *                queues' descriptor tables, rings and the commands they
 *                name live there), then both queues are kicked.
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

/* QEMU's handshake, the RAM and both rings (descriptors at 0x0/0x100,
 * avail at 0x200/0x300, used at 0x400/0x500); false if any step failed. */
static bool
start(int sock, struct vs_vu_device *dev, int memfd, int kick[2][2])
{
   const uint64_t features = (1ull << 32) | (1ull << 28) | (1ull << 30) | 0x1a;
   const uint64_t protocol = (1ull << VS_VU_PROTOCOL_F_CONFIG) | (1ull << VS_VU_PROTOCOL_F_SHMEM);
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   if (size < 1)
      return 0;
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
      return 0;
   const struct vs_virtio_gpu_options options = {
      .id = 1, .width = 64, .height = 64, .shmem_size = 1u << 16, .max_resource_bytes = 1u << 20,
      .max_resources = 8,
   };
   struct vs_virtio_gpu *gpu = vs_virtio_gpu_create(sv[1], &options);
   if (!gpu) {
      close(sv[0]);
      return 0;
   }
   struct vs_vu_device *dev = vs_virtio_gpu_device(gpu);
   if (!(data[0] & 1)) {
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
      if (ram != MAP_FAILED && pipe(kick[0]) == 0 && pipe(kick[1]) == 0 && start(sv[0], dev, memfd, kick)) {
         memcpy(ram, data + 1, size - 1 < RAM_SIZE ? size - 1 : RAM_SIZE);
         const uint64_t one = 1;
         if (write(kick[0][1], &one, 8) == 8 && write(kick[1][1], &one, 8) == 8) {
            struct pollfd fds[4];
            const unsigned n = vs_vu_device_pollfds(dev, fds, 4);
            if (poll(fds, n, 0) > 0)
               vs_vu_device_dispatch(dev, fds, n);
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
   close(sv[0]);
   return 0;
}

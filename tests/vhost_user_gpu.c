/* SPDX-License-Identifier: MIT */
/* The vhost-user virtio-gpu device (src/transport/vhost_user/) on a
 * listening socket, for a real VMM (tests/test_vhost_user_qemu.sh):
 *
 *   vhost_user_gpu SOCKET [WIDTHxHEIGHT]
 *
 * Listens on SOCKET, serves the first connection until the front end goes,
 * then exits 0. Logs at debug level on stderr (one line per control
 * command), the first flush of each size, and on exit a summary line:
 *   vhost_user_gpu: N flushes, last WxH
 * which the test reads to know a scanout reached the device. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtio_gpu.h"

struct flushes {
   unsigned long count;
   uint32_t width, height;
};

static void
on_flush(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride)
{
   (void)pixels;
   (void)stride;
   struct flushes *f = data;
   if (f->count == 0 || f->width != width || f->height != height)
      fprintf(stderr, "vhost_user_gpu: flush of scanout %u, %ux%u\n", scanout, width, height);
   f->count++;
   f->width = width;
   f->height = height;
}

int
main(int argc, char **argv)
{
   if (argc < 2 || argc > 3) {
      fprintf(stderr, "usage: %s SOCKET [WIDTHxHEIGHT]\n", argv[0]);
      return 2;
   }
   unsigned width = 1024, height = 768;
   if (argc == 3 && sscanf(argv[2], "%ux%u", &width, &height) != 2) {
      fprintf(stderr, "vhost_user_gpu: bad size '%s'\n", argv[2]);
      return 2;
   }
   struct sockaddr_un addr = { .sun_family = AF_UNIX };
   if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
      fprintf(stderr, "vhost_user_gpu: socket path too long\n");
      return 2;
   }
   strcpy(addr.sun_path, argv[1]);
   vs_log_threshold = VS_LOG_DEBUG;

   int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   unlink(argv[1]);
   if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 1) < 0) {
      fprintf(stderr, "vhost_user_gpu: cannot listen on %s: %s\n", argv[1], strerror(errno));
      return 1;
   }
   fprintf(stderr, "vhost_user_gpu: listening on %s\n", argv[1]);
   int sock;
   do
      sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
   while (sock < 0 && errno == EINTR);
   close(listener);
   unlink(argv[1]);
   if (sock < 0) {
      fprintf(stderr, "vhost_user_gpu: accept: %s\n", strerror(errno));
      return 1;
   }
   fprintf(stderr, "vhost_user_gpu: front end connected\n");

   struct flushes flushes = { 0 };
   const struct vs_virtio_gpu_options options = {
      .id = 1,
      .width = width,
      .height = height,
      /* A power of two sizes QEMU's BAR without slack. */
      .shmem_size = 256ull << 20,
      .max_resource_bytes = 64ull << 20,
      .max_resources = 64,
      .on_flush = on_flush,
      .flush_data = &flushes,
   };
   struct vs_virtio_gpu *gpu = vs_virtio_gpu_create(sock, &options);
   if (!gpu)
      return 1;
   vs_vu_device_run(vs_virtio_gpu_device(gpu));
   vs_virtio_gpu_destroy(gpu);
   fprintf(stderr, "vhost_user_gpu: %lu flushes, last %ux%u\n", flushes.count, flushes.width, flushes.height);
   return 0;
}

/* SPDX-License-Identifier: MIT */
/* venus-server --vhost-user: the listening socket, a worker process per VM
 * device, and a waiting thread per device that reports its end. */
#include "transport/vhost_user/vhost_user_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/listen_socket.h"
#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "worker/worker_pool.h"

struct vs_vhost_user_workers {
   struct vs_worker_pool *pool;
};

/* What a worker is told of its device, beside the VMM's socket: all of it
 * from the server's own options. */
struct device_job {
   uint32_t id;
   uint32_t width, height;
   uint64_t hostmem_bytes;
};

/* The first flush of each size says what the VM shows; the device's end
 * how many followed. Each flush of scanout 0 goes to the display, if any. */
struct scanout_report {
   uint32_t id;
   uint32_t width, height;
   unsigned long flushes;
   struct vs_scanout_export *export; /* NULL: no display */
};

static void
report_flush(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride)
{
   struct scanout_report *report = data;
   if (scanout == 0)
      vs_scanout_export_frame(report->export, pixels, width, height, stride);
   if (report->flushes == 0 || report->width != width || report->height != height)
      vs_info(0, "vhost-user device %u: scanout %u shows %ux%u", report->id, scanout, width, height);
   report->width = width;
   report->height = height;
   report->flushes++;
}

/* In the worker process: the device, until its VMM goes. Its fds: the
 * VMM's socket, then, where the server has a display, the framebuffer and
 * the announcements' socket (scanout_export.h). */
static int
serve_device(const int *fds, unsigned fd_count, const void *job_bytes, size_t job_size, void *data)
{
   (void)data;
   struct device_job job;
   if ((fd_count != 1 && fd_count != 3) || job_size != sizeof(job))
      return 1;
   memcpy(&job, job_bytes, sizeof(job));
   struct scanout_report report = { .id = job.id };
   if (fd_count == 3 &&
       !(report.export = vs_scanout_export_create(job.id, fds[1], vs_scanout_framebuffer_size(job.width, job.height),
                                                  fds[2])))
      return 1;
   const struct vs_virtio_gpu_options options = {
      .id = job.id,
      .width = job.width,
      .height = job.height,
      .shmem_size = job.hostmem_bytes,
      /* Host copies of 2D resources: a few full-size framebuffers. */
      .max_resource_bytes = 64ull << 20,
      .max_resources = 256,
      .on_flush = report_flush,
      .flush_data = &report,
   };
   struct vs_virtio_gpu *gpu = vs_virtio_gpu_create(fds[0], &options);
   if (!gpu) {
      vs_scanout_export_destroy(report.export);
      return 1;
   }
   vs_vu_device_run(vs_virtio_gpu_device(gpu));
   vs_virtio_gpu_destroy(gpu);
   vs_scanout_export_destroy(report.export);
   vs_info(0, "vhost-user device %u: ended after %lu flushes of its scanout", job.id, report.flushes);
   return 0;
}

struct vs_vhost_user_workers *
vs_vhost_user_workers_create(unsigned ready)
{
   struct vs_vhost_user_workers *workers = calloc(1, sizeof(*workers));
   if (!workers) {
      vs_error(0, "vhost-user: out of memory");
      return NULL;
   }
   const struct vs_worker_pool_config config = {
      .ready = ready,
      .serve = serve_device,
      .name = "vhost-user",
   };
   workers->pool = vs_worker_pool_create(&config);
   if (!workers->pool) {
      free(workers);
      return NULL;
   }
   return workers;
}

void
vs_vhost_user_workers_destroy(struct vs_vhost_user_workers *workers)
{
   if (!workers)
      return;
   vs_worker_pool_destroy(workers->pool);
   free(workers);
}

/* One device's worker, watched by a thread of its own. */
struct device {
   struct server *server;
   uint32_t id;
   pid_t pid;
   pthread_t waiter;
   /* The server's end of its scanout (no display: no map, fd -1). */
   const uint8_t *framebuffer;
   uint64_t framebuffer_size;
   int notify_fd;
   bool ended; /* under server->lock */
   struct device *next;
};

struct server {
   struct vs_worker_pool *pool;
   const struct vs_vhost_user_options *options;
   pthread_mutex_t lock;
   struct device *devices; /* under lock */
   unsigned live;          /* under lock */
};

/* The scanout's end: what the display holds of the device goes. */
static void
close_scanout(struct device *device)
{
   if (device->notify_fd < 0)
      return;
   const struct vs_vhost_user_options *options = device->server->options;
   options->hide(options->display, device->id);
   close(device->notify_fd);
   device->notify_fd = -1;
   os_unmap_guarded((void *)device->framebuffer, device->framebuffer_size, 0);
}

/* The device's frames until its worker closes their socket (it ends, or
 * sends a malformed one), then the worker's end. */
static void *
wait_device(void *arg)
{
   struct device *device = arg;
   struct server *server = device->server;
   if (device->notify_fd >= 0) {
      vs_scanout_import_run(device->id, device->framebuffer, device->framebuffer_size, device->notify_fd,
                            server->options->show, server->options->display);
      close_scanout(device);
   }
   int status = vs_worker_pool_wait(server->pool, device->pid);
   if (WIFSIGNALED(status))
      vs_warn(0, "vhost-user device %u: its worker (pid %d) was killed by signal %d; the VM lost its GPU",
              device->id, (int)device->pid, WTERMSIG(status));
   else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      vs_warn(0, "vhost-user device %u: its worker (pid %d) ended with status %d", device->id, (int)device->pid,
              WEXITSTATUS(status));
   else
      vs_info(0, "vhost-user device %u: its worker (pid %d) ended", device->id, (int)device->pid);
   pthread_mutex_lock(&server->lock);
   device->ended = true;
   server->live--;
   pthread_mutex_unlock(&server->lock);
   return NULL;
}

/* Joins the waiters of devices that ended. */
static void
reap_devices(struct server *server)
{
   pthread_mutex_lock(&server->lock);
   struct device **link = &server->devices;
   while (*link) {
      struct device *device = *link;
      if (!device->ended) {
         link = &device->next;
         continue;
      }
      *link = device->next;
      pthread_mutex_unlock(&server->lock);
      pthread_join(device->waiter, NULL);
      free(device);
      pthread_mutex_lock(&server->lock);
   }
   pthread_mutex_unlock(&server->lock);
}

/* The device's framebuffer (mapped read-only here) and the socket pair of
 * its announcements: fds[1] and fds[2] for the worker. False (logged, all
 * closed) on failure. */
static bool
open_scanout(struct device *device, const struct vs_vhost_user_options *options, int fds[3])
{
   /* Whole pages: the worker could shrink a memfd that cannot be sealed
    * (off Linux), and os_map_guarded's fault-safe mapping wants pages. */
   uint64_t page = os_page_size();
   uint64_t size = (vs_scanout_framebuffer_size(options->width, options->height) + page - 1) / page * page;
   int pair[2] = { -1, -1 };
   int memfd = os_shm_create("vs-scanout", (size_t)size);
   void *map = NULL;
   if (memfd >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0)
      map = os_map_guarded(memfd, (size_t)size, 0);
   if (!map) {
      vs_error(0, "vhost-user: VM device %u: no framebuffer for its scanout: %s", device->id, strerror(errno));
      if (memfd >= 0)
         close(memfd);
      if (pair[0] >= 0) {
         close(pair[0]);
         close(pair[1]);
      }
      return false;
   }
   os_shm_seal_size(memfd);
   device->framebuffer = map;
   device->framebuffer_size = size;
   device->notify_fd = pair[0];
   fds[1] = memfd;
   fds[2] = pair[1];
   return true;
}

static void
start_device(struct server *server, int sock, uint32_t id, const struct vs_vhost_user_options *options)
{
   pthread_mutex_lock(&server->lock);
   bool full = server->live >= options->max_devices;
   pthread_mutex_unlock(&server->lock);
   if (full) {
      vs_warn(0, "vhost-user: refusing VM device %u: %u devices are served already, the most at once", id,
              options->max_devices);
      return;
   }
   struct device *device = calloc(1, sizeof(*device));
   if (!device) {
      vs_error(0, "vhost-user: out of memory for VM device %u", id);
      return;
   }
   const struct device_job job = {
      .id = id, .width = options->width, .height = options->height, .hostmem_bytes = options->hostmem_bytes,
   };
   device->server = server;
   device->id = id;
   device->notify_fd = -1;
   int fds[3] = { sock, -1, -1 };
   if (options->show && !open_scanout(device, options, fds)) {
      free(device);
      return;
   }
   device->pid = vs_worker_pool_run(server->pool, fds, options->show ? 3 : 1, &job, sizeof(job));
   /* The worker has its copies. */
   if (options->show) {
      close(fds[1]);
      close(fds[2]);
   }
   if (device->pid <= 0) {
      vs_error(0, "vhost-user: no worker process for VM device %u: %s", id, strerror(errno));
      close_scanout(device);
      free(device);
      return;
   }
   pthread_mutex_lock(&server->lock);
   server->live++;
   device->next = server->devices;
   server->devices = device;
   int err = pthread_create(&device->waiter, NULL, wait_device, device);
   if (err) {
      /* Unwatched, the worker is still the pool's to end at stop. */
      server->live--;
      server->devices = device->next;
      pthread_mutex_unlock(&server->lock);
      vs_error(0, "vhost-user: VM device %u: no waiting thread: %s; ending its worker", id, strerror(err));
      vs_worker_pool_kill(server->pool, device->pid);
      vs_worker_pool_wait(server->pool, device->pid);
      close_scanout(device);
      free(device);
      return;
   }
   pthread_mutex_unlock(&server->lock);
   vs_info(0, "vhost-user device %u: served by worker process %d", id, (int)device->pid);
}

/* Ends every device's worker, then joins its waiter. */
static void
stop_devices(struct server *server)
{
   pthread_mutex_lock(&server->lock);
   for (struct device *device = server->devices; device; device = device->next)
      if (!device->ended)
         vs_worker_pool_kill(server->pool, device->pid);
   while (server->devices) {
      struct device *device = server->devices;
      server->devices = device->next;
      pthread_mutex_unlock(&server->lock);
      pthread_join(device->waiter, NULL);
      free(device);
      pthread_mutex_lock(&server->lock);
   }
   pthread_mutex_unlock(&server->lock);
}

int
vs_vhost_user_server_run(const char *socket_path, const struct vs_vhost_user_options *options,
                         struct vs_vhost_user_workers *workers, int stop_fd)
{
   struct stat identity;
   int listen_fd = vs_listen_socket_open(socket_path, &identity);
   if (listen_fd < 0)
      return 1;
   struct server server = { .pool = workers->pool, .options = options };
   pthread_mutex_init(&server.lock, NULL);
   vs_info(0, "vhost-user: serving VM virtio-gpu devices on %s (scanout %ux%u, host-visible region %llu MiB)",
           socket_path, options->width, options->height, (unsigned long long)(options->hostmem_bytes >> 20));
   uint32_t next_id = 1;
   for (;;) {
      struct pollfd fds[2] = {
         { .fd = stop_fd, .events = POLLIN },
         { .fd = listen_fd, .events = POLLIN },
      };
      if (poll(fds, 2, -1) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "vhost-user: poll: %s", strerror(errno));
         break;
      }
      if (fds[0].revents)
         break;
      reap_devices(&server);
      if (!(fds[1].revents & POLLIN))
         continue;
      int sock = accept(listen_fd, NULL, NULL);
      if (sock < 0) {
         if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            vs_warn(0, "vhost-user: accept: %s", strerror(errno));
         continue;
      }
      if (os_set_cloexec(sock) < 0 || os_set_nonblocking(sock, false) < 0 || os_socket_prepare(sock) < 0)
         vs_warn(0, "vhost-user: refusing a connection: cannot set up its socket: %s", strerror(errno));
      else
         start_device(&server, sock, next_id++, options);
      /* The worker has its copy. */
      close(sock);
   }
   close(listen_fd);
   vs_listen_socket_remove(socket_path, &identity);
   stop_devices(&server);
   pthread_mutex_destroy(&server.lock);
   vs_info(0, "vhost-user: stopped");
   return 0;
}

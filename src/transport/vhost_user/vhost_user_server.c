/* SPDX-License-Identifier: MIT */
/* venus-server --vhost-user: the listening sockets (GPU devices, and with
 * --vhost-user-input input devices), a worker process per VM device, and
 * a waiting thread per device that reports its end. Both kinds share the
 * pool, the ids and all of this; they differ in their job's fds. */
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
#include "transport/vhost_user/input_router.h"
#include "renderer/device_snapshot.h"
#include "renderer/warm_up.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "transport/vhost_user/virtio_input.h"
#include "worker/worker_pool.h"

struct vs_vhost_user_workers {
   struct vs_worker_pool *pool;
   const struct vs_context_options *options;
};

enum device_kind { DEVICE_GPU, DEVICE_INPUT, DEVICE_KINDS };
static const char *const kind_names[DEVICE_KINDS] = { "virtio-gpu", "virtio-input" };

/* What a worker is told of its device, beside the VMM's socket: all of it
 * from the server's own options. */
struct device_job {
   uint32_t kind; /* enum device_kind */
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
count_flush(struct scanout_report *report, uint32_t scanout, uint32_t width, uint32_t height)
{
   if (report->flushes == 0 || report->width != width || report->height != height)
      vs_info(0, "vhost-user device %u: scanout %u shows %ux%u", report->id, scanout, width, height);
   report->width = width;
   report->height = height;
   report->flushes++;
}

static void
report_flush(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride)
{
   struct scanout_report *report = data;
   if (scanout == 0)
      vs_scanout_export_frame(report->export, pixels, width, height, stride);
   count_flush(report, scanout, width, height);
}

/* A host blob's frame: the display reads it in place. */
static void
report_buffer_flush(void *data, uint32_t scanout, const struct vs_virtio_gpu_buffer_frame *f)
{
   struct scanout_report *report = data;
   if (scanout == 0)
      vs_scanout_export_buffer(report->export, f->buffer, f->fd, f->size, f->offset, f->stride, f->width, f->height);
   count_flush(report, scanout, f->width, f->height);
}

/* In the worker process: an input device, until its VMM goes or the
 * server closes its reports' socket. */
static int
serve_input(const int *fds, const struct device_job *job)
{
   struct vs_virtio_input *input = vs_virtio_input_create(fds[0], job->id);
   if (!input)
      return 1;
   vs_virtio_input_run(input, fds[1]);
   vs_info(0, "vhost-user device %u: ended after %llu input events (%llu dropped)", job->id,
           (unsigned long long)vs_virtio_input_delivered(input), (unsigned long long)vs_virtio_input_dropped(input));
   vs_virtio_input_destroy(input);
   return 0;
}

/* In each new worker: the host driver's warm-up, before a VM comes. */
static void
prepare_device(void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   vs_renderer_prewarm(&workers->options->renderer);
}

/* In the server process: a worker died warming up. The device snapshot
 * it may have warmed up from goes, lest every next worker die of it. */
static void
prepare_device_died(void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   if (workers->options->renderer.device_snapshots)
      vs_device_snapshot_drop(workers->options->renderer.device_snapshots);
}

/* In the worker process: the device, until its VMM goes. Its fds: the
 * VMM's socket, then for a GPU device, where the server has a display, the
 * framebuffer and the announcements' socket (scanout_export.h); for an
 * input device, its reports' socket (input_router.h). */
static int
serve_device(const int *fds, unsigned fd_count, const void *job_bytes, size_t job_size, void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   struct device_job job;
   if (job_size != sizeof(job))
      return 1;
   memcpy(&job, job_bytes, sizeof(job));
   if (job.kind == DEVICE_INPUT && fd_count == 2)
      return serve_input(fds, &job);
   if (job.kind != DEVICE_GPU || (fd_count != 1 && fd_count != 3))
      return 1;
   struct scanout_report report = { .id = job.id };
   if (fd_count == 3 &&
       !(report.export = vs_scanout_export_create(job.id, fds[1], vs_scanout_framebuffer_size(job.width, job.height),
                                                  fds[2])))
      return 1;
   /* The VM's contexts in this worker alone; its first device may be the
    * one the warm-up prepared. */
   struct vs_context_options context_options = *workers->options;
   context_options.renderer.device_hook = &vs_warm_up_device_hook;
   context_options.worker_link = NULL;
   context_options.resource_table = NULL;
   const struct vs_virtio_gpu_options options = {
      .id = job.id,
      .context_options = &context_options,
      .width = job.width,
      .height = job.height,
      .shmem_size = job.hostmem_bytes,
      /* Host copies of 2D resources: a few full-size framebuffers. */
      .max_resource_bytes = 64ull << 20,
      .max_resources = 256,
      .on_flush = report_flush,
      .on_flush_buffer = report_buffer_flush,
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
vs_vhost_user_workers_create(const struct vs_context_options *options, unsigned ready)
{
   struct vs_vhost_user_workers *workers = calloc(1, sizeof(*workers));
   if (!workers) {
      vs_error(0, "vhost-user: out of memory");
      return NULL;
   }
   workers->options = options;
   const struct vs_worker_pool_config config = {
      .ready = ready,
      .prepare = prepare_device,
      .prepare_died = prepare_device_died,
      .serve = serve_device,
      .data = workers,
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
   enum device_kind kind;
   uint32_t id;
   pid_t pid;
   pid_t vmm; /* the peer's pid, 0 when unknown */
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
   struct device *devices;      /* under lock */
   unsigned live[DEVICE_KINDS]; /* under lock */
   /* A refusal is logged once, then no other of that kind until a device
    * of it ends (which says how many came meanwhile): connections that
    * keep coming while the slots are full do not flood the log. */
   bool refusing_quietly[DEVICE_KINDS]; /* under lock */
   unsigned refused_quietly[DEVICE_KINDS]; /* under lock */
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
   if (server->options->router)
      vs_input_router_remove(server->options->router, device->id);
   pthread_mutex_lock(&server->lock);
   device->ended = true;
   server->live[device->kind]--;
   const bool were_quiet = server->refusing_quietly[device->kind];
   const unsigned refused = server->refused_quietly[device->kind];
   server->refusing_quietly[device->kind] = false;
   server->refused_quietly[device->kind] = 0;
   pthread_mutex_unlock(&server->lock);
   if (were_quiet && refused)
      vs_warn(0, "vhost-user: %u more %s devices were refused since the last refusal line", refused,
              kind_names[device->kind]);
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

/* The socket pair an input device's reports cross: fds[1] for the worker,
 * *router_end the server's. False (logged) on failure. */
static bool
open_reports(uint32_t id, int fds[3], int *router_end)
{
   int pair[2];
   if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
      vs_error(0, "vhost-user: VM device %u: no socket for its input reports: %s", id, strerror(errno));
      return false;
   }
   if (os_socket_prepare(pair[0]) < 0) {
      vs_error(0, "vhost-user: VM device %u: cannot set up its input reports' socket: %s", id, strerror(errno));
      close(pair[0]);
      close(pair[1]);
      return false;
   }
   *router_end = pair[0];
   fds[1] = pair[1];
   return true;
}

static void
start_device(struct server *server, int sock, uint32_t id, enum device_kind kind)
{
   const struct vs_vhost_user_options *options = server->options;
   pid_t vmm = 0;
   if (os_peer_pid(sock, &vmm) < 0)
      vmm = 0;
   pthread_mutex_lock(&server->lock);
   unsigned of_peer = 0;
   for (const struct device *d = server->devices; d; d = d->next)
      of_peer += d->kind == kind && d->vmm == vmm && !d->ended;
   const bool full = server->live[kind] >= options->max_devices;
   const bool peer_full = options->max_devices_per_peer && of_peer >= options->max_devices_per_peer;
   const bool quiet = server->refusing_quietly[kind];
   if (full || peer_full) {
      server->refusing_quietly[kind] = true;
      server->refused_quietly[kind] += quiet;
   }
   pthread_mutex_unlock(&server->lock);
   if ((full || peer_full) && !quiet) {
      if (full)
         vs_warn(0, "vhost-user: refusing VM device %u of VMM pid %d: %u %s devices are served already, the most at "
                 "once (further refusals are counted until one ends)", id, (int)vmm, options->max_devices,
                 kind_names[kind]);
      else
         vs_warn(0, "vhost-user: refusing VM device %u: VMM pid %d holds %u %s devices, the most one VMM may "
                 "(further refusals are counted until one ends)", id, (int)vmm, of_peer, kind_names[kind]);
   }
   if (full || peer_full)
      return;
   struct device *device = calloc(1, sizeof(*device));
   if (!device) {
      vs_error(0, "vhost-user: out of memory for VM device %u", id);
      return;
   }
   const struct device_job job = {
      .kind = kind, .id = id, .width = options->width, .height = options->height,
      .hostmem_bytes = options->hostmem_bytes,
   };
   device->server = server;
   device->kind = kind;
   device->id = id;
   device->vmm = vmm;
   device->notify_fd = -1;
   int fds[3] = { sock, -1, -1 };
   int reports = -1;
   unsigned fd_count = 1;
   if (kind == DEVICE_INPUT) {
      if (!open_reports(id, fds, &reports)) {
         free(device);
         return;
      }
      fd_count = 2;
   } else if (options->show) {
      if (!open_scanout(device, options, fds)) {
         free(device);
         return;
      }
      fd_count = 3;
   }
   device->pid = vs_worker_pool_run(server->pool, fds, fd_count, &job, sizeof(job));
   /* The worker has its copies. */
   for (unsigned i = 1; i < fd_count; i++)
      close(fds[i]);
   if (device->pid <= 0) {
      vs_error(0, "vhost-user: no worker process for VM device %u: %s", id, strerror(errno));
      if (reports >= 0)
         close(reports);
      close_scanout(device);
      free(device);
      return;
   }
   /* Routed before its waiter can remove it. */
   if (options->router && !(kind == DEVICE_INPUT ? vs_input_router_add_input(options->router, id, vmm, reports)
                                                 : vs_input_router_add_gpu(options->router, id, vmm)))
      vs_worker_pool_kill(server->pool, device->pid);
   pthread_mutex_lock(&server->lock);
   server->live[kind]++;
   device->next = server->devices;
   server->devices = device;
   int err = pthread_create(&device->waiter, NULL, wait_device, device);
   if (err) {
      /* Unwatched, the worker is still the pool's to end at stop. */
      server->live[kind]--;
      server->devices = device->next;
      pthread_mutex_unlock(&server->lock);
      vs_error(0, "vhost-user: VM device %u: no waiting thread: %s; ending its worker", id, strerror(err));
      vs_worker_pool_kill(server->pool, device->pid);
      vs_worker_pool_wait(server->pool, device->pid);
      if (options->router)
         vs_input_router_remove(options->router, id);
      close_scanout(device);
      free(device);
      return;
   }
   pthread_mutex_unlock(&server->lock);
   vs_info(0, "vhost-user device %u: a %s device of VMM pid %d, served by worker process %d", id, kind_names[kind],
           (int)vmm, (int)device->pid);
}

/* The next connection on a listening socket, made ready for its worker;
 * -1 when there is none or it was refused (logged). */
static int
accept_connection(int listen_fd)
{
   int sock = accept(listen_fd, NULL, NULL);
   if (sock < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
         vs_warn(0, "vhost-user: accept: %s", strerror(errno));
      return -1;
   }
   if (os_set_cloexec(sock) < 0 || os_set_nonblocking(sock, false) < 0 || os_socket_prepare(sock) < 0) {
      vs_warn(0, "vhost-user: refusing a connection: cannot set up its socket: %s", strerror(errno));
      close(sock);
      return -1;
   }
   return sock;
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
   const char *paths[DEVICE_KINDS] = { socket_path, options->input_path };
   if (options->input_path && !options->router) {
      vs_error(0, "vhost-user: input devices on %s need an input router", options->input_path);
      return 1;
   }
   struct stat identity[DEVICE_KINDS];
   int listen_fds[DEVICE_KINDS] = { -1, -1 };
   for (unsigned k = 0; k < DEVICE_KINDS; k++) {
      if (paths[k] && (listen_fds[k] = vs_listen_socket_open(paths[k], &identity[k])) < 0) {
         if (k) {
            close(listen_fds[0]);
            vs_listen_socket_remove(paths[0], &identity[0]);
         }
         return 1;
      }
   }
   struct server server = { .pool = workers->pool, .options = options };
   pthread_mutex_init(&server.lock, NULL);
   vs_info(0, "vhost-user: serving VM virtio-gpu devices on %s (scanout %ux%u, host-visible region %llu MiB)",
           socket_path, options->width, options->height, (unsigned long long)(options->hostmem_bytes >> 20));
   if (paths[DEVICE_INPUT])
      vs_info(0, "vhost-user: serving VM virtio-input devices on %s (a keyboard and an absolute pointer)",
              paths[DEVICE_INPUT]);
   uint32_t next_id = 1;
   for (;;) {
      struct pollfd fds[1 + DEVICE_KINDS] = { { .fd = stop_fd, .events = POLLIN } };
      for (unsigned k = 0; k < DEVICE_KINDS; k++)
         fds[1 + k] = (struct pollfd){ .fd = listen_fds[k], .events = POLLIN };
      if (poll(fds, 1 + DEVICE_KINDS, -1) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "vhost-user: poll: %s", strerror(errno));
         break;
      }
      if (fds[0].revents)
         break;
      reap_devices(&server);
      for (unsigned k = 0; k < DEVICE_KINDS; k++) {
         if (!(fds[1 + k].revents & POLLIN))
            continue;
         int sock = accept_connection(listen_fds[k]);
         if (sock < 0)
            continue;
         start_device(&server, sock, next_id++, (enum device_kind)k);
         /* The worker has its copy. */
         close(sock);
      }
   }
   for (unsigned k = 0; k < DEVICE_KINDS; k++) {
      if (listen_fds[k] >= 0) {
         close(listen_fds[k]);
         vs_listen_socket_remove(paths[k], &identity[k]);
      }
   }
   stop_devices(&server);
   pthread_mutex_destroy(&server.lock);
   vs_info(0, "vhost-user: stopped");
   return 0;
}

/* SPDX-License-Identifier: MIT */
/* venus-server --vhost-user: the listening sockets (GPU devices, and with
 * --vhost-user-input input devices), a worker process per VM device, and
 * a waiting thread per device that reports its end. Both kinds share the
 * pool, the ids and all of this; they differ in their job's fds. */
#include "transport/vhost_user/vhost_user_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ledger.h"
#include "base/listen_socket.h"
#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/input_router.h"
#include "renderer/device_snapshot.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/vhost_user_worker.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "transport/vmm/render.h"
#include "transport/vmm/render_worker.h"
#include "worker/activity.h"
#include "worker/connection_lines.h"
#include "worker/placement.h"
#include "worker/tenant.h"
#include "worker/start_ration.h"
#include "worker/worker_pool.h"

/* Venus contexts a VM's device holds at once (virtio_gpu_contexts.c's),
 * and the lines above debug level they may log about themselves. */
#define CONTEXTS_PER_DEVICE 64
#define CONTEXT_LINES_PER_DEVICE 32

static const char *const kind_names[VS_VU_DEVICE_KINDS] = { "virtio-gpu", "virtio-input" };

/* A GPU device's job fds: its socket, its ledger or contexts' socket, a
 * framebuffer and a socket pair's end per scanout, its activity record. */
_Static_assert(3 + 2 * VS_VIRTIO_GPU_MAX_SCANOUTS <= VS_WORKER_FDS_MAX, "a device's fds go in one job");
_Static_assert(VS_VIRTIO_GPU_MAX_SCANOUTS <= VS_HAND_OVER_SCANOUTS_PER_DEVICE, "a device's scanouts cross");

/* In the server process: a worker died warming up. The device snapshot
 * it may have warmed up from goes, lest every next worker die of it. */
static void
prepare_device_died(void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   if (workers->options->renderer.device_snapshots)
      vs_device_snapshot_drop(workers->options->renderer.device_snapshots, -1);
}

struct vs_vhost_user_workers *
vs_vhost_user_workers_create(const struct vs_context_options *options, unsigned ready, bool contexts_apart)
{
   struct vs_vhost_user_workers *workers = calloc(1, sizeof(*workers));
   if (!workers) {
      vs_error(0, "vhost-user: out of memory");
      return NULL;
   }
   workers->options = options;
   if (contexts_apart) {
      /* The device's worker shows its scanouts itself: the contexts' server
       * keeps no registry of their memory. */
      workers->contexts_options = *options;
      workers->contexts_options.renderer.shared_registry = NULL;
      workers->contexts_options.resource_table = NULL;
      workers->contexts = render_workers_create(&workers->contexts_options, ready);
      if (!workers->contexts) {
         free(workers);
         return NULL;
      }
   }
   /* Where the contexts have workers of their own, each is placed
    * (render_server.c); else the GPU device's worker is. */
   const struct vs_worker_pool_config config = {
      .ready = ready,
      .gpus = contexts_apart ? 0 : vs_placement_gpu_count(options->placement),
      .placement = contexts_apart ? NULL : options->placement,
      .prepare = vs_vu_worker_prepare,
      .prepare_died = prepare_device_died,
      .claim = vs_vu_worker_claim,
      .serve = vs_vu_worker_serve,
      .data = workers,
      .name = "vhost-user",
   };
   workers->pool = vs_worker_pool_create(&config);
   if (!workers->pool) {
      render_workers_destroy(workers->contexts);
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
   render_workers_destroy(workers->contexts);
   free(workers);
}

/* The server's end of one scanout of a GPU device: its framebuffer
 * (mapped read-only here; the fd kept for a live upgrade) and its
 * announcements' socket, read by an import loop on a thread of its own. */
struct device_scanout {
   struct device *device;
   uint32_t index;
   int framebuffer_fd;
   /* import.notify_fd: -1 once closed; under server->lock. */
   struct vs_scanout_import import;
   pthread_t importer;
   bool importing;
};

/* One device: its worker started and watched by a thread of its own. */
struct device {
   struct server *server;
   enum vs_vu_device_kind kind;
   uint32_t id;
   pid_t pid; /* 0 until its worker claimed the connection; under server->lock */
   pid_t vmm; /* the peer's pid, 0 when unknown */
   uid_t uid; /* the peer's uid, (uid_t)-1 when unknown: its slots are counted per uid */
   /* The server's copy of the connection, until its worker claimed it
    * (-1 then): shut down at stop, so that a claim waiting for a silent
    * VMM ends at once. Under server->lock. */
   int sock;
   pthread_t waiter;
   /* The server's end of its scanouts, `scanouts` of them opened (no
    * display: none); under server->lock. */
   struct device_scanout scanout[VS_VIRTIO_GPU_MAX_SCANOUTS];
   uint32_t scanouts;
   int reports; /* an input device's reports, the router's once routed; -1: none */
   struct vs_tenant tenant; /* its worker, and a GPU device's account served for it */
   /* With its contexts apart: the server's end of its worker's socket to
    * their render server, served by `contexts` once the worker started. */
   int contexts_fd;
   pthread_t contexts;
   bool contexts_served;
   /* Whether a queue of it ran (its worker tells), since `connected_ns`:
    * one that never starts a queue may lose its slot to a newcomer. */
   struct vs_activity *activity;
   int activity_fd;
   uint64_t connected_ns;
   bool evicted; /* under server->lock: its slot is a newcomer's */
   bool stopped; /* under server->lock: the server ends its worker as it stops */
   bool ended; /* under server->lock */
   /* Its contexts' render server's hold for a live upgrade (contexts
    * apart); NULL: none. */
   struct render_hand_over *hand_over;
   /* Taken over from the process before a live upgrade: its record, and
    * how many of its contexts' follow it (their render server adopts them). */
   const struct vs_hand_over_tenant *adopted;
   unsigned adopted_context_count;
   struct device *next;
};

struct server {
   struct vs_worker_pool *pool;
   struct vs_vhost_user_workers *workers;
   const struct vs_vhost_user_options *options;
   struct vs_start_ration *starts;
   /* What VMs hold of host RAM (base/ledger.h), charged by their workers
    * over their channels. */
   struct vs_ledger *ledger;
   pthread_mutex_t lock;
   struct device *devices;      /* under lock */
   /* The lines connections cause. */
   struct vs_connection_lines connection_lines;
   /* Signalled while a live upgrade holds the scanouts' import loops. */
   struct os_event park;
};

/* Whether the VMM on `sock` hung up (a look, no wait). */
static bool
peer_hung_up(int sock)
{
   struct pollfd hung = { .fd = sock, .events = 0 };
#ifdef POLLRDHUP
   hung.events = POLLRDHUP;
#endif
   return poll(&hung, 1, 0) > 0;
}

/* A scanout's end: what the display holds of it goes. */
static void
close_scanout(struct device_scanout *scanout)
{
   struct device *device = scanout->device;
   struct server *server = device->server;
   const struct vs_vhost_user_options *options = server->options;
   pthread_mutex_lock(&server->lock);
   const int notify_fd = scanout->import.notify_fd;
   scanout->import.notify_fd = -1;
   pthread_mutex_unlock(&server->lock);
   if (notify_fd < 0)
      return;
   options->hide(options->display, device->id, scanout->index);
   close(notify_fd);
   close(scanout->framebuffer_fd);
   os_unmap_guarded((void *)scanout->import.framebuffer, scanout->import.size, 0);
}

static void
close_scanouts(struct device *device)
{
   for (uint32_t k = 0; k < device->scanouts; k++)
      close_scanout(&device->scanout[k]);
}

/* A scanout's frames until its worker closes their socket (the scanout
 * closes) or a live upgrade parks its loop (it stays open). */
static void *
import_thread(void *arg)
{
   struct device_scanout *scanout = arg;
   char name[16];
   snprintf(name, sizeof(name), "vs-scan-%u.%u", scanout->device->id, scanout->index);
   os_thread_set_name(name);
   if (!vs_scanout_import_run(&scanout->import))
      close_scanout(scanout);
   return NULL;
}

/* A thread per open scanout not yet read, each its import loop. */
static void
start_importers(struct device *device)
{
   for (uint32_t k = 0; k < device->scanouts; k++) {
      struct device_scanout *scanout = &device->scanout[k];
      if (scanout->import.notify_fd < 0 || scanout->importing)
         continue;
      int err = pthread_create(&scanout->importer, NULL, import_thread, scanout);
      scanout->importing = err == 0;
      if (err) {
         /* Its worker finds the display's end gone: the scanout is not shown. */
         vs_error(0, "vhost-user device %u: no thread for scanout %u's frames: %s", device->id, k, strerror(err));
         close_scanout(scanout);
      }
   }
}

/* Once each import loop ended or parked. */
static void
join_importers(struct device *device)
{
   for (uint32_t k = 0; k < device->scanouts; k++) {
      if (device->scanout[k].importing)
         pthread_join(device->scanout[k].importer, NULL);
      device->scanout[k].importing = false;
   }
}

/* The device's slot goes back; its waiter is joined by reap_devices. */
static void
end_device(struct device *device)
{
   struct server *server = device->server;
   pthread_mutex_lock(&server->lock);
   device->ended = true;
   pthread_mutex_unlock(&server->lock);
}

static bool start_worker(struct device *device);
static void adopt_device(struct device *device);

/* Once its waiter is joined. */
static void
free_device(struct device *device)
{
   vs_activity_destroy(device->activity);
   if (device->activity_fd >= 0)
      close(device->activity_fd);
   render_hand_over_destroy(device->hand_over);
   free(device);
}

/* The device's worker until it ends, its scanouts read meanwhile. */
static void *
wait_device(void *arg)
{
   struct device *device = arg;
   struct server *server = device->server;
   const struct vs_vhost_user_options *options = server->options;
   if (device->adopted) {
      adopt_device(device);
   } else if (!start_worker(device)) {
      end_device(device);
      return NULL;
   }
   start_importers(device);
   int status = vs_worker_pool_wait(server->pool, device->pid);
   /* Its scanouts' sockets closed with it: their loops end. */
   join_importers(device);
   close_scanouts(device);
   pthread_mutex_lock(&server->lock);
   const bool stopped = device->stopped;
   pthread_mutex_unlock(&server->lock);
   if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && stopped)
      vs_info(0, "vhost-user device %u: its worker (pid %d) was ended as the server stopped", device->id,
              (int)device->pid);
   else if (WIFSIGNALED(status))
      vs_warn(0, "vhost-user device %u: its worker (pid %d) was killed by signal %d; the VM lost its GPU",
              device->id, (int)device->pid, WTERMSIG(status));
   else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      vs_warn(0, "vhost-user device %u: its worker (pid %d) ended with status %d", device->id, (int)device->pid,
              WEXITSTATUS(status));
   else
      vs_info(0, "vhost-user device %u: its worker (pid %d) ended", device->id, (int)device->pid);
   if (options->router)
      vs_input_router_remove(options->router, device->id);
   /* Its worker's socket closed with it: the contexts' server ends theirs. */
   if (device->contexts_served)
      pthread_join(device->contexts, NULL);
   /* All the VM held of host RAM is back. */
   vs_tenant_end(&device->tenant);
   end_device(device);
   return NULL;
}

/* A viewer asks GPU device `id`'s scanout `index` for a mode: to its
 * worker, if it shows that scanout (vs_scanout_mode_fn). */
static void
request_mode(void *data, uint32_t id, uint32_t index, uint32_t width, uint32_t height)
{
   struct server *server = data;
   pthread_mutex_lock(&server->lock);
   for (struct device *device = server->devices; device; device = device->next) {
      if (device->id != id || device->kind != VS_VU_DEVICE_GPU || index >= device->scanouts)
         continue;
      const int notify_fd = device->scanout[index].import.notify_fd;
      if (notify_fd >= 0 && !vs_scanout_request_mode(notify_fd, width, height))
         vs_debug(0, "vhost-user device %u: a mode request of %ux%u for scanout %u not sent: %s", id, width, height,
                  index, strerror(errno));
   }
   pthread_mutex_unlock(&server->lock);
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
      free_device(device);
      pthread_mutex_lock(&server->lock);
   }
   pthread_mutex_unlock(&server->lock);
}

/* The import loop of the device's scanout `index`, as the display wants it. */
static struct vs_scanout_import
scanout_import(struct device *device, uint32_t index, const uint8_t *framebuffer, uint64_t size, int notify_fd)
{
   const struct vs_vhost_user_options *options = device->server->options;
   return (struct vs_scanout_import){
      .device = device->id, .scanout = index, .framebuffer = framebuffer, .size = size, .notify_fd = notify_fd,
      .park_fd = device->server->park.read_fd, .frame_interval_ns = options->frame_interval_ns, .show = options->show,
      .cursor = options->cursor, .data = options->display,
   };
}

/* Whole pages: the worker could shrink a memfd that cannot be sealed (off
 * Linux), and os_map_guarded's fault-safe mapping wants pages. */
static uint64_t
framebuffer_size(const struct vs_vhost_user_options *options)
{
   const uint64_t page = os_page_size();
   return (vs_scanout_framebuffer_size(options->max_pixels) + page - 1) / page * page;
}

/* The framebuffer of the device's next scanout (mapped read-only here)
 * and the socket pair of its announcements: fds[0] and fds[1] for the
 * worker. False (logged, all closed) on failure. */
static bool
open_scanout(struct device *device, const struct vs_vhost_user_options *options, int fds[2])
{
   const uint32_t index = device->scanouts;
   const uint64_t size = framebuffer_size(options);
   int pair[2] = { -1, -1 };
   int memfd = os_shm_create("vs-scanout", (size_t)size);
   void *map = NULL;
   if (memfd >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0)
      map = os_map_guarded(memfd, (size_t)size, 0);
   if (!map) {
      vs_error(0, "vhost-user: VM device %u: no framebuffer for scanout %u: %s", device->id, index, strerror(errno));
      if (memfd >= 0)
         close(memfd);
      if (pair[0] >= 0) {
         close(pair[0]);
         close(pair[1]);
      }
      return false;
   }
   os_shm_seal_size(memfd);
   const int kept = fcntl(memfd, F_DUPFD_CLOEXEC, 3);
   if (kept < 0) {
      vs_error(0, "vhost-user: VM device %u: no fd for scanout %u's framebuffer: %s", device->id, index,
               strerror(errno));
      os_unmap_guarded(map, (size_t)size, 0);
      close(memfd);
      close(pair[0]);
      close(pair[1]);
      return false;
   }
   pthread_mutex_lock(&device->server->lock);
   device->scanout[index] = (struct device_scanout){
      .device = device, .index = index, .framebuffer_fd = kept, .import = scanout_import(device, index, map, size,
                                                                                          pair[0]),
   };
   device->scanouts = index + 1;
   pthread_mutex_unlock(&device->server->lock);
   fds[0] = memfd;
   fds[1] = pair[1];
   return true;
}

/* The socket pair an input device's reports cross: fds[1] for the worker,
 * *router_end the server's. False (logged) on failure. */
static bool
open_reports(uint32_t id, int fds[4], int *router_end)
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

/* The socket pair between a GPU device's worker and the render server of
 * its contexts: fds[1] for the worker. False (logged) on failure. */
static bool
open_contexts(struct device *device, int fds[4])
{
   int pair[2];
   if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      vs_error(0, "vhost-user: VM device %u: no socket for its contexts' workers: %s", device->id, strerror(errno));
      return false;
   }
   device->contexts_fd = pair[0];
   fds[1] = pair[1];
   return true;
}

/* The render server of a device's contexts, a worker each: the device's
 * tenant (its VMM's uid) owns them, so they take the uid's worker starts
 * and charge its device memory, as the device's worker would. */
static void *
contexts_thread(void *arg)
{
   struct device *device = arg;
   struct server *server = device->server;
   char name[16];
   snprintf(name, sizeof(name), "vs-vm-%u", device->id);
   os_thread_set_name(name);
   const struct vs_hand_over_tenant *adopted = device->adopted;
   const struct render_tenant tenant = {
      .device_id = device->id, .uid = device->uid, .starts = server->starts, .ledger = server->ledger,
      .context_lines = CONTEXT_LINES_PER_DEVICE, .hand_over = device->hand_over,
      .adopted = adopted ? adopted + 1 : NULL, .adopted_count = device->adopted_context_count,
      .lines_fd = adopted ? adopted->aux_fd : -1, .init_flags = adopted ? adopted->init_flags : 0,
   };
   const struct render_server_options rs = {
      .isolate = VS_ISOLATE_PROCESS,
      .workers = server->workers->contexts,
      .stream_framing = RENDER_FRAMING_SEQPACKET,
      .max_contexts = CONTEXTS_PER_DEVICE,
      .tenant = &tenant,
   };
   render_server_run(device->contexts_fd, &server->workers->contexts_options, &rs);
   return NULL;
}

/* Once its worker started: the device's contexts are served. */
static void
serve_contexts(struct device *device)
{
   /* Without its hold, a live upgrade is refused while the device runs. */
   device->hand_over = device->server->options->upgrade ? render_hand_over_create() : NULL;
   int err = pthread_create(&device->contexts, NULL, contexts_thread, device);
   if (err) {
      /* Its worker finds no render server: the VM has no 3D. */
      vs_error(0, "vhost-user: VM device %u: no thread for its contexts: %s", device->id, strerror(err));
      close(device->contexts_fd);
      device->contexts_fd = -1;
   }
   /* Else the fd is the thread's. */
   device->contexts_served = err == 0;
}

/* A device past its uid's worker starts waits for one (one line). */
static void
waits_for_start(void *data, uint32_t wait_ms)
{
   const struct device *device = data;
   if (vs_connection_lines_pass(&device->server->connection_lines))
      vs_info(0, "vhost-user device %u: uid %d has taken its worker processes for now (limit "
                 "worker-starts-per-min=%u); VMM pid %d waits %u ms for one", device->id, (int)device->uid,
              vs_start_ration_per_min(device->server->starts), (int)device->vmm, wait_ms);
}

/* On the device's thread: its worker, once it claimed the connection
 * (the VMM's first message came whole), routed. false when none serves
 * the device (logged; what it held is closed). */
static bool
start_worker(struct device *device)
{
   struct server *server = device->server;
   const struct vs_vhost_user_options *options = server->options;
   const struct vs_vu_device_job job = {
      .kind = device->kind, .id = device->id, .width = options->width, .height = options->height,
      .scanouts = options->scanouts, .max_pixels = options->max_pixels, .hostmem_bytes = options->hostmem_bytes,
      .contexts_apart = server->workers->contexts != NULL,
   };
   int fds[VS_WORKER_FDS_MAX] = { device->sock };
   for (unsigned i = 1; i < VS_WORKER_FDS_MAX; i++)
      fds[i] = -1;
   unsigned fd_count = 2;
   bool ready = true;
   if (device->kind == VS_VU_DEVICE_INPUT)
      ready = open_reports(device->id, fds, &device->reports);
   else if (job.contexts_apart)
      ready = open_contexts(device, fds);
   for (uint32_t k = 0; ready && device->kind == VS_VU_DEVICE_GPU && options->show && k < options->scanouts; k++) {
      ready = open_scanout(device, options, fds + fd_count);
      fd_count += ready ? 2 : 0;
   }
   /* Last, the record its worker tells of its queues in. */
   if (ready && !(device->activity = vs_activity_create(&device->activity_fd))) {
      vs_error(0, "vhost-user: VM device %u: no activity record for its worker: %s", device->id, strerror(errno));
      ready = false;
   }
   const unsigned activity_at = fd_count;
   if (ready)
      fds[fd_count++] = device->activity_fd;
   /* A GPU device's worker charges an account of the VM's own, unless its
    * contexts' workers do; one of its uid's worker starts first. */
   const struct vs_tenant_request request = {
      .pool = server->pool, .starts = server->starts,
      .placement = device->kind == VS_VU_DEVICE_GPU && !job.contexts_apart ? server->workers->options->placement : NULL,
      .noun = "VM device",
      .ledger = device->kind == VS_VU_DEVICE_GPU && !job.contexts_apart ? server->ledger : NULL, .uid = device->uid,
      .ctx_id = device->id, .fds = fds, .fd_count = fd_count, .ledger_slot = 1, .job = &job, .job_size = sizeof(job),
      .waiting = waits_for_start, .data = device,
   };
   int err = 0;
   const enum vs_tenant_start started = ready ? vs_tenant_start(&request, &device->tenant, &err) : VS_TENANT_NO_WORKER;
   const pid_t pid = started == VS_TENANT_STARTED ? device->tenant.pid : started == VS_TENANT_LEFT ? 0 : -1;
   if (started == VS_TENANT_NO_LEDGER)
      vs_error(0, "vhost-user: VM device %u: no ledger channel for its worker: %s", device->id, strerror(err));
   /* The worker has its copies; the activity record stays the device's. */
   for (unsigned i = 1; i < fd_count; i++)
      if (fds[i] >= 0 && (i != activity_at || !ready))
         close(fds[i]);
   /* Whether the VMM hung up, while the connection is still known here. */
   const bool left = pid == 0 && peer_hung_up(device->sock);
   pthread_mutex_lock(&server->lock);
   close(device->sock);
   device->sock = -1;
   device->pid = pid > 0 ? pid : 0;
   pthread_mutex_unlock(&server->lock);
   if (pid <= 0) {
      if (started == VS_TENANT_NO_WORKER && ready)
         vs_error(0, "vhost-user: no worker process for VM device %u: %s", device->id, strerror(err));
      else if (pid == 0 && left && vs_connection_lines_pass(&server->connection_lines))
         vs_info(0, "vhost-user device %u: VMM pid %d left before its first message; no worker served it",
                 device->id, (int)device->vmm);
      else if (pid == 0 && !left && vs_connection_lines_pass(&server->connection_lines))
         vs_warn(0, "vhost-user device %u: VMM pid %d sent no whole message within %u s of connecting; the "
                    "connection ends, no worker served it", device->id, (int)device->vmm,
                 VS_VU_FIRST_MESSAGE_MS / 1000);
      if (device->reports >= 0)
         close(device->reports);
      if (device->contexts_fd >= 0)
         close(device->contexts_fd);
      close_scanouts(device);
      return false;
   }
   if (device->contexts_fd >= 0)
      serve_contexts(device);
   /* Routed before the device can be removed. */
   const int reports = device->reports;
   device->reports = -1;
   if (options->router && !(device->kind == VS_VU_DEVICE_INPUT
                               ? vs_input_router_add_input(options->router, device->id, device->vmm, reports)
                               : vs_input_router_add_gpu(options->router, device->id, device->vmm)))
      vs_worker_pool_kill(server->pool, pid);
   vs_info(0, "vhost-user device %u: a %s device of VMM pid %d, uid %d, served by worker process %d", device->id,
           kind_names[device->kind], (int)device->vmm, (int)device->uid, (int)pid);
   return true;
}

/* The scanouts of GPU device `id` a live upgrade handed over, closed: their
 * workers find the display's end gone. */
static void
drop_adopted_scanouts(const struct vs_live_upgrade *up, uint32_t id)
{
   for (unsigned i = 0; i < up->adopted_scanout_count; i++) {
      const struct vs_hand_over_scanout *h = &up->adopted_scanouts[i];
      if (h->device == id) {
         close(h->framebuffer_fd);
         close(h->notify_fd);
      }
   }
}

/* A GPU device's scanouts as the process before a live upgrade left them
 * (their loops parked): mapped again, each loop to ask its worker for
 * the frame. One that does not fit this server's display is closed. */
static void
adopt_scanouts(struct device *device)
{
   struct server *server = device->server;
   const struct vs_vhost_user_options *options = server->options;
   const struct vs_live_upgrade *up = options->upgrade;
   const uint64_t size = framebuffer_size(options);
   for (unsigned i = 0; i < up->adopted_scanout_count; i++) {
      const struct vs_hand_over_scanout *h = &up->adopted_scanouts[i];
      if (h->device != device->id)
         continue;
      struct stat st;
      const char *why = !options->show                           ? "this server has no display"
                        : h->index >= options->scanouts           ? "past this server's scanouts"
                        : h->index < device->scanouts &&
                              device->scanout[h->index].import.notify_fd >= 0 ? "handed over twice"
                        : h->framebuffer_size != size ||
                              fstat(h->framebuffer_fd, &st) != 0 || (uint64_t)st.st_size < size
                           ? "its framebuffer is not this server's size"
                           : NULL;
      const uint8_t *map = why ? NULL : os_map_guarded(h->framebuffer_fd, (size_t)size, 0);
      if (!why && !map)
         why = "its framebuffer cannot be mapped";
      if (why) {
         vs_warn(0, "upgrade: VM device %u's scanout %u is not shown: %s", device->id, h->index, why);
         close(h->framebuffer_fd);
         close(h->notify_fd);
         continue;
      }
      pthread_mutex_lock(&server->lock);
      for (uint32_t k = device->scanouts; k < h->index; k++)
         device->scanout[k] = (struct device_scanout){ .device = device, .index = k, .import.notify_fd = -1 };
      if (h->index >= device->scanouts)
         device->scanouts = h->index + 1;
      device->scanout[h->index] = (struct device_scanout){
         .device = device, .index = h->index, .framebuffer_fd = h->framebuffer_fd,
         .import = scanout_import(device, h->index, map, size, h->notify_fd),
      };
      device->scanout[h->index].import.seq = h->seq;
      device->scanout[h->index].import.reshow = true;
      pthread_mutex_unlock(&server->lock);
   }
}

/* On the device's thread: a device a live upgrade in place handed over,
 * its worker adopted by the pool already: its account, its route and its
 * contexts' server, as start_worker made them. */
static void
adopt_device(struct device *device)
{
   struct server *server = device->server;
   const struct vs_vhost_user_options *options = server->options;
   const struct vs_hand_over_tenant *a = device->adopted;
   const bool own_account = device->kind == VS_VU_DEVICE_GPU && !server->workers->contexts;
   vs_tenant_adopt(a, own_account ? server->workers->options->placement : NULL, own_account ? server->ledger : NULL,
                   &device->tenant);
   if (device->kind == VS_VU_DEVICE_GPU && a->fd >= 0) {
      device->contexts_fd = a->fd;
      serve_contexts(device);
   }
   if (device->kind == VS_VU_DEVICE_GPU)
      adopt_scanouts(device);
   bool routed = true;
   if (options->router)
      routed = device->kind == VS_VU_DEVICE_INPUT
                  ? vs_input_router_add_input(options->router, device->id, device->vmm, a->fd)
                  : vs_input_router_add_gpu(options->router, device->id, device->vmm);
   else if (device->kind == VS_VU_DEVICE_INPUT)
      close(a->fd);
   if (!routed)
      vs_worker_pool_kill(server->pool, device->pid);
   vs_info(0, "vhost-user device %u: a %s device of VMM pid %d, uid %d, served by worker process %d, taken over",
           device->id, kind_names[device->kind], (int)device->vmm, (int)device->uid, (int)device->pid);
}

/* Under the lock: whether a device holds its slot. One whose VMM hung up
 * before its first message does not, while its worker gives up the
 * claim: connections opened and closed at once take no newcomer's. */
static bool
holds_slot(const struct device *device)
{
   return !device->ended && !device->evicted && (device->pid || device->sock < 0 || !peer_hung_up(device->sock));
}

/* Under the lock, `uid`'s slots of `kind` (or the server's) full: ends the
 * uid's device that has waited longest, past idle-timeout-ms, without
 * starting a queue (its VMM connected, but no guest drives it), whose slot
 * the newcomer then takes. A device whose queue ever ran keeps its slot. */
static bool
evict_unstarted(struct server *server, uid_t uid, enum vs_vu_device_kind kind)
{
   const uint64_t now = os_now_ns(), min_wait = (uint64_t)server->options->idle_timeout_ms * 1000000u;
   struct device *victim = NULL;
   for (struct device *d = server->devices; min_wait && d; d = d->next) {
      if (d->kind != kind || d->uid != uid || d->ended || d->evicted || !d->pid || vs_activity_started(d->activity) ||
          now - d->connected_ns < min_wait)
         continue;
      if (!victim || d->connected_ns < victim->connected_ns)
         victim = d;
   }
   if (!victim)
      return false;
   vs_warn(0, "vhost-user device %u: VMM pid %d started no queue in %llu s while uid %d's %s slots are full "
              "(limit idle-timeout-ms=%u); the device ends, its slot is a newcomer's", victim->id, (int)victim->vmm,
           (unsigned long long)((now - victim->connected_ns) / 1000000000u), (int)uid, kind_names[kind],
           server->options->idle_timeout_ms);
   victim->evicted = true;
   vs_worker_pool_kill(server->pool, victim->pid);
   return true;
}

/* Takes `sock` (a new connection of `kind`): a device slot and a thread
 * that starts its worker; else refused (a line, within the connection
 * lines' rate) and closed. */
static void
start_device(struct server *server, int sock, uint32_t id, enum vs_vu_device_kind kind)
{
   const struct vs_vhost_user_options *options = server->options;
   pid_t vmm = 0;
   uid_t uid = (uid_t)-1;
   if (os_peer_pid(sock, &vmm) < 0)
      vmm = 0;
   if (os_peer_uid(sock, &uid) < 0)
      uid = (uid_t)-1;
   pthread_mutex_lock(&server->lock);
   unsigned live = 0, of_uid = 0;
   for (const struct device *d = server->devices; d; d = d->next) {
      if (d->kind == kind && holds_slot(d)) {
         live++;
         of_uid += d->uid == uid;
      }
   }
   bool full = live >= options->max_devices;
   bool uid_full = options->max_devices_per_peer && of_uid >= options->max_devices_per_peer;
   if ((full || uid_full) && uid != (uid_t)-1 && evict_unstarted(server, uid, kind))
      full = uid_full = false;
   pthread_mutex_unlock(&server->lock);
   if (full || uid_full) {
      if (full && vs_connection_lines_pass(&server->connection_lines))
         vs_warn(0, "vhost-user: refusing VM device %u of VMM pid %d: %u %s devices are served already, the most "
                    "at once", id, (int)vmm, options->max_devices, kind_names[kind]);
      else if (!full && vs_connection_lines_pass(&server->connection_lines))
         vs_warn(0, "vhost-user: refusing VM device %u of VMM pid %d: uid %d holds %u %s devices, the most one "
                    "uid may (the rest are other uids')", id, (int)vmm, (int)uid, of_uid, kind_names[kind]);
      close(sock);
      return;
   }
   struct device *device = calloc(1, sizeof(*device));
   if (!device) {
      vs_error(0, "vhost-user: out of memory for VM device %u", id);
      close(sock);
      return;
   }
   *device = (struct device){ .server = server, .kind = kind, .id = id, .vmm = vmm, .uid = uid, .sock = sock,
                              .reports = -1, .contexts_fd = -1, .activity_fd = -1,
                              .connected_ns = os_now_ns() };
   pthread_mutex_lock(&server->lock);
   device->next = server->devices;
   server->devices = device;
   int err = pthread_create(&device->waiter, NULL, wait_device, device);
   if (err)
      server->devices = device->next;
   pthread_mutex_unlock(&server->lock);
   if (err) {
      vs_error(0, "vhost-user: VM device %u: no thread to start it: %s", id, strerror(err));
      close(sock);
      free(device);
   }
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
   for (struct device *device = server->devices; device; device = device->next) {
      if (device->ended)
         continue;
      device->stopped = true;
      if (device->pid > 0)
         vs_worker_pool_kill(server->pool, device->pid);
      else if (device->sock >= 0)
         shutdown(device->sock, SHUT_RDWR); /* its claim ends: the VMM "left" */
   }
   while (server->devices) {
      struct device *device = server->devices;
      server->devices = device->next;
      pthread_mutex_unlock(&server->lock);
      pthread_join(device->waiter, NULL);
      free_device(device);
      pthread_mutex_lock(&server->lock);
   }
   pthread_mutex_unlock(&server->lock);
}

/* Undoes freeze_devices for its first `count` devices. */
static void
thaw_devices(struct server *server, unsigned count)
{
   unsigned n = 0;
   for (struct device *d = server->devices; d && n < count; d = d->next) {
      if (d->ended)
         continue;
      if (d->contexts_served)
         render_hand_over_thaw(d->hand_over);
      vs_tenant_resume(&d->tenant);
      n++;
   }
}

/* Under frozen pools: each device's record, then its contexts', into
 * `running` (room for `room`), their ledger channels parked and their
 * render servers stopped. The count, or -1 (nothing held) while a device
 * or a context is starting or ending. */
static int
freeze_devices(struct server *server, struct vs_hand_over_tenant *running, unsigned room)
{
   const struct vs_vhost_user_options *options = server->options;
   unsigned devices = 0;
   bool settled = true;
   pthread_mutex_lock(&server->lock);
   for (const struct device *d = server->devices; d; d = d->next) {
      if (d->ended)
         continue;
      devices++;
      settled = settled && d->pid > 0 && (!d->contexts_served || d->hand_over);
   }
   settled = settled && devices == vs_worker_pool_awaiting(server->pool) && devices <= room;
   pthread_mutex_unlock(&server->lock);
   if (!settled)
      return -1;
   /* Every device's thread waits on its worker: what it holds stays. */
   unsigned n = 0, frozen = 0, contexts = 0;
   for (struct device *d = server->devices; d; d = d->next) {
      if (d->ended)
         continue;
      struct vs_hand_over_tenant *t = &running[n];
      *t = (struct vs_hand_over_tenant){
         .kind = d->kind == VS_VU_DEVICE_GPU ? VS_HAND_OVER_VM_GPU : VS_HAND_OVER_VM_INPUT, .id = d->id,
         .uid = (uint32_t)d->uid, .forker = vs_worker_pool_forker_of(server->pool, d->pid), .fd = -1,
         .activity_fd = d->activity_fd, .vmm = (int32_t)d->vmm, .aux_fd = -1, .checkpoint_fd = -1,
         .checkpoint_kept_fd = -1,
      };
      if (d->kind == VS_VU_DEVICE_INPUT) {
         t->fd = options->router ? vs_input_router_events_fd(options->router, d->id) : -1;
         if (t->fd < 0)
            break;
      }
      int got = 0;
      if (d->contexts_served) {
         t->fd = d->contexts_fd;
         got = n + 1 < room
                  ? render_hand_over_freeze(d->hand_over, t, t + 1, room - n - 1, VS_HAND_OVER_SETTLE_MS / 10)
                  : -1;
         if (got < 0)
            break;
      }
      vs_tenant_hand_over(&d->tenant, t);
      n += 1 + (unsigned)got;
      contexts += (unsigned)got;
      frozen++;
   }
   struct render_workers *apart = server->workers->contexts;
   if (frozen == devices && (!apart || contexts == vs_worker_pool_awaiting(apart->pool)))
      return (int)n;
   thaw_devices(server, frozen);
   return -1;
}

/* Under frozen devices: every scanout's import loop parked between two
 * frames, and the open ones listed into `out` (room for every scanout of
 * every device). The count. */
static unsigned
park_scanouts(struct server *server, struct vs_hand_over_scanout *out)
{
   os_event_signal(&server->park);
   unsigned n = 0;
   for (struct device *d = server->devices; d; d = d->next) {
      if (d->ended || d->kind != VS_VU_DEVICE_GPU)
         continue;
      join_importers(d);
      for (uint32_t k = 0; k < d->scanouts; k++) {
         const struct device_scanout *scanout = &d->scanout[k];
         if (scanout->import.notify_fd >= 0)
            out[n++] = (struct vs_hand_over_scanout){
               .device = d->id, .index = k, .seq = scanout->import.seq, .framebuffer_fd = scanout->framebuffer_fd,
               .notify_fd = scanout->import.notify_fd, .framebuffer_size = scanout->import.size,
            };
      }
   }
   return n;
}

/* Undoes park_scanouts: each loop again, asking its worker for the frame. */
static void
unpark_scanouts(struct server *server)
{
   os_event_drain(&server->park);
   for (struct device *d = server->devices; d; d = d->next)
      if (!d->ended && d->kind == VS_VU_DEVICE_GPU)
         start_importers(d);
}

/* With their workers running on: this process runs the new binary in its
 * place (worker/hand_over.h), handing it `sockets` and every device.
 * Returns when it could not (one line said why), everything thawed. */
static void
upgrade_in_place(struct server *server, const struct vs_hand_over_socket *sockets, unsigned socket_count)
{
   const struct vs_live_upgrade *up = server->options->upgrade;
   if (up->in_place(up->data) != 0)
      return;
   const uint64_t frozen_ns = os_now_ns();
   struct render_workers *apart = server->workers->contexts;
   struct vs_worker_pool_forkers forkers[VS_HAND_OVER_POOLS];
   vs_worker_pool_freeze(server->pool, &forkers[0]);
   if (apart)
      vs_worker_pool_freeze(apart->pool, &forkers[1]);
   unsigned room = 0, scanout_room = 0;
   pthread_mutex_lock(&server->lock);
   for (const struct device *d = server->devices; d; d = d->next) {
      room += 1 + (d->kind == VS_VU_DEVICE_GPU && apart ? CONTEXTS_PER_DEVICE : 0);
      scanout_room += d->scanouts;
   }
   pthread_mutex_unlock(&server->lock);
   struct vs_hand_over_tenant *running = calloc(room ? room : 1, sizeof(*running));
   struct vs_hand_over_scanout *scanouts = calloc(scanout_room ? scanout_room : 1, sizeof(*scanouts));
   if (!scanouts) {
      free(running);
      running = NULL;
   }
   int count = -1;
   while (running) {
      count = freeze_devices(server, running, room);
      if (count >= 0 || os_now_ns() - frozen_ns > VS_HAND_OVER_SETTLE_MS * 1000000ull)
         break;
      (void)poll(NULL, 0, 20);
      reap_devices(server);
   }
   if (count >= 0) {
      struct vs_hand_over_offer offer = {
         .sockets = socket_count, .tenants = (unsigned)count, .running = running,
         .forkers = { &forkers[0], apart ? &forkers[1] : NULL }, .frozen_ns = frozen_ns,
      };
      for (unsigned k = 0; k < socket_count; k++)
         offer.socket[k] = sockets[k];
      offer.scanouts = park_scanouts(server, scanouts);
      offer.scanout = scanouts;
      up->exec(up->data, &offer);
      unpark_scanouts(server);
      thaw_devices(server, ~0u);
   } else if (!running) {
      vs_warn(0, "upgrade refused: out of memory listing the VM devices; this process goes on serving");
   } else {
      vs_warn(0, "upgrade refused: a VM device or one of its contexts was still starting or ending %u ms after the "
                 "upgrade was asked for; this process goes on serving (ask again)", VS_HAND_OVER_SETTLE_MS);
   }
   free(running);
   free(scanouts);
   if (apart)
      vs_worker_pool_thaw(apart->pool);
   vs_worker_pool_thaw(server->pool);
}

/* The workers of pool `p` (0: the devices', 1: their contexts') of the
 * tenants handed over, adopted there. */
static void
adopt_workers(struct server *server, unsigned p)
{
   const struct vs_live_upgrade *up = server->options->upgrade;
   struct vs_worker_pool *pool = p ? (server->workers->contexts ? server->workers->contexts->pool : NULL)
                                   : server->pool;
   const struct vs_worker_pool_forkers *forkers = up->adopted_forkers[p];
   if (!forkers)
      return;
   const unsigned n = up->adopted_count;
   pid_t *pids = calloc(n ? n : 1, sizeof(*pids));
   uid_t *uids = calloc(n ? n : 1, sizeof(*uids));
   unsigned *forker_of = calloc(n ? n : 1, sizeof(*forker_of));
   unsigned m = 0;
   for (unsigned i = 0; pids && uids && forker_of && i < n; i++) {
      if (up->adopted[i].pool != p)
         continue;
      pids[m] = up->adopted[i].pid;
      uids[m] = (uid_t)up->adopted[i].uid;
      forker_of[m++] = up->adopted[i].forker;
   }
   if (!pool) {
      /* Contexts apart before the upgrade, in their devices' workers now:
       * their forkers end, and with them their workers. */
      vs_error(0, "upgrade: %u context workers were handed over to a server that runs none; they end", m);
      for (unsigned f = 0; f < forkers->count; f++) {
         close(forkers->forker[f].fd);
         if (forkers->forker[f].tie_fd >= 0)
            close(forkers->forker[f].tie_fd);
      }
   } else if (!vs_worker_pool_adopt(pool, forkers, pids, uids, forker_of, pids && uids && forker_of ? m : 0)) {
      vs_error(0, "upgrade: the %s workers handed over could not all be taken over; some end",
               p ? "contexts'" : "devices'");
   }
   free(pids);
   free(uids);
   free(forker_of);
}

/* Started by a live upgrade in place: every device handed over, served
 * again by a thread of its own; `next_id` past their ids. */
static void
adopt_devices(struct server *server, uint32_t *next_id)
{
   const struct vs_live_upgrade *up = server->options->upgrade;
   adopt_workers(server, 0);
   adopt_workers(server, 1);
   for (unsigned i = 0; i < up->adopted_count; i++) {
      const struct vs_hand_over_tenant *a = &up->adopted[i];
      if (a->kind == VS_HAND_OVER_VM_CONTEXT)
         continue; /* its device's render server takes it */
      if (a->id >= *next_id)
         *next_id = a->id + 1;
      struct device *device = a->kind == VS_HAND_OVER_VM_GPU || a->kind == VS_HAND_OVER_VM_INPUT
                                 ? calloc(1, sizeof(*device)) : NULL;
      struct vs_activity *activity = device ? vs_activity_map(a->activity_fd) : NULL;
      int err = activity ? 0 : device ? errno : a->kind == VS_HAND_OVER_CLIENT ? EPROTO : ENOMEM;
      if (activity) {
         *device = (struct device){
            .server = server, .kind = a->kind == VS_HAND_OVER_VM_GPU ? VS_VU_DEVICE_GPU : VS_VU_DEVICE_INPUT,
            .id = a->id, .pid = a->pid, .vmm = a->vmm, .uid = (uid_t)a->uid, .sock = -1, .reports = -1,
            .contexts_fd = -1, .activity = activity, .activity_fd = a->activity_fd, .connected_ns = os_now_ns(),
            .adopted = a,
         };
         while (i + 1 + device->adopted_context_count < up->adopted_count &&
                a[1 + device->adopted_context_count].kind == VS_HAND_OVER_VM_CONTEXT)
            device->adopted_context_count++;
         pthread_mutex_lock(&server->lock);
         device->next = server->devices;
         server->devices = device;
         err = pthread_create(&device->waiter, NULL, wait_device, device);
         if (err)
            server->devices = device->next;
         pthread_mutex_unlock(&server->lock);
         if (!err)
            continue;
         vs_activity_destroy(activity);
      }
      vs_error(0, "upgrade: cannot take over VM device %u of worker process %d (%s); it ends", a->id, (int)a->pid,
               strerror(err));
      free(device);
      vs_worker_pool_kill(server->pool, a->pid);
      vs_tenant_drop(a);
      if (a->kind == VS_HAND_OVER_VM_GPU)
         drop_adopted_scanouts(up, a->id);
      /* Its contexts' workers end with their sockets to its worker. */
      for (; i + 1 < up->adopted_count && a[1].kind == VS_HAND_OVER_VM_CONTEXT; i++, a++)
         vs_tenant_drop(&a[1]);
   }
}

/* The listening sockets: those bound here are removed, those passed left
 * to their owner. */
static void
close_listeners(const char *const paths[VS_VU_DEVICE_KINDS], const int listen_fds[VS_VU_DEVICE_KINDS],
                const bool passed[VS_VU_DEVICE_KINDS], const struct stat identity[VS_VU_DEVICE_KINDS])
{
   for (unsigned k = 0; k < VS_VU_DEVICE_KINDS; k++) {
      if (listen_fds[k] < 0)
         continue;
      close(listen_fds[k]);
      if (!passed[k])
         vs_listen_socket_remove(paths[k], &identity[k]);
   }
}

int
vs_vhost_user_server_run(const char *socket_path, const struct vs_vhost_user_options *options,
                         struct vs_vhost_user_workers *workers, int stop_fd)
{
   const char *paths[VS_VU_DEVICE_KINDS] = { socket_path, options->input_path };
   if (options->input_path && !options->router) {
      vs_error(0, "vhost-user: input devices on %s need an input router", options->input_path);
      return 1;
   }
   if (options->scanouts == 0 || options->scanouts > VS_VIRTIO_GPU_MAX_SCANOUTS) {
      vs_error(0, "vhost-user: %u scanouts a device (1..%u)", options->scanouts, VS_VIRTIO_GPU_MAX_SCANOUTS);
      return 1;
   }
   struct vs_ledger_limits ledger_limits = { .scope = { 0 } };
   vs_memory_shares_apply(&options->memory_per_peer, &ledger_limits);
   struct server server = { .pool = workers->pool, .workers = workers, .options = options,
                            .starts = vs_start_ration_create(options->worker_starts_per_min),
                            .ledger = vs_ledger_create(&ledger_limits) };
   if (!server.starts || !server.ledger || os_event_init(&server.park) != 0) {
      vs_error(0, "vhost-user: out of memory");
      vs_start_ration_destroy(server.starts);
      vs_ledger_destroy(server.ledger);
      return 1;
   }
   struct stat identity[VS_VU_DEVICE_KINDS];
   int listen_fds[VS_VU_DEVICE_KINDS] = { -1, -1 };
   bool passed[VS_VU_DEVICE_KINDS] = { false, false };
   unsigned used = 0;
   for (unsigned k = 0; k < VS_VU_DEVICE_KINDS && paths[k]; k++) {
      const struct vs_activated_socket *activated =
         vs_socket_activation_find(options->activated, options->activated_count, paths[k]);
      const struct vs_hand_over_socket *taken = NULL;
      for (unsigned t = 0; t < options->taken_count; t++)
         if (!strcmp(options->taken[t].path, paths[k]))
            taken = &options->taken[t];
      passed[k] = activated != NULL || (taken && (!taken->owns_file || stat(paths[k], &identity[k]) != 0));
      used += activated != NULL;
      listen_fds[k] = taken ? taken->fd : activated ? activated->fd : vs_listen_socket_open(paths[k], &identity[k]);
      if (listen_fds[k] < 0)
         break;
   }
   const bool ready = listen_fds[0] >= 0 && (!paths[1] || listen_fds[1] >= 0);
   if (ready && used < options->activated_count)
      vs_error(0, "vhost-user: socket activation: of the %u sockets passed, %u are neither --vhost-user's (%s) nor "
                  "--vhost-user-input's (%s) path", options->activated_count, options->activated_count - used,
               socket_path, paths[1] ? paths[1] : "none");
   if (!ready || used < options->activated_count) {
      close_listeners(paths, listen_fds, passed, identity);
      os_event_fini(&server.park);
      vs_start_ration_destroy(server.starts);
      vs_ledger_destroy(server.ledger);
      return 1;
   }
   pthread_mutex_init(&server.lock, NULL);
   vs_connection_lines_init(&server.connection_lines, "vhost-user: ", "VMMs");
   if (options->scanouts == 1)
      vs_info(0, "vhost-user: serving VM virtio-gpu devices on %s (scanout %ux%u%s, host-visible region %llu MiB)",
              socket_path, options->width, options->height,
              options->listen_modes ? ", or the size a viewer asks for" : "",
              (unsigned long long)(options->hostmem_bytes >> 20));
   else
      vs_info(0, "vhost-user: serving VM virtio-gpu devices on %s (%u scanouts of %ux%u%s, host-visible region %llu "
                 "MiB)", socket_path, options->scanouts, options->width, options->height,
           options->listen_modes ? ", or the size a viewer asks for" : "",
           (unsigned long long)(options->hostmem_bytes >> 20));
   vs_memory_shares_log("vhost-user: VMs' ", &options->memory_per_peer);
   if (paths[VS_VU_DEVICE_INPUT])
      vs_info(0, "vhost-user: serving VM virtio-input devices on %s (a keyboard and an absolute pointer)",
              paths[VS_VU_DEVICE_INPUT]);
   if (options->listen_modes)
      options->listen_modes(options->display, request_mode, &server);
   const struct vs_live_upgrade *up = options->upgrade;
   uint32_t next_id = 1;
   if (up && up->adopted_forkers[0])
      adopt_devices(&server, &next_id);
   if (up && up->listening)
      up->listening(up->data);
   struct vs_hand_over_socket sockets[VS_VU_DEVICE_KINDS];
   unsigned socket_count = 0;
   for (unsigned k = 0; k < VS_VU_DEVICE_KINDS && listen_fds[k] >= 0; k++)
      sockets[socket_count++] = (struct vs_hand_over_socket){ .fd = listen_fds[k], .path = paths[k],
                                                              .owns_file = !passed[k] };
   for (;;) {
      struct pollfd fds[2 + VS_VU_DEVICE_KINDS] = { { .fd = stop_fd, .events = POLLIN },
                                                    { .fd = up ? up->asked_fd : -1, .events = POLLIN } };
      for (unsigned k = 0; k < VS_VU_DEVICE_KINDS; k++)
         fds[2 + k] = (struct pollfd){ .fd = listen_fds[k], .events = POLLIN };
      if (poll(fds, 2 + VS_VU_DEVICE_KINDS, -1) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "vhost-user: poll: %s", strerror(errno));
         break;
      }
      if (fds[0].revents)
         break;
      reap_devices(&server);
      if (fds[1].revents)
         upgrade_in_place(&server, sockets, socket_count);
      for (unsigned k = 0; k < VS_VU_DEVICE_KINDS; k++) {
         if (!(fds[2 + k].revents & POLLIN))
            continue;
         int sock = accept_connection(listen_fds[k]);
         if (sock < 0)
            continue;
         start_device(&server, sock, next_id++, (enum vs_vu_device_kind)k);
      }
   }
   close_listeners(paths, listen_fds, passed, identity);
   if (options->listen_modes)
      options->listen_modes(options->display, NULL, NULL);
   stop_devices(&server);
   os_event_fini(&server.park);
   pthread_mutex_destroy(&server.lock);
   vs_connection_lines_fini(&server.connection_lines);
   vs_start_ration_destroy(server.starts);
   vs_ledger_destroy(server.ledger);
   vs_info(0, "vhost-user: stopped");
   return 0;
}

/* SPDX-License-Identifier: MIT */
#include "transport/vhost_user/vhost_user_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rate_limit.h"
#include "os/os.h"
#include "renderer/warm_up.h"
#include "transport/vhost_user/scanout_export.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vhost_user/virtio_gpu.h"
#include "transport/vhost_user/virtio_input.h"
#include "transport/vmm/render_client.h"
#include "worker/activity.h"
#include "worker/first_message.h"
#include "worker/ledger_channel.h"
#include "worker/placement.h"

/* The first flush of each size on a scanout says what the VM shows (a
 * guest that changes sizes without pause gets SIZE_LINES_BURST lines,
 * then SIZE_LINES_PER_SECOND, and a count of the rest); the device's end
 * how many followed. Each flush of a scanout goes to the display, if any,
 * through that scanout's export. */
#define SIZE_LINES_BURST 16
#define SIZE_LINES_PER_SECOND 2

struct scanout_report {
   uint32_t id;
   uint32_t scanouts;
   struct {
      uint32_t width, height; /* its last flush's */
      bool flushed;
      struct vs_scanout_export *export; /* NULL: no display */
   } scanout[VS_VIRTIO_GPU_MAX_SCANOUTS];
   unsigned long flushes;
   struct vs_rate_limit size_lines;
   struct vs_rate_limit mode_lines;
   bool mode_refused_said;
};

static void
count_flush(struct scanout_report *report, uint32_t scanout, uint32_t width, uint32_t height)
{
   uint64_t dropped = 0;
   if (scanout >= report->scanouts)
      return;
   const bool same = report->scanout[scanout].flushed && report->scanout[scanout].width == width &&
                     report->scanout[scanout].height == height;
   if (!same &&
       (vs_log_threshold >= VS_LOG_DEBUG || vs_rate_limit_pass(&report->size_lines, os_now_ns(), &dropped))) {
      if (dropped)
         vs_info(0, "vhost-user device %u: scanout %u shows %ux%u (%llu size changes before it not logged: more "
                    "than %d at once or %d a second)", report->id, scanout, width, height,
                 (unsigned long long)dropped, SIZE_LINES_BURST, SIZE_LINES_PER_SECOND);
      else
         vs_info(0, "vhost-user device %u: scanout %u shows %ux%u", report->id, scanout, width, height);
   }
   report->scanout[scanout].width = width;
   report->scanout[scanout].height = height;
   report->scanout[scanout].flushed = true;
   report->flushes++;
}

static void
report_flush(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride,
             uint32_t format)
{
   struct scanout_report *report = data;
   uint8_t bgr[3];
   if (scanout < report->scanouts && vs_virtio_gpu_format_order(format, bgr))
      vs_scanout_export_frame(report->scanout[scanout].export, pixels, width, height, stride, bgr);
   count_flush(report, scanout, width, height);
}

/* A host blob's frame: the display reads it in place. */
static void
report_buffer_flush(void *data, uint32_t scanout, const struct vs_virtio_gpu_buffer_frame *f)
{
   struct scanout_report *report = data;
   if (scanout < report->scanouts)
      vs_scanout_export_buffer(report->scanout[scanout].export, f->buffer, f->fd, f->size, f->offset, f->stride,
                               f->width, f->height);
   count_flush(report, scanout, f->width, f->height);
}

/* The guest's cursor image on a scanout: the display shows it as the
 * pointer of that scanout's viewers. */
static void
report_cursor(void *data, uint32_t scanout, const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t stride,
              uint32_t hot_x, uint32_t hot_y)
{
   struct scanout_report *report = data;
   if (scanout < report->scanouts)
      vs_scanout_export_cursor(report->scanout[scanout].export, pixels, width, height, stride, hot_x, hot_y);
}

/* In the worker process: an input device, until its VMM goes or the
 * server closes its reports' socket. */
static int
serve_input(const int *fds, const struct vs_vu_device_job *job, struct vs_activity *activity)
{
   struct vs_virtio_input *input = vs_virtio_input_create(fds[0], job->id);
   if (!input)
      return 1;
   vs_vu_device_report_start(vs_virtio_input_device(input), activity);
   vs_virtio_input_run(input, fds[1]);
   vs_info(0, "vhost-user device %u: ended after %llu input events (%llu dropped)", job->id,
           (unsigned long long)vs_virtio_input_delivered(input), (unsigned long long)vs_virtio_input_dropped(input));
   vs_virtio_input_destroy(input);
   return 0;
}

/* A vhost-user message's size from its header: request, flags, size. */
static uint64_t
vhost_user_message_size(const uint8_t *header)
{
   uint32_t size;
   memcpy(&size, header + 8, sizeof(size));
   return 12u + size;
}

/* In a worker handed a device (worker/first_message.h): a VMM that left,
 * or sent no whole message in time, returns the worker untouched (the
 * server says which). */
bool
vs_vu_worker_claim(const int *fds, unsigned fd_count, const void *job, size_t job_size, void *data)
{
   static const struct vs_message_framing framing = { 12, vhost_user_message_size };
   return vs_first_message_wait(fds[0], &framing, VS_VU_FIRST_MESSAGE_MS) == VS_FIRST_MESSAGE_WHOLE;
}

/* In each new worker: the host driver's warm-up, before a VM comes; none
 * where the device runs no context itself. */
bool
vs_vu_worker_prepare(void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   struct vs_renderer_options options = workers->options->renderer;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &options);
   return workers->contexts || vs_renderer_prewarm(&options);
}

/* The mode a viewer asked for, to the guest (one line per change, held
 * back as the size lines are). */
static void
set_mode(struct vs_virtio_gpu *gpu, struct scanout_report *report, uint32_t scanout, uint32_t width, uint32_t height)
{
   const uint32_t asked_width = width, asked_height = height;
   char why[160] = "";
   uint64_t dropped = 0;
   if (vs_virtio_gpu_set_mode(gpu, scanout, &width, &height, why, sizeof(why))) {
      if (!vs_rate_limit_pass(&report->mode_lines, os_now_ns(), &dropped))
         return;
      if (dropped)
         vs_info(0, "vhost-user device %u: scanout %u's mode is %ux%u, as a viewer asked (%ux%u; %llu mode changes "
                    "before it not logged)", report->id, scanout, width, height, asked_width, asked_height,
                 (unsigned long long)dropped);
      else
         vs_info(0, "vhost-user device %u: scanout %u's mode is %ux%u, as a viewer asked (%ux%u)", report->id,
                 scanout, width, height, asked_width, asked_height);
   } else if (why[0] && !report->mode_refused_said) {
      report->mode_refused_said = true;
      vs_warn(0, "vhost-user device %u: a viewer asked scanout %u for %ux%u: %s; the mode stays", report->id,
              scanout, asked_width, asked_height, why);
   }
}

/* Serves the device, and the display's mode and reshow requests, until its
 * VMM goes. */
static void
run_gpu(struct vs_virtio_gpu *gpu, struct scanout_report *report)
{
   struct vs_vu_device *dev = vs_virtio_gpu_device(gpu);
   struct pollfd fds[VS_VU_POLLFDS_MAX + VS_VIRTIO_GPU_MAX_SCANOUTS];
   for (;;) {
      const unsigned n = vs_vu_device_pollfds(dev, fds, VS_VU_POLLFDS_MAX);
      for (uint32_t k = 0; k < report->scanouts; k++)
         fds[n + k] = (struct pollfd){ .fd = vs_scanout_export_fd(report->scanout[k].export), .events = POLLIN };
      if (poll(fds, n + report->scanouts, vs_vu_device_poll_timeout(dev)) < 0) {
         if (errno == EINTR)
            continue;
         vs_error(0, "vhost-user device %u: poll: %s", report->id, strerror(errno));
         return;
      }
      if (!vs_vu_device_dispatch(dev, fds, n))
         return;
      for (uint32_t k = 0; k < report->scanouts; k++) {
         uint32_t width, height;
         if (vs_scanout_export_take_mode(report->scanout[k].export, fds[n + k].fd >= 0 && fds[n + k].revents,
                                         &width, &height))
            set_mode(gpu, report, k, width, height);
         /* A display that lost what it showed (a server that took over). */
         if (vs_scanout_export_take_reshow(report->scanout[k].export))
            vs_virtio_gpu_reshow(gpu, k);
      }
   }
}

static void
destroy_exports(struct scanout_report *report)
{
   for (uint32_t k = 0; k < report->scanouts; k++)
      vs_scanout_export_destroy(report->scanout[k].export);
}

/* A GPU device, until its VMM goes. */
static int
serve_gpu(const struct vs_vhost_user_workers *workers, const int *fds, unsigned fd_count,
          const struct vs_vu_device_job *job, struct vs_activity *activity)
{
   struct scanout_report report = { .id = job->id, .scanouts = job->scanouts };
   vs_rate_limit_init(&report.size_lines, SIZE_LINES_BURST, SIZE_LINES_PER_SECOND, os_now_ns());
   vs_rate_limit_init(&report.mode_lines, SIZE_LINES_BURST, SIZE_LINES_PER_SECOND, os_now_ns());
   /* With a display: each scanout's framebuffer and socket, in order. */
   bool exported = true;
   for (uint32_t k = 0; fd_count > 2 && k < job->scanouts; k++) {
      const int framebuffer_fd = fds[2 + 2 * k], notify_fd = fds[3 + 2 * k];
      if (!exported) {
         close(framebuffer_fd);
         close(notify_fd);
         continue;
      }
      report.scanout[k].export = vs_scanout_export_create(job->id, k, framebuffer_fd,
                                                          vs_scanout_framebuffer_size(job->max_pixels), notify_fd);
      exported = report.scanout[k].export != NULL;
   }
   if (!exported) {
      destroy_exports(&report);
      return 1;
   }
   /* Each context in a worker of its own: this process never loads the
    * host driver. Else the VM's device memory in host RAM is charged to
    * its account in the server's ledger, as a vtest client's is. */
   struct render_client *apart = NULL;
   struct vs_ledger_port *ledger = NULL;
   if (job->contexts_apart) {
      const int fd = fcntl(fds[1], F_DUPFD_CLOEXEC, 0);
      apart = fd >= 0 ? render_client_create(fd, job->id) : NULL;
   } else {
      ledger = vs_ledger_remote_port_create(fds[1], job->id);
   }
   if (!apart && !ledger) {
      destroy_exports(&report);
      return 1;
   }
   /* The VM's contexts in this worker alone; its first device may be the
    * one the warm-up prepared. */
   struct vs_context_options context_options = *workers->options;
   context_options.renderer.ledger = ledger;
   context_options.renderer.device_hook = &vs_warm_up_device_hook;
   vs_placement_expose(workers->options->placement, vs_placement_worker_gpu(), &context_options.renderer);
   context_options.worker_link = NULL;
   context_options.resource_table = NULL;
   const struct vs_virtio_gpu_options options = {
      .id = job->id,
      .context_options = &context_options,
      .contexts_apart = apart,
      .width = job->width,
      .height = job->height,
      .scanouts = job->scanouts,
      .max_pixels = job->max_pixels,
      .shmem_size = job->hostmem_bytes,
      /* Host copies of 2D resources: a few full-size framebuffers. */
      .max_resource_bytes = 64ull << 20,
      .max_resources = 256,
      .on_flush = report_flush,
      .on_flush_buffer = report_buffer_flush,
      .on_cursor = report_cursor,
      .flush_data = &report,
   };
   struct vs_virtio_gpu *gpu = vs_virtio_gpu_create(fds[0], &options);
   if (!gpu) {
      vs_ledger_remote_port_destroy(ledger);
      destroy_exports(&report);
      return 1;
   }
   vs_vu_device_report_start(vs_virtio_gpu_device(gpu), activity);
   run_gpu(gpu, &report);
   vs_virtio_gpu_destroy(gpu);
   vs_ledger_remote_port_destroy(ledger);
   destroy_exports(&report);
   if (job->scanouts == 1)
      vs_info(0, "vhost-user device %u: ended after %lu flushes of its scanout", job->id, report.flushes);
   else
      vs_info(0, "vhost-user device %u: ended after %lu flushes of its %u scanouts", job->id, report.flushes,
              job->scanouts);
   return 0;
}

/* In the worker process: the device, until its VMM goes. Its fds: the
 * VMM's socket, then for a GPU device its ledger channel
 * (worker/ledger_channel.h) or, with its contexts apart, its socket to
 * their render server and, where the server has a display, each
 * scanout's framebuffer and announcements' socket (scanout_export.h),
 * job.scanouts of each; for an
 * input device, its reports' socket (input_router.h); last, for both, its
 * activity record (worker/activity.h). */
int
vs_vu_worker_serve(const int *fds, unsigned fd_count, const void *job_bytes, size_t job_size, void *data)
{
   const struct vs_vhost_user_workers *workers = data;
   struct vs_vu_device_job job;
   if (job_size != sizeof(job) || fd_count < 3)
      return 1;
   memcpy(&job, job_bytes, sizeof(job));
   /* The last fd: the device's activity record, whether a queue ran. */
   struct vs_activity *activity = vs_activity_map(fds[--fd_count]);
   if (!activity)
      return 1;
   int rc = 1;
   if (job.kind == VS_VU_DEVICE_INPUT && fd_count == 2)
      rc = serve_input(fds, &job, activity);
   else if (job.kind == VS_VU_DEVICE_GPU && job.scanouts >= 1 && job.scanouts <= VS_VIRTIO_GPU_MAX_SCANOUTS &&
            (fd_count == 2 || fd_count == 2 + 2 * job.scanouts))
      rc = serve_gpu(workers, fds, fd_count, &job, activity);
   vs_activity_destroy(activity);
   return rc;
}

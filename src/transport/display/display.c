/* SPDX-License-Identifier: MIT */
/* The Wayland side of the display: one thread runs a libwayland-server
 * event loop with wl_compositor v4, wl_shm, xdg_wm_base v1 and
 * zwp_linux_dmabuf_v1 v3 (LINEAR; XRGB/ARGB/XBGR/ABGR8888).
 *
 * Input: a wl_seat (seat.c) whose pointer and keyboard follow the shown
 * surface; events come from browser viewers when --input allows them.
 *
 * What is shown: one output, the most recently mapped surface (the
 * newest window; when it unmaps or goes away, the one mapped before it is
 * shown again). Other surfaces get their buffers released at commit and
 * their frame callbacks at the stream's rate.
 *
 * A committed dma-buf that is one of the server's memfds (by inode) is
 * read through the server's own mapping once the client's submissions
 * before the commit have finished on the host: its rings are marked at the
 * commit, and the encoder fences every queue of the owning device once they
 * have executed up to the marks (renderer/memory/shared_registry.h). A foreign dma-buf fd is mapped read-only
 * once, after size/offset/stride checks; an fd that could shrink later (a
 * regular file or memfd without F_SEAL_SHRINK) is refused, as reading it
 * could fault. wl_shm buffers are copied at commit (libwayland guards
 * that read) and released at once. */
#include "transport/display/display.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "compositor/dmabuf.h"
#include "compositor/surface.h"
#include "compositor/xdg_shell.h"
#include "transport/display/display_internal.h"
#include "transport/display/x264_library.h"
#include "transport/vmchannel/vmchannel.h"
#include "transport/vmchannel/vmchannel_protocol.h"
#include "linux-dmabuf-unstable-v1-server-protocol.h"
#include "os/os.h"
#include "base/log.h"

/* The size a VM guest is told to show its surfaces at (CONFIGURE), unless
 * --vm-size says. */
#define VM_WIDTH 1280u
#define VM_HEIGHT 800u
/* Viewers' input events on their way to sources' outputs. */
#define SOURCE_INPUTS_MAX 64

struct vs_display_buffer {
   struct vs_dmabuf_buffer base;     /* its wl_buffer */
   uint32_t width, height, stride, offset, fourcc;
   uint64_t st_dev, st_ino;
   bool server_memory;               /* the fd is one of the server's memfds */
   int fd;
   const uint8_t *map;               /* foreign fds: our read-only mapping */
   size_t map_len;
   uint32_t inflight;                /* frames of it the encoder holds */
};

struct surface {
   struct vs_surface base;            /* no resource for a VM guest's surface */
   struct vs_display *display;
   struct wl_list link;
   uint32_t vm_id;                    /* a VM guest's surface: its id in the guest session */
   uint32_t source;                   /* a VM device (vs_display_show_frame), with: */
   uint32_t scanout;                  /* which scanout of it */
   uint32_t output;                   /* VS_DISPLAY_DESKTOP, or the source's own */
   uint64_t vm_session;
   bool vm_frame_due;                 /* FRAME for vm_serial at the next tick */
   uint32_t vm_serial;
   bool mapped;
   uint64_t map_seq;
   uint32_t width, height;            /* of the last buffer committed */
};

/* One stream: its encoder and recording made at its first frame. */
struct output {
   struct vs_display *display;
   bool used;                         /* the desktop's always; a source's from its first frame */
   char name[VS_OUTPUT_NAME_MAX + 1];
   struct vs_stream *stream;          /* NULL until its first frame */
   struct vs_record *record;
   struct wl_event_source *done_source;
   bool refused_said;                 /* its stream could not be made: said once */
};

struct vs_display {
   struct vs_x264 x264;               /* the encoder library, for the streams */
   struct wl_display *display;
   struct wl_event_loop *loop;
   struct vs_compositor_config compositor;
   struct vs_dmabuf_config dmabuf;
   struct wl_event_source *tick;
   struct wl_event_source *stop_source;
   struct wl_list surfaces;
   struct wl_list waiting_callbacks;  /* answered at the next tick */
   uint64_t map_counter;
   unsigned fps;
   pthread_t thread;
   bool running;
   struct os_event stop;
   char *socket_name;
   const char *vm_name; /* the options', kept by the caller */
   struct vs_shared_registry *shared_registry;
   struct vs_display_clients clients; /* client_limits.c */
   struct output outputs[VS_DISPLAY_MAX_OUTPUTS];
   struct vs_seat *seat;
   struct vs_xdg_shell *shell;
   char *record_path;                 /* --record, or NULL */
   bool record_append;                /* each recording after what its file holds */
   unsigned recordings;               /* files opened, for their names */
   bool outputs_full_said;
   struct vs_http *http;              /* --http, or NULL */
   struct vs_vmchannel *vmchannel;    /* --vm-channel, or NULL */
   /* Sources' frames and ends from other threads, for the Wayland thread. */
   pthread_mutex_t inbox_lock;
   struct inbox_entry *inbox;         /* under inbox_lock */
   /* Viewer input for sources' surfaces (vs_display_set_source_input);
    * under inbox_lock, held while it runs. */
   vs_display_source_input_fn source_input;
   void *source_input_data;
   /* Viewers' input for sources' outputs, oldest first; under inbox_lock. */
   struct source_input {
      uint32_t output;
      struct vs_input_event event;
   } source_inputs[SOURCE_INPUTS_MAX];
   uint32_t source_inputs_head, source_inputs_len;
   /* Where viewers' window sizes go (vs_display_set_source_mode), and the
    * latest size asked of each output not yet passed on; under inbox_lock. */
   vs_display_source_mode_fn source_mode;
   void *source_mode_data;
   struct source_mode {
      uint32_t output, width, height;
   } source_modes[VS_DISPLAY_MAX_OUTPUTS];
   uint32_t source_modes_len;
   /* The outputs' streams, as the HTTP thread reads them. */
   pthread_mutex_t outputs_lock;
   struct os_event inbox_event;
   struct wl_event_source *inbox_source;
   /* VM frames the encoder holds, per guest buffer: RELEASE when none. */
   struct vm_inflight {
      uint64_t session;
      uint32_t surface, res_id, count;
   } vm_inflight[2 * VS_VMCH_MAX_SURFACES];
   /* figures */
   uint64_t commits, shown_commits, server_memory_frames, foreign_frames, shm_frames, refused;
   uint64_t vm_commits, vm_shown, vm_refused, vm_gone;
   uint64_t source_frames;
   uint32_t vm_gone_said; /* the last resource whose freed memory was logged */
   uint64_t first_shown_ns, last_shown_ns;
};

/* A source's scanout's newest frame, its cursor, or its end (neither). */
struct inbox_entry {
   uint32_t source, scanout;
   struct vs_frame *frame;
   struct vs_cursor_image *cursor;
   struct inbox_entry *next;
};

static const uint32_t formats[] = { VS_FMT_XRGB8888, VS_FMT_ARGB8888, VS_FMT_XBGR8888, VS_FMT_ABGR8888 };

static bool
format_known(uint32_t fourcc)
{
   for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
      if (formats[i] == fourcc)
         return true;
   return false;
}

/* --- buffers ---------------------------------------------------------- */

static void
buffer_unref_storage(struct vs_display_buffer *b)
{
   if (b->base.resource || b->inflight)
      return;
   if (b->map)
      munmap((void *)b->map, b->map_len);
   if (b->fd >= 0)
      close(b->fd);
   free(b);
}

static void
buffer_destroyed(void *data, struct vs_dmabuf_buffer *buffer)
{
   struct vs_display_buffer *b = wl_container_of(buffer, b, base);
   buffer_unref_storage(b);
}

/* --- frames back from the encoder ------------------------------------- */

static struct vm_inflight *
vm_inflight_find(struct vs_display *d, uint64_t session, uint32_t surface, uint32_t res_id)
{
   for (size_t i = 0; i < sizeof(d->vm_inflight) / sizeof(d->vm_inflight[0]); i++) {
      struct vm_inflight *e = &d->vm_inflight[i];
      if (e->count && e->session == session && e->surface == surface && e->res_id == res_id)
         return e;
   }
   return NULL;
}

static void
free_frame(struct vs_display *d, struct vs_frame *f)
{
   if (f->has_view)
      vs_shared_release(&f->view);
   if (f->vm_session) {
      struct vm_inflight *e = vm_inflight_find(d, f->vm_session, f->vm_surface, f->vm_res_id);
      if (e && --e->count == 0)
         vs_vmchannel_release(d->vmchannel, f->vm_session, f->vm_surface, f->vm_res_id);
   }
   if (f->buffer) {
      struct vs_display_buffer *b = f->buffer;
      if (--b->inflight == 0 && b->base.resource)
         wl_buffer_send_release(b->base.resource);
      buffer_unref_storage(b);
   }
   free(f->owned);
   free(f);
}

static int
on_frames_done(int fd, uint32_t mask, void *data)
{
   struct output *o = data;
   struct vs_display *d = o->display;
   struct vs_frame *f;
   while (o->stream && (f = vs_stream_take_done(o->stream))) {
      struct vs_frame *next = f->next;
      free_frame(d, f);
      f = next;
      while (f) {
         next = f->next;
         free_frame(d, f);
         f = next;
      }
   }
   return 0;
}

/* --- frame callbacks, paced ------------------------------------------ */

static int
on_tick(void *data)
{
   struct vs_display *d = data;
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   uint32_t ms = (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
   struct wl_resource *cb, *tmp;
   wl_resource_for_each_safe(cb, tmp, &d->waiting_callbacks) {
      wl_callback_send_done(cb, ms);
      wl_resource_destroy(cb);
   }
   struct surface *s;
   wl_list_for_each(s, &d->surfaces, link) {
      if (s->vm_frame_due) {
         s->vm_frame_due = false;
         vs_vmchannel_frame(d->vmchannel, s->vm_session, s->vm_id, s->vm_serial, ms);
      }
   }
   wl_event_source_timer_update(d->tick, (int)(1000 / d->fps));
   return 0;
}

/* --- surfaces ---------------------------------------------------------- */

/* The desktop output's surface: the newest mapped window. */
static struct surface *
shown_surface(struct vs_display *d)
{
   struct surface *s, *best = NULL;
   wl_list_for_each(s, &d->surfaces, link)
      if (s->output == VS_DISPLAY_DESKTOP && s->mapped && (!best || s->map_seq > best->map_seq))
         best = s;
   return best;
}

/* The seat's focus: the shown surface and its size. */
static struct wl_resource *
display_shown(void *data, uint32_t *width, uint32_t *height)
{
   struct surface *s = shown_surface(data);
   if (width)
      *width = s ? s->width : 0;
   if (height)
      *height = s ? s->height : 0;
   return s ? s->base.resource : NULL;
}

/* A frame of a dma-buf: server memory (pinned, and the client's rings
 * marked: the encoder fences what it wrote before this commit) or our
 * mapping of a foreign fd. NULL if the buffer cannot be read any more. */
static struct vs_frame *
dmabuf_frame(struct vs_display *d, struct vs_display_buffer *b)
{
   struct vs_frame *f = calloc(1, sizeof(*f));
   if (!f)
      return NULL;
   if (b->server_memory) {
      if (!vs_shared_acquire(d->shared_registry, b->st_dev, b->st_ino, &f->view)) {
         free(f);
         return NULL; /* the memory was freed since the buffer was made */
      }
      f->has_view = true;
      if ((uint64_t)b->offset + (uint64_t)b->stride * b->height > f->view.size) {
         vs_shared_release(&f->view);
         free(f);
         return NULL;
      }
      vs_shared_mark(&f->view);
      f->pixels = f->view.map + b->offset;
      d->server_memory_frames++;
   } else {
      f->pixels = b->map + b->offset;
      d->foreign_frames++;
   }
   f->buffer = b;
   b->inflight++;
   return f;
}

static struct vs_frame *
shm_frame(struct vs_display *d, struct wl_shm_buffer *shm)
{
   uint32_t fmt = wl_shm_buffer_get_format(shm);
   uint32_t fourcc = fmt == WL_SHM_FORMAT_ARGB8888 ? VS_FMT_ARGB8888 : fmt == WL_SHM_FORMAT_XRGB8888 ? VS_FMT_XRGB8888 : fmt;
   int32_t w = wl_shm_buffer_get_width(shm), h = wl_shm_buffer_get_height(shm);
   int32_t stride = wl_shm_buffer_get_stride(shm);
   if (!format_known(fourcc) || w <= 0 || h <= 0 || (uint32_t)w > VS_DMABUF_MAX_DIM ||
       (uint32_t)h > VS_DMABUF_MAX_DIM || stride < w * 4)
      return NULL;
   struct vs_frame *f = calloc(1, sizeof(*f));
   uint8_t *copy = f ? malloc((size_t)w * 4 * (size_t)h) : NULL;
   if (!copy) {
      free(f);
      return NULL;
   }
   wl_shm_buffer_begin_access(shm);
   const uint8_t *src = wl_shm_buffer_get_data(shm);
   for (int32_t y = 0; y < h; y++)
      memcpy(copy + (size_t)y * w * 4, src + (size_t)y * stride, (size_t)w * 4);
   wl_shm_buffer_end_access(shm);
   f->owned = copy;
   f->pixels = copy;
   f->width = (uint32_t)w;
   f->height = (uint32_t)h;
   f->stride = (uint32_t)w * 4;
   f->fourcc = fourcc;
   f->copies = 1;
   d->shm_frames++;
   return f;
}

/* The recording's file for the output opened now: --record's path for
 * the first, the path with the output's name before its extension for
 * the others (a path with "%o" puts the name there for every one). */
static struct vs_record *
output_record(struct vs_display *d, const struct output *o)
{
   char path[4096];
   const char *p = d->record_path, *at = strstr(p, "%o");
   if (at) {
      snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - p), p, o->name, at + 2);
   } else if (d->recordings == 0) {
      snprintf(path, sizeof(path), "%s", p);
   } else {
      const char *slash = strrchr(p, '/'), *dot = strrchr(p, '.');
      if (!dot || (slash && dot < slash))
         dot = p + strlen(p);
      snprintf(path, sizeof(path), "%.*s.%s%s", (int)(dot - p), p, o->name, dot);
   }
   struct vs_record *r = vs_record_open(path, d->record_append);
   if (r) {
      d->recordings++;
      vs_info(0, "display: output %s records to %s", o->name, path);
   }
   return r;
}

/* The output's encoder, its recording and its viewers' sink, at its first
 * frame; false (said once) if they cannot be made. */
static bool
output_start(struct vs_display *d, struct output *o)
{
   if (o->stream)
      return true;
   struct vs_stream_sink sink;
   struct vs_stream *stream = vs_stream_create(&d->x264, d->fps, o->name);
   bool ok = stream != NULL;
   if (ok && d->record_path) {
      ok = (o->record = output_record(d, o)) != NULL;
      if (ok) {
         sink = vs_record_sink(o->record);
         vs_stream_add_sink(stream, &sink);
      }
   }
   if (ok && d->http) {
      sink = vs_http_sink(d->http, (uint32_t)(o - d->outputs));
      vs_stream_add_sink(stream, &sink);
   }
   if (ok)
      ok = (o->done_source = wl_event_loop_add_fd(d->loop, vs_stream_done_fd(stream), WL_EVENT_READABLE,
                                                   on_frames_done, o)) != NULL;
   if (ok && vs_stream_run(stream)) {
      pthread_mutex_lock(&d->outputs_lock);
      o->stream = stream;
      pthread_mutex_unlock(&d->outputs_lock);
      return true;
   }
   if (o->done_source)
      wl_event_source_remove(o->done_source);
   o->done_source = NULL;
   vs_stream_destroy(stream);
   vs_record_close(o->record);
   o->record = NULL;
   if (!o->refused_said)
      vs_error(0, "display: output %s: its encoder or recording cannot be made; its frames are not shown", o->name);
   o->refused_said = true;
   return false;
}

/* The output's stream stops: the frames it holds go back, and its
 * viewers are closed. */
static void
output_end(struct vs_display *d, struct output *o)
{
   if (o->stream) {
      vs_stream_stop(o->stream);
      on_frames_done(-1, 0, o);
      wl_event_source_remove(o->done_source);
      pthread_mutex_lock(&d->outputs_lock);
      struct vs_stream *stream = o->stream;
      o->stream = NULL;
      pthread_mutex_unlock(&d->outputs_lock);
      vs_stream_destroy(stream);
      vs_record_close(o->record);
   }
   if (d->http && o->used)
      vs_http_remove_output(d->http, (uint32_t)(o - d->outputs));
   *o = (struct output){ .display = d };
}

/* A shown commit's frame to its output's encoder. */
static void
submit_frame(struct vs_display *d, uint32_t output, struct vs_frame *f)
{
   if (!output_start(d, &d->outputs[output])) {
      free_frame(d, f);
      return;
   }
   d->shown_commits++;
   f->commit_ns = os_now_ns();
   if (!d->first_shown_ns)
      d->first_shown_ns = f->commit_ns;
   d->last_shown_ns = f->commit_ns;
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   f->commit_wall_ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
   vs_stream_submit(d->outputs[output].stream, f);
}

static void
surface_commit(void *data, struct vs_surface *surface, bool attached, struct wl_resource *buffer)
{
   struct surface *s = wl_container_of(surface, s, base);
   struct vs_display *d = data;
   d->commits++;
   /* Callbacks requested for this commit are answered at the stream rate. */
   wl_list_insert_list(d->waiting_callbacks.prev, &s->base.frame_callbacks);
   wl_list_init(&s->base.frame_callbacks);
   if (!attached)
      return;
   if (!buffer) {
      s->mapped = false;
      return;
   }
   if (!s->mapped) {
      s->mapped = true;
      s->map_seq = ++d->map_counter;
   }
   struct vs_frame *f = NULL;
   bool shown = shown_surface(d) == s;
   struct wl_shm_buffer *shm = wl_shm_buffer_get(buffer);
   struct vs_dmabuf_buffer *dmabuf = vs_dmabuf_buffer_from_resource(buffer);
   if (shm) {
      s->width = (uint32_t)wl_shm_buffer_get_width(shm);
      s->height = (uint32_t)wl_shm_buffer_get_height(shm);
      if (shown)
         f = shm_frame(d, shm);
      wl_buffer_send_release(buffer);
   } else if (dmabuf) {
      struct vs_display_buffer *b = wl_container_of(dmabuf, b, base);
      s->width = b->width;
      s->height = b->height;
      if (shown)
         f = dmabuf_frame(d, b);
      if (f) {
         f->width = b->width;
         f->height = b->height;
         f->stride = b->stride;
         f->fourcc = b->fourcc;
      } else if (b->inflight == 0) {
         wl_buffer_send_release(buffer);
      }
   } else {
      wl_resource_post_error(s->base.resource, WL_SURFACE_ERROR_INVALID_SIZE, "unknown buffer type");
      return;
   }
   if (f)
      submit_frame(d, VS_DISPLAY_DESKTOP, f);
}

static bool
surface_created(void *data, struct vs_surface *surface, struct wl_resource *compositor)
{
   struct surface *s = wl_container_of(surface, s, base);
   struct vs_display *d = data;
   s->display = d;
   wl_list_insert(&d->surfaces, &s->link);
   return true;
}

static void
surface_destroyed(void *data, struct vs_surface *surface)
{
   struct surface *s = wl_container_of(surface, s, base);
   wl_list_remove(&s->link);
}

/* --- linux-dmabuf v3: the display's import ----------------------------- */

/* A plane of the server's memory (found by inode), or a foreign fd mapped
 * read-only after the size checks. */
static bool
buffer_import(void *data, struct vs_dmabuf_buffer *buffer, const struct vs_dmabuf_plane *plane, uint32_t *error,
              char *why, size_t why_size)
{
   struct vs_display *d = data;
   struct vs_display_buffer *b = wl_container_of(buffer, b, base);
   uint64_t need = (uint64_t)plane->offset + (uint64_t)plane->stride * (uint64_t)plane->height;
   struct stat st;
   /* Seals before size: a client could otherwise shrink the file and seal
    * it between the two, leaving the mapping below past its end (SIGBUS
    * in the server). Sealed first, the size measured is final. */
   const int seals = fcntl(plane->fd, F_GET_SEALS);
   off_t fd_size = lseek(plane->fd, 0, SEEK_END);
   if (plane->stride < plane->width * 4u || plane->stride % 4 || plane->offset % 4 || fstat(plane->fd, &st) != 0 ||
       fd_size < 0 || (uint64_t)fd_size < need) {
      *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS;
      snprintf(why, why_size,
               "offset %u + stride %u x height %u does not fit the fd (%lld bytes), or the stride is below width x 4",
               plane->offset, plane->stride, plane->height, (long long)fd_size);
      return false;
   }
   b->width = plane->width;
   b->height = plane->height;
   b->stride = plane->stride;
   b->offset = plane->offset;
   b->fourcc = plane->fourcc;
   b->st_dev = (uint64_t)st.st_dev;
   b->st_ino = (uint64_t)st.st_ino;
   size_t size;
   if (vs_shared_known(d->shared_registry, b->st_dev, b->st_ino, &size)) {
      if (need > size) {
         *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS;
         snprintf(why, why_size, "beyond the memory");
         return false;
      }
      b->server_memory = true;
   } else {
      if (S_ISREG(st.st_mode) && (seals < 0 || !(seals & F_SEAL_SHRINK))) {
         *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER;
         snprintf(why, why_size, "a file or memfd that can shrink (no F_SEAL_SHRINK): use wl_shm");
         return false;
      }
      void *map = mmap(NULL, (size_t)need, PROT_READ, MAP_SHARED, plane->fd, 0);
      if (map == MAP_FAILED) {
         *error = ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER;
         snprintf(why, why_size, "cannot map the fd: %s", strerror(errno));
         return false;
      }
      b->map = map;
      b->map_len = (size_t)need;
   }
   b->fd = plane->fd;
   return true;
}

static void
buffer_refused(void *data, const char *why)
{
   struct vs_display *d = data;
   d->refused++;
}

/* --- VM guests' surfaces (the VM channel) ------------------------------- */

static struct surface *
vm_surface(struct vs_display *d, uint32_t id)
{
   struct surface *s;
   wl_list_for_each(s, &d->surfaces, link)
      if (s->vm_id == id)
         return s;
   return NULL;
}

/* The VM channel's COMMIT: as a Wayland commit of a dma-buf that is
 * server memory (dmabuf_frame), the memory found by the blob's inode. */
static bool
vm_commit(void *data, uint64_t session, uint32_t id, uint32_t serial, const struct vs_vmch_image *image, char *why,
          size_t why_size)
{
   struct vs_display *d = data;
   d->commits++;
   d->vm_commits++;
   struct surface *s = vm_surface(d, id);
   if (!s) {
      if (!(s = calloc(1, sizeof(*s)))) {
         snprintf(why, why_size, "COMMIT of surface %u: out of memory", id);
         d->vm_refused++;
         return false;
      }
      s->display = d;
      s->vm_id = id;
      wl_list_init(&s->base.frame_callbacks);
      wl_list_insert(&d->surfaces, &s->link);
   }
   s->vm_session = session;
   s->vm_serial = serial;
   s->vm_frame_due = true; /* answered at the stream rate, as frame callbacks */
   s->width = image->width;
   s->height = image->height;
   if (!s->mapped) {
      s->mapped = true;
      s->map_seq = ++d->map_counter;
   }
   struct vm_inflight *held = vm_inflight_find(d, session, id, image->res_id);
   struct vm_inflight *slot = held;
   for (size_t i = 0; !slot && i < sizeof(d->vm_inflight) / sizeof(d->vm_inflight[0]); i++)
      if (!d->vm_inflight[i].count)
         slot = &d->vm_inflight[i];
   struct vs_frame *f = shown_surface(d) == s && slot ? calloc(1, sizeof(*f)) : NULL;
   if (!f) {
      if (!held)
         vs_vmchannel_release(d->vmchannel, session, id, image->res_id);
      return true; /* not shown (another surface is), as a Wayland commit */
   }
   if (!vs_shared_acquire(d->shared_registry, image->st_dev, image->st_ino, &f->view)) {
      /* Listed, so this VM's: freed while the guest's COMMIT was on its way
       * (a client quitting), or memory the server cannot read (thread mode
       * lists every blob). Not hostile; not shown. */
      free(f);
      d->vm_gone++;
      if (d->vm_gone_said != image->res_id)
         vs_warn(0, "display: COMMIT of VM surface %u: resource %u (context %u) has no memory the server can read "
                 "(freed, or not host-pointer memory): not shown", id,
                 image->res_id, image->ctx_id);
      d->vm_gone_said = image->res_id;
      if (!held)
         vs_vmchannel_release(d->vmchannel, session, id, image->res_id);
      return true;
   }
   f->has_view = true;
   if ((uint64_t)image->offset + (uint64_t)image->stride * image->height > f->view.size) {
      snprintf(why, why_size, "COMMIT of surface %u: resource %u's memory has %zu bytes, the image needs %llu", id,
               image->res_id, f->view.size,
               (unsigned long long)((uint64_t)image->offset + (uint64_t)image->stride * image->height));
      vs_shared_release(&f->view);
      free(f);
      d->vm_refused++;
      if (!held)
         vs_vmchannel_release(d->vmchannel, session, id, image->res_id);
      return false;
   }
   /* The guest's submissions before this COMMIT are in the owning
    * context's rings (or done): the encoder fences up to here. */
   vs_shared_mark(&f->view);
   f->pixels = f->view.map + image->offset;
   f->width = image->width;
   f->height = image->height;
   f->stride = image->stride;
   f->fourcc = image->fourcc;
   f->vm_session = session;
   f->vm_surface = id;
   f->vm_res_id = image->res_id;
   *slot = (struct vm_inflight){ session, id, image->res_id, slot->count + 1 };
   d->server_memory_frames++;
   d->vm_shown++;
   submit_frame(d, VS_DISPLAY_DESKTOP, f);
   return true;
}

static void
vm_destroy(void *data, uint32_t id)
{
   struct surface *s = vm_surface(data, id);
   if (!s)
      return;
   wl_list_remove(&s->link);
   free(s);
}

void
vs_display_set_source_input(struct vs_display *d, vs_display_source_input_fn fn, void *data)
{
   pthread_mutex_lock(&d->inbox_lock);
   d->source_input = fn;
   d->source_input_data = data;
   pthread_mutex_unlock(&d->inbox_lock);
}

void
vs_display_set_source_mode(struct vs_display *d, vs_display_source_mode_fn fn, void *data)
{
   pthread_mutex_lock(&d->inbox_lock);
   d->source_mode = fn;
   d->source_mode_data = data;
   pthread_mutex_unlock(&d->inbox_lock);
}

/* The seat's input (the desktop output's viewers'), to the guest when its
 * surface is the one shown: a VM channel guest's. */
static bool
vm_divert_input(void *data, const struct vs_input_event *event)
{
   struct vs_display *d = data;
   struct surface *s = shown_surface(d);
   if (!s || !s->vm_id)
      return false;
   struct vs_input_event e = *event;
   if (e.type == VS_INPUT_MOTION) {
      e.x = vs_input_clamp_fixed(e.x, s->width);
      e.y = vs_input_clamp_fixed(e.y, s->height);
   }
   vs_vmchannel_input(d->vmchannel, s->vm_id, &e);
   return true;
}

/* --- frames of other sources (a VM device's scanout) --------------------- */

static struct surface *
source_surface(struct vs_display *d, uint32_t source, uint32_t scanout)
{
   struct surface *s;
   wl_list_for_each(s, &d->surfaces, link)
      if (s->source == source && s->scanout == scanout)
         return s;
   return NULL;
}

/* The name of the output of source surface `s`'s scanout 0, whether that
 * one is shown or not: a scanout k's is "<it>.k". */
static void
source_base_name(const struct vs_display *d, const struct surface *s, char *name, size_t size)
{
   snprintf(name, size, "%s", d->outputs[s->output].name);
   char *dot = strrchr(name, '.');
   if (s->scanout && dot)
      *dot = '\0';
}

/* The name of a source's scanout 0's output: that of an output of the
 * source still shown; else the VM's name, while no other output and no
 * other source's scanouts have it; else NAME-N. */
static void
source_name(struct vs_display *d, uint32_t source, char *name, size_t size)
{
   struct surface *s;
   wl_list_for_each(s, &d->surfaces, link) {
      if (s->source == source) {
         source_base_name(d, s, name, size);
         return;
      }
   }
   bool named = d->vm_name != NULL;
   for (uint32_t i = 1; named && i < VS_DISPLAY_MAX_OUTPUTS; i++)
      named = !d->outputs[i].used || strcmp(d->outputs[i].name, d->vm_name) != 0;
   wl_list_for_each(s, &d->surfaces, link) {
      char other[VS_OUTPUT_NAME_MAX + 1];
      if (!named || !s->source)
         continue;
      source_base_name(d, s, other, sizeof(other));
      named = strcmp(other, d->vm_name) != 0;
   }
   if (named)
      snprintf(name, size, "%s", d->vm_name);
   else
      snprintf(name, size, "%s-%u", d->vm_name ? d->vm_name : "vm", source);
}

/* An output of a source's scanout's own, named after its VM device (and
 * scanout); 0 (said once) when every output is taken. */
static uint32_t
source_output(struct vs_display *d, uint32_t source, uint32_t scanout)
{
   uint32_t id = 1;
   while (id < VS_DISPLAY_MAX_OUTPUTS && d->outputs[id].used)
      id++;
   if (id == VS_DISPLAY_MAX_OUTPUTS) {
      if (!d->outputs_full_said)
         vs_warn(0, "display: VM device %u's scanout %u is not shown: all %d outputs are taken", source, scanout,
                 VS_DISPLAY_MAX_OUTPUTS - 1);
      d->outputs_full_said = true;
      return 0;
   }
   char base[VS_OUTPUT_NAME_MAX + 1];
   source_name(d, source, base, sizeof(base));
   struct output *o = &d->outputs[id];
   *o = (struct output){ .display = d, .used = true };
   /* --vm-name leaves room for "-N.K" (display.h): nothing is cut. */
   char name[VS_OUTPUT_NAME_MAX + 16], what[64];
   if (scanout) {
      snprintf(name, sizeof(name), "%s.%u", base, scanout);
      snprintf(what, sizeof(what), "VM device %u's scanout %u", source, scanout);
   } else {
      snprintf(name, sizeof(name), "%s", base);
      snprintf(what, sizeof(what), "VM device %u's scanout", source);
   }
   snprintf(o->name, sizeof(o->name), "%.*s", VS_OUTPUT_NAME_MAX, name);
   if (d->http && !vs_http_add_output(d->http, id, o->name, what, source, scanout)) {
      *o = (struct output){ .display = d };
      return 0;
   }
   return id;
}

/* A source's frame as a commit of its surface, its output's only, made at
 * its first frame. */
static void
source_commit(struct vs_display *d, uint32_t source, uint32_t scanout, struct vs_frame *f)
{
   d->commits++;
   struct surface *s = source_surface(d, source, scanout);
   if (!s) {
      uint32_t output = source_output(d, source, scanout);
      if (!output || !(s = calloc(1, sizeof(*s)))) {
         if (output)
            output_end(d, &d->outputs[output]);
         free_frame(d, f);
         return;
      }
      s->display = d;
      s->source = source;
      s->scanout = scanout;
      s->output = output;
      wl_list_init(&s->base.frame_callbacks);
      wl_list_insert(&d->surfaces, &s->link);
   }
   s->width = f->width;
   s->height = f->height;
   d->source_frames++;
   submit_frame(d, s->output, f);
}

/* A source's cursor, to its output's viewers (once it has one: a cursor
 * before the first frame is not shown). */
static void
source_cursor(struct vs_display *d, uint32_t source, uint32_t scanout, const struct vs_cursor_image *cursor)
{
   struct surface *s = source_surface(d, source, scanout);
   if (s && d->http)
      vs_http_cursor(d->http, s->output, cursor);
}

static void
source_destroy(struct vs_display *d, uint32_t source, uint32_t scanout)
{
   struct surface *s = source_surface(d, source, scanout);
   if (!s)
      return;
   output_end(d, &d->outputs[s->output]);
   wl_list_remove(&s->link);
   free(s);
}

static int
on_inbox(int fd, uint32_t mask, void *data)
{
   struct vs_display *d = data;
   os_event_drain(&d->inbox_event);
   pthread_mutex_lock(&d->inbox_lock);
   struct inbox_entry *e = d->inbox;
   d->inbox = NULL;
   pthread_mutex_unlock(&d->inbox_lock);
   /* Oldest first: the list is pushed at its head. */
   struct inbox_entry *ordered = NULL;
   while (e) {
      struct inbox_entry *next = e->next;
      e->next = ordered;
      ordered = e;
      e = next;
   }
   while (ordered) {
      struct inbox_entry *next = ordered->next;
      if (ordered->frame)
         source_commit(d, ordered->source, ordered->scanout, ordered->frame);
      else if (ordered->cursor)
         source_cursor(d, ordered->source, ordered->scanout, ordered->cursor);
      else
         source_destroy(d, ordered->source, ordered->scanout);
      free(ordered->cursor);
      free(ordered);
      ordered = next;
   }
   /* Viewers' input to the source their output shows (none once it ended). */
   pthread_mutex_lock(&d->inbox_lock);
   for (uint32_t i = 0; i < d->source_modes_len; i++) {
      const struct source_mode *m = &d->source_modes[i];
      struct surface *s;
      wl_list_for_each(s, &d->surfaces, link)
         if (s->source && s->output == m->output && d->source_mode)
            d->source_mode(d->source_mode_data, s->source, s->scanout, m->width, m->height);
   }
   d->source_modes_len = 0;
   for (; d->source_inputs_len; d->source_inputs_len--) {
      const struct source_input *in = &d->source_inputs[d->source_inputs_head];
      d->source_inputs_head = (d->source_inputs_head + 1) % SOURCE_INPUTS_MAX;
      struct surface *s;
      wl_list_for_each(s, &d->surfaces, link)
         if (s->source && s->output == in->output && d->source_input)
            d->source_input(d->source_input_data, s->source, s->width, s->height, &in->event);
   }
   pthread_mutex_unlock(&d->inbox_lock);
   return 0;
}

static void
inbox_push(struct vs_display *d, uint32_t source, uint32_t scanout, struct vs_frame *f, struct vs_cursor_image *cursor)
{
   struct inbox_entry *e = malloc(sizeof(*e));
   if (!e) {
      free(f ? f->owned : NULL);
      free(f);
      free(cursor);
      return;
   }
   *e = (struct inbox_entry){ .source = source, .scanout = scanout, .frame = f, .cursor = cursor };
   struct vs_frame *replaced = NULL;
   pthread_mutex_lock(&d->inbox_lock);
   /* The latest frame wins: the scanout's newest entry (the inbox is
    * newest first), if a frame not yet taken rather than the scanout's
    * end, is replaced; so a scanout never holds more than one frame there,
    * whatever other scanouts push between its frames. */
   struct inbox_entry *newest = d->inbox;
   while (newest && (newest->source != source || newest->scanout != scanout))
      newest = newest->next;
   if (f && newest && newest->frame) {
      replaced = newest->frame;
      newest->frame = f;
      free(e);
      e = NULL;
   } else {
      e->next = d->inbox;
      d->inbox = e;
   }
   pthread_mutex_unlock(&d->inbox_lock);
   if (replaced) {
      free(replaced->owned);
      free(replaced);
   }
   os_event_signal(&d->inbox_event);
}

void
vs_display_show_frame(struct vs_display *d, uint32_t source, uint32_t scanout, const uint8_t *pixels, uint32_t width,
                      uint32_t height, uint32_t stride)
{
   if (!d || width == 0 || height == 0 || width > VS_DMABUF_MAX_DIM || height > VS_DMABUF_MAX_DIM ||
       stride < width * 4)
      return;
   struct vs_frame *f = calloc(1, sizeof(*f));
   uint8_t *copy = f ? malloc((size_t)width * 4 * height) : NULL;
   if (!copy) {
      free(f);
      return;
   }
   for (uint32_t y = 0; y < height; y++)
      memcpy(copy + (size_t)y * width * 4, pixels + (size_t)y * stride, (size_t)width * 4);
   f->owned = copy;
   f->pixels = copy;
   f->width = width;
   f->height = height;
   f->stride = width * 4;
   f->fourcc = VS_FMT_XRGB8888; /* B8G8R8X8 in memory */
   f->copies = 1;
   inbox_push(d, source, scanout, f, NULL);
}

void
vs_display_show_cursor(struct vs_display *d, uint32_t source, uint32_t scanout, const uint8_t *pixels, uint32_t width,
                       uint32_t height, uint32_t hot_x, uint32_t hot_y)
{
   if (!d)
      return;
   if (!pixels || width > VS_DISPLAY_CURSOR_SIDE || height > VS_DISPLAY_CURSOR_SIDE)
      width = height = 0;
   struct vs_cursor_image *c = malloc(sizeof(*c) + (size_t)width * height * 4);
   if (!c)
      return;
   *c = (struct vs_cursor_image){ .width = width, .height = height, .hot_x = hot_x, .hot_y = hot_y };
   for (size_t i = 0; i < (size_t)width * height; i++) {
      c->rgba[4 * i + 0] = pixels[4 * i + 2];
      c->rgba[4 * i + 1] = pixels[4 * i + 1];
      c->rgba[4 * i + 2] = pixels[4 * i + 0];
      c->rgba[4 * i + 3] = pixels[4 * i + 3];
   }
   inbox_push(d, source, scanout, NULL, c);
}

void
vs_display_hide_frame(struct vs_display *d, uint32_t source, uint32_t scanout)
{
   if (d)
      inbox_push(d, source, scanout, NULL, NULL);
}

/* --- the thread -------------------------------------------------------- */

static int
on_stop(int fd, uint32_t mask, void *data)
{
   struct vs_display *d = data;
   d->running = false;
   return 0;
}

static void *
display_main(void *arg)
{
   struct vs_display *d = arg;
   os_thread_set_name("vs-display");
   while (d->running) {
      wl_display_flush_clients(d->display);
      if (wl_event_loop_dispatch(d->loop, -1) < 0 && errno != EINTR)
         break;
   }
   return NULL;
}

/* libwayland's own lines (a client's broken connection) at debug level. */
static void
wl_log_to_vs(const char *fmt, va_list ap)
{
   char line[512];
   vsnprintf(line, sizeof(line), fmt, ap);
   size_t n = strlen(line);
   if (n && line[n - 1] == '\n')
      line[n - 1] = '\0';
   vs_debug(0, "display: libwayland: %s", line);
}

/* Without $XDG_RUNTIME_DIR: a private directory of our own, set as
 * $XDG_RUNTIME_DIR because libwayland reads it there. False if unusable. */
static bool
make_runtime_dir(char *path, size_t size)
{
   snprintf(path, size, "/tmp/venus-server-runtime-%u", (unsigned)getuid());
   if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      vs_error(0, "display: XDG_RUNTIME_DIR is unset and %s cannot be made: %s", path, strerror(errno));
      return false;
   }
   struct stat st;
   if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
      vs_error(0, "display: XDG_RUNTIME_DIR is unset and %s is not a private directory of ours", path);
      return false;
   }
   setenv("XDG_RUNTIME_DIR", path, 1);
   vs_info(0, "display: XDG_RUNTIME_DIR was unset; using %s (set XDG_RUNTIME_DIR=%s for clients)", path, path);
   return true;
}

/* The HTTP thread's viewers, passed on to their output's encoder, and
 * their input to the seat (the desktop) or to the source they watch. An
 * output's stream is made and ended on the Wayland thread; the HTTP
 * thread reads it under outputs_lock. */
static struct vs_stream *
viewer_stream_locked(struct vs_display *d, uint32_t output)
{
   return output < VS_DISPLAY_MAX_OUTPUTS ? d->outputs[output].stream : NULL;
}

static void
viewer_wants_key(void *data, uint32_t output)
{
   struct vs_display *d = data;
   pthread_mutex_lock(&d->outputs_lock);
   struct vs_stream *stream = viewer_stream_locked(d, output);
   if (stream)
      vs_stream_request_key(stream);
   pthread_mutex_unlock(&d->outputs_lock);
}

static void
viewer_room(void *data, uint32_t output)
{
   struct vs_display *d = data;
   pthread_mutex_lock(&d->outputs_lock);
   struct vs_stream *stream = viewer_stream_locked(d, output);
   if (stream)
      vs_stream_kick(stream);
   pthread_mutex_unlock(&d->outputs_lock);
}

static void
viewer_sent(void *data, uint32_t output, uint64_t commit_ns)
{
   struct vs_display *d = data;
   pthread_mutex_lock(&d->outputs_lock);
   struct vs_stream *stream = viewer_stream_locked(d, output);
   if (stream)
      vs_stream_note_sent(stream, commit_ns);
   pthread_mutex_unlock(&d->outputs_lock);
}

static void
viewer_input(void *data, uint32_t output, const struct vs_input_event *event)
{
   struct vs_display *d = data;
   if (output == VS_DISPLAY_DESKTOP) {
      vs_seat_queue(d->seat, event);
      return;
   }
   /* To the Wayland thread, which knows the source's surface; a full
    * queue drops it, as the seat's does. */
   pthread_mutex_lock(&d->inbox_lock);
   if (d->source_inputs_len < SOURCE_INPUTS_MAX) {
      d->source_inputs[(d->source_inputs_head + d->source_inputs_len++) % SOURCE_INPUTS_MAX] =
         (struct source_input){ output, *event };
   }
   pthread_mutex_unlock(&d->inbox_lock);
   os_event_signal(&d->inbox_event);
}

static void
viewer_mode(void *data, uint32_t output, uint32_t width, uint32_t height)
{
   struct vs_display *d = data;
   /* The Wayland socket's windows are the clients' to size. */
   if (output == VS_DISPLAY_DESKTOP)
      return;
   /* The latest size of each output, to the Wayland thread. */
   pthread_mutex_lock(&d->inbox_lock);
   uint32_t i = 0;
   while (i < d->source_modes_len && d->source_modes[i].output != output)
      i++;
   if (i < VS_DISPLAY_MAX_OUTPUTS) {
      d->source_modes[i] = (struct source_mode){ output, width, height };
      if (i == d->source_modes_len)
         d->source_modes_len++;
   }
   pthread_mutex_unlock(&d->inbox_lock);
   os_event_signal(&d->inbox_event);
}

void
vs_display_hand_over(struct vs_display *d, struct vs_display_hand_over *hand_over)
{
   *hand_over = (struct vs_display_hand_over){ .http_fd = -1 };
   if (d->http)
      vs_http_hand_over(d->http, hand_over);
}

unsigned
vs_display_wayland_clients(struct vs_display *d)
{
   return atomic_load(&d->clients.count);
}

/* The encoder, its sinks and the seat; false (the reason logged) if one
 * cannot be made. */
static bool
start_parts(struct vs_display *d, const struct vs_display_options *o)
{
   if (o->record && !(d->record_path = strdup(o->record)))
      return false;
   d->record_append = o->record_append;
   d->vm_name = o->vm_name;
   const struct vs_seat_focus focus = { .shown = display_shown, .divert = vm_divert_input, .data = d };
   if (!(d->seat = vs_seat_start(d->display, &focus))) {
      vs_error(0, "display: cannot create the seat");
      return false;
   }
   if (o->http) {
      const struct vs_http_events events = {
         .want_key = viewer_wants_key, .room = viewer_room, .sent = viewer_sent, .input = viewer_input,
         .mode = viewer_mode, .data = d,
      };
      const struct vs_http_tls tls = { .cert = o->http_cert, .key = o->http_key, .plain_anywhere = o->http_plain };
      if (!(d->http = vs_http_start(o->http, o->input, o->http_token, o->url_in_log, &tls, &events, o->hand_over)) ||
          !vs_http_add_output(d->http, VS_DISPLAY_DESKTOP, d->outputs[VS_DISPLAY_DESKTOP].name,
                              "the newest window of the Wayland socket", 0, 0))
         return false;
   }
   if (o->vm_channel) {
      const struct vs_vmchannel_display hooks = { .commit = vm_commit, .destroy = vm_destroy, .data = d };
      if (!(d->vmchannel = vs_vmchannel_start(d->loop, o->vm_channel, o->resource_table, &hooks)))
         return false;
      vs_vmchannel_configure(d->vmchannel, o->vm_width ? o->vm_width : VM_WIDTH,
                             o->vm_height ? o->vm_height : VM_HEIGHT);
   }
   return true;
}

/* What start made, in reverse (the thread already joined, if it ran). */
static void
display_free(struct vs_display *d)
{
   vs_vmchannel_stop(d->vmchannel);
   struct surface *s, *tmp;
   wl_list_for_each_safe(s, tmp, &d->surfaces, link)
      if (s->vm_id)
         vm_destroy(d, s->vm_id);
      else if (s->source)
         source_destroy(d, s->source, s->scanout); /* and its output */
   output_end(d, &d->outputs[VS_DISPLAY_DESKTOP]);
   while (d->inbox) {
      struct inbox_entry *e = d->inbox;
      d->inbox = e->next;
      if (e->frame) {
         free(e->frame->owned);
         free(e->frame);
      }
      free(e->cursor);
      free(e);
   }
   if (d->inbox_source)
      wl_event_source_remove(d->inbox_source);
   if (d->inbox_event.read_fd >= 0)
      os_event_fini(&d->inbox_event);
   pthread_mutex_destroy(&d->inbox_lock);
   pthread_mutex_destroy(&d->outputs_lock);
   if (d->tick)
      wl_event_source_remove(d->tick);
   if (d->stop_source)
      wl_event_source_remove(d->stop_source);
   vs_http_destroy(d->http);
   vs_seat_stop(d->seat);
   free(d->record_path);
   if (d->display)
      wl_display_destroy(d->display);
   vs_xdg_shell_free(d->shell);
   if (d->stop.read_fd >= 0)
      os_event_fini(&d->stop);
   free(d->socket_name);
   free(d);
}

/* What vs_display_start says when a part fails: `d` is freed. */
static enum vs_display_start_result
start_failed(struct vs_display *d)
{
   display_free(d);
   return VS_DISPLAY_FAILED;
}

enum vs_display_start_result
vs_display_start(const struct vs_display_options *o, struct vs_display **display)
{
   *display = NULL;
   /* First: without an encoder there is nothing to show, and the server
    * still serves Vulkan. */
   char why[1024];
   struct vs_x264 x264;
   if (!vs_x264_load(&x264, why, sizeof(why))) {
      vs_warn(0, "display: unavailable (--display %s not served): no usable H.264 encoder library: %s; "
                 "serving Vulkan without it (Debian: apt-get install libx264-164 or libx264-165)",
              o->name, why);
      return VS_DISPLAY_UNAVAILABLE;
   }
   vs_info(0, "display: H.264 encoder %s (x264 build %d)", x264.library, x264.build);
   struct vs_display *d = calloc(1, sizeof(*d));
   if (!d) {
      vs_error(0, "display: out of memory");
      return VS_DISPLAY_FAILED;
   }
   d->x264 = x264;
   d->stop = (struct os_event){ -1, -1 };
   d->inbox_event = (struct os_event){ -1, -1 };
   pthread_mutex_init(&d->inbox_lock, NULL);
   pthread_mutex_init(&d->outputs_lock, NULL);
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++)
      d->outputs[i].display = d;
   d->outputs[VS_DISPLAY_DESKTOP].used = true;
   snprintf(d->outputs[VS_DISPLAY_DESKTOP].name, sizeof(d->outputs[0].name), "desktop");
   d->fps = o->fps ? o->fps : 60;
   wl_list_init(&d->surfaces);
   wl_list_init(&d->waiting_callbacks);
   d->shared_registry = o->shared_registry;
   char private_dir[64];
   const char *runtime_dir = o->runtime_dir ? o->runtime_dir : private_dir;
   if (!o->runtime_dir && !make_runtime_dir(private_dir, sizeof(private_dir)))
      return start_failed(d);
   wl_log_set_handler_server(wl_log_to_vs);
   d->display = wl_display_create();
   if (!d->display)
      return start_failed(d);
   if (wl_display_add_socket(d->display, o->name) != 0) {
      vs_error(0, "display: cannot create the Wayland socket %s/%s: %s", runtime_dir, o->name,
               strerror(errno));
      return start_failed(d);
   }
   d->loop = wl_display_get_event_loop(d->display);
   vs_display_limit_clients(d->display, &d->clients);
   d->compositor = (struct vs_compositor_config){
      .surface_size = sizeof(struct surface), .created = surface_created, .commit = surface_commit,
      .destroyed = surface_destroyed, .data = d,
   };
   d->dmabuf = (struct vs_dmabuf_config){
      .formats = formats, .format_count = sizeof(formats) / sizeof(formats[0]),
      .format_names = "XRGB/ARGB/XBGR/ABGR8888", .buffer_size = sizeof(struct vs_display_buffer),
      .import = buffer_import, .refused = buffer_refused, .destroyed = buffer_destroyed, .data = d,
   };
   if (!vs_compositor_create(d->display, &d->compositor) ||
       !(d->shell = vs_xdg_shell_create(d->display, &(struct vs_xdg_shell_config){ 0 })) ||
       !vs_dmabuf_create(d->display, &d->dmabuf) ||
       wl_display_init_shm(d->display) != 0 || !wl_display_add_shm_format(d->display, VS_FMT_XBGR8888) ||
       !wl_display_add_shm_format(d->display, VS_FMT_ABGR8888)) {
      vs_error(0, "display: cannot create the Wayland globals");
      return start_failed(d);
   }
   if (!start_parts(d, o))
      return start_failed(d);
   if (os_event_init(&d->stop) != 0 || os_event_init(&d->inbox_event) != 0) {
      vs_error(0, "display: cannot make its stop event");
      return start_failed(d);
   }
   d->stop_source = wl_event_loop_add_fd(d->loop, d->stop.read_fd, WL_EVENT_READABLE, on_stop, d);
   d->inbox_source = wl_event_loop_add_fd(d->loop, d->inbox_event.read_fd, WL_EVENT_READABLE, on_inbox, d);
   d->tick = wl_event_loop_add_timer(d->loop, on_tick, d);
   wl_event_source_timer_update(d->tick, (int)(1000 / d->fps));
   d->socket_name = strdup(o->name);
   d->running = true;
   if (pthread_create(&d->thread, NULL, display_main, d) != 0) {
      vs_error(0, "display: cannot start its thread");
      return start_failed(d);
   }
   /* Tests wait for this line. */
   printf("venus-server: display %s/%s\n", runtime_dir, o->name);
   fflush(stdout);
   *display = d;
   return VS_DISPLAY_STARTED;
}

void
vs_display_stop(struct vs_display *d)
{
   if (!d)
      return;
   os_event_signal(&d->stop);
   pthread_join(d->thread, NULL);
   /* Disconnect clients (their buffers go), then drain the encoder. */
   wl_display_destroy_clients(d->display);
   if (d->http)
      vs_http_stop(d->http);
   vs_seat_stop(d->seat);
   d->seat = NULL;
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++) {
      if (d->outputs[i].stream) {
         vs_stream_stop(d->outputs[i].stream); /* no sink is used after this */
         on_frames_done(-1, 0, &d->outputs[i]);
      }
   }
   double span = (double)(d->last_shown_ns - d->first_shown_ns) / 1e9;
   vs_info(0, "display: %llu commits, %llu shown (%llu from server memory, %llu foreign dma-buf, %llu wl_shm), "
              "%llu buffers refused; presented %.1f fps",
           (unsigned long long)d->commits, (unsigned long long)d->shown_commits,
           (unsigned long long)d->server_memory_frames, (unsigned long long)d->foreign_frames,
           (unsigned long long)d->shm_frames, (unsigned long long)d->refused,
           span > 0 ? (double)(d->shown_commits - 1) / span : 0.0);
   if (d->source_frames)
      vs_info(0, "display: %llu frames of VM devices' scanouts shown", (unsigned long long)d->source_frames);
   if (d->vmchannel)
      vs_info(0, "display: vm channel: %llu commits, %llu shown from server memory, %llu refused, %llu of memory gone",
              (unsigned long long)d->vm_commits, (unsigned long long)d->vm_shown, (unsigned long long)d->vm_refused,
              (unsigned long long)d->vm_gone);
   /* The loop frees only the sources removed from it (display_free). */
   display_free(d);
}

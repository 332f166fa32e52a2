/* SPDX-License-Identifier: MIT */
/* The guest compositor's Wayland side: wl_compositor v4, xdg_wm_base v1
 * (toplevels and popups, configured at the host's size), one wl_output at
 * that size, and the seat of src/compositor/ (seat.c, driven by the
 * channel's input); surfaces and their requests are src/compositor/'s
 * (surface.c), their commits this file's. wl_shm is offered (toolkits bind
 * it for cursors) but every wl_shm buffer is refused: its pixels are in
 * guest memory, which the host's display cannot read.
 *
 * A commit that brings a buffer is forwarded once the buffer's implicit
 * write fence has signalled (the dma-buf polls readable): free for Mesa's
 * default present, which has finished the frame before it commits; with
 * venus_implicit_fencing=true the client commits straight after
 * submitting, and the wait makes the host see only finished frames
 * whatever path the submission took. Commits of one surface stay in order.
 * The host is sent ATTACH whenever the surface's buffer changes, then
 * COMMIT; it answers RELEASE (-> wl_buffer.release once no attachment
 * holds the buffer) and FRAME (-> the frame callbacks of that commit and
 * older). Callbacks the host will not answer (no buffer, no host) are
 * answered locally at LOCAL_HZ. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wayland-server-protocol.h>

#include "channel.h"
#include "present.h"
#include "base/log.h"
#include "compositor/seat.h"
#include "compositor/xdg_shell.h"

#define LOCAL_HZ 60
#define DEFAULT_WIDTH 1280
#define DEFAULT_HEIGHT 800

/* A commit that waits for its buffer's fence. */
struct held_commit {
   struct wl_list link;
   struct vgp_buffer *buffer;           /* referenced */
   uint32_t serial;
};

struct vgp_surface {
   struct vs_surface base;
   struct vgp *p;
   struct wl_list link;
   uint32_t id;                         /* the channel's surface id */
   bool has_buffer;                     /* mapped: its last commit brought a buffer */
   uint64_t map_seq;
   uint32_t serial;                     /* commits forwarded or held */
   struct wl_list sent_callbacks;       /* waiting for FRAME; user data: their commit's serial */
   struct wl_list held;                 /* struct held_commit, oldest first */
   struct wl_event_source *fence_source;/* on the oldest held commit's dma-buf */
   struct vgp_buffer *host_buffer;      /* the host's ATTACH of this session, not referenced */
   bool host_known;                     /* the host has heard of it this session */
   struct wl_array host_holds;          /* struct vgp_buffer *, referenced, one per ATTACH */
};

static uint64_t map_counter;

static void
destroy_resource(struct wl_client *client, struct wl_resource *resource)
{
   wl_resource_destroy(resource);
}

static uint32_t
now_ms(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* --- frame callbacks ------------------------------------------------- */

static void
answer_callbacks(struct wl_list *list, bool all, uint32_t serial, uint32_t ms)
{
   struct wl_resource *cb, *tmp;
   wl_resource_for_each_safe(cb, tmp, list) {
      uint32_t cb_serial = (uint32_t)(uintptr_t)wl_resource_get_user_data(cb);
      if (!all && (int32_t)(cb_serial - serial) > 0)
         continue;
      wl_callback_send_done(cb, ms);
      wl_resource_destroy(cb);
   }
}

static void
to_local(struct vgp *p, struct wl_list *callbacks)
{
   if (wl_list_empty(callbacks))
      return;
   wl_list_insert_list(p->local_callbacks.prev, callbacks);
   wl_list_init(callbacks);
   /* Armed once per tick: more callbacks must not push the tick back. */
   if (!p->local_tick_armed)
      wl_event_source_timer_update(p->local_tick, 1000 / LOCAL_HZ);
   p->local_tick_armed = true;
}

static int
on_local_tick(void *data)
{
   struct vgp *p = data;
   p->local_tick_armed = false;
   answer_callbacks(&p->local_callbacks, true, 0, now_ms());
   return 0;
}

/* --- the host's hold on buffers --------------------------------------- */

static void
host_hold(struct vgp_surface *s, struct vgp_buffer *b)
{
   struct vgp_buffer **slot = wl_array_add(&s->host_holds, sizeof(*slot));
   if (!slot)
      return; /* out of memory: the buffer is released at once instead */
   *slot = b;
   b->host_holds++;
   vgp_buffer_ref(b);
}

static void
host_unhold_at(struct vgp_surface *s, size_t i)
{
   struct vgp_buffer **holds = s->host_holds.data;
   size_t n = s->host_holds.size / sizeof(*holds);
   struct vgp_buffer *b = holds[i];
   memmove(&holds[i], &holds[i + 1], (n - i - 1) * sizeof(*holds));
   s->host_holds.size -= sizeof(*holds);
   if (--b->host_holds == 0 && b->base.resource)
      wl_buffer_send_release(b->base.resource);
   s->p->releases++;
   vgp_buffer_unref(b);
}

/* The host's session ended, or the surface left it: whatever it held is
 * free again, and its frame callbacks are answered here. */
static void
forget_host(struct vgp_surface *s)
{
   while (s->host_holds.size)
      host_unhold_at(s, 0);
   s->host_buffer = NULL;
   s->host_known = false;
   to_local(s->p, &s->sent_callbacks);
}

/* --- forwarding commits ----------------------------------------------- */

static void
forward(struct vgp_surface *s, struct vgp_buffer *b, uint32_t serial)
{
   struct vgp *p = s->p;
   if (!vgp_channel_ready(p->channel)) {
      if (b->base.resource && !b->host_holds)
         wl_buffer_send_release(b->base.resource);
      to_local(p, &s->sent_callbacks);
      return;
   }
   if (s->host_buffer != b) {
      const struct vs_vmch_attach attach = {
         .header = { .type = VS_VMCH_ATTACH, .size = sizeof(attach) },
         .surface = s->id, .res_id = b->res_id, .offset = b->offset, .stride = b->stride,
         .width = b->width, .height = b->height, .drm_fourcc = b->fourcc,
      };
      if (!vgp_channel_send(p->channel, &attach)) {
         /* the session ended: forget_host ran */
         if (b->base.resource && !b->host_holds)
            wl_buffer_send_release(b->base.resource);
         return;
      }
      s->host_buffer = b;
      s->host_known = true;
      host_hold(s, b);
   }
   const struct vs_vmch_commit commit = {
      .header = { .type = VS_VMCH_COMMIT, .size = sizeof(commit) }, .surface = s->id, .serial = serial,
   };
   if (vgp_channel_send(p->channel, &commit))
      p->forwarded++;
}

static bool
fence_signalled(const struct vgp_buffer *b)
{
   struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
   /* An fd that cannot be polled has no fence to wait for. */
   return poll(&pfd, 1, 0) != 0;
}

static int on_fence(int fd, uint32_t mask, void *data);

/* Forwards the held commits whose fences have signalled, oldest first;
 * waits on the first that has not. */
static void
drain_held(struct vgp_surface *s)
{
   if (s->fence_source) {
      wl_event_source_remove(s->fence_source);
      s->fence_source = NULL;
   }
   while (!wl_list_empty(&s->held)) {
      struct held_commit *h = wl_container_of(s->held.next, h, link);
      if (!fence_signalled(h->buffer)) {
         s->p->fence_waits++;
         s->fence_source = wl_event_loop_add_fd(s->p->loop, h->buffer->fd, WL_EVENT_READABLE, on_fence, s);
         if (s->fence_source)
            return;
         /* cannot wait: forward it as it is, the host's own fences still apply */
      }
      wl_list_remove(&h->link);
      forward(s, h->buffer, h->serial);
      vgp_buffer_unref(h->buffer);
      free(h);
   }
}

static int
on_fence(int fd, uint32_t mask, void *data)
{
   struct vgp_surface *s = data;
   /* Forward the head even on HUP/ERR: nothing better will come of waiting. */
   struct held_commit *h = wl_container_of(s->held.next, h, link);
   wl_list_remove(&h->link);
   wl_event_source_remove(s->fence_source);
   s->fence_source = NULL;
   forward(s, h->buffer, h->serial);
   vgp_buffer_unref(h->buffer);
   free(h);
   drain_held(s);
   return 0;
}

static void
drop_held(struct vgp_surface *s)
{
   if (s->fence_source)
      wl_event_source_remove(s->fence_source);
   s->fence_source = NULL;
   struct held_commit *h, *tmp;
   wl_list_for_each_safe(h, tmp, &s->held, link) {
      wl_list_remove(&h->link);
      if (h->buffer->base.resource && !h->buffer->host_holds)
         wl_buffer_send_release(h->buffer->base.resource);
      vgp_buffer_unref(h->buffer);
      free(h);
   }
}

/* --- surfaces ---------------------------------------------------------- */

static struct vgp_surface *
surface_by_id(struct vgp *p, uint32_t id)
{
   struct vgp_surface *s;
   wl_list_for_each(s, &p->surfaces, link)
      if (s->id == id)
         return s;
   return NULL;
}

/* The seat's focus: the surface the host's input names, else the newest
 * mapped one (what the host shows). */
static struct wl_resource *
focus_surface(void *data, uint32_t *width, uint32_t *height)
{
   struct vgp *p = data;
   struct vgp_surface *s = surface_by_id(p, p->input_surface), *it;
   if (!s || !s->has_buffer) {
      s = NULL;
      wl_list_for_each(it, &p->surfaces, link)
         if (it->has_buffer && (!s || it->map_seq > s->map_seq))
            s = it;
   }
   if (width)
      *width = s && s->host_buffer ? s->host_buffer->width : 0;
   if (height)
      *height = s && s->host_buffer ? s->host_buffer->height : 0;
   return s ? s->base.resource : NULL;
}

static void
unmap(struct vgp_surface *s)
{
   drop_held(s);
   if (s->host_known && vgp_channel_ready(s->p->channel)) {
      const struct vs_vmch_surface destroy = {
         .header = { .type = VS_VMCH_DESTROY, .size = sizeof(destroy) }, .surface = s->id,
      };
      vgp_channel_send(s->p->channel, &destroy);
   }
   /* The host forgets the surface with DESTROY and sends no RELEASE for it. */
   forget_host(s);
   s->has_buffer = false;
}

static void
surface_commit(void *data, struct vs_surface *surface, bool attached, struct wl_resource *buffer)
{
   struct vgp_surface *s = wl_container_of(surface, s, base);
   struct vgp *p = data;
   p->commits++;
   if (attached && !buffer) {
      unmap(s);
   } else if (buffer) {
      struct vgp_buffer *b = vgp_buffer_from_resource(buffer);
      if (!b) {
         /* Only wl_shm buffers can get here, and wl_shm refuses to make any. */
         wl_resource_post_error(s->base.resource, WL_SURFACE_ERROR_INVALID_SIZE, "not a zwp_linux_dmabuf_v1 buffer");
         return;
      }
      if (!s->has_buffer) {
         s->has_buffer = true;
         s->map_seq = ++map_counter;
      }
      struct held_commit *h = calloc(1, sizeof(*h));
      if (!h) {
         wl_client_post_no_memory(wl_resource_get_client(s->base.resource));
         return;
      }
      h->buffer = b;
      h->serial = ++s->serial;
      vgp_buffer_ref(b);
      struct wl_resource *cb;
      wl_resource_for_each(cb, &s->base.frame_callbacks)
         wl_resource_set_user_data(cb, (void *)(uintptr_t)h->serial);
      wl_list_insert_list(s->sent_callbacks.prev, &s->base.frame_callbacks);
      wl_list_init(&s->base.frame_callbacks);
      wl_list_insert(s->held.prev, &h->link);
      if (!s->fence_source)
         drain_held(s);
      return;
   }
   /* Nothing new for the host: answered here (the host paces only what it
    * is sent). */
   to_local(p, &s->base.frame_callbacks);
}

static void
surface_destroyed(void *data, struct vs_surface *surface)
{
   struct vgp_surface *s = wl_container_of(surface, s, base);
   unmap(s);
   wl_list_remove(&s->link);
   wl_array_release(&s->host_holds);
}

static uint32_t
new_surface_id(struct vgp *p)
{
   do
      p->next_surface_id++;
   while (p->next_surface_id == 0 || surface_by_id(p, p->next_surface_id));
   return p->next_surface_id;
}

static bool
surface_created(void *data, struct vs_surface *surface, struct wl_resource *compositor)
{
   struct vgp *p = data;
   if (wl_list_length(&p->surfaces) >= VS_VMCH_MAX_SURFACES) {
      vs_error(0, "dropping client: more than %d surfaces (the channel's limit)", VS_VMCH_MAX_SURFACES);
      wl_resource_post_error(compositor, WL_DISPLAY_ERROR_NO_MEMORY, "more than %d surfaces", VS_VMCH_MAX_SURFACES);
      return false;
   }
   struct vgp_surface *s = wl_container_of(surface, s, base);
   s->p = p;
   s->id = new_surface_id(p);
   wl_list_init(&s->sent_callbacks);
   wl_list_init(&s->held);
   wl_array_init(&s->host_holds);
   wl_list_insert(&p->surfaces, &s->link);
   return true;
}

/* --- xdg-shell: toplevels take the host's size (xdg_shell.c) ------------ */

static void
host_size(void *data, uint32_t *width, uint32_t *height)
{
   const struct vgp *p = data;
   *width = p->width;
   *height = p->height;
}

/* --- wl_output: the host's view, at its size --------------------------- */

static void
output_send_mode(struct vgp *p, struct wl_resource *r)
{
   wl_output_send_mode(r, WL_OUTPUT_MODE_CURRENT | WL_OUTPUT_MODE_PREFERRED, (int32_t)p->width, (int32_t)p->height,
                       60000);
   if (wl_resource_get_version(r) >= WL_OUTPUT_DONE_SINCE_VERSION)
      wl_output_send_done(r);
}

/* Outputs, kept in a list by their links. */
static void
output_destroyed(struct wl_resource *resource)
{
   wl_list_remove(wl_resource_get_link(resource));
}

static const struct wl_output_interface output_impl = { .release = destroy_resource };

static void
bind_output(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct vgp *p = data;
   struct wl_resource *r = wl_resource_create(client, &wl_output_interface, (int)version, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &output_impl, p, output_destroyed);
   wl_list_insert(&p->outputs, wl_resource_get_link(r));
   wl_output_send_geometry(r, 0, 0, 0, 0, WL_OUTPUT_SUBPIXEL_UNKNOWN, "venus-server", "vm display",
                           WL_OUTPUT_TRANSFORM_NORMAL);
   if (version >= WL_OUTPUT_SCALE_SINCE_VERSION)
      wl_output_send_scale(r, 1);
   output_send_mode(p, r);
}

/* --- wl_shm: offered, every buffer refused ------------------------------ */

static void
pool_create_buffer(struct wl_client *client, struct wl_resource *resource, uint32_t id, int32_t offset,
                   int32_t width, int32_t height, int32_t stride, uint32_t format)
{
   vs_error(0, "dropping client: wl_shm buffer refused: its pixels are in guest memory, which the host's display "
               "cannot read (present through Vulkan: zwp_linux_dmabuf_v1)");
   wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
                          "wl_shm buffers are not shown by vs-guest-present: their pixels are in guest memory, "
                          "which the host's display cannot read; present through Vulkan (zwp_linux_dmabuf_v1)");
}

static void
pool_resize(struct wl_client *client, struct wl_resource *resource, int32_t size)
{
}

static const struct wl_shm_pool_interface pool_impl = {
   .create_buffer = pool_create_buffer,
   .destroy = destroy_resource,
   .resize = pool_resize,
};

static void
shm_create_pool(struct wl_client *client, struct wl_resource *resource, uint32_t id, int32_t fd, int32_t size)
{
   close(fd); /* never mapped: no buffer is ever made of it */
   struct wl_resource *r = wl_resource_create(client, &wl_shm_pool_interface, wl_resource_get_version(resource), id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &pool_impl, NULL, NULL);
}

static const struct wl_shm_interface shm_impl = { .create_pool = shm_create_pool };

static void
bind_shm(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
   struct wl_resource *r = wl_resource_create(client, &wl_shm_interface, 1, id);
   if (!r) {
      wl_client_post_no_memory(client);
      return;
   }
   wl_resource_set_implementation(r, &shm_impl, data, NULL);
   wl_shm_send_format(r, WL_SHM_FORMAT_ARGB8888);
   wl_shm_send_format(r, WL_SHM_FORMAT_XRGB8888);
}

/* --- the channel -------------------------------------------------------- */

void
vgp_on_channel_ready(void *data, bool ready)
{
   struct vgp *p = data;
   struct vgp_surface *s;
   /* A new session knows no surface; an ended one reads nothing more. */
   wl_list_for_each(s, &p->surfaces, link)
      forget_host(s);
}

static void
configure_all(struct vgp *p, uint32_t width, uint32_t height)
{
   if (!width || !height || width > 16384 || height > 16384 || (width == p->width && height == p->height))
      return;
   p->width = width;
   p->height = height;
   vs_xdg_shell_configure_all(p->shell);
   struct wl_resource *r;
   wl_resource_for_each(r, &p->outputs)
      output_send_mode(p, r);
}

static void
release(struct vgp *p, uint32_t surface, uint32_t res_id)
{
   struct vgp_surface *s = surface_by_id(p, surface);
   if (!s)
      return; /* destroyed since */
   struct vgp_buffer **holds = s->host_holds.data;
   size_t n = s->host_holds.size / sizeof(*holds), found = n, of_current = 0;
   for (size_t i = 0; i < n; i++) {
      if (found == n && holds[i]->res_id == res_id)
         found = i;
      of_current += holds[i] == s->host_buffer;
   }
   if (found == n)
      return; /* not ours to release (a stale or confused host) */
   /* The host let go of what it shows: the next commit attaches again. */
   if (holds[found] == s->host_buffer && of_current == 1)
      s->host_buffer = NULL;
   host_unhold_at(s, found);
}

static void
input(struct vgp *p, uint32_t type, uint32_t surface, const struct vs_input_event *e)
{
   p->input_surface = surface;
   struct vs_input_event ev = *e;
   ev.type = type;
   vs_seat_queue(p->seat, &ev);
}

void
vgp_on_host_message(void *data, const struct vs_vmch_header *m)
{
   struct vgp *p = data;
   switch (m->type) {
   case VS_VMCH_CONFIGURE: {
      const struct vs_vmch_configure *c = (const void *)m;
      configure_all(p, c->width, c->height);
      break;
   }
   case VS_VMCH_RELEASE: {
      const struct vs_vmch_release *r = (const void *)m;
      release(p, r->surface, r->res_id);
      break;
   }
   case VS_VMCH_FRAME: {
      const struct vs_vmch_frame *f = (const void *)m;
      struct vgp_surface *s = surface_by_id(p, f->surface);
      if (s) {
         p->frames++;
         answer_callbacks(&s->sent_callbacks, false, f->serial, f->time_ms);
      }
      break;
   }
   case VS_VMCH_POINTER_MOTION: {
      const struct vs_vmch_pointer_motion *pm = (const void *)m;
      input(p, VS_INPUT_MOTION, pm->surface, &(struct vs_input_event){ .time_ms = pm->time_ms, .x = pm->x, .y = pm->y });
      break;
   }
   case VS_VMCH_POINTER_BUTTON:
   case VS_VMCH_KEY: {
      const struct vs_vmch_input *in = (const void *)m;
      input(p, m->type == VS_VMCH_KEY ? VS_INPUT_KEY : VS_INPUT_BUTTON, in->surface,
            &(struct vs_input_event){ .time_ms = in->time_ms, .code = in->code, .state = in->state ? 1 : 0 });
      break;
   }
   case VS_VMCH_POINTER_AXIS: {
      const struct vs_vmch_pointer_axis *a = (const void *)m;
      if (a->axis <= 1)
         input(p, VS_INPUT_AXIS, a->surface, &(struct vs_input_event){ .time_ms = a->time_ms, .code = a->axis, .x = a->value });
      break;
   }
   default:
      break;
   }
}

/* --- set-up -------------------------------------------------------------- */

bool
vgp_compositor_init(struct vgp *p)
{
   wl_list_init(&p->surfaces);
   wl_list_init(&p->outputs);
   wl_list_init(&p->local_callbacks);
   p->width = DEFAULT_WIDTH;
   p->height = DEFAULT_HEIGHT;
   p->local_tick = wl_event_loop_add_timer(p->loop, on_local_tick, p);
   const struct vs_seat_focus focus = { .shown = focus_surface, .data = p };
   p->compositor = (struct vs_compositor_config){
      .surface_size = sizeof(struct vgp_surface), .created = surface_created, .commit = surface_commit,
      .destroyed = surface_destroyed, .data = p,
   };
   return p->local_tick && vs_compositor_create(p->display, &p->compositor) &&
          (p->shell = vs_xdg_shell_create(p->display, &(struct vs_xdg_shell_config){ .size = host_size, .data = p })) &&
          wl_global_create(p->display, &wl_output_interface, 3, p, bind_output) &&
          wl_global_create(p->display, &wl_shm_interface, 1, p, bind_shm) && (p->seat = vs_seat_start(p->display, &focus));
}

void
vgp_compositor_fini(struct vgp *p)
{
   vs_seat_stop(p->seat);
   p->seat = NULL;
   if (p->local_tick)
      wl_event_source_remove(p->local_tick);
   p->local_tick = NULL;
}

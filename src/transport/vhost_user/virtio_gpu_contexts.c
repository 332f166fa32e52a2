/* SPDX-License-Identifier: MIT */
/* Venus contexts, host blobs, their mappings and fences of one virtio-gpu
 * device (virtio_gpu_contexts.h). Every id, size and offset from the guest
 * is checked here; the command streams themselves are checked by the
 * context they go to, which ends (with its own line) on a bad one: the
 * guest's later requests of that context are refused, the device goes on. */
#include "transport/vhost_user/virtio_gpu_contexts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vhost_user/vhost_user_device.h"
#include "transport/vmm/render_client.h"
#include "transport/vhost_user/virtio_gpu_protocol.h"
#include "transport/vhost_user/virtqueue.h"
#include "wire/capset.h"

/* Contexts one device may hold at once (Mesa's guest makes one per
 * VkInstance). */
#define MAX_CONTEXTS 64u
/* Lines above debug level the device's Venus contexts may log about
 * themselves (why one was dropped): a guest that makes and breaks
 * contexts in a loop does not flood the log. */
#define MAX_CONTEXT_LINES 32u

/* A guest kernel makes a context of the default capset (0) for a DRM
 * client that never chose one (its fbdev console, for one) and attaches
 * its buffers to it: such a context exists but takes no submissions. */
struct gpu_context {
   uint32_t id; /* 0: a free slot */
   /* A Venus context in this process or in a worker of its own (one is
    * set); neither: a context of the default capset. */
   struct vs_context *ctx;
   struct render_client_context *apart;
   char name[64];
   uint32_t fences_waiting; /* deferred requests not yet retired (under lock) */
};

struct host_blob {
   uint32_t res_id; /* 0: a free slot */
   uint32_t ctx_id;
   int fd;
   enum vs_fd_type fd_type;
   uint32_t flags;
   uint32_t map_info;
   uint64_t size;
   uint64_t serial;
   bool mapped;
   uint64_t map_offset, map_len;
   /* The other contexts (by slot) that attached it: each holds it as an
    * imported resource under the same id. */
   uint64_t importers;
};

/* A fenced request waiting for its ring, then for the device's thread. */
struct deferred {
   struct vs_gpu_contexts *contexts;
   struct gpu_context *context; /* valid until it retires: a context's end retires its fences */
   uint16_t head;
   uint32_t written;
   struct deferred *next;
};

struct vs_gpu_contexts {
   uint32_t device_id;
   const struct vs_context_options *options; /* NULL: no 3D; else &context_options */
   struct vs_context_options context_options; /* the caller's, with lines_left */
   struct render_client *apart; /* non-NULL: each Venus context in a worker */
   _Atomic uint32_t lines_left;
   uint64_t shmem_size;
   struct gpu_context contexts[MAX_CONTEXTS];
   struct host_blob *blobs;
   uint32_t max_blobs;
   uint64_t blobs_made;
   struct os_event wake;
   pthread_mutex_t lock;
   struct deferred *retired, **retired_tail; /* under lock */
};

/* Says why in `refusal` and returns `status`. */
__attribute__((format(printf, 3, 4))) static uint32_t
refuse(struct vs_gpu_refusal *refusal, uint32_t status, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(refusal->why, sizeof(refusal->why), fmt, ap);
   va_end(ap);
   return status;
}

/* A Venus context's calls, wherever it runs. */
static bool
is_venus(const struct gpu_context *gc)
{
   return gc->ctx || gc->apart;
}

static bool
venus_running(const struct gpu_context *gc)
{
   return gc->apart ? render_client_context_running(gc->apart) : vs_context_running(gc->ctx);
}

static void
venus_destroy(struct gpu_context *gc)
{
   if (gc->apart)
      render_client_context_destroy(gc->apart);
   else if (gc->ctx)
      vs_context_destroy(gc->ctx);
}

static bool
venus_submit(struct gpu_context *gc, const void *cmds, size_t size)
{
   if (gc->apart)
      return render_client_context_submit(gc->apart, cmds, size);
   return vs_context_submit(gc->ctx, cmds, size) && vs_context_check_memory(gc->ctx);
}

static bool
venus_create_blob(struct gpu_context *gc, const struct vs_gpu_resource_create_blob *cmd, struct vs_blob *blob)
{
   if (gc->apart)
      return render_client_context_create_blob(gc->apart, cmd->resource_id, cmd->blob_flags, cmd->size,
                                               cmd->blob_id, blob);
   return vs_context_create_blob(gc->ctx, cmd->resource_id, VS_BLOB_TYPE_HOST3D, cmd->blob_flags, cmd->size,
                                 cmd->blob_id, blob);
}

static bool
venus_import(struct gpu_context *gc, uint32_t res_id, int fd, enum vs_fd_type fd_type, uint64_t size)
{
   if (gc->apart)
      return render_client_context_import(gc->apart, res_id, fd, fd_type, size);
   return vs_context_import_resource(gc->ctx, res_id, fd, fd_type, size);
}

static void
venus_destroy_resource(struct gpu_context *gc, uint32_t res_id)
{
   if (gc->apart)
      render_client_context_destroy_resource(gc->apart, res_id);
   else if (gc->ctx)
      vs_context_destroy_resource(gc->ctx, res_id);
}

static bool
venus_submit_fence(struct gpu_context *gc, uint32_t ring_idx, vs_retire_fn retire, void *data)
{
   if (gc->apart)
      return render_client_context_submit_fence(gc->apart, ring_idx, retire, data);
   return vs_context_submit_fence(gc->ctx, ring_idx, retire, data);
}

struct vs_gpu_contexts *
vs_gpu_contexts_create(uint32_t device_id, const struct vs_context_options *options, struct render_client *apart,
                       uint32_t max_blobs, uint64_t shmem_size)
{
   struct vs_gpu_contexts *c = calloc(1, sizeof(*c));
   if (!c) {
      render_client_destroy(apart);
      return NULL;
   }
   c->blobs = calloc(max_blobs ? max_blobs : 1, sizeof(*c->blobs));
   if (!c->blobs || os_event_init(&c->wake) != 0) {
      render_client_destroy(apart);
      free(c->blobs);
      free(c);
      return NULL;
   }
   c->apart = apart;
   c->device_id = device_id;
   if (options) {
      c->context_options = *options;
      c->context_options.lines_left = &c->lines_left;
      c->options = &c->context_options;
   }
   atomic_init(&c->lines_left, MAX_CONTEXT_LINES);
   c->max_blobs = max_blobs;
   c->shmem_size = shmem_size;
   c->retired_tail = &c->retired;
   pthread_mutex_init(&c->lock, NULL);
   return c;
}

static void
close_blob(struct host_blob *blob)
{
   if (blob->fd >= 0)
      close(blob->fd);
   *blob = (struct host_blob){ .fd = -1 };
}

void
vs_gpu_contexts_destroy(struct vs_gpu_contexts *c)
{
   if (!c)
      return;
   /* Contexts first: each retires its pending fences and runs no callback
    * after its destroy returns. */
   for (unsigned i = 0; i < MAX_CONTEXTS; i++) {
      venus_destroy(&c->contexts[i]);
   }
   render_client_destroy(c->apart);
   for (uint32_t i = 0; i < c->max_blobs; i++) {
      if (c->blobs[i].res_id)
         close_blob(&c->blobs[i]);
   }
   while (c->retired) {
      struct deferred *d = c->retired;
      c->retired = d->next;
      free(d);
   }
   pthread_mutex_destroy(&c->lock);
   os_event_fini(&c->wake);
   free(c->blobs);
   free(c);
}

int
vs_gpu_contexts_wake_fd(const struct vs_gpu_contexts *c)
{
   return c->wake.read_fd;
}

static struct gpu_context *
find_context(struct vs_gpu_contexts *c, uint32_t ctx_id)
{
   if (ctx_id == 0)
      return NULL;
   for (unsigned i = 0; i < MAX_CONTEXTS; i++) {
      if (c->contexts[i].id == ctx_id)
         return &c->contexts[i];
   }
   return NULL;
}

/* A context that takes commands: it exists and has not ended. */
static struct gpu_context *
running_context(struct vs_gpu_contexts *c, uint32_t ctx_id, const char *what, uint32_t *status,
                struct vs_gpu_refusal *refusal)
{
   struct gpu_context *gc = find_context(c, ctx_id);
   if (!gc) {
      *status = refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "%s in context %u, which does not exist", what,
                       ctx_id);
      return NULL;
   }
   if (!is_venus(gc)) {
      *status = refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "%s in context %u, which has no capset (only "
                       "Venus contexts take it)", what, ctx_id);
      return NULL;
   }
   if (!venus_running(gc)) {
      *status = refuse(refusal, VS_GPU_RESP_ERR_UNSPEC, "%s in context %u (\"%s\"), which ended", what, ctx_id,
                                                gc->name);
      return NULL;
   }
   return gc;
}

static struct host_blob *
find_blob(const struct vs_gpu_contexts *c, uint32_t res_id)
{
   if (res_id == 0)
      return NULL;
   for (uint32_t i = 0; i < c->max_blobs; i++) {
      if (c->blobs[i].res_id == res_id)
         return &c->blobs[i];
   }
   return NULL;
}

uint32_t
vs_gpu_contexts_create_context(struct vs_gpu_contexts *c, const struct vs_gpu_ctx_create *cmd,
                               struct vs_gpu_refusal *refusal)
{
   const uint32_t ctx_id = cmd->hdr.ctx_id;
   const uint32_t capset = cmd->context_init & VS_GPU_CONTEXT_INIT_CAPSET_ID_MASK;
   if (!c->options)
      return refuse(refusal, VS_GPU_RESP_ERR_UNSPEC, "context %u: the device has no 3D", ctx_id);
   if (ctx_id == 0 || find_context(c, ctx_id))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context %u: %s", ctx_id, ctx_id ? "it exists already" : "an invalid id");
   if ((capset != VS_CAPSET_VENUS && capset != 0) || (cmd->context_init & ~VS_GPU_CONTEXT_INIT_CAPSET_ID_MASK))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "context %u with context_init 0x%x (capset %u: the default, 0, or Venus's, %u)", ctx_id,
                    cmd->context_init, capset, VS_CAPSET_VENUS);
   struct gpu_context *slot = NULL;
   for (unsigned i = 0; i < MAX_CONTEXTS && !slot; i++) {
      if (!c->contexts[i].id)
         slot = &c->contexts[i];
   }
   if (!slot)
      return refuse(refusal, VS_GPU_RESP_ERR_OUT_OF_MEMORY, "context %u: the device holds %u contexts, the most",
                                                    ctx_id, MAX_CONTEXTS);
   /* The guest's name, bounded by its length and the buffer, printable. */
   const uint32_t nlen = cmd->nlen < sizeof(cmd->debug_name) ? cmd->nlen : (uint32_t)sizeof(cmd->debug_name) - 1;
   char name[sizeof(slot->name)];
   for (uint32_t i = 0; i < nlen; i++)
      name[i] = cmd->debug_name[i] >= 0x20 && cmd->debug_name[i] < 0x7f ? cmd->debug_name[i] : '?';
   name[nlen] = '\0';
   struct vs_context *ctx = capset && !c->apart ? vs_context_create(ctx_id, name, c->options) : NULL;
   struct render_client_context *apart = capset && c->apart ? render_client_context_create(c->apart, ctx_id, name)
                                                            : NULL;
   if (capset && !ctx && !apart)
      return refuse(refusal, VS_GPU_RESP_ERR_OUT_OF_MEMORY, "context %u: cannot create the Venus context", ctx_id);
   slot->id = ctx_id;
   slot->ctx = ctx;
   slot->apart = apart;
   memcpy(slot->name, name, sizeof(name));
   /* The guest makes and ends contexts at will: not the operator's news. */
   vs_debug(ctx_id, "virtio-gpu %u: context %u (\"%s\") created, %s", c->device_id, ctx_id, slot->name,
           apart ? "Venus, in a worker of its own" : ctx ? "Venus" : "of the default capset (no submissions)");
   return VS_GPU_RESP_OK_NODATA;
}

uint32_t
vs_gpu_contexts_destroy_context(struct vs_gpu_contexts *c, uint32_t ctx_id, struct vs_gpu_refusal *refusal)
{
   struct gpu_context *gc = find_context(c, ctx_id);
   if (!gc)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "CTX_DESTROY of context %u, which does not exist", ctx_id);
   /* Its blobs stay resources of the device until the guest unrefs them:
    * their fds keep their memory. What it imported goes with it. */
   venus_destroy(gc);
   const uint64_t bit = 1ull << (gc - c->contexts);
   for (uint32_t i = 0; i < c->max_blobs; i++) {
      c->blobs[i].importers &= ~bit;
      /* Its own blobs are no later context's of the same id (the guest
       * reuses ids): their unref goes to no context. */
      if (c->blobs[i].res_id && c->blobs[i].ctx_id == ctx_id)
         c->blobs[i].ctx_id = 0;
   }
   vs_debug(ctx_id, "virtio-gpu %u: context %u (\"%s\") destroyed", c->device_id, ctx_id, gc->name);
   *gc = (struct gpu_context){ 0 };
   return VS_GPU_RESP_OK_NODATA;
}

uint32_t
vs_gpu_contexts_check_context(struct vs_gpu_contexts *c, uint32_t ctx_id, struct vs_gpu_refusal *refusal)
{
   if (find_context(c, ctx_id))
      return VS_GPU_RESP_OK_NODATA;
   return refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context %u does not exist", ctx_id);
}

uint32_t
vs_gpu_contexts_attach(struct vs_gpu_contexts *c, uint32_t ctx_id, uint32_t res_id, struct vs_gpu_refusal *refusal)
{
   struct gpu_context *gc = find_context(c, ctx_id);
   if (!gc)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context %u does not exist", ctx_id);
   struct host_blob *b = find_blob(c, res_id);
   const uint64_t bit = 1ull << (gc - c->contexts);
   /* Nothing to share: not a host blob, the context's own, one it holds
    * already, or a context that takes no commands. */
   if (!b || b->ctx_id == ctx_id || (b->importers & bit) || !is_venus(gc) || !venus_running(gc))
      return VS_GPU_RESP_OK_NODATA;
   if (b->fd_type != VS_FD_TYPE_SHM && b->fd_type != VS_FD_TYPE_DMABUF) {
      /* The context refuses an import of it with its own line. */
      vs_debug(ctx_id, "virtio-gpu %u: resource %u of context %u: its fd type %d is not shared with context %u",
               c->device_id, res_id, b->ctx_id, (int)b->fd_type, ctx_id);
      return VS_GPU_RESP_OK_NODATA;
   }
   const int fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
   if (fd < 0)
      return refuse(refusal, VS_GPU_RESP_ERR_OUT_OF_MEMORY, "resource %u to context %u: %s", res_id, ctx_id,
                    strerror(errno));
   if (!venus_import(gc, res_id, fd, b->fd_type, b->size))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: context %u (\"%s\") refused it and ended",
                    res_id, ctx_id, gc->name);
   b->importers |= bit;
   vs_debug(ctx_id, "virtio-gpu %u: resource %u of context %u shared with context %u", c->device_id, res_id,
            b->ctx_id, ctx_id);
   return VS_GPU_RESP_OK_NODATA;
}

uint32_t
vs_gpu_contexts_detach(struct vs_gpu_contexts *c, uint32_t ctx_id, uint32_t res_id, struct vs_gpu_refusal *refusal)
{
   struct gpu_context *gc = find_context(c, ctx_id);
   if (!gc)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context %u does not exist", ctx_id);
   struct host_blob *b = find_blob(c, res_id);
   const uint64_t bit = 1ull << (gc - c->contexts);
   if (b && (b->importers & bit)) {
      b->importers &= ~bit;
      venus_destroy_resource(gc, res_id);
   }
   return VS_GPU_RESP_OK_NODATA;
}

uint32_t
vs_gpu_contexts_submit(struct vs_gpu_contexts *c, uint32_t ctx_id, const void *cmds, size_t size,
                       struct vs_gpu_refusal *refusal)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   struct gpu_context *gc = running_context(c, ctx_id, "SUBMIT_3D", &status, refusal);
   if (!gc)
      return status;
   if (size && !venus_submit(gc, cmds, size)) {
      /* A worker apart says why it ended a context, unless it stopped. */
      const char *why = gc->apart ? render_client_context_end_reason(gc->apart) : NULL;
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "SUBMIT_3D of %zu bytes: context %u (\"%s\") ended on it%s%s",
                    size, ctx_id, gc->name, why ? ": " : "", why ? why : "");
   }
   return status;
}

uint32_t
vs_gpu_contexts_create_blob(struct vs_gpu_contexts *c, const struct vs_gpu_resource_create_blob *cmd,
                            struct vs_gpu_refusal *refusal)
{
   uint32_t status = VS_GPU_RESP_OK_NODATA;
   const uint32_t res_id = cmd->resource_id;
   const uint32_t known_flags =
      VS_GPU_BLOB_FLAG_USE_MAPPABLE | VS_GPU_BLOB_FLAG_USE_SHAREABLE | VS_GPU_BLOB_FLAG_USE_CROSS_DEVICE;
   if (cmd->blob_mem != VS_GPU_BLOB_MEM_HOST3D || cmd->nr_entries != 0 || (cmd->blob_flags & ~known_flags) ||
       cmd->size == 0)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: a blob of blob_mem %u, flags 0x%x, %u backing entries, %llu bytes "
                    "(host blobs of 1 byte or more without backing only)", res_id, cmd->blob_mem, cmd->blob_flags,
                    cmd->nr_entries, (unsigned long long)cmd->size);
   struct gpu_context *gc = running_context(c, cmd->hdr.ctx_id, "RESOURCE_CREATE_BLOB", &status, refusal);
   if (!gc)
      return status;
   struct host_blob *slot = NULL;
   for (uint32_t i = 0; i < c->max_blobs && !slot; i++) {
      if (!c->blobs[i].res_id)
         slot = &c->blobs[i];
   }
   if (!slot)
      return refuse(refusal, VS_GPU_RESP_ERR_OUT_OF_MEMORY, "resource %u: the device holds %u host blobs, the most", res_id, c->max_blobs);
   struct vs_blob blob;
   if (!venus_create_blob(gc, cmd, &blob))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: context %u (\"%s\") refused blob %llu of %llu bytes and ended", res_id,
                    gc->id, gc->name, (unsigned long long)cmd->blob_id, (unsigned long long)cmd->size);
   *slot = (struct host_blob){
      .res_id = res_id, .ctx_id = gc->id, .fd = blob.fd, .fd_type = blob.fd_type, .flags = cmd->blob_flags,
      .map_info = blob.map_info, .size = cmd->size, .serial = ++c->blobs_made,
   };
   vs_debug(gc->id, "virtio-gpu %u: resource %u: host blob %llu of %llu bytes, fd type %d", c->device_id, res_id,
            (unsigned long long)cmd->blob_id, (unsigned long long)cmd->size, (int)blob.fd_type);
   return status;
}

bool
vs_gpu_contexts_has_blob(const struct vs_gpu_contexts *c, uint32_t res_id)
{
   return find_blob(c, res_id) != NULL;
}

/* Whether [offset, offset + len) overlaps a mapping of another blob. */
static bool
overlaps_mapping(const struct vs_gpu_contexts *c, uint64_t offset, uint64_t len)
{
   for (uint32_t i = 0; i < c->max_blobs; i++) {
      const struct host_blob *b = &c->blobs[i];
      if (b->res_id && b->mapped && offset < b->map_offset + b->map_len && b->map_offset < offset + len)
         return true;
   }
   return false;
}

uint32_t
vs_gpu_contexts_map_blob(struct vs_gpu_contexts *c, struct vs_vu_device *dev, uint32_t res_id, uint64_t offset,
                         uint32_t *map_info, struct vs_gpu_refusal *refusal)
{
   struct host_blob *b = find_blob(c, res_id);
   if (!b)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_RESOURCE_ID, "resource %u is not a host blob", res_id);
   const uint64_t page = os_page_size();
   const uint64_t len = (b->size + page - 1) / page * page;
   if (!(b->flags & VS_GPU_BLOB_FLAG_USE_MAPPABLE) || b->mapped ||
       (b->fd_type != VS_FD_TYPE_SHM && b->fd_type != VS_FD_TYPE_DMABUF))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: %s", res_id,
                    b->mapped ? "mapped already"
                    : !(b->flags & VS_GPU_BLOB_FLAG_USE_MAPPABLE) ? "not made mappable"
                                                                   : "its memory is not shared through a mappable fd");
   if (offset % page || offset > c->shmem_size || len > c->shmem_size - offset)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: %llu bytes at offset 0x%llx of the host-visible region of %llu bytes "
                    "(whole pages inside it)", res_id, (unsigned long long)len, (unsigned long long)offset,
                    (unsigned long long)c->shmem_size);
   if (overlaps_mapping(c, offset, len))
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_PARAMETER, "resource %u: %llu bytes at offset 0x%llx overlap another blob's mapping", res_id,
                    (unsigned long long)len, (unsigned long long)offset);
   char why[200];
   if (!vs_vu_device_shmem_map(dev, b->fd, 0, offset, len, true, why, sizeof(why)))
      return refuse(refusal, VS_GPU_RESP_ERR_UNSPEC, "resource %u: SHMEM_MAP: %s", res_id, why);
   vs_debug(0, "virtio-gpu %u: resource %u mapped: %llu bytes at offset 0x%llx of the host-visible region", c->device_id,
            res_id, (unsigned long long)len, (unsigned long long)offset);
   b->mapped = true;
   b->map_offset = offset;
   b->map_len = len;
   *map_info = b->map_info;
   return VS_GPU_RESP_OK_MAP_INFO;
}

static bool
unmap(struct vs_vu_device *dev, struct host_blob *b, struct vs_gpu_refusal *refusal)
{
   char why[200];
   b->mapped = false;
   if (vs_vu_device_shmem_unmap(dev, b->map_offset, b->map_len, why, sizeof(why)))
      return true;
   refuse(refusal, 0, "resource %u: SHMEM_UNMAP: %s", b->res_id, why);
   return false;
}

uint32_t
vs_gpu_contexts_unmap_blob(struct vs_gpu_contexts *c, struct vs_vu_device *dev, uint32_t res_id,
                           struct vs_gpu_refusal *refusal)
{
   struct host_blob *b = find_blob(c, res_id);
   if (!b || !b->mapped)
      return refuse(refusal, VS_GPU_RESP_ERR_INVALID_RESOURCE_ID, "resource %u is not a mapped host blob", res_id);
   return unmap(dev, b, refusal) ? VS_GPU_RESP_OK_NODATA : VS_GPU_RESP_ERR_UNSPEC;
}

void
vs_gpu_contexts_unref_blob(struct vs_gpu_contexts *c, struct vs_vu_device *dev, uint32_t res_id,
                           struct vs_gpu_refusal *refusal)
{
   struct host_blob *b = find_blob(c, res_id);
   if (!b)
      return;
   if (b->mapped)
      unmap(dev, b, refusal);
   struct gpu_context *gc = find_context(c, b->ctx_id);
   if (gc)
      venus_destroy_resource(gc, res_id);
   for (unsigned i = 0; i < MAX_CONTEXTS; i++) {
      if (b->importers >> i & 1)
         venus_destroy_resource(&c->contexts[i], res_id);
   }
   close_blob(b);
}

int
vs_gpu_contexts_blob_fd(const struct vs_gpu_contexts *c, uint32_t res_id, uint64_t *size, uint64_t *serial)
{
   const struct host_blob *b = find_blob(c, res_id);
   if (!b || (b->fd_type != VS_FD_TYPE_SHM && b->fd_type != VS_FD_TYPE_DMABUF))
      return -1;
   *size = b->size;
   *serial = b->serial;
   return b->fd;
}

/* A context's thread: the fence's ring reached it. */
static void
fence_retired(void *data)
{
   struct deferred *d = data;
   struct vs_gpu_contexts *c = d->contexts;
   pthread_mutex_lock(&c->lock);
   d->context->fences_waiting--;
   *c->retired_tail = d;
   c->retired_tail = &d->next;
   pthread_mutex_unlock(&c->lock);
   os_event_signal(&c->wake);
}

bool
vs_gpu_contexts_defer(struct vs_gpu_contexts *c, uint32_t ctx_id, uint32_t ring_idx, uint16_t head,
                      uint32_t written, struct vs_gpu_refusal *refusal)
{
   struct gpu_context *gc = find_context(c, ctx_id);
   if (!gc || !is_venus(gc) || !venus_running(gc))
      return false;
   /* Each waiting request holds its chain, so a driver never has more
    * waiting than a ring's entries; more is a guest offering chains it
    * was not given back, and each would cost the worker memory. */
   pthread_mutex_lock(&c->lock);
   const uint32_t waiting = gc->fences_waiting;
   const bool room = waiting < VS_VQ_SIZE_MAX;
   gc->fences_waiting += room;
   pthread_mutex_unlock(&c->lock);
   if (!room) {
      refuse(refusal, 0, "a fence on ring %u of context %u, which has %u requests waiting for fences (at most %u): "
             "answered at once", ring_idx, ctx_id, waiting, VS_VQ_SIZE_MAX);
      return false;
   }
   struct deferred *d = malloc(sizeof(*d));
   if (d)
      *d = (struct deferred){ .contexts = c, .context = gc, .head = head, .written = written };
   /* An invalid ring ends the context (its line says so); the request is
    * answered then, as the context's others. */
   if (!d || !venus_submit_fence(gc, ring_idx, fence_retired, d)) {
      free(d);
      pthread_mutex_lock(&c->lock);
      gc->fences_waiting--;
      pthread_mutex_unlock(&c->lock);
      return false;
   }
   return true;
}

void
vs_gpu_contexts_retired(struct vs_gpu_contexts *c, void (*answer)(void *data, uint16_t head, uint32_t written),
                        void *data)
{
   os_event_drain(&c->wake);
   pthread_mutex_lock(&c->lock);
   struct deferred *list = c->retired;
   c->retired = NULL;
   c->retired_tail = &c->retired;
   pthread_mutex_unlock(&c->lock);
   while (list) {
      struct deferred *d = list;
      list = d->next;
      answer(data, d->head, d->written);
      free(d);
   }
}

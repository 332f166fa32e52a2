/* SPDX-License-Identifier: MIT */
#include "context/context_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/ring.h"
#include "renderer/validate.h"
#include "renderer/memory/device_memory.h"
#include "renderer/sync/gpu_watchdog.h"
#include "renderer/sync/submit_stats.h"
#include "os/os.h"
#include "base/log.h"
#include "base/test_faults.h"
#include "vn_wire.h"

void
vs_context_options_default(struct vs_context_options *options)
{
   *options = (struct vs_context_options){
      /* A guest process holds one VkDevice per guest device it makes (zink,
       * vkd3d, libplacebo, llama.cpp: one or a few); 16 leaves it room while
       * bounding what each costs the host (10 MiB and two threads on
       * lavapipe, more on a GPU driver). */
      .renderer = { .device_index = -1, .memory = VS_MEMORY_AUTO, .page_size = 0, .gpu_timeout_ms = 30000,
                    .devices = 16 },
      /* Mesa uses a ring per queue and a few blobs per allocation and pool;
       * these leave a real application room while bounding a hostile one. */
      .limits = {
         .rings = 64,
         .objects = 1u << 20,
         .resources = 16384,
         .shmem_bytes = 4ull << 30,
      },
   };
}

static void
dispatch_fatal(void *data, const char *reason)
{
   vs_context_set_fatal(data, reason);
}

static bool
dispatch_should_stop(void *data)
{
   return !vs_context_running(data);
}

static bool
dispatch_wait_abandoned(void *data)
{
   return vs_context_wait_abandoned(data);
}

/* The renderer's window on the resource table (memory imports). */
static int
resolve_resource(void *data, uint32_t res_id, uint64_t *size)
{
   struct vs_context *ctx = data;
   struct vs_resource *res = vs_resource_get(&ctx->resources, res_id);
   if (!res)
      return -1;
   int fd = res->fd >= 0 ? fcntl(res->fd, F_DUPFD_CLOEXEC, 0) : -1;
   *size = res->size;
   vs_resource_put(&ctx->resources, res);
   return fd;
}

/* The context's handler and check tables; false (logged) if a command of
 * protocol/semantics.txt has no handler: a family that forgot to
 * register, a build error in all but name. */
static bool
build_tables(struct vs_context *ctx)
{
   vn_exec_table_init(&ctx->exec_table);
   vs_renderer_register(&ctx->exec_table);
   vs_ring_commands_register(&ctx->exec_table);
   vn_check_table_init(&ctx->check_table);
   const char *missing = vn_exec_table_missing(&ctx->exec_table);
   if (missing)
      vs_error(ctx->id, "no handler registered for %s (protocol/semantics.txt)", missing);
   return !missing;
}

/* --submit-stats: each command's time, by command. */
static void
time_command(void *data, uint32_t type, uint64_t ns)
{
   vs_submit_stats_add_command(data, type, ns);
}

void
vs_context_init_dispatch(struct vs_context *ctx, struct vs_runner *runner, struct vs_ring *ring)
{
   const struct vs_runner_desc desc = {
      .ctx_id = ctx->id,
      .hooks = ring ? vs_ring_dispatch_hooks(ring)
                    : (struct vs_runner_hooks){ dispatch_fatal, dispatch_should_stop, dispatch_wait_abandoned, ctx },
      .exec = &ctx->exec_table,
      .checks = &ctx->check_table,
      .objects = &ctx->objects,
      .resources = &ctx->resources,
      .renderer = &ctx->renderer,
      .owner = ring ? (void *)ring : (void *)ctx,
      .on_ring = ring != NULL,
      .timing = ctx->renderer.stats.on ? time_command : NULL,
      .timing_data = &ctx->renderer.stats,
      .lock = &ctx->dispatch_lock,
      .journal = ctx->journaled ? &ctx->journal : NULL,
   };
   vs_runner_init(runner, &desc);
}

/* The renderer's work hooks (renderer/renderer.h): each ring's guest tail
 * now, and whether the ring has executed up to it since. */
static void
mark_rings(void *data, struct vs_work_mark *mark)
{
   struct vs_context *ctx = data;
   pthread_mutex_lock(&ctx->rings_lock);
   for (struct vs_ring *r = ctx->rings; r && mark->count < VS_WORK_MARK_RINGS; r = r->next) {
      if ((const void *)r == mark->except)
         continue;
      mark->ring_id[mark->count] = r->id;
      mark->tail[mark->count++] = atomic_load_explicit(r->tail, memory_order_acquire);
   }
   pthread_mutex_unlock(&ctx->rings_lock);
}

static bool
rings_reached(void *data, const struct vs_work_mark *mark)
{
   struct vs_context *ctx = data;
   bool reached = true;
   pthread_mutex_lock(&ctx->rings_lock);
   for (uint32_t i = 0; i < mark->count && reached; i++) {
      struct vs_ring *r = ctx->rings;
      while (r && r->id != mark->ring_id[i])
         r = r->next;
      /* A ring that is gone or stopped will execute nothing more. */
      reached = !r || vs_ring_reached(r, mark->tail[i]);
   }
   pthread_mutex_unlock(&ctx->rings_lock);
   return reached || !vs_context_running(ctx);
}

void
vs_context_start_renderer(struct vs_context *ctx, const struct vs_renderer_options *options)
{
   vs_renderer_init(&ctx->renderer, ctx->id, options, &ctx->objects);
   ctx->renderer.resolve_resource = resolve_resource;
   ctx->renderer.resolve_data = ctx;
   vs_memory_usage_set_limits(&ctx->renderer.memory_usage, ctx->limits.memory_bytes, ctx->limits.fd_pool,
                              ctx->limits.mapping_pool);
   ctx->renderer.work = (struct vs_work_hooks){ mark_rings, rings_reached, ctx };
   ctx->renderer.restorable = ctx->journaled;
}

/* The most bytes of commands a context's journal keeps. */
#define JOURNAL_LIMIT (256u << 20)

static bool
object_alive(void *data, uint64_t id)
{
   struct vs_context *ctx = data;
   return vs_object_contains(&ctx->objects, id);
}

/* What the journal kept, when the context ends. */
static void
end_journal(struct vs_context *ctx)
{
   if (!ctx->journaled)
      return;
   if (ctx->journal.refused[0]) {
      vs_info(ctx->id, "journal: refused: %s", ctx->journal.refused);
   } else {
      vs_journal_prune(&ctx->journal);
      vs_info(ctx->id, "journal: %llu lasting commands taken, at most %zu kept at once (%zu bytes), %zu at the end",
              (unsigned long long)ctx->journal.added, ctx->journal.peak_count, ctx->journal.peak_bytes,
              ctx->journal.count);
   }
   vs_journal_fini(&ctx->journal);
}

struct vs_context *
vs_context_create(uint32_t ctx_id, const char *debug_name, const struct vs_context_options *options)
{
   struct vs_context *ctx = calloc(1, sizeof(*ctx));
   if (!ctx)
      return NULL;
   ctx->id = ctx_id;
   if (!build_tables(ctx) || !vs_object_table_init(&ctx->objects)) {
      free(ctx);
      return NULL;
   }
   if (options->live_objects)
      ctx->objects.live = options->live_objects;
   snprintf(ctx->name, sizeof(ctx->name), "%s", debug_name ? debug_name : "");
   atomic_init(&ctx->fatal, false);
   atomic_init(&ctx->peer_gone, false);
   atomic_init(&ctx->peer_checked_ns, 0);
   ctx->limits = options->limits;
   ctx->lines_left = options->lines_left;
   ctx->objects.limit = options->limits.objects;
   /* Holds (wire/lifetime.h): four per object, and under 2^32 so that no
    * object's count of holders can wrap. */
   if (options->limits.objects)
      ctx->objects.hold_limit = options->limits.objects < (1u << 30) ? options->limits.objects * 4 : UINT32_MAX - 1;
   vs_resource_table_init(&ctx->resources);
   ctx->journaled = (options->journal || vs_test_faults.keep_journal || vs_test_faults.restore_every) &&
                    vs_journal_init(&ctx->journal, JOURNAL_LIMIT, object_alive, ctx);
   vs_context_start_renderer(ctx, &options->renderer);
   vs_test_faults_watch(&ctx->renderer, ctx->name);
   vs_dispatch_lock_init(&ctx->dispatch_lock);
   vs_context_init_dispatch(ctx, &ctx->dispatch, NULL);
   pthread_mutex_init(&ctx->rings_lock, NULL);
   pthread_mutex_init(&ctx->checkpoint_lock, NULL);
   os_cond_init(&ctx->monitor_cond);
   pthread_mutex_init(&ctx->monitor_lock, NULL);
   vs_fair_pool_init(&ctx->shmem_pool, "bytes of shared memory", options->limits.shmem_bytes, 0);
   vs_fair_account_init(&ctx->shmem, options->limits.shmem_bytes ? &ctx->shmem_pool : NULL);
   vs_log(ctx->lines_left ? VS_LOG_DEBUG : VS_LOG_INFO, ctx_id, "context created for \"%s\"", ctx->name);
   return ctx;
}

bool
vs_context_is_fatal(const struct vs_context *ctx)
{
   return atomic_load(&ctx->fatal);
}

void
vs_context_track_activity(struct vs_context *ctx, _Atomic uint64_t *last_ns)
{
   ctx->activity_ns = last_ns;
}

bool
vs_context_check_memory(struct vs_context *ctx)
{
   uint64_t faults = os_map_fault_count();
   if (faults != ctx->faults_seen) {
      ctx->faults_seen = faults;
      uint32_t id = vs_resource_table_faulted(&ctx->resources);
      if (id) {
         char reason[160];
         snprintf(reason, sizeof(reason), "resource %u: its shared memory shrank under the server (truncated)", id);
         vs_context_set_fatal(ctx, reason);
      }
   }
   return !vs_context_is_fatal(ctx);
}

uint32_t
vs_context_abandoned_host_work(void)
{
   return vs_gpu_watchdog_abandoned();
}

void
vs_context_watch_peer(struct vs_context *ctx, vs_peer_alive_fn alive, void *data)
{
   ctx->peer_data = data;
   ctx->peer_alive = alive;
}

void
vs_context_expect_commands(struct vs_context *ctx)
{
   pthread_mutex_lock(&ctx->rings_lock);
   for (struct vs_ring *r = ctx->rings; r; r = r->next)
      vs_ring_expect_commands(r);
   pthread_mutex_unlock(&ctx->rings_lock);
}

bool
vs_context_peer_gone(const struct vs_context *ctx)
{
   return atomic_load(&ctx->peer_gone);
}

bool
vs_context_running(const struct vs_context *ctx)
{
   return !atomic_load(&ctx->fatal) && !atomic_load(&ctx->peer_gone);
}

bool
vs_context_wait_abandoned(struct vs_context *ctx)
{
   if (!vs_context_running(ctx))
      return true;
   if (!ctx->peer_alive)
      return false;
   /* One thread asks per period, the others take its answer. */
   uint64_t now = os_now_ns(), last = atomic_load(&ctx->peer_checked_ns);
   if (now - last < (uint64_t)VS_CONTEXT_PEER_CHECK_MS * 1000000u ||
       !atomic_compare_exchange_strong(&ctx->peer_checked_ns, &last, now))
      return false;
   if (ctx->peer_alive(ctx->peer_data))
      return false;
   if (!atomic_exchange(&ctx->peer_gone, true)) {
      vs_info(ctx->id, "client gone while the server waited on its behalf; abandoning its waits");
      pthread_mutex_lock(&ctx->rings_lock);
      for (struct vs_ring *r = ctx->rings; r; r = r->next)
         vs_ring_notify(r);
      pthread_mutex_unlock(&ctx->rings_lock);
   }
   return true;
}

void
vs_context_set_fatal(struct vs_context *ctx, const char *reason)
{
   bool was = atomic_exchange(&ctx->fatal, true);
   if (was)
      return;
   /* A wait given up for a client that hung up fails what waited: that
    * client is gone, not dropped. */
   if (atomic_load(&ctx->peer_gone)) {
      vs_debug(ctx->id, "after the client left: %s", reason);
   } else if (ctx->lines_left) {
      const uint32_t left = vs_log_take_line(ctx->lines_left);
      vs_log(left ? VS_LOG_ERROR : VS_LOG_DEBUG, ctx->id, "dropping client: %s%s", reason,
             left == 1 ? " (the device's further contexts that end are logged at debug level)" : "");
   } else {
      vs_error(ctx->id, "dropping client: %s", reason);
   }
   pthread_mutex_lock(&ctx->rings_lock);
   for (struct vs_ring *r = ctx->rings; r; r = r->next)
      vs_ring_set_fatal(r);
   pthread_mutex_unlock(&ctx->rings_lock);
}

static void
stop_monitor(struct vs_context *ctx)
{
   pthread_mutex_lock(&ctx->monitor_lock);
   bool running = ctx->monitor_running;
   ctx->monitor_stop = true;
   pthread_cond_broadcast(&ctx->monitor_cond);
   pthread_mutex_unlock(&ctx->monitor_lock);
   if (running)
      pthread_join(ctx->monitor_thread, NULL);
}

void
vs_context_destroy(struct vs_context *ctx)
{
   if (!ctx)
      return;
   /* Rings first: nothing may run guest commands while objects go away. */
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring *rings = ctx->rings;
   ctx->rings = NULL;
   pthread_mutex_unlock(&ctx->rings_lock);
   while (rings) {
      struct vs_ring *next = rings->next;
      vs_ring_destroy(rings);
      rings = next;
   }
   stop_monitor(ctx);
   /* The socket thread's dispatcher is done too: no command adds now. */
   end_journal(ctx);
   vs_context_drop_checkpoint(ctx);

   uint32_t held = ctx->objects.count;
   vs_renderer_fini(&ctx->renderer);
   vs_test_faults_forget(&ctx->renderer);
   vs_runner_fini(&ctx->dispatch);
   vs_dispatch_lock_fini(&ctx->dispatch_lock);
   vs_object_table_fini(&ctx->objects);
   vs_resource_table_fini(&ctx->resources);
   pthread_mutex_destroy(&ctx->shmem_pool.lock);
   pthread_cond_destroy(&ctx->monitor_cond);
   pthread_mutex_destroy(&ctx->monitor_lock);
   pthread_mutex_destroy(&ctx->rings_lock);
   pthread_mutex_destroy(&ctx->checkpoint_lock);
   uint64_t live = vs_object_table_live(&ctx->objects);
   vs_log(ctx->lines_left ? VS_LOG_DEBUG : VS_LOG_INFO, ctx->id,
          "context destroyed: %u host objects released, %llu live in server", held, (unsigned long long)live);
   free(ctx);
}

/* The resource id must be new and the count within the limit. */
static bool
resource_id_ok(struct vs_context *ctx, uint32_t res_id, const char *what)
{
   char reason[160];
   if (res_id == 0 || vs_resource_contains(&ctx->resources, res_id))
      snprintf(reason, sizeof(reason), "%s: resource id %u is %s", what, res_id, res_id ? "in use" : "0");
   else if (ctx->limits.resources && ctx->resources.count >= ctx->limits.resources)
      snprintf(reason, sizeof(reason), "%s: resource limit reached (%u resources)", what, ctx->limits.resources);
   else
      return true;
   vs_context_set_fatal(ctx, reason);
   return false;
}

/* Charges the client one fd and one guarded mapping for a resource the
 * server keeps; on success `res` gives them back when freed. */
static bool
resource_charge(struct vs_context *ctx, const char *what, char *reason, size_t reason_size)
{
   char why[192];
   if (vs_memory_usage_take(&ctx->renderer.memory_usage, 1, VS_GUARDED_MAPPINGS, why, sizeof(why)))
      return true;
   snprintf(reason, reason_size, "%s: no room for its shared memory: %s", what, why);
   vs_context_set_fatal(ctx, reason);
   return false;
}

static void
resource_charged(struct vs_context *ctx, struct vs_resource *res)
{
   res->fd_account = &ctx->renderer.memory_usage.fds;
   res->mapping_account = &ctx->renderer.memory_usage.mappings;
   res->charged_mappings = VS_GUARDED_MAPPINGS;
}

/* A resource of the server's mapping of `fd` (its size `size`, mapped
 * between guard pages like the server's own shared memory), charged as
 * resource_charge took it (the caller took it). NULL with *why when the
 * fd cannot be mapped, or out of memory (*why left NULL); the fd stays
 * the caller's then. */
static struct vs_resource *
add_mapped(struct vs_context *ctx, uint32_t res_id, int fd, uint64_t size, const char **why)
{
   const size_t page = os_page_size();
   const size_t map_size = size > SIZE_MAX - page ? 0 : ((size_t)size + page - 1) & ~(page - 1);
   void *map = map_size ? os_map_guarded(fd, map_size, 0) : NULL;
   if (!map) {
      *why = "the fd cannot be mapped at that size";
      return NULL;
   }
   struct vs_resource *res = vs_resource_add(&ctx->resources, res_id, fd, map, (size_t)size, map_size, true);
   if (!res) {
      os_unmap_guarded(map, map_size, 0);
      return NULL;
   }
   resource_charged(ctx, res);
   return res;
}

static bool
create_shmem_blob(struct vs_context *ctx, uint32_t res_id, uint64_t size, struct vs_blob *out)
{
   /* Rings, reply streams and command-buffer pools. */
   char reason[320];
   if (size == 0 || size > (1ull << 32)) {
      snprintf(reason, sizeof(reason), "shared-memory blob of %llu bytes is out of range", (unsigned long long)size);
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   if (!vs_fair_take(&ctx->shmem, size, NULL, 0)) {
      snprintf(reason, sizeof(reason), "shared-memory limit reached (%llu bytes held, %llu asked, limit %llu)",
               (unsigned long long)atomic_load(&ctx->shmem.held), (unsigned long long)size,
               (unsigned long long)ctx->limits.shmem_bytes);
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   if (!resource_charge(ctx, "shared-memory blob", reason, sizeof(reason))) {
      vs_fair_give(&ctx->shmem, size);
      return false;
   }
   struct vs_resource *res = vs_resource_create_shmem(&ctx->resources, res_id, (size_t)size);
   if (res) {
      resource_charged(ctx, res);
      res->bytes_account = &ctx->shmem;
      res->charged_bytes = size;
   } else {
      vs_memory_usage_give(&ctx->renderer.memory_usage, 1, VS_GUARDED_MAPPINGS);
      vs_fair_give(&ctx->shmem, size);
   }
   out->fd = res ? fcntl(res->fd, F_DUPFD_CLOEXEC, 0) : -1;
   if (out->fd < 0) {
      int err = errno;
      if (res)
         vs_resource_remove(&ctx->resources, res_id);
      /* Out of fds (EMFILE) lands here: this client alone is dropped. */
      snprintf(reason, sizeof(reason), "cannot create shared memory for a blob of %llu bytes: %s",
               (unsigned long long)size, strerror(err));
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   out->fd_type = VS_FD_TYPE_SHM;
   out->map_info = VS_MAP_CACHE_CACHED;
   vs_debug(ctx->id, "resource %u: %llu bytes of shared memory", res_id, (unsigned long long)size);
   return true;
}

/* A shareable blob's own copy of its memory's fd, charged to the client:
 * the guest may import the dma-buf it exported back into this context
 * (the same DRM fd names the same resource), and the import maps it as
 * any imported resource, also once the memory is freed. -1, the context
 * ended with why, when there is no room for it. */
static int
keep_blob_fd(struct vs_context *ctx, uint64_t memory_id, int fd)
{
   char why[192], reason[256];
   if (!vs_memory_usage_take(&ctx->renderer.memory_usage, 1, 0, why, sizeof(why))) {
      snprintf(reason, sizeof(reason), "shareable blob of memory %llu: no room for its fd: %s",
               (unsigned long long)memory_id, why);
      vs_context_set_fatal(ctx, reason);
      return -1;
   }
   int kept = fcntl(fd, F_DUPFD_CLOEXEC, 0);
   if (kept < 0) {
      snprintf(reason, sizeof(reason), "shareable blob of memory %llu: cannot keep its fd: %s",
               (unsigned long long)memory_id, strerror(errno));
      vs_memory_usage_give(&ctx->renderer.memory_usage, 1, 0);
      vs_context_set_fatal(ctx, reason);
   }
   return kept;
}

static bool
create_memory_blob(struct vs_context *ctx, uint32_t res_id, uint32_t flags, uint64_t size, uint64_t memory_id,
                   struct vs_blob *out)
{
   struct vs_memory_export exp;
   const char *why;
   if (!vs_memory_export(&ctx->renderer, memory_id, size, &exp, &why)) {
      char refusal[VS_OBJECT_REFUSED_WHY], reason[256];
      if (vs_object_refusal(&ctx->objects, memory_id, refusal, sizeof(refusal))) {
         snprintf(reason, sizeof(reason), "blob of memory %llu, which was never created: %s, which the "
                  "guest did not wait for", (unsigned long long)memory_id, refusal);
         why = reason;
      }
      vs_context_set_fatal(ctx, why);
      return false;
   }
   int kept = -1;
   if ((flags & VS_BLOB_FLAG_SHAREABLE) && (kept = keep_blob_fd(ctx, memory_id, exp.fd)) < 0) {
      close(exp.fd);
      return false;
   }
   if (!vs_resource_add(&ctx->resources, res_id, kept, NULL, (size_t)size, 0, false)) {
      close(exp.fd);
      if (kept >= 0) {
         close(kept);
         vs_memory_usage_give(&ctx->renderer.memory_usage, 1, 0);
      }
      vs_context_set_fatal(ctx, "cannot record a blob resource");
      return false;
   }
   struct vs_resource *res = vs_resource_get(&ctx->resources, res_id);
   res->memory_id = memory_id;
   res->watch = exp.map;
   if (kept >= 0)
      res->fd_account = &ctx->renderer.memory_usage.fds;
   vs_resource_put(&ctx->resources, res);
   out->fd = exp.fd;
   out->fd_type = exp.shared_by == VS_MEMORY_HOST_POINTER ? VS_FD_TYPE_SHM
                  : exp.shared_by == VS_MEMORY_DMABUF     ? VS_FD_TYPE_DMABUF
                                                          : VS_FD_TYPE_OPAQUE;
   out->map_info = VS_MAP_CACHE_CACHED;
   memcpy(out->vulkan_info.device_uuid, exp.device_uuid, sizeof(exp.device_uuid));
   memcpy(out->vulkan_info.driver_uuid, exp.driver_uuid, sizeof(exp.driver_uuid));
   out->vulkan_info.allocation_size = exp.allocation_size;
   out->vulkan_info.memory_type_index = exp.memory_type_index;
   vs_debug(ctx->id, "resource %u: memory %llu, %llu bytes, %s, flags 0x%x", res_id,
            (unsigned long long)memory_id, (unsigned long long)size, vs_memory_strategy_name(exp.shared_by),
            flags);
   return true;
}

bool
vs_context_adopt_resource(struct vs_context *ctx, uint32_t res_id, int fd, uint64_t size, uint64_t memory_id,
                          bool is_shmem, char *why, size_t why_size)
{
   char reason[320];
   struct stat st;
   if (res_id == 0 || vs_resource_contains(&ctx->resources, res_id) ||
       (ctx->limits.resources && ctx->resources.count >= ctx->limits.resources)) {
      snprintf(why, why_size, "resource %u is 0, twice or past the limit", res_id);
      goto fail;
   }
   if (memory_id) {
      /* A blob of memory the replay allocates again; its kept fd, if any,
       * is charged as keep_blob_fd charged it. */
      if (fd >= 0 && !vs_memory_usage_take(&ctx->renderer.memory_usage, 1, 0, reason, sizeof(reason))) {
         snprintf(why, why_size, "resource %u: no room for its fd: %s", res_id, reason);
         goto fail;
      }
      struct vs_resource *res = vs_resource_add(&ctx->resources, res_id, fd, NULL, (size_t)size, 0, false);
      if (!res) {
         if (fd >= 0)
            vs_memory_usage_give(&ctx->renderer.memory_usage, 1, 0);
         snprintf(why, why_size, "resource %u: out of memory", res_id);
         goto fail;
      }
      res->memory_id = memory_id;
      if (fd >= 0)
         res->fd_account = &ctx->renderer.memory_usage.fds;
      return true;
   }
   if (fd < 0 || size == 0 || size > (1ull << 32) || fstat(fd, &st) != 0 || (uint64_t)st.st_size < size) {
      snprintf(why, why_size, "resource %u: its fd is missing or smaller than its %llu bytes", res_id,
               (unsigned long long)size);
      goto fail;
   }
   if (is_shmem && !vs_fair_take(&ctx->shmem, size, NULL, 0)) {
      snprintf(why, why_size, "resource %u: past the shared-memory limit", res_id);
      goto fail;
   }
   if (!resource_charge(ctx, "adopted resource", reason, sizeof(reason))) {
      snprintf(why, why_size, "resource %u: %s", res_id, reason);
      if (is_shmem)
         vs_fair_give(&ctx->shmem, size);
      goto fail;
   }
   const char *unmapped = NULL;
   struct vs_resource *res = add_mapped(ctx, res_id, fd, size, &unmapped);
   if (!res) {
      vs_memory_usage_give(&ctx->renderer.memory_usage, 1, VS_GUARDED_MAPPINGS);
      if (is_shmem)
         vs_fair_give(&ctx->shmem, size);
      snprintf(why, why_size, "resource %u: %s", res_id, unmapped ? unmapped : "out of memory");
      goto fail;
   }
   res->is_shmem = is_shmem; /* no thread of the context runs yet */
   if (is_shmem) {
      res->bytes_account = &ctx->shmem;
      res->charged_bytes = size;
   }
   return true;
fail:
   if (fd >= 0)
      close(fd);
   return false;
}

bool
vs_context_hand_over_due(const struct vs_context *ctx)
{
   return ctx->hand_over_due && vs_context_running(ctx);
}

bool
vs_context_settle_ring_wait(struct vs_context *ctx)
{
   if (!ctx->ring_wait_deferred)
      return true;
   ctx->ring_wait_deferred = false;
   /* Rings are added and removed on this side only: it cannot go away
    * while we wait. */
   struct vs_ring *ring = vs_context_find_ring(ctx, ctx->deferred_ring_id);
   if (ring && !vs_ring_wait_seqno(ring, ctx->deferred_seqno)) {
      char reason[128];
      snprintf(reason, sizeof(reason), "vkWaitRingSeqnoMESA: ring 0x%llx can never reach seqno %u",
               (unsigned long long)ctx->deferred_ring_id, ctx->deferred_seqno);
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   return true;
}

bool
vs_context_defer_ring_wait(struct vs_context *ctx, uint64_t ring_id, uint32_t seqno)
{
   if (ctx->ring_wait_deferred && ctx->deferred_ring_id != ring_id && !vs_context_settle_ring_wait(ctx))
      return false;
   /* On one ring the later seqno covers the earlier (seqnos wrap). */
   if (!ctx->ring_wait_deferred || (int32_t)(seqno - ctx->deferred_seqno) > 0)
      ctx->deferred_seqno = seqno;
   ctx->deferred_ring_id = ring_id;
   ctx->ring_wait_deferred = true;
   return true;
}

bool
vs_context_create_blob(struct vs_context *ctx, uint32_t res_id, uint32_t type, uint32_t flags, uint64_t size,
                       uint64_t blob_id, struct vs_blob *out)
{
   memset(out, 0, sizeof(*out));
   out->fd = -1;
   out->fd_type = VS_FD_TYPE_INVALID;
   if (type != VS_BLOB_TYPE_HOST3D) {
      vs_context_set_fatal(ctx, "blob type other than HOST3D requested");
      return false;
   }
   if (flags & ~(uint32_t)(VS_BLOB_FLAG_MAPPABLE | VS_BLOB_FLAG_SHAREABLE | VS_BLOB_FLAG_CROSS_DEVICE)) {
      char reason[96];
      snprintf(reason, sizeof(reason), "unknown blob flags 0x%x", flags);
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   if (!resource_id_ok(ctx, res_id, "blob") || !vs_context_settle_ring_wait(ctx))
      return false;
   if (blob_id == 0 && flags == VS_BLOB_FLAG_MAPPABLE)
      return create_shmem_blob(ctx, res_id, size, out);
   return create_memory_blob(ctx, res_id, flags, size, blob_id, out);
}

bool
vs_context_import_resource(struct vs_context *ctx, uint32_t res_id, int fd, enum vs_fd_type fd_type,
                           uint64_t size)
{
   char reason[320];
   if (!vs_context_settle_ring_wait(ctx) || !resource_id_ok(ctx, res_id, "import") ||
       !resource_charge(ctx, "import", reason, sizeof(reason))) {
      close(fd);
      return false;
   }
   /* The server reads imports through its own mapping (host-pointer import
    * where the host cannot import the fd itself): it must map that far. */
   struct stat st;
   const char *why = NULL;
   if (fd_type != VS_FD_TYPE_SHM && fd_type != VS_FD_TYPE_DMABUF)
      why = "only SHM and DMABUF fds can be imported";
   else if (size == 0 || size > SIZE_MAX)
      why = "size out of range";
   else if (fd_type == VS_FD_TYPE_SHM && (fstat(fd, &st) != 0 || (uint64_t)st.st_size < size))
      why = "the fd is smaller than the size given";
   struct vs_resource *res = why ? NULL : add_mapped(ctx, res_id, fd, size, &why);
   if (!why && !res)
      why = "out of memory";
   if (!res) {
      vs_memory_usage_give(&ctx->renderer.memory_usage, 1, VS_GUARDED_MAPPINGS);
      close(fd);
      snprintf(reason, sizeof(reason), "import of resource %u (fd type %d, %llu bytes): %s", res_id, fd_type,
               (unsigned long long)size, why);
      vs_context_set_fatal(ctx, reason);
      return false;
   }
   vs_debug(ctx->id, "resource %u: imported fd of %llu bytes (type %d)", res_id, (unsigned long long)size, fd_type);
   return true;
}

void
vs_context_destroy_resource(struct vs_context *ctx, uint32_t res_id)
{
   if (!vs_context_settle_ring_wait(ctx))
      return;
   struct vs_resource *res = vs_resource_get(&ctx->resources, res_id);
   if (!res) {
      if (atomic_fetch_add(&ctx->unknown_destroys, 1) == 0)
         vs_warn(ctx->id, "destroy of unknown resource %u ignored (further ones are debug lines)", res_id);
      else
         vs_debug(ctx->id, "destroy of unknown resource %u ignored", res_id);
      return;
   }
   vs_resource_put(&ctx->resources, res);
   vs_resource_remove(&ctx->resources, res_id);
}

bool
vs_context_submit(struct vs_context *ctx, const void *cmds, size_t size)
{
   if (!vs_context_settle_ring_wait(ctx))
      return false;
   bool ok = vs_runner_stream(&ctx->dispatch, cmds, size, NULL, NULL);
   if (ok && vs_test_faults.restore_every && ++ctx->steps % vs_test_faults.restore_every == 0) {
      if (vs_test_faults.restore_worker)
         ctx->hand_over_due = true;
      else
         ok = vs_context_restore(ctx, vs_test_faults.restore_move) || vs_context_running(ctx);
   }
   return ok;
}

/* A transport's fence, which wakes a guest thread as it retires. */
struct guest_fence {
   struct vs_context *ctx;
   vs_retire_fn retire;
   void *data;
};

/* Retire callbacks end before the context is destroyed. */
static void
guest_fence_retired(void *data)
{
   struct guest_fence *f = data;
   vs_context_expect_commands(f->ctx);
   f->retire(f->data);
   free(f);
}

bool
vs_context_submit_fence(struct vs_context *ctx, uint32_t ring_idx, vs_retire_fn retire, void *data)
{
   const char *why;
   if (!vs_context_settle_ring_wait(ctx))
      return false;
   struct guest_fence *f = malloc(sizeof(*f));
   if (!f) {
      vs_context_set_fatal(ctx, "out of memory for a fence");
      return false;
   }
   *f = (struct guest_fence){ ctx, retire, data };
   if (!vs_renderer_submit_fence(&ctx->renderer, ring_idx, guest_fence_retired, f, &why)) {
      free(f);
      vs_context_set_fatal(ctx, why);
      return false;
   }
   return true;
}

struct vs_ring *
vs_context_find_ring(struct vs_context *ctx, uint64_t ring_id)
{
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring *r = ctx->rings;
   while (r && r->id != ring_id)
      r = r->next;
   pthread_mutex_unlock(&ctx->rings_lock);
   return r;
}

bool
vs_context_add_ring(struct vs_context *ctx, struct vs_ring *ring)
{
   pthread_mutex_lock(&ctx->rings_lock);
   bool ok = !ctx->limits.rings || ctx->ring_count < ctx->limits.rings;
   if (ok) {
      ring->next = ctx->rings;
      ctx->rings = ring;
      ctx->ring_count++;
   }
   pthread_mutex_unlock(&ctx->rings_lock);
   return ok;
}

struct vs_ring *
vs_context_remove_ring(struct vs_context *ctx, uint64_t ring_id)
{
   pthread_mutex_lock(&ctx->rings_lock);
   struct vs_ring **p = &ctx->rings;
   while (*p && (*p)->id != ring_id)
      p = &(*p)->next;
   struct vs_ring *r = *p;
   if (r) {
      *p = r->next;
      ctx->ring_count--;
   }
   pthread_mutex_unlock(&ctx->rings_lock);
   return r;
}

static void *
monitor_thread(void *arg)
{
   struct vs_context *ctx = arg;
   os_thread_set_name("vs-monitor");
   pthread_mutex_lock(&ctx->monitor_lock);
   while (!ctx->monitor_stop) {
      pthread_mutex_lock(&ctx->rings_lock);
      for (struct vs_ring *r = ctx->rings; r; r = r->next) {
         if (r->monitor_period_us)
            vs_ring_set_alive(r);
      }
      pthread_mutex_unlock(&ctx->rings_lock);
      os_cond_timedwait_ns(&ctx->monitor_cond, &ctx->monitor_lock,
                           (uint64_t)ctx->monitor_period_us * 1000u);
   }
   pthread_mutex_unlock(&ctx->monitor_lock);
   return NULL;
}

#define RING_MONITOR_MIN_US 10000u

void
vs_context_monitor_rings(struct vs_context *ctx, uint32_t period_us)
{
   /* Report at twice the rate asked for: the guest's check is not aligned
    * with our timer. Never more often than every RING_MONITOR_MIN_US: a
    * guest that asks for microseconds (Mesa asks for 3 s) would have a
    * server thread spin for it; its own watchdog pays for the difference. */
   uint32_t want = period_us / 2 > RING_MONITOR_MIN_US ? period_us / 2 : RING_MONITOR_MIN_US;
   pthread_mutex_lock(&ctx->monitor_lock);
   if (!ctx->monitor_running) {
      ctx->monitor_period_us = want;
      ctx->monitor_running = pthread_create(&ctx->monitor_thread, NULL, monitor_thread, ctx) == 0;
   } else if (want < ctx->monitor_period_us) {
      ctx->monitor_period_us = want;
      pthread_cond_broadcast(&ctx->monitor_cond);
   }
   pthread_mutex_unlock(&ctx->monitor_lock);
}

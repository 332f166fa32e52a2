/* SPDX-License-Identifier: MIT */
/* One render-server context: the per-context socket's ops on a Venus
 * context (context/context.h). Runs on a worker thread or in a worker
 * process; either way it owns everything it touches. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/context.h"
#include "vm/resource_table.h"
#include "os/os.h"
#include "transport/vmm/render.h"
#include "transport/vmm/render_socket.h"
#include "worker/ledger_channel.h"
#include "worker/worker_link.h"
#include "worker/worker_process.h"
#include "base/log.h"

struct rctx {
   struct render_socket sock;
   uint32_t ctx_id;
   uint64_t resource_owner; /* its entries in the VM's resource table */
   char name[32];
   const struct vs_context_options *options;
   struct vs_context *ctx;
   /* The fence table from INIT: one u32 seqno per ring. */
   _Atomic uint32_t *seqnos;
   size_t seqnos_size;
   size_t seqnos_map_size;           /* os_map_guarded's whole pages */
   uint32_t ring_count;
   int eventfd; /* -1: none (QEMU passes none) */
   uint8_t *cmd;
   size_t cmd_size;
};

struct fence {
   struct rctx *rc;
   uint32_t ring;
   uint32_t seqno;
};

/* Runs when everything before the fence has finished on its ring (any
 * thread): publishes the seqno, never moving a ring backwards. */
static void
fence_retire(void *data)
{
   struct fence *f = data;
   struct rctx *rc = f->rc;
   _Atomic uint32_t *slot = &rc->seqnos[f->ring];
   uint32_t cur = atomic_load_explicit(slot, memory_order_relaxed);
   while ((int32_t)(f->seqno - cur) > 0 &&
          !atomic_compare_exchange_weak_explicit(slot, &cur, f->seqno, memory_order_release,
                                                 memory_order_relaxed))
      ;
   if (rc->eventfd >= 0) {
      uint64_t one = 1;
      ssize_t n = write(rc->eventfd, &one, sizeof(one));
      (void)n; /* a full counter is already readable */
   }
   free(f);
}

/* Logs the one line that ends this context (unless the context already
 * logged its own reason) and returns false. */
__attribute__((format(printf, 2, 3))) static bool
drop(struct rctx *rc, const char *fmt, ...)
{
   if (rc->ctx && !vs_context_running(rc->ctx))
      return false;
   char reason[384];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(reason, sizeof(reason), fmt, ap);
   va_end(ap);
   vs_error(rc->ctx_id, "dropping context \"%s\": %s", rc->name, reason);
   return false;
}

static const char *const op_names[RENDER_CONTEXT_OP_COUNT] = {
   "NOP", "INIT", "CREATE_RESOURCE", "IMPORT_RESOURCE", "DESTROY_RESOURCE", "SUBMIT_CMD", "SUBMIT_FENCE",
};
static const size_t op_sizes[RENDER_CONTEXT_OP_COUNT] = {
   sizeof(struct render_client_op_header),
   sizeof(struct render_context_op_init_request),
   sizeof(struct render_context_op_create_resource_request),
   sizeof(struct render_context_op_import_resource_request),
   sizeof(struct render_context_op_destroy_resource_request),
   sizeof(struct render_context_op_submit_cmd_request),
   sizeof(struct render_context_op_submit_fence_request),
};
/* Fds each op carries: [min, max]. */
static const int op_fds[RENDER_CONTEXT_OP_COUNT][2] = {
   { 0, 0 }, { 1, 2 }, { 0, 0 }, { 1, 1 }, { 0, 0 }, { 0, 0 }, { 0, 0 },
};

/* The context's peer probe (vs_context_watch_peer): the VMM closed this
 * context's socket. */
static bool
peer_alive(void *data)
{
   const struct rctx *rc = data;
   struct pollfd pfd = { .fd = rc->sock.fd, .events = POLLIN };
   return poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLHUP | POLLERR));
}

static bool
op_init(struct rctx *rc, const struct render_context_op_init_request *req, const int *fds, int fd_count)
{
   if (rc->ctx)
      return drop(rc, "second INIT");
   if ((req->flags & 0xff) != RENDER_CAPSET_VENUS)
      return drop(rc, "INIT for capset %u, only Venus (%u) is served", req->flags & 0xff, RENDER_CAPSET_VENUS);
   if (req->shmem_size < 4 || req->shmem_size > 4096 || req->shmem_size % 4)
      return drop(rc, "INIT with a fence table of %llu bytes (4 to 4096, a multiple of 4)",
                  (unsigned long long)req->shmem_size);
   struct stat st;
   if (fstat(fds[0], &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < req->shmem_size)
      return drop(rc, "INIT: the fence table fd is not shared memory of %llu bytes",
                  (unsigned long long)req->shmem_size);
   /* A table that can still shrink (a plain file, an unsealed memfd) is
    * mapped fault-safe: truncated, it ends this context, not the server. */
   size_t page = os_page_size();
   size_t map_size = ((size_t)req->shmem_size + page - 1) & ~(page - 1);
   void *map = os_map_guarded(fds[0], map_size, 0);
   if (!map)
      return drop(rc, "INIT: cannot map the fence table: %s", strerror(errno));
   rc->seqnos = map;
   rc->seqnos_size = (size_t)req->shmem_size;
   rc->seqnos_map_size = map_size;
   rc->ring_count = (uint32_t)(req->shmem_size / 4);
   if (rc->ring_count > RENDER_MAX_RINGS)
      rc->ring_count = RENDER_MAX_RINGS;
   for (uint32_t i = 0; i < rc->seqnos_size / 4; i++)
      atomic_store(&rc->seqnos[i], 0);
   if (fd_count > 1) {
      /* Written from retire callbacks: a pipe nobody reads (or any fd that
       * blocks) would hang them for good. */
      if (!os_fd_is_event(fds[1]))
         return drop(rc, "INIT: the second fd is not an eventfd");
      rc->eventfd = fcntl(fds[1], F_DUPFD_CLOEXEC, 0);
      if (rc->eventfd < 0 || os_set_nonblocking(rc->eventfd, true) < 0)
         return drop(rc, "INIT: %s", strerror(errno));
   }
   rc->ctx = vs_context_create(rc->ctx_id, rc->name, rc->options);
   if (!rc->ctx)
      return drop(rc, "cannot create the Venus context");
   vs_context_watch_peer(rc->ctx, peer_alive, rc);
   vs_debug(rc->ctx_id, "INIT: %u rings, %s", rc->ring_count, fd_count > 1 ? "eventfd" : "no eventfd");
   return true;
}

/* The VM channel finds a guest's image by its resource id: the blob's
 * memfd names the server memory (shared_registry.h) by inode. A worker
 * process tells its server (worker/worker_link.h), and the reply waits
 * until the server has it. */
static void
record_resource(struct rctx *rc, const struct render_context_op_create_resource_request *req, int fd)
{
   struct stat st;
   if (rc->options->worker_link)
      vs_worker_link_resource_created(rc->options->worker_link, req->res_id, fd, req->blob_size, req->blob_flags);
   if (!rc->options->resource_table || fstat(fd, &st) != 0)
      return;
   const struct vs_resource_info info = {
      .res_id = req->res_id, .ctx_id = rc->ctx_id, .owner = rc->resource_owner, .st_dev = (uint64_t)st.st_dev,
      .st_ino = (uint64_t)st.st_ino, .size = req->blob_size, .blob_flags = req->blob_flags,
   };
   if (!vs_vm_resources_add(rc->options->resource_table, &info))
      vs_debug(rc->ctx_id, "resource %u: not in the VM's resource table (listed already, or out of memory)",
               req->res_id);
}

static bool
op_create_resource(struct rctx *rc, const struct render_context_op_create_resource_request *req)
{
   struct render_context_op_create_resource_reply reply;
   memset(&reply, 0, sizeof(reply));
   reply.fd_type = VS_FD_TYPE_INVALID;
   struct vs_blob blob;
   bool ok = vs_context_create_blob(rc->ctx, req->res_id, VS_BLOB_TYPE_HOST3D, req->blob_flags, req->blob_size,
                                    req->blob_id, &blob);
   if (ok) {
      reply.fd_type = blob.fd_type;
      reply.map_info = blob.map_info;
      reply.vulkan_info = blob.vulkan_info;
      record_resource(rc, req, blob.fd);
      /* Known to the server before the VMM can let its guest name it. */
      if (!vs_worker_link_sync(rc->options->worker_link)) {
         close(blob.fd);
         return drop(rc, "the server did not take in resource %u in time", req->res_id);
      }
   }
   int err = render_socket_send(&rc->sock, &reply, sizeof(reply), ok ? &blob.fd : NULL, ok ? 1 : 0);
   if (ok)
      close(blob.fd);
   if (err)
      return drop(rc, "sending the CREATE_RESOURCE reply failed: %s", strerror(err));
   /* A failed blob already made the context fatal (and said why). */
   return ok;
}

static bool
op_submit_cmd(struct rctx *rc, const struct render_context_op_submit_cmd_request *req)
{
   if (req->size <= RENDER_CMD_INLINE)
      return vs_context_submit(rc->ctx, req->cmd, req->size);
   if (req->size > RENDER_MAX_CMD_SIZE)
      return drop(rc, "SUBMIT_CMD of %u bytes (limit %u)", req->size, RENDER_MAX_CMD_SIZE);
   if (rc->cmd_size < req->size) {
      free(rc->cmd);
      rc->cmd = malloc(req->size);
      rc->cmd_size = rc->cmd ? req->size : 0;
      if (!rc->cmd)
         return drop(rc, "SUBMIT_CMD of %u bytes: out of memory", req->size);
   }
   memcpy(rc->cmd, req->cmd, RENDER_CMD_INLINE);
   size_t rest = req->size - RENDER_CMD_INLINE, got;
   int fds[RENDER_MAX_FDS], fd_count;
   char why[160];
   enum render_recv_result r =
      render_socket_recv(&rc->sock, rc->cmd + RENDER_CMD_INLINE, rest, &got, fds, &fd_count, why, sizeof(why));
   if (r == RENDER_RECV_EOF)
      return drop(rc, "the socket closed before the rest of a SUBMIT_CMD of %u bytes", req->size);
   if (r == RENDER_RECV_ERROR)
      return drop(rc, "the rest of a SUBMIT_CMD of %u bytes: %s", req->size, why);
   for (int i = 0; i < fd_count; i++)
      close(fds[i]);
   if (fd_count || got != rest)
      return drop(rc, "the rest of a SUBMIT_CMD of %u bytes came as %zu bytes and %d fds, expected %zu and none",
                  req->size, got, fd_count, rest);
   bool ok = vs_context_submit(rc->ctx, rc->cmd, req->size);
   if (rc->cmd_size > (1u << 20)) {
      free(rc->cmd);
      rc->cmd = NULL;
      rc->cmd_size = 0;
   }
   return ok;
}

static bool
op_submit_fence(struct rctx *rc, const struct render_context_op_submit_fence_request *req)
{
   if (req->flags & ~(uint32_t)RENDER_FENCE_FLAG_MERGEABLE)
      return drop(rc, "SUBMIT_FENCE with unknown flags 0x%x", req->flags);
   if (req->ring_index >= rc->ring_count)
      return drop(rc, "SUBMIT_FENCE on ring %u (the fence table has %u)", req->ring_index, rc->ring_count);
   struct fence *f = malloc(sizeof(*f));
   if (!f)
      return drop(rc, "SUBMIT_FENCE: out of memory");
   *f = (struct fence){ rc, req->ring_index, req->seqno };
   if (!vs_context_submit_fence(rc->ctx, req->ring_index, fence_retire, f)) {
      free(f);
      return false;
   }
   return true;
}

static bool
handle(struct rctx *rc, const void *buf, size_t size, int *fds, int fd_count)
{
   uint32_t op;
   memcpy(&op, buf, sizeof(op));
   if (op >= RENDER_CONTEXT_OP_COUNT)
      return drop(rc, "unknown op %u (%zu bytes)", op, size);
   if (size != op_sizes[op])
      return drop(rc, "%s of %zu bytes, expected %zu", op_names[op], size, op_sizes[op]);
   if (fd_count < op_fds[op][0] || fd_count > op_fds[op][1])
      return drop(rc, "%s with %d fds, expected %d to %d", op_names[op], fd_count, op_fds[op][0], op_fds[op][1]);
   if (op != RENDER_CONTEXT_OP_NOP && op != RENDER_CONTEXT_OP_INIT && !rc->ctx)
      return drop(rc, "%s before INIT", op_names[op]);

   switch (op) {
   case RENDER_CONTEXT_OP_NOP:
      return true;
   case RENDER_CONTEXT_OP_INIT:
      return op_init(rc, buf, fds, fd_count);
   case RENDER_CONTEXT_OP_CREATE_RESOURCE:
      return op_create_resource(rc, buf);
   case RENDER_CONTEXT_OP_IMPORT_RESOURCE: {
      const struct render_context_op_import_resource_request *req = buf;
      /* The context takes the fd either way. */
      int fd = fds[0];
      fds[0] = -1;
      return vs_context_import_resource(rc->ctx, req->res_id, fd, (enum vs_fd_type)req->fd_type, req->size);
   }
   case RENDER_CONTEXT_OP_DESTROY_RESOURCE: {
      const struct render_context_op_destroy_resource_request *req = buf;
      vs_context_destroy_resource(rc->ctx, req->res_id);
      if (rc->options->resource_table)
         (void)vs_vm_resources_remove(rc->options->resource_table, rc->resource_owner, req->res_id);
      vs_worker_link_resource_destroyed(rc->options->worker_link, req->res_id);
      return true;
   }
   case RENDER_CONTEXT_OP_SUBMIT_CMD:
      return op_submit_cmd(rc, buf);
   case RENDER_CONTEXT_OP_SUBMIT_FENCE:
      return op_submit_fence(rc, buf);
   }
   return false;
}

void
render_context_serve(int fd, uint32_t ctx_id, const char *name, const struct vs_context_options *options,
                     enum render_framing framing)
{
   struct rctx rc = {
      .ctx_id = ctx_id, .resource_owner = vs_vm_resources_new_owner(), .options = options, .eventfd = -1,
   };
   snprintf(rc.name, sizeof(rc.name), "%s", name);
   const char *why;
   if (!render_socket_init(&rc.sock, fd, framing, &why)) {
      vs_error(ctx_id, "dropping context \"%s\": its socket is %s", rc.name, why);
      close(fd);
      return;
   }
   for (;;) {
      union {
         uint32_t op;
         uint64_t align;
         uint8_t bytes[RENDER_CONTEXT_MAX_REQUEST];
      } buf;
      size_t size;
      int fds[RENDER_MAX_FDS], fd_count;
      char reason[160];
      enum render_recv_result r =
         render_socket_recv(&rc.sock, &buf, sizeof(buf), &size, fds, &fd_count, reason, sizeof(reason));
      if (r == RENDER_RECV_EOF) {
         vs_info(ctx_id, "context \"%s\": the VMM closed its socket", rc.name);
         break;
      }
      if (r == RENDER_RECV_ERROR) {
         drop(&rc, "%s", reason);
         break;
      }
      bool ok = size >= sizeof(uint32_t) ? handle(&rc, &buf, size, fds, fd_count)
                                          : drop(&rc, "message of %zu bytes, shorter than an op", size);
      for (int i = 0; i < fd_count; i++) {
         if (fds[i] >= 0)
            close(fds[i]);
      }
      if (ok && rc.seqnos && os_map_faulted((void *)rc.seqnos))
         ok = drop(&rc, "the fence table shrank under the server (truncated)");
      if (ok && rc.ctx && !vs_context_check_memory(rc.ctx))
         ok = false;
      if (!ok)
         break;
   }
   /* The context first: it retires every pending fence (into the table,
    * still mapped) and guarantees no callback runs afterwards. */
   if (options->resource_table)
      vs_vm_resources_remove_owner(options->resource_table, rc.resource_owner);
   vs_worker_link_context_ended(options->worker_link);
   if (rc.ctx)
      vs_context_destroy(rc.ctx);
   if (rc.seqnos)
      os_unmap_guarded((void *)rc.seqnos, rc.seqnos_map_size, 0);
   if (rc.eventfd >= 0)
      close(rc.eventfd);
   free(rc.cmd);
   close(fd);
}

int
render_worker_main(int fd, uint32_t ctx_id, const char *name, uint32_t init_flags, pid_t server_pid, int tie_fd,
                   int ledger_fd, const struct vs_context_options *options, enum render_framing framing)
{
   /* The server that spawned us dies with its VMM's SIGKILL: so must we. */
   const struct os_worker_tie tie = { .server_pid = server_pid, .read_fd = tie_fd, .write_fd = -1 };
   const int keep[] = { fd, ledger_fd };
   if (server_pid > 0 && !os_worker_start(&tie, keep, ledger_fd >= 0 ? 2 : 1)) {
      vs_error(ctx_id, "dropping context \"%s\": its server %ld is gone", name, (long)server_pid);
      return 1;
   }
   /* Its log still goes to the server's stderr (it has no relay), but no
    * terminal is its own and the filter refuses keystrokes into one. */
   if (!vs_worker_leave_terminal(-1)) {
      vs_error(ctx_id, "dropping context \"%s\": its worker cannot leave the server's session", name);
      return 1;
   }
   vs_worker_enter_sandbox();
   vs_debug(ctx_id, "spawned worker for context \"%s\", VMM flags 0x%x", name, init_flags);
   struct vs_context_options worker_options = *options;
   struct vs_ledger_port *ledger = NULL;
   if (ledger_fd >= 0 && !(ledger = vs_ledger_remote_port_create(ledger_fd, ctx_id))) {
      close(fd);
      return 1;
   }
   worker_options.renderer.ledger = ledger;
   render_context_serve(fd, ctx_id, name, &worker_options, framing);
   vs_ledger_remote_port_destroy(ledger);
   return 0;
}

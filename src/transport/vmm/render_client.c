/* SPDX-License-Identifier: MIT */
/* The VMM's side of the render-server protocol (render_client.h). */
#include "transport/vmm/render_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"
#include "transport/vmm/render_protocol.h"
#include "transport/vmm/render_socket.h"

/* How long a worker may take to answer CREATE_CONTEXT or a blob: its start
 * may wait for its uid's worker starts (worker/start_ration.h). */
#define REPLY_TIMEOUT_MS 60000
/* A context's worker that takes no message for this long (stuck in the
 * host driver, or its guest owns it and stopped reading) is ended: the
 * device's thread, which every context of the VM and its scanout share,
 * waits no longer on one worker. */
#define SEND_TIMEOUT_S 10
/* The fence table: one u32 seqno per ring. */
#define FENCE_TABLE_BYTES (RENDER_MAX_RINGS * 4u)

struct pending_fence {
   uint32_t ring;
   uint32_t seqno;
   vs_retire_fn retire;
   void *data;
   struct pending_fence *next;
};

struct render_client_context {
   struct render_client *client;
   uint32_t ctx_id;
   char name[32];
   struct render_socket sock;
   _Atomic uint32_t *table; /* the fence table, written by the worker */
   size_t table_map_size;
   uint32_t next_seqno[RENDER_MAX_RINGS]; /* device thread only */
   atomic_bool ended;
   /* Why, once end_reason_set: for the device's line about the request
    * it refuses, where the worker said nothing itself. */
   char end_reason[96];
   atomic_bool end_reason_set;
   /* Under client->lock: */
   struct pending_fence *pending, **pending_tail;
   bool destroyed; /* the device let go of it: the thread frees it */
   struct render_client_context *next;
};

struct render_client {
   struct render_socket sock;
   uint32_t device_id;
   int eventfd;           /* every context's workers signal it */
   struct os_event control; /* the thread's: the list changed, or stop */
   pthread_t thread;
   pthread_mutex_t lock;
   struct render_client_context *contexts; /* under lock */
   bool stopping;                          /* under lock */
};

/* Under client->lock: every fence of `ctx` whose ring reached it (all of
 * them once the context ended), in order. */
static void
retire_reached(struct render_client_context *ctx, bool all)
{
   struct pending_fence **link = &ctx->pending;
   while (*link) {
      struct pending_fence *f = *link;
      const uint32_t done = atomic_load_explicit(&ctx->table[f->ring], memory_order_acquire);
      if (all || (int32_t)(done - f->seqno) >= 0) {
         *link = f->next;
         f->retire(f->data);
         free(f);
      } else {
         link = &f->next;
      }
   }
   ctx->pending_tail = link;
}

/* Ends `ctx` (its worker sees its socket shut); logged at debug level: the
 * worker logs its own reason. */
static void
end_context(struct render_client_context *ctx, const char *why)
{
   if (atomic_exchange(&ctx->ended, true))
      return;
   snprintf(ctx->end_reason, sizeof(ctx->end_reason), "%s", why);
   atomic_store(&ctx->end_reason_set, true);
   shutdown(ctx->sock.fd, SHUT_RDWR);
   /* The thread retires its fences. */
   os_event_signal(&ctx->client->control);
   vs_debug(ctx->ctx_id, "virtio-gpu %u: context %u (\"%s\") in its worker ended: %s", ctx->client->device_id,
            ctx->ctx_id, ctx->name, why);
}

static void
free_context(struct render_client_context *ctx)
{
   if (ctx->table)
      os_unmap_guarded((void *)ctx->table, ctx->table_map_size, 0);
   close(ctx->sock.fd);
   free(ctx);
}

static void *
client_thread(void *arg)
{
   struct render_client *client = arg;
   os_thread_set_name("vs-fences");
   struct pollfd *pfds = NULL;
   struct render_client_context **watched = NULL;
   size_t cap = 0;
   for (;;) {
      pthread_mutex_lock(&client->lock);
      struct render_client_context **link = &client->contexts;
      size_t n = 0;
      while (*link) {
         struct render_client_context *ctx = *link;
         if (ctx->destroyed) {
            *link = ctx->next;
            free_context(ctx);
            continue;
         }
         n++;
         link = &ctx->next;
      }
      const bool stopping = client->stopping;
      if (!stopping && n + 2 > cap) {
         size_t want = (n + 2) * 2;
         struct pollfd *p = realloc(pfds, want * sizeof(*p));
         if (p)
            pfds = p;
         struct render_client_context **w = realloc(watched, want * sizeof(*w));
         if (w)
            watched = w;
         if (p && w)
            cap = want;
      }
      size_t count = 0;
      if (!stopping && cap >= 2) {
         pfds[count++] = (struct pollfd){ .fd = client->control.read_fd, .events = POLLIN };
         pfds[count++] = (struct pollfd){ .fd = client->eventfd, .events = POLLIN };
         for (struct render_client_context *ctx = client->contexts; ctx && count < cap; ctx = ctx->next) {
            if (atomic_load(&ctx->ended))
               continue;
            watched[count] = ctx;
            /* Its hang-up only: the device thread reads its replies. */
            pfds[count++] = (struct pollfd){ .fd = ctx->sock.fd, .events = 0 };
         }
      }
      pthread_mutex_unlock(&client->lock);
      if (stopping)
         break;
      if (count == 0) {
         /* Out of memory for the poll set: try again shortly. */
         struct pollfd wait = { .fd = client->control.read_fd, .events = POLLIN };
         poll(&wait, 1, 100);
         continue;
      }
      if (poll(pfds, count, -1) < 0) {
         if (errno != EINTR)
            vs_error(0, "virtio-gpu %u: polling its contexts' workers: %s", client->device_id, strerror(errno));
         continue;
      }
      if (pfds[0].revents)
         os_event_drain(&client->control);
      if (pfds[1].revents) {
         uint64_t value;
         ssize_t got = read(client->eventfd, &value, sizeof(value));
         (void)got;
      }
      pthread_mutex_lock(&client->lock);
      for (size_t i = 2; i < count; i++) {
         if (pfds[i].revents & (POLLHUP | POLLERR | POLLNVAL))
            end_context(watched[i], "its worker hung up");
      }
      for (struct render_client_context *ctx = client->contexts; ctx; ctx = ctx->next) {
         if (!ctx->destroyed)
            retire_reached(ctx, atomic_load(&ctx->ended));
      }
      pthread_mutex_unlock(&client->lock);
   }
   free(pfds);
   free(watched);
   return NULL;
}

struct render_client *
render_client_create(int fd, uint32_t device_id)
{
   struct render_client *client = calloc(1, sizeof(*client));
   const char *why = "out of memory";
   if (!client)
      goto fail;
   client->device_id = device_id;
   client->eventfd = -1;
   if (!render_socket_init(&client->sock, fd, RENDER_FRAMING_SEQPACKET, &why))
      goto fail;
   if (os_event_init(&client->control) != 0) {
      why = strerror(errno);
      goto fail;
   }
   struct os_event wake;
   if (os_event_init(&wake) != 0) {
      why = strerror(errno);
      os_event_fini(&client->control);
      goto fail;
   }
   /* Workers write it (render_context.c checks it is an eventfd); this
    * thread only reads it. */
   client->eventfd = wake.read_fd;
   if (wake.write_fd != wake.read_fd)
      close(wake.write_fd);
   const struct render_client_op_init_request init = {
      .op = RENDER_CLIENT_OP_INIT, .flags = RENDER_VMM_FLAG_VENUS | RENDER_VMM_FLAG_NO_VIRGL,
   };
   int err = render_socket_send(&client->sock, &init, sizeof(init), NULL, 0);
   if (!err)
      err = pthread_mutex_init(&client->lock, NULL);
   if (!err && (err = pthread_create(&client->thread, NULL, client_thread, client)) != 0)
      pthread_mutex_destroy(&client->lock);
   if (err) {
      why = strerror(err);
      close(client->eventfd);
      os_event_fini(&client->control);
      goto fail;
   }
   return client;
fail:
   vs_error(0, "virtio-gpu %u: no render server for its contexts: %s", device_id, why);
   close(fd);
   free(client);
   return NULL;
}

void
render_client_destroy(struct render_client *client)
{
   if (!client)
      return;
   pthread_mutex_lock(&client->lock);
   client->stopping = true;
   pthread_mutex_unlock(&client->lock);
   os_event_signal(&client->control);
   pthread_join(client->thread, NULL);
   while (client->contexts) {
      struct render_client_context *ctx = client->contexts;
      client->contexts = ctx->next;
      free_context(ctx);
   }
   pthread_mutex_destroy(&client->lock);
   close(client->eventfd);
   os_event_fini(&client->control);
   close(client->sock.fd);
   free(client);
}

/* Waits for the one reply on `sock` (`size` bytes exactly, at most one
 * fd, *fd -1 when none came). False with *why set otherwise. */
static bool
await_reply(struct render_socket *sock, void *reply, size_t size, int *fd, char *why, size_t why_size)
{
   *fd = -1;
   struct pollfd pfd = { .fd = sock->fd, .events = POLLIN };
   int r;
   do
      r = poll(&pfd, 1, REPLY_TIMEOUT_MS);
   while (r < 0 && errno == EINTR);
   if (r <= 0) {
      snprintf(why, why_size, "%s", r == 0 ? "no reply within 60 s" : strerror(errno));
      return false;
   }
   size_t got;
   int fds[RENDER_MAX_FDS], fd_count = 0;
   const enum render_recv_result res = render_socket_recv(sock, reply, size, &got, fds, &fd_count, why, why_size);
   if (res == RENDER_RECV_EOF)
      snprintf(why, why_size, "it hung up");
   if (res != RENDER_RECV_OK)
      return false;
   if (got != size || fd_count > 1) {
      for (int i = 0; i < fd_count; i++)
         close(fds[i]);
      snprintf(why, why_size, "a reply of %zu bytes and %d fds (%zu bytes and at most 1 fd expected)", got, fd_count,
               size);
      return false;
   }
   if (fd_count)
      *fd = fds[0];
   return true;
}

struct render_client_context *
render_client_context_create(struct render_client *client, uint32_t ctx_id, const char *name)
{
   struct render_client_op_create_context_request req = { .op = RENDER_CLIENT_OP_CREATE_CONTEXT, .ctx_id = ctx_id };
   snprintf(req.ctx_name, sizeof(req.ctx_name), "%s", name);
   struct render_client_op_create_context_reply reply;
   char why[200] = "";
   int fd = -1;
   int err = render_socket_send(&client->sock, &req, sizeof(req), NULL, 0);
   if (err) {
      snprintf(why, sizeof(why), "CREATE_CONTEXT: %s", strerror(err));
   } else if (!await_reply(&client->sock, &reply, sizeof(reply), &fd, why, sizeof(why))) {
      /* The render server is the device's one way to its workers. */
   } else if (!reply.ok || fd < 0) {
      snprintf(why, sizeof(why), "the render server refused it (its line says why)");
   }
   struct render_client_context *ctx = why[0] ? NULL : calloc(1, sizeof(*ctx));
   const char *sock_why = NULL;
   if (!why[0] && !ctx)
      snprintf(why, sizeof(why), "out of memory");
   else if (ctx && !render_socket_init(&ctx->sock, fd, RENDER_FRAMING_SEQPACKET, &sock_why))
      snprintf(why, sizeof(why), "its socket is %s", sock_why);
   else if (ctx && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = SEND_TIMEOUT_S },
                              sizeof(struct timeval)) != 0)
      snprintf(why, sizeof(why), "its socket takes no send timeout: %s", strerror(errno));
   if (why[0]) {
      if (fd >= 0)
         close(fd);
      free(ctx);
      vs_warn(ctx_id, "virtio-gpu %u: no worker for context %u (\"%s\"): %s", client->device_id, ctx_id, name, why);
      return NULL;
   }
   ctx->client = client;
   ctx->ctx_id = ctx_id;
   snprintf(ctx->name, sizeof(ctx->name), "%s", name);
   ctx->pending_tail = &ctx->pending;
   /* The fence table, sealed: a worker cannot shrink it under us. */
   int table = os_shm_create("vs-fence-table", FENCE_TABLE_BYTES);
   if (table >= 0)
      os_shm_seal_size(table);
   ctx->table_map_size = os_page_size();
   ctx->table = table >= 0 ? os_map_guarded(table, ctx->table_map_size, 0) : NULL;
   const struct render_context_op_init_request init = {
      .op = RENDER_CONTEXT_OP_INIT, .flags = RENDER_CAPSET_VENUS, .shmem_size = FENCE_TABLE_BYTES,
   };
   const int fds[2] = { table, client->eventfd };
   err = ctx->table ? render_socket_send(&ctx->sock, &init, sizeof(init), fds, 2) : errno;
   if (table >= 0)
      close(table);
   if (err) {
      vs_warn(ctx_id, "virtio-gpu %u: no worker for context %u (\"%s\"): its fence table: %s", client->device_id,
              ctx_id, name, strerror(err));
      /* Never listed: its worker sees its socket close. */
      free_context(ctx);
      return NULL;
   }
   pthread_mutex_lock(&client->lock);
   ctx->next = client->contexts;
   client->contexts = ctx;
   pthread_mutex_unlock(&client->lock);
   os_event_signal(&client->control);
   return ctx;
}

void
render_client_context_destroy(struct render_client_context *ctx)
{
   if (!ctx)
      return;
   struct render_client *client = ctx->client;
   const struct render_client_op_destroy_context_request req = {
      .op = RENDER_CLIENT_OP_DESTROY_CONTEXT, .ctx_id = ctx->ctx_id,
   };
   (void)render_socket_send(&client->sock, &req, sizeof(req), NULL, 0);
   pthread_mutex_lock(&client->lock);
   end_context(ctx, "destroyed");
   retire_reached(ctx, true);
   ctx->destroyed = true;
   pthread_mutex_unlock(&client->lock);
   os_event_signal(&client->control);
}

bool
render_client_context_running(const struct render_client_context *ctx)
{
   return !atomic_load(&ctx->ended);
}

const char *
render_client_context_end_reason(const struct render_client_context *ctx)
{
   return atomic_load(&ctx->end_reason_set) ? ctx->end_reason : NULL;
}

/* Sends one op; a failure ends the context. */
static bool
send_op(struct render_client_context *ctx, const void *op, size_t size, const int *fds, int fd_count)
{
   if (atomic_load(&ctx->ended))
      return false;
   const int err = render_socket_send(&ctx->sock, op, size, fds, fd_count);
   if (err) {
      char why[96];
      if (err == EAGAIN || err == EWOULDBLOCK)
         snprintf(why, sizeof(why), "its worker took no message for %d s", SEND_TIMEOUT_S);
      else
         snprintf(why, sizeof(why), "sending to its worker: %s", strerror(err));
      end_context(ctx, why);
      return false;
   }
   return true;
}

bool
render_client_context_submit(struct render_client_context *ctx, const void *cmds, size_t size)
{
   if (size > RENDER_MAX_CMD_SIZE) {
      end_context(ctx, "a submission larger than the protocol carries");
      return false;
   }
   struct render_context_op_submit_cmd_request req = { .op = RENDER_CONTEXT_OP_SUBMIT_CMD, .size = (uint32_t)size };
   const size_t inline_size = size < RENDER_CMD_INLINE ? size : RENDER_CMD_INLINE;
   memcpy(req.cmd, cmds, inline_size);
   if (!send_op(ctx, &req, sizeof(req), NULL, 0))
      return false;
   return size <= RENDER_CMD_INLINE || send_op(ctx, (const uint8_t *)cmds + RENDER_CMD_INLINE,
                                               size - RENDER_CMD_INLINE, NULL, 0);
}

/* Whether `fd` is what a worker's reply says it is: shared memory of at
 * least `size` bytes that can no longer shrink (where the OS has seals:
 * elsewhere whoever maps it maps it fault-safe), or a dma-buf as large. */
static bool
blob_fd_checks_out(int fd, enum vs_fd_type type, uint64_t size, char *why, size_t why_size)
{
   struct stat st;
   if (fstat(fd, &st) != 0) {
      snprintf(why, why_size, "fstat: %s", strerror(errno));
      return false;
   }
   if (type == VS_FD_TYPE_SHM) {
      if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size || (os_shm_has_seals() && !os_fd_size_sealed(fd))) {
         snprintf(why, why_size, "its shared memory is not %s of %llu bytes",
                  os_shm_has_seals() ? "a sealed memfd" : "a file", (unsigned long long)size);
         return false;
      }
      return true;
   }
   const off_t end = lseek(fd, 0, SEEK_END);
   if (type != VS_FD_TYPE_DMABUF || S_ISREG(st.st_mode) || end < 0 || (uint64_t)end < size) {
      snprintf(why, why_size, "an fd of type %d that is no dma-buf of %llu bytes", (int)type,
               (unsigned long long)size);
      return false;
   }
   return true;
}

bool
render_client_context_create_blob(struct render_client_context *ctx, uint32_t res_id, uint32_t flags, uint64_t size,
                                  uint64_t blob_id, struct vs_blob *out)
{
   const struct render_context_op_create_resource_request req = {
      .op = RENDER_CONTEXT_OP_CREATE_RESOURCE, .res_id = res_id, .blob_id = blob_id, .blob_size = size,
      .blob_flags = flags,
   };
   if (!send_op(ctx, &req, sizeof(req), NULL, 0))
      return false;
   struct render_context_op_create_resource_reply reply;
   char why[200];
   int fd;
   if (!await_reply(&ctx->sock, &reply, sizeof(reply), &fd, why, sizeof(why))) {
      end_context(ctx, why);
      return false;
   }
   if (reply.fd_type == VS_FD_TYPE_INVALID && fd < 0) {
      /* Refused: the worker said why and ends the context, as one in this
       * process would at once. */
      end_context(ctx, "its worker refused a blob");
      return false;
   }
   if (fd < 0 || (reply.fd_type != VS_FD_TYPE_SHM && reply.fd_type != VS_FD_TYPE_DMABUF &&
                  reply.fd_type != VS_FD_TYPE_OPAQUE)) {
      snprintf(why, sizeof(why), "resource %u: a reply of fd type %d %s an fd", res_id, reply.fd_type,
               fd < 0 ? "without" : "with");
   } else if (reply.fd_type != VS_FD_TYPE_OPAQUE) {
      char what[120];
      if (!blob_fd_checks_out(fd, (enum vs_fd_type)reply.fd_type, size, what, sizeof(what))) {
         snprintf(why, sizeof(why), "resource %u: %s", res_id, what);
      } else {
         why[0] = '\0';
      }
   } else {
      why[0] = '\0';
   }
   if (why[0]) {
      if (fd >= 0)
         close(fd);
      vs_warn(ctx->ctx_id, "virtio-gpu %u: context %u (\"%s\"): its worker broke the protocol: %s",
              ctx->client->device_id, ctx->ctx_id, ctx->name, why);
      end_context(ctx, why);
      return false;
   }
   *out = (struct vs_blob){
      .fd = fd, .fd_type = (enum vs_fd_type)reply.fd_type, .map_info = reply.map_info,
      .vulkan_info = reply.vulkan_info,
   };
   return true;
}

bool
render_client_context_import(struct render_client_context *ctx, uint32_t res_id, int fd, enum vs_fd_type fd_type,
                             uint64_t size)
{
   const struct render_context_op_import_resource_request req = {
      .op = RENDER_CONTEXT_OP_IMPORT_RESOURCE, .res_id = res_id, .fd_type = fd_type, .size = size,
   };
   const bool ok = send_op(ctx, &req, sizeof(req), &fd, 1);
   close(fd);
   return ok;
}

void
render_client_context_destroy_resource(struct render_client_context *ctx, uint32_t res_id)
{
   const struct render_context_op_destroy_resource_request req = {
      .op = RENDER_CONTEXT_OP_DESTROY_RESOURCE, .res_id = res_id,
   };
   (void)send_op(ctx, &req, sizeof(req), NULL, 0);
}

bool
render_client_context_submit_fence(struct render_client_context *ctx, uint32_t ring_idx, vs_retire_fn retire,
                                   void *data)
{
   if (ring_idx >= RENDER_MAX_RINGS) {
      vs_warn(ctx->ctx_id, "virtio-gpu %u: context %u (\"%s\"): a fence on ring %u (the rings are 0 to %u); the "
              "context ends", ctx->client->device_id, ctx->ctx_id, ctx->name, ring_idx, RENDER_MAX_RINGS - 1);
      end_context(ctx, "a fence on a ring outside the table");
      return false;
   }
   struct pending_fence *f = malloc(sizeof(*f));
   if (!f) {
      end_context(ctx, "out of memory");
      return false;
   }
   const uint32_t seqno = ++ctx->next_seqno[ring_idx];
   *f = (struct pending_fence){ .ring = ring_idx, .seqno = seqno, .retire = retire, .data = data };
   /* Listed before the worker can retire it. */
   struct render_client *client = ctx->client;
   pthread_mutex_lock(&client->lock);
   *ctx->pending_tail = f;
   ctx->pending_tail = &f->next;
   pthread_mutex_unlock(&client->lock);
   const struct render_context_op_submit_fence_request req = {
      .op = RENDER_CONTEXT_OP_SUBMIT_FENCE, .ring_index = ring_idx, .seqno = seqno,
   };
   if (!send_op(ctx, &req, sizeof(req), NULL, 0))
      os_event_signal(&client->control); /* the thread retires it with the context */
   return true;
}

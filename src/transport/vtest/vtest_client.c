/* SPDX-License-Identifier: MIT */
#include "transport/vtest/vtest_client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "os/os.h"
#include "base/ledger.h"
#include "base/log.h"
#include "base/parcel.h"
#include "context/context.h"
#include "worker/activity.h"
#include "worker/checkpoint.h"
#include "transport/vtest/vtest_protocol.h"
#include "transport/vtest/vtest_sync.h"
#include "worker/worker_link.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare() set SO_NOSIGPIPE on the socket */
#endif

_Static_assert(VS_CAPSET_VENUS_SIZE % 4 == 0, "capset replies are whole words");

/* Payload buffers above this size are released after use, so one large
 * submit does not pin memory for the rest of the connection. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct client {
   int fd;
   uint32_t ctx_id;
   bool have_renderer;   /* CREATE_RENDERER seen */
   bool context_inited;  /* CONTEXT_INIT seen */
   bool peer_gone;       /* the session ended because the peer disconnected */
   char name[VTEST_MAX_RENDERER_NAME];
   const struct vs_context_options *options;
   struct vs_context *ctx;
   uint32_t next_res_id; /* vtest resource ids are the transport's to pick */
   struct vtest_sync_table *syncs;
   uint32_t *buf;
   size_t buf_size;
   size_t buf_charged;   /* of buf_size, what limits.ledger was charged */
   struct vtest_client_limits limits;
   uint64_t deadline_ns; /* the current message must arrive by then; 0: none */
   uint64_t work_due_ns; /* until its first SUBMIT_CMD2: when its slot is freed; 0: none */
   int hand_over_fd;     /* vtest_client_move's; -1: none */
   uint64_t hand_over_retry_ns; /* an asked hand-over, refused, is asked again then; 0: none */
   unsigned hand_over_refusals; /* of the hand-over asked last */
   int checkpoint_fd;           /* vtest_client_move's; -1: none */
   uint32_t checkpoint_quiet_ms;
   uint64_t checkpoint_seen_ns; /* the activity the last checkpoint (or its try) saw */
   atomic_bool checkpoint_lost; /* the server could not be told of one spoiled: no more */
};

/* Logs the one error line for this client and ends its session. A context
 * that turned fatal has already logged its own reason. */
__attribute__((format(printf, 2, 3))) static bool
drop(struct client *c, const char *fmt, ...)
{
   if (c->ctx && !vs_context_running(c->ctx))
      return false;
   char reason[512];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(reason, sizeof(reason), fmt, ap);
   va_end(ap);
   vs_error(c->ctx_id, "dropping client: %s", reason);
   return false;
}

static bool
disconnected(struct client *c)
{
   vs_info(c->ctx_id, "client \"%s\" disconnected", c->name);
   c->peer_gone = true;
   return false;
}

/* The peer hung up inside a message: a client killed mid-send, not a
 * protocol violation, so a warning rather than a "dropping client" error. */
__attribute__((format(printf, 2, 3))) static bool
closed_mid_message(struct client *c, const char *fmt, ...)
{
   char where[256];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(where, sizeof(where), fmt, ap);
   va_end(ap);
   vs_warn(c->ctx_id, "client \"%s\" disconnected %s", c->name, where);
   c->peer_gone = true;
   return false;
}

/* Waits until `fd` is readable or the deadline (0: none) passes. False
 * with errno ETIMEDOUT past the deadline. */
static bool
wait_readable(int fd, uint64_t deadline_ns)
{
   if (!deadline_ns)
      return true;
   for (;;) {
      uint64_t now = os_now_ns();
      if (now >= deadline_ns) {
         errno = ETIMEDOUT;
         return false;
      }
      uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int ret = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
      if (ret > 0)
         return true;
      if (ret < 0 && errno != EINTR)
         return false;
   }
}

/* The guest usually sends its next request within microseconds of our
 * reply (a map right after an allocation, a submit after a wait), and a
 * message's payload within a microsecond of its header (Mesa writes them
 * apart). Waking a blocked thread costs more than that on many hosts, so
 * look for it for a short while (polling the socket, yielding the CPU
 * between looks) before blocking. */
#define SOCKET_SPIN_NS 50000ull

static bool
socket_readable(void *data)
{
   struct pollfd pfd = { .fd = *(const int *)data, .events = POLLIN };
   return poll(&pfd, 1, 0) != 0;
}

static bool
await_request(int fd)
{
   return os_poll_ns(socket_readable, &fd, SOCKET_SPIN_NS);
}

/* Reads up to `size` bytes, looping over short reads and EINTR, by
 * `deadline_ns` (0: no deadline). Returns the bytes read (fewer only at
 * EOF) or -1 with errno set (ETIMEDOUT past the deadline). What has
 * arrived is taken at once, without a poll first. */
static ssize_t
read_full(int fd, void *buf, size_t size, uint64_t deadline_ns)
{
   size_t done = 0;
   while (done < size) {
      ssize_t n = recv(fd, (char *)buf + done, size - done, MSG_DONTWAIT);
      if (n > 0) {
         done += (size_t)n;
         continue;
      }
      if (n == 0)
         break;
      if (errno == EINTR)
         continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTSOCK)
         return -1;
      if (errno != ENOTSOCK && await_request(fd))
         continue;
      if (!wait_readable(fd, deadline_ns))
         return -1;
      n = read(fd, (char *)buf + done, size - done);
      if (n > 0)
         done += (size_t)n;
      else if (n == 0)
         break;
      else if (errno != EINTR)
         return -1;
   }
   return (ssize_t)done;
}

static bool
read_failed(struct client *c, const char *what, int err)
{
   if (err == ECONNRESET)
      return disconnected(c);
   if (err == ETIMEDOUT)
      return drop(c, "%s stalled: not received within %u ms (limit message-timeout-ms)", what,
                  c->limits.message_timeout_ms);
   return drop(c, "reading %s failed: %s", what, strerror(err));
}

static bool
read_payload(struct client *c, const char *what, void *buf, size_t size)
{
   ssize_t n = read_full(c->fd, buf, size, c->deadline_ns);
   if (n < 0)
      return read_failed(c, what, errno);
   if ((size_t)n < size)
      return closed_mid_message(c, "after %zd of %zu payload bytes of %s", n, size, what);
   return true;
}

static bool
send_failed(struct client *c, int err)
{
   if (err == EPIPE || err == ECONNRESET)
      return disconnected(c);
   if (err == EAGAIN || err == EWOULDBLOCK)
      return drop(c, "the client stopped reading its replies: a reply was not taken within %u ms "
                  "(limit message-timeout-ms)", c->limits.message_timeout_ms);
   return drop(c, "sending a reply failed: %s", strerror(err));
}

static bool
send_reply(struct client *c, uint32_t id, const uint32_t *words, uint32_t count)
{
   uint32_t msg[VTEST_HDR_WORDS + 1 + VS_CAPSET_VENUS_SIZE / 4];
   if (count > sizeof(msg) / 4 - VTEST_HDR_WORDS)
      return drop(c, "internal error: reply of %u words", count);
   msg[VTEST_HDR_LEN] = count;
   msg[VTEST_HDR_ID] = id;
   if (count)
      memcpy(msg + VTEST_HDR_WORDS, words, count * 4u);

   const char *p = (const char *)msg;
   size_t left = (VTEST_HDR_WORDS + count) * 4u;
   while (left) {
      ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0)
         return send_failed(c, errno);
      p += n;
      left -= (size_t)n;
   }
   return true;
}

/* The fd travels in its own one-byte message: the client reads the fixed
 * reply with read() and only then calls recvmsg(). */
static bool
send_fd(struct client *c, int fd)
{
   char byte = 0;
   struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
   union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
   } control;
   memset(&control, 0, sizeof(control));
   struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control.buf,
      .msg_controllen = sizeof(control.buf),
   };
   struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
   cmsg->cmsg_level = SOL_SOCKET;
   cmsg->cmsg_type = SCM_RIGHTS;
   cmsg->cmsg_len = CMSG_LEN(sizeof(int));
   memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

   for (;;) {
      ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
      if (n == 1)
         return true;
      if (n < 0 && errno == EINTR)
         continue;
      return send_failed(c, n < 0 ? errno : EPIPE);
   }
}

/* Sends a fixed reply followed by an fd, and closes the fd either way. */
static bool
send_reply_with_fd(struct client *c, uint32_t id, const uint32_t *words, uint32_t count, int fd)
{
   bool ok = send_reply(c, id, words, count) && send_fd(c, fd);
   close(fd);
   return ok;
}

static void
release_payload_buffer(struct client *c)
{
   if (c->buf_charged)
      c->limits.ledger->give(c->limits.ledger, VS_LEDGER_BUFFERED, c->buf_charged);
   free(c->buf);
   c->buf = NULL;
   c->buf_size = 0;
   c->buf_charged = 0;
}

/* A buffer for a payload of `size` bytes, within the per-client and the
 * global limits on buffered bytes; NULL after dropping the client. The
 * server's ledger counts the global one: a buffer no larger than the one
 * a client keeps anyway costs no round trip. */
static uint32_t *
payload_buffer(struct client *c, const char *what, size_t size)
{
   if (size <= c->buf_size)
      return c->buf;
   release_payload_buffer(c);
   const struct vtest_client_limits *l = &c->limits;
   if (l->partial_bytes && size > l->partial_bytes) {
      drop(c, "%s payload of %zu bytes exceeds the per-client buffer limit of %llu bytes "
           "(limit partial-mib)", what, size, (unsigned long long)l->partial_bytes);
      return NULL;
   }
   if (l->ledger && size > KEEP_BUFFER_BYTES) {
      struct vs_ledger_answer answer;
      l->ledger->charge(l->ledger, VS_LEDGER_BUFFERED, size, &answer);
      if (!answer.granted && !answer.limit) {
         drop(c, "%s payload of %zu bytes: the server's ledger did not grant it (logged above)", what, size);
         return NULL;
      }
      if (!answer.granted && answer.peer) {
         drop(c, "%s payload of %zu bytes: the clients of its uid together already buffer %llu bytes "
              "(limit partial-per-peer-mib: %llu bytes)", what, size, (unsigned long long)answer.held,
              (unsigned long long)answer.limit);
         return NULL;
      }
      if (!answer.granted) {
         drop(c, "%s payload of %zu bytes: all clients together already buffer %llu bytes "
              "(limit partial-total-mib: %llu bytes)", what, size, (unsigned long long)answer.held,
              (unsigned long long)answer.limit);
         return NULL;
      }
      c->buf_charged = size;
   }
   c->buf = malloc(size);
   if (!c->buf) {
      drop(c, "%s payload of %zu bytes: out of memory", what, size);
      release_payload_buffer(c);
      return NULL;
   }
   c->buf_size = size;
   return c->buf;
}

static void
trim_payload_buffer(struct client *c)
{
   if (c->buf_size > KEEP_BUFFER_BYTES)
      release_payload_buffer(c);
}

/* The context's peer probe (vs_context_watch_peer): a hung-up socket
 * reports POLLHUP even with requests still unread, which a client that was
 * killed in a wait leaves. */
static bool
peer_alive(void *data)
{
   const struct client *c = data;
   struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
   return poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLHUP | POLLERR));
}

/* The context's checkpoints spoiled (vs_context_watch_checkpoints): on a
 * ring's thread, or this one's before it reads a request. */
static void
checkpoint_spoiled(void *data)
{
   struct client *c = data;
   if (!vs_checkpoint_spoil(c->checkpoint_fd) && !atomic_exchange(&c->checkpoint_lost, true))
      vs_warn(c->ctx_id, "checkpoint: the server was not told that the client moved on (%s); none is taken any more",
              strerror(errno));
}

/* What a new or restored context tells this client of. */
static void
watch_context(struct client *c)
{
   if (c->limits.activity)
      vs_context_track_activity(c->ctx, &c->limits.activity->last_ns);
   vs_context_watch_peer(c->ctx, peer_alive, c);
   if (c->checkpoint_fd >= 0)
      vs_context_watch_checkpoints(c->ctx, checkpoint_spoiled, c);
}

/* The Venus context is created by CONTEXT_INIT, or by the first command
 * that needs it from clients that skip CONTEXT_INIT. */
static bool
ensure_context(struct client *c)
{
   if (c->ctx)
      return true;
   c->ctx = vs_context_create(c->ctx_id, c->name, c->options);
   if (!c->ctx)
      return drop(c, "cannot create the Venus context");
   watch_context(c);
   return true;
}

static uint64_t
words_to_u64(uint32_t lo, uint32_t hi)
{
   return (uint64_t)lo | (uint64_t)hi << 32;
}

/* The name only labels logs: kept printable so it cannot forge lines. */
static void
set_name(struct client *c, const char *raw, size_t len)
{
   size_t n = 0;
   while (n < len && raw[n] != '\0' && n < sizeof(c->name) - 1) {
      unsigned char ch = (unsigned char)raw[n];
      c->name[n] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
      n++;
   }
   c->name[n] = '\0';
}

static bool
cmd_create_renderer(struct client *c, uint32_t len)
{
   if (c->have_renderer)
      return drop(c, "second CREATE_RENDERER");
   if (len == 0 || len > VTEST_MAX_RENDERER_NAME)
      return drop(c, "CREATE_RENDERER name of %u bytes (limit %u)", len,
                  VTEST_MAX_RENDERER_NAME);

   /* The length counts bytes and the payload is unpadded. */
   char raw[VTEST_MAX_RENDERER_NAME];
   if (!read_payload(c, "CREATE_RENDERER", raw, len))
      return false;

   set_name(c, raw, len);
   c->have_renderer = true;
   vs_debug(c->ctx_id, "renderer name \"%s\"", c->name);
   return true;
}

static bool
cmd_ping_protocol_version(struct client *c, const uint32_t *words)
{
   return send_reply(c, VTEST_CMD_PING_PROTOCOL_VERSION, NULL, 0);
}

/* Nothing is ever busy: a resource's work is done by the time the socket
 * loop reads the next command. Mesa sends this only as the ping probe. */
static bool
cmd_resource_busy_wait(struct client *c, const uint32_t *words)
{
   const uint32_t busy = 0;
   return send_reply(c, VTEST_CMD_RESOURCE_BUSY_WAIT, &busy, 1);
}

/* Answering a lower version than asked leaves the client to decide. */
static bool
cmd_protocol_version(struct client *c, const uint32_t *words)
{
   const uint32_t version = words[0] < VTEST_PROTOCOL_VERSION ? words[0] : VTEST_PROTOCOL_VERSION;
   return send_reply(c, VTEST_CMD_PROTOCOL_VERSION, &version, 1);
}

static bool
cmd_get_param(struct client *c, const uint32_t *words)
{
   uint32_t reply[2] = { 0, 0 }; /* valid, value */
   if (words[0] == VTEST_PARAM_MAX_TIMELINE_COUNT) {
      reply[0] = 1;
      reply[1] = VS_MAX_TIMELINES;
   }
   return send_reply(c, VTEST_CMD_GET_PARAM, reply, 2);
}

static bool
cmd_get_capset(struct client *c, const uint32_t *words)
{
   uint32_t reply[1 + VS_CAPSET_VENUS_SIZE / 4]; /* valid, capset */
   memset(reply, 0, sizeof(reply));
   if (!vs_capset_get(words[0], words[1], reply + 1, VS_CAPSET_VENUS_SIZE)) {
      vs_debug(c->ctx_id, "capset %u version %u not supported", words[0], words[1]);
      /* Only the valid word: the client reads no capset after valid = 0. */
      return send_reply(c, VTEST_CMD_GET_CAPSET, reply, 1);
   }
   reply[0] = 1;
   return send_reply(c, VTEST_CMD_GET_CAPSET, reply, 1 + VS_CAPSET_VENUS_SIZE / 4);
}

static bool
cmd_context_init(struct client *c, const uint32_t *words)
{
   if (words[0] != VS_CAPSET_VENUS)
      return drop(c, "CONTEXT_INIT for capset %u, only Venus (%u) is served", words[0],
                  VS_CAPSET_VENUS);
   if (c->context_inited)
      return drop(c, "second CONTEXT_INIT");
   c->context_inited = true;
   return ensure_context(c);
}

static bool
cmd_resource_create_blob(struct client *c, const uint32_t *words)
{
   if (!ensure_context(c))
      return false;
   const uint32_t type = words[VTEST_BLOB_TYPE];
   const uint32_t flags = words[VTEST_BLOB_FLAGS];
   const uint64_t size = words_to_u64(words[VTEST_BLOB_SIZE_LO], words[VTEST_BLOB_SIZE_HI]);
   const uint64_t blob_id = words_to_u64(words[VTEST_BLOB_ID_LO], words[VTEST_BLOB_ID_HI]);

   /* Ids are never reused: a wrap would take 2^32 blobs. */
   uint32_t res_id = ++c->next_res_id;
   struct vs_blob blob;
   if (res_id == 0 || !vs_context_create_blob(c->ctx, res_id, type, flags, size, blob_id, &blob)) {
      /* A context its ring made fatal meanwhile (the blob's memory never
       * came) leaves the client waiting for this reply, and Mesa's reader
       * spins on an end of file: the reply without its fd makes it abort
       * ("invalid cmsghdr") instead. */
      if (!vs_context_running(c->ctx))
         send_reply(c, VTEST_CMD_RESOURCE_CREATE_BLOB, &res_id, 1);
      return drop(c, "RESOURCE_CREATE_BLOB type %u flags 0x%x size %llu blob id %llu failed",
                  type, flags, (unsigned long long)size, (unsigned long long)blob_id);
   }
   /* A client cannot shrink it (os_shm_create) nor seal it further. */
   if (blob.fd_type == VS_FD_TYPE_SHM)
      os_shm_seal_final(blob.fd);
   /* The display knows its memory before the client can pass it there. */
   if (!vs_worker_link_sync(c->options->worker_link)) {
      close(blob.fd);
      return drop(c, "RESOURCE_CREATE_BLOB: the server did not take in the blob's memory in time");
   }
   return send_reply_with_fd(c, VTEST_CMD_RESOURCE_CREATE_BLOB, &res_id, 1, blob.fd);
}

static bool
cmd_resource_unref(struct client *c, const uint32_t *words)
{
   if (!c->ctx)
      return drop(c, "RESOURCE_UNREF of resource %u before any resource exists", words[0]);
   vs_context_destroy_resource(c->ctx, words[0]);
   return true;
}

static bool
sync_failure(struct client *c, const char *what, enum vtest_sync_result result, const char *held, uint32_t limit)
{
   switch (result) {
   case VTEST_SYNC_LIMIT:
      return drop(c, "%s: the client holds the most %s a client may (%u)", what, held, limit);
   case VTEST_SYNC_SYSTEM:
      return drop(c, "%s: %s", what, strerror(errno));
   default:
      return drop(c, "%s failed", what);
   }
}

static bool
cmd_sync_create(struct client *c, const uint32_t *words)
{
   uint32_t id;
   enum vtest_sync_result result =
      vtest_sync_create(c->syncs, words_to_u64(words[0], words[1]), &id);
   if (result != VTEST_SYNC_OK)
      return sync_failure(c, "SYNC_CREATE", result, "sync objects", VTEST_SYNC_MAX_SYNCS);
   return send_reply(c, VTEST_CMD_SYNC_CREATE, &id, 1);
}

static bool
cmd_sync_unref(struct client *c, const uint32_t *words)
{
   if (!vtest_sync_unref(c->syncs, words[0]))
      return drop(c, "SYNC_UNREF of unknown sync %u", words[0]);
   return true;
}

static bool
cmd_sync_read(struct client *c, const uint32_t *words)
{
   uint64_t value;
   if (!vtest_sync_read(c->syncs, words[0], &value))
      return drop(c, "SYNC_READ of unknown sync %u", words[0]);
   const uint32_t reply[2] = { (uint32_t)value, (uint32_t)(value >> 32) };
   return send_reply(c, VTEST_CMD_SYNC_READ, reply, 2);
}

static bool
cmd_sync_write(struct client *c, const uint32_t *words)
{
   if (!vtest_sync_write(c->syncs, words[0], words_to_u64(words[1], words[2])))
      return drop(c, "SYNC_WRITE of unknown sync %u", words[0]);
   return true;
}

/* Words: flags, timeout (ms), then the sync entries. The client polls the
 * fd we return with that timeout itself; the table only needs it to forget
 * waits the client has given up on. */
static bool
cmd_sync_wait(struct client *c, uint32_t len)
{
   if (len < VTEST_SYNC_WAIT_HDR_WORDS ||
       (len - VTEST_SYNC_WAIT_HDR_WORDS) % VTEST_SYNC_ENTRY_WORDS != 0)
      return drop(c, "SYNC_WAIT length %u is not %u + %u * count", len,
                  VTEST_SYNC_WAIT_HDR_WORDS, VTEST_SYNC_ENTRY_WORDS);
   const uint32_t count = (len - VTEST_SYNC_WAIT_HDR_WORDS) / VTEST_SYNC_ENTRY_WORDS;
   if (count > VTEST_MAX_WAIT_SYNCS)
      return drop(c, "SYNC_WAIT on %u syncs (limit %u)", count, VTEST_MAX_WAIT_SYNCS);

   uint32_t *words = payload_buffer(c, "SYNC_WAIT", (size_t)len * 4);
   if (!words)
      return false;
   if (!read_payload(c, "SYNC_WAIT", words, (size_t)len * 4))
      return false;

   const bool any = words[0] & VTEST_SYNC_WAIT_FLAG_ANY;
   int fd;
   uint32_t bad;
   enum vtest_sync_result result = vtest_sync_wait(
      c->syncs, any, words[1], words + VTEST_SYNC_WAIT_HDR_WORDS, count, &fd, &bad);
   if (result == VTEST_SYNC_UNKNOWN_ID)
      return drop(c, "SYNC_WAIT entry %u names unknown sync %u", bad,
                  words[VTEST_SYNC_WAIT_HDR_WORDS + bad * VTEST_SYNC_ENTRY_WORDS]);
   if (result != VTEST_SYNC_OK)
      return sync_failure(c, "SYNC_WAIT", result, "pending SYNC_WAITs", VTEST_SYNC_MAX_WAITERS);
   /* The waiting thread goes on at once or when a fence retires (which
    * says so again): its next commands follow either way. */
   if (c->ctx)
      vs_context_expect_commands(c->ctx);
   return send_reply_with_fd(c, VTEST_CMD_SYNC_WAIT, NULL, 0, fd);
}

/* Checks that a batch's non-empty range of words lies after the batch
 * headers and inside the payload. */
static bool
check_batch_range(struct client *c, uint32_t index, const char *what, uint64_t start,
                  uint64_t count, uint64_t headers_end, uint32_t len)
{
   if (count == 0 || (start >= headers_end && start + count <= len))
      return true;
   if (start < headers_end)
      return drop(c, "SUBMIT_CMD2 batch %u %s range [%llu, %llu) overlaps the %llu header words",
                  index, what, (unsigned long long)start, (unsigned long long)(start + count),
                  (unsigned long long)headers_end);
   return drop(c, "SUBMIT_CMD2 batch %u %s range [%llu, %llu) outside payload of %u words", index,
               what, (unsigned long long)start, (unsigned long long)(start + count), len);
}

static bool
run_batch(struct client *c, uint32_t index, const uint32_t *payload, const uint32_t *batch)
{
   const uint32_t cmd_size = batch[VTEST_BATCH_CMD_SIZE];
   const uint32_t sync_count = batch[VTEST_BATCH_SYNC_COUNT];
   const uint32_t ring_idx =
      batch[VTEST_BATCH_FLAGS] & VTEST_SUBMIT_FLAG_RING_IDX ? batch[VTEST_BATCH_RING_IDX] : 0;

   if (cmd_size == 0 && sync_count == 0)
      return true;
   if (!ensure_context(c))
      return false;

   /* Resolve the syncs first so an unknown id stops the batch before it
    * runs. */
   struct vtest_sync_signal *signal = NULL;
   if (sync_count) {
      const uint32_t *entries = payload + batch[VTEST_BATCH_SYNC_OFFSET];
      uint32_t bad;
      enum vtest_sync_result result =
         vtest_sync_signal_create(c->syncs, entries, sync_count, &signal, &bad);
      if (result == VTEST_SYNC_UNKNOWN_ID)
         return drop(c, "SUBMIT_CMD2 batch %u sync entry %u names unknown sync %u", index, bad,
                     entries[bad * VTEST_SYNC_ENTRY_WORDS]);
      if (result != VTEST_SYNC_OK)
         return sync_failure(c, "SUBMIT_CMD2", result, "sync entries of submissions not retired yet",
                             VTEST_SYNC_MAX_PENDING_ENTRIES);
   }

   if (cmd_size &&
       !vs_context_submit(c->ctx, payload + batch[VTEST_BATCH_CMD_OFFSET], (size_t)cmd_size * 4)) {
      if (signal)
         vtest_sync_signal_cancel(signal);
      return drop(c, "SUBMIT_CMD2 batch %u: the context rejected the command stream", index);
   }

   if (signal && !vs_context_submit_fence(c->ctx, ring_idx, vtest_sync_signal_retire, signal)) {
      vtest_sync_signal_cancel(signal);
      return drop(c, "SUBMIT_CMD2 batch %u: the context refused a fence on ring %u", index,
                  ring_idx);
   }
   return true;
}

/* Payload (all in words): batch count, a header per batch, then the
 * command streams and sync entries the headers point at. */
static bool
cmd_submit_cmd2(struct client *c, uint32_t len)
{
   if (len == 0)
      return drop(c, "SUBMIT_CMD2 without a batch count");
   c->work_due_ns = 0;
   if (len > VTEST_MAX_SUBMIT_WORDS)
      return drop(c, "SUBMIT_CMD2 of %u words (limit %u)", len, VTEST_MAX_SUBMIT_WORDS);

   uint32_t *payload = payload_buffer(c, "SUBMIT_CMD2", (size_t)len * 4);
   if (!payload)
      return false;
   if (!read_payload(c, "SUBMIT_CMD2", payload, (size_t)len * 4))
      return false;

   const uint32_t batch_count = payload[0];
   const uint64_t headers_end = 1 + (uint64_t)batch_count * VTEST_SUBMIT_BATCH_WORDS;
   if (headers_end > len)
      return drop(c, "SUBMIT_CMD2 batch count %u needs %llu header words, payload has %u",
                  batch_count, (unsigned long long)headers_end, len);

   /* Validate every batch before running any. */
   for (uint32_t i = 0; i < batch_count; i++) {
      const uint32_t *batch = payload + 1 + (size_t)i * VTEST_SUBMIT_BATCH_WORDS;
      const uint64_t cmd_offset = batch[VTEST_BATCH_CMD_OFFSET];
      const uint64_t cmd_size = batch[VTEST_BATCH_CMD_SIZE];
      const uint64_t sync_offset = batch[VTEST_BATCH_SYNC_OFFSET];
      const uint32_t sync_count = batch[VTEST_BATCH_SYNC_COUNT];
      const uint64_t sync_words = (uint64_t)sync_count * VTEST_SYNC_ENTRY_WORDS;

      if (!check_batch_range(c, i, "cmd", cmd_offset, cmd_size, headers_end, len))
         return false;
      if (sync_count > VTEST_MAX_WAIT_SYNCS)
         return drop(c, "SUBMIT_CMD2 batch %u has %u sync entries (limit %u)", i, sync_count,
                     VTEST_MAX_WAIT_SYNCS);
      if (!check_batch_range(c, i, "sync", sync_offset, sync_words, headers_end, len))
         return false;
      if ((batch[VTEST_BATCH_FLAGS] & VTEST_SUBMIT_FLAG_RING_IDX) &&
          batch[VTEST_BATCH_RING_IDX] >= VS_MAX_TIMELINES)
         return drop(c, "SUBMIT_CMD2 batch %u ring_idx %u out of range (limit %u)", i,
                     batch[VTEST_BATCH_RING_IDX], VS_MAX_TIMELINES);
   }

   bool ok = true;
   for (uint32_t i = 0; i < batch_count && ok; i++)
      ok = run_batch(c, i, payload, payload + 1 + (size_t)i * VTEST_SUBMIT_BATCH_WORDS);
   trim_payload_buffer(c);
   return ok;
}

struct fixed_cmd {
   uint32_t id;
   uint32_t len;
   const char *name;
   bool (*handle)(struct client *c, const uint32_t *words);
};

static const struct fixed_cmd fixed_cmds[] = {
   { VTEST_CMD_RESOURCE_UNREF, VTEST_LEN_RESOURCE_UNREF, "RESOURCE_UNREF", cmd_resource_unref },
   { VTEST_CMD_RESOURCE_BUSY_WAIT, VTEST_LEN_RESOURCE_BUSY_WAIT, "RESOURCE_BUSY_WAIT",
     cmd_resource_busy_wait },
   { VTEST_CMD_PING_PROTOCOL_VERSION, VTEST_LEN_PING_PROTOCOL_VERSION, "PING_PROTOCOL_VERSION",
     cmd_ping_protocol_version },
   { VTEST_CMD_PROTOCOL_VERSION, VTEST_LEN_PROTOCOL_VERSION, "PROTOCOL_VERSION",
     cmd_protocol_version },
   { VTEST_CMD_GET_PARAM, VTEST_LEN_GET_PARAM, "GET_PARAM", cmd_get_param },
   { VTEST_CMD_GET_CAPSET, VTEST_LEN_GET_CAPSET, "GET_CAPSET", cmd_get_capset },
   { VTEST_CMD_CONTEXT_INIT, VTEST_LEN_CONTEXT_INIT, "CONTEXT_INIT", cmd_context_init },
   { VTEST_CMD_RESOURCE_CREATE_BLOB, VTEST_LEN_RESOURCE_CREATE_BLOB, "RESOURCE_CREATE_BLOB",
     cmd_resource_create_blob },
   { VTEST_CMD_SYNC_CREATE, VTEST_LEN_SYNC_CREATE, "SYNC_CREATE", cmd_sync_create },
   { VTEST_CMD_SYNC_UNREF, VTEST_LEN_SYNC_UNREF, "SYNC_UNREF", cmd_sync_unref },
   { VTEST_CMD_SYNC_READ, VTEST_LEN_SYNC_READ, "SYNC_READ", cmd_sync_read },
   { VTEST_CMD_SYNC_WRITE, VTEST_LEN_SYNC_WRITE, "SYNC_WRITE", cmd_sync_write },
};

#define MAX_FIXED_WORDS 6

static bool
handle_command(struct client *c, uint32_t len, uint32_t id)
{
   /* Every session starts by naming the client. */
   if (!c->have_renderer && id != VTEST_CMD_CREATE_RENDERER)
      return drop(c, "VCMD %u before CREATE_RENDERER", id);

   switch (id) {
   case VTEST_CMD_CREATE_RENDERER:
      return cmd_create_renderer(c, len);
   case VTEST_CMD_SYNC_WAIT:
      return cmd_sync_wait(c, len);
   case VTEST_CMD_SUBMIT_CMD2:
      return cmd_submit_cmd2(c, len);
   default:
      break;
   }

   for (size_t i = 0; i < sizeof(fixed_cmds) / sizeof(fixed_cmds[0]); i++) {
      const struct fixed_cmd *cmd = &fixed_cmds[i];
      if (cmd->id != id)
         continue;
      if (len != cmd->len)
         return drop(c, "%s with length %u, expected %u", cmd->name, len, cmd->len);
      uint32_t words[MAX_FIXED_WORDS];
      if (!read_payload(c, cmd->name, words, (size_t)len * 4))
         return false;
      return cmd->handle(c, words);
   }
   return drop(c, "unknown or unsupported VCMD %u (length %u)", id, len);
}

/* The door's part of a snapshot: its version, the client's name and next
 * resource id, then its sync objects and, from version 2, its pending
 * SYNC_WAITs. A worker reads version 1 too: a live upgrade's new binary
 * reads what the binary before wrote. */
#define VTEST_SNAPSHOT_VERSION 2
/* How long a hand-over waits for a submission's sync objects to be set. */
#define HAND_OVER_SYNC_WAIT_MS 200

/* The door's part, as a hand-over and a checkpoint write it; false with
 * `why` when a submission's syncs are not set by `deadline_ns`. */
static bool
write_door_part(struct client *c, struct vs_parcel *out, uint64_t deadline_ns, uint32_t *waits, char *why,
                size_t why_size)
{
   vs_parcel_put_u32(out, VTEST_SNAPSHOT_VERSION);
   vs_parcel_put(out, c->name, sizeof(c->name));
   vs_parcel_put_u32(out, c->next_res_id);
   return vtest_sync_table_write(c->syncs, out, deadline_ns, waits, why, why_size);
}

/* Sends the client's whole state to the fresh worker the server starts
 * once this one ends, and ends this one; returns only when it did not
 * (refused, or rebuilt here: the context logged which). */
static void
hand_over(struct client *c)
{
   struct vs_parcel out = { 0 };
   char why[192];
   uint32_t waits = 0;
   if (!write_door_part(c, &out, os_now_ns() + HAND_OVER_SYNC_WAIT_MS * 1000000ull, &waits, why, sizeof(why))) {
      vs_info(c->ctx_id, "hand-over refused: %s; the context goes on as it was", why);
      vs_context_hand_over_cancel(c->ctx);
      vs_parcel_fini(&out);
      return;
   }
   if (!vs_context_hand_over(c->ctx, &out)) {
      vs_parcel_fini(&out);
      return;
   }
   /* Nobody reads the socket before this worker ends: it must hold all. */
   if (os_set_nonblocking(c->hand_over_fd, true) < 0 || vs_parcel_send_kept(c->hand_over_fd, &out) < 0) {
      snprintf(why, sizeof(why), "its snapshot could not be sent (%s); this worker hands over no more",
               strerror(errno));
      /* Whatever part of it went is of no use to a next one. */
      c->hand_over_fd = -1;
      vs_context_hand_over_failed(c->ctx, why);
      vs_parcel_fini(&out);
      return;
   }
   vs_info(c->ctx_id, "hand-over: the client's state went to a fresh worker as a snapshot of %zu bytes and %u fds, "
           "%u pending SYNC_WAITs with it; this worker ends", out.size, out.fd_count, waits);
   /* Nothing is torn down: the rings wait on the lock the hand-over
    * holds, and every page the guest maps lives on in the snapshot. */
   _exit(VS_WORKER_EXIT_HANDED_OVER);
}

static bool
hand_over_pending(int fd)
{
   struct pollfd pfd = { .fd = fd, .events = POLLIN };
   return poll(&pfd, 1, 0) > 0;
}

/* A hand-over the server asked for and the context refused (a submission
 * not done yet, a query pool) is tried again a second later, up to 10
 * times in all. */
#define HAND_OVER_RETRY_MS 1000
#define HAND_OVER_TRIES 10

static void
try_asked_hand_over(struct client *c)
{
   c->hand_over_retry_ns = 0;
   if (!vs_context_running(c->ctx))
      return;
   hand_over(c);
   if (c->hand_over_fd < 0)
      return; /* rebuilt here: it hands over no more */
   if (++c->hand_over_refusals < HAND_OVER_TRIES)
      c->hand_over_retry_ns = os_now_ns() + HAND_OVER_RETRY_MS * 1000000ull;
   else
      vs_warn(c->ctx_id, "hand-over: refused %u times as asked; the client stays in this worker",
              c->hand_over_refusals);
}

/* The server asked for a hand-over: one byte on the hand-over socket. Its
 * end (the server went without carrying the socket) asks for none. */
static void
hand_over_asked(struct client *c)
{
   char ask;
   const ssize_t n = recv(c->hand_over_fd, &ask, 1, MSG_DONTWAIT);
   if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      c->hand_over_fd = -1;
      c->hand_over_retry_ns = 0;
      return;
   }
   if (n == 1) {
      c->hand_over_refusals = 0;
      try_asked_hand_over(c);
   }
}

static bool
publish_checkpoint(void *data, const struct vs_parcel *state)
{
   struct client *c = data;
   char why[192];
   if (vs_checkpoint_publish(c->checkpoint_fd, state, why, sizeof(why)))
      return true;
   /* Whatever failed (a server gone at a live upgrade, a state too big
    * for a socket) would fail again at every quiet point. */
   atomic_store(&c->checkpoint_lost, true);
   vs_warn(c->ctx_id, "checkpoint not kept: %s; none is taken any more", why);
   return false;
}

/* When the client's next checkpoint is due: once it was quiet for
 * checkpoint_quiet_ms after activity that no checkpoint saw. 0: none. */
static uint64_t
checkpoint_due_ns(const struct client *c)
{
   if (c->checkpoint_fd < 0 || !c->limits.activity || atomic_load(&c->checkpoint_lost))
      return 0;
   const uint64_t last = atomic_load_explicit(&c->limits.activity->last_ns, memory_order_relaxed);
   return last != c->checkpoint_seen_ns ? last + (uint64_t)c->checkpoint_quiet_ms * 1000000u : 0;
}

/* The client's state as it is now, with the door's part, to the server;
 * tried once per quiet point. */
static void
take_checkpoint(struct client *c)
{
   const uint64_t now = os_now_ns();
   c->checkpoint_seen_ns = atomic_load_explicit(&c->limits.activity->last_ns, memory_order_relaxed);
   if (vs_activity_idle_ns(c->limits.activity, now) < (uint64_t)c->checkpoint_quiet_ms * 1000000u)
      return; /* work in flight: its end is activity, and the next try */
   struct vs_parcel out = { 0 };
   char why[192];
   uint32_t waits = 0;
   if (write_door_part(c, &out, now, &waits, why, sizeof(why)))
      vs_context_checkpoint(c->ctx, &out, publish_checkpoint, c);
   else
      vs_debug(c->ctx_id, "checkpoint refused: %s", why);
   vs_parcel_fini(&out);
}

/* Milliseconds until `due_ns` (0: never, -1), at least 0. */
static int
timeout_until(uint64_t due_ns, uint64_t now)
{
   if (!due_ns)
      return -1;
   return due_ns > now ? (int)((due_ns - now) / 1000000u) + 1 : 0;
}

/* Waits until the client's next request is there: meanwhile the server
 * may ask for a hand-over (a live upgrade moving the client to its new
 * binary), one refused is tried again when due, and a checkpoint is taken
 * once the client is quiet. */
static void
await_request_or_hand_over(struct client *c)
{
   for (;;) {
      struct pollfd pfd[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = c->hand_over_fd, .events = POLLIN } };
      const uint64_t now = os_now_ns();
      const int retry_ms = timeout_until(c->hand_over_retry_ns, now);
      const int checkpoint_ms = timeout_until(checkpoint_due_ns(c), now);
      const int timeout_ms = retry_ms < 0 || (checkpoint_ms >= 0 && checkpoint_ms < retry_ms) ? checkpoint_ms : retry_ms;
      const int n = poll(pfd, c->hand_over_fd >= 0 ? 2 : 1, timeout_ms);
      if (n < 0 && errno == EINTR)
         continue;
      if (n < 0 || pfd[0].revents)
         return;
      if (c->hand_over_fd >= 0 && pfd[1].revents) {
         hand_over_asked(c);
         continue;
      }
      const uint64_t later = os_now_ns();
      if (c->hand_over_retry_ns && later >= c->hand_over_retry_ns)
         try_asked_hand_over(c);
      const uint64_t due = checkpoint_due_ns(c);
      if (due && later >= due)
         take_checkpoint(c);
   }
}

/* A client handed over by the worker before: its state read back. */
static bool
serve_from_snapshot(struct client *c, struct vs_parcel *in)
{
   char why[256];
   uint32_t version = 0;
   char name[sizeof(c->name)];
   if (!vs_parcel_take_u32(in, &version) || version < 1 || version > VTEST_SNAPSHOT_VERSION ||
       !vs_parcel_take(in, name, sizeof(name)) || !vs_parcel_take_u32(in, &c->next_res_id)) {
      vs_error(c->ctx_id, "dropping client: its snapshot is bad: not a vtest client's of version 1 to %u",
               VTEST_SNAPSHOT_VERSION);
      return false;
   }
   set_name(c, name, sizeof(name));
   if (!vtest_sync_table_read(c->syncs, in, version >= 2, why, sizeof(why))) {
      vs_error(c->ctx_id, "dropping client: %s", why);
      return false;
   }
   c->ctx = vs_context_from_snapshot(c->ctx_id, c->name, c->options, in, why, sizeof(why));
   vs_parcel_fini(in); /* what no one took of it */
   if (!c->ctx) {
      vs_error(c->ctx_id, "dropping client: restore from its snapshot failed: %s", why);
      return false;
   }
   c->have_renderer = c->context_inited = true;
   watch_context(c);
   /* The display finds the client's memory again before its next frame's
    * commit can name it. */
   if (!vs_worker_link_sync(c->options->worker_link)) {
      vs_error(c->ctx_id, "dropping client: the server did not take in its memory after the restore");
      vs_context_destroy(c->ctx);
      c->ctx = NULL;
      return false;
   }
   return true;
}

/* What the client did with its sync objects against the door's limits,
 * said at its end when it made or waited on any: what the limits are
 * sized by. */
static void
log_sync_usage(struct client *c)
{
   struct vtest_sync_usage u;
   vtest_sync_table_usage(c->syncs, &u);
   if (!u.made && !u.waits)
      return;
   vs_info(c->ctx_id, "sync objects: %llu made, at most %u held at once (limit %u); %llu SYNC_WAITs, %llu of them "
           "pending, at most %u at once (limit %u); at most %u submission entries pending (limit %u)",
           (unsigned long long)u.made, u.most_syncs, VTEST_SYNC_MAX_SYNCS, (unsigned long long)u.waits,
           (unsigned long long)u.waits_pending, u.most_waiters, VTEST_SYNC_MAX_WAITERS, u.most_pending_entries,
           VTEST_SYNC_MAX_PENDING_ENTRIES);
}

int
vtest_client_serve(int fd, uint32_t ctx_id, const struct vs_context_options *options)
{
   const struct vtest_client_limits none = { 0 };
   return vtest_client_serve_limited(fd, ctx_id, options, &none, NULL);
}

static uint64_t
deadline_after(const struct client *c, uint64_t now)
{
   return c->limits.message_timeout_ms ? now + (uint64_t)c->limits.message_timeout_ms * 1000000u : 0;
}

/* Reads a message header: blocks for its first bytes as long as a client
 * that has sent work likes (an idle one is fine), then wants the rest of
 * the message by the deadline. The first message is due within the
 * message timeout of connecting; the first work within the work timeout
 * (*idle set when that passed: a slot is no place to wait in). */
static ssize_t
read_header(struct client *c, uint32_t *hdr, size_t size, bool first, bool *idle)
{
   uint64_t deadline = first ? deadline_after(c, os_now_ns()) : c->work_due_ns;
   for (;;) {
      if (!wait_readable(c->fd, deadline)) {
         *idle = !first && errno == ETIMEDOUT;
         return -1;
      }
      ssize_t n = read(c->fd, hdr, size);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return n;
      vs_activity_touch(c->limits.activity);
      c->deadline_ns = first ? deadline : deadline_after(c, os_now_ns());
      if ((size_t)n == size)
         return n;
      ssize_t rest = read_full(c->fd, (char *)hdr + n, size - (size_t)n, c->deadline_ns);
      return rest < 0 ? rest : n + rest;
   }
}

int
vtest_client_serve_limited(int fd, uint32_t ctx_id, const struct vs_context_options *options,
                           const struct vtest_client_limits *limits, const struct vtest_client_move *move)
{
   struct client c = { .fd = fd, .ctx_id = ctx_id, .name = "unnamed", .options = options,
                       .limits = *limits, .hand_over_fd = move ? move->hand_over_fd : -1,
                       .checkpoint_fd = move && move->checkpoint_quiet_ms ? move->checkpoint_fd : -1,
                       .checkpoint_quiet_ms = move ? move->checkpoint_quiet_ms : 0 };

   /* A client that stops reading its replies must not hold this thread in
    * send() forever. */
   if (limits->message_timeout_ms) {
      struct timeval tv = { .tv_sec = limits->message_timeout_ms / 1000,
                            .tv_usec = (limits->message_timeout_ms % 1000) * 1000 };
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
   }

   c.syncs = vtest_sync_table_create();
   if (!c.syncs) {
      vs_error(ctx_id, "dropping client: out of memory");
      return -1;
   }
   vtest_sync_table_track(c.syncs, limits->activity);

   const bool restored = move && move->snapshot;
   if (restored && !serve_from_snapshot(&c, move->snapshot)) {
      vtest_sync_table_destroy(c.syncs);
      return -1;
   }
   if (limits->work_timeout_ms && !restored)
      c.work_due_ns = os_now_ns() + (uint64_t)limits->work_timeout_ms * 1000000u;
   for (bool first = !restored;; first = false) {
      uint32_t hdr[VTEST_HDR_WORDS];
      bool arrived = await_request(fd);
      /* Once the client has worked, its next request is awaited here, and
       * before it is read a ring wait the context deferred is settled and
       * a context that a ring made fatal meanwhile is noticed. A client
       * dropped then has its request unread, which its read sees as
       * ECONNRESET: Mesa's vtest reader aborts on that, but spins forever
       * on an end of file (one waiting for a reply never gets one). */
      if (c.ctx && !c.work_due_ns) {
         if (!arrived)
            await_request_or_hand_over(&c);
         /* A request arrived: busy (the wait may be long) until it is served. */
         vs_activity_work(limits->activity, 1);
         bool settled = vs_context_settle_ring_wait(c.ctx) && vs_context_running(c.ctx);
         vs_activity_work(limits->activity, -1);
         if (!settled) {
            if (vs_context_peer_gone(c.ctx))
               disconnected(&c);
            break; /* the context logged why */
         }
      }
      /* A request moves the client past its checkpoint: the server is
       * told before the request leaves the socket, so a worker killed
       * before that leaves it there for the next. */
      if (c.ctx)
         vs_context_checkpoint_spoil(c.ctx);
      bool idle = false;
      ssize_t n = read_header(&c, hdr, sizeof(hdr), first, &idle);
      if (n == 0) {
         disconnected(&c);
         break;
      }
      if (idle) {
         drop(&c, "no Venus work within %u ms of connecting (limit work-timeout-ms); freeing its slot",
              limits->work_timeout_ms);
         break;
      }
      if (n < 0) {
         read_failed(&c, "a VCMD header", errno);
         break;
      }
      if ((size_t)n < sizeof(hdr)) {
         closed_mid_message(&c, "after %zd of %zu bytes of a VCMD header", n, sizeof(hdr));
         break;
      }
      vs_activity_work(limits->activity, 1);
      bool handled = handle_command(&c, hdr[VTEST_HDR_LEN], hdr[VTEST_HDR_ID]);
      vs_activity_work(limits->activity, -1);
      if (!handled) {
         if (c.ctx && vs_context_peer_gone(c.ctx))
            disconnected(&c);
         break;
      }
      if (c.ctx && !vs_context_check_memory(c.ctx)) {
         drop(&c, "the Venus context hit a fatal error");
         break;
      }
      if (c.ctx && vs_context_hand_over_due(c.ctx)) {
         if (c.hand_over_fd >= 0)
            hand_over(&c);
         else
            vs_context_hand_over_cancel(c.ctx);
      } else if (c.ctx && c.hand_over_fd >= 0 && hand_over_pending(c.hand_over_fd)) {
         /* A client that never leaves its worker waiting sees the ask here. */
         hand_over_asked(&c);
      } else if (c.ctx && c.hand_over_retry_ns && os_now_ns() >= c.hand_over_retry_ns) {
         try_asked_hand_over(&c);
      }
   }

   /* The context first: it guarantees no retire callback runs afterwards,
    * and those callbacks touch the sync table. */
   if (c.ctx)
      vs_context_destroy(c.ctx);
   log_sync_usage(&c);
   vtest_sync_table_destroy(c.syncs);
   release_payload_buffer(&c);
   return c.peer_gone ? 0 : -1;
}

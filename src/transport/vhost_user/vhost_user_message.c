/* SPDX-License-Identifier: MIT */
/* vhost-user message codec (vhost_user_message.h). The front end is a VMM
 * process outside the server's trust: a message whose size, flags or fds do
 * not match its request is refused whole, before any of it is used. */
#include "transport/vhost_user/vhost_user_message.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"

/* How long a reply waits for room in the front end's socket. */
#define REPLY_ROOM_WAIT_MS 10000

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare set SO_NOSIGPIPE on the socket */
#endif

_Static_assert(sizeof(struct vs_vu_header) == 12, "vhost-user header layout");
_Static_assert(sizeof(struct vs_vu_vring_addr) == 40, "vring address layout");
_Static_assert(sizeof(struct vs_vu_mem_region) == 32, "memory region layout");
_Static_assert(sizeof(struct vs_vu_config) == VS_VU_CONFIG_HEADER_SIZE + VS_VU_CONFIG_MAX, "config layout");
_Static_assert(VS_VU_FDS_MAX <= OS_FDS_MAX, "a message's fds come in one receive");

const char *
vs_vu_request_name(uint32_t request, char *buf, size_t buf_size)
{
   switch (request) {
   case VS_VU_GET_FEATURES: return "GET_FEATURES";
   case VS_VU_SET_FEATURES: return "SET_FEATURES";
   case VS_VU_SET_OWNER: return "SET_OWNER";
   case VS_VU_SET_MEM_TABLE: return "SET_MEM_TABLE";
   case VS_VU_SET_VRING_NUM: return "SET_VRING_NUM";
   case VS_VU_SET_VRING_ADDR: return "SET_VRING_ADDR";
   case VS_VU_SET_VRING_BASE: return "SET_VRING_BASE";
   case VS_VU_GET_VRING_BASE: return "GET_VRING_BASE";
   case VS_VU_SET_VRING_KICK: return "SET_VRING_KICK";
   case VS_VU_SET_VRING_CALL: return "SET_VRING_CALL";
   case VS_VU_SET_VRING_ERR: return "SET_VRING_ERR";
   case VS_VU_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
   case VS_VU_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
   case VS_VU_GET_QUEUE_NUM: return "GET_QUEUE_NUM";
   case VS_VU_SET_VRING_ENABLE: return "SET_VRING_ENABLE";
   case VS_VU_SET_BACKEND_REQ_FD: return "SET_BACKEND_REQ_FD";
   case VS_VU_GET_CONFIG: return "GET_CONFIG";
   case VS_VU_SET_CONFIG: return "SET_CONFIG";
   case VS_VU_GET_MAX_MEM_SLOTS: return "GET_MAX_MEM_SLOTS";
   case VS_VU_ADD_MEM_REG: return "ADD_MEM_REG";
   case VS_VU_REM_MEM_REG: return "REM_MEM_REG";
   case VS_VU_GET_SHMEM_CONFIG: return "GET_SHMEM_CONFIG";
   default:
      snprintf(buf, buf_size, "request %u", request);
      return buf;
   }
}

/* The payload size a request has when it does not depend on the payload
 * itself; -1 for those that do, -2 for requests not served. */
static int
fixed_payload_size(uint32_t request)
{
   switch (request) {
   case VS_VU_GET_FEATURES:
   case VS_VU_SET_OWNER:
   case VS_VU_GET_PROTOCOL_FEATURES:
   case VS_VU_GET_QUEUE_NUM:
   case VS_VU_SET_BACKEND_REQ_FD:
   case VS_VU_GET_MAX_MEM_SLOTS:
   case VS_VU_GET_SHMEM_CONFIG:
      return 0;
   case VS_VU_SET_FEATURES:
   case VS_VU_SET_PROTOCOL_FEATURES:
   case VS_VU_SET_VRING_KICK:
   case VS_VU_SET_VRING_CALL:
   case VS_VU_SET_VRING_ERR:
      return (int)sizeof(uint64_t);
   case VS_VU_SET_VRING_NUM:
   case VS_VU_SET_VRING_BASE:
   case VS_VU_GET_VRING_BASE:
   case VS_VU_SET_VRING_ENABLE:
      return (int)sizeof(struct vs_vu_vring_state);
   case VS_VU_SET_VRING_ADDR:
      return (int)sizeof(struct vs_vu_vring_addr);
   case VS_VU_ADD_MEM_REG:
   case VS_VU_REM_MEM_REG:
      return (int)sizeof(struct vs_vu_mem_reg);
   case VS_VU_SET_MEM_TABLE:
   case VS_VU_GET_CONFIG:
   case VS_VU_SET_CONFIG:
      return -1;
   default:
      return -2;
   }
}

/* How many fds the request must carry. */
static unsigned
expected_fds(const struct vs_vu_message *msg)
{
   switch (msg->header.request) {
   case VS_VU_SET_MEM_TABLE:
      return msg->payload.mem.nregions;
   case VS_VU_SET_BACKEND_REQ_FD:
   case VS_VU_ADD_MEM_REG:
      return 1;
   case VS_VU_SET_VRING_KICK:
   case VS_VU_SET_VRING_CALL:
   case VS_VU_SET_VRING_ERR:
      return (msg->payload.u64 & VS_VU_VRING_NOFD) ? 0 : 1;
   default:
      return 0;
   }
}

static bool
check_payload(const struct vs_vu_message *msg, const char *name, char *why, size_t why_size)
{
   const uint32_t size = msg->header.size;
   switch (msg->header.request) {
   case VS_VU_SET_MEM_TABLE: {
      const uint32_t n = msg->payload.mem.nregions;
      if (size < 8 || n == 0 || n > VS_VU_MEM_REGIONS_MAX ||
          size != 8 + n * (uint32_t)sizeof(struct vs_vu_mem_region)) {
         snprintf(why, why_size, "%s of %u bytes naming %u regions (1..%u regions of 32 bytes after 8)", name,
                  size, size < 8 ? 0 : n, VS_VU_MEM_REGIONS_MAX);
         return false;
      }
      return true;
   }
   case VS_VU_GET_CONFIG:
   case VS_VU_SET_CONFIG: {
      const struct vs_vu_config *c = &msg->payload.config;
      if (size < VS_VU_CONFIG_HEADER_SIZE || c->size > VS_VU_CONFIG_MAX ||
          size != VS_VU_CONFIG_HEADER_SIZE + c->size || (uint64_t)c->offset + c->size > VS_VU_CONFIG_MAX) {
         snprintf(why, why_size, "%s of %u bytes for %u config bytes at %u (at most %u in all)", name, size,
                  size < VS_VU_CONFIG_HEADER_SIZE ? 0 : c->size, size < VS_VU_CONFIG_HEADER_SIZE ? 0 : c->offset,
                  VS_VU_CONFIG_MAX);
         return false;
      }
      return true;
   }
   case VS_VU_SET_VRING_KICK:
   case VS_VU_SET_VRING_CALL:
   case VS_VU_SET_VRING_ERR:
      if (msg->payload.u64 & ~(uint64_t)(VS_VU_VRING_INDEX_MASK | VS_VU_VRING_NOFD)) {
         snprintf(why, why_size, "%s with unknown bits 0x%llx", name, (unsigned long long)msg->payload.u64);
         return false;
      }
      return true;
   default:
      return true;
   }
}

bool
vs_vu_message_check(const struct vs_vu_message *msg, char *why, size_t why_size)
{
   char buf[32];
   const char *name = vs_vu_request_name(msg->header.request, buf, sizeof(buf));
   const uint32_t flags = msg->header.flags;
   if ((flags & VS_VU_VERSION_MASK) != VS_VU_VERSION || (flags & ~(VS_VU_VERSION_MASK | VS_VU_FLAG_NEED_REPLY))) {
      snprintf(why, why_size, "%s with flags 0x%x (version 1, need_reply only)", name, flags);
      return false;
   }
   const int fixed = fixed_payload_size(msg->header.request);
   if (fixed == -2) {
      snprintf(why, why_size, "%s is not served", name);
      return false;
   }
   if (fixed >= 0 && msg->header.size != (uint32_t)fixed) {
      snprintf(why, why_size, "%s of %u payload bytes (%d expected)", name, msg->header.size, fixed);
      return false;
   }
   if (msg->header.size > sizeof(msg->payload)) {
      snprintf(why, why_size, "%s of %u payload bytes (at most %zu)", name, msg->header.size, sizeof(msg->payload));
      return false;
   }
   if (!check_payload(msg, name, why, why_size))
      return false;
   const unsigned want = expected_fds(msg);
   if (msg->fd_count != want) {
      snprintf(why, why_size, "%s with %u fds (%u expected)", name, msg->fd_count, want);
      return false;
   }
   return true;
}

enum vs_vu_read_result
vs_vu_message_read(int sock, struct vs_vu_message *msg, char *why, size_t why_size)
{
   const uint32_t head = sizeof(msg->header);
   char buf[32];
   if (msg->received >= head && msg->received == head + msg->header.size)
      msg->received = 0; /* the last call's message was whole */
   if (msg->received == 0) {
      memset(&msg->header, 0, sizeof(msg->header));
      memset(&msg->payload, 0, sizeof(msg->payload));
      msg->fd_count = 0;
      msg->excess_fds = false;
   }
   while (msg->received < head || msg->received < head + msg->header.size) {
      const bool in_header = msg->received < head;
      uint8_t *to = in_header ? (uint8_t *)&msg->header + msg->received
                              : (uint8_t *)&msg->payload + (msg->received - head);
      const size_t want = in_header ? head - msg->received : head + msg->header.size - msg->received;
      const ssize_t n = os_recv_fds(sock, to, want, msg->fds, VS_VU_FDS_MAX, &msg->fd_count, &msg->excess_fds);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
         return VS_VU_READ_MORE;
      if (n == 0 && msg->received == 0) {
         vs_vu_message_close_fds(msg);
         return VS_VU_READ_CLOSED;
      }
      if (n <= 0) {
         snprintf(why, why_size, "%s after %u bytes of a message", n == 0 ? "connection closed" : strerror(errno),
                  msg->received);
         goto bad;
      }
      msg->received += (uint32_t)n;
      if (msg->received == head && msg->header.size > sizeof(msg->payload)) {
         snprintf(why, why_size, "%s of %u payload bytes (at most %zu)",
                  vs_vu_request_name(msg->header.request, buf, sizeof(buf)), msg->header.size, sizeof(msg->payload));
         goto bad;
      }
   }
   if (msg->excess_fds) {
      snprintf(why, why_size, "%s with more than %u fds",
               vs_vu_request_name(msg->header.request, buf, sizeof(buf)), VS_VU_FDS_MAX);
      goto bad;
   }
   if (!vs_vu_message_check(msg, why, why_size))
      goto bad;
   return VS_VU_READ_MESSAGE;
bad:
   vs_vu_message_close_fds(msg);
   msg->received = 0;
   return VS_VU_READ_BAD;
}

int
vs_vu_message_take_fd(struct vs_vu_message *msg, unsigned i)
{
   if (i >= msg->fd_count || msg->fds[i] < 0)
      return -1;
   int fd = msg->fds[i];
   msg->fds[i] = -1;
   return fd;
}

void
vs_vu_message_close_fds(struct vs_vu_message *msg)
{
   for (unsigned i = 0; i < msg->fd_count; i++) {
      if (msg->fds[i] >= 0)
         close(msg->fds[i]);
      msg->fds[i] = -1;
   }
   msg->fd_count = 0;
}

bool
vs_vu_reply(int sock, uint32_t request, const void *payload, uint32_t size)
{
   uint8_t out[sizeof(struct vs_vu_header) + sizeof(union vs_vu_payload)];
   if (size > sizeof(union vs_vu_payload)) {
      errno = EMSGSIZE;
      return false;
   }
   const struct vs_vu_header header = { request, VS_VU_VERSION | VS_VU_FLAG_REPLY, size };
   memcpy(out, &header, sizeof(header));
   memcpy(out + sizeof(header), payload, size);
   const size_t len = sizeof(header) + size;
   size_t sent = 0;
   while (sent < len) {
      ssize_t n = os_send_fds(sock, out + sent, len - sent, NULL, 0, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
         /* The socket is non-blocking for reads; a reply waits for room
          * a while, and a front end that reads none loses its device. */
         struct pollfd pfd = { .fd = sock, .events = POLLOUT };
         const int r = poll(&pfd, 1, REPLY_ROOM_WAIT_MS);
         if (r == 0)
            errno = ETIMEDOUT;
         if (r > 0 || (r < 0 && errno == EINTR))
            continue;
         return false;
      }
      if (n <= 0)
         return false;
      sent += (size_t)n;
   }
   return true;
}

bool
vs_vu_backend_send(int sock, uint32_t request, const void *payload, uint32_t size, int fd, bool need_reply,
                   char *why, size_t why_size)
{
   uint8_t out[sizeof(struct vs_vu_header) + sizeof(union vs_vu_payload)];
   if (size > sizeof(union vs_vu_payload)) {
      snprintf(why, why_size, "a request of %u bytes", size);
      return false;
   }
   const struct vs_vu_header header = { request, VS_VU_VERSION | (need_reply ? VS_VU_FLAG_NEED_REPLY : 0), size };
   memcpy(out, &header, sizeof(header));
   memcpy(out + sizeof(header), payload, size);
   const size_t len = sizeof(header) + size;
   size_t sent = 0;
   while (sent < len) {
      /* The fd rides with the first byte. */
      const bool with_fd = sent == 0 && fd >= 0;
      ssize_t n = os_send_fds(sock, out + sent, len - sent, with_fd ? &fd : NULL, with_fd ? 1 : 0, MSG_NOSIGNAL);
      if (n <= 0) {
         snprintf(why, why_size, "sending it: %s", n < 0 ? strerror(errno) : "the channel closed");
         return false;
      }
      sent += (size_t)n;
   }
   return true;
}

bool
vs_vu_backend_read_reply(int sock, uint32_t request, char *why, size_t why_size)
{
   /* The header and a u64, unpadded. */
   uint8_t bytes[sizeof(struct vs_vu_header) + sizeof(uint64_t)];
   size_t got = 0;
   while (got < sizeof(bytes)) {
      ssize_t n = recv(sock, bytes + got, sizeof(bytes) - got, 0);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0) {
         snprintf(why, why_size, "its reply: %s", n < 0 ? strerror(errno) : "the channel closed");
         return false;
      }
      got += (size_t)n;
   }
   struct {
      struct vs_vu_header header;
      uint64_t status;
   } reply;
   memcpy(&reply.header, bytes, sizeof(reply.header));
   memcpy(&reply.status, bytes + sizeof(reply.header), sizeof(reply.status));
   if (reply.header.request != request || !(reply.header.flags & VS_VU_FLAG_REPLY) ||
       reply.header.size != sizeof(reply.status)) {
      snprintf(why, why_size, "a reply to request %u of %u bytes, flags 0x%x", reply.header.request,
               reply.header.size, reply.header.flags);
      return false;
   }
   if (reply.status != 0) {
      snprintf(why, why_size, "the front end refused it (status %llu)", (unsigned long long)reply.status);
      return false;
   }
   return true;
}

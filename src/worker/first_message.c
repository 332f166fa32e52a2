/* SPDX-License-Identifier: MIT */
#include "worker/first_message.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "os/os.h"

enum vs_first_message
vs_first_message_wait(int fd, const struct vs_message_framing *framing, uint32_t timeout_ms)
{
   const uint64_t deadline = os_now_ns() + (uint64_t)timeout_ms * 1000000u;
   uint8_t bytes[VS_FIRST_MESSAGE_PEEK_BYTES];
   bool hung_up = false;
   for (;;) {
      ssize_t n = recv(fd, bytes, sizeof(bytes), MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
         return VS_FIRST_MESSAGE_LEFT;
      const size_t have = n > 0 ? (size_t)n : 0;
      if (have >= framing->header_size) {
         const uint64_t size = framing->message_size(bytes);
         if (size > sizeof(bytes) || have >= size)
            return VS_FIRST_MESSAGE_WHOLE;
      }
      if (n == 0 || hung_up)
         return VS_FIRST_MESSAGE_LEFT;
      const uint64_t now = os_now_ns();
      if (timeout_ms && now >= deadline)
         return VS_FIRST_MESSAGE_LATE;
      /* With part of a message there, POLLIN holds already: look again
       * every 10 ms (a client writes a message at once; only a slow or
       * hostile one is looked at more than once). */
#ifdef POLLRDHUP
      struct pollfd pfd = { .fd = fd, .events = (short)((have ? 0 : POLLIN) | POLLRDHUP) };
#else
      struct pollfd pfd = { .fd = fd, .events = have ? 0 : POLLIN };
#endif
      const int wait_ms = have ? 10 : timeout_ms ? (int)((deadline - now) / 1000000u) + 1 : -1;
      /* Hung up: what it sent before is all there is. */
      hung_up = poll(&pfd, 1, wait_ms) > 0 && (pfd.revents & ~POLLIN);
   }
}

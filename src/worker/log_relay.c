/* SPDX-License-Identifier: MIT */
#include "worker/log_relay.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"

void
vs_log_relay_init(struct vs_log_relay *relay, int out_fd, int pid, uint64_t now_ns)
{
   int n = snprintf(relay->line, 32, "worker process %d: ", pid);
   relay->prefix_len = n > 0 && n < 32 ? (size_t)n : 0;
   relay->len = relay->prefix_len;
   relay->taken = 0;
   relay->out_fd = out_fd;
   relay->pid = pid;
   vs_rate_limit_init(&relay->bucket, VS_LOG_RELAY_BURST, VS_LOG_RELAY_PER_SECOND, now_ns);
   relay->limited = vs_log_threshold < VS_LOG_DEBUG;
}

static void
write_all(int fd, const char *p, size_t left)
{
   while (left) {
      ssize_t n = write(fd, p, left);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         break;
      p += n;
      left -= (size_t)n;
   }
}

static void
tell_dropped(struct vs_log_relay *relay, uint64_t dropped)
{
   if (!dropped)
      return;
   char told[160];
   int n = snprintf(told, sizeof(told),
                    "venus-server: warn: %llu lines from worker process %d dropped: it logged more than %d lines "
                    "at once or %d a second\n",
                    (unsigned long long)dropped, relay->pid, VS_LOG_RELAY_BURST, VS_LOG_RELAY_PER_SECOND);
   if (n > 0)
      write_all(relay->out_fd, told, (size_t)n < sizeof(told) ? (size_t)n : sizeof(told) - 1);
}

/* The line ends: passed on if the bucket holds a line's worth, else
 * counted. */
static void
end_line(struct vs_log_relay *relay, uint64_t now_ns)
{
   uint64_t dropped = 0;
   if (!relay->limited || vs_rate_limit_pass(&relay->bucket, now_ns, &dropped)) {
      tell_dropped(relay, dropped);
      relay->line[relay->len++] = '\n';
      write_all(relay->out_fd, relay->line, relay->len);
   }
   relay->len = relay->prefix_len;
   relay->taken = 0;
}

void
vs_log_relay_feed(struct vs_log_relay *relay, const char *bytes, size_t size, uint64_t now_ns)
{
   for (size_t i = 0; i < size; i++) {
      const unsigned char c = (unsigned char)bytes[i];
      if (c == '\n') {
         end_line(relay, now_ns);
         continue;
      }
      if (c >= 0x20 && c < 0x7f && c != '\\') {
         relay->line[relay->len++] = (char)c;
      } else {
         static const char hex[] = "0123456789abcdef";
         relay->line[relay->len++] = '\\';
         relay->line[relay->len++] = 'x';
         relay->line[relay->len++] = hex[c >> 4];
         relay->line[relay->len++] = hex[c & 15];
      }
      if (++relay->taken == VS_LOG_RELAY_LINE)
         end_line(relay, now_ns);
   }
}

void
vs_log_relay_flush(struct vs_log_relay *relay, uint64_t now_ns)
{
   if (relay->taken)
      end_line(relay, now_ns);
   tell_dropped(relay, relay->bucket.dropped);
   relay->bucket.dropped = 0;
}

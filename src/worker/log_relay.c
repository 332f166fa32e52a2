/* SPDX-License-Identifier: MIT */
#include "worker/log_relay.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

void
vs_log_relay_init(struct vs_log_relay *relay, int out_fd)
{
   relay->len = 0;
   relay->taken = 0;
   relay->out_fd = out_fd;
}

static void
write_line(struct vs_log_relay *relay)
{
   relay->line[relay->len++] = '\n';
   const char *p = relay->line;
   size_t left = relay->len;
   while (left) {
      ssize_t n = write(relay->out_fd, p, left);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         break;
      p += n;
      left -= (size_t)n;
   }
   relay->len = 0;
   relay->taken = 0;
}

void
vs_log_relay_feed(struct vs_log_relay *relay, const char *bytes, size_t size)
{
   for (size_t i = 0; i < size; i++) {
      const unsigned char c = (unsigned char)bytes[i];
      if (c == '\n') {
         write_line(relay);
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
         write_line(relay);
   }
}

void
vs_log_relay_flush(struct vs_log_relay *relay)
{
   if (relay->taken)
      write_line(relay);
}

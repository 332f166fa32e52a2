/* SPDX-License-Identifier: MIT */
/* worker/log_relay: what a worker writes reaches the server's log as whole
 * lines, with nothing a terminal would act on. */
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "worker/log_relay.h"

/* Feeds `input` in pieces of `step` bytes and returns what came out. */
static const char *
relay(const char *input, size_t size, size_t step)
{
   static char out[16384];
   int fds[2];
   if (pipe(fds) != 0)
      return "pipe failed";
   struct vs_log_relay r;
   vs_log_relay_init(&r, fds[1]);
   for (size_t i = 0; i < size; i += step)
      vs_log_relay_feed(&r, input + i, size - i < step ? size - i : step);
   vs_log_relay_flush(&r);
   close(fds[1]);
   ssize_t n = read(fds[0], out, sizeof(out) - 1);
   close(fds[0]);
   out[n > 0 ? n : 0] = 0;
   return out;
}

TEST(log_relay_passes_lines_whole)
{
   const char in[] = "venus-server: info: one\nvenus-server: warn: two\n";
   CHECK_STR_EQ(relay(in, sizeof(in) - 1, 3), in);
}

TEST(log_relay_escapes_what_a_terminal_acts_on)
{
   const char in[] = "title \x1b]0;owned\x07 \\x1b \r\x7f end";
   CHECK_STR_EQ(relay(in, sizeof(in) - 1, 5), "title \\x1b]0;owned\\x07 \\x5cx1b \\x0d\\x7f end\n");
}

TEST(log_relay_cuts_endless_lines)
{
   static char in[VS_LOG_RELAY_LINE * 2 + 10];
   memset(in, 'a', sizeof(in));
   const char *out = relay(in, sizeof(in), 4096);
   CHECK_EQ(strlen(out), sizeof(in) + 3);
   CHECK(out[VS_LOG_RELAY_LINE] == '\n');
}

UNIT_MAIN(UNIT(log_relay_passes_lines_whole), UNIT(log_relay_escapes_what_a_terminal_acts_on),
          UNIT(log_relay_cuts_endless_lines))

/* SPDX-License-Identifier: MIT */
/* worker/log_relay: what a worker writes reaches the server's log as whole
 * lines led by the worker's pid, with nothing a terminal would act on, and
 * no faster than its bucket allows: the rest is counted in one line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "unit.h"
#include "worker/log_relay.h"

static char out[1 << 20];

/* What came out of `fd` (the read end of a pipe whose write end is
 * closed). */
static const char *
drain(int fd)
{
   size_t got = 0;
   ssize_t n;
   while (got < sizeof(out) - 1 && (n = read(fd, out + got, sizeof(out) - 1 - got)) > 0)
      got += (size_t)n;
   close(fd);
   out[got] = 0;
   return out;
}

/* Feeds `input` in pieces of `step` bytes and returns what came out. */
static const char *
relay(const char *input, size_t size, size_t step)
{
   int fds[2];
   if (pipe(fds) != 0)
      return "pipe failed";
   struct vs_log_relay r;
   vs_log_relay_init(&r, fds[1], 42, 0);
   for (size_t i = 0; i < size; i += step)
      vs_log_relay_feed(&r, input + i, size - i < step ? size - i : step, 0);
   vs_log_relay_flush(&r, 0);
   close(fds[1]);
   return drain(fds[0]);
}

TEST(log_relay_passes_lines_whole_with_their_worker)
{
   const char in[] = "venus-server: info: one\nvenus-server: warn: two\n";
   CHECK_STR_EQ(relay(in, sizeof(in) - 1, 3),
                "worker process 42: venus-server: info: one\nworker process 42: venus-server: warn: two\n");
}

TEST(log_relay_escapes_what_a_terminal_acts_on)
{
   const char in[] = "title \x1b]0;owned\x07 \\x1b \r\x7f end";
   CHECK_STR_EQ(relay(in, sizeof(in) - 1, 5),
                "worker process 42: title \\x1b]0;owned\\x07 \\x5cx1b \\x0d\\x7f end\n");
}

TEST(log_relay_cuts_endless_lines)
{
   static char in[VS_LOG_RELAY_LINE * 2 + 10];
   memset(in, 'a', sizeof(in));
   const char *lines = relay(in, sizeof(in), 4096);
   const size_t prefix = strlen("worker process 42: ");
   CHECK_EQ(strlen(lines), sizeof(in) + 3 * (prefix + 1));
   CHECK(lines[prefix + VS_LOG_RELAY_LINE] == '\n');
}

/* Two workers interleaving half lines: each line stays its own worker's. */
TEST(log_relay_keeps_half_lines_apart)
{
   int fds[2];
   CHECK(pipe(fds) == 0);
   struct vs_log_relay a, b;
   vs_log_relay_init(&a, fds[1], 1, 0);
   vs_log_relay_init(&b, fds[1], 2, 0);
   vs_log_relay_feed(&a, "venus-server: error: ctx 9: for", 31, 0);
   vs_log_relay_feed(&b, "venus-server: info: honest\n", 27, 0);
   vs_log_relay_feed(&a, "ged\n", 4, 0);
   close(fds[1]);
   CHECK_STR_EQ(drain(fds[0]), "worker process 2: venus-server: info: honest\n"
                               "worker process 1: venus-server: error: ctx 9: forged\n");
}

/* A flood: the burst passes, then one line a 1/PER_SECOND of a second;
 * what was dropped is told once, when lines pass again and at the end. */
TEST(log_relay_drops_a_flood_and_tells_the_count)
{
   int fds[2];
   CHECK(pipe(fds) == 0);
   struct vs_log_relay r;
   vs_log_relay_init(&r, fds[1], 7, 1000);
   static char flood[100000];
   memset(flood, '\n', sizeof(flood));
   vs_log_relay_feed(&r, flood, sizeof(flood), 1000);
   /* A second later: PER_SECOND lines more. */
   vs_log_relay_feed(&r, "x\n", 2, 1000 + 1000000000ull);
   vs_log_relay_feed(&r, flood, sizeof(flood), 1000 + 1000000000ull);
   vs_log_relay_flush(&r, 1000 + 1000000000ull);
   close(fds[1]);
   const char *lines = drain(fds[0]);
   unsigned passed = 0, told = 0;
   char want[160];
   for (const char *p = lines; (p = strstr(p, "worker process 7: \n")); p++)
      passed++;
   snprintf(want, sizeof(want), "venus-server: warn: %u lines from worker process 7 dropped",
            (unsigned)sizeof(flood) - VS_LOG_RELAY_BURST);
   CHECK_STR_CONTAINS(lines, want);
   CHECK_STR_CONTAINS(lines, "worker process 7: x\n");
   snprintf(want, sizeof(want), "venus-server: warn: %u lines from worker process 7 dropped",
            (unsigned)sizeof(flood) - (VS_LOG_RELAY_PER_SECOND - 1));
   CHECK_STR_CONTAINS(lines, want);
   for (const char *p = lines; (p = strstr(p, "lines from worker process 7 dropped")); p++)
      told++;
   CHECK_EQ(passed, VS_LOG_RELAY_BURST + VS_LOG_RELAY_PER_SECOND - 1u);
   CHECK_EQ(told, 2u);
}

/* At debug level the operator asked for every line: none is dropped. */
TEST(log_relay_drops_nothing_at_debug_level)
{
   int fds[2];
   CHECK(pipe(fds) == 0);
   const enum vs_log_level was = vs_log_threshold;
   vs_log_threshold = VS_LOG_DEBUG;
   struct vs_log_relay r;
   vs_log_relay_init(&r, fds[1], 8, 1000);
   vs_log_threshold = was;
   static char flood[4 * VS_LOG_RELAY_BURST];
   memset(flood, '\n', sizeof(flood));
   vs_log_relay_feed(&r, flood, sizeof(flood), 1000);
   vs_log_relay_flush(&r, 1000);
   close(fds[1]);
   const char *lines = drain(fds[0]);
   unsigned passed = 0;
   for (const char *p = lines; (p = strstr(p, "worker process 8: \n")); p++)
      passed++;
   CHECK_EQ(passed, (unsigned)sizeof(flood));
   CHECK(!strstr(lines, "dropped"));
}

UNIT_MAIN(UNIT(log_relay_passes_lines_whole_with_their_worker), UNIT(log_relay_escapes_what_a_terminal_acts_on),
          UNIT(log_relay_cuts_endless_lines), UNIT(log_relay_keeps_half_lines_apart),
          UNIT(log_relay_drops_a_flood_and_tells_the_count), UNIT(log_relay_drops_nothing_at_debug_level))

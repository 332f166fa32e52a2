/* SPDX-License-Identifier: MIT */
/* os/: os_dir_watch_* announce what changes in a watched directory (the
 * shader cache's bound on a running worker's directory): a file made,
 * written, moved in or truncated there; nothing below it that is not
 * watched itself; nothing after the watch is removed. Where the backend
 * has no watch, it says so (ENOSYS). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/os.h"
#include "unit.h"

/* Whether the watch reports directory `id` within 2 s (read all pending). */
static bool
reported(int watch, int id)
{
   struct pollfd pfd = { .fd = watch, .events = POLLIN };
   bool seen = false;
   while (!seen && poll(&pfd, 1, seen ? 0 : 2000) > 0) {
      int ids[64];
      const unsigned n = os_dir_watch_read(watch, ids, 64);
      for (unsigned i = 0; i < n; i++)
         seen |= ids[i] == id || ids[i] == -1;
      if (!n)
         break;
   }
   return seen;
}

/* No directory reported within 200 ms (a removed watch's own record is
 * read, and is none). */
static bool
quiet(int watch)
{
   struct pollfd pfd = { .fd = watch, .events = POLLIN };
   for (int rounds = 0; rounds < 4 && poll(&pfd, 1, 50) >= 0; rounds++) {
      int ids[64];
      if (pfd.revents && os_dir_watch_read(watch, ids, 64) > 0)
         return false;
   }
   return true;
}

/* A watch fd, -2 where the backend has none; the test (a process of its
 * own) in a fresh directory, removed at its exit. */
static char test_dir[] = "/tmp/vs-dir-watch.XXXXXX";

static void
remove_test_dir(void)
{
   char command[64];
   snprintf(command, sizeof(command), "rm -rf %s", test_dir);
   (void)system(command);
}

static int
open_watch(void)
{
   const int watch = os_dir_watch_open();
   if (watch < 0 && errno == ENOSYS)
      return -2;
   if (!mkdtemp(test_dir) || chdir(test_dir) != 0)
      return -1;
   atexit(remove_test_dir);
   return watch;
}

TEST(dir_watch_announces_changes)
{
   const int watch = open_watch();
   if (watch == -2)
      SKIP("this backend has no directory watch");
   CHECK(watch >= 0);
   CHECK(mkdir("w", 0700) == 0 && mkdir("w/below", 0700) == 0);
   const int id = os_dir_watch_add(watch, "w");
   CHECK(id >= 0);
   CHECK_EQ(os_dir_watch_add(watch, "w"), id); /* watched already: the same */
   CHECK(quiet(watch));

   int fd = open("w/entry", O_CREAT | O_WRONLY, 0600); /* made */
   CHECK(fd >= 0);
   CHECK(reported(watch, id));
   CHECK(write(fd, "x", 1) == 1); /* written */
   CHECK(reported(watch, id));
   CHECK(ftruncate(fd, 1 << 20) == 0); /* grown without a write */
   CHECK(reported(watch, id));
   close(fd);
   (void)quiet(watch); /* reads the close of a written file */
   CHECK(quiet(watch));

   fd = open("moved", O_CREAT | O_WRONLY, 0600);
   CHECK(fd >= 0);
   close(fd);
   CHECK(rename("moved", "w/moved") == 0); /* moved in */
   CHECK(reported(watch, id));

   fd = open("w/below/deep", O_CREAT | O_WRONLY, 0600); /* below: not this watch's */
   CHECK(fd >= 0);
   close(fd);
   CHECK(quiet(watch));

   os_dir_watch_remove(watch, id);
   fd = open("w/after", O_CREAT | O_WRONLY, 0600);
   CHECK(fd >= 0);
   close(fd);
   CHECK(quiet(watch));
   close(watch);
}

TEST(dir_watch_refuses_what_is_no_directory)
{
   const int watch = open_watch();
   if (watch == -2)
      SKIP("this backend has no directory watch");
   CHECK(watch >= 0);
   const int fd = open("file", O_CREAT | O_WRONLY, 0600);
   CHECK(fd >= 0);
   close(fd);
   CHECK(mkdir("dir", 0700) == 0);
   CHECK(symlink("dir", "link") == 0);
   CHECK(os_dir_watch_add(watch, "file") < 0);
   CHECK(os_dir_watch_add(watch, "link") < 0); /* never through a link */
   CHECK(os_dir_watch_add(watch, "missing") < 0);
   close(watch);
}

UNIT_MAIN(UNIT(dir_watch_announces_changes), UNIT(dir_watch_refuses_what_is_no_directory))

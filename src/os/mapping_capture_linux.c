/* SPDX-License-Identifier: MIT */
/* mapping_capture.h on Linux: the executable's mmap precedes libc's for
 * every library the process loads (meson exports it with
 * src/os/mapping_capture.dynlist), so the host driver's mmap calls come
 * here. Unless capturing was enabled (lent video memory), and outside
 * a capture, it is the system call alone. */
/* mmap and mmap64 both defined here, not one renamed to the other. */
#undef _FILE_OFFSET_BITS
#include "os/mapping_capture.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* NVIDIA maps once per allocation; a few more leave room for a driver
 * that maps its bookkeeping alongside. */
#define CAPTURE_SLOTS 4

/* Set once at start, before any other thread; read-only after. */
static bool capture_enabled;

static __thread struct {
   bool on;
   unsigned count;
   struct {
      void *addr;
      size_t len;
      int fd;
   } slots[CAPTURE_SLOTS];
} capture;

/* syscall() gives -1 (MAP_FAILED) with errno set, as mmap does. Its
 * arguments are read as longs: an int passed as is may arrive with stray
 * upper bits (an fd the kernel would not find). */
static inline void *
system_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t offset)
{
   return (void *)syscall(SYS_mmap, (long)addr, (long)len, (long)prot, (long)flags, (long)fd, (long)offset);
}

static void
record(void *map, size_t len, int flags, int fd, off64_t offset)
{
   if (capture.on && map != MAP_FAILED && fd >= 0 && offset == 0 && (flags & MAP_SHARED) &&
       capture.count < CAPTURE_SLOTS) {
      int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy >= 0) {
         capture.slots[capture.count].addr = map;
         capture.slots[capture.count].len = len;
         capture.slots[capture.count].fd = copy;
         capture.count++;
      }
   }
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
   void *map = system_mmap(addr, len, prot, flags, fd, offset);
   if (__builtin_expect(capture_enabled, 0))
      record(map, len, flags, fd, offset);
   return map;
}

void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t offset)
{
   void *map = system_mmap(addr, len, prot, flags, fd, offset);
   if (__builtin_expect(capture_enabled, 0))
      record(map, len, flags, fd, offset);
   return map;
}

void
os_mapping_capture_enable(void)
{
   capture_enabled = true;
}

void
os_mapping_capture_begin(void)
{
   if (!capture_enabled)
      return;
   capture.count = 0;
   capture.on = true;
}

int
os_mapping_capture_end(const void *addr, size_t *len)
{
   int found = -1;
   if (!capture_enabled)
      return -1;
   capture.on = false;
   for (unsigned i = 0; i < capture.count; i++) {
      if (found < 0 && capture.slots[i].addr == addr) {
         found = capture.slots[i].fd;
         *len = capture.slots[i].len;
      } else {
         close(capture.slots[i].fd);
      }
   }
   capture.count = 0;
   return found;
}

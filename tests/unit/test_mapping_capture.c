/* SPDX-License-Identifier: MIT */
/* os/mapping_capture.h: once enabled, a shared file mapping made on this
 * thread during a capture comes back as a new fd of the same file, which
 * maps the same pages; nothing else is kept; and nothing at all before
 * os_mapping_capture_enable. A memfd stands in for the driver's file.
 * Each test runs in a process of its own (unit.c), so capturing starts
 * off in each. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/mapping_capture.h"
#include "os/os.h"
#include "unit.h"

#define SIZE 65536

TEST(shared_mapping_in_a_capture_is_lent)
{
#ifndef VS_MAPPING_CAPTURE
   size_t none = 0;
   os_mapping_capture_begin();
   CHECK_EQ(os_mapping_capture_end(NULL, &none), -1);
   SKIP("this build captures nothing (not Linux, or a sanitizer build)");
#else
   int fd = os_shm_create("capture-test", SIZE);
   CHECK(fd >= 0);
   os_mapping_capture_enable();
   os_mapping_capture_begin();
   volatile uint32_t *driver_view = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   size_t len = 0;
   int lent = os_mapping_capture_end((const void *)driver_view, &len);
   close(fd); /* as the driver does: the copy keeps the file */
   CHECK(driver_view != MAP_FAILED);
   CHECK(lent >= 0);
   CHECK_EQ(len, (size_t)SIZE);
   volatile uint32_t *lent_view = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, lent, 0);
   CHECK(lent_view != MAP_FAILED);
   driver_view[0] = 0x56454e55u;
   lent_view[SIZE / 4 - 1] = 0x0badf00du;
   CHECK_EQ(lent_view[0], 0x56454e55u);
   CHECK_EQ(driver_view[SIZE / 4 - 1], 0x0badf00du);
   munmap((void *)lent_view, SIZE);
   munmap((void *)driver_view, SIZE);
   close(lent);
#endif
}

#ifdef VS_MAPPING_CAPTURE
static void *
map_on_other_thread(void *arg)
{
   int fd = *(int *)arg;
   return mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
}
#endif

TEST(only_this_threads_shared_file_mappings_at_offset_0_are_kept)
{
#ifndef VS_MAPPING_CAPTURE
   SKIP("this build captures nothing");
#else
   int fd = os_shm_create("capture-test", 2 * SIZE);
   CHECK(fd >= 0);
   os_mapping_capture_enable();
   void *before = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0); /* before the capture */
   os_mapping_capture_begin();
   void *private_map = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
   void *offset_map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, SIZE);
   void *anon = mmap(NULL, SIZE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
   pthread_t thread;
   void *other = MAP_FAILED;
   CHECK_EQ(pthread_create(&thread, NULL, map_on_other_thread, &fd), 0);
   pthread_join(thread, &other);
   size_t len = 0;
   CHECK_EQ(os_mapping_capture_end(before, &len), -1);
   os_mapping_capture_begin();
   CHECK_EQ(os_mapping_capture_end(private_map, &len), -1);
   os_mapping_capture_begin();
   CHECK_EQ(os_mapping_capture_end(offset_map, &len), -1);
   os_mapping_capture_begin();
   CHECK_EQ(os_mapping_capture_end(anon, &len), -1);
   os_mapping_capture_begin();
   CHECK_EQ(os_mapping_capture_end(other, &len), -1);
   /* A capture with nothing found leaks no fd: the next fd is the same. */
   int probe = dup(0);
   os_mapping_capture_begin();
   void *shared = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
   CHECK_EQ(os_mapping_capture_end(NULL, &len), -1);
   int probe2 = dup(0);
   CHECK_EQ(probe2, probe + 1);
   close(probe);
   close(probe2);
   munmap(shared, SIZE);
   munmap(before, SIZE);
   munmap(private_map, SIZE);
   munmap(offset_map, SIZE);
   munmap(anon, SIZE);
   munmap(other, SIZE);
   close(fd);
#endif
}

TEST(nothing_is_captured_unless_enabled)
{
   int fd = os_shm_create("capture-test", SIZE);
   CHECK(fd >= 0);
   int probe = dup(0);
   os_mapping_capture_begin();
   void *shared = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
   size_t len = 0;
   CHECK(shared != MAP_FAILED);
   CHECK_EQ(os_mapping_capture_end(shared, &len), -1);
   /* No copy of the fd was made: the next fd is the same. */
   int probe2 = dup(0);
   CHECK_EQ(probe2, probe + 1);
   close(probe);
   close(probe2);
   munmap(shared, SIZE);
   close(fd);
}

UNIT_MAIN(UNIT(nothing_is_captured_unless_enabled), UNIT(shared_mapping_in_a_capture_is_lent), UNIT(only_this_threads_shared_file_mappings_at_offset_0_are_kept))

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a hostile snapshot (renderer/restore.h:
 * vs_restore_read; with bit 4, a whole context's: context.h:
 * vs_context_from_snapshot; with bit 5, a vtest client's sync objects and
 * pending SYNC_WAITs: vtest_sync.h, vtest_sync_table_read), as a worker
 * its guest owns could write it.
 * The input:
 *   byte 0     bits 0-2: how many memfds ride with the parcel (0-7);
 *              bit 3: the parcel comes over a socket as raw bytes
 *              (vs_parcel_recv) instead of straight from the input;
 *              bit 4: it is read as a context's snapshot;
 *              bit 5: as a sync table's, its fds eventfds, not memfds
 *   1 byte     per memfd: its size in pages (0-15)
 *   the rest   the parcel's bytes.
 * A state read back is freed at once; every fd the parcel brought must be
 * closed by then, and nothing mapped may be left. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/parcel.h"
#include "base/test_faults.h"
#include "context/context.h"
#include "os/os.h"
#include "renderer/restore.h"
#include "transport/vtest/vtest_sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
open_fds(void)
{
   int n = 0;
   DIR *d = opendir("/proc/self/fd");
   if (!d)
      abort();
   while (readdir(d))
      n++;
   closedir(d);
   return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   if (size < 1)
      return 0;
   const unsigned fd_count = data[0] & 7;
   const bool over_socket = data[0] & 8, whole_context = data[0] & 16, sync_table = data[0] & 32;
   if (size < 1 + fd_count)
      return 0;
   const int before = open_fds();
   struct vs_parcel p = { 0 };
   const uint8_t *bytes = data + 1 + fd_count;
   const size_t bytes_size = size - 1 - fd_count;
   if (over_socket) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
         abort();
      /* Small inputs only: the socket's buffer holds them whole. */
      if (bytes_size <= 65536 && write(sv[0], bytes, bytes_size) != (ssize_t)bytes_size)
         abort();
      close(sv[0]);
      char why[192];
      if (vs_parcel_recv(sv[1], &p, 1u << 20, 64, why, sizeof(why)) != 0)
         p = (struct vs_parcel){ 0 };
      close(sv[1]);
   } else {
      p.bytes = malloc(bytes_size ? bytes_size : 1);
      memcpy(p.bytes, bytes, bytes_size);
      p.size = p.cap = bytes_size;
      p.fds = calloc(8, sizeof(int));
      p.fd_cap = 8;
      for (unsigned i = 0; i < fd_count; i++) {
         const int fd = sync_table ? os_signalled_fd() : memfd_create("fuzz-snapshot", MFD_CLOEXEC);
         if (fd < 0 || (!sync_table && ftruncate(fd, (off_t)(data[1 + i] & 15) * (off_t)os_page_size()) != 0))
            abort();
         p.fds[p.fd_count++] = fd;
      }
   }
   struct vs_restore s;
   char why[192];
   if (sync_table) {
      struct vtest_sync_table *table = vtest_sync_table_create();
      if (!table)
         abort();
      vtest_sync_table_read(table, &p, true, why, sizeof(why));
      vtest_sync_table_destroy(table);
   } else if (whole_context) {
      /* Made and ended: its resources, rings and replay as read. */
      static struct vs_context_options options;
      static bool options_set;
      if (!options_set) {
         vs_context_options_default(&options);
         const struct vs_test_faults journal = { .keep_journal = true };
         vs_test_faults_set(&journal);
         options_set = true;
      }
      vs_context_destroy(vs_context_from_snapshot(1, "fuzz", &options, &p, why, sizeof(why)));
   } else if (p.size && vs_restore_read(&p, &s, why, sizeof(why))) {
      /* Every mapping read back is whole: touch its first byte. */
      volatile uint8_t sink = 0;
      for (uint32_t i = 0; i < s.content_count; i++)
         sink += *(const uint8_t *)s.contents[i].bytes;
      (void)sink;
      vs_restore_fini(&s);
   }
   vs_parcel_fini(&p);
   if (open_fds() != before)
      abort();
   return 0;
}

/* SPDX-License-Identifier: MIT */
/* The front end's echoes of the device's maps (shmem_echo.h). A file is
 * told by its device and inode, which an fd passed through the front end
 * keeps. */
#include "transport/vhost_user/shmem_echo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Maps live at once are bounded by the host-visible region (a page
 * each); a front end that never takes its echoes out is bounded here. */
#define ECHOES_MAX 65536u

struct vs_shmem_map {
   uint64_t file_dev, file_ino;
   uint64_t fd_offset, len, shm_offset;
   uint64_t guest_addr; /* the echo's, once it came */
   bool echoed;
   bool unmapped; /* kept for its echo's REM_MEM_REG */
};

void
vs_shmem_echoes_fini(struct vs_shmem_echoes *echoes)
{
   free(echoes->maps);
   memset(echoes, 0, sizeof(*echoes));
}

static void
forget(struct vs_shmem_echoes *echoes, unsigned i)
{
   echoes->maps[i] = echoes->maps[--echoes->count];
}

bool
vs_shmem_echoes_mapped(struct vs_shmem_echoes *echoes, int fd, uint64_t fd_offset, uint64_t len,
                       uint64_t shm_offset)
{
   struct stat st;
   if (fstat(fd, &st) != 0)
      return false;
   if (echoes->count == ECHOES_MAX) {
      /* Room from an unmapped map whose echo never went. */
      unsigned i = 0;
      while (i < echoes->count && !echoes->maps[i].unmapped)
         i++;
      if (i == echoes->count)
         return false;
      forget(echoes, i);
   }
   if (echoes->count == echoes->cap) {
      const unsigned cap = echoes->cap ? 2 * echoes->cap : 16;
      struct vs_shmem_map *bigger = realloc(echoes->maps, cap * sizeof(*bigger));
      if (!bigger)
         return false;
      echoes->maps = bigger;
      echoes->cap = cap;
   }
   echoes->maps[echoes->count++] = (struct vs_shmem_map){
      .file_dev = (uint64_t)st.st_dev, .file_ino = (uint64_t)st.st_ino,
      .fd_offset = fd_offset, .len = len, .shm_offset = shm_offset,
   };
   return true;
}

void
vs_shmem_echoes_unmapped(struct vs_shmem_echoes *echoes, uint64_t shm_offset)
{
   for (unsigned i = 0; i < echoes->count; i++) {
      struct vs_shmem_map *m = &echoes->maps[i];
      if (!m->unmapped && m->shm_offset == shm_offset) {
         if (m->echoed)
            m->unmapped = true;
         else
            forget(echoes, i);
         return;
      }
   }
}

bool
vs_shmem_echoes_add(struct vs_shmem_echoes *echoes, const struct vs_vu_mem_region *region, int fd,
                    uint64_t *shm_offset)
{
   struct stat st;
   if (!echoes->count || fstat(fd, &st) != 0)
      return false;
   for (unsigned i = 0; i < echoes->count; i++) {
      struct vs_shmem_map *m = &echoes->maps[i];
      if (!m->echoed && !m->unmapped && m->file_dev == (uint64_t)st.st_dev && m->file_ino == (uint64_t)st.st_ino &&
          m->fd_offset == region->mmap_offset && m->len == region->size) {
         m->echoed = true;
         m->guest_addr = region->guest_addr;
         *shm_offset = m->shm_offset;
         return true;
      }
   }
   return false;
}

bool
vs_shmem_echoes_remove(struct vs_shmem_echoes *echoes, const struct vs_vu_mem_region *region)
{
   for (unsigned i = 0; i < echoes->count; i++) {
      struct vs_shmem_map *m = &echoes->maps[i];
      if (m->echoed && m->guest_addr == region->guest_addr && m->len == region->size) {
         if (m->unmapped)
            forget(echoes, i);
         else
            m->echoed = false; /* taken out while mapped: echoed again at the next commit */
         return true;
      }
   }
   return false;
}

bool
vs_shmem_echoes_seen(const struct vs_shmem_echoes *echoes, uint64_t shm_offset)
{
   for (unsigned i = 0; i < echoes->count; i++) {
      const struct vs_shmem_map *m = &echoes->maps[i];
      if (!m->unmapped && m->shm_offset == shm_offset)
         return m->echoed;
   }
   return false;
}

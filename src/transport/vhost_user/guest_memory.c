/* SPDX-License-Identifier: MIT */
/* Guest RAM shared by the front end (guest_memory.h). The table comes from
 * the VMM, the addresses from the guest: both are checked in 64-bit
 * arithmetic that cannot wrap. */
#include "transport/vhost_user/guest_memory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static bool
check_region(const struct vs_vu_mem_region *r, unsigned i, int fd, char *why, size_t why_size)
{
   if (r->size == 0 || r->size > SIZE_MAX || r->mmap_offset > SIZE_MAX - r->size ||
       r->guest_addr > UINT64_MAX - (r->size - 1) || r->user_addr > UINT64_MAX - (r->size - 1)) {
      snprintf(why, why_size, "memory region %u of 0x%llx bytes at guest 0x%llx, offset 0x%llx does not fit", i,
               (unsigned long long)r->size, (unsigned long long)r->guest_addr,
               (unsigned long long)r->mmap_offset);
      return false;
   }
   /* Mapping past the end of a file would fault on first touch. */
   struct stat st;
   if (fstat(fd, &st) < 0) {
      snprintf(why, why_size, "memory region %u: fstat: %s", i, strerror(errno));
      return false;
   }
   if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->mmap_offset + r->size) {
      snprintf(why, why_size, "memory region %u ends at 0x%llx of a file of 0x%llx bytes", i,
               (unsigned long long)(r->mmap_offset + r->size), (unsigned long long)st.st_size);
      return false;
   }
   return true;
}

static bool
overlaps(const struct vs_guest_region *a, const struct vs_vu_mem_region *b)
{
   return a->guest_addr <= b->guest_addr + (b->size - 1) && b->guest_addr <= a->guest_addr + (a->size - 1);
}

/* Maps region `r` (the i-th of its message) after the others. */
static bool
add_region(struct vs_guest_memory *mem, const struct vs_vu_mem_region *r, unsigned i, int fd, char *why,
           size_t why_size)
{
   if (!check_region(r, i, fd, why, why_size))
      return false;
   if (mem->count == VS_VU_MEM_SLOTS_MAX) {
      snprintf(why, why_size, "memory region %u: the device holds %u regions, the most", i, VS_VU_MEM_SLOTS_MAX);
      return false;
   }
   for (unsigned j = 0; j < mem->count; j++) {
      if (overlaps(&mem->regions[j], r)) {
         snprintf(why, why_size, "memory regions %u and %u overlap in guest addresses", j, i);
         return false;
      }
   }
   const size_t map_size = (size_t)(r->mmap_offset + r->size);
   void *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   if (map == MAP_FAILED) {
      snprintf(why, why_size, "memory region %u: mmap of 0x%zx bytes: %s", i, map_size, strerror(errno));
      return false;
   }
   mem->regions[mem->count++] = (struct vs_guest_region){
      .guest_addr = r->guest_addr,
      .size = r->size,
      .user_addr = r->user_addr,
      .host = (uint8_t *)map + r->mmap_offset,
      .map = map,
      .map_size = map_size,
   };
   return true;
}

bool
vs_guest_memory_map(struct vs_guest_memory *mem, const struct vs_vu_mem_table *table, const int *fds,
                    char *why, size_t why_size)
{
   vs_guest_memory_unmap(mem);
   if (table->nregions == 0 || table->nregions > VS_VU_MEM_REGIONS_MAX) {
      snprintf(why, why_size, "a memory table of %u regions", table->nregions);
      return false;
   }
   for (unsigned i = 0; i < table->nregions; i++) {
      if (!add_region(mem, &table->regions[i], i, fds[i], why, why_size)) {
         vs_guest_memory_unmap(mem);
         return false;
      }
   }
   return true;
}

bool
vs_guest_memory_add(struct vs_guest_memory *mem, const struct vs_vu_mem_region *region, int fd, char *why,
                    size_t why_size)
{
   return add_region(mem, region, mem->count, fd, why, why_size);
}

bool
vs_guest_memory_remove(struct vs_guest_memory *mem, const struct vs_vu_mem_region *region,
                       struct vs_guest_region *removed, char *why, size_t why_size)
{
   for (unsigned i = 0; i < mem->count; i++) {
      if (mem->regions[i].guest_addr == region->guest_addr && mem->regions[i].size == region->size) {
         *removed = mem->regions[i];
         mem->regions[i] = mem->regions[--mem->count];
         return true;
      }
   }
   snprintf(why, why_size, "no memory region of 0x%llx bytes at guest 0x%llx to remove",
            (unsigned long long)region->size, (unsigned long long)region->guest_addr);
   return false;
}

void
vs_guest_region_unmap(struct vs_guest_region *region)
{
   if (region->map)
      munmap(region->map, region->map_size);
   region->map = NULL;
}

void
vs_guest_memory_unmap(struct vs_guest_memory *mem)
{
   for (unsigned i = 0; i < mem->count; i++)
      munmap(mem->regions[i].map, mem->regions[i].map_size);
   mem->count = 0;
}

/* The region holding `addr` (a guest-physical or front-end address, as
 * `user` says), and how far into it. */
static const struct vs_guest_region *
find(const struct vs_guest_memory *mem, uint64_t addr, bool user, uint64_t *offset)
{
   for (unsigned i = 0; i < mem->count; i++) {
      const struct vs_guest_region *r = &mem->regions[i];
      const uint64_t start = user ? r->user_addr : r->guest_addr;
      if (addr >= start && addr - start < r->size) {
         *offset = addr - start;
         return r;
      }
   }
   return NULL;
}

static void *
translate(const struct vs_guest_memory *mem, uint64_t addr, uint64_t len, bool user)
{
   uint64_t offset;
   const struct vs_guest_region *r = len ? find(mem, addr, user, &offset) : NULL;
   if (!r || len > r->size - offset)
      return NULL;
   return r->host + offset;
}

void *
vs_guest_memory_gpa(const struct vs_guest_memory *mem, uint64_t gpa, uint64_t len)
{
   return translate(mem, gpa, len, false);
}

void *
vs_guest_memory_uva(const struct vs_guest_memory *mem, uint64_t uva, uint64_t len)
{
   return translate(mem, uva, len, true);
}

bool
vs_guest_memory_gpa_iov(const struct vs_guest_memory *mem, uint64_t gpa, uint64_t len, struct iovec *iov,
                        unsigned *count, unsigned max)
{
   if (len == 0 || gpa > UINT64_MAX - (len - 1))
      return false;
   while (len) {
      uint64_t offset;
      const struct vs_guest_region *r = find(mem, gpa, false, &offset);
      if (!r || *count >= max)
         return false;
      const uint64_t part = len < r->size - offset ? len : r->size - offset;
      iov[(*count)++] = (struct iovec){ .iov_base = r->host + offset, .iov_len = (size_t)part };
      gpa += part;
      len -= part;
   }
   return true;
}

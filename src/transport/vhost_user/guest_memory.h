/* SPDX-License-Identifier: MIT */
/* A VM's RAM as its front end shares it (SET_MEM_TABLE): each region's fd
 * mapped read/write and shared, and the two translations a back end needs:
 * guest-physical addresses (descriptors, backing pages) and the front end's
 * own virtual addresses (ring locations) to host pointers. A range is only
 * ever translated whole: inside guest RAM, without wrapping. */
#ifndef VS_GUEST_MEMORY_H
#define VS_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport/vhost_user/vhost_user_message.h"

struct vs_guest_region {
   uint64_t guest_addr;
   uint64_t size;
   uint64_t user_addr;
   uint8_t *host; /* the region's first byte */
   void *map;     /* what munmap takes: the region starts mmap_offset into it */
   size_t map_size;
};

struct vs_guest_memory {
   unsigned count;
   struct vs_guest_region regions[VS_VU_MEM_SLOTS_MAX];
};

/* Maps the table's regions, one fd each (the fds stay the caller's), in
 * place of what `mem` held. On failure `mem` is left empty. */
bool vs_guest_memory_map(struct vs_guest_memory *mem, const struct vs_vu_mem_table *table, const int *fds,
                         char *why, size_t why_size);
void vs_guest_memory_unmap(struct vs_guest_memory *mem);

/* Adds one region (ADD_MEM_REG; the fd stays the caller's). false (why)
 * when it is invalid, overlaps another or slots run out. */
bool vs_guest_memory_add(struct vs_guest_memory *mem, const struct vs_vu_mem_region *region, int fd, char *why,
                         size_t why_size);
/* Takes out the region at the same guest address and size (REM_MEM_REG)
 * into *removed, still mapped: the caller unmaps it with
 * vs_guest_region_unmap once nothing points into it. false (why) when
 * there is none. */
bool vs_guest_memory_remove(struct vs_guest_memory *mem, const struct vs_vu_mem_region *region,
                            struct vs_guest_region *removed, char *why, size_t why_size);
void vs_guest_region_unmap(struct vs_guest_region *region);

/* The host pointer of [gpa, gpa + len) when it lies inside one region; else
 * NULL. len 0 is refused. */
void *vs_guest_memory_gpa(const struct vs_guest_memory *mem, uint64_t gpa, uint64_t len);
/* The same for a range of the front end's virtual addresses. */
void *vs_guest_memory_uva(const struct vs_guest_memory *mem, uint64_t uva, uint64_t len);

/* [gpa, gpa + len) as host iovecs appended at iov[*count] (at most `max` in
 * all), split where it crosses from one region into the next. false when a
 * byte of it is outside guest RAM or iovecs run out. */
bool vs_guest_memory_gpa_iov(const struct vs_guest_memory *mem, uint64_t gpa, uint64_t len, struct iovec *iov,
                             unsigned *count, unsigned max);

#endif

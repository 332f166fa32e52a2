/* SPDX-License-Identifier: MIT */
/* The front end's echoes of the device's shared-memory maps. QEMU 11.1
 * answers SHMEM_MAP before it commits the new memory map, then, as it
 * commits, hands the mapping back to every vhost-user device of the VM as
 * one more region of guest memory (ADD_MEM_REG of the same file), and
 * takes it out again (REM_MEM_REG) after SHMEM_UNMAP. The echo is the
 * sign that the guest can reach the mapping: a map is answered to the
 * guest once its echo came (vhost_user_device.c). Echoes are recorded
 * here and never mapped (the device reaches the blob through its own
 * mapping), so a guest's many maps take no slot of the RAM table
 * (guest_memory.h). */
#ifndef VS_VHOST_USER_SHMEM_ECHO_H
#define VS_VHOST_USER_SHMEM_ECHO_H

#include <stdbool.h>
#include <stdint.h>

#include "transport/vhost_user/vhost_user_message.h"

struct vs_shmem_map;

struct vs_shmem_echoes {
   struct vs_shmem_map *maps;
   unsigned count, cap;
};

void vs_shmem_echoes_fini(struct vs_shmem_echoes *echoes);

/* The front end acknowledged a map of `len` bytes of `fd` from
 * `fd_offset` at `shm_offset`: its echo is awaited. false when it cannot
 * be recorded (out of memory, or a front end holding too many echoes):
 * its echo is then guest memory like any other. */
bool vs_shmem_echoes_mapped(struct vs_shmem_echoes *echoes, int fd, uint64_t fd_offset, uint64_t len,
                            uint64_t shm_offset);
/* The front end acknowledged the unmap at `shm_offset`: an echo still in
 * place waits for its REM_MEM_REG, the rest is forgotten. */
void vs_shmem_echoes_unmapped(struct vs_shmem_echoes *echoes, uint64_t shm_offset);

/* An ADD_MEM_REG of `fd`: true (and recorded) when it is the echo of a
 * map (the same file, offset and length), *shm_offset then the map's. */
bool vs_shmem_echoes_add(struct vs_shmem_echoes *echoes, const struct vs_vu_mem_region *region, int fd,
                         uint64_t *shm_offset);
/* A REM_MEM_REG: true when it took out an echo. */
bool vs_shmem_echoes_remove(struct vs_shmem_echoes *echoes, const struct vs_vu_mem_region *region);

/* Whether the map at `shm_offset` has been echoed. */
bool vs_shmem_echoes_seen(const struct vs_shmem_echoes *echoes, uint64_t shm_offset);

#endif

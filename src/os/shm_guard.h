/* SPDX-License-Identifier: MIT */
/* The fault-safe mapping table (shm_guard.c), for os_map_guarded. */
#ifndef VS_OS_SHM_GUARD_H
#define VS_OS_SHM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Records [map, map + size) as memory whose file can shrink: a SIGBUS in
 * it maps zero pages instead. False (errno set) if it cannot be guarded. */
bool os_shm_guard_add(void *map, size_t size);
/* Before the mapping goes; a no-op for a mapping never added. */
void os_shm_guard_remove(void *map);

#endif

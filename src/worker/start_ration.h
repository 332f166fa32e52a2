/* SPDX-License-Identifier: MIT */
/* Worker starts rationed per uid, on every door: a tenant that takes a
 * ready worker costs the server a warm-up to replace it, and connecting
 * costs the tenant nothing, so one uid's tenants take at most `per_min`
 * workers a minute past a burst of a quarter of that (at least 1). A
 * token bucket per uid; uids whose bucket is full again are forgotten.
 * Thread-safe. */
#ifndef VS_WORKER_START_RATION_H
#define VS_WORKER_START_RATION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_start_ration;

/* per_min 0: no ration. NULL when out of memory. A NULL ration (a start
 * that takes none) lets every start through. */
struct vs_start_ration *vs_start_ration_create(uint32_t per_min);
void vs_start_ration_destroy(struct vs_start_ration *ration);

/* Takes one of uid's starts; else false and in *wait_ms how long until
 * one is there. */
bool vs_start_ration_take(struct vs_start_ration *ration, uid_t uid, uint32_t *wait_ms);
/* Waits for one of uid's starts for a tenant on `fd`, its connection
 * open, nothing refused: true once taken; false when the tenant hung up
 * meanwhile. `waiting` (may be NULL) is told once, with how long. */
bool vs_start_ration_wait(struct vs_start_ration *ration, uid_t uid, int fd,
                          void (*waiting)(void *data, uint32_t wait_ms), void *data);
/* Gives back a start uid took and did not use (its tenant left before it
 * asked for anything). */
void vs_start_ration_give_back(struct vs_start_ration *ration, uid_t uid);

uint32_t vs_start_ration_per_min(const struct vs_start_ration *ration);

#endif

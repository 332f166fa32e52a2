/* SPDX-License-Identifier: MIT */
/* Which host GPU each new tenant (a vtest client, a render server's
 * context, a VM device) is given, written once for every door: on a host
 * with several GPUs and neither --device nor --placement all, each tenant
 * sees one of them as its only physical device, the one with the fewest
 * tenants now (ties: the lowest index) among those not lost; a uid the
 * operator pinned (--placement-pin) always to its GPU, lost or not. A GPU is
 * lost when a worker the pool prepared for it got no device there (the
 * server's own warm-up: never a tenant's word), until a later warm-up
 * there gets one; its running tenants are left to end on their own. With
 * every GPU lost, tenants are placed as if none were. A CPU device (lavapipe) beside
 * GPUs is no place for tenants. The GPUs are counted and named
 * once, at start, by a process of its own: the server never loads the
 * host driver for it. A worker process learns its GPU from the pool
 * (vs_placement_worker_gpu) and its renderer options take it
 * (vs_placement_expose). A GPU here is its place among the placed GPUs,
 * 0 to vs_placement_gpu_count - 1; the host's index of it, as --device
 * counts, is vs_placement_device_index's. */
#ifndef VS_WORKER_PLACEMENT_H
#define VS_WORKER_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_placement;
struct vs_renderer_options;

/* The most uids pinned (--placement-pin). */
#define VS_PLACEMENT_PINS_MAX 64

/* The operator's pins: every tenant of uid[i] goes to the host's GPU
 * device[i] (as --device counts). */
struct vs_placement_pins {
   uid_t uid[VS_PLACEMENT_PINS_MAX];
   int device[VS_PLACEMENT_PINS_MAX];
   unsigned count;
};

/* Counts and names the host's GPUs; NULL (every tenant sees every GPU,
 * one line said why) with fewer than two, or when they cannot be counted.
 * NULL and *refused (one line) where a pin names no GPU of the host, or
 * the GPUs cannot be counted to check the pins. Before the process
 * starts any thread. */
struct vs_placement *vs_placement_create(const struct vs_placement_pins *pins, bool *refused);

/* A GPU `gpu`'s prepared worker got no device there: lost (one line when
 * it was not). Thread-safe; nothing for NULL. */
void vs_placement_gpu_lost(struct vs_placement *placement, int gpu);
/* A prepared worker got its device on `gpu`: not lost (one line when it
 * was). Thread-safe; nothing for NULL. */
void vs_placement_gpu_works(struct vs_placement *placement, int gpu);
void vs_placement_destroy(struct vs_placement *placement);

/* The GPUs tenants are placed on; 0 for NULL. */
unsigned vs_placement_gpu_count(const struct vs_placement *placement);
/* The host's index of `gpu` (as --device counts); -1 for none. */
int vs_placement_device_index(const struct vs_placement *placement, int gpu);

/* The GPU a new tenant of `uid` is given, counted as one of its tenants
 * until vs_placement_give_back; -1 (every GPU) for NULL. Thread-safe. */
int vs_placement_take(struct vs_placement *placement, uid_t uid);
/* Where a tenant of `uid` on `gpu` may move to: another GPU of the same
 * model (by name) not lost, the one with the fewest tenants; -1 when
 * there is none, or the uid is pinned. Thread-safe; -1 for NULL. */
int vs_placement_move_target(struct vs_placement *placement, int gpu, uid_t uid);
/* A tenant that a live upgrade handed over, placed on `gpu` before:
 * counted there again; false (not counted) for a GPU this process does
 * not place on. */
bool vs_placement_retake(struct vs_placement *placement, int gpu);
/* One line: `noun` `id` of `uid`, served by process `pid`, is on `gpu`
 * (from vs_placement_take), with each GPU's tenants now. */
void vs_placement_announce(struct vs_placement *placement, int gpu, const char *noun, uint32_t id, uid_t uid,
                           pid_t pid);
/* The tenant on `gpu` has ended (or never started). */
void vs_placement_give_back(struct vs_placement *placement, int gpu);

/* In a worker process: the GPU it is prepared for (before its job) or
 * placed on (once it has one); -1: every GPU. */
void vs_placement_worker_set(int gpu);
int vs_placement_worker_gpu(void);
/* Exposes only `gpu` to the contexts `options` are for, unless it is -1
 * or the options already name a device (--device). */
void vs_placement_expose(const struct vs_placement *placement, int gpu, struct vs_renderer_options *options);

#endif

/* SPDX-License-Identifier: MIT */
/* Host-pointer shared memory by inode, for an in-process consumer (the
 * Wayland display of src/transport/display/): a dma-buf fd a Wayland client passes is
 * a dup of one of the server's memfds, so (st_dev, st_ino) names the
 * VkDeviceMemory and the server reads it through its own mapping, with no
 * new mapping and no copy.
 *
 * The consumer creates the registry and hands it to every context
 * (vs_renderer_options.shared_registry); a context without one registers
 * nothing (with one, each host-pointer allocation costs one fstat and a
 * list insert). A consumer pins an entry
 * (vs_shared_acquire) while it reads; freeing that memory waits for the pin
 * to go (vs_shared_release is never more than a colour conversion away), so
 * the mapping and the owning device outlive every read.
 *
 * Fences: at the Wayland commit, vs_shared_mark records where the owning
 * client's rings stand (renderer/renderer.h, vs_work_mark): the commit
 * comes over another socket, so the client's submissions before it may
 * still sit in a ring (Mesa's fast present, venus_implicit_fencing, commits
 * without waiting for its queue). vs_shared_fence_wait, later and on the
 * reader's thread, waits until the rings have executed up to the marks,
 * then submits an empty host fence on every queue of the owning device
 * (each signals once everything submitted there before it has finished:
 * Vulkan's submission order) and waits for them. So the frame covers at
 * least everything the client had written before its commit. */
#ifndef VS_RENDERER_MEMORY_SHARED_REGISTRY_H
#define VS_RENDERER_MEMORY_SHARED_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "renderer/renderer_state.h"

struct vs_device;
struct vs_shared_entry;
struct vs_shared_registry;

/* NULL when out of memory. Destroy only once no context and no reader
 * uses it. */
struct vs_shared_registry *vs_shared_registry_create(void);
void vs_shared_registry_destroy(struct vs_shared_registry *registry);

/* Brings the memory up to date before a read (a linear mirror's copy,
 * renderer/memory/linear_mirror.h). False: the frame must not be shown. */
typedef bool (*vs_shared_refresh_fn)(void *data, uint64_t timeout_ns);

/* device_memory.c and linear_mirror.c: shared memory is born / about to be
 * freed; `refresh` may be NULL. NULL (nothing registered) when `registry`
 * is. unregister waits until no reader holds the entry. */
struct vs_shared_entry *vs_shared_register(struct vs_shared_registry *registry, struct vs_device *dev,
                                           uint32_t ctx_id, int fd, void *map, size_t size,
                                           vs_shared_refresh_fn refresh, void *refresh_data);
void vs_shared_unregister(struct vs_shared_entry *entry);

/* A restore (renderer/restore.h) keeps an entry while its device is torn
 * down and made again. Parked, no reader finds it (a frame committed
 * meanwhile is not shown), and park returns once none holds it; resumed,
 * it is found again, on the new device. Both take NULL. */
void vs_shared_park(struct vs_shared_entry *entry);
void vs_shared_resume(struct vs_shared_entry *entry, struct vs_device *dev);

/* A worker's registry tells the server of its entries (worker_link.c):
 * `born` after an entry is registered (fd is the memfd, `size` no more
 * than its file's), `gone` before unregister waits for its readers. Set
 * before any context uses the registry. */
struct vs_shared_publisher {
   void (*born)(void *data, uint64_t entry_id, int fd, size_t size);
   void (*gone)(void *data, uint64_t entry_id);
   void *data;
};
void vs_shared_registry_publish(struct vs_shared_registry *registry, const struct vs_shared_publisher *publisher);

/* The server's side of a worker's entry: what vs_shared_mark/fence_wait/
 * release ask of the owning worker, and `free` once the entry is gone and
 * unpinned (unmaps `map`). */
struct vs_shared_remote_ops {
   /* Asks the worker to mark its entry `entry_id`; *view_id names the
    * worker's view for the next calls. False: nothing marked. */
   bool (*mark)(void *remote, uint64_t entry_id, uint64_t *view_id);
   /* The worker's vs_shared_fence_wait on its view (0: an unmarked one,
    * for the refresh alone); false on its failure, a dead link or no
    * answer in time. *refreshed: the worker ran the entry's refresh. */
   bool (*fence_wait)(void *remote, uint64_t entry_id, uint64_t view_id, uint64_t timeout_ns, bool *refreshed);
   void (*release)(void *remote, uint64_t view_id);
   void (*free)(void *remote, void *map, size_t size);
};
/* In the server: a worker's entry, mapped at `map`. NULL when out of
 * memory. unregister_remote never waits: it hides the entry from
 * acquire, and the last release frees it. */
struct vs_shared_entry *vs_shared_register_remote(struct vs_shared_registry *registry, uint32_t ctx_id,
                                                  uint64_t st_dev, uint64_t st_ino, void *map, size_t size,
                                                  uint64_t entry_id, const struct vs_shared_remote_ops *ops,
                                                  void *remote);
void vs_shared_unregister_remote(struct vs_shared_entry *entry);

#define VS_SHARED_MAX_FENCES 32

struct vs_shared_view {
   const uint8_t *map;     /* the server's mapping of the whole memfd */
   size_t size;
   uint32_t ctx_id;        /* the context that owns the memory */
   struct vs_shared_entry *entry;
   bool marked;            /* vs_shared_mark ran: the queues must be fenced */
   bool fenced;            /* ... and have been (the rings had reached the marks) */
   struct vs_work_mark work;
   uint32_t fence_count;
   uint64_t fences[VS_SHARED_MAX_FENCES]; /* VkFence of the owning device */
   bool refreshed;         /* fence_wait ran the entry's refresh (one GPU copy) */
   uint64_t remote_view;   /* a remote entry's: the worker's view, 0 if unmarked */
};

/* Finds and pins the memory with this inode. False if no server memory
 * has it (a foreign fd). */
bool vs_shared_acquire(struct vs_shared_registry *registry, uint64_t st_dev, uint64_t st_ino, struct vs_shared_view *out);
/* Whether server memory has this inode (its size in *size), parked or
 * not: a buffer made of it is server memory even while it is restored. */
bool vs_shared_known(struct vs_shared_registry *registry, uint64_t st_dev, uint64_t st_ino, size_t *size);
/* The same by the id a publisher was told (a worker's link thread). */
bool vs_shared_acquire_id(struct vs_shared_registry *registry, uint64_t entry_id, struct vs_shared_view *out);
/* Records where the owning client's rings stand now (at the commit). */
void vs_shared_mark(struct vs_shared_view *view);
/* If marked: waits until the rings reach the marks, fences every queue of
 * the owning device and waits for the fences (up to timeout_ns each); then
 * refreshes the memory if its entry has a refresh (as long again). False on
 * a timeout, a host error or device loss: the frame must not be shown. */
bool vs_shared_fence_wait(struct vs_shared_view *view, uint64_t timeout_ns);
/* Destroys the fences (waiting for them if still pending) and unpins. */
void vs_shared_release(struct vs_shared_view *view);

/* Number of host-pointer memories registered now (tests, logs). */
uint32_t vs_shared_registry_count(struct vs_shared_registry *registry);

#endif

/* SPDX-License-Identifier: MIT */
/* What a context's restore (context/restore.c) needs of its renderer. The
 * restore tears the renderer down and rebuilds it by replaying the
 * context's journal (wire/journal.h); what a replay cannot make again it
 * must find again:
 *  - the shared memory under each host-visible allocation: the guest maps
 *    those very pages and the host driver's writes live there, so the
 *    replay's vkAllocateMemory of the same id imports them again;
 *  - the state of the sync objects: a fence signalled, an event set, a
 *    timeline semaphore's value, a binary semaphore's signal not waited
 *    for, set again once the replay is done.
 *  - the contents of memory it cannot map (device-local memory), copied
 *    through the GPU into host memory before the teardown and back into
 *    the replay's allocation of the same id (memory/device_copy.h): the
 *    memory whole, unless dedicated to an image, and each image in it
 *    apart, out of and back into its layouts (renderer/image_layout.h);
 *  - every image's layouts, as the submitted work left them.
 * Whatever else is not in the journal (query results, work in
 * flight) makes the check refuse,
 * before anything is torn down. The host copies are host RAM the client
 * holds meanwhile: charged to its uid's share (base/ledger.h), and a copy
 * that does not fit refuses the restore. */
#ifndef VS_RENDERER_RESTORE_H
#define VS_RENDERER_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "renderer/memory/device_copy.h"
#include "renderer/memory/memory_state.h"
#include "renderer/renderer_state.h"

struct vs_parcel;
struct vs_renderer;

/* One sync object's state: a fence signalled or an event set (1), a
 * timeline semaphore's value. */
struct vs_restore_sync {
   uint64_t id;
   VkObjectType type;
   uint64_t value;
};

/* One allocation's contents, copied out of device-local memory into a
 * host region (memory/device_memory.h) of `map_size` bytes. */
struct vs_restore_contents {
   uint64_t memory_id;
   VkDeviceSize size;
   void *bytes;
   size_t map_size, granule;
   int fd; /* the region's, kept for a snapshot (keep_fds); else -1 */
};

/* One image's layouts (`each_count` entries in layouts.each), and its
 * contents where it lies in copied memory: `total` bytes, its parts
 * (memory/device_copy.h) by its layouts, in a host region of `map_size`
 * bytes. */
struct vs_restore_image {
   uint64_t id;
   uint64_t memory_id;               /* where its bytes lie: at offset, size bytes */
   VkDeviceSize offset, size;
   struct vs_image_layouts layouts;
   uint32_t each_count;
   VkDeviceSize total;
   void *bytes;
   size_t map_size, granule;
   int fd; /* as a vs_restore_contents' */
};

struct vs_restore {
   struct vs_kept_regions regions; /* renderer/memory/memory_state.h */
   struct vs_restore_contents *contents;
   uint32_t content_count, content_cap;
   uint64_t content_bytes;
   uint64_t copy_ns; /* copying them out and back */
   struct vs_restore_image *images;
   uint32_t image_count, image_cap;
   uint32_t images_copied;
   struct vs_restore_sync *syncs;
   uint32_t sync_count, sync_cap;
   bool keep_fds; /* set before the take: the host copies keep their fds */
   /* Set before the take, a checkpoint's: the allocations keep their
    * regions, which this only names (for vs_restore_write), and the
    * renderer runs on. */
   bool borrow_regions;
   /* The host copies' bytes, charged to the client's uid on `ledger`
    * (host RAM) until the fini: the port outlives the teardown. */
   struct vs_ledger_port *ledger;
   uint64_t charged;
   bool out_of_memory;
};

/* Whether the renderer's state can be rebuilt from its journal now; false
 * with `why` naming the first object that cannot. At a quiet point: no
 * command runs (the dispatch lock is held exclusive). Work in flight on
 * the host queues is waited for until `deadline_ns` (os_now_ns). */
bool vs_renderer_restore_check(struct vs_renderer *r, uint64_t deadline_ns, char *why, size_t why_size);

/* The host GPU a restore that moves the context rebuilds it on: the next
 * one after its own (in the host's order, round), which must be the same
 * model with the same memory (the guest keeps what it read of its GPU).
 * -1, with `why`, when there is none: the context sees every GPU, or the
 * host has no other such GPU. */
int vs_renderer_restore_next_gpu(struct vs_renderer *r, char *why, size_t why_size);

/* Reads the sync objects' state, copies device-local memory's contents
 * out, and takes each allocation's shared memory out of it (unless
 * borrow_regions), so that the teardown leaves that memory be. False,
 * with `why`, when out of memory or a copy failed, every allocation left
 * as it was. */
bool vs_renderer_restore_take(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size);

/* After the replay: copies device-local memory's contents back and sets
 * each sync object as it was. False, with `why`, when one could not be. */
bool vs_renderer_restore_settle(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size);

/* A taken state as a parcel (base/parcel.h), for a restore that reads it
 * back, in this process or another: every region and host copy by its fd
 * (the take kept them: keep_fds), layouts and sync states as values.
 * False with `why` when one has no fd or out of memory. */
bool vs_restore_write(const struct vs_restore *s, struct vs_parcel *p, char *why, size_t why_size);

/* What vs_restore_write wrote, read into `s` (zeroed): each fd mapped
 * again, every count, size, fd and value checked (the writer may be a
 * worker its guest owns). What the replay makes is checked against it
 * again at the settle: an image's layouts must fit the image. False with
 * `why`, `s` freed. */
bool vs_restore_read(struct vs_parcel *p, struct vs_restore *s, char *why, size_t why_size);

/* Unmaps and closes the regions no allocation claimed, and frees `s`. */
void vs_restore_fini(struct vs_restore *s);

#endif

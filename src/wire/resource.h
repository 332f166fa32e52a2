/* SPDX-License-Identifier: MIT */
/* Blob resources: shared memory the guest maps. A resource is either plain
 * shared memory (rings, reply streams, command buffers) or the pages of a
 * VkDeviceMemory. Resources are reference counted because a ring or a reply
 * window may still use one after the guest unrefs it. */
#ifndef VS_RESOURCE_H
#define VS_RESOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fair_share.h"

struct vs_resource {
   uint32_t id;
   int refcount;        /* protected by the table lock */
   int fd;              /* what the guest got a dup of; -1 once not needed */
   uint8_t *map;        /* host mapping */
   size_t size;         /* bytes the guest may touch */
   size_t map_size;     /* bytes mapped (size rounded up) */
   bool guarded;        /* map is between PROT_NONE guard pages (os_map_guarded) */
   bool is_shmem;       /* plain shared memory (blob_id 0) */
   uint64_t memory_id;  /* the VkDeviceMemory behind it, 0 for shared memory */
   const void *watch;   /* that memory's host mapping, if shared memory (os_map_faulted) */
   /* What its fd and guarded mapping count against (one fd, the mappings
    * given), given back when it is freed; NULL: nothing. */
   struct vs_fair_account *fd_account;
   struct vs_fair_account *mapping_account;
   uint32_t charged_mappings;
   struct vs_fair_account *bytes_account; /* its bytes, e.g. a shared-memory budget */
   uint64_t charged_bytes;
   struct vs_resource *hash_next; /* in the table's id index */
};

/* Ids are the caller's (the transport picks them, as vtest and a VMM
 * do): the table only refuses 0 and ids in use. */
struct vs_resource_table {
   pthread_mutex_t lock;
   struct vs_resource **buckets; /* by id; bucket_count is a power of two */
   uint32_t bucket_count;
   uint32_t count;
};

void vs_resource_table_init(struct vs_resource_table *t);
/* Drops every resource (the table's references). */
void vs_resource_table_fini(struct vs_resource_table *t);

/* Creates plain shared memory of `size` bytes and adds it under `id`,
 * mapped between guard pages (os_map_guarded): a missed bounds check on it
 * faults instead of reaching another client's memory.
 * NULL if id is 0 or in use, or on failure. */
struct vs_resource *vs_resource_create_shmem(struct vs_resource_table *t, uint32_t id, size_t size);
/* Adds a resource around an existing fd + mapping under `id` (same rules);
 * `guarded`: map came from os_map_guarded. Takes ownership of fd and map
 * only on success. */
struct vs_resource *vs_resource_add(struct vs_resource_table *t, uint32_t id, int fd, void *map,
                                    size_t size, size_t map_size, bool guarded);
/* Calls `fn` on every resource, under the table's lock (it must not call
 * into the table), until it returns false; false then. */
bool vs_resource_table_each(struct vs_resource_table *t, bool (*fn)(void *data, struct vs_resource *res),
                            void *data);
bool vs_resource_contains(struct vs_resource_table *t, uint32_t id);

/* A new reference, or NULL if the id is unknown. */
struct vs_resource *vs_resource_get(struct vs_resource_table *t, uint32_t id);
void vs_resource_put(struct vs_resource_table *t, struct vs_resource *res);
/* Removes the id (the table's reference). False if unknown. */
bool vs_resource_remove(struct vs_resource_table *t, uint32_t id);

/* The id of a resource whose mapping faulted (os_map_faulted: its file
 * was truncated), 0 if none. */
uint32_t vs_resource_table_faulted(struct vs_resource_table *t);

/* True if [offset, offset+size) lies inside the resource. */
bool vs_resource_range_ok(const struct vs_resource *res, uint64_t offset, uint64_t size);

#endif

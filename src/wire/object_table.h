/* SPDX-License-Identifier: MIT */
/* The per-context table from guest object ids to host objects. The guest
 * chooses every id (a process-wide counter, never reused, never 0); the
 * table only checks them: creating an id twice, or looking one up with the
 * wrong type, is a protocol error. Used by the socket thread and every ring
 * thread at once, so it is locked; each dispatcher's lookups go through a
 * memo of its own first (vs_object_lookup_cached). */
#ifndef VS_OBJECT_TABLE_H
#define VS_OBJECT_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

struct vn_instance_table;
struct vn_device_table;

struct vs_object {
   uint64_t id;
   VkObjectType type;
   uint64_t handle;           /* the host handle, as an integer */
   struct vs_object *parent;  /* device, pool or instance that owns it; NULL for instances */
   /* Host entry points for commands on this object (whichever applies). */
   const struct vn_instance_table *it;
   const struct vn_device_table *dt;
   void *data;                /* family state (renderer/objects.h has the checked casts) */
   void (*data_free)(void *data); /* frees data when the entry goes, if set */
   uint32_t flags;            /* VS_OBJECT_* */
   struct vs_object *hash_next;   /* in the id index */
   struct vs_object *handle_next; /* in the (type, host handle) index */
   /* The objects whose parent this is, so a pool or device finds its
    * children without a scan of the table. */
   struct vs_object *first_child, *prev_sibling, *next_sibling;
   uint32_t child_count;
   /* Lifetimes (wire/lifetime.h), under the table's hold_lock. */
   uint32_t refs;             /* holders keeping it alive */
   uint8_t state;             /* VS_OBJECT_LIVE, _ZOMBIE or _GONE */
   bool unlinked;             /* out of the id and handle indexes */
   struct vs_holds *holds;    /* what it keeps alive; NULL while nothing */
   /* Some targets holds has, so a command that names them again (each
    * bind of a recording) finds them without the lock; set and cleared
    * under hold_lock, read without it (wire/lifetime.c). */
   struct vs_object *_Atomic hold_hint[4];
};

/* An object the guest can name. */
#define VS_OBJECT_LIVE 0
/* Destroyed by the guest while held: its id is gone, its host object
 * lives on until the last holder lets go. */
#define VS_OBJECT_ZOMBIE 1
/* Freed on the host with its pool while held: holders that are submitted
 * are refused. */
#define VS_OBJECT_GONE 2

/* A device that returned VK_ERROR_DEVICE_LOST (wire/runner.c). Set and
 * read atomically: the context's rings run commands on it at once. */
#define VS_OBJECT_DEVICE_LOST 0x1u
/* A semaphore created with VK_SEMAPHORE_TYPE_TIMELINE. */
#define VS_OBJECT_TIMELINE_SEMAPHORE 0x1u
/* A binary semaphore with a signal submitted to a host queue and not yet
 * waited for (renderer/sync/sync_fd.h); set and taken atomically. */
#define VS_OBJECT_SIGNAL_PENDING 0x2u
/* A binary semaphore the guest's WSI signalled with no host submission yet
 * (renderer/sync/sync_fd.h); set and taken atomically. */
#define VS_OBJECT_CPU_SIGNALLED 0x8u
/* A command buffer whose current recording has bound a compute, a
 * graphics or a ray tracing pipeline (renderer/command_buffer.c). */
#define VS_OBJECT_COMPUTE_PIPELINE_BOUND 0x2u
#define VS_OBJECT_GRAPHICS_PIPELINE_BOUND 0x4u
#define VS_OBJECT_RAY_TRACING_PIPELINE_BOUND 0x10u
/* An image the guest made with the LINEAR DRM modifier that the host has
 * as OPTIMAL (renderer/image.c); its data is the linear layout it reports. */
#define VS_OBJECT_MODIFIER_AS_OPTIMAL 0x2u

/* Creations the server refused lately, remembered so that a later use of
 * such an id (Mesa creates many objects asynchronously: it never hears of
 * the refusal) is reported with the reason, not as an unknown id. */
#define VS_OBJECT_REFUSED_SLOTS 16
#define VS_OBJECT_REFUSED_WHY 96

struct vs_object_refusal {
   uint64_t id;                       /* 0: empty */
   char why[VS_OBJECT_REFUSED_WHY];
};

struct vs_object_table {
   pthread_mutex_t lock;
   struct vs_object **buckets;        /* by guest id */
   struct vs_object **handle_buckets; /* by (type, host handle) */
   uint32_t bucket_count;             /* of each index */
   uint32_t count;
   uint32_t limit;                    /* most entries at once; 0: no limit */
   struct vs_object_refusal refused[VS_OBJECT_REFUSED_SLOTS]; /* a ring */
   uint32_t refused_next;
   /* Bumped when an entry leaves the id index; 64 bits, so it never
    * comes round to a value a memo holds. */
   _Atomic uint64_t unlink_generation;
   /* Object lifetimes (wire/lifetime.h). */
   pthread_mutex_t hold_lock;
   uint32_t hold_count;               /* (holder, target) pairs */
   uint32_t hold_limit;               /* most pairs; never 0 (refs cannot overflow) */
   uint32_t gone_generation;          /* bumped when a held object goes */
   /* Destroys the host object of a zombie whose last holder let go (a gone
    * one has none), then removes it. Set by the renderer. */
   void (*release)(void *data, struct vs_object *obj);
   void *release_data;
   /* Where live host objects are counted, for leak checks and logs: the
    * table's own count unless the owner points it at a server-wide one. */
   _Atomic uint64_t *live;
   _Atomic uint64_t own_live;
};

/* The live host objects counted where the table counts them. */
uint64_t vs_object_table_live(const struct vs_object_table *t);

/* False when out of memory. */
bool vs_object_table_init(struct vs_object_table *t);
void vs_object_table_fini(struct vs_object_table *t);

/* Adds a host object under a guest id. NULL if id is 0 or already used,
 * the table is at its limit, or out of memory. */
struct vs_object *vs_object_add(struct vs_object_table *t, uint64_t id, VkObjectType type,
                                uint64_t handle, struct vs_object *parent);

/* NULL if the id is unknown or has another type. */
struct vs_object *vs_object_lookup(struct vs_object_table *t, uint64_t id, VkObjectType type);

/* One dispatcher's memo of the ids it resolved lately: each command of a
 * recording names the same few objects, and a hit costs no lock. An entry
 * stands while no object has left the id index since it was made. Only
 * its owner's thread uses it. */
#define VS_OBJECT_CACHE_SLOTS 64
struct vs_object_cache_slot {
   uint64_t id; /* 0: empty */
   struct vs_object *obj;
   uint64_t generation;
};
struct vs_object_cache {
   struct vs_object_cache_slot slots[VS_OBJECT_CACHE_SLOTS];
};

/* The table's search for a memo's miss: fills the slot when found. */
struct vs_object *vs_object_lookup_fill(struct vs_object_table *t, struct vs_object_cache_slot *slot, uint64_t id,
                                        uint64_t generation);

/* vs_object_lookup through a memo. Ids come from a counter, so the low
 * bits spread them over the slots. */
static inline struct vs_object *
vs_object_lookup_cached(struct vs_object_table *t, struct vs_object_cache *c, uint64_t id, VkObjectType type)
{
   /* Read before the search: an entry leaving meanwhile outdates the slot. */
   uint64_t generation = atomic_load_explicit(&t->unlink_generation, memory_order_acquire);
   struct vs_object_cache_slot *slot = &c->slots[id & (VS_OBJECT_CACHE_SLOTS - 1)];
   struct vs_object *o = slot->id == id && slot->generation == generation
                            ? slot->obj
                            : vs_object_lookup_fill(t, slot, id, generation);
   return o && o->type == type ? o : NULL;
}

/* The memo's answer alone: NULL when id is not there (0 never is) or its
 * object has another type. */
static inline struct vs_object *
vs_object_cache_probe(struct vs_object_table *t, struct vs_object_cache *c, uint64_t id, VkObjectType type)
{
   const struct vs_object_cache_slot *slot = &c->slots[id & (VS_OBJECT_CACHE_SLOTS - 1)];
   if (slot->id != id || !id ||
       slot->generation != atomic_load_explicit(&t->unlink_generation, memory_order_acquire))
      return NULL;
   return slot->obj->type == type ? slot->obj : NULL;
}

bool vs_object_contains(struct vs_object_table *t, uint64_t id);

/* Remembers that the creation of `id` was refused, and why (truncated). */
void vs_object_note_refused(struct vs_object_table *t, uint64_t id, const char *why);
/* Copies why the creation of `id` was refused into `out`; false if the
 * table does not remember a refusal of that id. */
bool vs_object_refusal(struct vs_object_table *t, uint64_t id, char *out, size_t out_size);

/* Finds the object of a type by its host handle (replies that name existing
 * objects, handles inside structs). When a driver gives two objects the same
 * non-dispatchable handle, either may be returned. */
struct vs_object *vs_object_find_handle(struct vs_object_table *t, VkObjectType type,
                                        uint64_t handle);

/* Takes the entry out of the id and handle indexes (the guest can no
 * longer name it); it stays a child of its parent until removed. */
void vs_object_unlink(struct vs_object_table *t, struct vs_object *obj);

/* Gives obj another host handle (a buffer that picks one of two host
 * buffers when first bound: renderer/buffer.c). */
void vs_object_rehandle(struct vs_object_table *t, struct vs_object *obj, uint64_t handle);

/* Moves obj under another parent (a held object outliving its pool goes
 * under the device, which tears it down). */
void vs_object_reparent(struct vs_object_table *t, struct vs_object *obj, struct vs_object *parent);

/* Removes and frees the entry and its data (not the host object), and lets
 * go of what it held. */
void vs_object_remove(struct vs_object_table *t, struct vs_object *obj);

/* Calls fn for every object whose parent is `parent` (any type if type is
 * VK_OBJECT_TYPE_UNKNOWN); fn may remove the object it is given. */
void vs_object_foreach_child(struct vs_object_table *t, struct vs_object *parent,
                             VkObjectType type, void (*fn)(struct vs_object *, void *), void *data);

#endif

/* SPDX-License-Identifier: MIT */
/* Object lifetimes: what keeps a host object alive after the guest
 * destroys it. A holder (a recorded command buffer, a descriptor set, a
 * buffer bound to memory, an image view) holds its targets; each target
 * counts its holders. The guest's destroy of a held object only takes its
 * id away (a zombie): the host object goes when the last holder lets go,
 * through the table's release hook. So a command buffer recorded with a
 * buffer, then submitted after the guest destroyed that buffer or freed its
 * memory, still runs on live host objects, and no other client can be
 * given that memory meanwhile.
 *
 * Holds are counted per (holder, target) pair, so a descriptor set that
 * names one buffer in two slots lets go of it once both are overwritten;
 * the table bounds the pairs (hold_limit), so counts cannot overflow. */
#ifndef VS_LIFETIME_H
#define VS_LIFETIME_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/object_table.h"

/* (holder, target) pairs a context may have with no object limit; with
 * one, the context allows four per object. */
#define VS_HOLD_LIMIT_DEFAULT (4u << 20)

struct vs_holds;

/* holder keeps target alive (once more; `once`: at most once). False
 * when the context is over its hold limit or out of memory. */
bool vs_object_hold(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target, bool once);
/* One hold of holder on target fewer; the target may be released. */
void vs_object_unhold(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target);
/* Lets go of everything holder holds; targets may be released. */
void vs_object_drop_holds(struct vs_object_table *t, struct vs_object *holder);
/* Frees holder's holds without touching the targets: only when every
 * object of the device goes at once (device and context teardown). */
void vs_object_forget_holds(struct vs_object_table *t, struct vs_object *holder);

/* The guest destroyed or freed obj. True when nothing holds it: the
 * caller destroys the host object and removes the entry now. Otherwise
 * obj becomes `state` (VS_OBJECT_ZOMBIE: the host object is kept;
 * VS_OBJECT_GONE: the caller frees it on the host anyway) and leaves the
 * id index; the release hook removes it when its last holder lets go. */
bool vs_object_retire(struct vs_object_table *t, struct vs_object *obj, uint8_t state);

/* What a walk of the command buffers a holder runs (the command buffers
 * it holds, theirs, ...) found. */
struct vs_command_walk {
   struct vs_object *gone;     /* an object freed with its pool one of them holds, or NULL */
   struct vs_object *found;    /* the command buffer looked for, when it is among them */
   struct vs_object *cycle;    /* one that runs itself (the walk stopped), or NULL */
   uint32_t height;            /* levels of command buffers below the root (0: holds none) */
   bool too_deep;              /* over max_height: the walk stopped, height is max_height + 1 */
   bool out_of_memory;         /* the walk stopped */
};
/* Walks what root runs to any depth, each command buffer once, stopping
 * below max_height levels. */
void vs_object_walk_commands(struct vs_object_table *t, struct vs_object *root, const struct vs_object *find,
                             uint32_t max_height, struct vs_command_walk *out);

/* A target of holder (or of a command buffer it runs, at any depth) that
 * is gone, or NULL. *generation is the table's gone generation the answer
 * holds for: callers skip the walk while it has not changed. */
struct vs_object *vs_object_find_gone(struct vs_object_table *t, struct vs_object *holder, uint32_t *generation);

/* Whether the guest can still name obj (neither a zombie nor gone). */
bool vs_object_is_live(struct vs_object_table *t, struct vs_object *obj);
/* Whether anything holds obj. */
bool vs_object_held(struct vs_object_table *t, struct vs_object *obj);

/* Holds a target of holder has (0 if none). */
uint32_t vs_object_hold_count(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target);

void vs_holds_free(struct vs_holds *h);

#endif

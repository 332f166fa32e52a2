/* SPDX-License-Identifier: MIT */
/* A dispatcher: the state that decodes and executes one command stream,
 * either a ring (the Vulkan API) or the context side (SUBMIT_CMD2, which
 * Mesa uses for ring management only).
 *
 * This is the bottom of the command path: it knows the wire (vn_wire.h),
 * the object table and the resource table, and nothing above them. What it
 * needs from its owner (the context layer) comes through hooks; who handles
 * each command comes from a vn_exec_table that the owner filled. */
#ifndef VS_DISPATCH_H
#define VS_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "wire/cs.h"
#include "wire/dispatch_lock.h"

struct vs_journal;
struct vs_object;
struct vs_object_table;
struct vs_renderer;
struct vs_resource;
struct vs_resource_table;
struct vn_check_table;
struct vn_exec_table;

/* Told after each command how long it ran (decoding, checks and handler)
 * and which command it was: the bench's --submit-stats. */
typedef void (*vs_runner_timing_fn)(void *data, uint32_t type, uint64_t ns);

/* What the owner of a dispatcher provides. */
struct vs_runner_hooks {
   /* Makes the whole context fatal, logging `reason` once. */
   void (*fatal)(void *data, const char *reason);
   /* True once long host waits on this dispatcher should give up (the ring
    * is stopping, or the context is fatal). */
   bool (*should_stop)(void *data);
   /* Asked between the slices of a long host wait: should_stop, or the
    * client hung up meanwhile (a costlier check than should_stop, which
    * runs before every command). */
   bool (*wait_abandoned)(void *data);
   void *data;
};

struct vs_runner {
   uint32_t ctx_id;                  /* for log lines */
   struct vs_runner_hooks hooks;
   const struct vn_exec_table *exec;
   const struct vn_check_table *checks; /* run before handlers (protocol/checks.txt) */
   struct vs_object_table *objects;
   struct vs_resource_table *resources;
   /* Opaque here: the handlers' per-context Vulkan state, and the context
    * or ring that runs this dispatcher (for the ring commands). */
   struct vs_renderer *renderer;
   void *owner;
   bool on_ring;                     /* false on the context side */
   vs_runner_timing_fn timing;       /* NULL: commands are not timed */
   void *timing_data;
   struct vs_journal *journal;       /* lasting commands kept here; NULL: none */

   struct vs_arena arena;            /* decoded form of the current command */
   struct vs_object_cache lookups;   /* ids this dispatcher resolved lately */
   /* What vkExecuteCommandStreamsMESA's streams decode into, and its
    * private copy of each stream: kept from one call to the next, so a
    * stream costs no allocation. The copy's bytes are charged to
    * stream_copy_account (NULL: to nothing) while it is kept. */
   struct vs_arena stream_arena;
   uint8_t *stream_copy;
   size_t stream_copy_cap;
   struct vs_fair_account *stream_copy_account;
   struct vn_decoder *decoder;       /* the command being executed */
   /* Reply window set by vkSetReplyCommandStreamMESA. */
   struct vs_resource *reply_res;
   size_t reply_offset, reply_size, reply_pos;
   struct vn_encoder reply;
   bool in_execute_streams;          /* vkExecuteCommandStreamsMESA does not nest */
   bool failed;
   /* The context's dispatch lock (NULL: none) and how the command being
    * run holds it. */
   struct vs_dispatch_lock *lock;
   enum vs_dispatch_mode lock_mode;
   const char *command_name;
};

struct vs_runner_desc {
   uint32_t ctx_id;
   struct vs_runner_hooks hooks;
   const struct vn_exec_table *exec;
   const struct vn_check_table *checks;
   struct vs_object_table *objects;
   struct vs_resource_table *resources;
   struct vs_renderer *renderer;
   void *owner;
   bool on_ring;
   vs_runner_timing_fn timing; /* NULL: commands are not timed */
   void *timing_data;
   struct vs_dispatch_lock *lock; /* the context's, shared by its dispatchers; NULL: none */
   struct vs_journal *journal;    /* the context's (wire/journal.h); NULL: none */
};

void vs_runner_init(struct vs_runner *runner, const struct vs_runner_desc *desc);
void vs_runner_fini(struct vs_runner *runner);
/* Frees the stream copy and gives back what it was charged. */
void vs_runner_release_stream_copy(struct vs_runner *runner);

/* Decodes and executes every command in [data, data+size). `after` (may be
 * NULL) is called after each command with the bytes consumed so far, which
 * lets a ring publish its head command by command. False on a bad stream:
 * the context is then fatal. */
bool vs_runner_stream(struct vs_runner *runner, const void *data, size_t size,
                        void (*after)(void *, size_t), void *after_data);

/* Marks the stream bad and the context fatal, logging the reason once. */
void vs_runner_fail(struct vs_runner *runner, const char *fmt, ...)
   __attribute__((format(printf, 2, 3)));
bool vs_runner_failed(const struct vs_runner *runner);
/* True while the command being run is the last of the outermost stream:
 * nothing after it in this submission depends on what it does. */
bool vs_runner_at_stream_end(const struct vs_runner *runner);
/* Between two slices of a host wait that may last (fences, semaphores,
 * idle queues, a command buffer's submissions): if a command that
 * destroys objects waits for the dispatch lock, lets it run, then checks
 * that every object the current command named is still the one it
 * resolved. False (the context failed) when one was destroyed: the caller
 * must stop waiting and touch none of them. The host call itself runs
 * under the lock, so no object it uses goes meanwhile. Does nothing under
 * the exclusive lock (a destroy's own waits keep it). */
bool vs_runner_wait_yield(struct vs_runner *runner);

/* Between the slices of a long host wait: true when it should end. */
bool vs_runner_wait_abandoned(struct vs_runner *runner);

struct vn_encoder *vs_runner_reply_begin(struct vs_runner *runner, const char *cmd);
bool vs_runner_reply_end(struct vs_runner *runner, const char *cmd);

/* Object binding used by the generated create/destroy paths. */
struct vs_object *vs_runner_add_object(struct vs_runner *runner, VkObjectType type, uint64_t id,
                                         uint64_t handle, struct vs_object *parent);
void vs_runner_remove_object(struct vs_runner *runner, struct vs_object *obj);
/* The guest destroys obj: true when the caller destroys the host object
 * and removes it now; false when it is held (wire/lifetime.h): its id is
 * gone and the table's release hook destroys it later. */
bool vs_runner_retire_object(struct vs_runner *runner, struct vs_object *obj);
/* The host refused to create the object the guest named `id` (Mesa
 * creates most objects without waiting): its later use is reported with
 * `command` and `result`. */
void vs_runner_note_failed_create(struct vs_runner *runner, const char *command, VkResult result, uint64_t id);
/* A just-created object (NULL: creation failed) holds the resources the
 * command names that must outlive it. */
void vs_runner_hold_created(struct vs_runner *runner, struct vs_object *obj);
/* The object a create command just bound under `id`, if it succeeded. */
struct vs_object *vs_runner_created(struct vs_runner *runner, VkResult result, uint64_t id, VkObjectType type);

/* The object a handle inside one of the current command's structs was
 * decoded from, by the address of that handle field (NULL if none):
 * non-dispatchable host handles need not be unique, guest ids are. */
struct vs_object *vs_runner_nested_object(const struct vs_runner *runner, const void *field);
/* Every object the current command names, in decoding order. */
struct vs_object *const *vs_runner_named(const struct vs_runner *runner, uint32_t *count);

#endif

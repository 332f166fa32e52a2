/* SPDX-License-Identifier: MIT */
/* A context's journal of lasting commands: the wire bytes of each command
 * that made or changed state a fresh renderer needs to be the same (the
 * objects' creates and ends, memory binds, descriptor writes, the
 * command buffers' recordings), in the order they ran, so that replaying
 * them through the decoder rebuilds that state under the same guest ids.
 *
 * What a command keeps is data (enum vn_journal_class in vn_wire.h,
 * derived from vk.xml by gen/venus_gen.py). The journal stays bounded by
 * what lives: each entry follows the life of its owners (the objects it
 * creates, ends or changes; a recording's command buffer), and a prune
 * drops the entries none of whose owners lives, unless a kept entry names
 * one of them (a pipeline outlives the shader module it was made from:
 * the module's create, and its destroy, stay while the pipeline's create
 * does). A recording ends where its command buffer begins anew or is
 * reset. Prunes run when the journal has doubled since the last, so each
 * entry costs a bounded amount of pruning.
 *
 * Commands of a context's rings and of its socket thread add to the one
 * journal: it is locked. */
#ifndef VS_WIRE_JOURNAL_H
#define VS_WIRE_JOURNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vn_command_info;
struct vn_decoder;

/* Whether the guest can still name the object `id`. */
typedef bool (*vs_journal_alive_fn)(void *data, uint64_t id);

struct vs_journal_entry {
   uint32_t type;                 /* the command's type */
   uint8_t cls;                   /* enum vn_journal_class */
   uint32_t owner_count, named_count;
   uint64_t seq;                  /* order of addition, from 1 */
   size_t bytes_off, bytes_size;  /* in bytes[]: header and arguments */
   size_t ids_off;                /* in ids[]: owners, then named */
};

/* A command buffer's recording: what started at seq or later. */
struct vs_journal_start {
   uint64_t id;                   /* 0: free slot */
   uint64_t seq;
};

struct vs_journal {
   pthread_mutex_t lock;
   struct vs_journal_entry *entries;
   size_t count, cap;
   uint8_t *bytes;
   size_t bytes_size, bytes_cap;
   uint64_t *ids;
   size_t ids_size, ids_cap;
   struct vs_journal_start *starts; /* open addressing, a power of two */
   size_t starts_cap, starts_count;
   uint64_t next_seq;
   /* The next prune, when the entries or bytes reach these. */
   size_t prune_entries, prune_bytes;
   size_t limit_bytes;            /* most bytes kept; past it: refused */
   /* Commands kept since the start, and the most entries and bytes held
    * at once: what the context's end logs. */
   uint64_t added;
   size_t peak_count, peak_bytes;
   vs_journal_alive_fn alive;
   void *alive_data;
   /* Why the journal cannot rebuild this context ("": it can); set once,
    * the journal empty from then on. */
   char refused[192];
};

/* False when out of memory. */
bool vs_journal_init(struct vs_journal *j, size_t limit_bytes, vs_journal_alive_fn alive, void *alive_data);
void vs_journal_fini(struct vs_journal *j);

/* Keeps one command of class cls (not transient, reset nor unreplayable):
 * its bytes, the ids of its owners and of every object it names. A begin
 * first ends the recording of its command buffer (owners[0]). An entry
 * with no owner keeps nothing. False, with the journal refused, when over
 * its limit or out of memory. */
bool vs_journal_add(struct vs_journal *j, uint32_t type, uint8_t cls, const void *bytes, size_t size,
                    const uint64_t *owners, uint32_t owner_count, const uint64_t *named, uint32_t named_count);
/* The recording of command buffer `id` is gone (its reset). */
void vs_journal_restart(struct vs_journal *j, uint64_t id);
/* The journal cannot rebuild the context any more, for the reason given
 * (the first one stays); its entries are dropped. */
void vs_journal_refuse(struct vs_journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops what no living object needs (see above). */
void vs_journal_prune(struct vs_journal *j);

/* The runner's door, for commands whose class is not transient: before
 * the handler, note_begin takes the ids the decoded command names (an end
 * frees its objects) into the decoder's arena (false: out of decode
 * memory); after the handler succeeded, note_end keeps the command's bytes
 * (from `start` to where its decoding ended) as its class says. */
struct vs_journal_note {
   const struct vn_command_info *cmd;
   const uint8_t *start;
   size_t size;
   uint64_t *owners, *named;
   uint32_t owner_count, named_count;
};
bool vs_journal_note_begin(struct vs_journal_note *n, const struct vn_command_info *cmd, const void *args,
                           struct vn_decoder *d, const uint8_t *start);
void vs_journal_note_end(struct vs_journal *j, const struct vs_journal_note *n, const struct vn_decoder *d);

/* Calls fn with each kept command's bytes, oldest first, until it returns
 * false; false then. Under the journal's lock: fn must not add. */
bool vs_journal_walk(struct vs_journal *j, bool (*fn)(void *data, const void *bytes, size_t size), void *data);

#endif

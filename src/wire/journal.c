/* SPDX-License-Identifier: MIT */
/* The journal of lasting commands (wire/journal.h). */
#include "wire/journal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "wire/cs.h"
#include "wire/object_table.h"
#include "vn_wire.h"

/* The first prune waits for this many entries. */
#define FIRST_PRUNE_ENTRIES 256u
#define FIRST_PRUNE_BYTES (64u << 10)

bool
vs_journal_init(struct vs_journal *j, size_t limit_bytes, vs_journal_alive_fn alive, void *alive_data)
{
   memset(j, 0, sizeof(*j));
   j->limit_bytes = limit_bytes;
   j->alive = alive;
   j->alive_data = alive_data;
   j->next_seq = 1;
   j->prune_entries = FIRST_PRUNE_ENTRIES;
   j->prune_bytes = FIRST_PRUNE_BYTES;
   return pthread_mutex_init(&j->lock, NULL) == 0;
}

static void
drop_all(struct vs_journal *j)
{
   free(j->entries);
   free(j->bytes);
   free(j->ids);
   free(j->starts);
   j->entries = NULL;
   j->bytes = NULL;
   j->ids = NULL;
   j->starts = NULL;
   j->count = j->cap = j->bytes_size = j->bytes_cap = j->ids_size = j->ids_cap = 0;
   j->starts_cap = j->starts_count = 0;
}

void
vs_journal_fini(struct vs_journal *j)
{
   drop_all(j);
   pthread_mutex_destroy(&j->lock);
}

static void
refuse_locked(struct vs_journal *j, const char *why)
{
   if (!j->refused[0])
      snprintf(j->refused, sizeof(j->refused), "%s", why);
   drop_all(j);
}

void
vs_journal_refuse(struct vs_journal *j, const char *fmt, ...)
{
   char why[sizeof(j->refused)];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(why, sizeof(why), fmt, ap);
   va_end(ap);
   pthread_mutex_lock(&j->lock);
   refuse_locked(j, why);
   pthread_mutex_unlock(&j->lock);
}

/* Grows *buf to hold `need` elements of `elem` bytes. */
static bool
grow(void **buf, size_t *cap, size_t need, size_t elem)
{
   if (need <= *cap)
      return true;
   size_t n = *cap ? *cap : 16;
   while (n < need) {
      if (n > SIZE_MAX / 2 / elem)
         return false;
      n *= 2;
   }
   void *p = realloc(*buf, n * elem);
   if (!p)
      return false;
   *buf = p;
   *cap = n;
   return true;
}

/* Ids from a counter: their low bits spread them. */
static struct vs_journal_start *
start_slot(struct vs_journal_start *starts, size_t cap, uint64_t id)
{
   for (size_t i = (size_t)id & (cap - 1);; i = (i + 1) & (cap - 1)) {
      if (starts[i].id == id || !starts[i].id)
         return &starts[i];
   }
}

static uint64_t
start_of(const struct vs_journal *j, uint64_t id)
{
   if (!j->starts_cap)
      return 0;
   const struct vs_journal_start *s = start_slot(j->starts, j->starts_cap, id);
   return s->id ? s->seq : 0;
}

static bool
set_start(struct vs_journal *j, uint64_t id, uint64_t seq)
{
   if ((j->starts_count + 1) * 2 > j->starts_cap) {
      size_t cap = j->starts_cap ? j->starts_cap * 2 : 64;
      struct vs_journal_start *starts = calloc(cap, sizeof(*starts));
      if (!starts)
         return false;
      for (size_t i = 0; i < j->starts_cap; i++) {
         if (j->starts[i].id)
            *start_slot(starts, cap, j->starts[i].id) = j->starts[i];
      }
      free(j->starts);
      j->starts = starts;
      j->starts_cap = cap;
   }
   struct vs_journal_start *s = start_slot(j->starts, j->starts_cap, id);
   if (!s->id)
      j->starts_count++;
   *s = (struct vs_journal_start){ id, seq };
   return true;
}

static void prune_locked(struct vs_journal *j);

bool
vs_journal_add(struct vs_journal *j, uint32_t type, uint8_t cls, const void *bytes, size_t size,
               const uint64_t *owners, uint32_t owner_count, const uint64_t *named, uint32_t named_count)
{
   if (!owner_count)
      return true;
   pthread_mutex_lock(&j->lock);
   bool ok = !j->refused[0];
   if (!ok)
      goto out;
   uint64_t seq = j->next_seq++;
   if (cls == VN_JOURNAL_BEGIN && !set_start(j, owners[0], seq)) {
      refuse_locked(j, "out of memory for the journal");
      ok = false;
      goto out;
   }
   size_t ids = (size_t)owner_count + named_count;
   if (size > j->limit_bytes || j->bytes_size > j->limit_bytes - size) {
      prune_locked(j);
      if (size > j->limit_bytes || j->bytes_size > j->limit_bytes - size) {
         char why[sizeof(j->refused)];
         snprintf(why, sizeof(why), "the journal of lasting commands is over its limit of %zu bytes", j->limit_bytes);
         refuse_locked(j, why);
         ok = false;
         goto out;
      }
   }
   if (!grow((void **)&j->entries, &j->cap, j->count + 1, sizeof(*j->entries)) ||
       !grow((void **)&j->bytes, &j->bytes_cap, j->bytes_size + size, 1) ||
       !grow((void **)&j->ids, &j->ids_cap, j->ids_size + ids, sizeof(*j->ids))) {
      refuse_locked(j, "out of memory for the journal");
      ok = false;
      goto out;
   }
   j->entries[j->count++] = (struct vs_journal_entry){
      .type = type,
      .cls = cls,
      .owner_count = owner_count,
      .named_count = named_count,
      .seq = seq,
      .bytes_off = j->bytes_size,
      .bytes_size = size,
      .ids_off = j->ids_size,
   };
   memcpy(j->bytes + j->bytes_size, bytes, size);
   j->bytes_size += size;
   memcpy(j->ids + j->ids_size, owners, owner_count * sizeof(*owners));
   if (named_count)
      memcpy(j->ids + j->ids_size + owner_count, named, named_count * sizeof(*named));
   j->ids_size += ids;
   j->added++;
   if (j->count > j->peak_count)
      j->peak_count = j->count;
   if (j->bytes_size > j->peak_bytes)
      j->peak_bytes = j->bytes_size;
   if (j->count >= j->prune_entries || j->bytes_size >= j->prune_bytes)
      prune_locked(j);
out:
   pthread_mutex_unlock(&j->lock);
   return ok;
}

void
vs_journal_restart(struct vs_journal *j, uint64_t id)
{
   pthread_mutex_lock(&j->lock);
   if (!j->refused[0] && !set_start(j, id, j->next_seq++))
      refuse_locked(j, "out of memory for the journal");
   pthread_mutex_unlock(&j->lock);
}

/* The ids a prune keeps the entries of: a set, open addressing. */
struct id_set {
   uint64_t *slots;
   size_t cap;
};

static bool
id_set_has(const struct id_set *s, uint64_t id)
{
   for (size_t i = (size_t)id & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
      if (s->slots[i] == id)
         return true;
      if (!s->slots[i])
         return false;
   }
}

static void
id_set_put(struct id_set *s, uint64_t id)
{
   if (!id)
      return;
   for (size_t i = (size_t)id & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
      if (s->slots[i] == id)
         return;
      if (!s->slots[i]) {
         s->slots[i] = id;
         return;
      }
   }
}

static bool
is_recording(uint8_t cls)
{
   return cls == VN_JOURNAL_RECORD || cls == VN_JOURNAL_BEGIN;
}

/* Whether the entry keeps its command: an owner lives (or is needed), and
 * for a recording, it is its command buffer's current one. */
static bool
entry_kept(struct vs_journal *j, const struct vs_journal_entry *e, const struct id_set *needed)
{
   const uint64_t *owners = j->ids + e->ids_off;
   if (is_recording(e->cls) && e->seq < start_of(j, owners[0]))
      return false;
   for (uint32_t i = 0; i < e->owner_count; i++) {
      if (id_set_has(needed, owners[i]) || (e->cls != VN_JOURNAL_END && j->alive(j->alive_data, owners[i])))
         return true;
   }
   return false;
}

static void
prune_locked(struct vs_journal *j)
{
   /* Every id a kept entry names is needed: at most all of them, in a set
    * at most half full. */
   size_t cap = 64;
   while (cap < j->ids_size * 2 + 2)
      cap *= 2;
   struct id_set needed = { calloc(cap, sizeof(uint64_t)), cap };
   bool *keep = calloc(j->count ? j->count : 1, sizeof(bool));
   if (!needed.slots || !keep) {
      free(needed.slots);
      free(keep);
      refuse_locked(j, "out of memory for the journal");
      return;
   }
   /* Newest first: an object is named only after its create, so one pass
    * finds every create a kept entry needs. Ends wait for the second. */
   for (size_t i = j->count; i-- > 0;) {
      const struct vs_journal_entry *e = &j->entries[i];
      if (e->cls == VN_JOURNAL_END || !entry_kept(j, e, &needed))
         continue;
      keep[i] = true;
      for (uint32_t k = 0; k < e->owner_count + e->named_count; k++)
         id_set_put(&needed, j->ids[e->ids_off + k]);
   }
   /* An object's end stays while its create does: a replay ends it again. */
   for (size_t i = 0; i < j->count; i++) {
      if (j->entries[i].cls == VN_JOURNAL_END)
         keep[i] = entry_kept(j, &j->entries[i], &needed);
   }
   size_t n = 0, bytes = 0, ids = 0;
   for (size_t i = 0; i < j->count; i++) {
      if (!keep[i])
         continue;
      struct vs_journal_entry e = j->entries[i];
      size_t e_ids = (size_t)e.owner_count + e.named_count;
      memmove(j->bytes + bytes, j->bytes + e.bytes_off, e.bytes_size);
      memmove(j->ids + ids, j->ids + e.ids_off, e_ids * sizeof(*j->ids));
      e.bytes_off = bytes;
      e.ids_off = ids;
      bytes += e.bytes_size;
      ids += e_ids;
      j->entries[n++] = e;
   }
   j->count = n;
   j->bytes_size = bytes;
   j->ids_size = ids;
   /* Recordings' starts: those of command buffers gone and unneeded have
    * no entry left. */
   struct vs_journal_start *starts = j->starts;
   size_t starts_cap = j->starts_cap;
   j->starts = NULL;
   j->starts_cap = j->starts_count = 0;
   for (size_t i = 0; i < starts_cap; i++) {
      uint64_t id = starts[i].id;
      if (id && (id_set_has(&needed, id) || j->alive(j->alive_data, id)) && !set_start(j, id, starts[i].seq)) {
         refuse_locked(j, "out of memory for the journal");
         break;
      }
   }
   free(starts);
   free(needed.slots);
   free(keep);
   j->prune_entries = n * 2 > FIRST_PRUNE_ENTRIES ? n * 2 : FIRST_PRUNE_ENTRIES;
   j->prune_bytes = bytes * 2 > FIRST_PRUNE_BYTES ? bytes * 2 : FIRST_PRUNE_BYTES;
}

void
vs_journal_prune(struct vs_journal *j)
{
   pthread_mutex_lock(&j->lock);
   if (!j->refused[0])
      prune_locked(j);
   pthread_mutex_unlock(&j->lock);
}

/* The children of the command pool `id` (its command buffers) begin
 * anew. */
static void
restart_children(struct vs_journal *j, struct vs_object_table *t, uint64_t id)
{
   struct vs_object *pool = vs_object_lookup(t, id, VK_OBJECT_TYPE_COMMAND_POOL);
   if (!pool)
      return;
   pthread_mutex_lock(&t->lock);
   uint32_t n = pool->child_count;
   uint64_t *ids = n ? malloc(n * sizeof(*ids)) : NULL;
   uint32_t k = 0;
   for (const struct vs_object *c = pool->first_child; ids && c && k < n; c = c->next_sibling)
      ids[k++] = c->id;
   pthread_mutex_unlock(&t->lock);
   if (n && !ids) {
      vs_journal_refuse(j, "out of memory for the journal");
      return;
   }
   for (uint32_t i = 0; i < k; i++)
      vs_journal_restart(j, ids[i]);
   free(ids);
}

bool
vs_journal_note_begin(struct vs_journal_note *n, const struct vn_command_info *cmd, const void *args,
                      struct vn_decoder *d, const uint8_t *start)
{
   const uint8_t *a = args;
   *n = (struct vs_journal_note){ .cmd = cmd, .start = start, .size = (size_t)(d->cur - start) };
   n->named = vs_arena_alloc(d->arena, (d->named_count + 1) * sizeof(*n->named));
   if (!n->named)
      return false;
   n->named_count = d->named_count;
   for (uint32_t i = 0; i < d->named_count; i++)
      n->named[i] = d->named[i]->id;
   if (cmd->journal == VN_JOURNAL_CREATE) {
      if (cmd->created_ids) {
         n->owners = *(uint64_t *const *)(a + cmd->created_ids);
         n->owner_count = *(const uint32_t *)(a + cmd->created_count);
      } else {
         n->owners = (uint64_t *)(a + cmd->created_id);
         n->owner_count = 1;
      }
      return true;
   }
   /* The objects of the owners' type it names: one for a recording or a
    * reset (its command buffer or pool, named first), each for an end or
    * a state change (the sets of every descriptor write). */
   n->owners = vs_arena_alloc(d->arena, (d->named_count + 1) * sizeof(*n->owners));
   if (!n->owners)
      return false;
   bool one = cmd->journal != VN_JOURNAL_END && cmd->journal != VN_JOURNAL_STATE;
   for (uint32_t i = 0; i < d->named_count && !(one && n->owner_count); i++) {
      if (d->named[i]->type == cmd->journal_owner)
         n->owners[n->owner_count++] = d->named[i]->id;
   }
   return true;
}

void
vs_journal_note_end(struct vs_journal *j, const struct vs_journal_note *n, const struct vn_decoder *d)
{
   const struct vn_command_info *cmd = n->cmd;
   switch (cmd->journal) {
   case VN_JOURNAL_UNREPLAYABLE:
      vs_journal_refuse(j, "%s cannot be replayed", cmd->name);
      return;
   case VN_JOURNAL_RESET:
      for (uint32_t i = 0; i < n->owner_count; i++) {
         if (cmd->journal_owner == VK_OBJECT_TYPE_COMMAND_POOL)
            restart_children(j, d->objects, n->owners[i]);
         else
            vs_journal_restart(j, n->owners[i]);
      }
      return;
   default:
      break;
   }
   uint32_t type;
   memcpy(&type, n->start, sizeof(type));
   vs_journal_add(j, type, cmd->journal, n->start, n->size, n->owners, n->owner_count, n->named, n->named_count);
}

bool
vs_journal_walk(struct vs_journal *j, bool (*fn)(void *data, const void *bytes, size_t size), void *data)
{
   pthread_mutex_lock(&j->lock);
   bool ok = true;
   for (size_t i = 0; i < j->count && ok; i++)
      ok = fn(data, j->bytes + j->entries[i].bytes_off, j->entries[i].bytes_size);
   pthread_mutex_unlock(&j->lock);
   return ok;
}

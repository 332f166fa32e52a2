/* SPDX-License-Identifier: MIT */
#include "wire/object_table.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/lifetime.h"

uint64_t
vs_object_table_live(const struct vs_object_table *t)
{
   return atomic_load(t->live);
}

static uint32_t
hash_id(uint64_t id)
{
   id ^= id >> 33;
   id *= 0xff51afd7ed558ccdull;
   id ^= id >> 33;
   return (uint32_t)id;
}

static uint32_t
hash_handle(VkObjectType type, uint64_t handle)
{
   return hash_id(handle ^ ((uint64_t)type << 48));
}

bool
vs_object_table_init(struct vs_object_table *t)
{
   memset(t, 0, sizeof(*t));
   t->bucket_count = 256;
   t->buckets = calloc(t->bucket_count, sizeof(*t->buckets));
   t->handle_buckets = calloc(t->bucket_count, sizeof(*t->handle_buckets));
   if (!t->buckets || !t->handle_buckets) {
      free(t->buckets);
      free(t->handle_buckets);
      return false;
   }
   pthread_mutex_init(&t->lock, NULL);
   pthread_mutex_init(&t->hold_lock, NULL);
   t->hold_limit = VS_HOLD_LIMIT_DEFAULT;
   atomic_init(&t->own_live, 0);
   atomic_init(&t->unlink_generation, 0);
   t->live = &t->own_live;
   return true;
}

static void
free_entry(struct vs_object_table *t, struct vs_object *o)
{
   vs_holds_free(o->holds);
   if (o->data_free)
      o->data_free(o->data);
   atomic_fetch_sub(t->live, 1);
   free(o);
}

void
vs_object_table_fini(struct vs_object_table *t)
{
   for (uint32_t i = 0; i < t->bucket_count; i++) {
      struct vs_object *o = t->buckets[i];
      while (o) {
         struct vs_object *next = o->hash_next;
         free_entry(t, o);
         o = next;
      }
   }
   free(t->buckets);
   free(t->handle_buckets);
   t->buckets = NULL;
   t->handle_buckets = NULL;
   pthread_mutex_destroy(&t->hold_lock);
   pthread_mutex_destroy(&t->lock);
}

static void
link_locked(struct vs_object_table *t, struct vs_object *o)
{
   uint32_t b = hash_id(o->id) & (t->bucket_count - 1);
   o->hash_next = t->buckets[b];
   t->buckets[b] = o;
   uint32_t h = hash_handle(o->type, o->handle) & (t->bucket_count - 1);
   o->handle_next = t->handle_buckets[h];
   t->handle_buckets[h] = o;
}

static void
grow_locked(struct vs_object_table *t)
{
   uint32_t new_count = t->bucket_count * 2;
   struct vs_object **nb = calloc(new_count, sizeof(*nb));
   struct vs_object **nh = calloc(new_count, sizeof(*nh));
   if (!nb || !nh) {
      free(nb);
      free(nh);
      return; /* keep the longer chains; still correct */
   }
   struct vs_object **old = t->buckets;
   uint32_t old_count = t->bucket_count;
   free(t->handle_buckets);
   t->buckets = nb;
   t->handle_buckets = nh;
   t->bucket_count = new_count;
   for (uint32_t i = 0; i < old_count; i++) {
      struct vs_object *o = old[i];
      while (o) {
         struct vs_object *next = o->hash_next;
         link_locked(t, o);
         o = next;
      }
   }
   free(old);
}

static struct vs_object *
find_locked(struct vs_object_table *t, uint64_t id)
{
   for (struct vs_object *o = t->buckets[hash_id(id) & (t->bucket_count - 1)]; o; o = o->hash_next) {
      if (o->id == id)
         return o;
   }
   return NULL;
}

struct vs_object *
vs_object_add(struct vs_object_table *t, uint64_t id, VkObjectType type, uint64_t handle,
              struct vs_object *parent)
{
   if (id == 0)
      return NULL;
   struct vs_object *o = calloc(1, sizeof(*o));
   if (!o)
      return NULL;
   o->id = id;
   o->type = type;
   o->handle = handle;
   o->parent = parent;
   if (parent) {
      o->it = parent->it;
      o->dt = parent->dt;
   }

   pthread_mutex_lock(&t->lock);
   if (find_locked(t, id) || (t->limit && t->count >= t->limit)) {
      pthread_mutex_unlock(&t->lock);
      free(o);
      return NULL;
   }
   if (t->count >= t->bucket_count * 2)
      grow_locked(t);
   link_locked(t, o);
   if (parent) {
      o->next_sibling = parent->first_child;
      if (parent->first_child)
         parent->first_child->prev_sibling = o;
      parent->first_child = o;
      parent->child_count++;
   }
   t->count++;
   pthread_mutex_unlock(&t->lock);
   atomic_fetch_add(t->live, 1);
   return o;
}

struct vs_object *
vs_object_lookup(struct vs_object_table *t, uint64_t id, VkObjectType type)
{
   pthread_mutex_lock(&t->lock);
   struct vs_object *o = find_locked(t, id);
   pthread_mutex_unlock(&t->lock);
   return o && o->type == type ? o : NULL;
}

struct vs_object *
vs_object_lookup_fill(struct vs_object_table *t, struct vs_object_cache_slot *slot, uint64_t id,
                      uint64_t generation)
{
   pthread_mutex_lock(&t->lock);
   struct vs_object *o = find_locked(t, id);
   pthread_mutex_unlock(&t->lock);
   if (o)
      *slot = (struct vs_object_cache_slot){ .id = id, .obj = o, .generation = generation };
   return o;
}

void
vs_object_note_refused(struct vs_object_table *t, uint64_t id, const char *why)
{
   pthread_mutex_lock(&t->lock);
   struct vs_object_refusal *r = &t->refused[t->refused_next++ % VS_OBJECT_REFUSED_SLOTS];
   r->id = id;
   snprintf(r->why, sizeof(r->why), "%s", why);
   pthread_mutex_unlock(&t->lock);
}

bool
vs_object_refusal(struct vs_object_table *t, uint64_t id, char *out, size_t out_size)
{
   bool found = false;
   pthread_mutex_lock(&t->lock);
   for (uint32_t i = 0; i < VS_OBJECT_REFUSED_SLOTS && !found && id; i++) {
      if (t->refused[i].id == id) {
         snprintf(out, out_size, "%s", t->refused[i].why);
         found = true;
      }
   }
   pthread_mutex_unlock(&t->lock);
   return found;
}

bool
vs_object_contains(struct vs_object_table *t, uint64_t id)
{
   pthread_mutex_lock(&t->lock);
   bool found = find_locked(t, id) != NULL;
   pthread_mutex_unlock(&t->lock);
   return found;
}

struct vs_object *
vs_object_find_handle(struct vs_object_table *t, VkObjectType type, uint64_t handle)
{
   pthread_mutex_lock(&t->lock);
   struct vs_object *o = t->handle_buckets[hash_handle(type, handle) & (t->bucket_count - 1)];
   while (o && !(o->type == type && o->handle == handle))
      o = o->handle_next;
   pthread_mutex_unlock(&t->lock);
   return o;
}

static void
unlink_locked(struct vs_object_table *t, struct vs_object *obj)
{
   if (obj->unlinked)
      return;
   obj->unlinked = true;
   atomic_fetch_add_explicit(&t->unlink_generation, 1, memory_order_release);
   struct vs_object **p = &t->buckets[hash_id(obj->id) & (t->bucket_count - 1)];
   while (*p && *p != obj)
      p = &(*p)->hash_next;
   if (*p)
      *p = obj->hash_next;
   struct vs_object **h = &t->handle_buckets[hash_handle(obj->type, obj->handle) & (t->bucket_count - 1)];
   while (*h && *h != obj)
      h = &(*h)->handle_next;
   if (*h)
      *h = obj->handle_next;
}

void
vs_object_unlink(struct vs_object_table *t, struct vs_object *obj)
{
   pthread_mutex_lock(&t->lock);
   unlink_locked(t, obj);
   pthread_mutex_unlock(&t->lock);
}

static void
detach_locked(struct vs_object *obj)
{
   if (!obj->parent)
      return;
   if (obj->prev_sibling)
      obj->prev_sibling->next_sibling = obj->next_sibling;
   else
      obj->parent->first_child = obj->next_sibling;
   if (obj->next_sibling)
      obj->next_sibling->prev_sibling = obj->prev_sibling;
   obj->parent->child_count--;
   obj->parent = NULL;
   obj->prev_sibling = obj->next_sibling = NULL;
}

void
vs_object_rehandle(struct vs_object_table *t, struct vs_object *obj, uint64_t handle)
{
   pthread_mutex_lock(&t->lock);
   if (!obj->unlinked) {
      struct vs_object **h = &t->handle_buckets[hash_handle(obj->type, obj->handle) & (t->bucket_count - 1)];
      while (*h && *h != obj)
         h = &(*h)->handle_next;
      if (*h)
         *h = obj->handle_next;
      uint32_t b = hash_handle(obj->type, handle) & (t->bucket_count - 1);
      obj->handle_next = t->handle_buckets[b];
      t->handle_buckets[b] = obj;
   }
   obj->handle = handle;
   pthread_mutex_unlock(&t->lock);
}

void
vs_object_reparent(struct vs_object_table *t, struct vs_object *obj, struct vs_object *parent)
{
   pthread_mutex_lock(&t->lock);
   detach_locked(obj);
   obj->parent = parent;
   obj->next_sibling = parent->first_child;
   if (parent->first_child)
      parent->first_child->prev_sibling = obj;
   parent->first_child = obj;
   parent->child_count++;
   pthread_mutex_unlock(&t->lock);
}

void
vs_object_remove(struct vs_object_table *t, struct vs_object *obj)
{
   pthread_mutex_lock(&t->lock);
   unlink_locked(t, obj);
   t->count--;
   /* Children outliving their parent keep a dangling parent pointer no
    * more: they are orphaned (callers remove children first). */
   for (struct vs_object *c = obj->first_child; c; c = c->next_sibling)
      c->parent = NULL;
   detach_locked(obj);
   pthread_mutex_unlock(&t->lock);
   /* What it held may go with it (the release hook runs unlocked). */
   vs_object_drop_holds(t, obj);
   free_entry(t, obj);
}

void
vs_object_foreach_child(struct vs_object_table *t, struct vs_object *parent, VkObjectType type,
                        void (*fn)(struct vs_object *, void *), void *data)
{
   /* Collect first: fn may remove entries, and must run unlocked because it
    * may call back into the table. */
   pthread_mutex_lock(&t->lock);
   uint32_t n = 0;
   struct vs_object **list = malloc(sizeof(*list) * (parent->child_count ? parent->child_count : 1));
   for (struct vs_object *o = list ? parent->first_child : NULL; o; o = o->next_sibling) {
      if (type == VK_OBJECT_TYPE_UNKNOWN || o->type == type)
         list[n++] = o;
   }
   pthread_mutex_unlock(&t->lock);
   for (uint32_t i = 0; i < n; i++)
      fn(list[i], data);
   free(list);
}

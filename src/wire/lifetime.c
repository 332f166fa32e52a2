/* SPDX-License-Identifier: MIT */
#include "wire/lifetime.h"

#include <stdlib.h>
#include <vulkan/vulkan.h>

/* A holder's targets: open addressing by pointer, linear probing,
 * backward-shift deletion. */
struct vs_hold {
   struct vs_object *target;
   uint32_t count;
};

struct vs_holds {
   uint32_t used, cap; /* cap: a power of two */
   struct vs_hold *slots;
};

static uint32_t
hash_ptr(const void *p, uint32_t mask)
{
   uint64_t x = (uint64_t)(uintptr_t)p >> 4;
   x *= 0x9e3779b97f4a7c15ull;
   return (uint32_t)(x >> 32) & mask;
}

static struct vs_hold *
find_slot(const struct vs_holds *h, const struct vs_object *target)
{
   uint32_t mask = h->cap - 1;
   for (uint32_t i = hash_ptr(target, mask);; i = (i + 1) & mask) {
      if (h->slots[i].target == target || !h->slots[i].target)
         return &h->slots[i];
   }
}

static bool
grow(struct vs_holds *h)
{
   uint32_t cap = h->cap ? h->cap * 2 : 8;
   struct vs_hold *slots = calloc(cap, sizeof(*slots));
   if (!slots)
      return false;
   struct vs_holds n = { .used = h->used, .cap = cap, .slots = slots };
   for (uint32_t i = 0; i < h->cap; i++) {
      if (h->slots[i].target)
         *find_slot(&n, h->slots[i].target) = h->slots[i];
   }
   free(h->slots);
   *h = n;
   return true;
}

static void
delete_slot(struct vs_holds *h, struct vs_hold *s)
{
   uint32_t mask = h->cap - 1;
   uint32_t i = (uint32_t)(s - h->slots);
   h->slots[i] = (struct vs_hold){ 0 };
   h->used--;
   /* Shift back the entries whose probe passed the hole. */
   for (uint32_t j = (i + 1) & mask; h->slots[j].target; j = (j + 1) & mask) {
      uint32_t home = hash_ptr(h->slots[j].target, mask);
      if (((j - home) & mask) >= ((j - i) & mask)) {
         h->slots[i] = h->slots[j];
         h->slots[j] = (struct vs_hold){ 0 };
         i = j;
      }
   }
}

void
vs_holds_free(struct vs_holds *h)
{
   if (h) {
      free(h->slots);
      free(h);
   }
}

/* Objects whose last holder let go, released once the lock is dropped. */
struct release_list {
   struct vs_object *one;
   struct vs_object **many;
   uint32_t count, cap;
};

static void
release_later(struct release_list *l, struct vs_object *obj)
{
   if (!l->one && !l->count) {
      l->one = obj;
      return;
   }
   if (l->count == l->cap) {
      uint32_t cap = l->cap ? l->cap * 2 : 8;
      struct vs_object **m = realloc(l->many, cap * sizeof(*m));
      if (!m)
         return; /* out of memory: the object is leaked, never used after free */
      l->many = m;
      l->cap = cap;
   }
   l->many[l->count++] = obj;
}

static void
release_now(struct vs_object_table *t, struct release_list *l)
{
   for (uint32_t i = 0; i <= l->count; i++) {
      struct vs_object *obj = i == 0 ? l->one : l->many[i - 1];
      if (!obj)
         continue;
      if (t->release)
         t->release(t->release_data, obj);
      else
         vs_object_remove(t, obj); /* no host objects (unit tests) */
   }
   free(l->many);
}

/* One holder fewer on target (lock held). */
static void
let_go_locked(struct vs_object_table *t, struct vs_object *target, struct release_list *l)
{
   t->hold_count--;
   if (--target->refs == 0 && target->state != VS_OBJECT_LIVE)
      release_later(l, target);
}

bool
vs_object_hold(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target, bool once)
{
   if (holder == target)
      return true; /* an object never keeps itself alive */
   pthread_mutex_lock(&t->hold_lock);
   bool ok = true;
   struct vs_holds *h = holder->holds;
   if (!h)
      h = holder->holds = calloc(1, sizeof(*h));
   struct vs_hold *s = NULL;
   if (!h) {
      ok = false;
   } else if (h->cap && (s = find_slot(h, target))->target) {
      if (!once)
         ok = s->count < UINT32_MAX && ++s->count;
   } else if (t->hold_count >= t->hold_limit) {
      ok = false;
   } else if ((h->used + 1) * 4 > h->cap * 3 && !grow(h)) {
      ok = false;
   } else {
      s = find_slot(h, target);
      *s = (struct vs_hold){ .target = target, .count = 1 };
      h->used++;
      t->hold_count++;
      target->refs++;
   }
   pthread_mutex_unlock(&t->hold_lock);
   return ok;
}

void
vs_object_unhold(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target)
{
   struct release_list l = { 0 };
   pthread_mutex_lock(&t->hold_lock);
   struct vs_holds *h = holder->holds;
   struct vs_hold *s = h && h->cap ? find_slot(h, target) : NULL;
   if (s && s->target && --s->count == 0) {
      delete_slot(h, s);
      let_go_locked(t, target, &l);
   }
   pthread_mutex_unlock(&t->hold_lock);
   release_now(t, &l);
}

void
vs_object_drop_holds(struct vs_object_table *t, struct vs_object *holder)
{
   struct release_list l = { 0 };
   pthread_mutex_lock(&t->hold_lock);
   struct vs_holds *h = holder->holds;
   holder->holds = NULL;
   for (uint32_t i = 0; h && i < h->cap; i++) {
      if (h->slots[i].target)
         let_go_locked(t, h->slots[i].target, &l);
   }
   pthread_mutex_unlock(&t->hold_lock);
   vs_holds_free(h);
   release_now(t, &l);
}

void
vs_object_forget_holds(struct vs_object_table *t, struct vs_object *holder)
{
   pthread_mutex_lock(&t->hold_lock);
   struct vs_holds *h = holder->holds;
   holder->holds = NULL;
   if (h)
      t->hold_count -= h->used;
   pthread_mutex_unlock(&t->hold_lock);
   vs_holds_free(h);
}

bool
vs_object_retire(struct vs_object_table *t, struct vs_object *obj, uint8_t state)
{
   pthread_mutex_lock(&t->hold_lock);
   bool now = obj->refs == 0;
   if (!now && obj->state == VS_OBJECT_LIVE) {
      obj->state = state;
      if (state == VS_OBJECT_GONE)
         t->gone_generation++;
   }
   pthread_mutex_unlock(&t->hold_lock);
   if (!now)
      vs_object_unlink(t, obj);
   return now;
}

static struct vs_object *
gone_target_locked(const struct vs_holds *h, int depth)
{
   for (uint32_t i = 0; h && i < h->cap; i++) {
      struct vs_object *o = h->slots[i].target;
      if (!o)
         continue;
      if (o->state == VS_OBJECT_GONE)
         return o;
      /* Secondary command buffers run what they hold. */
      if (depth == 0 && o->type == VK_OBJECT_TYPE_COMMAND_BUFFER) {
         struct vs_object *g = gone_target_locked(o->holds, 1);
         if (g)
            return g;
      }
   }
   return NULL;
}

struct vs_object *
vs_object_find_gone(struct vs_object_table *t, struct vs_object *holder, uint32_t *generation)
{
   pthread_mutex_lock(&t->hold_lock);
   struct vs_object *gone = NULL;
   if (*generation != t->gone_generation) {
      gone = gone_target_locked(holder->holds, 0);
      if (!gone)
         *generation = t->gone_generation;
   }
   pthread_mutex_unlock(&t->hold_lock);
   return gone;
}

uint32_t
vs_object_hold_count(struct vs_object_table *t, struct vs_object *holder, struct vs_object *target)
{
   pthread_mutex_lock(&t->hold_lock);
   const struct vs_holds *h = holder->holds;
   const struct vs_hold *s = h && h->cap ? find_slot(h, target) : NULL;
   uint32_t n = s && s->target ? s->count : 0;
   pthread_mutex_unlock(&t->hold_lock);
   return n;
}

bool
vs_object_held(struct vs_object_table *t, struct vs_object *obj)
{
   pthread_mutex_lock(&t->hold_lock);
   bool held = obj->refs != 0;
   pthread_mutex_unlock(&t->hold_lock);
   return held;
}

bool
vs_object_is_live(struct vs_object_table *t, struct vs_object *obj)
{
   pthread_mutex_lock(&t->hold_lock);
   bool live = obj->state == VS_OBJECT_LIVE;
   pthread_mutex_unlock(&t->hold_lock);
   return live;
}

/* SPDX-License-Identifier: MIT */
#include "wire/lifetime.h"

#include <stdatomic.h>
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

/* The hint slot of holder for target. A hint names a target holder
 * holds: set once the hold is in, cleared before it goes (lock held), so
 * a target found there is alive and held. */
static struct vs_object *_Atomic *
hint_slot(struct vs_object *holder, const struct vs_object *target)
{
   return &holder->hold_hint[((uintptr_t)target >> 6) & 3];
}

static void
clear_hints_locked(struct vs_object *holder)
{
   for (uint32_t i = 0; i < 4; i++)
      atomic_store_explicit(&holder->hold_hint[i], NULL, memory_order_relaxed);
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
   if (once && atomic_load_explicit(hint_slot(holder, target), memory_order_acquire) == target)
      return true;
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
   if (ok)
      atomic_store_explicit(hint_slot(holder, target), target, memory_order_release);
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
      struct vs_object *_Atomic *hint = hint_slot(holder, target);
      if (atomic_load_explicit(hint, memory_order_relaxed) == target)
         atomic_store_explicit(hint, NULL, memory_order_relaxed);
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
   clear_hints_locked(holder);
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
   clear_hints_locked(holder);
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

/* A command buffer met on a walk: its height once done. */
struct walk_node {
   struct vs_object *cb;
   uint32_t height;
   bool done;
};

/* A frame of the walk's stack: a command buffer and the next slot of its
 * holds to look at. */
struct walk_frame {
   struct walk_node *node;
   uint32_t slot;
};

struct walk {
   struct walk_node *nodes;          /* open addressing by pointer */
   uint32_t node_cap, node_count;    /* cap: a power of two */
   struct walk_frame *stack;
   uint32_t depth, stack_cap;
};

static struct walk_node *
walk_node(struct walk *w, struct vs_object *cb)
{
   uint32_t mask = w->node_cap - 1;
   for (uint32_t i = hash_ptr(cb, mask);; i = (i + 1) & mask) {
      if (w->nodes[i].cb == cb || !w->nodes[i].cb)
         return &w->nodes[i];
   }
}

static bool
walk_grow(struct walk *w)
{
   if ((w->node_count + 1) * 2 > w->node_cap) {
      struct walk old = *w;
      w->node_cap = w->node_cap ? w->node_cap * 2 : 16;
      w->nodes = calloc(w->node_cap, sizeof(*w->nodes));
      if (!w->nodes) {
         w->nodes = old.nodes;
         w->node_cap = old.node_cap;
         return false;
      }
      for (uint32_t i = 0; i < old.node_cap; i++) {
         if (old.nodes[i].cb)
            *walk_node(w, old.nodes[i].cb) = old.nodes[i];
      }
      free(old.nodes);
   }
   if (w->depth == w->stack_cap) {
      uint32_t cap = w->stack_cap ? w->stack_cap * 2 : 16;
      struct walk_frame *stack = realloc(w->stack, cap * sizeof(*stack));
      if (!stack)
         return false;
      w->stack = stack;
      w->stack_cap = cap;
   }
   return true;
}

/* Pushes cb; the node is new (not met yet). */
static bool
walk_push(struct walk *w, struct vs_object *cb)
{
   if (!walk_grow(w))
      return false;
   struct walk_node *n = walk_node(w, cb);
   *n = (struct walk_node){ .cb = cb };
   w->node_count++;
   w->stack[w->depth++] = (struct walk_frame){ .node = n };
   return true;
}

/* Depth first and iterative (a guest chooses the depth), each command
 * buffer once (a guest can make the paths exponentially many), under the
 * hold lock (a holder elsewhere may let go of what it ran meanwhile). */
void
vs_object_walk_commands(struct vs_object_table *t, struct vs_object *root, const struct vs_object *find,
                        uint32_t max_height, struct vs_command_walk *out)
{
   *out = (struct vs_command_walk){ 0 };
   struct walk w = { 0 };
   pthread_mutex_lock(&t->hold_lock);
   if (!walk_push(&w, root))
      out->out_of_memory = true;
   while (w.depth && !out->out_of_memory) {
      struct walk_frame *f = &w.stack[w.depth - 1];
      const struct vs_holds *h = f->node->cb->holds;
      struct vs_object *next = NULL;
      while (h && f->slot < h->cap && !next) {
         struct vs_object *o = h->slots[f->slot++].target;
         if (o && o->state == VS_OBJECT_GONE && !out->gone)
            out->gone = o;
         if (o && o->type == VK_OBJECT_TYPE_COMMAND_BUFFER)
            next = o;
      }
      if (!next) {
         /* All it runs is walked: its height is known. */
         f->node->done = true;
         uint32_t height = f->node->height;
         w.depth--;
         if (w.depth && w.stack[w.depth - 1].node->height < height + 1)
            w.stack[w.depth - 1].node->height = height + 1;
         continue;
      }
      if (next == find)
         out->found = next;
      struct walk_node *n = walk_node(&w, next);
      if (n->cb && !n->done) {
         out->cycle = next; /* runs itself: the walk ends */
         break;
      }
      if (n->cb) {
         if (f->node->height < n->height + 1)
            f->node->height = n->height + 1;
         continue;
      }
      if (w.depth > max_height) {
         out->too_deep = true;
         break;
      }
      if (!walk_push(&w, next))
         out->out_of_memory = true;
   }
   pthread_mutex_unlock(&t->hold_lock);
   out->height = w.node_count ? walk_node(&w, root)->height : 0;
   if (out->too_deep && out->height <= max_height)
      out->height = max_height + 1;
   free(w.nodes);
   free(w.stack);
}

struct vs_object *
vs_object_find_gone(struct vs_object_table *t, struct vs_object *holder, uint32_t *generation)
{
   pthread_mutex_lock(&t->hold_lock);
   bool changed = *generation != t->gone_generation;
   uint32_t now = t->gone_generation;
   pthread_mutex_unlock(&t->hold_lock);
   if (!changed)
      return NULL;
   /* Secondary command buffers run what they hold, to any depth. */
   struct vs_command_walk walk;
   vs_object_walk_commands(t, holder, NULL, UINT32_MAX, &walk);
   if (!walk.gone && !walk.out_of_memory && !walk.cycle)
      *generation = now;
   return walk.gone;
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

/* SPDX-License-Identifier: MIT */
#include "base/ledger.h"

#include <pthread.h>
#include <stdlib.h>

/* One uid's clients: what they hold together, of every pool. */
struct peer {
   struct peer *next;
   uint32_t uid;
   uint32_t accounts;
   uint64_t held[VS_LEDGER_POOLS];
};

struct vs_ledger {
   pthread_mutex_t lock;
   struct vs_ledger_limits limits;
   uint64_t held[VS_LEDGER_POOLS]; /* every account's */
   struct peer *peers;
};

struct vs_ledger_account {
   struct vs_ledger *ledger;
   struct peer *peer;
   uint64_t held[VS_LEDGER_POOLS];
};

static bool
per_peer(enum vs_ledger_pool pool)
{
   return pool == VS_LEDGER_HOST_MEMORY || pool == VS_LEDGER_VRAM;
}

/* The count the pool's scope limit applies to. Under the lock. */
static uint64_t
scope_held(const struct vs_ledger_account *account, enum vs_ledger_pool pool)
{
   return per_peer(pool) ? account->peer->held[pool] : account->ledger->held[pool];
}

/* Under the lock: the account holds `bytes` more of `pool`, and so do its
 * uid and the server; `release` the other way. */
static void
hold(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes)
{
   account->held[pool] += bytes;
   account->peer->held[pool] += bytes;
   account->ledger->held[pool] += bytes;
}

static void
release(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes)
{
   account->held[pool] -= bytes;
   account->peer->held[pool] -= bytes;
   account->ledger->held[pool] -= bytes;
}

/* What `limit` leaves above `held`; without a limit, what keeps the count
 * from wrapping. */
static uint64_t
room(uint64_t limit, uint64_t held)
{
   if (!limit)
      return UINT64_MAX - held;
   return limit > held ? limit - held : 0;
}

struct vs_ledger *
vs_ledger_create(const struct vs_ledger_limits *limits)
{
   struct vs_ledger *ledger = calloc(1, sizeof(*ledger));
   if (!ledger)
      return NULL;
   if (pthread_mutex_init(&ledger->lock, NULL) != 0) {
      free(ledger);
      return NULL;
   }
   ledger->limits = *limits;
   return ledger;
}

void
vs_ledger_destroy(struct vs_ledger *ledger)
{
   if (!ledger)
      return;
   while (ledger->peers) {
      struct peer *p = ledger->peers;
      ledger->peers = p->next;
      free(p);
   }
   pthread_mutex_destroy(&ledger->lock);
   free(ledger);
}

struct vs_ledger_account *
vs_ledger_open(struct vs_ledger *ledger, uint32_t peer_uid)
{
   struct vs_ledger_account *account = calloc(1, sizeof(*account));
   if (!account)
      return NULL;
   account->ledger = ledger;
   pthread_mutex_lock(&ledger->lock);
   struct peer *p = ledger->peers;
   while (p && p->uid != peer_uid)
      p = p->next;
   if (!p) {
      p = calloc(1, sizeof(*p));
      if (p) {
         p->uid = peer_uid;
         p->next = ledger->peers;
         ledger->peers = p;
      }
   }
   if (p)
      p->accounts++;
   pthread_mutex_unlock(&ledger->lock);
   if (!p) {
      free(account);
      return NULL;
   }
   account->peer = p;
   return account;
}

void
vs_ledger_charge(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes,
                 struct vs_ledger_answer *answer)
{
   struct vs_ledger *ledger = account->ledger;
   pthread_mutex_lock(&ledger->lock);
   const uint64_t scope = scope_held(account, pool);
   const uint64_t scope_limit = ledger->limits.scope[pool], account_limit = ledger->limits.account[pool];
   const uint64_t peer_limit = ledger->limits.peer[pool];
   uint64_t scope_room = room(scope_limit, scope);
   uint64_t account_room = room(account_limit, account->held[pool]);
   uint64_t peer_room = room(peer_limit, account->peer->held[pool]);
   *answer = (struct vs_ledger_answer){ .held = scope, .limit = scope_limit };
   answer->granted = bytes <= scope_room && bytes <= account_room && bytes <= peer_room;
   if (answer->granted) {
      hold(account, pool, bytes);
      scope_room -= bytes;
      account_room -= bytes;
      peer_room -= bytes;
   } else if (bytes <= scope_room && bytes <= account_room) {
      *answer = (struct vs_ledger_answer){ .held = account->peer->held[pool], .limit = peer_limit, .peer = true };
   }
   if (!scope_limit && !account_limit && !peer_limit) {
      answer->left = UINT64_MAX;
   } else {
      answer->left = scope_room < account_room ? scope_room : account_room;
      if (peer_room < answer->left)
         answer->left = peer_room;
   }
   pthread_mutex_unlock(&ledger->lock);
}

void
vs_ledger_carry(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes)
{
   struct vs_ledger *ledger = account->ledger;
   pthread_mutex_lock(&ledger->lock);
   hold(account, pool, bytes);
   pthread_mutex_unlock(&ledger->lock);
}

void
vs_ledger_give(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes)
{
   struct vs_ledger *ledger = account->ledger;
   pthread_mutex_lock(&ledger->lock);
   if (bytes > account->held[pool])
      bytes = account->held[pool];
   release(account, pool, bytes);
   pthread_mutex_unlock(&ledger->lock);
}

uint64_t
vs_ledger_held(const struct vs_ledger_account *account, enum vs_ledger_pool pool)
{
   pthread_mutex_lock(&account->ledger->lock);
   uint64_t held = account->held[pool];
   pthread_mutex_unlock(&account->ledger->lock);
   return held;
}

void
vs_ledger_close(struct vs_ledger_account *account)
{
   if (!account)
      return;
   struct vs_ledger *ledger = account->ledger;
   pthread_mutex_lock(&ledger->lock);
   for (int pool = 0; pool < VS_LEDGER_POOLS; pool++)
      release(account, (enum vs_ledger_pool)pool, account->held[pool]);
   struct peer *p = account->peer;
   if (--p->accounts == 0) {
      struct peer **link = &ledger->peers;
      while (*link != p)
         link = &(*link)->next;
      *link = p->next;
      free(p);
   }
   pthread_mutex_unlock(&ledger->lock);
   free(account);
}

static void
direct_charge(struct vs_ledger_port *port, enum vs_ledger_pool pool, uint64_t bytes, struct vs_ledger_answer *answer)
{
   vs_ledger_charge(((struct vs_ledger_direct_port *)port)->account, pool, bytes, answer);
}

static void
direct_give(struct vs_ledger_port *port, enum vs_ledger_pool pool, uint64_t bytes)
{
   vs_ledger_give(((struct vs_ledger_direct_port *)port)->account, pool, bytes);
}

void
vs_ledger_direct_port_init(struct vs_ledger_direct_port *direct, struct vs_ledger_account *account)
{
   direct->port = (struct vs_ledger_port){ .charge = direct_charge, .give = direct_give };
   direct->account = account;
}

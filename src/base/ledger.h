/* SPDX-License-Identifier: MIT */
/* The server's ledger of what clients hold of the pools they share:
 * payload bytes buffered for messages (all clients together,
 * partial-total-mib), device memory in host RAM (one uid's clients
 * together, memory-per-peer-mib) and in a GPU's own memory (one uid's
 * clients together, vram-per-peer-mib). The server process owns every count: a
 * client asks through a port (struct vs_ledger_port) and is granted or
 * refused, so a worker process writes no memory that another client's
 * count lives in. Each client has an account, which gives back all it
 * holds when it closes: a worker that crashes has its channel closed
 * (worker/ledger_channel.h), and its share is free again. */
#ifndef VS_BASE_LEDGER_H
#define VS_BASE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

enum vs_ledger_pool {
   VS_LEDGER_BUFFERED,    /* payload bytes buffered for messages: counted server-wide */
   VS_LEDGER_HOST_MEMORY, /* device memory in host RAM: counted per peer uid */
   VS_LEDGER_VRAM,        /* device memory in a GPU's own heaps: counted per peer uid */
   VS_LEDGER_POOLS,
};

/* 0 means none. */
struct vs_ledger_limits {
   uint64_t scope[VS_LEDGER_POOLS];   /* what all accounts of the pool's scope hold together */
   uint64_t account[VS_LEDGER_POOLS]; /* what one account holds */
   /* What one uid's accounts hold together (of a server-wide pool: a uid
    * whose clients, or their workers, keep their charges leaves the rest
    * to the others). */
   uint64_t peer[VS_LEDGER_POOLS];
};

/* The answer to a charge, with the figures its refusal line names. */
struct vs_ledger_answer {
   bool granted;
   uint64_t held;  /* what the charge's scope (all clients, or its uid's) held before it */
   uint64_t limit; /* the scope's limit (0: none) */
   uint64_t left;  /* what the account may still get after it; UINT64_MAX: no bound */
   bool peer;      /* refused by its uid's share: held and limit are its uid's clients' */
};

struct vs_ledger;
struct vs_ledger_account;

/* NULL when out of memory. Thread-safe from here on. */
struct vs_ledger *vs_ledger_create(const struct vs_ledger_limits *limits);
/* Once every account is closed. */
void vs_ledger_destroy(struct vs_ledger *ledger);

/* An account for one client of `peer_uid` (uint32_t max: unknown); NULL
 * when out of memory. */
struct vs_ledger_account *vs_ledger_open(struct vs_ledger *ledger, uint32_t peer_uid);
/* Grants `bytes` more of `pool` if every limit allows, else nothing. A
 * charge of 0 only asks what is left. */
void vs_ledger_charge(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes,
                      struct vs_ledger_answer *answer);
/* Gives back `bytes`: at most what the account holds, whatever it says. */
void vs_ledger_give(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes);
uint64_t vs_ledger_held(const struct vs_ledger_account *account, enum vs_ledger_pool pool);
/* Holds `bytes` more whatever the limits say: what a tenant already held
 * when a live upgrade handed its account over (the new configuration's
 * limits refuse its next charges, never what it has). */
void vs_ledger_carry(struct vs_ledger_account *account, enum vs_ledger_pool pool, uint64_t bytes);
/* Gives back everything the account holds, and frees it. */
void vs_ledger_close(struct vs_ledger_account *account);

/* How a client reaches its account: straight (a client on a thread of the
 * server process) or over its worker's channel (worker/ledger_channel.h).
 * Callable from any of the client's threads. */
struct vs_ledger_port {
   void (*charge)(struct vs_ledger_port *port, enum vs_ledger_pool pool, uint64_t bytes,
                  struct vs_ledger_answer *answer);
   void (*give)(struct vs_ledger_port *port, enum vs_ledger_pool pool, uint64_t bytes);
};

struct vs_ledger_direct_port {
   struct vs_ledger_port port;
   struct vs_ledger_account *account;
};
void vs_ledger_direct_port_init(struct vs_ledger_direct_port *direct, struct vs_ledger_account *account);

#endif

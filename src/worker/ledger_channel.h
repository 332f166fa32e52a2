/* SPDX-License-Identifier: MIT */
/* How a worker process (--isolate process) reaches its client's account in
 * the server's ledger (base/ledger.h): a socket pair per worker, one end
 * handed to the worker with its job. The worker asks for a charge and
 * waits for the answer, or gives back; a thread of the server answers from
 * the account, which it closes (all the worker held is given back) when
 * the channel closes: when the worker ends, however it ends. The server's
 * end trusts nothing: a message it cannot accept ends the channel with
 * one line, and that worker's later charges are refused. */
#ifndef VS_WORKER_LEDGER_CHANNEL_H
#define VS_WORKER_LEDGER_CHANNEL_H

#include <stdint.h>

struct vs_ledger;
struct vs_ledger_channel;
struct vs_ledger_port;

/* In the server: opens an account of `peer_uid` in `ledger` and starts the
 * thread that serves it; *worker_fd is the worker's end (the caller hands
 * it over, then closes its copy). NULL with errno set on failure. */
struct vs_ledger_channel *vs_ledger_channel_open(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id,
                                                 int *worker_fd);
/* Once the worker has ended (or never started): ends the thread, closes the
 * account. NULL does nothing. */
void vs_ledger_channel_close(struct vs_ledger_channel *channel);

/* In the worker: the port its client charges through, over `fd` (taken).
 * NULL (logged, `fd` closed) when out of memory. */
struct vs_ledger_port *vs_ledger_remote_port_create(int fd, uint32_t ctx_id);
void vs_ledger_remote_port_destroy(struct vs_ledger_port *port);

#endif

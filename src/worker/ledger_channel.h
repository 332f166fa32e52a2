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

#include "base/ledger.h"

struct vs_ledger;
struct vs_ledger_channel;
struct vs_ledger_port;

/* In the server: opens an account of `peer_uid` in `ledger` and starts the
 * thread that serves it; *worker_fd is the worker's end (the caller hands
 * it over, then closes its copy). NULL with errno set on failure. */
struct vs_ledger_channel *vs_ledger_channel_open(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id,
                                                 int *worker_fd);
/* A live upgrade's: the thread stops between two messages (what the
 * worker sends meanwhile waits in the channel), the account stays open;
 * `held` gets what it holds per pool. The channel's fd, or -1 when its
 * account was closed already (the worker gone or cut off). Then either
 * vs_ledger_channel_resume, or the process execs. */
int vs_ledger_channel_park(struct vs_ledger_channel *channel, uint64_t held[VS_LEDGER_POOLS]);
void vs_ledger_channel_resume(struct vs_ledger_channel *channel);
/* In the process a live upgrade started: the channel `fd` (taken) of a
 * running worker, its account opened holding `held`. NULL with errno. */
struct vs_ledger_channel *vs_ledger_channel_adopt(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id, int fd,
                                                  const uint64_t held[VS_LEDGER_POOLS]);
/* Once the worker has ended (or never started): ends the thread, closes the
 * account. NULL does nothing. */
void vs_ledger_channel_close(struct vs_ledger_channel *channel);

/* In the worker: the port its client charges through, over `fd` (taken).
 * NULL (logged, `fd` closed) when out of memory. */
struct vs_ledger_port *vs_ledger_remote_port_create(int fd, uint32_t ctx_id);
void vs_ledger_remote_port_destroy(struct vs_ledger_port *port);

#endif

/* SPDX-License-Identifier: MIT */
/* A worker's claim on its tenant (worker_pool.h's `claim`), for every
 * door: the tenant asked for something once its first message is there
 * whole. Until then the worker touched nothing of the tenant's, and goes
 * back to the pool untouched if the tenant leaves: a connection that
 * sends nothing, or part of a message, costs no warm-up. The bytes are
 * only peeked at; the door's session reads them. Each door says how its
 * messages are framed. */
#ifndef VS_WORKER_FIRST_MESSAGE_H
#define VS_WORKER_FIRST_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

/* A message larger than this is the session's from its header on (its
 * limits and deadlines then apply). */
#define VS_FIRST_MESSAGE_PEEK_BYTES 4096

enum vs_first_message {
   VS_FIRST_MESSAGE_WHOLE, /* there whole (or its header, for a large one) */
   VS_FIRST_MESSAGE_LEFT,  /* the tenant hung up first, or its socket failed */
   VS_FIRST_MESSAGE_LATE,  /* not whole within the timeout */
};

/* The framing: a header of `header_size` bytes, and from it the size of
 * the whole message. */
struct vs_message_framing {
   size_t header_size;
   uint64_t (*message_size)(const uint8_t *header);
};

/* Waits for the first message on `fd` for at most `timeout_ms` (0: for
 * ever). */
enum vs_first_message vs_first_message_wait(int fd, const struct vs_message_framing *framing, uint32_t timeout_ms);

#endif

/* SPDX-License-Identifier: MIT */
/* The worker link's messages (worker/worker_link.h): one fixed size, on a
 * stream socket; BORN alone carries an fd (the memfd). Both ends are the
 * same binary: no version. */
#ifndef VS_WORKER_LINK_MESSAGE_H
#define VS_WORKER_LINK_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

enum vs_link_type {
   /* worker -> server */
   VS_LINK_BORN = 1,        /* entry_id, size; the memfd */
   VS_LINK_GONE,            /* entry_id */
   VS_LINK_FENCED,          /* request, flags: the answer to a FENCE */
   VS_LINK_RESOURCE_ADD,    /* res_id, st_dev, st_ino, size, blob_flags */
   VS_LINK_RESOURCE_REMOVE, /* res_id */
   VS_LINK_CONTEXT_END,
   VS_LINK_SYNC,            /* request: answered once all before it is taken in */
   /* server -> worker */
   VS_LINK_MARK,            /* entry_id, view: vs_shared_mark into a new view */
   VS_LINK_FENCE,           /* request, entry_id, view (0: unmarked), size: the timeout in ns */
   VS_LINK_RELEASE,         /* view */
   VS_LINK_SYNCED,          /* request: the SYNC's */
};

#define VS_LINK_FENCED_OK (1u << 0)
#define VS_LINK_FENCED_REFRESHED (1u << 1)

struct vs_link_message {
   uint32_t type;
   uint32_t res_id;
   uint32_t blob_flags;
   uint32_t flags;
   uint64_t entry_id;
   uint64_t view;
   uint64_t request;
   uint64_t size;
   uint64_t st_dev, st_ino;
};

/* One message, with `fd` (-1: none). `nonblocking`: fail rather than wait
 * for room (the server's sends: a worker that reads nothing must not stall
 * the display). False with errno. */
bool vs_link_send(int sock, const struct vs_link_message *m, int fd, bool nonblocking);

enum vs_link_recv_result { VS_LINK_RECV_OK, VS_LINK_RECV_EOF, VS_LINK_RECV_ERROR };
/* One whole message and the fd that came with it (*fd -1: none). ERROR:
 * a read error, a message cut short, or more than one fd (closed). */
enum vs_link_recv_result vs_link_recv(int sock, struct vs_link_message *m, int *fd);

#endif

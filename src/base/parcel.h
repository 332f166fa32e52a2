/* SPDX-License-Identifier: MIT */
/* Bytes and fds that cross to another process in one piece: what a
 * context's snapshot is made of. A parcel is written by appending, then
 * sent over a Unix socket; the receiver reads it back in the same order,
 * every length checked against what is left and every fd taken at most
 * once. A parcel that comes in is input like any other: its sender may be
 * a worker its guest owns. Not thread-safe. */
#ifndef VS_BASE_PARCEL_H
#define VS_BASE_PARCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_parcel {
   uint8_t *bytes;
   size_t size, cap, at; /* at: the reader's position */
   int *fds;             /* the parcel's own (-1 once taken) */
   uint32_t fd_count, fd_cap;
   bool failed;          /* out of memory writing, or a read ran past the end */
};

/* Writing: each call appends; a failure (out of memory, an fd that could
 * not be duplicated) sets `failed` and later calls do nothing. */
void vs_parcel_put(struct vs_parcel *p, const void *data, size_t size);
void vs_parcel_put_u32(struct vs_parcel *p, uint32_t value);
void vs_parcel_put_u64(struct vs_parcel *p, uint64_t value);
/* A duplicate of `fd` goes with the parcel; the bytes name its index. */
void vs_parcel_put_fd(struct vs_parcel *p, int fd);

/* Reading: false (and `failed` set) past the end. */
bool vs_parcel_take(struct vs_parcel *p, void *data, size_t size);
bool vs_parcel_take_u32(struct vs_parcel *p, uint32_t *value);
bool vs_parcel_take_u64(struct vs_parcel *p, uint64_t *value);
/* A count of items of at least `item_size` bytes each that follow: false
 * when what is left cannot hold them. */
bool vs_parcel_take_count(struct vs_parcel *p, uint32_t *count, size_t item_size);
/* The fd the next index names, the caller's now; -1 when the index is out
 * of range or its fd was taken already. */
int vs_parcel_take_fd(struct vs_parcel *p);

/* Frees the bytes and closes every fd not taken. */
void vs_parcel_fini(struct vs_parcel *p);

/* Sends the parcel on stream socket `sock`. 0, or -1 with errno. */
int vs_parcel_send(int sock, const struct vs_parcel *p);
/* Receives a parcel sent by vs_parcel_send into `p` (zeroed), refusing
 * one of more than `max_bytes` bytes or `max_fds` fds. 0, or -1 with
 * `why` said. */
int vs_parcel_recv(int sock, struct vs_parcel *p, size_t max_bytes, uint32_t max_fds, char *why, size_t why_size);

/* The same, the bytes kept in shared memory (os_shm_create) that rides
 * first among the fds: the socket holds only the fds, so a sender that
 * ends before its receiver comes (a worker handing its tenant over) waits
 * on nothing. A socket set non-blocking fails (EAGAIN) where it cannot
 * hold them. */
int vs_parcel_send_kept(int sock, const struct vs_parcel *p);
int vs_parcel_recv_kept(int sock, struct vs_parcel *p, size_t max_bytes, uint32_t max_fds, char *why,
                        size_t why_size);

#endif

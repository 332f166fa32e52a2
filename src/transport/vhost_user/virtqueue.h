/* SPDX-License-Identifier: MIT */
/* A split virtqueue served from guest RAM (virtio 1.x, 2.7): the avail
 * ring read, each descriptor chain walked (indirect tables when the driver
 * negotiated them) into host iovecs, the used ring written and the driver
 * notified. The guest writes the rings while we read them: every value is
 * read once and checked before use, chains are bounded by the queue size. */
#ifndef VS_VIRTQUEUE_H
#define VS_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport/vhost_user/guest_memory.h"

/* The largest queue a driver may set up (virtio's 32768 is more than any
 * front end offers; QEMU's own limit). */
#define VS_VQ_SIZE_MAX 1024u
/* Iovecs one chain may gather: a descriptor may split where regions meet. */
#define VS_VQ_IOV_MAX (2u * VS_VQ_SIZE_MAX)

#define VS_VIRTIO_F_INDIRECT_DESC 28
#define VS_VIRTIO_F_VERSION_1 32

struct vs_vq_desc {
   uint64_t addr;
   uint32_t len;
   uint16_t flags;
   uint16_t next;
};
#define VS_VQ_DESC_F_NEXT 1u
#define VS_VQ_DESC_F_WRITE 2u
#define VS_VQ_DESC_F_INDIRECT 4u
#define VS_VQ_AVAIL_F_NO_INTERRUPT 1u

struct vs_vq_used_elem {
   uint32_t id;
   uint32_t len;
};

/* One chain: first the device-readable iovecs, then the device-writable. */
struct vs_vq_chain {
   uint16_t head;
   unsigned readable;      /* iov[0, readable) */
   unsigned writable;      /* iov[readable, readable + writable) */
   uint64_t readable_len;
   uint64_t writable_len;
   struct iovec iov[VS_VQ_IOV_MAX];
};

struct vs_virtqueue {
   uint16_t size;          /* 0 until SET_VRING_NUM */
   bool addr_set;
   uint64_t desc_user, avail_user, used_user; /* front-end addresses */
   /* Host pointers into guest RAM, valid while `mapped`. */
   bool mapped;
   struct vs_vq_desc *desc;
   uint16_t *avail;        /* flags, idx, ring[size] */
   uint16_t *used;         /* flags, idx, then elements (struct vs_vq_used_elem) */
   uint16_t last_avail;
   uint16_t used_idx;
   bool indirect;          /* VIRTIO_F_INDIRECT_DESC negotiated */
   bool started;           /* kicked into life, not stopped by GET_VRING_BASE */
   bool enabled;
   bool broken;            /* the driver broke the ring: nothing more is read */
   int kick_fd, call_fd, err_fd;
};

enum vs_vq_pop_result {
   VS_VQ_EMPTY,      /* nothing available */
   VS_VQ_CHAIN,      /* chain filled */
   VS_VQ_BAD_CHAIN,  /* the chain at chain->head is refused (why); the caller returns it unused */
   VS_VQ_BROKEN,     /* the ring itself is broken (why); the queue stops */
};

void vs_virtqueue_init(struct vs_virtqueue *vq);
/* Closes its fds and forgets everything but nothing of guest RAM. */
void vs_virtqueue_fini(struct vs_virtqueue *vq);

/* Resolves the ring addresses in guest RAM (after SET_VRING_ADDR and
 * whenever the mem table changes). false (why) when a ring is outside RAM
 * or misaligned. */
bool vs_virtqueue_map(struct vs_virtqueue *vq, const struct vs_guest_memory *mem, char *why, size_t why_size);

/* Whether the queue is to be served now. */
bool vs_virtqueue_ready(const struct vs_virtqueue *vq);

enum vs_vq_pop_result vs_virtqueue_pop(struct vs_virtqueue *vq, const struct vs_guest_memory *mem,
                                       struct vs_vq_chain *chain, char *why, size_t why_size);
/* Returns chain `head` to the driver with `written` bytes written. */
void vs_virtqueue_push(struct vs_virtqueue *vq, uint16_t head, uint32_t written);
/* Signals the call fd unless the driver asked for no interrupts. */
void vs_virtqueue_notify(struct vs_virtqueue *vq);

/* Copies out of the chain's readable part from `offset`; the bytes copied. */
size_t vs_vq_chain_read(const struct vs_vq_chain *chain, uint64_t offset, void *dst, size_t len);
/* Copies into the chain's writable part from `offset`; the bytes copied. */
size_t vs_vq_chain_write(const struct vs_vq_chain *chain, uint64_t offset, const void *src, size_t len);

#endif

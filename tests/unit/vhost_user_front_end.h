/* SPDX-License-Identifier: MIT */
/* A fake vhost-user front end for the device tests: a socket pair to the
 * device, guest RAM in a memfd with both queues laid out in it, the kick
 * and call fds, and QEMU's handshake. The device is the test's own: it is
 * made on the socket vu_fe_open hands out and set in `dev`. */
#ifndef VS_TESTS_VHOST_USER_FRONT_END_H
#define VS_TESTS_VHOST_USER_FRONT_END_H

#include <stdbool.h>
#include <stdint.h>

#include "transport/vhost_user/vhost_user_device.h"

#define RAM_SIZE (1u << 20)
#define RAM_USER 0x7f0000000000ull /* the fake front end's address of guest RAM */
#define QSIZE 16u
#define DESC(q) (0x1000u + (q) * 0x1000u)
#define AVAIL(q) (0x3000u + (q) * 0x1000u)
#define USED(q) (0x5000u + (q) * 0x1000u)

struct vu_front_end {
   int sock;
   struct vs_vu_device *dev;
   uint8_t *ram;
   int kick[2][2];
   int call[2][2];
   uint16_t avail_idx[2];
   uint16_t used_seen[2]; /* vu_fe_used: the used elements read so far */
};

/* The socket pair and the queues' fds; *device_sock is the device's end. */
bool vu_fe_open(struct vu_front_end *fe, int *device_sock);
/* Closes the front end's fds and unmaps guest RAM (not the device). */
void vu_fe_close(struct vu_front_end *fe);
/* The handshake QEMU makes, then the mem table and both rings of QSIZE. */
bool vu_fe_handshake(struct vu_front_end *fe);

/* Sends one request and lets the device serve it; the device's verdict. */
bool vu_fe_send(struct vu_front_end *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
                const int *fds, unsigned nfds);
/* Reads the reply to `request` of exactly `size` bytes. */
bool vu_fe_reply(struct vu_front_end *fe, uint32_t request, void *payload, uint32_t size);
uint64_t vu_fe_get_u64(struct vu_front_end *fe, uint32_t request);

void vu_put_desc(struct vu_front_end *fe, uint32_t table_gpa, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next);
/* Makes descriptor `head` available on queue q without a kick. */
void vu_fe_offer(struct vu_front_end *fe, uint32_t q, uint16_t head);
/* Makes descriptor `head` available on queue q, kicks and lets the device
 * run; the used element's length, or -1 when nothing came back. */
int64_t vu_fe_run(struct vu_front_end *fe, uint32_t q, uint16_t head);
/* Kicks queue q and lets the device run; false when it ended. */
bool vu_fe_kick(struct vu_front_end *fe, uint32_t q);
/* The next used element of queue q not read yet; false when none. */
bool vu_fe_used(struct vu_front_end *fe, uint32_t q, uint32_t *id, uint32_t *len);

#endif

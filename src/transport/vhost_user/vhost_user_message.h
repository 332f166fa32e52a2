/* SPDX-License-Identifier: MIT */
/* vhost-user messages (QEMU's docs/interop/vhost-user.rst): the header, the
 * payloads of the requests a virtio-gpu back end serves, and reading one
 * message with its fds off the front end's socket. Every message is checked
 * against its request's payload size and fd count before anyone uses it. */
#ifndef VS_VHOST_USER_MESSAGE_H
#define VS_VHOST_USER_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vs_vu_request {
   VS_VU_GET_FEATURES = 1,
   VS_VU_SET_FEATURES = 2,
   VS_VU_SET_OWNER = 3,
   VS_VU_SET_MEM_TABLE = 5,
   VS_VU_SET_VRING_NUM = 8,
   VS_VU_SET_VRING_ADDR = 9,
   VS_VU_SET_VRING_BASE = 10,
   VS_VU_GET_VRING_BASE = 11,
   VS_VU_SET_VRING_KICK = 12,
   VS_VU_SET_VRING_CALL = 13,
   VS_VU_SET_VRING_ERR = 14,
   VS_VU_GET_PROTOCOL_FEATURES = 15,
   VS_VU_SET_PROTOCOL_FEATURES = 16,
   VS_VU_GET_QUEUE_NUM = 17,
   VS_VU_SET_VRING_ENABLE = 18,
   VS_VU_SET_BACKEND_REQ_FD = 21,
   VS_VU_GET_CONFIG = 24,
   VS_VU_SET_CONFIG = 25,
   VS_VU_GET_MAX_MEM_SLOTS = 36,
   VS_VU_ADD_MEM_REG = 37,
   VS_VU_REM_MEM_REG = 38,
   VS_VU_GET_SHMEM_CONFIG = 44,
};

/* Requests the back end sends on the BACKEND_REQ channel. */
enum vs_vu_backend_request {
   VS_VU_BACKEND_CONFIG_CHANGE = 2,
   VS_VU_BACKEND_SHMEM_MAP = 9,
   VS_VU_BACKEND_SHMEM_UNMAP = 10,
};

/* Header flags: the low two bits are the protocol version. */
#define VS_VU_VERSION 0x1u
#define VS_VU_VERSION_MASK 0x3u
#define VS_VU_FLAG_REPLY 0x4u
#define VS_VU_FLAG_NEED_REPLY 0x8u

/* Feature bits of the vhost-user layer itself. */
#define VS_VU_F_PROTOCOL_FEATURES 30
#define VS_VU_PROTOCOL_F_REPLY_ACK 3
#define VS_VU_PROTOCOL_F_BACKEND_REQ 5
#define VS_VU_PROTOCOL_F_CONFIG 9
#define VS_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VS_VU_PROTOCOL_F_BACKEND_SEND_FD 10
#define VS_VU_PROTOCOL_F_SHMEM 22

/* SET_VRING_KICK/CALL/ERR: the queue index, and "no fd comes with it". */
#define VS_VU_VRING_INDEX_MASK 0xffu
#define VS_VU_VRING_NOFD 0x100u

#define VS_VU_MEM_REGIONS_MAX 8u
/* Regions of guest RAM a device keeps at once, added one by one
 * (CONFIGURE_MEM_SLOTS: each blob the front end maps into the host-visible
 * region comes as one more). */
#define VS_VU_MEM_SLOTS_MAX 256u
#define VS_VU_CONFIG_MAX 256u
#define VS_VU_SHMEM_REGIONS_MAX 256u
#define VS_VU_FDS_MAX 8u

struct vs_vu_header {
   uint32_t request;
   uint32_t flags;
   uint32_t size;
};

struct vs_vu_vring_state {
   uint32_t index;
   uint32_t num;
};

/* Ring addresses are the front end's own virtual addresses. */
struct vs_vu_vring_addr {
   uint32_t index;
   uint32_t flags;
   uint64_t desc;
   uint64_t used;
   uint64_t avail;
   uint64_t log;
};

struct vs_vu_mem_region {
   uint64_t guest_addr;
   uint64_t size;
   uint64_t user_addr;
   uint64_t mmap_offset;
};

/* ADD_MEM_REG and REM_MEM_REG: one region (and, to add it, its fd). */
struct vs_vu_mem_reg {
   uint64_t padding;
   struct vs_vu_mem_region region;
};

struct vs_vu_mem_table {
   uint32_t nregions;
   uint32_t padding;
   struct vs_vu_mem_region regions[VS_VU_MEM_REGIONS_MAX];
};

#define VS_VU_CONFIG_HEADER_SIZE 12u
struct vs_vu_config {
   uint32_t offset;
   uint32_t size;
   uint32_t flags;
   uint8_t region[VS_VU_CONFIG_MAX];
};

/* GET_SHMEM_CONFIG's reply: region sizes indexed by shmid. */
struct vs_vu_shmem_config {
   uint32_t nregions;
   uint32_t padding;
   uint64_t sizes[VS_VU_SHMEM_REGIONS_MAX];
};

/* SHMEM_MAP and SHMEM_UNMAP: `len` bytes of the region `shmid` at
 * `shm_offset` show the fd (sent with SHMEM_MAP) from `fd_offset`. */
struct vs_vu_shmem_map {
   uint8_t shmid;
   uint8_t padding[7];
   uint64_t fd_offset;
   uint64_t shm_offset;
   uint64_t len;
   uint64_t flags;
};
#define VS_VU_SHMEM_MAP_WRITABLE 1ull

union vs_vu_payload {
   uint64_t u64;
   struct vs_vu_vring_state state;
   struct vs_vu_vring_addr addr;
   struct vs_vu_mem_table mem;
   struct vs_vu_mem_reg mem_reg;
   struct vs_vu_config config;
   struct vs_vu_shmem_config shmem;
   uint8_t bytes[sizeof(struct vs_vu_shmem_config)];
};

/* One message as received, or the part of it received so far: its fds
 * belong to it until taken. Zeroed: no byte of it yet. */
struct vs_vu_message {
   struct vs_vu_header header;
   union vs_vu_payload payload;
   int fds[VS_VU_FDS_MAX];
   unsigned fd_count;
   uint32_t received; /* bytes of the header and payload in so far */
   bool excess_fds;   /* more fds came than a message carries */
};

enum vs_vu_read_result {
   VS_VU_READ_MESSAGE, /* a whole, checked message */
   VS_VU_READ_MORE,    /* no whole message yet: what came is kept for the next read */
   VS_VU_READ_CLOSED,  /* the front end closed the connection between messages */
   VS_VU_READ_BAD,     /* a broken or refused message (why says which): the connection ends */
};

/* The request's name, for log lines ("request 77" for unknown ones). */
const char *vs_vu_request_name(uint32_t request, char *buf, size_t buf_size);

/* The checks a received message is put to without any device state: the
 * version and flags, the payload size the request has (exactly), the fds
 * it carries, and the counts and ranges inside its payload. */
bool vs_vu_message_check(const struct vs_vu_message *msg, char *why, size_t why_size);

/* Reads what the non-blocking stream socket holds of one message (header,
 * payload, fds) into `msg`, which keeps a partial message between calls:
 * a front end that sends part of one never makes the reader wait. A whole
 * message is checked; the next call starts a new one (close or take its
 * fds first). On VS_VU_READ_CLOSED and VS_VU_READ_BAD no fd stays open. */
enum vs_vu_read_result vs_vu_message_read(int sock, struct vs_vu_message *msg, char *why, size_t why_size);

/* The i-th fd of the message, now the caller's (-1 if there is none). */
int vs_vu_message_take_fd(struct vs_vu_message *msg, unsigned i);
/* Closes the fds nobody took. */
void vs_vu_message_close_fds(struct vs_vu_message *msg);

/* Sends a reply to `request`: the header (version, reply flag) and
 * `size` bytes of payload. false (errno set) when the socket failed. */
bool vs_vu_reply(int sock, uint32_t request, const void *payload, uint32_t size);

/* Sends back-end request `request` on the BACKEND_REQ channel `sock` with
 * `fd` (-1: none), asking for a reply (REPLY_ACK) with `need_reply`.
 * false with why. */
bool vs_vu_backend_send(int sock, uint32_t request, const void *payload, uint32_t size, int fd, bool need_reply,
                        char *why, size_t why_size);
/* Reads the front end's reply to `request` off the channel: false with
 * why unless it is a zero status. */
bool vs_vu_backend_read_reply(int sock, uint32_t request, char *why, size_t why_size);

#endif

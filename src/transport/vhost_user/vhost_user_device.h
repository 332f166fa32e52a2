/* SPDX-License-Identifier: MIT */
/* The back end of one vhost-user connection: the front end's requests
 * (features, protocol features, config space, the mem table, the rings and
 * their fds, the host-visible shared memory region) and the rings' kicks,
 * served from one thread with poll(). What the device is (its feature
 * bits, config space, what its queues do) comes from the device type above
 * it (virtio_gpu.c). A broken or refused message ends this connection only,
 * with one log line. */
#ifndef VS_VHOST_USER_DEVICE_H
#define VS_VHOST_USER_DEVICE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vhost_user/guest_memory.h"
#include "transport/vhost_user/virtqueue.h"

#define VS_VU_QUEUES_MAX 8u
/* The shared memory id of the host-visible region (virtio-gpu's). */
#define VS_VU_SHMEM_ID 1u

struct vs_activity;
struct vs_vu_device;

/* What the device type provides; `data` is its own. */
struct vs_vu_device_type {
   uint64_t features;        /* virtio feature bits offered, VERSION_1 included */
   unsigned num_queues;      /* 1..VS_VU_QUEUES_MAX */
   uint64_t shmem_size;      /* the region at VS_VU_SHMEM_ID (a page multiple), 0: none */
   uint32_t config_size;     /* bytes of config space, at most VS_VU_CONFIG_MAX */
   /* Fills the whole config space. */
   void (*read_config)(void *data, uint8_t *config);
   /* The driver wrote config bytes (range already checked); a value the
    * type refuses ends the device (vs_vu_device_fail). */
   void (*write_config)(void *data, struct vs_vu_device *dev, uint32_t offset, const uint8_t *bytes, uint32_t size);
   /* Queue `index` has new buffers (or just started): pop and answer them. */
   void (*queue_kicked)(void *data, struct vs_vu_device *dev, unsigned index);
   /* Where the device type's own threads announce work for the device's
    * thread (retired fences): `wake_fd` is polled beside the socket and
    * the kicks, and `woken` serves it once readable. NULL: no such fd. */
   void (*woken)(void *data, struct vs_vu_device *dev);
   int wake_fd;
   void *data;
};

/* Tells `activity` (worker/activity.h) when one of the device's queues
 * first runs: a device that never starts one may lose its slot. */
void vs_vu_device_report_start(struct vs_vu_device *dev, struct vs_activity *activity);

/* A device on a connected socket (which it owns from now on); `id` names it
 * in log lines. NULL when the type is invalid or memory runs out: the
 * socket stays the caller's. */
struct vs_vu_device *vs_vu_device_create(int sock, uint32_t id, const struct vs_vu_device_type *type);
void vs_vu_device_destroy(struct vs_vu_device *dev);

/* Reads and serves one request. false when the connection is over: the
 * front end closed it, or a request was refused (logged). */
bool vs_vu_device_handle_message(struct vs_vu_device *dev);

/* The fds to poll: the socket first, then each started queue's kick fd,
 * then the type's wake fd. Returns how many were filled (at most
 * VS_VU_POLLFDS_MAX). */
#define VS_VU_POLLFDS_MAX (2u + VS_VU_QUEUES_MAX)
unsigned vs_vu_device_pollfds(const struct vs_vu_device *dev, struct pollfd *fds, unsigned max);
/* How long poll() may wait, in ms: until the deadline for the front end's
 * SET_OWNER while it has not come (0 once passed), else -1. */
int vs_vu_device_poll_timeout(const struct vs_vu_device *dev);
/* Serves what poll() reported on fds filled by vs_vu_device_pollfds. false
 * when the connection is over, or when its front end let the deadline for
 * SET_OWNER pass (logged). */
bool vs_vu_device_dispatch(struct vs_vu_device *dev, const struct pollfd *fds, unsigned count);

/* The device type refuses what the guest gave it (a config value, a
 * queue's buffer): the reason is logged once, and the connection ends at
 * once (the request being served is refused; dispatch returns false). */
void vs_vu_device_fail(struct vs_vu_device *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether vs_vu_device_fail ended the device. */
bool vs_vu_device_failed(const struct vs_vu_device *dev);

uint32_t vs_vu_device_id(const struct vs_vu_device *dev);
/* The negotiated virtio features (0 before SET_FEATURES). */
uint64_t vs_vu_device_features(const struct vs_vu_device *dev);
const struct vs_guest_memory *vs_vu_device_memory(const struct vs_vu_device *dev);
struct vs_virtqueue *vs_vu_device_queue(struct vs_vu_device *dev, unsigned index);

/* The device type's config space changed: the front end is told (it
 * raises the config interrupt; the guest reads the space again). false
 * with why when it cannot be (no config or backend channel negotiated). */
bool vs_vu_device_notify_config(struct vs_vu_device *dev, char *why, size_t why_size);

/* Whether the front end can map the fds of the host-visible region
 * (SHMEM and BACKEND_REQ negotiated, a channel given). */
bool vs_vu_device_can_map(const struct vs_vu_device *dev);
/* Asks the front end to show `len` bytes of `fd` from `fd_offset` at
 * `shm_offset` of the host-visible region, and waits for its answer when
 * REPLY_ACK was negotiated (the guest never sees a mapping before it
 * exists). The caller checked the range against the region. false with
 * why. */
bool vs_vu_device_shmem_map(struct vs_vu_device *dev, int fd, uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
                            bool writable, char *why, size_t why_size);
bool vs_vu_device_shmem_unmap(struct vs_vu_device *dev, uint64_t shm_offset, uint64_t len, char *why,
                              size_t why_size);

#endif

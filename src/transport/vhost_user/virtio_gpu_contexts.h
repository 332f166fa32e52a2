/* SPDX-License-Identifier: MIT */
/* The 3D half of a VM's virtio-gpu device: its Venus contexts
 * (CTX_CREATE with the Venus capset, SUBMIT_3D into context/context.h),
 * their host blobs (RESOURCE_CREATE_BLOB of HOST3D memory), the blobs'
 * mappings in the host-visible region (RESOURCE_MAP_BLOB through the front
 * end's SHMEM_MAP) and the fences of each context's rings.
 *
 * Fences: a fenced request of a context's ring is answered (its used
 * entry returned) only once everything submitted before it on that ring
 * has finished on the host; the context retires it on its own thread,
 * which queues the answer and makes `wake_fd` readable, and the device's
 * thread returns the answers in vs_gpu_contexts_retired. */
#ifndef VS_VIRTIO_GPU_CONTEXTS_H
#define VS_VIRTIO_GPU_CONTEXTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/context.h"

struct render_client;
struct vs_vu_device;
struct vs_gpu_contexts;
struct vs_gpu_ctx_create;
struct vs_gpu_resource_create_blob;

/* Why a command was refused: the caller logs `why` with the command. */
struct vs_gpu_refusal {
   char why[256];
};

/* Contexts of device `device_id` with `options` (NULL: the device has no
 * 3D), each Venus context in a worker of its own through `apart` (taken,
 * even on failure; NULL: in this process), host blobs up to `max_blobs`,
 * mappings inside a region of `shmem_size` bytes. NULL when out of
 * memory. */
struct vs_gpu_contexts *vs_gpu_contexts_create(uint32_t device_id, const struct vs_context_options *options,
                                               struct render_client *apart, uint32_t max_blobs,
                                               uint64_t shmem_size);
/* Ends every context (their pending fences retire first) and closes the
 * blobs. */
void vs_gpu_contexts_destroy(struct vs_gpu_contexts *contexts);

/* Readable when fences retired; polled by the device's thread. */
int vs_gpu_contexts_wake_fd(const struct vs_gpu_contexts *contexts);

/* The commands: a VS_GPU_RESP_* status, `refusal->why` set on an error. */
uint32_t vs_gpu_contexts_create_context(struct vs_gpu_contexts *contexts, const struct vs_gpu_ctx_create *c,
                                        struct vs_gpu_refusal *refusal);
uint32_t vs_gpu_contexts_destroy_context(struct vs_gpu_contexts *contexts, uint32_t ctx_id,
                                         struct vs_gpu_refusal *refusal);
/* Whether context `ctx_id` exists. */
uint32_t vs_gpu_contexts_check_context(struct vs_gpu_contexts *contexts, uint32_t ctx_id,
                                       struct vs_gpu_refusal *refusal);
/* CTX_ATTACH_RESOURCE of an existing resource: another context's host
 * blob (shared memory or a dma-buf) becomes a resource of this Venus
 * context under the same id, which it may import (a compositor taking a
 * client's buffer); anything else needs nothing. CTX_DETACH_RESOURCE
 * drops it again; so do the blob's RESOURCE_UNREF and the context's end. */
uint32_t vs_gpu_contexts_attach(struct vs_gpu_contexts *contexts, uint32_t ctx_id, uint32_t res_id,
                                struct vs_gpu_refusal *refusal);
uint32_t vs_gpu_contexts_detach(struct vs_gpu_contexts *contexts, uint32_t ctx_id, uint32_t res_id,
                                struct vs_gpu_refusal *refusal);
uint32_t vs_gpu_contexts_submit(struct vs_gpu_contexts *contexts, uint32_t ctx_id, const void *cmds, size_t size,
                                struct vs_gpu_refusal *refusal);
uint32_t vs_gpu_contexts_create_blob(struct vs_gpu_contexts *contexts, const struct vs_gpu_resource_create_blob *c,
                                     struct vs_gpu_refusal *refusal);
/* *map_info is the blob's cache type on success. */
uint32_t vs_gpu_contexts_map_blob(struct vs_gpu_contexts *contexts, struct vs_vu_device *dev, uint32_t res_id,
                                  uint64_t offset, uint32_t *map_info, struct vs_gpu_refusal *refusal);
uint32_t vs_gpu_contexts_unmap_blob(struct vs_gpu_contexts *contexts, struct vs_vu_device *dev, uint32_t res_id,
                                    struct vs_gpu_refusal *refusal);

/* Whether `res_id` is one of the host blobs. */
bool vs_gpu_contexts_has_blob(const struct vs_gpu_contexts *contexts, uint32_t res_id);
/* RESOURCE_UNREF of a host blob: unmapped, dropped by its context and
 * the contexts it was shared with, closed. `refusal->why` says why the
 * front end did not unmap it, if it did not. */
void vs_gpu_contexts_unref_blob(struct vs_gpu_contexts *contexts, struct vs_vu_device *dev, uint32_t res_id,
                                struct vs_gpu_refusal *refusal);
/* A host blob's fd (still the blob's), size and serial (a number no
 * other blob of the device ever has), for a scanout: -1 when `res_id` is
 * none or its fd cannot be mapped. */
int vs_gpu_contexts_blob_fd(const struct vs_gpu_contexts *contexts, uint32_t res_id, uint64_t *size,
                            uint64_t *serial);

/* A fenced request on ring `ring_idx` of context `ctx_id`, already
 * answered into its chain (`head`, `written` bytes): true when its used
 * entry now waits for the fence (returned by vs_gpu_contexts_retired),
 * false when the caller returns it at once (no such context, a context
 * that ended, or one with as many requests waiting as a ring holds:
 * `refusal->why` then says so). */
bool vs_gpu_contexts_defer(struct vs_gpu_contexts *contexts, uint32_t ctx_id, uint32_t ring_idx, uint16_t head,
                           uint32_t written, struct vs_gpu_refusal *refusal);
/* On the device's thread once wake_fd is readable: each retired request
 * to `answer(data, head, written)`, in the order they retired. */
void vs_gpu_contexts_retired(struct vs_gpu_contexts *contexts,
                             void (*answer)(void *data, uint16_t head, uint32_t written), void *data);

#endif

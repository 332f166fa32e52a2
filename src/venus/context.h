/* A Venus context: everything one client (one vtest connection) owns:
 * its shared-memory resources (blobs), rings, the guest-id -> host-object
 * table, and the host Vulkan objects behind it. The transport layer
 * (src/vtest) drives it through this interface only. */
#ifndef VS_CONTEXT_H
#define VS_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_context;

/* Capset id and size of the Venus capset (VIRGL_RENDERER_CAPSET_VENUS). */
#define VS_CAPSET_VENUS 4
#define VS_CAPSET_VENUS_SIZE 160

/* Fills the Venus capset. Returns false for an unknown id/version. */
bool vs_capset_get(uint32_t capset_id, uint32_t version, void *out, size_t out_size);

/* Max timelines (rings of queues) a context supports; answered to GET_PARAM. */
#define VS_MAX_TIMELINES 64

struct vs_context *vs_context_create(uint32_t ctx_id, const char *debug_name);

/* Destroys every host object of the context, stops its threads, closes its
 * resources. Safe to call at any time, including after a fatal error. */
void vs_context_destroy(struct vs_context *ctx);

uint32_t vs_context_id(const struct vs_context *ctx);

/* True once the context hit a fatal error (bad guest input); the transport
 * should then drop the client. The reason was already logged. */
bool vs_context_is_fatal(const struct vs_context *ctx);

/* Blob types and flags as vtest defines them. */
#define VS_BLOB_TYPE_GUEST 1
#define VS_BLOB_TYPE_HOST3D 2
#define VS_BLOB_TYPE_HOST3D_GUEST 3
#define VS_BLOB_FLAG_MAPPABLE 0x1
#define VS_BLOB_FLAG_SHAREABLE 0x2
#define VS_BLOB_FLAG_CROSS_DEVICE 0x4

/* Creates a blob resource. blob_id 0 with flags == MAPPABLE: plain shared
 * memory. Otherwise blob_id names a VkDeviceMemory of this context.
 * On success returns true, *res_id is non-zero and *fd is a new fd the caller
 * sends to the client and then closes. On failure logs why and returns false
 * (the context may have become fatal). */
bool vs_context_create_blob(struct vs_context *ctx, uint32_t type, uint32_t flags, uint64_t size,
                            uint64_t blob_id, uint32_t *res_id, int *fd);

/* Drops a resource. Unknown ids are logged and ignored. */
void vs_context_unref_resource(struct vs_context *ctx, uint32_t res_id);

/* Executes a context-side Venus command stream (one SUBMIT_CMD2 batch)
 * synchronously. Returns false if the stream was bad (context now fatal). */
bool vs_context_submit(struct vs_context *ctx, const void *cmds, size_t size);

/* Asks for `retire(data)` to be called once everything submitted so far on
 * timeline `ring_idx` has finished on the host (ring_idx 0 is the CPU
 * timeline: right away). The callback may run on another thread. Returns
 * false for an invalid ring_idx (context now fatal). */
typedef void (*vs_retire_fn)(void *data);
bool vs_context_submit_fence(struct vs_context *ctx, uint32_t ring_idx, vs_retire_fn retire,
                             void *data);

#endif

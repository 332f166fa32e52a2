/* SPDX-License-Identifier: MIT */
/* The render-server protocol of virglrenderer 1.1 (the socket between a
 * VMM's libvirglrenderer "proxy" and its render server), written from the
 * facts in the project's reference notes: one op per SOCK_SEQPACKET
 * message, exact sizes, natural x86-64 layout, padding is garbage. */
#ifndef VS_RENDER_PROTOCOL_H
#define VS_RENDER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "context/context.h"

#define RENDER_MAX_FDS 8
/* Rings in the per-context fence table (shmem of 64 u32 seqnos). */
#define RENDER_MAX_RINGS 64
/* SUBMIT_CMD carries this much inline; the rest follows as a raw message. */
#define RENDER_CMD_INLINE 256
/* Largest SUBMIT_CMD we accept (a SEQPACKET message is bounded by the
 * socket buffer long before this). */
#define RENDER_MAX_CMD_SIZE (16u << 20)

/* Client ops, on the socket given with --socket-fd. */
enum render_client_op {
   RENDER_CLIENT_OP_NOP = 0,
   RENDER_CLIENT_OP_INIT = 1,
   RENDER_CLIENT_OP_RESET = 2,
   RENDER_CLIENT_OP_CREATE_CONTEXT = 3,
   RENDER_CLIENT_OP_DESTROY_CONTEXT = 4,
   RENDER_CLIENT_OP_COUNT,
};

/* Context ops, on each context's own socket. */
enum render_context_op {
   RENDER_CONTEXT_OP_NOP = 0,
   RENDER_CONTEXT_OP_INIT = 1,
   RENDER_CONTEXT_OP_CREATE_RESOURCE = 2,
   RENDER_CONTEXT_OP_IMPORT_RESOURCE = 3,
   RENDER_CONTEXT_OP_DESTROY_RESOURCE = 4,
   RENDER_CONTEXT_OP_SUBMIT_CMD = 5,
   RENDER_CONTEXT_OP_SUBMIT_FENCE = 6,
   RENDER_CONTEXT_OP_COUNT,
};

struct render_client_op_header {
   uint32_t op;
};

struct render_client_op_init_request {
   uint32_t op;
   uint32_t flags; /* VIRGL_RENDERER_* of the VMM */
};

struct render_client_op_create_context_request {
   uint32_t op;
   uint32_t ctx_id;
   char ctx_name[32];
};

struct render_client_op_create_context_reply {
   uint8_t ok; /* + the context socket iff ok */
};

struct render_client_op_destroy_context_request {
   uint32_t op;
   uint32_t ctx_id;
};

struct render_context_op_init_request {
   uint32_t op;
   uint32_t flags;     /* low 8 bits: capset id (4: Venus) */
   uint64_t shmem_size; /* + fds: the fence table memfd, the eventfd (optional) */
};

struct render_context_op_create_resource_request {
   uint32_t op;
   uint32_t res_id;
   uint64_t blob_id;
   uint64_t blob_size;
   uint32_t blob_flags;
   uint32_t pad;
};

struct render_context_op_create_resource_reply {
   int32_t fd_type; /* -1: failed, no fd */
   uint32_t map_info;
   struct vs_blob_vulkan_info vulkan_info;
};

struct render_context_op_import_resource_request {
   uint32_t op;
   uint32_t res_id;
   int32_t fd_type;
   uint32_t pad;
   uint64_t size; /* + 1 fd */
};

struct render_context_op_destroy_resource_request {
   uint32_t op;
   uint32_t res_id;
};

struct render_context_op_submit_cmd_request {
   uint32_t op;
   uint32_t size;
   uint8_t cmd[RENDER_CMD_INLINE];
};

#define RENDER_FENCE_FLAG_MERGEABLE 0x1

struct render_context_op_submit_fence_request {
   uint32_t op;
   uint32_t flags;
   uint32_t ring_index;
   uint32_t seqno;
};

_Static_assert(sizeof(struct render_client_op_init_request) == 8, "layout");
_Static_assert(sizeof(struct render_client_op_create_context_request) == 40, "layout");
_Static_assert(sizeof(struct render_client_op_destroy_context_request) == 8, "layout");
_Static_assert(sizeof(struct render_context_op_init_request) == 16, "layout");
_Static_assert(sizeof(struct render_context_op_create_resource_request) == 32, "layout");
_Static_assert(sizeof(struct render_context_op_create_resource_reply) == 56, "layout");
_Static_assert(offsetof(struct render_context_op_create_resource_reply, vulkan_info.allocation_size) == 40,
               "layout");
_Static_assert(sizeof(struct render_context_op_import_resource_request) == 24, "layout");
_Static_assert(sizeof(struct render_context_op_destroy_resource_request) == 8, "layout");
_Static_assert(sizeof(struct render_context_op_submit_cmd_request) == 264, "layout");
_Static_assert(sizeof(struct render_context_op_submit_fence_request) == 16, "layout");

/* The largest request of each socket (the receive buffers). */
#define RENDER_CLIENT_MAX_REQUEST 40
#define RENDER_CONTEXT_MAX_REQUEST 264

/* VMM flags (VIRGL_RENDERER_*) of client INIT that we look at. */
#define RENDER_VMM_FLAG_VENUS 0x40
#define RENDER_VMM_FLAG_NO_VIRGL 0x80

#define RENDER_CAPSET_VENUS 4

#endif

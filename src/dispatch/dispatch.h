/* A dispatcher: the state that decodes and executes one command stream,
 * either a ring (the Vulkan API) or the context side (SUBMIT_CMD2, which
 * Mesa uses for ring management only). The generated codec calls the
 * vs_dispatch_* functions below; src/dispatch/<family>.c implement the
 * hand-written commands listed in protocol/semantics.txt. */
#ifndef VS_DISPATCH_H
#define VS_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "venus/cs.h"

struct vs_context;
struct vs_ring;
struct vs_resource;

struct vs_dispatch {
   struct vs_context *ctx;
   struct vs_ring *ring;             /* NULL on the context side */
   struct vs_arena arena;            /* decoded form of the current command */
   /* Reply window set by vkSetReplyCommandStreamMESA. */
   struct vs_resource *reply_res;
   size_t reply_offset, reply_size, reply_pos;
   struct vn_encoder reply;
   bool in_execute_streams;          /* vkExecuteCommandStreamsMESA does not nest */
   bool failed;
};

void vs_dispatch_init(struct vs_dispatch *disp, struct vs_context *ctx, struct vs_ring *ring);
void vs_dispatch_fini(struct vs_dispatch *disp);

/* Decodes and executes every command in [data, data+size). `after` (may be
 * NULL) is called after each command with the bytes consumed so far, which
 * lets a ring publish its head command by command. False on a bad stream:
 * the context is then fatal. */
bool vs_dispatch_stream(struct vs_dispatch *disp, const void *data, size_t size,
                        void (*after)(void *, size_t), void *after_data);

/* Marks the stream bad and the context fatal, logging the reason once. */
void vs_dispatch_fail(struct vs_dispatch *disp, const char *fmt, ...)
   __attribute__((format(printf, 2, 3)));
bool vs_dispatch_failed(const struct vs_dispatch *disp);

struct vn_encoder *vs_dispatch_reply_begin(struct vs_dispatch *disp, const char *cmd);
bool vs_dispatch_reply_end(struct vs_dispatch *disp, const char *cmd);

/* Object binding used by the generated create/destroy paths. */
struct vs_object *vs_dispatch_add_object(struct vs_dispatch *disp, VkObjectType type, uint64_t id,
                                         uint64_t handle, struct vs_object *parent);
void vs_dispatch_remove_object(struct vs_dispatch *disp, struct vs_object *obj);

uint32_t vs_dispatch_ctx_id(const struct vs_dispatch *disp);

#endif

#include "dispatch/dispatch.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/log.h"
#include "venus/context_state.h"
#include "venus/resource.h"
#include "vn_wire.h"

/* Most commands decode into a few KiB; shader modules and pipeline caches
 * are the big ones. */
#define DISPATCH_DECODE_LIMIT (256u << 20)

void
vs_dispatch_init(struct vs_dispatch *disp, struct vs_context *ctx, struct vs_ring *ring)
{
   memset(disp, 0, sizeof(*disp));
   disp->ctx = ctx;
   disp->ring = ring;
   vs_arena_init(&disp->arena, DISPATCH_DECODE_LIMIT);
}

void
vs_dispatch_fini(struct vs_dispatch *disp)
{
   if (disp->reply_res)
      vs_resource_put(&disp->ctx->resources, disp->reply_res);
   disp->reply_res = NULL;
   vs_arena_fini(&disp->arena);
}

uint32_t
vs_dispatch_ctx_id(const struct vs_dispatch *disp)
{
   return disp->ctx->id;
}

void
vs_dispatch_fail(struct vs_dispatch *disp, const char *fmt, ...)
{
   if (!disp->failed) {
      char msg[512];
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(msg, sizeof(msg), fmt, ap);
      va_end(ap);
      vs_context_set_fatal(disp->ctx, msg);
   }
   disp->failed = true;
}

bool
vs_dispatch_failed(const struct vs_dispatch *disp)
{
   return disp->failed;
}

bool
vs_dispatch_stream(struct vs_dispatch *disp, const void *data, size_t size,
                   void (*after)(void *, size_t), void *after_data)
{
   struct vn_decoder d = {
      .cur = data,
      .end = (const uint8_t *)data + size,
      .arena = &disp->arena,
      .objects = &disp->ctx->objects,
   };
   if (size % 4) {
      vs_dispatch_fail(disp, "command stream of %zu bytes is not a multiple of 4", size);
      return false;
   }
   while (d.cur < d.end && !disp->failed) {
      if (vs_context_is_fatal(disp->ctx)) {
         disp->failed = true;
         break;
      }
      d.depth = 0;
      bool ok = vn_dispatch_command(disp, &d);
      vs_arena_reset(&disp->arena);
      if (!ok)
         break;
      if (after)
         after(after_data, (size_t)(d.cur - (const uint8_t *)data));
   }
   return !disp->failed;
}

struct vn_encoder *
vs_dispatch_reply_begin(struct vs_dispatch *disp, const char *cmd)
{
   if (!disp->reply_res) {
      vs_dispatch_fail(disp, "%s: reply requested with no reply stream set", cmd);
      return NULL;
   }
   uint8_t *base = disp->reply_res->map + disp->reply_offset;
   disp->reply = (struct vn_encoder){
      .cur = base + disp->reply_pos,
      .end = base + disp->reply_size,
      .objects = &disp->ctx->objects,
   };
   return &disp->reply;
}

bool
vs_dispatch_reply_end(struct vs_dispatch *disp, const char *cmd)
{
   if (disp->reply.overflow) {
      vs_dispatch_fail(disp, "%s: reply does not fit the %zu-byte reply window", cmd,
                       disp->reply_size - disp->reply_pos);
      return false;
   }
   disp->reply_pos = (size_t)(disp->reply.cur - (disp->reply_res->map + disp->reply_offset));
   return true;
}

struct vs_object *
vs_dispatch_add_object(struct vs_dispatch *disp, VkObjectType type, uint64_t id, uint64_t handle,
                       struct vs_object *parent)
{
   struct vs_object *obj = vs_object_add(&disp->ctx->objects, id, type, handle, parent);
   if (!obj)
      vs_dispatch_fail(disp, "cannot bind object id %llu (type %d): id in use or out of memory",
                       (unsigned long long)id, type);
   else
      vs_debug(disp->ctx->id, "object %llu created (type %d)", (unsigned long long)id, type);
   return obj;
}

void
vs_dispatch_remove_object(struct vs_dispatch *disp, struct vs_object *obj)
{
   vs_debug(disp->ctx->id, "object %llu destroyed (type %d)", (unsigned long long)obj->id, obj->type);
   vs_object_remove(&disp->ctx->objects, obj);
}

/* SPDX-License-Identifier: MIT */
/* The command runner: the one hand-written loop behind every command.
 * The generator describes each command as data (vn_commands: its argument
 * size, decoder, handler slot and reply encoder); this file walks that. */
#include "wire/runner.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "os/os.h"
#include "wire/dispatch_lock.h"
#include "wire/journal.h"
#include "wire/lifetime.h"
#include "wire/object_table.h"
#include "wire/resource.h"
#include "vn_wire.h"

/* Most commands decode into a few KiB; shader modules and pipeline caches
 * are the big ones. */
#define DISPATCH_DECODE_LIMIT (256u << 20)

/* The mode each command holds the dispatch lock in, by type. */
static uint8_t command_modes[VN_CMD_TYPE_COUNT];
static pthread_once_t command_modes_once = PTHREAD_ONCE_INIT;

static void
init_command_modes(void)
{
   for (uint32_t i = 0; i < VN_CMD_TYPE_COUNT; i++)
      command_modes[i] = vn_commands[i].name ? (uint8_t)vs_dispatch_mode_of(vn_commands[i].name) : VS_DISPATCH_SHARED;
}

void
vs_runner_init(struct vs_runner *runner, const struct vs_runner_desc *desc)
{
   memset(runner, 0, sizeof(*runner));
   runner->ctx_id = desc->ctx_id;
   runner->hooks = desc->hooks;
   runner->exec = desc->exec;
   runner->checks = desc->checks;
   runner->objects = desc->objects;
   runner->resources = desc->resources;
   runner->renderer = desc->renderer;
   runner->timing = desc->timing;
   runner->timing_data = desc->timing_data;
   runner->owner = desc->owner;
   runner->on_ring = desc->on_ring;
   runner->lock = desc->lock;
   runner->journal = desc->journal;
   vs_arena_init(&runner->arena, DISPATCH_DECODE_LIMIT);
   vs_arena_init(&runner->stream_arena, DISPATCH_DECODE_LIMIT);
   if (runner->lock)
      pthread_once(&command_modes_once, init_command_modes);
}

void
vs_runner_fini(struct vs_runner *runner)
{
   if (runner->reply_res)
      vs_resource_put(runner->resources, runner->reply_res);
   runner->reply_res = NULL;
   vs_arena_fini(&runner->arena);
   vs_arena_fini(&runner->stream_arena);
   vs_runner_release_stream_copy(runner);
}

void
vs_runner_release_stream_copy(struct vs_runner *runner)
{
   free(runner->stream_copy);
   if (runner->stream_copy_account)
      vs_fair_give(runner->stream_copy_account, runner->stream_copy_cap);
   runner->stream_copy = NULL;
   runner->stream_copy_cap = 0;
   runner->stream_copy_account = NULL;
}

void
vs_runner_fail(struct vs_runner *runner, const char *fmt, ...)
{
   if (!runner->failed) {
      char msg[512];
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(msg, sizeof(msg), fmt, ap);
      va_end(ap);
      runner->hooks.fatal(runner->hooks.data, msg);
   }
   runner->failed = true;
}

bool
vs_runner_failed(const struct vs_runner *runner)
{
   return runner->failed;
}

bool
vs_runner_at_stream_end(const struct vs_runner *runner)
{
   return runner->decoder && !runner->in_execute_streams && runner->decoder->cur == runner->decoder->end;
}

bool
vs_runner_wait_abandoned(struct vs_runner *runner)
{
   return runner->failed || runner->hooks.wait_abandoned(runner->hooks.data);
}

/* holder keeps every object the current command named alive (those
 * `keep` accepts, if given). */
static bool
hold_named(struct vs_runner *runner, const struct vn_decoder *d, struct vs_object *holder,
           bool (*keep)(VkObjectType type))
{
   for (uint32_t i = 0; i < d->named_count; i++) {
      struct vs_object *target = d->named[i];
      /* A recording names its own command buffer first. */
      if (target == holder || (keep && !keep(target->type)))
         continue;
      if (!vs_object_hold(runner->objects, holder, target, true)) {
         vs_runner_fail(runner, "object %llu cannot hold object %llu: over the limit of %u holds or out of memory",
                          (unsigned long long)holder->id, (unsigned long long)target->id,
                          runner->objects->hold_limit);
         return false;
      }
   }
   return true;
}

/* The device a command's first object is, or belongs to. */
static struct vs_object *
device_of(struct vs_object *obj)
{
   while (obj && obj->type != VK_OBJECT_TYPE_DEVICE)
      obj = obj->parent;
   return obj;
}

static bool
device_lost(struct vs_object *device)
{
   return __atomic_load_n(&device->flags, __ATOMIC_ACQUIRE) & VS_OBJECT_DEVICE_LOST;
}

/* Whatever returned it, reply or not: one line, the first time. */
static void
mark_device_lost(struct vs_runner *runner, const char *cmd, const struct vs_object *first, struct vs_object *device)
{
   if (__atomic_fetch_or(&device->flags, VS_OBJECT_DEVICE_LOST, __ATOMIC_ACQ_REL) & VS_OBJECT_DEVICE_LOST)
      return;
   vs_warn(runner->ctx_id, "device %llu lost: %s on object %llu returned VK_ERROR_DEVICE_LOST; every later call on it "
           "that can report the loss returns VK_ERROR_DEVICE_LOST", (unsigned long long)device->id, cmd,
           (unsigned long long)first->id);
}

/* Runs the handler, unless the command's device is lost: then a command
 * that can report the loss returns VK_ERROR_DEVICE_LOST unrun, which is
 * how Mesa's Venus driver learns of it (from replies: a ring's FATAL bit
 * would make it abort instead). */
static inline __attribute__((always_inline)) bool
call_handler(struct vs_runner *runner, const struct vn_command_info *cmd, void *args)
{
   struct vs_object *first = cmd->lost_result ? *(struct vs_object **)((uint8_t *)args + cmd->lost_object) : NULL;
   struct vs_object *device = device_of(first);
   VkResult *result = device ? (VkResult *)((uint8_t *)args + cmd->lost_result) : NULL;
   if (device && device_lost(device)) {
      *result = VK_ERROR_DEVICE_LOST;
      return true;
   }
   if (!cmd->call(runner->exec, runner, args))
      return false;
   if (result && *result == VK_ERROR_DEVICE_LOST && !runner->failed)
      mark_device_lost(runner, cmd->name, first, device);
   return true;
}

/* Decodes the command after its header, runs its handler and writes its
 * reply when asked (the dispatch lock held as the command needs). Inline
 * in both of run_command's ways: it is the whole of a command. */
static inline __attribute__((always_inline)) bool
run_locked(struct vs_runner *runner, struct vn_decoder *d, const struct vn_command_info *cmd, uint32_t flags,
           const uint8_t *start)
{
   void *args = vs_arena_alloc(&runner->arena, cmd->args_size);
   if (!args) {
      vs_runner_fail(runner, "%s: out of decode memory", cmd->name);
      return false;
   }
   if (!cmd->decode(d, args)) {
      vs_runner_fail(runner, "%s: %s", cmd->name, d->error);
      return false;
   }
   if (cmd->check && runner->checks && !cmd->check(runner->checks, runner, args)) {
      if (!runner->failed)
         vs_runner_fail(runner, "%s: refused by its checks", cmd->name);
      return false;
   }
   /* What the command leaves lasting is kept once it ran (wire/journal.h). */
   struct vs_journal_note note;
   bool journaled = runner->journal && cmd->journal != VN_JOURNAL_TRANSIENT;
   if (journaled && !vs_journal_note_begin(&note, cmd, args, d, start)) {
      vs_runner_fail(runner, "%s: out of decode memory", cmd->name);
      return false;
   }
   if (!call_handler(runner, cmd, args)) {
      vs_runner_fail(runner, "%s has no handler", cmd->name);
      return false;
   }
   if (runner->failed)
      return false;
   if (journaled)
      vs_journal_note_end(runner->journal, &note, d);
   /* The command buffer a recording names first holds the rest. */
   if (cmd->records && d->named_count > 1 && !hold_named(runner, d, d->named[0], NULL))
      return false;
   if (!(flags & VN_COMMAND_GENERATE_REPLY_BIT))
      return true;
   struct vn_encoder *e = vs_runner_reply_begin(runner, cmd->name);
   if (!e)
      return false;
   cmd->encode_reply(e, args);
   return vs_runner_reply_end(runner, cmd->name);
}

/* Inline (forced) in the stream's loop, which is what it is for. */
static inline __attribute__((always_inline)) bool
run_command(struct vs_runner *runner, struct vn_decoder *d)
{
   const uint8_t *start = d->cur;
   uint32_t type, flags;
   if (!vn_dec_u32(d, &type) || !vn_dec_u32(d, &flags)) {
      vs_runner_fail(runner, "truncated command header");
      return false;
   }
   const struct vn_command_info *cmd = type < VN_CMD_TYPE_COUNT ? &vn_commands[type] : NULL;
   if (!cmd || !cmd->decode) {
      vs_runner_fail(runner, "unsupported command type %u (%s)", type, vn_command_name(type));
      return false;
   }
   if (flags & ~VN_COMMAND_GENERATE_REPLY_BIT) {
      vs_runner_fail(runner, "%s: unknown command flags 0x%x", cmd->name, flags);
      return false;
   }
   if (!runner->lock)
      return run_locked(runner, d, cmd, flags, start);
   /* Held from the decoding, which resolves ids to objects, on. */
   enum vs_dispatch_mode outer_mode = runner->lock_mode;
   const char *outer_name = runner->command_name;
   runner->lock_mode = (enum vs_dispatch_mode)command_modes[type];
   runner->command_name = cmd->name;
   vs_dispatch_lock(runner->lock, runner->lock_mode);
   bool ok = run_locked(runner, d, cmd, flags, start);
   vs_dispatch_unlock(runner->lock, runner->lock_mode);
   runner->lock_mode = outer_mode;
   runner->command_name = outer_name;
   return ok;
}

/* run_command for the --submit-stats server: out of the common path. */
static __attribute__((noinline)) bool
run_timed(struct vs_runner *runner, struct vn_decoder *d)
{
   uint32_t type = 0;
   if (d->end - d->cur >= (ptrdiff_t)sizeof(type))
      memcpy(&type, d->cur, sizeof(type));
   uint64_t t0 = os_now_ns();
   bool ok = run_command(runner, d);
   runner->timing(runner->timing_data, type, os_now_ns() - t0);
   return ok;
}

bool
vs_runner_stream(struct vs_runner *runner, const void *data, size_t size,
                   void (*after)(void *, size_t), void *after_data)
{
   struct vn_decoder d = {
      .cur = data,
      .end = (const uint8_t *)data + size,
      .arena = &runner->arena,
      .objects = runner->objects,
      .cache = &runner->lookups,
   };
   if (size % 4) {
      vs_runner_fail(runner, "command stream of %zu bytes is not a multiple of 4", size);
      return false;
   }
   /* vkExecuteCommandStreamsMESA runs streams inside a command. */
   struct vn_decoder *outer = runner->decoder;
   runner->decoder = &d;
   while (d.cur < d.end && !runner->failed) {
      if (runner->hooks.should_stop(runner->hooks.data)) {
         runner->failed = true;
         break;
      }
      d.depth = 0;
      d.nested = NULL;
      d.nested_count = d.nested_cap = 0;
      d.named = d.named_inline;
      d.named_count = 0;
      d.named_cap = sizeof(d.named_inline) / sizeof(d.named_inline[0]);
      bool ok = runner->timing ? run_timed(runner, &d) : run_command(runner, &d);
      vs_arena_reset(&runner->arena);
      if (!ok)
         break;
      if (after)
         after(after_data, (size_t)(d.cur - (const uint8_t *)data));
   }
   runner->decoder = outer;
   return !runner->failed;
}

/* What a named object was when the command resolved it. */
struct named_object {
   struct vs_object *obj;
   uint64_t id, handle;
   VkObjectType type;
};

bool
vs_runner_wait_yield(struct vs_runner *runner)
{
   if (!runner->lock || runner->lock_mode != VS_DISPATCH_SHARED || !runner->decoder ||
       !vs_dispatch_lock_contended(runner->lock))
      return true;
   const struct vn_decoder *d = runner->decoder;
   /* After the unlock the objects may go: remember them by value. */
   struct named_object *named = vs_arena_alloc(&runner->arena, (d->named_count + 1) * sizeof(*named));
   if (!named)
      return true; /* out of decode memory: keep the lock, the writer waits */
   for (uint32_t i = 0; i < d->named_count; i++)
      named[i] = (struct named_object){ d->named[i], d->named[i]->id, d->named[i]->handle, d->named[i]->type };
   vs_dispatch_unlock(runner->lock, VS_DISPATCH_SHARED);
   vs_dispatch_lock(runner->lock, VS_DISPATCH_SHARED);
   for (uint32_t i = 0; i < d->named_count; i++) {
      struct vs_object *now = vs_object_lookup(runner->objects, named[i].id, named[i].type);
      if (now != named[i].obj || now->handle != named[i].handle) {
         vs_runner_fail(runner, "%s: object %llu (type %d) was destroyed while the command waited on the host",
                        runner->command_name, (unsigned long long)named[i].id, named[i].type);
         return false;
      }
   }
   return true;
}

struct vs_object *
vs_runner_nested_object(const struct vs_runner *runner, const void *field)
{
   return runner->decoder ? vn_dec_nested_object(runner->decoder, field) : NULL;
}

struct vs_object *const *
vs_runner_named(const struct vs_runner *runner, uint32_t *count)
{
   *count = runner->decoder ? runner->decoder->named_count : 0;
   return runner->decoder ? runner->decoder->named : NULL;
}

struct vn_encoder *
vs_runner_reply_begin(struct vs_runner *runner, const char *cmd)
{
   if (!runner->reply_res) {
      vs_runner_fail(runner, "%s: reply requested with no reply stream set", cmd);
      return NULL;
   }
   uint8_t *base = runner->reply_res->map + runner->reply_offset;
   runner->reply = (struct vn_encoder){
      .cur = base + runner->reply_pos,
      .end = base + runner->reply_size,
      .objects = runner->objects,
   };
   return &runner->reply;
}

bool
vs_runner_reply_end(struct vs_runner *runner, const char *cmd)
{
   if (runner->reply.overflow) {
      vs_runner_fail(runner, "%s: reply does not fit the %zu-byte reply window", cmd,
                       runner->reply_size - runner->reply_pos);
      return false;
   }
   runner->reply_pos = (size_t)(runner->reply.cur - (runner->reply_res->map + runner->reply_offset));
   return true;
}

struct vs_object *
vs_runner_add_object(struct vs_runner *runner, VkObjectType type, uint64_t id, uint64_t handle,
                       struct vs_object *parent)
{
   struct vs_object *obj = vs_object_add(runner->objects, id, type, handle, parent);
   if (!obj)
      vs_runner_fail(runner, "cannot bind object id %llu (type %d): id in use, over the object "
                             "limit or out of memory", (unsigned long long)id, type);
   else
      vs_debug(runner->ctx_id, "object %llu created (type %d)", (unsigned long long)id, type);
   return obj;
}

void
vs_runner_remove_object(struct vs_runner *runner, struct vs_object *obj)
{
   vs_debug(runner->ctx_id, "object %llu destroyed (type %d)", (unsigned long long)obj->id, obj->type);
   vs_object_remove(runner->objects, obj);
}

bool
vs_runner_retire_object(struct vs_runner *runner, struct vs_object *obj)
{
   if (vs_object_retire(runner->objects, obj, VS_OBJECT_ZOMBIE))
      return true;
   vs_debug(runner->ctx_id, "object %llu destroyed by the guest (type %d); held: the host object waits for its "
                          "holders", (unsigned long long)obj->id, obj->type);
   return false;
}

/* What a created object needs alive as long as itself: the image of a
 * view, the buffer of a buffer view, the views of a framebuffer. What
 * Vulkan lets the guest destroy once creation is done (shader modules,
 * layouts, render passes, caches) is not held. */
static bool
created_keeps(VkObjectType type)
{
   return type == VK_OBJECT_TYPE_IMAGE || type == VK_OBJECT_TYPE_BUFFER || type == VK_OBJECT_TYPE_IMAGE_VIEW ||
          type == VK_OBJECT_TYPE_BUFFER_VIEW;
}

void
vs_runner_note_failed_create(struct vs_runner *runner, const char *command, VkResult result, uint64_t id)
{
   if (!id)
      return;
   char why[VS_OBJECT_REFUSED_WHY];
   snprintf(why, sizeof(why), "%s failed with %s", command, vn_result_name(result));
   vs_object_note_refused(runner->objects, id, why);
}

void
vs_runner_hold_created(struct vs_runner *runner, struct vs_object *obj)
{
   if (obj && runner->decoder)
      hold_named(runner, runner->decoder, obj, created_keeps);
}

struct vs_object *
vs_runner_created(struct vs_runner *runner, VkResult result, uint64_t id, VkObjectType type)
{
   return result == VK_SUCCESS && !runner->failed ? vs_object_lookup(runner->objects, id, type) : NULL;
}

/* SPDX-License-Identifier: MIT */
#include "renderer/restore.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renderer/image_layout.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "renderer/memory/device_copy.h"
#include "renderer/memory/device_memory.h"
#include "renderer/memory/shared_registry.h"
#include "renderer/sync/sync_fd.h"
#include "base/ledger.h"
#include "base/test_faults.h"
#include "os/os.h"
#include "vn_wire.h"

/* Calls fn on every object under `parent`, parents first, until fn
 * returns false; false then. */
struct walk {
   struct vs_object_table *table;
   bool (*fn)(struct vs_object *obj, void *data);
   void *data;
   bool stopped;
};

static void
walk_child(struct vs_object *obj, void *data)
{
   struct walk *w = data;
   if (w->stopped)
      return;
   if (!w->fn(obj, w->data)) {
      w->stopped = true;
      return;
   }
   vs_object_foreach_child(w->table, obj, VK_OBJECT_TYPE_UNKNOWN, walk_child, w);
}

static bool
walk_objects(struct vs_renderer *r, bool (*fn)(struct vs_object *obj, void *data), void *data)
{
   struct walk w = { r->objects, fn, data, false };
   if (r->instance)
      walk_child(r->instance, &w);
   return !w.stopped;
}

struct check {
   char *why;
   size_t why_size;
   uint64_t deadline_ns;
   struct vs_renderer *r;
};

/* Where a restore finds an allocation's contents again: its region, kept
 * mapped (host-pointer memory), or a copy through the GPU (copied). The
 * test switch VENUS_SERVER_TEST_RESTORE=N:copy copies host-pointer memory
 * the guest has no blob of as if it were device-local: lavapipe has none. */
static bool
kept_in_place(const struct vs_device_memory *mem)
{
   return mem->shared_by == VS_MEMORY_HOST_POINTER && mem->map && !mem->mirror &&
          !(vs_test_faults.restore_copy && !mem->exported && !mem->imported);
}

/* Memory nothing but the host driver reaches (no blob of it, no import),
 * dedicated to no buffer: a buffer of the server's over all of it reads
 * it as the guest's buffers do (unless it is an image's alone), and each
 * image in it is copied apart. */
static bool
copied(const struct vs_device_memory *mem)
{
   if (kept_in_place(mem) || mem->mirror || mem->imported || mem->exported || (mem->dedicated && !mem->dedicated_image))
      return false;
   switch (mem->shared_by) {
   case VS_MEMORY_AUTO:
   case VS_MEMORY_DMABUF:
   case VS_MEMORY_OPAQUE_FD:
      return true;
   case VS_MEMORY_HOST_POINTER:
      return mem->map != NULL; /* the test switch's */
   default:
      return false;
   }
}

static const char *
memory_kind(const struct vs_device_memory *mem)
{
   if (mem->mirror)
      return "a display image's linear mirror";
   if (mem->dedicated)
      return "dedicated to a buffer";
   if (mem->shared_by == VS_MEMORY_AUTO)
      return "device-local";
   return vs_memory_strategy_name(mem->shared_by);
}

/* The live memory to copy an image (its contents last: it is no
 * transient attachment) is bound to; NULL if none. */
static const struct vs_device_memory *
copied_memory_of(struct vs_object_table *objects, const struct vs_image *image)
{
   const struct vs_object *m =
      image->memory_id ? vs_object_lookup(objects, image->memory_id, VK_OBJECT_TYPE_DEVICE_MEMORY) : NULL;
   const struct vs_device_memory *mem = m && m->state == VS_OBJECT_LIVE ? m->data : NULL;
   if (!mem || !copied(mem) || (image->usage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT))
      return NULL;
   return mem;
}

/* Whether an image in memory to copy can be copied through the GPU. */
static bool
check_image(struct check *c, unsigned long long id, const struct vs_image *image)
{
   if (image->sparse) {
      snprintf(c->why, c->why_size, "image %llu is sparse: its bindings are not journaled", id);
      return false;
   }
   if (!copied_memory_of(c->r->objects, image))
      return true;
   const VkImageUsageFlags transfer = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
   const char *whynot = NULL;
   char parts_why[96];
   if (c->r->layouts_lost || image->layouts.lost)
      whynot = "its layouts were not all followed (out of memory, or a render pass on views the server does not know)";
   else if (image->samples > VK_SAMPLE_COUNT_1_BIT)
      whynot = "it is multisampled";
   else if (image->from_modifier || image->optimal_for_linear)
      whynot = "it has a DRM format modifier";
   else if ((image->host_usage & transfer) != transfer)
      whynot = "its format cannot be copied";
   if (!whynot) {
      struct vs_image_part *parts;
      uint32_t count;
      VkDeviceSize total;
      if (vs_device_image_parts(image, &parts, &count, &total, parts_why, sizeof(parts_why)))
         free(parts);
      else
         whynot = parts_why;
   }
   if (!whynot)
      return true;
   snprintf(c->why, c->why_size, "image %llu lies in device-local memory %llu: it cannot be copied through the GPU: %s",
            id, (unsigned long long)image->memory_id, whynot);
   return false;
}

/* Whether every submission to the queue has finished on the host, waiting
 * until `deadline_ns` (os_now_ns) for the serial that covers them all
 * (renderer/sync/host_queue.h). No command runs meanwhile, so nothing is
 * submitted. */
static bool
queue_drained(struct vs_queue *q, uint64_t deadline_ns)
{
   VkResult result;
   vs_queue_lock(q);
   const uint64_t last = vs_queue_serial_for_idle_locked(q, &result);
   vs_queue_unlock(q);
   if (!q->serial_timeline || result != VK_SUCCESS)
      return false;
   const uint64_t now = os_now_ns();
   const VkSemaphoreWaitInfo wait = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
      .semaphoreCount = 1,
      .pSemaphores = &q->serial_timeline,
      .pValues = &last,
   };
   return q->dt->WaitSemaphores(q->device, &wait, deadline_ns > now ? deadline_ns - now : 0) == VK_SUCCESS;
}

static bool
check_object(struct vs_object *obj, void *data)
{
   struct check *c = data;
   const unsigned long long id = (unsigned long long)obj->id;
   switch (obj->type) {
   case VK_OBJECT_TYPE_DEVICE: {
      struct vs_device *dev = vs_device_from(obj);
      if (vs_device_marked_lost(obj)) {
         snprintf(c->why, c->why_size, "device %llu is lost", id);
         return false;
      }
      for (uint32_t i = 0; i < dev->queue_count; i++) {
         if (!queue_drained(&dev->queues[i], c->deadline_ns)) {
            snprintf(c->why, c->why_size, "queue %u of family %u of device %llu has work in flight",
                     dev->queues[i].index, dev->queues[i].family, id);
            return false;
         }
      }
      return true;
   }
   case VK_OBJECT_TYPE_DEVICE_MEMORY: {
      const struct vs_device_memory *mem = obj->data;
      char whynot[128];
      if (!mem) {
         snprintf(c->why, c->why_size, "memory %llu is unknown", id);
         return false;
      }
      /* Memory the guest freed, held for work long done, is not needed. */
      if (kept_in_place(mem) || obj->state != VS_OBJECT_LIVE)
         return true;
      if (copied(mem)) {
         if (mem->dedicated_image ||
             vs_device_copy_possible(vs_device_of(obj), mem->size, mem->type_index, whynot, sizeof(whynot)))
            return true;
         snprintf(c->why, c->why_size, "memory %llu (%llu bytes, type %u) cannot be copied through the GPU: %s", id,
                  (unsigned long long)mem->size, mem->type_index, whynot);
         return false;
      }
      snprintf(c->why, c->why_size, "memory %llu (%llu bytes, type %u) is %s: its contents cannot be read back yet",
               id, (unsigned long long)mem->size, mem->type_index, memory_kind(mem));
      return false;
   }
   case VK_OBJECT_TYPE_IMAGE: {
      const struct vs_image *image = obj->data;
      return obj->state != VS_OBJECT_LIVE || !image || check_image(c, id, image);
   }
   case VK_OBJECT_TYPE_BUFFER: {
      const struct vs_buffer *buffer = obj->data;
      if (obj->state == VS_OBJECT_LIVE && buffer && buffer->sparse) {
         snprintf(c->why, c->why_size, "buffer %llu is sparse: its bindings are not journaled", id);
         return false;
      }
      return true;
   }
   case VK_OBJECT_TYPE_QUERY_POOL:
      snprintf(c->why, c->why_size, "query pool %llu: its results cannot be read back yet", id);
      return false;
   default:
      return true;
   }
}

bool
vs_renderer_restore_check(struct vs_renderer *r, uint64_t deadline_ns, char *why, size_t why_size)
{
   struct check c = { why, why_size, deadline_ns, r };
   why[0] = '\0';
   return walk_objects(r, check_object, &c);
}

/* Whether the guest could tell the two GPUs apart by what it read of
 * them: the model, its driver, its memory types and heaps. */
static bool
same_model(const struct vs_instance *inst, VkPhysicalDevice a, VkPhysicalDevice b)
{
   VkPhysicalDeviceProperties pa, pb;
   VkPhysicalDeviceMemoryProperties ma, mb;
   inst->it.GetPhysicalDeviceProperties(a, &pa);
   inst->it.GetPhysicalDeviceProperties(b, &pb);
   inst->it.GetPhysicalDeviceMemoryProperties(a, &ma);
   inst->it.GetPhysicalDeviceMemoryProperties(b, &mb);
   if (pa.vendorID != pb.vendorID || pa.deviceID != pb.deviceID || pa.driverVersion != pb.driverVersion ||
       pa.apiVersion != pb.apiVersion || ma.memoryTypeCount != mb.memoryTypeCount ||
       ma.memoryHeapCount != mb.memoryHeapCount)
      return false;
   for (uint32_t i = 0; i < ma.memoryTypeCount; i++) {
      if (ma.memoryTypes[i].propertyFlags != mb.memoryTypes[i].propertyFlags ||
          ma.memoryTypes[i].heapIndex != mb.memoryTypes[i].heapIndex)
         return false;
   }
   for (uint32_t i = 0; i < ma.memoryHeapCount; i++) {
      if (ma.memoryHeaps[i].size != mb.memoryHeaps[i].size || ma.memoryHeaps[i].flags != mb.memoryHeaps[i].flags)
         return false;
   }
   return true;
}

int
vs_renderer_restore_next_gpu(struct vs_renderer *r, char *why, size_t why_size)
{
   const struct vs_instance *inst = r->instance ? vs_instance_from(r->instance) : NULL;
   if (!inst || inst->device_index < 0 || inst->physical_count != 1) {
      snprintf(why, why_size, "it %s", inst ? "sees every GPU of the host" : "has no instance");
      return -1;
   }
   uint32_t count = 0;
   VkPhysicalDevice host[16];
   if (inst->it.EnumeratePhysicalDevices(inst->host, &count, NULL) != VK_SUCCESS || count > 16 ||
       inst->it.EnumeratePhysicalDevices(inst->host, &count, host) != VK_SUCCESS)
      count = 0;
   const uint32_t own = (uint32_t)inst->device_index;
   for (uint32_t step = 1; own < count && step < count; step++) {
      const uint32_t next = (own + step) % count;
      if (same_model(inst, host[own], host[next]))
         return (int)next;
   }
   snprintf(why, why_size, "the host has no other GPU of its GPU %u's model", own);
   return -1;
}

static bool
grow(void **items, uint32_t *cap, uint32_t count, size_t item_size)
{
   if (count < *cap)
      return true;
   uint32_t n = *cap ? *cap * 2 : 64;
   void *p = realloc(*items, (size_t)n * item_size);
   if (!p)
      return false;
   *items = p;
   *cap = n;
   return true;
}

static void
take_region(struct vs_restore *s, struct vs_object *obj)
{
   struct vs_device_memory *mem = obj->data;
   if (!mem || !kept_in_place(mem))
      return;
   struct vs_kept_regions *kept = &s->regions;
   if (!grow((void **)&kept->items, &kept->cap, kept->count, sizeof(*kept->items))) {
      s->out_of_memory = true;
      return;
   }
   kept->items[kept->count++] = (struct vs_kept_region){
      .memory_id = obj->id,
      .fd = mem->fd,
      .map = mem->map,
      .map_size = mem->map_size,
      .granule = vs_device_of(obj)->mem.granule,
      .shared = mem->shared,
      .imported = mem->imported,
      .exported = mem->exported,
      .charged_fds = mem->charged_fds,
      .charged_mappings = mem->charged_mappings,
   };
}

/* Once all is recorded: the teardown's vkFreeMemory leaves the region be,
 * and gives back no charge for it; both are the restore's now. */
static bool
detach_region(struct vs_object *obj, void *data)
{
   struct vs_device_memory *mem = obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY ? obj->data : NULL;
   (void)data;
   if (!mem || !kept_in_place(mem) || obj->state == VS_OBJECT_GONE)
      return true;
   vs_shared_park(mem->shared);
   mem->shared = NULL;
   mem->map = NULL;
   mem->fd = -1;
   vs_memory_usage_give(mem->usage, mem->charged_fds, mem->charged_mappings);
   mem->charged_fds = 0;
   mem->charged_mappings = 0;
   return true;
}

/* A binary semaphore's signal not waited for yet: the host's (a finished
 * submission's, VS_OBJECT_SIGNAL_PENDING) or only the server's mark (a WSI
 * import, VS_OBJECT_CPU_SIGNALLED): its restore value is those flags. */
#define BINARY_SIGNALS (VS_OBJECT_SIGNAL_PENDING | VS_OBJECT_CPU_SIGNALLED)

static void
take_sync(struct vs_restore *s, struct vs_object *obj)
{
   if (obj->type != VK_OBJECT_TYPE_FENCE && obj->type != VK_OBJECT_TYPE_EVENT &&
       obj->type != VK_OBJECT_TYPE_SEMAPHORE)
      return;
   const struct vs_device *dev = vs_device_of(obj);
   uint64_t value = 0;
   if (obj->type == VK_OBJECT_TYPE_SEMAPHORE && !(obj->flags & VS_OBJECT_TIMELINE_SEMAPHORE)) {
      value = __atomic_load_n(&obj->flags, __ATOMIC_ACQUIRE) & BINARY_SIGNALS;
   } else if (obj->type == VK_OBJECT_TYPE_FENCE) {
      value = dev->dt.GetFenceStatus(dev->host, (VkFence)obj->handle) == VK_SUCCESS;
   } else if (obj->type == VK_OBJECT_TYPE_EVENT) {
      value = dev->dt.GetEventStatus(dev->host, (VkEvent)obj->handle) == VK_EVENT_SET;
   } else if (dev->dt.GetSemaphoreCounterValue(dev->host, (VkSemaphore)obj->handle, &value) != VK_SUCCESS) {
      value = 0;
   }
   if (!value)
      return; /* as the replay makes it, unless made signalled: see settle */
   if (!grow((void **)&s->syncs, &s->sync_cap, s->sync_count, sizeof(*s->syncs))) {
      s->out_of_memory = true;
      return;
   }
   s->syncs[s->sync_count++] = (struct vs_restore_sync){ obj->id, obj->type, value };
}

/* Charges `bytes` of host copies to the client's uid; false, with `why`,
 * when its share has no room for them. */
static bool
charge_copy(struct vs_restore *s, uint64_t bytes, char *why, size_t why_size)
{
   if (!s->ledger)
      return true;
   struct vs_ledger_answer answer;
   s->ledger->charge(s->ledger, VS_LEDGER_HOST_MEMORY, bytes, &answer);
   if (answer.granted) {
      s->charged += bytes;
      return true;
   }
   if (answer.limit)
      snprintf(why, why_size, "its copy of %llu more bytes in host memory does not fit: its uid's clients hold %llu of "
               "their %llu (limit memory-per-peer-mib=%llu)", (unsigned long long)bytes, (unsigned long long)answer.held,
               (unsigned long long)answer.limit, (unsigned long long)(answer.limit >> 20));
   else
      snprintf(why, why_size, "the server's ledger did not grant its copy of %llu bytes in host memory",
               (unsigned long long)bytes);
   return false;
}

/* A host region of at least `size` bytes, mapped: one the device can
 * import, so that the GPU copies straight into it. Its fd is kept (in
 * *fd) for a snapshot only; else -1, the mapping is what the copies use. */
static void *
host_copy_region(const struct vs_restore *s, struct vs_object *obj, VkDeviceSize size, size_t *map_size, int *fd)
{
   const size_t granule = vs_device_of(obj)->mem.granule;
   *map_size = size && size <= SIZE_MAX - granule ? (size_t)(size + granule - 1) / granule * granule : 0;
   *fd = -1;
   void *bytes = NULL;
   if (!*map_size || !vs_host_region_create(*map_size, *map_size, granule, fd, &bytes))
      return NULL;
   if (!s->keep_fds) {
      close(*fd);
      *fd = -1;
   }
   return bytes;
}

/* Device-local memory's contents, into a host region of their own. */
static void
copy_out(struct vs_restore *s, struct vs_object *obj, char *why, size_t why_size)
{
   const struct vs_device_memory *mem = obj->data;
   if (mem->dedicated_image)
      return; /* its image's copy is all it holds */
   const size_t granule = vs_device_of(obj)->mem.granule;
   size_t map_size = 0;
   void *bytes = NULL;
   int fd = -1;
   if (!charge_copy(s, mem->size, why, why_size))
      return;
   if (!grow((void **)&s->contents, &s->content_cap, s->content_count, sizeof(*s->contents)) ||
       !(bytes = host_copy_region(s, obj, mem->size, &map_size, &fd))) {
      s->out_of_memory = true;
      return;
   }
   const uint64_t start_ns = os_now_ns();
   const VkResult r = vs_device_copy(vs_device_of(obj), mem->host, mem->size, bytes, map_size, true);
   s->copy_ns += os_now_ns() - start_ns;
   if (r != VK_SUCCESS) {
      vs_host_region_destroy(fd, bytes, map_size, granule);
      snprintf(why, why_size, "copying memory %llu out through the GPU failed: %s", (unsigned long long)obj->id,
               vn_result_name(r));
      return;
   }
   s->contents[s->content_count++] = (struct vs_restore_contents){ obj->id, mem->size, bytes, map_size, granule, fd };
   s->content_bytes += mem->size;
}

struct take {
   struct vs_renderer *r;
   struct vs_restore *s;
   char *why;
   size_t why_size;
};

/* An image's layouts, and its contents where it lies in memory to copy. */
static void
take_image(struct take *t, struct vs_object *obj)
{
   struct vs_restore *s = t->s;
   const struct vs_image *image = obj->data;
   if (!image)
      return;
   if (!grow((void **)&s->images, &s->image_cap, s->image_count, sizeof(*s->images))) {
      s->out_of_memory = true;
      return;
   }
   struct vs_restore_image *e = &s->images[s->image_count++];
   *e = (struct vs_restore_image){ .id = obj->id, .granule = vs_device_of(obj)->mem.granule, .fd = -1 };
   if (!vs_image_layouts_copy(&e->layouts, image)) {
      s->out_of_memory = true;
      return;
   }
   e->each_count = e->layouts.each ? (uint32_t)vs_image_layouts_count(image) : 0;
   struct vs_image_part *parts = NULL;
   uint32_t part_count = 0;
   if (!copied_memory_of(t->r->objects, image) ||
       !vs_device_image_parts(image, &parts, &part_count, &e->total, t->why, t->why_size) || !part_count) {
      free(parts);
      e->total = 0;
      return;
   }
   VkMemoryRequirements req;
   vs_device_of(obj)->dt.GetImageMemoryRequirements(vs_device_of(obj)->host, (VkImage)obj->handle, &req);
   e->memory_id = image->memory_id;
   e->offset = image->memory_offset;
   e->size = req.size;
   if (!charge_copy(s, e->total, t->why, t->why_size)) {
      free(parts);
      return;
   }
   if (!(e->bytes = host_copy_region(s, obj, e->total, &e->map_size, &e->fd))) {
      free(parts);
      s->out_of_memory = true;
      return;
   }
   const uint64_t start_ns = os_now_ns();
   const VkResult r =
      vs_device_copy_image(vs_device_of(obj), (VkImage)obj->handle, image->layouts.family, parts, part_count, e->bytes,
                           e->map_size, true);
   s->copy_ns += os_now_ns() - start_ns;
   free(parts);
   if (r != VK_SUCCESS) {
      snprintf(t->why, t->why_size, "copying image %llu out through the GPU failed: %s", (unsigned long long)obj->id,
               vn_result_name(r));
      return;
   }
   s->images_copied++;
   s->content_bytes += e->total;
}

static bool
take_object(struct vs_object *obj, void *data)
{
   struct take *t = data;
   if (obj->state == VS_OBJECT_GONE)
      return true;
   if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY && obj->data && copied(obj->data)) {
      if (obj->state == VS_OBJECT_LIVE)
         copy_out(t->s, obj, t->why, t->why_size);
   }
   else if (obj->type == VK_OBJECT_TYPE_DEVICE_MEMORY)
      take_region(t->s, obj);
   else if (obj->type == VK_OBJECT_TYPE_IMAGE && obj->state == VS_OBJECT_LIVE)
      take_image(t, obj);
   else if (obj->state == VS_OBJECT_LIVE)
      take_sync(t->s, obj);
   if (t->s->out_of_memory)
      snprintf(t->why, t->why_size, "out of memory for its state");
   return !t->why[0];
}

bool
vs_renderer_restore_take(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size)
{
   struct take t = { r, s, why, why_size };
   why[0] = '\0';
   s->ledger = r->options.ledger;
   /* Recorded first: out of memory, every allocation still has its own. */
   if (!walk_objects(r, take_object, &t) || why[0]) {
      s->regions.count = 0;
      return false;
   }
   if (!s->borrow_regions)
      walk_objects(r, detach_region, NULL);
   return true;
}

/* A fence signalled with no work: an empty submission on a queue of its
 * device, waited for. */
static VkResult
signal_fence(struct vs_device *dev, VkFence fence)
{
   if (!dev->queue_count)
      return VK_ERROR_INITIALIZATION_FAILED;
   VkResult res = vs_queue_submit(&dev->queues[0], 0, NULL, fence);
   if (res == VK_SUCCESS)
      res = dev->dt.WaitForFences(dev->host, 1, &fence, VK_TRUE, 1000000000ull);
   return res;
}

static bool
fence_settle(struct vs_object *obj, void *data)
{
   /* A fence made signalled that was reset since is unsignalled again;
    * those signalled since are set by settle's list. */
   (void)data;
   if (obj->type != VK_OBJECT_TYPE_FENCE || obj->state != VS_OBJECT_LIVE)
      return true;
   struct vs_device *dev = vs_device_of(obj);
   VkFence fence = (VkFence)obj->handle;
   if (dev->dt.GetFenceStatus(dev->host, fence) == VK_SUCCESS)
      dev->dt.ResetFences(dev->host, 1, &fence);
   return true;
}

/* The test switch's memory is host memory, whose copy holds its images'
 * texels as the host driver lays them out, which a discrete GPU's tiling
 * and compression would not: they are cleared, so that only the images'
 * own copies can bring them back. */
static void
clear_images_for_test(struct vs_restore *s)
{
   for (uint32_t i = 0; vs_test_faults.restore_copy && i < s->image_count; i++) {
      const struct vs_restore_image *e = &s->images[i];
      for (uint32_t k = 0; e->total && k < s->content_count; k++) {
         const struct vs_restore_contents *c = &s->contents[k];
         if (c->memory_id == e->memory_id && e->offset < c->size)
            memset((uint8_t *)c->bytes + e->offset, 0, (size_t)(e->size < c->size - e->offset ? e->size : c->size - e->offset));
      }
   }
}

/* The replay's allocations get their contents back. */
static bool
copy_in(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size)
{
   clear_images_for_test(s);
   for (uint32_t i = 0; i < s->content_count; i++) {
      const struct vs_restore_contents *c = &s->contents[i];
      struct vs_object *obj = vs_object_lookup(r->objects, c->memory_id, VK_OBJECT_TYPE_DEVICE_MEMORY);
      const struct vs_device_memory *mem = obj ? obj->data : NULL;
      if (!mem || mem->size != c->size) {
         snprintf(why, why_size, "the replay did not make memory %llu of %llu bytes again",
                  (unsigned long long)c->memory_id, (unsigned long long)c->size);
         return false;
      }
      const uint64_t start_ns = os_now_ns();
      const VkResult res = vs_device_copy(vs_device_of(obj), mem->host, c->size, c->bytes, c->map_size, false);
      s->copy_ns += os_now_ns() - start_ns;
      if (res != VK_SUCCESS) {
         snprintf(why, why_size, "copying memory %llu back through the GPU failed: %s",
                  (unsigned long long)c->memory_id, vn_result_name(res));
         return false;
      }
   }
   return true;
}

/* An image's contents back, by the parts its layouts give it (the same
 * as at the take, unless the state was read from a bad snapshot). */
static bool
image_in(struct vs_restore *s, struct vs_object *obj, const struct vs_restore_image *e, char *why, size_t why_size)
{
   struct vs_image_part *parts = NULL;
   uint32_t count = 0;
   VkDeviceSize total = 0;
   char parts_why[96] = "";
   if (!vs_device_image_parts(obj->data, &parts, &count, &total, parts_why, sizeof(parts_why)) ||
       total != e->total || total > e->map_size) {
      free(parts);
      snprintf(why, why_size, "image %llu's copy does not fit the image the replay made%s%s", (unsigned long long)e->id,
               parts_why[0] ? ": " : "", parts_why);
      return false;
   }
   const uint64_t start_ns = os_now_ns();
   const VkResult res =
      vs_device_copy_image(vs_device_of(obj), (VkImage)obj->handle, e->layouts.family, parts, count, e->bytes,
                           e->map_size, false);
   s->copy_ns += os_now_ns() - start_ns;
   free(parts);
   if (res != VK_SUCCESS) {
      snprintf(why, why_size, "copying image %llu back through the GPU failed: %s", (unsigned long long)e->id,
               vn_result_name(res));
      return false;
   }
   return true;
}

/* The replay's images get their contents back, and the layouts they were
 * in: the guest's next barriers name those. */
static bool
images_in(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size)
{
   for (uint32_t i = 0; i < s->image_count; i++) {
      struct vs_restore_image *e = &s->images[i];
      struct vs_object *obj = vs_object_lookup(r->objects, e->id, VK_OBJECT_TYPE_IMAGE);
      struct vs_image *image = obj ? obj->data : NULL;
      if (!image) {
         snprintf(why, why_size, "the replay did not make image %llu again", (unsigned long long)e->id);
         return false;
      }
      if (!vs_image_layouts_fit(image, &e->layouts, e->each_count)) {
         snprintf(why, why_size, "image %llu's layouts do not fit the image the replay made", (unsigned long long)e->id);
         return false;
      }
      vs_image_layouts_fini(&image->layouts);
      image->layouts = e->layouts;
      e->layouts.each = NULL;
      if (e->total && !image_in(s, obj, e, why, why_size))
         return false;
   }
   return true;
}

bool
vs_renderer_restore_settle(struct vs_renderer *r, struct vs_restore *s, char *why, size_t why_size)
{
   if (!copy_in(r, s, why, why_size) || !images_in(r, s, why, why_size))
      return false;
   walk_objects(r, fence_settle, NULL);
   for (uint32_t i = 0; i < s->sync_count; i++) {
      const struct vs_restore_sync *sync = &s->syncs[i];
      struct vs_object *obj = vs_object_lookup(r->objects, sync->id, sync->type);
      if (!obj) {
         snprintf(why, why_size, "the replay did not make %s %llu again",
                  sync->type == VK_OBJECT_TYPE_FENCE ? "fence" : sync->type == VK_OBJECT_TYPE_EVENT ? "event" : "semaphore",
                  (unsigned long long)sync->id);
         return false;
      }
      struct vs_device *dev = vs_device_of(obj);
      VkResult res = VK_SUCCESS;
      if (sync->type == VK_OBJECT_TYPE_FENCE) {
         res = signal_fence(dev, (VkFence)obj->handle);
      } else if (sync->type == VK_OBJECT_TYPE_EVENT) {
         res = dev->dt.SetEvent(dev->host, (VkEvent)obj->handle);
      } else if (!(obj->flags & VS_OBJECT_TIMELINE_SEMAPHORE)) {
         /* The host's signal again by an empty submission; a mark as it was. */
         if (sync->value & VS_OBJECT_SIGNAL_PENDING)
            res = vs_sync_fd_signal(dev, (VkSemaphore)obj->handle);
         if (res == VK_SUCCESS)
            __atomic_fetch_or(&obj->flags, (uint32_t)(sync->value & BINARY_SIGNALS), __ATOMIC_ACQ_REL);
      } else {
         uint64_t now = 0;
         res = dev->dt.GetSemaphoreCounterValue(dev->host, (VkSemaphore)obj->handle, &now);
         if (res == VK_SUCCESS && now < sync->value) {
            const VkSemaphoreSignalInfo signal = {
               .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
               .semaphore = (VkSemaphore)obj->handle,
               .value = sync->value,
            };
            res = dev->dt.SignalSemaphore(dev->host, &signal);
         }
      }
      if (res != VK_SUCCESS) {
         snprintf(why, why_size, "setting object %llu as it was failed: %s", (unsigned long long)sync->id,
                  vn_result_name(res));
         return false;
      }
   }
   return true;
}

void
vs_restore_fini(struct vs_restore *s)
{
   if (s->borrow_regions)
      free(s->regions.items);
   else
      vs_kept_regions_fini(&s->regions);
   for (uint32_t i = 0; i < s->content_count; i++)
      vs_host_region_destroy(s->contents[i].fd, s->contents[i].bytes, s->contents[i].map_size, s->contents[i].granule);
   free(s->contents);
   for (uint32_t i = 0; i < s->image_count; i++) {
      struct vs_restore_image *e = &s->images[i];
      vs_image_layouts_fini(&e->layouts);
      if (e->bytes)
         vs_host_region_destroy(e->fd, e->bytes, e->map_size, e->granule);
      else if (e->fd >= 0)
         close(e->fd);
   }
   free(s->images);
   free(s->syncs);
   if (s->ledger && s->charged)
      s->ledger->give(s->ledger, VS_LEDGER_HOST_MEMORY, s->charged);
   *s = (struct vs_restore){ 0 };
}

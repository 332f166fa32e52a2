/* SPDX-License-Identifier: MIT */
/* A restore's state as a parcel (renderer/restore.h: vs_restore_write,
 * vs_restore_read). Pointers never cross: a region or host copy crosses
 * as its fd and is mapped again where it is read. */
#include "renderer/restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/parcel.h"
#include "renderer/memory/device_memory.h"
#include "renderer/objects.h"
#include "os/os.h"

/* The parcel's sections, in order; each item at least this many bytes. */
#define REGION_BYTES 40u
#define CONTENTS_BYTES 36u
#define IMAGE_BYTES 76u
#define SYNC_BYTES 20u
/* A region's or copy's granule: a power of two from the page up. */
#define GRANULE_MAX (1ull << 30)

bool
vs_restore_write(const struct vs_restore *s, struct vs_parcel *p, char *why, size_t why_size)
{
   vs_parcel_put_u32(p, s->regions.count);
   for (uint32_t i = 0; i < s->regions.count; i++) {
      const struct vs_kept_region *g = &s->regions.items[i];
      if (g->fd < 0) {
         snprintf(why, why_size, "memory %llu's shared memory has no fd to carry", (unsigned long long)g->memory_id);
         return false;
      }
      vs_parcel_put_u64(p, g->memory_id);
      vs_parcel_put_fd(p, g->fd);
      vs_parcel_put_u64(p, g->map_size);
      vs_parcel_put_u64(p, g->granule);
      vs_parcel_put_u32(p, g->imported | (uint32_t)g->exported << 1);
      vs_parcel_put_u32(p, g->charged_fds);
      vs_parcel_put_u32(p, g->charged_mappings);
   }
   vs_parcel_put_u32(p, s->content_count);
   for (uint32_t i = 0; i < s->content_count; i++) {
      const struct vs_restore_contents *c = &s->contents[i];
      vs_parcel_put_u64(p, c->memory_id);
      vs_parcel_put_u64(p, c->size);
      vs_parcel_put_fd(p, c->fd);
      vs_parcel_put_u64(p, c->map_size);
      vs_parcel_put_u64(p, c->granule);
   }
   vs_parcel_put_u32(p, s->image_count);
   for (uint32_t i = 0; i < s->image_count; i++) {
      const struct vs_restore_image *e = &s->images[i];
      vs_parcel_put_u64(p, e->id);
      vs_parcel_put_u64(p, e->memory_id);
      vs_parcel_put_u64(p, e->offset);
      vs_parcel_put_u64(p, e->size);
      vs_parcel_put_u32(p, (uint32_t)e->layouts.all);
      vs_parcel_put_u32(p, e->layouts.aspects);
      vs_parcel_put_u32(p, e->layouts.lost);
      vs_parcel_put_u32(p, e->layouts.family);
      vs_parcel_put_u32(p, e->layouts.each ? e->each_count : 0);
      if (e->layouts.each)
         vs_parcel_put(p, e->layouts.each, (size_t)e->each_count * sizeof(*e->layouts.each));
      vs_parcel_put_u64(p, e->total);
      vs_parcel_put_u64(p, e->map_size);
      vs_parcel_put_u64(p, e->granule);
      if (e->total)
         vs_parcel_put_fd(p, e->fd);
   }
   vs_parcel_put_u32(p, s->sync_count);
   for (uint32_t i = 0; i < s->sync_count; i++) {
      vs_parcel_put_u64(p, s->syncs[i].id);
      vs_parcel_put_u32(p, (uint32_t)s->syncs[i].type);
      vs_parcel_put_u64(p, s->syncs[i].value);
   }
   vs_parcel_put_u64(p, s->copy_ns);
   if (p->failed)
      snprintf(why, why_size, "out of memory or fds for its snapshot");
   return !p->failed;
}

/* What a read found wrong, the first thing only. */
struct reader {
   struct vs_parcel *p;
   char *why;
   size_t why_size;
};

static bool
bad(struct reader *rd, const char *what, unsigned long long id)
{
   if (!rd->why[0])
      snprintf(rd->why, rd->why_size, "its snapshot is bad: %s (object %llu)", what, id);
   return false;
}

/* A granule and a mapping's size in whole granules. */
static bool
sizes_ok(uint64_t map_size, uint64_t granule)
{
   return granule >= os_page_size() && granule <= GRANULE_MAX && !(granule & (granule - 1)) && map_size &&
          map_size % granule == 0 && map_size <= SIZE_MAX / 2;
}

/* Maps `fd` again, at least `need` bytes of it there (a copy is read
 * whole; a region's tail past its fd is never touched). */
static void *
map_again(struct reader *rd, int fd, uint64_t map_size, uint64_t granule, uint64_t need, size_t *fd_size,
          unsigned long long id)
{
   struct stat st;
   if (fd < 0)
      return bad(rd, "an fd is missing", id), NULL;
   if (!sizes_ok(map_size, granule))
      return bad(rd, "a mapping's size or granule", id), NULL;
   if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size < need || (uint64_t)st.st_size > map_size)
      return bad(rd, "an fd's size", id), NULL;
   void *map = os_map_guarded(fd, (size_t)map_size, (size_t)granule);
   if (!map)
      return bad(rd, "an fd cannot be mapped", id), NULL;
   *fd_size = (size_t)st.st_size;
   return map;
}

static bool
grow_to(void **items, uint32_t *cap, uint32_t count, size_t item_size)
{
   if (!count)
      return true;
   void *p = calloc(count, item_size);
   if (!p)
      return false;
   *items = p;
   *cap = count;
   return true;
}

static bool
read_regions(struct reader *rd, struct vs_restore *s)
{
   uint32_t n;
   if (!vs_parcel_take_count(rd->p, &n, REGION_BYTES) ||
       !grow_to((void **)&s->regions.items, &s->regions.cap, n, sizeof(*s->regions.items)))
      return bad(rd, "its memory regions", 0);
   for (uint32_t i = 0; i < n; i++) {
      uint64_t id = 0, map_size = 0, granule = 0;
      uint32_t flags = 0, fds = 0, mappings = 0;
      vs_parcel_take_u64(rd->p, &id);
      const int fd = vs_parcel_take_fd(rd->p);
      vs_parcel_take_u64(rd->p, &map_size);
      vs_parcel_take_u64(rd->p, &granule);
      vs_parcel_take_u32(rd->p, &flags);
      vs_parcel_take_u32(rd->p, &fds);
      vs_parcel_take_u32(rd->p, &mappings);
      size_t fd_size = 0;
      void *map = rd->p->failed ? NULL : map_again(rd, fd, map_size, granule, 1, &fd_size, id);
      if (!map) {
         if (fd >= 0)
            close(fd);
         return bad(rd, "a memory region", id);
      }
      /* What it held of the client's budget, at most what a region costs. */
      s->regions.items[s->regions.count++] = (struct vs_kept_region){
         .memory_id = id,
         .fd = fd,
         .map = map,
         .map_size = (size_t)map_size,
         .granule = (size_t)granule,
         .fd_size = fd_size,
         .imported = flags & 1,
         .exported = flags & 2,
         .charged_fds = fds ? 1 : 0,
         .charged_mappings = mappings < VS_GUARDED_MAPPINGS ? mappings : VS_GUARDED_MAPPINGS,
      };
   }
   return true;
}

static bool
read_contents(struct reader *rd, struct vs_restore *s)
{
   uint32_t n;
   if (!vs_parcel_take_count(rd->p, &n, CONTENTS_BYTES) ||
       !grow_to((void **)&s->contents, &s->content_cap, n, sizeof(*s->contents)))
      return bad(rd, "its memory copies", 0);
   for (uint32_t i = 0; i < n; i++) {
      struct vs_restore_contents c = { .fd = -1 };
      uint64_t map_size = 0, granule = 0;
      vs_parcel_take_u64(rd->p, &c.memory_id);
      vs_parcel_take_u64(rd->p, &c.size);
      c.fd = vs_parcel_take_fd(rd->p);
      vs_parcel_take_u64(rd->p, &map_size);
      vs_parcel_take_u64(rd->p, &granule);
      size_t fd_size = 0;
      if (!rd->p->failed && c.size && c.size <= map_size)
         c.bytes = map_again(rd, c.fd, map_size, granule, map_size, &fd_size, c.memory_id);
      if (!c.bytes) {
         if (c.fd >= 0)
            close(c.fd);
         return bad(rd, "a memory copy", c.memory_id);
      }
      c.map_size = (size_t)map_size;
      c.granule = (size_t)granule;
      s->contents[s->content_count++] = c;
      s->content_bytes += c.size;
   }
   return true;
}

static bool
read_image(struct reader *rd, struct vs_restore *s)
{
   struct vs_restore_image *e = &s->images[s->image_count];
   *e = (struct vs_restore_image){ .fd = -1 };
   uint32_t all = 0, aspects = 0, lost = 0, family = 0, each = 0;
   uint64_t map_size = 0, granule = 0;
   vs_parcel_take_u64(rd->p, &e->id);
   vs_parcel_take_u64(rd->p, &e->memory_id);
   vs_parcel_take_u64(rd->p, &e->offset);
   vs_parcel_take_u64(rd->p, &e->size);
   vs_parcel_take_u32(rd->p, &all);
   vs_parcel_take_u32(rd->p, &aspects);
   vs_parcel_take_u32(rd->p, &lost);
   vs_parcel_take_u32(rd->p, &family); /* a queue of it copies, where the device has one */
   if (!vs_parcel_take_count(rd->p, &each, sizeof(*e->layouts.each)) || (aspects != 1 && aspects != 2))
      return bad(rd, "an image's layouts", e->id);
   /* Layouts are values the guest could name in a barrier itself; their
    * count is checked against the replay's image (vs_image_layouts_fit). */
   e->layouts = (struct vs_image_layouts){
      .all = (VkImageLayout)all, .aspects = aspects, .lost = lost != 0, .family = family,
   };
   if (each) {
      if (!(e->layouts.each = malloc((size_t)each * sizeof(*e->layouts.each))))
         return bad(rd, "out of memory for an image's layouts", e->id);
      vs_parcel_take(rd->p, e->layouts.each, (size_t)each * sizeof(*e->layouts.each));
      e->each_count = each;
   }
   s->image_count++; /* its fini is the reader's now */
   vs_parcel_take_u64(rd->p, &e->total);
   vs_parcel_take_u64(rd->p, &map_size);
   vs_parcel_take_u64(rd->p, &granule);
   if (rd->p->failed)
      return bad(rd, "an image", e->id);
   if (!e->total)
      return true;
   e->fd = vs_parcel_take_fd(rd->p);
   size_t fd_size = 0;
   if (e->total > map_size || !(e->bytes = map_again(rd, e->fd, map_size, granule, map_size, &fd_size, e->id)))
      return bad(rd, "an image's copy", e->id);
   e->map_size = (size_t)map_size;
   e->granule = (size_t)granule;
   s->images_copied++;
   s->content_bytes += e->total;
   return true;
}

static bool
read_syncs(struct reader *rd, struct vs_restore *s)
{
   uint32_t n;
   if (!vs_parcel_take_count(rd->p, &n, SYNC_BYTES) || !grow_to((void **)&s->syncs, &s->sync_cap, n, sizeof(*s->syncs)))
      return bad(rd, "its sync objects", 0);
   for (uint32_t i = 0; i < n; i++) {
      struct vs_restore_sync *sync = &s->syncs[i];
      uint32_t type = 0;
      vs_parcel_take_u64(rd->p, &sync->id);
      vs_parcel_take_u32(rd->p, &type);
      vs_parcel_take_u64(rd->p, &sync->value);
      sync->type = (VkObjectType)type;
      /* A fence or event is set or not (a binary semaphore's marks are
       * cut to the signal marks where they are set again). */
      const bool ok = (type == VK_OBJECT_TYPE_FENCE || type == VK_OBJECT_TYPE_EVENT) ? sync->value == 1
                      : type == VK_OBJECT_TYPE_SEMAPHORE                          ? sync->value != 0
                                                                                 : false;
      if (rd->p->failed || !ok)
         return bad(rd, "a sync object's state", sync->id);
      s->sync_count++;
   }
   return true;
}

bool
vs_restore_read(struct vs_parcel *p, struct vs_restore *s, char *why, size_t why_size)
{
   struct reader rd = { p, why, why_size };
   *s = (struct vs_restore){ 0 };
   why[0] = '\0';
   bool ok = read_regions(&rd, s) && read_contents(&rd, s);
   uint32_t images = 0;
   if (ok && (!vs_parcel_take_count(p, &images, IMAGE_BYTES) ||
              !grow_to((void **)&s->images, &s->image_cap, images, sizeof(*s->images))))
      ok = bad(&rd, "its images", 0);
   for (uint32_t i = 0; ok && i < images; i++)
      ok = read_image(&rd, s);
   ok = ok && read_syncs(&rd, s) && vs_parcel_take_u64(p, &s->copy_ns);
   if (!ok) {
      bad(&rd, "it ends early", 0);
      vs_restore_fini(s);
   }
   return ok;
}

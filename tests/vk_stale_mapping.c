/* SPDX-License-Identifier: MIT */
/* Test client: a guest that keeps mappings of its memory past
 * vkFreeMemory sees only its own memory, whatever another client
 * allocates meanwhile.
 *
 *   vk_stale_mapping [--count N] [--size BYTES]
 *      Before any Vulkan call, forks a second client (the neighbour).
 *      This client allocates N (default 8) memories of BYTES (default
 *      1 MiB) in the host-visible coherent type that is also DEVICE_LOCAL
 *      if there is one (NVIDIA's BAR type, which the server lends through
 *      the host driver's own mapping), else in any host-visible coherent
 *      type; fills each with its own pattern, and maps each a second time
 *      from the file the guest driver mapped (the stale view, kept past
 *      the free: this executable's mmap sees the driver's). It frees them
 *      all; the neighbour then allocates 4N of the same size and type and
 *      fills them with its pattern; this client allocates N again and
 *      fills them with a second pattern of its own. Every stale view must
 *      show one of this client's allocations whole (the first pattern, or
 *      the second one's: the server gave the same memory back to the
 *      client that freed it), never the neighbour's bytes nor anything
 *      else. Prints how many views showed which.
 *
 * The mmap below is this client's own (not the server's os layer, which
 * sanitizer builds replace): it sees the guest driver's mappings.
 *
 * Mapping the fd again is what a hostile guest does; a well-behaved one
 * never touches memory it freed. Run through the server only: natively
 * the fds this captures are the host driver's. */
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_util.h"

#define MAX_COUNT 64

/* The guest driver's shared mappings of files at offset 0, recorded while
 * `capturing` (one vkMapMemory at a time, on this thread). */
static struct {
   bool capturing;
   void *addr;
   size_t len;
   int fd;
} seen = { .fd = -1 };

static void
record(void *map, size_t len, int flags, int fd, off64_t offset)
{
   if (!seen.capturing || map == MAP_FAILED || fd < 0 || offset != 0 || !(flags & MAP_SHARED))
      return;
   if (seen.fd >= 0)
      close(seen.fd);
   seen.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
   seen.addr = map;
   seen.len = len;
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
   void *map = (void *)syscall(SYS_mmap, (long)addr, (long)len, (long)prot, (long)flags, (long)fd, (long)offset);
   record(map, len, flags, fd, offset);
   return map;
}

void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t offset)
{
   void *map = (void *)syscall(SYS_mmap, (long)addr, (long)len, (long)prot, (long)flags, (long)fd, (long)offset);
   record(map, len, flags, fd, offset);
   return map;
}

static uint32_t
pattern(uint32_t owner, uint32_t alloc, uint32_t word)
{
   /* Distinct for every (owner, allocation): owner and allocation each
    * take bits of their own before the word is mixed in. */
   uint32_t x = (owner << 24) ^ (alloc << 12) ^ word;
   x ^= x >> 16;
   x *= 0x7feb352du;
   x ^= x >> 15;
   return x ^ 0x5eed1234u;
}

enum { OWNER_FIRST = 1, OWNER_SECOND = 2, OWNER_NEIGHBOUR = 3 };

static int
pick_type(const struct vkt *t)
{
   const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   int type = vkt_memory_type(t, ~0u, host | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
   return type >= 0 ? type : vkt_memory_type(t, ~0u, host);
}

/* Allocates, maps and fills `count` memories; with `views`, maps each
 * again from the captured file. */
static bool
fill(struct vkt *t, uint32_t type, VkDeviceSize size, uint32_t count, uint32_t owner, VkDeviceMemory *mems,
     uint32_t **views)
{
   for (uint32_t i = 0; i < count; i++) {
      const VkMemoryAllocateInfo info = {
         .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = type,
      };
      uint32_t *map;
      if (!vkt_check(t, vkAllocateMemory(t->device, &info, NULL, &mems[i]), "vkAllocateMemory"))
         return false;
      seen.capturing = true;
      VkResult r = vkMapMemory(t->device, mems[i], 0, VK_WHOLE_SIZE, 0, (void **)&map);
      seen.capturing = false;
      if (!vkt_check(t, r, "vkMapMemory"))
         return false;
      for (uint32_t w = 0; w < size / 4; w++)
         map[w] = pattern(owner, i, w);
      if (!views)
         continue;
      if (seen.fd < 0 || (uint8_t *)map < (uint8_t *)seen.addr || (uint8_t *)map + size > (uint8_t *)seen.addr + seen.len) {
         vkt_error(t, "memory %u: the guest driver's mapping of it was not seen", i);
         return false;
      }
      uint8_t *view = mmap(NULL, seen.len, PROT_READ, MAP_SHARED, seen.fd, 0);
      close(seen.fd);
      seen.fd = -1;
      if (view == MAP_FAILED) {
         vkt_error(t, "memory %u: mapping its file again failed", i);
         return false;
      }
      views[i] = (uint32_t *)(view + ((uint8_t *)map - (uint8_t *)seen.addr));
   }
   return true;
}

/* Which allocation a view shows whole: its owner (and *alloc), or 0.
 * With `report`, also prints every allocation whose pattern the view
 * starts with, and for how many words. */
static uint32_t
owner_of(const uint32_t *view, VkDeviceSize size, uint32_t count, uint32_t *alloc, bool report)
{
   static const uint32_t owners[] = { OWNER_FIRST, OWNER_SECOND, OWNER_NEIGHBOUR };
   const uint32_t words = (uint32_t)(size / 4);
   for (uint32_t o = 0; o < 3; o++) {
      for (uint32_t i = 0; i < (owners[o] == OWNER_NEIGHBOUR ? 4 * count : count); i++) {
         uint32_t w = 0;
         while (w < words && view[w] == pattern(owners[o], i, w))
            w++;
         if (w && report)
            printf("info:   it starts as allocation %u of owner %u for %u words of %u\n", i, owners[o], w, words);
         if (w == words && !report) {
            *alloc = i;
            return owners[o];
         }
      }
   }
   return 0;
}

static int
neighbour(int go, int done, uint32_t count, VkDeviceSize size)
{
   struct vkt t;
   char c;
   if (!vkt_init(&t, 1, NULL))
      return 1;
   int type = pick_type(&t);
   VkDeviceMemory *mems = calloc(4 * count, sizeof(*mems));
   bool ok = type >= 0 && mems && read(go, &c, 1) == 1 && fill(&t, (uint32_t)type, size, 4 * count, OWNER_NEIGHBOUR, mems, NULL);
   vkDeviceWaitIdle(t.device);
   ok = write(done, "d", 1) == 1 && ok;
   ok = read(go, &c, 1) >= 0 && ok; /* held until the client has looked */
   for (uint32_t i = 0; i < 4 * count && mems; i++) {
      if (mems[i])
         vkFreeMemory(t.device, mems[i], NULL);
   }
   free(mems);
   vkt_fini(&t);
   return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
   uint32_t count = 8;
   VkDeviceSize size = 1 << 20;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--count") && i + 1 < argc)
         count = (uint32_t)strtoul(argv[++i], NULL, 0);
      else if (!strcmp(argv[i], "--size") && i + 1 < argc)
         size = strtoull(argv[++i], NULL, 0);
      else {
         fprintf(stderr, "usage: vk_stale_mapping [--count N] [--size BYTES]\n");
         return 2;
      }
   }
   if (count == 0 || count > MAX_COUNT || size < 4096 || size % 4096) {
      fprintf(stderr, "vk_stale_mapping: --count 1..%u, --size a multiple of 4096\n", MAX_COUNT);
      return 2;
   }
   int go[2], done[2];
   if (pipe(go) || pipe(done))
      return 1;
   pid_t pid = fork();
   if (pid == 0) {
      close(go[1]);
      close(done[0]);
      _exit(neighbour(go[0], done[1], count, size));
   }
   close(go[0]);
   close(done[1]);

   struct vkt t;
   if (!vkt_init(&t, 1, NULL))
      return 1;
   int type = pick_type(&t);
   if (type < 0) {
      vkt_error(&t, "no host-visible coherent memory type");
      return 1;
   }
   VkMemoryPropertyFlags flags = t.mem_props.memoryTypes[type].propertyFlags;
   printf("info: memory type %d (%s%s)\n", type, flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT ? "DEVICE_LOCAL|" : "",
          "HOST_VISIBLE|HOST_COHERENT");
   VkDeviceMemory first[MAX_COUNT] = { 0 }, second[MAX_COUNT] = { 0 };
   uint32_t *views[MAX_COUNT] = { 0 };
   char c;
   bool ok = fill(&t, (uint32_t)type, size, count, OWNER_FIRST, first, views);
   for (uint32_t i = 0; i < count; i++) {
      if (first[i])
         vkFreeMemory(t.device, first[i], NULL);
   }
   /* A round trip: the frees have reached the server before the
    * neighbour allocates. */
   vkDeviceWaitIdle(t.device);
   ok = ok && write(go[1], "g", 1) == 1 && read(done[0], &c, 1) == 1;
   ok = ok && fill(&t, (uint32_t)type, size, count, OWNER_SECOND, second, NULL);
   vkDeviceWaitIdle(t.device);

   uint32_t kept = 0, reused = 0, foreign = 0;
   for (uint32_t i = 0; ok && i < count; i++) {
      uint32_t alloc = 0, owner = owner_of(views[i], size, count, &alloc, false);
      if (owner == OWNER_FIRST && alloc == i)
         kept++;
      else if (owner == OWNER_SECOND)
         reused++;
      else {
         foreign++;
         vkt_error(&t, "stale view %u shows %s (first words %08x %08x, last %08x)", i,
                   owner == OWNER_NEIGHBOUR ? "the other client's memory" : "memory that is none of this client's",
                   views[i][0], views[i][1], views[i][size / 4 - 1]);
         owner_of(views[i], size, count, &alloc, true);
      }
   }
   if (ok)
      printf("info: %u stale views: %u show the freed memory as it was, %u this client's next allocations, "
             "%u anything else\n", count, kept, reused, foreign);
   if (ok && !foreign)
      vkt_ok(&t, "a mapping kept past vkFreeMemory shows only this client's memory");
   if (write(go[1], "e", 1) != 1)
      ok = false;
   int status = 0;
   waitpid(pid, &status, 0);
   if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      vkt_error(&t, "the other client failed (status %d)", status);
   for (uint32_t i = 0; i < count; i++) {
      if (second[i])
         vkFreeMemory(t.device, second[i], NULL);
   }
   int failures = t.failures + !ok;
   vkt_fini(&t);
   printf("%s: %d error(s)\n", failures ? "FAILED" : "PASSED", failures);
   return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* wire/resource.c: blob resources under the caller's ids, reference
 * counted, in a hash index. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"
#include "unit.h"
#include "wire/resource.h"

static bool
fd_open(int fd)
{
   return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

TEST(resource_ids)
{
   struct vs_resource_table t;
   vs_resource_table_init(&t);
   CHECK(!vs_resource_contains(&t, 1)); /* an empty table */
   CHECK_NULL(vs_resource_get(&t, 1));
   CHECK(!vs_resource_remove(&t, 1));

   CHECK_NULL(vs_resource_create_shmem(&t, 0, 4096));
   CHECK_NULL(vs_resource_create_shmem(&t, 7, 0));
   struct vs_resource *r = vs_resource_create_shmem(&t, 7, 100);
   CHECK_NOT_NULL(r);
   CHECK_EQ(r->id, 7u);
   CHECK_EQ(r->size, (size_t)100);
   CHECK_EQ(r->map_size % os_page_size(), (size_t)0);
   CHECK_GE(r->map_size, (size_t)100);
   CHECK(r->is_shmem);
   CHECK_EQ(r->memory_id, 0u);
   CHECK(vs_resource_contains(&t, 7));
   CHECK_EQ(t.count, 1u);

   /* An id in use is refused, by both constructors. */
   CHECK_NULL(vs_resource_create_shmem(&t, 7, 100));
   int fd = dup(r->fd);
   CHECK_GE(fd, 0);
   CHECK_NULL(vs_resource_add(&t, 7, fd, NULL, 10, 0, false));
   CHECK_NULL(vs_resource_add(&t, 0, fd, NULL, 10, 0, false));
   /* A refused add leaves the fd to the caller. */
   CHECK(fd_open(fd));
   CHECK_EQ(t.count, 1u);

   /* An accepted one takes it: removing the resource closes it. */
   struct vs_resource *e = vs_resource_add(&t, UINT32_MAX, fd, NULL, 10, 0, false);
   CHECK_NOT_NULL(e);
   CHECK(!e->is_shmem);
   CHECK(vs_resource_contains(&t, UINT32_MAX));
   CHECK(vs_resource_remove(&t, UINT32_MAX));
   CHECK(!fd_open(fd));
   CHECK(!vs_resource_remove(&t, UINT32_MAX));

   /* Removed ids can be used again. */
   CHECK(vs_resource_remove(&t, 7));
   CHECK(!vs_resource_contains(&t, 7));
   CHECK_NOT_NULL(vs_resource_create_shmem(&t, 7, 50));
   /* An fd of -1 and no mapping (exported device memory). */
   CHECK_NOT_NULL(vs_resource_add(&t, 8, -1, NULL, 1 << 20, 0, false));
   CHECK_EQ(t.count, 2u);
   vs_resource_table_fini(&t);
}

TEST(resource_refcount)
{
   struct vs_resource_table t;
   vs_resource_table_init(&t);
   struct vs_resource *r = vs_resource_create_shmem(&t, 3, 8192);
   CHECK_NOT_NULL(r);
   CHECK_EQ(r->refcount, 1);
   int fd = r->fd;
   struct vs_resource *g1 = vs_resource_get(&t, 3);
   struct vs_resource *g2 = vs_resource_get(&t, 3);
   CHECK(g1 == r && g2 == r);
   CHECK_EQ(r->refcount, 3);
   vs_resource_put(&t, g2);
   CHECK_EQ(r->refcount, 2);

   /* Removed while referenced: gone from the table, still mapped. */
   CHECK(vs_resource_remove(&t, 3));
   CHECK(!vs_resource_contains(&t, 3));
   CHECK_NULL(vs_resource_get(&t, 3));
   CHECK_EQ(r->refcount, 1);
   CHECK(fd_open(fd));
   memset(r->map, 0x5a, r->size);
   CHECK_EQ(r->map[8191], 0x5a);
   /* The id is free for a new resource meanwhile. */
   struct vs_resource *n = vs_resource_create_shmem(&t, 3, 16);
   CHECK_NOT_NULL(n);
   CHECK(n != r);
   CHECK(vs_resource_get(&t, 3) == n);
   vs_resource_put(&t, n);
   /* The last put frees it (its fd is closed; its number may be reused
    * by the next open, so check before anything else opens one). */
   vs_resource_put(&t, g1);
   CHECK(!fd_open(fd));

   /* fini drops the table's references. */
   vs_resource_table_fini(&t);
}

TEST(resource_range_ok)
{
   struct vs_resource res = { .size = 100 };
   const struct {
      uint64_t offset, size;
      bool ok;
   } cases[] = {
      { 0, 100, true }, { 0, 0, true }, { 100, 0, true }, { 99, 1, true }, { 50, 50, true },
      { 0, 101, false }, { 101, 0, false }, { 50, 51, false }, { 100, 1, false },
      { UINT64_MAX, 0, false }, { UINT64_MAX, 2, false }, { 1, UINT64_MAX, false },
      /* offset + size wraps to a small value */
      { 2, UINT64_MAX - 1, false }, { 50, UINT64_MAX - 40, false },
      { UINT64_MAX - 10, 20, false },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      CHECK_MSG(vs_resource_range_ok(&res, cases[i].offset, cases[i].size) == cases[i].ok,
                "offset %llu size %llu", (unsigned long long)cases[i].offset,
                (unsigned long long)cases[i].size);
   }
   struct vs_resource empty = { .size = 0 };
   CHECK(vs_resource_range_ok(&empty, 0, 0));
   CHECK(!vs_resource_range_ok(&empty, 0, 1));
   CHECK(!vs_resource_range_ok(&empty, 1, 0));
}

TEST(resource_many_ids)
{
   struct vs_resource_table t;
   vs_resource_table_init(&t);
   const uint32_t n = 20000;
   /* Ids as a transport might pick them: scattered over 32 bits. */
   for (uint32_t i = 0; i < n; i++) {
      uint32_t id = (i + 1) * 2654435761u;
      CHECK_MSG(vs_resource_add(&t, id, -1, NULL, i, 0, false) != NULL, "id %u", id);
   }
   CHECK_EQ(t.count, n);
   CHECK_GE(t.bucket_count, n / 2);
   for (uint32_t i = 0; i < n; i++) {
      uint32_t id = (i + 1) * 2654435761u;
      struct vs_resource *r = vs_resource_get(&t, id);
      CHECK_NOT_NULL(r);
      CHECK_EQ(r->id, id);
      CHECK_EQ(r->size, (size_t)i);
      vs_resource_put(&t, r);
      CHECK_NULL(vs_resource_add(&t, id, -1, NULL, 0, 0, false));
   }
   for (uint32_t i = 0; i < n; i += 2)
      CHECK(vs_resource_remove(&t, (i + 1) * 2654435761u));
   CHECK_EQ(t.count, n / 2);
   for (uint32_t i = 0; i < n; i++)
      CHECK_EQ(vs_resource_contains(&t, (i + 1) * 2654435761u), i % 2 == 1);
   vs_resource_table_fini(&t);
}

TEST(resource_shmem_shared)
{
   struct vs_resource_table t;
   vs_resource_table_init(&t);
   size_t page = os_page_size();
   struct vs_resource *r = vs_resource_create_shmem(&t, 1, page + 1);
   CHECK_NOT_NULL(r);
   CHECK_EQ(r->map_size, 2 * page);
   /* Fresh shared memory is zero. */
   for (size_t i = 0; i < r->size; i++)
      CHECK_EQ(r->map[i], 0);
   /* What the server writes, a guest mapping the fd sees, and back. */
   uint8_t *m = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
   CHECK(m != MAP_FAILED);
   memcpy(r->map, "server", 6);
   r->map[page] = 0x77;
   CHECK(memcmp(m, "server", 6) == 0);
   CHECK_EQ(m[page], 0x77);
   memcpy(m + 100, "guest", 5);
   CHECK(memcmp(r->map + 100, "guest", 5) == 0);
   munmap(m, r->map_size);
   /* The fd is exactly the size asked for (a VMM's proxy checks it); the
    * mapping is whole pages. */
   CHECK_EQ((size_t)lseek(r->fd, 0, SEEK_END), r->size);
   CHECK(r->map_size >= r->size && r->map_size % page == 0);
   vs_resource_table_fini(&t);
}

UNIT_MAIN(UNIT(resource_ids), UNIT(resource_refcount), UNIT(resource_range_ok),
          UNIT(resource_many_ids), UNIT(resource_shmem_shared))

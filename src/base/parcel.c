/* SPDX-License-Identifier: MIT */
#include "base/parcel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/os.h"

/* On the socket: a header, the fds in batches (each a count, its fds
 * riding on it), then the bytes. The receiver reads each part at its
 * known length, so a batch's fds come with its own count. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* the socket's owner set SO_NOSIGPIPE (os_socket_prepare) */
#endif

#define PARCEL_MAGIC 0x56535043u /* "VSPC" */
#define PARCEL_VERSION 1u
#define FDS_PER_BATCH 32u

struct header {
   uint32_t magic, version;
   uint64_t size;
   uint32_t fd_count, reserved;
};

void
vs_parcel_put(struct vs_parcel *p, const void *data, size_t size)
{
   if (p->failed || !size)
      return;
   if (size > p->cap - p->size) {
      size_t cap = p->cap ? p->cap : 4096;
      while (cap - p->size < size && cap <= SIZE_MAX / 2)
         cap *= 2;
      uint8_t *grown = cap - p->size >= size ? realloc(p->bytes, cap) : NULL;
      if (!grown) {
         p->failed = true;
         return;
      }
      p->bytes = grown;
      p->cap = cap;
   }
   memcpy(p->bytes + p->size, data, size);
   p->size += size;
}

void
vs_parcel_put_u32(struct vs_parcel *p, uint32_t value)
{
   vs_parcel_put(p, &value, sizeof(value));
}

void
vs_parcel_put_u64(struct vs_parcel *p, uint64_t value)
{
   vs_parcel_put(p, &value, sizeof(value));
}

void
vs_parcel_put_fd(struct vs_parcel *p, int fd)
{
   if (p->failed)
      return;
   if (p->fd_count == p->fd_cap) {
      const uint32_t cap = p->fd_cap ? p->fd_cap * 2 : 16;
      int *grown = cap > p->fd_cap ? realloc(p->fds, cap * sizeof(*grown)) : NULL;
      if (!grown) {
         p->failed = true;
         return;
      }
      p->fds = grown;
      p->fd_cap = cap;
   }
   const int dup_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
   if (dup_fd < 0) {
      p->failed = true;
      return;
   }
   vs_parcel_put_u32(p, p->fd_count);
   p->fds[p->fd_count++] = dup_fd;
}

bool
vs_parcel_take(struct vs_parcel *p, void *data, size_t size)
{
   if (p->failed || size > p->size - p->at) {
      p->failed = true;
      return false;
   }
   memcpy(data, p->bytes + p->at, size);
   p->at += size;
   return true;
}

bool
vs_parcel_take_u32(struct vs_parcel *p, uint32_t *value)
{
   return vs_parcel_take(p, value, sizeof(*value));
}

bool
vs_parcel_take_u64(struct vs_parcel *p, uint64_t *value)
{
   return vs_parcel_take(p, value, sizeof(*value));
}

bool
vs_parcel_take_count(struct vs_parcel *p, uint32_t *count, size_t item_size)
{
   if (!vs_parcel_take_u32(p, count))
      return false;
   if (item_size && *count > (p->size - p->at) / item_size) {
      p->failed = true;
      return false;
   }
   return true;
}

int
vs_parcel_take_fd(struct vs_parcel *p)
{
   uint32_t index;
   if (!vs_parcel_take_u32(p, &index))
      return -1;
   if (index >= p->fd_count || p->fds[index] < 0) {
      p->failed = true;
      return -1;
   }
   const int fd = p->fds[index];
   p->fds[index] = -1;
   return fd;
}

void
vs_parcel_fini(struct vs_parcel *p)
{
   for (uint32_t i = 0; i < p->fd_count; i++) {
      if (p->fds[i] >= 0)
         close(p->fds[i]);
   }
   free(p->fds);
   free(p->bytes);
   *p = (struct vs_parcel){ 0 };
}

static int
send_all(int sock, const void *data, size_t size, const int *fds, uint32_t fd_count)
{
   const uint8_t *at = data;
   while (size) {
      /* A receiver gone is an error here, not the end of the process. */
      const ssize_t n = os_send_fds(sock, at, size, fds, fd_count, MSG_NOSIGNAL);
      if (n < 0)
         return -1;
      at += n;
      size -= (size_t)n;
      fd_count = 0; /* they rode on the first byte */
   }
   return 0;
}

int
vs_parcel_send(int sock, const struct vs_parcel *p)
{
   const struct header h = { PARCEL_MAGIC, PARCEL_VERSION, p->size, p->fd_count, 0 };
   if (p->failed) {
      errno = ENOMEM;
      return -1;
   }
   if (send_all(sock, &h, sizeof(h), NULL, 0) < 0)
      return -1;
   for (uint32_t sent = 0; sent < p->fd_count;) {
      const uint32_t n = p->fd_count - sent < FDS_PER_BATCH ? p->fd_count - sent : FDS_PER_BATCH;
      if (send_all(sock, &n, sizeof(n), p->fds + sent, n) < 0)
         return -1;
      sent += n;
   }
   return send_all(sock, p->bytes, p->size, NULL, 0);
}

/* Reads exactly `size` bytes; the fds that ride on them are appended to
 * p->fds, at most `max` in all. */
static int
recv_exact(int sock, void *data, size_t size, struct vs_parcel *p, uint32_t max, char *why, size_t why_size)
{
   uint8_t *at = data;
   while (size) {
      bool excess = false;
      unsigned got = p->fd_count;
      const ssize_t n = os_recv_fds(sock, at, size, p->fds, max, &got, &excess);
      p->fd_count = got;
      if (n <= 0) {
         snprintf(why, why_size, "%s", n == 0 ? "it ended early" : strerror(errno));
         return -1;
      }
      if (excess) {
         snprintf(why, why_size, "it carried more fds than it said");
         return -1;
      }
      at += n;
      size -= (size_t)n;
   }
   return 0;
}

int
vs_parcel_recv(int sock, struct vs_parcel *p, size_t max_bytes, uint32_t max_fds, char *why, size_t why_size)
{
   *p = (struct vs_parcel){ 0 };
   struct header h;
   if (recv_exact(sock, &h, sizeof(h), p, 0, why, why_size) < 0)
      return -1;
   if (h.magic != PARCEL_MAGIC || h.version != PARCEL_VERSION) {
      snprintf(why, why_size, "it is no parcel of version %u", PARCEL_VERSION);
      return -1;
   }
   if (h.size > max_bytes || h.fd_count > max_fds) {
      snprintf(why, why_size, "it is too big (%llu bytes and %u fds; at most %zu and %u)",
               (unsigned long long)h.size, h.fd_count, max_bytes, max_fds);
      return -1;
   }
   if (h.fd_count && !(p->fds = malloc(h.fd_count * sizeof(*p->fds)))) {
      snprintf(why, why_size, "out of memory");
      return -1;
   }
   p->fd_cap = h.fd_count;
   while (p->fd_count < h.fd_count) {
      uint32_t n;
      const uint32_t before = p->fd_count;
      if (recv_exact(sock, &n, sizeof(n), p, h.fd_count, why, why_size) < 0)
         goto fail;
      if (n == 0 || n > FDS_PER_BATCH || p->fd_count - before != n) {
         snprintf(why, why_size, "a batch of its fds did not match its count");
         goto fail;
      }
   }
   if (h.size && !(p->bytes = malloc(h.size))) {
      snprintf(why, why_size, "out of memory for %llu bytes", (unsigned long long)h.size);
      goto fail;
   }
   p->cap = p->size = h.size;
   if (recv_exact(sock, p->bytes, h.size, p, p->fd_count, why, why_size) < 0)
      goto fail;
   return 0;
fail:
   vs_parcel_fini(p);
   return -1;
}

int
vs_parcel_send_kept(int sock, const struct vs_parcel *p)
{
   if (p->failed || p->fd_count == UINT32_MAX) {
      errno = ENOMEM;
      return -1;
   }
   const int kept = os_shm_create("venus-parcel", p->size ? p->size : 1);
   if (kept < 0)
      return -1;
   for (size_t done = 0; done < p->size;) {
      const ssize_t n = pwrite(kept, p->bytes + done, p->size - done, (off_t)done);
      if (n <= 0 && errno != EINTR) {
         const int err = n < 0 ? errno : EIO;
         close(kept);
         errno = err;
         return -1;
      }
      done += n > 0 ? (size_t)n : 0;
   }
   os_shm_seal_size(kept);
   int *fds = malloc((p->fd_count + 1) * sizeof(*fds));
   if (!fds) {
      close(kept);
      errno = ENOMEM;
      return -1;
   }
   fds[0] = kept;
   if (p->fd_count)
      memcpy(fds + 1, p->fds, p->fd_count * sizeof(*fds));
   uint64_t size = p->size;
   /* The outer parcel borrows the fds: none is duplicated, none closed. */
   const struct vs_parcel outer = { .bytes = (uint8_t *)&size, .size = sizeof(size), .fds = fds,
                                    .fd_count = p->fd_count + 1 };
   const int rc = vs_parcel_send(sock, &outer);
   const int err = errno;
   free(fds);
   close(kept);
   errno = err;
   return rc;
}

int
vs_parcel_recv_kept(int sock, struct vs_parcel *p, size_t max_bytes, uint32_t max_fds, char *why, size_t why_size)
{
   struct vs_parcel outer;
   *p = (struct vs_parcel){ 0 };
   if (vs_parcel_recv(sock, &outer, sizeof(uint64_t), max_fds < UINT32_MAX ? max_fds + 1 : max_fds, why,
                      why_size) < 0)
      return -1;
   uint64_t size = 0;
   struct stat st;
   const int kept = outer.fd_count ? outer.fds[0] : -1;
   if (!vs_parcel_take_u64(&outer, &size) || kept < 0 || size > max_bytes || fstat(kept, &st) != 0 ||
       (uint64_t)st.st_size < size) {
      snprintf(why, why_size, "its kept bytes are missing or too many");
      vs_parcel_fini(&outer);
      return -1;
   }
   if (size && !(p->bytes = malloc(size))) {
      snprintf(why, why_size, "out of memory for %llu bytes", (unsigned long long)size);
      vs_parcel_fini(&outer);
      return -1;
   }
   p->size = p->cap = size;
   for (size_t done = 0; done < size;) {
      const ssize_t n = pread(kept, p->bytes + done, size - done, (off_t)done);
      if (n <= 0 && (n == 0 || errno != EINTR)) {
         snprintf(why, why_size, "reading its kept bytes failed: %s", n == 0 ? "they ended early" : strerror(errno));
         vs_parcel_fini(&outer);
         vs_parcel_fini(p);
         return -1;
      }
      done += n > 0 ? (size_t)n : 0;
   }
   /* The rest of the outer parcel's fds are the parcel's. */
   close(kept);
   outer.fds[0] = -1;
   p->fd_count = p->fd_cap = outer.fd_count - 1;
   if (p->fd_count && !(p->fds = malloc(p->fd_count * sizeof(*p->fds)))) {
      snprintf(why, why_size, "out of memory");
      vs_parcel_fini(&outer);
      vs_parcel_fini(p);
      return -1;
   }
   for (uint32_t i = 0; i < p->fd_count; i++) {
      p->fds[i] = outer.fds[i + 1];
      outer.fds[i + 1] = -1;
   }
   vs_parcel_fini(&outer);
   return 0;
}

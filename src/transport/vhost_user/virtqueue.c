/* SPDX-License-Identifier: MIT */
/* Split virtqueues in guest RAM (virtqueue.h). The ring's indices are read
 * with acquire and written with release ordering, as the driver on another
 * CPU reads and writes them; descriptors are copied before they are
 * checked, so a guest rewriting them cannot change what was checked. */
#include "transport/vhost_user/virtqueue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(struct vs_vq_desc) == 16, "descriptor layout");
_Static_assert(sizeof(struct vs_vq_used_elem) == 8, "used element layout");

void
vs_virtqueue_init(struct vs_virtqueue *vq)
{
   memset(vq, 0, sizeof(*vq));
   vq->kick_fd = vq->call_fd = vq->err_fd = -1;
}

void
vs_virtqueue_fini(struct vs_virtqueue *vq)
{
   if (vq->kick_fd >= 0)
      close(vq->kick_fd);
   if (vq->call_fd >= 0)
      close(vq->call_fd);
   if (vq->err_fd >= 0)
      close(vq->err_fd);
   vs_virtqueue_init(vq);
}

bool
vs_virtqueue_map(struct vs_virtqueue *vq, const struct vs_guest_memory *mem, char *why, size_t why_size)
{
   vq->mapped = false;
   if (!vq->size || !vq->addr_set) {
      snprintf(why, why_size, "the ring has no %s yet", vq->size ? "addresses" : "size");
      return false;
   }
   const uint64_t n = vq->size;
   /* virtio 1.x alignments: descriptors 16, avail 2, used 4 bytes; avail and
    * used carry their event words after the ring. */
   if (vq->desc_user % 16 || vq->avail_user % 2 || vq->used_user % 4) {
      snprintf(why, why_size, "ring addresses 0x%llx/0x%llx/0x%llx are misaligned",
               (unsigned long long)vq->desc_user, (unsigned long long)vq->avail_user,
               (unsigned long long)vq->used_user);
      return false;
   }
   void *desc = vs_guest_memory_uva(mem, vq->desc_user, 16 * n);
   void *avail = vs_guest_memory_uva(mem, vq->avail_user, 6 + 2 * n);
   void *used = vs_guest_memory_uva(mem, vq->used_user, 6 + 8 * n);
   if (!desc || !avail || !used) {
      snprintf(why, why_size, "the %s ring of %u entries at 0x%llx is outside guest RAM",
               !desc ? "descriptor" : !avail ? "available" : "used", vq->size,
               (unsigned long long)(!desc ? vq->desc_user : !avail ? vq->avail_user : vq->used_user));
      return false;
   }
   vq->desc = desc;
   vq->avail = avail;
   vq->used = used;
   vq->mapped = true;
   return true;
}

bool
vs_virtqueue_ready(const struct vs_virtqueue *vq)
{
   return vq->mapped && vq->started && vq->enabled && !vq->broken;
}

/* Appends one descriptor's buffer to the chain. */
static bool
add_buffer(struct vs_vq_chain *chain, const struct vs_guest_memory *mem, const struct vs_vq_desc *d,
           char *why, size_t why_size)
{
   const bool writable = d->flags & VS_VQ_DESC_F_WRITE;
   if (!writable && chain->writable) {
      snprintf(why, why_size, "a device-readable descriptor follows a device-writable one");
      return false;
   }
   if (d->len == 0)
      return true;
   unsigned count = chain->readable + chain->writable;
   const unsigned before = count;
   if (!vs_guest_memory_gpa_iov(mem, d->addr, d->len, chain->iov, &count, VS_VQ_IOV_MAX)) {
      snprintf(why, why_size, "a buffer of %u bytes at guest 0x%llx is outside guest RAM (or the chain has "
               "more than %u pieces)", d->len, (unsigned long long)d->addr, VS_VQ_IOV_MAX);
      return false;
   }
   if (writable) {
      chain->writable += count - before;
      chain->writable_len += d->len;
   } else {
      chain->readable += count - before;
      chain->readable_len += d->len;
   }
   return true;
}

static bool
walk_chain(struct vs_virtqueue *vq, const struct vs_guest_memory *mem, struct vs_vq_chain *chain, char *why,
           size_t why_size)
{
   const struct vs_vq_desc *table = vq->desc;
   uint32_t table_size = vq->size;
   uint32_t index = chain->head;
   uint32_t visited = 0;  /* in the current table: more than its size is a loop */
   uint32_t buffers = 0;  /* in the whole chain */
   bool indirect = false;
   for (;;) {
      if (index >= table_size) {
         snprintf(why, why_size, "descriptor %u is beyond a%s table of %u", index, indirect ? "n indirect" : "",
                  table_size);
         return false;
      }
      if (++visited > table_size) {
         snprintf(why, why_size, "the chain loops (more than %u descriptors)", table_size);
         return false;
      }
      struct vs_vq_desc d;
      memcpy(&d, (const void *)&table[index], sizeof(d));
      if (d.flags & VS_VQ_DESC_F_INDIRECT) {
         if (!vq->indirect || indirect || (d.flags & VS_VQ_DESC_F_NEXT)) {
            snprintf(why, why_size, "an indirect descriptor %s",
                     !vq->indirect ? "without the feature" : indirect ? "inside an indirect table"
                                                                   : "with a next descriptor");
            return false;
         }
         if (d.len == 0 || d.len % sizeof(struct vs_vq_desc) || d.len / sizeof(struct vs_vq_desc) > vq->size) {
            snprintf(why, why_size, "an indirect table of %u bytes (a multiple of 16, at most %u entries)", d.len,
                     vq->size);
            return false;
         }
         table = vs_guest_memory_gpa(mem, d.addr, d.len);
         if (!table || d.addr % 8) {
            snprintf(why, why_size, "an indirect table of %u bytes at guest 0x%llx is outside guest RAM", d.len,
                     (unsigned long long)d.addr);
            return false;
         }
         table_size = d.len / sizeof(struct vs_vq_desc);
         index = 0;
         visited = 0;
         indirect = true;
         continue;
      }
      if (++buffers > vq->size) {
         snprintf(why, why_size, "a chain longer than the queue's %u descriptors", vq->size);
         return false;
      }
      if (!add_buffer(chain, mem, &d, why, why_size))
         return false;
      if (!(d.flags & VS_VQ_DESC_F_NEXT))
         return true;
      index = d.next;
   }
}

enum vs_vq_pop_result
vs_virtqueue_pop(struct vs_virtqueue *vq, const struct vs_guest_memory *mem, struct vs_vq_chain *chain, char *why,
                 size_t why_size)
{
   if (!vs_virtqueue_ready(vq))
      return VS_VQ_EMPTY;
   const uint16_t avail_idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
   const uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
   if (pending == 0)
      return VS_VQ_EMPTY;
   if (pending > vq->size) {
      snprintf(why, why_size, "the available index moved %u entries ahead of a ring of %u", pending, vq->size);
      vq->broken = true;
      return VS_VQ_BROKEN;
   }
   const uint16_t head = __atomic_load_n(&vq->avail[2 + vq->last_avail % vq->size], __ATOMIC_RELAXED);
   vq->last_avail++;
   chain->head = head;
   chain->readable = chain->writable = 0;
   chain->readable_len = chain->writable_len = 0;
   if (!walk_chain(vq, mem, chain, why, why_size)) {
      chain->readable = chain->writable = 0;
      chain->readable_len = chain->writable_len = 0;
      return VS_VQ_BAD_CHAIN;
   }
   return VS_VQ_CHAIN;
}

void
vs_virtqueue_push(struct vs_virtqueue *vq, uint16_t head, uint32_t written)
{
   if (!vq->mapped)
      return;
   struct vs_vq_used_elem elem = { head, written };
   struct vs_vq_used_elem *ring = (struct vs_vq_used_elem *)(vq->used + 2);
   memcpy(&ring[vq->used_idx % vq->size], &elem, sizeof(elem));
   vq->used_idx++;
   __atomic_store_n(&vq->used[1], vq->used_idx, __ATOMIC_RELEASE);
}

void
vs_virtqueue_notify(struct vs_virtqueue *vq)
{
   if (vq->call_fd < 0 || !vq->mapped)
      return;
   __atomic_thread_fence(__ATOMIC_SEQ_CST);
   if (__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED) & VS_VQ_AVAIL_F_NO_INTERRUPT)
      return;
   const uint64_t one = 1;
   ssize_t n;
   do
      n = write(vq->call_fd, &one, sizeof(one));
   while (n < 0 && errno == EINTR);
   /* EAGAIN: the counter is saturated, the driver is notified anyway. */
}

static size_t
copy_iov(const struct iovec *iov, unsigned count, uint64_t offset, uint8_t *bytes, size_t len, bool out)
{
   size_t done = 0;
   for (unsigned i = 0; i < count && done < len; i++) {
      if (offset >= iov[i].iov_len) {
         offset -= iov[i].iov_len;
         continue;
      }
      size_t part = iov[i].iov_len - (size_t)offset;
      if (part > len - done)
         part = len - done;
      uint8_t *base = (uint8_t *)iov[i].iov_base + offset;
      if (out)
         memcpy(base, bytes + done, part);
      else
         memcpy(bytes + done, base, part);
      done += part;
      offset = 0;
   }
   return done;
}

size_t
vs_vq_chain_read(const struct vs_vq_chain *chain, uint64_t offset, void *dst, size_t len)
{
   return copy_iov(chain->iov, chain->readable, offset, dst, len, false);
}

size_t
vs_vq_chain_write(const struct vs_vq_chain *chain, uint64_t offset, const void *src, size_t len)
{
   return copy_iov(chain->iov + chain->readable, chain->writable, offset, (uint8_t *)src, len, true);
}

/* SPDX-License-Identifier: MIT */
#include "vhost_user_front_end.h"

#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"
#include "transport/vhost_user/vhost_user_message.h"
#include "transport/vhost_user/virtqueue.h"

bool
vu_fe_send(struct vu_front_end *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
           const int *fds, unsigned nfds)
{
   uint8_t buf[sizeof(struct vs_vu_header) + sizeof(union vs_vu_payload)];
   struct vs_vu_header h = { request, flags, size };
   memcpy(buf, &h, sizeof(h));
   if (size)
      memcpy(buf + sizeof(h), payload, size);
   if (os_send_fds(fe->sock, buf, sizeof(h) + size, fds, nfds, 0) != (ssize_t)(sizeof(h) + size))
      return false;
   return vs_vu_device_handle_message(fe->dev);
}

bool
vu_fe_reply(struct vu_front_end *fe, uint32_t request, void *payload, uint32_t size)
{
   struct vs_vu_header h;
   if (recv(fe->sock, &h, sizeof(h), MSG_WAITALL) != sizeof(h) || h.request != request ||
       h.flags != (VS_VU_VERSION | VS_VU_FLAG_REPLY) || h.size != size)
      return false;
   return recv(fe->sock, payload, size, MSG_WAITALL) == (ssize_t)size;
}

uint64_t
vu_fe_get_u64(struct vu_front_end *fe, uint32_t request)
{
   uint64_t v = ~0ull;
   if (!vu_fe_send(fe, request, VS_VU_VERSION, NULL, 0, NULL, 0) || !vu_fe_reply(fe, request, &v, sizeof(v)))
      return ~0ull;
   return v;
}

void
vu_fe_close(struct vu_front_end *fe)
{
   close(fe->sock);
   for (int q = 0; q < 2; q++)
      for (int i = 0; i < 2; i++) {
         close(fe->kick[q][i]);
         close(fe->call[q][i]);
      }
   if (fe->ram && fe->ram != MAP_FAILED)
      munmap(fe->ram, RAM_SIZE);
}

/* A kick or call fd of the kind the device takes (os_fd_is_event): [0]
 * the device's end, [1] the front end's (the same eventfd, duplicated, on
 * Linux; a pipe's ends elsewhere). */
static bool
event_pair(int fds[2])
{
   struct os_event ev;
   if (os_event_init(&ev) < 0)
      return false;
   fds[0] = ev.read_fd;
   fds[1] = ev.write_fd == ev.read_fd ? dup(ev.write_fd) : ev.write_fd;
   return fds[1] >= 0;
}

bool
vu_fe_open(struct vu_front_end *fe, int *device_sock)
{
   memset(fe, 0, sizeof(*fe));
   for (int q = 0; q < 2; q++)
      for (int i = 0; i < 2; i++)
         fe->kick[q][i] = fe->call[q][i] = -1;
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
      return false;
   fe->sock = sv[0];
   *device_sock = sv[1];
   for (int q = 0; q < 2; q++)
      if (!event_pair(fe->kick[q]) || !event_pair(fe->call[q]))
         return false;
   return true;
}

bool
vu_fe_handshake(struct vu_front_end *fe)
{
   const uint64_t features = vu_fe_get_u64(fe, VS_VU_GET_FEATURES);
   const uint64_t protocol = vu_fe_get_u64(fe, VS_VU_GET_PROTOCOL_FEATURES);
   if (!vu_fe_send(fe, VS_VU_SET_PROTOCOL_FEATURES, VS_VU_VERSION, &protocol, 8, NULL, 0) ||
       !vu_fe_send(fe, VS_VU_SET_OWNER, VS_VU_VERSION, NULL, 0, NULL, 0) ||
       !vu_fe_send(fe, VS_VU_SET_FEATURES, VS_VU_VERSION, &features, 8, NULL, 0))
      return false;
   int memfd = os_shm_create("guest-ram", RAM_SIZE);
   if (memfd < 0)
      return false;
   fe->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
   struct vs_vu_mem_table table = { .nregions = 1, .regions = { { 0, RAM_SIZE, RAM_USER, 0 } } };
   bool ok = vu_fe_send(fe, VS_VU_SET_MEM_TABLE, VS_VU_VERSION | VS_VU_FLAG_NEED_REPLY, &table, 8 + 32, &memfd, 1);
   close(memfd);
   uint64_t ack = 1;
   if (!ok || fe->ram == MAP_FAILED || !vu_fe_reply(fe, VS_VU_SET_MEM_TABLE, &ack, 8) || ack != 0)
      return false;
   for (uint32_t q = 0; q < 2; q++) {
      struct vs_vu_vring_state num = { q, QSIZE }, base = { q, 0 }, enable = { q, 1 };
      struct vs_vu_vring_addr addr = { q, 0, RAM_USER + DESC(q), RAM_USER + USED(q), RAM_USER + AVAIL(q), 0 };
      uint64_t index = q;
      if (!vu_fe_send(fe, VS_VU_SET_VRING_NUM, VS_VU_VERSION, &num, 8, NULL, 0) ||
          !vu_fe_send(fe, VS_VU_SET_VRING_BASE, VS_VU_VERSION, &base, 8, NULL, 0) ||
          !vu_fe_send(fe, VS_VU_SET_VRING_ADDR, VS_VU_VERSION, &addr, sizeof(addr), NULL, 0) ||
          !vu_fe_send(fe, VS_VU_SET_VRING_KICK, VS_VU_VERSION, &index, 8, &fe->kick[q][0], 1) ||
          !vu_fe_send(fe, VS_VU_SET_VRING_CALL, VS_VU_VERSION, &index, 8, &fe->call[q][1], 1) ||
          !vu_fe_send(fe, VS_VU_SET_VRING_ENABLE, VS_VU_VERSION, &enable, 8, NULL, 0))
         return false;
   }
   return true;
}

void
vu_put_desc(struct vu_front_end *fe, uint32_t table_gpa, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
            uint16_t next)
{
   struct vs_vq_desc d = { addr, len, flags, next };
   memcpy(fe->ram + table_gpa + i * sizeof(d), &d, sizeof(d));
}

void
vu_fe_offer(struct vu_front_end *fe, uint32_t q, uint16_t head)
{
   uint16_t *avail = (uint16_t *)(fe->ram + AVAIL(q));
   avail[2 + fe->avail_idx[q] % QSIZE] = head;
   avail[1] = ++fe->avail_idx[q];
}

bool
vu_fe_kick(struct vu_front_end *fe, uint32_t q)
{
   uint64_t one = 1;
   if (write(fe->kick[q][1], &one, sizeof(one)) != sizeof(one))
      return false;
   struct pollfd fds[4];
   unsigned n = vs_vu_device_pollfds(fe->dev, fds, 4);
   return poll(fds, n, 1000) > 0 && vs_vu_device_dispatch(fe->dev, fds, n);
}

bool
vu_fe_used(struct vu_front_end *fe, uint32_t q, uint32_t *id, uint32_t *len)
{
   const uint16_t *used = (const uint16_t *)(fe->ram + USED(q));
   if (used[1] == fe->used_seen[q])
      return false;
   struct vs_vq_used_elem e;
   memcpy(&e, fe->ram + USED(q) + 4 + (fe->used_seen[q] % QSIZE) * 8, sizeof(e));
   fe->used_seen[q]++;
   *id = e.id;
   *len = e.len;
   return true;
}

int64_t
vu_fe_run(struct vu_front_end *fe, uint32_t q, uint16_t head)
{
   uint16_t *used = (uint16_t *)(fe->ram + USED(q));
   const uint16_t used_before = used[1];
   vu_fe_offer(fe, q, head);
   if (!vu_fe_kick(fe, q) || used[1] == used_before)
      return -1;
   fe->used_seen[q] = used[1];
   struct vs_vq_used_elem e;
   memcpy(&e, fe->ram + USED(q) + 4 + ((uint16_t)(used[1] - 1) % QSIZE) * 8, sizeof(e));
   return e.id == head ? (int64_t)e.len : -1;
}

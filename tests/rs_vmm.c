/* SPDX-License-Identifier: MIT */
/* Plays the VMM side of the render-server protocol (what libvirglrenderer's
 * proxy does), without libvirglrenderer, against build/venus-server:
 *
 *   rs_vmm SERVER [--stream|--stream-be32] [--server-arg ARG]... SCENARIO
 *
 * It creates the socket pair (SEQPACKET; --stream: STREAM with the
 * {size, fd_count} header framing of the macOS fork; --stream-be32: STREAM
 * with upstream virglrenderer's big-endian length, fds on the header),
 * starts SERVER --socket-fd N and runs:
 *   work       3 contexts, each: INIT (fence table + eventfd), a shm blob
 *              (exact size, sealable), a device whose queue is bound to ring
 *              1..3, IMPORT_RESOURCE of a memfd allocated as Vulkan memory
 *              (VkImportMemoryResourceInfoMESA), a fill on the GPU, fences
 *              on ring 0 and the queue's ring (seqno table checked), the
 *              memfd read back; resource destruction; DESTROY_CONTEXT.
 *   hostile    one context per hostile message (printed as "hostile CTX
 *              what"); each must lose its socket while a sentinel context
 *              keeps answering.
 *   client-hostile  a client op of the wrong size: the server must exit.
 *   sigkill    work in flight, then SIGKILL the server: every socket ends.
 *   isolate    (with --server-arg --isolate --server-arg process) SIGKILLs
 *              the worker process of one context; the others keep computing.
 *   rounded    blobs as a virtio-gpu guest sends them (page-rounded): device
 *              memory of 1344 bytes as a 4096-byte blob (an SHM fd of
 *              exactly 4096 bytes, tail zeroed, private to that blob, also
 *              for the region a freed allocation left), ring-sized shared
 *              memory rounded the same way.
 *   vmchannel  (with --server-arg --display ... --vm-channel $RS_VMM_CHANNEL)
 *              also the VM's guest compositor: listens on $RS_VMM_CHANNEL as
 *              QEMU's virtio-serial chardev does, two SHAREABLE blobs of
 *              device memory (256x64 XRGB8888, LINEAR), frames numbered as
 *              tests/display/wl_frames draws them, ATTACH/COMMIT, RELEASE
 *              and FRAME awaited; hostile messages, each printed as
 *              "vmchannel hostile: what" (the connection must survive the
 *              first of a session and close at the second or at an
 *              unframeable size, and at a flood of ATTACHes or of HELLOs;
 *              the server connects again). With
 *              RS_VMM_CHANNEL_CONNECT=1 the server listens there
 *              (--vm-channel listen:PATH) and the guest connects, and
 *              connects again after each close.
 *   share      (with --server-arg --limit --server-arg clients=3 and
 *              memory-per-peer-mib=64) the VM's share: a 4th context is
 *              refused; 40 MiB of device memory in one context leave too
 *              little for 40 more in another; once the first context is
 *              destroyed its share is the others' again.
 *   worker     no server: SERVER is started as a spawned worker would be,
 *              with upstream's --worker-context-fd/-id/-init-flags/-name,
 *              and serves one context that computes on an imported memfd.
 * Prints "ok: ..." / "error: ..." lines and "PASSED" at the end. The Venus
 * commands are encoded here by hand (u32/u64 words, as Mesa encodes them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int errors;
static bool stream_mode;
static bool be32_mode; /* with stream_mode */

#define OK(...) (printf("ok: " __VA_ARGS__), printf("\n"))
#define ERR(...) (errors++, printf("error: " __VA_ARGS__), printf("\n"))

/* --- framing ------------------------------------------------------------- */

static int
send_msg(int fd, const void *buf, size_t size, const int *fds, int nfds)
{
   if (stream_mode && !be32_mode) {
      uint32_t hdr[2] = { (uint32_t)size, (uint32_t)nfds };
      if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != sizeof(hdr))
         return -1;
   }
   /* be32: the length goes first, big-endian, with the fds; then the payload. */
   const uint8_t be[4] = { (uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size };
   const bool split = stream_mode && be32_mode;
   char control[CMSG_SPACE(sizeof(int) * 16)];
   struct iovec iov = { split ? (void *)be : (void *)buf, split ? sizeof(be) : size };
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
   if (nfds) {
      memset(control, 0, sizeof(control));
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
   }
   if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
      return -1;
   return !split || send(fd, buf, size, MSG_NOSIGNAL) == (ssize_t)size ? 0 : -1;
}

/* Receives one reply of exactly `size` bytes; returns the fd count (fds
 * in *fd), or -1 on EOF/error/timeout. */
static int
recv_msg(int fd, void *buf, size_t size, int *fdp, int timeout_ms)
{
   struct pollfd p = { fd, POLLIN, 0 };
   if (poll(&p, 1, timeout_ms) != 1)
      return -1;
   if (stream_mode && !be32_mode) {
      uint32_t hdr[2];
      if (recv(fd, hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr) || hdr[0] != size)
         return -1;
   }
   uint8_t be[4];
   const bool split = stream_mode && be32_mode;
   char control[CMSG_SPACE(sizeof(int) * 8)];
   struct iovec iov = { split ? (void *)be : buf, split ? sizeof(be) : size };
   struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof(control) };
   /* be32: the fds arrive with the length. */
   ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (split ? MSG_WAITALL : 0));
   if (n != (ssize_t)iov.iov_len)
      return -1;
   if (split && (((uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3]) != size ||
                 recv(fd, buf, size, MSG_WAITALL) != (ssize_t)size))
      return -1;
   int count = 0;
   for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k; i++) {
         int f;
         memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
         if (count == 0 && fdp)
            *fdp = f;
         else
            close(f);
         count++;
      }
   }
   return count;
}

/* True once the peer has closed `fd` (EOF) within `ms`. */
static bool
closed_within(int fd, int ms)
{
   for (int waited = 0; waited < ms; waited += 10) {
      struct pollfd p = { fd, POLLIN, 0 };
      if (poll(&p, 1, 10) == 1) {
         char b[512];
         ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
         if (n == 0 || (n < 0 && errno != EAGAIN))
            return true;
      }
   }
   return false;
}

/* --- client and context ops ---------------------------------------------- */

static int server_fd;
static pid_t server_pid;

static int
create_context(uint32_t ctx_id, const char *name)
{
   struct {
      uint32_t op, ctx_id;
      char name[32];
   } req = { 3, ctx_id, { 0 } };
   snprintf(req.name, sizeof(req.name), "%s", name);
   if (send_msg(server_fd, &req, sizeof(req), NULL, 0))
      return -1;
   uint8_t ok = 0;
   int fd = -1;
   int n = recv_msg(server_fd, &ok, 1, &fd, 60000);
   if (n != 1 || ok != 1) {
      if (n > 0)
         close(fd);
      return -1;
   }
   int type = 0;
   socklen_t len = sizeof(type);
   getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
   if (type != (stream_mode ? SOCK_STREAM : SOCK_SEQPACKET)) {
      ERR("context socket of type %d", type);
      close(fd);
      return -1;
   }
   return fd;
}

struct ctx {
   uint32_t id;
   int fd;
   uint32_t *seqnos; /* 64 */
   int efd;
   uint32_t ring;
   uint32_t next_seqno[64];
   uint64_t next_obj;
   uint64_t instance, physical, device, queue, memory, buffer, pool, cmd;
};

static bool
ctx_init(struct ctx *c, bool eventfd_too)
{
   int shm = memfd_create("proxy-ctx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (shm < 0 || ftruncate(shm, 256) != 0)
      return false;
   fcntl(shm, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW);
   c->seqnos = mmap(NULL, 256, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
   memset(c->seqnos, 0xff, 256); /* the server must zero it */
   c->efd = eventfd_too ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
   struct {
      uint32_t op, flags;
      uint64_t shmem_size;
   } req = { 1, 4, 256 };
   int fds[2] = { shm, c->efd };
   int rc = send_msg(c->fd, &req, sizeof(req), fds, eventfd_too ? 2 : 1);
   close(shm);
   c->next_obj = 1;
   return rc == 0;
}

/* INIT with the given fence table and wakeup fds (the hostile cases). */
static bool
ctx_init_fds(struct ctx *c, int table, int wake)
{
   struct {
      uint32_t op, flags;
      uint64_t shmem_size;
   } req = { 1, 4, 256 };
   int fds[2] = { table, wake };
   c->efd = -1;
   c->next_obj = 1;
   return send_msg(c->fd, &req, sizeof(req), fds, wake >= 0 ? 2 : 1) == 0;
}

struct blob_reply {
   int32_t fd_type;
   uint32_t map_info;
   uint8_t device_uuid[16], driver_uuid[16];
   uint64_t allocation_size;
   uint32_t memory_type_index, pad;
};

/* CREATE_RESOURCE; returns the fd (or -1) and fills *reply. */
static int
create_resource(struct ctx *c, uint32_t res_id, uint64_t blob_id, uint64_t size, uint32_t flags,
                struct blob_reply *reply)
{
   struct {
      uint32_t op, res_id;
      uint64_t blob_id, blob_size;
      uint32_t blob_flags, pad;
   } req = { 2, res_id, blob_id, size, flags, 0xdeadbeef /* garbage padding */ };
   if (send_msg(c->fd, &req, sizeof(req), NULL, 0))
      return -1;
   int fd = -1;
   int n = recv_msg(c->fd, reply, sizeof(*reply), &fd, 60000);
   if (n < 0)
      return -1;
   if (n == 0 || reply->fd_type < 0) {
      if (n > 0)
         close(fd);
      return -1;
   }
   return fd;
}

/* --- Venus command encoding ---------------------------------------------- */

struct enc {
   uint32_t w[1024];
   size_t n; /* words */
};

static void u32(struct enc *e, uint32_t v) { e->w[e->n++] = v; }
static void u64(struct enc *e, uint64_t v) { u32(e, (uint32_t)v); u32(e, (uint32_t)(v >> 32)); }
static void f32(struct enc *e, float v) { uint32_t x; memcpy(&x, &v, 4); u32(e, x); }
static void cmd(struct enc *e, uint32_t type) { u32(e, type); u32(e, 0); }

static bool
submit(struct ctx *c, struct enc *e)
{
   struct {
      uint32_t op, size;
      uint8_t cmd[256];
   } req = { 5, (uint32_t)(e->n * 4), { 0 } };
   size_t bytes = e->n * 4;
   memcpy(req.cmd, e->w, bytes < 256 ? bytes : 256);
   if (send_msg(c->fd, &req, sizeof(req), NULL, 0))
      return false;
   if (bytes > 256 && send_msg(c->fd, (uint8_t *)e->w + 256, bytes - 256, NULL, 0))
      return false;
   e->n = 0;
   return true;
}

static bool
submit_fence(struct ctx *c, uint32_t ring, uint32_t *seqno)
{
   *seqno = ++c->next_seqno[ring];
   uint32_t req[4] = { 6, 1 /* MERGEABLE */, ring, *seqno };
   return send_msg(c->fd, req, sizeof(req), NULL, 0) == 0;
}

static bool
wait_seqno(struct ctx *c, uint32_t ring, uint32_t seqno, int ms)
{
   for (int waited = 0; waited <= ms; waited += 5) {
      uint32_t cur = __atomic_load_n(&c->seqnos[ring], __ATOMIC_ACQUIRE);
      if ((int32_t)(cur - seqno) >= 0)
         return true;
      if (c->efd >= 0) {
         struct pollfd p = { c->efd, POLLIN, 0 };
         poll(&p, 1, 5);
         uint64_t v;
         if (read(c->efd, &v, 8) < 0) {
         }
      } else {
         usleep(5000);
      }
   }
   return false;
}

/* Instance, physical device, device with one queue bound to c->ring. */
static bool
setup_device(struct ctx *c)
{
   struct enc e = { .n = 0 };
   c->instance = c->next_obj++;
   cmd(&e, 0); /* vkCreateInstance */
   u64(&e, 1);
   u32(&e, 1); u64(&e, 0); u32(&e, 0);              /* VkInstanceCreateInfo, flags */
   u64(&e, 1);                                       /* pApplicationInfo */
   u32(&e, 0); u64(&e, 0);                           /* VkApplicationInfo */
   u64(&e, 0); u32(&e, 1); u64(&e, 0); u32(&e, 1); u32(&e, (1u << 22) | (3u << 12));
   u32(&e, 0); u64(&e, 0); u32(&e, 0); u64(&e, 0);   /* layers, extensions */
   u64(&e, 0);                                       /* pAllocator */
   u64(&e, 1); u64(&e, c->instance);
   c->physical = c->next_obj++;
   cmd(&e, 2); /* vkEnumeratePhysicalDevices */
   u64(&e, c->instance); u64(&e, 1); u32(&e, 1); u64(&e, 1); u64(&e, c->physical);
   c->device = c->next_obj++;
   cmd(&e, 11); /* vkCreateDevice */
   u64(&e, c->physical); u64(&e, 1);
   u32(&e, 3); u64(&e, 0); u32(&e, 0);               /* VkDeviceCreateInfo */
   u32(&e, 1); u64(&e, 1);
   u32(&e, 2); u64(&e, 0); u32(&e, 0); u32(&e, 0); u32(&e, 1); u64(&e, 1); f32(&e, 1.0f);
   u32(&e, 0); u64(&e, 0); u32(&e, 0); u64(&e, 0); u64(&e, 0);
   u64(&e, 0); u64(&e, 1); u64(&e, c->device);
   c->queue = c->next_obj++;
   cmd(&e, 155); /* vkGetDeviceQueue2 + VkDeviceQueueTimelineInfoMESA */
   u64(&e, c->device); u64(&e, 1);
   u32(&e, 1000145003); u64(&e, 1); u32(&e, 1000384005); u64(&e, 0); u32(&e, c->ring);
   u32(&e, 0); u32(&e, 0); u32(&e, 0);
   u64(&e, 1); u64(&e, c->queue);
   c->pool = c->next_obj++;
   cmd(&e, 85); /* vkCreateCommandPool */
   u64(&e, c->device); u64(&e, 1); u32(&e, 39); u64(&e, 0); u32(&e, 2 /* RESET */); u32(&e, 0);
   u64(&e, 0); u64(&e, 1); u64(&e, c->pool);
   c->cmd = c->next_obj++;
   cmd(&e, 88); /* vkAllocateCommandBuffers */
   u64(&e, c->device); u64(&e, 1); u32(&e, 40); u64(&e, 0); u64(&e, c->pool); u32(&e, 0); u32(&e, 1);
   u64(&e, 1); u64(&e, c->cmd);
   return submit(c, &e);
}

/* Whether blobs must be sealable as libvirglrenderer's proxy seals them:
 * memfds only. A server built with -Dos=posix (the macOS code path) uses
 * POSIX shared memory, which has no seals ($RS_VMM_SEALS=0). */
static bool
expect_seals(void)
{
   const char *env = getenv("RS_VMM_SEALS");
   return !env || strcmp(env, "0") != 0;
}

/* The memory type to import resources with: one that can back host
 * memory. Type 0 on lavapipe; on other hosts the caller names it
 * ($RS_VMM_MEMORY_TYPE, e.g. from vulkaninfo), since this VMM reads no
 * replies. */
static uint32_t
memory_type(void)
{
   const char *env = getenv("RS_VMM_MEMORY_TYPE");
   return env ? (uint32_t)strtoul(env, NULL, 10) : 0;
}

/* Memory on resource `res_id` (allocationSize bytes), a buffer on it. */
static bool
import_memory(struct ctx *c, uint32_t res_id, uint64_t size)
{
   struct enc e = { .n = 0 };
   c->memory = c->next_obj++;
   cmd(&e, 21); /* vkAllocateMemory */
   u64(&e, c->device); u64(&e, 1);
   u32(&e, 5); u64(&e, 1); u32(&e, 1000384002); u64(&e, 0); u32(&e, res_id);
   u64(&e, size); u32(&e, memory_type());
   u64(&e, 0); u64(&e, 1); u64(&e, c->memory);
   c->buffer = c->next_obj++;
   cmd(&e, 50); /* vkCreateBuffer */
   u64(&e, c->device); u64(&e, 1);
   u32(&e, 12); u64(&e, 0); u32(&e, 0); u64(&e, size); u32(&e, 0x2 | 0x20); u32(&e, 0); u32(&e, 0); u64(&e, 0);
   u64(&e, 0); u64(&e, 1); u64(&e, c->buffer);
   cmd(&e, 28); /* vkBindBufferMemory */
   u64(&e, c->device); u64(&e, c->buffer); u64(&e, c->memory); u64(&e, 0);
   return submit(c, &e);
}

/* vkAllocateMemory of `size` bytes of the test's memory type; the id. */
static uint64_t
allocate_memory(struct ctx *c, uint64_t size)
{
   struct enc e = { .n = 0 };
   uint64_t mem = c->next_obj++;
   cmd(&e, 21);
   u64(&e, c->device); u64(&e, 1); u32(&e, 5); u64(&e, 0); u64(&e, size); u32(&e, memory_type());
   u64(&e, 0); u64(&e, 1); u64(&e, mem);
   return submit(c, &e) ? mem : 0;
}

static bool
free_memory(struct ctx *c, uint64_t mem)
{
   struct enc e = { .n = 0 };
   cmd(&e, 22); /* vkFreeMemory */
   u64(&e, c->device); u64(&e, mem); u64(&e, 0);
   return submit(c, &e);
}

/* Records and submits a fill of the buffer with `value`. */
static bool
fill(struct ctx *c, uint64_t size, uint32_t value)
{
   struct enc e = { .n = 0 };
   cmd(&e, 90); /* vkBeginCommandBuffer */
   u64(&e, c->cmd); u64(&e, 1); u32(&e, 42); u64(&e, 0); u32(&e, 1); u64(&e, 0);
   cmd(&e, 118); /* vkCmdFillBuffer */
   u64(&e, c->cmd); u64(&e, c->buffer); u64(&e, 0); u64(&e, size); u32(&e, value);
   cmd(&e, 91); /* vkEndCommandBuffer */
   u64(&e, c->cmd);
   cmd(&e, 18); /* vkQueueSubmit */
   u64(&e, c->queue); u32(&e, 1); u64(&e, 1);
   u32(&e, 4); u64(&e, 0); u32(&e, 0); u64(&e, 0); u64(&e, 0); u32(&e, 1); u64(&e, 1); u64(&e, c->cmd);
   u32(&e, 0); u64(&e, 0);
   u64(&e, 0);
   return submit(c, &e);
}

#define IMPORT_SIZE (256u * 1024u)

/* One full round on context c: returns true if the memfd read back right. */
static bool
compute_round(struct ctx *c, int memfd, uint32_t *map, uint32_t value, const char *label)
{
   memset(map, 0, IMPORT_SIZE);
   uint32_t s_ring, s0;
   if (!fill(c, IMPORT_SIZE, value) || !submit_fence(c, c->ring, &s_ring) || !submit_fence(c, 0, &s0)) {
      ERR("%s: ctx %u: sending the work failed", label, c->id);
      return false;
   }
   if (!wait_seqno(c, c->ring, s_ring, 60000)) {
      ERR("%s: ctx %u: ring %u never reached seqno %u (table has %u)", label, c->id, c->ring, s_ring,
          c->seqnos[c->ring]);
      return false;
   }
   if (!wait_seqno(c, 0, s0, 60000)) {
      ERR("%s: ctx %u: ring 0 never reached seqno %u", label, c->id, s0);
      return false;
   }
   for (uint32_t i = 0; i < IMPORT_SIZE / 4; i++) {
      if (map[i] != value) {
         ERR("%s: ctx %u: word %u of the imported memfd is 0x%x after the fence, want 0x%x", label, c->id, i,
             map[i], value);
         return false;
      }
   }
   return true;
}

/* --- the server ---------------------------------------------------------- */

static void
start_server(const char *bin, char **extra, int n_extra)
{
   int sv[2];
   if (socketpair(AF_UNIX, stream_mode ? SOCK_STREAM : SOCK_SEQPACKET, 0, sv) != 0) {
      perror("socketpair");
      exit(2);
   }
   fcntl(sv[0], F_SETFD, FD_CLOEXEC);
   server_pid = fork();
   if (server_pid == 0) {
      char fdstr[16];
      snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
      char *argv[32];
      int a = 0;
      argv[a++] = (char *)bin;
      argv[a++] = "--socket-fd";
      argv[a++] = fdstr;
      for (int i = 0; i < n_extra && a < 30; i++)
         argv[a++] = extra[i];
      argv[a] = NULL;
      setpgid(0, 0);
      execv(bin, argv);
      _exit(127);
   }
   close(sv[1]);
   server_fd = sv[0];
   uint32_t init[2] = { 1, 0x2e2 };
   send_msg(server_fd, init, sizeof(init), NULL, 0);
}

static int
server_exit_status(int ms)
{
   for (int waited = 0; waited < ms; waited += 10) {
      int status;
      if (waitpid(server_pid, &status, WNOHANG) == server_pid)
         return status;
      usleep(10000);
   }
   return -1;
}

static bool
open_ctx(struct ctx *c, uint32_t id, uint32_t ring, const char *name)
{
   memset(c, 0, sizeof(*c));
   c->id = id;
   c->ring = ring;
   c->fd = create_context(id, name);
   return c->fd >= 0 && ctx_init(c, id % 2 == 1);
}

static int
make_memfd(uint32_t **map)
{
   int fd = memfd_create("guest-scanout", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd < 0 || ftruncate(fd, IMPORT_SIZE) != 0)
      return -1;
   *map = mmap(NULL, IMPORT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   return *map == MAP_FAILED ? -1 : fd;
}

static bool
import_resource(struct ctx *c, uint32_t res_id, int fd, int32_t type, uint64_t size)
{
   struct {
      uint32_t op, res_id;
      int32_t fd_type;
      uint32_t pad;
      uint64_t size;
   } req = { 3, res_id, type, 0x55555555, size };
   return send_msg(c->fd, &req, sizeof(req), &fd, 1) == 0;
}

/* A context ready to compute: device, imported memfd as memory. */
static bool
ready_ctx(struct ctx *c, uint32_t id, uint32_t ring, int *memfd, uint32_t **map)
{
   char name[32];
   snprintf(name, sizeof(name), "vmm-ctx-%u", id);
   if (!open_ctx(c, id, ring, name)) {
      ERR("ctx %u: CREATE_CONTEXT/INIT failed", id);
      return false;
   }
   *memfd = make_memfd(map);
   if (*memfd < 0 || !setup_device(c) || !import_resource(c, 100 + id, *memfd, 2 /* SHM */, IMPORT_SIZE) ||
       !import_memory(c, 100 + id, IMPORT_SIZE)) {
      ERR("ctx %u: setting up the device failed", id);
      return false;
   }
   return true;
}

static void
scenario_work(void)
{
   struct ctx c[3];
   int memfd[3];
   uint32_t *map[3];
   for (int i = 0; i < 3; i++) {
      if (!ready_ctx(&c[i], 1 + i, 1 + i, &memfd[i], &map[i]))
         return;
   }
   OK("3 contexts created, each on its own %s socket", stream_mode ? "SOCK_STREAM" : "SOCK_SEQPACKET");
   for (int i = 0; i < 3; i++) {
      /* INIT is fire-and-forget: give the server a moment to run it. */
      bool zero = false;
      for (int waited = 0; waited < 60000 && !zero; waited += 10) {
         zero = true;
         for (int r = 0; r < 64; r++)
            zero &= __atomic_load_n(&c[i].seqnos[r], __ATOMIC_ACQUIRE) == 0;
         if (!zero)
            usleep(10000);
      }
      if (!zero)
         ERR("ctx %u: the fence table was not zeroed at INIT", c[i].id);
   }

   /* Blobs: exact size, sealable, SHM, truthful map info. */
   struct blob_reply reply;
   int fd = create_resource(&c[0], 1, 0, 131268, 1, &reply);
   struct stat st;
   if (fd < 0)
      ERR("CREATE_RESOURCE of 131268 bytes of shared memory failed");
   else if (reply.fd_type != 2 || reply.map_info != 1)
      ERR("shm blob: fd_type %d map_info %u (want SHM 2, CACHED 1)", reply.fd_type, reply.map_info);
   else if (fstat(fd, &st) != 0 || st.st_size != 131268)
      ERR("shm blob fd is %lld bytes, want exactly 131268", (long long)st.st_size);
   else if (expect_seals() && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) != 0)
      ERR("shm blob fd cannot be sealed: %s", strerror(errno));
   else if (fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE)
      ERR("shm blob fd is write-sealed");
   else
      OK("shm blob: SHM, CACHED, exactly 131268 bytes, sealable as the proxy seals it");
   if (fd >= 0)
      close(fd);

   /* Work on every context at once, several rings, read back. */
   for (int round = 0; round < 3; round++) {
      bool ok = true;
      for (int i = 0; i < 3; i++)
         ok &= compute_round(&c[i], memfd[i], map[i], 0x1000u * (uint32_t)(i + 1) + (uint32_t)round, "work");
      if (ok)
         OK("round %d: GPU fill of an imported memfd on rings 1, 2, 3 (+ ring 0), seqnos published, data read "
            "back", round);
   }

   /* A blob of device memory: exact size, SHM, vulkan_info filled. */
   const uint64_t mem2 = allocate_memory(&c[1], 65536 + 4096);
   fd = create_resource(&c[1], 7, mem2, 65536 + 4096, 1, &reply);
   if (fd < 0)
      ERR("CREATE_RESOURCE of device memory failed");
   else if (reply.fd_type != 2 || fstat(fd, &st) != 0 || st.st_size != 65536 + 4096 ||
            (expect_seals() && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) != 0))
      ERR("device-memory blob: fd_type %d, %lld bytes, want SHM of exactly %u, sealable", reply.fd_type,
          (long long)st.st_size, 65536 + 4096);
   else if (reply.allocation_size != 65536 + 4096 || reply.memory_type_index != memory_type())
      ERR("device-memory blob: vulkan_info allocation_size %llu type %u",
          (unsigned long long)reply.allocation_size, reply.memory_type_index);
   else
      OK("device-memory blob: SHM, exactly the allocation size, sealable, vulkan_info filled");
   if (fd >= 0)
      close(fd);

   /* Resource destruction: the imported resource and the blobs go away;
    * the memory made from the import still works (it holds its own map). */
   uint32_t destroy[2] = { 4, 101 };
   send_msg(c[0].fd, destroy, sizeof(destroy), NULL, 0);
   destroy[1] = 1;
   send_msg(c[0].fd, destroy, sizeof(destroy), NULL, 0);
   if (compute_round(&c[0], memfd[0], map[0], 0xabcd, "after DESTROY_RESOURCE"))
      OK("DESTROY_RESOURCE of the import: memory allocated on it keeps working");
   /* A long command: the SUBMIT_CMD continuation message. */
   struct enc e = { .n = 0 };
   for (int i = 0; i < 40; i++) {
      cmd(&e, 20); /* vkDeviceWaitIdle */
      u64(&e, c[2].device);
   }
   if (!submit(&c[2], &e) || !compute_round(&c[2], memfd[2], map[2], 0x7777, "after a 640-byte SUBMIT_CMD"))
      ERR("a 640-byte SUBMIT_CMD broke the context");
   else
      OK("640-byte SUBMIT_CMD (continuation message) ran");

   /* DESTROY_CONTEXT: its socket closes, others carry on. */
   uint32_t dc[2] = { 4, c[1].id };
   send_msg(server_fd, dc, sizeof(dc), NULL, 0);
   if (!closed_within(c[1].fd, 10000))
      ERR("DESTROY_CONTEXT did not close the context socket");
   else if (!compute_round(&c[0], memfd[0], map[0], 0x4242, "after DESTROY_CONTEXT"))
      ERR("another context broke after DESTROY_CONTEXT");
   else
      OK("DESTROY_CONTEXT closed that context; the others keep computing");
   for (int i = 0; i < 3; i++)
      close(c[i].fd);
}

/* vkAllocateMemory of `size` bytes on c's device; whether it was granted,
 * read from whether a blob of it can be made (resource `res_id`): a blob
 * of refused memory ends the context. */
static bool
allocation_granted(struct ctx *c, uint32_t res_id, uint64_t size)
{
   const uint64_t mem = allocate_memory(c, size);
   if (!mem)
      return false;
   struct blob_reply reply;
   int fd = create_resource(c, res_id, mem, size, 1, &reply);
   if (fd < 0)
      return false;
   close(fd);
   return true;
}

static void
scenario_share(void)
{
   const uint64_t size = 40u << 20;
   struct ctx c[3];
   for (int i = 0; i < 3; i++) {
      if (!open_ctx(&c[i], 1 + i, 1 + i, "vmm-share") || !setup_device(&c[i])) {
         ERR("ctx %d: CREATE_CONTEXT/INIT or its device failed", 1 + i);
         return;
      }
   }
   int fd = create_context(4, "vmm-one-too-many");
   if (fd >= 0) {
      ERR("a 4th context was created past clients=3");
      close(fd);
   } else {
      OK("a 4th context is refused (clients=3); 3 serve");
   }
   if (!allocation_granted(&c[0], 10, size))
      ERR("ctx 1: 40 MiB of device memory refused with the VM's 64 MiB free");
   else if (allocation_granted(&c[1], 11, size))
      ERR("ctx 2: 40 MiB granted on top of ctx 1's 40 MiB past the VM's 64 MiB");
   else
      OK("ctx 1 holds 40 MiB of the VM's 64 MiB; ctx 2's 40 MiB more are refused");
   uint32_t dc[2] = { 4, c[0].id };
   send_msg(server_fd, dc, sizeof(dc), NULL, 0);
   if (!closed_within(c[0].fd, 10000))
      ERR("DESTROY_CONTEXT did not close ctx 1's socket");
   /* Its account closes as its worker ends, when its socket did; a
    * refused blob costs the context, so there is one try. */
   sleep(2);
   if (allocation_granted(&c[2], 20, size))
      OK("ctx 1 destroyed: ctx 3 gets 40 MiB of the share it gave back");
   else
      ERR("ctx 3 never got 40 MiB after ctx 1 was destroyed");
   for (int i = 0; i < 3; i++)
      close(c[i].fd);
}

/* A virtio-gpu guest's kernel rounds blob sizes up to pages: 1344 bytes
 * of memory arrive as a 4096-byte CREATE_RESOURCE. The proxy wants an SHM
 * fd of exactly the blob size; the guest maps all of it. */
#define ROUNDED_ALLOC 1344u
#define ROUNDED_BLOB 4096u

/* CREATE_RESOURCE of `mem` at the rounded size; the mapping (or NULL). */
static uint8_t *
rounded_blob(struct ctx *c, uint32_t res_id, uint64_t mem, const char *label)
{
   struct blob_reply reply;
   struct stat st;
   int fd = create_resource(c, res_id, mem, ROUNDED_BLOB, 1, &reply);
   if (fd < 0) {
      ERR("%s: CREATE_RESOURCE of %u bytes for %u bytes of memory was refused", label, ROUNDED_BLOB,
          ROUNDED_ALLOC);
      return NULL;
   }
   uint8_t *map = NULL;
   if (reply.fd_type != 2 || fstat(fd, &st) != 0 || st.st_size != ROUNDED_BLOB)
      ERR("%s: fd_type %d, fd of %lld bytes, want SHM of exactly %u", label, reply.fd_type,
          (long long)st.st_size, ROUNDED_BLOB);
   else if (expect_seals() && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) != 0)
      ERR("%s: the blob fd cannot be sealed: %s", label, strerror(errno));
   else if (reply.allocation_size != ROUNDED_ALLOC)
      ERR("%s: vulkan_info allocation_size %llu, want %u", label, (unsigned long long)reply.allocation_size,
          ROUNDED_ALLOC);
   else if ((map = mmap(NULL, ROUNDED_BLOB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
      map = NULL, ERR("%s: the blob cannot be mapped at %u bytes", label, ROUNDED_BLOB);
   close(fd);
   return map;
}

static bool
tail_is_zero(const uint8_t *map)
{
   for (uint32_t i = ROUNDED_ALLOC; i < ROUNDED_BLOB; i++) {
      if (map[i])
         return false;
   }
   return true;
}

static void
scenario_rounded(void)
{
   struct ctx c;
   if (!open_ctx(&c, 1, 1, "vmm-rounded") || !setup_device(&c)) {
      ERR("rounded: setting up the context failed");
      return;
   }
   uint64_t a = allocate_memory(&c, ROUNDED_ALLOC), b = allocate_memory(&c, ROUNDED_ALLOC);
   uint8_t *ma = a ? rounded_blob(&c, 1, a, "memory A") : NULL;
   uint8_t *mb = b ? rounded_blob(&c, 2, b, "memory B") : NULL;
   if (!ma || !mb)
      return;
   OK("device memory of %u bytes as a %u-byte blob: SHM of exactly %u bytes, sealable, allocation_size %u",
      ROUNDED_ALLOC, ROUNDED_BLOB, ROUNDED_BLOB, ROUNDED_ALLOC);
   if (tail_is_zero(ma) && tail_is_zero(mb))
      OK("the tail past the allocation reads as zeros");
   else
      ERR("the tail past the allocation is not zeroed");
   memset(ma, 0xa5, ROUNDED_BLOB);
   bool b_clean = true;
   for (uint32_t i = 0; i < ROUNDED_BLOB; i++)
      b_clean &= mb[i] == 0;
   if (b_clean)
      OK("writing all of blob A (tail included) leaves blob B untouched");
   else
      ERR("writing blob A's tail changed blob B: the tail is another object's memory");

   /* A freed allocation's region may be reused: the new blob's tail must
    * not show what the old one left there. */
   munmap(ma, ROUNDED_BLOB);
   uint32_t destroy[2] = { 4, 1 };
   send_msg(c.fd, destroy, sizeof(destroy), NULL, 0);
   free_memory(&c, a);
   uint64_t a2 = allocate_memory(&c, ROUNDED_ALLOC);
   uint8_t *ma2 = a2 ? rounded_blob(&c, 3, a2, "memory A again") : NULL;
   if (ma2 && tail_is_zero(ma2))
      OK("a new allocation after a free: its blob's tail is zeroed again");
   else if (ma2)
      ERR("a new allocation after a free: its blob's tail shows the old allocation's bytes");

   /* Shared memory (rings, reply streams) arrives rounded too. */
   struct blob_reply reply;
   struct stat st;
   int fd = create_resource(&c, 4, 0, 135168, 1, &reply);
   if (fd >= 0 && reply.fd_type == 2 && fstat(fd, &st) == 0 && st.st_size == 135168)
      OK("a ring's 131268 bytes as a 135168-byte shared-memory blob: exactly 135168 bytes");
   else
      ERR("a 135168-byte shared-memory blob failed");
   if (fd >= 0)
      close(fd);
   /* The context still works. */
   uint32_t s0;
   if (submit_fence(&c, 0, &s0) && wait_seqno(&c, 0, s0, 60000))
      OK("the context still answers fences");
   else
      ERR("the context died after the rounded blobs");
   close(c.fd);
}

static void
scenario_hostile(void)
{
   struct ctx sentinel;
   int sfd;
   uint32_t *smap;
   if (!ready_ctx(&sentinel, 1, 1, &sfd, &smap))
      return;
   uint32_t id = 10;
   const char *cases[] = { "wrong-size", "unknown-op", "init-missing-fd", "import-bad-fd", "nine-fds",
                           "reused-res-id", "unbound-ring", "bad-venus-stream", "op-before-init",
                           "truncated-continuation", "blob-past-granule", "fence-table-file",
                           "eventfd-full-pipe" };
   for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++, id++) {
      struct ctx c;
      memset(&c, 0, sizeof(c));
      c.id = id;
      c.fd = create_context(id, cases[k]);
      if (c.fd < 0) {
         ERR("hostile %s: CREATE_CONTEXT failed", cases[k]);
         continue;
      }
      const char *w = cases[k];
      bool need_init = strcmp(w, "init-missing-fd") && strcmp(w, "op-before-init") &&
                       strcmp(w, "fence-table-file") && strcmp(w, "eventfd-full-pipe");
      if (need_init && !ctx_init(&c, true)) {
         ERR("hostile %s: INIT failed", w);
         continue;
      }
      struct blob_reply reply;
      if (!strcmp(w, "wrong-size")) {
         uint32_t req[3] = { 6, 0, 0 };
         send_msg(c.fd, req, sizeof(req), NULL, 0);
      } else if (!strcmp(w, "unknown-op")) {
         uint32_t req[4] = { 99, 0, 0, 0 };
         send_msg(c.fd, req, sizeof(req), NULL, 0);
      } else if (!strcmp(w, "init-missing-fd")) {
         struct {
            uint32_t op, flags;
            uint64_t size;
         } req = { 1, 4, 256 };
         send_msg(c.fd, &req, sizeof(req), NULL, 0);
      } else if (!strcmp(w, "import-bad-fd")) {
         int efd = eventfd(0, EFD_CLOEXEC);
         import_resource(&c, 5, efd, 2, 4096);
         close(efd);
      } else if (!strcmp(w, "nine-fds")) {
         int fds[9];
         for (int i = 0; i < 9; i++)
            fds[i] = eventfd(0, EFD_CLOEXEC);
         uint32_t nop = 0;
         send_msg(c.fd, &nop, sizeof(nop), fds, 9);
         for (int i = 0; i < 9; i++)
            close(fds[i]);
      } else if (!strcmp(w, "reused-res-id")) {
         int f = create_resource(&c, 3, 0, 4096, 1, &reply);
         if (f >= 0)
            close(f);
         f = create_resource(&c, 3, 0, 4096, 1, &reply);
         if (f >= 0) {
            ERR("hostile %s: a reused resource id got a blob", w);
            close(f);
         }
      } else if (!strcmp(w, "unbound-ring")) {
         uint32_t s;
         submit_fence(&c, 9, &s);
      } else if (!strcmp(w, "bad-venus-stream")) {
         struct enc e = { .n = 0 };
         cmd(&e, 0x7fff);
         submit(&c, &e);
      } else if (!strcmp(w, "op-before-init")) {
         uint32_t req[2] = { 4, 1 };
         send_msg(c.fd, req, sizeof(req), NULL, 0);
      } else if (!strcmp(w, "blob-past-granule")) {
         /* Rounding up to the granule is fine; a megabyte past it is not. */
         uint64_t mem = setup_device(&c) ? allocate_memory(&c, ROUNDED_ALLOC) : 0;
         int f = mem ? create_resource(&c, 3, mem, ROUNDED_ALLOC + (1u << 20), 1, &reply) : -1;
         if (f >= 0) {
            ERR("hostile %s: a blob a megabyte past its memory got an fd", w);
            close(f);
         }
      } else if (!strcmp(w, "truncated-continuation")) {
         struct {
            uint32_t op, size;
            uint8_t cmd[256];
         } req = { 5, 1024, { 0 } };
         send_msg(c.fd, &req, sizeof(req), NULL, 0);
         char rest[100] = { 0 };
         send_msg(c.fd, rest, sizeof(rest), NULL, 0);
      }
      bool survives = false; /* the context must keep working, not close */
      if (!strcmp(w, "fence-table-file")) {
         /* A plain file cannot be sealed: truncated after INIT, the
          * server's next fence store would raise SIGBUS. */
         char path[] = "/tmp/rs_vmm-table.XXXXXX";
         int file = mkstemp(path);
         if (file >= 0)
            unlink(path);
         if (file < 0 || ftruncate(file, 256) != 0 || !ctx_init_fds(&c, file, -1) || ftruncate(file, 0) != 0)
            ERR("hostile %s: cannot set up the file", w);
         if (file >= 0)
            close(file);
         uint32_t s0;
         submit_fence(&c, 0, &s0);
         uint32_t nop = 0;
         send_msg(c.fd, &nop, sizeof(nop), NULL, 0);
      } else if (!strcmp(w, "eventfd-full-pipe")) {
         /* A pipe nobody reads, already full, as the wakeup "eventfd". */
         int p[2];
         if (pipe(p) != 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
            ERR("hostile %s: pipe: %s", w, strerror(errno));
            continue;
         }
         char junk[4096] = { 0 };
         while (write(p[1], junk, sizeof(junk)) > 0)
            ;
         fcntl(p[1], F_SETFL, 0);
         int table = memfd_create("proxy-ctx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
         if (table < 0 || ftruncate(table, 256) != 0 || !ctx_init_fds(&c, table, p[1]))
            ERR("hostile %s: INIT failed", w);
         c.seqnos = mmap(NULL, 256, PROT_READ | PROT_WRITE, MAP_SHARED, table, 0);
         close(table);
         close(p[1]);
         uint32_t s0;
         submit_fence(&c, 0, &s0);
         /* Where wakeups are pipes (-Dos=posix) the pipe is taken and must
          * not block the context: the fence is published. Elsewhere the
          * context is refused at INIT. */
         if (!expect_seals()) {
            survives = true;
            if (c.seqnos != MAP_FAILED && wait_seqno(&c, 0, s0, 60000) && !closed_within(c.fd, 500))
               OK("hostile %s: the fence was published past a full pipe, the context still up", w);
            else
               ERR("hostile %s: the context hung or closed on a full wakeup pipe", w);
         }
         close(p[0]);
      }
      if (!survives)
         printf("hostile %u %s\n", id, w);
      if (survives)
         ;
      else if (closed_within(c.fd, 10000))
         OK("hostile %s: the server closed that context", w);
      else
         ERR("hostile %s: the context socket stayed open", w);
      close(c.fd);
      if (c.seqnos && c.seqnos != MAP_FAILED)
         munmap(c.seqnos, 256);
      if (c.efd >= 0)
         close(c.efd);
      if (!compute_round(&sentinel, sfd, smap, 0x5000 + id, w))
         ERR("hostile %s: the sentinel context stopped working", w);
   }
   OK("sentinel context computed correctly after every hostile context");
   if (kill(server_pid, 0) != 0)
      ERR("the server died");
}

static void
scenario_client_hostile(void)
{
   uint32_t bad[3] = { 3, 1, 0 }; /* CREATE_CONTEXT of 12 bytes */
   send_msg(server_fd, bad, sizeof(bad), NULL, 0);
   int status = server_exit_status(10000);
   if (status >= 0 && WIFEXITED(status))
      OK("a client op of the wrong size ended the server (status %d)", WEXITSTATUS(status));
   else
      ERR("the server did not exit after a malformed client op (status %d)", status);
}

static void
scenario_sigkill(void)
{
   struct ctx c[2];
   int memfd[2];
   uint32_t *map[2];
   for (int i = 0; i < 2; i++) {
      if (!ready_ctx(&c[i], 1 + i, 1 + i, &memfd[i], &map[i]))
         return;
   }
   /* Work in flight, then SIGKILL, as virgl_renderer_cleanup does. */
   uint32_t s;
   for (int i = 0; i < 2; i++) {
      fill(&c[i], IMPORT_SIZE, 1);
      submit_fence(&c[i], c[i].ring, &s);
   }
   kill(server_pid, SIGKILL);
   int status = server_exit_status(10000);
   if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      OK("server SIGKILLed mid-work");
   else
      ERR("server status %d after SIGKILL", status);
   bool all = closed_within(server_fd, 10000);
   for (int i = 0; i < 2; i++)
      all &= closed_within(c[i].fd, 10000);
   if (all)
      OK("the client socket and every context socket closed (workers gone)");
   else
      ERR("a socket stayed open after the server was SIGKILLed (a worker survived?)");
}

/* The parent of `pid` from /proc/PID/stat, or -1. */
static pid_t
parent_of(pid_t pid)
{
   char path[64], buf[512];
   snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
   FILE *f = fopen(path, "r");
   if (!f)
      return -1;
   size_t n = fread(buf, 1, sizeof(buf) - 1, f);
   fclose(f);
   buf[n] = '\0';
   const char *close_paren = strrchr(buf, ')');
   int ppid;
   return close_paren && sscanf(close_paren + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

/* The newest worker process of the server: its child, or its forker's
 * (worker/forker.h: pooled workers are the forker's children). */
static pid_t
newest_child(pid_t parent, pid_t after_max)
{
   /* Every process whose parent is `parent`, from /proc/N/stat (kernels
    * without CONFIG_PROC_CHILDREN have no task/N/children files). */
   DIR *dir = opendir("/proc");
   if (!dir)
      return -1;
   pid_t best = -1;
   struct dirent *de;
   while ((de = readdir(dir))) {
      if (de->d_name[0] < '0' || de->d_name[0] > '9')
         continue;
      char path[320], buf[512];
      snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
      FILE *f = fopen(path, "r");
      if (!f)
         continue;
      size_t n = fread(buf, 1, sizeof(buf) - 1, f);
      fclose(f);
      buf[n] = '\0';
      const char *close_paren = strrchr(buf, ')');
      int ppid;
      pid_t p = (pid_t)atoi(de->d_name);
      if (close_paren && sscanf(close_paren + 1, " %*c %d", &ppid) == 1 &&
          (ppid == parent || (ppid > 1 && parent_of(ppid) == parent)) && p > after_max && p > best)
         best = p;
   }
   closedir(dir);
   return best;
}

static void
scenario_isolate(void)
{
   struct ctx c[3];
   int memfd[3];
   uint32_t *map[3];
   pid_t pids[3];
   for (int i = 0; i < 3; i++) {
      if (!ready_ctx(&c[i], 1 + i, 1 + i, &memfd[i], &map[i]))
         return;
      if (!compute_round(&c[i], memfd[i], map[i], 0x100 + (uint32_t)i, "isolate warm-up"))
         return;
      pids[i] = newest_child(server_pid, i ? pids[i - 1] : 0);
   }
   if (pids[1] <= 0 || pids[1] == pids[0] || pids[2] == pids[1]) {
      ERR("no distinct worker process per context (%d %d %d)", pids[0], pids[1], pids[2]);
      return;
   }
   OK("3 contexts in 3 worker processes (%d %d %d)", pids[0], pids[1], pids[2]);
   kill(pids[1], SIGKILL);
   if (closed_within(c[1].fd, 10000))
      OK("SIGKILL of the worker of ctx 2: its socket closed");
   else
      ERR("SIGKILL of the worker of ctx 2: its socket stayed open");
   bool ok = true;
   for (int round = 0; round < 2; round++) {
      ok &= compute_round(&c[0], memfd[0], map[0], 0x9000 + (uint32_t)round, "after a worker died");
      ok &= compute_round(&c[2], memfd[2], map[2], 0xa000 + (uint32_t)round, "after a worker died");
   }
   if (ok)
      OK("the other contexts keep computing correctly");
   struct ctx d;
   int dfd;
   uint32_t *dmap;
   if (ready_ctx(&d, 2, 2, &dfd, &dmap) && compute_round(&d, dfd, dmap, 0x3333, "a new context"))
      OK("a new context with the dead one's id works");
   if (kill(server_pid, 0) != 0)
      ERR("the server died");
}

/* SERVER started as a render server starts a spawned worker: upstream's
 * four arguments, the context socket as the fd they name. */
static int
scenario_worker(const char *bin, char **extra, int n_extra)
{
   int sv[2];
   if (socketpair(AF_UNIX, stream_mode ? SOCK_STREAM : SOCK_SEQPACKET, 0, sv) != 0) {
      perror("socketpair");
      return 2;
   }
   fcntl(sv[0], F_SETFD, FD_CLOEXEC);
   server_pid = fork();
   if (server_pid == 0) {
      char fdstr[16];
      snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
      char *argv[40];
      int a = 0;
      argv[a++] = (char *)bin;
      for (int i = 0; i < n_extra && a < 28; i++)
         argv[a++] = extra[i];
      char *args[] = { "--worker-context-fd", fdstr, "--worker-context-id", "5", "--worker-context-init-flags",
                       "704", "--worker-context-name", "spawned-worker", NULL };
      for (int i = 0; args[i]; i++)
         argv[a++] = args[i];
      argv[a] = NULL;
      execv(bin, argv);
      _exit(127);
   }
   close(sv[1]);
   struct ctx c;
   memset(&c, 0, sizeof(c));
   c.id = 5;
   c.ring = 1;
   c.fd = sv[0];
   int memfd;
   uint32_t *map;
   if (!ctx_init(&c, false) || (memfd = make_memfd(&map)) < 0 || !setup_device(&c) ||
       !import_resource(&c, 100, memfd, 2, IMPORT_SIZE) || !import_memory(&c, 100, IMPORT_SIZE))
      ERR("worker: setting up its context failed");
   else if (compute_round(&c, memfd, map, 0x5eed, "worker") && compute_round(&c, memfd, map, 0x5eee, "worker"))
      OK("a worker started with --worker-context-fd/-id/-init-flags/-name served its context: two GPU fills "
         "read back, fences published");
   close(c.fd);
   int status = server_exit_status(10000);
   if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      OK("the worker exited (status 0) once its socket closed");
   else {
      ERR("the worker did not exit cleanly after its socket closed (status %d)", status);
      kill(server_pid, SIGKILL);
   }
   if (errors) {
      printf("FAILED: %d error(s)\n", errors);
      return 1;
   }
   printf("PASSED\n");
   return 0;
}

/* --- the VM channel's guest side ------------------------------------------ */

#define VM_W 256u
#define VM_H 64u
#define VM_BLOB (VM_W * VM_H * 4u)
#define XR24 0x34325258u

struct vm_guest {
   int listen_fd, fd;
   const char *connect_path; /* the server listens (--vm-channel listen:PATH) */
   uint32_t *map[2];
   bool busy[2];
   uint32_t last_frame; /* serial of the last FRAME */
   uint32_t motions;    /* POINTER_MOTIONs from the page's input */
   int32_t motion_x, motion_y;
};

/* The guest side of the server's listen:PATH: connect, as QEMU's chardev
 * with server=off and a reconnect interval does, until the server listens
 * and accepts. */
static bool
vm_connect(struct vm_guest *g, int ms)
{
   struct sockaddr_un addr = { .sun_family = AF_UNIX };
   memcpy(addr.sun_path, g->connect_path, strlen(g->connect_path));
   for (int waited = 0; waited < ms; waited += 50) {
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
         g->fd = fd;
         g->busy[0] = g->busy[1] = false;
         return true;
      }
      if (fd >= 0)
         close(fd);
      usleep(50000);
   }
   return false;
}

static bool
vm_accept(struct vm_guest *g, int ms)
{
   if (g->connect_path)
      return vm_connect(g, ms);
   struct pollfd p = { g->listen_fd, POLLIN, 0 };
   if (poll(&p, 1, ms) != 1)
      return false;
   g->fd = accept(g->listen_fd, NULL, NULL);
   g->busy[0] = g->busy[1] = false;
   return g->fd >= 0;
}

static const uint32_t hello_message[] = { 1, 16, 1, 0 };

static bool
vm_send(struct vm_guest *g, const uint32_t *words, size_t n)
{
   return send(g->fd, words, n * 4, MSG_NOSIGNAL) == (ssize_t)(n * 4);
}

/* Reads one host message (up to 8 words); false on EOF or timeout. */
static bool
vm_recv(struct vm_guest *g, uint32_t *m, int ms)
{
   struct pollfd p = { g->fd, POLLIN, 0 };
   if (poll(&p, 1, ms) != 1 || recv(g->fd, m, 8, MSG_WAITALL) != 8 || m[1] < 8 || m[1] > 32 ||
       recv(g->fd, m + 2, m[1] - 8, MSG_WAITALL) != (ssize_t)(m[1] - 8))
      return false;
   if (m[0] == 17 /* RELEASE */ && m[3] >= 10 && m[3] <= 11)
      g->busy[m[3] - 10] = false;
   if (m[0] == 18 /* FRAME */)
      g->last_frame = m[3];
   if (m[0] == 19 /* POINTER_MOTION */ && m[1] == 24) {
      g->motions++;
      g->motion_x = (int32_t)m[4];
      g->motion_y = (int32_t)m[5];
   }
   return true;
}

static bool
vm_hello(struct vm_guest *g)
{
   uint32_t m[8];
   bool got_hello = false, got_configure = false;
   if (!vm_send(g, hello_message, 4))
      return false;
   while (!(got_hello && got_configure) && vm_recv(g, m, 30000)) {
      got_hello |= m[0] == 1 && m[2] == 1;
      got_configure |= m[0] == 16 && m[2] > 0 && m[3] > 0;
   }
   return got_hello && got_configure;
}

/* wl_frames' picture of `n`: 16 bars, bar b white where bit b is set. */
static void
vm_draw(uint32_t *px, uint32_t n)
{
   for (uint32_t y = 0; y < VM_H; y++)
      for (uint32_t x = 0; x < VM_W; x++)
         px[y * VM_W + x] = (n >> (x * 16 / VM_W)) & 1 ? 0xffffffffu : 0xff000000u;
}

/* Frames first..last: each drawn into a buffer the host released, shown,
 * and its FRAME awaited. */
static bool
vm_frames(struct vm_guest *g, uint32_t first, uint32_t last)
{
   for (uint32_t n = first; n <= last; n++) {
      uint32_t m[8];
      int waited = 0;
      while (g->busy[0] && g->busy[1] && waited < 30000) {
         if (!vm_recv(g, m, 1000))
            waited += 1000;
      }
      int b = g->busy[0] ? 1 : 0;
      if (g->busy[b]) {
         ERR("vmchannel: no RELEASE of either buffer before frame %u", n);
         return false;
      }
      vm_draw(g->map[b], n);
      g->busy[b] = true;
      const uint32_t attach[] = { 2, 40, 1, 10u + (uint32_t)b, 0, VM_W * 4, VM_W, VM_H, XR24, 0 };
      const uint32_t commit[] = { 3, 16, 1, n };
      if (!vm_send(g, attach, 10) || !vm_send(g, commit, 4)) {
         ERR("vmchannel: sending frame %u failed", n);
         return false;
      }
      for (waited = 0; g->last_frame != n && waited < 30000;) {
         if (!vm_recv(g, m, 1000))
            waited += 1000;
      }
      if (g->last_frame != n) {
         ERR("vmchannel: no FRAME for commit %u", n);
         return false;
      }
   }
   OK("vmchannel: frames %u..%u shown, each released and paced by FRAME", first, last);
   return true;
}

/* The host closes the connection within `ms`. */
static bool
vm_closed(struct vm_guest *g, int ms)
{
   uint32_t m[8];
   for (int waited = 0; waited < ms; waited += 100) {
      struct pollfd p = { g->fd, POLLIN, 0 };
      if (poll(&p, 1, 100) != 1)
         continue;
      char b;
      ssize_t n = recv(g->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n <= 0)
         break;
      if (!vm_recv(g, m, 100))
         break;
   }
   char b;
   ssize_t r = recv(g->fd, &b, 1, MSG_DONTWAIT);
   /* A reset: the host closed with messages of ours unread. */
   bool closed = r == 0 || (r < 0 && errno == ECONNRESET);
   close(g->fd);
   g->fd = -1;
   return closed;
}

static void
scenario_vmchannel(void)
{
   const char *path = getenv("RS_VMM_CHANNEL");
   const char *connect_mode = getenv("RS_VMM_CHANNEL_CONNECT");
   struct vm_guest g = { .listen_fd = -1, .fd = -1 };
   struct sockaddr_un addr = { .sun_family = AF_UNIX };
   if (!path || strlen(path) >= sizeof(addr.sun_path)) {
      ERR("vmchannel: set RS_VMM_CHANNEL to a socket path");
      return;
   }
   memcpy(addr.sun_path, path, strlen(path));
   if (connect_mode && !strcmp(connect_mode, "1"))
      g.connect_path = path;
   else if (unlink(path), (g.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
            bind(g.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(g.listen_fd, 2) != 0) {
      ERR("vmchannel: cannot listen on %s: %s", path, strerror(errno));
      return;
   }
   struct ctx c;
   if (!open_ctx(&c, 1, 1, "vmm-guest-display") || !setup_device(&c)) {
      ERR("vmchannel: setting up the context failed");
      return;
   }
   /* Two SHAREABLE (scan-out) blobs and one only MAPPABLE. */
   for (int i = 0; i < 3; i++) {
      uint64_t mem = allocate_memory(&c, VM_BLOB);
      struct blob_reply reply;
      int fd = mem ? create_resource(&c, 10u + (uint32_t)i, mem, VM_BLOB, i < 2 ? 3 : 1, &reply) : -1;
      void *map = fd >= 0 ? mmap(NULL, VM_BLOB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
      if (fd >= 0)
         close(fd);
      if (map == MAP_FAILED) {
         ERR("vmchannel: blob %d of device memory failed", 10 + i);
         return;
      }
      if (i < 2)
         g.map[i] = map;
   }
   printf("vmchannel: resources 10 and 11 SHAREABLE, 12 MAPPABLE only (%ux%u XRGB8888)\n", VM_W, VM_H);
   if (!vm_accept(&g, 60000) || !vm_hello(&g)) {
      ERR("vmchannel: the server did not connect and answer HELLO with HELLO and CONFIGURE");
      return;
   }
   OK("vmchannel: connected, HELLO and CONFIGURE answered");
   if (!vm_frames(&g, 1, 30))
      return;
   /* With RS_VMM_CHANNEL_INPUT=1 the test moves the pointer on the page
    * (--http --input): the shown surface's guest gets it. */
   const char *input = getenv("RS_VMM_CHANNEL_INPUT");
   if (input && *input) {
      printf("vmchannel: waiting for the page's input\n");
      fflush(stdout);
      uint32_t m[8];
      for (int waited = 0; !g.motions && waited < 60000; waited += 100)
         vm_recv(&g, m, 100);
      if (g.motions)
         OK("vmchannel: the page's pointer motion reached the guest: surface 1 at (%d, %d) (24.8 fixed)",
            g.motion_x, g.motion_y);
      else
         ERR("vmchannel: no pointer motion from the page within 60 s");
   }
   /* Connection 1: a resource the VM lacks (refused, the channel stays), then
    * an image past its blob (the second: closed). */
   printf("vmchannel hostile: ATTACH of a resource the VM does not have\n");
   const uint32_t unknown[] = { 2, 40, 1, 999, 0, VM_W * 4, VM_W, VM_H, XR24, 0 };
   vm_send(&g, unknown, 10);
   if (!vm_frames(&g, 31, 40))
      return;
   printf("vmchannel hostile: ATTACH past the blob's end\n");
   const uint32_t past[] = { 2, 40, 1, 10, 0, VM_W * 4, VM_W, VM_H + 1, XR24, 0 };
   vm_send(&g, past, 10);
   if (!vm_closed(&g, 30000))
      ERR("vmchannel: the second bad message did not close the connection");
   else
      OK("vmchannel: the second bad message closed the connection");
   /* Connection 2: not SHAREABLE, then a size that cannot be framed. */
   if (!vm_accept(&g, 30000) || !vm_hello(&g)) {
      ERR("vmchannel: the server did not connect again");
      return;
   }
   OK("vmchannel: the server connected again");
   printf("vmchannel hostile: ATTACH of a blob that is not SHAREABLE\n");
   const uint32_t unshareable[] = { 2, 40, 1, 12, 0, VM_W * 4, VM_W, VM_H, XR24, 0 };
   vm_send(&g, unshareable, 10);
   printf("vmchannel hostile: a message claiming 4096 bytes\n");
   const uint32_t huge[] = { 2, 4096, 0, 0 };
   vm_send(&g, huge, 4);
   if (!vm_closed(&g, 30000))
      ERR("vmchannel: an unframeable size did not close the connection");
   else
      OK("vmchannel: an unframeable size closed the connection");
   /* Connection 3: an unknown type, then the stream goes on. */
   if (!vm_accept(&g, 30000) || !vm_hello(&g)) {
      ERR("vmchannel: the server did not connect again");
      return;
   }
   printf("vmchannel hostile: a message of unknown type 99\n");
   const uint32_t odd[] = { 99, 16, 0, 0 };
   vm_send(&g, odd, 4);
   if (!vm_frames(&g, 41, 60))
      return;
   /* Connection 4: a flood of valid ATTACHes (closed, one line); connection 5:
    * a flood of HELLOs (the same); then the stream goes on. */
   printf("vmchannel hostile: a flood of 40000 ATTACHes\n");
   const uint32_t again[] = { 2, 40, 1, 10, 0, VM_W * 4, VM_W, VM_H, XR24, 0 };
   for (int i = 0; i < 40000 && vm_send(&g, again, 10); i++)
      ;
   if (!vm_closed(&g, 30000))
      ERR("vmchannel: a flood of ATTACHes did not close the connection");
   else
      OK("vmchannel: a flood of ATTACHes closed the connection");
   if (!vm_accept(&g, 30000) || !vm_hello(&g)) {
      ERR("vmchannel: the server did not connect again after the flood");
      return;
   }
   printf("vmchannel hostile: a flood of 64 HELLOs\n");
   for (int i = 0; i < 64 && vm_send(&g, hello_message, 4); i++)
      ;
   if (!vm_closed(&g, 30000))
      ERR("vmchannel: a flood of HELLOs did not close the connection");
   else
      OK("vmchannel: a flood of HELLOs closed the connection");
   if (!vm_accept(&g, 30000) || !vm_hello(&g)) {
      ERR("vmchannel: the server did not connect again after the HELLOs");
      return;
   }
   if (!vm_frames(&g, 61, 70))
      return;
   /* A blob the guest names the moment the VMM has CREATE_RESOURCE's
    * reply: the server knows it by then (no lookup is tried again). */
   uint64_t mem = allocate_memory(&c, VM_BLOB);
   struct blob_reply reply;
   int fd = mem ? create_resource(&c, 13, mem, VM_BLOB, 3, &reply) : -1;
   const uint32_t attach_new[] = { 2, 40, 1, 13, 0, VM_W * 4, VM_W, VM_H, XR24, 0 };
   if (fd < 0 || !vm_send(&g, attach_new, 10)) {
      ERR("vmchannel: blob 13 of device memory failed");
      return;
   }
   void *map = mmap(NULL, VM_BLOB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   close(fd);
   if (map == MAP_FAILED) {
      ERR("vmchannel: cannot map blob 13");
      return;
   }
   vm_draw(map, 71);
   const uint32_t commit_new[] = { 3, 16, 1, 71 };
   uint32_t m[8];
   bool sent = vm_send(&g, commit_new, 4);
   for (int waited = 0; sent && g.last_frame != 71 && waited < 30000;) {
      if (!vm_recv(&g, m, 1000))
         waited += 1000;
   }
   if (g.last_frame != 71)
      ERR("vmchannel: an ATTACH sent right after CREATE_RESOURCE's reply was not shown");
   else
      OK("vmchannel: an ATTACH sent right after CREATE_RESOURCE's reply was shown");
   munmap(map, VM_BLOB);
   const uint32_t destroy[] = { 4, 16, 1, 0 };
   vm_send(&g, destroy, 4);
   close(g.fd);
   if (g.listen_fd >= 0) {
      close(g.listen_fd);
      unlink(path);
   }
}

int
main(int argc, char **argv)
{
   setvbuf(stdout, NULL, _IOLBF, 0);
   signal(SIGPIPE, SIG_IGN);
   if (argc < 3) {
      fprintf(stderr, "usage: rs_vmm SERVER [--stream|--stream-be32] [--server-arg ARG]... SCENARIO\n");
      return 2;
   }
   const char *bin = argv[1];
   char *extra[16];
   int n_extra = 0;
   int i = 2;
   for (; i < argc - 1; i++) {
      if (!strcmp(argv[i], "--stream"))
         stream_mode = true;
      else if (!strcmp(argv[i], "--stream-be32"))
         stream_mode = be32_mode = true;
      else if (!strcmp(argv[i], "--server-arg") && i + 1 < argc - 1 && n_extra < 16)
         extra[n_extra++] = argv[++i];
      else
         break;
   }
   const char *scenario = argv[argc - 1];
   if (!strcmp(scenario, "worker"))
      return scenario_worker(bin, extra, n_extra);
   start_server(bin, extra, n_extra);
   if (!strcmp(scenario, "work"))
      scenario_work();
   else if (!strcmp(scenario, "hostile"))
      scenario_hostile();
   else if (!strcmp(scenario, "client-hostile"))
      scenario_client_hostile();
   else if (!strcmp(scenario, "sigkill"))
      scenario_sigkill();
   else if (!strcmp(scenario, "isolate"))
      scenario_isolate();
   else if (!strcmp(scenario, "rounded"))
      scenario_rounded();
   else if (!strcmp(scenario, "share"))
      scenario_share();
   else if (!strcmp(scenario, "vmchannel"))
      scenario_vmchannel();
   else {
      fprintf(stderr, "unknown scenario %s\n", scenario);
      return 2;
   }
   /* The VMM's way out: SIGKILL. */
   if (kill(server_pid, 0) == 0) {
      close(server_fd);
      if (server_exit_status(5000) < 0) {
         kill(server_pid, SIGKILL);
         waitpid(server_pid, NULL, 0);
      }
   }
   if (errors) {
      printf("FAILED: %d error(s)\n", errors);
      return 1;
   }
   printf("PASSED\n");
   return 0;
}

/* SPDX-License-Identifier: MIT */
/* Hostile Wayland clients for the server's display: each case connects on
 * its own, sends one bad buffer and must get a protocol error naming the
 * right interface and code (or, for the good controls, none). Prints one
 * line per case; exits 1 if any case went otherwise.
 *
 *   wl_hostile DISPLAY_NAME        (XDG_RUNTIME_DIR as for any client) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define FMT_XRGB 0x34325258u /* XR24 */
#define FMT_NV12 0x3231564eu /* NV12 */

struct conn {
   struct wl_display *d;
   struct wl_compositor *comp;
   struct wl_shm *shm;
   struct zwp_linux_dmabuf_v1 *dmabuf;
   struct xdg_wm_base *wm;
};

static void
global(void *data, struct wl_registry *reg, uint32_t name, const char *iface, uint32_t version)
{
   struct conn *c = data;
   if (!strcmp(iface, "wl_compositor"))
      c->comp = wl_registry_bind(reg, name, &wl_compositor_interface, 4);
   else if (!strcmp(iface, "wl_shm"))
      c->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
   else if (!strcmp(iface, "zwp_linux_dmabuf_v1"))
      c->dmabuf = wl_registry_bind(reg, name, &zwp_linux_dmabuf_v1_interface, 3);
   else if (!strcmp(iface, "xdg_wm_base"))
      c->wm = wl_registry_bind(reg, name, &xdg_wm_base_interface, 1);
}

static void
global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
}

static const struct wl_registry_listener reg_listener = { global, global_remove };

static bool
connect_to(const char *name, struct conn *c)
{
   memset(c, 0, sizeof(*c));
   c->d = wl_display_connect(name);
   if (!c->d)
      return false;
   struct wl_registry *reg = wl_display_get_registry(c->d);
   wl_registry_add_listener(reg, &reg_listener, c);
   wl_display_roundtrip(c->d);
   return c->comp && c->shm && c->dmabuf && c->wm;
}

static int
memfd(size_t size, bool seal)
{
   int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
      return -1;
   void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   if (p != MAP_FAILED) {
      memset(p, 0x80, size);
      munmap(p, size);
   }
   if (seal)
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
   return fd;
}

struct dmabuf_case {
   const char *name;
   int fd_kind;           /* 0 sealed memfd of fd_size, 1 pipe, 2 unsealed memfd, 3 none */
   size_t fd_size;
   uint32_t plane, offset, stride;
   uint64_t modifier;
   int32_t w, h;
   uint32_t format;
   bool add_twice;
   int expect;            /* error code, -1: none */
};

static int failures;

/* Commits `buffer` on a fresh toplevel and round-trips. */
static void
show(struct conn *c, struct wl_buffer *buffer)
{
   struct wl_surface *s = wl_compositor_create_surface(c->comp);
   struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(c->wm, s);
   xdg_surface_get_toplevel(xs);
   wl_surface_commit(s);
   wl_display_roundtrip(c->d);
   wl_surface_attach(s, buffer, 0, 0);
   wl_surface_damage(s, 0, 0, INT32_MAX, INT32_MAX);
   wl_surface_commit(s);
   wl_display_roundtrip(c->d);
   wl_display_roundtrip(c->d);
}

static void
verdict(const char *name, struct conn *c, const struct wl_interface *want_iface, int expect)
{
   int err = wl_display_get_error(c->d);
   const struct wl_interface *iface = NULL;
   uint32_t code = 0;
   if (err == EPROTO)
      code = wl_display_get_protocol_error(c->d, &iface, NULL);
   bool ok = expect < 0 ? err == 0 : (err == EPROTO && iface == want_iface && code == (uint32_t)expect);
   printf("%s %s: %s%s%s code %u (expected %s %d)\n", ok ? "ok" : "WRONG", name,
          err == EPROTO ? "protocol error on " : err ? strerror(err) : "no error", iface ? iface->name : "",
          err == EPROTO ? "," : "", code, expect < 0 ? "no error" : want_iface->name, expect);
   if (!ok)
      failures++;
}

static void
run_dmabuf_case(const char *display, const struct dmabuf_case *k)
{
   struct conn c;
   if (!connect_to(display, &c)) {
      printf("WRONG %s: cannot connect or a global is missing\n", k->name);
      failures++;
      return;
   }
   struct zwp_linux_buffer_params_v1 *p = zwp_linux_dmabuf_v1_create_params(c.dmabuf);
   int fd = -1, pipefd[2];
   if (k->fd_kind == 0 || k->fd_kind == 2)
      fd = memfd(k->fd_size, k->fd_kind == 0);
   else if (k->fd_kind == 1 && pipe(pipefd) == 0) {
      fd = pipefd[0];
      close(pipefd[1]);
   }
   if (k->fd_kind != 3) {
      zwp_linux_buffer_params_v1_add(p, fd, k->plane, k->offset, k->stride, (uint32_t)(k->modifier >> 32),
                                     (uint32_t)k->modifier);
      if (k->add_twice)
         zwp_linux_buffer_params_v1_add(p, fd, k->plane, k->offset, k->stride, (uint32_t)(k->modifier >> 32),
                                        (uint32_t)k->modifier);
   }
   struct wl_buffer *b = zwp_linux_buffer_params_v1_create_immed(p, k->w, k->h, k->format, 0);
   wl_display_roundtrip(c.d);
   if (k->expect < 0 && !wl_display_get_error(c.d))
      show(&c, b);
   verdict(k->name, &c, &zwp_linux_buffer_params_v1_interface, k->expect);
   if (fd >= 0)
      close(fd);
   wl_display_disconnect(c.d);
}

/* A wl_shm pool that claims more than its fd holds: the server's read of
 * the committed buffer faults, and libwayland turns that into an error on
 * the buffer (wl_shm's invalid_fd code). */
static void
run_shm_short_pool(const char *display)
{
   struct conn c;
   if (!connect_to(display, &c)) {
      printf("WRONG shm-short-pool: cannot connect\n");
      failures++;
      return;
   }
   int fd = memfd(4096, false);
   struct wl_shm_pool *pool = wl_shm_create_pool(c.shm, fd, 256 * 256 * 4);
   struct wl_buffer *b = wl_shm_pool_create_buffer(pool, 0, 256, 256, 256 * 4, WL_SHM_FORMAT_XRGB8888);
   show(&c, b);
   verdict("shm-short-pool", &c, &wl_buffer_interface, WL_SHM_ERROR_INVALID_FD);
   close(fd);
   wl_display_disconnect(c.d);
}

struct cutter {
   int fd;
   unsigned spin;
};

static void *
cut_and_seal(void *arg)
{
   struct cutter *k = arg;
   for (volatile unsigned i = 0; i < k->spin; i++)
      ;
   if (ftruncate(k->fd, 4096) == 0)
      fcntl(k->fd, F_ADD_SEALS, F_SEAL_SHRINK);
   return NULL;
}

/* A client that shrinks its memfd and seals it while the server takes the
 * buffer in: the server either refuses it (unsealed or too small when it
 * looked) or has it whole (the cut came too late). The buffer it keeps is
 * shown (read): the server survives every round. */
static void
run_shrink_and_seal_race(const char *display)
{
   unsigned kept = 0, refused = 0;
   for (unsigned round = 0; round < 60; round++) {
      struct conn c;
      if (!connect_to(display, &c)) {
         printf("WRONG shrink-and-seal-race: round %u: cannot connect (the server is gone?)\n", round);
         failures++;
         return;
      }
      struct cutter k = { .fd = memfd(64 * 256, false), .spin = (round * 7919) % 200000 };
      struct zwp_linux_buffer_params_v1 *p = zwp_linux_dmabuf_v1_create_params(c.dmabuf);
      zwp_linux_buffer_params_v1_add(p, k.fd, 0, 0, 256, 0, 0);
      struct wl_buffer *b = zwp_linux_buffer_params_v1_create_immed(p, 64, 64, FMT_XRGB, 0);
      wl_display_flush(c.d);
      pthread_t t;
      pthread_create(&t, NULL, cut_and_seal, &k);
      wl_display_roundtrip(c.d);
      pthread_join(t, NULL);
      if (!wl_display_get_error(c.d))
         show(&c, b);
      int err = wl_display_get_error(c.d);
      const struct wl_interface *iface = NULL;
      uint32_t code = err == EPROTO ? wl_display_get_protocol_error(c.d, &iface, NULL) : 0;
      if (!err) {
         kept++;
      } else if (err == EPROTO && iface == &zwp_linux_buffer_params_v1_interface &&
                 (code == ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS ||
                  code == ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER)) {
         refused++;
      } else {
         printf("WRONG shrink-and-seal-race: round %u: %s (code %u)\n", round, strerror(err), code);
         failures++;
      }
      close(k.fd);
      wl_display_disconnect(c.d);
   }
   printf("ok shrink-and-seal-race: %u kept whole, %u refused\n", kept, refused);
}

int
main(int argc, char **argv)
{
   if (argc != 2) {
      fprintf(stderr, "usage: wl_hostile DISPLAY_NAME\n");
      return 2;
   }
   const char *d = argv[1];
   const uint64_t LINEAR = 0, INVALID = 0x00ffffffffffffffull;
   const struct dmabuf_case cases[] = {
      { "good-sealed-memfd", 0, 64 * 256, 0, 0, 256, LINEAR, 64, 64, FMT_XRGB, false, -1 },
      { "good-offset", 0, 4096 + 64 * 256, 0, 4096, 256, INVALID, 64, 64, FMT_XRGB, false, -1 },
      { "bad-fd-pipe", 1, 0, 0, 0, 256, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS },
      { "fd-smaller-than-buffer", 0, 1000, 0, 0, 256, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS },
      { "stride-below-width", 0, 64 * 256, 0, 0, 255, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS },
      { "offset-beyond-fd", 0, 64 * 256, 0, 64 * 256, 256, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS },
      { "offset-overflow", 0, 64 * 256, 0, 0xfffffff0u, 0xfffffff0u, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS },
      { "huge-size", 0, 64 * 256, 0, 0, 256, LINEAR, 1 << 30, 1 << 30, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS },
      { "zero-size", 0, 64 * 256, 0, 0, 256, LINEAR, 0, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS },
      { "unknown-format", 0, 64 * 256, 0, 0, 256, LINEAR, 64, 64, FMT_NV12, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT },
      { "tiled-modifier", 0, 64 * 256, 0, 0, 256, 0x0100000000000001ull, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT },
      { "unsealed-memfd", 2, 64 * 256, 0, 0, 256, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER },
      { "plane-1", 0, 64 * 256, 1, 0, 256, LINEAR, 64, 64, FMT_XRGB, false,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_IDX },
      { "plane-set-twice", 0, 64 * 256, 0, 0, 256, LINEAR, 64, 64, FMT_XRGB, true,
        ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_SET },
      { "no-plane", 3, 0, 0, 0, 0, LINEAR, 64, 64, FMT_XRGB, false, ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE },
   };
   for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
      run_dmabuf_case(d, &cases[i]);
   run_shm_short_pool(d);
   run_shrink_and_seal_race(d);
   printf("%d wrong\n", failures);
   return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/* venus-server --vhost-user PATH [--vhost-user-input PATH]: listens on
 * PATH, and each connection is one VM's virtio-gpu device (virtio_gpu.h);
 * on the input PATH, one VM's virtio-input device (virtio_input.h). Each
 * device is served in a worker process of its own (worker/worker_pool.h:
 * forked, sandboxed, its guest's RAM mapped there only), until the VMM
 * closes it or the server stops. */
#ifndef VS_TRANSPORT_VHOST_USER_VHOST_USER_SERVER_H
#define VS_TRANSPORT_VHOST_USER_VHOST_USER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/socket_activation.h"

#include "transport/vhost_user/scanout_export.h"
#include "worker/hand_over.h"
#include "worker/memory_shares.h"

struct vs_context_options;
struct vs_vhost_user_workers;
struct vs_input_router;

struct vs_vhost_user_options {
   uint32_t width, height;  /* each scanout's mode at start (--vm-size) */
   uint32_t scanouts;       /* each GPU device's (--vm-scanouts), 1..VS_VIRTIO_GPU_MAX_SCANOUTS */
   /* The largest mode, in pixels, each device's framebuffer holds: what a
    * viewer may ask for (width x height: the mode stays). */
   uint64_t max_pixels;
   uint64_t hostmem_bytes;  /* the host-visible region (--vm-hostmem), a power of two */
   unsigned max_devices;    /* devices of each kind served at once; a further one is refused */
   /* Devices of each kind the VMMs of one uid (SO_PEERCRED: forks do not
    * multiply them) hold at once: the other slots stay for other uids. */
   unsigned max_devices_per_peer;
   /* Worker processes one uid's VMMs take a minute (worker/start_ration.h). */
   uint32_t worker_starts_per_min;
   /* A device whose queues never started gives its slot to a newcomer of
    * its uid after this long (worker/activity.h); 0: never. */
   uint32_t idle_timeout_ms;
   /* Device memory the VMs of one uid hold together, charged through the
    * server's ledger (base/ledger.h). */
   struct vs_memory_shares memory_per_peer;
   /* The input devices' socket (--vhost-user-input), or NULL; their
    * reports come through `router` (required with it; else may be NULL),
    * where every device is registered. */
   const char *input_path;
   struct vs_input_router *router;
   /* Listening sockets a service manager passed: the one bound to the
    * device socket's path, or the input one's, is served instead of
    * binding it, and left to its owner at exit; any other is refused. */
   const struct vs_activated_socket *activated;
   unsigned activated_count;
   /* Where each device's scanouts are shown, in the server process (on a
    * thread of the scanout's); NULL: nowhere. `hide` follows a scanout's
    * last frame. */
   vs_scanout_show_fn show;
   vs_scanout_cursor_fn cursor;
   void (*hide)(void *data, uint32_t device, uint32_t scanout);
   void *display;
   uint64_t frame_interval_ns; /* the display's: a scanout's frames are taken at its rate at most */
   /* Where viewers ask a device's scanouts for a mode (their window's
    * size): the server hands the display its `request` while it serves,
    * and NULL before it returns; NULL: viewers do not set the mode. */
   void (*listen_modes)(void *display, vs_scanout_mode_fn request, void *data);
   /* The live upgrade (worker/hand_over.h); NULL: none. In the process
    * an upgrade in place started, `taken` are the listening sockets it
    * took over, served instead of binding their paths, and the hooks'
    * tenants are adopted. */
   const struct vs_live_upgrade *upgrade;
   const struct vs_hand_over_socket *taken;
   unsigned taken_count;
};

/* The workers' pools, made while the process has no other thread
 * (worker/forker.h); `ready` of each kept prepared; each VM's Venus
 * contexts made with `options` (which outlive the pools), each in a worker
 * of its own (the host driver warmed up there, none in a device's worker)
 * with `contexts_apart`, else in their device's worker. NULL on failure,
 * logged. */
struct vs_vhost_user_workers *vs_vhost_user_workers_create(const struct vs_context_options *options,
                                                           unsigned ready, bool contexts_apart);
void vs_vhost_user_workers_destroy(struct vs_vhost_user_workers *workers);

/* Serves `socket_path` (and options->input_path) until `stop_fd` is readable; then ends every
 * device's worker (their VMs see the device go). 0, or 1 when the socket
 * could not be opened (logged). */
int vs_vhost_user_server_run(const char *socket_path, const struct vs_vhost_user_options *options,
                             struct vs_vhost_user_workers *workers, int stop_fd);

#endif

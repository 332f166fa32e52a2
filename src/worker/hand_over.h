/* SPDX-License-Identifier: MIT */
/* What a live upgrade hands over, door by door (server/upgrade.h does
 * the hand-over itself): the listening sockets, the forkers of each
 * worker pool, and one record per running tenant, whose worker goes on
 * serving it while the server process execs its new binary. Every door
 * speaks these types; the server above them carries them in its record,
 * which the new binary checks field by field (it is input too). */
#ifndef VS_WORKER_HAND_OVER_H
#define VS_WORKER_HAND_OVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ledger.h"
#include "worker/worker_pool.h"

/* A door's listening sockets (a VM device's and its input devices'), and
 * its worker pools (a VM device's and its contexts' apart). */
#define VS_HAND_OVER_SOCKETS 2
#define VS_HAND_OVER_POOLS 2
#define VS_HAND_OVER_NAME_SIZE 32
/* How long a door waits, once an upgrade in place is asked for, until
 * every tenant is either gone or waiting on its running worker (else the
 * upgrade is refused, with one line). */
#define VS_HAND_OVER_SETTLE_MS 3000
/* The fds of one tenant's record (vs_tenant_record_fds lists them). */
#define VS_HAND_OVER_TENANT_FDS 6

enum vs_hand_over_kind {
   VS_HAND_OVER_CLIENT = 1, /* a vtest client */
   VS_HAND_OVER_VM_GPU,     /* a VM's virtio-gpu device */
   VS_HAND_OVER_VM_INPUT,   /* a VM's virtio-input device */
   VS_HAND_OVER_VM_CONTEXT, /* a Venus context of a VM's GPU device, in a worker of its own */
   VS_HAND_OVER_KINDS,
};

/* A running tenant. Fixed-size fields: it crosses in the record. */
struct vs_hand_over_tenant {
   uint32_t kind;
   uint32_t id;     /* a client's context id, a device's id, a context's id */
   uint32_t uid;
   uint32_t device; /* a VM context: its GPU device's id */
   int32_t pid, gpu; /* its worker, the GPU it is placed on (-1: none) */
   uint32_t pool, forker; /* its worker's pool (0: the door's own), and forker there */
   /* A client: its socket (its worker has its own copy). A VM GPU
    * device: its contexts' socket (-1: none, its contexts are its own).
    * A VM input device: its reports' socket. A VM context: the server's
    * end of its socket. */
   int32_t fd;
   int32_t activity_fd; /* a client's or a VM device's; -1 for a context */
   int32_t ledger_fd;   /* -1: no channel, or it had ended */
   int32_t vmm;         /* a VM device: its VMM's pid (0: unknown) */
   /* A VM GPU device with contexts apart: their line budget. A client:
    * the server's end of its worker's hand-over socket (context.h:
    * vs_context_hand_over). Else, or none, -1. */
   int32_t aux_fd;
   uint32_t init_flags; /* ...and its VMM's INIT flags */
   char name[VS_HAND_OVER_NAME_SIZE]; /* a VM context's */
   uint64_t held[VS_LEDGER_POOLS];
   /* A client with --worker-checkpoints: the server's end of its
    * worker's checkpoint socket, and the newest checkpoint kept with its
    * age (worker/checkpoint.h); else -1. */
   int32_t checkpoint_fd, checkpoint_kept_fd;
   uint64_t checkpoint_age_ns;
};

/* The most scanouts a VM GPU device has. */
#define VS_HAND_OVER_SCANOUTS_PER_DEVICE 16u

/* A VM GPU device's scanout on the display: the server's end of it
 * (transport/vhost_user/scanout_export.h), its import loop parked
 * between two frames. The new image's loop asks the worker to show the
 * frame again. Fixed-size fields: it crosses in the record. */
struct vs_hand_over_scanout {
   uint32_t device, index;
   uint32_t seq; /* the last frame acknowledged */
   int32_t framebuffer_fd, notify_fd;
   uint32_t reserved;
   uint64_t framebuffer_size;
};

/* A listening socket. */
struct vs_hand_over_socket {
   int fd;
   const char *path;
   bool owns_file; /* its file is the server's to remove at exit */
};

/* What a door offers an upgrade: its sockets, and in place its frozen
 * tenants and pools. */
struct vs_hand_over_offer {
   unsigned sockets;
   struct vs_hand_over_socket socket[VS_HAND_OVER_SOCKETS];
   unsigned tenants; /* connected now */
   /* In place: every tenant is one of `running`, its worker's forker one
    * of its pool's (NULL: no such pool). */
   const struct vs_hand_over_tenant *running;
   const struct vs_worker_pool_forkers *forkers[VS_HAND_OVER_POOLS];
   uint64_t frozen_ns; /* when the tenants' charges began to wait */
   /* In place: the VM devices' scanouts shown on the display. */
   unsigned scanouts;
   const struct vs_hand_over_scanout *scanout;
};

/* Why an upgrade that starts a new process beside this one ends. */
enum vs_upgrade_end {
   VS_UPGRADE_WORD,     /* the new process spoke (or closed its end) */
   VS_UPGRADE_LATE,     /* it did not within timeout_ms */
   VS_UPGRADE_STOPPING, /* this server stops meanwhile */
};

/* The live upgrade, as the server above the doors does it. */
struct vs_live_upgrade {
   /* Readable once an upgrade is asked for (the hooks drain it); -1: never. */
   int asked_fd;
   /* With worker processes the upgrade is in place: `in_place` first says
    * whether the new binary can take running tenants (0; else -1, one
    * line said why not and the server goes on); the door then freezes
    * them and `exec` runs the new binary in this process, returning only
    * when that failed (one line), and the door thaws them. */
   int (*in_place)(void *data);
   void (*exec)(void *data, const struct vs_hand_over_offer *offer);
   /* Without worker processes (vtest in thread mode) a new process takes
    * the socket beside this one, which serves its clients until they
    * end: `start` drains asked_fd and starts it, returning the fd its
    * word comes on, or -1 (refused: one line said it); `finish` says
    * whether it took over once that fd was readable or the upgrade ends
    * unfinished (one line either way). */
   int (*start)(void *data, const struct vs_hand_over_offer *offer);
   bool (*finish)(void *data, enum vs_upgrade_end end, unsigned tenants);
   uint32_t timeout_ms;
   /* In a process an upgrade started: called once it listens. */
   void (*listening)(void *data);
   /* In the process an upgrade in place started: the tenants and forkers
    * it took over (fds its own now); NULL: none. */
   const struct vs_hand_over_tenant *adopted;
   unsigned adopted_count;
   const struct vs_worker_pool_forkers *adopted_forkers[VS_HAND_OVER_POOLS];
   /* ...and the VM devices' scanouts (fds its own now, each checked for
    * its kind; the door checks the rest). */
   const struct vs_hand_over_scanout *adopted_scanouts;
   unsigned adopted_scanout_count;
   void *data;
};

#endif

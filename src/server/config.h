/* SPDX-License-Identifier: MIT */
/* The server's configuration: the command line, the options of
 * $VENUS_SERVER_CONFIG (a file) and $VENUS_SERVER_OPTIONS put before it,
 * and the environment, parsed once at start into one struct, read-only
 * once serving. Every environment variable the server reads for itself is
 * read here, once (config.c lists them in one table: the debug and test
 * switches among them); what is left below is the host driver's and the
 * C library's own ($VK_ICD_FILENAMES and its kin, which the workers'
 * sandbox opens to, and $TMPDIR). */
#ifndef VS_SERVER_CONFIG_H
#define VS_SERVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/test_faults.h"
#include "context/context.h"
#include "transport/vmm/render.h"
#include "base/socket_activation.h"
#include "transport/vtest/vtest.h"
#include "worker/placement.h"

/* What the server is run as, chosen by the options. */
enum vs_server_mode {
   VS_SERVER_VTEST,         /* the vtest server (the default): run_vtest.c */
   VS_SERVER_RENDER,        /* a VMM's render server (--socket-fd): run_render_server.c */
   VS_SERVER_RENDER_WORKER, /* one context's worker a render server spawned
                             * (--worker-context-*): run_render_worker.c */
   VS_SERVER_VHOST_USER,    /* VMs' virtio-gpu devices (--vhost-user): run_vhost_user.c */
   VS_SERVER_CDI_SPEC,      /* the vtest socket's CDI spec, printed (--cdi-spec): run_cdi_spec.c */
};

/* --worker-checkpoints: how long a client is quiet before its checkpoint. */
#define VS_CHECKPOINT_QUIET_MS 1000

struct vs_display_hand_over;

struct vs_server_config {
   enum vs_server_mode mode;
   const char *socket_path;  /* --socket, else $VTEST_SOCKET_NAME, else the default */
   int socket_fd;            /* --socket-fd: serve the render-server protocol */
   enum vs_isolate isolate;
   unsigned ready_workers;   /* --ready-workers */
   bool placement_all;       /* --placement all: every tenant sees every GPU */
   struct vs_placement_pins placement_pins; /* --placement-pin */
   enum render_framing stream_framing; /* --stream-framing */
   /* A worker spawned by a render server (upstream's --worker-context-*
    * arguments): serve that one context. */
   struct {
      int fd;
      uint32_t id, init_flags;
      const char *name;
      long server_pid; /* --worker-server-pid (ours): tie to that server */
      int tie_fd;      /* --worker-tie-fd (ours, POSIX backend) */
      int ledger_fd;   /* --worker-ledger-fd (ours): its ledger channel */
   } worker;
   struct vs_context_options context;
   struct vtest_server_limits server;
   /* --display, --http, --record, --fps, --input (src/transport/display/),
    * --vm-channel (src/transport/vmchannel/). */
   const char *display, *http, *record, *vm_channel;
   unsigned fps;
   /* Set by a live upgrade's take-over: what it carried of the display
    * (NULL: nothing), and recordings go on at the end of their files. */
   const struct vs_display_hand_over *display_hand_over;
   bool record_append;
   unsigned vm_width, vm_height; /* --vm-size; 0: the display's default */
   const char *vm_name;          /* --vm-name, or NULL */
   bool cdi_spec;                /* --cdi-spec */
   const char *http_cert, *http_key; /* --http-cert, --http-key, or NULL */
   bool http_plain;                  /* --http-plain */
   const char *vhost_user_path;  /* --vhost-user */
   const char *vhost_user_input_path; /* --vhost-user-input */
   unsigned vm_hostmem_mib;      /* --vm-hostmem; 0: the default */
   /* --vm-contexts shared: a VM's Venus contexts in its device's worker;
    * apart (the default): each in a worker of its own. */
   bool vm_contexts_shared, vm_contexts_given;
   bool vm_fixed_size;           /* --vm-fixed-size: viewers do not set a VM's mode */
   unsigned vm_scanouts;         /* --vm-scanouts; 0: one */
   /* --shader-cache: the root of the tenants' shader caches
    * (worker/shader_cache.h); NULL: the default place, "none": none. */
   const char *shader_cache;
   uint64_t shader_cache_bytes;  /* --limit shader-cache-mib: per tenant */
   uint64_t worker_memory_bytes; /* --limit worker-memory-mib: each worker's private memory */
   uint32_t worker_tasks;        /* --limit worker-tasks: each pooled worker's tasks (threads) */
   bool input;
   /* What a spawned render-server worker must be told again: every option
    * but --socket-fd and --isolate (kept for the process's lifetime). */
   char **worker_args;
   int worker_arg_count;

   /* From the environment. */
   enum vs_log_level log_level;  /* --log-level, else $VENUS_SERVER_LOG, else info */
   struct vs_test_faults test_faults; /* $VENUS_SERVER_TEST_* (base/test_faults.h) */
   /* The listening sockets a service manager passed ($LISTEN_PID,
    * $LISTEN_FDS: base/socket_activation.h), with their paths. */
   struct vs_activated_socket activated[VS_ACTIVATED_MAX];
   unsigned activated_count;
   const char *exec_path;    /* what a render server spawns: $RENDER_SERVER_EXEC_PATH, else argv[0] */
   const char *runtime_dir;  /* $XDG_RUNTIME_DIR, or NULL */
   const char *http_token;   /* $VENUS_SERVER_HTTP_TOKEN, or NULL: random */
   /* A live upgrade (server/upgrade.h): the hand-over this process was
    * started with ($VENUS_SERVER_UPGRADE, an fd; -1: none), the service
    * manager's $NOTIFY_SOCKET (NULL: none), and the command line as given
    * (what the next binary is started with). */
   int upgrade_fd;
   bool upgrade_workers; /* --upgrade-workers (it sets context.journal) */
   uint32_t upgrade_probe; /* $VENUS_SERVER_UPGRADE=probe-N: asked whether version N is read; 0: not */
   const char *notify_socket;
   char **argv;
};

/* What vs_server_config_parse returns when the server is to run; any
 * other value is the exit status (0 after --help or --version, 2 for a
 * bad option, 1 when what the environment passed is unusable), said on
 * stderr. */
#define VS_SERVER_CONFIG_RUN (-1)

/* Fills `config` from argc/argv, the configuration file and the
 * environment (unsetting the socket-activation variables it took).
 * Once, at start, before the process has any other thread. */
int vs_server_config_parse(struct vs_server_config *config, int argc, char **argv);

#endif

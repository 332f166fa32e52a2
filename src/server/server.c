/* SPDX-License-Identifier: MIT */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fair_share.h"
#include "base/log.h"
#include "base/test_faults.h"
#include "os/os.h"
#include "renderer/device_snapshot.h"
#include "renderer/memory/shared_registry.h"
#ifdef VS_HAVE_DISPLAY
#include "transport/display/display.h"
#endif
#include "transport/vtest/vtest_sync.h"
#include "vm/resource_table.h"
#include "worker/placement.h"
#include "worker/shader_cache.h"
#include "worker/worker_link.h"
#include "worker/worker_process.h"

/* fds the server keeps for itself (listening socket, stop and reap events,
 * the host driver's own) and per client besides its shared memory: its
 * socket, pending sync waits (two fds each where events are pipes), the
 * host driver's per-device fds. */
#define FD_RESERVE 256u
#define FD_PER_CLIENT (32u + 2u * VTEST_SYNC_MAX_WAITERS)
/* Where the OS does not say how many mappings a process may hold: Linux's
 * default vm.max_map_count, also what a -Dos=posix build on Linux meets. */
#define ASSUMED_MAX_MAPPINGS 65530u

/* Server-wide: what clients' shared memory may take of the process's fds
 * and mappings (base/fair_share.h). */
static struct vs_fair_pool fd_pool, mapping_pool;
/* Server-wide: host objects all contexts of this process hold. */
static _Atomic uint64_t live_objects;

/* Half of `room` is split evenly as guarantees, the other half is shared. */
static void
pool_split(struct vs_fair_pool *pool, const char *unit, uint64_t room, uint32_t clients)
{
   uint64_t guaranteed = room / (2u * (uint64_t)clients);
   vs_fair_pool_init(pool, unit, guaranteed, room - guaranteed * clients);
}

/* Every host-visible allocation and blob the server keeps costs it a
 * guarded mapping and (until the guest has it) an fd. Half of the mappings
 * stay the server's own (host driver, threads, heap). */
void
vs_server_fit_kernel_limits(struct vs_server_config *config)
{
   uint64_t limit = os_raise_fd_limit();
   uint64_t max_mappings = os_max_mappings();
   uint32_t clients = config->server.clients;
   struct vs_context_limits *l = &config->context.limits;
   if (max_mappings == 0)
      max_mappings = ASSUMED_MAX_MAPPINGS;
   if (clients == 0) {
      vs_info(0, "clients unlimited: fds and mappings for shared memory not shared out (fd limit %llu, "
              "%llu mappings)", (unsigned long long)limit, (unsigned long long)max_mappings);
      return;
   }
   pool_split(&mapping_pool, "mappings", max_mappings / 2, clients);
   l->mapping_pool = &mapping_pool;
   uint64_t fixed = FD_RESERVE + (uint64_t)clients * FD_PER_CLIENT;
   if (limit == UINT64_MAX || limit == 0) {
      vs_info(0, "fd limit %s: fds for shared memory not shared out", limit ? "unlimited" : "unknown");
   } else {
      if (limit <= fixed + 2u * clients)
         vs_warn(0, "fd limit %llu leaves no room for %u clients' shared memory; lower --limit clients or "
                 "raise the hard fd limit (ulimit -Hn)", (unsigned long long)limit, clients);
      pool_split(&fd_pool, "fds", limit > fixed + 2u * clients ? limit - fixed : 2u * clients, clients);
      l->fd_pool = &fd_pool;
   }
   vs_info(0, "fd limit %llu, %llu mappings: up to %u clients, each guaranteed %llu fds and %llu mappings for "
           "shared memory, and %llu fds and %llu mappings shared by all", (unsigned long long)limit,
           (unsigned long long)max_mappings, clients, (unsigned long long)fd_pool.guaranteed,
           (unsigned long long)mapping_pool.guaranteed, (unsigned long long)fd_pool.shared,
           (unsigned long long)mapping_pool.shared);
}

/* The server-wide budget of bytes the worker links map, per byte of host
 * memory: room for every tenant's sparse allocations, far from the
 * process's address space; where the OS does not say, an assumed budget. */
#define LINK_BUDGET_PER_HOST_BYTE 8u
#define ASSUMED_LINK_BUDGET (1ull << 40)

static struct vs_fair_pool link_bytes_pool, link_guarded_pool;

/* What the memory that worker processes announce may cost this process
 * (worker/worker_link.h): a worker no more than its tenant may hold, its
 * device memory (memory-mib, and its heaps: host memory, which backs every
 * memfd, on a CPU driver) and the display's linear mirrors of it, at most
 * as large again; all links together a budget shared out like fds and
 * mappings, whose mapping share they count in too; so is their share of
 * the process's fault-safe mappings. */
static void
limit_worker_links(const struct vs_server_config *config)
{
   long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
   uint64_t host = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
   uint64_t tenant = config->context.limits.memory_bytes;
   if (host && (!tenant || tenant > host))
      tenant = host;
   uint64_t budget = host ? LINK_BUDGET_PER_HOST_BYTE * host : ASSUMED_LINK_BUDGET;
   if (config->server.clients)
      pool_split(&link_bytes_pool, "mapped bytes", budget, config->server.clients);
   else
      vs_fair_pool_init(&link_bytes_pool, "mapped bytes", 0, budget);
   /* Half of the fault-safe mappings stay the server's own (imports, VMM
    * fence tables); a worker on Linux seals its memory and takes none. */
   const uint64_t guarded = os_map_guarded_max() / 2;
   if (config->server.clients)
      pool_split(&link_guarded_pool, "fault-safe mappings", guarded, config->server.clients);
   else
      vs_fair_pool_init(&link_guarded_pool, "fault-safe mappings", 0, guarded);
   const struct vs_server_link_limits limits = {
      .worker_bytes = tenant <= UINT64_MAX / 2 ? 2 * tenant : 0,
      .bytes = &link_bytes_pool,
      .mappings = config->context.limits.mapping_pool,
      .guarded = &link_guarded_pool,
      .resources = config->context.limits.resources,
   };
   vs_server_links_limit(&limits);
}

/* Signals reach the server as events: SIGTERM and SIGINT stop it,
 * SIGUSR2 asks for a live upgrade. Each event lives for the whole
 * process: closing it could race with a late signal handler writing to
 * its fd, which the handler reads lock-free, per signal. */
static struct os_event stop_event = { -1, -1 };
static struct os_event upgrade_event = { -1, -1 };
static atomic_int signal_write_fd[NSIG];
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be async-signal-safe");

static void
on_signal(int sig)
{
   int saved_errno = errno;
   struct os_event ev = { -1, atomic_load(&signal_write_fd[sig]) };
   if (ev.write_fd > 0) /* 0: a signal routed nowhere */
      os_event_signal(&ev);
   errno = saved_errno;
}

/* Each of `sigs` signals `ev` from now on; its read fd, or -1. */
static int
signals_to_event(struct os_event *ev, const int *sigs, unsigned count)
{
   if (os_event_init(ev) < 0)
      return -1;
   struct sigaction sa;
   memset(&sa, 0, sizeof(sa));
   sigemptyset(&sa.sa_mask);
   sa.sa_handler = on_signal;
   for (unsigned i = 0; i < count; i++) {
      atomic_store(&signal_write_fd[sigs[i]], ev->write_fd);
      if (sigaction(sigs[i], &sa, NULL) != 0)
         return -1;
   }
   return ev->read_fd;
}

int
vs_server_stop_on_signals(void)
{
   /* SIGPIPE keeps its default on purpose: a client that vanishes mid-reply
    * must not kill the server, and each client socket ensures that itself
    * (MSG_NOSIGNAL, or SO_NOSIGPIPE from os_socket_prepare), as a library
    * embedded in a VMM must; the tests run without a process-wide ignore. */
   static const int stops[] = { SIGTERM, SIGINT };
   return signals_to_event(&stop_event, stops, 2);
}

int
vs_server_upgrade_on_signal(void)
{
   static const int upgrade[] = { SIGUSR2 };
   return signals_to_event(&upgrade_event, upgrade, 1);
}

void
vs_server_upgrade_drain(void)
{
   os_event_drain(&upgrade_event);
}

void
vs_server_refuse_attach(void)
{
   (void)os_refuse_attach();
}

void
vs_server_warn_thread_isolation(const struct vs_server_config *config, const char *who, const char *tenant)
{
   if (config->isolate != VS_ISOLATE_THREAD)
      return;
   vs_warn(0, "isolation: %s runs in the server process (--isolate thread), for one trusted tenant (%s): a "
              "crash or host-driver fault in one ends them all, and a shader that forms device addresses reaches "
              "the memory of all of them",
           who, tenant);
}

void
vs_server_quiet_stdout(void)
{
   int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
   if (devnull >= 0) {
      dup2(devnull, STDOUT_FILENO);
      close(devnull);
   }
}

#ifdef VS_HAVE_DISPLAY
/* Starts the display (--display and its options); 0, or the exit status.
 * The VM's resource table for --vm-channel goes to started->resources. */
static int
start_display(struct vs_server_config *config, struct vs_server_started *started)
{
   /* One VM, one server, one display: the VM's guest shows its surfaces
    * there through --vm-channel. */
   if (config->vm_channel) {
      started->resources = vs_vm_resources_create();
      if (!started->resources)
         return 1;
      config->context.resource_table = started->resources;
   }
   /* Every context registers its host-pointer memory here, where the
    * display finds the dma-bufs Wayland clients pass and the VM channel's
    * resources. */
   config->context.renderer.shared_registry = vs_shared_registry_create();
   const struct vs_display_options display = {
      .name = config->display, .http = config->http, .record = config->record, .fps = config->fps ? config->fps : 60,
      .http_token = config->http_token, .http_cert = config->http_cert, .http_key = config->http_key,
      .http_plain = config->http_plain,
      .input = config->input, .url_in_log = config->mode == VS_SERVER_RENDER, .runtime_dir = config->runtime_dir,
      .shared_registry = config->context.renderer.shared_registry,
      .vm_channel = config->vm_channel, .vm_width = config->vm_width, .vm_height = config->vm_height,
      .vm_name = config->vm_name, .resource_table = started->resources,
      .hand_over = config->display_hand_over, .record_append = config->record_append,
   };
   if (!display.shared_registry)
      return 1;
   enum vs_display_start_result result = vs_display_start(&display, &started->display);
   if (result == VS_DISPLAY_FAILED)
      return 1;
   if (result == VS_DISPLAY_UNAVAILABLE) {
      /* No display reads the registry: contexts need not fill it. */
      vs_shared_registry_destroy(config->context.renderer.shared_registry);
      config->context.renderer.shared_registry = NULL;
   }
   return 0;
}
#endif

/* The root of the tenants' shader caches: --shader-cache, else the
 * service's cache directory, else the user's; false: none. */
static bool
shader_cache_root(const struct vs_server_config *config, char *root, size_t size)
{
   if (config->shader_cache)
      return strcmp(config->shader_cache, "none") && snprintf(root, size, "%s", config->shader_cache) < (int)size;
   const char *service = getenv("CACHE_DIRECTORY"); /* systemd's CacheDirectory= (the first, if several) */
   if (service && service[0] == '/')
      return snprintf(root, size, "%.*s", (int)strcspn(service, ":"), service) < (int)size;
   const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
   if (xdg && xdg[0] == '/')
      return snprintf(root, size, "%s/venus-server", xdg) < (int)size;
   return home && home[0] == '/' && snprintf(root, size, "%s/.cache/venus-server", home) < (int)size;
}

int
vs_server_start(struct vs_server_config *config, const struct vs_server_workers *workers,
                struct vs_server_started *started)
{
   *started = (struct vs_server_started){ .kind = workers };
   limit_worker_links(config);
   vs_worker_bound_memory(config->worker_memory_bytes);
   vs_worker_bound_tasks(config->worker_tasks);
   /* The GPUs counted by a process of its own, before any thread. */
   if (!config->placement_all && config->context.renderer.device_index < 0) {
      bool refused;
      config->context.placement = vs_placement_create(&config->placement_pins, &refused);
      if (refused)
         return 1;
   }
   /* The workers first: their forker must be forked while this process
    * has no other thread (worker/forker.h); the display starts threads. */
   if (config->isolate == VS_ISOLATE_PROCESS) {
      char root[4096];
      if (shader_cache_root(config, root, sizeof(root)))
         (void)vs_shader_cache_configure(root, config->shader_cache_bytes);
      config->context.renderer.device_snapshots = vs_device_snapshot_slot_create();
      started->workers = workers->create(config);
      if (!started->workers)
         return 1;
   }
#ifdef VS_HAVE_DISPLAY
   if (config->display) {
      int rc = start_display(config, started);
      if (rc) {
         vs_server_stop(config, started);
         return rc;
      }
   }
#endif
   return 0;
}

void
vs_server_stop(struct vs_server_config *config, struct vs_server_started *started)
{
#ifdef VS_HAVE_DISPLAY
   vs_display_stop(started->display);
   started->display = NULL;
#endif
   if (started->workers)
      started->kind->destroy(started->workers);
   started->workers = NULL;
   vs_shader_cache_fini();
   vs_shared_registry_destroy(config->context.renderer.shared_registry);
   config->context.renderer.shared_registry = NULL;
   vs_vm_resources_destroy(started->resources);
   config->context.resource_table = started->resources = NULL;
   vs_placement_destroy(config->context.placement);
   config->context.placement = NULL;
}

_Noreturn void
vs_server_abandon(struct vs_server_started *started)
{
#ifdef VS_HAVE_DISPLAY
   vs_display_stop(started->display);
#else
   (void)started;
#endif
   fflush(stdout);
   fflush(stderr);
   _exit(0);
}

int
vs_server_run(struct vs_server_config *config)
{
   static int (*const run[])(struct vs_server_config *config) = {
      [VS_SERVER_VTEST] = vs_run_vtest,
      [VS_SERVER_RENDER] = vs_run_render_server,
      [VS_SERVER_RENDER_WORKER] = vs_run_render_worker,
      [VS_SERVER_VHOST_USER] = vs_run_vhost_user,
      [VS_SERVER_CDI_SPEC] = vs_run_cdi_spec,
   };
   vs_log_threshold = config->log_level;
   /* Before any thread (base/test_faults.h). */
   vs_test_faults_set(&config->test_faults);
   config->context.live_objects = &live_objects;
   return run[config->mode](config);
}

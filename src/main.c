/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context/context.h"
#ifdef VS_HAVE_DISPLAY
#include "transport/display/display.h"
#endif
#include "vm/resource_table.h"
#include "renderer/memory/shared_registry.h"
#include "renderer/device_snapshot.h"
#include "worker/worker_link.h"
#include "os/os.h"
#include "transport/vmm/render.h"
#include "base/fair_share.h"
#include "base/log.h"
#include "transport/vtest/socket_activation.h"
#include "transport/vtest/vtest.h"
#include "transport/vtest/vtest_protocol.h"
#include "transport/vtest/vtest_sync.h"

#ifndef VS_VERSION
#define VS_VERSION "0.1.0"
#endif

/* Worker processes kept ready: two covers a client arriving while the
 * one before it still starts; each idle one holds a host instance. */
#define READY_WORKERS_DEFAULT 2

/* What the command line and the environment set, read-only once serving. */
static struct {
   const char *socket_path;
   int socket_fd;            /* --socket-fd: serve the render-server protocol */
   enum vs_isolate isolate;
   bool isolate_given;       /* --isolate on the command line */
   unsigned ready_workers;   /* --ready-workers */
   enum render_framing stream_framing; /* --stream-framing */
   /* A worker spawned by a render server (upstream's --worker-context-*
    * arguments): serve that one context. */
   struct {
      int fd;
      uint32_t id, init_flags;
      const char *name;
      long server_pid; /* --worker-server-pid (ours): tie to that server */
      int tie_fd;      /* --worker-tie-fd (ours, POSIX backend) */
   } worker;
   struct vs_context_options context;
   struct vtest_server_limits server;
   /* --display, --http, --record, --fps, --input (src/transport/display/),
    * --vm-channel (src/transport/vmchannel/). */
   const char *display, *http, *record, *vm_channel;
   unsigned fps;
   unsigned vm_width, vm_height; /* --vm-size; 0: the display's default */
   bool input;
   /* What a spawned render-server worker must be told again: every option
    * but --socket-fd and --isolate (kept for the process's lifetime). */
   char **worker_args;
   int worker_arg_count;
} config;

static void
usage(FILE *out)
{
   fprintf(out,
           "usage: venus-server [options]\n"
           "Serves Venus (Vulkan over virtio) clients over the vtest protocol.\n"
           "\n"
           "  --socket PATH       listen on PATH (default: $VTEST_SOCKET_NAME, else %s);\n"
           "                      also spelled --socket-path (virgl_test_server's)\n"
           "  --socket-fd N       be a VMM's render server (RENDER_SERVER_EXEC_PATH): serve\n"
           "                      virglrenderer's render-server protocol on socket fd N\n"
           "  --isolate MODE      process (default): each client\n"
           "                      (vtest) or context (render server) in its own worker\n"
           "                      process; thread: all in the server process, for one\n"
           "                      trusted tenant only; spawn (render server): a process\n"
           "                      started with posix_spawn, as upstream virglrenderer\n"
           "                      starts its workers on macOS\n"
           "  --ready-workers N   worker processes kept started, host driver initialised,\n"
           "                      ahead of demand (default %u; 0: start each on demand)\n"
           "  --stream-framing F  auto (default), header8 or be32: the framing of a\n"
           "                      SOCK_STREAM --socket-fd (macOS VMMs; README \"For VMM users\")\n"
           "  --worker-context-fd N --worker-context-id ID --worker-context-init-flags F\n"
           "  --worker-context-name NAME\n"
           "                      be one context's worker on socket N (what a render server\n"
           "                      spawns; also spelled --ctx-fd, --ctx-id, --init-flags, --ctx-name)\n"
           "  --device N          expose only host physical device N (default, -1: all)\n"
           "  --memory STRATEGY   how host-visible memory is shared with clients: auto\n"
           "                      (default), host-pointer, dmabuf or opaque-fd\n"
           "  --page-size BYTES   granule of shared device memory, a power of two >= the\n"
           "                      system page (16384 emulates a 16 KiB-page host)\n"
           "  --lend-driver-mappings\n"
           "                      vtest: let guests map host-visible video memory that\n"
           "                      nothing else shares (NVIDIA's) through the host driver's\n"
           "                      own mapping; a guest keeping it past vkFreeMemory sees\n"
           "                      what the GPU holds there next: trusted guests only\n"
           "  --limit NAME=N      per-client limit: rings (%u), objects (%u), resources\n"
           "                      (%u), shmem-mib (%llu) or memory-mib (none: heap sizes);\n"
           "                      server-wide: clients (%u), clients-per-peer (%u, one\n"
           "                      uid's share), message-timeout-ms (%u), work-timeout-ms\n"
           "                      (%u: first Venus work due after connecting),\n"
           "                      idle-timeout-ms (%u: an idle client's slot goes to its\n"
           "                      uid's newcomer when full), teardown-timeout-ms (%u: a\n"
           "                      gone client's context still tearing down gives up its\n"
           "                      slot), worker-starts-per-min (%u: worker processes one\n"
           "                      uid's clients take a minute, past a burst of a quarter),\n"
           "                      partial-mib (%llu) or partial-total-mib (%llu); per\n"
           "                      uid: memory-per-peer-mib (%llu: device memory in host\n"
           "                      RAM); 0 means none\n"
#ifdef VS_HAVE_DISPLAY
           "  --display NAME      also serve a Wayland display: socket NAME in\n"
           "                      $XDG_RUNTIME_DIR, shown as H.264 (README \"Display\")\n"
           "  --http ADDR:PORT    serve the display's page and stream to browsers (ADDR\n"
           "                      defaults to 127.0.0.1, PORT 0 picks a free one); the\n"
           "                      URL printed carries the viewers' token (random, or\n"
           "                      $VENUS_SERVER_HTTP_TOKEN)\n"
           "  --record FILE       write the display's H.264 stream (Annex B) to FILE\n"
           "  --fps N             the display's stream rate and frame pacing (default 60)\n"
           "  --input             let browser viewers' pointer and keys reach the guest\n"
           "                      (wl_seat); without it viewers only watch\n"
           "  --vm-channel PATH   render server: show a VM guest's surfaces, named over a\n"
           "                      virtio-serial port whose host end is the Unix socket\n"
           "                      PATH (connect; listen:PATH to listen) (docs/vm-display.md)\n"
           "  --vm-size WxH       the size a VM guest is asked to show its windows at\n"
           "                      (default 1280x800)\n"
#endif
           "  --log-level LEVEL   error, warn, info or debug (default: $VENUS_SERVER_LOG,\n"
           "                      else info)\n"
           "  --submit-stats      time where submissions spend their time in the server\n"
           "                      (ring pickup, dispatch, host submit and completion) and\n"
           "                      which commands took it; two log lines per client at its\n"
           "                      end (for the bench: costs a clock read per command)\n"
           "  --venus, --no-virgl, --multi-clients, --worker-seccomp-bpf PATH,\n"
           "  --worker-seccomp-minijail-policy PATH, --worker-seccomp-minijail-log\n"
           "                      accepted for virglrenderer's scripts; nothing to do\n"
           "  --help              show this help\n"
           "Options also come from the file $VENUS_SERVER_CONFIG and from\n"
           "$VENUS_SERVER_OPTIONS (words split at white space), before the command line's.\n"
           "  --version           show the version\n",
           VTEST_DEFAULT_SOCKET_PATH, READY_WORKERS_DEFAULT, config.context.limits.rings, config.context.limits.objects,
           config.context.limits.resources, (unsigned long long)(config.context.limits.shmem_bytes >> 20),
           config.server.clients, config.server.clients_per_peer, config.server.message_timeout_ms,
           config.server.work_timeout_ms, config.server.idle_timeout_ms, config.server.teardown_timeout_ms,
           config.server.worker_starts_per_min, (unsigned long long)(config.server.partial_bytes >> 20),
           (unsigned long long)(config.server.partial_total_bytes >> 20),
           (unsigned long long)(config.server.memory_per_peer_bytes >> 20));
}

static bool
parse_level(const char *what, const char *name)
{
   if (vs_log_parse_level(name, &vs_log_threshold))
      return true;
   fprintf(stderr, "venus-server: invalid %s '%s' (use error, warn, info or debug)\n", what, name);
   return false;
}

/* $VENUS_SERVER_TEST_DEVICE_LOST=NAME:N, a test's fault injection (not in
 * --help): the Nth queue submission of each context of the client named
 * NAME reports VK_ERROR_DEVICE_LOST (tests/test_device_lost.sh). */
static bool
parse_device_lost_fault(const char *value, struct vs_context_options *options)
{
   if (!value || !*value)
      return true;
   const char *colon = strrchr(value, ':');
   char *end = NULL;
   errno = 0;
   unsigned long n = colon ? strtoul(colon + 1, &end, 10) : 0;
   if (!colon || colon == value || errno || end == colon + 1 || *end || n == 0 || n > UINT32_MAX) {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_DEVICE_LOST '%s' (want NAME:N, N > 0)\n", value);
      return false;
   }
   options->lose_device_client = strndup(value, (size_t)(colon - value));
   options->renderer.lose_device_at_submit = (uint32_t)n;
   return options->lose_device_client != NULL;
}

/* $VENUS_SERVER_TEST_UNSHAREABLE_TYPES=MASK, test-only (not in --help):
 * the host-visible memory types of MASK (bit i: type i; C notation) are
 * treated as ones the server cannot share with the guest
 * (tests/test_unshareable_types.sh). */
static bool
parse_unshareable_types(const char *value, struct vs_renderer_options *options)
{
   if (!value || !*value)
      return true;
   char *end = NULL;
   errno = 0;
   unsigned long long mask = strtoull(value, &end, 0);
   if (errno || *end || mask > UINT32_MAX || value[0] == '-') {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_UNSHAREABLE_TYPES '%s' (want a 32-bit mask)\n",
              value);
      return false;
   }
   options->test_unshareable_types = (uint32_t)mask;
   return true;
}

static bool
parse_device_index(const char *arg)
{
   char *end;
   errno = 0;
   long value = strtol(arg, &end, 10);
   if (errno || end == arg || *end != '\0' || value < -1 || value > INT_MAX) {
      fprintf(stderr, "venus-server: invalid device index '%s'\n", arg);
      return false;
   }
   config.context.renderer.device_index = (int)value;
   return true;
}

static bool
parse_memory_strategy(const char *arg)
{
   if (vs_memory_strategy_parse(arg, &config.context.renderer.memory))
      return true;
   fprintf(stderr, "venus-server: invalid memory strategy '%s' (use auto, host-pointer, dmabuf or "
                   "opaque-fd)\n", arg);
   return false;
}

static bool
parse_page_size(const char *arg)
{
   char *end;
   errno = 0;
   unsigned long long value = strtoull(arg, &end, 10);
   if (errno || end == arg || *end != '\0' || value < os_page_size() || value > (1ull << 30) ||
       (value & (value - 1))) {
      fprintf(stderr, "venus-server: invalid page size '%s' (a power of two from %zu to 1 GiB)\n", arg,
              os_page_size());
      return false;
   }
   config.context.renderer.page_size = (size_t)value;
   return true;
}

static bool
parse_limit(const char *arg)
{
   struct vs_context_limits *l = &config.context.limits;
   const char *eq = strchr(arg, '=');
   char *end;
   errno = 0;
   unsigned long long value = eq ? strtoull(eq + 1, &end, 10) : 0;
   bool number = eq && !errno && end != eq + 1 && *end == '\0';
   size_t name_len = eq ? (size_t)(eq - arg) : 0;
#define LIMIT_IS(name) (name_len == sizeof(name) - 1 && strncmp(arg, name, name_len) == 0)
   if (number && LIMIT_IS("rings") && value <= UINT32_MAX)
      l->rings = (uint32_t)value;
   else if (number && LIMIT_IS("objects") && value <= UINT32_MAX)
      l->objects = (uint32_t)value;
   else if (number && LIMIT_IS("resources") && value <= UINT32_MAX)
      l->resources = (uint32_t)value;
   else if (number && LIMIT_IS("shmem-mib") && value <= (UINT64_MAX >> 20))
      l->shmem_bytes = value << 20;
   else if (number && LIMIT_IS("memory-mib") && value <= (UINT64_MAX >> 20))
      l->memory_bytes = value << 20;
   else if (number && LIMIT_IS("clients") && value <= UINT32_MAX)
      config.server.clients = (uint32_t)value;
   else if (number && LIMIT_IS("message-timeout-ms") && value <= UINT32_MAX)
      config.server.message_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("work-timeout-ms") && value <= UINT32_MAX)
      config.server.work_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("idle-timeout-ms") && value <= UINT32_MAX)
      config.server.idle_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("teardown-timeout-ms") && value <= UINT32_MAX)
      config.server.teardown_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("clients-per-peer") && value <= UINT32_MAX)
      config.server.clients_per_peer = (uint32_t)value;
   else if (number && LIMIT_IS("worker-starts-per-min") && value <= UINT32_MAX)
      config.server.worker_starts_per_min = (uint32_t)value;
   else if (number && LIMIT_IS("partial-mib") && value <= (UINT64_MAX >> 20))
      config.server.partial_bytes = value << 20;
   else if (number && LIMIT_IS("partial-total-mib") && value <= (UINT64_MAX >> 20))
      config.server.partial_total_bytes = value << 20;
   else if (number && LIMIT_IS("memory-per-peer-mib") && value <= (UINT64_MAX >> 20))
      config.server.memory_per_peer_bytes = value << 20;
   else if (number && LIMIT_IS("gpu-timeout-ms") && value <= UINT32_MAX)
      config.context.renderer.gpu_timeout_ms = (uint32_t)value;
   else {
      fprintf(stderr, "venus-server: invalid limit '%s' (use rings, objects, resources, shmem-mib, "
                      "memory-mib, memory-per-peer-mib, clients, clients-per-peer, message-timeout-ms, work-timeout-ms, "
                      "idle-timeout-ms, teardown-timeout-ms, worker-starts-per-min, gpu-timeout-ms, partial-mib or "
                      "partial-total-mib=N)\n", arg);
      return false;
   }
#undef LIMIT_IS
   return true;
}

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

/* Raises the fd limit and shares what the kernel allows one process
 * between the clients: every host-visible allocation and blob the server
 * keeps costs it a guarded mapping and (until the guest has it) an fd. Half
 * of the mappings stay the server's own (host driver, threads, heap). */
static void
fit_kernel_limits(void)
{
   uint64_t limit = os_raise_fd_limit();
   uint64_t max_mappings = os_max_mappings();
   uint32_t clients = config.server.clients;
   struct vs_context_limits *l = &config.context.limits;
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

static struct vs_fair_pool link_bytes_pool;

/* What the memory that worker processes announce may cost this process
 * (worker/worker_link.h): a worker no more than its tenant may hold, its
 * device memory (memory-mib, and its heaps: host memory, which backs every
 * memfd, on a CPU driver) and the display's linear mirrors of it, at most
 * as large again; all links together a budget shared out like fds and
 * mappings, whose mapping share they count in too. */
static void
limit_worker_links(void)
{
   long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
   uint64_t host = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
   uint64_t tenant = config.context.limits.memory_bytes;
   if (host && (!tenant || tenant > host))
      tenant = host;
   uint64_t budget = host ? LINK_BUDGET_PER_HOST_BYTE * host : ASSUMED_LINK_BUDGET;
   if (config.server.clients)
      pool_split(&link_bytes_pool, "mapped bytes", budget, config.server.clients);
   else
      vs_fair_pool_init(&link_bytes_pool, "mapped bytes", 0, budget);
   const struct vs_server_link_limits limits = {
      .worker_bytes = tenant <= UINT64_MAX / 2 ? 2 * tenant : 0,
      .bytes = &link_bytes_pool,
      .mappings = config.context.limits.mapping_pool,
   };
   vs_server_links_limit(&limits);
}

/* SIGTERM and SIGINT stop the vtest server through this event. It lives
 * for the whole process: closing it could race with a late signal handler
 * writing to its fd, which the handler reads lock-free. */
static struct os_event stop_event = { -1, -1 };
static atomic_int stop_write_fd = -1;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be async-signal-safe");

static void
on_stop_signal(int sig)
{
   int saved_errno = errno;
   struct os_event ev = { -1, atomic_load(&stop_write_fd) };
   if (ev.write_fd >= 0)
      os_event_signal(&ev);
   errno = saved_errno;
}

static bool
install_signal_handlers(void)
{
   if (os_event_init(&stop_event) < 0)
      return false;
   atomic_store(&stop_write_fd, stop_event.write_fd);
   struct sigaction sa;
   memset(&sa, 0, sizeof(sa));
   sigemptyset(&sa.sa_mask);
   sa.sa_handler = on_stop_signal;
   /* SIGPIPE keeps its default on purpose: a client that vanishes mid-reply
    * must not kill the server, and each client socket ensures that itself
    * (MSG_NOSIGNAL, or SO_NOSIGPIPE from os_socket_prepare), as a library
    * embedded in a VMM must; the tests run without a process-wide ignore. */
   return sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0;
}

/* Options from $VENUS_SERVER_CONFIG (a file) and $VENUS_SERVER_OPTIONS,
 * for a render server a VMM starts with arguments of its own only: words
 * split at white space (no quoting), in the file '#' to the line's end.
 * Appended to *words (strings that live as long as the process). */
static bool
read_option_words(const char *text, bool comments, char ***words, int *count)
{
   char *copy = strdup(text);
   if (!copy)
      return false;
   for (char *p = copy; *p;) {
      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
         p++;
      if (!*p)
         break;
      if (comments && *p == '#') {
         while (*p && *p != '\n')
            p++;
         continue;
      }
      char *word = p;
      while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
         p++;
      if (*p)
         *p++ = '\0';
      char **grown = realloc(*words, sizeof(char *) * (size_t)(*count + 2));
      if (!grown)
         return false;
      *words = grown;
      (*words)[(*count)++] = word;
      (*words)[*count] = NULL;
   }
   return true;
}

/* argv with the configured options put before the command line's; the
 * command line's own when there are none (or for a spawned worker, which
 * gets its server's options as arguments). NULL: unusable configuration
 * (said on stderr). */
static char **
configured_argv(int argc, char **argv, int *out_argc)
{
   *out_argc = argc;
   for (int i = 1; i < argc; i++)
      if (!strncmp(argv[i], "--worker-context-fd", 19) || !strncmp(argv[i], "--ctx-fd", 8))
         return argv;
   char **words = calloc(2, sizeof(char *));
   int count = 1;
   if (!words)
      return NULL;
   words[0] = argv[0];
   const char *config_path = getenv("VENUS_SERVER_CONFIG");
   if (config_path && *config_path) {
      FILE *f = fopen(config_path, "re");
      char text[8192];
      size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
      bool whole = f && !ferror(f) && feof(f);
      if (f)
         fclose(f);
      if (!whole) {
         fprintf(stderr, "venus-server: $VENUS_SERVER_CONFIG '%s': %s\n", config_path,
                 f ? "unreadable or over 8 KiB" : strerror(errno));
         return NULL;
      }
      text[n] = '\0';
      if (!read_option_words(text, true, &words, &count))
         return NULL;
   }
   const char *env_options = getenv("VENUS_SERVER_OPTIONS");
   if (env_options && !read_option_words(env_options, false, &words, &count))
      return NULL;
   if (count == 1) {
      free(words);
      return argv;
   }
   char **merged = realloc(words, sizeof(char *) * (size_t)(count + argc));
   if (!merged)
      return NULL;
   for (int i = 1; i < argc; i++)
      merged[count++] = argv[i];
   merged[count] = NULL;
   *out_argc = count;
   /* The options live as long as the process: kept where leak checkers
    * look, since main's own copy is gone by the time they run. */
   static char **configured;
   configured = merged;
   return configured;
}

#ifdef VS_HAVE_DISPLAY
/* Starts the display (--display and its options); 0, or the exit status.
 * `resources`: the VM's resource table for --vm-channel, or NULL. */
static int
start_display(struct vs_vm_resource_table *resources, struct vs_display **running)
{
   /* Every context registers its host-pointer memory here, where the
    * display finds the dma-bufs Wayland clients pass and the VM channel's
    * resources. */
   config.context.renderer.shared_registry = vs_shared_registry_create();
   const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
   const char *http_token = getenv("VENUS_SERVER_HTTP_TOKEN");
   const struct vs_display_options display = {
      .name = config.display, .http = config.http, .record = config.record, .fps = config.fps ? config.fps : 60,
      .http_token = http_token && *http_token ? http_token : NULL,
      .input = config.input, .url_in_log = config.socket_fd >= 0, .runtime_dir = runtime_dir && *runtime_dir ? runtime_dir : NULL,
      .shared_registry = config.context.renderer.shared_registry,
      .vm_channel = config.vm_channel, .vm_width = config.vm_width, .vm_height = config.vm_height,
      .resource_table = resources,
   };
   if (!display.shared_registry)
      return 1;
   enum vs_display_start_result started = vs_display_start(&display, running);
   if (started == VS_DISPLAY_FAILED)
      return 1;
   if (started == VS_DISPLAY_UNAVAILABLE) {
      /* No display reads the registry: contexts need not fill it. */
      vs_shared_registry_destroy(config.context.renderer.shared_registry);
      config.context.renderer.shared_registry = NULL;
   }
   return 0;
}
#endif

/* What --isolate thread does not protect, said once at start-up. */
static void
warn_thread_isolation(const char *who, const char *tenant)
{
   vs_warn(0, "isolation: %s runs in the server process (--isolate thread), for one trusted tenant (%s): a "
              "crash or host-driver fault in one ends them all, and a shader that forms device addresses reaches "
              "the memory of all of them",
           who, tenant);
}

int
main(int argc, char **argv)
{
   enum { OPT_SOCKET = 256, OPT_DEVICE, OPT_MEMORY, OPT_PAGE_SIZE, OPT_LIMIT, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION,
          OPT_SOCKET_FD, OPT_ISOLATE, OPT_IGNORED, OPT_IGNORED_ARG,
          OPT_DISPLAY, OPT_HTTP, OPT_RECORD, OPT_FPS, OPT_INPUT, OPT_SUBMIT_STATS, OPT_STREAM_FRAMING,
          OPT_WORKER_FD, OPT_WORKER_ID, OPT_WORKER_FLAGS, OPT_WORKER_NAME, OPT_WORKER_SERVER_PID, OPT_WORKER_TIE_FD,
          OPT_READY_WORKERS, OPT_VM_CHANNEL, OPT_VM_SIZE, OPT_LEND_DRIVER_MAPPINGS };
   static const struct option options[] = {
      { "socket", required_argument, NULL, OPT_SOCKET },
      { "socket-path", required_argument, NULL, OPT_SOCKET },
      { "socket-fd", required_argument, NULL, OPT_SOCKET_FD },
      { "isolate", required_argument, NULL, OPT_ISOLATE },
      { "ready-workers", required_argument, NULL, OPT_READY_WORKERS },
      { "stream-framing", required_argument, NULL, OPT_STREAM_FRAMING },
      /* Upstream virglrenderer's spawned-worker arguments (server/
       * render_server.c), and the spelling of the change that added them. */
      { "worker-context-fd", required_argument, NULL, OPT_WORKER_FD },
      { "worker-context-id", required_argument, NULL, OPT_WORKER_ID },
      { "worker-context-init-flags", required_argument, NULL, OPT_WORKER_FLAGS },
      { "worker-context-name", required_argument, NULL, OPT_WORKER_NAME },
      { "ctx-fd", required_argument, NULL, OPT_WORKER_FD },
      { "ctx-id", required_argument, NULL, OPT_WORKER_ID },
      { "init-flags", required_argument, NULL, OPT_WORKER_FLAGS },
      { "ctx-name", required_argument, NULL, OPT_WORKER_NAME },
      { "worker-server-pid", required_argument, NULL, OPT_WORKER_SERVER_PID },
      { "worker-tie-fd", required_argument, NULL, OPT_WORKER_TIE_FD },
      /* virgl_test_server's and virgl_render_server's, for drop-in use. */
      { "venus", no_argument, NULL, OPT_IGNORED },
      { "no-virgl", no_argument, NULL, OPT_IGNORED },
      { "multi-clients", no_argument, NULL, OPT_IGNORED },
      { "worker-seccomp-bpf", required_argument, NULL, OPT_IGNORED_ARG },
      { "worker-seccomp-minijail-policy", required_argument, NULL, OPT_IGNORED_ARG },
      { "worker-seccomp-minijail-log", no_argument, NULL, OPT_IGNORED },
      { "device", required_argument, NULL, OPT_DEVICE },
      { "memory", required_argument, NULL, OPT_MEMORY },
      { "lend-driver-mappings", no_argument, NULL, OPT_LEND_DRIVER_MAPPINGS },
      { "page-size", required_argument, NULL, OPT_PAGE_SIZE },
      { "limit", required_argument, NULL, OPT_LIMIT },
      { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
      { "display", required_argument, NULL, OPT_DISPLAY },
      { "http", required_argument, NULL, OPT_HTTP },
      { "record", required_argument, NULL, OPT_RECORD },
      { "fps", required_argument, NULL, OPT_FPS },
      { "input", no_argument, NULL, OPT_INPUT },
      { "vm-channel", required_argument, NULL, OPT_VM_CHANNEL },
      { "vm-size", required_argument, NULL, OPT_VM_SIZE },
      { "submit-stats", no_argument, NULL, OPT_SUBMIT_STATS },
      { "help", no_argument, NULL, OPT_HELP },
      { "version", no_argument, NULL, OPT_VERSION },
      { NULL, 0, NULL, 0 },
   };
   /* No process of the same user reads the server's memory or fds, nor
    * its forker's and workers', which inherit this (docs/security.md). */
   (void)os_refuse_attach();

   argv = configured_argv(argc, argv, &argc);
   if (!argv)
      return 2;
   config.socket_path = VTEST_DEFAULT_SOCKET_PATH;
   config.socket_fd = -1;
   config.stream_framing = RENDER_FRAMING_AUTO;
   config.worker.fd = -1;
   config.worker.tie_fd = -1;
   config.worker.name = "";
   config.worker_args = calloc((size_t)argc + 1, sizeof(char *));
   for (int i = 1; config.worker_args && i < argc; i++) {
      bool with_value = !strcmp(argv[i], "--socket-fd") || !strcmp(argv[i], "--isolate");
      if (with_value || !strncmp(argv[i], "--socket-fd=", 12) || !strncmp(argv[i], "--isolate=", 10))
         i += with_value;
      else
         config.worker_args[config.worker_arg_count++] = argv[i];
   }
   config.isolate = VS_ISOLATE_PROCESS;
   config.ready_workers = READY_WORKERS_DEFAULT;
   vs_context_options_default(&config.context);
   config.context.live_objects = &live_objects;
   vtest_server_limits_default(&config.server);
   static char activated_path[VTEST_ACTIVATED_PATH_SIZE];
   const int activated_fd = vtest_socket_activation_fd(activated_path, sizeof(activated_path));
   if (activated_fd < 0)
      return 1;
   const char *env_socket = getenv("VTEST_SOCKET_NAME");
   if (env_socket && *env_socket)
      config.socket_path = env_socket;
   const char *env_level = getenv("VENUS_SERVER_LOG");
   if (env_level && *env_level && !parse_level("$VENUS_SERVER_LOG", env_level))
      return 2;
   /* An unknown value leaves the choice by vendor. */
   const char *env_modifier = getenv("VENUS_SERVER_MODIFIER_COLOR");
   if (env_modifier && strcmp(env_modifier, "optimal") == 0)
      config.context.renderer.modifier_color = VS_MODIFIER_COLOR_OPTIMAL;
   else if (env_modifier && strcmp(env_modifier, "linear") == 0)
      config.context.renderer.modifier_color = VS_MODIFIER_COLOR_LINEAR;
   if (!parse_device_lost_fault(getenv("VENUS_SERVER_TEST_DEVICE_LOST"), &config.context))
      return 2;
   if (!parse_unshareable_types(getenv("VENUS_SERVER_TEST_UNSHAREABLE_TYPES"), &config.context.renderer))
      return 2;

   int opt, opt_index = 0;
   while ((opt = getopt_long(argc, argv, "", options, &opt_index)) != -1) {
      switch (opt) {
      case OPT_SOCKET:
         if (!*optarg) {
            fprintf(stderr, "venus-server: empty socket path\n");
            return 2;
         }
         config.socket_path = optarg;
         break;
      case OPT_SOCKET_FD: {
         char *end;
         errno = 0;
         long v = strtol(optarg, &end, 10);
         if (errno || end == optarg || *end || v < 0 || v > INT_MAX) {
            fprintf(stderr, "venus-server: invalid --socket-fd '%s'\n", optarg);
            return 2;
         }
         config.socket_fd = (int)v;
         break;
      }
      case OPT_WORKER_FD:
      case OPT_WORKER_ID:
      case OPT_WORKER_FLAGS:
      case OPT_WORKER_SERVER_PID:
      case OPT_WORKER_TIE_FD: {
         char *end;
         errno = 0;
         unsigned long v = strtoul(optarg, &end, 0);
         if (errno || end == optarg || *end || v > (opt == OPT_WORKER_FD || opt == OPT_WORKER_TIE_FD ? INT_MAX
                                                    : opt == OPT_WORKER_SERVER_PID ? LONG_MAX : UINT32_MAX)) {
            fprintf(stderr, "venus-server: invalid value '%s' for --%s\n", optarg, options[opt_index].name);
            return 2;
         }
         if (opt == OPT_WORKER_FD)
            config.worker.fd = (int)v;
         else if (opt == OPT_WORKER_ID)
            config.worker.id = (uint32_t)v;
         else if (opt == OPT_WORKER_FLAGS)
            config.worker.init_flags = (uint32_t)v;
         else if (opt == OPT_WORKER_SERVER_PID)
            config.worker.server_pid = (long)v;
         else
            config.worker.tie_fd = (int)v;
         break;
      }
      case OPT_WORKER_NAME:
         config.worker.name = optarg;
         break;
      case OPT_STREAM_FRAMING:
         if (!render_framing_parse(optarg, &config.stream_framing)) {
            fprintf(stderr, "venus-server: invalid --stream-framing '%s' (use auto, header8 or be32)\n", optarg);
            return 2;
         }
         break;
      case OPT_READY_WORKERS: {
         char *end;
         errno = 0;
         unsigned long n = strtoul(optarg, &end, 10);
         if (errno || end == optarg || *end || n > 64) {
            fprintf(stderr, "venus-server: invalid --ready-workers '%s' (0 to 64)\n", optarg);
            return 2;
         }
         config.ready_workers = (unsigned)n;
         break;
      }
      case OPT_ISOLATE:
         config.isolate_given = true;
         if (strcmp(optarg, "thread") == 0)
            config.isolate = VS_ISOLATE_THREAD;
         else if (strcmp(optarg, "process") == 0)
            config.isolate = VS_ISOLATE_PROCESS;
         else if (strcmp(optarg, "spawn") == 0)
            config.isolate = VS_ISOLATE_SPAWN;
         else {
            fprintf(stderr, "venus-server: invalid --isolate '%s' (use thread, process or spawn)\n", optarg);
            return 2;
         }
         break;
      case OPT_IGNORED:
      case OPT_IGNORED_ARG:
         break;
      case OPT_DEVICE:
         if (!parse_device_index(optarg))
            return 2;
         break;
      case OPT_MEMORY:
         if (!parse_memory_strategy(optarg))
            return 2;
         break;
      case OPT_PAGE_SIZE:
         if (!parse_page_size(optarg))
            return 2;
         break;
      case OPT_LIMIT:
         if (!parse_limit(optarg))
            return 2;
         break;
      case OPT_LOG_LEVEL:
         if (!parse_level("log level", optarg))
            return 2;
         break;
      case OPT_DISPLAY:
      case OPT_HTTP:
      case OPT_RECORD:
         if (!*optarg || (opt == OPT_DISPLAY && strchr(optarg, '/'))) {
            fprintf(stderr, "venus-server: invalid --%s '%s'\n", opt == OPT_DISPLAY ? "display" : opt == OPT_HTTP ? "http" : "record", optarg);
            return 2;
         }
         *(opt == OPT_DISPLAY ? &config.display : opt == OPT_HTTP ? &config.http : &config.record) = optarg;
         break;
      case OPT_INPUT:
         config.input = true;
         break;
      case OPT_VM_CHANNEL:
         if (!*optarg || !strcmp(optarg, "listen:")) {
            fprintf(stderr, "venus-server: invalid --vm-channel '%s' (PATH or listen:PATH)\n", optarg);
            return 2;
         }
         config.vm_channel = optarg;
         break;
      case OPT_VM_SIZE: {
         unsigned w = 0, h = 0;
         char end = 0;
         if (sscanf(optarg, "%ux%u%c", &w, &h, &end) != 2 || w < 16 || h < 16 || w > 16384 || h > 16384) {
            fprintf(stderr, "venus-server: invalid --vm-size '%s' (WxH, 16 to 16384 each)\n", optarg);
            return 2;
         }
         config.vm_width = w;
         config.vm_height = h;
         break;
      }
      case OPT_FPS: {
         char *end;
         unsigned long v = strtoul(optarg, &end, 10);
         if (end == optarg || *end || v < 1 || v > 240) {
            fprintf(stderr, "venus-server: invalid --fps '%s' (1 to 240)\n", optarg);
            return 2;
         }
         config.fps = (unsigned)v;
         break;
      }
      case OPT_SUBMIT_STATS:
         config.context.renderer.submit_stats = true;
         break;
      case OPT_LEND_DRIVER_MAPPINGS:
         config.context.renderer.lend_driver_mappings = true;
         break;
      case OPT_HELP:
         usage(stdout);
         return 0;
      case OPT_VERSION:
         printf("venus-server %s\n", VS_VERSION);
         return 0;
      default:
         usage(stderr);
         return 2;
      }
   }
   if (optind < argc) {
      fprintf(stderr, "venus-server: unexpected argument '%s'\n", argv[optind]);
      usage(stderr);
      return 2;
   }

   if ((config.http || config.record || config.fps || config.input || config.vm_channel) && !config.display) {
      fprintf(stderr, "venus-server: --http, --record, --fps, --input and --vm-channel need --display\n");
      return 2;
   }
   if (config.vm_width && !config.vm_channel) {
      fprintf(stderr, "venus-server: --vm-size needs --vm-channel\n");
      return 2;
   }
   if (config.vm_channel && config.socket_fd < 0 && config.worker.fd < 0) {
      fprintf(stderr, "venus-server: --vm-channel is for the render server (--socket-fd): it names a VM's "
                      "resources\n");
      return 2;
   }
   if (config.socket_fd >= 0 && config.worker.fd >= 0) {
      fprintf(stderr, "venus-server: --socket-fd and --worker-context-fd exclude each other\n");
      return 2;
   }
   if (config.socket_fd >= 0 || config.worker.fd >= 0) {
      /* A VMM's render server (or one of its workers): stdout is the VMM's,
       * so nothing may reach it, not even a driver's stray printf. Memory
       * blobs are exact-size sealable memfds, as the VMM's proxy checks. No
       * signal handlers: the VMM ends us with SIGKILL. */
      int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (devnull >= 0) {
         dup2(devnull, STDOUT_FILENO);
         close(devnull);
      }
      config.context.renderer.exact_shm = true;
      if (config.context.renderer.lend_driver_mappings && config.worker.fd < 0)
         vs_warn(0, "--lend-driver-mappings serves vtest clients only: a VMM's proxy wants blob fds of the "
                    "blob's size, which a device file has not; ignored");
      if (config.worker.fd >= 0)
         return render_worker_main(config.worker.fd, config.worker.id, config.worker.name, config.worker.init_flags,
                                   (pid_t)config.worker.server_pid, config.worker.tie_fd, &config.context,
                                   config.stream_framing);
      if (config.isolate == VS_ISOLATE_THREAD)
         warn_thread_isolation("every context", "the VM");
      /* The workers first: their forker must be forked while this
       * process has no other thread (worker/forker.h); the display starts
       * threads. */
      struct render_workers *workers = NULL;
      if (config.isolate == VS_ISOLATE_PROCESS) {
         config.context.renderer.device_snapshots = vs_device_snapshot_slot_create();
         workers = render_workers_create(&config.context, config.ready_workers);
         if (!workers)
            return 1;
      }
#ifdef VS_HAVE_DISPLAY
      /* One VM, one server, one display: the VM's guest shows its
       * surfaces there through --vm-channel. */
      struct vs_display *vm_display = NULL;
      struct vs_vm_resource_table *resources = NULL;
      if (config.display) {
         resources = config.vm_channel ? vs_vm_resources_create() : NULL;
         if (config.vm_channel && !resources)
            return 1;
         config.context.resource_table = resources;
         int rc = start_display(resources, &vm_display);
         if (rc)
            return rc;
      }
#else
      if (config.display) {
         fprintf(stderr, "venus-server: --display: this build has no display (meson -Ddisplay: needs "
                         "wayland-server, x264 and libyuv)\n");
         return 2;
      }
#endif
      limit_worker_links();
      const struct render_server_options rs = {
         .isolate = config.isolate,
         .workers = workers,
         .stream_framing = config.stream_framing,
         .exec_path = getenv("RENDER_SERVER_EXEC_PATH") ? getenv("RENDER_SERVER_EXEC_PATH") : argv[0],
         .worker_args = config.worker_args,
         .worker_arg_count = config.worker_arg_count,
      };
      int rc = render_server_run(config.socket_fd, &config.context, &rs);
      render_workers_destroy(workers);
#ifdef VS_HAVE_DISPLAY
      vs_display_stop(vm_display);
      vs_shared_registry_destroy(config.context.renderer.shared_registry);
      vs_vm_resources_destroy(resources);
#endif
      return rc;
   }
   if (config.isolate == VS_ISOLATE_SPAWN) {
      fprintf(stderr, "venus-server: --isolate spawn is for the render server (--socket-fd); vtest has process\n");
      return 2;
   }
   if (!install_signal_handlers()) {
      fprintf(stderr, "venus-server: stop event or sigaction: %s\n", strerror(errno));
      return 1;
   }
   if (config.isolate == VS_ISOLATE_THREAD)
      warn_thread_isolation("every client", "the first client's uid; other uids are refused");
   if (config.context.renderer.lend_driver_mappings)
      vs_warn(0, "memory: --lend-driver-mappings: guests map host-visible video memory through the host driver's "
                 "own mapping; one that keeps it past vkFreeMemory sees what the GPU puts there next (trusted "
                 "guests only)");
   fit_kernel_limits();
   limit_worker_links();
   /* The workers first: their forker must be forked while this process
    * has no other thread (worker/forker.h); the display starts threads. */
   struct vtest_workers *workers = NULL;
   if (config.isolate == VS_ISOLATE_PROCESS) {
      config.context.renderer.device_snapshots = vs_device_snapshot_slot_create();
      workers = vtest_workers_create(&config.context, &config.server, config.ready_workers);
      if (!workers)
         return 1;
   }
#ifdef VS_HAVE_DISPLAY
   struct vs_display *running_display = NULL;
#endif
   if (config.display) {
#ifdef VS_HAVE_DISPLAY
      int started = start_display(NULL, &running_display);
      if (started) {
         vtest_workers_destroy(workers);
         return started;
      }
#else
      fprintf(stderr, "venus-server: --display: this build has no display (meson -Ddisplay: needs wayland-server, "
                      "x264 and libyuv)\n");
      return 2;
#endif
   }
   const struct vtest_server_setup setup = {
      .workers = workers,
      .stop_fd = stop_event.read_fd,
      .activated_fd = activated_fd,
   };
   int rc = vtest_server_run_limited(activated_fd ? activated_path : config.socket_path, &config.context, &config.server, &setup);
#ifdef VS_HAVE_DISPLAY
   vs_display_stop(running_display);
#endif
   if (rc == VTEST_SERVER_ABANDONED) {
      /* Threads stuck in the host driver would block exit()'s library
       * destructors too: leave now. */
      fflush(stdout);
      fflush(stderr);
      _exit(0);
   }
   vtest_workers_destroy(workers);
   vs_shared_registry_destroy(config.context.renderer.shared_registry);
   return rc;
}

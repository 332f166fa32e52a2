/* SPDX-License-Identifier: MIT */
#include "server/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"
#include "renderer/memory/device_memory.h"
#include "transport/vtest/vtest_protocol.h"

/* --vm-name: an output's name on the display and a part of its viewers'
 * URLs, with room for "-N" and ".K" (display.h). */
#define VM_NAME_MAX 24
#define VM_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-._"
/* --vm-scanouts: what a virtio-gpu device can tell its guest. */
#define VM_SCANOUTS_MAX 16

#ifndef VS_VERSION
#define VS_VERSION "0.1.0"
#endif

/* Worker processes kept ready: two covers a client arriving while the
 * one before it still starts; each idle one holds a host instance. */
#define READY_WORKERS_DEFAULT 2

static void
usage(FILE *out, const struct vs_server_config *config)
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
           "  --device N          expose only host physical device N to every tenant\n"
           "                      (default, -1: as --placement says)\n"
           "  --placement P       with several host GPUs: spread (default) gives each new\n"
           "                      tenant the one with the fewest tenants as its only GPU;\n"
           "                      all shows every tenant every GPU\n"
           "  --placement-pin UID=N[,UID=N...]\n"
           "                      every tenant of UID goes to host GPU N (as --device\n"
           "                      counts) under --placement spread; repeatable\n"
           "  --memory STRATEGY   how host-visible memory is shared with clients: auto\n"
           "                      (default), host-pointer, dmabuf or opaque-fd\n"
           "  --page-size BYTES   granule of shared device memory, a power of two >= the\n"
           "                      system page (16384 emulates a 16 KiB-page host)\n"
           "  --limit NAME=N      per-client limit: rings (%u), objects (%u), resources\n"
           "                      (%u), shmem-mib (%llu), memory-mib (none: heap sizes) or\n"
           "                      devices (%u VkDevices at once, per context);\n"
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
           "                      RAM), vram-per-peer-mib (%llu: in a GPU's own memory),\n"
           "                      partial-per-peer-mib (%llu); per worker process:\n"
           "                      worker-memory-mib (%llu: its private memory, bounded\n"
           "                      by the kernel), worker-tasks (%u: its threads, a pids\n"
           "                      cgroup of its own where the host allows); 0 means none\n"
#ifdef VS_HAVE_DISPLAY
           "  --display NAME      also serve a Wayland display: socket NAME in\n"
           "                      $XDG_RUNTIME_DIR, shown as H.264 (README \"Display\")\n"
           "  --http ADDR:PORT    serve the display's page and stream to browsers (ADDR\n"
           "                      defaults to 127.0.0.1, PORT 0 picks a free one); the\n"
           "                      URL printed carries the viewers' token (random, or\n"
           "                      $VENUS_SERVER_HTTP_TOKEN)\n"
           "  --http-cert FILE    with --http-key FILE: serve viewers over TLS (https),\n"
           "                      a PEM certificate chain and its key; without them\n"
           "                      --http takes loopback addresses only\n"
           "  --http-plain        let --http serve plain HTTP off loopback too\n"
           "  --record FILE       write the display's H.264 stream (Annex B) to FILE\n"
           "  --fps N             the display's stream rate and frame pacing (default 60)\n"
           "  --input             let browser viewers' pointer and keys reach the guest\n"
           "                      (wl_seat); without it viewers only watch\n"
           "  --vm-channel PATH   render server: show a VM guest's surfaces, named over a\n"
           "                      virtio-serial port whose host end is the Unix socket\n"
           "                      PATH (connect; listen:PATH to listen) (docs/vm-display.md)\n"
#endif
           "  --vhost-user PATH   be VMs' whole virtio-gpu devices: listen on PATH, each\n"
           "                      connection a VMM's vhost-user front end, one VM's\n"
           "                      device, served in a worker process of its own;\n"
           "                      with --display, each scanout is shown there\n"
           "                      (docs/vhost-user.md)\n"
           "  --vhost-user-input PATH  with --vhost-user: also be VMs' virtio-input\n"
           "                      devices (a keyboard and an absolute pointer) on PATH;\n"
           "                      with --input, viewers' input on a VM's scanout\n"
           "                      reaches its VM's input device\n"
           "  --vm-hostmem MIB    --vhost-user: the host-visible region each VM's device\n"
           "                      offers, a power of two (default 256)\n"
           "  --vm-contexts MODE  --vhost-user: apart (default): each Venus context of a\n"
           "                      VM (each guest process's VkInstance) in a worker process\n"
           "                      of its own; shared: all of a VM's in its device's worker\n"
           "  --vm-name NAME      --vhost-user: the VM's name, its scanout 0's output's on\n"
           "                      the display (default vm-N, N the device's number)\n"
           "  --vm-size WxH       the size a VM guest is asked to show its windows at\n"
           "                      (--vm-channel), or its scanout's mode (--vhost-user)\n"
           "                      (default 1280x800); with --input, a viewer may ask\n"
           "                      the VM's scanout for its window's size\n"
           "  --vm-fixed-size     --vhost-user: viewers do not change a VM's mode\n"
           "  --vm-scanouts N     --vhost-user: the scanouts (monitors) each VM's device\n"
           "                      offers, 1 to 16 (default 1), each at --vm-size and each\n"
           "                      an output of its own on the display: scanout K > 0\n"
           "                      is the VM's output's name and .K (web1.1)\n"
           "  --shader-cache DIR  where each tenant (uid) keeps a shader cache of its own\n"
           "                      (default $CACHE_DIRECTORY, else $XDG_CACHE_HOME or\n"
           "                      ~/.cache, /venus-server; none: no cache), at most\n"
           "                      --limit shader-cache-mib=N each (default 1024)\n"
           "  --log-level LEVEL   error, warn, info or debug (default: $VENUS_SERVER_LOG,\n"
           "                      else info)\n"
           "  --upgrade-workers   a live upgrade (SIGUSR2) moves each vtest client to a\n"
           "                      worker of the new binary, its context handed over;\n"
           "                      each context keeps a journal of its lasting commands\n"
           "  --worker-checkpoints the server keeps a checkpoint of each vtest client,\n"
           "                      taken once it is quiet for a second; a client whose\n"
           "                      worker process is killed is restored from it in a\n"
           "                      fresh worker, if it asked for nothing since (journal)\n"
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
           "  --cdi-spec          print the Container Device Interface spec that hands\n"
           "                      containers the vtest socket (--socket) and a Venus\n"
           "                      client's environment (podman run --device\n"
           "                      venus-server/gpu=vtest), and exit\n"
           "  --version           show the version\n",
           VTEST_DEFAULT_SOCKET_PATH, READY_WORKERS_DEFAULT, config->context.limits.rings, config->context.limits.objects,
           config->context.limits.resources, (unsigned long long)(config->context.limits.shmem_bytes >> 20),
           config->context.renderer.devices, config->server.clients, config->server.clients_per_peer,
           config->server.message_timeout_ms, config->server.work_timeout_ms, config->server.idle_timeout_ms,
           config->server.teardown_timeout_ms, config->server.worker_starts_per_min,
           (unsigned long long)(config->server.partial_bytes >> 20),
           (unsigned long long)(config->server.partial_total_bytes >> 20),
           (unsigned long long)(config->server.memory_per_peer.host_ram_bytes >> 20),
           (unsigned long long)(config->server.memory_per_peer.vram_bytes >> 20),
           (unsigned long long)(config->server.partial_per_peer_bytes >> 20),
           (unsigned long long)(config->worker_memory_bytes >> 20), config->worker_tasks);
}

static bool
parse_level(struct vs_server_config *config, const char *what, const char *name)
{
   if (vs_log_parse_level(name, &config->log_level))
      return true;
   fprintf(stderr, "venus-server: invalid %s '%s' (use error, warn, info or debug)\n", what, name);
   return false;
}

static bool
parse_device_index(struct vs_server_config *config, const char *arg)
{
   char *end;
   errno = 0;
   long value = strtol(arg, &end, 10);
   if (errno || end == arg || *end != '\0' || value < -1 || value > INT_MAX) {
      fprintf(stderr, "venus-server: invalid device index '%s'\n", arg);
      return false;
   }
   config->context.renderer.device_index = (int)value;
   return true;
}

/* UID=N[,UID=N...]: each uid's tenants on host GPU N (checked against
 * the host's GPUs at start, worker/placement.h). */
static bool
parse_placement_pins(struct vs_server_config *config, const char *arg)
{
   struct vs_placement_pins *pins = &config->placement_pins;
   const char *p = arg;
   for (;;) {
      char *end;
      errno = 0;
      unsigned long uid = strtoul(p, &end, 10);
      bool ok = !errno && end != p && *end == '=' && *p != '-' && uid < (unsigned long)(uid_t)-1;
      long device = 0;
      if (ok) {
         const char *n = end + 1;
         device = strtol(n, &end, 10);
         ok = !errno && end != n && (*end == ',' || !*end) && device >= 0 && device < INT_MAX;
      }
      for (unsigned i = 0; ok && i < pins->count; i++)
         ok = pins->uid[i] != (uid_t)uid;
      if (!ok || pins->count == VS_PLACEMENT_PINS_MAX) {
         fprintf(stderr, "venus-server: invalid --placement-pin '%s' (want UID=N[,UID=N...], each uid once, at most "
                         "%u)\n", arg, VS_PLACEMENT_PINS_MAX);
         return false;
      }
      pins->uid[pins->count] = (uid_t)uid;
      pins->device[pins->count++] = (int)device;
      if (!*end)
         return true;
      p = end + 1;
   }
}

static bool
parse_memory_strategy(struct vs_server_config *config, const char *arg)
{
   if (vs_memory_strategy_parse(arg, &config->context.renderer.memory))
      return true;
   fprintf(stderr, "venus-server: invalid memory strategy '%s' (use auto, host-pointer, dmabuf or "
                   "opaque-fd)\n", arg);
   return false;
}

static bool
parse_page_size(struct vs_server_config *config, const char *arg)
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
   config->context.renderer.page_size = (size_t)value;
   return true;
}

static bool
parse_limit(struct vs_server_config *config, const char *arg)
{
   struct vs_context_limits *l = &config->context.limits;
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
   else if (number && LIMIT_IS("devices") && value <= UINT32_MAX)
      config->context.renderer.devices = (uint32_t)value;
   else if (number && LIMIT_IS("clients") && value <= UINT32_MAX)
      config->server.clients = (uint32_t)value;
   else if (number && LIMIT_IS("message-timeout-ms") && value <= UINT32_MAX)
      config->server.message_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("work-timeout-ms") && value <= UINT32_MAX)
      config->server.work_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("idle-timeout-ms") && value <= UINT32_MAX)
      config->server.idle_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("teardown-timeout-ms") && value <= UINT32_MAX)
      config->server.teardown_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("clients-per-peer") && value <= UINT32_MAX)
      config->server.clients_per_peer = (uint32_t)value;
   else if (number && LIMIT_IS("worker-starts-per-min") && value <= UINT32_MAX)
      config->server.worker_starts_per_min = (uint32_t)value;
   else if (number && LIMIT_IS("partial-mib") && value <= (UINT64_MAX >> 20))
      config->server.partial_bytes = value << 20;
   else if (number && LIMIT_IS("partial-total-mib") && value <= (UINT64_MAX >> 20))
      config->server.partial_total_bytes = value << 20;
   else if (number && LIMIT_IS("partial-per-peer-mib") && value <= (UINT64_MAX >> 20))
      config->server.partial_per_peer_bytes = value << 20;
   else if (number && LIMIT_IS("memory-per-peer-mib") && value <= (UINT64_MAX >> 20))
      config->server.memory_per_peer.host_ram_bytes = value << 20;
   else if (number && LIMIT_IS("vram-per-peer-mib") && value <= (UINT64_MAX >> 20))
      config->server.memory_per_peer.vram_bytes = value << 20;
   else if (number && LIMIT_IS("gpu-timeout-ms") && value <= UINT32_MAX)
      config->context.renderer.gpu_timeout_ms = (uint32_t)value;
   else if (number && LIMIT_IS("shader-cache-mib") && value >= 1 && value <= (UINT64_MAX >> 20))
      config->shader_cache_bytes = value << 20;
   else if (number && LIMIT_IS("worker-memory-mib") && value <= (UINT64_MAX >> 20))
      config->worker_memory_bytes = value << 20;
   else if (number && LIMIT_IS("worker-tasks") && value <= UINT32_MAX)
      config->worker_tasks = (uint32_t)value;
   else {
      fprintf(stderr, "venus-server: invalid limit '%s' (use rings, objects, resources, shmem-mib, "
                      "memory-mib, devices, memory-per-peer-mib, vram-per-peer-mib, clients, clients-per-peer, message-timeout-ms, work-timeout-ms, "
                      "idle-timeout-ms, teardown-timeout-ms, worker-starts-per-min, gpu-timeout-ms, partial-mib, "
                      "partial-total-mib, partial-per-peer-mib, shader-cache-mib, worker-memory-mib or worker-tasks=N)\n", arg);
      return false;
   }
#undef LIMIT_IS
   return true;
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
   const int before = *count;
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
   /* No word in it (white space, comments): nothing points into it. */
   if (*count == before)
      free(copy);
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

/* The parsers of the environment table below: each gets the variable's
 * value where it is set (perhaps empty), and says false after one line on
 * stderr where the value is unusable. */
static bool
env_socket_name(struct vs_server_config *config, const char *value)
{
   if (*value)
      config->socket_path = value;
   return true;
}

static bool
env_log(struct vs_server_config *config, const char *value)
{
   return !*value || parse_level(config, "$VENUS_SERVER_LOG", value);
}

/* An unknown value leaves the choice by vendor. */
static bool
env_modifier_color(struct vs_server_config *config, const char *value)
{
   if (strcmp(value, "optimal") == 0)
      config->context.renderer.modifier_color = VS_MODIFIER_COLOR_OPTIMAL;
   else if (strcmp(value, "linear") == 0)
      config->context.renderer.modifier_color = VS_MODIFIER_COLOR_LINEAR;
   return true;
}

/* NAME:N, a test's fault injection (not in --help): the Nth queue
 * submission of each context of the client named NAME reports
 * VK_ERROR_DEVICE_LOST (tests/test_device_lost.sh). */
static bool
env_test_device_lost(struct vs_server_config *config, const char *value)
{
   if (!*value)
      return true;
   const char *colon = strrchr(value, ':');
   char *end = NULL;
   errno = 0;
   unsigned long n = colon ? strtoul(colon + 1, &end, 10) : 0;
   if (!colon || colon == value || errno || end == colon + 1 || *end || n == 0 || n > UINT32_MAX) {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_DEVICE_LOST '%s' (want NAME:N, N > 0)\n", value);
      return false;
   }
   config->test_faults.lose_device_client = strndup(value, (size_t)(colon - value));
   config->test_faults.lose_device_at_submit = (uint32_t)n;
   return config->test_faults.lose_device_client != NULL;
}

/* MASK, test-only (not in --help): the host-visible memory types of MASK
 * (bit i: type i; C notation) are treated as ones the server cannot share
 * with the guest (tests/test_unshareable_types.sh). */
static bool
env_test_unshareable_types(struct vs_server_config *config, const char *value)
{
   if (!*value)
      return true;
   char *end = NULL;
   errno = 0;
   unsigned long long mask = strtoull(value, &end, 0);
   if (errno || *end || mask > UINT32_MAX || value[0] == '-') {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_UNSHAREABLE_TYPES '%s' (want a 32-bit mask)\n",
              value);
      return false;
   }
   config->test_faults.unshareable_types = (uint32_t)mask;
   return true;
}

/* N:MS, test-only (not in --help): for MS ms from now, pooled workers'
 * warm-ups create no device on host physical device N, as on a GPU gone
 * (tests/test_placement.sh). */
static bool
env_test_lose_gpu(struct vs_server_config *config, const char *value)
{
   if (!*value)
      return true;
   char *end = NULL;
   errno = 0;
   unsigned long index = strtoul(value, &end, 10);
   unsigned long long ms = 0;
   bool ok = !errno && end != value && *end == ':' && index <= INT32_MAX && value[0] != '-';
   if (ok) {
      const char *ms_text = end + 1;
      ms = strtoull(ms_text, &end, 10);
      ok = !errno && end != ms_text && !*end && ms > 0 && ms <= 3600000 && ms_text[0] != '-';
   }
   if (!ok) {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_LOSE_GPU '%s' (want N:MS, 0 < MS <= 3600000)\n",
              value);
      return false;
   }
   config->test_faults.lose_gpu_index = (uint32_t)index;
   config->test_faults.lose_gpu_until_ns = os_now_ns() + ms * 1000000ull;
   return true;
}

static bool
env_http_token(struct vs_server_config *config, const char *value)
{
   config->http_token = *value ? value : NULL;
   return true;
}

static bool
env_runtime_dir(struct vs_server_config *config, const char *value)
{
   config->runtime_dir = *value ? value : NULL;
   return true;
}

static bool
env_exec_path(struct vs_server_config *config, const char *value)
{
   config->exec_path = value;
   return true;
}

static bool
env_upgrade(struct vs_server_config *config, const char *value)
{
   char *end;
   errno = 0;
   if (strncmp(value, "probe-", 6) == 0) {
      /* An old process's question (server/upgrade.h): which format. */
      const unsigned long version = strtoul(value + 6, &end, 10);
      config->upgrade_probe = !errno && end != value + 6 && !*end && version <= UINT32_MAX ? (uint32_t)version : 0;
      return config->upgrade_probe != 0;
   }
   long fd = strtol(value, &end, 10);
   if (errno || end == value || *end || fd < 3 || fd > INT_MAX) {
      fprintf(stderr, "venus-server: VENUS_SERVER_UPGRADE=%s: not the fd of a hand-over\n", value);
      return false;
   }
   config->upgrade_fd = (int)fd;
   return true;
}

static bool
env_test_journal(struct vs_server_config *config, const char *value)
{
   if (!*value)
      return true;
   if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_JOURNAL '%s' (want 0 or 1)\n", value);
      return false;
   }
   config->test_faults.keep_journal = value[0] == '1';
   return true;
}

static bool
env_test_restore(struct vs_server_config *config, const char *value)
{
   char *end = (char *)value;
   errno = 0;
   unsigned long n = *value ? strtoul(value, &end, 10) : 0;
   bool move = false, copy = false, snapshot = false, worker = false, ok = !errno && (!*value || end != value) && n <= UINT32_MAX;
   /* Then any of :move, :copy, :snapshot, :worker, each once. */
   static const char *const names[] = { ":move", ":copy", ":snapshot", ":worker" };
   bool *const words[] = { &move, &copy, &snapshot, &worker };
   while (ok && *end) {
      unsigned i = 0;
      while (i < 4 && strncmp(end, names[i], strlen(names[i])) != 0)
         i++;
      ok = i < 4 && !*words[i] && n;
      if (ok) {
         *words[i] = true;
         end += strlen(names[i]);
      }
   }
   if (!ok) {
      fprintf(stderr, "venus-server: invalid $VENUS_SERVER_TEST_RESTORE '%s' (want a count of streams, "
              "then any of :move, :copy, :snapshot and :worker)\n", value);
      return false;
   }
   config->test_faults.restore_every = (uint32_t)n;
   config->test_faults.restore_move = move;
   config->test_faults.restore_copy = copy;
   config->test_faults.restore_snapshot = snapshot;
   config->test_faults.restore_worker = worker;
   return true;
}

static bool
env_notify_socket(struct vs_server_config *config, const char *value)
{
   config->notify_socket = *value ? value : NULL;
   return true;
}

/* The environment, read here once at start (as Mesa reads VN_DEBUG): each
 * variable the server reads for itself, in the order read, and what it
 * sets. Read before these, also here: $VENUS_SERVER_CONFIG and
 * $VENUS_SERVER_OPTIONS (configured_argv), then $LISTEN_PID and
 * $LISTEN_FDS (socket activation). The command line's options, parsed
 * after, win. */
static const struct {
   const char *name;
   bool (*parse)(struct vs_server_config *config, const char *value);
} environment[] = {
   /* The vtest socket's path, below --socket. */
   { "VTEST_SOCKET_NAME", env_socket_name },
   /* Debug switches: the log level, below --log-level; whether guest
    * LINEAR-modifier color attachments become OPTIMAL host images. */
   { "VENUS_SERVER_LOG", env_log },
   { "VENUS_SERVER_MODIFIER_COLOR", env_modifier_color },
   /* Test switches: fault injection (base/test_faults.h). */
   { "VENUS_SERVER_TEST_DEVICE_LOST", env_test_device_lost },
   { "VENUS_SERVER_TEST_UNSHAREABLE_TYPES", env_test_unshareable_types },
   { "VENUS_SERVER_TEST_LOSE_GPU", env_test_lose_gpu },
   { "VENUS_SERVER_TEST_JOURNAL", env_test_journal },
   { "VENUS_SERVER_TEST_RESTORE", env_test_restore },
   /* The display's viewers' token (--http), and where its Wayland socket
    * goes (--display). */
   { "VENUS_SERVER_HTTP_TOKEN", env_http_token },
   { "XDG_RUNTIME_DIR", env_runtime_dir },
   /* What a render server spawns (--isolate spawn): set by the VMM. */
   { "RENDER_SERVER_EXEC_PATH", env_exec_path },
   /* A live upgrade's hand-over (unset once read: nothing started later
    * takes it for its own), and the service manager's notification socket
    * that tells it which process is the service's now. */
   { "VENUS_SERVER_UPGRADE", env_upgrade },
   { "NOTIFY_SOCKET", env_notify_socket },
};

/* The command line's options (usage() says what each does). */
enum { OPT_SOCKET = 256, OPT_DEVICE, OPT_MEMORY, OPT_PAGE_SIZE, OPT_LIMIT, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION,
       OPT_SOCKET_FD, OPT_ISOLATE, OPT_IGNORED, OPT_IGNORED_ARG,
       OPT_DISPLAY, OPT_HTTP, OPT_RECORD, OPT_FPS, OPT_INPUT, OPT_SUBMIT_STATS, OPT_STREAM_FRAMING,
       OPT_WORKER_FD, OPT_WORKER_ID, OPT_WORKER_FLAGS, OPT_WORKER_NAME, OPT_WORKER_SERVER_PID, OPT_WORKER_TIE_FD,
       OPT_WORKER_LEDGER_FD,
       OPT_READY_WORKERS, OPT_VM_CHANNEL, OPT_VM_SIZE,
       OPT_VHOST_USER, OPT_VHOST_USER_INPUT, OPT_VM_HOSTMEM, OPT_VM_CONTEXTS, OPT_VM_NAME, OPT_HTTP_CERT, OPT_HTTP_KEY,
       OPT_HTTP_PLAIN, OPT_CDI_SPEC, OPT_SHADER_CACHE, OPT_VM_FIXED_SIZE, OPT_VM_SCANOUTS, OPT_PLACEMENT,
       OPT_PLACEMENT_PIN, OPT_UPGRADE_WORKERS, OPT_WORKER_CHECKPOINTS };
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
   { "worker-ledger-fd", required_argument, NULL, OPT_WORKER_LEDGER_FD },
   /* virgl_test_server's and virgl_render_server's, for drop-in use. */
   { "venus", no_argument, NULL, OPT_IGNORED },
   { "no-virgl", no_argument, NULL, OPT_IGNORED },
   { "multi-clients", no_argument, NULL, OPT_IGNORED },
   { "worker-seccomp-bpf", required_argument, NULL, OPT_IGNORED_ARG },
   { "worker-seccomp-minijail-policy", required_argument, NULL, OPT_IGNORED_ARG },
   { "worker-seccomp-minijail-log", no_argument, NULL, OPT_IGNORED },
   { "device", required_argument, NULL, OPT_DEVICE },
   { "placement", required_argument, NULL, OPT_PLACEMENT },
   { "placement-pin", required_argument, NULL, OPT_PLACEMENT_PIN },
   { "memory", required_argument, NULL, OPT_MEMORY },
   { "page-size", required_argument, NULL, OPT_PAGE_SIZE },
   { "limit", required_argument, NULL, OPT_LIMIT },
   { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
   { "display", required_argument, NULL, OPT_DISPLAY },
   { "http", required_argument, NULL, OPT_HTTP },
   { "http-cert", required_argument, NULL, OPT_HTTP_CERT },
   { "http-key", required_argument, NULL, OPT_HTTP_KEY },
   { "http-plain", no_argument, NULL, OPT_HTTP_PLAIN },
   { "record", required_argument, NULL, OPT_RECORD },
   { "fps", required_argument, NULL, OPT_FPS },
   { "input", no_argument, NULL, OPT_INPUT },
   { "vm-channel", required_argument, NULL, OPT_VM_CHANNEL },
   { "vm-size", required_argument, NULL, OPT_VM_SIZE },
   { "vm-fixed-size", no_argument, NULL, OPT_VM_FIXED_SIZE },
   { "vm-scanouts", required_argument, NULL, OPT_VM_SCANOUTS },
   { "vhost-user", required_argument, NULL, OPT_VHOST_USER },
   { "vhost-user-input", required_argument, NULL, OPT_VHOST_USER_INPUT },
   { "vm-hostmem", required_argument, NULL, OPT_VM_HOSTMEM },
   { "vm-contexts", required_argument, NULL, OPT_VM_CONTEXTS },
   { "vm-name", required_argument, NULL, OPT_VM_NAME },
   { "shader-cache", required_argument, NULL, OPT_SHADER_CACHE },
   { "submit-stats", no_argument, NULL, OPT_SUBMIT_STATS },
   { "upgrade-workers", no_argument, NULL, OPT_UPGRADE_WORKERS },
   { "worker-checkpoints", no_argument, NULL, OPT_WORKER_CHECKPOINTS },
   { "help", no_argument, NULL, OPT_HELP },
   { "version", no_argument, NULL, OPT_VERSION },
   { "cdi-spec", no_argument, NULL, OPT_CDI_SPEC },
   { NULL, 0, NULL, 0 },
};

/* The defaults, and what a spawned render-server worker must be told
 * again; 0, or the exit status. */
static int
set_defaults(struct vs_server_config *config, int argc, char **argv)
{
   *config = (struct vs_server_config){ 0 };
   config->exec_path = argv[0];
   config->socket_path = VTEST_DEFAULT_SOCKET_PATH;
   config->socket_fd = -1;
   config->stream_framing = RENDER_FRAMING_AUTO;
   config->worker.fd = -1;
   config->worker.tie_fd = -1;
   config->worker.ledger_fd = -1;
   config->worker.name = "";
   config->upgrade_fd = -1;
   config->worker_args = calloc((size_t)argc + 1, sizeof(char *));
   for (int i = 1; config->worker_args && i < argc; i++) {
      bool with_value = !strcmp(argv[i], "--socket-fd") || !strcmp(argv[i], "--isolate");
      if (with_value || !strncmp(argv[i], "--socket-fd=", 12) || !strncmp(argv[i], "--isolate=", 10))
         i += with_value;
      else
         config->worker_args[config->worker_arg_count++] = argv[i];
   }
   config->isolate = VS_ISOLATE_PROCESS;
   config->ready_workers = READY_WORKERS_DEFAULT;
   config->log_level = VS_LOG_INFO;
   vs_context_options_default(&config->context);
   vtest_server_limits_default(&config->server);
   config->shader_cache_bytes = 1024ull << 20;
   /* A tenant's whole share of host RAM in private allocations of its
    * driver, and room for the driver's own state and code. */
   config->worker_memory_bytes = config->server.memory_per_peer.host_ram_bytes + (2048ull << 20);
   /* Well above what a host driver's devices take (lavapipe: 2 threads a
    * device, `devices` of them per context). */
   config->worker_tasks = 1024;
   return 0;
}

/* What the environment says (one table: `environment`); 0, or the exit
 * status. */
static int
read_environment(struct vs_server_config *config)
{
   /* Socket activation's variables, unset once read so that nothing
    * started later takes the socket for its own. */
   const int activated = vs_socket_activation(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), config->activated);
   unsetenv("LISTEN_PID");
   unsetenv("LISTEN_FDS");
   unsetenv("LISTEN_FDNAMES");
   if (activated < 0)
      return 1;
   config->activated_count = (unsigned)activated;
   for (size_t i = 0; i < sizeof(environment) / sizeof(environment[0]); i++) {
      const char *value = getenv(environment[i].name);
      if (value && !environment[i].parse(config, value))
         return 2;
   }
   unsetenv("VENUS_SERVER_UPGRADE");
   return 0;
}

/* One option of getopt_long (`name` without its dashes):
 * VS_SERVER_CONFIG_RUN to go on, else the exit status (said on stderr). */
static int
apply_option(struct vs_server_config *config, int opt, const char *name)
{
   switch (opt) {
   case OPT_SOCKET:
      if (!*optarg) {
         fprintf(stderr, "venus-server: empty socket path\n");
         return 2;
      }
      config->socket_path = optarg;
      break;
   case OPT_SOCKET_FD: {
      char *end;
      errno = 0;
      long v = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || v < 0 || v > INT_MAX) {
         fprintf(stderr, "venus-server: invalid --socket-fd '%s'\n", optarg);
         return 2;
      }
      config->socket_fd = (int)v;
      break;
   }
   case OPT_WORKER_FD:
   case OPT_WORKER_ID:
   case OPT_WORKER_FLAGS:
   case OPT_WORKER_SERVER_PID:
   case OPT_WORKER_TIE_FD:
   case OPT_WORKER_LEDGER_FD: {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 0);
      if (errno || end == optarg || *end || v > (opt == OPT_WORKER_FD || opt == OPT_WORKER_TIE_FD || opt == OPT_WORKER_LEDGER_FD ? INT_MAX
                                                 : opt == OPT_WORKER_SERVER_PID ? LONG_MAX : UINT32_MAX)) {
         fprintf(stderr, "venus-server: invalid value '%s' for --%s\n", optarg, name);
         return 2;
      }
      if (opt == OPT_WORKER_FD)
         config->worker.fd = (int)v;
      else if (opt == OPT_WORKER_ID)
         config->worker.id = (uint32_t)v;
      else if (opt == OPT_WORKER_FLAGS)
         config->worker.init_flags = (uint32_t)v;
      else if (opt == OPT_WORKER_SERVER_PID)
         config->worker.server_pid = (long)v;
      else if (opt == OPT_WORKER_TIE_FD)
         config->worker.tie_fd = (int)v;
      else
         config->worker.ledger_fd = (int)v;
      break;
   }
   case OPT_WORKER_NAME:
      config->worker.name = optarg;
      break;
   case OPT_STREAM_FRAMING:
      if (!render_framing_parse(optarg, &config->stream_framing)) {
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
      config->ready_workers = (unsigned)n;
      break;
   }
   case OPT_ISOLATE:
      if (strcmp(optarg, "thread") == 0)
         config->isolate = VS_ISOLATE_THREAD;
      else if (strcmp(optarg, "process") == 0)
         config->isolate = VS_ISOLATE_PROCESS;
      else if (strcmp(optarg, "spawn") == 0)
         config->isolate = VS_ISOLATE_SPAWN;
      else {
         fprintf(stderr, "venus-server: invalid --isolate '%s' (use thread, process or spawn)\n", optarg);
         return 2;
      }
      break;
   case OPT_IGNORED:
   case OPT_IGNORED_ARG:
      break;
   case OPT_DEVICE:
      if (!parse_device_index(config, optarg))
         return 2;
      break;
   case OPT_PLACEMENT:
      if (strcmp(optarg, "spread") && strcmp(optarg, "all")) {
         fprintf(stderr, "venus-server: invalid --placement '%s' (use spread or all)\n", optarg);
         return 2;
      }
      config->placement_all = !strcmp(optarg, "all");
      break;
   case OPT_PLACEMENT_PIN:
      if (!parse_placement_pins(config, optarg))
         return 2;
      break;
   case OPT_MEMORY:
      if (!parse_memory_strategy(config, optarg))
         return 2;
      break;
   case OPT_PAGE_SIZE:
      if (!parse_page_size(config, optarg))
         return 2;
      break;
   case OPT_LIMIT:
      if (!parse_limit(config, optarg))
         return 2;
      break;
   case OPT_LOG_LEVEL:
      if (!parse_level(config, "log level", optarg))
         return 2;
      break;
   case OPT_DISPLAY:
   case OPT_HTTP:
   case OPT_RECORD:
   case OPT_HTTP_CERT:
   case OPT_HTTP_KEY:
      if (!*optarg || (opt == OPT_DISPLAY && strchr(optarg, '/'))) {
         fprintf(stderr, "venus-server: invalid --%s '%s'\n", name, optarg);
         return 2;
      }
      *(opt == OPT_DISPLAY ? &config->display
        : opt == OPT_HTTP  ? &config->http
        : opt == OPT_RECORD ? &config->record
        : opt == OPT_HTTP_CERT ? &config->http_cert
                               : &config->http_key) = optarg;
      break;
   case OPT_INPUT:
      config->input = true;
      break;
   case OPT_VM_CHANNEL:
      if (!*optarg || !strcmp(optarg, "listen:")) {
         fprintf(stderr, "venus-server: invalid --vm-channel '%s' (PATH or listen:PATH)\n", optarg);
         return 2;
      }
      config->vm_channel = optarg;
      break;
   case OPT_VHOST_USER:
      if (!*optarg) {
         fprintf(stderr, "venus-server: invalid --vhost-user '' (a socket path)\n");
         return 2;
      }
      config->vhost_user_path = optarg;
      break;
   case OPT_VHOST_USER_INPUT:
      if (!*optarg) {
         fprintf(stderr, "venus-server: invalid --vhost-user-input '' (a socket path)\n");
         return 2;
      }
      config->vhost_user_input_path = optarg;
      break;
   case OPT_SHADER_CACHE:
      if (!*optarg || (strcmp(optarg, "none") && optarg[0] != '/')) {
         fprintf(stderr, "venus-server: invalid --shader-cache '%s' (an absolute path, or none)\n", optarg);
         return 2;
      }
      config->shader_cache = optarg;
      break;
   case OPT_VM_HOSTMEM: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end || v < 1 || v > 65536 || (v & (v - 1))) {
         fprintf(stderr, "venus-server: invalid --vm-hostmem '%s' (MiB, a power of two up to 65536)\n", optarg);
         return 2;
      }
      config->vm_hostmem_mib = (unsigned)v;
      break;
   }
   case OPT_VM_SCANOUTS: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end || v < 1 || v > VM_SCANOUTS_MAX) {
         fprintf(stderr, "venus-server: invalid --vm-scanouts '%s' (1 to %d)\n", optarg, VM_SCANOUTS_MAX);
         return 2;
      }
      config->vm_scanouts = (unsigned)v;
      break;
   }
   case OPT_VM_CONTEXTS:
      if (!strcmp(optarg, "apart") || !strcmp(optarg, "shared")) {
         config->vm_contexts_shared = !strcmp(optarg, "shared");
         config->vm_contexts_given = true;
         break;
      }
      fprintf(stderr, "venus-server: invalid --vm-contexts '%s' (use apart or shared)\n", optarg);
      return 2;
   case OPT_VM_FIXED_SIZE:
      config->vm_fixed_size = true;
      break;
   case OPT_HTTP_PLAIN:
      config->http_plain = true;
      break;
   case OPT_CDI_SPEC:
      config->cdi_spec = true;
      break;
   case OPT_VM_NAME:
      /* An output's name, and a part of its viewers' URLs. */
      if (!*optarg || strlen(optarg) > VM_NAME_MAX || strspn(optarg, VM_NAME_CHARS) != strlen(optarg)) {
         fprintf(stderr, "venus-server: invalid --vm-name '%s' (1 to %d of a-z, 0-9, '-', '.' and '_')\n", optarg,
                 VM_NAME_MAX);
         return 2;
      }
      config->vm_name = optarg;
      break;
   case OPT_VM_SIZE: {
      unsigned w = 0, h = 0;
      char end = 0;
      if (sscanf(optarg, "%ux%u%c", &w, &h, &end) != 2 || w < 16 || h < 16 || w > 16384 || h > 16384) {
         fprintf(stderr, "venus-server: invalid --vm-size '%s' (WxH, 16 to 16384 each)\n", optarg);
         return 2;
      }
      config->vm_width = w;
      config->vm_height = h;
      break;
   }
   case OPT_FPS: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end || v < 1 || v > 240) {
         fprintf(stderr, "venus-server: invalid --fps '%s' (1 to 240)\n", optarg);
         return 2;
      }
      config->fps = (unsigned)v;
      break;
   }
   case OPT_SUBMIT_STATS:
      config->context.renderer.submit_stats = true;
      break;
   case OPT_UPGRADE_WORKERS:
      config->upgrade_workers = config->context.journal = true;
      break;
   case OPT_WORKER_CHECKPOINTS:
      config->context.journal = true;
      config->context.checkpoint_quiet_ms = VS_CHECKPOINT_QUIET_MS;
      break;
   case OPT_HELP:
      usage(stdout, config);
      return 0;
   case OPT_VERSION:
      printf("venus-server %s\n", VS_VERSION);
      return 0;
   default:
      usage(stderr, config);
      return 2;
   }
   return VS_SERVER_CONFIG_RUN;
}

/* Options that need or exclude others, and the run mode they choose:
 * VS_SERVER_CONFIG_RUN, or the exit status. */
static int
choose_mode(struct vs_server_config *config)
{
   if ((config->http || config->record || config->fps || config->input || config->vm_channel) && !config->display) {
      fprintf(stderr, "venus-server: --http, --record, --fps, --input and --vm-channel need --display\n");
      return 2;
   }
   if (config->vm_width && !config->vm_channel && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-size needs --vm-channel or --vhost-user\n");
      return 2;
   }
   if (config->vm_fixed_size && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-fixed-size needs --vhost-user\n");
      return 2;
   }
   if (config->vm_contexts_given && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-contexts needs --vhost-user\n");
      return 2;
   }
   if ((config->http_cert || config->http_key || config->http_plain) && !config->http) {
      fprintf(stderr, "venus-server: --http-cert, --http-key and --http-plain need --http\n");
      return 2;
   }
   if (!config->http_cert != !config->http_key) {
      fprintf(stderr, "venus-server: --http-cert and --http-key go together\n");
      return 2;
   }
   if (config->vm_name && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-name needs --vhost-user\n");
      return 2;
   }
   if (config->vm_hostmem_mib && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-hostmem needs --vhost-user\n");
      return 2;
   }
   if (config->vm_scanouts && !config->vhost_user_path) {
      fprintf(stderr, "venus-server: --vm-scanouts needs --vhost-user\n");
      return 2;
   }
   if (config->vhost_user_input_path &&
       (!config->vhost_user_path || !strcmp(config->vhost_user_input_path, config->vhost_user_path))) {
      fprintf(stderr, "venus-server: --vhost-user-input needs --vhost-user, on a socket path of its own\n");
      return 2;
   }
   if (config->vhost_user_path && (config->socket_fd >= 0 || config->worker.fd >= 0 || config->vm_channel)) {
      fprintf(stderr, "venus-server: --vhost-user is a run mode of its own: without --socket-fd, "
                      "--worker-context-fd or --vm-channel\n");
      return 2;
   }
   if (config->vhost_user_path && config->isolate != VS_ISOLATE_PROCESS) {
      fprintf(stderr, "venus-server: --vhost-user serves each VM in a worker process (--isolate process)\n");
      return 2;
   }
   if (config->vm_channel && config->socket_fd < 0 && config->worker.fd < 0) {
      fprintf(stderr, "venus-server: --vm-channel is for the render server (--socket-fd): it names a VM's "
                      "resources\n");
      return 2;
   }
   if (config->cdi_spec && (config->socket_fd >= 0 || config->worker.fd >= 0 || config->vhost_user_path)) {
      fprintf(stderr, "venus-server: --cdi-spec describes the vtest socket (--socket): not with --socket-fd, "
                      "--worker-context-fd or --vhost-user\n");
      return 2;
   }
   if (config->placement_pins.count && (config->placement_all || config->context.renderer.device_index >= 0)) {
      fprintf(stderr, "venus-server: --placement-pin needs --placement spread, without --device\n");
      return 2;
   }
   if (config->socket_fd >= 0 && config->worker.fd >= 0) {
      fprintf(stderr, "venus-server: --socket-fd and --worker-context-fd exclude each other\n");
      return 2;
   }
   config->mode = config->worker.fd >= 0     ? VS_SERVER_RENDER_WORKER
                  : config->socket_fd >= 0   ? VS_SERVER_RENDER
                  : config->vhost_user_path ? VS_SERVER_VHOST_USER
                  : config->cdi_spec        ? VS_SERVER_CDI_SPEC
                                             : VS_SERVER_VTEST;
   if (config->context.journal && (config->mode != VS_SERVER_VTEST || config->isolate != VS_ISOLATE_PROCESS)) {
      fprintf(stderr, "venus-server: %s moves vtest clients between worker processes: the vtest server with "
                      "--isolate process\n", config->upgrade_workers ? "--upgrade-workers" : "--worker-checkpoints");
      return 2;
   }
   if (config->mode == VS_SERVER_VTEST && config->isolate == VS_ISOLATE_SPAWN) {
      fprintf(stderr, "venus-server: --isolate spawn is for the render server (--socket-fd); vtest has process\n");
      return 2;
   }
#ifndef VS_HAVE_DISPLAY
   if (config->display && config->mode != VS_SERVER_RENDER_WORKER) {
      fprintf(stderr, "venus-server: --display: this build has no display (meson -Ddisplay: needs wayland-server, "
                      "x264 and libyuv)\n");
      return 2;
   }
#endif
   /* A VMM's render server (or one of its workers): memory blobs are
    * exact-size sealable memfds, as the VMM's proxy checks. */
   if (config->mode == VS_SERVER_RENDER || config->mode == VS_SERVER_RENDER_WORKER)
      config->context.renderer.exact_shm = true;
   return VS_SERVER_CONFIG_RUN;}

int
vs_server_config_parse(struct vs_server_config *config, int argc, char **argv)
{
   char **given = argv;
   argv = configured_argv(argc, argv, &argc);
   if (!argv)
      return 2;
   int status = set_defaults(config, argc, argv);
   config->argv = given;
   if (status == 0)
      status = read_environment(config);
   if (status)
      return status;
   int opt, opt_index = 0;
   while ((opt = getopt_long(argc, argv, "", options, &opt_index)) != -1) {
      status = apply_option(config, opt, options[opt_index].name);
      if (status != VS_SERVER_CONFIG_RUN)
         return status;
   }
   if (optind < argc) {
      fprintf(stderr, "venus-server: unexpected argument '%s'\n", argv[optind]);
      usage(stderr, config);
      return 2;
   }
   return choose_mode(config);
}
